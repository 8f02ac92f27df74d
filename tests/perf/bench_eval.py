"""Time each stage of `grad eval` on formulas of 1,000 to 100,000 operations.

Run: .venv/bin/python tests/perf/bench_eval.py [--sizes 1000,10000,100000] [--repeat 3]
Prints one table of medians (seconds) per stage and shape, and the growth ratio per 10× ops,
which should stay near 10 (linear). Formulas are generated from a fixed seed.
"""

from __future__ import annotations

import argparse
import gc
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

from gradcli.core.engine import Tape
from gradcli.core.syntax import parse
from gradcli.output import jsonout


def random_sum(ops: int, rng: random.Random) -> tuple[str, dict]:
    """A wide formula: a sum of products and unary functions of 20 inputs (~ops operations)."""
    names = [f"x{i}" for i in range(20)]
    funcs = ["sin", "cos", "tanh", "sigmoid", "exp"]
    terms = []
    count = 0
    while count < ops:
        a, b = rng.choice(names), rng.choice(names)
        terms.append(f"{rng.choice(funcs)}({a} * {rng.uniform(-1, 1):.3f}) * {b}")
        count += 4  # func, mul, mul, add
    return " + ".join(terms), {n: rng.uniform(-1, 1) for n in names}


def deep_chain(ops: int, rng: random.Random) -> tuple[str, dict]:
    """A nesting `ops/2` deep: ((((x + 1) * 0.5 ...)."""
    depth = ops // 2
    return "(" * depth + "x" + "".join(
        f" + 1) * {rng.choice([0.5, 1.0, 2.0])}" for _ in range(depth)
    ), {"x": 0.1}


def time_it(fn, repeat: int) -> float:
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples)


def bench(text: str, point: dict, repeat: int) -> dict[str, float]:
    result: dict[str, float] = {}
    result["parse"] = time_it(lambda: parse(text), repeat)
    graph = parse(text)
    result["tape"] = time_it(lambda: Tape(graph), repeat)
    tape = Tape(graph)
    result["forward"] = time_it(lambda: tape.forward(point), repeat)
    values = tape.forward(point)
    result["backward"] = time_it(lambda: tape.backward(values), repeat)
    ev = tape.evaluate(point)
    result["json"] = time_it(lambda: jsonout.dumps(jsonout.evaluation(ev)), repeat)
    result["nodes"] = len(graph.ops)
    return result


def end_to_end(text: str, point: dict, repeat: int) -> float:
    """The whole `grad eval --json` process, from the formula in a file."""
    path = Path("/tmp/gradcli-bench-formula.txt")
    path.write_text(text)
    grad = str(Path(sys.executable).parent / "grad")
    args = [grad, "eval", "-f", str(path), "--json", *(f"{k}={v!r}" for k, v in point.items())]
    return time_it(lambda: subprocess.run(args, check=True, capture_output=True), repeat)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", default="1000,10000,100000")
    parser.add_argument("--repeat", type=int, default=3)
    options = parser.parse_args()
    sizes = [int(s) for s in options.sizes.split(",")]
    parse("x")  # load the LALR tables once, as one process does
    rows = []
    for shape, make in (("wide", random_sum), ("deep", deep_chain)):
        for ops in sizes:
            text, point = make(ops, random.Random(ops))
            stages = bench(text, point, options.repeat)
            stages["grad eval --json"] = end_to_end(text, point, options.repeat)
            rows.append((shape, ops, stages))
    stages = ["parse", "tape", "forward", "backward", "json", "grad eval --json"]
    print(f"{'shape':6} {'ops':>7} {'nodes':>7} " + " ".join(f"{s:>16}" for s in stages))
    for shape, ops, result in rows:
        print(
            f"{shape:6} {ops:>7} {result['nodes']:>7} "
            + " ".join(f"{result[s]:>15.4f}s" for s in stages)
        )
    print("\ngrowth per 10x operations (linear = 10):")
    for shape in ("wide", "deep"):
        series = [r for r in rows if r[0] == shape]
        for (_, a, ra), (_, b, rb) in zip(series, series[1:]):
            ratios = " ".join(f"{s}={rb[s] / ra[s]:.1f}" for s in stages if ra[s] > 0)
            print(f"  {shape} {a}->{b}: {ratios}")
    gc.collect()


if __name__ == "__main__":
    main()
