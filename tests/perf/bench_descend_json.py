"""What `grad descend --json` costs per step, piece by piece, in one process and one run, so
that the ratios compare: why --json is ~3-4x the run without it on a two-parameter formula
(the issue's target is 1.3x) and ~1.1x on 200 operations.

    .venv/bin/python tests/perf/bench_descend_json.py [STEPS]

Per step, CPU time (best of 7, interleaved):
  run            drive() as `grad descend` runs it without outputs (the baseline, 1.00x)
  run --json     drive() writing the --json trace to /dev/null
  keep steps     the run keeping every Step for a writer (what any trace writer needs at least)
  pack doubles   the kept steps' six numbers into an array of doubles (what a second process
                 that formats would need sent to it, besides the keeping)
  format lines   the trace lines from the kept steps ('%r' per number: float.__repr__)
  repr only      float.__repr__ of the same six numbers and nothing else

One process cannot be faster than run + format lines. A second process that formats (two
idle cores) cannot be faster than the larger of (keep steps + pack doubles) and (format
lines), since the formatter then has the whole repr work to itself.
"""

from __future__ import annotations

import dataclasses
import os
import sys
import time
from array import array

from gradcli.core.descend import DescendConfig, Descent, Thinned
from gradcli.core.engine import Tape
from gradcli.core.syntax import parse
from gradcli.output import jsonout
from gradcli.output.descend_run import drive

FORMULAS = {
    "(x - 3)^2 + (y + 1)^2": "(x - 3)^2 + (y + 1)^2",
    # about 200 operations over the same two parameters (as bench_descend_outputs --ops 200)
    "200 ops": " + ".join(f"(x - {i % 7})^2 * (y + {i % 5})^2" for i in range(33)),
}


def per_step(fn, steps: int) -> float:
    start = time.process_time()
    fn()
    return (time.process_time() - start) / steps


def measure(text: str, steps: int, rounds: int = 7) -> dict[str, float]:
    tape = Tape(parse(text))
    point = {name: 0.0 for name in tape.graph.inputs}
    config = DescendConfig(steps=steps, lr=1e-9)
    as_json = dataclasses.replace(config, as_json=True)
    params = tuple(tape.graph.inputs)
    line = jsonout.descent_trace_line(params, False)
    kept = list(Descent(tape, point, config))
    null = open(os.devnull, "w")

    def keep() -> None:
        sample, pending = Thinned(), []
        for step in Descent(tape, point, config):
            sample.add(step)
            pending.append(step)
            if len(pending) >= 2048:
                pending.clear()

    pieces = {
        "run": lambda: drive(tape, point, config),
        "run --json": lambda: drive(tape, point, as_json, json_out=null),
        "keep steps": keep,
        "pack doubles": lambda: array("d", [x for s in kept for x in (s[1], *s[2], *s[3], s[4])]),
        "format lines": lambda: [line % (s[0], s[1], *s[2], *s[3], s[4]) for s in kept],
        "repr only": lambda: [
            (repr(s[1]), *map(repr, s[2]), *map(repr, s[3]), repr(s[4])) for s in kept
        ],
    }
    times: dict[str, list[float]] = {name: [] for name in pieces}
    for _ in range(rounds):
        for name, fn in pieces.items():
            times[name].append(per_step(fn, steps))
    null.close()
    return {name: min(t) for name, t in times.items()}


def main() -> None:
    steps = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    print(f"grad descend --json, {steps:,} steps, CPU per step (best of 7)")
    for label, text in FORMULAS.items():
        t = measure(text, steps)
        run = t["run"]
        print(f"\n{label}")
        for name, seconds in t.items():
            print(f"  {name:<14} {seconds * 1e6:8.3f} µs  {seconds / run:5.2f}x run")
        one = (run + t["format lines"]) / run
        two = max(t["keep steps"] + t["pack doubles"], t["format lines"]) / run
        print(f"  floor, one process:           {one:5.2f}x  (run + format lines)")
        print(f"  floor, a formatting process:  {two:5.2f}x  (on two idle cores)")


if __name__ == "__main__":
    main()
