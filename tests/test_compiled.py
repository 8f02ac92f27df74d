"""The compiled fast path gives exactly the plain engine's numbers (value and every gradient),
and fails exactly where the plain engine reports an error."""

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gradcli.core.compiled import FastPathFailed, compile_graph, generate
from gradcli.core.engine import Tape
from gradcli.core.errors import DomainError
from gradcli.core.ops import OPS
from gradcli.core.syntax import parse


def same(a: float, b: float) -> bool:
    """Bit-for-bit equal floats (nan equals nan; 0.0 and -0.0 differ)."""
    return math.copysign(1.0, a) == math.copysign(1.0, b) and (a == b or a != a and b != b)


def assert_same_as_tape(text: str, point: dict, wrt=None) -> None:
    graph = parse(text)
    wrt = list(graph.inputs) if wrt is None else wrt
    tape = Tape(graph)
    fixed = {n: v for n, v in point.items() if n not in wrt}
    run = compile_graph(graph, wrt, fixed)
    try:
        ev = tape.evaluate(point)
    except DomainError:
        with pytest.raises(FastPathFailed):
            run(*(point[n] for n in wrt))
        return
    value, grads = run(*(point[n] for n in wrt))
    assert same(value, ev.value), (text, value, ev.value)
    for name, g in zip(wrt, grads, strict=True):
        assert same(g, ev.gradient()[name]), (text, name, g, ev.gradient()[name])


def _call(op, names):
    if op.infix and op.arity == 2:
        return f"{names[0]} {op.symbol} {names[1]}"
    if op.infix:
        return f"{op.symbol}{names[0]}"
    return f"{op.call_names[0]}({', '.join(names)})"


CASES = [(op, p) for op in OPS.values() if op.name != "id" for p in op.samples]


@pytest.mark.parametrize("op,point", CASES, ids=[f"{op.name}{p}" for op, p in CASES])
def test_every_op_matches_the_plain_engine(op, point):
    names = [f"a{i}" for i in range(len(point))]
    assert_same_as_tape(_call(op, names), dict(zip(names, point)))


@pytest.mark.parametrize(
    "text,point",
    [
        ("log(x)", {"x": -1.0}),
        ("x / y", {"x": 1.0, "y": 0.0}),
        ("x * y", {"x": 1e200, "y": 1e200}),
        ("1 / (x * y)", {"x": 1e200, "y": 1e200}),  # an inf that does not reach the output
        ("exp(x)", {"x": 1000.0}),
        ("x ^ y", {"x": -2.0, "y": 0.5}),
        ("sqrt(x)", {"x": 0.0}),  # infinite local gradient
        ("relu(x) * sqrt(y)", {"x": -1.0, "y": 0.0}),  # 0 × inf: undefined in both
        ("(x - 3) ^ 2", {"x": 1.0}),
        ("x ^ n", {"x": -2.0, "n": 3.0}),  # undefined gradient wrt n
        ("max(x, y, x)", {"x": 2.0, "y": 2.0}),
        ("abs(x) + relu(-x)", {"x": 0.0}),
        ("-(x - x)", {"x": 1.0}),  # -0.0 handling
        ("x", {"x": 1.0}),
        ("q = x * y; q * q - q", {"x": 3.0, "y": -4.0}),
        # an inf that an op turns finite, on its way to a node that is tested
        ("tanh(x * y) + z", {"x": 1e300, "y": 1e300, "z": 1.0}),
        ("sigmoid(x * y) * z", {"x": 1e300, "y": 1e300, "z": 1.0}),
        ("relu(-(x * y)) - z", {"x": 1e300, "y": 1e300, "z": 1.0}),
        ("exp(-(x * y)) + z", {"x": 1e300, "y": 1e300, "z": 1.0}),
        ("atan(x * y) + z", {"x": 1e300, "y": 1e300, "z": 1.0}),
        ("z / (x * y) + z", {"x": 1e300, "y": 1e300, "z": 1.0}),
        ("max(x * y, z) + z", {"x": -1e300, "y": 1e300, "z": 1.0}),
        ("sin(x * y) + z", {"x": 1e300, "y": 1e300, "z": 1.0}),  # sin(inf) is an error
        ("tanh(x) + y", {"x": math.inf, "y": 1.0}),
        ("tanh(x + y) + y", {"x": math.nan, "y": 1.0}),
    ],
)
def test_edge_cases(text, point):
    assert_same_as_tape(text, point)


