"""Second derivatives: the Hessian from the symbolic backward pass run over the gradient's
own DAG, checked against SymPy's Hessian, hand-worked values, central differences of the
engine's gradient, and the order-2 program evaluated by gradcli itself."""

import math
import os

import pytest
import sympy
from conftest import strict_json
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from strategies import programs
from test_against_sympy import NAMES, SYMBOLS, coordinates, formulas

from gradcli.core import hessian, symbolic
from gradcli.core.engine import Tape
from gradcli.core.errors import DomainError
from gradcli.core.ops import OPS
from gradcli.core.syntax import parse

ROSENBROCK = "(1-x)^2 + 100*(y-x^2)^2"


def matrix(source: str, point: dict[str, float], names=None) -> list[list[float]]:
    graph = parse(source)
    names = list(graph.inputs) if names is None else names
    return hessian.evaluate(graph, point, names)


def program_hessian(source: str, point: dict[str, float]) -> dict[tuple[str, str], float]:
    """Each second derivative as `grad eval -f` computes it from the order-2 program."""
    derivation = hessian.second_derivatives(parse(source)).derivation
    graph = parse(symbolic.program(derivation))
    values = Tape(graph).forward({n: point.get(n, graph.defaults.get(n)) for n in graph.inputs})
    at = {name: node for node, name in enumerate(graph.names) if name}
    return {
        pair: graph.defaults[name] if name in graph.defaults else values[at[name]]
        for pair, name in derivation.statement_names.items()
    }


def central_hessian(source: str, point: dict[str, float], h: float = 1e-5):
    """Central differences of the engine's (analytic) gradient: an independent reference."""
    tape = Tape(parse(source))
    names = list(tape.graph.inputs)
    rows = []
    for b in names:
        up = tape.evaluate({**point, b: point[b] + h}).gradient()
        down = tape.evaluate({**point, b: point[b] - h}).gradient()
        rows.append([(up[a] - down[a]) / (2 * h) for a in names])
    return [list(col) for col in zip(*rows)]


# --- worked examples ------------------------------------------------------------------------
def test_rosenbrock_by_hand():
    # ∂²/∂x² = 2 - 400(y - 3x²), ∂²/∂x∂y = -400x, ∂²/∂y² = 200
    assert matrix(ROSENBROCK, {"x": -1.5, "y": 2.0}) == [[1902.0, 600.0], [600.0, 200.0]]


def test_formulas_by_hand():
    derivation = hessian.second_derivatives(parse("x^3 * sin(y)")).derivation
    got = symbolic.formulas(derivation)
    assert set(got) == {("x", "x"), ("x", "y"), ("y", "y")}  # each unordered pair once
    x, y = 0.7, -1.3
    values = program_hessian("x^3 * sin(y)", {"x": x, "y": y})
    assert values[("x", "x")] == pytest.approx(6 * x * math.sin(y), rel=1e-14)
    assert values[("x", "y")] == pytest.approx(3 * x**2 * math.cos(y), rel=1e-14)
    assert values[("y", "y")] == pytest.approx(-(x**3) * math.sin(y), rel=1e-14)


def test_named_intermediates_keep_their_names():
    derivation = hessian.second_derivatives(parse("q = x*y; f = exp(q) + q")).derivation
    assert "q = x*y" in symbolic.program(derivation)
    assert derivation.statement_names == {
        ("x", "x"): "dxdx",
        ("x", "y"): "dxdy",
        ("y", "y"): "dydy",
    }


def test_wrt_limits_the_matrix():
    got = matrix("x^2 * y^3 * z", {"x": 1.0, "y": 2.0, "z": 3.0}, ["z", "x"])
    assert got == [[0.0, 2 * 8.0], [2 * 8.0, 2 * 8.0 * 3.0]]


# --- kinks: the engine's conventions ----------------------------------------------------------
@pytest.mark.parametrize(
    "source, point, expected",
    [
        ("relu(x) * y", {"x": 0.0, "y": 2.0}, [[0.0, 0.0], [0.0, 0.0]]),  # relu'(0) = 0
        ("relu(x) * y", {"x": 1.0, "y": 2.0}, [[0.0, 1.0], [1.0, 0.0]]),
        ("abs(x) * y", {"x": 0.0, "y": 2.0}, [[0.0, 0.0], [0.0, 0.0]]),  # abs'(0) = 0
        ("abs(x) * y", {"x": -1.0, "y": 2.0}, [[0.0, -1.0], [-1.0, 0.0]]),
        # a tie shares evenly: ∂/∂x = ∂/∂y = max/2 · 2 ... each second derivative 2·½·½
        ("max(x, y)^2", {"x": 1.0, "y": 1.0}, [[0.5, 0.5], [0.5, 0.5]]),
        ("max(x, y)^2", {"x": 2.0, "y": 1.0}, [[2.0, 0.0], [0.0, 0.0]]),
        ("min(x, y, 3)^2", {"x": 1.0, "y": 4.0}, [[2.0, 0.0], [0.0, 0.0]]),
        ("step(x) * x^2 + sign(x) * x^2", {"x": 0.0}, [[0.0]]),  # step' = sign' = 0
        ("relu(x)^2", {"x": 0.0}, [[0.0]]),
    ],
)
def test_kinks(source, point, expected):
    assert matrix(source, point) == expected


