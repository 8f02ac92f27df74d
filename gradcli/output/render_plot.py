"""`grad plot` in the terminal, drawn with Rich: f and ∂f/∂x as two curves over one input, or
a heatmap of f over two.

Drawn here rather than with a plotting library. Two were compared: plotext 6.1 writes its own
ANSI colours whatever NO_COLOR or the stream says, paints a white background, and costs ~175 ms
to import; uniplot 0.23 also writes colour codes with NO_COLOR into a pipe, tells its series
apart by colour only (the same block or braille marks for each, so f and ∂f cannot be read
without colour) and imports numpy (~90 ms). Rich already knows the terminal's width, colour
and encoding. Every mark has its own character, so the plot reads the same with no colour, and
an ASCII stream gets ASCII characters (the renderable's `ascii()`, used by gradcli.terminal).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import NamedTuple

from rich.text import Text

from ..core.sample import Marked, Path, Samples
from .style import GRAD, VALUE, num


class Glyphs(NamedTuple):
    value: str  # a point of f
    grad: str  # a point of ∂f/∂x
    tangent: str
    mark: str  # the --at point
    zero: str  # the line y = 0
    bar: str
    corner: str
    rule: str
    ramp: str  # heatmap levels, lowest first
    arrows: str  # →↗↑↖←↙↓↘: the steepest-descent direction, by eighths of a turn
    partial: str  # ∂
    nabla: str  # ∇
    path: str  # a step of the --descend path
    end: str  # its last step


UNICODE = Glyphs(
    "•", "+", "·", "◆", "─", "│", "└", "─", ".:-=+*#%@", "→↗↑↖←↙↓↘", "∂", "∇", "o", "■"
)
ASCII = Glyphs(
    "*", "+", ".", "O", "-", "|", "+", "-", ".:-=+*#%@", ">/^\\</v\\", "d", "grad ", "o", "X"
)
TANGENT = "blue"
MARK = "bold"
PATH = "bold magenta"
AXIS = "dim"
# levels of the heatmap, dark to bright (viridis): the characters carry the level without colour
PALETTE = (
    "#440154",
    "#472d7b",
    "#3b528b",
    "#2c728e",
    "#21918c",
    "#28ae80",
    "#5ec962",
    "#addc30",
    "#fde725",
)
MIN_WIDTH = 40
LABEL_DIGITS = 4


class Plot:
    """The terminal plot of sampled f (one axis: two panels, f above ∂f; two axes: a heatmap),
    laid out for the console's width when printed."""

    def __init__(
        self,
        samples: Samples,
        marked: Marked | None = None,
        digits: int = 6,
        glyphs: Glyphs = UNICODE,
        path: Path | None = None,
    ) -> None:
        self.samples, self.marked, self.digits, self.glyphs = samples, marked, digits, glyphs
        self.path = path

    def ascii(self) -> Plot:
        return Plot(self.samples, self.marked, self.digits, ASCII, self.path)

    def __rich_console__(self, console, options):
        width = max(MIN_WIDTH, options.max_width)
        # narrower than MIN_WIDTH: laid out at MIN_WIDTH, and the terminal wraps the lines
        yield from console.render(self.text(width), options.update_width(width))

    def text(self, width: int) -> Text:
        if len(self.samples.axes) == 1:
            return curves(self.samples, self.marked, width, self.digits, self.glyphs, self.path)
        return heatmap(self.samples, self.marked, width, self.digits, self.glyphs, self.path)


class _Canvas:
    """A grid of character cells, each with a style; row 0 is the top."""

    def __init__(self, width: int, height: int) -> None:
        self.width, self.height = width, height
        self.cells = [[(" ", "")] * width for _ in range(height)]

    def put(self, column: int, row: int, char: str, style: str) -> None:
        if 0 <= column < self.width and 0 <= row < self.height:
            self.cells[row][column] = (char, style)

    def line(self, points: Sequence[tuple[float, float] | None], char: str, style: str) -> None:
        """Joins consecutive points (column, row) cell by cell; None breaks the line (a gap).
        Rows far outside are clipped first, so a steep line costs a column's height."""
        previous = None
        for point in points:
            if point is None:
                previous = None
                continue
            c1, r1 = point[0], min(max(point[1], -1.0), float(self.height))
            if math.isnan(r1):
                previous = None
                continue
            if previous is None:
                self.put(round(c1), round(r1), char, style)
            else:
                c0, r0 = previous
                steps = max(1, math.ceil(max(abs(c1 - c0), abs(r1 - r0))))
                for s in range(1, steps + 1):
                    t = s / steps
                    self.put(round(c0 + (c1 - c0) * t), round(r0 + (r1 - r0) * t), char, style)
            previous = (c1, r1)

    def rows(self) -> list[Text]:
        lines = []
        for row in self.cells:
            text = Text()
            for char, style in row:
                text.append(char, style=style or None)
            lines.append(text)
        return lines


