"""The `grad` program's entry point: the CLI is imported with the cyclic garbage collector
paused, and what it imported is then frozen out of later collections.

Starting up creates some 100,000 long-lived objects (typer, click, rich, gradcli's modules).
With the collector running, they are scanned again and again, during the imports and after;
frozen, they never are. That is about a seventh of a `grad eval`'s time.

`grad --version` alone is answered here, without typer and click (some 30 ms of imports)
and without importlib.metadata (some 50 ms of scanning the installed distributions), and so
is a `grad eval` whose words need no option parser (gradcli.cli.evaluation.plain_eval).
"""

import gc
import sys


def main() -> None:
    argv = sys.argv[1:]
    if argv == ["--version"]:
        _version()
    gc.disable()
    try:
        from .cli.evaluation import plain_eval, run_plain

        plain = plain_eval(argv)
        if plain is None:
            from .cli.app import main as run
    finally:
        gc.freeze()
        gc.enable()
    if plain is not None:
        run_plain(plain)
    run()


def _version() -> None:
    from . import __version__
    from .cli.streams import run_guarded

    def show() -> None:
        sys.stdout.write(f"grad {__version__}\n")

    sys.exit(run_guarded(show, _report))


def _report(exc) -> None:
    """An error (stdout closed or full) reported as every command reports it."""
    from .output.terminal import protect_streams

    protect_streams()
    from .cli.app import _report as report

    report(exc)
