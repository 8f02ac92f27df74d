"""Hypothesis strategies shared by the tests that compare a fast path with the plain one."""

from hypothesis import strategies as st

from gradcli.core.engine import Evaluation, Tape
from gradcli.core.errors import DomainError
from gradcli.core.syntax import parse

UNARY = ["sin", "exp", "sigmoid", "tanh", "relu", "abs", "sqrt", "log", "-", "tiny", "cbrt", "erf"]
BINARY = ["+", "-", "*", "/", "^", "max", "min", "atan2", "hypot"]
CALLED = ("max", "min", "atan2", "hypot")
LEAVES = ["x", "y", "pi", "e", "2", "0.5", "0", "1e-300", "1e300", "-3", "40"]
# Points that hit the findings' cases: zeros, ties, saturation, underflow and overflow.
COORDINATES = st.sampled_from([-2.0, -0.0, 0.0, 1e-300, 0.5, 3.0, 40.0, 1e300])


@st.composite
def programs(draw) -> str:
    """A random program over inputs x and y: named intermediates used any number of times,
    constants, number literals, and sometimes a value given to y."""
    names = ["x", "y"]
    lines = [f"y = {draw(st.sampled_from(['-1.5', '0', '2']))}"] if draw(st.booleans()) else []
    for i in range(draw(st.integers(1, 12))):
        a, b = (draw(st.sampled_from(names + LEAVES)) for _ in range(2))
        if draw(st.booleans()):  # chains are likelier to reach the output
            a = names[-1]
        if draw(st.booleans()):
            f = draw(st.sampled_from(UNARY))
            expr = {"-": f"-{a}", "tiny": f"({a} / -1e160)"}.get(f, f"{f}({a})")
        else:
            f = draw(st.sampled_from(BINARY))
            expr = f"{f}({a}, {b})" if f in CALLED else f"({a} {f} {b})"
        name = f"t{i}" if draw(st.booleans()) else f"a_{i}"
        lines.append(f"{name} = {expr}")
        names.append(name)
    output = names[-1] if draw(st.booleans()) else draw(st.sampled_from(names[2:]))
    lines.append(output + draw(st.sampled_from(["", " * 1", " + x"])))
    return "\n".join(lines)


@st.composite
def evaluations(draw) -> Evaluation | None:
    """A random program evaluated at a random point; None where the point is outside the
    domain."""
    graph = parse(draw(programs()))
    point = {**graph.defaults, "x": draw(COORDINATES)}
    if "y" not in graph.defaults:
        point["y"] = draw(COORDINATES)
    try:
        return Tape(graph).evaluate({n: point[n] for n in graph.inputs})
    except DomainError:
        return None
