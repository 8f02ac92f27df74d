"""Plain JSON-ready dicts of results, and strict JSON text (never NaN or Infinity literals).
An evaluation's nodes are the exception: a sequence of dicts made on demand, which `dumps`
writes straight to text.

This is the contract for scripts; the README documents the schema.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Sequence
from itertools import repeat
from json.encoder import encode_basestring_ascii as _string  # json's own string escaping
from typing import TYPE_CHECKING

from ..core.diagnostics import Diagnostic, diagnose
from ..core.engine import Evaluation
from ..core.graph import Graph

if TYPE_CHECKING:  # types only: keep start-up imports to what runs
    from ..core.explain import Explanation
    from ..core.numeric import CheckRow, Sweep


def number(value: float | None) -> float | None:
    """A finite float, or None (JSON null) for undefined or infinite values."""
    return value if value is not None and math.isfinite(value) else None


def evaluation(
    ev: Evaluation,
    wrt: Iterable[str] | None = None,
    check: list[CheckRow] | None = None,
    diagnostics: list[Diagnostic] | None = None,
    explanation: Explanation | None = None,
) -> dict:
    """diagnostics default to diagnose(ev): the key is always present."""
    result = {
        "value": number(ev.value),
        "gradient": {n: number(g) for n, g in ev.gradient(wrt).items()},
        "nodes": Nodes(ev.graph, ev.values, ev.grads),
        "output": ev.graph.output,
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


class Nodes(Sequence):
    """Every node of an evaluation as a JSON-ready dict, made when asked for: `dumps` writes
    the nodes straight to text instead, several times faster for a large graph."""

    def __init__(self, graph: Graph, values: list[float], grads: list[float]) -> None:
        self.graph, self.values, self.grads = graph, values, grads

    def __len__(self) -> int:
        return len(self.graph.ops)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return [self[i] for i in range(len(self))[index]]
        node = range(len(self))[index]
        graph = self.graph
        return {
            "id": node,
            "op": graph.ops[node],
            "name": graph.names[node],
            "inputs": list(graph.args[node]),
            "value": number(self.values[node]),
            "grad": number(self.grads[node]),
        }

    def json(self) -> str:
        """The same text as json.dumps(list(self)) in dumps's strict, compact form."""
        graph = self.graph
        ops = {op: _string(op) for op in set(graph.ops)}
        names = [_string(name) if name is not None else "null" for name in graph.names]
        inputs = map(",".join, map(map, repeat(str), graph.args))
        rows = zip(
            range(len(graph.ops)),
            map(ops.__getitem__, graph.ops),
            names,
            inputs,
            _numbers(self.values),
            _numbers(self.grads),
        )
        return (
            "["
            + ",".join(
                [
                    f'{{"id":{node},"op":{op},"name":{name},"inputs":[{args}],'
                    f'"value":{value},"grad":{grad}}}'
                    for node, op, name, args, value, grad in rows
                ]
            )
            + "]"
        )


def _numbers(values: list[float]) -> list[str]:
    """Each value as json.dumps writes a float (its repr), null where it is not finite."""
    texts = list(map(repr, values))
    if not all(map(math.isfinite, values)):
        texts = [t if math.isfinite(v) else "null" for v, t in zip(values, texts)]
    return texts


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
    """Strict JSON: raises ValueError rather than write NaN or Infinity. The Nodes of an
    evaluation's dict are written by Nodes.json."""
    if isinstance(obj, dict) and any(isinstance(v, Nodes) for v in obj.values()):
        return (
            "{"
            + ",".join(
                f"{_string(key)}:{v.json() if isinstance(v, Nodes) else dumps(v)}"
                for key, v in obj.items()
            )
            + "}"
        )
    return json.dumps(obj, allow_nan=False, separators=(",", ":"))


def derivation(derived, values=None) -> dict:
    """`grad diff --json`: each input's derivative in gradcli syntax, the program computing
    them all, the program's name for each, and with a point each one's value (null where
    undefined)."""
    from ..core.symbolic import formulas, program

    data = {
        "gradient": formulas(derived),
        "program": program(derived),
        "names": dict(derived.statement_names),
    }
    if values is not None:
        data["values"] = {name: values[root].value for name, root in derived.roots.items()}
    return data


def descent(result, trace) -> dict:
    """`grad descend --json`: the run's outcome and its trace (a list of Step) as one dict.
    The command writes the same document as the run goes: see descent_trace_line."""
    params = result.params
    return {
        **descent_summary(result),
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


def descent_summary(result) -> dict:
    """Every key of `descent` but the trace."""
    params = result.params
    last = result.last
    return {
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
        "error": None
        if result.stopped != "diverged"
        else {
            "step": result.failed_step,
            "message": result.error.message if result.error else result.reason,
            "hint": result.hint,
        },
    }


def descent_trace_line(params: Sequence[str], has_loss: bool) -> str:
    """A %-format that writes one Step of the trace as `descent` does, from
    (step, value, *point, *gradient, norm[, loss]): one format per step instead of a dict,
    which keeps a streamed million-step trace cheap. Every number of a Step in a trace is
    finite (the loop stops at one that is not), so %r writes it as json.dumps would."""
    pairs = "{" + ",".join(_string(n).replace("%", "%%") + ":%r" for n in params) + "}"
    return (
        '{"step":%d,"value":%r,"point":'
        + pairs
        + ',"gradient":'
        + pairs
        + ',"grad_norm":%r'
        + (',"loss":%r' if has_loss else "")
        + "}"
    )


def plot(samples, marked=None, path=None) -> dict:
    """`grad plot --json`: every sample's point, value and gradient (null where undefined);
    for two inputs the first varies fastest."""
    axes = samples.axes
    names = [a.name for a in axes]
    if len(axes) == 1:
        points = [(x,) for x in axes[0].points]
    else:
        points = [(x, y) for y in axes[1].points for x in axes[0].points]
    result = {
        "inputs": names,
        "ranges": {a.name: {"from": a.lo, "to": a.hi, "points": len(a.points)} for a in axes},
        "fixed": dict(samples.fixed),
        "samples": [
            {
                "point": dict(zip(names, p)),
                "value": number(v),
                "gradient": dict(zip(names, map(number, g))),
            }
            for p, v, g in zip(points, samples.values, samples.grads)
        ],
    }
    if marked is not None:
        result["at"] = {
            "point": {n: marked.point[n] for n in names},
            "value": number(marked.value),
            "gradient": {n: number(g) for n, g in zip(names, marked.grads)},
        }
    if path is not None:
        r = path.result
        result["descent"] = {
            "optimizer": r.config.optimizer,
            "lr": r.config.lr,
            "steps": r.steps,
            "stopped": r.stopped,
            "reason": r.reason,
            "path": [
                {
                    "step": s.step,
                    "point": dict(zip(r.params, map(number, s.point))),
                    "value": number(s.value),
                }
                for s in path.steps
            ],
        }
    return result
