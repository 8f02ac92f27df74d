"""The terminal side of the REPL, on prompt_toolkit: history file, tab completion, syntax
highlighting with the language's own token regex, and multi-line input. Imported only when
the REPL runs on a terminal."""

from __future__ import annotations

import os
import re
import shlex
import stat
import time
from collections.abc import Callable
from pathlib import Path
from typing import TextIO

from prompt_toolkit import PromptSession
from prompt_toolkit.completion import Completer, Completion, PathCompleter
from prompt_toolkit.document import Document
from prompt_toolkit.history import FileHistory, History, InMemoryHistory
from prompt_toolkit.key_binding import KeyBindings, KeyPress
from prompt_toolkit.keys import Keys
from prompt_toolkit.lexers import Lexer
from prompt_toolkit.output import create_output
from prompt_toolkit.styles import Style

from ..core.errors import UsageError
from ..core.ops import CONSTANTS, FUNCTIONS
from ..core.syntax import _TOKEN_RE
from ..output.files import READ_LIMIT, open_output
from .session import META, Session, needs_more

STYLE = Style.from_dict(
    {
        "number": "ansicyan",
        "function": "ansiblue bold",
        "constant": "ansimagenta",
        "known": "bold",
        "operator": "ansiyellow",
        "comment": "ansibrightblack italic",
        "error": "bg:ansired ansiwhite",
        "command": "ansiblue bold",
        "prompt": "ansigreen",
    }
)

HIGHLIGHT_LIMIT = 5000  # characters in a line; longer lines are not coloured (see :help)
_OPERATOR_KINDS = {"PLUS", "MINUS", "STAR", "SLASH", "POW", "EQUAL"}


class FormulaLexer(Lexer):
    """Colours a line by the tokens of gradcli.core.syntax's own regex."""

    def __init__(self, session: Session) -> None:
        self.session = session

    def lex_document(self, document: Document):
        lines = document.lines

        def line_tokens(number: int) -> list[tuple[str, str]]:
            line = lines[number]
            if len(line) > HIGHLIGHT_LIMIT:  # shown plain: colouring would cost every key
                return [("", line)]
            command = re.match(r"(\s*)(:\S*)", line)
            if command and number == 0:
                known = "class:command" if command.group(2) in META else "class:error"
                return [
                    ("", command.group(1)),
                    (known, command.group(2)),
                    *self._formula(line[command.end() :]),
                ]
            return self._formula(line)

        return line_tokens

    def _formula(self, text: str) -> list[tuple[str, str]]:
        names = set(self.session.names())
        out = []
        for match in _TOKEN_RE.finditer(text):
            kind, word = match.lastgroup, match.group()
            style = ""
            if kind == "NUMBER":
                style = "class:number"
            elif kind == "NAME":
                style = (
                    "class:function"
                    if word in FUNCTIONS
                    else "class:constant"
                    if word in CONSTANTS
                    else "class:known"
                    if word in names
                    else ""
                )
            elif kind in _OPERATOR_KINDS:
                style = "class:operator"
            elif kind == "SKIP" and word.startswith("#"):
                style = "class:comment"
            elif kind == "BAD" and word != "\\":
                style = "class:error"
            out.append((style, word))
        return out


class SessionCompleter(Completer):
    """Functions, constants, the session's names and ':' commands; file names after :save
    and :load."""

    def __init__(self, session: Session) -> None:
        self.session = session
        self.paths = PathCompleter(expanduser=True)

    def get_completions(self, document: Document, complete_event):
        before = document.text_before_cursor
        file_argument = re.match(r"\s*:(?:save!?|load)\s+(.*)$", before, re.DOTALL)
        if file_argument:
            yield from self._file_names(file_argument.group(1), complete_event)
            return
        word, candidates = self.session.complete(before)
        for candidate in candidates:
            yield Completion(candidate, start_position=-len(word))

    def _file_names(self, typed: str, complete_event):
        """File names for :save and :load, quoted as the command reads them (shlex): a name
        with a space comes back as 'my file.grad'."""
        name = _unquoted(typed)
        if name is None:
            return
        for found in self.paths.get_completions(Document(name), complete_event):
            full = name[: len(name) + found.start_position] + found.text
            text = shlex.quote(full) if full else full
            if text == full and typed == name:  # nothing to quote: complete as typed
                yield found
                continue
            if text.endswith("/'"):  # a folder: leave the quote open to go on typing in it
                text = text[:-1]
            yield Completion(text, start_position=-len(typed), display=found.display)


def _unquoted(typed: str) -> str | None:
    """The file name being typed, without its shell quoting (an open quote is fine); None
    when it is not one name."""
    for closing in ("", "'", '"'):
        try:
            words = shlex.split(typed + closing)
        except ValueError:
            continue
        if len(words) <= 1 and not (typed[-1:].isspace() and words):
            return words[0] if words else ""
        return None
    return None


class _FileHistory(FileHistory):
    """A history file that warns once, and carries on, when it cannot be written."""

    def __init__(self, filename: str, warn: Callable[[str], None]) -> None:
        super().__init__(filename)
        self._warn: Callable[[str], None] | None = warn

    def store_string(self, string: str) -> None:
        try:
            super().store_string(string)
        except OSError as exc:
            if self._warn is not None:
                self._warn(f"cannot write the history file {self.filename}: {exc.strerror}")
                self._warn = None


