"""Plain JSON-ready dicts of results, and strict JSON text (never NaN or Infinity literals).

This is the contract for scripts; the README documents the schema.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import json
import math
from collections.abc import Iterable

from .diagnostics import Diagnostic, diagnose
from .engine import Evaluation
from .graph import gc_paused

if TYPE_CHECKING:  # types only: keep start-up imports to what runs
    from .explain import Explanation
    from .numeric import CheckRow, Sweep


def number(value: float | None) -> float | None:
    """A finite float, or None (JSON null) for undefined or infinite values."""
    return value if value is not None and math.isfinite(value) else None


def evaluation(ev: Evaluation, wrt: Iterable[str] | None = None,
               check: list[CheckRow] | None = None,
               diagnostics: list[Diagnostic] | None = None,
               explanation: Explanation | None = None) -> dict:
    """diagnostics default to diagnose(ev): the key is always present."""
    graph = ev.graph
    values, grads = ev.values, ev.grads
    with gc_paused():
        nodes = _nodes(graph, values, grads)
    result = {
        "value": number(ev.value),
        "gradient": {n: number(g) for n, g in ev.gradient(wrt).items()},
        "nodes": nodes,
        "output": graph.output,
    }
    if check is not None:
        result["check"] = [
            {
                "name": row.name,
                "analytic": number(row.analytic),
                "numeric": number(row.numeric),
                "rel_error": number(row.rel_error),
                "verdict": row.verdict,
                "kinks": list(row.kinks),
            }
            for row in check
        ]
    result["diagnostics"] = [
        {"node": d.node, "kind": d.kind, "reason": d.reason, "hint": d.hint}
        for d in (diagnose(ev) if diagnostics is None else diagnostics)
    ]
    if explanation is not None:
        result["explanation"] = explanation_steps(explanation)
    return result


def _nodes(graph, values: list[float], grads: list[float]) -> list[dict]:
    return [
        {
            "id": node,
            "op": op,
            "name": name,
            "inputs": list(args),
            "value": number(values[node]),
            "grad": number(grads[node]),
        }
        for node, (op, args, name) in enumerate(zip(graph.ops, graph.args, graph.names))
    ]


def _contribution(c) -> dict:
    return {
        "from": c.user,
        "to": c.operand,
        "local_formula": c.local_formula,
        "local": number(c.local),
        "upstream": number(c.upstream),
        "downstream": number(c.downstream),
    }


def explanation_steps(explanation: Explanation) -> list[dict]:
    return [
        {
            "step": s.number,
            "node": s.node,
            "label": s.label,
            "op": s.op,
            "role": s.role,
            "formula": s.formula,
            "value": number(s.value),
            "grad": number(s.grad),
            "gathered": [_contribution(c) for c in s.gathered],
            "inputs": [_contribution(c) for c in s.inputs],
        }
        for s in explanation.steps
    ]


def sweep(ev: Evaluation, sweeps: list[Sweep]) -> dict:
    return {
        "value": number(ev.value),
        "method": "central",
        "sweep": [
            {
                "name": s.name,
                "analytic": number(s.analytic),
                "best_h": s.best.h if s.best is not None else None,
                "rows": [
                    {
                        "h": r.h,
                        "numeric": number(r.numeric),
                        "error": number(r.error),
                        "rel_error": number(r.rel_error),
                    }
                    for r in s.rows
                ],
            }
            for s in sweeps
        ],
    }


def dumps(obj: object) -> str:
    """Strict JSON: raises ValueError rather than write NaN or Infinity."""
    return json.dumps(obj, allow_nan=False, separators=(",", ":"))



def descent(result, trace) -> dict:
    """`grad descend --json`: the run's outcome and its whole trace (a list of Step)."""
    params = result.params
    last = result.last
    data = {
        "final": {n: number(v) for n, v in zip(params, last.point)},
        "fixed": {n: number(v) for n, v in result.fixed.items()},
        "value": number(last.value),
        "steps": result.steps,
        "stopped": result.stopped,
        "reason": result.reason,
        "optimizer": result.config.optimizer,
        "lr": result.config.lr,
        "target": result.config.target,
        "loss": number(last.loss) if last.loss is not None else None,
        "error": None if result.stopped != "diverged" else {
            "step": result.failed_step,
            "message": result.error.message if result.error else result.reason,
            "hint": result.hint,
        },
        "trace": [
            {
                "step": s.step,
                "value": number(s.value),
                "point": {n: number(v) for n, v in zip(params, s.point)},
                "gradient": {n: number(g) for n, g in zip(params, s.gradient)},
                "grad_norm": number(s.norm),
                **({"loss": number(s.loss)} if s.loss is not None else {}),
            }
            for s in trace
        ],
    }
    return data
