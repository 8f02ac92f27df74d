"""`grad eval EXPR --at FILE`: the installed command evaluating a formula at every row of a CSV
or JSON Lines file, checked against its own single-point `grad eval --json` (the engine's
reference path) and against hand-worked numbers."""

from __future__ import annotations

import csv
import io
import math
import os
import re
import shlex
import signal
import subprocess
import tracemalloc
from pathlib import Path

import pytest
from conftest import default_sigint, grad_executable, strict_json

NEURON = "sigmoid(w0*x0 + w1*x1 + w2)"
WEIGHTS = ["w0=2", "w1=-3", "w2=-3"]
POINTS = "x0,x1\n-1,-2\n0.5,3\n1e-3,-7.25\n"


def read_csv(text: str) -> list[dict]:
    return list(csv.DictReader(io.StringIO(text)))


def single_point(grad, formula: str, bindings: list[str]) -> dict:
    result = grad("eval", formula, *bindings, "--json")
    assert result.returncode == 0, result.stderr
    return strict_json(result.stdout)


def assert_usage_error(result, *words):
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith("error: ")
    for word in words:
        assert word in result.stderr


def test_csv_rows_match_single_point_evaluations_exactly(grad, tmp_path):
    (tmp_path / "points.csv").write_text(POINTS)
    result = grad("eval", NEURON, *WEIGHTS, "--at", "points.csv")
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""
    header = result.stdout.splitlines()[0]
    assert header == "value,grad_w0,grad_x0,grad_w1,grad_x1,grad_w2,error"
    rows = read_csv(result.stdout)
    assert len(rows) == 3
    for row, (x0, x1) in zip(rows, [("-1", "-2"), ("0.5", "3"), ("1e-3", "-7.25")]):
        reference = single_point(grad, NEURON, [*WEIGHTS, f"x0={x0}", f"x1={x1}"])
        assert float(row["value"]) == reference["value"]  # exact: repr reads back the same
        for name, g in reference["gradient"].items():
            assert float(row[f"grad_{name}"]) == g
        assert row["error"] == ""


def test_the_lecture_neuron_by_hand(grad, tmp_path):
    (tmp_path / "p.csv").write_text("x0,x1\n-1,-2\n")
    rows = read_csv(grad("eval", NEURON, *WEIGHTS, "--at", "p.csv").stdout)
    s = 1 / (1 + math.exp(-(2 * -1 + -3 * -2 + -3)))
    ds = s * (1 - s)
    assert float(rows[0]["value"]) == pytest.approx(s, rel=1e-15)
    assert float(rows[0]["grad_w0"]) == pytest.approx(ds * -1, rel=1e-15)
    assert float(rows[0]["grad_x1"]) == pytest.approx(ds * -3, rel=1e-15)
    assert float(rows[0]["grad_w2"]) == pytest.approx(ds, rel=1e-15)


def test_json_lines_in_and_out_parse_strictly(grad, tmp_path):
    (tmp_path / "p.jsonl").write_text('{"x": 3, "y": -1.5}\n\n{"y": 2, "x": 0.25}\n')
    result = grad("eval", "x * y + x^2", "--at", "p.jsonl", "--json")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert [strict_json(line) for line in lines] == [
        {"value": 4.5, "gradient": {"x": 4.5, "y": 3.0}},
        {"value": 0.5625, "gradient": {"x": 2.5, "y": 0.25}},
    ]


def test_keep_repeats_the_rows_own_columns(grad, tmp_path):
    (tmp_path / "p.csv").write_text('id,x,note\nfirst,2,"a, b"\nsecond,-1,c\n')
    result = grad("eval", "x^2", "--at", "p.csv", "--keep")
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines()[0] == "id,x,note,value,grad_x,error"
    assert read_csv(result.stdout) == [
        {"id": "first", "x": "2", "note": "a, b", "value": "4.0", "grad_x": "4.0", "error": ""},
        {"id": "second", "x": "-1", "note": "c", "value": "1.0", "grad_x": "-2.0", "error": ""},
    ]
    result = grad("eval", "x^2", "--at", "p.csv", "--keep", "--json")
    first = strict_json(result.stdout.splitlines()[0])
    assert first == {
        "value": 4.0,
        "gradient": {"x": 4.0},
        "row": {"id": "first", "x": 2.0, "note": "a, b"},
    }


def test_keep_refuses_a_column_named_like_an_output(grad, tmp_path):
    (tmp_path / "p.csv").write_text("x,value\n1,2\n")
    assert_usage_error(grad("eval", "x", "--at", "p.csv", "--keep"), "value")
    assert grad("eval", "x", "--at", "p.csv").returncode == 0  # without --keep it is ignored
    kept = grad("eval", "x", "--at", "p.csv", "--keep", "--json")  # JSON keeps it under "row"
    assert kept.returncode == 0, kept.stderr
    assert strict_json(kept.stdout)["row"] == {"x": 1, "value": 2}


