"""Why a gradient is zero, tiny or huge: findings about one evaluation, as plain data.

Each check fires exactly under the condition documented beside it:

The op table says which ops each check is about (its properties in brackets):

- mul-zero: a multiply [swaps] whose two inputs are both exactly 0. Each input's local
  gradient is the other input, so neither receives any gradient.
- dead-relu: a relu [dies] whose input is ≤ 0; its local gradient is 0 (relu'(0) = 0, as in
  PyTorch), and it sends exactly 0 back whatever arrives.
- saturated: a squashing unit such as sigmoid, tanh or erf whose local gradient is below its
  [saturation] threshold.
- losing-branch: a max or min [routes, any number of arguments] with an argument that does
  not win; that argument's local gradient is 0 and it receives exactly 0.
- zero-gradient: an input whose gradient is exactly 0, with the reason: every path to the
  output is cut by a local gradient of 0 (the node nearest the output that cuts it is named),
  or the paths' contributions cancel, or they underflow.
- overflow: a node whose gradient is ±inf while every node it feeds has a finite gradient
  (where the overflow starts).
- underflow: a wire with nonzero upstream gradient and nonzero local gradient whose product
  is 0 or subnormal (below the smallest normal double, about 2.2e-308).
"""

from __future__ import annotations

import math
import sys
from collections.abc import Iterable
from typing import NamedTuple

from .engine import Evaluation, number_text, rule_error, with_partials
from .explain import label
from .graph import CONST, INPUT, Graph, gc_paused
from .ops import OPS, Op
from .ops import SATURATION as SATURATION  # the usual threshold; each op has its own

TINY = sys.float_info.min  # the smallest normal double


class Diagnostic(NamedTuple):
    node: int
    kind: str  # mul-zero | dead-relu | saturated | losing-branch | zero-gradient | overflow |
    # underflow
    reason: str
    hint: str


def _mul_zero(ev: Evaluation, node: int, local: tuple[float, ...], out: str):
    a, b = ev.graph.args[node]
    if ev.values[a] != 0.0 or ev.values[b] != 0.0:
        return None
    return Diagnostic(
        node,
        "mul-zero",
        f"{label(ev.graph, node, out)} multiplies two inputs that are both 0, so neither "
        "receives any gradient (each one's local gradient is the other, 0)",
        "nudge one of them off zero, e.g. initialise weights with small random values",
    )


def _dead_relu(ev: Evaluation, node: int, local: tuple[float, ...], out: str):
    x = ev.values[ev.graph.args[node][0]]
    if not x <= 0.0:
        return None
    return Diagnostic(
        node,
        "dead-relu",
        f"the {ev.graph.ops[node]} {label(ev.graph, node, out)} has input {number_text(x)} ≤ 0, "
        "so it is dead: its local gradient is 0 and nothing flows back through it",
        "shift its input above 0 (e.g. a positive bias), or use softplus",
    )


def _saturated(ev: Evaluation, node: int, local: tuple[float, ...], out: str):
    threshold = OPS[ev.graph.ops[node]].saturation
    if not abs(local[0]) < threshold:
        return None
    x = ev.values[ev.graph.args[node][0]]
    return Diagnostic(
        node,
        "saturated",
        f"the {ev.graph.ops[node]} {label(ev.graph, node, out)} is saturated: its input "
        f"{number_text(x)} gives a local gradient of {local[0]:.2e} (below {threshold:g}), "
        "so almost no gradient flows back through it",
        "bring its input closer to 0, e.g. with smaller weights or normalised inputs",
    )


