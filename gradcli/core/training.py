"""Descent on data (`grad descend --data FILE`): error backpropagation over a data set.

The data's columns bind the formula's data inputs, row by row; the parameters (--wrt) are
what is trained. The objective is the mean over the rows of a per-row loss of f:

- squared (a target column, or --target T for all rows): (f − y)², sending back 2·(f − y);
- logistic: the cross-entropy −[y·log f + (1 − y)·log(1 − f)] of an output in (0, 1). When the
  output is a sigmoid, σ(z) or 1/(1 + exp(−z)), it is computed from z, stably, as
  max(z, 0) − y·z + log(1 + exp(−|z|)), and the error sent back into z is σ(z) − y;
- none: f itself.

Its gradient is the mean of the per-row gradients: each row's forward sweep, its loss, and a
backward sweep seeded with the loss's derivative (the error sent back), summed over the rows.
`Objective` runs that over a whole batch as one generated function (gradcli/core/compiled.py's
sweeps inside a loop over the rows, built only from the op table and numbers); it is the
gradient function of the ordinary Descent, so every optimizer, stop rule and output of
`grad descend` works on data as it does on one point. With --batch N each call takes the next
batch of N rows, the rows reshuffled at each epoch by a seeded random generator. Large
batches run the same generated lines on numpy arrays where they can (gradcli/core/vectorised.py).
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, replace

from . import vectorised
from .compiled import FastPathFailed, backward_lines, build, forward_lines, indent, sweeps
from .engine import Tape, number_text
from .errors import DomainError, UsageError
from .graph import CONST, Graph

LOSSES = ("squared", "logistic", "none")


@dataclass(frozen=True)
class DataSet:
    """A data set in memory: its columns and its rows (tuples of floats, in column order)."""

    name: str  # as the user wrote it, for messages
    columns: tuple[str, ...]  # the columns read
    rows: list[tuple[float, ...]]
    lines: list[int]  # the line each row starts on in the file
    names: tuple[str, ...] = ()  # every column of the file

    @property
    def listed(self) -> str:
        """The file's columns, for a hint."""
        return ", ".join(self.names or self.columns)


def load(lines: Iterable[str], name: str, needed: Iterable[str] | None = None) -> DataSet:
    """Read every row of a data file's lines (gradcli/core/rows.py): the columns named in
    `needed` (all by default), which must hold numbers; the others may hold anything. Raises
    UsageError naming the file and the line of a malformed row."""
    from .rows import RowError, read_rows

    try:
        table = read_rows(lines)
        wanted = set(table.names if needed is None else needed)
        columns = tuple(c for c in table.names if c in wanted)
        numbers, where = [], []
        for line, values, _ in table.select(columns):
            numbers.append(values)
            where.append(line)
    except RowError as exc:
        raise exc.naming(name) from None
    if not numbers:
        raise UsageError(f"{name} has a header but no rows of data")
    return DataSet(name, columns, numbers, where, table.names)


@dataclass(frozen=True)
class Plan:
    """How a formula meets a data set: which inputs are columns, which are trained, the loss."""

    params: tuple[str, ...]
    start: dict[str, float]  # the parameters' starting values
    columns: tuple[str, ...]  # the formula's inputs read from the data, in the formula's order
    fixed: dict[str, float]  # the other inputs, held at their values
    loss: str
    target_column: str | None
    target: float | None
    labels: bool  # every target is 0 or 1: the accuracy (f ≥ 0.5) is shown


