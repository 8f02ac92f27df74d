"""Each diagnostic fires exactly when its condition holds, and not otherwise."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from plain_diagnostics import plain_diagnose
from strategies import evaluations

from gradcli.core.diagnostics import SATURATION, diagnose
from gradcli.core.engine import Tape, resolve_point
from gradcli.core.examples import EXAMPLES
from gradcli.core.syntax import parse

# Values that hit the interesting cases (0 exactly, ties) often, and ordinary ones too.
VALUES = st.one_of(
    st.sampled_from([0.0, -0.0, 1.0, -1.0, 2.5]), st.floats(-50, 50, allow_nan=False)
)
TAPES: dict[str, Tape] = {}


def kinds(source: str, **point: float) -> list[tuple[str, int]]:
    tape = TAPES.get(source)
    if tape is None:
        tape = TAPES[source] = Tape(parse(source))
    values, _ = resolve_point(tape.graph, point)
    return [(d.kind, d.node) for d in diagnose(tape.evaluate(values))]


def of_kind(found, kind):
    return [node for k, node in found if k == kind]


@settings(max_examples=200, deadline=None)
@given(VALUES, VALUES)
def test_mul_zero_iff_both_inputs_are_zero(x, y):
    found = kinds("x * y + x + y", x=x, y=y)
    assert bool(of_kind(found, "mul-zero")) == (x == 0 and y == 0)


@settings(max_examples=200, deadline=None)
@given(VALUES, VALUES)
def test_dead_relu_iff_input_not_positive(x, y):
    found = kinds("relu(x - y) + y", x=x, y=y)
    assert bool(of_kind(found, "dead-relu")) == (x - y <= 0)


def _sigmoid_slope(x: float) -> float:
    e = math.exp(-abs(x))  # σ'(x) = e^-|x| / (1 + e^-|x|)², symmetric in x
    return e / (1 + e) ** 2


@settings(max_examples=300, deadline=None)
@given(st.floats(-40, 40, allow_nan=False))
def test_saturated_sigmoid_and_tanh_iff_slope_below_threshold(x):
    sig = _sigmoid_slope(x)
    tanh_slope = 1 / math.cosh(x) ** 2
    if abs(sig - SATURATION) < 1e-9 or abs(tanh_slope - SATURATION) < 1e-9:
        return  # too close to the threshold to compare two roundings
    found = kinds("sigmoid(x) + tanh(x)", x=x)
    saturated = of_kind(found, "saturated")
    assert (1 in saturated) == (sig < SATURATION)  # node 1: sigmoid(x)
    assert (2 in saturated) == (tanh_slope < SATURATION)  # node 2: tanh(x)


def test_saturation_threshold_at_known_points():
    # σ'(x) < 1e-3 for |x| > 6.9 (approx.); tanh'(x) = 1/cosh²(x) < 1e-3 for |x| > 4.15
    assert of_kind(kinds("sigmoid(x)", x=6.8), "saturated") == []
    assert of_kind(kinds("sigmoid(x)", x=-7.0), "saturated") == [1]
    assert of_kind(kinds("tanh(x)", x=4.1), "saturated") == []
    assert of_kind(kinds("tanh(x)", x=-4.2), "saturated") == [1]


@settings(max_examples=200, deadline=None)
@given(VALUES, VALUES, VALUES)
def test_losing_branch_iff_some_argument_does_not_win(x, y, z):
    found = kinds("max(x, y) + min(x, y, z)", x=x, y=y, z=z)
    losing = of_kind(found, "losing-branch")
    assert (2 in losing) == (x != y)
    assert (4 in losing) == (not (x == y == z))  # nodes: x, y, max, z, min


@settings(max_examples=200, deadline=None)
@given(VALUES, VALUES, VALUES)
def test_zero_gradient_iff_an_input_gradient_is_exactly_zero(x, y, z):
    # ∂f/∂x = y + z·[x > 0]… by hand: f = x·y + relu(x)·z
    found = kinds("x * y + relu(x) * z", x=x, y=y, z=z)
    zero = set(of_kind(found, "zero-gradient"))
    dx = y + (z if x > 0 else 0.0)
    dy = x
    dz = x if x > 0 else 0.0
    assert (0 in zero) == (dx == 0)
    assert (1 in zero) == (dy == 0)
    assert (4 in zero) == (dz == 0)


def test_zero_gradient_reasons():
    tape = Tape(parse("x * y + max(z, w)"))
    ev = tape.evaluate({"x": 2.0, "y": 0.0, "z": 1.0, "w": -1.0})
    reasons = {ev.graph.names[d.node]: d.reason for d in diagnose(ev) if d.kind == "zero-gradient"}
    assert set(reasons) == {"x", "w"}
    assert "multiplies by 0" in reasons["x"]
    assert "max where it does not win" in reasons["w"]
    ev = Tape(parse("x - x + y")).evaluate({"x": 5.0, "y": 1.0})
    (d,) = [d for d in diagnose(ev) if d.kind == "zero-gradient"]
    assert "cancel (1 + -1 = 0)" in d.reason


def test_overflow_where_it_starts_only():
    # sqrt'(0) = 1/(2·sqrt(0)) = inf: the gradient of x overflows, that of sqrt(x) is 1.
    found = kinds("sqrt(x) * 2", x=0.0)
    assert of_kind(found, "overflow") == [0]
    assert of_kind(kinds("sqrt(x) * 2", x=1e-300), "overflow") == []
    # downstream of the first overflow: reported once, where it starts
    assert of_kind(kinds("sqrt(x) * y", x=0.0, y=3.0), "overflow") == [0]


def test_underflow_iff_product_of_nonzero_gradients_is_below_normal():
    # ∂f/∂x = 1e-200 · 1e-200 underflows to 0; 1e-100 · 1e-100 = 1e-200 does not.
    assert of_kind(kinds("x * 1e-200 * 1e-200", x=1.0), "underflow") == [2]
    assert of_kind(kinds("x * 1e-100 * 1e-100", x=1.0), "underflow") == []
    assert of_kind(kinds("x * 1e-200 * 1e-200", x=1.0), "zero-gradient") == [0]
    assert (
        "underflows" in diagnose(Tape(parse("x * 1e-200 * 1e-200")).evaluate({"x": 1.0}))[0].reason
    )


def test_lecture_examples_are_clean_except_the_max():
    for name in ("circuit", "neuron", "neuron-sigmoid", "staged"):
        graph = parse(EXAMPLES[name].program)
        values, _ = resolve_point(graph, {})
        assert diagnose(Tape(graph).evaluate(values)) == [], name
    graph = parse(EXAMPLES["gates"].program)
    values, _ = resolve_point(graph, {})
    assert sorted(d.kind for d in diagnose(Tape(graph).evaluate(values))) == [
        "losing-branch",
        "zero-gradient",
    ]


def test_cli_shows_diagnostics_and_json(grad):
    from conftest import strict_json

    result = grad("eval", "w * x", "w=0", "x=0")
    assert result.returncode == 0, result.stderr
    assert "mul-zero:" in result.stdout and "nudge one of them off zero" in result.stdout
    assert result.stdout.index("mul-zero") < result.stdout.index("∂f/∂input")
    data = strict_json(grad("eval", "relu(x)", "x=-1", "--json").stdout)
    (dead,) = [d for d in data["diagnostics"] if d["kind"] == "dead-relu"]
    assert set(dead) == {"node", "kind", "reason", "hint"}
    assert dead["node"] == 1 and "dead" in dead["reason"] and dead["hint"]
    assert {d["kind"] for d in data["diagnostics"]} == {"dead-relu", "zero-gradient"}
    clean = strict_json(grad("eval", "x * y", "x=1", "y=2", "--json").stdout)
    assert clean["diagnostics"] == []


@settings(max_examples=1500, deadline=None)
@given(evaluations())
def test_the_same_findings_as_the_plain_pass_over_every_node(ev):
    if ev is not None:
        assert diagnose(ev) == plain_diagnose(ev)


@pytest.mark.parametrize(
    "text,point",
    [
        ("a = x / -1e160; b = a / -1e160; b", {"x": 1.0}),  # underflow with a negative gradient
        ("a = x * 1e-160; -(a * 1e-160)", {"x": 1.0}),
        ("a = sin(x) / 1e160; b = -a / 1e160; b", {"x": 1.0}),
        ("sqrt(x) * y", {"x": 0.0, "y": -1.0}),  # an infinite local gradient
        ("max(x, y, x) + relu(y) * x * y", {"x": 0.0, "y": 0.0}),
        ("q = sigmoid(x) - tanh(y); q * x", {"x": 30.0, "y": -30.0}),
        ("x - x", {"x": 2.0}),
    ],
)
def test_the_same_findings_as_the_plain_pass_on_chosen_cases(text, point):
    ev = Tape(parse(text)).evaluate(point)
    assert diagnose(ev) == plain_diagnose(ev)
