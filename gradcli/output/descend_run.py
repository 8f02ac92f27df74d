"""Running one descent as `grad descend` and the REPL's `:descend` run it: the loop
(gradcli.core.descend's Descent), what the outputs keep of it, and Ctrl-C.

Memory does not grow with the number of steps: the `--json` trace and the `--csv` file are
written as the run goes (the JSON to its stream, the CSV through the one file writer,
gradcli/output/files.py), and the table and pictures read a bounded sample
of the steps (Thinned) and the rows `--every` picks. After Ctrl-C or a divergence both are
finished all the same, and a second Ctrl-C waits until they are.

Both front ends call descend_command.run_descent, which runs `drive`, writes the `--plot`
picture and has the run rendered, so they cannot disagree. No UI library and no printing
here: what is shown is left to the renderers.
"""

from __future__ import annotations

import contextlib
import csv
import io
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from ..core.descend import DescendConfig, Descent, Result, Step, Thinned
from ..core.engine import Tape
from . import jsonout
from .files import holding_interrupts, open_output, writer

if TYPE_CHECKING:  # a descent without --data never imports training
    from ..core.training import Training

CHUNK = 2048  # steps formatted before each write


@dataclass
class Run:
    """A finished (or interrupted) descent and the steps kept of it."""

    tape: Tape
    point: dict[str, float]  # the start, data inputs included
    config: DescendConfig
    result: Result
    sample: Thinned = field(default_factory=Thinned)  # a bounded sample, for table and plots
    chosen: list[Step] = field(default_factory=list)  # the steps --every picks for the table
    interrupted: bool = False
    training: Training | None = None  # a descent on data (--data)
    overall: tuple[float, float | None] | None = None  # with --batch: loss, accuracy on all rows

    @property
    def f_name(self) -> str:
        """What the steps' values are: f, or on data the mean loss."""
        if self.training is not None:  # with --batch, of the step's batch
            return "loss" if self.training.objective.batches == 1 else "batch loss"
        return self.tape.graph.output_name

    @property
    def exit_code(self) -> int:
        return self.result.exit_code


def plot_format(config: DescendConfig) -> str | None:
    """'png' or 'svg' for --plot (None without it). Raises UsageError for another file name
    or when matplotlib is missing, so that is said before any work is done."""
    if config.plot_file is None:
        return None
    from .plot_descend import plot_format as file_format
    from .plot_descend import require_matplotlib

    fmt = file_format(config.plot_file)
    require_matplotlib()
    return fmt


class Beside:
    """The streamed --csv file, written through the one file writer (files.open_output): opened
    before the run, committed when it ends or discarded, so an old file is never truncated
    before the new one is whole, and a device, a FIFO or '-' is written as every other output."""

    class _Discarded(Exception):
        pass

    def __init__(self, path: Path) -> None:
        self._context = open_output(path)
        self._stream = self._context.__enter__()

    def write(self, text: str) -> None:
        try:
            self._stream.write(text)
        except OSError as exc:  # the writer turns it into the file's UsageError
            self._context.__exit__(type(exc), exc, exc.__traceback__)
            raise

    def commit(self) -> None:
        self._context.__exit__(None, None, None)

    def discard(self) -> None:
        with contextlib.suppress(Exception):
            self._context.__exit__(self._Discarded, self._Discarded(), None)


class Trace:
    """A trace written as the run goes: one line per kept step, formatted from the Step's
    numbers by the %-format `line` (`fields` orders them), CHUNK lines at a time, `separator`
    between lines. Kept: every step, or every `every`-th and the last."""

    separator = "\n"

    def __init__(self, write: Callable[[str], object], line: str, fields, every=None) -> None:
        self.write, self.line, self.fields, self.every = write, line, fields, every
        self.pending: list[str] = []
        self.written = -1  # the last step formatted
        self.lead = ""  # before the next chunk: nothing, then the separator

    def add(self, step: Step) -> None:
        if self.every is not None and step.step % self.every:
            return
        self.pending.append(self.line % self.fields(step))
        self.written = step.step
        if len(self.pending) >= CHUNK:
            self.flush()

    def flush(self) -> None:
        """Write the pending lines; a Ctrl-C meanwhile waits until they are written."""
        if self.pending:
            with holding_interrupts(then_raise=True):
                text = self.lead + self.separator.join(self.pending)
                self.pending.clear()
                self.lead = self.separator
                self.write(text)

    def finish(self, last: Step) -> None:
        """The pending lines, and the last step if --every (or Ctrl-C) left it out."""
        if self.written != last.step:
            self.pending.append(self.line % self.fields(last))
            self.written = last.step
        self.flush()


