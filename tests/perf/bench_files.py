"""The cost of gradcli/output/files.py against plain Python file I/O, in the same run.

Run: .venv/bin/python tests/perf/bench_files.py [--mib 32] [--repeat 5]
Writes and reads a text file of MIB mebibytes (CSV-like lines) in a temporary folder: the one
writer's write_bytes (beside and rename, with fsync) and its streaming form (one write per line)
against open().write, and read_text (chunked, NUL check, size limit) against Path.read_text.
Prints the medians and the ratio to the plain version; both grow linearly with the size.
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path

from gradcli.output import files


def median_time(action, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mib", type=int, default=32)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    line = "12345,0.6400000000000001,0.8,1.6,1.6\n"
    lines = [line] * (args.mib * 1024 * 1024 // len(line))
    text = "".join(lines)
    data = text.encode()
    with tempfile.TemporaryDirectory() as folder:
        target = Path(folder) / "t.csv"

        def plain_write() -> None:
            with open(target, "wb") as out:
                out.write(data)
                out.flush()
                os.fsync(out.fileno())

        def streamed() -> None:
            with files.open_output(target) as out:
                for item in lines:
                    out.write(item)

        def plain_streamed() -> None:
            with open(target, "w", encoding="utf-8") as out:
                for item in lines:
                    out.write(item)
                out.flush()
                os.fsync(out.fileno())

        rows = [
            (
                "write whole",
                median_time(plain_write, args.repeat),
                median_time(lambda: files.write_bytes(target, data), args.repeat),
            ),
            (
                "write per line",
                median_time(plain_streamed, args.repeat),
                median_time(streamed, args.repeat),
            ),
            (
                "read",
                median_time(lambda: target.read_text(encoding="utf-8"), args.repeat),
                median_time(lambda: files.read_text(target), args.repeat),
            ),
        ]
    print(f"{args.mib} MiB, median of {args.repeat}")
    print(f"{'':16}{'plain (s)':>12}{'files (s)':>12}{'ratio':>8}")
    for name, plain, ours in rows:
        print(f"{name:16}{plain:12.4f}{ours:12.4f}{ours / plain:8.2f}")


if __name__ == "__main__":
    main()
