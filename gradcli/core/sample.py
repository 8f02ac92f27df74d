"""f and its gradient sampled over a range of one or two inputs: what `grad plot` draws.

The graph is compiled once into straight-line Python (gradcli.compiled) over the varying
inputs, the others baked in as constants; each sample is then one call of ~1 µs, never a
parse or a process. Where the compiled code meets a point the plain engine reports as an
error, the point is rerun through the Tape, so every number is bit for bit what `grad eval`
gives at that point, and a point where f is undefined becomes a gap (None), not an error.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping, Sequence
from typing import NamedTuple

from .compiled import MAX_NODES, FastPathFailed, compile_graph
from .descend import DescendConfig, Descent, Result, Step, Thinned
from .engine import Evaluation, Tape
from .errors import DomainError, GradcliError, UsageError
from .tokens import NAME, NUMBER

_RANGE = re.compile(rf"\s*({NAME})\s*=\s*([+-]?{NUMBER})\s*:\s*([+-]?{NUMBER})\s*")
MAX_POINTS = 2000  # per axis: 2000 × 2000 is already four million evaluations


class Axis(NamedTuple):
    """One varying input: its name, its range and the points sampled on it."""

    name: str
    lo: float
    hi: float
    points: tuple[float, ...]


class Samples(NamedTuple):
    """f and ∂f/∂(each varying input) at every point of the grid. For two axes the samples run
    row by row: the first axis varies fastest. None where f (or one gradient) is undefined."""

    axes: tuple[Axis, ...]
    fixed: dict[str, float]  # the inputs held at one value
    values: list[float | None]
    grads: list[tuple[float | None, ...]]  # one gradient per axis, in the axes' order
    first_error: GradcliError | None  # why the first undefined sample is undefined


class Path(NamedTuple):
    """A descent from the --at point over the plotted inputs (--descend): at most PATH_CAP
    of its steps, evenly thinned, the first and the last always among them."""

    result: Result
    steps: list[Step]


PATH_CAP = 512


class Marked(NamedTuple):
    """The point given with --at: f and its gradient there (as `grad eval` has them)."""

    point: dict[str, float]
    value: float
    grads: tuple[float, ...]  # one per axis; nan where undefined


def is_range(word: str) -> bool:
    """'x=-2:2' is a range; 'x=-2' is a binding."""
    return ":" in word.partition("=")[2]


def parse_range(word: str) -> tuple[str, float, float]:
    """'x=-2:2' -> ('x', -2.0, 2.0). Raises UsageError for anything else."""
    match = _RANGE.fullmatch(word)
    if match is None:
        raise UsageError(
            f"{word!r} is not a range of the form NAME=FROM:TO", hint="for example x=-2:2"
        )
    name, lo, hi = match.group(1), float(match.group(2)), float(match.group(3))
    if not (math.isfinite(lo) and math.isfinite(hi)):
        raise UsageError(f"{word!r}: the number is too large for a double")
    if not lo < hi:
        raise UsageError(
            f"{word!r}: the range is empty; FROM must be less than TO",
            hint=f"for example {name}={min(lo, hi) - 1:g}:{max(lo, hi) + 1:g}"
            if lo == hi
            else f"{name}={hi:g}:{lo:g}",
        )
    return name, lo, hi


Range = tuple[str, float, float]
MAX_GRID_POINTS = 500  # per input over two: 250,000 samples (seconds, ~37 MB of JSON)


def split_ranges(words: Sequence[str]) -> tuple[list[Range], list[str]]:
    """The NAME=FROM:TO words (one or two, of different inputs) and the other words. Raises
    UsageError."""
    ranges = [parse_range(w) for w in words if is_range(w)]
    names = [name for name, _, _ in ranges]
    if not ranges:
        raise UsageError(
            "no range to plot over",
            hint="give one or two inputs a range as NAME=FROM:TO, e.g. x=-2:2",
        )
    if len(ranges) > 2 or len(set(names)) < len(names):
        given = " ".join(f"{name}={lo:g}:{hi:g}" for name, lo, hi in ranges)
        raise UsageError(
            f"a plot ranges over one or two different inputs; {given} given",
            hint="give the others a value, e.g. z=1",
        )
    return ranges, [w for w in words if not is_range(w)]


def check_points(points: int | None, ranges: Sequence[Range]) -> None:
    if points is not None and points < 2:
        raise UsageError("--points must be at least 2")
    if len(ranges) == 2 and points is not None and points > MAX_GRID_POINTS:
        raise UsageError(
            f"--points {points} over two inputs is {points * points:,} points; "
            f"at most {MAX_GRID_POINTS} per input",
            hint=f"--points {MAX_GRID_POINTS} or fewer",
        )


def at_point(given: Mapping[str, float], ranges: Sequence[Range]) -> dict[str, float]:
    """The --at point (--at x=1,y=2): a value for every input the plot ranges over, inside its
    range. Raises UsageError."""
    names = [name for name, _, _ in ranges]
    for name in given:
        if name not in names:
            raise UsageError(
                f"--at gives {name}, which the plot does not range over",
                hint=f"--at takes {' and '.join(names)}",
            )
    missing = [n for n in names if n not in given]
    if missing:
        raise UsageError(
            f"--at gives no value for {' and '.join(missing)}",
            hint="--at " + ",".join(f"{n}={lo:g}" for n, lo, _ in ranges),
        )
    for name, lo, hi in ranges:
        if not lo <= given[name] <= hi:
            raise UsageError(
                f"--at {name}={given[name]:g} is outside the range {name}={lo:g}:{hi:g}",
                hint="choose a point inside the range",
            )
    return {n: given[n] for n in names}


def axis(name: str, lo: float, hi: float, n: int) -> Axis:
    """n evenly spaced points from lo to hi, both ends exact."""
    if n < 2:
        raise UsageError("--points must be at least 2")
    step = (hi - lo) / (n - 1)
    if math.isfinite(step):
        inner = [lo + step * i for i in range(n - 1)]
    else:  # hi - lo overflows (x=-1e308:1e308): weigh the ends instead
        inner = [lo * (1 - i / (n - 1)) + hi * (i / (n - 1)) for i in range(n - 1)]
    return Axis(name, lo, hi, tuple(inner) + (hi,))


def evaluator(
    tape: Tape, names: Sequence[str], fixed: Mapping[str, float]
) -> Callable[..., tuple[float | None, tuple]]:
    """point(*values of names) -> (f, (∂f/∂name, …)), with None for what is undefined there;
    the same numbers as tape.evaluate at that point. The graph is compiled once."""
    graph = tape.graph
    wrt = list(names)
    run = compile_graph(graph, wrt, fixed) if len(graph.ops) <= MAX_NODES else None
    errors: list[GradcliError] = []

    def plain(*values: float):
        point = {**fixed, **dict(zip(wrt, values))}
        try:
            ev = tape.evaluate(point)
        except DomainError as exc:
            if not errors:
                errors.append(exc)
            return None, (None,) * len(wrt)
        return ev.value, tuple(_defined(g) for g in ev.gradient(wrt).values())

    if run is None:
        point = plain
    else:

        def point(*values: float):
            try:
                value, grads = run(*values)
            except FastPathFailed:
                return plain(*values)
            return value, tuple(_defined(g) for g in grads)

    point.errors = errors  # type: ignore[attr-defined]
    return point


def _defined(g: float) -> float | None:
    return g if math.isfinite(g) else None


def sample(tape: Tape, axes: Sequence[Axis], fixed: Mapping[str, float]) -> Samples:
    """f and its gradient at every point of the grid of `axes` (one or two). Raises DomainError
    when f is undefined at every point."""
    point = evaluator(tape, [a.name for a in axes], fixed)
    values, grads = [], []
    if len(axes) == 1:
        pairs = [point(x) for x in axes[0].points]
    else:
        xs, ys = axes[0].points, axes[1].points
        pairs = [point(x, y) for y in ys for x in xs]
    for value, gradient in pairs:
        values.append(value)
        grads.append(gradient)
    first = point.errors[0] if point.errors else None
    if all(v is None for v in values):
        ranges = " ".join(f"{a.name}={a.lo:g}:{a.hi:g}" for a in axes)
        where = {} if first is None else dict(node=first.node, source=first.source, span=first.span)
        example = f"for example {first.message}; " if first is not None else ""
        raise DomainError(
            f"the formula is undefined at every sampled point of {ranges}",
            hint=f"{example}choose a range where it is defined",
            **{"node": tape.graph.output, **where},
        )
    return Samples(tuple(axes), dict(fixed), values, grads, first)


def mark(tape: Tape, point: Mapping[str, float], names: Sequence[str]) -> Marked:
    """f and its gradient at the --at point, by the engine `grad eval` uses. Raises
    DomainError when f is undefined there."""
    ev: Evaluation = tape.evaluate(point)
    return Marked(dict(point), ev.value, tuple(ev.gradient(names).values()))


def descent_path(tape: Tape, point: Mapping[str, float], config: DescendConfig) -> Path:
    """Run gradient descent from `point` over config.params, keeping a bounded sample of the
    path (memory stays O(PATH_CAP) however many steps). Raises GradcliError when the start
    is unusable; a later failure ends the path ("diverged" in its result)."""
    descent = Descent(tape, point, config)
    kept = Thinned(PATH_CAP)
    last = None
    for last in descent:
        kept.add(last)
    steps = kept.steps
    if last is not None and (not steps or steps[-1].step != last.step):
        steps.append(last)
    return Path(descent.result(), steps)
