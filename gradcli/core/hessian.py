"""Second derivatives: the symbolic backward pass run again, over the gradient's own DAG.

`adjoints` (gradcli/core/symbolic.py) turns the backward pass into an expression DAG with one
root per ∂f/∂a. Differentiating each root the same way (upstream × local, summed at forks,
each op's local derivative read from the op table's symbolic rule) gives the row ∂²f/∂a∂b of
the Hessian. The new nodes go into the same hash-consed Expr, so what the rows share stays one
node. One reverse sweep per row, over the nodes that row reaches: nothing recurses.

Kinks follow the engine: step and sign have derivative 0, and an op that routes (relu, abs,
max, min, step, sign) sends nothing at all where its local derivative is 0.

The result is a Derivation (as `grad diff` prints it) whose roots are keyed by pairs (a, b),
each unordered pair once, a before b in --wrt order; `matrix` gives every entry.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import NamedTuple

from .engine import Tape
from .errors import DomainError
from .graph import Graph, gc_paused
from .ops import OPS
from .symbolic import Derivation, Expr, adjoints, written


class Hessian(NamedTuple):
    derivation: Derivation  # the pairs (a, b) with a at or before b, as formulas
    rows: dict[str, dict[str, int]]  # rows[a][b]: node of ∂/∂b (∂f/∂a), for every a and b


def second_derivatives(graph: Graph, wrt: Sequence[str] | None = None) -> Hessian:
    """The Hessian of the graph's output with respect to the inputs `wrt` (all by default),
    as formulas. Raises UsageError naming an op whose derivative has no formula."""
    expr, node_of, first = adjoints(graph, wrt)
    wrt = list(first)
    inputs = {node: name for node, name in expr.input_names.items() if name in wrt}
    with gc_paused():
        rows = {a: backward(expr, first[a], inputs, wrt) for a in wrt}
    roots = {(a, b): rows[a][b] for i, a in enumerate(wrt) for b in wrt[i:]}
    derivation = written(graph, expr, node_of, roots, lambda pair: f"d{pair[0]}d{pair[1]}")
    return Hessian(derivation, rows)


def backward(
    expr: Expr, root: int, inputs: Mapping[int, str], wrt: Sequence[str]
) -> dict[str, int]:
    """d root / d input for each input of `wrt` (nodes of expr): the backward pass over the
    nodes `root` reaches, in reverse order of their ids (operands come before users)."""
    order = sorted(expr.reached([root]))
    needed: dict[int, bool] = {}  # which nodes lead to an input we differentiate by
    for node in order:
        needed[node] = node in inputs or any(needed[a] for a in expr.args[node])
    parts: dict[int, list[int]] = {root: [expr.one]} if needed[root] else {}
    for node in reversed(order):
        args = expr.args[node]
        if not args or node not in parts:
            continue
        upstream = expr.total(parts.pop(node))
        op = OPS[expr.ops[node]]  # every op has a symbolic rule (adjoints checked f's)
        local = op.symbolic(expr, *args, node)
        for a, d in zip(args, local, strict=True):
            if not needed[a] or (op.routes and d == expr.zero):
                continue  # a routing op sends nothing where its local derivative is 0
            parts.setdefault(a, []).append(expr.mul(upstream, d))
    found = {inputs[node]: expr.total(terms) for node, terms in parts.items() if node in inputs}
    return {name: found.get(name, expr.zero) for name in wrt}


class Evaluator:
    """The values of chosen nodes of an Expr at many points: the nodes they need, lined up
    once with their forward rules. A node whose operation fails or is not finite is nan, and
    so is what uses it: a Hessian entry may be undefined where f is not (sqrt at 0)."""

    def __init__(self, expr: Expr, roots: Sequence[int]) -> None:
        reached = expr.reached(roots)
        self.size = len(expr.ops)
        self.inputs = [
            (node, expr.input_names[node]) for node in reached if node in expr.input_names
        ]
        self.consts = [(node, expr.consts[node]) for node in reached if node in expr.consts]
        self.steps = [
            (node, OPS[expr.ops[node]].forward, expr.args[node])
            for node in sorted(reached)
            if expr.args[node]
        ]

    def values(self, point: Mapping[str, float]) -> list[float]:
        """Every needed node's value at `point` (which gives each input a value)."""
        values = [math.nan] * self.size
        for node, value in self.consts:
            values[node] = value
        for node, name in self.inputs:
            values[node] = point[name]
        try:
            for node, forward, args in self.steps:
                values[node] = forward(*[values[a] for a in args])
            if all(math.isfinite(values[node]) for node, _, _ in self.steps):
                return values
        except (ArithmeticError, ValueError):
            pass
        for node, forward, args in self.steps:  # again, one node at a time
            inputs = [values[a] for a in args]
            try:
                value = forward(*inputs) if all(map(math.isfinite, inputs)) else math.nan
            except (ArithmeticError, ValueError):
                value = math.nan
            values[node] = value if math.isfinite(value) else math.nan
        return values


