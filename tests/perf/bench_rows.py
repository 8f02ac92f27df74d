"""`grad eval --at FILE` on many rows: the sigmoid neuron at 1,000,000 seeded points (x0, x1 in
the data, the weights bound), CSV in -> CSV out.

    .venv/bin/python tests/perf/bench_rows.py [--rows 1000000] [--runs 3]

Every contender runs as a process of its own on the same file and writes the same CSV (value
and the five gradients, exact numbers) to a file; each is timed by wall clock and by CPU time
(user + system, os.wait4), with its peak memory (ru_maxrss). The machine is shared: compare
the ratios of one run, and the CPU times rather than the wall clock.

- grad: the installed command (`--wrt w0,w1,w2` too: three gradients instead of five).
- plain Python: csv.reader, float(), a hand-written straight-line function of the neuron
  (forward and backward, the floor a Python evaluator can reach) and '%r' formatting.
- numpy: np.loadtxt, the same formula vectorised over whole columns, np.savetxt with
  '%.17g' (exact, as repr is, if longer); needs numpy (gradcli[plot] has it).
- compute only, in this process: the straight-line function over the rows already in memory,
  and numpy over the columns already in arrays: what is left when reading and writing text
  is taken away.
Memory must not grow with rows: grad's peak is also measured on a tenth of the rows.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

GRAD = str(Path(sys.executable).parent / "grad")
NEURON = "sigmoid(w0*x0 + w1*x1 + w2)"
WEIGHTS = {"w0": 2.0, "w1": -3.0, "w2": -3.0}

PLAIN = r"""
import csv, sys
from math import exp

def neuron(x0, x1, w0=2.0, w1=-3.0, w2=-3.0):
    z = w0 * x0 + w1 * x1 + w2
    s = 1.0 / (1.0 + exp(-z)) if z >= 0 else exp(z) / (1.0 + exp(z))
    d = s * (1.0 - s)
    return s, d * x0, d * w0, d * x1, d * w1, d

with open(sys.argv[1], newline="") as data, open(sys.argv[2], "w") as out:
    rows = csv.reader(data)
    next(rows)
    out.write("value,grad_w0,grad_x0,grad_w1,grad_x1,grad_w2,error\n")
    chunk = []
    for x0, x1 in rows:
        chunk.append("%r,%r,%r,%r,%r,%r,\n" % neuron(float(x0), float(x1)))
        if len(chunk) >= 2000:
            out.write("".join(chunk))
            chunk.clear()
    out.write("".join(chunk))
"""

NUMPY = r"""
import sys
import numpy as np

x0, x1 = np.loadtxt(sys.argv[1], delimiter=",", skiprows=1, unpack=True)
w0, w1, w2 = 2.0, -3.0, -3.0
z = w0 * x0 + w1 * x1 + w2
s = np.where(z >= 0, 1.0 / (1.0 + np.exp(-np.abs(z))), np.exp(-np.abs(z)) / (1.0 + np.exp(-np.abs(z))))
d = s * (1.0 - s)
table = np.column_stack([s, d * x0, d * w0, d * x1, d * w1, d])
np.savetxt(sys.argv[2], table, fmt="%.17g", delimiter=",", comments="",
           header="value,grad_w0,grad_x0,grad_w1,grad_x1,grad_w2")
