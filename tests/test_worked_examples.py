"""The lecture's worked examples, against the hand-derived values (relative 1e-12)."""

import math

import pytest

from gradcli.core.engine import evaluate
from gradcli.core.syntax import parse

NEURON_POINT = dict(w0=2.0, x0=-1.0, w1=-3.0, x1=-2.0, w2=-3.0)
NEURON_VALUE = 0.7310585786300049
NEURON_GRADIENT = dict(
    w0=-0.19661193324148185,
    x0=0.3932238664829637,
    w1=-0.3932238664829637,
    x1=-0.5898357997244456,
    w2=0.19661193324148185,
)


def assert_close(actual: dict, expected: dict) -> None:
    assert actual.keys() == expected.keys()
    for name, value in expected.items():
        assert actual[name] == pytest.approx(value, rel=1e-12, abs=0), name


def test_circuit_x_plus_y_times_z():
    ev = evaluate(parse("(x + y) * z"), dict(x=-2.0, y=5.0, z=-4.0))
    assert ev.value == -12
    assert ev.gradient() == dict(x=-4, y=-4, z=3)


def test_named_intermediate_q():
    graph = parse("q = x + y; f = q * z")
    ev = evaluate(graph, dict(x=-2.0, y=5.0, z=-4.0))
    q = graph.names.index("q")
    assert (ev.values[q], ev.grads[q]) == (3, -4)
    assert graph.names[graph.output] == "f"
    assert ev.value == -12


@pytest.mark.parametrize(
    "formula",
    [
        "1/(1 + exp(-(w0*x0 + w1*x1 + w2)))",
        "sigmoid(w0*x0 + w1*x1 + w2)",
        "1 / (1 + e^(-(w0*x0 + w1*x1 + w2)))",
    ],
)
def test_sigmoid_neuron(formula):
    ev = evaluate(parse(formula), NEURON_POINT)
    assert ev.value == pytest.approx(NEURON_VALUE, rel=1e-12)
    assert_close(ev.gradient(), NEURON_GRADIENT)


def test_sigmoid_neuron_staged():
    """Every stage of the lecture's circuit: gates ·-1, exp, +1, 1/x."""
    program = """
    # the sigmoid neuron, one gate at a time
    w0 = 2; x0 = -1; w1 = -3; x1 = -2; w2 = -3
    dot = w0*x0 + w1*x1 + w2
    negated = dot * -1
    exped = exp(negated)
    plus1 = exped + 1
    f = 1 / plus1
    """
    graph = parse(program)
    ev = evaluate(graph, graph.defaults)
    stage = {name: i for i, name in enumerate(graph.names) if name}
    # forward values and backward gradients, derived by hand (e = exp(-1))
    e1 = math.exp(-1.0)
    f = 1 / (1 + e1)
    expected = {
        "dot": (1.0, f * (1 - f)),
        "negated": (-1.0, -f * (1 - f)),
        "exped": (e1, -1 / (1 + e1) ** 2),
        "plus1": (1 + e1, -1 / (1 + e1) ** 2),
        "f": (f, 1.0),
    }
    for name, (value, grad) in expected.items():
        assert ev.values[stage[name]] == pytest.approx(value, rel=1e-12), name
        assert ev.grads[stage[name]] == pytest.approx(grad, rel=1e-12), name
    assert_close(ev.gradient(), NEURON_GRADIENT)
