"""Plain JSON-ready dicts of results, and strict JSON text (never NaN or Infinity literals).

This is the contract for scripts; the README documents the schema.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable

from .engine import Evaluation
from .graph import gc_paused
from .numeric import CheckRow


def number(value: float | None) -> float | None:
    """A finite float, or None (JSON null) for undefined or infinite values."""
    return value if value is not None and math.isfinite(value) else None


def evaluation(ev: Evaluation, wrt: Iterable[str] | None = None,
               check: list[CheckRow] | None = None) -> dict:
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
            }
            for row in check
        ]
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
