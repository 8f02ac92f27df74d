"""One evaluation request as `grad eval` and the REPL make it: which inputs to report, the
forward and backward pass, the optional numerical check, and the warnings to show.

Both front ends call `run` and hand the result to the same renderers, so they cannot disagree.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import TYPE_CHECKING, NamedTuple

from .diagnostics import Diagnostic, diagnose
from .engine import Evaluation, Tape, with_partials
from .errors import UsageError
from .graph import Graph

if TYPE_CHECKING:  # types only: keep start-up imports to what runs
    from .numeric import CheckRow


class Result(NamedTuple):
    evaluation: Evaluation
    names: list[str]  # the inputs whose gradient is reported
    check: list[CheckRow] | None  # None unless the numerical check was asked for
    warnings: list[str]
    diagnostics: list[Diagnostic]  # zero-gradient findings, after every evaluation


def split_names(text: str | None) -> list[str] | None:
    """'x, y' -> ['x', 'y'], as --wrt takes names (None stays None)."""
    return None if text is None else [n.strip() for n in text.split(",") if n.strip()]


def wrt_names(graph: Graph, wrt: list[str] | None) -> list[str]:
    """The inputs to report: all of them by default. Raises UsageError for a name that is not
    an input of the graph."""
    if wrt is None:
        return list(graph.inputs)
    wrt = list(dict.fromkeys(wrt))  # --wrt x,x names x once
    unknown = [n for n in wrt if n not in graph.inputs]
    if unknown or not wrt:
        raise UsageError(
            f"--wrt names {', '.join(unknown) or 'nothing'}, which is not an input",
            hint=f"the inputs are {', '.join(graph.inputs) or '(none)'}",
        )
    return wrt


def answer(
    tape: Tape, point: Mapping[str, float], wrt: list[str] | None = None, check: bool = False
) -> Result:
    """The evaluation at `point` as eval, example and the REPL show it: values, gradients,
    diagnostics and the optional check. Raises UsageError (bad wrt) and DomainError."""
    names = wrt_names(tape.graph, wrt)
    ev = with_partials(tape.evaluate(point))  # shared by the diagnostics and an explanation
    rows = None
    if check:
        from .numeric import check as numeric_check

        rows = numeric_check(tape, ev, names)
    warnings = [
        f"the gradient with respect to {name} is undefined at this point"
        for name in names
        if math.isnan(ev.grads[tape.graph.inputs[name]])
    ]
    return Result(ev, names, rows, warnings, diagnose(ev))
