"""The descent loop and its optimizers, against closed forms and hand-worked steps."""

from __future__ import annotations

import math

import pytest

from gradcli.core.descend import DescendConfig, Descent, Thinned, run_to_end
from gradcli.core.engine import Tape
from gradcli.core.errors import DomainError, GradcliError, UsageError
from gradcli.core.syntax import parse

NEURON = "sigmoid(w0*x0 + w1*x1 + w2)"
NEURON_START = {"w0": 2.0, "x0": -1.0, "w1": -3.0, "x1": -2.0, "w2": -3.0}
ROSENBROCK = "(1 - x)^2 + 100*(y - x^2)^2"


def descend(formula: str, point: dict, **options):
    if "params" in options and options["params"] is not None:
        options["params"] = tuple(options["params"])
    return run_to_end(Tape(parse(formula)), point, DescendConfig(**options))


def xs(trace, i=0):
    return [s.point[i] for s in trace]


# --- SGD -------------------------------------------------------------------------------------


def test_sgd_on_a_quadratic_follows_the_closed_form_iterates():
    # f = a(x - c)²: x_k = c + (x_0 - c)(1 - 2·a·lr)^k
    a, c, x0, lr = 1.5, 2.0, -1.0, 0.1
    result, trace = descend("1.5*(x - 2)^2", {"x": x0}, lr=lr, steps=30)
    assert result.stopped == "steps" and result.steps == 30 and len(trace) == 31
    for k, x in enumerate(xs(trace)):
        assert x == pytest.approx(c + (x0 - c) * (1 - 2 * a * lr) ** k, rel=1e-12, abs=1e-15)
    assert result.last.value == pytest.approx(a * (x0 - c) ** 2 * (1 - 2 * a * lr) ** 60, rel=1e-10)


def test_sgd_on_a_two_parameter_bowl_follows_the_closed_form():
    # f = 2x² + 0.5y²: x_k = x_0(1 - 4lr)^k, y_k = y_0(1 - lr)^k
    result, trace = descend("2*x^2 + 0.5*y^2", {"x": 1.0, "y": -3.0}, lr=0.05, steps=20)
    for k, step in enumerate(trace):
        assert step.point[0] == pytest.approx(0.8**k, rel=1e-12)
        assert step.point[1] == pytest.approx(-3.0 * 0.95**k, rel=1e-12)
        assert step.norm == pytest.approx(math.hypot(4 * 0.8**k, -3 * 0.95**k), rel=1e-12)


def test_one_sgd_step_is_v_minus_rate_times_the_hand_computed_gradient():
    lr = 0.3
    result, trace = descend(NEURON, NEURON_START, params=["w0", "w1", "w2"], lr=lr, steps=1)
    # By hand: z = w0·x0 + w1·x1 + w2 = 1, s = σ(1), ∂s/∂w = s(1 − s)·(x0, x1, 1).
    s = 1 / (1 + math.exp(-1.0))
    local = s * (1 - s)
    by_hand = {"w0": local * -1.0, "w1": local * -2.0, "w2": local}
    assert trace[0].value == pytest.approx(0.7310585786300049, rel=1e-15)
    for i, name in enumerate(result.params):
        assert trace[0].gradient[i] == pytest.approx(by_hand[name], rel=1e-14)
        expected = NEURON_START[name] - lr * by_hand[name]
        assert trace[1].point[i] == pytest.approx(expected, rel=1e-15)
        # and bit for bit the float64 update v − rate·∂f/∂v of the gradient it used
        assert trace[1].point[i] == NEURON_START[name] - lr * trace[0].gradient[i]
    assert result.fixed == {"x0": -1.0, "x1": -2.0}


# --- momentum, nesterov, adam ----------------------------------------------------------------


def test_momentum_first_three_steps_by_hand():
    # f = x², x0 = 1, lr 0.1, μ 0.9: g = 2x; b1 = g0; b ← μb + g; x ← x − lr·b
    # g0 = 2, b = 2, x1 = 0.8; g1 = 1.6, b = 3.4, x2 = 0.46; g2 = 0.92, b = 3.98, x3 = 0.062
    _, trace = descend("x^2", {"x": 1.0}, optimizer="momentum", momentum=0.9, lr=0.1, steps=3)
    assert xs(trace) == pytest.approx([1.0, 0.8, 0.46, 0.062], rel=1e-14)