def test_keep_writes_the_data_as_it_was(grad, tmp_path):
    # CSV text stays text unless it is a JSON number as it stands: an ID keeps its digits
    (tmp_path / "p.csv").write_text("x,id\n1,007\n2,12345678901234567890\n3,1_000\n4,-2.50\n")
    lines = grad("eval", "x", "--at", "p.csv", "--keep", "--json").stdout.splitlines()
    assert [line[line.index('"id"') :] for line in lines] == [
        '"id":"007"}}',
        '"id":12345678901234567890}}',
        '"id":"1_000"}}',
        '"id":-2.50}}',
    ]
    # JSON Lines: every value as it was, its type kept
    row = '{"x": 1, "s": "42", "z": [1, 2.50, {"a": null}], "n": 1.0e2}'
    (tmp_path / "p.jsonl").write_text(row + "\n")
    out = grad("eval", "x", "--at", "p.jsonl", "--keep", "--json").stdout
    assert out.endswith(',"row":{"x":1,"s":"42","z":[1,2.50,{"a":null}],"n":1.0e2}}\n')
    # the text of the data, whatever the locale: UTF-8, never transliterated
    (tmp_path / "u.csv").write_text("x,name\n1,café\n2,日本\n", encoding="utf-8")
    for env in ({"LC_ALL": "C", "LANG": "C"}, {"PYTHONIOENCODING": "ascii"}):
        for extra in ([], ["--json"]):
            result = subprocess.run(
                [grad_executable(), "eval", "x", "--at", "u.csv", "--keep", *extra],
                capture_output=True,
                cwd=tmp_path,
                env={**os.environ, **env},
                timeout=60,
            )
            assert result.returncode == 0, result.stderr
            assert "café".encode() in result.stdout and "日本".encode() in result.stdout


def test_wrt_limits_the_gradient_columns_in_its_order(grad, tmp_path):
    (tmp_path / "p.csv").write_text(POINTS)
    result = grad("eval", NEURON, *WEIGHTS, "--at", "p.csv", "--wrt", "w2,w0")
    rows = read_csv(result.stdout)
    assert list(rows[0]) == ["value", "grad_w2", "grad_w0", "error"]
    reference = single_point(grad, NEURON, [*WEIGHTS, "x0=0.5", "x1=3"])
    assert float(rows[1]["grad_w2"]) == reference["gradient"]["w2"]
    assert float(rows[1]["grad_w0"]) == reference["gradient"]["w0"]
    assert_usage_error(grad("eval", NEURON, *WEIGHTS, "--at", "p.csv", "--wrt", "v"), "v")


def test_digits_rounds_only_when_asked(grad, tmp_path):
    (tmp_path / "p.csv").write_text("x\n3\n")
    exact = read_csv(grad("eval", "1/x", "--at", "p.csv").stdout)[0]
    assert exact["value"] == repr(1 / 3)
    short = read_csv(grad("eval", "1/x", "--at", "p.csv", "--digits", "3").stdout)[0]
    assert short["value"] == "0.333" and short["grad_x"] == "-0.111"
    line = grad("eval", "1/x", "--at", "p.csv", "--digits", "3", "--json").stdout
    assert strict_json(line) == {"value": 0.333, "gradient": {"x": -0.111}}


def test_a_row_outside_the_domain_gets_its_error_and_the_run_goes_on(grad, tmp_path):
    (tmp_path / "p.csv").write_text("x\n1\n-1\n2\n0\n")
    result = grad("eval", "log(x)", "--at", "p.csv")
    assert result.returncode == 1
    rows = read_csv(result.stdout)
    assert [r["value"] for r in rows] == ["0.0", "", repr(math.log(2)), ""]
    assert rows[1]["grad_x"] == "" and "log(-1) is undefined" in rows[1]["error"]
    assert "log(0) is undefined" in rows[3]["error"]
    assert rows[2]["grad_x"] == "0.5" and rows[2]["error"] == ""
    assert "2 of 4 rows could not be evaluated" in result.stderr
    single = grad("eval", "log(x)", "x=-1")
    assert rows[1]["error"] in single.stderr  # the same message as at one point
    result = grad("eval", "log(x)", "--at", "p.csv", "--json")
    assert result.returncode == 1
    failed = strict_json(result.stdout.splitlines()[1])
    assert failed["value"] is None and failed["gradient"] is None
    assert failed["error"] == rows[1]["error"]


