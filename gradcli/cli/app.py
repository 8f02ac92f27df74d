"""The `grad` command: parse arguments, call the core, hand the result to a renderer."""

import functools
import sys
from contextlib import contextmanager, redirect_stdout
from pathlib import Path
from typing import Annotated, Optional

import typer

from ..core.errors import ExitCode, GradcliError, UsageError
from ..core.request import split_names

APP_SETTINGS = dict(
    name="grad",
    help=(
        "See the gradient of a formula: every node's value (forward pass) and the gradient of "
        "the output with respect to every node (backward pass).\n\n"
        "Examples:\n\n"
        "  grad eval '(x + y) * z' x=-2 y=5 z=-4\n\n"
        "  grad eval '1/(1 + exp(-(w0*x0 + w1*x1 + w2)))' w0=2 x0=-1 w1=-3 x1=-2 w2=-3 --check\n\n"
        "  grad eval -f neuron.grad --json\n\n"
        "  grad diff 'sigmoid(w0*x0 + w1*x1 + w2)'\n\n"
        "  grad example circuit --explain\n\n"
        "  grad descend '(x - 3)^2 + (y + 1)^2' x=0 y=0 --steps 50\n\n"
        "  grad plot 'x^3 - 3*x' x=-2.5:2.5 --at x=1\n\n"
        "  grad repl\n\n"
        "  grad ops"
    ),
    invoke_without_command=True,
    pretty_exceptions_show_locals=False,
    suggest_commands=False,  # click suggests a near command name itself: say it once
    rich_markup_mode=None,  # plain help: Rich-formatted help costs ~70 ms per --help
    context_settings={"help_option_names": ["-h", "--help"]},
)
# The commands as defined; `grad` runs app_for(its words), which adds grad descend's options.
app = typer.Typer(**APP_SETTINGS)


@functools.cache
def _consoles():
    """stdout and stderr consoles: see terminal.consoles."""
    from ..output.terminal import consoles

    return consoles()


def _warn(message: str) -> None:
    from rich.text import Text

    _, err = _consoles()
    err.print(Text.assemble(("warning: ", "bold yellow"), message))


@contextmanager
def user_errors():
    """The one place where a user's mistake becomes a message on stderr and an exit code."""
    try:
        yield
    except GradcliError as exc:
        _report(exc)
        raise typer.Exit(exc.exit_code) from None


def _version(value: bool) -> None:
    if value:
        from .. import __version__

        typer.echo(f"grad {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    ctx: typer.Context,
    show_version: Annotated[
        bool,
        typer.Option(
            "--version", callback=_version, is_eager=True, help="Show the version and exit."
        ),
    ] = False,
) -> None:
    if ctx.invoked_subcommand is not None:
        return
    from .streams import is_closed

    if is_closed(sys.stdin):  # nothing to read, no REPL to run
        raise UsageError("cannot read standard input: it is closed")
    if sys.stdin.isatty() and sys.stdout.isatty():  # `grad` alone on a terminal: the REPL
        from .repl import interact

        raise typer.Exit(interact(interactive=True))
    with redirect_stdout(sys.stderr):  # Rich help prints itself (to stdout): send it to stderr
        text = ctx.get_help()
    if text:
        typer.echo(text, err=True)
    raise typer.Exit(ExitCode.USAGE)


def read_source(expression: str | None, file: Path | None) -> str:
    """The formula text from the argument, a file, or standard input ('-')."""
    from ..output.files import read_text

    if file is not None:
        return read_text(file)
    if expression is None:
        raise UsageError("no formula given", hint="grad eval '(x + y) * z' x=-2 y=5 z=-4")
    if expression == "-":
        return read_text("-")
    if expression.startswith(" -"):  # _protect_leading_minus's space: show the formula as typed
        return expression[1:]
    return expression


def parse_bindings(words: list[str]) -> dict[str, float]:
    """NAME=NUMBER words as a dict; warns about a number that underflows to 0."""
    from ..core.engine import parse_binding

    given = {}
    for word in words:
        word = word.removeprefix(" ")  # the space _protect_leading_minus put before a '-'
        name, value = parse_binding(word)
        if value == 0.0:
            from decimal import Decimal, InvalidOperation  # only here: ~1 ms to import

            try:
                written = Decimal(word.partition("=")[2].strip())
            except InvalidOperation:
                written = Decimal(0)
            if written != 0:
                _warn(f"{word.strip()} underflows to 0 (the smallest double is about 5e-324)")
        given[name] = value
    return given


