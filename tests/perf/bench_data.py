"""Epochs per second of `grad descend --data`: full-batch descent on 10,000 rows of the sigmoid
neuron (the target is at least 50 epochs per second), with the logistic loss and the squared
error, written with the sigmoid gate and as gates.

    .venv/bin/python tests/perf/bench_data.py [--rows N] [--epochs E]

Measured in one run, each the median of 5, and given as ratios to:
- floor: a plain Python loop written by hand for the neuron (the same arithmetic inline),
- numpy: the same epoch vectorised with numpy over the whole column (when numpy is installed),
and the whole installed command (`grad descend … --data FILE --epochs E --json`, its
start-up and reading the file included).
"""

from __future__ import annotations

import argparse
import math
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from gradcli.core import training
from gradcli.core.descend import DescendConfig, Descent
from gradcli.core.engine import Tape
from gradcli.core.syntax import parse

WEIGHTS = ("w0", "w1", "w2")
FORMULAS = {
    "sigmoid gate": "sigmoid(w0*x0 + w1*x1 + w2)",
    "as gates": "1/(1 + exp(-(w0*x0 + w1*x1 + w2)))",
}


def rows(n: int, seed: int = 1) -> list[tuple[float, float, float]]:
    rng = random.Random(seed)
    out = []
    for _ in range(n):
        x0, x1 = rng.gauss(0, 1), rng.gauss(0, 1)
        out.append((x0, x1, 1.0 if x0 + 2 * x1 + rng.gauss(0, 1) > 0 else 0.0))
    return out


def median_time(run, repeats: int = 5) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def gradcli_epochs(formula: str, lines: list[str], loss: str, epochs: int) -> float:
    """Seconds per epoch of gradcli's descent on data (preparation not counted)."""
    tape = Tape(parse(formula))
    data = training.load(lines, "bench.csv")
    config = DescendConfig(
        params=WEIGHTS, data=Path("bench.csv"), target_column="y", loss=loss, lr=0.5, steps=epochs
    )
    plan = training.plan(tape.graph, data, {}, config)

    def run() -> None:
        objective = training.Objective(tape, data, plan)
        descent = Descent(tape, plan.start, training.descent_settings(config, objective), objective)
        for _ in descent:
            pass

    return median_time(run) / epochs


def floor_epochs(data: list[tuple[float, float, float]], epochs: int) -> float:
    """Seconds per epoch of a hand-written plain Python loop (logistic loss, sigmoid, and
    the accuracy, as gradcli counts it)."""
    exp, log1p = math.exp, math.log1p

    def run() -> None:
        w0 = w1 = w2 = 0.0
        n = len(data)
        for _ in range(epochs + 1):
            total = g0 = g1 = g2 = 0.0
            right = 0
            for x0, x1, y in data:
                z = w0 * x0 + w1 * x1 + w2
                f = 1.0 / (1.0 + exp(-z)) if z >= 0 else exp(z) / (1.0 + exp(z))
                total += (z if z > 0 else 0.0) - y * z + log1p(exp(-abs(z)))
                right += (f >= 0.5) == (y == 1.0)
                e = f - y
                g0 += e * x0
                g1 += e * x1
                g2 += e
            w0, w1, w2 = w0 - 0.5 * g0 / n, w1 - 0.5 * g1 / n, w2 - 0.5 * g2 / n

    return median_time(run) / epochs


def numpy_epochs(data, epochs: int) -> float | None:
    try:
        import numpy as np
    except ImportError:
        return None
    x0 = np.array([r[0] for r in data])
    x1 = np.array([r[1] for r in data])
    y = np.array([r[2] for r in data])

    def run() -> None:
        w = np.zeros(3)
        for _ in range(epochs + 1):
            z = w[0] * x0 + w[1] * x1 + w[2]
            f = 1.0 / (1.0 + np.exp(-z))
            _ = np.mean(np.maximum(z, 0) - y * z + np.log1p(np.exp(-np.abs(z))))
            e = f - y
            w -= 0.5 * np.array([e @ x0, e @ x1, e.sum()]) / len(y)

    return median_time(run) / epochs


def command_seconds(path: Path, epochs: int) -> float:
    grad = str(Path(sys.executable).parent / "grad")
    words = [grad, "descend", FORMULAS["sigmoid gate"], "--data", str(path), "--wrt"]
    words += [",".join(WEIGHTS), "--target-column", "y", "--loss", "logistic", "--lr", "0.5"]
    words += ["--epochs", str(epochs), "--json"]

    def run() -> None:
        subprocess.run(words, check=True, capture_output=True)

    return median_time(run, 3)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--epochs", type=int, default=20)
    args = parser.parse_args()
    data = rows(args.rows)
    lines = ["x0,x1,y\n", *(f"{a!r},{b!r},{c!r}\n" for a, b, c in data)]
    floor = floor_epochs(data, args.epochs)
    vectorised = numpy_epochs(data, args.epochs)
    print(f"full-batch descent on {args.rows:,} rows, {args.epochs} epochs, median of 5")
    print("time per epoch as a ratio to the floor's and to numpy's")
    print(f"{'run':<34} {'epochs/s':>10} {'÷ floor':>8} {'÷ numpy':>8}")

    def line(name: str, seconds: float) -> None:
        numpy_ratio = f"{seconds / vectorised:8.1f}" if vectorised else "       -"
        print(f"{name:<34} {1 / seconds:10.1f} {seconds / floor:8.2f} {numpy_ratio}")

    for label, formula in FORMULAS.items():
        for loss in ("logistic", "squared"):
            line(f"gradcli, {label}, {loss}", gradcli_epochs(formula, lines, loss, args.epochs))
    line("floor (plain Python, logistic)", floor)
    if vectorised:
        line("numpy (vectorised, logistic)", vectorised)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "data.csv"
        path.write_text("".join(lines))
        seconds = command_seconds(path, args.epochs)
        print(
            f"grad descend --data (process, {args.epochs} epochs, --json): {seconds:.3f} s "
            f"= {seconds / (floor * args.epochs):.2f}× the floor's epochs alone"
        )


if __name__ == "__main__":
    main()
