"""grad descend --optimizer newton: Newton's method damped as Levenberg–Marquardt, checked
against a plain-Python transcription of the rule with hand-derived derivatives."""

import math
import random

import pytest
from conftest import strict_json

from gradcli.core.descend import DescendConfig, run_to_end
from gradcli.core.engine import Tape
from gradcli.core.newton import RAISE_FROM, cholesky_solve
from gradcli.core.syntax import parse

ROSENBROCK = "(1-x)^2 + 100*(y-x^2)^2"


def run(source: str, point: dict[str, float], **settings):
    config = DescendConfig(optimizer="newton", **settings)
    return run_to_end(Tape(parse(source)), point, config)


# --- the solver -------------------------------------------------------------------------------
@pytest.mark.parametrize("n, band", [(1, 0), (2, 1), (7, 0), (7, 2), (30, 30), (30, 3)])
def test_cholesky_solves_symmetric_positive_definite_systems(n, band):
    rng = random.Random(n * 100 + band)
    m = [[rng.gauss(0, 1) if abs(i - j) <= band else 0.0 for j in range(n)] for i in range(n)]
    a = [[sum(m[i][k] * m[j][k] for k in range(n)) + (i == j) for j in range(n)] for i in range(n)]
    b = [rng.gauss(0, 1) for _ in range(n)]
    x = cholesky_solve([row[: i + 1] for i, row in enumerate(a)], b)
    residual = max(abs(sum(a[i][k] * x[k] for k in range(n)) - b[i]) for i in range(n))
    assert residual < 1e-10


@pytest.mark.parametrize(
    "a", [[[1.0], [2.0, 1.0]], [[0.0]], [[-1.0]], [[math.nan]], [[4.0], [0.0, -1e-300]]]
)
def test_cholesky_refuses_what_is_not_positive_definite(a):
    assert cholesky_solve(a, [1.0] * len(a)) is None


# --- the method -------------------------------------------------------------------------------
def test_a_quadratic_lands_on_its_minimum_in_one_step():
    # ∇f = (2(x - 3) + y, 4(y + 1) + x) = 0 at x = 4, y = -2
    result, trace = run("(x-3)^2 + 2*(y+1)^2 + x*y", {"x": 0.0, "y": 0.0}, steps=1)
    assert trace[1].point == pytest.approx((4.0, -2.0), rel=1e-14, abs=1e-14)
    assert trace[1].norm < 1e-12


def test_a_quadratic_with_data_inputs_and_wrt():
    # only w moves: f = (w·x - 6)², x = 2 fixed: w = 3
    result, trace = run("(w*x - 6)^2", {"w": 0.0, "x": 2.0}, steps=1, params=("w",))
    assert trace[1].point == pytest.approx((3.0,), rel=1e-15) and result.fixed == {"x": 2.0}


def reference_rosenbrock(x: float, y: float, steps: int) -> list[tuple[float, float]]:
    """The documented rule, transcribed: derivatives by hand, the 2×2 system by Cramer."""

    def f(x, y):
        return (1 - x) ** 2 + 100 * (y - x * x) ** 2

    lam, points = 0.0, [(x, y)]
    for _ in range(steps):
        gx, gy = -2 * (1 - x) - 400 * x * (y - x * x), 200 * (y - x * x)
        hxx, hxy, hyy = 2 - 400 * (y - 3 * x * x), -400 * x, 200.0
        floor = RAISE_FROM * max(1.0, abs(hxx), abs(hyy))
        for _ in range(40):
            a, c = hxx + lam, hyy + lam
            det = a * c - hxy * hxy
            if a > 0 and det > 0:
                tx, ty = x - (c * gx - hxy * gy) / det, y - (a * gy - hxy * gx) / det
                if f(tx, ty) < f(x, y):
                    x, y = tx, ty
                    lam = lam / 10 if lam / 10 >= floor else 0.0
                    break
            lam = max(10 * lam, floor)
        points.append((x, y))
    return points


def test_rosenbrock_follows_the_documented_rule():
    result, trace = run(ROSENBROCK, {"x": -1.5, "y": 2.0}, steps=30, tol=1e-8)
    expected = reference_rosenbrock(-1.5, 2.0, result.steps)
    for step, (x, y) in zip(trace, expected):
        assert step.point == pytest.approx((x, y), rel=1e-9, abs=1e-12), step.step
    assert result.stopped == "converged" and result.steps < 40
    assert result.final == pytest.approx({"x": 1.0, "y": 1.0}, abs=1e-8)


