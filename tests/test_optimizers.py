"""Each optimizer against a plain-Python transcription of torch.optim's single-tensor loop
(torch/optim/*.py, `_single_tensor_*`, without weight decay), compared bit for bit over many
steps. torch is not a test dependency: the transcriptions below are the reference, written
from torch's source with each tensor operation spelt out in the order its CPU kernel computes
it (lerp_, addcmul_, addcdiv_ as `a + (value*t1) op t2`)."""

from __future__ import annotations

import json
import math
import struct

import pytest

from gradcli.core.descend import DescendConfig, Descent
from gradcli.core.engine import Tape
from gradcli.core.syntax import parse

FORMULA = "(x - 3)^2 + 10*(y + 1)^2 + sin(x*y)"
START = {"x": 0.5, "y": 0.25}


def grad_of(x: float, y: float) -> list[float]:
    """The gradient of FORMULA as gradcli's engine computes it (the chain rule's products in
    its order), so that the optimizers are compared on the same gradients."""
    tape = Tape(parse(FORMULA))
    values = tape.forward({"x": x, "y": y})
    grads = tape.backward(values)
    return [grads[tape.graph.inputs[n]] for n in ("x", "y")]


def bits(xs):
    return [struct.pack("<d", x) for x in xs]


def torch_lerp(start: float, end: float, weight: float) -> float:
    # aten/src/ATen/native/Lerp.h
    return (
        start + weight * (end - start) if abs(weight) < 0.5 else end - (end - start) * (1 - weight)
    )


def torch_adam(steps, lr=0.001, beta1=0.9, beta2=0.999, eps=1e-8):
    params = [START["x"], START["y"]]
    exp_avg, exp_avg_sq = [0.0, 0.0], [0.0, 0.0]
    trace = [list(params)]
    for step in range(1, steps + 1):
        grads = grad_of(*params)
        for i, g in enumerate(grads):
            exp_avg[i] = torch_lerp(exp_avg[i], g, 1 - beta1)
            exp_avg_sq[i] = exp_avg_sq[i] * beta2 + (1 - beta2) * g * g  # mul_, addcmul_
            bias_correction1 = 1 - beta1**step
            bias_correction2 = 1 - beta2**step
            step_size = lr / bias_correction1
            bias_correction2_sqrt = bias_correction2**0.5
            denom = math.sqrt(exp_avg_sq[i]) / bias_correction2_sqrt + eps
            params[i] = params[i] + (-step_size * exp_avg[i]) / denom  # addcdiv_
        trace.append(list(params))
    return trace


def torch_sgd(steps, lr, momentum=0.0, nesterov=False):
    params = [START["x"], START["y"]]
    buf = [None, None]
    trace = [list(params)]
    for _ in range(steps):
        grads = grad_of(*params)
        for i, g in enumerate(grads):
            if momentum:
                if buf[i] is None:
                    buf[i] = g  # torch.clone(grad)
                else:
                    buf[i] = buf[i] * momentum + 1 * g  # mul_(μ).add_(g, alpha=1 - dampening)
                g = g + momentum * buf[i] if nesterov else buf[i]  # grad.add(buf, alpha=μ)
            params[i] = params[i] + -lr * g  # add_(grad, alpha=-lr)
        trace.append(list(params))
    return trace


def torch_rmsprop(steps, lr=0.01, alpha=0.99, eps=1e-8):
    params = [START["x"], START["y"]]
    square_avg = [0.0, 0.0]
    trace = [list(params)]
    for _ in range(steps):
        grads = grad_of(*params)
        for i, g in enumerate(grads):
            square_avg[i] = square_avg[i] * alpha + (1 - alpha) * g * g  # mul_, addcmul_
            avg = math.sqrt(square_avg[i]) + eps  # sqrt().add_(eps)
            params[i] = params[i] + (-lr * g) / avg  # addcdiv_(grad, avg, value=-lr)
        trace.append(list(params))
    return trace


def torch_adagrad(steps, lr=0.01, eps=1e-10, lr_decay=0.0):
    params = [START["x"], START["y"]]
    state_sum = [0.0, 0.0]
    trace = [list(params)]
    for step in range(1, steps + 1):
        grads = grad_of(*params)
        for i, g in enumerate(grads):
            clr = lr / (1 + (step - 1) * lr_decay)
            state_sum[i] = state_sum[i] + 1 * g * g  # addcmul_(grad, grad, value=1)
            std = math.sqrt(state_sum[i]) + eps
            params[i] = params[i] + (-clr * g) / std  # addcdiv_(grad, std, value=-clr)
        trace.append(list(params))
    return trace


