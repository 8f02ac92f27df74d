"""Circuit diagrams: an Evaluation as Graphviz DOT text, and rendering it with `dot`.

Gates are nodes, inputs sit on the left and the output on the right (rankdir=LR). Every wire
is labelled like the lecture's figures: the value flowing forward in green above, the gradient
flowing back along that wire in red below. Where a value feeds several gates each wire shows
its own share, and the node shows their sum (gradients add at branches).

Numbers are shown with 2 decimal places, as in the lecture (0.73, -0.20); values below 0.01
or from a million up in scientific notation. All text in labels is HTML-escaped.

That style costs Graphviz dearly as graphs grow: a wire's label is laid out as a node of its
own, and a value used far away (an input feeding a hundred gates) makes wires that cross many
ranks, each rank a hidden node; the x-coordinate pass then runs for minutes. Diagrams of more
than LECTURE_NODES nodes, or whose wires would cross more than LECTURE_DETOUR ranks, are
therefore drawn compact (see _compact_dot), with dot's network-simplex passes bounded. Past
MAX_NODES, gradcli does not ask dot for a picture at all (--format dot still gives the text).
tests/perf/bench_dot.py measures both styles.
"""

from __future__ import annotations

import html
import math
import shutil
import subprocess
from pathlib import Path

from ..core.engine import Evaluation
from ..core.errors import GraphvizError, UsageError
from ..core.explain import contributions, label
from ..core.graph import CONST, INPUT
from ..core.ops import OPS
from .files import write_bytes

VALUE_COLOUR = "#1a7f37"  # green
GRAD_COLOUR = "#cf222e"  # red
INSTALL_HINT = (
    "install Graphviz: apt-get install graphviz (Debian, Ubuntu) or brew install graphviz (macOS)"
)
# The lecture style, every wire labelled, is used up to LECTURE_NODES graph nodes when the
# wires cross at most LECTURE_DETOUR ranks beyond their next (x*x*…*x with 50 factors: 1,176,
# about 1 s of dot; 60 factors: 3 s, 75: 25 s)
LECTURE_NODES = 100
LECTURE_DETOUR = 800
FAR = 3  # in the compact style, a gate's value used more ranks away than this is referenced
MAX_NODES = 2000  # the most a picture is drawn for: ~2 s of dot at 2,000, growing faster
DOT_TIMEOUT = 60  # seconds
TEXT_HINT = "use --format dot to get the DOT text instead"


def wire_number(value: float, places: int = 2) -> str:
    if math.isnan(value):
        return "undefined"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    if value == 0.0:
        return "0"
    if 10.0**-places <= abs(value) < 1e6:
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
    """The diagram as DOT text: lecture style for small graphs, compact beyond."""
    graph = ev.graph
    if len(graph.ops) > LECTURE_NODES or _detour(graph) > LECTURE_DETOUR:
        return _compact_dot(ev)
    return _lecture_dot(ev)


def _ranks(graph, leaves_at_use: bool = False) -> list[int]:
    """Each node's column when every gate sits just right of its furthest operand (node ids
    are a topological order). With leaves_at_use, inputs and constants do not count: they
    are drawn beside each use."""
    rank = [0] * len(graph.ops)
    leaf = (INPUT, CONST)
    for node, args in enumerate(graph.args):
        if args:
            rank[node] = 1 + max(
                (rank[a] for a in args if not (leaves_at_use and graph.ops[a] in leaf)), default=0
            )
    return rank


def _detour(graph) -> int:
    """About how many ranks the wires cross beyond the next one, as dot would lay them out:
    dot draws each such crossing as a hidden node (a labelled wire, two), and its time grows
    much faster than their number. A gate sits just right of its furthest gate operand, an
    input or constant just left of its first use."""
    rank = _ranks(graph, leaves_at_use=True)
    first_use = [len(graph.ops)] * len(graph.ops)
    detour = 0
    for user, args in enumerate(graph.args):
        for a in args:
            if graph.ops[a] in (INPUT, CONST):
                first_use[a] = min(first_use[a], rank[user])
            else:
                detour += rank[user] - rank[a] - 1
    for user, args in enumerate(graph.args):
        for a in args:
            if graph.ops[a] in (INPUT, CONST):
                detour += rank[user] - first_use[a]
    return detour


