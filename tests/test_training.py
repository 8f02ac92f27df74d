"""Descent on data (gradcli/core/training.py) against plain-Python implementations of the same
gradient descent, written here from the textbook formulas, not from gradcli's code."""

import math
import random

import pytest

from gradcli.core import training
from gradcli.core.descend import DescendConfig, Descent
from gradcli.core.engine import Tape
from gradcli.core.errors import DomainError, UsageError
from gradcli.core.syntax import parse

NEURON = "sigmoid(w0*x0 + w1*x1 + w2)"
WEIGHTS = ("w0", "w1", "w2")


def points(n=150, seed=7):
    """Two classes of 2-D points on either side of a line, with some overlap."""
    rng = random.Random(seed)
    rows = []
    for _ in range(n):
        x0, x1 = rng.uniform(-3, 3), rng.uniform(-3, 3)
        rows.append((x0, x1, 1.0 if x0 - 0.5 * x1 + 0.4 + rng.gauss(0, 0.8) > 0 else 0.0))
    return rows


def csv_lines(rows, header="x0,x1,y"):
    return [header + "\n", *(",".join(map(repr, row)) + "\n" for row in rows)]


def train(formula, rows, start=None, **settings):
    """Run grad descend --data on these rows; the trace."""
    tape = Tape(parse(formula))
    data = training.load(csv_lines(rows), "data.csv")
    config = DescendConfig(data="data.csv", **settings)
    config.validate()
    plan = training.plan(tape.graph, data, start or {}, config)
    objective = training.Objective(tape, data, plan, config.batch, config.seed)
    point = {**plan.fixed, **plan.start}
    descent = Descent(tape, point, training.descent_settings(config, objective), objective)
    return list(descent), descent


def reference_logistic(rows, lr, steps):
    """Full-batch gradient descent on the mean cross-entropy of σ(w0·x0 + w1·x1 + w2)."""
    w = [0.0, 0.0, 0.0]
    for _ in range(steps):
        g = [0.0, 0.0, 0.0]
        for x0, x1, y in rows:
            f = 1.0 / (1.0 + math.exp(-(w[0] * x0 + w[1] * x1 + w[2])))
            for i, x in enumerate((x0, x1, 1.0)):
                g[i] += (f - y) * x
        w = [wi - lr * gi / len(rows) for wi, gi in zip(w, g)]
    return w


@pytest.mark.parametrize("formula", [NEURON, "1/(1 + exp(-(w0*x0 + w1*x1 + w2)))"])
def test_logistic_regression_matches_plain_gradient_descent(formula):
    rows = points()
    trace, _ = train(
        formula, rows, params=WEIGHTS, target_column="y", loss="logistic", lr=0.5, steps=300
    )
    expected = reference_logistic(rows, 0.5, 300)
    assert trace[-1].point == pytest.approx(expected, abs=1e-9)
    # the reported loss is the mean cross-entropy at that point
    w = trace[-1].point
    losses = []
    for x0, x1, y in rows:
        f = 1 / (1 + math.exp(-(w[0] * x0 + w[1] * x1 + w[2])))
        losses.append(-(y * math.log(f) + (1 - y) * math.log(1 - f)))
    assert trace[-1].value == pytest.approx(sum(losses) / len(rows), rel=1e-12)
    right = sum((1 / (1 + math.exp(-(w[0] * a + w[1] * b + w[2]))) >= 0.5) == y for a, b, y in rows)
    assert trace[-1].accuracy == right / len(rows)
    assert trace[-1].accuracy > 0.8


def test_logistic_loss_is_stable_where_f_rounds_to_one():
    # w0 = 100 at x0 = 1 gives f = 1.0 in doubles; the loss of a 0 label is still finite (≈ 100)
    trace, _ = train(
        NEURON,
        [(1.0, 0.0, 0.0)],
        start={"w0": 100.0, "w1": 0.0, "w2": 0.0},
        params=WEIGHTS,
        target_column="y",
        loss="logistic",
        steps=0,
    )
    assert trace[0].value == pytest.approx(100.0, rel=1e-12)
    assert trace[0].gradient == pytest.approx((1.0, 0.0, 1.0))


def test_squared_error_matches_plain_gradient_descent():
    rng = random.Random(2)
    rows = [
        (x, 0.0, 3.0 * x - 1.0 + rng.gauss(0, 0.1)) for x in (rng.uniform(-2, 2) for _ in range(80))
    ]
    trace, _ = train("a*x0 + b", rows, params=("a", "b"), target_column="y", lr=0.1, steps=200)
    a = b = 0.0
    for _ in range(200):
        ga = sum(2 * (a * x + b - y) * x for x, _, y in rows) / len(rows)
        gb = sum(2 * (a * x + b - y) for x, _, y in rows) / len(rows)
        a, b = a - 0.1 * ga, b - 0.1 * gb
    assert trace[-1].point == pytest.approx((a, b), abs=1e-9)
    assert trace[-1].accuracy is None  # the targets are not 0/1 labels


