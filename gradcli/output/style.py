"""The lecture's colours and how a number is written, shared by every renderer."""

from __future__ import annotations

import math

VALUE = "green"  # values (the forward pass)
GRAD = "red"  # gradients (the backward pass)


def num(value: float | None, digits: int = 6) -> str:
    """A number with `digits` significant digits; 'undefined' for nan, -0 shown as 0."""
    if value is None or math.isnan(value):
        return "undefined"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    if value == 0.0:
        return "0"
    return format(value, f".{digits}g")
