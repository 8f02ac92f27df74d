"""The op table: every op's rules against numerical derivatives at its samples, its lowerings
against its functions, the checks `register` makes, and every fact derived from the table
(no list of names written here)."""

import math
import re
import sys

import pytest
from mpmath import mp, mpf

from gradcli.core.compiled import build
from gradcli.core.ops import CONSTANTS, FUNCTIONS, NAMESPACE, OPS, register
from gradcli.core.syntax import parse

CASES = [(op, point) for op in OPS.values() for point in op.samples]


def numerical_partial(op, point, i, h=1e-6):
    up = list(point)
    down = list(point)
    up[i] += h
    down[i] -= h
    return (op.forward(*up) - op.forward(*down)) / (2 * h)


@pytest.mark.parametrize("op,point", CASES, ids=[f"{op.name}{p}" for op, p in CASES])
def test_partials_match_central_difference(op, point):
    out = op.forward(*point)
    analytic = op.partials(*point, out)
    assert len(analytic) == len(point)
    for i, value in enumerate(analytic):
        assert value == pytest.approx(numerical_partial(op, point, i), rel=1e-6, abs=1e-8)


@pytest.mark.parametrize("op", OPS.values(), ids=lambda op: op.name)
def test_every_op_is_fully_described(op):
    assert op.doc and op.symbol and op.role and op.samples and op.derivative()
    assert len(op.local) == (op.arity or 1)
    for point in op.samples:
        assert op.arity is None and len(point) >= op.min_args or len(point) == op.arity


CALLABLE = [(name, op) for op in OPS.values() for name in op.call_names]


@pytest.mark.parametrize("name,op", CALLABLE, ids=[name for name, _ in CALLABLE])
def test_every_call_name_parses_to_its_op(name, op):
    count = op.arity or op.min_args
    args = ", ".join(f"a{i}" for i in range(count))
    graph = parse(f"{name}({args})")
    assert graph.ops[graph.output] == op.name
    assert len(graph.args[graph.output]) == count


def test_every_op_a_formula_cannot_write_infix_has_a_call_name():
    for op in OPS.values():
        assert op.infix or op.call_names or op.name == "id", op.name
    assert FUNCTIONS == {n: op for op in OPS.values() for n in op.call_names}
    assert FUNCTIONS["ln"] is OPS["log"]
    assert CONSTANTS == {"pi": math.pi, "e": math.e}


def test_the_generated_code_namespace_is_built_from_the_table():
    for op in OPS.values():
        for name, value in op.py_names.items():
            assert NAMESPACE[name] is value
    assert set(NAMESPACE) == {n for op in OPS.values() for n in op.py_names}


@pytest.mark.parametrize(
    "op", [op for op in OPS.values() if op.arity is not None], ids=lambda op: op.name
)
def test_lowerings_give_the_functions_numbers_bit_for_bit(op):
    """The inline forward and grads expressions against the functions the engine calls, at the
    samples and at edge upstream gradients (the generated code runs the former)."""
    slots = [f"x{i}" for i in range(op.arity)]
    forward = op.py.format(*slots, tmp="t") if op.py else f"F({', '.join(slots)})"
    if op.py_grads:
        sent = ", ".join(t.format(*slots, up="up", out="out") for t in op.py_grads) + ","
    else:
        sent = f"*G(up, {', '.join(slots)}, out),"
    source = (
        f"def f({', '.join(slots)}):\n    return {forward}\n"
        f"def g(up, {', '.join(slots)}, out):\n    return ({sent})\n"
    )
    namespace = {**NAMESPACE, "F": op.forward, "G": op.grads}
    f, g = build(source, namespace, "f"), namespace["g"]
    for point in op.samples:
        out = op.forward(*point)
        assert same(f(*point), out)
        for up in UPSTREAMS:
            assert all(map(same, g(up, *point, out), op.grads(up, *point, out))), (point, up)


UPSTREAMS = (1.0, -2.5, 0.0, -0.0, math.inf, -math.inf, math.nan, 1e300, -5e-324)


def same(a: float, b: float) -> bool:
    """Bit-for-bit equal floats (nan equals nan; 0.0 and -0.0 differ)."""
    return math.copysign(1.0, a) == math.copysign(1.0, b) and (a == b or a != a and b != b)


def _variant(**changes):
    """A copy of cbrt under a new name, with some facts changed."""
    return OPS["cbrt"]._replace(**{"name": "cbrt_test", "call_names": ("cbrt_test",), **changes})


@pytest.mark.parametrize(
    "changes,problem",
    [
        ({"call_names": ("cube root",)}, "not an identifier"),
        ({"call_names": ("if",)}, "not an identifier"),
        ({"call_names": ()}, "no call_names"),
        ({"py": "cube({0})"}, "'cube', which is not in its py_names"),
        ({"py_grads": ("{up} / {1}",)}, "uses ['1']"),
        ({"py_grads": ("{up}", "{up}")}, "one expression per input"),
        ({"partials": lambda x, out: (1.0 / (2.0 * out * out),)}, "central difference"),
        ({"grads": lambda up, x, out: (up / (3.0 * out),)}, "grads sends"),
        (
            {"samples": ((0.0,),), "partials": lambda x, out: (1.0 / (3.0 * out * out),)},
            "raises ZeroDivisionError at (0.0,)",
        ),
        ({"samples": ()}, "no samples"),
        ({"local": ()}, "one formula per input"),
        ({"py_names": {"cbrt": math.sqrt}}, "another value"),
    ],
)
def test_register_refuses_an_op_whose_facts_do_not_hold(changes, problem):
    before = dict(OPS)
    with pytest.raises(ValueError, match=re.escape(problem)):
        register(_variant(**changes))
    assert OPS == before
    with pytest.raises(ValueError, match="duplicate"):
        register(OPS["cbrt"])


