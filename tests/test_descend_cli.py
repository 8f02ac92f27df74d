"""`grad descend` as a user runs it: the installed command in a subprocess."""

from __future__ import annotations

import csv
import math
import os
import signal
import subprocess
import time

import pytest
from conftest import default_sigint, grad_executable, strict_json

NEURON = ["sigmoid(w0*x0 + w1*x1 + w2)", "w0=2", "x0=-1", "w1=-3", "x1=-2", "w2=-3"]


def no_traceback(result):
    assert "Traceback" not in result.stderr + result.stdout


def test_human_output_has_table_plot_and_summary(grad):
    result = grad("descend", "(x - 3)^2 + (y + 1)^2", "x=0", "y=0", "--steps", "50")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    for word in (
        "trace",
        "step",
        "|∇|",
        "f over the steps",
        "stopped",
        "final point",
        "took all 50 steps",
    ):
        assert word in out
    # x_k = 3(1 − 0.8^k): at 50 steps 3 − 3·0.8^50 ≈ 2.99996
    assert "x = 2.99996" in out and "y = -0.999986" in out
    # about 20 rows by default: steps 0, 3, 6, …, 48 and the last, 50
    rows = [
        line.split("│")[1].strip()
        for line in out.splitlines()
        if line.startswith("│") and line.split("│")[1].strip().isdigit()
    ]
    assert rows[:3] == ["0", "3", "6"] and rows[-1] == "50" and len(rows) <= 21
    assert "\x1b[" not in out  # no colour when piped / NO_COLOR


def test_progress_bar_only_on_a_terminal(grad, tmp_path):
    pexpect = pytest.importorskip("pexpect")
    args = ["descend", "x^2", "x=1", "--lr", "1e-6", "--steps", "30000"]
    env = {**os.environ, "COLUMNS": "100"}
    env.pop("NO_COLOR", None)
    child = pexpect.spawn(
        grad_executable(),
        args,
        env=env,
        cwd=str(tmp_path),
        encoding="utf-8",
        timeout=60,
        dimensions=(40, 100),
    )
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0
    assert "descending" in child.before and "30000" in child.before
    assert "took all 30000 steps" in child.before
    piped = grad(*args)
    assert piped.returncode == 0 and "descending" not in piped.stdout + piped.stderr


def test_every_selects_the_rows(grad):
    result = grad("descend", "x^2", "x=1", "--steps", "10", "--every", "4")
    rows = [
        line.split("│")[1].strip()
        for line in result.stdout.splitlines()
        if line.startswith("│") and line.split("│")[1].strip().isdigit()
    ]
    assert rows == ["0", "4", "8", "10"]


def test_json_output_is_strict_and_complete(grad):
    result = grad(
        "descend",
        *NEURON,
        "--wrt",
        "w0,w1,w2",
        "--target",
        "1",
        "--lr",
        "0.5",
        "--steps",
        "40",
        "--json",
    )
    assert result.returncode == 0, result.stderr
    data = strict_json(result.stdout)
    assert data["stopped"] == "steps" and data["steps"] == 40
    assert set(data["final"]) == {"w0", "w1", "w2"}
    assert data["fixed"] == {"x0": -1, "x1": -2}
    trace = data["trace"]
    assert [t["step"] for t in trace] == list(range(41))
    assert trace[0]["value"] == pytest.approx(0.7310585786300049, rel=1e-15)
    assert trace[-1]["point"] == data["final"] and trace[-1]["value"] == data["value"]
    values = [t["value"] for t in trace]
    assert all(b > a for a, b in zip(values, values[1:]))
    for t in trace:  # the gradient is of (f − 1)², and its norm matches
        assert t["loss"] == pytest.approx((t["value"] - 1) ** 2, rel=1e-12)
        assert t["grad_norm"] == pytest.approx(math.hypot(*t["gradient"].values()), rel=1e-12)
    # SGD: each point is the previous one minus rate × gradient, exactly
    for before, after in zip(trace, trace[1:]):
        for name in ("w0", "w1", "w2"):
            assert after["point"][name] == before["point"][name] - 0.5 * before["gradient"][name]


