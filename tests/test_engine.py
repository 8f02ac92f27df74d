"""Forward and backward passes: repeatability, kinks, branches, domain errors, the check."""

import math

import pytest

from gradcli.core.engine import Tape, evaluate, parse_binding, resolve_point
from gradcli.core.errors import DomainError, UnboundInputError, UsageError
from gradcli.core.numeric import check, relative_error, verdict
from gradcli.core.syntax import parse


def grads(text, **point):
    return evaluate(parse(text), point).gradient()


def test_evaluating_twice_gives_the_same_result():
    tape = Tape(parse("a * a"))
    first = tape.evaluate({"a": 2.0})
    second = tape.evaluate({"a": 2.0})
    assert first.value == second.value == 4.0
    assert first.gradient() == second.gradient() == {"a": 4.0}


def test_every_node_gets_a_gradient():
    graph = parse("(x + y) * z")
    ev = evaluate(graph, dict(x=-2.0, y=5.0, z=-4.0))
    assert ev.grads == [-4.0, -4.0, -4.0, 3.0, 1.0]  # x, y, x+y, z, output
    assert ev.values == [-2.0, 5.0, 3.0, -4.0, -12.0]


def test_gate_patterns():
    # add distributes, mul swaps, max routes to the larger input
    assert grads("x + y", x=3.0, y=-4.0) == {"x": 1.0, "y": 1.0}
    assert grads("x * y", x=3.0, y=-4.0) == {"x": -4.0, "y": 3.0}
    assert grads("max(z, w)", z=2.0, w=-1.0) == {"z": 1.0, "w": 0.0}
    assert grads("2 * (x*y + max(z, w))", x=3.0, y=-4.0, z=2.0, w=-1.0) == {
        "x": -8.0,
        "y": 6.0,
        "z": 2.0,
        "w": 0.0,
    }


def test_kinks_follow_pytorch():
    assert grads("relu(x)", x=0.0) == {"x": 0.0}
    assert grads("abs(x)", x=0.0) == {"x": 0.0}
    assert grads("max(x, y)", x=1.0, y=1.0) == {"x": 0.5, "y": 0.5}
    assert grads("min(x, y, z)", x=1.0, y=1.0, z=1.0) == {"x": 1 / 3, "y": 1 / 3, "z": 1 / 3}


def test_negative_base_with_integer_exponent():
    graph = parse("(x - 3)^2")
    ev = evaluate(graph, {"x": 1.0})
    assert ev.value == 4.0 and ev.gradient() == {"x": -4.0}
    two = next(i for i, op in enumerate(graph.ops) if op == "const" and graph.consts[i] == 2)
    assert math.isnan(ev.grads[two])  # d/d(exponent) of a negative base: undefined


def test_exponent_input_gradient():
    ev = evaluate(parse("x ^ n"), {"x": 2.0, "n": 3.0})
    assert ev.gradient() == pytest.approx({"x": 12.0, "n": 8.0 * math.log(2.0)}, rel=1e-15)
    ev = evaluate(parse("x ^ n"), {"x": -2.0, "n": 3.0})
    assert ev.value == -8.0 and math.isnan(ev.gradient()["n"])


def test_sqrt_at_zero_has_an_infinite_gradient():
    ev = evaluate(parse("sqrt(x)"), {"x": 0.0})
    assert ev.value == 0.0 and ev.gradient()["x"] == math.inf


@pytest.mark.parametrize(
    "text,point,words,span",
    [
        ("1 + log(x)", {"x": -1.0}, ["log(-1)", "x > 0"], (4, 10)),
        ("log(x)", {"x": 0.0}, ["log(0)"], (0, 6)),
        ("sqrt(x) * 2", {"x": -4.0}, ["sqrt(-4)", "x ≥ 0"], (0, 7)),
        ("x / (y - 1)", {"x": 1.0, "y": 1.0}, ["1 / 0", "division by zero"], (0, 11)),
        ("x ^ -1", {"x": 0.0}, ["0 ^ -1", "negative power"], (0, 6)),
        ("x ^ 0.5", {"x": -2.0}, ["-2 ^ 0.5", "integer exponent"], (0, 7)),
        ("asin(x)", {"x": 1.5}, ["asin(1.5)", "-1 ≤ x ≤ 1"], (0, 7)),
        ("acos(x)", {"x": -1.5}, ["acos(-1.5)"], (0, 7)),
        ("exp(x) + 1", {"x": 1000.0}, ["exp(1000)", "too large"], (0, 6)),
        ("x * y", {"x": 1e200, "y": 1e200}, ["1e+200 * 1e+200", "too large"], (0, 5)),
        ("cosh(x)", {"x": 1e3}, ["cosh(1000)", "too large"], (0, 7)),
    ],
)
def test_domain_errors_name_the_operation_inputs_and_place(text, point, words, span):
    with pytest.raises(DomainError) as info:
        evaluate(parse(text), point)
    for word in words:
        assert word in info.value.message
    assert (info.value.span.start, info.value.span.end) == span


def test_bindings():
    assert parse_binding("x=-2") == ("x", -2.0)
    assert parse_binding("w0 = 1.5e-3") == ("w0", 0.0015)
    for bad in ["x", "x=", "=1", "x=abc", "1x=2", "x=nan", "x=inf", "x=1=2"]:
        with pytest.raises(UsageError):
            parse_binding(bad)


def test_missing_inputs_are_all_named():
    with pytest.raises(UnboundInputError) as info:
        resolve_point(parse("x * y + z"), {"y": 1.0})
    assert "x and z" in info.value.message


def test_unused_bindings_are_reported():
    point, unused = resolve_point(parse("x + 1"), {"x": 1.0, "zz": 2.0})
    assert point == {"x": 1.0} and unused == ["zz"]


def test_numerical_check_agrees_on_smooth_functions_and_flags_kinks():
    tape = Tape(parse("sin(x) * exp(y) + x^3"))
    rows = check(tape, tape.evaluate({"x": 0.7, "y": -0.3}), ["x", "y"])
    assert [r.verdict for r in rows] == ["good", "good"]
    exact_x = math.cos(0.7) * math.exp(-0.3) + 3 * 0.7**2
    assert rows[0].numeric == pytest.approx(exact_x, rel=1e-9)

    tape = Tape(parse("abs(x)"))
    row = check(tape, tape.evaluate({"x": 0.0}), ["x"])[0]
    assert row.analytic == 0.0 and row.numeric == 0.0 and row.verdict == "good"

    tape = Tape(parse("relu(x)"))  # the kink sits between x - h and x + h: numeric is 1/2
    row = check(tape, tape.evaluate({"x": 1e-9}), ["x"])[0]
    assert row.verdict == "suspect" and row.numeric == pytest.approx(0.5, rel=1e-3)


def test_relative_error_bands():
    assert relative_error(0.0, 0.0) == 0.0
    assert relative_error(1.0, 1.0 + 1e-9) == pytest.approx(1e-9, rel=1e-6)
    assert verdict(1e-7) == "good" and verdict(1e-5) == "acceptable"
    assert verdict(2e-4) == "suspect"
