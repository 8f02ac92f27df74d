"""Every op's local-gradient rule against a numerical derivative at its sample points."""

import math

import pytest

from gradcli.ops import CONSTANTS, FUNCTIONS, OPS

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


def test_callable_names():
    expected = {"exp", "log", "ln", "log2", "log10", "sqrt", "sin", "cos", "tan", "asin",
                "acos", "atan", "sinh", "cosh", "tanh", "sigmoid", "relu", "softplus", "abs",
                "max", "min", "pow", "step", "sign"}
    assert set(FUNCTIONS) == expected
    assert FUNCTIONS["ln"] is OPS["log"]
    assert CONSTANTS == {"pi": math.pi, "e": math.e}


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
