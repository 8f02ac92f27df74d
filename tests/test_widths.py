"""The tree and the tables at every width: a number is never cut, wrapped or elided, and a node
is never dropped silently (it is drawn, or counted in the note under the tree)."""

from __future__ import annotations

import io
import re

import pytest

from gradcli.core.engine import Tape
from gradcli.core.syntax import parse
from gradcli.output import render
from gradcli.output.terminal import console_class

WIDTHS = [20, 36, 40, 80, 200]
NEURON = "1/(1 + exp(-(w0*x0 + w1*x1 + w2)))"
NEURON_POINT = dict(w0=2, x0=-1, w1=-3, x1=-2, w2=-3)
# Formulas that use each input once and share no subexpression: every node is drawn on one
# line of its own, so lines with numbers + the nodes the note counts = the graph's nodes.
CASES = {
    "neuron": (NEURON, NEURON_POINT),
    "tanh18": ("tanh(" * 18 + "w*x + b" + ")" * 18, dict(w=0.5, x=1, b=0.1)),
    "sin30": ("sin(" * 30 + "x" + ")" * 30, dict(x=1)),
    "circuit": ("q = x + y; f = q * z", dict(x=-2, y=5, z=-4)),
    "max500": (
        "max(" + ", ".join(f"x{i} * {i + 1}" for i in range(500)) + ")",
        {f"x{i}": 0.001 * i for i in range(500)},
    ),
    "chain500": (" + ".join(f"x{i}" for i in range(500)), {f"x{i}": i for i in range(500)}),
}
NODE_LINE = re.compile(r"value (\S+)\s+grad (\S+)")
NOTE = re.compile(r"… (\d+) of the graph's (\d+) nodes are not shown")


def printed(renderable, width: int) -> str:
    out = io.StringIO()
    console = console_class()(
        file=out,
        width=width,
        force_terminal=True,
        color_system=None,
        markup=False,
        emoji=False,
        legacy_windows=False,
    )
    console.print(renderable)
    return out.getvalue()


def evaluate(formula: str, point: dict):
    tape = Tape(parse(formula))
    return tape.evaluate({k: float(v) for k, v in point.items()})


def reachable(graph) -> int:
    seen, todo = {graph.output}, [graph.output]
    while todo:
        for a in graph.args[todo.pop()]:
            if a not in seen:
                seen.add(a)
                todo.append(a)
    return len(seen)


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize("case", CASES)
def test_every_number_whole_and_every_node_shown_or_counted(case, width):
    formula, point = CASES[case]
    ev = evaluate(formula, point)
    digits = 17
    text = printed(render.tree(ev, digits), width)
    numbers = {render.num(v, digits) for v in ev.values} | {render.num(g, digits) for g in ev.grads}
    lines = [m for m in map(NODE_LINE.search, text.splitlines()) if m]
    assert lines
    for match in lines:  # each number printed is a whole number of the evaluation
        assert match.group(1) in numbers and match.group(2) in numbers, match.group(0)
    flat = " ".join(text.split())  # notes may wrap; numbers may not
    note = NOTE.search(flat)
    hidden, total = (int(note.group(1)), int(note.group(2))) if note else (0, reachable(ev.graph))
    assert total == reachable(ev.graph)
    assert len(lines) + hidden == total
    for line in text.splitlines():  # the marks of cuts are whole too
        if re.match(r"^[│├└─ ]*… (\d+ more|deeper)", line):
            assert re.search(
                r"… (\d+ more operands? not shown|deeper nodes not shown "
                r"\(\d+ operands? past \d+ levels\))$",
                line,
            ), line
    if "too deep for this width" not in flat:  # the tree itself keeps to the width
        assert max(len(line) for line in text.splitlines()) <= width


@pytest.mark.parametrize("width", WIDTHS)
def test_the_evaluation_view_shows_every_gradient_in_full(width):
    ev = evaluate(NEURON, NEURON_POINT)
    names = list(NEURON_POINT)
    text = printed(render.evaluation_view(ev, names, 17), width)
    for name in names:
        grad = render.num(ev.grads[ev.graph.inputs[name]], 17)
        assert re.search(rf"(^|[\s│]){re.escape(grad)}($|[\s│])", text, re.M), (name, grad)
    assert "…" not in text.replace("(…)", "").replace("too deep", "")


def test_a_tree_that_fits_is_drawn_with_guides_and_shortened_labels_first():
    ev = evaluate(NEURON, NEURON_POINT)
    wide = printed(render.tree(ev), 200)
    assert "(distributor)" in wide and "├── " in wide
    narrow = printed(render.tree(ev), 60)  # roles dropped, labels shortened, still a tree
    assert "├── " in narrow and "too deep" not in narrow and "(scaler)" in narrow
    assert "(swapper)" not in narrow and "w0 * x0   value -2" in narrow  # deep: no role
    formula, point = CASES["max500"]
    shortened = printed(render.tree(evaluate(formula, point)), 40)
    first = shortened.splitlines()[0]  # max(x0 * 1, …, … 496 more): its text is shortened
    assert first.startswith("max(") and "…   value 249.5   grad 1" in first
    assert len(first) <= 40 and "├── " in shortened
    assert max(map(len, narrow.splitlines())) <= 60


def test_cut_siblings_at_the_top_level_are_marked():
    formula, point = CASES["max500"]
    text = printed(render.tree(evaluate(formula, point)), 120)
    assert re.search(r"^└── … \d+ more operands not shown$", text, re.M)