def plan(graph: Graph, data: DataSet, given: Mapping[str, float], config) -> Plan:
    """Match the formula's inputs with the data's columns and the settings (DescendConfig).
    `given` holds the values bound on the command line; the program's own values count too,
    except for a column's. A parameter with no value starts at 0. Raises UsageError."""
    params = tuple(config.params or ())
    if not params:
        raise UsageError(
            "--data needs --wrt: the parameters to train",
            hint="the other inputs are read from the data's columns, e.g. --wrt w0,w1,w2",
        )
    unknown = [p for p in params if p not in graph.inputs]
    if unknown:
        raise UsageError(
            f"--wrt names {', '.join(unknown)}, which is not an input",
            hint=f"the inputs are {', '.join(graph.inputs) or '(none)'}",
        )
    target_column = config.target_column
    if target_column is not None and target_column not in data.columns:
        raise UsageError(
            f"{data.name} has no column {target_column} for --target-column",
            hint=f"its columns are: {data.listed}",
        )
    if target_column is not None and target_column in graph.inputs:
        raise UsageError(
            f"the target column {target_column} is also an input of the formula",
            hint="the target is what f is compared with: name another column",
        )
    clash = [p for p in params if p in data.columns]
    if clash:
        raise UsageError(
            f"{clash[0]} is both a parameter (--wrt) and a column of {data.name}",
            hint="a parameter is trained; a column is data: rename one of them",
        )
    columns = tuple(n for n in graph.inputs if n in data.columns)
    bound = [n for n in columns if n in given]
    if bound:
        raise UsageError(
            f"{bound[0]} is a column of {data.name} and cannot be bound",
            hint=f"drop {bound[0]}={number_text(given[bound[0]])}: each row gives its value",
        )
    point = {**graph.defaults, **given}
    loss = config.loss or ("none" if target_column is None and config.target is None else "squared")
    has_target = target_column is not None or config.target is not None
    if loss == "none" and has_target:
        raise UsageError(
            "--loss none takes no target", hint="drop --target or --target-column, or pick a loss"
        )
    if loss != "none" and not has_target:
        raise UsageError(
            f"--loss {loss} needs a target", hint="name the data's target column: --target-column y"
        )
    missing = [n for n in graph.inputs if n not in columns and n not in params and n not in point]
    if missing:
        raise UsageError(
            f"no value for {', '.join(missing)}: not a column of {data.name} and not bound",
            hint=f"its columns are: {data.listed}",
        )
    fixed = {n: float(point[n]) for n in graph.inputs if n not in columns and n not in params}
    labels = False
    if loss != "none":
        if target_column is not None:
            at = data.columns.index(target_column)
            targets = {row[at] for row in data.rows}
        else:
            targets = {config.target}
        labels = targets <= {0.0, 1.0}
        if loss == "logistic" and not all(0.0 <= y <= 1.0 for y in targets):
            bad = next(y for y in targets if not 0.0 <= y <= 1.0)
            raise UsageError(
                f"--loss logistic needs targets in [0, 1], and the target has {number_text(bad)}",
                hint="a class label is 0 or 1",
            )
    start = {p: float(point.get(p, 0.0)) for p in params}
    return Plan(params, start, columns, fixed, loss, target_column, config.target, labels)


def logit_node(graph: Graph) -> int | None:
    """z when the output is σ(z): sigmoid(z), or 1/(1 + exp(−z)) written out; else None."""
    ops, args, out = graph.ops, graph.args, graph.output

    def const(node: int, value: float) -> bool:
        return ops[node] == CONST and graph.consts[node] == value

    if ops[out] == "sigmoid":
        return args[out][0]
    if ops[out] != "div" or not const(args[out][0], 1.0):
        return None
    den = args[out][1]
    if ops[den] != "add":
        return None
    a, b = args[den]
    e = b if const(a, 1.0) else a if const(b, 1.0) else None
    if e is None or ops[e] != "exp" or ops[args[e][0]] != "neg":
        return None
    return args[args[e][0]][0]


def batch_source(graph: Graph, plan: Plan) -> tuple[str, dict]:
    """Source of `batch(*params, rows) -> (sum of losses, right, *sums of gradients)` over
    rows of (*the columns' values[, target]), and its namespace. `right` counts the rows whose
    f ≥ 0.5 agrees with a 0/1 target. Raises FastPathFailed where a row cannot be computed."""
    logit = logit_node(graph) if plan.loss == "logistic" else None
    swept = graph if logit is None else graph._replace(output=logit)
    seed = {"squared": "r_seed", "logistic": "r_seed", "none": "1.0"}[plan.loss]
    code = sweeps(swept, plan.params, plan.fixed, plan.columns, seed)
    f = code.value if logit is None else f"v{graph.output}"
    if plan.loss == "squared":
        loss = ["r_e = " + f + " - r_y", "r_loss = r_e * r_e", "r_seed = 2.0 * r_e"]
    elif plan.loss == "none":
        loss = ["r_loss = " + f]
    elif logit is not None:
        z = code.value
        loss = [
            f"r_loss = ({z} if {z} > 0.0 else 0.0) - r_y * {z} + log1p(exp(-abs({z})))",
            f"r_seed = {f} - r_y",
        ]
    else:
        loss = [
            "r_f = " + f,
            "if not 0.0 < r_f < 1.0:",
            "    raise Failed",
            "r_loss = -(r_y * log(r_f) + (1.0 - r_y) * log1p(-r_f))",
            "r_seed = (r_f - r_y) / (r_f * (1.0 - r_f))",
        ]
    sums = [f"r_sum{i}" for i in range(len(plan.params))]
    row = [*code.data, *(["r_y"] if plan.target_column is not None else [])]
    lines = [
        f"def batch({', '.join([*code.params, 'rows'])}):",
        *(["    r_y = " + repr(float(plan.target))] if plan.target is not None else []),
        "    r_total = 0.0",
        "    r_right = 0",
        *(f"    {s} = 0.0" for s in sums),
        f"    for {', '.join(row) + ','} in rows:" if row else "    for _ in rows:",
        *indent(forward_lines(code), 2),
        *indent(loss, 2),  # (the backward sweep starts from the loss's r_seed)
        *indent(backward_lines(code), 2),
        "        r_total += r_loss",
        *(["        r_right += (" + f + " >= 0.5) == (r_y == 1.0)"] if plan.labels else []),
        # (+ 0.0 turns Tape's -0.0 into 0.0; a sum that starts at 0.0 does that already)
        *(f"        {s} += {g.removesuffix(' + 0.0')}" for s, g in zip(sums, code.grads)),
        f"    if not isfinite(r_total + {' + '.join(sums) or '0.0'}):",
        "        raise Failed",
        f"    return r_total, r_right, {', '.join(sums) + ','}",
    ]
    namespace = {
        **code.namespace,
        "Failed": FastPathFailed,
        "log": math.log,
        "log1p": math.log1p,
        "exp": math.exp,
    }
    return "\n".join(lines) + "\n", namespace


