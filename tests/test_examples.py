"""The built-in worked examples give the lecture's numbers (and SymPy's)."""

from __future__ import annotations

import pytest
import sympy as sp
from conftest import strict_json

from gradcli.core.engine import Tape, resolve_point
from gradcli.core.examples import EXAMPLES
from gradcli.core.syntax import parse


def evaluate(name: str):
    graph = parse(EXAMPLES[name].program)
    point, _ = resolve_point(graph, {})
    return Tape(graph).evaluate(point)


def test_circuit_by_hand():
    ev = evaluate("circuit")
    assert ev.value == -12 and ev.gradient() == {"x": -4, "y": -4, "z": 3}


def test_gate_patterns_by_hand():
    # f = 2·(x·y + max(z, w)) at 3, -4, 2, -1: x·y = -12, max = 2, f = -20;
    # ∂f/∂x = 2·y = -8, ∂f/∂y = 2·x = 6, max routes 2 to z and 0 to w.
    ev = evaluate("gates")
    assert ev.value == -20 and ev.gradient() == {"x": -8, "y": 6, "z": 2, "w": 0}


@pytest.mark.parametrize("name", ["neuron", "neuron-sigmoid"])
def test_neuron_matches_the_lecture(name):
    ev = evaluate(name)
    assert round(ev.value, 2) == 0.73
    assert {n: round(g, 2) for n, g in ev.gradient().items()} == {
        "w0": -0.2,
        "x0": 0.39,
        "w1": -0.39,
        "x1": -0.59,
        "w2": 0.2,
    }


def test_both_neurons_agree():
    staged, gate = evaluate("neuron").gradient(), evaluate("neuron-sigmoid").gradient()
    assert staged == pytest.approx(gate, rel=1e-14)


def test_staged_function_against_sympy():
    x, y = sp.symbols("x y")
    sig = lambda t: 1 / (1 + sp.exp(-t))  # noqa: E731
    f = (x + sig(y)) / (sig(x) + (x + y) ** 2)
    at = {x: 3, y: -4}
    ev = evaluate("staged")
    assert ev.value == pytest.approx(float(f.subs(at)), rel=1e-14)
    assert ev.gradient()["x"] == pytest.approx(float(sp.diff(f, x).subs(at)), rel=1e-13)
    assert ev.gradient()["y"] == pytest.approx(float(sp.diff(f, y).subs(at)), rel=1e-13)
    names = [n for n in ev.graph.names if n]
    for stage in ("sigy", "num", "sigx", "xpy", "xpysqr", "den", "invden", "f"):
        assert stage in names


def test_cli_lists_and_runs_examples(grad):
    listing = grad("example")
    assert listing.returncode == 0, listing.stderr
    for name in EXAMPLES:
        assert name in listing.stdout
    result = grad("example", "gates", "--json")
    data = strict_json(result.stdout)
    assert data["value"] == -20 and data["gradient"]["w"] == 0
    assert {d["kind"] for d in data["diagnostics"]} == {"losing-branch", "zero-gradient"}
    result = grad("example", "circuit", "x=1")  # a binding overrides the example's value
    assert "f = -24" in result.stdout
    assert "(distributor)" in result.stdout and "(swapper)" in result.stdout  # gate roles


def test_cli_unknown_example(grad):
    result = grad("example", "nueron")
    assert result.returncode == 2
    assert "no example called 'nueron'" in result.stderr and "did you mean neuron" in result.stderr
