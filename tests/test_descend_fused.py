"""The loop around the graph's generated sweeps gives exactly the trace of the loop that calls
the gradient function (every field of every Step, bit for bit) and the same ending: why it
stopped, at which step, with which error and hint. The second is the path of graphs above
compiled.MAX_NODES (the tape's sweeps) and of the steps after one the sweeps cannot compute;
wrapping the gradient function selects it. Both are one source with the optimizer's update
written once, so these tests are regression checks of that construction."""

from __future__ import annotations

import gc
import signal
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gradcli.core.descend import DescendConfig, Descent, loop_source, make_gradient_fn
from gradcli.core.engine import Tape
from gradcli.core.errors import GradcliError
from gradcli.core.optimizers import OPTIMIZERS as OPTIMIZER_CLASSES
from gradcli.core.syntax import parse


def bits(value):
    """Floats by their bits (0.0 and -0.0 differ), recursively through tuples."""
    if isinstance(value, float):
        return struct.pack("<d", value)
    if isinstance(value, tuple):
        return tuple(bits(v) for v in value)
    return value


def outcome(descent: Descent):
    """The whole trace and the result, or the error the first step raised."""
    try:
        trace = [bits(step) for step in descent]
    except GradcliError as exc:
        return type(exc), exc.message, exc.hint
    result = descent.result()
    error = result.error and (type(result.error), result.error.message, result.error.hint)
    return (
        trace,
        result.stopped,
        result.reason,
        result.failed_step,
        result.hint,
        error,
        bits(result.first),
        bits(result.last),
    )


def both(text: str, point: dict, config: DescendConfig):
    """(the sweeps' loop, the loop calling the gradient function) for the same run."""
    tape = Tape(parse(text))
    fast = Descent(tape, point, config)
    assert len(fast.loops) == 2  # the sweeps' loop, then the one calling the gradient
    gradient = make_gradient_fn(tape, point, config.params or tuple(tape.graph.inputs))
    plain = Descent(tape, point, config, gradient_fn=lambda xs: gradient(xs))
    assert len(plain.loops) == 1
    return outcome(fast), outcome(plain)


def assert_same_run(text: str, point: dict, **options):
    fast, plain = both(text, point, DescendConfig(**options))
    assert fast == plain
    return fast


UNARY = ["sin", "cos", "tanh", "exp", "sigmoid", "log", "sqrt", "relu", "abs", "-"]
BINARY = ["+", "-", "*", "/", "^", "max"]


@st.composite
def formulas(draw):
    """A random DAG of named intermediates over x, y, z: smooth and kinked ops, ops with a
    domain (log, sqrt, /, ^) and ops that overflow (exp, *), so runs also fail midway."""
    names = ["x", "y", "z"]
    lines = []
    for i in range(draw(st.integers(1, 12))):
        if draw(st.booleans()):
            f, a = draw(st.sampled_from(UNARY)), draw(st.sampled_from(names))
            expr = f"-{a}" if f == "-" else f"{f}({a})"
        else:
            f = draw(st.sampled_from(BINARY))
            a, b = draw(st.sampled_from(names)), draw(st.sampled_from(names + ["2", "0.5"]))
            expr = f"{f}({a}, {b})" if f == "max" else f"{a} {f} {b}"
        lines.append(f"t{i} = {expr}")
        names.append(f"t{i}")
    return "\n".join(lines)


@st.composite
def configs(draw, params):
    objective = draw(st.sampled_from(["min", "max", "target"]))
    return DescendConfig(
        params=params,
        optimizer=draw(st.sampled_from(sorted(OPTIMIZER_CLASSES))),
        lr=draw(st.sampled_from([1e-3, 0.1, 0.7, 3.0, 50.0])),
        steps=draw(st.integers(0, 40)),
        tol=draw(st.sampled_from([None, 1e-3, 0.5])),
        maximize=objective == "max",
        target=draw(st.floats(-3, 3)) if objective == "target" else None,
        momentum=draw(st.sampled_from([0.0, 0.5, 0.9])),
        beta1=draw(st.sampled_from([0.0, 0.5, 0.9])),  # lerp's two branches
        beta2=draw(st.sampled_from([0.0, 0.999])),
        eps=draw(st.sampled_from([1e-8, 0.5])),
    )


@settings(max_examples=400, deadline=None)
@given(st.data())
def test_random_runs_are_the_same_in_both_loops(data):
    text = data.draw(formulas())
    inputs = list(parse(text).inputs)
    params = tuple(data.draw(st.lists(st.sampled_from(inputs), min_size=1, unique=True)))
    point = {n: data.draw(st.floats(-3, 3)) for n in inputs}
    fast, plain = both(text, point, data.draw(configs(params)))
    assert fast == plain


