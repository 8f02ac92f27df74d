"""Circuit diagrams: an Evaluation as Graphviz DOT text, and rendering it with `dot`.

Gates are nodes, inputs sit on the left and the output on the right (rankdir=LR). Every wire
is labelled like the lecture's figures: the value flowing forward in green above, the gradient
flowing back along that wire in red below. Where a value feeds several gates each wire shows
its own share, and the node shows their sum (gradients add at branches).

Numbers are shown with 2 decimal places, as in the lecture (0.73, -0.20); values below 0.01
or from a million up in scientific notation. All text in labels is HTML-escaped.
"""

from __future__ import annotations

import html
import math
import shutil
import subprocess
from pathlib import Path

from .engine import Evaluation
from .errors import GradcliError, UsageError
from .explain import contributions, label, output_label
from .files import write_bytes
from .graph import CONST, INPUT
from .ops import OPS

VALUE_COLOUR = "#1a7f37"  # green
GRAD_COLOUR = "#cf222e"  # red
INSTALL_HINT = "install Graphviz: apt-get install graphviz (Debian, Ubuntu) or " \
               "brew install graphviz (macOS)"


def wire_number(value: float, places: int = 2) -> str:
    if math.isnan(value):
        return "undefined"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    if value == 0.0:
        return "0"
    if 10.0 ** -places <= abs(value) < 1e6:
        return f"{value:.{places}f}"
    return f"{value:.{places}e}"


def _font(text: str, colour: str) -> str:
    return f'<font color="{colour}">{html.escape(text)}</font>'


def _wire(value: float | None, grad: float | None) -> str:
    parts = []
    if value is not None:
        parts.append(_font(wire_number(value), VALUE_COLOUR))
    if grad is not None:
        parts.append(_font(wire_number(grad), GRAD_COLOUR))
    return "<" + "<br/>".join(parts) + ">"


def _attrs(**attrs: str) -> str:
    """DOT attributes; a value starting with '<' is an HTML label, others are quoted."""
    out = []
    for key, value in attrs.items():
        if value.startswith("<"):
            out.append(f"{key}={value}")
        else:
            escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")
            out.append(f'{key}="{escaped}"')
    return "[" + ", ".join(out) + "]"


def to_dot(ev: Evaluation) -> str:
    graph, values, grads = ev.graph, ev.values, ev.grads
    out = output_label(graph)
    uses = [0] * len(graph.ops)
    for args in graph.args:
        for a in args:
            uses[a] += 1
    lines_of_source = (" ".join(line.split()) for line in graph.source.splitlines())
    title = "; ".join(line for line in lines_of_source if line)
    if len(title) > 80:
        title = title[:79] + "…"
    lines = [
        "digraph gradcli {",
        "  rankdir=LR;",
        '  graph [fontname="Helvetica", fontsize=12, nodesep=0.4, ranksep=0.7, '
        'labelloc="t", label=<' + html.escape(title) + ">];",
        '  node [fontname="Helvetica", fontsize=12];',
        '  edge [fontname="Helvetica", fontsize=11, arrowsize=0.6];',
    ]
    for node, op in enumerate(graph.ops):
        name = graph.names[node]
        if op == INPUT:
            text = f"<b>{html.escape(name or '?')}</b>"
            shape = "plaintext"
        elif op == CONST:
            text = html.escape(label(graph, node, out))
            shape = "plaintext"
        else:
            rule = OPS[op]
            symbol = html.escape(rule.symbol)
            text = f"<b>{html.escape(name)}</b><br/>{symbol}" if name else symbol
            shape = "circle" if len(rule.symbol) <= 1 else "ellipse"
        if uses[node] > 1 and op != CONST:
            text += "<br/>" + _font(f"Σ {wire_number(grads[node])}", GRAD_COLOUR)
        tooltip = f"{label(graph, node, out)}: {op}" + (
            f", {OPS[op].role}" if op not in (INPUT, CONST) else "")
        lines.append(f"  n{node} " + _attrs(label=f"<{text}>", shape=shape, tooltip=tooltip)
                     + ";")
    for received in contributions(ev):
        for c in received:
            a = c.operand
            grad = None if graph.ops[a] == CONST else c.downstream
            lines.append(f"  n{a} -> n{c.user} " + _attrs(label=_wire(values[a], grad)) + ";")
    lines.append("  result " + _attrs(label=f"<<b>{html.escape(out)}</b>>", shape="plaintext")
                 + ";")
    lines.append(f"  n{graph.output} -> result "
                 + _attrs(label=_wire(values[graph.output], grads[graph.output])) + ";")
    lines.append("}")
    return "\n".join(lines) + "\n"


def have_graphviz() -> bool:
    return shutil.which("dot") is not None


def render(dot_text: str, fmt: str, path: Path) -> None:
    """Render DOT text to `path` as fmt ("svg" or "png") with Graphviz's dot program, written
    by files.write_bytes. Raises UsageError when dot is missing or the file cannot be written,
    GradcliError when dot fails."""
    program = shutil.which("dot")
    if program is None:
        raise UsageError(f"cannot write {str(path)!r}: Graphviz's dot program is not installed",
                         hint=INSTALL_HINT)
    try:
        done = subprocess.run([program, f"-T{fmt}"], input=dot_text.encode("utf-8"),
                              capture_output=True, timeout=120)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise GradcliError(f"Graphviz's dot failed: {exc}") from None
    if done.returncode != 0:
        message = done.stderr.decode("utf-8", "replace").strip().splitlines()
        raise GradcliError("Graphviz's dot failed" + (f": {message[0]}" if message else ""))
    write_bytes(path, done.stdout)
