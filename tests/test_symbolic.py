"""`grad diff`: the gradient as a formula, checked against the engine's numbers, SymPy's
derivatives and hand-worked values; its program evaluated by gradcli itself."""

import math

import pytest
import sympy
from conftest import strict_json
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from strategies import COORDINATES, programs
from test_against_sympy import NAMES, SYMBOLS, coordinates, formulas

from gradcli.core import symbolic
from gradcli.core.engine import Tape, evaluate
from gradcli.core.errors import DomainError, UsageError
from gradcli.core.ops import OPS
from gradcli.core.syntax import parse

NEURON = "sigmoid(w0*x0 + w1*x1 + w2)"
NEURON_POINT = {"w0": 2.0, "x0": -1.0, "w1": -3.0, "x1": -2.0, "w2": -3.0}


def program_gradient(source: str, point: dict[str, float], wrt=None) -> dict[str, float]:
    """Each derivative as gradcli computes it from the generated program (parse + forward
    pass, as `grad eval -f` does)."""
    derivation = symbolic.derive(parse(source), wrt)
    graph = parse(symbolic.program(derivation))
    values = Tape(graph).forward({n: point.get(n, graph.defaults.get(n)) for n in graph.inputs})
    at = {name: node for node, name in enumerate(graph.names) if name}
    result = {}
    for name, statement in derivation.statement_names.items():
        if statement in graph.defaults:  # `dx = 3` is a value
            result[name] = graph.defaults[statement]
        else:
            result[name] = values[at[statement]]
    return result


def close(a: float, b: float, rel: float) -> bool:
    return math.isclose(a, b, rel_tol=rel, abs_tol=rel)


# --- worked examples ---------------------------------------------------------------------
def test_neuron_reads_as_the_lecture_writes_it():
    derivation = symbolic.derive(parse(NEURON))
    program = symbolic.program(derivation)
    assert program.splitlines()[0] == "s = sigmoid(w0*x0 + w1*x1 + w2)"
    gradient = symbolic.formulas(derivation)
    assert gradient["w0"] == "s*(1 - s)*x0"
    assert gradient["w2"] == "s*(1 - s)"
    numbers = program_gradient(NEURON, NEURON_POINT)
    assert numbers["w0"] == pytest.approx(-0.196612, abs=1e-6)
    assert numbers["x0"] == pytest.approx(0.393224, abs=1e-6)
    assert numbers["x1"] == pytest.approx(-0.589836, abs=1e-6)


def test_circuit_keeps_the_named_intermediate():
    derivation = symbolic.derive(parse("q = x + y; f = q * z"))
    assert symbolic.formulas(derivation) == {"x": "z", "y": "z", "z": "q"}
    assert "q = x + y" in symbolic.program(derivation)
    assert program_gradient("q = x + y; f = q * z", {"x": -2, "y": 5, "z": -4}) == {
        "x": -4.0,
        "y": -4.0,
        "z": 3.0,
    }


@pytest.mark.parametrize(
    "source,expected",
    [
        ("x^3", {"x": "3*x^2"}),
        ("x*1 + 0", {"x": "1"}),
        ("x * x", {"x": "2*x"}),
        ("-(-x) * y", {"x": "y", "y": "x"}),
        ("x^1 + y^0", {"x": "1", "y": "0"}),
        ("x*x*x", {"x": "3*x^2"}),
        ("3*x - x - x", {"x": "1"}),
    ],
)
def test_simplifier_does_the_obvious(source, expected):
    assert symbolic.formulas(symbolic.derive(parse(source))) == expected


def written(expr: symbolic.Expr, node: int) -> str:
    return symbolic.text(symbolic.write(expr, node, {}))


def test_constant_coefficients_are_collected():
    e = symbolic.Expr()
    x, y = e.input("x"), e.input("y")
    two, three = e.const(2.0), e.const(3.0)
    assert written(e, e.mul(two, e.mul(three, x))) == "6*x"  # c1·(c2·x)
    assert written(e, e.neg(e.mul(e.const(400.0), x))) == "-400*x"  # −(c·x)
    assert written(e, e.mul(e.mul(two, x), x)) == "2*x^2"  # c·x·x
    assert written(e, e.mul(x, x)) == "x^2"
    assert written(e, e.mul(e.mul(two, x), e.mul(three, y))) == "6*x*y"
    assert written(e, e.mul(two, e.mul(x, y))) == "2*x*y"  # flat, not 2*(x*y)
    assert written(e, e.mul(e.mul(two, e.pow(x, two)), e.mul(three, x))) == "6*x^3"
    assert written(e, e.add(e.mul(two, x), e.mul(three, x))) == "5*x"  # like terms
    assert written(e, e.sub(e.mul(two, x), e.mul(three, x))) == "-x"
    assert written(e, e.add(y, e.mul(e.const(-2.0), x))) == "y - 2*x"
    assert written(e, e.sub(y, e.mul(e.const(-2.0), x))) == "y + 2*x"
    assert written(e, e.mul(e.const(2.0), e.const(3.0))) == "6"