def test_nesterov_first_three_steps_by_hand():
    # step direction g + μb: x1 = 1 − 0.1·3.8 = 0.62; g1 = 1.24, b = 3.04, step 3.976,
    # x2 = 0.2224; g2 = 0.4448, b = 3.1808, step 3.30752, x3 = −0.108352
    _, trace = descend("x^2", {"x": 1.0}, optimizer="nesterov", momentum=0.9, lr=0.1, steps=3)
    assert xs(trace) == pytest.approx([1.0, 0.62, 0.2224, -0.108352], rel=1e-13)


def test_adam_first_steps_against_the_textbook_formula():
    # Kingma & Ba, written out here independently of the implementation's arithmetic order.
    lr, b1, b2, eps = 0.1, 0.9, 0.999, 1e-8
    _, trace = descend("x^2 + 3*x", {"x": 1.0}, optimizer="adam", lr=lr, steps=5)
    x, m, v = 1.0, 0.0, 0.0
    for t in range(1, 6):
        g = 2 * x + 3
        m = b1 * m + (1 - b1) * g
        v = b2 * v + (1 - b2) * g * g
        x = x - lr * (m / (1 - b1**t)) / (math.sqrt(v / (1 - b2**t)) + eps)
        assert trace[t].point[0] == pytest.approx(x, rel=1e-13)
    # the first step of Adam moves by lr·g/(|g| + ε), about lr
    assert trace[1].point[0] == pytest.approx(1.0 - 0.1 * 5 / (5 + 1e-8), rel=1e-15)


def test_adam_on_rosenbrock_reaches_one_one():
    result, _ = descend(ROSENBROCK, {"x": -1.5, "y": 2.0}, optimizer="adam", lr=0.05, steps=3000)
    assert result.final["x"] == pytest.approx(1.0, abs=1e-3)
    assert result.final["y"] == pytest.approx(1.0, abs=1e-3)
    assert result.last.value < 1e-6


# --- the neuron and error backpropagation ----------------------------------------------------


def test_sigmoid_neuron_trained_toward_one_rises_monotonically():
    result, trace = descend(
        NEURON, NEURON_START, params=["w0", "w1", "w2"], target=1.0, lr=0.5, steps=200
    )
    values = [s.value for s in trace]
    assert values[0] == pytest.approx(0.73, abs=0.005)
    assert all(b > a for a, b in zip(values, values[1:]))
    assert values[-1] > 0.97
    losses = [s.loss for s in trace]
    assert all(b < a for a, b in zip(losses, losses[1:]))
    # d(f − 1)²/dw = 2(f − 1)·df/dw, with df/dw0 = σ(1)(1 − σ(1))·x0 by hand
    s = 1 / (1 + math.exp(-1.0))
    assert trace[0].gradient[0] == pytest.approx(2 * (s - 1) * s * (1 - s) * -1.0, rel=1e-14)
    assert trace[0].loss == pytest.approx((s - 1) ** 2, rel=1e-14)
    assert result.fixed == {"x0": -1.0, "x1": -2.0}  # data inputs stay fixed


# --- stopping --------------------------------------------------------------------------------


def test_tol_stops_early_when_the_gradient_norm_falls_below_it():
    # x_k = 3·0.8^k, |f'| = 6·0.8^k < 1e-3 first at k = 39
    result, trace = descend("x^2", {"x": 3.0}, lr=0.1, steps=10_000, tol=1e-3)
    assert result.stopped == "converged" and result.exit_code == 0
    assert result.steps == 39 and len(trace) == 40
    assert trace[-1].norm < 1e-3 <= trace[-2].norm


def test_exit_codes_tell_the_outcomes_apart():
    not_reached, _ = descend("x^2", {"x": 3.0}, lr=0.1, steps=10, tol=1e-3)
    assert not_reached.stopped == "steps" and not_reached.exit_code == 4
    no_tol, _ = descend("x^2", {"x": 3.0}, lr=0.1, steps=10)
    assert no_tol.stopped == "steps" and no_tol.exit_code == 0


def test_too_large_a_rate_diverges_cleanly_with_a_hint():
    # x ← x − 1.5·2x = −2x: |x| doubles until x² overflows
    result, trace = descend("x^2", {"x": 1.0}, lr=1.5, steps=5000)
    assert result.stopped == "diverged" and result.exit_code == 1
    assert all(math.isfinite(s.value) for s in trace)
    assert abs(result.last.point[0]) == 2.0**result.last.step
    assert result.failed_step == result.last.step + 1
    assert "--lr 0.15" in result.hint
    assert isinstance(result.error, DomainError)


