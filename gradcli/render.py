"""Rich renderables for results and errors. Nothing here prints: callers decide where output
goes. User text only ever reaches Rich as Text, so `[red]` in a formula stays literal."""

from __future__ import annotations

from typing import TYPE_CHECKING

import math

from rich.console import Group
from rich.table import Table
from rich.text import Text
from rich.tree import Tree

from .engine import Evaluation
from .errors import GradcliError
from .graph import CONST, INPUT, Graph
from .explain import formula
from .ops import OPS

if TYPE_CHECKING:  # types only: keep start-up imports to what runs
    from .numeric import CheckRow

VALUE = "green"
GRAD = "red"
MAX_NODES = 200  # the tree of a large graph is shortened to this many lines
MAX_DEPTH = 40
MAX_ARGS_SHOWN = 4


def num(value: float | None, digits: int = 6) -> str:
    """A number with `digits` significant digits; 'undefined' for nan, -0 shown as 0."""
    if value is None or math.isnan(value):
        return "undefined"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    if value == 0.0:
        return "0"
    return format(value, f".{digits}g")


def error(exc: GradcliError, first_line: int | None = None) -> Text:
    """error: message / the source line / a caret under the span / hint: …. `first_line`: the
    number of the source's first line in a script, to give the line in the file."""
    text = Text()
    text.append("error: ", style="bold red")
    text.append(exc.message)
    if first_line is not None and (exc.source is None or exc.span is None):
        text.append(f" (line {first_line})")
    if exc.source is not None and exc.span is not None:
        source, start = exc.source, exc.span.start
        line_start = source.rfind("\n", 0, start) + 1
        line_end = source.find("\n", start)
        if line_end == -1:
            line_end = len(source)
        line = source[line_start:line_end]
        column = start - line_start
        width = max(1, min(exc.span.end, line_end) - start)
        if len(line) > 100:  # a huge one-line formula: show a window around the span
            cut = max(0, column - 50)
            line = (("…" if cut else "") + line[cut:cut + 100]
                    + ("…" if cut + 100 < len(line) else ""))
            column = column - cut + (1 if cut else 0)
            width = min(width, 100 - column + 1)
        if "\n" in source or first_line is not None:
            number = source.count("\n", 0, start) + (first_line or 1)
            text.append(f" (line {number})")
        text.append("\n  " + line.replace("\t", " "))
        text.append("\n  " + " " * column)
        text.append("^" + "~" * (width - 1), style="bold red")
    if exc.hint:
        text.append("\nhint: ", style="bold")
        text.append(exc.hint)
    return text


def output_name(graph: Graph) -> str:
    return graph.names[graph.output] or "f"


def operand_text(graph: Graph, node: int, digits: int = 6) -> str:
    """How a node is referred to inside another node's label."""
    op = graph.ops[node]
    if graph.names[node]:
        return graph.names[node]
    if op == CONST:
        return num(graph.consts[node], digits)
    return "(…)"


def formula_text(graph: Graph, node: int, digits: int = 6) -> str:
    """One node's own formula in terms of its operands: 'x + y', 'exp(…)', '-(…)'."""
    if graph.ops[node] == INPUT:
        return graph.names[node] or "?"
    if graph.ops[node] == CONST:
        return graph.names[node] or num(graph.consts[node], digits)
    call = not OPS[graph.ops[node]].infix

    def operand(a: int) -> str:
        text = operand_text(graph, a, digits)
        return "…" if call and text == "(…)" else text

    return formula(graph, node, operand, MAX_ARGS_SHOWN)


def _label(ev: Evaluation, node: int, digits: int, tag: str = "") -> Text:
    graph = ev.graph
    text = Text()
    name = graph.names[node]
    if name and graph.ops[node] not in (INPUT, CONST):
        text.append(name, style="bold")
        text.append(" = ")
    text.append(formula_text(graph, node, digits), style="bold" if graph.is_leaf(node) else "")
    if tag:
        text.append(f" {tag}", style="dim")
    text.append("   value ", style="dim")
    text.append(num(ev.values[node], digits), style=VALUE)
    text.append("   grad ", style="dim")
    text.append(num(ev.grads[node], digits), style=GRAD)
    if graph.ops[node] not in (INPUT, CONST):
        text.append(f"   ({OPS[graph.ops[node]].role})", style="dim italic")
    return text


