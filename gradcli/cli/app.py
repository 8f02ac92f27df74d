"""The `grad` command: parse arguments, call the core, hand the result to a renderer."""

import sys
import warnings
from contextlib import contextmanager, redirect_stdout
from pathlib import Path
from typing import Annotated, Optional

with warnings.catch_warnings():  # typer's own use of click's deprecated names is not ours to
    warnings.simplefilter("ignore", DeprecationWarning)  # show (nor, under -W error, a crash)
    import typer

from ..core.errors import ExitCode, GradcliError, UsageError
from ..core.request import split_names
from .differentiation import derive, run_diff
from .evaluation import consoles as _consoles
from .evaluation import diagram_outputs as _diagram_outputs
from .evaluation import note as _note
from .evaluation import (
    parse_bindings,
    prepare,
    prepare_source,
    read_source,
    run_eval,
)
from .evaluation import positionals as _positionals
from .evaluation import report as _report
from .evaluation import warn as _warn

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
HessianOption = Annotated[
    bool,
    typer.Option("--hessian", help="Also show the Hessian, the matrix of second derivatives."),
]
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

At = Annotated[
    Optional[Path],
    typer.Option(
        "--at",
        help="Evaluate at every row of FILE (CSV with a header of input names, or JSON Lines; "
        "'-' for standard input) and write one line per row: CSV value,grad_<name>,…,error "
        "(JSON Lines with --json), numbers exact unless --digits is given.",
        show_default=False,
    ),
]
Output = Annotated[
    Optional[Path],
    typer.Option(
        "--output",
        "-o",
        help="With --at: write the results to FILE instead of standard output.",
        show_default=False,
        readable=False,
    ),
]
Keep = Annotated[
    bool,
    typer.Option("--keep", help="With --at: repeat each row's own columns before its results."),
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
    hessian: HessianOption = False,
    at: At = None,
    output: Output = None,
    keep: Keep = False,
) -> None:
    """Evaluate a formula and backpropagate: every node's value and gradient.

    EXPRESSION is a formula such as '(x + y) * z' or a program such as
    'q = x + y; f = q * z' ('-' reads standard input); BINDINGS give the inputs
    their values as NAME=VALUE, e.g. x=-2 y=5.

    Examples:

      grad eval '(x + y) * z' x=-2 y=5 z=-4

      grad eval 'q = x + y; f = q * z' x=-2 y=5 z=-4 --wrt x,y --explain

      grad eval '-x^2 + 1' x=3 --check

      grad eval '(1-x)^2 + 100*(y-x^2)^2' x=-1.5 y=2 --hessian

      grad eval '1/(1 + exp(-(w0*x0 + w1*x1 + w2)))' w0=2 x0=-1 w1=-3 x1=-2 w2=-3 --json

      grad eval 'sigmoid(w0*x0 + w1*x1 + w2)' w0=2 x0=-1 w1=-3 x1=-2 w2=-3 --svg neuron.svg

      grad eval 'sigmoid(w0*x0 + w1*x1 + w2)' w0=2 w1=-3 w2=-3 --at points.csv -o grads.csv
    """
    if at is not None or output is not None or keep:
        options = dict(at=at, output=output, keep=keep, wrt=wrt, as_json=as_json, fmt=fmt)
        raise typer.Exit(
            _eval_at(
                expression,
                bindings,
                file,
                digits,
                **options,
                check=check,
                explain=explain,
                svg=svg,
                png=png,
                hessian=hessian,
            )
        )
    from ..core.graph import gc_paused

    # One pass over a formula's graph makes no cycles: the collector would only rescan a
    # large graph at every stage (a fifth of the time at 100,000 operations)
    with user_errors(), gc_paused():
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
            hessian=hessian,
        )