def prepare(expression: str | None, bindings: list[str] | None, file: Path | None):
    """Parse the formula and bind its inputs; warn about bindings it does not use."""
    expression, given = _positionals(expression, bindings, file)
    return prepare_source(read_source(expression, file), given)


def _positionals(
    expression: str | None, bindings: list[str] | None, file: Path | None
) -> tuple[str | None, dict[str, float]]:
    """The formula argument and the bindings: with -f every positional is a binding."""
    positional = list(bindings or [])
    if file is not None and expression is not None:
        positional.insert(0, expression)
        expression = None
    return expression, parse_bindings(positional)


def prepare_source(source: str, given: dict[str, float], varying: tuple[str, ...] = ()):
    """Parse a formula or program and bind its inputs; warn about bindings it does not use
    (a `varying` one, which grad plot ranges over, must be an input)."""
    from ..core.engine import Tape, resolve_point
    from ..core.graph import CONST, INPUT
    from ..core.ops import CONSTANTS
    from ..core.syntax import parse

    graph = parse(source)
    point, unused = resolve_point(graph, given)
    defined = {
        name: node
        for node, name in enumerate(graph.names)
        if name and graph.ops[node] not in (INPUT, CONST)
    }
    for name in unused:
        if name in defined:
            start, end = graph.spans[defined[name]]
            raise UsageError(
                f"{name} is defined by the formula ({name} = "
                f"{source[start:end]}) and cannot be bound",
                hint=f"give values to the inputs: {', '.join(graph.inputs)}"
                if graph.inputs
                else "remove the binding",
            )
        if name in varying:
            raise UsageError(
                f"{name} is not an input of the formula",
                hint=f"the inputs are {', '.join(graph.inputs) or '(none)'}",
            )
        if name in CONSTANTS:
            _warn(f"{name} is a built-in constant; a binding cannot change it")
        else:
            _warn(f"{name} is not used by the formula; its value is ignored")
    return Tape(graph), point


FILE_HELP = "Read the formula or program from FILE ('-' for standard input)."

# Arguments and options shared by eval, example and check (one definition each).
# (Plain help does not list arguments' help: each command's docstring describes them.)
Expression = Annotated[Optional[str], typer.Argument(show_default=False)]
Bindings = Annotated[Optional[list[str]], typer.Argument(show_default=False)]
FileOption = Annotated[Optional[Path], typer.Option("--file", "-f", help=FILE_HELP)]
Wrt = Annotated[
    Optional[str],
    typer.Option(help="Comma-separated inputs to show the gradient for (default: all)."),
]
Check = Annotated[
    bool, typer.Option("--check", help="Compare each gradient with the numerical derivative.")
]
Json = Annotated[
    bool,
    typer.Option(
        "--json",
        help="Print one strict JSON object (schema in the README); short for --format json.",
    ),
]
Digits = Annotated[int, typer.Option(min=1, max=17, help="Significant digits shown.")]
Explain = Annotated[
    bool,
    typer.Option("--explain", help="Narrate the backward pass step by step (chain rule per node)."),
]
Format = Annotated[
    Optional[str],
    typer.Option(
        "--format",
        help="Output format: tree (default), json or dot (Graphviz).",
        show_default=False,
    ),
]
# An output file is never checked for reading (readable=False): a write-only file is fine.
Svg = Annotated[
    Optional[Path],
    typer.Option(
        "--svg",
        help="Also draw the circuit diagram into FILE as SVG (needs Graphviz; "
        "'-' for standard output).",
        show_default=False,
        readable=False,
    ),
]
Png = Annotated[
    Optional[Path],
    typer.Option(
        "--png",
        help="Also draw the circuit diagram into FILE as PNG (needs Graphviz; "
        "'-' for standard output).",
        show_default=False,
        readable=False,
    ),
]


@app.command("eval")
def eval_cmd(
    expression: Expression = None,
    bindings: Bindings = None,
    file: FileOption = None,
    wrt: Wrt = None,
    check: Check = False,
    as_json: Json = False,
    digits: Digits = 6,
    explain: Explain = False,
    fmt: Format = None,
    svg: Svg = None,
    png: Png = None,
) -> None:
    """Evaluate a formula and backpropagate: every node's value and gradient.

    EXPRESSION is a formula such as '(x + y) * z' or a program such as
    'q = x + y; f = q * z' ('-' reads standard input); BINDINGS give the inputs
    their values as NAME=VALUE, e.g. x=-2 y=5.

    Examples:

      grad eval '(x + y) * z' x=-2 y=5 z=-4

      grad eval 'q = x + y; f = q * z' x=-2 y=5 z=-4 --wrt x,y --explain

      grad eval '-x^2 + 1' x=3 --check

      grad eval '1/(1 + exp(-(w0*x0 + w1*x1 + w2)))' w0=2 x0=-1 w1=-3 x1=-2 w2=-3 --json

      grad eval 'sigmoid(w0*x0 + w1*x1 + w2)' w0=2 x0=-1 w1=-3 x1=-2 w2=-3 --svg neuron.svg
    """
    with user_errors():
        tape, point = prepare(expression, bindings, file)
        run_eval(
            tape,
            point,
            wrt=wrt,
            check=check,
            as_json=as_json,
            digits=digits,
            explain=explain,
            fmt=fmt,
            svg=svg,
            png=png,
        )


