"""The backward pass as a story: one numbered step per node, in reverse topological order.

Each step names the node, its formula, and for every operand the chain rule written out:
downstream = upstream × local, with the local derivative as a formula (from the op table's
`local` templates) and as a number (from the op's own `partials`), and what the engine sends.
Where a value feeds several nodes, the step shows each path's contribution and their sum.

Plain data only: renderers turn an Explanation into text.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import NamedTuple

from .engine import Evaluation, number_text, rule_error, with_partials
from .graph import CONST, INPUT, Graph
from .ops import OPS


class Contribution(NamedTuple):
    """The gradient sent back along one wire: from node `user` into its operand `operand`."""

    user: int
    operand: int
    slot: int  # the operand's position among the user's inputs
    local_formula: str  # ∂user/∂operand as a formula, e.g. "z" or "1"
    local: float  # ∂user/∂operand as a number
    upstream: float  # ∂f/∂user
    downstream: float  # what the engine sends: upstream × local, routed or divided
    note: str = ""  # why downstream is not simply upstream × local, if it is not


class BackwardStep(NamedTuple):
    number: int
    node: int
    label: str  # the node's name, its number for a constant, or #id for an unnamed node
    op: str  # op name, or "input"
    role: str  # the op's gate role ("" for an input)
    formula: str  # the node's own formula in terms of its operands' labels
    value: float
    grad: float  # ∂f/∂node, the sum of `gathered`
    gathered: tuple[Contribution, ...]  # what reached this node; several at a branch
    inputs: tuple[Contribution, ...]  # what this node sends to each non-constant operand


class Explanation(NamedTuple):
    output: str  # the output's label, f unless the program names it
    steps: tuple[BackwardStep, ...]
    labels: tuple[str, ...]  # how to refer to every node (see label)


def label(graph: Graph, node: int, output: str | None = None) -> str:
    """How explanations refer to a node: its name, a constant's number, or #id."""
    if node == graph.output and output is not None:
        return output
    name = graph.names[node]
    if name:
        return name
    if graph.ops[node] == CONST:
        return number_text(graph.consts[node])
    return f"#{node}"


def _operand(graph: Graph, node: int, output: str) -> str:
    text = label(graph, node, output)
    # Wrap a negative constant so that "b·a^(b - 1)" reads 2·x^(2 - 1), not --1.
    return f"({text})" if graph.ops[node] == CONST and text.startswith("-") else text


def formula(graph: Graph, node: int, operand: Callable[[int], str], max_args: int = 10) -> str:
    """A node's own formula with each operand written by `operand`: 'x + y', 'exp(#3)'.
    A call with more than max_args arguments shows the first few and a count."""
    op = graph.ops[node]
    if op in (INPUT, CONST):
        return operand(node)
    args = graph.args[node]
    operands = [operand(a) for a in args[:max_args]]
    if len(args) > max_args:  # max(a1, …, a20000): keep it one short line
        operands.append(f"… {len(args) - max_args} more")
    return OPS[op].written(operands)


def node_formula(graph: Graph, node: int, output: str) -> str:
    return formula(graph, node, lambda a: _operand(graph, a, output))


def local_formula(
    graph: Graph, node: int, slot: int, output: str, operands: list[str] | None = None
) -> str:
    """∂node/∂(operand in `slot`) as a formula in the operands' labels."""
    rule = OPS[graph.ops[node]]
    if operands is None:
        operands = [_operand(graph, a, output) for a in graph.args[node]]
    if rule.arity is None:
        return rule.local[0].format(a=operands[slot])
    return rule.local[slot].format(**dict(zip("ab", operands)))


BLOCKED = "the gate blocks it: exactly 0, whatever arrives"
DIVIDED = "∞ as a double; the product is computed as upstream / x"


def contributions(ev: Evaluation) -> list[list[Contribution]]:
    """For every node, the contributions it receives, in the order the engine adds them
    (reverse topological order of the users, then operand order), with the values the engine
    adds (the op's grads rule). Raises DomainError where an op's rule fails."""
    ev = with_partials(ev)
    graph, values, grads, partials = ev.graph, ev.values, ev.grads, ev.partials
    output = graph.output_name
    received: list[list[Contribution]] = [[] for _ in graph.ops]
    for node in range(len(graph.ops) - 1, -1, -1):
        op = graph.ops[node]
        if op in (INPUT, CONST):
            continue
        rule = OPS[op]
        args = graph.args[node]
        upstream = grads[node]
        try:
            sent = rule.grads(upstream, *[values[a] for a in args], values[node])
        except (ArithmeticError, ValueError) as exc:
            raise rule_error(graph, node, values, exc) from None
        operands = [_operand(graph, a, output) for a in args]
        for slot, (a, d, downstream) in enumerate(zip(args, partials[node], sent, strict=True)):
            note = ""
            if rule.routes and d == 0.0 and upstream != 0.0:
                note = BLOCKED
            elif (
                rule.quotient
                and rule.quotient[slot]
                and math.isinf(d)
                and math.isfinite(downstream)
            ):
                note = DIVIDED
            formula = local_formula(graph, node, slot, output, operands)
            received[a].append(Contribution(node, a, slot, formula, d, upstream, downstream, note))
    return received


def explain(ev: Evaluation) -> Explanation:
    """The backward pass of `ev`, one step per operation node (output first), then one step
    for each input that gathers gradient from several paths."""
    graph = ev.graph
    output = graph.output_name
    received = contributions(ev)
    sent: list[list[Contribution]] = [[] for _ in graph.ops]
    for node_received in received:
        for c in node_received:
            sent[c.user].append(c)
    steps: list[BackwardStep] = []
    for node in range(len(graph.ops) - 1, -1, -1):
        op = graph.ops[node]
        if op == CONST:
            continue
        if op == INPUT and len(received[node]) < 2:
            continue  # its gradient was stated where it arrived
        rule = OPS.get(op)
        outgoing = sorted(sent[node], key=lambda c: c.slot)
        steps.append(
            BackwardStep(
                number=len(steps) + 1,
                node=node,
                label=label(graph, node, output),
                op=op,
                role=rule.role if rule else "",
                formula=node_formula(graph, node, output),
                value=ev.values[node],
                grad=ev.grads[node],
                gathered=tuple(received[node]),
                inputs=tuple(c for c in outgoing if graph.ops[c.operand] != CONST),
            )
        )
    labels = tuple(label(graph, node, output) for node in range(len(graph.ops)))
    return Explanation(output, tuple(steps), labels)


def branch_sum(step: BackwardStep) -> float:
    """The sum of the contributions gathered at a step, added in the engine's order."""
    total = 0.0
    for c in step.gathered:
        total += c.downstream
    return total