class JsonTrace(Trace):
    """`--json` as the run goes: '{"trace":[', a line per kept step, then at the end the
    other keys of jsonout.descent's document and '}' (the same document, the trace first)."""

    separator = ",\n"

    def __init__(
        self, out: TextIO, params, has_loss: bool, every: int | None, accuracy: bool = False
    ) -> None:
        if has_loss:

            def fields(s: Step) -> tuple:
                return (s.step, s.value, *s.point, *s.gradient, s.norm, s.loss)
        elif accuracy:

            def fields(s: Step) -> tuple:
                return (s.step, s.value, *s.point, *s.gradient, s.norm, s.accuracy)
        else:

            def fields(s: Step) -> tuple:
                return (s.step, s.value, *s.point, *s.gradient, s.norm)

        line = jsonout.descent_trace_line(params, has_loss, accuracy)
        super().__init__(writer(out), line, fields, every)
        self.write('{"trace":[\n')

    def close(self, result: Result, extra: dict | None = None) -> None:
        """The summary's keys, and `extra`'s after them (a descent on data: "data")."""
        self.finish(result.last)
        summary = jsonout.dumps({**jsonout.descent_summary(result), **(extra or {})})
        self.write("\n]," + summary[1:] + "\n")


def csv_header(params, has_loss: bool, accuracy: bool = False) -> str:
    """step, value, [loss], [accuracy], each parameter, grad_<parameter> each, grad_norm."""
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow(
        [
            "step",
            "value",
            *(["loss"] if has_loss else []),
            *(["accuracy"] if accuracy else []),
            *params,
            *(f"grad_{p}" for p in params),
            "grad_norm",
        ]
    )
    return buffer.getvalue()


class CsvTrace(Trace):
    """`--csv FILE`: every step, numbers exact (repr), written beside FILE as the run goes and
    renamed over it at the end."""

    def __init__(self, path: Path, params, has_loss: bool, accuracy: bool = False) -> None:
        if has_loss:

            def fields(s: Step) -> tuple:
                return (s.step, s.value, s.loss, *s.point, *s.gradient, s.norm)
        elif accuracy:

            def fields(s: Step) -> tuple:
                return (s.step, s.value, s.accuracy, *s.point, *s.gradient, s.norm)
        else:

            def fields(s: Step) -> tuple:
                return (s.step, s.value, *s.point, *s.gradient, s.norm)

        n = len(params) * 2 + 1 + has_loss + accuracy
        self.file = Beside(path)
        super().__init__(self.file.write, "%d,%r" + ",%r" * n, fields)
        self.file.write(csv_header(params, has_loss, accuracy))

    def close(self, result: Result) -> None:
        self.finish(result.last)
        self.file.write("\n")
        self.file.commit()


def drive(
    tape: Tape,
    point: Mapping[str, float],
    config: DescendConfig,
    on_step: Callable[[Step], None] | None = None,
    json_out: TextIO | None = None,
    training: Training | None = None,
) -> Run:
    """Run the descent to its end, or until Ctrl-C, writing the --json trace to `json_out`
    (from the first step on) and --csv as it goes, and keeping what the table and plots need.

    Raises GradcliError for unusable options or an unusable starting point (nothing written
    then), and KeyboardInterrupt only when Ctrl-C comes before the first step: after it, the
    run so far is the result (stopped "interrupted"). A descent on data runs as `training`
    has it (gradcli/core/training.py)."""
    if training is None:
        descent = Descent(tape, point, config)
    else:
        descent = Descent(tape, training.point, training.config, training.objective)
    params, has_loss, every = descent.params, descent.config.target is not None, config.every
    accuracy = training is not None and training.plan.labels
    sample = Thinned()
    chosen: list[Step] = []
    csv_trace = json_trace = None
    if config.csv_file is not None:
        csv_trace = CsvTrace(config.csv_file, params, has_loss, accuracy)
    interrupted = False
    try:
        steps = iter(descent)
        first = next(steps)  # raises for an unusable start
        if config.as_json:
            json_trace = JsonTrace(json_out, params, has_loss, every, accuracy)
        adds = [sample.add, *(t.add for t in (csv_trace, json_trace) if t is not None)]
        if on_step is not None:
            adds.append(on_step)
        if every is not None and not config.as_json:
            adds.append(lambda step: step.step % every or chosen.append(step))
        for add in adds:
            add(first)
        if len(adds) == 1:
            for step in steps:
                sample.add(step)
        else:
            for step in steps:
                for add in adds:
                    add(step)
    except KeyboardInterrupt:
        if descent.first is None:
            if csv_trace is not None:
                csv_trace.file.discard()
            raise
        interrupted = True
    except BaseException:
        if csv_trace is not None:
            csv_trace.file.discard()
        raise
    # From here a second Ctrl-C waits: the files are finished whole (it was let through while
    # the result was made, and then cut the JSON short and dropped the CSV)
    with holding_interrupts():
        result = descent.result(interrupted=interrupted)
        overall = extra = None
        if training is not None:
            if training.objective.batches > 1:  # the steps' values are of one batch each
                overall = training.objective.mean(result.last.point)
            extra = {"data": jsonout.descent_data(training, overall)}
        if config.as_json:
            if json_trace is None:  # Ctrl-C came just after the first step
                json_trace = JsonTrace(json_out, params, has_loss, every, accuracy)
            json_trace.close(result, extra)
        if csv_trace is not None:
            csv_trace.close(result)
    start = dict(point) if training is None else training.point
    return Run(tape, start, config, result, sample, chosen, interrupted, training, overall)
