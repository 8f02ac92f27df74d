"""The one reader of data rows (gradcli/core/rows.py): formats, line numbers, raw fields,
errors that name the line, and streaming (memory does not grow with the number of rows)."""

from __future__ import annotations

import io
import tracemalloc

import pytest

from gradcli.core.errors import ExitCode, UsageError
from gradcli.core.rows import JsonNumber, JsonString, JsonValue, RowError, read_rows


def rows_of(text: str, columns=None):
    rows = read_rows(io.StringIO(text))
    return list(rows if columns is None else rows.select(columns))


def error_of(text: str, columns=None) -> RowError:
    with pytest.raises(RowError) as caught:
        rows_of(text, columns)
    return caught.value


def test_csv_header_names_rows_as_floats_with_line_numbers():
    rows = read_rows(io.StringIO("x, y ,z\n-2,5,-4\n0.1,1e-3,7\n"))
    assert rows.format == "csv"
    assert rows.names == ("x", "y", "z")
    assert list(rows) == [
        (2, (-2.0, 5.0, -4.0), ["-2", "5", "-4"]),
        (3, (0.1, 0.001, 7.0), ["0.1", "1e-3", "7"]),
    ]


def test_blank_lines_bom_crlf_and_quoting():
    text = '\ufeff\n"x","y, the second"\r\n\r\n"1",  2 \r\n\n3,4\r\n'
    rows = read_rows(io.StringIO(text, newline=""))
    assert rows.names == ("x", "y, the second")
    assert [(line, values) for line, values, _ in rows] == [(4, (1.0, 2.0)), (6, (3.0, 4.0))]


def test_select_picks_columns_in_the_asked_order_and_only_they_must_be_numbers():
    text = "id,x,label,y\nfirst,1,cat,2\nsecond,3,dog,4\n"
    assert rows_of(text, ["y", "x"]) == [
        (2, (2.0, 1.0), ["first", "1", "cat", "2"]),
        (3, (4.0, 3.0), ["second", "3", "dog", "4"]),
    ]
    assert rows_of(text, ["x"])[0][1] == (1.0,)
    assert rows_of(text, [])[1][1] == ()
    with pytest.raises(UsageError, match="no column z"):
        rows_of(text, ["x", "z"])


def test_a_quoted_field_over_two_lines_keeps_the_line_the_row_starts_on():
    rows = rows_of('note,x\n"two\nlines",1\nthird,2\n', ["x"])
    assert [(line, values) for line, values, _ in rows] == [(2, (1.0,)), (4, (2.0,))]


def test_json_lines_keys_of_the_first_object_in_order_and_raw_numbers():
    text = '{"b": 2.50, "a": -1}\n\n{"a": 1e3, "b": 0}\n'
    rows = read_rows(io.StringIO(text))
    assert rows.format == "jsonl"
    assert rows.names == ("b", "a")
    assert list(rows) == [(1, (2.5, -1.0), ["2.50", "-1"]), (3, (0.0, 1000.0), ["0", "1e3"])]


def test_json_lines_other_keys_may_hold_anything():
    text = '{"x": 1, "name": "a, b", "tags": [1, 2.50, {"k": null, "q": "\\"x"}], "ok": true}\n'
    [(line, values, fields)] = rows_of(text, ["x"])
    assert fields == ["1", "a, b", '[1,2.50,{"k":null,"q":"\\"x"}]', "true"]  # numbers as written
    assert [type(f) for f in fields] == [JsonNumber, JsonString, JsonValue, JsonValue]


def test_json_nested_as_deep_as_the_decoder_takes_is_kept_and_deeper_is_an_error():
    deep = "[" * 500 + "]" * 500
    [(_, _, fields)] = rows_of('{"x": 1, "z": ' + deep + "}\n", ["x"])
    assert fields[1] == deep
    error = error_of('{"x": 1}\n{"x": 1, "z": ' + "[" * 100_000 + "]" * 100_000 + "}\n")
    assert error.line == 2 and "nested too deeply" in error.detail


def test_a_very_long_number_is_shortened_in_the_message():
    error = error_of('{"x": 1}\n{"x": 1' + "0" * 100_000 + "}\n")
    assert "too large for a double" in error.detail and len(error.message) < 200


