"""The one reader of data rows (`grad eval --at FILE`, `grad descend --data FILE`).

It takes lines of text (an open file, sys.stdin, a list of strings: core never opens a file)
and streams them: nothing is kept but the current row, so memory does not grow with rows.

Formats, told apart by the first line that is not blank:
- JSON Lines when it starts with '{': every line one object of name -> number. The first
  object's keys are the columns, in its order; every later object has the same keys.
- CSV otherwise (csv module: quoting, embedded commas): the first row is the header of column
  names (surrounding spaces dropped), every later row has one field per column.
Blank lines are skipped anywhere (a line of CSV with empty fields, `,`, is a row, and is
malformed where a number is needed); a UTF-8 byte-order mark before the first line is dropped.

Interface (stable: add to it, do not change it):
    rows = read_rows(lines)   reads up to the header (or first object); raises RowError
    rows.names                the column names, in file order (tuple of str)
    rows.format               "csv" or "jsonl"
    for line, values, fields in rows.select(columns):   columns: names of rows.names
        line    1-based number of the line the row starts on
        values  tuple of finite floats, one per name of `columns`, in that order
        fields  the row's raw texts, one per column of rows.names (for --keep): CSV fields as
                written (str); from JSON Lines, a number as written (JsonNumber), a string as
                its text (JsonString), anything else as compact JSON (JsonValue)
    for line, values, fields in rows:   the same with every column (select(rows.names))
Only the selected columns must hold numbers; the others may hold any text.
Any malformed row raises RowError (a UsageError: exit 2) naming its line: a missing or extra
field or key, a value that is not a finite number, bad JSON, an empty or repeated column name.
"""

from __future__ import annotations

import csv
import json
import math
from collections.abc import Iterable, Iterator, Sequence
from itertools import chain
from operator import itemgetter
from typing import NamedTuple

from .errors import UsageError

Row = tuple[int, tuple[float, ...], list[str]]

_BOM = "\ufeff"


class RowError(UsageError):
    """A data row (or header) that cannot be read; `line` is its 1-based line number and
    `detail` the message without the line, for callers that name the file too."""

    kind = "row"

    def __init__(self, line: int, detail: str, *, hint: str | None = None) -> None:
        super().__init__(f"line {line}: {detail}", hint=hint)
        self.line = line
        self.detail = detail

    def naming(self, where: str) -> UsageError:
        """The same error naming the data too: "'points.csv', line 3: …"."""
        return UsageError(f"{where}, line {self.line}: {self.detail}", hint=self.hint)


def read_rows(lines: Iterable[str]) -> Rows:
    """Read up to the first row of data and tell the format; see the module's doc."""
    lines = iter(lines)
    skipped = 0
    for first in lines:
        if skipped == 0:
            first = first.removeprefix(_BOM)
        if first.strip():
            break
        skipped += 1
    else:
        raise RowError(
            skipped + 1,
            "the data is empty",
            hint="give a CSV header line of column names, or one JSON object per line",
        )
    start = first.lstrip()
    if start.startswith("{"):
        return _JsonRows(first, lines, skipped)
    if start.startswith("["):
        raise RowError(
            skipped + 1,
            "a JSON array: expected one JSON object per line (JSON Lines) or CSV",
        )
    return _CsvRows(first, lines, skipped)


class Rows:
    """Columns and rows of one data stream (made by read_rows)."""

    format: str
    names: tuple[str, ...]

    def select(self, columns: Sequence[str]) -> Iterator[Row]:
        raise NotImplementedError  # pragma: no cover

    def __iter__(self) -> Iterator[Row]:
        return self.select(self.names)

    def _indices(self, columns: Sequence[str]) -> list[int]:
        where = {name: i for i, name in enumerate(self.names)}
        missing = [name for name in columns if name not in where]
        if missing:
            raise UsageError(
                f"the data has no column {', '.join(missing)}",
                hint=f"its columns are: {', '.join(self.names)}",
            )
        return [where[name] for name in columns]


