"""Circuit diagrams: DOT that Graphviz accepts, and the lecture's neuron figure in SVG."""

from __future__ import annotations

import html
import math
import os
import re
import shutil
import subprocess

import pytest

from gradcli.core.engine import Tape, resolve_point
from gradcli.core.examples import EXAMPLES
from gradcli.core.syntax import parse
from gradcli.output.dot import to_dot, wire_number

needs_dot = pytest.mark.skipif(
    shutil.which("dot") is None and not os.environ.get("CI"),
    reason="Graphviz is not installed (CI installs it)",
)

# The lecture's figure of the sigmoid neuron: forward values and gradients on every wire.
NEURON_VALUES = ["2.00", "-1.00", "-3.00", "-2.00", "6.00", "4.00", "1.00", "0.37", "1.37", "0.73"]
NEURON_GRADS = ["-0.20", "0.39", "-0.39", "-0.59", "0.20", "-0.53", "1.00"]


def example_dot(name: str) -> str:
    graph = parse(EXAMPLES[name].program)
    point, _ = resolve_point(graph, {})
    return to_dot(Tape(graph).evaluate(point))


def svg_text(dot_text: str) -> list[str]:
    done = subprocess.run(
        ["dot", "-Tsvg"], input=dot_text, capture_output=True, text=True, check=True
    )
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
    assert (
        'n2 -> n4 [label=<<font color="#1a7f37">3.00</font><br/>'
        '<font color="#cf222e">-4.00</font>>]' in text
    )  # q = 3, ∂f/∂q = -4


@needs_dot
@pytest.mark.parametrize("name", ["neuron", "neuron-sigmoid"])
def test_svg_of_the_neuron_has_every_number_of_the_lecture(name):
    texts = svg_text(example_dot(name))
    if name == "neuron":
        expected = NEURON_VALUES + NEURON_GRADS
    else:  # one sigmoid gate replaces ·-1, exp, +1 and 1/x: the wires before it are the same
        expected = [
            "2.00",
            "-1.00",
            "-3.00",
            "-2.00",
            "6.00",
            "4.00",
            "1.00",
            "0.73",
            "-0.20",
            "0.39",
            "-0.39",
            "-0.59",
            "0.20",
            "1.00",
        ]
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
    result = grad("eval", "x * y", "x=1", "y=2", "--svg", "out.svg", env={"PATH": str(empty)})
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


# --- large diagrams ----------------------------------------------------------------------


def copies(k: int) -> str:
    return " + ".join(["sin(x)*cos(y)"] * k)


def evaluation(text: str, **point: float):
    return Tape(parse(text)).evaluate(point)


def test_large_diagrams_are_compact_gates_carry_their_numbers():
    text = to_dot(evaluation(copies(100), x=1.0, y=2.0))  # 402 nodes
    wires = [line for line in text.splitlines() if " -> " in line]
    assert wires and not any("label" in line for line in wires)
    assert "splines=line" in text and "nslimit=" in text
    f = 100 * math.sin(1) * math.cos(2)
    assert f'<font color="#1a7f37">{f:.2f}</font>' in text  # the output gate's value
    # x is drawn at each of its 100 uses: that wire's gradient, and the total
    share, total = math.cos(1) * math.cos(2), 100 * math.cos(1) * math.cos(2)
    assert text.count("<b>x</b> ") == 100
    assert (
        text.count(
            f'<font color="#cf222e">{share:.2f}</font> <font color="#cf222e">(Σ {total:.2f})</font>'
        )
        == 100
    )


def test_small_diagrams_with_wires_across_many_ranks_are_compact_too():
    # 60 nodes, but x feeds gates in 59 columns: the lecture style takes dot seconds
    assert "splines=line" in to_dot(evaluation("*".join(["x"] * 60), x=1.0))
    assert "splines=line" not in to_dot(evaluation("*".join(["x"] * 20), x=1.0))


