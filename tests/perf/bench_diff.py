"""`grad diff`: time and program size against graph size, and the whole process on the neuron.

Run: .venv/bin/python tests/perf/bench_diff.py [--sizes 1000,10000,100000] [--repeat 3]
       [--runs 20]
For random DAGs and deep chains (bench.py's generators, fixed seed) it prints the time to
derive and write the program and the program's size, with the growth per 10× operations,
which stays near 10 when both are linear (shared adjoints stay shared: never exponential).
Then `grad diff` and `grad eval` on the sigmoid neuron as whole processes, run in turns, and
their ratio.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from bench import chain_dag, formula_text, grad_command, interleaved, random_dag  # noqa: E402
from bench_eval import time_it  # noqa: E402

from gradcli.core import symbolic  # noqa: E402
from gradcli.core.syntax import parse  # noqa: E402

NEURON = "sigmoid(w0*x0 + w1*x1 + w2)"
POINT = ["w0=2", "x0=-1", "w1=-3", "x1=-2", "w2=-3"]


def measure(text: str, repeat: int) -> tuple[float, int, int]:
    """(seconds to derive and write the program, graph nodes, program characters)."""
    graph = parse(text)

    def run() -> str:
        return symbolic.program(symbolic.derive(graph))

    seconds = time_it(run, repeat)
    return seconds, len(graph.ops), len(run())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    print(
        f"{'shape':<8}{'ops':>8}{'nodes':>9}{'seconds':>10}{'program chars':>15}"
        f"{'time ×':>8}{'size ×':>8}"
    )
    for shape, make in (("random", random_dag), ("chain", chain_dag)):
        previous = None
        for size in sizes:
            seconds, nodes, chars = measure(formula_text(make(size)), args.repeat)
            growth = (
                ("", "")
                if previous is None
                else (f"{seconds / previous[0]:.1f}", f"{chars / previous[1]:.1f}")
            )
            print(
                f"{shape:<8}{size:>8}{nodes:>9}{seconds:>10.3f}{chars:>15}"
                f"{growth[0]:>8}{growth[1]:>8}"
            )
            previous = (seconds, chars)
    grad = grad_command()
    times = interleaved(
        {"diff": [grad, "diff", NEURON, *POINT], "eval": [grad, "eval", NEURON, *POINT]}, args.runs
    )
    print(
        f"neuron as a process (median of {args.runs}): grad diff {times['diff'] * 1000:.0f} ms,"
        f" grad eval {times['eval'] * 1000:.0f} ms, ratio {times['diff'] / times['eval']:.2f}"
    )


if __name__ == "__main__":
    main()
