"""Built-in worked examples from the backprop lecture, as programs in the formula language.

Each program gives its inputs their values (`x = -2`), names its intermediate nodes like the
lecture does, and ends with the output. `grad example NAME` runs one through `grad eval`.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from .errors import UsageError


@dataclass(frozen=True, slots=True)
class Example:
    name: str
    title: str
    program: str
    # the grad command it runs: eval, diff (the gradient as formulas) or descend
    command: str = "eval"
    # a descent on a built-in data set (gradcli/data/<data>): grad descend's option words
    data: str | None = None
    descend: tuple[str, ...] = ()


EXAMPLES: dict[str, Example] = {}


def _add(name: str, title: str, *lines: str, command: str = "eval") -> None:
    EXAMPLES[name] = Example(name, title, "\n".join(lines) + "\n", command)


_add(
    "circuit",
    "f = (x + y)·z: add distributes, multiply swaps",
    "x = -2",
    "y = 5",
    "z = -4",
    "q = x + y",
    "f = q * z",
)
_add(
    "gates",
    "f = 2·(x·y + max(z, w)): the add, multiply and max gate patterns",
    "x = 3",
    "y = -4",
    "z = 2",
    "w = -1",
    "f = 2 * (x * y + max(z, w))",
)
_add(
    "neuron",
    "a sigmoid neuron, staged: gates ·-1, exp, +1, 1/x",
    "w0 = 2",
    "x0 = -1",
    "w1 = -3",
    "x1 = -2",
    "w2 = -3",
    "dot = w0 * x0 + w1 * x1 + w2",
    "f = 1 / (1 + exp(-dot))",
)
_add(
    "neuron-sigmoid",
    "the same neuron with the sigmoid gate: σ'(x) = σ(x)·(1 - σ(x))",
    "w0 = 2",
    "x0 = -1",
    "w1 = -3",
    "x1 = -2",
    "w2 = -3",
    "dot = w0 * x0 + w1 * x1 + w2",
    "f = sigmoid(dot)",
)
_add(
    "neuron-diff",
    "the neuron's gradient as formulas (grad diff): ∂f/∂w0 = s·(1 - s)·x0, with s the neuron",
    "w0 = 2",
    "x0 = -1",
    "w1 = -3",
    "x1 = -2",
    "w2 = -3",
    "1 / (1 + exp(-(w0 * x0 + w1 * x1 + w2)))",
    command="diff",
)
_add(
    "staged",
    "f(x, y) = (x + σ(y)) / (σ(x) + (x + y)²), staged with named intermediates",
    "x = 3",
    "y = -4",
    "sigy = 1 / (1 + exp(-y))",
    "num = x + sigy",
    "sigx = 1 / (1 + exp(-x))",
    "xpy = x + y",
    "xpysqr = xpy ^ 2",
    "den = sigx + xpysqr",
    "invden = 1 / den",
    "f = num * invden",
)

# 120 points of two classes around (-1, -0.6) and (1, 0.8), overlapping: the rule that made
# gradcli/data/logistic.csv is in tests/test_descend_data.py
EXAMPLES["logistic"] = Example(
    "logistic",
    "logistic regression: the neuron trained on 120 labelled points (error backpropagation)",
    # the weights' starting values; x0 and x1 are the lecture's point, which the rows replace
    "w0 = 0\nw1 = 0\nw2 = 0\nx0 = -1\nx1 = -2\ndot = w0 * x0 + w1 * x1 + w2\nf = 1 / (1 + exp(-dot))\n",
    command="descend",
    data="logistic.csv",
    descend=(
        "--wrt",
        "w0,w1,w2",
        "--target-column",
        "y",
        "--loss",
        "logistic",
        "--lr",
        "1",
        "--epochs",
        "100",
    ),  # fmt: skip
)


def find(name: str) -> Example:
    """The example called `name`. Raises UsageError naming the closest one."""
    example = EXAMPLES.get(name)
    if example is not None:
        return example
    close = difflib.get_close_matches(name, EXAMPLES, n=1, cutoff=0.5)
    hint = (
        (f"did you mean {close[0]}? " if close else "") + "the examples are " + ", ".join(EXAMPLES)
    )
    raise UsageError(f"there is no example called {name!r}", hint=hint)
