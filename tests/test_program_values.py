"""A program that gives an input a value and then names that input (`x = 1; q = x`)."""

from gradcli.core.engine import Tape, resolve_point
from gradcli.core.syntax import parse


def test_value_then_alias_of_the_input():
    # The literal 1 of `x = 1` is dropped from the graph; the node id it had is reused by the
    # input x, which must not be taken for a literal (that made `q = x` a value assignment).
    graph = parse("x = 1\nq = x\nq * 2")
    point, _ = resolve_point(graph, {})
    ev = Tape(graph).evaluate(point)
    assert point == {"x": 1.0}
    assert ev.value == 2.0  # d(2x)/dx = 2 by hand
    assert ev.gradient() == {"x": 2.0}
