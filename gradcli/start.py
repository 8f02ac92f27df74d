"""The `grad` program's entry point: the CLI is imported with the cyclic garbage collector
paused, and what it imported is then frozen out of later collections.

Starting up creates some 100,000 long-lived objects (typer, click, rich, gradcli's modules).
With the collector running, they are scanned again and again, during the imports and after;
frozen, they never are. That is about a seventh of a `grad eval`'s time.

`grad --version` and `grad --help` are answered here, without typer and click (some 30 ms of
imports; the help as they write it, from gradcli/cli/help_listing.py) and without
importlib.metadata (some 50 ms of scanning the installed distributions), and so are a
`grad eval` and a `grad diff` whose words need no option parser
(gradcli.cli.plain.plain_command).
"""

import gc
import os
import sys


def main() -> None:
    argv = sys.argv[1:]
    if argv == ["--version"]:
        from . import __version__

        _answer(f"grad {__version__}\n")
    if argv in (["--help"], ["-h"]) and "_GRAD_COMPLETE" not in os.environ:
        _answer(_help_text())
    gc.disable()
    try:
        from .cli.plain import plain_command, preload, run_plain

        plain = plain_command(argv)
        if plain is None:
            from .cli.app import main as run
        else:
            preload(plain)
    except KeyboardInterrupt:  # Ctrl-C while starting up: as once started, quietly
        sys.exit(130)
    finally:
        gc.freeze()
        gc.enable()
    if plain is not None:
        run_plain(plain)
    run()


def _help_text() -> str:
    """`grad --help` as the typer app prints it (gradcli/cli/help_listing.py), at the width
    click would choose."""
    import shutil

    from .cli.help_listing import TEXTS, WIDTHS

    width = max(min(shutil.get_terminal_size().columns, 80) - 2, 50)
    return TEXTS[WIDTHS.index(width)] + "\n"


def _answer(text: str) -> None:
    """Write `text` to standard output and exit, as a command would (errors included)."""
    from .cli.streams import run_guarded
    from .output.terminal import protect_streams

    protect_streams()
    sys.exit(run_guarded(lambda: sys.stdout.write(text), _report))


def _report(exc) -> None:
    """An error (stdout closed or full) reported as every command reports it."""
    from .cli.evaluation import report

    report(exc)
