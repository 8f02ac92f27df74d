"""The optimizers of gradient descent, after torch.optim's definitions (see the README).

Each has `update(xs, gs)`, which moves the parameters xs in place, one step against the
gradient gs, and keeps its own state (momentum buffer, Adam's moments and step count).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .descend import DescendConfig


class SGD:
    """x ← x − lr·g"""

    def __init__(self, n: int, config: DescendConfig) -> None:
        self.lr = config.lr

    def update(self, xs: list[float], gs: list[float]) -> None:
        lr = self.lr
        for i, g in enumerate(gs):
            xs[i] = xs[i] - lr * g


class Momentum:
    """b ← g on the first step, then b ← μ·b + g; x ← x − lr·b (torch.optim.SGD, momentum=μ,
    dampening 0). With nesterov the step uses g + μ·b instead of b."""

    nesterov = False

    def __init__(self, n: int, config: DescendConfig) -> None:
        self.lr, self.mu = config.lr, config.momentum
        self.buf: list[float] | None = None

    def update(self, xs: list[float], gs: list[float]) -> None:
        lr, mu = self.lr, self.mu
        buf = self.buf
        if buf is None:
            buf = self.buf = list(gs)
        else:
            for i, g in enumerate(gs):
                buf[i] = mu * buf[i] + g
        if self.nesterov:
            for i, g in enumerate(gs):
                xs[i] = xs[i] - lr * (g + mu * buf[i])
        else:
            for i, b in enumerate(buf):
                xs[i] = xs[i] - lr * b


class Nesterov(Momentum):
    nesterov = True


class Adam:
    """torch.optim.Adam without weight decay or amsgrad:
    m ← β1·m + (1 − β1)·g,  v ← β2·v + (1 − β2)·g²,
    x ← x − lr·m̂ / (√v̂ + ε) with m̂ = m / (1 − β1^t), v̂ = v / (1 − β2^t).
    The arithmetic is ordered as torch's implementation orders it."""

    def __init__(self, n: int, config: DescendConfig) -> None:
        self.lr, self.eps = config.lr, config.eps
        self.b1, self.b2 = config.beta1, config.beta2
        self.m = [0.0] * n
        self.v = [0.0] * n
        self.t = 0

    def update(self, xs: list[float], gs: list[float]) -> None:
        self.t += 1
        b1, b2, eps, m, v = self.b1, self.b2, self.eps, self.m, self.v
        w1, w2 = 1.0 - b1, 1.0 - b2
        step_size = self.lr / (1.0 - b1 ** self.t)
        root_bc2 = math.sqrt(1.0 - b2 ** self.t)
        for i, g in enumerate(gs):
            mi = m[i]
            # torch's lerp(m, g, w1): m + w1·(g − m) for w1 < 0.5, else g − (g − m)·(1 − w1)
            mi = mi + w1 * (g - mi) if w1 < 0.5 else g - (g - mi) * (1.0 - w1)
            m[i] = mi
            vi = v[i] = v[i] * b2 + w2 * g * g
            xs[i] = xs[i] + -step_size * (mi / (math.sqrt(vi) / root_bc2 + eps))


OPTIMIZER_CLASSES = {"sgd": SGD, "momentum": Momentum, "nesterov": Nesterov, "adam": Adam}