def test_compact_wires_never_cross_the_diagram():
    # 200 products of a shared t, summed in a chain 200 columns long
    program = "t = sin(x) * y\n" + " + ".join(["t * y"] * 200)
    graph = parse(program)
    text = to_dot(evaluation(program, x=1.0, y=2.0))
    # a gate's value used far away is referenced there by its label, with its numbers
    references = re.findall(r'label=<→ #(\d+) <font color="#1a7f37">3.37</font>', text)
    assert len(references) > 150
    assert all(graph.ops[int(node)] == "mul" for node in references)
    assert all(f"<b>#{node}</b><br/>*" in text for node in references)  # the gate's label
    column = [0] * len(graph.ops)  # a gate just right of its furthest gate operand
    for node, args in enumerate(graph.args):
        gates = [column[a] for a in args if graph.args[a]]
        column[node] = 1 + max(gates, default=0) if args else 0
    for a, b in re.findall(r"  n(\d+) -> n(\d+);", text):
        assert column[int(b)] - column[int(a)] <= 3


@needs_dot
def test_cli_svg_of_the_issue_graph(grad):
    # 100 copies of sin(x)*cos(y) added: dot ran for 120 s, then gradcli exited 1
    result = grad("eval", copies(100), "x=1", "y=2", "--svg", "big.svg", timeout=60)
    assert result.returncode == 0, result.stderr
    f = 100 * math.sin(1) * math.cos(2)
    assert f"{f:.2f}" in svg_text(to_dot(evaluation(copies(100), x=1.0, y=2.0)))


@needs_dot
def test_cli_svg_of_2000_nodes(grad, tmp_path):
    result = grad("eval", copies(499), "x=1", "y=2", "--svg", "big.svg", timeout=60)
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "big.svg").read_text().lstrip().startswith(("<?xml", "<svg"))


def test_cli_refuses_a_diagram_past_the_size_limit(grad, tmp_path):
    from gradcli.output.dot import MAX_NODES

    k = MAX_NODES // 4 + 1
    result = grad("eval", copies(k), "x=1", "y=2", "--svg", "big.svg", "--png", "big.png")
    assert result.returncode == 2
    assert "Graphviz" in result.stderr and "--format dot" in result.stderr
    assert f"{MAX_NODES:,}" in result.stderr and "Traceback" not in result.stderr
    assert result.stdout == "" and not list(tmp_path.glob("big.*"))
    text = grad("eval", copies(k), "x=1", "y=2", "--format", "dot")
    assert text.returncode == 0 and text.stdout.startswith("digraph")


def fake_dot(folder, script: str) -> dict:
    folder.mkdir()
    program = folder / "dot"
    program.write_text("#!/bin/sh\n" + script)
    program.chmod(0o755)
    return {"PATH": f"{folder}{os.pathsep}{os.environ['PATH']}"}


@pytest.mark.parametrize(
    "script,message",
    [
        ("echo 'Error: <stdin>: syntax error in line 1' >&2; exit 1", "syntax error in line 1"),
        ("kill -SEGV $$", "crashed"),
    ],
)
def test_a_failing_dot_is_a_graphviz_error_not_a_domain_error(grad, tmp_path, script, message):
    env = fake_dot(tmp_path / "bin", script)
    result = grad("eval", "x * y", "x=1", "y=2", "--svg", "out.svg", env=env)
    assert result.returncode == 2, result.stderr
    assert "Graphviz" in result.stderr and message in result.stderr
    assert "Traceback" not in result.stderr and not (tmp_path / "out.svg").exists()


def test_a_dot_that_does_not_finish_is_stopped(tmp_path, monkeypatch):
    from gradcli.core.errors import ExitCode, GraphvizError
    from gradcli.output import dot

    env = fake_dot(tmp_path / "bin", "exec sleep 30\n")
    monkeypatch.setenv("PATH", env["PATH"])
    monkeypatch.setattr(dot, "DOT_TIMEOUT", 0.5)
    with pytest.raises(GraphvizError) as info:
        dot.render(example_dot("circuit"), "svg", tmp_path / "out.svg")
    assert info.value.exit_code == ExitCode.USAGE == 2
    assert "did not finish" in info.value.message and "--format dot" in info.value.hint
    assert not (tmp_path / "out.svg").exists()
