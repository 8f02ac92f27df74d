"""The REPL loop: prompt_toolkit on a terminal, a plain line reader otherwise (scripts, pipes).

All the work is done by session.Session; this module only reads lines and prints replies.
prompt_toolkit is imported only on a terminal (gradcli/cli/prompt.py), to keep start-up fast.
"""

from __future__ import annotations

import os
import sys
import traceback
from collections.abc import Iterable, Iterator
from pathlib import Path

from rich.console import Console
from rich.text import Text

from ..core.errors import ExitCode, GradcliError, UsageError
from ..output.terminal import consoles
from .session import Reply, Session, ends_with_operator

BANNER = (
    "grad repl: x = -2 sets an input, q = x + y names a node, an expression shows its "
    "gradient. :help lists the commands; Ctrl-D leaves."
)


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


def handle(
    session: Session, text: str, out: Console, err: Console, first_line: int | None = None
) -> Reply:
    """One input through the session, printed. A bug prints a traceback and the REPL goes on;
    Ctrl-C while it runs drops it."""
    try:
        reply = session.handle(text, first_line)
    except KeyboardInterrupt:
        err.print(Text("interrupted", style="yellow"))
        return Reply()
    except Exception:  # a bug, never a user's mistake: say so and carry on
        err.print(Text("internal error (please report it):", style="bold red"))
        err.print(Text(traceback.format_exc()))
        return Reply(error=GradcliError("internal error"))
    show(reply, out, err)
    return reply


def _script(lines: Iterable[str]) -> Iterator[str]:
    """A script's lines from standard input: a byte-order mark at its start dropped, text
    with a NUL byte (a binary file, /dev/zero) refused as a formula file is."""
    for number, line in enumerate(lines, 1):
        if number == 1:
            line = line.removeprefix("\ufeff")
        if "\0" in line:
            raise UsageError("cannot read standard input: not a text file (it holds NUL bytes)")
        yield line


def run_lines(session: Session, lines: Iterable[str], out: Console, err: Console) -> int:
    """The plain reader: run each input (continued lines joined) and print its reply, errors
    with the script's line numbers. A blank line or a ':' command ends an unfinished
    statement (it is run as it is, and fails); the script goes on. Returns the exit code of
    the last failure, or 0 if every input succeeded."""
    failure = 0
    pending = Pending()
    for number, raw in enumerate(lines, 1):
        line = raw.rstrip("\r\n")
        if pending and (not line.strip() or line.lstrip().startswith(":")):
            failure = _run(session, pending.take(), out, err, failure)[0]
        if pending.add(line, number):
            continue
        failure, quit = _run(session, pending.take(), out, err, failure)
        if quit:
            return failure
    if pending:  # the input ended inside an unfinished statement
        failure = _run(session, pending.take(), out, err, failure)[0]
    return failure


def _run(
    session: Session, taken: tuple[str, int], out: Console, err: Console, failure: int
) -> tuple[int, bool]:
    text, first_line = taken
    reply = handle(session, text.rstrip("\\"), out, err, first_line)
    return (reply.exit_code or 1) if reply.is_error else failure, reply.quit


class Pending:
    """The lines of an input not yet run, and whether it goes on: tested line by line, each
    line once (open parentheses are counted as lines come)."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self.first = 0
        self.depth = 0

    def __bool__(self) -> bool:
        return bool(self.lines)

    def add(self, line: str, number: int) -> bool:
        """Add a line; True when the input needs more lines."""
        if not self.lines:
            self.first = number
            if line.lstrip().startswith(":"):
                self.lines.append(line)
                return False
        self.lines.append(line)
        if line.endswith("\\"):
            return True
        for char in line.split("#", 1)[0]:
            if char == "(":
                self.depth += 1
            elif char == ")" and self.depth:
                self.depth -= 1
        return self.depth > 0 or ends_with_operator(line)

    def take(self) -> tuple[str, int]:
        text, first = "\n".join(self.lines), self.first
        self.lines, self.depth = [], 0
        return text, first


def interact(interactive: bool | None = None) -> int:
    """Run the REPL; returns the exit code."""
    if interactive is None:  # a person types: prompt even if the output goes to a pipe
        interactive = sys.stdin.isatty() and (sys.stdout.isatty() or sys.stderr.isatty())
    out, err = consoles()  # what the user typed is printed as typed
    session = Session()
    session.console = out
    if not interactive:
        from ..output.files import READ_LIMIT, STDIO, open_lines

        try:
            # read as formula files are: UTF-8 text, lines of at most 64 MiB, a BOM ignored
            with open_lines(STDIO, line_limit=READ_LIMIT) as lines:
                return run_lines(session, _script(lines), out, err)
        except KeyboardInterrupt:
            return int(ExitCode.INTERRUPTED)
    from .prompt import ask, make_prompt

    # The prompt, the banner and questions go to the terminal: standard output, or standard
    # error when standard output is a pipe (grad repl | tee log).
    terminal = sys.stdout if sys.stdout.isatty() else sys.stderr
    prompt = make_prompt(session, history_path(), lambda m: err.print(_warning(m)), terminal)
    session.confirm = lambda question: ask(question, terminal)
    (out if terminal is sys.stdout else err).print(Text(BANNER, style="dim"))
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