def tree(ev: Evaluation, digits: int = 6, max_nodes: int = MAX_NODES) -> Group:
    """The graph as a tree from the output down, every node with its value and gradient.
    A node used more than once is drawn once and referred to afterwards."""
    graph = ev.graph
    users = [0] * len(graph.ops)
    for args in graph.args:
        for a in args:
            users[a] += 1
    root = Tree(_label(ev, graph.output, digits), guide_style="dim")
    drawn: set[int] = set()
    shown = 1
    stack = [(a, root, 1) for a in reversed(graph.args[graph.output])]
    hidden_deep = False
    while stack and shown < max_nodes:
        node, parent, depth = stack.pop()
        shared = users[node] > 1 and not graph.is_leaf(node)
        ref = graph.names[node] or f"#{node}"
        if shared and node in drawn:
            parent.add(Text(f"↑ {ref} (shown above)", style="dim"))
            shown += 1
            continue
        tag = f"#{node}" if shared and not graph.names[node] else ""
        branch = parent.add(_label(ev, node, digits, tag))
        shown += 1
        drawn.add(node)
        if depth >= MAX_DEPTH and graph.args[node]:
            branch.add(Text("… deeper nodes not shown", style="dim"))
            hidden_deep = True
            continue
        stack.extend((a, branch, depth + 1) for a in reversed(graph.args[node]))
    parts: list = [root]
    if stack or hidden_deep:
        note = (f"… the graph has {len(graph.ops)} nodes; the tree shows the first "
                f"{shown} lines. Use --json for every node.")
        parts.append(Text(note, style="yellow"))
    return Group(*parts)


def legend(graph: Graph) -> Text:
    f = output_name(graph)
    text = Text("value", style=VALUE)
    text.append(" = the node's value (forward pass),  ", style="dim")
    text.append("grad", style=GRAD)
    text.append(f" = ∂{f}/∂node (backward pass)", style="dim")
    return text


def gradient_table(ev: Evaluation, names: list[str], digits: int = 6,
                   check: list[CheckRow] | None = None) -> Table:
    f = output_name(ev.graph)
    table = Table(title=f"{f} = {num(ev.value, digits)}", title_justify="left")
    table.add_column("input")
    table.add_column("value", style=VALUE, justify="right")
    table.add_column(f"∂{f}/∂input", style=GRAD, justify="right")
    rows = {row.name: row for row in check or []}
    if check is not None:
        table.add_column("numerical", justify="right")
        table.add_column("rel. error", justify="right")
        table.add_column("verdict")
    kinks = check is not None and any(row.kinks for row in check)
    if kinks:
        table.add_column("kink crossed at ± h")
    for name in names:
        cells = [Text(name), num(ev.point[name], digits),
                 num(ev.grads[ev.graph.inputs[name]], digits)]
        if check is not None:
            row = rows[name]
            cells += [num(row.numeric, digits) if row.numeric is not None else "n/a",
                      format(row.rel_error, ".1e") if row.rel_error is not None else "n/a",
                      Text(row.verdict, style=_VERDICT_STYLE.get(row.verdict, ""))]
            if kinks:
                cells.append(Text(_kink_note(ev.graph, row.kinks), style="yellow"))
        table.add_row(*cells)
    return table


def _kink_note(graph: Graph, kinks: tuple[int, ...]) -> str:
    if not kinks:
        return ""
    where = ", ".join(f"{graph.names[k] or '#' + str(k)} ({graph.ops[k]})" for k in kinks)
    return where


_VERDICT_STYLE = {"good": "green", "acceptable": "yellow", "suspect": "bold red"}


def evaluation_view(ev: Evaluation, names: list[str], digits: int = 6,
                    check: list[CheckRow] | None = None, diagnostics: list | None = None,
                    explanation=None) -> Group:
    """What `grad eval` shows: the legend, the annotated tree, the diagnostics, the
    step-by-step explanation if asked for, and the gradient table."""
    from . import render_explain

    parts = [legend(ev.graph), tree(ev, digits)]
    if diagnostics:
        parts.append(render_explain.diagnostics(diagnostics))
    if explanation is not None:
        parts.append(render_explain.explanation(explanation, digits))
    parts.append(gradient_table(ev, names, digits, check))
    return Group(*parts)


def warning(message: str) -> Text:
    return Text.assemble(("warning: ", "bold yellow"), message)
