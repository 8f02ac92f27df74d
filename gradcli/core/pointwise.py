"""One formula at many points (`grad eval --at FILE`): each data row binds the inputs that are
columns, the others keep one value, and every row gives the value and the gradient, or the
domain error that stopped it.

The formula is parsed once; every row runs through its compiled sweeps (core/compiled.py,
straight-line code), and a row they give up on goes through descent's gradient function
(descend.make_gradient_fn), whose tape raises the DomainError naming the node or gives the
tape's numbers. Either way a row's numbers are bit-for-bit those of `grad eval` at that
point. Rows are streamed: nothing is kept but the current row.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from operator import itemgetter
from typing import NamedTuple

from .compiled import FastPathFailed, build, run_source
from .descend import make_gradient_fn
from .engine import Tape
from .errors import DomainError
from .rows import Rows


class Plan(NamedTuple):
    """Which inputs come from the data."""

    varying: list[str]  # inputs bound by a column, in the formula's order of inputs
    overridden: list[str]  # columns that are inputs but bound by NAME=VALUE (the binding wins)


def plan(tape: Tape, columns: Sequence[str], bound: Mapping[str, float]) -> Plan:
    """Each input is bound by a NAME=VALUE binding (which wins over a column of the same
    name), else by its column, else by the program's own value."""
    present = set(columns)
    inputs = [n for n in tape.graph.inputs if n in present]
    return Plan([n for n in inputs if n not in bound], [n for n in inputs if n in bound])


class EvaluatedRows:
    """For each row: the formula at `point` with the `varying` inputs taken from the row, and
    its gradient with respect to the `reported` inputs. A row outside the domain gives its
    error instead, and the rows go on. Iterate once; iterating raises RowError (a malformed
    row). `count` and `failed` say how many rows were evaluated and how many failed.

    Each row is a plain tuple (line, value, gradient, error, fields): the line it starts on,
    f and the gradient in the order of `reported` (both None and `error` the domain error's
    message when the row failed), and the row's own texts, for --keep."""

    def __init__(
        self,
        tape: Tape,
        point: Mapping[str, float],
        varying: Sequence[str],
        reported: Sequence[str],
        rows: Rows,
    ) -> None:
        self.rows = rows
        self.varying = list(varying)
        self.params = self.varying + [n for n in reported if n not in varying]
        self.tail = tuple(point[n] for n in self.params[len(self.varying) :])
        self.order = [self.params.index(n) for n in reported]
        # the tape's path: a point the generated code cannot compute, a graph too large for it
        self.gradient = make_gradient_fn(tape, point, self.params)
        code = getattr(self.gradient, "sweeps", None)  # None: too large to compile
        self.run = None if code is None else build(*run_source(code), "run")
        self.count = 0
        self.failed = 0

    def __iter__(self) -> Iterator[tuple]:
        run, gradient, tail, order = self.run, self.gradient, self.tail, self.order
        if order == list(range(len(self.params))):
            pick = None
        elif len(order) == 1:
            only = order[0]

            def pick(grads):
                return (grads[only],)
        elif order:
            pick = itemgetter(*order)
        else:

            def pick(grads):
                return ()

        count = 0
        try:
            for line, values, fields in self.rows.select(self.varying):
                count += 1
                if tail:
                    values += tail
                try:
                    if run is None:
                        raise FastPathFailed
                    value, grads = run(*values)
                except FastPathFailed:
                    try:
                        value, grads = gradient(values)
                    except DomainError as error:
                        self.failed += 1
                        yield line, None, None, error.message, fields
                        continue
                yield line, value, grads if pick is None else pick(grads), None, fields
        finally:
            self.count = count


def evaluate_rows(
    tape: Tape,
    point: Mapping[str, float],
    varying: Sequence[str],
    reported: Sequence[str],
    rows: Rows,
) -> EvaluatedRows:
    """See EvaluatedRows."""
    return EvaluatedRows(tape, point, varying, reported, rows)