def test_fixed_inputs_are_constants_and_wrt_subsets():
    text = "1/(1 + exp(-(w0*x0 + w1*x1 + w2)))"
    point = dict(w0=2.0, x0=-1.0, w1=-3.0, x1=-2.0, w2=-3.0)
    assert_same_as_tape(text, point, wrt=["w0", "w1", "w2"])
    assert_same_as_tape(text, point, wrt=["w2"])
    source, _ = generate(parse(text), ["w2"], {k: v for k, v in point.items() if k != "w2"})
    assert "def run(v" in source and "(-3.0)" in source


def test_generated_source_holds_no_user_text():
    graph = parse("evil_name_import_os = x * 2; evil_name_import_os + x")
    source, _ = generate(graph, ["x"])
    assert "evil" not in source and "import" not in source


# Every op a formula can write, from the table: functions of one argument and "-"; infix
# operators and functions of two or more arguments.
UNARY = [op.call_names[0] for op in OPS.values() if op.arity == 1 and op.call_names] + ["-"]
CALLED = [op.call_names[0] for op in OPS.values() if op.arity != 1 and not op.infix]
BINARY = [op.symbol for op in OPS.values() if op.infix and op.arity == 2] + CALLED


@st.composite
def programs(draw, unary=UNARY, binary=BINARY, most=25):
    """A random DAG as a program of named intermediates; values are shared and reused."""
    names = ["x", "y", "z"]
    lines = []
    for i in range(draw(st.integers(1, most))):
        if draw(st.booleans()):
            f = draw(st.sampled_from(unary))
            a = draw(st.sampled_from(names))
            expr = f"-{a}" if f == "-" else f"{f}({a})"
        else:
            f = draw(st.sampled_from(binary))
            a, b = draw(st.sampled_from(names)), draw(st.sampled_from(names + ["2", "0.5"]))
            expr = f"{f}({a}, {b})" if f in CALLED else f"{a} {f} {b}"
        lines.append(f"t{i} = {expr}")
        names.append(f"t{i}")
    return "\n".join(lines)


@settings(max_examples=200, deadline=None)
@given(
    programs(),
    st.lists(st.floats(-3, 3), min_size=3, max_size=3),
    st.sets(st.sampled_from(["x", "y", "z"]), min_size=1),
)
def test_random_programs_match_the_plain_engine_bit_for_bit(program, coords, wrt):
    graph = parse(program)
    point = dict(zip(["x", "y", "z"], coords))
    point = {n: point[n] for n in graph.inputs}
    wanted = [n for n in ["x", "y", "z"] if n in wrt and n in graph.inputs]
    if not wanted:
        return
    assert_same_as_tape(program, point, wanted)


@pytest.mark.parametrize("x", [math.inf, -math.inf, math.nan])
def test_a_non_finite_parameter_fails_in_both(x):
    tape = Tape(parse("exp(x) + 1"))
    with pytest.raises(DomainError, match="not a finite number"):
        tape.forward({"x": x})
    with pytest.raises(FastPathFailed):
        compile_graph(parse("exp(x) + 1"), ["x"])(x)


EXTREME = st.sampled_from(
    [
        0.0,
        -0.0,
        1.0,
        -2.5,
        1e-300,
        1e154,
        -1e154,
        1e300,
        -1e300,
        1.7e308,
        math.inf,
        -math.inf,
        math.nan,
    ]
)


@settings(max_examples=300, deadline=None)
@given(
    programs(["tanh", "sigmoid", "relu", "atan", "exp", "sin", "-"], ["+", "-", "*", "/"], 8),
    st.lists(EXTREME, min_size=3, max_size=3),
    st.sets(st.sampled_from(["x", "y", "z"]), min_size=1),
)
def test_random_programs_fail_exactly_where_the_plain_engine_does(program, coords, wrt):
    """Values that overflow (and non-finite parameters) reach the output, vanish in an op
    like tanh or 1/x, or stop at an error: the narrowed finiteness test must see every case."""
    graph = parse(program)
    point = dict(zip(["x", "y", "z"], coords))
    wanted = [n for n in ["x", "y", "z"] if n in wrt and n in graph.inputs]
    if not wanted:
        return
    point = {
        n: point[n] if n in wanted or math.isfinite(point[n]) else 1.0 for n in graph.inputs
    }  # a data input is always finite
    assert_same_as_tape(program, point, wanted)