FORMATS = ("tree", "json", "dot")


def run_eval(
    tape,
    point,
    *,
    wrt: str | None = None,
    check: bool = False,
    as_json: bool = False,
    digits: int = 6,
    explain: bool = False,
    fmt: str | None = None,
    svg: Path | None = None,
    png: Path | None = None,
    preamble: tuple = (),
) -> None:
    """The body of `grad eval` (and `grad example`): evaluate, then print in the chosen form;
    `preamble` is printed before the tree, once nothing can fail. Raises GradcliError; call
    inside user_errors()."""
    if fmt is not None and fmt not in FORMATS:
        raise UsageError(f"unknown format {fmt!r}", hint="use --format tree, json or dot")
    if as_json and fmt not in (None, "json"):
        raise UsageError(f"--json and --format {fmt} ask for two formats", hint="choose one")
    diagram_to_stdout = _diagram_outputs(svg, png, fmt, as_json)
    fmt = "json" if as_json else (fmt or "tree")
    if fmt == "dot" and (explain or check):
        asked = " and ".join(o for o, on in (("--explain", explain), ("--check", check)) if on)
        raise UsageError(
            f"{asked} cannot be shown in --format dot",
            hint="leave out --format dot; --svg or --png draws the diagram beside the tree",
        )
    if svg is not None or png is not None:
        from ..output.dot import INSTALL_HINT, check_drawable, have_graphviz

        if not have_graphviz():  # say so before any output
            raise UsageError(
                "--svg and --png need Graphviz's dot program, which is not installed",
                hint=INSTALL_HINT,
            )
        check_drawable(tape.graph)
    from ..core import request

    result = request.answer(tape, point, split_names(wrt), check)
    for message in result.warnings:
        _warn(message)
    ev = result.evaluation
    if svg is not None or png is not None:
        from ..output import dot

        text = dot.to_dot(ev)
        for path, kind in ((svg, "svg"), (png, "png")):
            if path is not None:
                dot.render(text, kind, path)
                if path is not diagram_to_stdout:
                    _note(f"wrote the circuit diagram to {path}")
    if diagram_to_stdout is not None:  # the diagram is the output
        return
    if fmt == "dot":
        from ..output.dot import to_dot

        sys.stdout.write(to_dot(ev))
        return
    explanation = None
    if explain:
        from ..core.explain import explain as narrate

        explanation = narrate(ev)
    if fmt == "json":
        from ..output import jsonout

        sys.stdout.write(
            jsonout.dumps(
                jsonout.evaluation(ev, result.names, result.check, result.diagnostics, explanation)
            )
            + "\n"
        )
        return
    from ..output import render

    out, _ = _consoles()
    for item in preamble:
        out.print(item)
    out.print(
        render.evaluation_view(
            ev, result.names, digits, result.check, result.diagnostics, explanation
        )
    )


def _diagram_outputs(
    svg: Path | None, png: Path | None, fmt: str | None, as_json: bool
) -> Path | None:
    """Check --svg and --png before anything runs: each name must not end in the other's
    extension, and at most one output may be standard output ('-'), which then replaces the
    tree. Returns the path that is standard output, if any."""
    from ..output.files import is_stdout

    for path, kind, other in ((svg, "svg", "png"), (png, "png", "svg")):
        if path is not None and path.suffix.lower() == f".{other}":
            raise UsageError(
                f"--{kind} {str(path)!r} writes {kind.upper()}, but the name ends in .{other}",
                hint=f"use --{other} {path}, or a name ending in .{kind}",
            )
    to_stdout = [(p, k) for p, k in ((svg, "svg"), (png, "png")) if p is not None and is_stdout(p)]
    if not to_stdout:
        return None
    kind = to_stdout[0][1]
    if len(to_stdout) > 1:
        raise UsageError(
            "--svg and --png both write to standard output", hint="give one of them a file name"
        )
    if as_json or fmt is not None:
        raise UsageError(
            f"--{kind} - and --{'json' if as_json else 'format'} both write to standard output",
            hint=f"give --{kind} a file name",
        )
    return to_stdout[0][0]


