"""The Hessian as a table: one row and one column per input, ∂²f/∂row∂column in each cell."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from rich.text import Text

from ..core.graph import Graph
from .render import _VERDICT_STYLE, _kink_note
from .render_table import FoldingTable
from .style import GRAD, num

if TYPE_CHECKING:  # types only
    from ..core.hessian import CheckRow


MAX_INPUTS = 12  # a Hessian table of more inputs is cut to the first ones' block
MAX_ROWS = 100  # grad check --hessian's rows shown at most


def hessian_table(
    graph: Graph, names: Sequence[str], matrix: Sequence[Sequence[float]], digits: int = 6
) -> FoldingTable | Text:
    f = graph.output_name
    if not names:  # a constant formula: not an empty box
        return Text(f"{f} has no inputs: no second derivatives", style="dim")
    title = f"Hessian of {f}: its second derivative by the row and column inputs"
    if len(names) > MAX_INPUTS:  # n² cells: past a screenful, only the first inputs' block
        title += f" (the first {MAX_INPUTS} of {len(names)} inputs: --json gives every entry)"
        names = names[:MAX_INPUTS]
    table = FoldingTable(title=title)
    table.add_column("")
    for name in names:
        table.add_column(name, style=GRAD, justify="right")
    for name, row in zip(names, matrix):
        table.add_row(Text(name, style="bold"), *(num(v, digits) for v in row[: len(names)]))
    return table


def second_label(f: str, a: str, b: str) -> str:
    """∂²f/∂a∂b, or ∂²f/∂a² on the diagonal."""
    return f"∂²{f}/∂{a}²" if a == b else f"∂²{f}/∂{a}∂{b}"


def hessian_check_table(graph: Graph, rows: Sequence[CheckRow], digits: int = 6) -> FoldingTable:
    """`grad check --hessian`: each second derivative beside the central difference of the
    gradient, with the verdict, as the gradient's table has them."""
    f = graph.output_name
    table = FoldingTable(title="Hessian against central differences of the gradient")
    table.add_column("second derivative")
    table.add_column("analytic", style=GRAD, justify="right")
    table.add_column("numerical", justify="right")
    table.add_column("rel. error", justify="right")
    table.add_column("verdict")
    kinks = any(row.kinks for row in rows)
    if kinks:
        table.add_column("kink crossed at ± h", wrap=True)
    if len(rows) > MAX_ROWS:  # the suspect ones first, then as many others as fit
        suspect = [row for row in rows if row.verdict == "suspect"]
        shown = (suspect + [row for row in rows if row.verdict != "suspect"])[:MAX_ROWS]
        table.caption = (
            f"{len(rows) - MAX_ROWS} more of {len(rows)} second derivatives not shown "
            f"({len(suspect)} suspect in all): --json gives every one"
        )
        rows = shown
    for row in rows:
        cells = [
            Text(second_label(f, row.a, row.b)),
            num(row.analytic, digits),
            num(row.numeric, digits) if row.numeric is not None else "n/a",
            format(row.rel_error, ".1e") if row.rel_error is not None else "n/a",
            Text(row.verdict, style=_VERDICT_STYLE.get(row.verdict, "")),
        ]
        if kinks:
            cells.append(Text(_kink_note(graph, row.kinks), style="yellow"))
        table.add_row(*cells)
    return table
