"""The numerical derivative, to check analytic gradients against.

Central differences (f(x+h) - f(x-h)) / 2h have truncation error O(h²) and floating-point
round-off error O(ε/h); h = ε^(1/3)·max(1, |x|) balances the two, leaving a relative error of
about 1e-10 for a smooth f.
"""

from __future__ import annotations

import math
import sys
from dataclasses import dataclass

from .engine import Evaluation, Tape
from .errors import DomainError

GOOD = 1e-7  # relative error bands of the verdict
ACCEPTABLE = 1e-4


@dataclass(frozen=True, slots=True)
class CheckRow:
    name: str
    analytic: float
    numeric: float | None  # None: f is undefined at x ± h
    rel_error: float | None
    verdict: str  # "good" | "acceptable" | "suspect" | "undefined" | "n/a"


def step_size(x: float) -> float:
    return sys.float_info.epsilon ** (1 / 3) * max(1.0, abs(x))


def central_difference(tape: Tape, point: dict[str, float], name: str, h: float) -> float:
    """(f(x+h) - f(x-h)) / (x+h - (x-h)) for input `name`. Raises DomainError."""
    x = point[name]
    up, down = x + h, x - h  # the steps actually taken, after rounding
    f_up = tape.forward({**point, name: up})[tape.graph.output]
    f_down = tape.forward({**point, name: down})[tape.graph.output]
    return (f_up - f_down) / (up - down)


def relative_error(a: float, n: float) -> float:
    """|a - n| / max(|a|, |n|), and 0 when both are 0."""
    scale = max(abs(a), abs(n))
    return 0.0 if scale == 0.0 else abs(a - n) / scale


def verdict(rel: float) -> str:
    if rel <= GOOD:
        return "good"
    if rel <= ACCEPTABLE:
        return "acceptable"
    return "suspect"


def check(tape: Tape, evaluation: Evaluation, names: list[str]) -> list[CheckRow]:
    """Compare each named input's analytic gradient with its central difference."""
    rows = []
    for name in names:
        analytic = evaluation.grads[tape.graph.inputs[name]]
        try:
            numeric = central_difference(tape, evaluation.point, name,
                                         step_size(evaluation.point[name]))
        except DomainError:
            rows.append(CheckRow(name, analytic, None, None, "n/a"))
            continue
        if not math.isfinite(analytic):
            rows.append(CheckRow(name, analytic, numeric, None, "undefined"))
            continue
        rel = relative_error(analytic, numeric)
        rows.append(CheckRow(name, analytic, numeric, rel, verdict(rel)))
    return rows