def fraction(v: float, lo: float, hi: float) -> float:
    """Where v lies between lo (0) and hi (1); halved first, so that hi - lo cannot overflow."""
    return (v * 0.5 - lo * 0.5) / (hi * 0.5 - lo * 0.5)


def _span(values: Sequence[float | None], extra: Sequence[float] = ()) -> tuple[float, float]:
    finite = [v for v in (*values, *extra) if v is not None and math.isfinite(v)]
    if not finite:
        return -1.0, 1.0
    lo, hi = min(finite), max(finite)
    if lo == hi:
        pad = abs(lo) * 0.5 or 1.0
        return lo - pad, hi + pad
    return lo, hi


def _panel(
    title: Text,
    xs: Sequence[float],
    ys: Sequence[float | None],
    span: tuple[float, float],
    label_width: int,
    plot_width: int,
    height: int,
    char: str,
    style: str,
    glyphs: Glyphs,
    under=None,
    over=None,
) -> list[Text]:
    """One chart: y labels at the top, the bottom and 0, the curve joined point to point;
    `under(canvas, column, row)` draws before the curve and `over` after it."""
    y_lo, y_hi = span
    x_lo, x_hi = xs[0], xs[-1]

    def column(x: float) -> float:
        return fraction(x, x_lo, x_hi) * (plot_width - 1)

    def row(y: float) -> float:
        return (1 - fraction(y, y_lo, y_hi)) * (height - 1)

    labels = {0: num(y_hi, LABEL_DIGITS), height - 1: num(y_lo, LABEL_DIGITS)}
    canvas = _Canvas(plot_width, height)
    if y_lo < 0 < y_hi:
        zero = round(row(0.0))
        for c in range(plot_width):
            canvas.put(c, zero, glyphs.zero, AXIS)
        labels.setdefault(zero, "0")
    if under is not None:
        under(canvas, column, row)
    canvas.line([None if y is None else (column(x), row(y)) for x, y in zip(xs, ys)], char, style)
    if over is not None:
        over(canvas, column, row)
    lines = [title]
    for r, cells in enumerate(canvas.rows()):
        line = Text(labels.get(r, "").rjust(label_width) + " " + glyphs.bar, style=AXIS)
        line.append_text(cells)
        lines.append(line)
    return lines


