"""The REPL on a pseudo-terminal, driven by pexpect as a person types."""

from __future__ import annotations

import os
import re
import time

import pytest
from conftest import default_sigint, grad_executable

pexpect = pytest.importorskip("pexpect")

TIMEOUT = 20  # seconds; generous for a loaded machine, but bounded
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b[=>]|\r")
UP, CTRL_C, CTRL_D, TAB = "\x1b[A", "\x03", "\x04", "\t"


class Terminal:
    """A `grad` child on a pty, with its screen output kept as plain text."""

    def __init__(self, args: list[str], env: dict, cwd, command: str | None = None) -> None:
        self.child = pexpect.spawn(
            command or grad_executable(),
            args,
            env=env,
            cwd=str(cwd),
            encoding="utf-8",
            timeout=TIMEOUT,
            dimensions=(40, 120),
            preexec_fn=default_sigint,  # Ctrl-C works even if pytest runs with SIGINT ignored
        )
        self.text = ""
        self.seen = 0  # wait_for looks only at output after this offset

    def wait_for(self, needle: str) -> str:
        deadline = time.monotonic() + TIMEOUT
        while True:
            found = self.text.find(needle, self.seen)
            if found >= 0:
                self.seen = found + len(needle)
                return self.text
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"{needle!r} did not appear; the screen shows:\n{self.text[-2000:]}"
                )
            try:
                self.text += ANSI.sub("", self.child.read_nonblocking(4096, timeout=0.5))
            except pexpect.TIMEOUT:
                pass

    def prompt(self) -> None:
        self.wait_for("grad> ")

    def type(self, keys: str) -> None:
        self.child.send(keys)

    def leave(self) -> int:
        self.child.send(CTRL_D)
        self.child.expect(pexpect.EOF)
        self.text += ANSI.sub("", self.child.before or "")
        self.child.close()
        return self.child.exitstatus


@pytest.fixture
def terminal(tmp_path):
    started = []

    def start(args=("repl",), history=None, command=None) -> Terminal:
        env = {
            **os.environ,
            "TERM": "xterm",
            "NO_COLOR": "1",
            "PROMPT_TOOLKIT_NO_CPR": "1",
            "GRADCLI_HISTORY": str(history or tmp_path / "history"),
        }
        env.pop("COLUMNS", None)
        env.pop("LINES", None)
        term = Terminal(list(args), env, tmp_path, command)
        started.append(term)
        return term

    yield start
    for term in started:
        if term.child.isalive():
            term.child.terminate(force=True)


def test_typing_definitions(terminal):
    term = terminal()
    term.prompt()
    term.type("x = -2; y = 5; z = -4\r")
    term.prompt()
    term.type("q = x + y\r")
    term.wait_for("q = x + y   value 3")
    term.type("f = q * z\r")
    term.wait_for("f = q * z   value -12")
    term.type("f\r")
    term.wait_for("q = x + y   value 3   grad -4")  # the tree, as grad eval draws it
    term.wait_for("f = -12")
    assert term.leave() == 0


def test_history_recalled_with_the_up_arrow_in_a_new_run(terminal, tmp_path):
    history = tmp_path / "state" / "history"  # the directory does not exist yet
    first = terminal(history=history)
    first.prompt()
    first.type("6 * 7\r")
    first.wait_for("value 42")
    assert first.leave() == 0
    assert "6 * 7" in history.read_text()

    second = terminal(history=history)
    second.prompt()
    second.type(UP)
    second.wait_for("6 * 7")
    second.type("\r")
    second.wait_for("value 42")
    assert second.leave() == 0


def test_tab_completion(terminal):
    term = terminal()
    term.prompt()
    term.type("weight = 3\r")
    term.prompt()
    term.type("sqr" + TAB)
    term.wait_for("sqrt(")
    term.type("wei" + TAB)
    term.wait_for("weight")
    term.type(" * 12)\r")
    term.wait_for("value 6")  # sqrt(3 * 12)
    term.type(":hel" + TAB)  # :he is also the start of :hessian
    term.wait_for(":help")
    term.type("\r")
    term.wait_for(":save FILE")
    assert term.leave() == 0


def test_ctrl_c_drops_the_half_typed_line(terminal):
    term = terminal()
    term.prompt()
    term.type("1 + 2")
    term.wait_for("1 + 2")
    term.type(CTRL_C)
    term.prompt()
    term.type("7 * 6\r")
    screen = term.wait_for("value 42")
    assert "value 3 " not in screen and "163" not in screen  # 1 + 27 * 6 was not run
    assert term.leave() == 0


def test_multi_line_input_and_errors_carry_on(terminal):
    term = terminal()
    term.prompt()
    term.type("f = (2 +\r")
    term.wait_for("...")  # the continuation prompt
    term.type("3)\r")
    term.wait_for("f = (2 +")
    term.wait_for("value 5")
    term.type("log(-f)\r")
    term.wait_for("error: log(-5) is undefined")
    term.type("f * 2\r")
    term.wait_for("value 10")  # the session survived the error
    assert term.leave() == 0


