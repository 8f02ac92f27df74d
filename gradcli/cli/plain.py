"""`grad eval` and `grad diff` without typer and click, for start.py: when the words need no
option parser (the formula, NAME=VALUE, the few options of PLAIN_OPTIONS), they are read here
and the command's body (evaluation.py, differentiation.py) runs at once. Importing typer and
click costs more than the answer."""

from __future__ import annotations

import os
import sys

from .differentiation import derive
from .evaluation import prepare, report, run_eval

# The commands that plain_command answers without typer, and the options it reads for each as
# click would: flags, and options with a value. Any other option is left to typer.
PLAIN_OPTIONS = {
    "eval": (
        {"--json": "as_json", "--check": "check", "--explain": "explain"},
        {"--wrt": "wrt", "--format": "fmt", "--file": "file", "-f": "file"},
    ),
    "diff": (
        {"--json": "as_json", "--latex": "latex", "--program": "program"},
        {"--wrt": "wrt", "--file": "file", "-f": "file"},
    ),
}


def plain_command(argv: list[str]) -> dict | None:
    """The arguments of `grad eval` or `grad diff` when its words need no option parser: the
    formula and NAME=VALUE words, none starting with '-', and the command's options of
    PLAIN_OPTIONS (a value not starting with '-'; a --file that click accepts: a readable
    file). None for anything else (no formula, --help, a formula starting with '-', tab
    completion, ...): typer parses those, with its messages."""
    if not argv or argv[0] not in PLAIN_OPTIONS or "_GRAD_COMPLETE" in os.environ:
        return None
    flags, valued = PLAIN_OPTIONS[argv[0]]
    words = iter(argv[1:])
    positional, options = [], {}
    for word in words:
        if not word.startswith("-"):
            positional.append(word)
            continue
        name, equals, value = word.partition("=")
        if name in flags and not equals:
            options[flags[name]] = True
        elif name in valued and (name.startswith("--") or not equals):
            value = value if equals else next(words, None)
            if value is None or value.startswith("-"):
                return None
            options[valued[name]] = value
        else:
            return None
    file = options.pop("file", None)
    if file is None and not positional:
        return None
    if file is not None and not (os.path.isfile(file) and os.access(file, os.R_OK)):
        return None  # click's own message for it
    expression = positional[0] if positional else None
    return {
        "command": argv[0],
        "expression": expression,
        "bindings": positional[1:],
        "file": file,
        **options,
    }


def preload(arguments: dict) -> None:
    """Import what answering plain_command's `arguments` takes, for start.py to do while the
    garbage collector is paused: Rich's imports, for the tree, take a sixth longer with it
    running."""
    from ..core import lalr_tables, syntax  # noqa: F401

    if arguments["command"] == "diff":
        from ..core import symbolic  # noqa: F401

        if arguments.get("as_json"):
            from ..output import jsonout  # noqa: F401
        elif arguments.get("latex"):
            from ..output import render_diff  # noqa: F401  (it imports Rich's Text)
        elif not arguments.get("program"):
            from ..output import render_diff, terminal  # noqa: F401

            terminal.console_class()
    elif arguments.get("as_json") or arguments.get("fmt") == "json":
        from ..output import jsonout  # noqa: F401
    elif arguments.get("fmt") in (None, "tree"):
        from ..output import render, terminal  # noqa: F401

        terminal.console_class()


def run_plain(arguments: dict) -> None:
    """Run `grad eval` or `grad diff` from plain_command's arguments as the typer app runs it:
    the same error boundary (streams.run_guarded), and Ctrl-C ends it as typer ends a
    command."""
    from ..output.terminal import protect_streams
    from .streams import run_guarded

    protect_streams()

    def run() -> None:
        options = dict(arguments)
        command = options.pop("command")
        file = options.pop("file")
        if file is not None:
            from pathlib import Path  # as typer passes it

            file = Path(file)
        expression, bindings = options.pop("expression"), options.pop("bindings")
        try:
            if command == "diff":
                derive(expression, bindings, file, **options)
                return
            from ..core.graph import gc_paused

            with gc_paused():  # as eval_cmd runs it: one evaluation makes no cycles
                tape, point = prepare(expression, bindings, file)
                run_eval(tape, point, **options)
        except EOFError:
            sys.stderr.write("\nAborted!\n")
            sys.exit(1)
        except KeyboardInterrupt:
            sys.exit(130)  # as typer ends a command on Ctrl-C: quietly, 130

    sys.exit(run_guarded(run, report))