def test_coefficients_that_would_overflow_or_underflow_stay_apart():
    e = symbolic.Expr()
    x = e.input("x")
    big, tiny = e.const(1e300), e.const(1e-300)
    assert written(e, e.mul(big, e.mul(big, x))) == "1e+300*(1e+300*x)"
    assert written(e, e.mul(tiny, e.mul(tiny, x))) == "1e-300*(1e-300*x)"
    assert written(e, e.add(e.mul(e.const(1.5e308), x), e.mul(e.const(1.5e308), x))) == (
        "1.5e+308*x + 1.5e+308*x"
    )


def test_a_constant_distributes_only_over_a_constant_and_one_coefficient_term():
    e = symbolic.Expr()
    x, y = e.input("x"), e.input("y")
    two, three = e.const(2.0), e.const(3.0)
    assert written(e, e.mul(two, e.add(e.mul(three, x), e.one))) == "6*x + 2"
    assert written(e, e.mul(two, e.sub(e.one, e.mul(three, x)))) == "2 - 6*x"
    assert written(e, e.mul(two, e.sub(e.one, x))) == "2*(1 - x)"  # not shorter: kept
    # two terms could cancel: 2·(3·x − 3·y) stays, so 2·3·x cannot overflow alone
    assert written(e, e.mul(two, e.sub(e.mul(three, x), e.mul(three, y)))) == "2*(3*x - 3*y)"


def test_a_small_coefficient_keeps_x_times_x_apart():
    # 1e-10·x·x is finite at x = 1e155, where x² overflows: it stays a product
    e = symbolic.Expr()
    x = e.input("x")
    assert written(e, e.mul(e.mul(e.const(1e-10), x), x)) == "1e-10*x*x"
    assert written(e, e.mul(e.mul(e.const(3.0), x), x)) == "3*x^2"


def test_constants_fold_only_where_the_number_stays_short():
    e = symbolic.Expr()
    x = e.input("x")
    assert written(e, e.mul(e.const(12.0), e.mul(e.const(12.0), x))) == "144*x"
    assert written(e, e.mul(e.const(0.941), e.mul(e.const(1.277), x))) == "0.941*(1.277*x)"


def test_a_long_product_keeps_its_node_under_a_minus():
    e = symbolic.Expr()
    factors = [e.input(n) for n in "abcdef"]
    product = e.mul(e.const(3.0), factors[0])
    for factor in factors[1:]:
        product = e.mul(product, factor)
    assert written(e, e.neg(product)) == "-(3*a*b*c*d*e*f)"
    assert written(e, e.neg(e.mul(e.mul(e.const(3.0), factors[0]), factors[1]))) == "-3*a*b"


def test_named_constants_stay_named():
    e = symbolic.Expr()
    x = e.input("x")
    pi = e.const(math.pi, "pi")
    assert written(e, e.mul(e.const(2.0), e.mul(pi, x))) == "2*pi*x"


def test_zero_times_a_value_that_may_be_infinite_is_kept():
    # d/dx sqrt(x) * 0 at x = 0 is 0 · inf in the engine: undefined, never a silent 0
    derivation = symbolic.derive(parse("sqrt(x) * 0"))
    assert symbolic.formulas(derivation)["x"] != "0"


# --- kinks -------------------------------------------------------------------------------
KINKS = [
    "relu(x)",
    "abs(x)",
    "max(x, y)",
    "min(x, y)",
    "max(x, y, x*y)",
    "min(x, 2, y)",
    "relu(x - y) * abs(y)",
    "max(x, x)",
    "step(x) + sign(y) * x",
]
KINK_POINTS = [
    (0.0, 0.0),
    (0.0, 1.0),
    (1.0, 1.0),
    (2.0, 2.0),
    (-1.0, 0.0),
    (3.0, -2.0),
    (2.0, 1.0),
    (1.0, 2.0),
    (-0.0, 0.0),
]


