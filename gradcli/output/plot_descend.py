"""`grad descend --plot FILE.png|.svg`: a picture of the run, drawn with matplotlib.

matplotlib is an optional extra (pip install 'gradcli[plot]'); this module is imported only when
a picture is asked for, and `require_matplotlib()` says how to install it when it is missing.
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable, Sequence
from pathlib import Path

from ..core.descend import Result, Step
from ..core.errors import UsageError

FORMATS = {".png": "png", ".svg": "svg"}
INSTALL_HINT = "install it with: pip install 'gradcli[plot]'"


def plot_format(path: Path) -> str:
    fmt = FORMATS.get(path.suffix.lower())
    if fmt is None:
        raise UsageError(
            f"--plot {str(path)!r}: the file name must end in .png or .svg",
            hint="for example --plot run.png",
        )
    return fmt


def require_matplotlib(option: str = "--plot") -> None:
    """Say now when matplotlib is missing (for `option`); else load what the pictures need, so
    that the picture of a run stopped by Ctrl-C is drawn without a second's wait for imports."""
    try:
        import matplotlib
    except ImportError:
        raise UsageError(
            f"{option} needs matplotlib, which is not installed", hint=INSTALL_HINT
        ) from None
    matplotlib.use("Agg")
    import matplotlib.figure  # noqa: F401


def picture(
    result: Result,
    trace: Sequence[Step],
    f_name: str,
    fmt: str,
    objective: Callable[[Sequence[float]], float] | None = None,
) -> bytes:
    """The image file's bytes: f over the steps; for two parameters also the path over a
    contour plot of the objective (the other inputs held fixed)."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    two = len(result.params) == 2 and objective is not None
    figure = Figure(figsize=(11 if two else 6, 4.5), layout="constrained")
    axes = figure.subplots(1, 2 if two else 1)
    left = axes[0] if two else axes
    steps = [s.step for s in trace]
    left.plot(steps, [s.value for s in trace], color="tab:green", label=f_name)
    if result.config.target is not None:
        left.axhline(
            result.config.target,
            color="grey",
            linestyle="--",
            linewidth=1,
            label=f"target {result.config.target:g}",
        )
        left.legend()
    left.set_xlabel("step")
    left.set_ylabel(f_name)
    left.set_title(
        f"{f_name} over the steps ({result.config.optimizer}, "
        f"lr {result.config.lr:g}; {result.stopped})"
    )
    left.grid(alpha=0.3)
    if two:
        _contour(axes[1], result, trace, objective)
    buffer = io.BytesIO()
    figure.savefig(buffer, format=fmt)
    return buffer.getvalue()


def _contour(ax, result: Result, trace: Sequence[Step], objective) -> None:
    xs = [s.point[0] for s in trace]
    ys = [s.point[1] for s in trace]
    x0, x1 = _padded(min(xs), max(xs))
    y0, y1 = _padded(min(ys), max(ys))
    n = 80
    gx = [x0 + (x1 - x0) * i / (n - 1) for i in range(n)]
    gy = [y0 + (y1 - y0) * j / (n - 1) for j in range(n)]
    z = [[objective((x, y)) for x in gx] for y in gy]
    finite = [v for row in z for v in row if math.isfinite(v)]
    if finite:
        import numpy as np

        grid = np.ma.masked_invalid(np.array(z))
        lo, hi = min(finite), max(finite)
        if hi > lo and lo > 0 and hi / lo > 1e3:  # a wide range: levels spaced by ratio
            levels = np.geomspace(lo, hi, 25)
        else:
            levels = 25
        contour = ax.contour(gx, gy, grid, levels=levels, cmap="viridis", linewidths=0.8)
        ax.figure.colorbar(contour, ax=ax)
    ax.plot(xs, ys, "-", color="tab:red", linewidth=1.2, marker=".", markersize=3)
    ax.plot(xs[:1], ys[:1], "o", color="black", label="start")
    ax.plot(xs[-1:], ys[-1:], "*", color="tab:red", markersize=12, label="end")
    ax.set_xlabel(result.params[0])
    ax.set_ylabel(result.params[1])
    ax.set_title("path over the contours of the objective")
    ax.legend()


def _padded(lo: float, hi: float, share: float = 0.2) -> tuple[float, float]:
    span = hi - lo
    pad = share * span if span > 0 else max(1.0, abs(lo)) * 0.5
    return lo - pad, hi + pad


def data_picture(result: Result, trace: Sequence[Step], training, fmt: str) -> bytes:
    """The picture of a descent on data: the mean loss over the steps (and the accuracy, with
    0/1 targets); for two data columns also the rows as points, coloured by their target,
    and with 0/1 targets the decision boundary f = 0.5 of the final parameters."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    from ..core.training import output_fn

    plan = training.plan
    two = len(plan.columns) == 2
    figure = Figure(figsize=(11 if two else 6, 4.5), layout="constrained")
    axes = figure.subplots(1, 2 if two else 1)
    left = axes[0] if two else axes
    steps = [s.step for s in trace]
    left.plot(steps, [s.value for s in trace], color="tab:green", label="loss")
    left.set_xlabel("step" if training.objective.batches == 1 else "step (batches)")
    left.set_ylabel("mean loss")
    what = "mean f" if plan.loss == "none" else f"{plan.loss} loss"
    left.set_title(
        f"{what} over the steps ({result.config.optimizer}, "
        f"lr {result.config.lr:g}; {result.stopped})"
    )
    left.grid(alpha=0.3)
    if result.last.accuracy is not None:
        right = left.twinx()
        right.plot(steps, [s.accuracy for s in trace], color="tab:blue", label="accuracy")
        right.set_ylabel("accuracy")
        right.set_ylim(0, 1.05)
        lines = left.get_lines() + right.get_lines()
        left.legend(lines, [line.get_label() for line in lines], loc="center right")
    if two:
        _boundary(axes[1], training, output_fn(training.objective.tape, plan, result.last.point))
    buffer = io.BytesIO()
    figure.savefig(buffer, format=fmt)
    return buffer.getvalue()