def test_quit_command_and_grad_alone_starts_the_repl(terminal):
    term = terminal(args=())  # `grad` with no arguments on a terminal
    term.prompt()
    term.type(":quit\r")
    term.child.expect(pexpect.EOF)
    term.child.close()
    assert term.child.exitstatus == 0


def test_unwritable_history_warns_and_carries_on(terminal, tmp_path):
    blocker = tmp_path / "not-a-directory"
    blocker.write_text("")
    term = terminal(history=blocker / "history")
    term.wait_for("cannot write the history file")
    term.prompt()
    term.type("2 ^ 10\r")
    term.wait_for("value 1024")
    assert term.leave() == 0


def test_ctrl_c_stops_a_running_descend_and_keeps_its_point(terminal):
    term = terminal()
    term.prompt()
    term.type("x = 1\r")
    term.prompt()
    # far more steps than can run before Ctrl-C: x ← x·(1 − 2e-9) each step
    term.type(":descend x^2 --lr 1e-9 --steps 1000000000\r")
    term.wait_for("descending")  # the progress bar: the run is under way
    time.sleep(0.5)
    term.type(CTRL_C)
    screen = term.wait_for("final point")
    steps = int(re.search(r"interrupted after (\d+) steps", screen).group(1))
    assert steps > 0
    term.prompt()
    term.type(":json x\r")
    screen = term.wait_for('"gradient"')
    value = float(re.search(r'"value":([-0-9.e]+)', screen[screen.rfind("{") :]).group(1))
    # the point of the step reported: one step more or less would differ by 2e-9 (relative);
    # rounding over ~1e5 steps stays far below 5e-10
    assert value == pytest.approx((1 - 2e-9) ** steps, rel=5e-10)
    assert value < 1
    term.type("x * 2\r")
    term.wait_for("value")  # the REPL carries on
    assert term.leave() == 0


def test_the_prompt_shows_on_the_terminal_when_the_output_is_piped(terminal, tmp_path):
    term = terminal(["-c", f"'{grad_executable()}' repl | tee log"], command="/bin/sh")
    term.wait_for("grad repl:")  # the banner
    term.prompt()
    term.type("6 * 7\r")
    term.wait_for("value 42")
    # the next prompt goes straight to the terminal and the reply through tee, so either may
    # reach the screen first: wait for the second prompt wherever it landed
    deadline = time.monotonic() + TIMEOUT
    while term.text.count("grad> ") < 2:
        assert time.monotonic() < deadline, f"no second prompt:\n{term.text[-2000:]}"
        try:
            term.text += ANSI.sub("", term.child.read_nonblocking(4096, timeout=0.5))
        except pexpect.TIMEOUT:
            pass
    term.leave()
    log = (tmp_path / "log").read_text()
    assert "value 42" in log and "grad> " not in log and "grad repl:" not in log


def test_save_over_a_file_asks_first(terminal, tmp_path):
    (tmp_path / "s.grad").write_text("old\n")
    term = terminal()
    term.prompt()
    term.type("w = 2\r")
    term.prompt()
    term.type(":save s.grad\r")
    term.wait_for("replace it? (y/N)")
    term.type("\r")  # no
    term.wait_for("not saved")
    assert (tmp_path / "s.grad").read_text() == "old\n"
    term.type(":save s.grad\r")
    term.wait_for("replace it? (y/N)")
    term.type("y\r")
    term.wait_for("replacing the file that was there")
    assert "w = 2" in (tmp_path / "s.grad").read_text()
    assert term.leave() == 0


def test_typing_a_file_name_with_a_space_completes_it_quoted(terminal, tmp_path):
    (tmp_path / "my session.grad").write_text("w = 2\n")
    term = terminal()
    term.prompt()
    term.type(":load my" + TAB)
    term.wait_for("'my session.grad'")
    term.type("\r")
    term.wait_for("loaded my session.grad")
    assert term.leave() == 0


def test_descend_on_data_at_the_prompt_sets_the_weights(terminal, tmp_path):
    (tmp_path / "points.csv").write_text("x0,x1,y\n1,2,1\n-1,-1,0\n2,0,1\n-2,1,0\n")
    term = terminal()
    term.prompt()
    term.type("f = sigmoid(w0*x0 + w1*x1 + w2)\r")
    term.prompt()
    options = "--wrt w0,w1,w2 --target-column y --loss logistic --lr 1 --epochs 50"
    term.type(f":descend f --data points.csv {options}\r")
    screen = term.wait_for("accuracy     50.0% → 100.0%")
    assert "descend mean cross-entropy of f against y over points.csv" in screen
    term.wait_for("now w0 = ")
    term.prompt()
    term.type("w0\r")
    term.wait_for("w0 = ")
    assert term.leave() == 0