def _losing_branch(ev: Evaluation, node: int, local: tuple[float, ...], out: str):
    graph, op = ev.graph, ev.graph.ops[node]
    losers = [a for a, d in zip(graph.args[node], local, strict=True) if d == 0.0]
    if not losers:
        return None
    names = list(dict.fromkeys(label(graph, a, out) for a in losers))
    lost = ", ".join(names[:5]) + (f" and {len(names) - 5} more" if len(names) > 5 else "")
    return Diagnostic(
        node,
        "losing-branch",
        f"{label(graph, node, out)} = {op}(…) routes its gradient only to the winning "
        f"argument; {lost} lost and {'receives' if len(names) == 1 else 'receive'} 0 from it",
        f"a losing argument gets gradient only if it becomes the {op}",
    )


def _finding(op: Op):
    """The check about one node of this op, from its properties in the op table, or None."""
    if op.swaps:
        return _mul_zero
    if op.dies:
        return _dead_relu
    if op.saturation is not None:
        return _saturated
    if op.routes and op.arity is None:
        return _losing_branch
    return None


# The findings about one node of an op, by op: each returns a Diagnostic or None.
_OP_FINDINGS = {name: check for name, op in OPS.items() if (check := _finding(op)) is not None}


def _op_findings(
    ev: Evaluation, locals_: list[tuple[float, ...]], out: str
) -> dict[int, Diagnostic]:
    """What _OP_FINDINGS find, by node."""
    checks = {op: _OP_FINDINGS[op] for op in set(ev.graph.ops) if op in _OP_FINDINGS}
    found = {}
    if checks:
        for node, op in enumerate(ev.graph.ops):
            check = checks.get(op)
            if check is not None:
                finding = check(ev, node, locals_[node], out)
                if finding is not None:
                    found[node] = finding
    return found


def _suspects(
    graph: Graph, grads: list[float], locals_: list[tuple[float, ...]], also: Iterable[int]
) -> list[int]:
    """`also` and the nodes that the other findings may be about, in order (each finding
    checks its own condition): an input whose gradient is 0, an infinite gradient, or a wire
    whose gradient product is below TINY."""
    suspects = set(also)
    suspects.update(node for node in graph.inputs.values() if grads[node] == 0.0)
    if not all(map(math.isfinite, grads)):
        suspects.update(node for node, g in enumerate(grads) if math.isinf(g))
    for node, g, local in zip(range(len(grads)), grads, locals_):
        if g != 0.0:
            for d in local:
                if abs(g * d) < TINY:
                    suspects.add(node)
                    break
    return sorted(suspects)


def _cut_reason(ev: Evaluation, node: int, name: str) -> str:
    """Why `node` passes no gradient to one of its operands, in a few words."""
    op = ev.graph.ops[node]
    return OPS[op].cut.format(node=name, op=op)


def _sent(ev: Evaluation, node: int) -> tuple[float, ...]:
    """What `node` sends back to each operand, by its op's grads rule (as the engine adds)."""
    graph, values = ev.graph, ev.values
    inputs = [values[a] for a in graph.args[node]]
    try:
        return OPS[graph.ops[node]].grads(ev.grads[node], *inputs, values[node])
    except (ArithmeticError, ValueError) as exc:
        raise rule_error(graph, node, values, exc) from None


def diagnose(ev: Evaluation) -> list[Diagnostic]:
    """Every finding about `ev`, in node order, then the inputs whose gradient is 0."""
    with gc_paused():  # its many short-lived tuples are gone before a collection could start
        return _diagnose(ev)