def test_a_constant_target_and_no_loss():
    rows = [(1.0, 2.0, 0.0), (3.0, -1.0, 0.0)]
    trace, _ = train("w*x0*x1", rows, start={"w": 1.0}, params=("w",), target=1.0, steps=0)
    assert trace[0].value == pytest.approx(((2 - 1) ** 2 + (-3 - 1) ** 2) / 2)
    trace, _ = train("w*x0*x1", rows, start={"w": 1.0}, params=("w",), steps=0)
    assert trace[0].value == pytest.approx((2 - 3) / 2)
    assert trace[0].gradient == pytest.approx(((2 - 3) / 2,))


def test_minibatches_are_reshuffled_each_epoch_and_reproducible():
    rows = points(50)
    settings = dict(
        params=WEIGHTS, target_column="y", loss="logistic", lr=0.3, batch=8, epochs=3, seed=4
    )
    one, descent = train(NEURON, rows, **settings)
    two, _ = train(NEURON, rows, **settings)
    assert one == two
    assert len(one) == 3 * 7 + 1  # 7 batches per epoch (the last of 2 rows), and step 0
    other, _ = train(NEURON, rows, **{**settings, "seed": 5})
    assert other[-1].point != one[-1].point
    # the same run written plainly: each epoch shuffles the previous epoch's order
    order, shuffle = list(range(50)), random.Random(4)
    w = [0.0, 0.0, 0.0]
    for step in range(21):
        if step % 7 == 0:
            shuffle.shuffle(order)
        batch = [rows[i] for i in order[step % 7 * 8 : step % 7 * 8 + 8]]
        g = [0.0, 0.0, 0.0]
        for x0, x1, y in batch:
            f = 1.0 / (1.0 + math.exp(-(w[0] * x0 + w[1] * x1 + w[2])))
            for i, x in enumerate((x0, x1, 1.0)):
                g[i] += (f - y) * x
        w = [wi - 0.3 * gi / len(batch) for wi, gi in zip(w, g)]
    assert one[-1].point == pytest.approx(w, abs=1e-12)


def test_every_optimizer_runs_on_data():
    rows = points(40)
    for optimizer in ("momentum", "nesterov", "adam", "rmsprop", "adagrad"):
        trace, _ = train(
            NEURON, rows, params=WEIGHTS, target_column="y", loss="logistic", optimizer=optimizer
        )
        assert trace[-1].value < trace[0].value, optimizer


def test_a_row_outside_the_domain_names_the_row():
    rows = [(1.0, 0.0, 0.5), (-4.0, 0.0, 0.5)]
    with pytest.raises(DomainError, match=r"row 2 of data.csv \(line 3\)"):
        train("log(w + x0)", rows, start={"w": 1.0}, params=("w",), target_column="y", steps=3)


def test_a_run_whose_loss_overflows_diverges_and_says_where():
    rows = [(1.0, 0.0, 2.0), (2.0, 0.0, 4.0), (3.0, 0.0, 6.5)]
    trace, descent = train("a*x0^3", rows, params=("a",), target_column="y", lr=10.0, steps=50)
    result = descent.result()
    assert result.stopped == "diverged" and result.failed_step == len(trace)
    assert "overflows" in result.error.message
    assert "the loss overflows at row 1 of data.csv (line 2)" in result.error.message


def test_logistic_loss_of_an_output_outside_zero_one():
    with pytest.raises(DomainError, match=r"needs f in \(0, 1\), and f = 2 at row 1"):
        train(
            "w*x0", [(2.0, 0.0, 1.0)], start={"w": 1.0}, params=("w",), loss="logistic",
            target_column="y",
        )  # fmt: skip


@pytest.mark.parametrize(
    "settings, message",
    [
        ({"target_column": "y"}, "--data needs --wrt"),
        ({"params": ("w0",), "target_column": "z"}, "has no column z"),
        ({"params": ("x0",), "target_column": "y"}, "both a parameter"),
        ({"params": WEIGHTS, "loss": "logistic"}, "needs a target"),
        ({"params": WEIGHTS, "loss": "none", "target_column": "y"}, "takes no target"),
        ({"params": ("w0", "w1"), "target_column": "y"}, "no value for w2"),
        ({"params": ("w0", "zz"), "target_column": "y"}, "--wrt names zz, which is not an input"),
        ({"params": WEIGHTS, "target_column": "y", "start": {"x0": 1.0}}, "x0 is a column"),
    ],
)
def test_usage_errors(settings, message):
    with pytest.raises(UsageError, match=message):
        train(NEURON, points(5), **{"start": {"w0": 0.0, "w1": 0.0}, **settings})


def test_malformed_data_names_the_line():
    with pytest.raises(UsageError, match="data.csv, line 3: y = 'abc' is not a finite number"):
        training.load(["x0,y\n", "1,2\n", "3,abc\n"], "data.csv")
    with pytest.raises(UsageError, match="no rows"):
        training.load(["x0,y\n"], "data.csv")