def _note(message: str) -> None:
    from rich.text import Text

    _, err = _consoles()
    err.print(Text(message, style="dim"))


@app.command("ops")
def ops_cmd() -> None:
    """List every operation and function a formula can use, from the op table."""
    from ..core.ops import CONSTANTS, OPS
    from ..output.render_table import FoldingTable

    table = FoldingTable(title="operations")
    for column in ("write", "op", "what it computes", "gate role", "local derivatives"):
        table.add_column(column, wrap=column != "op")
    for op in OPS.values():
        if op.name == "id":
            continue
        written = ", ".join(f"{n}(…)" for n in op.call_names)
        if op.infix:
            written = (f"a {op.symbol} b" if op.arity == 2 else f"{op.symbol}a") + (
                f", {written}" if written else ""
            )
            if op.name == "pow":
                written = "a ^ b, a ** b, pow(a, b)"
        table.add_row(written, op.name, op.doc, op.role, op.derivative())
    out, _ = _consoles()
    out.print(table)
    out.print("constants: " + ", ".join(f"{k} = {v!r}" for k, v in CONSTANTS.items()))


@app.command("repl")
def repl_cmd() -> None:
    """An interactive session: set inputs, name nodes, see every value and gradient.

    On a terminal: history, tab completion, highlighting, multi-line input. Otherwise it reads
    standard input line by line and prints each result (exit code non-zero if a line failed).

    Examples:

      grad repl

      grad repl < session.grad
    """
    from .repl import interact

    raise typer.Exit(interact())


@app.command("descend")  # grad descend's options are added by app_for (with_descend_options)
def descend_cmd(
    expression: Expression = None,
    bindings: Bindings = None,
    file: FileOption = None,
    *,
    settings,
) -> None:
    """Gradient descent on a formula: watch f fall and the parameters move.

    EXPRESSION is the formula to minimise ('-' reads standard input); BINDINGS
    give the starting point as NAME=VALUE, e.g. x=0 y=1.

    Exit codes: 0 converged (gradient norm < --tol) or, without --tol, all steps taken;
    4 all steps taken without reaching --tol; 1 diverged;
    130 interrupted.

    Examples:

      grad descend '(x - 3)^2 + (y + 1)^2' x=0 y=0 --steps 50

      grad descend 'sigmoid(w0*x0+w1*x1+w2)' w0=2 x0=-1 w1=-3 x1=-2 w2=-3 --wrt w0,w1,w2 --target 1

      grad descend '(1-x)^2 + 100*(y-x^2)^2' x=-1.5 y=2 --optimizer adam --lr 0.05 --plot run.png
    """
    with user_errors():
        from ..output.descend_run import plot_format

        plot_format(settings)  # a bad --plot file name or missing matplotlib: said first
        file_to_stdout = _file_to_stdout(settings)
        tape, point = prepare(expression, bindings, file)
        from .descend_command import run_descent

        out, err = _consoles()
        try:
            outcome = run_descent(tape, point, settings, out, json_out=sys.stdout)
        except KeyboardInterrupt:
            raise typer.Exit(ExitCode.INTERRUPTED) from None
        for item in [] if file_to_stdout else outcome.output:
            out.print(item)
        for message in outcome.messages:
            err.print(message)
        raise typer.Exit(outcome.exit_code)


def _file_to_stdout(options) -> bool:
    """Whether --csv or --plot is standard output ('-'): that file is then the output, in place
    of the table or JSON."""
    from ..output.files import is_stdout

    named = [
        f"--{option}"
        for option, path in (("csv", options.csv_file), ("plot", options.plot_file))
        if path is not None and is_stdout(path)
    ]
    if len(named) > 1:
        raise UsageError(
            "--csv and --plot both write to standard output", hint="give one of them a file name"
        )
    if named and options.as_json:
        raise UsageError(
            f"{named[0]} - and --json both write to standard output",
            hint=f"give {named[0]} a file name",
        )
    return bool(named)