def test_undefined_entries_are_nan():
    # sqrt(x) at 0: f is defined, its second derivative is not
    assert math.isnan(matrix("sqrt(x)", {"x": 0.0})[0][0])


# --- every op of the table, against central differences of the engine's gradient ------------
@pytest.mark.parametrize("op", [op for op in OPS.values() if op.name != "id"], ids=lambda o: o.name)
def test_every_op_against_central_differences(op):
    for sample in op.samples:
        names = ["x", "y", "z"][: len(sample)]
        if op.branch is not None and 0.0 in sample:
            continue  # at a kink the differences straddle it (tested above)
        source = op.written(names)
        point = dict(zip(names, sample))
        got = matrix(source, point)
        for row, ref_row in zip(got, central_hessian(source, point)):
            for a, b in zip(row, ref_row):
                assert math.isclose(a, b, rel_tol=1e-5, abs_tol=1e-5), (source, point, got)


# --- property tests ---------------------------------------------------------------------------
@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(formulas, st.tuples(coordinates, coordinates, coordinates))
def test_hessian_matches_sympy(formula, coords):
    text, expr = formula
    graph = parse(text)
    assume(graph.inputs)
    point = {n: c for n, c in zip(NAMES, coords) if n in graph.inputs}
    try:
        Tape(graph).forward(point)
    except DomainError:
        assume(False)
    names = list(graph.inputs)
    got = hessian.evaluate(graph, point, names)
    subs = {SYMBOLS[n]: sympy.Float(point.get(n, 0.0), 30) for n in NAMES}
    for i, a in enumerate(names):
        first = sympy.diff(expr, SYMBOLS[a])
        for j, b in enumerate(names):
            exact = complex(sympy.diff(first, SYMBOLS[b]).evalf(30, subs=subs))
            assume(exact.imag == 0 and math.isfinite(exact.real) and abs(exact.real) < 1e10)
            assert math.isclose(got[i][j], exact.real, rel_tol=1e-8, abs_tol=1e-8), (text, a, b)
    # symmetric to rounding
    for i in range(len(names)):
        for j in range(i):
            assert math.isclose(got[i][j], got[j][i], rel_tol=1e-9, abs_tol=1e-9)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(programs(), st.sampled_from([-1.5, 0.0, 0.5, 3.0]), st.sampled_from([-2.0, 0.0, 2.5]))
def test_order_2_program_gives_the_matrix(source, x, y):
    graph = parse(source)
    point = {n: {"x": x, "y": y}.get(n, graph.defaults.get(n)) for n in graph.inputs}
    assume(graph.inputs)
    try:
        Tape(graph).forward(point)
        got = program_hessian(source, point)
    except DomainError:  # an undefined second derivative: the program says so
        assume(False)
    names = list(graph.inputs)
    full = hessian.evaluate(graph, point, names)
    for (a, b), value in got.items():
        expected = full[names.index(a)][names.index(b)]
        assert value == expected or (math.isnan(expected) and math.isnan(value)), (source, a, b)


def test_a_deep_chain_does_not_recurse():
    depth = 10_000  # ten times Python's recursion limit
    source = "sin(" * depth + "x" + ")" * depth
    got = matrix(source, {"x": 0.5})[0][0]
    assert math.isclose(got, central_hessian(source, {"x": 0.5}, h=1e-4)[0][0], rel_tol=1e-4)


def test_the_rows_share_their_nodes():
    # n inputs of one shared sum: the Hessian adds O(n²) entries, not n copies of the DAG
    n = 30
    source = "s = " + " + ".join(f"x{i}^2" for i in range(n)) + "; f = exp(s)"
    derivation = hessian.second_derivatives(parse(source)).derivation
    assert len(derivation.expr.ops) < 20 * n * n


# --- grad eval --hessian, as a user runs it ---------------------------------------------------
def test_eval_hessian_json(grad):
    done = grad("eval", ROSENBROCK, "x=-1.5", "y=2", "--hessian", "--json")
    assert done.returncode == 0, done.stderr
    data = strict_json(done.stdout)
    assert data["hessian"] == {"x": {"x": 1902.0, "y": 600.0}, "y": {"x": 600.0, "y": 200.0}}
    assert data["gradient"] == {"x": -155.0, "y": -50.0}  # the rest as without --hessian