# --- large batches on numpy arrays (gradcli/core/vectorised.py) ---------------------------


def run_both(formula, rows, start=None, **settings):
    """The trace on numpy arrays and row by row, and whether the arrays were used."""
    pytest.importorskip("numpy")  # the test extra installs it (with matplotlib)
    tape = Tape(parse(formula))
    data = training.load(csv_lines(rows), "data.csv")
    config = DescendConfig(data="data.csv", **settings)
    plan = training.plan(tape.graph, data, start or {}, config)
    traces, used = [], []
    for arrays in (True, False):
        objective = training.Objective(tape, data, plan, config.batch, config.seed, arrays)
        settings_ = training.descent_settings(config, objective)
        traces.append(list(Descent(tape, {**plan.fixed, **plan.start}, settings_, objective)))
        used.append(objective.blocks is not None)
    return traces, used


@pytest.mark.parametrize(
    "formula, settings",
    [
        (NEURON, {"loss": "logistic", "target_column": "y"}),
        ("1/(1 + exp(-(w0*x0 + w1*x1 + w2)))", {"loss": "logistic", "target_column": "y"}),
        ("tanh(w0*x0 + w2) * w1 + x1", {"target_column": "y"}),
        ("0.5 + 0.4*sin(w0*x0 + w1*x1 + w2)", {"loss": "logistic", "target_column": "y"}),
        ("(w0*x0 - w1) * (w0*x0 - w1) + w2*x1", {}),
    ],
)
def test_numpy_blocks_give_the_row_by_row_numbers(formula, settings):
    rows = points(1500)
    (arrays, plain), used = run_both(formula, rows, params=WEIGHTS, lr=0.2, steps=30, **settings)
    assert used == [True, False]
    for a, b in zip(arrays, plain):
        assert a.point == pytest.approx(b.point, rel=1e-12, abs=1e-14)
        assert a.value == pytest.approx(b.value, rel=1e-12)
        assert a.accuracy == b.accuracy
    if settings.get("loss") == "logistic" and formula == NEURON:
        assert arrays[-1].point == pytest.approx(reference_logistic(rows, 0.2, 30), abs=1e-9)


def test_numpy_blocks_hand_a_failing_batch_to_the_row_by_row_code():
    rows = [(x, 0.0, 0.0) for x in range(-3, 1500)]  # x = -3 at row 1 is out of log's domain
    with pytest.raises(DomainError, match=r"row 1 of data.csv \(line 2\)"):
        run_both("log(w + x0)", rows, start={"w": 1.0}, params=("w",), target_column="y")


def test_numpy_blocks_only_where_every_op_has_a_plain_lowering_and_the_batch_is_large():
    rows = points(1500)
    _, used = run_both("relu(w0*x0) + w1*x1 + w2", rows, params=WEIGHTS, target_column="y", steps=1)
    assert used == [False, False]  # relu's lowering branches on the value
    _, used = run_both(NEURON, rows, params=WEIGHTS, target_column="y", steps=1, batch=100)
    assert used == [False, False]  # batches too small to gain


def newton_optimum(rows):
    """The minimum of the mean cross-entropy of σ(w0·x0 + w1·x1 + w2) by Newton's method
    (iteratively reweighted least squares), with a 3×3 solve written out: an independent
    reference for where gradient descent converges."""
    w = [0.0, 0.0, 0.0]
    for _ in range(50):
        g = [0.0] * 3
        h = [[0.0] * 3 for _ in range(3)]
        for x0, x1, y in rows:
            x = (x0, x1, 1.0)
            f = 1.0 / (1.0 + math.exp(-(w[0] * x0 + w[1] * x1 + w[2])))
            for i in range(3):
                g[i] += (f - y) * x[i]
                for j in range(3):
                    h[i][j] += f * (1 - f) * x[i] * x[j]
        a = [row[:] + [g[i]] for i, row in enumerate(h)]  # solve h·d = g by elimination
        for i in range(3):
            for k in range(i + 1, 3):
                m = a[k][i] / a[i][i]
                a[k] = [p - m * q for p, q in zip(a[k], a[i])]
        d = [0.0] * 3
        for i in (2, 1, 0):
            d[i] = (a[i][3] - sum(a[i][j] * d[j] for j in range(i + 1, 3))) / a[i][i]
        w = [wi - di for wi, di in zip(w, d)]
    return w


def test_descent_on_data_converges_to_the_logistic_regression_optimum():
    rows = points(200, seed=11)
    trace, descent = train(
        NEURON, rows, params=WEIGHTS, target_column="y", loss="logistic",
        optimizer="momentum", lr=1.0, steps=3000, tol=1e-9,
    )  # fmt: skip
    assert descent.result().stopped == "converged"
    assert trace[-1].point == pytest.approx(newton_optimum(rows), abs=1e-4)