@app.command("check")
def check_cmd(
    expression: Expression = None,
    bindings: Bindings = None,
    file: FileOption = None,
    wrt: Wrt = None,
    sweep: Annotated[
        bool,
        typer.Option("--sweep", help="Show the numerical derivative's error for h = 1e-1 … 1e-15."),
    ] = False,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print one strict JSON object (schema in the README).")
    ] = False,
    digits: Digits = 6,
) -> None:
    """Check the analytic gradient against central differences (f(x+h) - f(x-h)) / 2h.

    EXPRESSION is the formula or program ('-' reads standard input); BINDINGS
    give the inputs their values as NAME=VALUE.

    Exit codes: 0 no verdict is "suspect"; 5 at least one is.

    Examples:

      grad check 'sin(x) * exp(y)' x=0.7 y=0.3

      grad check 'sin(x) * exp(y)' x=0.7 y=0.3 --sweep

      grad check 'max(x, y)' x=1 y=1.000000001
    """
    with user_errors():
        tape, point = prepare(expression, bindings, file)
        from ..core import numeric
        from ..core.request import wrt_names

        names = wrt_names(tape.graph, split_names(wrt))
        if not names:
            raise UsageError("nothing to check: the formula has no inputs")
        ev = tape.evaluate(point)

        if sweep:
            sweeps = numeric.sweep(tape, ev, names)
            if as_json:
                from ..output import jsonout

                sys.stdout.write(jsonout.dumps(jsonout.sweep(ev, sweeps)) + "\n")
                return
            from ..output.render_explain import sweep_table

            out, _ = _consoles()
            out.print(sweep_table(sweeps, digits))
            out.print(
                _dim(
                    "large h: truncation error (∝ h²) dominates; tiny h: floating-point "
                    "round-off (∝ ε/h) dominates; ← marks the smallest error"
                )
            )
            return
        rows = numeric.check(tape, ev, names)
        suspect = any(row.verdict == "suspect" for row in rows)
        if as_json:
            from ..output import jsonout

            data = jsonout.evaluation(ev, names, rows)
            result = {"value": data["value"], "check": data["check"]}
            sys.stdout.write(jsonout.dumps(result) + "\n")
        else:
            from ..output import render

            out, _ = _consoles()
            out.print(render.gradient_table(ev, names, digits, rows))
        if suspect:  # scripts can gate on it
            raise typer.Exit(ExitCode.SUSPECT)


def _dim(message: str):
    from rich.text import Text

    return Text(message, style="dim")


@app.command("diff")
def diff_cmd(
    expression: Expression = None,
    bindings: Bindings = None,
    file: FileOption = None,
    wrt: Wrt = None,
    latex: Annotated[bool, typer.Option("--latex", help="Print the formulas as LaTeX.")] = False,
    as_json: Annotated[
        bool, typer.Option("--json", help="Print one strict JSON object (schema in the README).")
    ] = False,
    program: Annotated[
        bool, typer.Option("--program", help="Print a gradcli program that computes the gradient.")
    ] = False,
    simplify: Annotated[
        bool,
        typer.Option(
            "--simplify",
            help="Also simplify each formula with SymPy (optional: pip install 'gradcli[sym]').",
        ),
    ] = False,
    digits: Digits = 6,
) -> None:
    """The gradient as a formula: ∂f/∂x for each input, by the backward pass done symbolically.

    EXPRESSION is a formula or program ('-' reads standard input); BINDINGS, as
    NAME=VALUE, also evaluate each formula at that point.

    Examples:

      grad diff 'sigmoid(w0*x0 + w1*x1 + w2)'

      grad diff '(x + y) * z' x=-2 y=5 z=-4

      grad diff 'x^3 * sin(y)' --wrt x --latex

      grad diff 'relu(x) + max(x, y)' --program

      grad diff 'log(x*y) + exp(x)*exp(y)' --simplify
    """
    with user_errors():
        chosen = [
            flag
            for flag, on in (("--latex", latex), ("--json", as_json), ("--program", program))
            if on
        ]
        if len(chosen) > 1:
            raise UsageError(f"{' and '.join(chosen)} ask for two formats", hint="choose one")
        if simplify:  # before reading anything: say at once that the extra is missing
            from ..core.simplify import require_sympy

            require_sympy()
        expression, given = _positionals(expression, bindings, file)
        source = read_source(expression, file)
        from ..core import symbolic

        if given:
            tape, point = prepare_source(source, given)
            graph = tape.graph
        else:
            from ..core.syntax import parse

            graph = parse(source)
            point = symbolic.given_point(graph)
            tape = None
        form = "program" if program else "latex" if latex else "json" if as_json else "text"
        run_diff(graph, point, tape, wrt=wrt, form=form, digits=digits, simplify=simplify)