def _check_names(names: list[str], line: int) -> tuple[str, ...]:
    seen: set[str] = set()
    for position, name in enumerate(names, 1):
        if not name:
            raise RowError(line, f"column {position} of the header has no name")
        if name in seen:
            raise RowError(line, f"the column name {name} appears twice in the header")
        seen.add(name)
    return tuple(names)


def _number_problem(line: int, name: str, text: str) -> RowError:
    try:
        huge = math.isinf(float(text)) and "inf" not in text.lower()
    except ValueError:
        huge = False
    shown = _shortened(text.strip())
    if huge:
        return RowError(line, f"{name} = {shown} is too large for a double")
    return RowError(line, f"{name} = {shown!r} is not a finite number")


class _CsvRows(Rows):
    format = "csv"

    def __init__(self, first: str, lines: Iterator[str], skipped: int) -> None:
        self._reader = csv.reader(chain((first,), lines))
        self._offset = skipped  # blank lines before the header, which the reader never saw
        header = next(self._reader)
        self.names = _check_names([name.strip() for name in header], skipped + 1)

    def select(self, columns: Sequence[str]) -> Iterator[Row]:
        indices = self._indices(columns)
        width = len(self.names)
        reader, offset = self._reader, self._offset
        every = indices == list(range(width))
        pick = itemgetter(*indices) if len(indices) > 1 else None
        isfinite = math.isfinite
        start = reader.line_num + offset  # the line before the next row
        try:
            for fields in reader:
                line = start + 1
                start = reader.line_num + offset
                try:
                    if len(fields) != width:
                        raise ValueError
                    if every:
                        values = tuple(map(float, fields))
                    elif pick is not None:
                        values = tuple(map(float, pick(fields)))
                    else:
                        values = (float(fields[indices[0]]),) if indices else ()
                    if not isfinite(sum(values)):  # rare: which field (or did the sum overflow)
                        self._check_finite(values, indices, fields, line)
                except ValueError:
                    if not fields or (len(fields) == 1 and not fields[0].strip()):
                        continue  # a blank line (or of spaces): no row at all
                    raise self._problem(fields, indices, line) from None
                yield line, values, fields
        except csv.Error as error:  # a field over csv's size limit
            raise RowError(reader.line_num + offset, f"not valid CSV: {error}") from None

    def _problem(self, fields: list[str], indices: list[int], line: int) -> RowError:
        width = len(self.names)
        if len(fields) != width:
            which = "missing" if len(fields) < width else "extra"
            hint = f"the columns are: {', '.join(self.names)}"
            if any("\n" in field for field in fields):
                hint = 'a quoted field runs over more than one line: is a closing " missing?'
            return RowError(
                line,
                f"{len(fields)} field{'s' * (len(fields) != 1)} where the header has "
                f"{width} ({which} field)",
                hint=hint,
            )
        for i in indices:
            try:
                float(fields[i])
            except ValueError:
                return _number_problem(line, self.names[i], fields[i])
        raise AssertionError("no malformed field found")  # pragma: no cover

    def _check_finite(self, values, indices, fields, line) -> None:
        for value, i in zip(values, indices):
            if not math.isfinite(value):
                raise _number_problem(line, self.names[i], fields[i])


class JsonNumber(str):
    """A JSON number's text as written (json's parse_int/parse_float hook)."""


class JsonString(str):
    """A JSON string's text."""


class JsonValue(str):
    """An array, object, true, false or null, as compact JSON."""


def _refuse_constant(text: str):
    raise ValueError(f"{text} is not a finite number")


def _object(pairs: list[tuple[str, object]]) -> dict:
    row = dict(pairs)
    if len(row) != len(pairs):
        seen: set[str] = set()
        twice = next(key for key, _ in pairs if key in seen or seen.add(key))
        raise ValueError(f"the key {twice} appears twice")
    return row


