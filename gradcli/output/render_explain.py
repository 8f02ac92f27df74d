"""Rich renderables for the backward-pass explanation, diagnostics, the step-size sweep and
the list of examples. Nothing here prints; user text reaches Rich only as Text."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.console import Group
from rich.text import Text

from .render_table import FoldingTable
from .style import GRAD, VALUE, num

if TYPE_CHECKING:  # types only: keep start-up imports to what runs
    from ..core.diagnostics import Diagnostic
    from ..core.examples import Example
    from ..core.explain import BackwardStep, Contribution, Explanation
    from ..core.numeric import Sweep


def _is_number(text: str) -> bool:
    try:
        float(text.strip("()"))
    except ValueError:
        return False
    return True


def _chain(expl: Explanation, c: Contribution, digits: int, paths: int) -> Text:
    """∂f/∂q = ∂f/∂p · ∂p/∂q = 1 × z = 1 × -4 = -4"""
    f = expl.output
    labels = expl.labels
    user, operand = labels[c.user], labels[c.operand]
    up, local = num(c.upstream, digits), num(c.local, digits)
    text = Text("    ")
    text.append(f"∂{f}/∂{operand}")
    text.append(f" = ∂{f}/∂{user} · ∂{user}/∂{operand} = ")
    if not _is_number(c.local_formula):
        formula = f"({c.local_formula})" if " " in c.local_formula else c.local_formula
        text.append(f"{up} × {formula} = ")
    text.append(up, style=GRAD)
    text.append(" × ")
    text.append(local)
    text.append(" = ")
    text.append(num(c.downstream, digits), style=GRAD)
    if c.note:
        text.append(f"   ({c.note})", style="dim")
    if c.upstream == 0.0 and c.downstream == 0.0:
        text.append("   (no gradient arrives, so none flows on)", style="dim")
    if paths > 1:
        text.append(f"   (one of {paths} paths into {operand})", style="dim")
    return text


def _shorten(items: list[str], keep: int = 8) -> list[str]:
    if len(items) <= keep + 2:
        return items
    return items[:keep] + [f"… {len(items) - keep - 1} more", items[-1]]


def _gathered(expl: Explanation, step: BackwardStep, digits: int) -> Text:
    f = expl.output
    labels = expl.labels
    text = Text("    ")
    if not step.gathered:
        text.append(f"∂{f}/∂{f} = ")
        text.append("1", style=GRAD)
        text.append("   (the backward pass starts here)", style="dim")
        return text
    text.append(f"∂{f}/∂{step.label} = ")
    if len(step.gathered) > 1:
        terms = [num(c.downstream, digits) for c in step.gathered]
        text.append(" + ".join(_shorten(terms)))
        text.append(" = ")
    text.append(num(step.grad, digits), style=GRAD)
    if len(step.gathered) > 1:
        via = ", ".join(_shorten(list(dict.fromkeys(labels[c.user] for c in step.gathered))))
        text.append(f"   (gradients add at branches: {step.label} feeds {via})", style="dim")
    return text


MAX_LINES = 400  # the explanation of a large graph is cut here; --json has every step


def explanation(expl: Explanation, digits: int = 6, max_lines: int = MAX_LINES) -> Group:
    """The numbered steps, up to about max_lines lines."""
    paths: dict[int, int] = {}
    for step in expl.steps:
        paths[step.node] = len(step.gathered)
    for step in expl.steps:  # inputs without a step of their own
        for c in step.inputs:
            paths.setdefault(c.operand, 1)
    parts: list = [Text("backward pass, step by step: downstream = upstream × local", style="bold")]
    for step in expl.steps:
        if len(parts) >= max_lines:
            parts.append(
                Text(
                    f"… {len(expl.steps) - step.number + 1} more steps not shown; "
                    "--json --explain lists every step",
                    style="yellow",
                )
            )
            break
        head = Text(f"step {step.number}  ", style="bold")
        if step.op == "input":
            head.append(step.label, style="bold")
            head.append("   input", style="dim")
        else:
            head.append(
                f"{step.label} = {step.formula}" if step.label != step.formula else step.formula,
                style="bold",
            )
            head.append(f"   {step.op}, {step.role}", style="dim")
        head.append("   value ", style="dim")
        head.append(num(step.value, digits), style=VALUE)
        parts.append(head)
        parts.append(_gathered(expl, step, digits))
        for i, c in enumerate(step.inputs):
            if len(parts) >= max_lines:
                parts.append(
                    Text(f"    … {len(step.inputs) - i} more inputs not shown", style="yellow")
                )
                break
            parts.append(_chain(expl, c, digits, paths.get(c.operand, 1)))
    return Group(*parts)


MAX_DIAGNOSTICS = 20  # shown in the human output; --json has them all


def diagnostics(found: list[Diagnostic], limit: int = MAX_DIAGNOSTICS) -> Text:
    text = Text()
    for i, d in enumerate(found[:limit]):
        if i:
            text.append("\n")
        text.append(f"{d.kind}: ", style="bold yellow")
        text.append(d.reason)
        text.append("\n  hint: ", style="bold")
        text.append(d.hint)
    if len(found) > limit:
        text.append(
            f"\n… and {len(found) - limit} more findings; --json lists them all", style="yellow"
        )
    return text


def sweep_table(sweeps: list[Sweep], digits: int = 6) -> FoldingTable:
    table = FoldingTable(title="central difference (f(x+h) - f(x-h)) / 2h: |numerical - analytic|")
    table.add_column("h", justify="right")
    for s in sweeps:
        table.add_column(f"{s.name} (∂ = {num(s.analytic, digits)})", justify="right")
    best = [s.best for s in sweeps]
    for i, h in enumerate(r.h for r in sweeps[0].rows) if sweeps else ():
        cells: list = [f"{h:.0e}"]
        for s, b in zip(sweeps, best, strict=True):
            row = s.rows[i]
            if row.error is None:
                cells.append("n/a" if row.numeric is None else "undefined")
            else:
                mark = row is b
                cells.append(
                    Text(
                        f"{row.error:.2e}" + (" ←" if mark else ""),
                        style="bold green" if mark else "",
                    )
                )
        table.add_row(*cells)
    return table


def examples_table(examples: list[Example]) -> FoldingTable:
    table = FoldingTable(title="built-in examples: grad example NAME")
    table.add_column("name", style="bold")
    table.add_column("what it shows", wrap=True)
    table.add_column("program", wrap=True)
    for e in examples:
        table.add_row(Text(e.name), Text(e.title), Text("; ".join(e.program.strip().splitlines())))
    return table
