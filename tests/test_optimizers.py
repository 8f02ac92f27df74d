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

from gradcli.descend import DescendConfig, Descent
from gradcli.engine import Tape
from gradcli.syntax import parse

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
    return start + weight * (end - start) if abs(weight) < 0.5 else \
        end - (end - start) * (1 - weight)


def torch_adam(steps, lr=0.001, beta1=0.9, beta2=0.999, eps=1e-8):
    params = [START["x"], START["y"]]
    exp_avg, exp_avg_sq = [0.0, 0.0], [0.0, 0.0]
    trace = [list(params)]
    for step in range(1, steps + 1):
        grads = grad_of(*params)
        for i, g in enumerate(grads):
            exp_avg[i] = torch_lerp(exp_avg[i], g, 1 - beta1)
            exp_avg_sq[i] = exp_avg_sq[i] * beta2 + (1 - beta2) * g * g  # mul_, addcmul_
            bias_correction1 = 1 - beta1 ** step
            bias_correction2 = 1 - beta2 ** step
            step_size = lr / bias_correction1
            bias_correction2_sqrt = bias_correction2 ** 0.5
            denom = math.sqrt(exp_avg_sq[i]) / bias_correction2_sqrt + eps
            params[i] = params[i] + (-step_size * exp_avg[i]) / denom  # addcdiv_
        trace.append(list(params))
    return trace


def gradcli_trace(steps, **options):
    tape = Tape(parse(FORMULA))
    descent = Descent(tape, START, DescendConfig(steps=steps, **options))
    return [list(s.point) for s in descent]


@pytest.mark.parametrize("settings", [dict(lr=0.001), dict(lr=0.05, beta1=0.8, beta2=0.99,
                                                          eps=1e-6),
                                      dict(lr=0.01, beta1=0.3)])
def test_adam_is_torchs_single_tensor_adam_bit_for_bit(settings):
    steps = 400
    ours = gradcli_trace(steps, optimizer="adam", **settings)
    reference = torch_adam(steps, **settings)
    assert [bits(p) for p in ours] == [bits(p) for p in reference]


def test_adam_first_step_as_torch(grad):
    result = grad("descend", "(x - 3)^2 + (y + 1)^2", "x=0", "y=0", "--optimizer", "adam",
                  "--steps", "1", "--json")
    final = json.loads(result.stdout)["final"]
    assert final["x"] == 0.09999999983333333  # torch.optim.Adam's number
