"""The optimizers of gradient descent, after torch.optim's single-tensor loops (see the README).

Each optimizer is one entry of OPTIMIZERS, and its update is written once: a few lines of
straight-line Python for one step. gradcli.core.descend puts these lines into the one loop it
generates, whether the gradient comes from generated sweeps or from the tape, so both paths
run the same update by construction. In the lines, `{x}` is a parameter, `{g}` its gradient,
each name of `state` that parameter's own state (`{m}`), and each name of `constants` a
setting, which enters the source only as the repr of a float. Lines run once per step may use
scalar variables of their own; all generated names start with `o_` so that they never meet
the sweeps' variables.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from types import SimpleNamespace
from typing import NamedTuple


class Update(NamedTuple):
    """One optimizer step as lines of Python (see the module doc)."""

    per_param: tuple[str, ...]  # run for each parameter, in order
    state: dict[str, float] = {}  # per-parameter state: its value before the first step
    constants: dict[str, float] = {}  # settings, as literals
    counters: dict[str, float] = {}  # scalars kept across steps (o_t: Adam's step count)
    per_step: tuple[str, ...] = ()  # run once per step, before the parameters' lines
    # run once per step, after per_step, over all the parameters at once: {xs} and {gs} are
    # the parameters' and the gradients' variables as a tuple, {f} the objective's value
    whole: tuple[str, ...] = ()
    hessian: bool = False  # the lines call o_newton (gradcli/core/newton.py)


class Settings(NamedTuple):
    """What an update rule reads of the run's settings (gradcli.core.descend.DescendConfig)."""

    lr: float
    momentum: float
    beta1: float
    beta2: float
    alpha: float
    eps: float
    damping: float = 0.0


@dataclass(frozen=True)
class Optimizer:
    name: str
    rule: Callable[[Settings], Update]
    lr: float = 0.1  # the default learning rate
    eps: float = 1e-8  # the default ε (for the rules that use one)
    doc: str = ""


def _sgd(s: Settings) -> Update:
    # torch: param.add_(grad, alpha=-lr); x + (-lr)·g is x - lr·g bit for bit
    return Update(("{x} = {x} - {lr} * {g}",), constants={"lr": s.lr})


# torch.optim.SGD with momentum μ, dampening 0: buf ← g on the first step, then buf ← μ·buf + g.
# The buffer starts at -0.0: μ·(−0.0) + g is g exactly for every g (−0.0 included).
def _momentum(s: Settings) -> Update:
    return Update(
        ("{b} = {mu} * {b} + {g}", "{x} = {x} - {lr} * {b}"),
        {"b": -0.0},
        {"lr": s.lr, "mu": s.momentum},
    )


def _nesterov(s: Settings) -> Update:
    return Update(
        ("{b} = {mu} * {b} + {g}", "{x} = {x} - {lr} * ({g} + {mu} * {b})"),
        {"b": -0.0},
        {"lr": s.lr, "mu": s.momentum},
    )


def _adam(s: Settings) -> Update:
    # lerp_(m, g, w1) is m + w1·(g − m) for |w1| < 0.5, else g − (g − m)·(1 − w1)
    w1 = 1.0 - s.beta1
    lerp = "{m} = {m} + {w1} * ({g} - {m})" if w1 < 0.5 else "{m} = {g} - ({g} - {m}) * {c1}"
    return Update(
        (
            lerp,
            "{v} = {v} * {beta2} + {w2} * {g} * {g}",  # mul_(β2).addcmul_(g, g, value=1 − β2)
            "{x} = {x} + (-o_step_size * {m}) / (sqrt({v}) / o_root_bc2 + {eps})",
        ),  # addcdiv_
        {"m": 0.0, "v": 0.0},
        {"w1": w1, "c1": 1.0 - w1, "beta2": s.beta2, "w2": 1.0 - s.beta2, "eps": s.eps},
        {"o_t": 0},
        (
            "o_t += 1",
            f"o_step_size = {literal(s.lr)} / (1.0 - {literal(s.beta1)} ** o_t)",
            f"o_root_bc2 = sqrt(1.0 - {literal(s.beta2)} ** o_t)",
        ),
    )