"""


def write_points(path: Path, rows: int, seed: int = 2026) -> None:
    rng = random.Random(seed)
    with open(path, "w") as out:
        out.write("x0,x1\n")
        chunk = []
        for _ in range(rows):
            chunk.append(f"{rng.uniform(-3, 3)!r},{rng.uniform(-3, 3)!r}\n")
            if len(chunk) >= 10_000:
                out.write("".join(chunk))
                chunk.clear()
        out.write("".join(chunk))


def measure(command: list[str]) -> tuple[float, float, float]:
    """(wall s, CPU s, peak MB) of one process. The child's ru_maxrss counts what it shared
    with this process before its exec, so this process stays small until every contender has
    run (numpy and the rows are loaded only afterwards)."""
    start = time.perf_counter()
    process = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    wall = time.perf_counter() - start
    error = process.stderr.read().decode()
    process.stderr.close()
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"failed: {command}: {error}")
    return wall, usage.ru_utime + usage.ru_stime, usage.ru_maxrss / 1024


def best(command: list[str], runs: int) -> tuple[float, float, float]:
    results = [measure(command) for _ in range(runs)]
    return (
        min(r[0] for r in results),
        min(r[1] for r in results),
        max(r[2] for r in results),
    )


def compute_only(path: Path, runs: int) -> dict[str, float]:
    """CPU seconds of the formula alone: the plain function over rows in memory, and numpy."""
    namespace: dict = {}
    exec(PLAIN.split("with open")[0], namespace)  # noqa: S102 - the benchmark's own code
    neuron = namespace["neuron"]
    with open(path) as data:
        next(data)
        points = [tuple(map(float, line.split(","))) for line in data]
    times = {}
    samples = []
    for _ in range(runs):
        start = time.process_time()
        for x0, x1 in points:
            neuron(x0, x1)
        samples.append(time.process_time() - start)
    times["plain function, rows in memory"] = min(samples)
    try:
        import numpy as np
    except ImportError:
        return times
    x0 = np.array([p[0] for p in points])
    x1 = np.array([p[1] for p in points])
    samples = []
    for _ in range(runs):
        start = time.process_time()
        z = 2.0 * x0 - 3.0 * x1 - 3.0
        e = np.exp(-np.abs(z))
        s = np.where(z >= 0, 1.0 / (1.0 + e), e / (1.0 + e))
        d = s * (1.0 - s)
        np.column_stack([s, d * x0, d * 2.0, d * x1, d * -3.0, d])
        samples.append(time.process_time() - start)
    times["numpy, columns in memory"] = min(samples)
    return times


def stages(path: Path, runs: int) -> dict[str, float]:
    """CPU seconds of gradcli's own stages in this process, each including those before it:
    where the time of `grad eval --at` goes."""
    from gradcli.core.engine import Tape
    from gradcli.core.pointwise import evaluate_rows
    from gradcli.core.rows import read_rows
    from gradcli.core.syntax import parse
    from gradcli.output.files import open_lines
    from gradcli.output.rows_out import csv_chunks

    tape = Tape(parse(NEURON))
    point = {**WEIGHTS, "x0": 0.0, "x1": 0.0}
    names = list(tape.graph.inputs)

    def lines(source):
        return sum(1 for _ in source)

    def read(source):
        return sum(1 for _ in read_rows(source).select(["x0", "x1"]))

    def evaluate(source):
        return sum(1 for _ in evaluate_rows(tape, point, ["x0", "x1"], names, read_rows(source)))

    def write(source):
        results = evaluate_rows(tape, point, ["x0", "x1"], names, read_rows(source))
        return sum(map(len, csv_chunks(results, names, None)))

    times = {}
    for name, stage in [
        ("lines (files.open_lines)", lines),
        ("+ rows as floats (rows.read_rows)", read),
        ("+ value and gradient (pointwise)", evaluate),
        ("+ CSV text (rows_out.csv_chunks)", write),
    ]:
        samples = []
        for _ in range(runs):
            with open_lines(path) as source:
                start = time.process_time()
                stage(source)
                samples.append(time.process_time() - start)
        times[name] = min(samples)
    return times


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    bindings = [f"{k}={v!r}" for k, v in WEIGHTS.items()]
    with tempfile.TemporaryDirectory() as folder:
        data, small = Path(folder) / "points.csv", Path(folder) / "small.csv"
        out = str(Path(folder) / "out.csv")
        write_points(data, args.rows)
        write_points(small, args.rows // 10)
        grad = [GRAD, "eval", NEURON, *bindings, "--at"]
        contenders = {
            "grad eval --at (5 gradients)": [*grad, str(data), "-o", out],
            "grad eval --at --wrt w0,w1,w2": [*grad, str(data), "-o", out, "--wrt", "w0,w1,w2"],
            "grad eval --at --json": [*grad, str(data), "-o", out, "--json"],
            "plain Python loop (csv, float, %r)": [sys.executable, "-c", PLAIN, str(data), out],
        }
        if importlib.util.find_spec("numpy") is not None:  # not imported: see measure()
            contenders["numpy (loadtxt, vectorised, savetxt)"] = [
                sys.executable,
                "-c",
                NUMPY,
                str(data),
                out,
            ]
        else:
            print("numpy is not installed: its rows are left out")
        results = {name: best(command, args.runs) for name, command in contenders.items()}
        small_peak = best([*grad, str(small), "-o", out], 1)[2]
        computing = compute_only(data, args.runs)
        computing_stages = stages(data, args.runs)

    n = args.rows
    ours = results["grad eval --at (5 gradients)"][1]
    print(f"{n:,} rows of {NEURON}, CSV in -> CSV out (best of {args.runs}; CPU = user + sys)")
    print(f"{'':40} {'wall s':>8} {'CPU s':>8} {'rows/s (CPU)':>13} {'peak MB':>8} {'CPU/grad':>9}")
    for name, (wall, cpu, peak) in results.items():
        print(f"{name:40} {wall:8.2f} {cpu:8.2f} {n / cpu:13,.0f} {peak:8.1f} {cpu / ours:9.2f}")
    for name, cpu in computing.items():
        print(
            f"{name + ' (compute only)':40} {'':8} {cpu:8.2f} {n / cpu:13,.0f} {'':8} "
            f"{cpu / ours:9.2f}"
        )
    print()
    print("gradcli's stages in one process (CPU s, each with the stages before it):")
    for name, cpu in computing_stages.items():
        print(f"  {name:38} {cpu:8.2f}")
    wall, cpu, peak = results["grad eval --at (5 gradients)"]
    print()
    print(f"grad's peak memory: {small_peak:.1f} MB at {n // 10:,} rows, {peak:.1f} MB at {n:,}")
    print(
        f"targets: under 5 s -> {'ok' if wall < 5 else 'MISSED'} ({wall:.2f} s wall, "
        f"{cpu:.2f} s CPU); under 100 MB -> {'ok' if peak < 100 else 'MISSED'}"
    )


if __name__ == "__main__":
    main()
