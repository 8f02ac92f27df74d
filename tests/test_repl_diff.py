"""The REPL's :diff EXPR: the formulas grad diff prints, with the session's definitions linked
in and its values as the point (when every input has one)."""

from __future__ import annotations

from test_repl_pty import terminal  # noqa: F401  (the pty fixture)
from test_session import text_of

from gradcli.cli.session import META, Session
from gradcli.core.errors import ExitCode

NEURON_VALUES = ("w0 = 2", "x0 = -1", "w1 = -3", "x1 = -2", "w2 = -3")
NEURON = "sigmoid(w0*x0 + w1*x1 + w2)"


def session_with(*lines: str) -> Session:
    session = Session()
    for line in lines:
        reply = session.handle(line)
        assert not reply.is_error, text_of(reply.messages)
    return session


def test_diff_shows_what_grad_diff_shows(grad):
    session = session_with(*NEURON_VALUES)
    shown = text_of(session.handle(f":diff {NEURON}").output)
    cli = grad("diff", NEURON, "w0=2", "x0=-1", "w1=-3", "x1=-2", "w2=-3")
    assert cli.returncode == 0, cli.stderr
    assert shown == cli.stdout
    assert "∂f/∂w0 = s·(1 − s)·x0   = -0.196612" in shown


def test_diff_links_definitions_and_takes_wrt(grad):
    session = session_with("x = -2", "y = 5", "z = -4", "q = x + y")
    shown = text_of(session.handle(":diff q * z").output)
    cli = grad("diff", "q = x + y; f = q * z", "x=-2", "y=5", "z=-4")
    assert shown == cli.stdout
    assert "∂f/∂z = q   = 3" in shown
    only_x = text_of(session.handle(":diff q * z --wrt x").output)
    assert only_x == "∂f/∂x = z   = -4\n"  # q is not needed for x


def test_diff_without_values_gives_the_formulas_only():
    session = session_with("q = x + y")
    assert text_of(session.handle(":diff q * z").output) == (
        "q = x + y\n∂f/∂x = z\n∂f/∂y = z\n∂f/∂z = q\n"
    )


def test_diff_errors_are_the_one_shot_ones():
    session = session_with("x = 1")
    undefined = session.handle(":diff log(x - 2)")
    assert undefined.exit_code == ExitCode.EVAL
    assert "log needs x > 0" in text_of([undefined.error.message])
    assert session.handle(":diff").exit_code == ExitCode.USAGE
    assert session.handle(":diff x --nope").exit_code == ExitCode.USAGE
    assert session.handle(":diff x*y --wrt z").exit_code == ExitCode.USAGE
    assert session.handle(":diff 3").exit_code == ExitCode.USAGE  # no inputs
    assert ":diff EXPR [--wrt a,b]" in text_of(session.handle(":help").output)
    assert ":diff" in META


def test_diff_on_a_terminal(terminal):  # noqa: F811
    term = terminal()
    term.prompt()
    term.type("w0 = 2; x0 = -1; w1 = -3; x1 = -2; w2 = -3\r")
    term.prompt()
    term.type(":diff 1/(1 + exp(-(w0*x0 + w1*x1 + w2)))\r")
    term.wait_for("s = 1/(1 + exp(−(w0·x0 + w1·x1 + w2)))   = 0.731059")
    term.wait_for("∂f/∂w0 = s·(1 − s)·x0   = -0.196612")
    term.wait_for("∂f/∂w2 = s·(1 − s)   = 0.196612")
    term.prompt()
    term.type(":di\t")  # completion knows the command
    term.wait_for(":diff")
    term.type(" tanh(w2)\r")
    term.wait_for("∂f/∂w2 = 1 − tanh(w2)²")
    assert term.leave() == 0
