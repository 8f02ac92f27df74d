"""dumps writes an evaluation's nodes straight to text: byte for byte what json.dumps writes for
the same dicts, and strict (null, never NaN or Infinity)."""

import json
import math

from conftest import strict_json
from hypothesis import given, settings
from strategies import evaluations

from gradcli.core.engine import Tape
from gradcli.core.syntax import parse
from gradcli.output import jsonout


def plain_dumps(data: dict) -> str:
    """The json module alone, on the same data with the nodes as a list of dicts."""
    plain = {k: list(v) if isinstance(v, jsonout.Nodes) else v for k, v in data.items()}
    return json.dumps(plain, allow_nan=False, separators=(",", ":"))


@settings(max_examples=300, deadline=None)
@given(evaluations())
def test_nodes_text_is_what_json_writes(ev):
    if ev is None:
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
    assert nodes[-1] == {
        "id": 3,
        "op": "add",
        "name": None,
        "inputs": [2, 0],
        "value": 4.5,
        "grad": 1.0,
    }
    assert nodes[1:3] == [nodes[1], nodes[2]] and nodes[2]["name"] == "q"
    assert [n["id"] for n in nodes] == [0, 1, 2, 3]