def _uses(graph) -> list[int]:
    uses = [0] * len(graph.ops)
    for args in graph.args:
        for a in args:
            uses[a] += 1
    return uses


def _title(graph) -> str:
    lines_of_source = (" ".join(line.split()) for line in graph.source.splitlines())
    title = "; ".join(line for line in lines_of_source if line)
    if len(title) > 80:
        title = title[:79] + "…"
    return title


def _gate_text(graph, node: int) -> str:
    rule = OPS[graph.ops[node]]
    name = graph.names[node]
    symbol = html.escape(rule.symbol)
    return f"<b>{html.escape(name)}</b><br/>{symbol}" if name else symbol


def _tooltip(graph, node: int, out: str) -> str:
    op = graph.ops[node]
    return f"{label(graph, node, out)}: {op}" + (
        f", {OPS[op].role}" if op not in (INPUT, CONST) else ""
    )


def _lecture_dot(ev: Evaluation) -> str:
    graph, values, grads = ev.graph, ev.values, ev.grads
    out = graph.output_name
    uses = _uses(graph)
    lines = [
        "digraph gradcli {",
        "  rankdir=LR;",
        '  graph [fontname="Helvetica", fontsize=12, nodesep=0.4, ranksep=0.7, '
        'labelloc="t", label=<' + html.escape(_title(graph)) + ">];",
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
            text = _gate_text(graph, node)
            shape = "circle" if len(OPS[op].symbol) <= 1 else "ellipse"
        if uses[node] > 1 and op != CONST:
            text += "<br/>" + _font(f"Σ {wire_number(grads[node])}", GRAD_COLOUR)
        lines.append(
            f"  n{node} "
            + _attrs(label=f"<{text}>", shape=shape, tooltip=_tooltip(graph, node, out))
            + ";"
        )
    for received in contributions(ev):
        for c in received:
            a = c.operand
            grad = None if graph.ops[a] == CONST else c.downstream
            lines.append(f"  n{a} -> n{c.user} " + _attrs(label=_wire(values[a], grad)) + ";")
    lines.append(
        "  result " + _attrs(label=f"<<b>{html.escape(out)}</b>>", shape="plaintext") + ";"
    )
    lines.append(
        f"  n{graph.output} -> result "
        + _attrs(label=_wire(values[graph.output], grads[graph.output]))
        + ";"
    )
    lines.append("}")
    return "\n".join(lines) + "\n"


def _compact_dot(ev: Evaluation) -> str:
    """Gates carry their value (green) and gradient (red); an input or constant is drawn at
    each use with that wire's gradient (and the input's total, Σ, when it has several uses);
    a gate whose value is used more than FAR ranks away is referenced there by its label
    (→ t or → #12), with that wire's value and gradient: no wire runs across the diagram.
    Bare straight wires."""
    graph, values, grads = ev.graph, ev.values, ev.grads
    out = graph.output_name
    uses = _uses(graph)
    lines = [
        "digraph gradcli {",
        "  rankdir=LR;",
        # nslimit bounds the network-simplex passes that place nodes (unbounded, they grow
        # much faster than the graph); straight wires need no spline routing
        '  graph [fontname="Helvetica", fontsize=12, nodesep=0.2, ranksep=0.4, '
        "splines=line, nslimit=0.2, nslimit1=0.2, "
        'labelloc="t", label=<' + html.escape(_title(graph)) + ">];",
        '  node [fontname="Helvetica", fontsize=10, shape=box, style=rounded, margin="0.05"];',
        "  edge [arrowsize=0.5];",
    ]
    leaf = {INPUT, CONST}
    rank = _ranks(graph, leaves_at_use=True)
    far = {
        a
        for user, args in enumerate(graph.args)
        for a in args
        if graph.ops[a] not in leaf and rank[user] - rank[a] > FAR
    }
    for node, op in enumerate(graph.ops):
        if op in leaf:
            continue
        text = _gate_text(graph, node)
        if node in far and not graph.names[node]:  # the name its references use
            text = f"<b>{html.escape(label(graph, node))}</b><br/>{text}"
        text += (
            "<br/>"
            + _font(wire_number(values[node]), VALUE_COLOUR)
            + "<br/>"
            + _font(wire_number(grads[node]), GRAD_COLOUR)
        )
        lines.append(
            f"  n{node} " + _attrs(label=f"<{text}>", tooltip=_tooltip(graph, node, out)) + ";"
        )
    copy = 0
    for received in contributions(ev):
        for c in received:
            a = c.operand
            if graph.ops[a] not in leaf and a not in far:
                lines.append(f"  n{a} -> n{c.user};")
                continue
            copy += 1
            if graph.ops[a] not in leaf:  # a reference, not a wire across the diagram
                text = (
                    "→ "
                    + html.escape(label(graph, a))
                    + " "
                    + _font(wire_number(values[a]), VALUE_COLOUR)
                    + "<br/>"
                    + _font(wire_number(c.downstream), GRAD_COLOUR)
                )
            elif graph.ops[a] == CONST:
                text = html.escape(label(graph, a, out))
            else:
                text = (
                    f"<b>{html.escape(graph.names[a] or '?')}</b> "
                    + _font(wire_number(values[a]), VALUE_COLOUR)
                    + "<br/>"
                    + _font(wire_number(c.downstream), GRAD_COLOUR)
                )
                if uses[a] > 1:
                    text += " " + _font(f"(Σ {wire_number(grads[a])})", GRAD_COLOUR)
            lines.append(
                f"  u{copy} "
                + _attrs(label=f"<{text}>", shape="plaintext", tooltip=_tooltip(graph, a, out))
                + ";"
            )
            lines.append(f"  u{copy} -> n{c.user};")
    output = f"n{graph.output}"
    if graph.ops[graph.output] in leaf:  # a formula that is one input or constant
        text = html.escape(label(graph, graph.output, out))
        lines.append(f"  {output} " + _attrs(label=f"<{text}>", shape="plaintext") + ";")
    lines.append(
        "  result " + _attrs(label=f"<<b>{html.escape(out)}</b>>", shape="plaintext") + ";"
    )
    lines.append(f"  {output} -> result;")
    lines.append("}")
    return "\n".join(lines) + "\n"


def check_drawable(graph) -> None:
    """Raise UsageError when the graph is too large for dot to draw in reasonable time."""
    if len(graph.ops) > MAX_NODES:
        raise UsageError(
            f"the circuit diagram would have {len(graph.ops):,} nodes; gradcli "
            f"asks Graphviz to draw at most {MAX_NODES:,}",
            hint=TEXT_HINT,
        )


def have_graphviz() -> bool:
    return shutil.which("dot") is not None


def render(dot_text: str, fmt: str, path: Path) -> None:
    """Render DOT text to `path` as fmt ("svg" or "png") with Graphviz's dot program, written
    by files.write_bytes. Raises UsageError when dot is missing or the file cannot be written,
    GraphvizError when dot fails or does not finish."""
    program = shutil.which("dot")
    if program is None:
        raise UsageError(
            f"cannot write {str(path)!r}: Graphviz's dot program is not installed",
            hint=INSTALL_HINT,
        )
    done = _run_dot(program, dot_text, fmt)
    write_bytes(path, done.stdout)


def _run_dot(program: str, dot_text: str, fmt: str) -> subprocess.CompletedProcess:
    """Run dot; its failure, crash or time-out is a GraphvizError (exit code 2)."""
    try:
        done = subprocess.run(
            [program, f"-T{fmt}"],
            input=dot_text.encode("utf-8"),
            capture_output=True,
            timeout=DOT_TIMEOUT,
        )
    except subprocess.TimeoutExpired:
        raise GraphvizError(
            f"Graphviz's dot did not finish drawing the diagram within {DOT_TIMEOUT} s",
            hint=TEXT_HINT,
        ) from None
    except OSError as exc:
        raise GraphvizError(f"Graphviz's dot could not be run: {exc.strerror or exc}") from None
    if done.returncode != 0:
        if done.returncode < 0:
            problem = f"crashed (signal {-done.returncode})"
        else:
            message = done.stderr.decode("utf-8", "replace").strip().splitlines()
            problem = (
                f"failed: {message[0]}" if message else f"failed (exit code {done.returncode})"
            )
        raise GraphvizError(f"Graphviz's dot {problem}")
    return done
