"""Forward and reverse passes over a prepared tape of the graph.

`Tape(graph)` walks the graph once to line up each op's rules with its operand ids; after that
`forward` and `backward` are two flat loops over the topological order. Nothing is stored on the
graph, so evaluating twice gives the same result and a descent loop can reuse one tape.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping
from typing import NamedTuple

from .errors import DomainError, UnboundInputError, UsageError
from .graph import CONST, INPUT, Graph, gc_paused
from .ops import OPS
from .tokens import NAME, NUMBER

_NUMBER = re.compile(r"[+-]?" + NUMBER)  # the language's own number and name
_NAME = re.compile(NAME)


def number_text(value: float) -> str:
    """A short exact-enough rendering of a number for messages: 2 not 2.0, 1e+200."""
    return format(value, ".10g")


def parse_binding(text: str) -> tuple[str, float]:
    """'x=-2' -> ('x', -2.0). Raises UsageError for anything that is not NAME=NUMBER."""
    name, sep, value = text.partition("=")
    name, value = name.strip(), value.strip()
    if not sep or not _NAME.fullmatch(name) or not _NUMBER.fullmatch(value):
        raise UsageError(
            f"{text!r} is not a binding of the form NAME=NUMBER",
            hint="for example x=-2 or w0=1.5e-3",
        )
    number = float(value)
    if not math.isfinite(number):
        raise UsageError(f"{text!r}: the number is too large for a double")
    return name, number


def resolve_point(
    graph: Graph, bindings: Mapping[str, float]
) -> tuple[dict[str, float], list[str]]:
    """The value of every input (the program's own values, overridden by bindings), and the
    bound names the formula does not use. Raises UnboundInputError naming every missing one."""
    missing = [n for n in graph.inputs if n not in bindings and n not in graph.defaults]
    if missing:
        example = " ".join(f"{n}=1" for n in missing)
        raise UnboundInputError(
            f"no value for {_join(missing)}",
            hint=f"give every input a value, e.g. {example}",
        )
    point = {n: bindings[n] if n in bindings else graph.defaults[n] for n in graph.inputs}
    unused = [n for n in bindings if n not in graph.inputs]
    return point, unused


def _join(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]


class Evaluation(NamedTuple):
    """Values and gradients of every node at one point. grads[i] = d output / d node i; nan
    where the derivative does not exist (e.g. wrt the exponent of a negative base).
    partials: every node's local derivatives once computed (see with_partials), shared by the
    explanation and the diagnostics."""

    graph: Graph
    point: dict[str, float]
    values: list[float]
    grads: list[float]
    partials: list[tuple[float, ...]] | None = None

    @property
    def value(self) -> float:
        return self.values[self.graph.output]

    def gradient(self, names: Iterable[str] | None = None) -> dict[str, float]:
        """d output / d input for the named inputs (all of them by default)."""
        inputs = self.graph.inputs
        return {n: self.grads[inputs[n]] for n in (inputs if names is None else names)}


class Tape:
    """A graph lined up for repeated forward and backward sweeps."""

    def __init__(self, graph: Graph) -> None:
        self.graph = graph
        template = [0.0] * len(graph.ops)
        for node, value in graph.consts.items():
            template[node] = value
        self._template = template
        self._inputs = list(graph.inputs.items())
        steps, sweeps = [], []
        with gc_paused():
            for node, (op, args) in enumerate(zip(graph.ops, graph.args, strict=True)):
                if op not in (INPUT, CONST):
                    rule = OPS[op]
                    steps.append((node, rule.forward, args, len(args)))
                    # kind: the arity for an op whose grads is upstream × partials (the
                    # loop multiplies, as fast as it can), minus the arity for the others
                    if rule.product:
                        sweeps.append((node, rule.partials, args, len(args)))
                    else:
                        sweeps.append((node, rule.grads, args, -len(args)))
        self._steps = steps
        self._reverse = sweeps[::-1]

    def forward(self, point: Mapping[str, float]) -> list[float]:
        """Every node's value. Raises DomainError naming the first node that fails."""
        values = self._template.copy()
        for name, node in self._inputs:
            values[node] = point[name]
        node = -1
        try:
            for node, forward, args, arity in self._steps:
                if arity == 1:
                    values[node] = forward(values[args[0]])
                elif arity == 2:
                    values[node] = forward(values[args[0]], values[args[1]])
                else:
                    values[node] = forward(*[values[a] for a in args])
        except (ArithmeticError, ValueError) as exc:
            raise self._domain_error(
                node, values, overflow=isinstance(exc, OverflowError)
            ) from None
        if not all(map(math.isfinite, values)):
            first = next(i for i, v in enumerate(values) if not math.isfinite(v))
            raise self._domain_error(first, values, overflow=True)
        return values

    def backward(self, values: list[float]) -> list[float]:
        """d output / d node for every node, by one reverse sweep: each op adds what its grads
        rule sends back (upstream × local, routed or divided as the op table says). As in
        PyTorch, 0 × an infinite local gradient is nan (undefined). Raises DomainError naming
        the node whose rule fails."""
        grads = [0.0] * len(values)
        grads[self.graph.output] = 1.0
        node = -1
        try:
            for node, rule, args, kind in self._reverse:
                upstream = grads[node]
                if kind == 1:
                    grads[args[0]] += upstream * rule(values[args[0]], values[node])[0]
                elif kind == 2:
                    a, b = args
                    da, db = rule(values[a], values[b], values[node])
                    grads[a] += upstream * da
                    grads[b] += upstream * db
                elif kind == -1:
                    grads[args[0]] += rule(upstream, values[args[0]], values[node])[0]
                elif kind == -2:
                    a, b = args
                    da, db = rule(upstream, values[a], values[b], values[node])
                    grads[a] += da
                    grads[b] += db
                else:
                    inputs = [values[a] for a in args]
                    if kind > 0:
                        sent = [upstream * d for d in rule(*inputs, values[node])]
                    else:
                        sent = rule(upstream, *inputs, values[node])
                    for a, d in zip(args, sent, strict=True):
                        grads[a] += d
        except (ArithmeticError, ValueError) as exc:
            raise rule_error(self.graph, node, values, exc) from None
        return grads

    def evaluate(self, point: Mapping[str, float]) -> Evaluation:
        values = self.forward(point)
        return Evaluation(self.graph, dict(point), values, self.backward(values))

    def _domain_error(self, node: int, values: list[float], *, overflow: bool) -> DomainError:
        graph = self.graph
        if graph.ops[node] == INPUT:
            return DomainError(
                f"the input {graph.names[node]} is {number_text(values[node])}, "
                "not a finite number",
                node=node,
                source=graph.source,
                span=graph.span(node),
            )
        op = OPS[graph.ops[node]]
        inputs = [values[a] for a in graph.args[node]]
        call = op.written([number_text(v) for v in inputs])
        if overflow:
            reason = "the result is too large for a double"
        elif op.domain is not None:
            reason = op.domain(*inputs)
        else:
            reason = "outside the operation's domain"
        what = "overflows" if reason.startswith("the result is too large") else "is undefined"
        return DomainError(
            f"{call} {what}: {reason}",
            node=node,
            source=graph.source,
            span=graph.span(node),
            hint="try other input values"
            if not overflow
            else "the values are too large; try smaller inputs",
        )


def rule_error(graph: Graph, node: int, values: list[float], exc: Exception) -> DomainError:
    """The error for an op's derivative rule that raised at `node`: a defect of the op table,
    which the user sees as a message naming the op and the node, not as a traceback."""
    op = OPS[graph.ops[node]]
    call = op.written([number_text(values[a]) for a in graph.args[node]])
    return DomainError(
        f"the derivative of {op.name} at {call} cannot be computed ({type(exc).__name__}: {exc})",
        node=node,
        source=graph.source,
        span=graph.span(node),
        hint="this is a defect in gradcli's op table; please report it",
    )


def with_partials(ev: Evaluation) -> Evaluation:
    """`ev` with every node's local derivatives (() for a leaf), by the op table's partials
    rules: what explanations and diagnostics show. Computed once: an evaluation that has them
    is returned as it is. Raises DomainError naming the node whose rule fails."""
    if ev.partials is not None:
        return ev
    graph, values = ev.graph, ev.values
    rules = {op: OPS[op].partials for op in set(graph.ops) if op not in (INPUT, CONST)}
    found: list[tuple[float, ...]] = []
    append = found.append
    node = -1
    try:
        for node, op, args in zip(range(len(graph.ops)), graph.ops, graph.args):
            if not args:
                append(())
            elif len(args) == 1:
                append(rules[op](values[args[0]], values[node]))
            elif len(args) == 2:
                append(rules[op](values[args[0]], values[args[1]], values[node]))
            else:
                append(rules[op](*[values[a] for a in args], values[node]))
    except (ArithmeticError, ValueError) as exc:
        raise rule_error(graph, node, values, exc) from None
    return ev._replace(partials=found)


def evaluate(graph: Graph, point: Mapping[str, float]) -> Evaluation:
    """Forward and reverse pass at one point. Raises DomainError."""
    return Tape(graph).evaluate(point)
