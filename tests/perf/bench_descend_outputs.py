"""Peak memory and time of long `grad descend` runs with their outputs, all in one run of this
script so that the figures compare (ratios, not absolute numbers, carry over to other machines).

    .venv/bin/python tests/perf/bench_descend_outputs.py [STEPS] [--ops 200]

Runs the installed command on (x - 3)^2 + (y + 1)^2 (or, with --ops N, a sum of terms
(x - a)^2 * (y + b)^2 with about N operations) for STEPS steps (default 1,000,000):
without outputs, with --json (to /dev/null), with --csv, with --json --csv --plot, and the
time from Ctrl-C to exit. Peak RSS is the child's own (os.wait4). Targets: --json --csv --plot
under 100 MB peak; --json at most 1.3x the time of the run without it; Ctrl-C to exit under a
second.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

GRAD = str(Path(sys.executable).with_name("grad"))
FORMULA = ["(x - 3)^2 + (y + 1)^2", "x=0", "y=0", "--lr", "1e-7"]


def wide_formula(ops: int) -> list[str]:
    """About `ops` operations over the same two parameters: each term is 5 (-, ^, +, ^, *),
    and the terms are added."""
    terms = [f"(x - {i % 7})^2 * (y + {i % 5})^2" for i in range(max(1, (ops + 1) // 6))]
    return [" + ".join(terms), "x=0", "y=0", "--lr", "1e-9"]


def measure(args: list[str], cwd: str) -> tuple[float, float]:
    """(seconds, peak MB) of one run, output to /dev/null."""
    start = time.perf_counter()
    with open(os.devnull, "wb") as null:
        process = subprocess.Popen(
            [GRAD, "descend", *FORMULA, *args], stdout=null, stderr=subprocess.PIPE, cwd=cwd
        )
        _, status, usage = os.wait4(process.pid, 0)
    seconds = time.perf_counter() - start
    if os.waitstatus_to_exitcode(status) != 0:
        raise SystemExit(f"failed: {args}: {process.stderr.read().decode()}")
    process.stderr.close()
    return seconds, usage.ru_maxrss / 1024


def best(args: list[str], cwd: str, runs: int = 3) -> tuple[float, float]:
    results = [measure(args, cwd) for _ in range(runs)]
    return min(r[0] for r in results), max(r[1] for r in results)


def interrupt_latency(cwd: str) -> float:
    """Seconds from SIGINT (sent mid-run, after the first chunk of the trace) to exit."""
    process = subprocess.Popen(
        [
            GRAD,
            "descend",
            *FORMULA,
            "--steps",
            "100000000",
            "--json",
            "--csv",
            "t.csv",
            "--plot",
            "t.png",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        cwd=cwd,
        bufsize=0,
    )
    seen = b""
    while len(seen) < 1_000_000:
        seen += os.read(process.stdout.fileno(), 1 << 16)
    process.send_signal(signal.SIGINT)
    start = time.perf_counter()
    process.communicate()
    return time.perf_counter() - start


def main() -> None:
    global FORMULA
    args = sys.argv[1:]
    if "--ops" in args:
        at = args.index("--ops")
        FORMULA = wide_formula(int(args[at + 1]))
        del args[at : at + 2]
    steps = args[0] if args else "1000000"
    with tempfile.TemporaryDirectory() as cwd:
        print(
            f"grad descend {FORMULA[0][:40]!r}, {int(steps):,} steps; "
            "best of 3 (time), largest peak RSS"
        )
        plain = best(["--steps", steps], cwd)
        rows = [
            ("no outputs", plain),
            ("--json", best(["--steps", steps, "--json"], cwd)),
            ("--json --every 100", best(["--steps", steps, "--json", "--every", "100"], cwd)),
            ("--csv FILE", best(["--steps", steps, "--csv", "t.csv"], cwd)),
            (
                "--json --csv --plot",
                best(
                    ["--steps", steps, "--json", "--csv", "t.csv", "--plot", "t.png"], cwd, runs=1
                ),
            ),
        ]
        for name, (seconds, mb) in rows:
            print(f"  {name:<22} {seconds:7.2f} s  {seconds / plain[0]:5.2f}x  {mb:7.1f} MB")
        print(f"  Ctrl-C to exit (--json --csv --plot): {interrupt_latency(cwd):.2f} s")


if __name__ == "__main__":
    main()