def _diagnose(ev: Evaluation) -> list[Diagnostic]:
    graph, grads = ev.graph, ev.grads
    out = graph.output_name
    found: list[Diagnostic] = []
    consequences: list[Diagnostic] = []  # zero input gradients: listed after their causes
    paths = None  # see _paths: computed once, only if needed
    locals_ = with_partials(ev).partials
    by_op = _op_findings(ev, locals_, out)
    suspects = _suspects(graph, grads, locals_, by_op)
    users = graph.users_of(
        node
        for node in suspects
        if math.isinf(grads[node]) or graph.ops[node] == INPUT and grads[node] == 0.0
    )
    users_of = users.__getitem__

    for node in suspects:
        op = graph.ops[node]
        name = label(graph, node, out)
        args = graph.args[node]
        if node in by_op:
            found.append(by_op[node])

        if op == INPUT and grads[node] == 0.0:
            if paths is None:
                paths = _paths(graph, locals_)
            parts = [
                d for u in users_of(node) for a, d in zip(graph.args[u], _sent(ev, u)) if a == node
            ]
            consequences.append(_zero_gradient(ev, node, name, *paths, parts))

        g = grads[node]
        if math.isinf(g) and all(math.isfinite(grads[u]) for u in users_of(node)):
            steep = [
                u
                for u in users_of(node)
                if any(a == node and math.isinf(d) for a, d in zip(graph.args[u], locals_[u]))
            ]
            if steep:  # e.g. sqrt at 0: the slope itself is infinite, nothing overflowed
                why = (
                    f"the local gradient of {label(graph, steep[0], out)} "
                    f"({graph.ops[steep[0]]}) is infinite here"
                )
            else:
                why = "the product of the local gradients along the way is too large"
            found.append(
                Diagnostic(
                    node,
                    "overflow",
                    f"the gradient ∂{out}/∂{name} is {'inf' if g > 0 else '-inf'}: {why}",
                    "try other input values",
                )
            )
        if op not in (INPUT, CONST) and g != 0.0 and math.isfinite(g):
            for a, d in zip(args, locals_[node], strict=True):
                product = g * d
                if d != 0.0 and math.isfinite(d) and abs(product) < TINY and graph.ops[a] != CONST:
                    found.append(
                        Diagnostic(
                            node,
                            "underflow",
                            f"the gradient sent from {name} to {label(graph, a, out)} underflows: "
                            f"{g:.3g} × {d:.3g} is {product:.3g}, below the smallest normal "
                            "double",
                            "rescale the formula (e.g. work with logarithms) or move the point",
                        )
                    )
                    break
    return found + consequences


def _paths(graph: Graph, locals_: list[tuple[float, ...]]) -> tuple[list[bool], list[int | None]]:
    """live[a]: some path from a to the output has nonzero local gradients all the way;
    cut[a]: the node nearest the output where a path from a is cut by a local gradient 0."""
    n = len(graph.ops)
    live = [False] * n
    live[graph.output] = True
    cut: list[int | None] = [None] * n
    for node in range(n - 1, -1, -1):
        for a, d in zip(graph.args[node], locals_[node], strict=True):
            if live[node] and d != 0.0:
                live[a] = True
            elif cut[a] is None:
                cut[a] = node if live[node] else cut[node]
    return live, cut


def _zero_gradient(
    ev: Evaluation,
    node: int,
    name: str,
    live: list[bool],
    cut: list[int | None],
    parts: list[float],
) -> Diagnostic:
    """Why an input's gradient is 0; `parts` are the contributions of its uses."""
    graph = ev.graph
    out = graph.output_name
    if not live[node]:
        blocker = cut[node]
        assert blocker is not None  # every non-output node feeds something
        why = _cut_reason(ev, blocker, label(graph, blocker, out))
        return Diagnostic(
            node,
            "zero-gradient",
            f"∂{out}/∂{name} is exactly 0: every path from {name} to {out} is cut "
            f"by a local gradient of 0 (for example where {why})",
            f"changing {name} a little does not change {out}; move the point "
            "so that the cutting node passes gradient",
        )
    if any(p != 0.0 for p in parts):
        terms = " + ".join(number_text(p) for p in parts)
        return Diagnostic(
            node,
            "zero-gradient",
            f"∂{out}/∂{name} is exactly 0: the contributions of its paths cancel ({terms} = 0)",
            f"{name} pushes {out} up along one path and down along another by the same amount",
        )
    return Diagnostic(
        node,
        "zero-gradient",
        f"∂{out}/∂{name} is exactly 0: the product of the local gradients along "
        "its paths underflows to 0",
        "rescale the formula or move the point",
    )
