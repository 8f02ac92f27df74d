"""The terminal prompt's pieces, without a terminal: highlighting, completion, history file."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("prompt_toolkit")

from prompt_toolkit.document import Document  # noqa: E402
from prompt_toolkit.history import InMemoryHistory  # noqa: E402

from gradcli.cli.prompt import FormulaLexer, SessionCompleter, open_history  # noqa: E402
from gradcli.cli.session import Session  # noqa: E402


def styles(lexer, text, line=0):
    return lexer.lex_document(Document(text)).__call__(line)


def test_highlighting_covers_the_text_and_tells_tokens_apart():
    session = Session()
    session.handle("w = 2")
    lexer = FormulaLexer(session)
    text = "f = exp(-w * 2.5) + pi $ # note"
    parts = styles(lexer, text)
    assert "".join(t for _, t in parts) == text  # nothing lost or added
    style = dict((t, s) for s, t in parts)
    assert style["exp"] == "class:function"
    assert style["pi"] == "class:constant"
    assert style["w"] == "class:known"
    assert style["2.5"] == "class:number"
    assert style["*"] == "class:operator"
    assert style["$"] == "class:error"
    assert style["# note"] == "class:comment"
    assert style["f"] == ""  # not (yet) a session name
    command = styles(lexer, ":grad w * 2")
    assert command[1] == ("class:command", ":grad")
    assert styles(lexer, ":nope")[1] == ("class:error", ":nope")


def test_completer_offers_session_names_functions_and_files(tmp_path):
    session = Session()
    session.handle("weight = 3")
    completer = SessionCompleter(session)

    def complete(text):
        return [c.text for c in completer.get_completions(Document(text), None)]

    assert complete("2 * wei") == ["weight"]
    assert complete("ta") == ["tan(", "tanh("]
    assert complete(":sa") == [":save", ":save!"]
    (tmp_path / "neuron.grad").write_text("")
    assert complete(f":load {tmp_path}/ne") == ["uron.grad"]  # the rest of the file name


def test_unwritable_history_warns_once_and_falls_back(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("")
    warnings = []
    history = open_history(blocker / "history", warnings.append)
    assert isinstance(history, InMemoryHistory)
    assert len(warnings) == 1 and "cannot write the history file" in warnings[0]


@pytest.mark.parametrize("kind", ["fifo", "zero", "null"])
def test_a_history_that_is_not_a_regular_file_is_not_read(tmp_path, kind):
    """A FIFO would block the start, /dev/zero would be read until the memory ran out."""
    import os

    if kind == "fifo":
        path = tmp_path / "history"
        os.mkfifo(path)
    else:
        path = Path(f"/dev/{kind}")
    warnings = []
    history = open_history(path, warnings.append)  # returns at once
    assert isinstance(history, InMemoryHistory)
    assert warnings == ([] if kind == "null" else [
        f"the history file {path} is not a regular file; history is kept for this run only"
    ])  # fmt: skip


def test_history_directories_are_created(tmp_path):
    path = tmp_path / "a" / "b" / "history"
    history = open_history(path, lambda m: pytest.fail(m))
    history.store_string("x = 1")
    assert "x = 1" in path.read_text()


def test_history_keeps_the_newest_thousand_entries(tmp_path):
    from prompt_toolkit.history import FileHistory

    path = tmp_path / "history"
    writer = FileHistory(str(path))
    for i in range(1200):
        writer.store_string(f"x = {i}" if i % 100 else f"f = (x +\n{i})")  # some multi-line
    history = open_history(path, lambda m: pytest.fail(m))
    kept = list(history.load_history_strings())  # newest first
    assert len(kept) == 1000
    assert kept[0] == "x = 1199" and kept[-1] == "f = (x +\n200)"
    assert path.read_text().count("\n# ") == 1000  # each entry keeps its time line
    size = path.stat().st_size
    open_history(path, lambda m: pytest.fail(m))  # nothing more to trim: unchanged
    assert path.stat().st_size == size


def test_keys_that_arrive_together_are_inserted_as_one_piece():
    from prompt_toolkit.key_binding import KeyPress
    from prompt_toolkit.keys import Keys

    from gradcli.cli.prompt import _typed_runs

    keys = [KeyPress(c, c) for c in "x + 1"] + [KeyPress(Keys.ControlM, "\r"), KeyPress("y", "y")]
    got = _typed_runs(keys)
    assert [(k.key, k.data) for k in got] == [
        (Keys.BracketedPaste, "x + 1"),
        (Keys.ControlM, "\r"),
        ("y", "y"),
    ]


def test_a_very_long_line_is_shown_plain():
    from gradcli.cli.prompt import HIGHLIGHT_LIMIT

    lexer = FormulaLexer(Session())
    text = "x * 2 + " * (HIGHLIGHT_LIMIT // 8 + 1) + "1"
    assert styles(lexer, text) == [("", text)]
    assert len(styles(lexer, text[: HIGHLIGHT_LIMIT - 1])) > 1
