"""The REPL loop: prompt_toolkit on a terminal, a plain line reader otherwise (scripts, pipes).

All the work is done by session.Session; this module only reads lines and prints replies.
prompt_toolkit is imported only on a terminal (gradcli/cli/prompt.py), to keep start-up fast.
"""

from __future__ import annotations

import os
import sys
import traceback
from collections.abc import Iterable
from pathlib import Path

from rich.console import Console
from rich.text import Text

from ..core.errors import ExitCode, GradcliError
from .session import Reply, Session, needs_more
from ..output.terminal import consoles

BANNER = "grad repl: x = -2 sets an input, q = x + y names a node, an expression shows its " \
         "gradient. :help lists the commands; Ctrl-D leaves."


def history_path() -> Path:
    """$GRADCLI_HISTORY, else $XDG_STATE_HOME/gradcli/history, else
    ~/.local/state/gradcli/history."""
    override = os.environ.get("GRADCLI_HISTORY")
    if override:
        return Path(override).expanduser()
    state = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(state) / "gradcli" / "history"


def show(reply: Reply, out: Console, err: Console) -> None:
    for item in reply.output:
        if isinstance(item, str):  # machine output (JSON) bypasses Rich: no wrapping
            out.file.write(item + "\n")
            out.file.flush()
        else:
            out.print(item)
    for message in reply.messages:
        err.print(message)


def handle(session: Session, text: str, out: Console, err: Console) -> Reply:
    """One input through the session, printed. A bug prints a traceback and the REPL goes on;
    Ctrl-C while it runs drops it."""
    try:
        reply = session.handle(text)
    except KeyboardInterrupt:
        err.print(Text("interrupted", style="yellow"))
        return Reply()
    except Exception:  # a bug, never a user's mistake: say so and carry on
        err.print(Text("internal error (please report it):", style="bold red"))
        err.print(Text(traceback.format_exc()))
        return Reply(error=GradcliError("internal error"))
    show(reply, out, err)
    return reply


def run_lines(session: Session, lines: Iterable[str], out: Console, err: Console) -> int:
    """The plain reader: run each input (continued lines joined) and print its reply. Returns
    the exit code of the last failure, or 0 if every input succeeded."""
    failure = 0
    pending: str | None = None
    for raw in lines:
        line = raw.rstrip("\r\n")
        pending = line if pending is None else pending + "\n" + line
        if needs_more(pending):
            continue
        text, pending = pending, None
        reply = handle(session, text, out, err)
        if reply.is_error:
            failure = reply.exit_code or 1
        if reply.quit:
            return failure
    if pending is not None:  # the input ended inside an unfinished statement
        reply = handle(session, pending.rstrip("\\"), out, err)
        if reply.is_error:
            failure = reply.exit_code or 1
    return failure


def run(interactive: bool | None = None) -> int:
    """Run the REPL; returns the exit code."""
    if interactive is None:
        interactive = sys.stdin.isatty() and sys.stdout.isatty()
    out, err = consoles()  # what the user typed is printed as typed
    session = Session()
    session.console = out
    if not interactive:
        try:
            return run_lines(session, sys.stdin, out, err)
        except KeyboardInterrupt:
            return int(ExitCode.INTERRUPTED)
    from .prompt import make_prompt

    prompt = make_prompt(session, history_path(), lambda m: err.print(_warning(m)))
    out.print(Text(BANNER, style="dim"))
    while True:
        try:
            text = prompt.prompt()
        except KeyboardInterrupt:  # drop the line being typed
            continue
        except EOFError:
            break
        if handle(session, text, out, err).quit:
            break
    return 0


def _warning(message: str) -> Text:
    from ..output.render import warning

    return warning(message)
