"""The optimizers of gradient descent, after torch.optim's definitions (see the README).

Each moves the parameters one step against the gradient in two equal ways: `update(xs, gs)`,
which changes the list xs in place, and `source(xs, gs)`, the same arithmetic in the same order
as lines of Python over variables, for the descent loop that gradcli.descend generates. Its
state (momentum buffer, Adam's moments and step count) stays on the object between the two:
the generated code loads it into variables (`load`) and stores it back (`save`) when it hands
the run over to `update`. Only the repr of floats from the settings enters the source.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, NamedTuple

if TYPE_CHECKING:
    from .descend import DescendConfig


class Source(NamedTuple):
    """An update as lines of Python: `opt` is the optimizer object."""

    load: list[str]
    step: list[str]
    save: list[str]


def unpack(names: list[str]) -> str:
    return ", ".join(names) + ","  # a tuple, also of one name


def number(value: float) -> str:
    """A setting as a literal of the generated code: the float's repr, in parentheses."""
    return f"({float(value)!r})"


class SGD:
    """x ← x − lr·g"""

    def __init__(self, n: int, config: DescendConfig) -> None:
        self.lr = config.lr

    def update(self, xs: list[float], gs: list[float]) -> None:
        lr = self.lr
        for i, g in enumerate(gs):
            xs[i] = xs[i] - lr * g

    def source(self, xs: list[str], gs: list[str]) -> Source:
        lr = number(self.lr)
        return Source([], [f"{x} = {x} - {lr} * {g}" for x, g in zip(xs, gs)], [])


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

    def source(self, xs: list[str], gs: list[str]) -> Source:
        # Before the first update the buffer starts at -0.0: μ·(−0.0) + g is g exactly, for
        # every g (−0.0 included), which is update()'s b ← g.
        lr, mu = number(self.lr), number(self.mu)
        bs = [f"buf{i}" for i in range(len(xs))]
        step = [f"{b} = {mu} * {b} + {g}" for b, g in zip(bs, gs)]
        if self.nesterov:
            step += [f"{x} = {x} - {lr} * ({g} + {mu} * {b})" for x, g, b in zip(xs, gs, bs)]
        else:
            step += [f"{x} = {x} - {lr} * {b}" for x, b in zip(xs, bs)]
        return Source([f"{unpack(bs)} = opt.buf or [-0.0] * {len(bs)}"], step,
                      [f"opt.buf = [{', '.join(bs)}]"])


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
            xs[i] = xs[i] + (-step_size * mi) / (math.sqrt(vi) / root_bc2 + eps)  # addcdiv_

    def source(self, xs: list[str], gs: list[str]) -> Source:
        w1, w2 = 1.0 - self.b1, 1.0 - self.b2
        b1, b2, eps = number(self.b1), number(self.b2), number(self.eps)
        ms = [f"m{i}" for i in range(len(xs))]
        vs = [f"sq{i}" for i in range(len(xs))]
        step = ["t += 1",
                f"step_size = {number(self.lr)} / (1.0 - {b1} ** t)",
                f"root_bc2 = sqrt(1.0 - {b2} ** t)"]
        for x, g, m, v in zip(xs, gs, ms, vs):
            step.append(f"{m} = {m} + {number(w1)} * ({g} - {m})" if w1 < 0.5 else
                        f"{m} = {g} - ({g} - {m}) * {number(1.0 - w1)}")
            step.append(f"{v} = {v} * {b2} + {number(w2)} * {g} * {g}")
            step.append(f"{x} = {x} + (-step_size * {m}) / (sqrt({v}) / root_bc2 + {eps})")
        return Source([f"{unpack(ms)} = opt.m", f"{unpack(vs)} = opt.v", "t = opt.t"], step,
                      [f"opt.m = [{', '.join(ms)}]", f"opt.v = [{', '.join(vs)}]",
                       "opt.t = t"])


Optimizer = SGD | Momentum | Adam
OPTIMIZER_CLASSES: dict[str, type[Optimizer]] = {"sgd": SGD, "momentum": Momentum,
                                                 "nesterov": Nesterov, "adam": Adam}
