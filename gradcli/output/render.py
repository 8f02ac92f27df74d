"""Rich renderables for results and errors. Nothing here prints: callers decide where output
goes. User text only ever reaches Rich as Text, so `[red]` in a formula stays literal."""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

from rich.console import Group
from rich.text import Text

from ..core.engine import Evaluation
from ..core.errors import GradcliError
from ..core.explain import formula
from ..core.graph import CONST, INPUT, Graph
from ..core.ops import OPS
from .render_table import FoldingTable
from .style import GRAD, VALUE, num

if TYPE_CHECKING:  # types only: keep start-up imports to what runs
    from ..core.numeric import CheckRow

MAX_NODES = 200  # the tree of a large graph is shortened to this many lines
MAX_DEPTH = 40
MAX_ARGS_SHOWN = 4


def error(exc: GradcliError, width: int | None = None, first_line: int | None = None) -> Text:
    """error: message / the source line / a caret under the span / hint: …

    The excerpt and the caret are kept within `width` columns (default: the terminal's, or
    $COLUMNS, or 80); a long line shows a window around the span, so that the caret stays
    under its target. `first_line`: the number of the source's first line in a script, to
    give the line in the file."""
    if width is None:
        import shutil

        width = shutil.get_terminal_size().columns
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
        line = source[line_start:line_end].replace("\t", " ")
        column = start - line_start
        span = max(1, min(exc.span.end, line_end) - start)
        room = max(12, width - 2)  # the excerpt is indented by two spaces
        if len(line) > room:  # show a window around the span
            keep = room - 2  # and an ellipsis at either end
            cut = max(0, min(column - keep // 3, len(line) - keep))
            line = (
                ("…" if cut else "")
                + line[cut : cut + keep]
                + ("…" if cut + keep < len(line) else "")
            )
            column = column - cut + (1 if cut else 0)
        span = max(1, min(span, room - column))
        if "\n" in source or first_line is not None:
            number = source.count("\n", 0, start) + (first_line or 1)
            text.append(f" (line {number})")
        text.append("\n  " + line)
        text.append("\n  " + " " * column)
        text.append("^" + "~" * (span - 1), style="bold red")
    if exc.hint:
        text.append("\nhint: ", style="bold")
        text.append(exc.hint)
    return text


def operand_text(graph: Graph, node: int, digits: int = 6) -> str:
    """How a node is referred to inside another node's label."""
    op = graph.ops[node]
    if graph.names[node]:
        return graph.names[node]
    if op == CONST:
        return constant_text(graph, node, digits)
    return "(…)"


def constant_text(graph: Graph, node: int, digits: int = 6) -> str:
    """A constant as the formula writes it (`123.456` whatever --digits says); a constant the
    formula does not spell out (an implicit one) is shown with `digits` digits."""
    start, end = graph.spans[node]
    written = graph.source[start:end]
    try:
        if float(written) == graph.consts[node]:
            return written
    except ValueError:
        pass
    return num(graph.consts[node], digits)


def formula_text(graph: Graph, node: int, digits: int = 6) -> str:
    """One node's own formula in terms of its operands: 'x + y', 'exp(…)', '-(…)'."""
    if graph.ops[node] == INPUT:
        return graph.names[node] or "?"
    if graph.ops[node] == CONST:
        return graph.names[node] or constant_text(graph, node, digits)
    call = not OPS[graph.ops[node]].infix

    def operand(a: int) -> str:
        text = operand_text(graph, a, digits)
        return "…" if call and text == "(…)" else text

    return formula(graph, node, operand, MAX_ARGS_SHOWN)


def _label(ev: Evaluation, node: int, digits: int, tag: str = "") -> tuple[Text, Text, Text]:
    """A node's label in three parts, so that a narrow terminal can drop or shorten the words
    and never the numbers: the head (name and formula), the numbers, the gate role."""
    graph = ev.graph
    head = Text()
    name = graph.names[node]
    if name and graph.ops[node] not in (INPUT, CONST):
        head.append(name, style="bold")
        head.append(" = ")
    head.append(formula_text(graph, node, digits), style="bold" if graph.is_leaf(node) else "")
    if tag:
        head.append(f" {tag}", style="dim")
    numbers = Text()
    numbers.append("   value ", style="dim")
    numbers.append(num(ev.values[node], digits), style=VALUE)
    numbers.append("   grad ", style="dim")
    numbers.append(num(ev.grads[node], digits), style=GRAD)
    role = Text()
    if graph.ops[node] not in (INPUT, CONST):
        role.append(f"   ({OPS[graph.ops[node]].role})", style="dim italic")
    return head, numbers, role


GUIDES = {"branch": "├── ", "last": "└── ", "through": "│   ", "space": "    "}


class Line(NamedTuple):
    depth: int
    guides: str  # the tree's guides before the label ('│   ├── ')
    head: Text  # may be shortened
    numbers: Text  # never shortened
    role: Text  # may be dropped


class TreeView:
    """The annotated tree, laid out when Rich gives it a width: every line keeps its numbers
    whole. A label too long for its line first loses its gate role, then its formula text is
    shortened; when even that does not fit (a deep tree in few columns) the tree becomes an
    indented list, one node per line, whose lines may run past the width as `ls -l` does."""

    def __init__(self, lines: list[Line], note: Text | None) -> None:
        self.lines = lines
        self.note = note
        self.ellipsis = "…"

    def ascii(self) -> TreeView:
        """The same tree for a stream that shows only ASCII (see terminal.asciify)."""
        from .terminal import ascii_text, to_ascii

        view = TreeView(
            [
                Line(
                    line.depth,
                    to_ascii(line.guides),
                    ascii_text(line.head),
                    ascii_text(line.numbers),
                    ascii_text(line.role),
                )
                for line in self.lines
            ],
            None if self.note is None else ascii_text(self.note),
        )
        view.ellipsis = "..."
        return view

    def fit(self, width: int) -> list[Text] | None:
        """The tree's lines within `width` columns, or None when some label cannot fit."""
        fitted = []
        for line in self.lines:
            room = width - len(line.guides)
            text = Text(no_wrap=True, overflow="ignore")
            text.append(line.guides, style="dim")
            head, numbers, role = line.head, line.numbers, line.role
            if head.cell_len + numbers.cell_len + role.cell_len <= room:
                text.append_text(head)
                text.append_text(numbers)
                text.append_text(role)
            elif head.cell_len + numbers.cell_len <= room:
                text.append_text(head)
                text.append_text(numbers)
            else:
                keep = room - numbers.cell_len - len(self.ellipsis)
                if keep < 1 or not numbers:  # a mark ('… 433 more operands') stays whole
                    return None
                short = head[:keep]
                short.append(self.ellipsis, style="dim")
                text.append_text(short)
                text.append_text(numbers)
            fitted.append(text)
        return fitted

    def listed(self) -> list[Text]:
        """One node per line, indented two spaces per level, labels whole."""
        lines = [
            Text(
                "(too deep for this width: the tree as an indented list, one node per line)",
                style="dim",
            )
        ]
        for line in self.lines:
            text = Text("  " * line.depth, no_wrap=True, overflow="ignore")
            text.append_text(line.head)
            text.append_text(line.numbers)
            lines.append(text)
        return lines

    def __rich_console__(self, console, options):
        lines = self.fit(options.max_width)
        yield from lines if lines is not None else self.listed()
        if self.note is not None:
            yield self.note


def tree(ev: Evaluation, digits: int = 6, max_nodes: int = MAX_NODES) -> TreeView:
    """The graph as a tree from the output down, every node with its value and gradient.
    A node used more than once is drawn once and referred to afterwards. Past max_nodes lines
    or MAX_DEPTH levels every cut is marked, and a note counts the nodes not shown."""
    graph = ev.graph
    users = [0] * len(graph.ops)
    for args in graph.args:
        for a in args:
            users[a] += 1
    lines = [Line(0, "", *_label(ev, graph.output, digits))]
    drawn = {graph.output}
    # (node, guides of its parent's children, is it the last operand, depth, parent's line)
    stack = [(a, "", i == 0, 1, 0) for i, a in enumerate(reversed(graph.args[graph.output]))]
    while stack and len(lines) < max_nodes:
        node, prefix, last, depth, _ = stack.pop()
        guides = prefix + GUIDES["last" if last else "branch"]
        shared = users[node] > 1 and not graph.is_leaf(node)
        ref = graph.names[node] or f"#{node}"
        if shared and node in drawn:
            lines.append(_marker(depth, guides, f"↑ {ref} (shown above)"))
            continue
        tag = f"#{node}" if shared and not graph.names[node] else ""
        lines.append(Line(depth, guides, *_label(ev, node, digits, tag)))
        drawn.add(node)
        below = prefix + GUIDES["space" if last else "through"]
        args = graph.args[node]
        if depth >= MAX_DEPTH and args:
            lines.append(
                _marker(
                    depth + 1,
                    below + GUIDES["last"],
                    f"… deeper nodes not shown ({_operands(len(args))} past {MAX_DEPTH} levels)",
                )
            )
            continue
        here = len(lines) - 1
        stack.extend((a, below, i == 0, depth + 1, here) for i, a in enumerate(reversed(args)))
    # Operands left on the stack: mark them under their parent, the deepest parent first
    # (each parent's subtree ends at the bottom of what is drawn).
    i = len(stack) - 1
    while i >= 0:
        _, prefix, _, depth, parent = stack[i]
        count = 0
        while i >= 0 and stack[i][4] == parent:
            count += 1
            i -= 1
        lines.append(
            _marker(
                depth, prefix + GUIDES["last"], f"… {_operands(count, 'more operand')} not shown"
            )
        )
    reachable = len(graph.ops)  # every node feeds the output: parse prunes the others
    hidden = reachable - len(drawn)
    note = None
    if hidden:
        note = Text(
            f"… {hidden} of the graph's {reachable} nodes are not shown (at the marks "
            f"…). Use --json for every node.",
            style="yellow",
        )
    return TreeView(lines, note)


def _operands(count: int, what: str = "operand") -> str:
    return f"{count} {what}" + ("" if count == 1 else "s")


def _marker(depth: int, guides: str, text: str) -> Line:
    return Line(depth, guides, Text(text, style="dim"), Text(), Text())


def legend(graph: Graph) -> Text:
    f = graph.output_name
    text = Text("value", style=VALUE)
    text.append(" = the node's value (forward pass),  ", style="dim")
    text.append("grad", style=GRAD)
    text.append(f" = ∂{f}/∂node (backward pass)", style="dim")
    return text


def gradient_table(
    ev: Evaluation, names: list[str], digits: int = 6, check: list[CheckRow] | None = None
) -> FoldingTable | Text:
    f = ev.graph.output_name
    if not names:  # a constant formula: its value, not an empty box
        return Text(f"{f} = {num(ev.value, digits)}  (no inputs: no gradient)")
    table = FoldingTable(title=f"{f} = {num(ev.value, digits)}")
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
        table.add_column("kink crossed at ± h", wrap=True)
    for name in names:
        cells = [
            Text(name),
            num(ev.point[name], digits),
            num(ev.grads[ev.graph.inputs[name]], digits),
        ]
        if check is not None:
            row = rows[name]
            cells += [
                num(row.numeric, digits) if row.numeric is not None else "n/a",
                format(row.rel_error, ".1e") if row.rel_error is not None else "n/a",
                Text(row.verdict, style=_VERDICT_STYLE.get(row.verdict, "")),
            ]
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


def evaluation_view(
    ev: Evaluation,
    names: list[str],
    digits: int = 6,
    check: list[CheckRow] | None = None,
    diagnostics: list | None = None,
    explanation=None,
) -> Group:
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