def curves(
    samples: Samples,
    marked: Marked | None,
    width: int,
    digits: int = 6,
    glyphs: Glyphs = UNICODE,
    path: Path | None = None,
) -> Text:
    """Two panels over one axis: f (with the tangent line, the point of --at and the descent
    path from it) and ∂f/∂x."""
    (axis,) = samples.axes
    xs, name, d = axis.points, axis.name, glyphs.partial
    grads = [g[0] for g in samples.grads]
    height_f, height_g = (12, 8) if width >= 60 else (10, 6)
    a = fa = slope = None
    if marked is not None:
        a, fa, slope = marked.point[name], marked.value, marked.grads[0]
    span_f = _span(samples.values, [fa] if fa is not None else [])
    span_g = _span(grads, [slope] if slope is not None else [])
    label_width = max(len(num(v, LABEL_DIGITS)) for v in (*span_f, *span_g))
    plot_width = width - label_width - 2

    title_f = Text()
    title_f.append(f"{glyphs.value} f", style=VALUE)
    under_f = over_f = over_g = None
    if marked is not None:
        title_f.append("   ")
        title_f.append(
            f"{glyphs.mark} {name} = {num(a, digits)}: f = {num(fa, digits)}, "
            f"{d}f/{d}{name} = {num(slope, digits)}",
            style=MARK,
        )
        if math.isfinite(slope):
            title_f.append("   ")
            title_f.append(f"{glyphs.tangent} tangent", style=TANGENT)

            def under_f(canvas, column, row):
                canvas.line(
                    [
                        (column(x), row(fa + slope * (x - a)))
                        for x in _columns_x(xs[0], xs[-1], canvas.width)
                    ],
                    glyphs.tangent,
                    TANGENT,
                )

            def over_g(canvas, column, row):
                canvas.put(round(column(a)), round(row(slope)), glyphs.mark, MARK)

        def over_f(canvas, column, row):
            if path is not None:
                _draw_path(
                    canvas, path, glyphs, lambda step: (column(step.point[0]), row(step.value))
                )
            canvas.put(round(column(a)), round(row(fa)), glyphs.mark, MARK)

    title_g = Text(f"{glyphs.grad} {d}f/{d}{name}", style=GRAD)
    out = Text()
    for line in _panel(
        title_f,
        xs,
        samples.values,
        span_f,
        label_width,
        plot_width,
        height_f,
        glyphs.value,
        VALUE,
        glyphs,
        under_f,
        over_f,
    ) + _panel(
        title_g,
        xs,
        grads,
        span_g,
        label_width,
        plot_width,
        height_g,
        glyphs.grad,
        GRAD,
        glyphs,
        None,
        over_g,
    ):
        out.append_text(line)
        out.append("\n")
    out.append(
        " " * (label_width + 1) + glyphs.corner + glyphs.rule * plot_width + "\n", style=AXIS
    )
    out.append_text(_x_labels(axis.lo, axis.hi, name, label_width + 2, plot_width))
    out.append_text(_path_note(path, samples, digits, glyphs))
    out.append_text(_fixed(samples, digits))
    return out


def _draw_path(canvas: _Canvas, path: Path, glyphs: Glyphs, place) -> None:
    """Each kept step of the descent where `place(step)` puts it; steps off the plot are left
    out (the note below the plot says where it ends)."""
    for step in path.steps:
        c, r = place(step)
        if math.isfinite(c) and math.isfinite(r):
            canvas.put(round(c), round(r), glyphs.path, PATH)
    c, r = place(path.steps[-1])
    if math.isfinite(c) and math.isfinite(r):
        canvas.put(round(c), round(r), glyphs.end, PATH)


def _path_note(path: Path | None, samples: Samples, digits: int, glyphs: Glyphs) -> Text:
    if path is None:
        return Text()
    result, last = path.result, path.steps[-1]
    config = result.config
    at = ", ".join(f"{n} = {num(v, digits)}" for n, v in zip(result.params, last.point))
    return Text(
        f"{glyphs.path} descent ({config.optimizer}, lr {config.lr:g}) "
        f"{glyphs.end} after {result.steps} steps: f = {num(last.value, digits)} at "
        f"{at}; {result.reason}\n",
        style=PATH,
    )


def _columns_x(lo: float, hi: float, width: int) -> list[float]:
    return [lo * (1 - c / (width - 1)) + hi * (c / (width - 1)) for c in range(width)]