class Objective:
    """The gradient function of a descent on data: objective(xs) -> (mean loss, [mean
    gradient]) over the next batch (every row without --batch), and after each call
    `accuracy`, the share of the batch's rows classified right (None without 0/1 targets).

    A batch that cannot be computed raises DomainError naming the node and the row, and the
    same batch is taken again at the next call (the descent asks again to say why)."""

    def __init__(
        self,
        tape: Tape,
        data: DataSet,
        plan: Plan,
        batch: int | None = None,
        seed: int = 0,
        arrays: bool = True,
    ) -> None:
        self.tape, self.data, self.plan = tape, data, plan
        picks = [data.columns.index(c) for c in plan.columns]
        if plan.target_column is not None:
            picks.append(data.columns.index(plan.target_column))
        self.rows = [tuple(row[i] for i in picks) for row in data.rows]
        self.run = build(*batch_source(tape.graph, plan), "batch")
        self.size = len(self.rows) if batch is None else min(batch, len(self.rows))
        self.batches = -(-len(self.rows) // self.size)  # per epoch
        self.random = random.Random(seed)
        self.order: list[int] = list(range(len(self.rows)))
        self.taken = 0  # batches computed so far
        self.shuffled = -1  # the epoch the order was last shuffled for
        self.accuracy: float | None = None
        # large batches run on numpy arrays where it is installed (gradcli/core/vectorised.py)
        self.blocks = None
        if arrays and self.size >= vectorised.MIN_ROWS and vectorised.available():
            logit = logit_node(tape.graph) if plan.loss == "logistic" else None
            source = vectorised.batch_source(tape.graph, plan, logit)
            if source is not None:
                self.blocks = vectorised.Blocks(build(*source, "batch"), self.rows, plan)

    def current(self) -> list[int]:
        """The indices of the rows of the next batch."""
        b = self.taken % self.batches
        if self.batches == 1:
            return self.order
        epoch = self.taken // self.batches
        if self.shuffled != epoch:  # each epoch's order follows the last: seeded, reproducible
            self.random.shuffle(self.order)
            self.shuffled = epoch
        return self.order[b * self.size : (b + 1) * self.size]

    def __call__(self, xs: Sequence[float]) -> tuple[float, list[float]]:
        indices = self.current()
        every = len(indices) == len(self.rows)
        answer = self.blocks and self.blocks(xs, None if every else indices)
        if answer:
            total, right, sums = answer
        else:  # row by row, which also says why a batch fails
            rows = self.rows if every else [self.rows[i] for i in indices]
            try:
                total, right, *sums = self.run(*xs, rows)
            except FastPathFailed:
                raise self.failure(xs, indices) from None
        n = len(indices)
        self.taken += 1
        self.accuracy = right / n if self.plan.labels else None
        return total / n, [s / n for s in sums]

    def mean(self, xs: Sequence[float]) -> tuple[float, float | None]:
        """The mean loss and accuracy over every row at the parameters xs (nan where a row
        cannot be computed)."""
        answer = self.blocks and self.blocks(xs, None)
        if answer:
            total, right, _ = answer
        else:
            try:
                total, right, *_ = self.run(*xs, self.rows)
            except FastPathFailed:
                return math.nan, None
        n = len(self.rows)
        return total / n, (right / n if self.plan.labels else None)

    def point(self, xs: Sequence[float], index: int) -> dict[str, float]:
        """Every input's value at row `index` with the parameters xs."""
        row = self.rows[index]
        return {
            **self.plan.fixed,
            **dict(zip(self.plan.params, xs)),
            **dict(zip(self.plan.columns, row)),
        }

    def failure(self, xs: Sequence[float], indices: Sequence[int]) -> DomainError:
        """Why the batch cannot be computed: the first row the plain engine (the Tape) cannot
        compute, or whose loss or gradient is not a finite number."""
        graph, plan = self.tape.graph, self.plan
        logit = logit_node(graph) if plan.loss == "logistic" else None
        for index in indices:
            where = f"row {index + 1} of {self.data.name} (line {self.data.lines[index]})"
            point = self.point(xs, index)
            try:
                values = self.tape.forward(point)
            except DomainError as exc:
                return DomainError(
                    f"{exc.message}, at {where}",
                    node=exc.node,
                    source=exc.source,
                    span=exc.span,
                    hint=exc.hint,
                )
            f = values[graph.output]
            y = plan.target if plan.target_column is None else self.rows[index][-1]
            if plan.loss == "logistic" and logit is None and not 0.0 < f < 1.0:
                return DomainError(
                    f"--loss logistic needs f in (0, 1), and f = {number_text(f)} at {where}",
                    node=graph.output,
                    hint="make the output a probability: sigmoid(…)",
                )
            if logit is None and not math.isfinite(_row_loss(plan.loss, f, y)):
                return DomainError(
                    f"the loss overflows at {where} (f = {number_text(f)})", node=graph.output
                )
            grads = self.tape.backward(values)
            for name in plan.params:
                slope = grads[graph.inputs[name]]
                if not math.isfinite(slope):
                    what = "is undefined" if math.isnan(slope) else "overflows"
                    return DomainError(
                        f"the gradient of f with respect to {name} {what} at {where}",
                        node=graph.output,
                        hint="start from other values of the parameters",
                    )
        return DomainError(
            "the loss or its gradient overflows (summed over the rows)", node=graph.output
        )


def _row_loss(loss: str, f: float, y: float | None) -> float:
    """One row's loss, plainly (for reports; the generated code computes the objective)."""
    if loss == "none":
        return f
    if loss == "squared":
        error = f - y
        return error * error  # inf where it overflows
    if f in (0.0, 1.0):
        return math.inf if f != y else 0.0
    return -(y * math.log(f) + (1.0 - y) * math.log1p(-f))


@dataclass(frozen=True)
class Training:
    """A descent on data, ready to run: Descent(tape, point, config, objective)."""

    data: DataSet
    plan: Plan
    objective: Objective
    config: object  # the DescendConfig the Descent runs with (descent_settings)

    @property
    def point(self) -> dict[str, float]:
        return {**self.plan.fixed, **self.plan.start}

    @property
    def epochs(self) -> int | float:
        """Epochs the run's steps make: a whole number, or a fraction when they end inside
        one."""
        whole, part = divmod(self.config.steps, self.objective.batches)
        return whole if part == 0 else self.config.steps / self.objective.batches


def prepare(tape: Tape, data: DataSet, given: Mapping[str, float], config) -> Training:
    """Everything a descent on `data` needs (see plan). Raises UsageError."""
    config.validate()
    chosen = plan(tape.graph, data, given, config)
    objective = Objective(tape, data, chosen, config.batch, config.seed)
    return Training(data, chosen, objective, descent_settings(config, objective))


def descent_settings(config, objective: Objective):
    """The settings the Descent runs with: its objective is the data's loss (no --target of
    its own), and --epochs E is E times the batches of an epoch in steps."""
    steps = config.steps if config.epochs is None else config.epochs * objective.batches
    return replace(config, target=None, steps=steps)


def output_fn(tape: Tape, plan: Plan, xs: Sequence[float]) -> Callable[[Sequence[float]], float]:
    """f as a function of the data inputs (plan.columns), the parameters held at xs; nan where
    it is undefined. For pictures of the trained model, not for the loop."""
    from .compiled import compile_graph

    fixed = {**plan.fixed, **dict(zip(plan.params, xs))}
    run = compile_graph(tape.graph, plan.columns, fixed)

    def f(values: Sequence[float]) -> float:
        try:
            return run(*values)[0]
        except FastPathFailed:
            return math.nan

    return f
