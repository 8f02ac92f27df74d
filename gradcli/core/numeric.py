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
from .graph import CONST, INPUT
from .ops import OPS

GOOD = 1e-7  # relative error bands of the verdict
ACCEPTABLE = 1e-4


@dataclass(frozen=True, slots=True)
class CheckRow:
    name: str
    analytic: float
    numeric: float | None  # None: f is undefined at x ± h
    rel_error: float | None
    verdict: str  # "good" | "acceptable" | "suspect" | "undefined" | "n/a"
    kinks: tuple[int, ...] = ()  # nodes whose branch differs between x + h and x - h


def step_size(x: float) -> float:
    return sys.float_info.epsilon ** (1 / 3) * max(1.0, abs(x))


def central_difference(tape: Tape, point: dict[str, float], name: str, h: float) -> float:
    """(f(x+h) - f(x-h)) / (x+h - (x-h)) for input `name`. Raises DomainError."""
    x = point[name]
    up, down = x + h, x - h  # the steps actually taken, after rounding
    f_up = tape.forward({**point, name: up})[tape.graph.output]
    f_down = tape.forward({**point, name: down})[tape.graph.output]
    return (f_up - f_down) / (up - down)


def branches(tape: Tape, values: list[float]) -> dict[int, object]:
    """Which piece each piecewise node (relu, abs, max, min: ops with a `branch` rule) is on
    at a point, given the forward values there."""
    graph = tape.graph
    found = {}
    for node, op in enumerate(graph.ops):
        if op in (INPUT, CONST):
            continue
        rule = OPS[op].branch
        if rule is not None:
            found[node] = rule(*[values[a] for a in graph.args[node]], values[node])
    return found


def kinks_crossed(tape: Tape, point: dict[str, float], name: str, h: float) -> tuple[int, ...]:
    """The piecewise nodes whose winning branch differs between x + h and x - h for input
    `name`: there the central difference straddles a kink. Raises DomainError."""
    x = point[name]
    up = branches(tape, tape.forward({**point, name: x + h}))
    down = branches(tape, tape.forward({**point, name: x - h}))
    return tuple(node for node in up if up[node] != down[node])


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
            numeric = central_difference(
                tape, evaluation.point, name, step_size(evaluation.point[name])
            )
        except DomainError:
            rows.append(CheckRow(name, analytic, None, None, "n/a"))
            continue
        kinks = kinks_crossed(tape, evaluation.point, name, step_size(evaluation.point[name]))
        if not math.isfinite(analytic):
            rows.append(CheckRow(name, analytic, numeric, None, "undefined", kinks))
            continue
        rel = relative_error(analytic, numeric)
        rows.append(CheckRow(name, analytic, numeric, rel, verdict(rel), kinks))
    return rows


SWEEP_STEPS = tuple(10.0**-k for k in range(1, 16))  # h = 1e-1 … 1e-15


@dataclass(frozen=True, slots=True)
class SweepRow:
    h: float
    numeric: float | None  # None: f is undefined at x ± h
    error: float | None  # |numeric - analytic|
    rel_error: float | None


@dataclass(frozen=True, slots=True)
class Sweep:
    name: str
    analytic: float
    rows: tuple[SweepRow, ...]

    @property
    def best(self) -> SweepRow | None:
        """The row with the smallest error (the largest h among equals)."""
        rows = [r for r in self.rows if r.error is not None]
        return min(rows, key=lambda r: r.error) if rows else None


def sweep(
    tape: Tape, evaluation: Evaluation, names: list[str], steps: tuple[float, ...] = SWEEP_STEPS
) -> list[Sweep]:
    """The central difference's error against the analytic gradient for each step h: large
    h suffers truncation error (∝ h²), tiny h floating-point round-off (∝ ε/h)."""
    result = []
    for name in names:
        analytic = evaluation.grads[tape.graph.inputs[name]]
        rows = []
        for h in steps:
            try:
                numeric = central_difference(tape, evaluation.point, name, h)
            except DomainError:
                rows.append(SweepRow(h, None, None, None))
                continue
            if not math.isfinite(analytic):
                rows.append(SweepRow(h, numeric, None, None))
                continue
            rows.append(
                SweepRow(h, numeric, abs(numeric - analytic), relative_error(analytic, numeric))
            )
        result.append(Sweep(name, analytic, tuple(rows)))
    return result
