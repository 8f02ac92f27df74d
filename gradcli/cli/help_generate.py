"""Writes gradcli/cli/help_listing.py: `grad --help` as the typer app prints it, at every width
click lays help out in, so that `grad --help` is answered without importing typer and click
(~30 ms, three times the rest of it). Run it after changing the app's help or a command's
first line; tests/test_startup.py fails while the file is out of date:

    .venv/bin/python -m gradcli.cli.help_generate
"""

from __future__ import annotations

import json
from pathlib import Path

import click
import typer

from .app import app_for

# click's help width: max(min(terminal columns, 80) - 2, 50) (click.formatting.HelpFormatter)
WIDTHS = range(50, 79)
TARGET = Path(__file__).with_name("help_listing.py")


def help_text(width: int) -> str:
    """What `grad --help` prints at this width, as click's help option prints it."""
    command = typer.main.get_command(app_for(["--help"]))
    settings = {**command.context_settings, "terminal_width": width}
    with click.Context(command, info_name="grad", **settings) as ctx:
        return ctx.get_help()


def source() -> str:
    lines = [
        '"""`grad --help` at each width: written by gradcli/cli/help_generate.py, do not edit."""',
        "",
        f"WIDTHS = range({WIDTHS.start}, {WIDTHS.stop})",
        "TEXTS = (  # one per width",
        *(f"    {json.dumps(help_text(width))}," for width in WIDTHS),
        ")",
    ]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":
    TARGET.write_text(source(), encoding="utf-8")
