"""dumps writes an evaluation's nodes straight to text: byte for byte what json.dumps writes for
the same dicts, and strict (null, never NaN or Infinity)."""

import json
import math

from hypothesis import given, settings
from hypothesis import strategies as st

from conftest import strict_json
from gradcli import jsonout
from gradcli.engine import Tape
from gradcli.errors import DomainError
from gradcli.syntax import parse

UNARY = ["sin", "exp", "sigmoid", "relu", "abs", "sqrt", "log", "-"]
BINARY = ["+", "-", "*", "/", "^", "max", "min"]
LEAVES = ["x", "y", "pi", "e", "2", "0.5", "0", "1e-300", "-3"]


@st.composite
def programs(draw):
    """A random program: named intermediates, constants, literals given to inputs."""
    names = ["x", "y"]
    lines = [f"y = {draw(st.sampled_from(['-1.5', '0', '2']))}"] if draw(st.booleans()) else []
    for i in range(draw(st.integers(1, 12))):
        a, b = (draw(st.sampled_from(names + LEAVES)) for _ in range(2))
        if draw(st.booleans()):
            f = draw(st.sampled_from(UNARY))
            expr = f"-{a}" if f == "-" else f"{f}({a})"
        else:
            f = draw(st.sampled_from(BINARY))
            expr = f"{f}({a}, {b})" if f in ("max", "min") else f"({a} {f} {b})"
        name = f"t{i}" if draw(st.booleans()) else f"a_{i}"
        lines.append(f"{name} = {expr}")
        names.append(name)
    lines.append(draw(st.sampled_from(names[2:] or names)) + " * 1")
    return "\n".join(lines)


def plain_dumps(data: dict) -> str:
    """The json module alone, on the same data with the nodes as a list of dicts."""
    plain = {k: list(v) if isinstance(v, jsonout.Nodes) else v for k, v in data.items()}
    return json.dumps(plain, allow_nan=False, separators=(",", ":"))


@settings(max_examples=300, deadline=None)
@given(programs(), st.sampled_from([-2.0, -0.0, 0.0, 1e-300, 0.5, 3.0, 1e300]),
       st.sampled_from([-1.0, 0.0, 2.0]))
def test_nodes_text_is_what_json_writes(program, x, y):
    graph = parse(program)
    point = {n: v for n, v in {"x": x, "y": y}.items() if n in graph.inputs}
    try:
        ev = Tape(graph).evaluate({**graph.defaults, **point})
    except DomainError:
        return
    data = jsonout.evaluation(ev)
    text = jsonout.dumps(data)
    assert text == plain_dumps(data)
    assert strict_json(text)["nodes"] == list(data["nodes"])


def test_undefined_and_infinite_gradients_are_null():
    ev = Tape(parse("sqrt(x) + x ^ n")).evaluate({"x": 0.0, "n": 2.0})
    assert math.isinf(ev.grads[0]) or math.isnan(ev.grads[0])
    data = jsonout.evaluation(ev)
    text = jsonout.dumps(data)
    assert "NaN" not in text and "Infinity" not in text
    assert text == plain_dumps(data)


def test_nodes_are_a_sequence_of_dicts():
    ev = Tape(parse("q = x * 2; q + x")).evaluate({"x": 1.5})
    nodes = jsonout.evaluation(ev)["nodes"]
    assert len(nodes) == 4
    assert nodes[-1] == {"id": 3, "op": "add", "name": None, "inputs": [2, 0], "value": 4.5,
                         "grad": 1.0}
    assert nodes[1:3] == [nodes[1], nodes[2]] and nodes[2]["name"] == "q"
    assert [n["id"] for n in nodes] == [0, 1, 2, 3]