# one decoder for every line: json.loads with hooks would build a new one per call
_DECODER = json.JSONDecoder(
    parse_int=JsonNumber,
    parse_float=JsonNumber,
    parse_constant=_refuse_constant,
    object_pairs_hook=_object,
)


def _decode(text: str, line: int):
    try:
        return _DECODER.decode(text)
    except ValueError as error:  # JSONDecodeError is a ValueError
        detail = error.msg if isinstance(error, json.JSONDecodeError) else str(error)
        raise RowError(line, f"not valid JSON: {_shortened(detail)}") from None
    except RecursionError:  # json's decoder recurses into arrays and objects
        raise RowError(line, "not valid JSON here: arrays or objects nested too deeply") from None


def _shortened(text: str, most: int = 80) -> str:
    return text if len(text) <= most else text[: most - 1] + "…"


def _text(value) -> str:
    """A JSON value's text for --keep (see the module's doc)."""
    if isinstance(value, JsonNumber):
        return value
    if isinstance(value, str):
        return JsonString(value)
    return JsonValue(_compact(value))


def _compact(value) -> str:
    """Compact JSON of a decoded array or object (or true, false, null), its numbers as they
    were written. Iterative: nesting is bounded only by what the decoder took."""
    out: list[str] = []
    stack: list = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, _Raw):
            out.append(item.text)
        elif isinstance(item, JsonNumber):
            out.append(item)
        elif isinstance(item, str):
            out.append(json.dumps(item))
        elif isinstance(item, dict):
            parts: list = [_Raw("{")]
            for i, (key, element) in enumerate(item.items()):
                parts += [_Raw(("," if i else "") + json.dumps(key) + ":"), element]
            stack.extend(reversed([*parts, _Raw("}")]))
        elif isinstance(item, list):
            parts = [_Raw("[")]
            for i, element in enumerate(item):
                parts += [_Raw(",")] if i else []
                parts.append(element)
            stack.extend(reversed([*parts, _Raw("]")]))
        else:
            out.append(json.dumps(item))  # true, false, null
    return "".join(out)


class _Raw(NamedTuple):
    text: str


class _JsonRows(Rows):
    format = "jsonl"

    def __init__(self, first: str, lines: Iterator[str], skipped: int) -> None:
        self._first = _decode(first, skipped + 1)
        if not isinstance(self._first, dict):
            raise RowError(skipped + 1, "expected a JSON object of name: number")
        self._lines = lines
        self._line = skipped + 1
        self.names = _check_names(list(self._first), self._line)

    def select(self, columns: Sequence[str]) -> Iterator[Row]:
        indices = self._indices(columns)
        names = self.names
        keys = set(names)
        row, line = self._first, self._line
        lines = self._lines
        while True:
            if row is not None:
                if not isinstance(row, dict):
                    raise RowError(line, "expected a JSON object of name: number")
                if row.keys() != keys:
                    raise self._keys_problem(row, line)
                fields = [row[name] for name in names]
                values = []
                for i in indices:
                    value = fields[i]
                    if not isinstance(value, JsonNumber):
                        shown = _shortened(_compact(value))
                        raise RowError(line, f"{names[i]} = {shown} is not a number")
                    number = float(value)
                    if not math.isfinite(number):
                        raise _number_problem(line, names[i], value)
                    values.append(number)
                yield line, tuple(values), [_text(value) for value in fields]
            text = next(lines, None)
            if text is None:
                return
            line += 1
            row = _decode(text, line) if text.strip() else None

    def _keys_problem(self, row: dict, line: int) -> RowError:
        missing = [name for name in self.names if name not in row]
        extra = [name for name in row if name not in self.names]
        parts = []
        if missing:
            parts.append(f"no {', '.join(missing)}")
        if extra:
            parts.append(f"an extra {', '.join(extra)}")
        return RowError(
            line,
            f"the object has {' and '.join(parts)}",
            hint=f"every line has the keys of the first: {', '.join(self.names)}",
        )
