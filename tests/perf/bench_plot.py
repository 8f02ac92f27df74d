"""Time `grad plot`'s stages on the sigmoid neuron over a grid of two weights: sampling through
the compiled sweeps against evaluating every point through the Tape (what a plot without the
compiled path would do), the JSON and the terminal heatmap; and the growth from 50×50 to
200×200 (linear in the number of points: near 16).

Run: .venv/bin/python tests/perf/bench_plot.py [--repeat 3]
Prints medians (seconds) and the ratios measured in the same run.
"""

from __future__ import annotations

import argparse
import io
import statistics
import time

from gradcli.core.engine import Tape
from gradcli.core.sample import axis, sample
from gradcli.core.syntax import parse
from gradcli.output import jsonout
from gradcli.output.render_plot import Plot
from gradcli.output.terminal import console_class

NEURON = "1/(1 + exp(-(w0*x0 + w1*x1 + w2)))"
FIXED = {"x0": -1.0, "x1": -2.0, "w2": -3.0}


def median(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    tape = Tape(parse(NEURON))
    grid = {n: [axis("w0", -3, 3, n), axis("w1", -3, 3, n)] for n in (50, 200)}

    def plain(n: int) -> None:  # every point through the Tape
        for w1 in grid[n][1].points:
            for w0 in grid[n][0].points:
                tape.evaluate({**FIXED, "w0": w0, "w1": w1})

    samples = sample(tape, grid[200], FIXED)
    console = console_class()(
        file=io.StringIO(),
        width=120,
        force_terminal=True,
        color_system="truecolor",
        markup=False,
        emoji=False,
    )
    t = {
        "sample 50x50": median(lambda: sample(tape, grid[50], FIXED), args.repeat),
        "sample 200x200": median(lambda: sample(tape, grid[200], FIXED), args.repeat),
        "tape 200x200": median(lambda: plain(200), args.repeat),
        "json 200x200": median(lambda: jsonout.dumps(jsonout.plot(samples)), args.repeat),
        "heatmap 120 cols": median(lambda: console.print(Plot(samples)), args.repeat),
    }
    for name, seconds in t.items():
        print(f"{name:18} {seconds:9.4f} s")
    per_point = t["sample 200x200"] / 200**2
    print(f"per point (compiled): {per_point * 1e6:.2f} µs")
    print(f"tape / compiled (200x200): {t['tape 200x200'] / t['sample 200x200']:.1f}x")
    print(f"growth 50x50 -> 200x200 (16x points): {t['sample 200x200'] / t['sample 50x50']:.1f}x")


if __name__ == "__main__":
    main()