@pytest.mark.parametrize("source", KINKS)
@pytest.mark.parametrize("x,y", KINK_POINTS)
def test_kink_formulas_give_the_engines_numbers_ties_included(source, x, y):
    graph = parse(source)
    point = {n: {"x": x, "y": y}[n] for n in graph.inputs}
    engine = evaluate(graph, point).gradient()
    assert program_gradient(source, point) == engine


def test_kink_conventions_in_formula_form():
    assert symbolic.formulas(symbolic.derive(parse("relu(x)"))) == {"x": "step(x)"}
    assert symbolic.formulas(symbolic.derive(parse("abs(x)"))) == {"x": "sign(x)"}
    assert symbolic.formulas(symbolic.derive(parse("max(x, y)"))) == {
        "x": "(1 + sign(x - y))/2",
        "y": "(1 - sign(x - y))/2",
    }
    assert symbolic.formulas(symbolic.derive(parse("min(x, y)"))) == {
        "x": "(1 - sign(x - y))/2",
        "y": "(1 + sign(x - y))/2",
    }


def test_step_and_sign_are_formulas_too():
    ev = evaluate(parse("step(x) + sign(y)"), {"x": 0.0, "y": -2.0})
    assert ev.value == -1.0 and ev.gradient() == {"x": 0.0, "y": 0.0}
    assert evaluate(parse("step(x)"), {"x": 1e-300}).value == 1.0
    assert evaluate(parse("sign(x)"), {"x": 0.0}).value == 0.0


# --- the op table ------------------------------------------------------------------------
@pytest.mark.parametrize("op", OPS.values(), ids=lambda op: op.name)
def test_every_op_has_a_symbolic_rule_that_matches_its_partials(op):
    assert op.symbolic is not None, f"{op.name} has no symbolic rule"
    names = ["a", "b", "c"]
    for sample in op.samples:
        args = ", ".join(names[: len(sample)])
        source = (
            f"{op.symbol}(a)"
            if op.name in ("neg", "id")
            else f"a {op.symbol} b"
            if op.infix
            else f"{op.symbol}({args})"
        )
        if op.name == "id":
            source = "q = a; q * 1"
        point = dict(zip(names, sample))
        graph = parse(source)
        point = {n: point[n] for n in graph.inputs}
        engine = evaluate(graph, point).gradient()
        got = program_gradient(source, point)
        for name, value in engine.items():
            assert close(got[name], value, 1e-12), (op.name, sample, name)


OPERANDS = ["x", "x*y", "sin(x) + y", "y - x^2", "0.5*x"]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from([op for op in OPS.values() if op.name != "id"]),
    st.lists(st.sampled_from(OPERANDS), min_size=3, max_size=3),
    # no subnormal points: there a quotient such as x/hypot(x, x) keeps fewer than 53 bits, so
    # two correct orders of operations differ by more than the 1e-12 compared here
    st.floats(-3, 3, allow_subnormal=False),
    st.floats(-3, 3, allow_subnormal=False),
)
def test_every_op_over_random_operands_and_points(op, operands, x, y):
    count = op.arity or 3
    args = [f"({a})" for a in operands[:count]]
    if op.name == "neg":
        source = f"-{args[0]}"
    elif op.infix:
        source = f"{args[0]} {op.symbol} {args[1]}"
    else:
        source = f"{op.symbol}({', '.join(args)})"
    source = f"{source} * y + x"  # the op's result used once more above it
    graph = parse(source)
    point = {n: {"x": x, "y": y}[n] for n in graph.inputs}
    try:
        engine = evaluate(graph, point).gradient()
        got = program_gradient(source, point)
    except DomainError:
        assume(False)
    for name, value in engine.items():
        assume(math.isfinite(value))
        assert agrees(got[name], value, source, point), (source, point, name, got, engine)


def test_a_missing_symbolic_rule_is_an_error_naming_the_op(monkeypatch):
    monkeypatch.setitem(OPS, "sin", OPS["sin"]._replace(symbolic=None))
    with pytest.raises(UsageError, match="derivative of sin"):
        symbolic.derive(parse("sin(x)"))