def test_an_undefined_gradient_is_nan_in_csv_and_null_in_json(grad, tmp_path):
    (tmp_path / "p.csv").write_text("x,n\n-2,2\n")
    row = read_csv(grad("eval", "x ^ n", "--at", "p.csv").stdout)[0]
    assert row["grad_x"] == "-4.0" and row["grad_n"] == "nan"
    line = grad("eval", "x ^ n", "--at", "p.csv", "--json").stdout
    assert strict_json(line)["gradient"] == {"x": -4.0, "n": None}


@pytest.mark.parametrize(
    "text, words",
    [
        ("x,y\n1,2\n3\n", "p.csv', line 3: 1 field where the header has 2"),
        ("x,y\n1,2\n\n3,four\n", "p.csv', line 4: y = 'four' is not a finite number"),
        ('{"x": 1, "y": 2}\n{"x": 1}\n', "p.csv', line 2: the object has no y"),
        ('{"x": 1, "y": 2}\n{"x": 1, "y": 2\n', "p.csv', line 2: not valid JSON"),
        ("", "p.csv', line 1: the data is empty"),
    ],
)
def test_a_malformed_row_is_a_usage_error_naming_its_line(grad, tmp_path, text, words):
    (tmp_path / "p.csv").write_text(text)
    result = grad("eval", "x * y", "--at", "p.csv", "-o", "out.csv")
    assert_usage_error(result, words)
    assert not (tmp_path / "out.csv").exists()  # nothing half-written


def test_bindings_give_the_inputs_that_do_not_vary_and_win_over_a_column(grad, tmp_path):
    (tmp_path / "p.csv").write_text("x,y,label\n1,2,a\n3,4,b\n")
    result = grad("eval", "x * y", "y=10", "--at", "p.csv")
    assert result.returncode == 0
    assert [r["value"] for r in read_csv(result.stdout)] == ["10.0", "30.0"]
    assert "y=10 is used for every row" in result.stderr
    missing = grad("eval", "x * z", "--at", "p.csv")
    assert_usage_error(missing, "no value for z", "x, y, label")


def test_stdin_and_output_to_a_file_and_through_a_symlink(grad, tmp_path):
    result = grad("eval", "2*x", "--at", "-", "-o", "out.csv", input="x\n1.5\n")
    assert result.returncode == 0 and result.stdout == ""
    assert (tmp_path / "out.csv").read_text() == "value,grad_x,error\n3.0,2.0,\n"
    assert "wrote 1 row to out.csv" in result.stderr
    (tmp_path / "real.csv").write_text("old")
    os.symlink("real.csv", tmp_path / "link.csv")
    result = grad("eval", "2*x", "--at", "-", "-o", "link.csv", input="x\n4\n")
    assert result.returncode == 0, result.stderr
    assert os.path.islink(tmp_path / "link.csv")
    assert (tmp_path / "real.csv").read_text() == "value,grad_x,error\n8.0,2.0,\n"
    result = grad("eval", "2*x", "--at", "-", "-o", "-", input="x\n4\n")
    assert result.stdout == "value,grad_x,error\n8.0,2.0,\n"


def test_options_that_do_not_go_with_at(grad, tmp_path):
    (tmp_path / "p.csv").write_text("x\n1\n")
    assert_usage_error(grad("eval", "x", "--at", "p.csv", "--check"), "--check", "--at")
    assert_usage_error(grad("eval", "x", "--at", "p.csv", "--hessian"), "--hessian", "--at")
    assert_usage_error(grad("eval", "x", "--at", "p.csv", "--format", "dot"), "--format dot")
    assert_usage_error(grad("eval", "x", "x=1", "-o", "out.csv"), "-o goes with --at")
    assert_usage_error(grad("eval", "-", "--at", "-", input="x\n"), "both come from standard")
    assert_usage_error(grad("eval", "-f", "-", "--at", "-", input="x\n"), "both come from standard")
    assert_usage_error(grad("eval", "x", "--at", "missing.csv"), "cannot read 'missing.csv'")
    assert_usage_error(grad("eval", "x", "--at", "/dev/zero"), "line 1 is longer")
    assert_usage_error(grad("eval", "x", "--at", "p.csv", "-o", "/dev/full"), "/dev/full")


def test_the_rows_before_a_malformed_row_are_written_to_standard_output(grad, tmp_path):
    for good in (2, 4999):
        (tmp_path / "p.csv").write_text("x\n" + "1\n" * good + "abc\n")
        result = grad("eval", "2*x", "--at", "p.csv")
        assert_usage_error(result, f"line {good + 2}: x = 'abc'")
        assert result.stdout == "value,grad_x,error\n" + "2.0,2.0,\n" * good


