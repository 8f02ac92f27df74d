"""`grad descend --data FILE`, `grad example logistic` and the REPL's `:descend --data`, as a
user runs them: the installed command in a subprocess, outputs read by strict parsers, the
numbers compared with plain-Python gradient descent written here."""

from __future__ import annotations

import csv
import importlib.util
import io
import json
import math
import random
import re
import shlex
from pathlib import Path

import pytest
from conftest import strict_json
from test_training import reference_logistic

ROOT = Path(__file__).resolve().parent.parent
NEURON = "sigmoid(w0*x0 + w1*x1 + w2)"
LOGISTIC = ["--wrt", "w0,w1,w2", "--target-column", "y", "--loss", "logistic"]


def logistic_points(n: int = 120, seed: int = 14) -> str:
    """The rule that made gradcli/data/logistic.csv (`grad example logistic`): two classes of
    2-D points, alternating, around (-1, -0.6) and (1, 0.8) with unit spread."""
    rng = random.Random(seed)
    lines = ["x0,x1,y"]
    for i in range(n):
        y = i % 2
        cx, cy = (1.0, 0.8) if y else (-1.0, -0.6)
        lines.append(f"{rng.gauss(cx, 1.0):.2f},{rng.gauss(cy, 1.0):.2f},{y}")
    return "\n".join(lines) + "\n"


def rows_of(text: str) -> list[tuple[float, ...]]:
    return [tuple(map(float, row)) for row in list(csv.reader(io.StringIO(text)))[1:]]


@pytest.fixture
def points(tmp_path) -> Path:
    path = tmp_path / "points.csv"
    path.write_text(logistic_points())
    return path


def test_the_shipped_data_set_is_the_rule():
    assert (ROOT / "gradcli" / "data" / "logistic.csv").read_text() == logistic_points()


def test_logistic_regression_json_matches_plain_gradient_descent(grad, points):
    result = grad("descend", NEURON, "--data", str(points), *LOGISTIC, "--lr", "1", "--epochs", "60", "--json")  # fmt: skip
    assert result.returncode == 0, result.stderr
    document = strict_json(result.stdout)
    expected = reference_logistic(rows_of(points.read_text()), 1.0, 60)
    final = document["final"]
    assert [final["w0"], final["w1"], final["w2"]] == pytest.approx(expected, abs=1e-9)
    assert len(document["trace"]) == 61
    assert document["trace"][0]["value"] == pytest.approx(math.log(2), rel=1e-12)
    assert 0.8 < document["trace"][-1]["accuracy"] <= 1
    data = document["data"]
    assert (data["rows"], data["columns"], data["loss"], data["epochs"]) == (
        120, ["x0", "x1"], "logistic", 60
    )  # fmt: skip
    assert isinstance(data["epochs"], int)  # a count of epochs, not 60.0