def run_diff(
    graph, point, tape=None, *, wrt=None, form="text", digits=6, simplify=False, preamble=()
) -> None:
    """The body of `grad diff` (and `grad example` of a diff example): derive (and simplify
    with SymPy), then print in `form` (text, latex, json or program); `preamble` is printed
    before the text once nothing can fail. Raises GradcliError; call inside user_errors()."""
    from ..core import symbolic

    derivation, values = symbolic.differentiate(graph, split_names(wrt), point, tape)
    if simplify:
        from ..core.simplify import simplify as by_sympy

        derivation = by_sympy(derivation)
        values = None if point is None else symbolic.evaluate(derivation, point)
    if form == "program":
        sys.stdout.write(symbolic.program(derivation))
    elif form == "latex":
        from ..output.render_diff import latex as to_latex

        sys.stdout.write(to_latex(derivation))
    elif form == "json":
        from ..output import jsonout

        sys.stdout.write(jsonout.dumps(jsonout.derivation(derivation, values)) + "\n")
    else:
        from ..output.render_diff import text_view

        out, _ = _consoles()
        for item in preamble:
            out.print(item)
        out.print(text_view(derivation, values, digits))


@app.command("example")
def example_cmd(
    name: Annotated[Optional[str], typer.Argument(show_default=False)] = None,
    bindings: Bindings = None,
    wrt: Wrt = None,
    check: Check = False,
    as_json: Json = False,
    digits: Digits = 6,
    explain: Explain = False,
    fmt: Format = None,
    svg: Svg = None,
    png: Png = None,
) -> None:
    """Run a built-in worked example from the backprop lecture (list them without NAME).

    BINDINGS override the example's input values as NAME=VALUE.

    Examples:

      grad example

      grad example circuit --explain

      grad example neuron --svg neuron.svg
    """
    from ..core.examples import EXAMPLES, find

    with user_errors():
        if name is None:
            from ..output.render_explain import examples_table

            out, _ = _consoles()
            out.print(examples_table(list(EXAMPLES.values())))
            return
        example = find(name)
        given = parse_bindings(bindings or [])
        tape, point = prepare_source(example.program, given)
        preamble = (
            _dim(f"{example.name}: {example.title}"),
            _dim("program: " + "; ".join(example.program.strip().splitlines())),
        )
        if example.command == "diff":
            _refuse_eval_options(example.name, check, explain, fmt, svg, png)
            form = "json" if as_json else "text"
            run_diff(tape.graph, point, tape, wrt=wrt, form=form, digits=digits, preamble=preamble)
            return
        run_eval(
            tape,
            point,
            wrt=wrt,
            check=check,
            as_json=as_json,
            digits=digits,
            explain=explain,
            fmt=fmt,
            svg=svg,
            png=png,
            preamble=preamble,
        )


def _refuse_eval_options(name: str, check, explain, fmt, svg, png) -> None:
    """A diff example prints formulas: the options that draw or check a tree do not apply."""
    given = [
        option
        for option, on in (
            ("--check", check),
            ("--explain", explain),
            ("--format", fmt is not None),
            ("--svg", svg is not None),
            ("--png", png is not None),
        )
        if on
    ]
    if given:
        raise UsageError(
            f"the {name} example shows grad diff, which has no {' or '.join(given)}",
            hint="it takes --wrt, --json, --digits and NAME=VALUE bindings",
        )


