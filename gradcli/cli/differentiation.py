"""The body of `grad diff`, without typer: the formula read, differentiated and printed in the
chosen form. `grad diff` with plain words (see evaluation.plain_command) runs from here alone,
as `grad eval` runs from evaluation.py."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

from ..core.errors import UsageError
from ..core.request import split_names
from .evaluation import consoles, positionals, prepare_source, read_source

if TYPE_CHECKING:  # types only: pathlib costs ~6 ms at start-up
    from pathlib import Path


def derive(
    expression: str | None = None,
    bindings: list[str] | None = None,
    file: Path | None = None,
    *,
    wrt: str | None = None,
    latex: bool = False,
    as_json: bool = False,
    program: bool = False,
    simplify: bool = False,
    digits: int = 6,
    order: int = 1,
) -> None:
    """`grad diff` from its arguments: check the options, read the formula, bind the inputs
    (when bindings are given) and run_diff. Raises GradcliError; call inside an error boundary."""
    chosen = [
        flag for flag, on in (("--latex", latex), ("--json", as_json), ("--program", program)) if on
    ]
    if len(chosen) > 1:
        raise UsageError(f"{' and '.join(chosen)} ask for two formats", hint="choose one")
    if simplify:  # before reading anything: say at once that the extra is missing
        from ..core.simplify import require_sympy

        require_sympy()
    expression, given = positionals(expression, bindings, file)
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
    run_diff(graph, point, tape, wrt=wrt, form=form, digits=digits, simplify=simplify, order=order)


def run_diff(
    graph,
    point,
    tape=None,
    *,
    wrt=None,
    form="text",
    digits=6,
    simplify=False,
    preamble=(),
    order=1,
) -> None:
    """The body of `grad diff` (and `grad example` of a diff example): derive (the second
    derivatives with `order` 2; simplified with SymPy), then print in `form` (text, latex,
    json or program); `preamble` is printed before the text once nothing can fail. Raises
    GradcliError; call inside user_errors()."""
    from ..core import symbolic

    rule = None
    if order == 2:
        from ..core.hessian import second_derivatives

        def rule(graph, names):
            return second_derivatives(graph, names).derivation

    derivation, values = symbolic.differentiate(graph, split_names(wrt), point, tape, rule)
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

        data = (jsonout.second_derivation if order == 2 else jsonout.derivation)(derivation, values)
        sys.stdout.write(jsonout.dumps(data) + "\n")
    else:
        from ..output.render_diff import text_view

        out, _ = consoles()
        for item in preamble:
            out.print(item)
        out.print(text_view(derivation, values, digits))
