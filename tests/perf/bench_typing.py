"""Typing a long formula key by key into the REPL's prompt (no bracketed paste).

    .venv/bin/python tests/perf/bench_typing.py [--before TREE] [KB ...]   (default: 20 200)

--before TREE also runs each size with the gradcli package found in TREE (e.g. an older
checkout: git archive REV gradcli grammars | tar -x -C TREE), in the same run, and prints
the ratios; a size it cannot type within the time limit is reported as timed out.

Each size runs in a fresh process: the keys go through prompt_toolkit's pipe input into the
prompt `grad repl` uses on a terminal (highlighter, completer, continuation test, history),
rendered to a dummy output, then Enter. Printed: seconds, and the peak resident memory beyond
the process's size just before typing. The target is under 2 s and 100 MB at 200 KB.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

CHILD = r"""
import json, resource, sys, tempfile, threading, time
from pathlib import Path
from prompt_toolkit.application import create_app_session
from prompt_toolkit.input import create_pipe_input
from prompt_toolkit.output import DummyOutput
from gradcli.cli.prompt import make_prompt
from gradcli.cli.session import Session

size = int(sys.argv[1])
unit = "x1 * (w2 + 3.5) - "
text = (unit * (size // len(unit) + 1))[:size].rstrip(" -*+(") or "x"
text += ")" * (text.count("(") - text.count(")"))
session = Session()
history = Path(tempfile.mkdtemp()) / "history"
with create_pipe_input() as pipe, create_app_session(input=pipe, output=DummyOutput()):
    prompt = make_prompt(session, history, print)
    base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    start = time.perf_counter()

    def type_keys():  # from a thread: a pipe holds 64 KB, the prompt reads as keys come
        for i in range(0, len(text), 1024):
            pipe.send_text(text[i:i + 1024])
        pipe.send_text("\r")

    typist = threading.Thread(target=type_keys)
    typist.start()
    line = prompt.prompt()
    typist.join()
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
assert line == text, (len(line), len(text))
print(json.dumps({"kb": size / 1000, "seconds": seconds, "mb": (peak - base) / 1024}))
"""


def measure(kb: float, tree: str | None = None, timeout: float = 120) -> dict:
    env = dict(os.environ)
    if tree:
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [tree, env.get("PYTHONPATH")]))
    try:
        done = subprocess.run(
            [sys.executable, "-c", CHILD, str(int(kb * 1000))],
            capture_output=True,
            text=True,
            timeout=timeout,
            env=env,
            cwd=tree or None,
        )
    except subprocess.TimeoutExpired:
        return {"kb": kb, "seconds": float("inf"), "mb": float("nan"), "note": "timed out"}
    if done.returncode:
        raise SystemExit(done.stderr)
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> None:
    args = sys.argv[1:]
    before = None
    if args[:1] == ["--before"]:
        before, args = args[1], args[2:]
    sizes = [float(a) for a in args] or [20, 200]
    print(
        f"{'KB':>6} {'seconds':>9} {'MB beyond start':>16}"
        + (f" {'before s':>9} {'before MB':>10} {'time ratio':>11}" if before else "")
    )
    for kb in sizes:
        row = measure(kb)
        line = f"{row['kb']:>6g} {row['seconds']:>9.2f} {row['mb']:>16.1f}"
        if before:
            old = measure(kb, before)
            ratio = old["seconds"] / row["seconds"]
            line += f" {old['seconds']:>9.2f} {old['mb']:>10.1f} {ratio:>10.1f}x"
        print(line, row.get("note", ""))


if __name__ == "__main__":
    main()