def _eval_at(expression, bindings, file, digits, **options) -> int:
    """grad eval --at FILE (cli/eval_at.py); --digits only when given: exact numbers else."""
    from click import get_current_context
    from click.core import ParameterSource

    from .eval_at import run_at

    with user_errors():
        if get_current_context().get_parameter_source("digits") is ParameterSource.DEFAULT:
            digits = None
        expression, given = _positionals(expression, bindings, file)
        return run_at(
            lambda: read_source(expression, file),
            given,
            formula_from_stdin=str(file if file is not None else expression) == "-",
            digits=digits,
            prepare=prepare_source,
            warn=_warn,
            note=_note,
            **options,
        )


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

      grad descend '(1-x)^2 + 100*(y-x^2)^2' x=-1.5 y=2 --optimizer newton --tol 1e-8

      grad descend 'sigmoid(w0*x0 + w1*x1 + w2)' --data points.csv --wrt w0,w1,w2 --target-column y --loss logistic
    """
    with user_errors():
        from ..output.descend_run import plot_format

        plot_format(settings)  # a bad --plot file name or missing matplotlib: said first
        file_to_stdout = _file_to_stdout(settings)
        if settings.data is None:
            tape, point = prepare(expression, bindings, file)
        else:
            if str(settings.data) == "-" and "-" in (expression, str(file)):
                raise UsageError(
                    "the formula and --data - both read standard input",
                    hint="give the formula as an argument, or the data as a file",
                )
            tape, point = _prepare_for_data(expression, bindings, file)
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


def _prepare_for_data(expression: str | None, bindings: list[str] | None, file: Path | None):
    """The formula of `grad descend --data` and the values bound on the command line: the
    rows bind the data inputs, so no input needs a value here."""
    from ..core.engine import Tape
    from ..core.syntax import parse

    expression, given = _positionals(expression, bindings, file)
    graph = parse(read_source(expression, file))
    _warn_unknown(graph, given)
    return Tape(graph), given


def _warn_unknown(graph, given: dict[str, float]) -> None:
    for name in given:
        if name not in graph.inputs:
            _warn(f"{name} is not an input of the formula; its value is ignored")


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
    hessian: Annotated[
        bool,
        typer.Option(
            "--hessian",
            help="Also check the Hessian against central differences of the gradient.",
        ),
    ] = False,
) -> None:
    """Check the analytic gradient against central differences (f(x+h) - f(x-h)) / 2h.

    EXPRESSION is the formula or program ('-' reads standard input); BINDINGS
    give the inputs their values as NAME=VALUE.

    Exit codes: 0 no verdict is "suspect"; 5 at least one is.

    Examples:

      grad check 'sin(x) * exp(y)' x=0.7 y=0.3

      grad check 'sin(x) * exp(y)' x=0.7 y=0.3 --sweep

      grad check 'max(x, y)' x=1 y=1.000000001

      grad check '(1-x)^2 + 100*(y-x^2)^2' x=-1.5 y=2 --hessian
    """
    with user_errors():
        tape, point = prepare(expression, bindings, file)
        from ..core import numeric
        from ..core.request import wrt_names

        names = wrt_names(tape.graph, split_names(wrt))
        if not names:
            raise UsageError("nothing to check: the formula has no inputs")
        ev = tape.evaluate(point)

        if sweep and hessian:
            raise UsageError("--sweep and --hessian do not go together", hint="choose one")
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
        second = None
        if hessian:
            from ..core.hessian import check as check_hessian

            second = check_hessian(tape, point, names)
        suspect = any(row.verdict == "suspect" for row in [*rows, *(second or [])])
        if as_json:
            from ..output import jsonout

            data = jsonout.evaluation(ev, names, rows)
            result = {"value": data["value"], "check": data["check"]}
            if second is not None:
                result["hessian_check"] = jsonout.hessian_check(second)
            sys.stdout.write(jsonout.dumps(result) + "\n")
        else:
            from ..output import render

            out, _ = _consoles()
            out.print(render.gradient_table(ev, names, digits, rows))
            if second is not None:
                from ..output.render_hessian import hessian_check_table

                out.print(hessian_check_table(tape.graph, second, digits))
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
    order: Annotated[
        int,
        typer.Option(
            "--order", min=1, max=2, help="2: the second derivatives (the Hessian) instead."
        ),
    ] = 1,
) -> None:
    """The gradient as a formula: ∂f/∂x for each input, by the backward pass done symbolically.

    EXPRESSION is a formula or program ('-' reads standard input); BINDINGS, as
    NAME=VALUE, also evaluate each formula at that point.

    Examples:

      grad diff 'sigmoid(w0*x0 + w1*x1 + w2)'

      grad diff '(x + y) * z' x=-2 y=5 z=-4

      grad diff 'x^3 * sin(y)' --wrt x --latex

      grad diff 'relu(x) + max(x, y)' --program

      grad diff '(1-x)^2 + 100*(y-x^2)^2' --order 2

      grad diff 'log(x*y) + exp(x)*exp(y)' --simplify
    """
    with user_errors():
        derive(
            expression,
            bindings,
            file,
            wrt=wrt,
            latex=latex,
            as_json=as_json,
            program=program,
            simplify=simplify,
            digits=digits,
            order=order,
        )


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

      grad example logistic
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
        if example.command == "descend":
            if check or explain or fmt or svg or png or wrt:
                raise UsageError(
                    f"{example.name} is a descent on data: of these options it takes --json "
                    "and --digits",
                    hint="run the grad descend command it shows, with grad descend's options",
                )
            _train_example(example, given, bindings or [], as_json, digits)
            return
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


def _train_example(
    example, given: dict[str, float], bindings: list[str], as_json: bool, digits: int
) -> None:
    """`grad example NAME` for an example that trains on its built-in data set; the command
    it prints runs the same descent (`bindings`: the words that gave `given`)."""
    import shlex
    from dataclasses import replace
    from importlib.resources import as_file, files

    from ..core.engine import Tape
    from ..core.syntax import parse
    from .descend_command import parse_words, run_descent

    config = replace(parse_words(list(example.descend)), as_json=as_json, digits=digits)
    out, err = _consoles()
    with as_file(files("gradcli") / "data" / example.data) as path:
        config = replace(config, data=path)
        if not as_json:
            program = "; ".join(example.program.strip().splitlines())
            typed = [word.removeprefix(" ") for word in bindings]  # (see _protect_leading_minus)
            words = ["grad", "descend", program, *typed, "--data", str(path), *example.descend]
            out.print(_dim(f"{example.name}: {example.title}"))
            out.print(_dim(shlex.join(words)), soft_wrap=True)  # whole, to copy
        graph = parse(example.program)
        _warn_unknown(graph, given)
        try:
            outcome = run_descent(Tape(graph), given, config, out, json_out=sys.stdout)
        except KeyboardInterrupt:
            raise typer.Exit(ExitCode.INTERRUPTED) from None
    for item in outcome.output:
        out.print(item)
    for message in outcome.messages:
        err.print(message)
    raise typer.Exit(outcome.exit_code)


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
        ("--data", config.data),  # grad plot draws f over its inputs, not a loss over rows
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

    # (0.7: a slip of a letter or two; --check is not --help)
    long_options = [o for o in options if o.startswith("--")]
    close = difflib.get_close_matches(word, long_options, n=1, cutoff=0.7)
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
