"""The computational graph: an immutable DAG kept in flat, parallel tuples.

Node i has kind ops[i] ("input", "const" or an op name from OPS), operands args[i] (node ids,
in source order), a source span, and a name (an input's name, a constant's symbol, or the name
of a named intermediate such as q in `q = x + y`). Operands always come before the nodes that
use them, so the node order is a topological order and nothing ever needs to sort or recurse.
"""

from __future__ import annotations

import gc
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import NamedTuple

from .errors import Span

INPUT = "input"
CONST = "const"


class Graph(NamedTuple):  # NamedTuple records: a dataclass costs ~1 ms to create at start-up
    source: str
    ops: tuple[str, ...]
    args: tuple[tuple[int, ...], ...]
    spans: tuple[tuple[int, int], ...]  # (start, end) of each node in the source: see span
    names: tuple[str | None, ...]
    consts: dict[int, float]  # value of every const node
    inputs: dict[str, int]  # input name -> node id, in order of first use
    defaults: dict[str, float]  # values the program gives
    output: int

    def span(self, node: int) -> Span:
        """Where a node is in the source. The graph keeps plain pairs: the garbage collector
        stops tracking a tuple of numbers, but never a NamedTuple."""
        return Span(*self.spans[node])

    def is_leaf(self, node: int) -> bool:
        return not self.args[node]

    @property
    def output_name(self) -> str:
        """The output's own name, else f, or where an input or intermediate is called f: F,
        out, … (∂f/∂f would then be the input's slope, not the output's)."""
        if self.names[self.output]:
            return self.names[self.output]
        taken = set(self.names)
        return next(name for name in ("f", "F", "out", "output", "f_") if name not in taken)

    def users(self) -> list[list[int]]:
        """For each node, the nodes that take it as an operand (each user once)."""
        return list(self.users_of(range(len(self.ops))).values())

    def users_of(self, nodes: Iterable[int]) -> dict[int, list[int]]:
        """For each of these nodes, the nodes that take it as an operand (each user once)."""
        users: dict[int, list[int]] = {node: [] for node in nodes}
        for node, operands in enumerate(self.args if users else ()):
            for operand in operands:
                found = users.get(operand)
                if found is not None and (not found or found[-1] != node):
                    found.append(node)
        return users


def prune(graph: Graph) -> Graph:
    """Keep only the nodes the output depends on, renumbered in the same order."""
    keep = [False] * len(graph.ops)
    keep[graph.output] = True
    for node in range(graph.output, -1, -1):
        if keep[node]:
            for operand in graph.args[node]:
                keep[operand] = True
    if all(keep):
        return graph
    new_id: dict[int, int] = {}
    for node, kept in enumerate(keep):
        if kept:
            new_id[node] = len(new_id)
    old = list(new_id)
    return Graph(
        source=graph.source,
        ops=tuple(graph.ops[i] for i in old),
        args=tuple(tuple(new_id[a] for a in graph.args[i]) for i in old),
        spans=tuple(graph.spans[i] for i in old),
        names=tuple(graph.names[i] for i in old),
        consts={new_id[i]: v for i, v in graph.consts.items() if i in new_id},
        inputs={n: new_id[i] for n, i in graph.inputs.items() if i in new_id},
        defaults={n: v for n, v in graph.defaults.items()},
        output=new_id[graph.output],
    )


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause Python's cyclic garbage collector while building large acyclic structures: it
    would rescan the growing graph every 700 allocations and make building quadratic-ish."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()
