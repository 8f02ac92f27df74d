"""`grad plot --png FILE / --svg FILE`: the picture of sampled f, drawn with matplotlib.

One input: f above ∂f/∂x, sharing the x axis, with the tangent at --at; undefined points are
gaps (nan). Two inputs: filled contours of f with the gradient field as arrows, and at --at the
gradient and the steepest-descent direction. matplotlib is the optional `plot` extra; this
module is imported only when a picture is asked for. Text in an SVG stays text (searchable).
"""

from __future__ import annotations

import io
import math

from ..core.sample import Marked, Path, Samples

SIZE = (7.0, 6.0)  # inches; at DPI this is the PNG's size in pixels
DPI = 100
VALUE_COLOUR = "#1a7f37"  # as in the circuit diagrams: values green, gradients red
GRAD_COLOUR = "#cf222e"
DESCENT_COLOUR = "#0969da"
PATH_COLOUR = "#8250df"
ARROWS = 20  # per axis in the gradient field


def picture(
    samples: Samples, marked: Marked | None, fmt: str, title: str, path: Path | None = None
) -> bytes:
    """The PNG or SVG file's bytes."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "gradcli"}):
        figure = Figure(figsize=SIZE, dpi=DPI, layout="constrained")
        if len(samples.axes) == 1:
            ax = _curves(figure, samples, marked, title)
        else:
            ax = _contours(figure, samples, marked, title)
        if path is not None:
            _path(ax, path, len(samples.axes))
        buffer = io.BytesIO()
        figure.savefig(buffer, format=fmt, dpi=DPI, metadata=_metadata(fmt))
    return buffer.getvalue()


def _metadata(fmt: str) -> dict:
    # no creation date in an SVG: the same command writes the same file
    return {"Date": None} if fmt == "svg" else {}


def _nan(values):
    return [math.nan if v is None else v for v in values]


def _curves(figure, samples: Samples, marked: Marked | None, title: str) -> None:
    (axis,) = samples.axes
    name = axis.name
    top, bottom = figure.subplots(2, 1, sharex=True)
    xs = axis.points
    top.plot(xs, _nan(samples.values), color=VALUE_COLOUR, label="f")
    bottom.plot(xs, _nan(g[0] for g in samples.grads), color=GRAD_COLOUR, label=f"∂f/∂{name}")
    if marked is not None:
        a, fa, slope = marked.point[name], marked.value, marked.grads[0]
        if math.isfinite(slope):
            low, high = top.get_ylim()
            top.plot(
                [xs[0], xs[-1]],
                [fa + slope * (xs[0] - a), fa + slope * (xs[-1] - a)],
                color=DESCENT_COLOUR,
                linestyle="--",
                linewidth=1,
                label=f"tangent at {name} = {a:g}",
            )
            top.set_ylim(low, high)
            bottom.plot([a], [slope], "o", color="black")
        top.plot([a], [fa], "o", color="black", label=f"f({a:g}) = {fa:.6g}")
    top.set_ylabel("f")
    top.set_title(title)
    bottom.set_ylabel(f"∂f/∂{name}")
    bottom.set_xlabel(name)
    for ax in (top, bottom):
        ax.grid(alpha=0.3)
        ax.axhline(0, color="grey", linewidth=0.5)
        ax.legend(loc="best", fontsize="small")
    return top


def _path(ax, path: Path, dimensions: int) -> None:
    """The descent's kept steps over the plot (the limits stay the plot's own)."""
    xs = [s.point[0] for s in path.steps]
    ys = [s.value for s in path.steps] if dimensions == 1 else [s.point[1] for s in path.steps]
    config = path.result.config
    limits = ax.get_xlim(), ax.get_ylim()
    ax.plot(
        xs,
        ys,
        "-o",
        color=PATH_COLOUR,
        markersize=3,
        linewidth=1,
        label=f"descent ({config.optimizer}, lr {config.lr:g}, {path.result.steps} steps)",
    )
    ax.plot(xs[-1:], ys[-1:], "*", color=PATH_COLOUR, markersize=12)
    ax.set_xlim(*limits[0])
    ax.set_ylim(*limits[1])
    ax.legend(loc="best", fontsize="small")


def _contours(figure, samples: Samples, marked: Marked | None, title: str) -> None:
    import numpy as np

    ax_x, ax_y = samples.axes
    nx, ny = len(ax_x.points), len(ax_y.points)
    grid = np.ma.masked_invalid(np.array(_nan(samples.values), dtype=float).reshape(ny, nx))
    ax = figure.subplots()
    filled = ax.contourf(ax_x.points, ax_y.points, grid, levels=20, cmap="viridis")
    ax.contour(ax_x.points, ax_y.points, grid, levels=20, colors="white", linewidths=0.3)
    figure.colorbar(filled, ax=ax, label="f")
    # the gradient field on a coarser grid: one arrow per ~nx/ARROWS samples
    step_x, step_y = max(1, nx // ARROWS), max(1, ny // ARROWS)
    gx = np.array(_nan(g[0] for g in samples.grads), dtype=float).reshape(ny, nx)
    gy = np.array(_nan(g[1] for g in samples.grads), dtype=float).reshape(ny, nx)
    xs, ys = np.meshgrid(ax_x.points[::step_x], ax_y.points[::step_y])
    ax.quiver(
        xs,
        ys,
        gx[::step_y, ::step_x],
        gy[::step_y, ::step_x],
        color="white",
        alpha=0.7,
        angles="xy",
        pivot="mid",
        label="∇f",
    )
    if marked is not None:
        a, b = marked.point[ax_x.name], marked.point[ax_y.name]
        ga, gb = marked.grads
        ax.plot([a], [b], "o", color="black")
        if math.isfinite(ga) and math.isfinite(gb) and (ga or gb):
            # both arrows a tenth of the plot across, in the gradient's direction and against it
            span = 0.1 * math.hypot(ax_x.hi - ax_x.lo, ax_y.hi - ax_y.lo)
            norm = math.hypot(ga, gb)
            for sign, colour, label in (
                (1, GRAD_COLOUR, f"∇f at ({a:g}, {b:g})"),
                (-1, DESCENT_COLOUR, "steepest descent −∇f"),
            ):
                ax.annotate(
                    "",
                    xy=(a + sign * span * ga / norm, b + sign * span * gb / norm),
                    xytext=(a, b),
                    annotation_clip=False,  # drawn past the edge too
                    arrowprops=dict(arrowstyle="-|>", color=colour, linewidth=2),
                )
                ax.plot([], [], color=colour, linewidth=2, label=label)
        ax.legend(loc="upper right", fontsize="small")
    ax.set_xlim(ax_x.lo, ax_x.hi)
    ax.set_ylim(ax_y.lo, ax_y.hi)
    ax.set_xlabel(ax_x.name)
    ax.set_ylabel(ax_y.name)
    ax.set_title(title)
    return ax