def test_eval_hessian_json_undefined_is_null(grad):
    done = grad("eval", "sqrt(x) * y", "x=0", "y=2", "--hessian", "--json", "--wrt", "y,x")
    data = strict_json(done.stdout)
    assert data["hessian"] == {"y": {"y": 0.0, "x": None}, "x": {"y": None, "x": None}}


def test_eval_hessian_table(grad):
    done = grad("eval", ROSENBROCK, "x=-1.5", "y=2", "--hessian")
    assert done.returncode == 0, done.stderr
    table = done.stdout[done.stdout.index("Hessian of f") :]
    rows = [line.split() for line in table.splitlines() if line.startswith("│")]
    assert ["│", "x", "│", "1902", "│", "600", "│"] in rows
    assert ["│", "y", "│", "600", "│", "200", "│"] in rows
    ascii_run = grad("eval", ROSENBROCK, "x=-1.5", "y=2", "--hessian", env={"LC_ALL": "C"})
    assert ascii_run.stdout.isascii() and "| x |" in ascii_run.stdout


def test_eval_hessian_not_in_dot(grad):
    done = grad("eval", "x^2", "x=1", "--hessian", "--format", "dot")
    assert done.returncode == 2 and "--hessian" in done.stderr and "Traceback" not in done.stderr


# --- grad diff --order 2 ----------------------------------------------------------------------
def test_diff_order_2_json_and_its_program_through_grad_eval(grad, tmp_path):
    source = "q = x*y; exp(q) + sin(x)*q"
    done = grad("diff", source, "x=0.5", "y=-1.25", "--order", "2", "--json")
    assert done.returncode == 0, done.stderr
    data = strict_json(done.stdout)
    assert set(data) == {"hessian", "program", "names", "values"}
    assert {a: set(row) for a, row in data["hessian"].items()} == {"x": {"x", "y"}, "y": {"y"}}
    assert data["names"] == {"x": {"x": "dxdx", "y": "dxdy"}, "y": {"y": "dydy"}}
    full = matrix(source, {"x": 0.5, "y": -1.25})
    assert data["values"]["x"]["y"] == full[0][1]
    (tmp_path / "d2.grad").write_text(data["program"])
    done = grad("eval", "-f", "d2.grad", "x=0.5", "y=-1.25", "--json")
    nodes = strict_json(done.stdout)["nodes"]
    value = {n["name"]: n["value"] for n in nodes if n["name"]}
    for (i, a), (j, b) in [((0, "x"), (0, "x")), ((0, "x"), (1, "y")), ((1, "y"), (1, "y"))]:
        assert math.isclose(value[data["names"][a][b]], full[i][j], rel_tol=1e-12)


def test_diff_order_2_text_and_latex(grad):
    done = grad("diff", ROSENBROCK, "--order", "2", "x=-1.5", "y=2")
    lines = done.stdout.splitlines()
    assert lines[0].startswith("∂²f/∂x² = ") and lines[0].endswith("= 1902")
    assert lines[1] == "∂²f/∂x∂y = −400·x   = 600"
    assert lines[2] == "∂²f/∂y² = 200   = 200"
    done = grad("diff", "x^3 * y", "--order", "2", "--latex", "--wrt", "y,x")
    assert done.stdout.splitlines() == [
        r"\frac{\partial^2 f}{\partial y^2} = 0",
        r"\frac{\partial^2 f}{\partial y \partial x} = 3 \cdot x^{2}",
        r"\frac{\partial^2 f}{\partial x^2} = 6 \cdot y \cdot x",
    ]


@pytest.mark.parametrize(
    "source,expected",
    [
        # by hand: 2 + 1200x² − 400y, written with the gradient's own (y − x²)
        (
            ROSENBROCK,
            {("x", "x"): "800*x^2 - 400*(y - x^2) + 2", ("x", "y"): "-400*x", ("y", "y"): "200"},
        ),
        ("x^3", {("x", "x"): "6*x"}),
        ("2*x^4", {("x", "x"): "24*x^2"}),
        ("x^3 * y", {("x", "x"): "6*y*x", ("x", "y"): "3*x^2", ("y", "y"): "0"}),
        ("-(3*x)*y", {("x", "x"): "0", ("x", "y"): "-3", ("y", "y"): "0"}),
    ],
)
def test_second_derivatives_read_as_written_by_hand(source, expected):
    formulas = symbolic.formulas(hessian.second_derivatives(parse(source)).derivation)
    assert formulas == expected


