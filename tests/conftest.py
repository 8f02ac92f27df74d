"""Shared fixtures. `grad` runs the real installed command in a subprocess, from a directory
outside the checkout, as a user would."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

BIN = Path(sys.executable).parent


def grad_executable() -> str:
    found = BIN / "grad"
    if found.exists():
        return str(found)
    on_path = shutil.which("grad")
    if on_path is None:
        pytest.fail("the grad command is not installed; install the project first")
    return on_path


def strict_json(text: str):
    """json.loads that refuses NaN and Infinity, as a strict parser would."""

    def refuse(constant: str):
        raise ValueError(f"non-standard JSON constant {constant}")

    return json.loads(text, parse_constant=refuse)


@pytest.fixture
def grad(tmp_path):
    """grad("eval", "x*y", "x=1", "y=2", input="…") -> CompletedProcess (text, no colour)."""

    def run(*args: str, input: str | None = None, env: dict | None = None, timeout=60):
        environment = {**os.environ, "NO_COLOR": "1", "COLUMNS": "120"}
        environment.pop("FORCE_COLOR", None)
        environment["GRADCLI_HISTORY"] = str(tmp_path / "history")
        environment.update(env or {})
        return subprocess.run(
            [grad_executable(), *args],
            input=input,
            capture_output=True,
            text=True,
            cwd=tmp_path,
            env=environment,
            timeout=timeout,
        )

    return run


@pytest.fixture(autouse=True)
def _history_in_tmp(tmp_path, monkeypatch):
    monkeypatch.setenv("GRADCLI_HISTORY", str(tmp_path / "history"))


def default_sigint() -> None:
    """preexec_fn for a child that a test interrupts: Ctrl-C acts even when pytest itself was
    started with SIGINT ignored (a background job of a non-interactive shell)."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)