@app.command("plot")
def plot_cmd(
    expression: Expression = None,
    bindings: Bindings = None,
    file: FileOption = None,
    at: Annotated[
        Optional[list[str]],
        typer.Option(
            "--at",
            help="Mark the point NAME=VALUE (e.g. x=1, or x=1,y=2 over two inputs): "
            "f and its gradient there, the tangent or the steepest-descent "
            "direction.",
            show_default=False,
        ),
    ] = None,
    points: Annotated[
        Optional[int],
        typer.Option(
            "--points",
            max=2000,
            help="Sample points per input, at most 500 over two inputs (default: the "
            "terminal's width; 200 for --json and pictures).",
            show_default=False,
        ),
    ] = None,
    as_json: Annotated[
        bool,
        typer.Option(
            "--json",
            help="Print the sampled values and gradients as one strict JSON object "
            "(schema in the README).",
        ),
    ] = False,
    svg: Annotated[
        Optional[Path],
        typer.Option(
            "--svg",
            help="Also draw the plot into FILE as SVG (needs matplotlib; '-' for standard output).",
            show_default=False,
            readable=False,
        ),
    ] = None,
    png: Annotated[
        Optional[Path],
        typer.Option(
            "--png",
            help="Also draw the plot into FILE as PNG (needs matplotlib; '-' for standard output).",
            show_default=False,
            readable=False,
        ),
    ] = None,
    descend: Annotated[
        Optional[str],
        typer.Option(
            "--descend",
            help="Overlay a gradient-descent path from the --at point, run with "
            "these grad descend options ('' for its defaults), e.g. "
            "--descend '--lr 0.05 --steps 40'.",
            show_default=False,
        ),
    ] = None,
    digits: Digits = 6,
) -> None:
    """Plot f and its gradient over a range of one input, or f over two.

    EXPRESSION is the formula ('-' reads standard input); BINDINGS give one or two
    inputs a range as NAME=FROM:TO and every other input a value as NAME=VALUE.
    Where f is undefined the plot has a gap.

    Examples:

      grad plot 'x^3 - 3*x' x=-2.5:2.5 --at x=1

      grad plot 'log(x) * relu(x - 1)' x=0:4 --json

      grad plot 'x^2 + 3*y^2' x=-2:2 y=-2:2 --at x=1,y=1 --png bowl.png

      grad plot '(1-x)^2 + 100*(y-x^2)^2' x=-2:2 y=-1:3 --at x=-1.5,y=2 --descend '--optimizer adam --lr 0.05 --steps 500'
    """
    with user_errors():
        from ..core.sample import axis, check_points, descent_path, mark, sample, split_ranges

        positional = list(bindings or [])
        if file is not None and expression is not None:
            positional.insert(0, expression)  # with -f every positional is a binding
            expression = None
        ranges, values = split_ranges(positional)
        given = parse_bindings(values)
        names = tuple(name for name, _, _ in ranges)
        for name in names:
            if name in given:
                raise UsageError(
                    f"{name} is given both a range and a value", hint="give it one of them"
                )
        check_points(points, ranges)
        given.update({name: lo for name, lo, _ in ranges})
        to_stdout = _diagram_outputs(svg, png, None, as_json)
        if svg is not None or png is not None:
            from ..output.plot_descend import require_matplotlib

            require_matplotlib("--svg" if svg is not None else "--png")
        tape, point = prepare_source(read_source(expression, file), given, names)
        fixed = {n: v for n, v in point.items() if n not in names}
        marked = path = None
        if descend is not None and not at:
            raise UsageError(
                "--descend starts from the --at point",
                hint="add --at " + ",".join(f"{n}={lo:g}" for n, lo, _ in ranges),
            )
        if at:
            where = _plot_point(at, ranges)
            marked = mark(tape, {**fixed, **where}, names)
            if descend is not None:
                path = descent_path(tape, {**fixed, **where}, _plot_descent(descend, names, tape))
        out, _ = _consoles()
        if points is None:
            points = (
                200
                if as_json or svg is not None or png is not None
                else max(40, out.width)
                if len(names) == 1
                else 60
            )
        samples = sample(tape, [axis(n, lo, hi, points) for n, lo, hi in ranges], fixed)
        for file_, kind in ((svg, "svg"), (png, "png")):
            if file_ is not None:
                from ..output.files import write_bytes
                from ..output.plot_picture import picture

                title = " ".join(tape.graph.source.split())
                write_bytes(
                    file_,
                    picture(
                        samples, marked, kind, title if len(title) <= 60 else title[:59] + "…", path
                    ),
                )
                if file_ is not to_stdout:
                    _note(f"wrote the plot to {file_}")
        if to_stdout is not None:  # the picture is the output
            return
        if as_json:
            from ..output import jsonout

            sys.stdout.write(jsonout.dumps(jsonout.plot(samples, marked, path)) + "\n")
            return
        from ..output.render_plot import Plot

        out.print(Plot(samples, marked, digits, path=path))


def _plot_descent(words: str, names: tuple[str, ...], tape):
    """The descent settings of `grad plot --descend '--lr 0.05 …'`: grad descend's own options,
    parsed by its command, over the plotted inputs."""
    import dataclasses
    import shlex

    try:
        split = shlex.split(words)
        if "--help" in split or "-h" in split:
            raise UsageError("--descend takes grad descend's options")
        from .descend_command import parse_words

        config = parse_words(split)
    except (UsageError, ValueError) as exc:
        raise UsageError(
            f"--descend {words!r}: {getattr(exc, 'message', exc)}",
            hint="its words are grad descend's options (grad descend --help "
            "lists them), e.g. --descend '--lr 0.05 --steps 40'",
        ) from None
    for option, given in (
        ("--json", config.as_json),
        ("--csv", config.csv_file),
        ("--plot", config.plot_file),
        ("--every", config.every),
    ):
        if given:
            raise UsageError(
                f"{option} is not an option of --descend",
                hint="--descend takes grad descend's settings of the run",
            )
    if config.params is not None and set(config.params) != set(names):
        raise UsageError(
            f"--descend runs over the plotted inputs ({', '.join(names)}); "
            "its --wrt cannot change them",
            hint="leave out --wrt",
        )
    return dataclasses.replace(config, params=names)