# --- properties --------------------------------------------------------------------------
@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(programs(), COORDINATES, COORDINATES)
def test_program_gives_the_engines_gradient(source, x, y):
    graph = parse(source)
    assume(graph.inputs)
    point = {**graph.defaults, "x": x}
    point.setdefault("y", y)
    point = {n: point[n] for n in graph.inputs}
    try:
        engine = evaluate(graph, point).gradient()
    except DomainError:
        assume(False)
    assume(all(math.isfinite(v) for v in engine.values()))
    try:
        got = program_gradient(source, point)
    except DomainError:
        # the formula's evaluation fails only where a local derivative is not finite
        assume(False)
    for name, value in engine.items():
        assert agrees(got[name], value, source, point), (source, name, got, engine)


def agrees(got: float, value: float, source: str, point) -> bool:
    """Equal to 1e-12 relative, or to 1e-12 of the largest term where terms cancel: the
    engine and the formula round in different orders (y·(1/x) − y·(1/x)·(x/x) + 1 may be
    0 or 1e163 where x is 1e-251), and neither is then more exact than that."""
    return math.isclose(got, value, rel_tol=1e-12, abs_tol=1e-12) or abs(
        got - value
    ) <= 1e-12 * _magnitude(source, point)


def _magnitude(source: str, point) -> float:
    """The largest intermediate term: sums of terms may cancel to far less than them."""
    derivation = symbolic.derive(parse(source))
    values = [v for v in _all_values(derivation, point) if v is not None]
    return max([1.0] + [abs(v) for v in values])


def _all_values(derivation, point):
    expr = derivation.expr
    result = []
    values = [None] * len(expr.ops)
    for node, op in enumerate(expr.ops):
        if op == "input":
            values[node] = point[expr.input_names[node]]
        elif op == "const":
            values[node] = expr.consts[node]
        elif all(values[a] is not None for a in expr.args[node]):
            try:
                values[node] = OPS[op].forward(*[values[a] for a in expr.args[node]])
            except (ArithmeticError, ValueError):
                pass
        result.append(values[node])
    return result


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(formulas, st.tuples(coordinates, coordinates, coordinates))
def test_program_gives_sympys_derivative(formula, coords):
    text, expr = formula
    point = dict(zip(NAMES, coords))
    graph = parse(text)
    assume(graph.inputs)
    point = {n: point[n] for n in graph.inputs}
    try:
        evaluate(graph, point)
        got = program_gradient(text, point)
    except DomainError:
        assume(False)
    subs = {SYMBOLS[n]: sympy.Float(point.get(n, 0.0), 30) for n in NAMES}
    for name in graph.inputs:
        exact = float(sympy.diff(expr, SYMBOLS[name]).evalf(30, subs=subs))
        assume(math.isfinite(exact) and abs(exact) < 1e12)
        assert math.isclose(got[name], exact, rel_tol=1e-9, abs_tol=1e-9), (text, name)


# --- depth and size ----------------------------------------------------------------------
def test_a_100000_deep_chain():
    depth = 100_000
    source = "sin(" * depth + "x" + ")" * depth
    derivation = symbolic.derive(parse(source))
    program = symbolic.program(derivation)
    assert len(program) < 60 * depth  # linear: each level is a few names
    got = program_gradient(source, {"x": 0.5})
    assert close(got["x"], evaluate(parse(source), {"x": 0.5}).gradient()["x"], 1e-12)


def test_shared_adjoints_stay_shared():
    # each level uses the one before twice: written out, the formula would double per level
    lines = ["t0 = x"] + [f"t{i} = sin(t{i - 1}) * t{i - 1}" for i in range(1, 200)]
    source = "\n".join(lines)
    program = symbolic.program(symbolic.derive(parse(source)))
    assert len(program) < 200 * 80
    got = program_gradient(source, {"x": 0.3})
    assert close(got["x"], evaluate(parse(source), {"x": 0.3}).gradient()["x"], 1e-12)


def test_a_10000_op_random_dag_gives_the_engines_gradient_in_a_linear_program():
    import test_bench_smoke

    bench = test_bench_smoke.bench
    dag = bench.random_dag(10_000, seed=7)
    source = bench.formula_text(dag)
    program = symbolic.program(symbolic.derive(parse(source)))
    assert len(program) < 5 * len(source)  # linear in the graph (about 2×), never exponential
    engine = evaluate(parse(source), dag.point).gradient()
    got = program_gradient(source, dag.point)
    for name, value in engine.items():
        assert math.isclose(got[name], value, rel_tol=1e-12, abs_tol=1e-15), name