def test_rosenbrock_formula_equals_the_hand_worked_one():
    formulas = symbolic.formulas(hessian.second_derivatives(parse(ROSENBROCK)).derivation)
    x, y = sympy.symbols("x y")
    written = sympy.sympify(formulas[("x", "x")].replace("^", "**"))
    assert sympy.expand(written - (1200 * x**2 - 400 * y + 2)) == 0


# --- grad check --hessian ---------------------------------------------------------------------
def test_check_hessian(grad):
    done = grad("check", ROSENBROCK, "x=-1.5", "y=2", "--hessian", "--json")
    assert done.returncode == 0, done.stderr
    rows = strict_json(done.stdout)["hessian_check"]
    assert [(r["name"], r["wrt"], r["analytic"], r["verdict"]) for r in rows] == [
        ("x", "x", 1902.0, "good"),
        ("x", "y", 600.0, "good"),
        ("y", "y", 200.0, "good"),
    ]
    assert all(abs(r["numeric"] - r["analytic"]) < 1e-6 * abs(r["analytic"]) for r in rows)
    done = grad("check", ROSENBROCK, "x=-1.5", "y=2", "--hessian")
    assert "∂²f/∂x∂y" in done.stdout and "Hessian against central differences" in done.stdout


def test_check_hessian_at_a_kink_is_suspect(grad):
    # the gradient 2·relu(x) is continuous, the second derivative jumps from 0 to 2: the
    # difference (2h - 0) / 2h is 1, the engine's convention 0
    done = grad("check", "relu(x)^2", "x=0", "--hessian", "--json")
    assert done.returncode == 5
    (row,) = strict_json(done.stdout)["hessian_check"]
    assert row["analytic"] == 0.0 and row["numeric"] == 1.0 and row["verdict"] == "suspect"
    assert row["kinks"] == [1]


def test_check_hessian_undefined_and_sweep(grad):
    # hypot's second derivatives do not exist at the origin (its gradient is 0 by convention)
    done = grad("check", "hypot(x, y)", "x=0", "y=0", "--hessian", "--json")
    assert done.returncode == 0, done.stderr
    rows = strict_json(done.stdout)["hessian_check"]
    assert [r["verdict"] for r in rows] == ["undefined"] * 3
    assert all(r["analytic"] is None for r in rows)
    done = grad("check", "x^2", "x=1", "--hessian", "--sweep")
    assert done.returncode == 2 and "--sweep and --hessian" in done.stderr


# --- the REPL's :hessian ----------------------------------------------------------------------
def test_repl_hessian_uses_the_session(grad):
    script = "x = -1.5\ny = 2\nf = (1-x)^2 + 100*(y-x^2)^2\n:hessian f\n:hessian f --wrt y\n"
    done = grad("repl", input=script)
    assert done.returncode == 0, done.stderr
    tables = done.stdout.split("Hessian of f")[1:]
    assert len(tables) == 2
    assert "│ x │ 1902 │ 600 │" in tables[0] and "│ y │  600 │ 200 │" in tables[0]
    assert "│ y │ 200 │" in tables[1] and "1902" not in tables[1]
    done = grad("repl", input=":hessian x*y --bad\n")
    assert done.returncode == 2 and ":hessian has no option --bad" in done.stderr


def test_repl_hessian_in_a_terminal(tmp_path):
    pexpect = pytest.importorskip("pexpect")
    from conftest import grad_executable

    env = {**os.environ, "TERM": "xterm", "NO_COLOR": "1", "PROMPT_TOOLKIT_NO_CPR": "1"}
    env["GRADCLI_HISTORY"] = str(tmp_path / "history")
    child = pexpect.spawn(
        grad_executable(), ["repl"], env=env, cwd=str(tmp_path), encoding="utf-8", timeout=30
    )
    try:
        child.expect(">")
        child.send("x = 3; y = 2\r")
        child.expect(">")
        child.send(":hessian x^2 * y\r")
        child.expect("Hessian of f")
        child.expect_exact("│ 4 │ 6 │")  # row x (its name may carry a style's escapes)
        child.expect_exact("│ 6 │ 0 │")  # row y
        child.send(":quit\r")
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)


def test_a_hessian_of_many_inputs_is_drawn_for_the_first_ones_only(grad):
    formula = "+".join(f"x{i}*x{i + 1}" for i in range(40))
    bindings = [f"x{i}=1" for i in range(41)]
    shown = grad("eval", formula, *bindings, "--hessian")
    assert shown.returncode == 0, shown.stderr
    assert "(the first 12 of 41 inputs: --json gives every entry)" in shown.stdout
    assert "x12" not in shown.stdout.split("Hessian of f")[1]
    checked = grad("check", formula, *bindings, "--hessian")
    assert "761 more of 861 second derivatives not shown (0 suspect in all)" in checked.stdout
    assert checked.stdout.count("∂²f/∂") == 100
