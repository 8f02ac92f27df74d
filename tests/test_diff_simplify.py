"""`grad diff --simplify`: SymPy simplifies each derivative statement, and the result is still
gradcli syntax: its program, evaluated by gradcli, gives the engine's gradient. Without SymPy,
--simplify is a usage error naming the extra."""

import math

import pytest
from conftest import strict_json
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from test_against_sympy import NAMES, coordinates, formulas
from test_symbolic import agrees

from gradcli.core import symbolic
from gradcli.core.engine import Tape, evaluate
from gradcli.core.errors import DomainError
from gradcli.core.ops import OPS
from gradcli.core.simplify import simplify
from gradcli.core.syntax import parse


def simplified(source: str, wrt=None):
    return simplify(symbolic.derive(parse(source), wrt))


def program_values(derivation, point) -> dict[str, float]:
    """Each derivative as `grad eval -f` computes it from the derivation's program."""
    graph = parse(symbolic.program(derivation))
    values = Tape(graph).forward({n: point.get(n, graph.defaults.get(n)) for n in graph.inputs})
    at = {name: node for node, name in enumerate(graph.names) if name}
    result = {}
    for name, statement in derivation.statement_names.items():
        if statement in graph.defaults:
            result[name] = graph.defaults[statement]
        else:
            result[name] = values[at[statement]]
    return result


@pytest.mark.parametrize(
    "source,expected",
    [
        ("log(x*y) + exp(x)*exp(y)", {"x": "(1 + x*exp(x + y))/x", "y": "(1 + y*exp(x + y))/y"}),
        ("(x + y)^2 - x^2 - 2*x*y", {"x": "0", "y": "2*y"}),
        ("x/y/z", {"x": "1/(y*z)", "y": "-(x/(y^2*z))", "z": "-(x/(y*z^2))"}),
        ("q = x*y; r = q - x; r^2", {"x": "2*r*(y - 1)", "y": "2*r*x"}),
    ],
)
def test_simplify_gives_shorter_formulas_in_gradcli_syntax(source, expected):
    assert symbolic.formulas(simplified(source)) == expected


def test_the_function_of_f_itself_is_kept_as_written():
    # exp(-z) must not become exp(z) in s: that would overflow where f does not
    derivation = simplified("1/(1 + exp(-(w0*x0 + w1*x1 + w2)))")
    program = symbolic.program(derivation)
    assert program.splitlines()[0] == "s = 1/(1 + exp(-(w0*x0 + w1*x1 + w2)))"
    point = {"w0": 800.0, "x0": 1.0, "w1": 0.0, "x1": 0.0, "w2": 0.0}
    assert program_values(derivation, point)["w0"] == 0.0


def test_ops_sympy_lacks_are_kept_by_name():
    derivation = simplified("relu(x)^2 + max(x, y) + sqrt(relu(y)) + cbrt(x) + step(y)*sigmoid(x)")
    gradient = symbolic.formulas(derivation)
    assert "route(step(x), 2*relu(x))" in gradient["x"]
    assert "route(step(y), 1/(2*sqrt(relu(y))))" in gradient["y"]
    assert "sign(x - y)" in gradient["x"] and "cbrt(x)" in gradient["x"]
    for point in ({"x": 0.0, "y": 0.0}, {"x": 1.5, "y": -2.0}, {"x": -8.0, "y": 3.0}):
        engine = evaluate(parse("relu(x)^2 + max(x, y) + cbrt(x + 9) + step(y)*sigmoid(x)"), point)
        got = program_values(
            simplified("relu(x)^2 + max(x, y) + cbrt(x + 9) + step(y)*sigmoid(x)"), point
        )
        assert got == pytest.approx(engine.gradient(), rel=1e-12, abs=1e-15)


@pytest.mark.parametrize("op", [op for op in OPS.values() if op.name != "id"], ids=lambda o: o.name)
def test_every_op_survives_the_round_trip(op):
    """Each op, translated to SymPy and back (simplified), still gives the engine's gradient."""
    args = ["x", "y + 2", "0.5*x*y"][: op.arity or 3]
    if op.name == "neg":
        source = "-(x*y)"
    elif op.infix:
        source = f"({args[0]}) {op.symbol} ({args[1]})"
    else:
        source = f"{op.symbol}({', '.join(args)})"
    source = f"{source} * y"
    point = {"x": 0.3, "y": 0.6}
    graph = parse(source)
    point = {n: point[n] for n in graph.inputs}
    engine = evaluate(graph, point).gradient()
    got = program_values(simplified(source), point)
    for name, value in engine.items():
        assert agrees(got[name], value, source, point), (source, name, got, engine)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(formulas, st.tuples(coordinates, coordinates, coordinates))