def _x_labels(lo: float, hi: float, name: str, indent: int, width: int) -> Text:
    left, right = num(lo, LABEL_DIGITS), num(hi, LABEL_DIGITS)
    middle = name
    gap = max(1, width - len(left) - len(right))
    pad = max(1, (gap - len(middle)) // 2)
    line = left + " " * pad + middle
    line += " " * max(1, width - len(line) - len(right)) + right
    return Text(" " * indent + line + "\n", style=AXIS)


def _fixed(samples: Samples, digits: int) -> Text:
    if not samples.fixed:
        return Text()
    held = ", ".join(f"{n} = {num(v, digits)}" for n, v in samples.fixed.items())
    return Text(f"held fixed: {held}\n", style=AXIS)


def heatmap(
    samples: Samples,
    marked: Marked | None,
    width: int,
    digits: int = 6,
    glyphs: Glyphs = UNICODE,
    path: Path | None = None,
) -> Text:
    """f over two inputs as a grid of characters, one level per character (and colour), with
    the point of --at and the direction of steepest descent there."""
    ax_x, ax_y = samples.axes
    nx, ny = len(ax_x.points), len(ax_y.points)
    lo, hi = _span(samples.values)
    top, bottom = num(ax_y.hi, LABEL_DIGITS), num(ax_y.lo, LABEL_DIGITS)
    label_width = max(len(top), len(bottom), len(ax_y.name))
    plot_width = width - label_width - 2
    height = max(8, min(24, plot_width // 2))
    levels = len(glyphs.ramp)
    canvas = _Canvas(plot_width, height)
    for r in range(height):
        j = round((height - 1 - r) / (height - 1) * (ny - 1))
        for c in range(plot_width):
            i = round(c / (plot_width - 1) * (nx - 1))
            v = samples.values[j * nx + i]
            if v is None:
                continue
            k = min(levels - 1, int(fraction(v, lo, hi) * levels))
            canvas.put(c, r, glyphs.ramp[k], PALETTE[k * (len(PALETTE) - 1) // (levels - 1)])
    legend = Text()
    legend.append(f"f: {num(lo, LABEL_DIGITS)} ", style=AXIS)
    for k, char in enumerate(glyphs.ramp):
        legend.append(char, style=PALETTE[k * (len(PALETTE) - 1) // (levels - 1)])
    legend.append(f" {num(hi, LABEL_DIGITS)}", style=AXIS)
    if any(v is None for v in samples.values):
        legend.append("   blank: undefined", style=AXIS)
    legend.append("\n")
    notes = Text()
    if marked is not None:
        a, b = marked.point[ax_x.name], marked.point[ax_y.name]
        ga, gb = marked.grads
        c = round(fraction(a, ax_x.lo, ax_x.hi) * (plot_width - 1))
        r = round((1 - fraction(b, ax_y.lo, ax_y.hi)) * (height - 1))
        d = glyphs.partial
        notes.append(
            f"{glyphs.mark} {ax_x.name} = {num(a, digits)}, {ax_y.name} = "
            f"{num(b, digits)}: f = {num(marked.value, digits)}\n"
            f"  {d}f/{d}{ax_x.name} = {num(ga, digits)}, "
            f"{d}f/{d}{ax_y.name} = {num(gb, digits)}\n",
            style=MARK,
        )
        if math.isfinite(ga) and math.isfinite(gb) and (ga or gb):
            # the direction in cells: a cell is about twice as tall as it is wide
            dc = -ga * 0.5 * (plot_width - 1) / (ax_x.hi * 0.5 - ax_x.lo * 0.5)
            dr = -gb * 0.5 * (height - 1) / (ax_y.hi * 0.5 - ax_y.lo * 0.5) * 2
            eighth = round(math.atan2(dr, dc) / (math.pi / 4)) % 8
            arrow = glyphs.arrows[eighth]
            step_c = (1, 1, 0, -1, -1, -1, 0, 1)[eighth]
            step_r = (0, -1, -1, -1, 0, 1, 1, 1)[eighth]
            canvas.put(c + step_c, r + step_r, arrow, GRAD)
            notes.append(
                f"{arrow} steepest descent -{glyphs.nabla}f = "
                f"({num(-ga, digits)}, {num(-gb, digits)})\n",
                style=GRAD,
            )
        if path is not None:
            _draw_path(
                canvas,
                path,
                glyphs,
                lambda step: (
                    fraction(step.point[0], ax_x.lo, ax_x.hi) * (plot_width - 1),
                    (1 - fraction(step.point[1], ax_y.lo, ax_y.hi)) * (height - 1),
                ),
            )
        canvas.put(c, r, glyphs.mark, MARK)
    out = Text()
    out.append_text(legend)
    labels = {0: top, height - 1: bottom, height // 2: ax_y.name}
    for r, cells in enumerate(canvas.rows()):
        out.append(labels.get(r, "").rjust(label_width) + " " + glyphs.bar, style=AXIS)
        out.append_text(cells)
        out.append("\n")
    out.append(
        " " * (label_width + 1) + glyphs.corner + glyphs.rule * plot_width + "\n", style=AXIS
    )
    out.append_text(_x_labels(ax_x.lo, ax_x.hi, ax_x.name, label_width + 2, plot_width))
    out.append_text(notes)
    out.append_text(_path_note(path, samples, digits, glyphs))
    out.append_text(_fixed(samples, digits))
    return out