def test_squared_error_table_and_csv(grad, tmp_path):
    rng = random.Random(5)
    rows = [
        (x, 2.0 * x + 1.0 + rng.gauss(0, 0.05)) for x in (rng.uniform(-1, 1) for _ in range(30))
    ]
    data = tmp_path / "line.jsonl"
    data.write_text("".join(json.dumps({"x": x, "t": t}) + "\n" for x, t in rows))
    out = tmp_path / "trace.csv"
    result = grad(
        "descend", "a*x + b", "b=0.5", "--data", str(data), "--wrt", "a,b",
        "--target-column", "t", "--steps", "40", "--csv", str(out),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "mean (f − t)² over" in result.stdout and "accuracy" not in result.stdout
    table = list(csv.DictReader(out.open()))
    assert len(table) == 41 and "accuracy" not in table[0]
    a, b = 0.0, 0.5  # a had no value: a parameter starts at 0
    for _ in range(40):
        ga = sum(2 * (a * x + b - t) * x for x, t in rows) / len(rows)
        gb = sum(2 * (a * x + b - t) for x, t in rows) / len(rows)
        a, b = a - 0.1 * ga, b - 0.1 * gb
    assert (float(table[-1]["a"]), float(table[-1]["b"])) == pytest.approx((a, b), abs=1e-9)


def test_minibatches_with_a_seed_are_reproducible(grad, points):
    def run(seed: str) -> dict:
        words = ["--batch", "16", "--epochs", "3", "--seed", seed, "--json"]
        result = grad("descend", NEURON, "--data", str(points), *LOGISTIC, *words)
        assert result.returncode == 0, result.stderr
        return strict_json(result.stdout)

    one, two, other = run("3"), run("3"), run("4")
    assert one == two
    assert one["final"] != other["final"]
    assert len(one["trace"]) == 3 * 8 + 1  # 120 rows in 8 batches of 16 (the last of 8)
    assert one["data"]["batch"] == 16 and one["data"]["batches_per_epoch"] == 8
    assert 0 < one["data"]["overall"]["loss"] < math.log(2)


def test_text_report_of_a_minibatch_run(grad, points):
    result = grad("descend", NEURON, "--data", str(points), *LOGISTIC, "--batch", "40", "--epochs", "20")  # fmt: skip
    assert result.returncode == 0, result.stderr
    words = " ".join(result.stdout.split())
    for shown in ("batch loss", "epoch", "accuracy", "on all rows", "in batches of 40"):
        assert shown in words
    steps = [
        line.split("│")[1].strip() for line in result.stdout.splitlines() if line.startswith("│")
    ]
    assert all(int(s) % 3 == 0 for s in steps if s.isdigit())  # whole epochs of 3 batches


@pytest.mark.parametrize(
    "content, words, message",
    [
        ("x0,x1,y\n1,2,0\n3,oops,1\n", LOGISTIC, "line 3: x1 = 'oops' is not a finite number"),
        ("x0,x1,y\n1,2,0\n3,4\n", LOGISTIC, "line 3: 2 fields where the header has 3"),
        ("x0,y\n1,0\n", LOGISTIC, "no value for x1"),
        ("x0,x1,y\n1,2,3\n", LOGISTIC, "--loss logistic needs targets in [0, 1]"),
        ("x0,x1,y\n1,2,0\n", ["--target-column", "y"], "--data needs --wrt"),
        ("x0,x1,y\n1,2,0\n", [*LOGISTIC, "--steps", "3", "--epochs", "2"], "do not go together"),
        ("x0,x1,y\n1,2,0\n", [*LOGISTIC, "--batch", "0"], "--batch must be 1 or more"),
        ("x0,x1,y\n1,2,0\n", [*LOGISTIC, "--optimizer", "newton"], "does not go with --data"),
    ],
)
def test_bad_data_or_options_are_usage_errors(grad, tmp_path, content, words, message):
    path = tmp_path / "bad.csv"
    path.write_text(content)
    result = grad("descend", NEURON, "--data", str(path), *words)
    assert result.returncode == 2, result.stderr
    assert message in result.stderr
    assert "Traceback" not in result.stderr and result.stdout == ""


def test_columns_the_run_does_not_read_may_hold_anything(grad, tmp_path):
    path = tmp_path / "named.csv"
    path.write_text("name,x0,x1,y,note\nfirst,1,2,1,ok\nsecond,-1,-2,0,\n")
    result = grad("descend", NEURON, "--data", str(path), *LOGISTIC, "--steps", "2", "--json")
    assert result.returncode == 0, result.stderr
    assert strict_json(result.stdout)["data"]["columns"] == ["x0", "x1"]


def test_formula_and_data_cannot_both_come_from_standard_input(grad):
    result = grad("descend", "-", "--data", "-", "--wrt", "w", input="w*x\n")
    assert result.returncode == 2 and "both read standard input" in result.stderr


def test_data_options_need_data(grad):
    result = grad("descend", "(x-1)^2", "x=0", "--target-column", "y")
    assert result.returncode == 2 and "--target-column goes with --data" in result.stderr


def test_a_row_outside_the_domain_is_named(grad, tmp_path):
    path = tmp_path / "d.csv"
    path.write_text("x,y\n1,0\n-5,0\n")
    result = grad("descend", "log(w + x)", "w=2", "--data", str(path), "--wrt", "w", "--target-column", "y")  # fmt: skip
    assert result.returncode == 1
    assert "row 2 of" in result.stderr and "(line 3)" in result.stderr
    assert "Traceback" not in result.stderr


def test_data_from_standard_input_and_a_plot(grad, points, tmp_path):
    picture = tmp_path / "run.png"
    result = grad(
        "descend", NEURON, "--data", "-", *LOGISTIC, "--steps", "20", "--plot", str(picture),
        input=points.read_text(),
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "over standard input" in result.stdout
    assert picture.read_bytes().startswith(b"\x89PNG")


def test_example_logistic_trains_the_neuron_in_one_command(grad):
    result = grad("example", "logistic", "--json")
    assert result.returncode == 0, result.stderr
    document = strict_json(result.stdout)
    expected = reference_logistic(rows_of(logistic_points()), 1.0, 100)
    assert list(document["final"].values()) == pytest.approx(expected, abs=1e-9)
    text = grad("example", "logistic")
    assert text.returncode == 0, text.stderr
    assert "grad descend 'w0 = 0; w1 = 0; w2 = 0; x0 = -1" in text.stdout and "88.3%" in text.stdout
    assert grad("example", "logistic", "--explain").returncode == 2


def test_an_undefined_gradient_on_a_row_is_named_as_undefined(grad, tmp_path):
    (tmp_path / "l1.csv").write_text("x,y\n1,0\n2,1\n3,0.5\n")
    result = grad("descend", "sqrt(a*a*x*x)", "a=0", "--data", "l1.csv", "--wrt", "a",
                  "--target-column", "y")  # fmt: skip
    assert result.returncode == 1
    assert "the gradient of f with respect to a is undefined at row 1 of l1.csv (line 2)" in (
        result.stderr
    )


def test_example_logistic_prints_the_command_of_its_own_run(grad):
    shown = grad("example", "logistic", "w0=1", "w1=-1")
    assert shown.returncode == 0, shown.stderr
    command = next(line for line in shown.stdout.splitlines() if line.startswith("grad descend"))
    words = shlex.split(command)
    assert words[3:5] == ["w0=1", "w1=-1"]
    again = grad(*words[1:])
    assert again.returncode == 0, again.stderr
    final = [line for line in shown.stdout.splitlines() if line.startswith("final point")]
    assert final and final == [
        line for line in again.stdout.splitlines() if line.startswith("final point")
    ]
    unknown = grad("example", "logistic", "q=5", "--json")
    assert "q is not an input of the formula" in unknown.stderr


def test_repl_descends_on_data_and_keeps_the_weights(grad, points):
    script = (
        "f = sigmoid(w0*x0 + w1*x1 + w2)\n"
        f":descend f --data {points} --wrt w0,w1,w2 --target-column y --loss logistic --lr 1 --epochs 60\n"
        ":vars\n"
    )
    result = grad("repl", input=script)
    assert result.returncode == 0, result.stderr
    expected = reference_logistic(rows_of(points.read_text()), 1.0, 60)
    assert f"w0 = {expected[0]:.6g}" in result.stdout.replace("\n", " ")


def test_the_readme_shows_what_grad_example_logistic_prints(grad):
    readme = (ROOT / "README.md").read_text()
    section = readme[readme.index("## Training on data") :]
    block = re.search(r"```console\n(\$ grad example logistic.*?)```", section, re.S).group(1)
    command, expected = block.split("\n", 1)
    result = grad(*shlex.split(command.removeprefix("$ "))[1:], env={"COLUMNS": "100"})
    assert result.returncode == 0, result.stderr
    shown = re.sub(
        r"--data \S+/gradcli/data/", "--data .../site-packages/gradcli/data/", result.stdout
    )
    assert [line.rstrip() for line in shown.strip().splitlines()] == expected.strip().splitlines()
    # and the picture of the same run, kept beside the tests
    assert "(tests/data/descend-logistic.png)" in section
    assert (ROOT / "tests" / "data" / "descend-logistic.png").read_bytes().startswith(b"\x89PNG")


def test_repl_refuses_data_from_its_own_input(grad):
    result = grad("repl", input=":descend a*x + b --data - --wrt a,b --target-column y\n")
    assert "--data - would read the session's own input" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.skipif(importlib.util.find_spec("matplotlib") is None, reason="needs matplotlib")
def test_only_a_classifier_is_drawn_with_a_decision_boundary(grad, tmp_path):
    (tmp_path / "reg.csv").write_text("x0,x1,y\n1,2,3\n2,1,4\n0,1,1\n3,3,7\n")
    titles = {}
    for name, loss in (("reg", ["--target-column", "y"]), ("none", ["--loss", "none"])):
        result = grad("descend", "w0*x0 + w1*x1 + b", "--data", "reg.csv", "--wrt", "w0,w1,b",
                      *loss, "--steps", "20", "--lr", "0.01", "--plot", f"{name}.svg")  # fmt: skip
        assert result.returncode == 0, result.stderr
        titles[name] = re.findall(r"<!-- (.*?) -->", (tmp_path / f"{name}.svg").read_text())
    assert "the rows, coloured by y" in titles["reg"]
    assert "squared loss over the steps (sgd, lr 0.01; steps)" in titles["reg"]
    assert (
        "the rows" in titles["none"]
        and "mean f over the steps (sgd, lr 0.01; steps)" in titles["none"]
    )
    assert not any("decision boundary" in t for t in titles["reg"] + titles["none"])
