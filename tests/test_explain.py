"""The step-by-step backward pass, checked against the lecture's hand-worked numbers."""

from __future__ import annotations

import math

import pytest

from gradcli.core.engine import Tape, resolve_point
from gradcli.core.examples import EXAMPLES
from gradcli.core.explain import branch_sum, explain
from gradcli.core.ops import OPS
from gradcli.core.syntax import parse


def run(source: str, **point: float):
    graph = parse(source)
    values, _ = resolve_point(graph, point)
    return Tape(graph).evaluate(values)


def test_circuit_steps_by_hand():
    # The lecture: q = x + y = 3, f = q·z = -12; ∂f/∂q = z = -4, ∂f/∂z = q = 3,
    # ∂f/∂x = ∂f/∂q · 1 = -4, ∂f/∂y = -4.
    steps = explain(run(EXAMPLES["circuit"].program)).steps
    assert [(s.number, s.label, s.formula, s.op) for s in steps] == [
        (1, "f", "q * z", "mul"),
        (2, "q", "x + y", "add"),
    ]
    f, q = steps
    assert f.gathered == () and f.grad == 1
    assert [(c.local_formula, c.local, c.upstream, c.downstream) for c in f.inputs] == [
        ("z", -4, 1, -4),
        ("q", 3, 1, 3),
    ]
    assert [(c.local_formula, c.local, c.upstream, c.downstream) for c in q.inputs] == [
        ("1", 1, -4, -4),
        ("1", 1, -4, -4),
    ]
    assert q.grad == -4 and q.role == "distributor" and f.role == "swapper"


def test_neuron_steps_match_the_lecture_figure():
    # Gates from the output back: 1/x, +1, exp, ·-1, then the adds and multiplies.
    # The lecture's figure, 2 decimals: downstream gradients -0.53, -0.53, -0.20, 0.20, …
    steps = explain(run(EXAMPLES["neuron"].program)).steps
    assert [s.op for s in steps] == ["div", "add", "exp", "neg", "add", "add", "mul", "mul"]
    assert [s.number for s in steps] == list(range(1, 9))
    assert [round(s.value, 2) for s in steps] == [0.73, 1.37, 0.37, -1.0, 1.0, 4.0, 6.0, -2.0]
    assert [round(s.grad, 2) for s in steps] == [1.0, -0.53, -0.53, -0.2, 0.2, 0.2, 0.2, 0.2]
    # local gradients of the four gates: -1/x², 1, exp(x), -1
    div, add1, exp, neg = steps[:4]
    assert div.inputs[0].local_formula == "-1/#13²"
    assert div.inputs[0].local == pytest.approx(-1 / 1.3678794411714423**2)
    assert add1.inputs[0].local == 1
    assert exp.inputs[0].local_formula == "exp(#11)"
    assert exp.inputs[0].local == pytest.approx(math.exp(-1))
    assert neg.inputs[0].local == -1
    final = {c.operand: round(c.downstream, 2) for s in steps for c in s.inputs}
    graph = parse(EXAMPLES["neuron"].program)
    assert {n: final[i] for n, i in graph.inputs.items()} == {
        "w0": -0.2,
        "x0": 0.39,
        "w1": -0.39,
        "x1": -0.59,
        "w2": 0.2,
    }


def test_branches_show_each_path_and_their_sum():
    # f = x·x + relu(x) at x = 3: three paths into x (3, 3 and 1) that add up to 7 = 2x + 1.
    ev = run("x*x + relu(x)", x=3)
    steps = explain(ev).steps
    x_step = steps[-1]
    assert x_step.op == "input" and x_step.label == "x"
    assert sorted(c.downstream for c in x_step.gathered) == [1, 3, 3]
    assert branch_sum(x_step) == x_step.grad == 7


def test_constants_get_no_step_and_unnamed_nodes_are_numbered():
    steps = explain(run("2 * (x * y + max(z, w))", x=3, y=-4, z=2, w=-1)).steps
    assert all(c.operand != 0 for s in steps for c in s.inputs)  # node 0 is the constant 2
    assert steps[0].formula.startswith("2 * #")
    router = next(s for s in steps if s.op == "max")
    assert [c.downstream for c in router.inputs] == [2, 0]  # max routes to z only


