"""The results of `grad eval --at FILE`, one line per data row, as CSV or JSON Lines.

CSV: a header `[the row's own columns with --keep,] value, grad_<name> …, error`, then one
line per row; a failed row has empty value and gradients and the message in `error` (always
the last column, empty for a row that worked). JSON Lines: one object per row,
{"value": v, "gradient": {name: g, …}} with, for --keep, "row": {column: field, …}, and for
a failed row "value" and "gradient" null and "error": the message. JSON is strict: a gradient
that is not finite (undefined at that point) is null.

A malformed row (RowError) ends the text: the rows before it are handed out first, then the
error is raised. Numbers are exact by default (repr: they read back as the same double); with `digits`, that
many significant digits. Lines are handed out in chunks, so a caller writes a few large
strings instead of a million small ones."""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from json.encoder import encode_basestring as _string  # json's own string escaping

from ..core.errors import UsageError
from ..core.rows import JsonNumber, JsonString, JsonValue, RowError

CHUNK = 2000  # rows per piece of text
_JSON_NUMBER = re.compile(r"-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?")


def number_format(digits: int | None) -> Callable[[float], str]:
    """repr (exact, round-trip), or `digits` significant digits."""
    if digits is None:
        return repr
    spec = f".{digits}g"
    return lambda value: format(value, spec)


def output_columns(names: Sequence[str], kept: Sequence[str]) -> list[str]:
    """The CSV header's names. Raises UsageError when a kept column would repeat one."""
    columns = [*kept, "value", *(f"grad_{n}" for n in names), "error"]
    seen: set[str] = set()
    for column in columns:
        if column in seen:
            raise UsageError(
                f"--keep: the data's column {column} has the name of an output column",
                hint="rename that column in the data, or leave out --keep",
            )
        seen.add(column)
    return columns


def csv_chunks(
    results: Iterable[tuple],
    names: Sequence[str],
    kept: Sequence[str] | None,
    digits=None,
    chunk: int = CHUNK,
) -> Iterator[str]:
    """The CSV text: the header, then `chunk` rows per piece. `results`: pointwise.EvaluatedRows'
    tuples; `kept`: the data's column names to repeat before the results (None: none)."""
    text = number_format(digits)
    empty = [""] * (1 + len(names))
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(output_columns(names, kept or ()))
    yield _take(buffer)
    if digits is None and kept is None:
        # the common case, as fast as it goes: numbers never need CSV quoting
        line = "%r," * (1 + len(names)) + "\n"  # value, gradients, an empty error
        rows: list[str] = []
        try:
            for _, value, gradient, error, _ in results:
                if error is None:
                    rows.append(line % (value, *gradient))
                else:
                    writer.writerow([*empty, error])
                    rows.append(_take(buffer))
                if len(rows) >= chunk:
                    yield "".join(rows)
                    rows.clear()
        except RowError:
            yield "".join(rows)  # the rows before a malformed one, then its error
            raise
        yield "".join(rows)
        return
    count = 0
    try:
        for _, value, gradient, error, fields in results:
            front = fields if kept is not None else ()
            if error is None:
                writer.writerow([*front, text(value), *map(text, gradient), ""])
            else:
                writer.writerow([*front, *empty, error])
            count += 1
            if count >= chunk:
                yield _take(buffer)
                count = 0
    except RowError:
        yield _take(buffer)
        raise
    yield _take(buffer)


def _take(buffer: io.StringIO) -> str:
    text = buffer.getvalue()
    buffer.seek(0)
    buffer.truncate()
    return text


def jsonl_chunks(
    results: Iterable[tuple],
    names: Sequence[str],
    kept: Sequence[str] | None,
    digits=None,
    chunk: int = CHUNK,
) -> Iterator[str]:
    """The JSON Lines text, `chunk` rows per piece."""
    text = number_format(digits)
    keys = [_string(n) for n in names]
    head = '{"value":%s,"gradient":{' + ",".join(f"{k}:%s" for k in keys) + "}"
    columns = [_string(n) for n in kept] if kept is not None else None
    isfinite = math.isfinite
    rows: list[str] = []
    try:
        for _, value, grads, error, fields in results:
            if error is None:
                if isfinite(sum(grads)):
                    line = head % (text(value), *map(text, grads))
                else:
                    line = head % (
                        text(value),
                        *[text(g) if isfinite(g) else "null" for g in grads],
                    )
            else:
                line = '{"value":null,"gradient":null'
            if columns is not None:
                line += ',"row":{' + ",".join(map(_field, columns, fields)) + "}"
            if error is not None:
                line += ',"error":' + _string(error)
            rows.append(line + "}\n")
            if len(rows) >= chunk:
                yield "".join(rows)
                rows.clear()
    except RowError:
        yield "".join(rows)  # the rows before a malformed one, then its error
        raise
    yield "".join(rows)


def _field(key: str, field: str) -> str:
    """A kept field as it was: from JSON Lines the value itself (a number as written, a
    string, an array …); from CSV a number where the text is a JSON number as it stands (so
    007, 1_000 and an ID of 20 digits keep their text), else a string."""
    if isinstance(field, (JsonNumber, JsonValue)) or (
        not isinstance(field, JsonString) and _JSON_NUMBER.fullmatch(field)
    ):
        return f"{key}:{field}"
    return f"{key}:{_string(field)}"
