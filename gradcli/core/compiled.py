"""Straight-line Python for one graph: the fast path for running it many times (descent).

The source is generated only from the op table and numeric constants (repr of floats): no text
the user typed ever becomes code. Each op contributes either its lowering (ops.Op.py and
ops.Op.py_grads, in the namespace the table builds from their py_names) or a call to its forward
and grads functions. The result is bit-for-bit the same as Tape's forward and backward sweeps:
the same operations in the same order (the op table's register checks the two forms agree at
its samples; the tests check them at the edges).

`sweeps` gives the two sweeps as lines of Python, which `generate` wraps into one function
(and gradcli.core.descend into its whole loop); `build` compiles such source.
Whatever the plain engine would report as an error (a domain error, a non-finite value, a
rule that raises) makes the generated function raise FastPathFailed; callers then rerun the
point through Tape, which raises the proper DomainError naming the node. An inline grads
expression may also raise where its function does not (up / (2·sqrt x) at x = 0, where the
function gives ±inf): the rerun then gives Tape's numbers.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import NamedTuple

from .graph import CONST, INPUT, Graph
from .ops import NAMESPACE, OPS


class FastPathFailed(Exception):
    """The generated code met a point the plain engine reports as an error."""


MAX_NODES = 20_000  # beyond this, compiling costs more than it saves: use the Tape


class Sweeps(NamedTuple):
    """A graph's forward and backward sweeps as lines of Python, for a function body in which
    the variables `params` hold the parameters' values."""

    params: list[str]  # the variable of each parameter, in wrt order
    forward: list[str]  # raises ArithmeticError or ValueError where Tape raises DomainError
    check: str  # finite exactly when every value is (after a forward that did not raise)
    backward: list[str]  # may raise ArithmeticError or ValueError too (see the module's doc)
    value: str  # f
    grads: list[str]  # df/dp for each parameter, as Tape has them
    namespace: dict  # the names the lines use
    data: list[str] = []  # the variable of each data input (sweeps' `data`), in its order


def sweeps(
    graph: Graph,
    wrt: Sequence[str],
    fixed: Mapping[str, float] | None = None,
    data: Sequence[str] = (),
    seed: str = "1.0",
) -> Sweeps:
    """The forward and backward sweeps over the parameters `wrt`, with every other input held
    at its value in `fixed` (baked in as a constant), or, for the inputs named in `data`, read
    from a variable of their own that the caller sets (a row of a data set: finite, and no
    gradient computed for it). The backward sweep starts from the output's gradient `seed`
    (an expression: 1.0, or the error sent back from a loss)."""
    fixed = fixed or {}
    missing = [n for n in graph.inputs if n not in wrt and n not in fixed and n not in data]
    if missing:
        raise ValueError(f"no value for fixed inputs {missing}")
    constants = {node: graph.consts[node] for node in graph.consts}
    for name, node in graph.inputs.items():
        if name not in wrt and name not in data:
            constants[node] = float(fixed[name])
    unread = set(constants) | {graph.inputs[n] for n in data}  # no gradient is read from these

    def text(node: int) -> str:
        return f"({constants[node]!r})" if node in constants else f"v{node}"

    namespace: dict = {"isfinite": math.isfinite, **NAMESPACE}
    forward = []
    for node, (op, args) in enumerate(zip(graph.ops, graph.args, strict=True)):
        if op in (INPUT, CONST):
            continue
        rule = OPS[op]
        operands = [text(a) for a in args]
        if rule.py is not None:
            expression = rule.py.format(*operands, tmp=f"t{node}")
        else:
            namespace[f"F_{op}"] = rule.forward
            expression = f"F_{op}({', '.join(operands)})"
        forward.append(f"v{node} = {expression}")
    # x - x is 0 for a finite x and nan otherwise: one test covers every such node
    check = (
        " + ".join(
            f"(v{n} - v{n})" for n in finiteness_tests(graph, [graph.inputs[n] for n in wrt])
        )
        or "0.0"
    )

    backward = [f"g{graph.output} = {seed}"]
    assigned = {graph.output}
    for node in range(len(graph.ops) - 1, -1, -1):
        op, args = graph.ops[node], graph.args[node]
        if op in (INPUT, CONST) or node not in assigned:
            continue  # a node the output does not reach keeps gradient 0
        rule = OPS[op]
        operands = [text(a) for a in args]
        upstream = seed if node == graph.output else f"g{node}"
        if rule.py_grads is not None:
            sent = [
                _times_one(t.format(*operands, up=upstream, out=f"v{node}")) for t in rule.py_grads
            ]
        else:
            namespace[f"G_{op}"] = rule.grads
            local = ", ".join(f"d{node}_{i}" for i in range(len(args)))
            backward.append(f"{local}, = G_{op}({upstream}, {', '.join(operands)}, v{node})")
            sent = [f"d{node}_{i}" for i in range(len(args))]
        for a, term in zip(args, sent, strict=True):
            if a in unread:
                continue  # nobody reads a constant's (or a data input's) gradient
            if a in assigned:
                backward.append(f"g{a} += {term}")
            else:
                backward.append(f"g{a} = {term}")
                assigned.add(a)
    # + 0.0 turns a -0.0 into 0.0, as Tape's zero-filled accumulation does
    grads = [f"g{graph.inputs[n]} + 0.0" if graph.inputs[n] in assigned else "0.0" for n in wrt]
    return Sweeps(
        [f"v{graph.inputs[n]}" for n in wrt],
        forward,
        check,
        backward,
        text(graph.output),
        grads,
        namespace,
        [f"v{graph.inputs[n]}" for n in data],
    )


