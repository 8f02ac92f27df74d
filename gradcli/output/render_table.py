"""A table whose numbers are never cut, wrapped or elided, whatever the terminal's width.

Rich's Table shrinks its columns to the width it is given, cutting what is in them. A
FoldingTable is laid out when Rich gives it a width: when its columns do not fit, they are
folded into several tables, each repeating the key columns (the first ones: an input's name,
the step); a fold that still does not fit (one number wider than the terminal) is drawn
whole at its own width and the terminal wraps its rows. Only columns added with wrap=True
(free text such as a note) may be wrapped.
"""

from __future__ import annotations

from typing import NamedTuple

from rich.cells import cell_len
from rich.table import Table
from rich.text import Text


class Column(NamedTuple):
    header: str | Text
    justify: str = "left"
    style: str = ""
    wrap: bool = False  # free text that may wrap; everything else keeps its width


def _plain(cell) -> str:
    return cell.plain if isinstance(cell, Text) else str(cell)


def _width(cell) -> int:
    return max((cell_len(line) for line in _plain(cell).splitlines()), default=0)


MIN_WRAPPED = 12  # a wrapped column is given at least this many columns when folding


class FoldingTable:
    def __init__(self, title: str | Text | None = None, keys: int = 1, grid: bool = False) -> None:
        self.title = title
        self.caption: str | Text | None = None
        self.keys = keys
        self.grid = grid  # no box, no header: label and value columns two spaces apart
        self.columns: list[Column] = []
        self.rows: list[list] = []

    def add_column(
        self, header: str | Text, *, justify: str = "left", style: str = "", wrap: bool = False
    ) -> None:
        self.columns.append(Column(header, justify, style, wrap))

    def add_row(self, *cells) -> None:
        self.rows.append(list(cells))

    def ascii(self) -> FoldingTable:
        """The same table for a stream that shows only ASCII (see terminal.asciify)."""
        from .terminal import asciify

        table = FoldingTable(asciify(self.title), self.keys, self.grid)
        table.caption = asciify(self.caption)
        table.columns = [c._replace(header=asciify(c.header)) for c in self.columns]
        table.rows = [[asciify(cell) for cell in row] for row in self.rows]
        return table

    def widths(self) -> list[int]:
        """Each column's natural width: its widest cell or header. A wrapped column may be
        narrower, down to MIN_WRAPPED, but never narrower than its longest word (a number)."""
        widths = []
        for i, column in enumerate(self.columns):
            cells = [column.header, *(row[i] for row in self.rows)]
            wide = max(map(_width, cells))
            if column.wrap:
                word = max((cell_len(w) for c in cells for w in _plain(c).split()), default=0)
                wide = max(word, min(wide, MIN_WRAPPED))
            widths.append(wide)
        return widths

    def _edges(self, count: int) -> int:
        """Columns taken by borders and padding around `count` columns."""
        return 2 * (count - 1) if self.grid else 3 * count + 1

    def folds(self, width: int) -> list[list[int]]:
        """The column numbers of each fold: the key columns, then as many of the others as
        fit (at least one), in order."""
        widths = self.widths()
        keys = list(range(min(self.keys, len(self.columns))))
        folds: list[list[int]] = []
        current: list[int] = []
        for i in range(len(keys), len(self.columns)):
            if current and self.need(keys + current + [i], widths) > width:
                folds.append(keys + current)
                current = []
            current.append(i)
        if current or not folds:
            folds.append(keys + current)
        return folds

    def need(self, columns: list[int], widths: list[int]) -> int:
        """The narrowest width at which these columns keep every cell whole."""
        return sum(widths[i] for i in columns) + self._edges(len(columns))

    def _table(self, columns: list[int], widths: list[int]) -> Table:
        table = Table.grid(padding=(0, 2)) if self.grid else Table()
        for i in columns:
            column = self.columns[i]
            table.add_column(
                column.header,
                justify=column.justify,
                style=column.style,
                no_wrap=not column.wrap,
                min_width=widths[i],
            )
        for row in self.rows:
            table.add_row(*(row[i] for i in columns))
        return table

    def __rich_console__(self, console, options):
        width = options.max_width
        widths = self.widths()
        if self.title is not None:
            yield _line(self.title)
        for columns in self.folds(width):
            need = self.need(columns, widths)
            yield from console.render(
                self._table(columns, widths), options.update_width(max(width, need))
            )
        if self.caption is not None:
            yield _line(self.caption, "dim")


def _line(text: str | Text, style: str = "") -> Text:
    line = text.copy() if isinstance(text, Text) else Text(text, style=style)
    line.no_wrap, line.overflow = True, "ignore"
    return line
