"""`grad eval EXPR --at FILE`: the formula's value and gradient at every row of a data file
(core/rows.py reads it, core/pointwise.py evaluates, output/rows_out.py writes the results
through output/files.py)."""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from ..core.errors import ExitCode, UnboundInputError, UsageError
from ..core.rows import RowError


def run_at(
    read: Callable[[], str],
    given: dict[str, float],
    *,
    at: Path | None,
    output: Path | None,
    keep: bool,
    wrt: str | None,
    as_json: bool,
    fmt: str | None,
    digits: int | None,
    formula_from_stdin: bool,
    prepare: Callable,
    warn: Callable[[str], None],
    note: Callable[[str], None],
    **others: bool,
) -> int:
    """Evaluate the formula (`read` gives its text) at every row of `at`, write one result per
    row to `output` (standard output by default) and return the exit code: 1 when a row
    failed. `others`: grad eval's options that cannot go with --at, by name. `prepare` is the
    CLI's prepare_source (parse once, bind, warn about unused bindings). Raises
    GradcliError."""
    from ..core import pointwise
    from ..core.engine import number_text
    from ..core.request import split_names, wrt_names
    from ..core.rows import read_rows
    from ..output import rows_out
    from ..output.files import (
        STDIO,
        holding_interrupts,
        is_stdout,
        open_lines,
        open_output,
        writer,
    )

    _check_options(at, output, keep, fmt, others)
    if formula_from_stdin and os.fspath(at) == STDIO:
        raise UsageError("the formula and the data cannot both come from standard input")
    source = read()
    as_json = as_json or fmt == "json"
    where = "standard input" if os.fspath(at) == STDIO else repr(os.fspath(at))
    target = STDIO if output is None else output
    with open_lines(at) as lines, _naming_lines(where):
        rows = read_rows(lines)
        try:
            tape, point = prepare(source, given, columns=rows.names)
        except UnboundInputError as exc:
            exc.hint = (
                f"give each input a column in the data or a binding NAME=VALUE "
                f"(the data's columns: {', '.join(rows.names)})"
            )
            raise
        plan = pointwise.plan(tape, rows.names, given)
        for name in plan.overridden:
            warn(
                f"{name}={number_text(given[name])} is used for every row: the data's column {name} is ignored"
            )
        if not plan.varying:
            warn(
                "no column of the data is an input of the formula: every row gives the same result"
            )
        reported = wrt_names(tape.graph, split_names(wrt))
        kept = list(rows.names) if keep else None
        if not as_json:  # (in JSON the kept columns are under "row": no clash)
            rows_out.output_columns(reported, kept or ())  # a clash is said before any output
        results = pointwise.evaluate_rows(tape, point, plan.varying, reported, rows)
        # rows typed on a terminal are answered one by one, not a chunk at a time
        typed = os.fspath(at) == STDIO and sys.stdin.isatty()
        chunks = (rows_out.jsonl_chunks if as_json else rows_out.csv_chunks)(
            results, reported, kept, digits, chunk=1 if typed else rows_out.CHUNK
        )
        # UTF-8 whatever the locale: the data's own text (--keep) is written unchanged. A
        # malformed row raises after the rows before it: written out, or a file left as it was
        with open_output(target, binary=True) as out:
            write = writer(out, target)
            for chunk in chunks:
                with holding_interrupts(then_raise=True):  # Ctrl-C: the lines stay whole
                    write(chunk)
    if not is_stdout(target):
        note(f"wrote {results.count} row{'s' * (results.count != 1)} to {target}")
    if results.failed:
        warn(
            f"{results.failed} of {results.count} rows could not be evaluated "
            f"(the {'error key' if as_json else 'error column'} says why)"
        )
        return ExitCode.EVAL
    return ExitCode.OK


def _check_options(at, output, keep, fmt, others) -> None:
    if at is None:
        raise UsageError(
            f"{'-o' if output is not None else '--keep'} goes with --at FILE",
            hint="grad eval EXPR --at data.csv -o results.csv",
        )
    asked = [f"--{name}" for name, value in others.items() if value]
    if fmt not in (None, "json"):
        asked.append(f"--format {fmt}")
    if asked:
        raise UsageError(
            f"{' and '.join(asked)} cannot be used with --at",
            hint="--at writes a line of CSV per row (of JSON with --json)",
        )


@contextmanager
def _naming_lines(where: str) -> Iterator[None]:
    """Turns a RowError ("line 3: …") into a UsageError that names the data file too."""
    try:
        yield
    except RowError as error:
        raise error.naming(where) from None