def generate(
    graph: Graph, wrt: Sequence[str], fixed: Mapping[str, float] | None = None
) -> tuple[str, dict]:
    """Source of `run(*values of wrt) -> (value, [d/d wrt ...])` and the namespace it runs in."""
    return run_source(sweeps(graph, wrt, fixed))


def run_source(code: Sweeps) -> tuple[str, dict]:
    """`generate`'s source and namespace, from the sweeps."""
    lines = [
        f"def run({', '.join(code.params)}):",
        *indent(forward_lines(code), 1),
        *indent(backward_lines(code), 1),
        f"    return {code.value}, [{', '.join(code.grads)}]",
    ]
    return "\n".join(lines) + "\n", {**code.namespace, "Failed": FastPathFailed}


def forward_lines(code: Sweeps) -> list[str]:
    """The forward sweep and the test that its values are finite, raising `Failed`
    (FastPathFailed) where a value cannot be computed or is not finite."""
    return [
        "try:",
        *indent(code.forward or ["pass"], 1),  # (no forward: the output is an input)
        "except (ArithmeticError, ValueError):",
        "    raise Failed from None",
        f"if not isfinite({code.check}):",
        "    raise Failed",
    ]


def backward_lines(code: Sweeps) -> list[str]:
    """The backward sweep, raising `Failed` where a gradient cannot be computed."""
    return [
        "try:",
        *indent(code.backward, 1),
        "except (ArithmeticError, ValueError):",
        "    raise Failed from None",
    ]


def indent(lines: Sequence[str], levels: int) -> list[str]:
    return ["    " * levels + line for line in lines]


def finiteness_tests(graph: Graph, params: Sequence[int]) -> list[int]:
    """The nodes whose values the generated code tests for being finite, so that it fails
    exactly where Tape's forward finds a value that is not.

    The first non-finite value is born at a parameter or at an op that overflows silently
    (silent_overflow); every other op gives a finite result or an error for finite inputs.
    Such a node needs no test of its own when one of its users keeps the non-finite value
    (keeps_nonfinite) and is itself covered: the value reaches a tested node, or an error.
    One pass from the output back decides, for each node, whether it is covered."""
    users = graph.users()
    born = [op not in (INPUT, CONST) and OPS[op].silent_overflow for op in graph.ops]
    for node in params:
        born[node] = True
    covered = [False] * len(graph.ops)
    tested = []
    for node in range(len(graph.ops) - 1, -1, -1):
        covered[node] = any(covered[u] and OPS[graph.ops[u]].keeps_nonfinite for u in users[node])
        if born[node] and not covered[node]:
            tested.append(node)
            covered[node] = True
    return tested[::-1]


def _times_one(term: str) -> str:
    """The term without a leading factor 1.0 (the output's upstream gradient): 1.0 * x is x
    for every float (nan, ±inf and -0.0 included), and * takes the operand right after it
    first, so leaving it out changes no bit and saves a multiplication per step."""
    return term[6:] if term.startswith("1.0 * ") else term


def compile_graph(
    graph: Graph, wrt: Sequence[str], fixed: Mapping[str, float] | None = None
) -> Callable[..., tuple]:
    """run(*values of wrt) -> (value, [gradient in wrt order]). Raises FastPathFailed where the
    plain engine would raise DomainError."""
    return build(*generate(graph, wrt, fixed), "run")


def build(source: str, namespace: dict, name: str) -> Callable:
    """The function `name` that the generated `source` defines. Only code generated as this
    module generates it (from the op table and the repr of floats) comes here."""
    exec(compile(source, "<gradcli generated>", "exec"), namespace)  # noqa: S102 - see module doc
    return namespace[name]