@pytest.mark.parametrize(
    "source, point",
    [
        ("a = x * y; b = a + x; f = b * a + sin(x)", {"x": 0.7, "y": -1.3}),
        ("q = exp(x); f = q * q + q / (1 + q)", {"x": 0.4}),
        ("f = max(x, y, x) * min(y, x) + abs(x - y)", {"x": 1.5, "y": 1.5}),
    ],
)
def test_branch_sums_equal_the_engine_gradients_exactly(source, point):
    ev = run(source, **point)
    expl = explain(ev)
    gathered = {}
    for step in expl.steps:
        for c in step.inputs:
            gathered.setdefault(c.operand, []).append(c.downstream)
    for step in expl.steps:
        assert branch_sum(step) == ev.grads[step.node] or not step.gathered
    for name, node in ev.graph.inputs.items():
        # Order of the engine: users in reverse topological order; compare as a sum.
        assert math.fsum(gathered[node]) == pytest.approx(ev.grads[node], rel=1e-15)


def test_every_op_has_a_local_formula_per_input():
    for op in OPS.values():
        assert len(op.local) == (1 if op.arity is None else op.arity), op.name
        for template in op.local:
            assert template.format(a="A", b="B")  # only {a} and {b} placeholders


def test_cli_explain_numbered_steps(grad):
    result = grad("eval", "q = x + y; f = q * z", "x=-2", "y=5", "z=-4", "--explain")
    assert result.returncode == 0, result.stderr
    lines = [line.strip() for line in result.stdout.splitlines()]
    start = lines.index("step 1  f = q * z   mul, swapper   value -12")
    assert lines[start : start + 8] == [
        "step 1  f = q * z   mul, swapper   value -12",
        "∂f/∂f = 1   (the backward pass starts here)",
        "∂f/∂q = ∂f/∂f · ∂f/∂q = 1 × z = 1 × -4 = -4",
        "∂f/∂z = ∂f/∂f · ∂f/∂z = 1 × q = 1 × 3 = 3",
        "step 2  q = x + y   add, distributor   value 3",
        "∂f/∂q = -4",
        "∂f/∂x = ∂f/∂q · ∂q/∂x = -4 × 1 = -4",
        "∂f/∂y = ∂f/∂q · ∂q/∂y = -4 × 1 = -4",
    ]


def test_cli_explain_neuron_and_branch_sum(grad):
    result = grad("example", "neuron", "--explain", "--digits", "2")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "step 3  #12 = exp(#11)   exp, scaler   value 0.37" in out
    assert "∂f/∂#11 = ∂f/∂#12 · ∂#12/∂#11 = -0.53 × exp(#11) = -0.53 × 0.37 = -0.2" in out
    assert "∂f/∂x1 = ∂f/∂#5 · ∂#5/∂x1 = 0.2 × w1 = 0.2 × -3 = -0.59" in out
    assert "step 8" in out and "step 9" not in out
    result = grad("eval", "x*x + relu(x)", "x=3", "--explain")
    assert "∂f/∂x = 1 + 3 + 3 = 7   (gradients add at branches: x feeds #2, #1)" in result.stdout


def test_cli_explain_json(grad):
    from conftest import strict_json

    result = grad("example", "circuit", "--explain", "--json")
    data = strict_json(result.stdout)
    steps = data["explanation"]
    assert [s["label"] for s in steps] == ["f", "q"]
    assert [(c["local_formula"], c["downstream"]) for c in steps[0]["inputs"]] == [
        ("z", -4),
        ("q", 3),
    ]


def test_partials_are_computed_once_for_the_diagnostics_and_the_explanation(monkeypatch):
    from gradcli.core import ops, request
    from gradcli.output.dot import to_dot

    calls = []
    mul = ops.OPS["mul"]

    def counted(a, b, out):
        calls.append((a, b))
        return mul.partials(a, b, out)

    monkeypatch.setitem(ops.OPS, "mul", mul._replace(partials=counted))
    tape = Tape(parse("q = x + y; f = q * z"))
    point = {"x": -2.0, "y": 5.0, "z": -4.0}
    tape.evaluate(point)
    swept = len(calls)  # the backward sweep's own products
    result = request.answer(tape, point)
    assert len(calls) == 2 * swept + 1  # the sweep again, and the one mul's partials once
    explain(result.evaluation)
    to_dot(result.evaluation)
    assert len(calls) == 2 * swept + 1  # which the explanation and the diagram reuse
