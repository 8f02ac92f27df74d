"""Driving one descent as `grad descend` and the REPL's `:descend` run it: the options both
accept, the loop that collects the trace (all of it when a file or JSON needs it, a bounded
sample otherwise, and the steps `--every` picks) and Ctrl-C handling.

Both front ends call render_descend.run_descent, which runs `drive`, writes the `--csv` and
`--plot` files and builds the output, so they cannot disagree.
Core: no UI library, no printing. The descent loop itself is gradcli.descend's `Descent`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from .descend import DescendConfig, Descent, Result, Step, Thinned
from .engine import Tape
from .request import wrt_names


@dataclass(frozen=True, slots=True)
class DescendOptions:
    """The options of `grad descend` (and `:descend`), as plain data."""

    wrt: tuple[str, ...] | None = None  # None: every input is a parameter
    lr: float = 0.1
    steps: int = 100
    tol: float | None = None
    maximize: bool = False
    optimizer: str = "sgd"
    momentum: float = 0.9
    beta1: float = 0.9
    beta2: float = 0.999
    eps: float = 1e-8
    target: float | None = None
    every: int | None = None  # table rows: every N-th step (None: about 20 rows)
    as_json: bool = False
    csv_file: Path | None = None
    plot_file: Path | None = None
    digits: int = 6

    @property
    def keep_all(self) -> bool:
        """Whether the whole trace is needed (JSON, CSV and pictures show every step)."""
        return self.as_json or self.csv_file is not None or self.plot_file is not None

    def plot_format(self) -> str | None:
        """'png' or 'svg' for --plot (None without it). Raises UsageError for another file
        name or when matplotlib is missing, so that is said before any work is done."""
        if self.plot_file is None:
            return None
        from .plot_descend import plot_format, require_matplotlib

        fmt = plot_format(self.plot_file)
        require_matplotlib()
        return fmt

    def config(self, tape: Tape) -> DescendConfig:
        """The descent's settings for this formula. Raises UsageError for a --wrt name that
        is not an input."""
        params = wrt_names(tape.graph, None if self.wrt is None else list(self.wrt))
        return DescendConfig(params=tuple(params), lr=self.lr, steps=self.steps,
                             tol=self.tol, maximize=self.maximize, optimizer=self.optimizer,
                             momentum=self.momentum, beta1=self.beta1, beta2=self.beta2,
                             eps=self.eps, target=self.target)


@dataclass
class Run:
    """A finished (or interrupted) descent and the steps kept of it."""

    tape: Tape
    point: dict[str, float]  # the start, data inputs included
    options: DescendOptions
    result: Result
    trace: list[Step] = field(default_factory=list)  # every step, when options.keep_all
    sample: Thinned = field(default_factory=Thinned)  # a bounded sample, for the plot
    chosen: list[Step] = field(default_factory=list)  # the steps --every picks
    interrupted: bool = False

    @property
    def f_name(self) -> str:
        graph = self.tape.graph
        return graph.names[graph.output] or "f"

    @property
    def exit_code(self) -> int:
        return self.result.exit_code


def drive(tape: Tape, point: Mapping[str, float], options: DescendOptions,
          on_step: Callable[[Step], None] | None = None) -> Run:
    """Run the descent to its end, or until Ctrl-C, keeping what the outputs need.

    Raises GradcliError for unusable options or an unusable starting point, and
    KeyboardInterrupt only when Ctrl-C comes before the first step: after it, the run so far
    is the result (stopped "interrupted")."""
    config = options.config(tape)
    descent = Descent(tape, point, config)
    keep_all, every = options.keep_all, options.every
    trace: list[Step] = []
    sample = Thinned()
    chosen: list[Step] = []
    interrupted = False
    try:
        for step in descent:
            if keep_all:
                trace.append(step)
            sample.add(step)
            if every is not None and step.step % every == 0:
                chosen.append(step)
            if on_step is not None:
                on_step(step)
    except KeyboardInterrupt:
        if descent.first is None:
            raise
        interrupted = True
    result = descent.result(interrupted=interrupted)
    return Run(tape, dict(point), options, result, trace, sample, chosen, interrupted)
