"""The `grad` program's entry point: the CLI is imported with the cyclic garbage collector
paused, and what it imported is then frozen out of later collections.

Starting up creates some 100,000 long-lived objects (typer, click, rich, gradcli's modules).
With the collector running, they are scanned again and again, during the imports and after;
frozen, they never are. That is about a seventh of a `grad eval`'s time.
"""

import gc


def main() -> None:
    gc.disable()
    try:
        from .cli.app import main as run
    finally:
        gc.freeze()
        gc.enable()
    run()
