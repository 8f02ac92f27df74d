"""Rich renderables for `grad descend`: the trace table, a terminal plot of f over the steps,
the summary and the progress bar; and the --plot picture's file. Nothing here prints; user
text reaches Rich only as Text. One whole run is descend_command.run_descent."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from rich.console import Group
from rich.text import Text

from ..core.descend import Result, Step, default_every
from ..core.errors import GradcliError
from . import render
from .descend_run import Run, plot_format
from .files import write_bytes
from .render_table import FoldingTable
from .style import GRAD, VALUE, num

BLOCKS = " ▁▂▃▄▅▆▇█"
STOP_STYLE = {
    "steps": "bold",
    "converged": "bold green",
    "diverged": "bold red",
    "interrupted": "bold yellow",
}


def table_rows(steps: Sequence[Step], every: int, last: Step) -> list[Step]:
    """Step 0, every `every`-th step, and the last one."""
    rows = [s for s in steps if s.step % every == 0]
    if not rows or rows[-1].step != last.step:
        rows.append(last)
    return rows


def header(result: Result, f_name: str, training=None) -> Text:
    config = result.config
    text = Text("descend ", style="bold")
    if training is not None:
        text.append(data_objective(training), style="bold")
    elif config.target is not None:
        text.append(f"({f_name} − {num(config.target)})²", style="bold")
    else:
        text.append(("maximise " if config.maximize else "minimise ") + f_name, style="bold")
    text.append(f"  with {config.optimizer}, lr {num(config.lr)}", style="dim")
    text.append("  over ", style="dim")
    text.append(", ".join(result.params))
    if training is not None:
        text.append(f"  ({len(training.objective.rows)} rows", style="dim")
        if training.objective.batches > 1:
            text.append(f" in batches of {training.objective.size}", style="dim")
        text.append("; data: ", style="dim")
        text.append(", ".join(training.plan.columns) or "none of the columns")
        text.append(")", style="dim")
    if result.fixed:
        text.append("  (fixed: ", style="dim")
        text.append(", ".join(f"{n} = {num(v)}" for n, v in result.fixed.items()))
        text.append(")", style="dim")
    return text


def data_objective(training) -> str:
    """The mean loss being minimised, in words: `mean (f − y)² over data.csv`."""
    plan = training.plan
    y = (plan.target_column or num(plan.target)) if plan.loss != "none" else ""
    loss = {
        "squared": f"(f − {y})²",
        "logistic": f"cross-entropy of f against {y}",
        "none": "f",
    }[plan.loss]
    return f"mean {loss} over {Path(training.data.name).name}"


def trace_table(
    result: Result, rows: Sequence[Step], f_name: str, digits: int = 6, batches: int = 1
) -> FoldingTable:
    """Every parameter has a column; a table too wide for the terminal folds its columns.
    On data taken in `batches` per epoch, the epoch of each step."""
    has_loss = result.config.target is not None
    accuracy = result.last.accuracy is not None
    table = FoldingTable(title="trace")
    table.add_column("step", justify="right")
    if batches > 1:
        table.add_column("epoch", justify="right")
    table.add_column(f_name, style=VALUE, justify="right")
    if has_loss:
        table.add_column("loss", style=VALUE, justify="right")
    if accuracy:
        table.add_column("accuracy", justify="right")
    for name in result.params:
        table.add_column(Text(name), justify="right")
    table.add_column("|∇|", style=GRAD, justify="right")
    for s in rows:
        cells = [str(s.step)]
        if batches > 1:
            cells.append(num(s.step / batches, 3))
        cells.append(num(s.value, digits))
        if has_loss:
            cells.append(num(s.loss, digits))
        if accuracy:
            cells.append(percent(s.accuracy))
        cells += [num(x, digits) for x in s.point]
        cells.append(num(s.norm, 3))
        table.add_row(*cells)
    return table


def plot(steps: Sequence[Step], f_name: str, width: int = 60, height: int = 8) -> Text:
    """f over the steps as a block chart: column c shows the kept step nearest to step
    c·n/(width − 1), so the first column is the start and the last the end; scaled between
    the smallest and largest value shown."""
    if not steps:
        return Text()
    n = steps[-1].step
    width = max(1, min(width, n + 1))
    filled, i = [], 0
    for c in range(width):
        want = c * n / (width - 1) if width > 1 else n
        while i + 1 < len(steps) and abs(steps[i + 1].step - want) <= abs(steps[i].step - want):
            i += 1
        filled.append(steps[i].value)
    lo, hi = min(filled), max(filled)
    span = hi - lo
    levels = [
        height * 8 if span == 0 else 1 + round((v - lo) / span * (height * 8 - 1)) for v in filled
    ]
    label_width = max(len(num(hi, 4)), len(num(lo, 4)))
    text = Text(f"{f_name} over the steps\n", style="bold")
    for row in range(height):
        bottom = (height - 1 - row) * 8
        label = num(hi, 4) if row == 0 else num(lo, 4) if row == height - 1 else ""
        text.append(label.rjust(label_width) + " │", style="dim")
        text.append("".join(BLOCKS[max(0, min(8, lv - bottom))] for lv in levels), style=VALUE)
        text.append("\n")
    text.append(" " * label_width + " └" + "─" * width + "\n", style="dim")
    right = f"step {n}"
    text.append(
        " " * (label_width + 2) + "0" + right.rjust(max(len(right) + 1, width - 1)), style="dim"
    )
    return text


def percent(share: float | None) -> str:
    return "" if share is None else f"{100 * share:.1f}%"


def summary(result: Result, f_name: str, digits: int = 6, run=None) -> Group:
    first, last = result.first, result.last
    grid = FoldingTable(grid=True)  # its numbers are never cut: they wrap between words
    grid.add_column("", style="bold")
    grid.add_column("", wrap=True)
    stop = Text(result.stopped, style=STOP_STYLE[result.stopped])
    stop.append(f": {result.reason}", style="")
    grid.add_row("stopped", stop)
    grid.add_row("steps", str(result.steps))
    change = Text(num(first.value, digits), style=VALUE)
    change.append(" → ")
    change.append(num(last.value, digits), style=VALUE)
    grid.add_row(f_name, change)
    if last.loss is not None:
        grid.add_row("loss", f"{num(first.loss, digits)} → {num(last.loss, digits)}")
    if last.accuracy is not None:
        grid.add_row("accuracy", f"{percent(first.accuracy)} → {percent(last.accuracy)}")
    if run is not None and run.overall is not None:  # the steps' values are of one batch each
        loss, share = run.overall
        grid.add_row(
            "on all rows",
            f"loss {num(loss, digits)}"
            + (f", accuracy {percent(share)}" if share is not None else ""),
        )
    point_label = "last good point" if result.stopped == "diverged" else "final point"
    if result.stopped == "diverged":
        point_label += f" (step {last.step})"
    grid.add_row(
        point_label,
        Text(", ".join(f"{n} = {num(x, digits)}" for n, x in zip(result.params, last.point))),
    )
    grid.add_row("|∇|", Text(num(last.norm, 3), style=GRAD))
    parts: list = [grid]
    if result.stopped == "diverged" and result.error is not None:
        shown = result.error  # without its own hint: the run's hint follows
        error = GradcliError(shown.message, source=shown.source, span=shown.span)
        parts.append(
            Text.assemble(
                ("at step ", "dim"),
                (str(result.failed_step), "bold"),
                (": ", "dim"),
                render.error(error),
            )
        )
    if result.hint:
        parts.append(Text.assemble(("hint: ", "bold"), result.hint))
    return Group(*parts)


def report(
    result: Result,
    rows: Sequence[Step],
    sample: Sequence[Step],
    f_name: str,
    digits: int = 6,
    width: int = 80,
    run: Run | None = None,
) -> Group:
    training = None if run is None else run.training
    batches = 1 if training is None else training.objective.batches
    parts: list = [
        header(result, f_name, training),
        trace_table(result, rows, f_name, digits, batches),
    ]
    if result.last.step >= 2:
        shown = list(sample)
        if shown and shown[-1].step != result.last.step:  # the sample keeps every k-th step
            shown.append(result.last)
        parts.append(plot(shown, f_name, width=max(10, min(60, width - 14))))
    parts.append(summary(result, f_name, digits, run))
    return Group(*parts)


def progress_bar(console, total: int):
    """A transient progress bar for long runs on a terminal."""
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
    )

    return Progress(
        TextColumn("descending"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeRemainingColumn(),
        console=console,
        transient=True,
    )


def rows_of(run: Run) -> list[Step]:
    """The trace table's rows: the --every picks, or about 20 rows from the sample."""
    last = run.result.last
    if run.config.every is None:
        # on data in batches, the rows fall on whole epochs
        unit = 1 if run.training is None else run.training.objective.batches
        n = default_every(last.step // unit) * unit
        stride = run.sample.stride
        return table_rows(run.sample.steps, -(-n // stride) * stride, last)
    return table_rows(run.chosen, run.config.every, last)


def diverged_message(result: Result, brief: bool = False) -> Text:
    """The divergence for standard error: with --json the only words about it (the error with
    its excerpt and hint); `brief`, one line beside the text report, which says the rest."""
    error = result.error or GradcliError(result.reason)
    if brief:
        return Text.assemble(
            ("diverged", "bold red"), f" at step {result.failed_step}: {error.message}"
        )
    return Text.assemble("diverged at step ", str(result.failed_step), ": ", render.error(error))


def write_plot(run: Run, fmt: str | None = None) -> Path | None:
    """Write --plot (fmt from descend_run.plot_format) from the run's sample of steps.
    Returns the path written. Raises UsageError when the file cannot be written."""
    config = run.config
    if config.plot_file is None:
        return None
    from ..core.descend import objective_fn
    from .plot_descend import picture

    fmt = fmt or plot_format(config)
    shown = list(run.sample.steps)
    if shown[-1].step != run.result.last.step:
        shown.append(run.result.last)
    if run.training is not None:
        from .plot_descend import data_picture

        image = data_picture(run.result, shown, run.training, fmt)
    else:
        objective = objective_fn(run.tape, run.point, run.result.params, config.target)
        image = picture(run.result, shown, run.f_name, fmt, objective)
    write_bytes(config.plot_file, image)
    return config.plot_file
