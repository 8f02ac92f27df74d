"""Newton's method, damped as Levenberg–Marquardt: the step of `grad descend --optimizer newton`.

Each step solves (H + λI)·d = g, with H the objective's Hessian (gradcli/core/hessian.py) and g
its gradient, and tries x − γ·d (γ is --lr, 1 by default: the whole Newton step). λ starts at
--damping (0 by default: the plain Newton step). When H + λI is not positive definite (its
Cholesky factorisation fails) or the trial point does not decrease the objective, λ is raised,
to 10·λ or at least to RAISE_FROM·max(1, |Hᵢᵢ|), and the step is tried again, up to MAX_TRIES
times (then the point stays where it is, λ kept). A step that decreases the objective is
taken and λ lowered to λ/10, or to 0 once that falls below the raise's floor, so that near a
minimum the steps become Newton's own. A failed step that could gain no more than the
objective's rounding keeps the point without raising λ (see ROUNDING), and lowers λ to λ/10
when λ is above the Hessian's scale (max(1, |Hᵢᵢ|)): there the damping alone makes the step
too small to count, as a huge --damping would. Where the Hessian is
undefined (not finite), H is taken as 0: the step is then a gradient step of length 1/λ, taken
only if it decreases the objective.
"""

from __future__ import annotations

import math
import sys
from collections.abc import Mapping, Sequence
from itertools import islice
from operator import mul

from .engine import Tape
from .errors import DomainError

RAISE_FROM = 1e-3  # the least λ a raise gives, relative to the Hessian's largest diagonal entry
MAX_TRIES = 40  # raises within one step before it gives up (λ grows by 10⁴⁰ at most)
# A step that fails and whose first-order gain γ·g·d is below this fraction of |objective|
# could not make it smaller in doubles: the point stays, λ is not raised (near a minimum,
# without --tol, the steps do not keep raising λ and refactorising for nothing).
ROUNDING = 4 * sys.float_info.epsilon


def cholesky_solve(a: Sequence[Sequence[float]], b: Sequence[float]) -> list[float] | None:
    """x with a·x = b, for a symmetric positive definite `a` (only its lower triangle is read),
    by Cholesky factorisation; None when `a` is not positive definite (or not finite).

    L keeps the envelope of `a`: row i of L is 0 left of row i's first nonzero entry, so each
    row is stored from there on and a banded matrix (a chain's tridiagonal Hessian) costs
    O(n·band²) instead of O(n³)."""
    n = len(b)
    starts: list[int] = []  # where row i of L begins
    low: list[list[float]] = []  # row i of L, from starts[i] to the diagonal
    for i in range(n):
        row = a[i]
        start = 0
        while start < i and row[start] == 0.0:
            start += 1
        li: list[float] = []
        for j in range(start, i):
            lj, sj = low[j], starts[j]
            # Σ L[i][k]·L[j][k] over the columns both rows have, k < j: map stops at li's end
            if start >= sj:
                dot = sum(map(mul, li, islice(lj, start - sj, None)))
            else:
                dot = sum(map(mul, islice(li, sj - start, None), lj))
            li.append((row[j] - dot) / lj[-1])
        pivot = row[i] - sum(map(mul, li, li))
        if not pivot > 0.0 or not math.isfinite(pivot):
            return None
        li.append(math.sqrt(pivot))
        starts.append(start)
        low.append(li)
    y = [0.0] * n  # L·y = b
    for i in range(n):
        li, start = low[i], starts[i]
        y[i] = (b[i] - sum(map(mul, li[:-1], y[start:i]))) / li[-1]
    x = y  # Lᵀ·x = y, column by column from the last: each row of L, once known, leaves x
    for i in range(n - 1, -1, -1):
        li, start = low[i], starts[i]
        x[i] = xi = x[i] / li[-1]
        for k in range(start, i):
            x[k] -= li[k - start] * xi
    return x


class NewtonStep:
    """`step(lam, xs, gs, value) -> (lam, xs)`: one damped Newton step from the parameters xs,
    where the objective is `value` with gradient gs; λ is the optimizer's state."""

    def __init__(
        self,
        tape: Tape,
        point: Mapping[str, float],
        params: Sequence[str],
        lr: float,
        target: float | None = None,
        maximize: bool = False,
    ) -> None:
        from .hessian import matrix_fn, second_derivatives

        self.params = list(params)
        self.matrix = matrix_fn(second_derivatives(tape.graph, self.params), self.params)
        self.where = dict(point)
        self.tape, self.lr, self.target, self.maximize = tape, lr, target, maximize

    def objective(self, xs: Sequence[float]) -> float:
        """The descended objective at xs; nan where f is undefined."""
        where = self.where
        for name, x in zip(self.params, xs):
            where[name] = x
        try:
            f = self.tape.forward(where)[self.tape.graph.output]
        except DomainError:
            return math.nan
        if self.target is not None:
            return (f - self.target) ** 2
        return -f if self.maximize else f

    def hessian(self, xs: Sequence[float]) -> list[list[float]]:
        """The objective's Hessian at xs, symmetrised; entries that are not finite become 0."""
        where = self.where
        for name, x in zip(self.params, xs):
            where[name] = x
        h = self.matrix(where)
        n = len(h)
        if self.target is not None:  # (f - T)²: 2·(∇f·∇fᵀ + (f - T)·H)
            ev = self.tape.evaluate(where)
            error, g = ev.value - self.target, list(ev.gradient(self.params).values())
            h = [[2.0 * (g[i] * g[j] + error * h[i][j]) for j in range(n)] for i in range(n)]
        elif self.maximize:
            h = [[-v for v in row] for row in h]
        return [
            [_finite_or_0(0.5 * (v + h[j][i])) for j, v in enumerate(row[: i + 1])]
            for i, row in enumerate(h)
        ]  # the lower triangle: all cholesky_solve reads

    def __call__(
        self, lam: float, xs: Sequence[float], gs: Sequence[float], value: float
    ) -> tuple[float, tuple[float, ...]]:
        xs = tuple(xs)
        if not any(gs):
            return lam, xs  # a stationary point: Newton's step is 0
        h = self.hessian(xs)
        scale = max([1.0] + [abs(h[i][i]) for i in range(len(h))])
        floor = RAISE_FROM * scale
        # a step too small to count: lower λ where λ alone made it so (it dwarfs H)
        stuck = (lam / 10.0 if lam > scale else lam), xs
        for _ in range(MAX_TRIES):
            damped = [[*row[:-1], row[-1] + lam] for row in h]  # rows end at the diagonal
            d = cholesky_solve(damped, gs)
            if d is not None:
                trial = tuple(x - self.lr * di for x, di in zip(xs, d))
                if trial == xs:
                    return stuck  # the step is below the doubles' resolution
                if self.objective(trial) < value:
                    lower = lam / 10.0
                    return (lower if lower >= floor else 0.0), trial
                if self.lr * sum(map(mul, gs, d)) <= ROUNDING * abs(value):
                    return stuck  # what it could gain is below the doubles' resolution
            lam = max(10.0 * lam, floor)
        return lam, xs


def _finite_or_0(value: float) -> float:
    return value if math.isfinite(value) else 0.0
