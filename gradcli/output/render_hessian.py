"""The Hessian as a table: one row and one column per input, ∂²f/∂row∂column in each cell."""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text

from ..core.graph import Graph
from .render import output_name
from .render_table import FoldingTable
from .style import GRAD, num


def hessian_table(
    graph: Graph, names: Sequence[str], matrix: Sequence[Sequence[float]], digits: int = 6
) -> FoldingTable:
    f = output_name(graph)
    table = FoldingTable(
        title=f"Hessian of {f}: its second derivative by the row and column inputs"
    )
    table.add_column("")
    for name in names:
        table.add_column(name, style=GRAD, justify="right")
    for name, row in zip(names, matrix):
        table.add_row(Text(name, style="bold"), *(num(v, digits) for v in row))
    return table