@pytest.mark.parametrize("width", WIDTHS)
def test_a_table_too_wide_folds_its_columns_and_keeps_every_number(width):
    ev = evaluate(NEURON, NEURON_POINT)
    from gradcli.core import numeric

    names = list(NEURON_POINT)
    rows = numeric.check(Tape(ev.graph), ev, names)
    text = printed(render.gradient_table(ev, names, 17, rows), width)
    for row in rows:
        for value in (render.num(row.numeric, 17), format(row.rel_error, ".1e")):
            assert f" {value} " in text
    assert "…" not in text
    for line in text.splitlines():  # a fold wider than the width only when it must be
        assert len(line) <= max(width, 32)


def test_the_descend_trace_folds_twelve_parameters(grad):
    formula = " + ".join(f"(p{i} - {i}.123456)^2" for i in range(12))
    point = [f"p{i}={96 + i}.5" for i in range(12)]
    result = grad("descend", formula, *point, "--steps", "3", "--lr", "0.01", env={"COLUMNS": "80"})
    assert result.returncode == 0, result.stderr
    table = result.stdout.split("trace", 1)[1].split(" over the steps")[0]
    assert max(map(len, table.splitlines())) <= 80
    for i in range(12):
        assert f" p{i} " in table and f" {96 + i}.5 " in table  # step 0: every start value
    assert "…" not in table and "not shown" not in table


@pytest.mark.parametrize("columns", ["20", "80"])
def test_the_readme_neuron_at_a_narrow_terminal(grad, columns):
    result = grad(
        "eval",
        NEURON,
        *(f"{k}={v}" for k, v in NEURON_POINT.items()),
        "--digits",
        "17",
        env={"COLUMNS": columns},
    )
    assert result.returncode == 0, result.stderr
    ev = evaluate(NEURON, NEURON_POINT)
    lines = [m for m in map(NODE_LINE.search, result.stdout.splitlines()) if m]
    assert len(lines) == reachable(ev.graph)  # every node, none counted away
    for name in NEURON_POINT:
        assert f" {render.num(ev.grads[ev.graph.inputs[name]], 17)} " in result.stdout


LONG = (
    " + ".join(f"x{i}" for i in range(30)) + " + foo(x) + " + " + ".join(f"y{i}" for i in range(30))
)


@pytest.mark.parametrize("columns", [20, 40, 80, 200])
def test_the_error_excerpt_fits_the_terminal_and_the_caret_is_under_its_target(grad, columns):
    result = grad("eval", LONG, env={"COLUMNS": str(columns)})
    assert result.returncode == 3
    lines = result.stderr.splitlines()
    caret = next(i for i, line in enumerate(lines) if line.strip().startswith("^"))
    excerpt, marks = lines[caret - 1], lines[caret]
    assert len(excerpt) <= columns and len(marks) <= columns
    column = marks.index("^")
    assert excerpt[column : column + 3] == "foo"


def test_an_unclosed_parenthesis_at_the_end_of_a_file_points_at_it(grad):
    result = grad("eval", "-", "x=1", "y=1", input="(x+y\n")
    assert result.returncode == 3
    assert "(line" not in result.stderr or "(line 1)" in result.stderr
    lines = result.stderr.splitlines()
    assert lines[1] == "  (x+y" and lines[2] == "  ^", result.stderr
    ends = grad("eval", "-", "x=1", input="x +\n\n")  # not past the end either
    assert ends.stderr.splitlines()[1:3] == ["  x +", "     ^"], ends.stderr


def test_the_descend_summary_never_elides_a_number(grad):
    result = grad(
        "descend",
        "(x-1)^2 + (y-2)^2",
        "x=0.123456789",
        "y=0.3",
        "--digits",
        "17",
        "--steps",
        "3",
        env={"COLUMNS": "30"},
    )
    assert result.returncode == 0, result.stderr
    summary = result.stdout.split("stopped", 1)[1]
    assert "…" not in summary
    words = summary.split()
    assert "0.55120987596799997," in words and "1.1295999999999999" in words


def test_the_repl_variables_table_never_elides_a_number(grad):
    script = "x = 0.123456\nq = x * 3\nq * 2\n:vars\n"
    result = grad("repl", input=script, env={"COLUMNS": "20"})
    assert result.returncode == 0, result.stderr
    table = result.stdout.rsplit("gradients are", 1)[1]
    assert " 0.123456 " in table and " 0.370368 " in table and " x * 3 " in table
    assert "…" not in table


def test_the_repl_error_excerpt_fits_the_terminal(grad):
    result = grad("repl", input=LONG + "\n", env={"COLUMNS": "40"})
    lines = result.stderr.splitlines()
    caret = next(i for i, line in enumerate(lines) if line.strip().startswith("^"))
    assert len(lines[caret - 1]) <= 40
    assert lines[caret - 1][lines[caret].index("^") :].startswith("foo")


def test_columns_zero_is_an_unknown_width_not_a_width_of_zero(grad):
    shown = grad("eval", "x*2", "x=1", env={"COLUMNS": "0"})
    assert shown.returncode == 0 and "x * 2" in shown.stdout and "∂f/∂input" in shown.stdout
    failed = grad("eval", "sqrt(x)", "x=-1", env={"COLUMNS": "0"})
    assert failed.returncode == 1 and failed.stderr.startswith("error: sqrt(-1) is undefined")