HISTORY_ENTRIES = 1000  # the history file keeps the newest entries, trimmed at start


def trim_history(path: Path, keep: int = HISTORY_ENTRIES) -> None:
    """Keep the newest `keep` entries of a prompt_toolkit history file (each entry is its
    '# time' line and its '+' lines), rewritten (files.open_output) only when there are more.
    Raises UsageError when it cannot be rewritten."""
    blocks: list[list[str]] = []
    with open(path, encoding="utf-8", errors="replace") as handle:
        starts_new = True
        for line in handle:
            is_entry = line.startswith("+")
            if starts_new and not is_entry or not blocks:
                blocks.append([])
            blocks[-1].append(line)
            starts_new = is_entry
    entries = [b for b in blocks if any(line.startswith("+") for line in b)]
    if len(entries) <= keep:
        return
    with open_output(path) as out:
        out.writelines(line for block in entries[-keep:] for line in block)


def open_history(path: Path, warn: Callable[[str], None]) -> History:
    try:
        info = path.stat()
    except OSError:
        info = None  # a new file, or one that cannot be used: said below
    if info is not None and not stat.S_ISREG(info.st_mode):
        # /dev/null: no history, as asked; a FIFO or /dev/zero would block or never end
        if os.path.realpath(path) != os.devnull:
            warn(
                f"the history file {path} is not a regular file; history is kept for this run only"
            )
        return InMemoryHistory()
    if info is not None and info.st_size > READ_LIMIT:
        warn(f"the history file {path} is over 64 MiB; history is kept for this run only")
        return InMemoryHistory()
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "a", encoding="utf-8"):
            pass
    except OSError as exc:
        warn(
            f"cannot write the history file {path}: {exc.strerror or exc}; "
            "history is kept for this run only"
        )
        return InMemoryHistory()
    try:
        trim_history(path)
    except OSError as exc:  # an untrimmed history still works
        warn(f"cannot trim the history file {path}: {exc.strerror or exc}")
    except UsageError as exc:
        warn(f"cannot trim the history file: {exc.message}")
    return _FileHistory(str(path), warn)


def _key_bindings() -> KeyBindings:
    bindings = KeyBindings()

    @bindings.add("enter")
    def _enter(event) -> None:
        buffer = event.current_buffer
        if buffer.document.is_cursor_at_the_end and needs_more(buffer.text):
            buffer.insert_text("\n")
        else:
            buffer.validate_and_handle()

    return bindings


def _typed_runs(keys: list[KeyPress]) -> list[KeyPress]:
    """Runs of printable characters that arrived together (typed faster than the screen
    redraws, or pasted without bracketed paste) as one key each: they are inserted in one
    step instead of one key binding lookup, undo entry and buffer copy per character."""
    out: list[KeyPress] = []
    run: list[KeyPress] = []
    for key in [*keys, None]:
        if (
            key is not None
            and len(key.data) == 1
            and key.key == key.data
            and key.data.isprintable()
        ):
            run.append(key)
            continue
        if len(run) > 1:  # inserted as a paste is: the text as it is, in one step
            out.append(KeyPress(Keys.BracketedPaste, "".join(k.data for k in run)))
        else:
            out += run
        run = []
        if key is not None:
            out.append(key)
    return out


def _pace_redraws(app) -> None:
    """A redraw costs the length of the text, and keys that arrive faster than the screen
    redraws (a paste without bracketed paste, a pipe) would each get one: quadratic in a long
    line. Wait at least four times as long as the last redraw took before the next, so
    redraws take at most a fifth of the time and keys in between are handled together."""
    started = [0.0]

    def before(_) -> None:
        started[0] = time.perf_counter()

    def after(_) -> None:
        app.min_redraw_interval = max(0.01, 4 * (time.perf_counter() - started[0]))

    app.before_render += before
    app.after_render += after


def ask(question: str, terminal: TextIO | None = None) -> bool:
    """A yes/no question at the terminal; no unless the answer is y or yes."""
    output = create_output(stdout=terminal) if terminal is not None else None
    try:
        answer = PromptSession(output=output).prompt(question)
    except (EOFError, KeyboardInterrupt):
        return False
    return answer.strip().lower() in ("y", "yes")


def make_prompt(
    session: Session, history: Path, warn: Callable[[str], None], terminal: TextIO | None = None
) -> PromptSession:
    """The prompt, drawn on `terminal` (default: standard output)."""
    prompt = PromptSession(
        output=create_output(stdout=terminal) if terminal is not None else None,
        message=[("class:prompt", "grad> ")],
        prompt_continuation=lambda width, line, soft: "." * (width - 1) + " ",
        multiline=True,
        key_bindings=_key_bindings(),
        history=open_history(history, warn),
        completer=SessionCompleter(session),
        complete_while_typing=False,
        lexer=FormulaLexer(session),
        style=STYLE,
        enable_history_search=False,
    )
    _pace_redraws(prompt.app)
    processor = prompt.app.key_processor
    feed = processor.feed_multiple
    processor.feed_multiple = lambda keys, first=False: feed(_typed_runs(keys), first)
    return prompt