# Each ending, with what SGD makes of it (the other optimizers may end otherwise).
ENDINGS = [
    ("x^2", {"x": 1.0}, {"lr": 1.5, "steps": 5000}, "f overflows"),
    ("log(x)", {"x": 3.0}, {"lr": 5.0}, "f is undefined"),
    ("1e300*x", {"x": 1.0}, {"lr": 1e10}, "the update overflowed"),
    ("x^y + x", {"x": 1.0, "y": 2.0}, {"lr": 1.0}, "the gradient with respect to y is undefined"),
    ("1/x", {"x": 1.0}, {"lr": 1e-3, "steps": 50, "maximize": True}, "took all 50 steps"),
    # x ← −3x: the squared error overflows long before its gradient does
    ("0.001 * x", {"x": 1.0}, {"lr": 2e6, "target": 0.0, "steps": 5000}, "overflows at f"),
    ("x^2", {"x": 3.0}, {"lr": 0.1, "steps": 10_000, "tol": 1e-3}, "fell below --tol"),
    (
        "(x - 1)^2 + y^2",
        {"x": 0.0, "y": 1.0},
        {"lr": 0.01, "steps": 50, "target": 0.5},
        "took all 50 steps",
    ),
    # the gradient -0.0 at -0.0: the signs of zeros in the point and the momentum buffer
    ("relu(x)", {"x": -0.0}, {"steps": 3, "maximize": True}, "took all 3 steps"),
]


@pytest.mark.parametrize("optimizer", sorted(OPTIMIZER_CLASSES))
@pytest.mark.parametrize("text,point,options,reason", ENDINGS)
def test_endings_are_the_same_in_both_loops(optimizer, text, point, options, reason):
    fast = assert_same_run(text, point, optimizer=optimizer, **options)
    if optimizer == "sgd":
        assert reason in fast[2], fast[2]


def test_the_fused_loop_is_entered_and_a_failure_hands_back_at_that_step():
    # x ← −2x each step: x² overflows at step 512 or so, well inside the generated loop
    fast = assert_same_run("x^2", {"x": 1.0}, lr=1.5, steps=5000)
    trace, stopped, reason, failed = fast[:4]
    assert stopped == "diverged" and failed == len(trace) > 100 and "f overflows" in reason


def test_a_bad_start_raises_the_same_error():
    fast = assert_same_run("log(x)", {"x": -1.0})
    assert fast[0].__name__ == "DomainError"
    fast = assert_same_run("x^y", {"x": -2.0, "y": 2.0})
    assert "starting point" in fast[1]


def test_ctrl_c_inside_the_generated_loop_keeps_the_last_step_seen():
    descent = Descent(
        Tape(parse("sigmoid(w*x + b)")),
        {"w": 0.5, "x": 2.0, "b": 0.1},
        DescendConfig(lr=1e-3, steps=10**7),
    )
    assert len(descent.loops) == 2
    seen = []

    def interrupt(signum, frame):
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGALRM, interrupt)
    gc.disable()  # a collector callback (hypothesis has one) would swallow the interrupt
    signal.setitimer(signal.ITIMER_REAL, 0.05)
    try:
        with pytest.raises(KeyboardInterrupt):
            for step in descent:
                seen.append(step)
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        gc.enable()
    result = descent.result(interrupted=True)
    assert len(seen) > 10 and result.stopped == "interrupted"
    assert result.last == seen[-1] and result.steps == len(seen) - 1
    assert result.reason == f"interrupted after {len(seen) - 1} steps"


def test_the_generated_loop_holds_no_user_text():
    text = "evil_name_import_os = w * 2; sigmoid(evil_name_import_os + b)"
    tape = Tape(parse(text))
    config = DescendConfig(optimizer="adam", target=0.5, tol=1e-9)
    gradient = make_gradient_fn(tape, {"w": 1.0, "b": 0.0}, ("w", "b"))
    source, _ = loop_source(gradient.sweeps, config)
    assert "evil" not in source and "import" not in source
    assert "def loop(descent, k, xs, opt, gradient):" in source


def test_graphs_above_the_compiled_limit_use_the_plain_loop(monkeypatch):
    import gradcli.core.descend as descend

    monkeypatch.setattr(descend, "MAX_NODES", 3)
    descent = Descent(
        Tape(parse("sin(x) * cos(y) + x")), {"x": 1.0, "y": 2.0}, DescendConfig(steps=5)
    )
    assert len(descent.loops) == 1 and len(list(descent)) == 6