def test_domain_error_mid_run_reports_the_step_and_last_good_point():
    # log(x) at 3 with lr 5: x1 = 3 − 5/3 = 4/3, x2 = 4/3 − 5·3/4 < 0
    result, trace = descend("log(x)", {"x": 3.0}, lr=5.0, steps=100)
    assert result.stopped == "diverged"
    assert result.failed_step == 2 and result.last.step == 1
    assert result.final["x"] == pytest.approx(4 / 3, rel=1e-15)
    assert "log" in result.error.message and "x > 0" in result.error.message
    assert "smaller" not in result.reason and "--lr" in result.hint


def test_an_undefined_gradient_mid_run_diverges():
    # ∂/∂x (x^y + x) = y·x^(y−1) + 1 = 3 at (1, 2), so x1 = −2: x^y = 4 is defined but its
    # derivative in y, x^y·ln x, is not.
    result, _ = descend("x^y + x", {"x": 1.0, "y": 2.0}, lr=1.0, steps=10)
    assert result.stopped == "diverged" and result.failed_step == 1
    assert result.error.message == "the gradient with respect to y is undefined"


def test_a_bad_start_raises_rather_than_diverging():
    with pytest.raises(DomainError):
        list(Descent(Tape(parse("log(x)")), {"x": -1.0}, DescendConfig()))
    with pytest.raises(GradcliError, match="starting point"):
        list(Descent(Tape(parse("x^y")), {"x": -2.0, "y": 2.0}, DescendConfig()))


def test_maximize_climbs():
    # f = 1 − (x − 2)², f' = −2(x − 2): ascent x ← x + lr·f' → x_k = 2 − 2(1 − 2lr)^k
    result, trace = descend("1 - (x - 2)^2", {"x": 0.0}, lr=0.1, steps=25, maximize=True)
    assert trace[1].point[0] == pytest.approx(0.4, rel=1e-15)
    for k, x in enumerate(xs(trace)):
        assert x == pytest.approx(2 - 2 * 0.8**k, rel=1e-12)
    assert result.last.value > result.first.value


def test_interruption_still_gives_a_summary():
    descent = Descent(Tape(parse("x^2")), {"x": 1.0}, DescendConfig(steps=1000))
    for step in descent:
        if step.step == 7:
            break  # as if Ctrl-C arrived here
    result = descent.result(interrupted=True)
    assert result.stopped == "interrupted" and result.steps == 7 and result.exit_code == 130


@pytest.mark.parametrize(
    "options",
    [
        {"lr": 0.0},
        {"lr": -1.0},
        {"lr": math.inf},
        {"steps": -1},
        {"tol": -1.0},
        {"momentum": 1.0},
        {"beta1": 1.0},
        {"beta2": -0.1},
        {"eps": 0.0},
        {"optimizer": "lbfgs"},
        {"maximize": True, "target": 1.0},
        {"params": ("nope",)},
    ],
)
def test_bad_settings_are_usage_errors(options):
    with pytest.raises(UsageError):
        Descent(Tape(parse("x^2")), {"x": 1.0}, DescendConfig(**options))


def test_thinned_trace_stays_bounded_and_keeps_the_start():
    _, trace = descend("x^2", {"x": 1.0}, lr=0.001, steps=5000)
    thin = Thinned(cap=100)
    for s in trace:
        thin.add(s)
    assert len(thin.steps) <= 101 and thin.steps[0].step == 0
    assert all(s.step % thin.stride == 0 for s in thin.steps)


def test_an_update_that_overflows_diverges():
    # g = 1e300, lr·g = 1e310 is beyond the largest double
    result, trace = descend("1e300*x", {"x": 1.0}, lr=1e10, steps=5)
    assert result.stopped == "diverged" and result.failed_step == 1 and len(trace) == 1
    assert result.error.message == "the step sent x to -inf"


def test_a_run_that_climbs_while_minimising_gets_a_hint():
    # x ← x − 1.5·2x = −2x: f grows but stays finite for 10 steps
    result, trace = descend("x^2", {"x": 1.0}, lr=1.5, steps=10)
    assert result.stopped == "steps" and trace[-1].value == 4.0**10
    assert "--lr 0.15" in result.hint
