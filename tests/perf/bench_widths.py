"""Time drawing `grad eval`'s output (tree, gradient table) at several terminal widths, on
formulas of 1,000 to 100,000 operations, against the time to evaluate them.

Run: .venv/bin/python tests/perf/bench_widths.py [--sizes 1000,10000,100000] [--repeat 3]
Prints medians (seconds) and, per shape, the growth ratio per 10x ops (linear: near 10 or
less, since the tree is capped at 200 lines) and the ratio of drawing to evaluating.
"""

from __future__ import annotations

import argparse
import io
import random
import statistics
import time

from gradcli.core.engine import Tape
from gradcli.core.syntax import parse
from gradcli.output import render
from gradcli.output.terminal import console_class


def wide(ops: int, rng: random.Random) -> tuple[str, dict]:
    names = [f"x{i}" for i in range(20)]
    terms = [f"sin({rng.choice(names)} * {rng.uniform(-1, 1):.3f})" for _ in range(ops // 3)]
    return " + ".join(terms), {n: rng.uniform(-1, 1) for n in names}


def deep(ops: int, rng: random.Random) -> tuple[str, dict]:
    return "tanh(" * ops + "x * 0.5" + ")" * ops, {"x": 0.3}


def draw(ev, names, width: int) -> None:
    console = console_class()(
        file=io.StringIO(),
        width=width,
        force_terminal=True,
        color_system=None,
        markup=False,
        emoji=False,
    )
    console.print(render.evaluation_view(ev, names, 6))


def median(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    for shape in (wide, deep):
        previous = None
        for size in sizes:
            formula, point = shape(size, random.Random(1))
            tape = Tape(parse(formula))
            ev = tape.evaluate(point)
            names = list(ev.graph.inputs)
            evaluate = median(lambda: tape.evaluate(point), args.repeat)
            row = [f"{shape.__name__:5} {size:>7} ops  evaluate {evaluate:8.4f}s"]
            for width in (20, 80, 200):
                t = median(lambda: draw(ev, names, width), args.repeat)
                row.append(f"w{width} {t:7.4f}s ({t / evaluate:5.2f}x eval)")
            t80 = median(lambda: draw(ev, names, 80), args.repeat)
            growth = "" if previous is None else f"  growth x{t80 / previous:4.1f}"
            previous = t80
            print("  ".join(row) + growth)


if __name__ == "__main__":
    main()