def _plot_point(words: list[str], ranges) -> dict[str, float]:
    """--at x=1 --at y=2 or --at x=1,y=2: a value for every input the plot ranges over, inside
    its range."""
    from ..core.sample import at_point

    return at_point(
        parse_bindings([part for word in words for part in word.split(",") if part.strip()]), ranges
    )


def _protect_leading_minus(command, argv: list[str]) -> list[str]:
    """A formula such as '-x^2 + 1' starts with '-', which the option parser would take for an
    option. Give such words a leading space (harmless to the formula's parser). A word that
    starts with '--' is always an option: raises UsageError for one the command lacks."""
    commands = getattr(command, "commands", {})
    if not argv or argv[0] not in commands:
        return argv
    options: dict[str, bool] = {"--help": False, "-h": False}  # added by the command
    for param in commands[argv[0]].params:
        if param.param_type_name == "option":
            for opt in param.opts + param.secondary_opts:
                options[opt] = not param.is_flag
    fixed, takes_value = [argv[0]], False
    for i, word in enumerate(argv[1:], 1):
        if word == "--":
            fixed += argv[i:]
            break
        is_option = word.split("=", 1)[0] in options if word.startswith("--") else word in options
        if word.startswith("--") and not is_option and not takes_value:
            raise _unknown_option(argv[0], word.split("=", 1)[0], options)
        if word.startswith("-") and word != "-" and not is_option and not takes_value:
            word = " " + word  # '-x^2 + 1' is a formula
        takes_value = is_option and options.get(word, False)
        fixed.append(word)
    return fixed


def _unknown_option(command: str, word: str, options) -> UsageError:
    """'--jsn' is a mistyped option, never a formula or a binding: name the nearest one."""
    import difflib

    close = difflib.get_close_matches(word, [o for o in options if o.startswith("--")], n=1)
    return UsageError(
        f"grad {command} has no option {word}",
        hint=f"did you mean {close[0]}?" if close else f"grad {command} --help lists the options",
    )


def app_for(argv: list[str]) -> typer.Typer:
    """The app typer runs for these words: when they start with a command's name, only that
    command (typer builds each command's click parameters at every start, a few ms each); for
    `grad --help` alone, each command as the list shows it; else every command."""
    if argv in (["--help"], ["-h"]):  # the list of commands needs only their names and help
        commands = [_listed(c) for c in app.registered_commands]
    else:
        chosen = [c for c in app.registered_commands if argv and c.name == argv[0]]
        commands = [_with_options(c) for c in chosen or app.registered_commands]
    built = typer.Typer(**APP_SETTINGS)
    built.registered_callback = app.registered_callback
    built.registered_commands = commands
    return built


def _with_options(info):
    """grad descend with its options (gradcli.cli.descend_command, ~4 ms to import: only
    when grad descend is built); any other command as it is."""
    if info.callback is not descend_cmd:
        return info
    import copy

    from .descend_command import with_descend_options

    complete = copy.copy(info)
    complete.callback = with_descend_options(descend_cmd)
    return complete


def _listed(info):
    """A command as `grad --help` lists it: its name and help, without its parameters."""
    import copy
    import inspect

    listed = copy.copy(info)
    listed.help = inspect.getdoc(info.callback) if info.help is None else info.help
    listed.callback = lambda: None
    return listed


def _report(exc: GradcliError) -> None:
    from ..output import render

    _, err = _consoles()
    err.print(render.error(exc, err.width))


def main() -> None:
    """The one error boundary: the command runs with guarded standard streams (a closed or
    full stdout, a closed stdin are errors with a message), and stdout is flushed before the
    exit code is final. Streams that cannot show Unicode transliterate instead of failing."""
    from ..output.terminal import protect_streams
    from .streams import run_guarded

    protect_streams()
    argv = sys.argv[1:]

    def run() -> None:
        command = typer.main.get_command(app_for(argv))
        command.main(args=_protect_leading_minus(command, argv), prog_name="grad")

    sys.exit(run_guarded(run, _report))


if __name__ == "__main__":
    main()
