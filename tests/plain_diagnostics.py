"""diagnose as it was before it looked only at suspect nodes: one pass over every node. The
oracle that test_diagnostics compares the fast version with."""

from __future__ import annotations

import math

from gradcli.core.diagnostics import SATURATION, TINY, Diagnostic, _zero_gradient
from gradcli.core.engine import Evaluation, number_text
from gradcli.core.explain import label
from gradcli.core.graph import CONST, INPUT, gc_paused
from gradcli.core.ops import OPS


def _local(ev: Evaluation, node: int) -> tuple[float, ...]:
    args = ev.graph.args[node]
    return OPS[ev.graph.ops[node]].partials(*[ev.values[a] for a in args], ev.values[node])


def _sent(ev: Evaluation, node: int) -> tuple[float, ...]:
    args = ev.graph.args[node]
    return OPS[ev.graph.ops[node]].grads(
        ev.grads[node], *[ev.values[a] for a in args], ev.values[node]
    )


def plain_diagnose(ev: Evaluation) -> list[Diagnostic]:
    """Every finding about `ev`, in node order, then the inputs whose gradient is 0."""
    graph, values, grads = ev.graph, ev.values, ev.grads
    out = graph.output_name
    found: list[Diagnostic] = []
    consequences: list[Diagnostic] = []  # zero input gradients: listed after their causes
    n = len(graph.ops)
    users: list[list[int]] = []  # who uses each node: computed once, only if needed

    def users_of(node: int) -> list[int]:
        if not users:
            with gc_paused():
                users.extend(graph.users())
        return users[node]

    with gc_paused():
        locals_: list[tuple[float, ...]] = [
            () if graph.ops[node] in (INPUT, CONST) else _local(ev, node) for node in range(n)
        ]

    # live: some path to the output has nonzero local gradients all the way.
    # cut[a]: the node nearest the output where a path from a is cut by a local gradient 0.
    live = [False] * n
    live[graph.output] = True
    cut: list[int | None] = [None] * n
    for node in range(n - 1, -1, -1):
        if graph.ops[node] in (INPUT, CONST):
            continue
        for a, d in zip(graph.args[node], locals_[node], strict=True):
            if live[node] and d != 0.0:
                live[a] = True
            elif cut[a] is None:
                cut[a] = node if live[node] else cut[node]

    for node in range(n):
        op = graph.ops[node]
        name = label(graph, node, out)
        args = graph.args[node]
        if op == "mul" and values[args[0]] == 0.0 and values[args[1]] == 0.0:
            found.append(
                Diagnostic(
                    node,
                    "mul-zero",
                    f"{name} multiplies two inputs that are both 0, so neither receives any "
                    "gradient (each one's local gradient is the other, 0)",
                    "nudge one of them off zero, e.g. initialise weights with small random values",
                )
            )
        elif op == "relu" and values[args[0]] <= 0.0:
            found.append(
                Diagnostic(
                    node,
                    "dead-relu",
                    f"the relu {name} has input {number_text(values[args[0]])} ≤ 0, so it is dead: "
                    "its local gradient is 0 and nothing flows back through it",
                    "shift its input above 0 (e.g. a positive bias), or use softplus",
                )
            )
        elif (
            op not in (INPUT, CONST)
            and OPS[op].role == "squasher"
            and abs(locals_[node][0]) < SATURATION
        ):
            found.append(
                Diagnostic(
                    node,
                    "saturated",
                    f"the {op} {name} is saturated: its input {number_text(values[args[0]])} gives "
                    f"a local gradient of {locals_[node][0]:.2e} (below {SATURATION:g}), so almost "
                    "no gradient flows back through it",
                    "bring its input closer to 0, e.g. with smaller weights or normalised inputs",
                )
            )
        elif op not in (INPUT, CONST) and OPS[op].role == "router":
            losers = [a for a, d in zip(args, locals_[node], strict=True) if d == 0.0]
            if losers:
                names = list(dict.fromkeys(label(graph, a, out) for a in losers))
                lost = ", ".join(names[:5]) + (
                    f" and {len(names) - 5} more" if len(names) > 5 else ""
                )
                found.append(
                    Diagnostic(
                        node,
                        "losing-branch",
                        f"{name} = {op}(…) routes its gradient only to the winning argument; "
                        f"{lost} lost and {'receives' if len(names) == 1 else 'receive'} 0 "
                        "from it",
                        f"a losing argument gets gradient only if it becomes the {op}",
                    )
                )

        if op == INPUT and grads[node] == 0.0:
            parts = [
                d
                for u in users_of(node)  # what each use sends, as the engine adds
                for a, d in zip(graph.args[u], _sent(ev, u))
                if a == node
            ]
            consequences.append(_zero_gradient(ev, node, name, live, cut, parts))

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