def test_register_refuses_a_routing_op_that_lets_inf_through_a_closed_gate():
    leaky = OPS["relu"]._replace(
        name="relu_test",
        call_names=("relu_test",),
        grads=lambda up, x, out: (up * (1.0 if x > 0.0 else 0.0),),
    )
    with pytest.raises(ValueError, match="routing op sends"):
        register(leaky)


@pytest.mark.parametrize("x", [-800.0, -30.0, -1.5, 0.0, 2.0, 40.0, 800.0])
def test_sigmoid_and_softplus_are_stable(x):
    sig = OPS["sigmoid"].forward(x)
    soft = OPS["softplus"].forward(x)
    assert 0.0 <= sig <= 1.0 and math.isfinite(soft)
    if abs(x) < 30:
        assert sig == pytest.approx(1 / (1 + math.exp(-x)), rel=1e-14)
        assert soft == pytest.approx(math.log(1 + math.exp(x)), rel=1e-12)


def test_kinks_follow_pytorch():
    assert OPS["relu"].partials(0.0, 0.0) == (0.0,)
    assert OPS["abs"].partials(0.0, 0.0) == (0.0,)
    assert OPS["max"].partials(2.0, 2.0, 2.0) == (0.5, 0.5)
    assert OPS["min"].partials(1.0, 3.0, 1.0, 1.0) == (0.5, 0.0, 0.5)
    assert OPS["max"].partials(2.0, -1.0, 2.0) == (1.0, 0.0)


KEEPERS = [op for op in OPS.values() if op.keeps_nonfinite]


@pytest.mark.parametrize("op", KEEPERS, ids=lambda op: op.name)
def test_ops_said_to_keep_a_non_finite_input_never_give_a_finite_result(op):
    finite = [0.0, -0.0, 1.0, -1.0, 0.5, -2.5, 3.0, 1e-300, 1e300, -1e300]
    for position in range(op.arity or 2):
        for bad in (math.inf, -math.inf, math.nan):
            for other in finite + [math.inf, -math.inf, math.nan]:
                args = [other] * (op.arity or 2)
                args[position] = bad
                try:
                    out = op.forward(*args)
                except (ArithmeticError, ValueError):
                    continue
                assert not math.isfinite(out), (op.name, args, out)


def _atan2_d(y, x):
    return [x / (x * x + y * y), -y / (x * x + y * y)]


def _hypot_d(x, y):
    return [x / mp.sqrt(x * x + y * y), y / mp.sqrt(x * x + y * y)]


MPMATH = {  # the ops added as the proof that adding one touches only the table:
    # (value, exact partial derivatives, points), in mpmath at 50 digits
    "cbrt": (
        lambda x: mp.sign(x) * mp.cbrt(abs(x)),
        lambda x: [1 / (3 * mp.cbrt(x * x))],
        [(-27.0,), (0.001,), (5.5,), (-1e-300,)],
    ),
    "erf": (
        mp.erf,
        lambda x: [2 / mp.sqrt(mp.pi) * mp.exp(-x * x)],
        [(-2.5,), (0.1,), (0.9,), (4.0,)],
    ),
    "atan2": (
        mp.atan2,
        _atan2_d,
        [(1.0, 2.0), (-0.5, -1.5), (2.0, -1.0), (-1e-5, -3.0), (1e200, 1e199)],
    ),
    "hypot": (
        lambda x, y: mp.sqrt(x * x + y * y),
        _hypot_d,
        [(3.0, 4.0), (-0.5, 1.5), (1e200, -3e200)],
    ),
}
MPMATH_CASES = [(name, point) for name, (_, _, points) in MPMATH.items() for point in points]


@pytest.mark.parametrize("name,point", MPMATH_CASES, ids=[f"{n}{p}" for n, p in MPMATH_CASES])
def test_the_new_ops_against_mpmath(name, point):
    mp.dps = 50
    f, partials, _ = MPMATH[name]
    op = OPS[name]
    args = [mpf(v) for v in point]
    out = op.forward(*point)
    assert abs(out - float(f(*args))) <= math.ulp(float(f(*args)))
    for local, exact in zip(op.partials(*point, out), partials(*args), strict=True):
        assert local == pytest.approx(float(exact), rel=4 * sys.float_info.epsilon, abs=0.0)
    # and against the central difference at the op's own samples: see the first test


def test_the_new_ops_through_the_installed_command(grad):
    from conftest import strict_json

    mp.dps = 50
    result = grad("eval", "atan2(y, x) + hypot(x, y) + cbrt(x) * erf(y)", "x=2", "y=-1", "--json")
    assert result.returncode == 0, result.stderr
    got = strict_json(result.stdout)
    x, y = mpf(2), mpf(-1)
    value = mp.atan2(y, x) + mp.sqrt(x * x + y * y) + mp.cbrt(x) * mp.erf(y)
    d_x = -y / (x * x + y * y) + x / mp.sqrt(x * x + y * y) + mp.erf(y) / (3 * mp.cbrt(x * x))
    d_y = (
        x / (x * x + y * y)
        + y / mp.sqrt(x * x + y * y)
        + mp.cbrt(x) * 2 / mp.sqrt(mp.pi) * mp.exp(-y * y)
    )
    assert got["value"] == pytest.approx(float(value), rel=1e-15)
    assert got["gradient"]["x"] == pytest.approx(float(d_x), rel=1e-15)
    assert got["gradient"]["y"] == pytest.approx(float(d_y), rel=1e-15)
    listed = grad("ops").stdout
    for name, op in CALLABLE:
        assert f"{name}(" in listed and op.name in listed