def _boundary(ax, training, f: Callable[[Sequence[float]], float]) -> None:
    plan, objective = training.plan, training.objective
    xs = [row[0] for row in objective.rows]
    ys = [row[1] for row in objective.rows]
    x0, x1 = _padded(min(xs), max(xs), 0.08)
    y0, y1 = _padded(min(ys), max(ys), 0.08)
    n = 120
    gx = [x0 + (x1 - x0) * i / (n - 1) for i in range(n)]
    gy = [y0 + (y1 - y0) * j / (n - 1) for j in range(n)]
    # a classifier's boundary: where f crosses 0.5 (a regression has none)
    z = [[f((x, y)) for x in gx] for y in gy] if plan.labels else []
    finite = [v for row in z for v in row if math.isfinite(v)]
    if finite and min(finite) < 0.5 < max(finite):
        import numpy as np

        grid = np.ma.masked_invalid(np.array(z))
        ax.contourf(
            gx,
            gy,
            grid,
            levels=[min(finite), 0.5, max(finite)],
            colors=["tab:blue", "tab:orange"],
            alpha=0.12,
        )
        ax.contour(gx, gy, grid, levels=[0.5], colors="black", linewidths=1.2)
    if plan.target_column is not None:
        labels = [row[-1] for row in objective.rows]
        if plan.labels:
            for value, colour in ((0.0, "tab:blue"), (1.0, "tab:orange")):
                ax.scatter(
                    [x for x, c in zip(xs, labels) if c == value],
                    [y for y, c in zip(ys, labels) if c == value],
                    s=14,
                    color=colour,
                    label=f"{plan.target_column} = {value:g}",
                )
            ax.legend(loc="best")
        else:
            points = ax.scatter(xs, ys, s=14, c=labels, cmap="viridis")
            ax.figure.colorbar(points, ax=ax, label=plan.target_column)
    else:
        ax.scatter(xs, ys, s=14, color="grey")
    ax.set_xlabel(plan.columns[0])
    ax.set_ylabel(plan.columns[1])
    if plan.labels:
        ax.set_title("the rows and the decision boundary f = 0.5")
    else:
        coloured = f", coloured by {plan.target_column}" if plan.target_column else ""
        ax.set_title(f"the rows{coloured}")
