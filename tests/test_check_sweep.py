"""--check's kink report and `grad check --sweep`: the step size of central differences."""

from __future__ import annotations

import math

import pytest

from gradcli.core.engine import Tape
from gradcli.core.numeric import SWEEP_STEPS, check, kinks_crossed, step_size, sweep
from gradcli.core.syntax import parse

SMOOTH = [
    ("sin(x) * exp(y)", {"x": 0.7, "y": 0.3}),
    ("log(1 + x^2) / (2 + cos(y))", {"x": 1.3, "y": -0.4}),
    ("sigmoid(w*x + b)", {"w": 0.8, "x": -1.1, "b": 0.2}),
    ("tanh(x) * sqrt(y)", {"x": 0.9, "y": 2.0}),
]


def test_sweep_steps_are_the_decades():
    assert SWEEP_STEPS[0] == 1e-1 and SWEEP_STEPS[-1] == 1e-15 and len(SWEEP_STEPS) == 15


@pytest.mark.parametrize("source, point", SMOOTH)
def test_central_difference_error_is_smallest_between_1e4_and_1e7(source, point):
    # Truncation error ∝ h² falls as h shrinks, round-off ∝ ε/h grows: for central
    # differences of a smooth function of inputs of order 1 the best h is near ε^(1/3) ≈ 6e-6.
    tape = Tape(parse(source))
    ev = tape.evaluate(point)
    for s in sweep(tape, ev, list(point)):
        assert s.analytic == ev.grads[tape.graph.inputs[s.name]]
        assert 1e-7 <= s.best.h <= 1e-4, (s.name, s.best)
        errors = [r.error for r in s.rows]
        # truncation regime: the error shrinks ~100× per decade of h at the large end
        assert errors[0] > errors[1] > errors[2]
        # round-off regime: the error at h = 1e-15 is far above the best one
        assert errors[-1] > 1e3 * s.best.error


def test_sweep_errors_are_against_an_independent_derivative():
    # d/dx sin(x)·e^y = cos(x)·e^y, computed here by hand, not by the engine
    tape = Tape(parse("sin(x) * exp(y)"))
    ev = tape.evaluate({"x": 0.7, "y": 0.3})
    (s,) = sweep(tape, ev, ["x"])
    exact = math.cos(0.7) * math.exp(0.3)
    assert s.analytic == pytest.approx(exact, rel=1e-15)
    assert s.rows[0].error == pytest.approx(abs(s.rows[0].numeric - exact), rel=1e-6)
    # truncation term of central differences: f'''(x)·h²/6 with f''' = -cos(x)·e^y
    assert s.rows[1].error == pytest.approx(exact * 1e-4 / 6, rel=1e-2)


@pytest.mark.parametrize(
    "source, point, name, crossed",
    [
        ("abs(x)", {"x": 0.0}, "x", ["abs"]),
        ("abs(x)", {"x": 1.0}, "x", []),
        ("relu(x) * 3", {"x": 1e-9}, "x", ["relu"]),
        ("relu(x) * 3", {"x": -1.0}, "x", []),
        ("max(x, y)", {"x": 1.0, "y": 1.0 + 1e-9}, "x", ["max"]),
        ("max(x, y)", {"x": 1.0, "y": 2.0}, "x", []),
        ("min(x, y) + x^2", {"x": 2.0, "y": 2.0}, "y", ["min"]),
    ],
)
def test_kinks_crossed(source, point, name, crossed):
    tape = Tape(parse(source))
    ev = tape.evaluate(point)
    (row,) = check(tape, ev, [name])
    assert [tape.graph.ops[k] for k in row.kinks] == crossed
    assert row.kinks == kinks_crossed(tape, point, name, step_size(point[name]))


def test_cli_check_reports_kinks(grad):
    from conftest import strict_json

    result = grad("eval", "abs(x) + y", "x=0", "y=1", "--check", "--json")
    data = strict_json(result.stdout)
    kinks = {row["name"]: row["kinks"] for row in data["check"]}
    assert kinks == {"x": [1], "y": []}
    result = grad("check", "abs(x) + y", "x=0", "y=1")
    assert result.returncode == 0, result.stderr
    assert "kink crossed" in result.stdout and "#1 (abs)" in result.stdout
    smooth = grad("check", "x * y", "x=2", "y=3")
    assert "kink" not in smooth.stdout and "good" in smooth.stdout


def test_cli_sweep(grad):
    from conftest import strict_json

    result = grad("check", "sin(x) * exp(y)", "x=0.7", "y=0.3", "--sweep", "--json")
    assert result.returncode == 0, result.stderr
    data = strict_json(result.stdout)
    assert data["method"] == "central"
    for entry in data["sweep"]:
        assert [r["h"] for r in entry["rows"]] == list(SWEEP_STEPS)
        assert 1e-7 <= entry["best_h"] <= 1e-4
    text = grad("check", "sin(x) * exp(y)", "x=0.7", "y=0.3", "--sweep").stdout
    assert "1e-15" in text and "←" in text and "round-off" in text