def test_a_row_of_empty_fields_is_a_row_not_a_blank_line():
    error = error_of("x,y\n1,2\n,\n3,4\n")
    assert error.line == 3 and "x = '' is not a finite number" in error.detail
    assert rows_of("x,y\n1,2\n\n  \n3,4\n") == [
        (2, (1.0, 2.0), ["1", "2"]),
        (5, (3.0, 4.0), ["3", "4"]),
    ]


def test_an_unclosed_quote_is_named_in_the_hint():
    error = error_of('x,y\n1,2\n"3,4\n5,6\n')
    assert error.line == 3 and 'closing " missing' in error.hint


@pytest.mark.parametrize(
    "text, line, words",
    [
        ("x,y\n1,2\n3\n", 3, "1 field where the header has 2 (missing field)"),
        ("x,y\n1,2\n\n3,4,5\n", 4, "3 fields where the header has 2 (extra field)"),
        ("x,y\n1,2\n3,four\n", 3, "y = 'four' is not a finite number"),
        ("x,y\n1,\n", 2, "y = '' is not a finite number"),
        ("x\nnan\n", 2, "x = 'nan' is not a finite number"),
        ("x\n-inf\n", 2, "x = '-inf' is not a finite number"),
        ("x\n1e999\n", 2, "x = 1e999 is too large for a double"),
        ("x,x\n1,2\n", 1, "the column name x appears twice"),
        ("\nx,,y\n", 2, "column 2 of the header has no name"),
        ("x,y\n1,2\n3," + "4" * 200_000 + "\n", 3, "not valid CSV: field larger"),
        ("", 1, "the data is empty"),
        ("\n \n", 3, "the data is empty"),
        ("[1, 2]\n", 1, "a JSON array"),
        ('{"x": 1}\n{"x": 2\n', 2, "not valid JSON"),
        ('{"x": 1}\n{"x": 1, "x": 2}\n', 2, "the key x appears twice"),
        ('{"x": 1}\n{"y": 1}\n', 2, "the object has no x and an extra y"),
        ('{"x": 1, "y": 2}\n{"x": 1}\n', 2, "the object has no y"),
        ('{"x": 1}\n{"x": "1"}\n', 2, 'x = "1" is not a number'),
        ('{"x": 1}\n{"x": true}\n', 2, "x = true is not a number"),
        ('{"x": 1}\n{"x": null}\n', 2, "x = null is not a number"),
        ('{"x": 1}\n{"x": NaN}\n', 2, "not valid JSON: NaN is not a finite number"),
        ('{"x": 1}\n{"x": 1e400}\n', 2, "x = 1e400 is too large for a double"),
        ('{"x": 1}\n[1]\n', 2, "expected a JSON object"),
        ('{"": 1}\n', 1, "column 1 of the header has no name"),
    ],
)
def test_malformed_rows_name_their_line(text, line, words):
    error = error_of(text)
    assert error.line == line
    assert words in error.detail
    assert error.message == f"line {line}: {error.detail}"
    assert isinstance(error, UsageError) and error.exit_code == ExitCode.USAGE


def test_a_text_column_that_is_not_selected_is_no_error():
    assert rows_of("x,note\n1,hello\n", ["x"])[0][1] == (1.0,)
    assert error_of("x,note\n1,hello\n").line == 2


def test_finite_values_whose_sum_overflows_are_fine():
    assert rows_of("a,b\n1e308,1e308\n")[0][1] == (1e308, 1e308)


def test_rows_stream_memory_does_not_grow_with_rows():
    def lines(count):
        yield "x0,x1,label\n"
        for i in range(count):
            yield f"{i * 0.5},{-i},{i % 2}\n"

    def peak(count):
        tracemalloc.start()
        try:
            total = 0
            for _, values, _ in read_rows(lines(count)).select(["x0", "x1"]):
                total += 1
            return tracemalloc.get_traced_memory()[1], total
        finally:
            tracemalloc.stop()

    small, _ = peak(1_000)
    large, seen = peak(100_000)
    assert seen == 100_000
    assert large < small + 20_000  # bytes: a list of the rows would take megabytes