def matrix_fn(hessian: Hessian, names: Sequence[str]):
    """matrix(point) -> the Hessian over `names` (a sublist of its wrt) as rows of floats,
    nan where undefined."""
    rows = [[hessian.rows[a][b] for b in names] for a in names]
    evaluator = Evaluator(hessian.derivation.expr, [n for row in rows for n in row])

    def matrix(point: Mapping[str, float]) -> list[list[float]]:
        values = evaluator.values(point)
        return [[values[n] for n in row] for row in rows]

    return matrix


def evaluate(graph: Graph, point: Mapping[str, float], names: Sequence[str]) -> list[list[float]]:
    """The Hessian over `names` at `point`, nan where undefined."""
    return matrix_fn(second_derivatives(graph, names), names)(point)


class CheckRow(NamedTuple):
    """∂²f/∂a∂b against the central difference of the analytic ∂f/∂a along b."""

    a: str
    b: str
    analytic: float
    numeric: float | None  # None: the gradient is undefined at x ± h
    rel_error: float | None
    verdict: str  # as numeric.CheckRow's: "good" | "acceptable" | "suspect" | "undefined" | "n/a"
    kinks: tuple[int, ...] = ()  # nodes whose branch differs between x + h and x - h


def check(tape: Tape, point: Mapping[str, float], names: Sequence[str]) -> list[CheckRow]:
    """Compare each second derivative (each unordered pair once, as `grad diff --order 2`
    lists them) with (∂f/∂a(x + h·e_b) − ∂f/∂a(x − h·e_b)) / 2h, the central difference of the
    engine's gradient, h and the verdicts as `grad check` has them for the gradient."""
    from .numeric import kinks_crossed, relative_error, step_size, verdict

    point = dict(point)
    matrix = evaluate(tape.graph, point, names)
    differences: dict[str, tuple[dict[str, float], tuple[int, ...]] | None] = {}
    for b in names:  # the gradient on both sides of x along b
        x, h = point[b], step_size(point[b])
        up, down = x + h, x - h
        try:
            g_up = tape.evaluate({**point, b: up}).gradient(names)
            g_down = tape.evaluate({**point, b: down}).gradient(names)
            kinks = kinks_crossed(tape, point, b, h)
        except DomainError:
            differences[b] = None
            continue
        differences[b] = ({a: (g_up[a] - g_down[a]) / (up - down) for a in names}, kinks)
    rows = []
    for i, a in enumerate(names):
        for j in range(i, len(names)):
            b = names[j]
            analytic, found = matrix[i][j], differences[b]
            numeric = None if found is None else found[0][a]
            kinks = () if found is None else found[1]
            if numeric is None or not math.isfinite(numeric):
                rows.append(CheckRow(a, b, analytic, None, None, "n/a", kinks))
            elif not math.isfinite(analytic):
                rows.append(CheckRow(a, b, analytic, numeric, None, "undefined", kinks))
            else:
                rel = relative_error(analytic, numeric)
                rows.append(CheckRow(a, b, analytic, numeric, rel, verdict(rel), kinks))
    return rows