def gradcli_trace(steps, **options):
    tape = Tape(parse(FORMULA))
    descent = Descent(tape, START, DescendConfig(steps=steps, **options))
    return [list(s.point) for s in descent]


@pytest.mark.parametrize(
    "settings",
    [dict(lr=0.001), dict(lr=0.05, beta1=0.8, beta2=0.99, eps=1e-6), dict(lr=0.01, beta1=0.3)],
)
def test_adam_is_torchs_single_tensor_adam_bit_for_bit(settings):
    steps = 400
    ours = gradcli_trace(steps, optimizer="adam", **settings)
    reference = torch_adam(steps, **settings)
    assert [bits(p) for p in ours] == [bits(p) for p in reference]


def test_adam_first_step_as_torch(grad):
    result = grad(
        "descend",
        "(x - 3)^2 + (y + 1)^2",
        "x=0",
        "y=0",
        "--optimizer",
        "adam",
        "--steps",
        "1",
        "--json",
    )
    final = json.loads(result.stdout)["final"]
    assert final["x"] == 0.09999999983333333  # torch.optim.Adam's number


@pytest.mark.parametrize(
    "optimizer,settings,reference",
    [
        ("sgd", dict(lr=0.01), lambda n: torch_sgd(n, 0.01)),
        ("momentum", dict(lr=0.01, momentum=0.8), lambda n: torch_sgd(n, 0.01, 0.8)),
        ("nesterov", dict(lr=0.01), lambda n: torch_sgd(n, 0.01, 0.9, nesterov=True)),
        ("rmsprop", {}, lambda n: torch_rmsprop(n)),  # torch's defaults are gradcli's
        (
            "rmsprop",
            dict(lr=0.003, alpha=0.9, eps=1e-3),
            lambda n: torch_rmsprop(n, 0.003, 0.9, 1e-3),
        ),
        ("adagrad", {}, lambda n: torch_adagrad(n)),
        ("adagrad", dict(lr=0.5, eps=1e-4), lambda n: torch_adagrad(n, 0.5, 1e-4)),
    ],
)
def test_each_optimizer_is_torchs_single_tensor_loop_bit_for_bit(optimizer, settings, reference):
    steps = 300
    ours = gradcli_trace(steps, optimizer=optimizer, **settings)
    assert [bits(p) for p in ours] == [bits(p) for p in reference(steps)]


def test_rmsprop_and_adagrad_first_steps_by_hand():
    # f = x², g = 2x = 2 at x = 1. RMSprop: a = 0.01·4 = 0.04, x ← 1 − 0.01·2/(0.2 + 1e-8).
    # Adagrad: a = 4, x ← 1 − 0.01·2/(2 + 1e-10): both move by about lr·sign(g) at first.
    tape = Tape(parse("x^2"))
    rms = [
        s.point[0] for s in Descent(tape, {"x": 1.0}, DescendConfig(optimizer="rmsprop", steps=1))
    ]
    ada = [
        s.point[0] for s in Descent(tape, {"x": 1.0}, DescendConfig(optimizer="adagrad", steps=1))
    ]
    assert rms[1] == pytest.approx(1 - 0.01 * 2 / (0.2 + 1e-8), rel=1e-15)
    assert ada[1] == pytest.approx(1 - 0.01 * 2 / (2 + 1e-10), rel=1e-15)


@pytest.mark.parametrize(
    "optimizer,lr,eps",
    [("rmsprop", 0.01, 1e-8), ("adagrad", 0.01, 1e-10), ("adam", 0.1, 1e-8), ("sgd", 0.1, 1e-8)],
)
def test_defaults_are_the_optimizers_own(optimizer, lr, eps):
    config = DescendConfig(optimizer=optimizer)
    assert (config.lr, config.eps) == (lr, eps)
    assert DescendConfig(optimizer=optimizer, lr=0.5, eps=0.25).lr == 0.5


def gradcli_trace_of(formula, start, steps, **options):
    descent = Descent(Tape(parse(formula)), start, DescendConfig(steps=steps, **options))
    return [list(s.point) for s in descent]


def test_rmsprop_from_the_command_line(grad):
    result = grad("descend", "x^2", "x=1", "--optimizer", "rmsprop", "--steps", "3", "--json")
    data = json.loads(result.stdout)
    assert result.returncode == 0 and data["optimizer"] == "rmsprop" and data["lr"] == 0.01
    assert [s["point"]["x"] for s in data["trace"]] == [
        p[0] for p in gradcli_trace_of("x^2", {"x": 1.0}, 3, optimizer="rmsprop")
    ]
    assert grad("descend", "x^2", "x=1", "--optimizer", "adagrad", "--alpha", "2").returncode == 2