# --- the installed command ---------------------------------------------------------------
def test_grad_diff_text(grad):
    result = grad("diff", NEURON, *(f"{k}={v}" for k, v in NEURON_POINT.items()))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("s = sigmoid(w0·x0 + w1·x1 + w2)")
    assert lines[1].startswith("∂f/∂w0 = s·(1 − s)·x0") and "-0.196612" in lines[1]
    assert "\x1b[" not in result.stdout  # piped: no colour


def test_grad_diff_json_program_evaluates_to_the_gradient(grad, tmp_path):
    bindings = [f"{k}={v}" for k, v in NEURON_POINT.items()]
    source = "1/(1 + exp(-(w0*x0 + w1*x1 + w2)))"
    result = grad("diff", source, *bindings, "--json")
    assert result.returncode == 0, result.stderr
    data = strict_json(result.stdout)
    assert set(data) == {"gradient", "program", "names", "values"}
    (tmp_path / "grad.grad").write_text(data["program"])
    evaluated = strict_json(grad("eval", "-f", "grad.grad", *bindings, "--json").stdout)
    reference = strict_json(grad("eval", source, *bindings, "--json").stdout)["gradient"]
    by_name = {node["name"]: node["value"] for node in evaluated["nodes"] if node["name"]}
    for name, statement in data["names"].items():
        assert math.isclose(by_name[statement], reference[name], rel_tol=1e-12)
        assert math.isclose(data["values"][name], reference[name], rel_tol=1e-12)


def test_grad_diff_program_latex_stdin_and_wrt(grad):
    result = grad("diff", "-", "--wrt", "x", "--program", input="x^2 * y\n")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "dx = 2*y*x\n"
    latex = grad("diff", "x^2 * y", "--latex").stdout
    assert r"\frac{\partial f}{\partial x} = 2 \cdot y \cdot x" in latex


def test_grad_diff_latex_writes_sqrt_as_a_radical(grad):
    latex = grad("diff", "sqrt(x*y)", "--latex").stdout
    assert latex.splitlines()[0] == r"s = \sqrt{x \cdot y}"
    assert "operatorname{sqrt}" not in latex


def test_grad_diff_bad_input(grad):
    for args, code in (
        (("2 + 3",), 2),
        (("x +",), 3),
        (("x", "--wrt", "y"), 2),
        (("x", "--json", "--latex"), 2),
        (("x", "x=abc"), 2),
    ):
        result = grad("diff", *args)
        assert result.returncode == code, args
        assert "Traceback" not in result.stderr and result.stderr.startswith("error:"), args


def test_grad_diff_undefined_derivative_is_said(grad):
    result = grad("diff", "x^y", "x=-2", "y=3")
    assert result.returncode == 0
    assert "undefined" in result.stdout.splitlines()[1]
    data = strict_json(grad("diff", "x^y", "x=-2", "y=3", "--json").stdout)
    assert data["values"] == {"x": 12.0, "y": None}


def test_grad_diff_at_a_point_outside_the_domain_is_an_evaluation_error(grad):
    # the formula 1/x has a value at x = -1, but f = log(x) does not: as grad eval says
    result = grad("diff", "log(x)", "x=-1")
    assert result.returncode == 1 and result.stdout == ""
    assert "log needs x > 0" in result.stderr


def test_text_colours_gradients_red_and_values_green():
    from rich.console import Console

    from gradcli.output.render_diff import text_view

    derivation = symbolic.derive(parse(NEURON))
    console = Console(force_terminal=True, color_system="standard", width=100)
    with console.capture() as captured:
        console.print(text_view(derivation, symbolic.evaluate(derivation, NEURON_POINT)))
    output = captured.get()
    assert "\x1b[1;31m∂f/∂w0" in output  # bold red, as gradients are elsewhere
    assert "\x1b[32m0.731059" in output  # the intermediate's value green


@pytest.mark.parametrize(
    "source",
    ["x*1e17 - x*1e17 + x", "1e16*x + x - 1e16*x", "x + 1e17*x - 1e17*x", "0.1*x + 0.2*x"],
)
def test_sums_are_folded_only_where_the_doubles_add_exactly(grad, source):
    """A folded sum must be the real sum: (1 + 1e17 − 1e17)·x folded in doubles reads 0·x."""
    import sympy

    result = grad("diff", source, "--json")
    assert result.returncode == 0, result.stderr
    formula = strict_json(result.stdout)["gradient"]["x"]
    exact = sympy.sympify(formula.replace("^", "**"), rational=True)
    wanted = sympy.diff(sympy.sympify(source, rational=True), sympy.Symbol("x"))
    assert sympy.simplify(exact - wanted) == 0, formula
