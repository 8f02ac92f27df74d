"""The data objective over whole columns at once with numpy, where numpy is installed (it
comes with `gradcli[plot]`): the same sweeps and losses as training.batch_source, each line
run once on arrays of a batch's rows instead of once per row.

Nothing here is a second description of an op: an op runs on arrays when its lowering in the
op table (ops.Op.py and py_grads) is a plain expression, without a branch on the value, over
functions that numpy has under the same name (NUMPY); the source is then the one that
compiled.sweeps generates, run in a namespace of numpy functions. Any other op, or a batch
smaller than MIN_ROWS (where numpy's cost per call outweighs the gain, and its import would
be most of a short run), runs through training.batch_source alone.

numpy does not raise where the plain engine does (log of a negative number is nan, exp
overflows to inf): the vectorised batch checks that every value is finite and, where one is
not, gives None, so that the row-by-row code computes that batch and says which row failed.
The sums are numpy's (pairwise), so the numbers may differ from the row-by-row code's in the
last bits.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence

from .compiled import indent, sweeps
from .graph import CONST, INPUT, Graph, prune
from .ops import OPS

MIN_ROWS = 1000
# the math functions of the lowerings that numpy has, elementwise
NUMPY = {
    "exp": "exp",
    "log": "log",
    "sin": "sin",
    "cos": "cos",
    "tanh": "tanh",
    "sqrt": "sqrt",
    "cbrt": "cbrt",
    "hypot": "hypot",
}


def available() -> bool:
    try:
        import numpy  # noqa: F401
    except ImportError:
        return False
    return True


def runs_on_arrays(graph: Graph) -> bool:
    """Whether every op of the graph has a lowering numpy can run on arrays."""
    for op in set(graph.ops) - {INPUT, CONST}:
        rule = OPS[op]
        if rule.py is None or rule.py_grads is None:
            return False
        text = " ".join([rule.py, *rule.py_grads])
        if " if " in text or ":=" in text:
            return False
        if any(callable(v) and name not in NUMPY for name, v in rule.py_names.items()):
            return False
    return True


def batch_source(graph: Graph, plan, logit: int | None) -> tuple[str, dict] | None:
    """Source of `batch(*params, *columns, r_y) -> (sum of losses, right, *sums)` or None
    (a value that is not finite) over arrays of a batch's rows; None when the graph cannot
    run on arrays. `logit`: the output's sigmoid input (training.logit_node), or None."""
    import numpy as np

    swept = graph
    if logit is not None:  # the sigmoid itself is computed by the loss
        swept = prune(graph._replace(output=logit))
        if not set(plan.params) | set(plan.columns) <= set(swept.inputs):
            return None
    if not plan.columns or not runs_on_arrays(swept):
        return None
    seed = "r_seed"
    code = sweeps(swept, plan.params, plan.fixed, plan.columns, seed)
    f = "r_f" if logit is not None else code.value
    if plan.loss == "squared":
        loss = [f"r_e = {f} - r_y", "r_loss = r_e * r_e", "r_seed = 2.0 * r_e"]
    elif plan.loss == "none":
        loss = [f"r_loss = {f} + zeros_like(r_y)", "r_seed = ones_like(r_loss)"]
    elif logit is not None:
        z = code.value
        loss = [
            f"r_f = 1.0 / (1.0 + exp(-{z}))",
            f"r_loss = maximum({z}, 0.0) - r_y * {z} + log1p(exp(-abs({z})))",
            "r_seed = r_f - r_y",
        ]
    else:
        loss = [
            "if not ((r_f > 0.0) & (r_f < 1.0)).all():",
            "    return None",
            "r_loss = -(r_y * log(r_f) + (1.0 - r_y) * log1p(-r_f))",
            "r_seed = (r_f - r_y) / (r_f * (1.0 - r_f))",
        ]
        loss.insert(0, f"r_f = {f}")
        f = "r_f"
    values = [line.split(" = ", 1)[0] for line in code.forward]
    # arrays are changed in place by +=, and a gradient may share its array with another
    backward = [re.sub(r"^(g\d+) \+= (.*)$", r"\1 = \1 + (\2)", line) for line in code.backward]
    sums = [f"r_sum{i}" for i in range(len(plan.params))]
    lines = [
        f"def batch({', '.join([*code.params, *code.data, 'r_y'])}):",
        "    try:",
        *indent(code.forward or ["pass"], 2),
        "    except (ArithmeticError, ValueError):",  # on a value that is not a row's
        "        return None",
        *([f"    if not finite({', '.join(values)}):", "        return None"] if values else []),
        *indent(loss, 1),
        *indent(backward, 1),
        "    r_total = float(r_loss.sum())",
        *(f"    {s} = float(sum_({g.removesuffix(' + 0.0')}))" for s, g in zip(sums, code.grads)),
        f"    if not isfinite(r_total + {' + '.join(sums) or '0.0'}):",
        "        return None",
        "    r_right = "
        + (f"int(count_nonzero(({f} >= 0.5) == (r_y == 1.0)))" if plan.labels else "0"),
        f"    return r_total, r_right, {', '.join(sums) + ','}",
    ]
    namespace = {
        **{name: value for name, value in code.namespace.items() if not callable(value)},
        **{name: getattr(np, attribute) for name, attribute in NUMPY.items()},
        "log1p": np.log1p,
        "maximum": np.maximum,
        "abs": np.abs,
        "zeros_like": np.zeros_like,
        "ones_like": np.ones_like,
        "count_nonzero": np.count_nonzero,
        "sum_": np.sum,
        "isfinite": math.isfinite,
        "finite": lambda *arrays: all(np.isfinite(a).all() for a in arrays),
    }
    return "\n".join(lines) + "\n", namespace


class Blocks:
    """batch(xs, indices) -> (sum of losses, right, [sums of gradients]) over the rows at
    `indices` (None: every row) as arrays, or None where the row-by-row code must say why."""

    def __init__(self, run, rows: Sequence[tuple[float, ...]], plan) -> None:
        import numpy as np

        self.np, self.run = np, run
        self.table = np.array(rows, dtype=np.float64).T  # one array per column (and target)
        self.target_column = plan.target_column is not None
        self.constant = 0.0 if plan.target is None else plan.target  # (no target: unused)

    def __call__(self, xs: Sequence[float], indices: Sequence[int] | None):
        np = self.np
        columns = self.table if indices is None else self.table[:, np.asarray(indices)]
        if self.target_column:
            arrays, target = list(columns[:-1]), columns[-1]
        else:
            arrays, target = list(columns), np.full(columns.shape[1], self.constant)
        with np.errstate(all="ignore"):
            answer = self.run(*xs, *arrays, target)
        if answer is None:
            return None
        total, right, *sums = answer
        return total, right, sums
