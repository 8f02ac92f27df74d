"""Steps per second of `grad descend`'s loop: 10,000 steps on the sigmoid neuron (5 operations
with the sigmoid gate, 8 written as gates) and on seeded random formulas of 10 and 200
operations.

    .venv/bin/python tests/perf/bench_descend.py

Measures the core loop (Descent over a prepared tape), the cost of one call of the gradient
function alone as a share of a step (the loop itself runs generated code that does not call
it), and the whole installed command with --json for comparison.
"""

from __future__ import annotations

import random
import subprocess
import sys
import time
from pathlib import Path

from gradcli.core.descend import DescendConfig, Descent, make_gradient_fn
from gradcli.core.engine import Tape
from gradcli.core.graph import CONST, INPUT
from gradcli.core.syntax import parse

STEPS = 10_000
NEURON = (
    "sigmoid(w0*x0 + w1*x1 + w2)",
    {"w0": 2.0, "x0": -1.0, "w1": -3.0, "x1": -2.0, "w2": -3.0},
    ("w0", "w1", "w2"),
)
NEURON_GATES = ("1/(1 + exp(-(w0*x0 + w1*x1 + w2)))", NEURON[1], NEURON[2])


def random_formula(ops: int, inputs: int = 10, seed: int = 2026) -> str:
    """A formula of exactly `ops` operations, bounded everywhere (no domain errors)."""
    rng = random.Random(seed)
    terms = [f"x{i}" for i in range(inputs)]
    count = 0
    while count + len(terms) - 1 < ops:  # the adds that join the remaining terms count too
        if len(terms) > 1 and rng.random() < 0.6:
            a = terms.pop(rng.randrange(len(terms)))
            b = terms.pop(rng.randrange(len(terms)))
            op = rng.choice("+-*")
            terms.append(f"({a} {op} {b})")
        else:
            i = rng.randrange(len(terms))
            terms[i] = f"{rng.choice(['tanh', 'sin', 'sigmoid', 'cos'])}({terms[i]})"
        count += 1
    while len(terms) > 1:
        terms.append(f"({terms.pop()} + {terms.pop()})")
    return terms[0]


def operation_count(graph) -> int:
    return sum(1 for op in graph.ops if op not in (INPUT, CONST))


def bench(name: str, formula: str, point: dict, params, lr: float = 1e-3) -> None:
    tape = Tape(parse(formula))
    n_ops = operation_count(tape.graph)
    config = DescendConfig(params=tuple(params), lr=lr, steps=STEPS)
    best_loop = best_fn = float("inf")
    for _ in range(3):
        descent = Descent(tape, point, config)
        start = time.perf_counter()
        for _step in descent:
            pass
        best_loop = min(best_loop, time.perf_counter() - start)
        assert descent.result().stopped == "steps", descent.result().reason
        gradient = make_gradient_fn(tape, point, params)
        xs = [point[p] for p in params]
        gradient(xs)  # compiled on its first call
        start = time.perf_counter()
        for _ in range(STEPS + 1):
            gradient(xs)
        best_fn = min(best_fn, time.perf_counter() - start)
    print(
        f"{name:<28} {n_ops:>5} ops  {len(params):>3} params  "
        f"{STEPS / best_loop:>10,.0f} steps/s  ({best_loop * 1e3:7.1f} ms for {STEPS:,}; "
        f"a gradient call alone {best_fn / best_loop:4.0%} of a step)"
    )


def bench_command(formula: str, point: dict, params) -> None:
    grad = Path(sys.executable).with_name("grad")
    args = [
        str(grad),
        "descend",
        formula,
        *(f"{k}={v}" for k, v in point.items()),
        "--wrt",
        ",".join(params),
        "--lr",
        "0.001",
        "--steps",
        str(STEPS),
        "--json",
    ]
    start = time.perf_counter()
    subprocess.run(args, check=True, capture_output=True)
    print(
        f"{'installed grad --json':<28} {time.perf_counter() - start:.2f} s wall for "
        f"{STEPS:,} steps (start-up, the run and a JSON trace of {STEPS + 1:,} steps)"
    )


def main() -> None:
    print(f"Python {sys.version.split()[0]}; best of 3")
    bench("sigmoid neuron", *NEURON)
    bench("sigmoid neuron, as gates", *NEURON_GATES)
    point = {f"x{i}": 0.1 * (i + 1) for i in range(10)}
    for ops in (10, 200):
        bench(f"random formula, {ops} ops", random_formula(ops), point, tuple(point))
    bench_command(*NEURON)


if __name__ == "__main__":
    main()
