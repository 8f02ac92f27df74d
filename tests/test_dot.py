"""Circuit diagrams: DOT that Graphviz accepts, and the lecture's neuron figure in SVG."""

from __future__ import annotations

import html
import os
import re
import shutil
import subprocess

import pytest

from gradcli.dot import to_dot, wire_number
from gradcli.engine import Tape, resolve_point
from gradcli.examples import EXAMPLES
from gradcli.syntax import parse

needs_dot = pytest.mark.skipif(shutil.which("dot") is None and not os.environ.get("CI"),
                               reason="Graphviz is not installed (CI installs it)")

# The lecture's figure of the sigmoid neuron: forward values and gradients on every wire.
NEURON_VALUES = ["2.00", "-1.00", "-3.00", "-2.00", "6.00", "4.00", "1.00", "0.37", "1.37",
                 "0.73"]
NEURON_GRADS = ["-0.20", "0.39", "-0.39", "-0.59", "0.20", "-0.53", "1.00"]


def example_dot(name: str) -> str:
    graph = parse(EXAMPLES[name].program)
    point, _ = resolve_point(graph, {})
    return to_dot(Tape(graph).evaluate(point))


def svg_text(dot_text: str) -> list[str]:
    done = subprocess.run(["dot", "-Tsvg"], input=dot_text, capture_output=True, text=True,
                          check=True)
    return [html.unescape(t) for t in re.findall(r"<text[^>]*>([^<]*)</text>", done.stdout)]


def test_wire_numbers_like_the_lecture():
    assert wire_number(0.7310585786) == "0.73"
    assert wire_number(-0.19661193) == "-0.20"
    assert wire_number(0.0) == "0"
    assert wire_number(1.5e-7) == "1.50e-07"
    assert wire_number(float("inf")) == "inf"


def test_dot_structure():
    text = example_dot("circuit")
    assert text.startswith("digraph gradcli {") and "rankdir=LR;" in text
    # one wire per operand use plus the output wire; values green, gradients red
    assert text.count(" -> ") == 4 + 1
    assert 'n2 -> n4 [label=<<font color="#1a7f37">3.00</font><br/>' \
           '<font color="#cf222e">-4.00</font>>]' in text  # q = 3, ∂f/∂q = -4


@needs_dot
@pytest.mark.parametrize("name", ["neuron", "neuron-sigmoid"])
def test_svg_of_the_neuron_has_every_number_of_the_lecture(name):
    texts = svg_text(example_dot(name))
    if name == "neuron":
        expected = NEURON_VALUES + NEURON_GRADS
    else:  # one sigmoid gate replaces ·-1, exp, +1 and 1/x: the wires before it are the same
        expected = ["2.00", "-1.00", "-3.00", "-2.00", "6.00", "4.00", "1.00", "0.73",
                    "-0.20", "0.39", "-0.39", "-0.59", "0.20", "1.00"]
    for number in expected:
        assert number in texts, number
    for label in ("w0", "x0", "w1", "x1", "w2", "dot", "f"):
        assert label in texts
    assert ("exp" if name == "neuron" else "sigmoid") in texts


@needs_dot
@pytest.mark.parametrize("name", list(EXAMPLES))
def test_every_example_is_valid_dot(name):
    assert svg_text(example_dot(name))


@needs_dot
def test_user_text_is_escaped():
    source = 'f = x * y  # <b>"quotes" & \\ </font> }\n'
    graph = parse(source)
    text = to_dot(Tape(graph).evaluate({"x": 1.0, "y": 2.0}))
    texts = svg_text(text)
    assert any('<b>"quotes" & \\ </font> }' in t for t in texts)


@needs_dot
def test_cli_svg_png_and_dot(grad, tmp_path):
    result = grad("example", "neuron", "--svg", "neuron.svg", "--png", "neuron.png")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "neuron.svg").read_text().lstrip().startswith(("<?xml", "<svg"))
    assert (tmp_path / "neuron.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "f = 0.731059" in result.stdout  # the usual output still comes
    dot_out = grad("eval", "(x + y) * z", "x=-2", "y=5", "z=-4", "--format", "dot")
    assert dot_out.returncode == 0 and dot_out.stdout.startswith("digraph")
    assert svg_text(dot_out.stdout)


def test_cli_without_graphviz(grad, tmp_path):
    empty = tmp_path / "empty-bin"
    empty.mkdir()
    result = grad("eval", "x * y", "x=1", "y=2", "--svg", "out.svg",
                  env={"PATH": str(empty)})
    assert result.returncode == 2
    assert "Graphviz" in result.stderr and "apt-get install graphviz" in result.stderr
    assert "brew install graphviz" in result.stderr
    assert "Traceback" not in result.stderr
    assert result.stdout == "" and not (tmp_path / "out.svg").exists()


def test_cli_format_conflicts(grad):
    result = grad("eval", "x", "x=1", "--json", "--format", "dot")
    assert result.returncode == 2 and "two formats" in result.stderr
    result = grad("eval", "x", "x=1", "--format", "yaml")
    assert result.returncode == 2 and "unknown format" in result.stderr