def test_the_simplified_program_gives_the_engines_gradient(formula, coords):
    """Over random formulas of every op: where gradcli evaluates the simplified program (SymPy
    may move a division), it agrees with the engine to 1e-12 (of the largest term where
    terms cancel), as the unsimplified one does."""
    text, _ = formula
    graph = parse(text)
    assume(graph.inputs)
    point = {n: c for n, c in zip(NAMES, coords) if n in graph.inputs}
    try:
        engine = evaluate(graph, point).gradient()
    except DomainError:
        assume(False)
    assume(all(math.isfinite(v) for v in engine.values()))
    derivation = simplify(symbolic.derive(graph))
    try:
        got = program_values(derivation, point)
    except DomainError:
        assume(False)
    for name, value in engine.items():
        assert agrees(got[name], value, text, point) or math.isclose(
            got[name], value, rel_tol=1e-9, abs_tol=1e-9
        ), (text, point, name, got, engine, symbolic.program(derivation))


@pytest.mark.parametrize("x", [-2.5, -0.5, 0.0, 0.5, 2.5])
def test_kinks_after_simplify_are_the_engines(x):
    source = "relu(x) + abs(x - 0.5) + max(x, 0.5, -x) + min(x, 0)"
    point = {"x": x}
    engine = evaluate(parse(source), point).gradient()
    assert program_values(simplified(source), point) == engine


def test_grad_diff_simplify_text_json_and_program(grad, tmp_path):
    shown = grad("diff", "log(x*y) + exp(x)*exp(y)", "--simplify", "x=1", "y=2")
    assert shown.returncode == 0, shown.stderr
    assert shown.stdout.splitlines()[0].startswith("∂f/∂x = (1 + x·exp(x + y))/x   = 21.0855")
    data = strict_json(grad("diff", "log(x*y) + exp(x)*exp(y)", "--simplify", "--json").stdout)
    assert data["gradient"]["x"] == "(1 + x*exp(x + y))/x"
    (tmp_path / "d.grad").write_text(data["program"])
    evaluated = strict_json(grad("eval", "-f", "d.grad", "x=1", "y=2", "--json").stdout)
    dx = next(n["value"] for n in evaluated["nodes"] if n.get("name") == "dx")
    assert dx == pytest.approx(1 + math.exp(3), rel=1e-12)
    latex = grad("diff", "x/y", "--simplify", "--latex").stdout
    assert latex.splitlines()[1] == r"\frac{\partial f}{\partial y} = -\frac{x}{y^{2}}"


def test_without_sympy_simplify_is_a_usage_error_naming_the_extra(grad, tmp_path):
    blocked = tmp_path / "no_sympy" / "sympy"
    blocked.mkdir(parents=True)
    (blocked / "__init__.py").write_text("raise ImportError('No module named sympy')\n")
    env = {"PYTHONPATH": str(blocked.parent)}
    refused = grad("diff", "x*y", "--simplify", env=env)
    assert refused.returncode == 2 and refused.stdout == ""
    assert "--simplify needs SymPy" in refused.stderr
    assert "pip install 'gradcli[sym]'" in refused.stderr
    assert "Traceback" not in refused.stderr
    assert grad("diff", "x*y", env=env).returncode == 0  # never required otherwise


def test_a_statement_too_large_or_too_slow_for_sympy_is_kept_as_it_is(monkeypatch):
    from gradcli.core import simplify as module

    source = "log(x*y) + exp(x)*exp(y)"
    as_derived = symbolic.formulas(symbolic.derive(parse(source)))
    monkeypatch.setattr(module, "LARGEST", 3)
    assert symbolic.formulas(simplified(source)) == as_derived
    monkeypatch.setattr(module, "LARGEST", 60)
    monkeypatch.setattr(module, "SECONDS", 1e-6)  # the timer fires inside simplify
    assert symbolic.formulas(simplified(source)) == as_derived
    import signal

    assert signal.getsignal(signal.SIGALRM) in (signal.SIG_DFL, None)  # handler put back


def test_an_intermediate_no_simplified_formula_uses_is_not_written():
    derivation = simplified("cbrt(x)^3")
    assert symbolic.formulas(derivation) == {"x": "1"}
    assert derivation.names == {} and derivation.order == []
    assert "c =" not in symbolic.program(derivation)