def test_csv_writes_the_full_trace(grad, tmp_path):
    result = grad(
        "descend", "x^2 + 3*y^2", "x=1", "y=1", "--steps", "30", "--csv", "run.csv", "--json"
    )
    assert result.returncode == 0, result.stderr
    data = strict_json(result.stdout)
    with open(tmp_path / "run.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0]) == ["step", "value", "x", "y", "grad_x", "grad_y", "grad_norm"]
    assert len(rows) == 31
    for row, t in zip(rows, data["trace"]):
        assert int(row["step"]) == t["step"]
        assert float(row["value"]) == t["value"]
        assert float(row["x"]) == t["point"]["x"] and float(row["y"]) == t["point"]["y"]
        assert float(row["grad_y"]) == t["gradient"]["y"]
    # closed form: x_k = 0.8^k, y_k = 0.4^k
    assert float(rows[30]["x"]) == pytest.approx(0.8**30, rel=1e-12)
    assert float(rows[30]["y"]) == pytest.approx(0.4**30, rel=1e-12)


def test_exit_codes_converged_not_converged(grad):
    result = grad("descend", "x^2", "x=3", "--tol", "1e-3", "--steps", "10000", "--json")
    assert result.returncode == 0, result.stderr
    data = strict_json(result.stdout)
    assert data["stopped"] == "converged" and data["steps"] == 39
    result = grad("descend", "x^2", "x=3", "--tol", "1e-3", "--steps", "10", "--json")
    assert result.returncode == 4, result.stderr
    assert strict_json(result.stdout)["stopped"] == "steps"


def test_divergence_is_clean_with_step_last_good_point_and_hint(grad):
    result = grad("descend", "x^2", "x=1", "--lr", "1.5", "--steps", "5000")
    assert result.returncode == 1
    no_traceback(result)
    out = result.stdout
    assert "diverged" in out and "last good point" in out and "hint:" in out
    assert "--lr 0.15" in out
    as_json = grad("descend", "x^2", "x=1", "--lr", "1.5", "--steps", "5000", "--json")
    assert as_json.returncode == 1
    data = strict_json(as_json.stdout)
    assert data["stopped"] == "diverged"
    assert data["error"]["step"] == data["steps"] + 1
    assert abs(data["final"]["x"]) == 2.0 ** data["steps"]
    assert "overflows" in as_json.stderr


def test_domain_error_mid_run(grad):
    result = grad("descend", "log(x)", "x=3", "--lr", "5")
    assert result.returncode == 1
    no_traceback(result)
    assert "at step 2" in result.stdout and "log needs x > 0" in result.stdout
    assert "x = 1.33333" in result.stdout  # the last good point, 3 − 5/3


def test_maximize_and_a_formula_starting_with_minus(grad):
    result = grad("descend", "-(x - 2)^2", "x=0", "--maximize", "--steps", "60", "--json")
    assert result.returncode == 0, result.stderr
    data = strict_json(result.stdout)
    assert data["trace"][1]["point"]["x"] == pytest.approx(0.4, rel=1e-15)
    assert data["final"]["x"] == pytest.approx(2.0, abs=1e-5)


def test_adam_on_rosenbrock(grad):
    result = grad(
        "descend",
        "(1-x)^2 + 100*(y-x^2)^2",
        "x=-1.5",
        "y=2",
        "--optimizer",
        "adam",
        "--lr",
        "0.05",
        "--steps",
        "3000",
        "--json",
    )
    data = strict_json(result.stdout)
    assert data["final"]["x"] == pytest.approx(1, abs=1e-3)
    assert data["final"]["y"] == pytest.approx(1, abs=1e-3)


@pytest.mark.parametrize(
    "args, words",
    [
        (["x^2", "x=1", "--wrt", "y"], "not an input"),
        (["x^2", "x=1", "--lr", "0"], "--lr"),
        (["x^2", "x=1", "--maximize", "--target", "1"], "do not go together"),
        (["x^2", "x=1", "--plot", "run.jpg"], ".png or .svg"),
        (["x^2", "x=1", "--optimizer", "lbfgs"], "lbfgs"),
        (["x^2"], "no value for x"),
    ],
)
def test_usage_errors_exit_2(grad, args, words):
    result = grad("descend", *args)
    assert result.returncode == 2
    assert words in result.stderr
    no_traceback(result)


def test_bad_start_is_an_evaluation_error(grad):
    result = grad("descend", "log(x)", "x=-1")
    assert result.returncode == 1
    assert "log needs x > 0" in result.stderr and "^" in result.stderr
    no_traceback(result)


def test_plot_png_and_svg(grad, tmp_path):
    pytest.importorskip("matplotlib")
    result = grad(
        "descend",
        "(1-x)^2 + 100*(y-x^2)^2",
        "x=-1.5",
        "y=2",
        "--optimizer",
        "adam",
        "--lr",
        "0.05",
        "--steps",
        "500",
        "--plot",
        "run.png",
    )
    assert result.returncode == 0, result.stderr
    png = (tmp_path / "run.png").read_bytes()
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10_000
    result = grad(
        "descend", *NEURON, "--wrt", "w0,w1,w2", "--target", "1", "--plot", "neuron.svg", "--json"
    )
    assert result.returncode == 0, result.stderr
    svg = (tmp_path / "neuron.svg").read_text()
    assert "<svg" in svg and svg.rstrip().endswith("</svg>")
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temp


def test_plot_without_matplotlib_says_how_to_install(grad, tmp_path):
    hidden = tmp_path / "hide"
    (hidden / "matplotlib").mkdir(parents=True)
    (hidden / "matplotlib" / "__init__.py").write_text("raise ImportError('hidden')\n")
    result = grad("descend", "x^2", "x=1", "--plot", "run.png", env={"PYTHONPATH": str(hidden)})
    assert result.returncode == 2
    assert "pip install 'gradcli[plot]'" in result.stderr
    assert not (tmp_path / "run.png").exists()
    no_traceback(result)


@pytest.mark.parametrize("as_json", [False, True])
def test_ctrl_c_stops_and_still_reports(tmp_path, as_json):
    env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "120"}
    args = [
        grad_executable(),
        "descend",
        "x^2 + y^2",
        "x=1",
        "y=1",
        "--lr",
        "1e-9",
        "--steps",
        "100000000",
    ] + (["--json"] if as_json else [])
    process = subprocess.Popen(
        args,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,
        env=env,
        preexec_fn=default_sigint,
    )
    time.sleep(1.5)
    process.send_signal(signal.SIGINT)
    out, err = process.communicate(timeout=30)
    assert process.returncode == 130, err
    assert "Traceback" not in err
    if as_json:
        data = strict_json(out)
        assert data["stopped"] == "interrupted" and data["steps"] > 0
        assert len(data["trace"]) == data["steps"] + 1
    else:
        assert "interrupted after" in out and "final point" in out


def test_a_parameter_named_twice_in_wrt_counts_once(grad):
    result = grad(
        "descend",
        "x^2 + y^2",
        "x=1",
        "y=1",
        "--wrt",
        "x,x",
        "--steps",
        "2",
        "--lr",
        "0.25",
        "--json",
    )
    assert result.returncode == 0, result.stderr
    data = strict_json(result.stdout)
    assert data["final"] == {"x": 0.25} and data["fixed"] == {"y": 1.0}  # x·(1 − 2·0.25)²


def test_csv_and_plot_may_not_write_the_same_file(grad, tmp_path):
    result = grad(
        "descend", "(x-3)^2", "x=0", "--steps", "3", "--csv", "run.png", "--plot", "./run.png"
    )
    assert result.returncode == 2 and "--csv and --plot both write run.png" in result.stderr
    assert not (tmp_path / "run.png").exists()
