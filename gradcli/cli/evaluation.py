"""The body of `grad eval`, without typer: the formula and its bindings read, evaluated and
printed in the chosen form, and the consoles, warnings and error report that every command
shares. `grad eval` with plain words (the formula, NAME=VALUE, a few options: see plain.py)
runs from here alone: importing typer and click costs more than the evaluation.
"""

from __future__ import annotations

import functools
import sys
from typing import TYPE_CHECKING

from ..core.errors import GradcliError, UsageError
from ..core.request import split_names

if TYPE_CHECKING:  # types only: pathlib costs ~6 ms at start-up
    from pathlib import Path


@functools.cache
def consoles():
    """stdout and stderr consoles: see terminal.consoles."""
    from ..output.terminal import consoles as make

    return make()


def warn(message: str) -> None:
    from rich.text import Text

    _, err = consoles()
    err.print(Text.assemble(("warning: ", "bold yellow"), message))


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
    """NAME=NUMBER words as a dict; warns about a number that underflows to 0, and about a
    name given two values (the last one counts)."""
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
                warn(f"{word.strip()} underflows to 0 (the smallest double is about 5e-324)")
        if name in given and given[name] != value:
            warn(
                f"{name} is given twice; the last value, {word.partition('=')[2].strip()}, is used"
            )
        given[name] = value
    return given


def prepare(expression: str | None, bindings: list[str] | None, file: Path | None):
    """Parse the formula and bind its inputs; warn about bindings it does not use."""
    expression, given = positionals(expression, bindings, file)
    return prepare_source(read_source(expression, file), given)


def positionals(
    expression: str | None, bindings: list[str] | None, file: Path | None
) -> tuple[str | None, dict[str, float]]:
    """The formula argument and the bindings: with -f every positional is a binding."""
    positional = list(bindings or [])
    if file is not None and expression is not None:
        positional.insert(0, expression)
        expression = None
    return expression, parse_bindings(positional)


def prepare_source(
    source: str,
    given: dict[str, float],
    varying: tuple[str, ...] = (),
    columns: tuple[str, ...] = (),
):
    """Parse a formula or program and bind its inputs; warn about bindings it does not use
    (a `varying` one, which grad plot ranges over, must be an input). Inputs named by
    `columns` (grad eval --at's data) and not bound get 0.0 in the point."""
    from ..core.engine import Tape, resolve_point
    from ..core.graph import CONST, INPUT
    from ..core.ops import CONSTANTS
    from ..core.syntax import parse

    graph = parse(source)
    from_data = {n: 0.0 for n in columns if n in graph.inputs and n not in given}
    point, unused = resolve_point(graph, {**from_data, **given})
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
            warn(f"{name} is a built-in constant; a binding cannot change it")
        else:
            warn(f"{name} is not used by the formula; its value is ignored")
    return Tape(graph), point


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
    hessian: bool = False,
) -> None:
    """The body of `grad eval` (and `grad example`): evaluate, then print in the chosen form;
    `preamble` is printed before the tree, once nothing can fail. Raises GradcliError; call
    inside user_errors()."""
    if fmt is not None and fmt not in FORMATS:
        raise UsageError(f"unknown format {fmt!r}", hint="use --format tree, json or dot")
    if as_json and fmt not in (None, "json"):
        raise UsageError(f"--json and --format {fmt} ask for two formats", hint="choose one")
    diagram_to_stdout = diagram_outputs(svg, png, fmt, as_json)
    fmt = "json" if as_json else (fmt or "tree")
    if fmt == "dot" and (explain or check or hessian):
        asked = " and ".join(
            o
            for o, on in (("--explain", explain), ("--check", check), ("--hessian", hessian))
            if on
        )
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
        warn(message)
    ev = result.evaluation
    if svg is not None or png is not None:
        from ..output import dot

        text = dot.to_dot(ev)
        for path, kind in ((svg, "svg"), (png, "png")):
            if path is not None:
                dot.render(text, kind, path)
                if path is not diagram_to_stdout:
                    note(f"wrote the circuit diagram to {path}")
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
    matrix = None
    if hessian:
        from ..core.hessian import evaluate as hessian_at

        matrix = hessian_at(tape.graph, point, result.names)
    if fmt == "json":
        from ..output import jsonout

        data = jsonout.evaluation(ev, result.names, result.check, result.diagnostics, explanation)
        if matrix is not None:
            data["hessian"] = jsonout.hessian(result.names, matrix)
        sys.stdout.write(jsonout.dumps(data) + "\n")
        return
    from ..output import render

    out, _ = consoles()
    for item in preamble:
        out.print(item)
    out.print(
        render.evaluation_view(
            ev, result.names, digits, result.check, result.diagnostics, explanation
        )
    )
    if matrix is not None:
        from ..output.render_hessian import hessian_table

        out.print(hessian_table(ev.graph, result.names, matrix, digits))


def diagram_outputs(
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


def note(message: str) -> None:
    from rich.text import Text

    _, err = consoles()
    err.print(Text(message, style="dim"))


def report(exc: GradcliError) -> None:
    from ..output import render

    _, err = consoles()
    err.print(render.error(exc, err.width))