def _rmsprop(s: Settings) -> Update:
    # torch: square_avg.mul_(α).addcmul_(g, g, value=1 − α); avg = square_avg.sqrt().add_(ε);
    # param.addcdiv_(g, avg, value=-lr)
    return Update(
        (
            "{a} = {a} * {alpha} + {w} * {g} * {g}",
            "{x} = {x} + ({nlr} * {g}) / (sqrt({a}) + {eps})",
        ),
        {"a": 0.0},
        {"alpha": s.alpha, "w": 1.0 - s.alpha, "nlr": -s.lr, "eps": s.eps},
    )


def _adagrad(s: Settings) -> Update:
    # torch, lr_decay 0: clr = lr / (1 + (t − 1)·0) = lr; state_sum.addcmul_(g, g, value=1);
    # std = state_sum.sqrt().add_(ε); param.addcdiv_(g, std, value=-clr)
    return Update(
        ("{a} = {a} + {g} * {g}", "{x} = {x} + ({nlr} * {g}) / (sqrt({a}) + {eps})"),
        {"a": 0.0},
        {"nlr": -s.lr, "eps": s.eps},
    )


def _newton(s: Settings) -> Update:
    # Levenberg–Marquardt: o_newton solves (H + λI)·d = g and returns λ and x − γ·d
    return Update(
        (),
        counters={"o_lam": s.damping},
        whole=("o_lam, ({xs}) = o_newton(o_lam, ({xs}), ({gs}), {f})",),
        hessian=True,
    )


OPTIMIZERS: dict[str, Optimizer] = {
    o.name: o
    for o in (
        Optimizer("sgd", _sgd, doc="v ← v − γ·g"),
        Optimizer("momentum", _momentum, doc="b ← μ·b + g; v ← v − γ·b"),
        Optimizer("nesterov", _nesterov, doc="b ← μ·b + g; v ← v − γ·(g + μ·b)"),
        Optimizer("adam", _adam, doc="torch.optim.Adam"),
        Optimizer("rmsprop", _rmsprop, lr=0.01, doc="torch.optim.RMSprop"),
        Optimizer("adagrad", _adagrad, lr=0.01, eps=1e-10, doc="torch.optim.Adagrad"),
        Optimizer("newton", _newton, lr=1.0, doc="(H + λI)·d = g; v ← v − γ·d (λ: see the README)"),
    )
}


def literal(value: float) -> str:
    """A setting as a literal of the generated code: the float's repr, in parentheses."""
    return f"({float(value)!r})"


def unpack(names: Sequence[str]) -> str:
    return ", ".join(names) + ","  # a tuple, also of one name


class Lines(NamedTuple):
    """An update over named variables: `load` takes the state from `opt`, `step` is one
    step, `save` puts the state back."""

    load: list[str]
    step: list[str]
    save: list[str]


def lines(update: Update, xs: Sequence[str], gs: Sequence[str], value: str = "value") -> Lines:
    """The update over the parameters' variables `xs` and the gradients' `gs`, where the
    objective's value is the expression `value`."""
    n = len(xs)
    literals = {name: literal(value) for name, value in update.constants.items()}
    variables = {name: [f"o_{name}{i}" for i in range(n)] for name in update.state}
    step = list(update.per_step)
    step += [line.format(xs=unpack(xs), gs=unpack(gs), f=value) for line in update.whole]
    for i, (x, g) in enumerate(zip(xs, gs)):
        names = {name: vs[i] for name, vs in variables.items()}
        step += [line.format(x=x, g=g, **names, **literals) for line in update.per_param]
    load = [f"{unpack(vs)} = opt.{name}" for name, vs in variables.items() if vs]
    load += [f"{name} = opt.{name}" for name in update.counters]
    save = [f"opt.{name} = [{', '.join(vs)}]" for name, vs in variables.items() if vs]
    save += [f"opt.{name} = {name}" for name in update.counters]
    return Lines(load, step, save)


def fresh_state(update: Update, n: int) -> SimpleNamespace:
    """The optimizer's state before the first step, for n parameters."""
    return SimpleNamespace(
        **{name: [value] * n for name, value in update.state.items()}, **update.counters
    )