def test_ctrl_c_leaves_whole_lines_on_a_pipe(tmp_path):
    data = tmp_path / "p.csv"
    data.write_text("x0,x1\n" + "".join(f"{i * 1e-3!r},{-i * 7e-4!r}\n" for i in range(300_000)))
    process = subprocess.Popen(
        [grad_executable(), "eval", "x0*x1", "--at", str(data), "--json"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        preexec_fn=default_sigint,
    )
    received = process.stdout.read(200_000)  # the run is under way, the pipe then fills
    process.send_signal(signal.SIGINT)
    received += process.stdout.read()
    process.wait(timeout=60)
    lines = received.decode().split("\n")
    assert lines[-1] == ""  # the output ends at the end of a line
    for line in lines[:-1]:
        strict_json(line)
    assert process.returncode in (0, 130)


def test_a_reader_that_leaves_early_ends_the_run_quietly(tmp_path):
    data = tmp_path / "p.csv"
    data.write_text("x\n" + "1.5\n" * 200_000)
    command = [grad_executable(), "eval", "x*x", "--at", str(data)]
    shell = subprocess.run(
        f"{' '.join(command)} | head -n 2",
        shell=True,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert shell.stdout == "value,grad_x,error\n2.25,3.0,\n"
    assert shell.stderr == ""


def test_the_readme_example_prints_what_the_readme_shows(grad, tmp_path):
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    section = readme[readme.index("### Many points: `grad eval --at FILE`") :]
    command, data, shown = re.findall(r"```(?:sh)?\n(.*?)```", section, re.S)[:3]
    (tmp_path / "points.csv").write_text(data)
    args = shlex.split(command.splitlines()[0])
    assert args[0] == "grad"
    result = grad(*args[1:])
    assert result.returncode == 0, result.stderr
    assert result.stdout == shown


def test_data_that_cannot_be_read(grad, tmp_path):
    (tmp_path / "p.csv").write_bytes(b"x\n1\n\xff\n")
    assert_usage_error(grad("eval", "x", "--at", "p.csv"), "'p.csv': not a text file")
    assert_usage_error(grad("eval", "x", "--at", "."), "cannot read '.'")
    closed = subprocess.run(
        [grad_executable(), "eval", "x", "--at", "-"],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert_usage_error(closed, "standard input, line 1: the data is empty")


def test_rows_stream_through_evaluation_and_output(tmp_path):
    """Memory does not grow with rows: 6 times the rows (past the first chunks), the same peak."""
    from gradcli.core.engine import Tape
    from gradcli.core.pointwise import evaluate_rows
    from gradcli.core.rows import read_rows
    from gradcli.core.syntax import parse
    from gradcli.output.rows_out import csv_chunks

    tape = Tape(parse(NEURON))
    point = {"w0": 2.0, "w1": -3.0, "w2": -3.0, "x0": 0.0, "x1": 0.0}
    names = list(tape.graph.inputs)

    def peak(count: int) -> int:
        lines = ("x0,x1\n", *(f"{i % 97 * 0.01!r},{i % 89 * -0.1!r}\n" for i in range(count)))
        tracemalloc.start()
        try:
            results = evaluate_rows(tape, point, ["x0", "x1"], names, read_rows(iter(lines)))
            written = sum(map(len, csv_chunks(results, names, None)))
            assert results.count == count and written > count * 20
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()

    peak(1_000)  # what is allocated once (the compiled sweeps, csv's state) is not counted
    assert peak(24_000) < peak(4_000) + 50_000  # bytes; 20,000 more results take megabytes


def test_points_the_generated_code_leaves_to_the_tape(grad, tmp_path):
    """sqrt'(0) is infinite (the generated sweeps give up there, the tape answers), and a
    formula past compiled.MAX_NODES runs on the tape at every row."""
    (tmp_path / "p.csv").write_text("x\n0\n4\n")
    result = grad("eval", "sqrt(x)", "--at", "p.csv")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "value,grad_x,error\n0.0,inf,\n2.0,0.25,\n"
    terms = 10_001  # x*1 + x*2 + … : 20,001 operations
    (tmp_path / "big.grad").write_text(" + ".join(f"x*{k}" for k in range(1, terms + 1)))
    result = grad("eval", "-f", "big.grad", "--at", "p.csv")
    total = terms * (terms + 1) // 2
    assert result.stdout == f"value,grad_x,error\n0.0,{total}.0,\n{4 * total}.0,{total}.0,\n"


def test_rows_typed_on_a_terminal_are_answered_one_by_one(tmp_path):
    pexpect = pytest.importorskip("pexpect")
    child = pexpect.spawn(
        grad_executable(),
        ["eval", "2*x", "--at", "-"],
        cwd=str(tmp_path),
        env={**os.environ, "NO_COLOR": "1"},
        encoding="utf-8",
        timeout=20,
    )
    child.sendline("x")
    child.expect_exact("value,grad_x,error")
    child.sendline("3")
    child.expect_exact("6.0,2.0,")  # before the input ends
    child.sendline("-0.5")
    child.expect_exact("-1.0,2.0,")
    child.sendeof()
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
