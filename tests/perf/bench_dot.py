"""How long Graphviz's dot takes to draw gradcli's circuit diagrams, by graph size and shape.

    .venv/bin/python tests/perf/bench_dot.py [--sizes 100,400,2000] [--timeout 60]

Shapes: `copies` (k copies of sin(x)*cos(y) added: two inputs feeding every copy, and a long
chain of sums, the case of the Graphviz issue), `dag` (bench.py's random DAGs with shared named
intermediates) and `chain` (bench.py's nested chains). For each, the DOT text in the lecture
style (every wire labelled) and in the compact style gradcli uses above dot.LECTURE_NODES;
dot's wall time and CPU time (user + system of the dot process, which does not depend on what
else the machine is doing). The lecture style is only tried up to --lecture-max nodes.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import bench  # noqa: E402  (the formula generators)

from gradcli import dot  # noqa: E402
from gradcli.core.engine import Tape  # noqa: E402
from gradcli.core.syntax import parse  # noqa: E402


def formula(shape: str, nodes: int) -> str:
    if shape == "copies":
        return " + ".join(["sin(x)*cos(y)"] * max(1, nodes // 4))
    if shape == "dag":
        return bench.formula_text(bench.random_dag(int(nodes * 0.87)))
    return bench.formula_text(bench.chain_dag(int(nodes * 0.77)))


def run_dot(text: str, timeout: float) -> tuple[str, float, float]:
    """(outcome, wall seconds, CPU seconds of dot)."""
    before = os.times()
    start = time.perf_counter()
    try:
        done = subprocess.run(
            ["dot", "-Tsvg"], input=text.encode(), capture_output=True, timeout=timeout
        )
        outcome = "ok" if done.returncode == 0 else f"exit {done.returncode}"
    except subprocess.TimeoutExpired:
        outcome = f"> {timeout:g} s"
    wall = time.perf_counter() - start
    after = os.times()
    cpu = (after.children_user - before.children_user) + (
        after.children_system - before.children_system
    )
    return outcome, wall, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="50,100,200,400,1000,2000")
    parser.add_argument("--shapes", default="copies,dag,chain")
    parser.add_argument("--timeout", type=float, default=60.0)
    parser.add_argument("--lecture-max", type=int, default=400)
    args = parser.parse_args()
    print(f"dot.LECTURE_NODES = {dot.LECTURE_NODES}, dot.MAX_NODES = {dot.MAX_NODES}")
    print(f"{'shape':7} {'nodes':>6} {'style':8} {'outcome':>9} {'wall':>8} {'dot CPU':>8}")
    for shape in args.shapes.split(","):
        for size in (int(s) for s in args.sizes.split(",")):
            graph = parse(formula(shape, size))
            ev = Tape(graph).evaluate({name: 0.5 for name in graph.inputs})
            styles = [("compact", dot._compact_dot)]
            if len(graph.ops) <= args.lecture_max:
                styles.insert(0, ("lecture", dot._lecture_dot))
            for style, make in styles:
                outcome, wall, cpu = run_dot(make(ev), args.timeout)
                print(
                    f"{shape:7} {len(graph.ops):6} {style:8} {outcome:>9} {wall:7.2f}s {cpu:7.2f}s",
                    flush=True,
                )


if __name__ == "__main__":
    main()