def test_where_sgd_needs_thousands_of_steps():
    config = DescendConfig(optimizer="sgd", lr=0.001, steps=3000, tol=1e-8)
    result, _ = run_to_end(Tape(parse(ROSENBROCK)), {"x": -1.5, "y": 2.0}, config)
    assert result.stopped == "steps"


def test_target_and_maximize():
    # sigmoid(2w) = 0.9 at w = ln(9)/2
    result, _ = run("sigmoid(w*x)", {"w": 0.5, "x": 2.0}, params=("w",), target=0.9, tol=1e-9)
    assert result.stopped == "converged"
    assert result.final["w"] == pytest.approx(math.log(9) / 2, rel=1e-7)
    result, _ = run("sin(x)", {"x": 1.0}, maximize=True, steps=10, tol=1e-12)
    assert result.final["x"] == pytest.approx(math.pi / 2, rel=1e-12)


def test_an_indefinite_hessian_is_damped_until_the_step_decreases():
    # at x = 0.1, f'' = 12x² - 4 < 0: the plain Newton step would climb to the maximum at 0
    result, trace = run("x^4 - 2*x^2", {"x": 0.1}, steps=50, tol=1e-10)
    assert all(b.value < a.value for a, b in zip(trace, trace[1:]))
    assert result.final["x"] == pytest.approx(1.0, rel=1e-10)


def test_an_undefined_hessian_falls_back_to_a_gradient_step():
    # hypot's gradient at the origin is 0 by convention; its second derivatives are undefined
    result, trace = run("hypot(x, y) + (z - 1)^2", {"x": 0.0, "y": 0.0, "z": 0.0}, steps=5)
    assert trace[-1].point == pytest.approx((0.0, 0.0, 1.0), abs=1e-9)


# --- as a user runs it --------------------------------------------------------------------------
def test_grad_descend_newton_json(grad):
    done = grad("descend", ROSENBROCK, "x=-1.5", "y=2", "--optimizer", "newton", "--tol", "1e-8")
    assert done.returncode == 0, done.stderr
    assert "converged" in done.stdout
    done = grad("descend", ROSENBROCK, "x=-1.5", "y=2", "--optimizer", "newton", "--json")
    data = strict_json(done.stdout)
    assert data["optimizer"] == "newton" and data["lr"] == 1.0
    expected = reference_rosenbrock(-1.5, 2.0, 3)
    for step, (x, y) in zip(data["trace"], expected):
        assert (step["point"]["x"], step["point"]["y"]) == pytest.approx((x, y), rel=1e-9)


def test_damping_option(grad):
    done = grad("descend", "x^2", "x=1", "--optimizer", "newton", "--damping", "-1")
    assert done.returncode == 2 and "--damping" in done.stderr and "Traceback" not in done.stderr
    done = grad(
        "descend",
        "x^2",
        "x=1",
        "--optimizer",
        "newton",
        "--damping",
        "2",
        "--steps",
        "1",
        "--csv",
        "-",
    )
    assert done.stdout.splitlines()[2].split(",")[2] == repr(1 - 2 / 4)  # (2 + 2)·d = 2


@pytest.mark.parametrize("damping", [1e17, 1e20, 1e308])
def test_a_huge_damping_is_lowered_until_the_steps_count(damping):
    result, _ = run("x^2 + y^2", {"x": 1.0, "y": 1.0}, steps=400, tol=1e-8, damping=damping)
    assert result.stopped == "converged"
    assert result.final == pytest.approx({"x": 0.0, "y": 0.0}, abs=1e-8)


def test_repl_and_plot(grad):
    done = grad("repl", input="f = (x - 3)^2\nx = 0\n:descend f --optimizer newton --steps 1\n")
    assert done.returncode == 0, done.stderr
    assert "x = 3" in done.stdout
    done = grad(
        "plot",
        ROSENBROCK,
        "x=-2:2",
        "y=-1:3",
        "--at",
        "x=-1.5,y=2",
        "--descend",
        "--optimizer newton --steps 30",
    )
    assert done.returncode == 0, done.stderr
    assert "newton" in done.stdout and "x = 1, y = 1" in done.stdout
