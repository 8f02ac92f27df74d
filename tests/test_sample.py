"""The sampling behind `grad plot`: the compiled sweeps, bit for bit the engine's numbers, gaps
where f is undefined, checked against SymPy."""

import pytest
import sympy

from gradcli.core import sample as sample_module
from gradcli.core.engine import Tape
from gradcli.core.errors import DomainError, UsageError
from gradcli.core.sample import axis, is_range, mark, parse_range, sample
from gradcli.core.syntax import parse


def tape(source: str) -> Tape:
    return Tape(parse(source))


def test_parse_range():
    assert parse_range("x=-2:2") == ("x", -2.0, 2.0)
    assert parse_range(" w0 = 1e-3 : .5 ") == ("w0", 1e-3, 0.5)
    assert is_range("x=-2:2") and not is_range("x=-2")
    for bad in ("x=2:1", "x=1:1", "x=a:2", "x=1:2:3", "=1:2", "x=1e999:2"):
        with pytest.raises(UsageError):
            parse_range(bad)


def test_axis_is_even_and_ends_exactly():
    a = axis("x", -0.1, 0.7, 9)
    assert a.points[0] == -0.1 and a.points[-1] == 0.7 and len(a.points) == 9
    assert all(b > c for b, c in zip(a.points[1:], a.points[:-1]))
    with pytest.raises(UsageError):
        axis("x", 0, 1, 1)


SOURCE = "log(x) * sin(3*x) + relu(x - 1) * y^2 + sqrt(x)"


def test_samples_equal_the_engine_bit_for_bit_with_gaps():
    t = tape(SOURCE)
    a = axis("x", -1.0, 3.0, 41)
    s = sample(t, [a], {"y": 0.7})
    for x, value, (grad,) in zip(a.points, s.values, s.grads):
        if x <= 0:  # log and sqrt are undefined: a gap, not an error
            assert value is None and grad is None
            with pytest.raises(DomainError):
                t.evaluate({"x": x, "y": 0.7})
            continue
        ev = t.evaluate({"x": x, "y": 0.7})
        assert value == ev.value and grad == ev.gradient(["x"])["x"]
    assert "log" in s.first_error.message


def test_samples_agree_with_sympy():
    x, y = sympy.symbols("x y")
    f = sympy.log(x) * sympy.sin(3 * x) + sympy.Max(x - 1, 0) * y**2 + sympy.sqrt(x)
    a, b = axis("x", 0.05, 3.0, 13), axis("y", -1.0, 1.0, 5)
    s = sample(tape(SOURCE), [a, b], {})
    k = 0
    for yv in b.points:
        for xv in a.points:  # the first axis varies fastest
            at = {x: sympy.Float(xv, 30), y: sympy.Float(yv, 30)}
            assert s.values[k] == pytest.approx(float(f.subs(at)), rel=1e-12)
            if xv != 1.0:  # relu's kink
                gx, gy = s.grads[k]
                assert gx == pytest.approx(float(sympy.diff(f, x).subs(at)), rel=1e-9, abs=1e-12)
                assert gy == pytest.approx(float(sympy.diff(f, y).subs(at)), rel=1e-9, abs=1e-12)
            k += 1


def test_kinks_follow_the_engine():
    s = sample(tape("relu(x) + abs(x)"), [axis("x", -1.0, 1.0, 3)], {})
    assert s.values == [1.0, 0.0, 2.0]
    assert [g[0] for g in s.grads] == [-1.0, 0.0, 2.0]  # relu'(0) = abs'(0) = 0


def test_the_graph_is_compiled_once_and_the_tape_only_reruns_failures(monkeypatch):
    compiled, evaluated = [], []
    real_compile, real_evaluate = sample_module.compile_graph, Tape.evaluate
    monkeypatch.setattr(
        sample_module, "compile_graph", lambda *a: compiled.append(1) or real_compile(*a)
    )
    monkeypatch.setattr(
        Tape, "evaluate", lambda self, p: evaluated.append(1) or real_evaluate(self, p)
    )
    monkeypatch.setattr("gradcli.core.syntax.parse", lambda *a: pytest.fail("parsed again"))
    t = tape("sqrt(x) * y")
    s = sample(t, [axis("x", -1.0, 1.0, 21), axis("y", 0.0, 1.0, 30)], {})
    assert compiled == [1]
    assert len(evaluated) == 10 * 30  # only the points with x < 0
    assert sum(v is None for v in s.values) == 10 * 30


def test_large_graphs_use_the_tape_with_the_same_numbers(monkeypatch):
    t = tape(SOURCE)
    axes = [axis("x", -1.0, 3.0, 17)]
    fast = sample(t, axes, {"y": 2.0})
    monkeypatch.setattr(sample_module, "MAX_NODES", 1)
    slow = sample(t, axes, {"y": 2.0})
    assert (slow.values, slow.grads) == (fast.values, fast.grads)
    assert None in fast.values


def test_undefined_everywhere_is_an_error_naming_the_reason():
    with pytest.raises(DomainError) as caught:
        sample(tape("log(x)"), [axis("x", -2.0, -1.0, 5)], {})
    assert "undefined at every sampled point of x=-2:-1" in caught.value.message
    assert "log(-2)" in caught.value.hint


def test_mark_is_the_engines_evaluation():
    m = mark(tape("x^2 * y"), {"x": 1.5, "y": -2.0}, ["x", "y"])
    assert m.value == -4.5 and m.grads == (-6.0, 2.25)
    with pytest.raises(DomainError):
        mark(tape("log(x)"), {"x": -1.0}, ["x"])
