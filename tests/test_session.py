"""Session logic without any terminal: Session.handle(line) -> Reply.

Reference numbers are the worked examples of DESIGN.md, worked by hand: f = (x + y) · z at
x = -2, y = 5, z = -4 gives q = 3, f = -12, ∂f/∂x = ∂f/∂y = -4, ∂f/∂z = 3; the sigmoid neuron
at w0 = 2, x0 = -1, w1 = -3, x1 = -2, w2 = -3 has w·x + b = 1, f = 1/(1 + e^-1) and
∂f/∂(w·x + b) = f(1 - f), which times each input's partner gives its gradient.
"""

from __future__ import annotations

import io
import math
import os

import pytest
from rich.console import Console

from gradcli.cli.session import META, Definition, Session, join_lines, needs_more
from gradcli.core.errors import ExitCode
from gradcli.core.syntax import parse, parse_statements
from gradcli.output import render


def run(session: Session, *lines: str):
    """Handle each line; fail on an error unless it is the last line."""
    reply = None
    for line in lines:
        reply = session.handle(line)
    return reply


def text_of(renderables) -> str:
    buffer = io.StringIO()
    console = Console(file=buffer, width=120, no_color=True, color_system=None)
    for item in renderables:
        console.print(item) if not isinstance(item, str) else buffer.write(item + "\n")
    return buffer.getvalue()


@pytest.fixture
def worked() -> Session:
    session = Session()
    for line in ("x = -2", "y = 5", "z = -4", "q = x + y", "f = q * z"):
        reply = session.handle(line)
        assert not reply.is_error, text_of(reply.messages)
    return session


def test_worked_example_values_and_gradients(worked):
    ev = worked.evaluate("f").evaluation
    assert ev.value == -12
    assert ev.gradient() == {"x": -4, "y": -4, "z": 3}
    q = ev.graph.names.index("q")
    assert ev.values[q] == 3 and ev.grads[q] == -4  # ∂f/∂q = z


def test_a_bare_expression_prints_the_tree_and_table(worked):
    reply = worked.handle("(x + y) * z")
    assert not reply.is_error
    shown = text_of(reply.output)
    assert "x + y   value 3   grad -4" in shown
    assert "z   value -4   grad 3" in shown
    assert "f = -12" in shown


def test_a_definition_is_a_formula_that_follows_its_inputs(worked):
    worked.handle("x = 1")
    ev = worked.evaluate("f").evaluation
    assert ev.values[ev.graph.names.index("q")] == 6  # q = 1 + 5, recomputed
    assert ev.value == -24
    assert ev.gradient() == {"x": -4, "y": -4, "z": 6}


@pytest.mark.parametrize(
    "neuron",
    [
        ["s = w0*x0 + w1*x1 + w2", "f = 1 / (1 + exp(-s))"],
        ["f = sigmoid(w0*x0 + w1*x1 + w2)"],
        ["f = 1/(1 + exp(-(w0*x0 + w1*x1 + w2)))"],
    ],
)
def test_sigmoid_neuron(neuron):
    session = Session()
    run(session, "w0 = 2; x0 = -1; w1 = -3; x1 = -2; w2 = -3", *neuron)
    ev = session.evaluate("f").evaluation
    f = 1 / (1 + math.exp(-1))  # w·x + b = -2 + 6 - 3 = 1
    local = f * (1 - f)
    assert ev.value == pytest.approx(f, rel=1e-12)
    expected = {"w0": -1 * local, "x0": 2 * local, "w1": -2 * local, "x1": -3 * local, "w2": local}
    got = ev.gradient()
    assert got == pytest.approx(expected, rel=1e-12)
    # and the lecture's rounded numbers
    assert round(ev.value, 2) == 0.73
    assert [round(got[n], 2) for n in ("w0", "x0", "w1", "x1", "w2")] == [
        -0.20,
        0.39,
        -0.39,
        -0.59,
        0.20,
    ]


def test_several_statements_on_one_line_and_a_program():
    session = Session()
    reply = session.handle("x = -2; y = 5\nz = -4; f = (x + y) * z")
    assert not reply.is_error
    assert session.values == {"x": -2, "y": 5, "z": -4}
    assert session.evaluate("f").evaluation.value == -12


def test_redefinition_replaces():
    session = Session()
    run(session, "x = 3", "q = x * 2", "q = x + 10")
    assert session.evaluate("q").evaluation.value == 13
    run(session, "x = x0 + 1")  # an input becomes a definition
    assert "x" not in session.values and session.definitions["x"].rhs == "x0 + 1"
    run(session, "x = 4")  # and back
    assert session.values["x"] == 4 and "x" not in session.definitions


@pytest.mark.parametrize(
    "lines, chain",
    [
        (["a = b + 1", "b = a * 2"], "b → a → b"),
        (["a = b", "b = c", "c = a * 3"], "c → a → b → c"),
        (["q = q + 1"], "q → q"),
    ],
)
def test_cycles_are_refused(lines, chain):
    session = Session()
    for line in lines[:-1]:
        assert not session.handle(line).is_error
    before = dict(session.definitions)
    reply = session.handle(lines[-1])
    assert reply.is_error and reply.exit_code == ExitCode.SYNTAX
    message = text_of(reply.messages)
    assert "depend on itself" in message and chain in message
    assert session.definitions == before  # nothing changed


def test_a_cycle_through_a_long_chain_is_found_without_recursion():
    session = Session()
    n = 20000
    program = "\n".join(["d0 = x"] + [f"d{i} = d{i - 1} + 1" for i in range(1, n)])
    # build the chain from the statements' own parse, without evaluating each one
    for statement in parse_statements(program)[0]:
        session.definitions[statement.name] = Definition(statement)
    reply = session.handle(f"d0 = d{n - 1} * 2")
    assert reply.is_error and "depend on itself" in reply.error.message
    session.handle("x = 1")
    assert session.evaluate(f"d{n - 1}").evaluation.value == n


def test_errors_keep_the_state(worked):
    before = dict(worked.values), dict(worked.definitions)
    for bad in ("1 +", "q = (x +", "foo(x)", "g = log(", "x y", "pi = 3", ":nope", "a = b = c"):
        reply = worked.handle(bad)
        assert reply.is_error, bad
        assert (dict(worked.values), dict(worked.definitions)) == before, bad
    assert worked.evaluate("f").evaluation.value == -12


def test_error_messages_are_the_one_shot_ones():
    session = Session()
    reply = session.handle("2 * foo(3)")
    try:
        parse("2 * foo(3)")
    except Exception as exc:  # the one-shot command's error, rendered the same way
        expected = render.error(exc).plain
    assert reply.error.exit_code == ExitCode.SYNTAX
    assert text_of(reply.messages).strip() == expected


def test_an_error_in_a_later_statement_points_at_the_line_typed():
    session = Session()
    reply = session.handle("x = 1; y = 2 +; z = 3")
    assert reply.is_error
    shown = text_of(reply.messages)
    assert "x = 1; y = 2 +; z = 3" in shown
    caret_line = shown.splitlines()[2]
    assert caret_line.index("^") == 2 + len("x = 1; y = 2 +")  # at the ';'
    assert session.values == {"x": 1}  # the statement before the error took effect


def test_domain_error_in_a_definition_points_at_the_definition():
    session = Session()
    reply = run(session, "x = 2", "g = log(x - 5)", "g * 2")
    assert reply.is_error and reply.exit_code == ExitCode.EVAL
    shown = text_of(reply.messages)
    assert "log(-3)" in shown and "g = log(x - 5)" in shown


def test_a_missing_value_is_a_usage_error_naming_it():
    session = Session()
    reply = run(session, "x = 1", "x * w")
    assert reply.exit_code == ExitCode.USAGE and "no value for w" in reply.error.message


def test_del_reset_vars(worked):
    shown = text_of(worked.handle(":vars").output)
    rows = {
        line.split("│")[1].strip(): [c.strip() for c in line.split("│")[2:5]]
        for line in shown.splitlines()
        if line.startswith("│")
    }
    assert rows == {
        "x": ["input", "-2", "-4"],
        "y": ["input", "5", "-4"],
        "z": ["input", "-4", "3"],
        "q": ["x + y", "3", "-4"],
        "f": ["q * z", "-12", "1"],
    }
    reply = worked.handle(":del z")
    assert not reply.is_error and "z" not in worked.values
    assert "f still uses z" in text_of(reply.messages)
    assert worked.handle("f").error.message == "no value for z"
    assert worked.handle(":del nothere").is_error
    worked.handle(":reset")
    assert worked.values == {} and worked.definitions == {}
    assert "no inputs or definitions" in text_of(worked.handle(":vars").output)


def test_grad_check_json_commands(worked):
    table = text_of(worked.handle(":grad f --wrt x,z").output)
    assert "│ x     │    -2 │        -4 │" in table and "│ y" not in table
    check = text_of(worked.handle(":check (x + y) * z").output)
    assert check.count("good") == 3
    import json

    data = json.loads(worked.handle(":json f").output[0])
    assert data["value"] == -12 and data["gradient"] == {"x": -4, "y": -4, "z": 3}
    assert worked.handle(":grad f --wrt nope").exit_code == ExitCode.USAGE
    assert worked.handle(":grad").exit_code == ExitCode.USAGE


def test_help_is_generated_from_the_table():
    shown = text_of(Session().handle(":help").output)
    for meta in META.values():
        assert meta.usage in shown and meta.doc.split()[0] in shown


def test_quit():
    assert Session().handle(":quit").quit


def test_completion(worked):
    word, found = worked.complete("1 + ex")
    assert word == "ex" and "exp(" in found
    assert worked.complete(":hel") == (":hel", [":help"])
    assert worked.complete(":he") == (":he", [":help", ":hessian"])
    assert worked.complete("q + p")[1] == ["pow(", "pi"]
    assert "q" in worked.complete("2*q")[1]
    assert worked.complete("1 + ")[1] == []


def test_save_then_load_gives_the_same_numbers(worked, tmp_path):
    path = tmp_path / "s.grad"
    assert not worked.handle(f":save {path}").is_error
    text = path.read_text()
    assert "x = -2\ny = 5\nz = -4\nq = x + y\nf = q * z\n" in text
    fresh = Session()
    assert not fresh.handle(f":load {path}").is_error
    assert fresh.values == worked.values
    ev = fresh.evaluate("f").evaluation
    assert ev.value == -12 and ev.gradient() == {"x": -4, "y": -4, "z": 3}


def test_save_keeps_numbers_exact(tmp_path):
    session = Session()
    run(session, "a = 0.1", "b = -1e-300", "c = 123456789.12345678", "f = a + b + c")
    session.save(tmp_path / "n.grad")
    fresh = Session()
    fresh.load(tmp_path / "n.grad")
    assert fresh.values == session.values


def test_save_writes_definitions_in_dependency_order(tmp_path):
    session = Session()
    run(session, "f = q * z", "q = x + y", "x = 1; y = 2; z = 3")
    session.save(tmp_path / "o.grad")
    lines = [ln for ln in (tmp_path / "o.grad").read_text().splitlines() if not ln.startswith("#")]
    assert lines.index("q = x + y") < lines.index("f = q * z")
    ev = parse((tmp_path / "o.grad").read_text())
    assert ev.names[ev.output] == "f"  # grad eval -f evaluates the last definition


def test_a_failed_save_leaves_the_old_file_whole(worked, tmp_path, monkeypatch):
    path = tmp_path / "s.grad"
    path.write_text("old contents\n")

    def broken(*args, **kwargs):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(os, "replace", broken)
    reply = worked.handle(f":save! {path}")
    assert reply.is_error and "No space left" in reply.error.message
    assert path.read_text() == "old contents\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["s.grad"]  # no temporary left


def test_save_into_a_missing_directory_is_a_usage_error(worked, tmp_path):
    reply = worked.handle(f":save {tmp_path / 'no' / 'such' / 'dir.grad'}")
    assert reply.exit_code == ExitCode.USAGE and "cannot write" in reply.error.message


def test_load_is_all_or_nothing(tmp_path):
    path = tmp_path / "bad.grad"
    path.write_text("a = 1\nb = 2\nc = a +* b\n")
    session = Session()
    run(session, "x = 7")
    reply = session.handle(f":load {path}")
    assert reply.is_error
    shown = text_of(reply.messages)
    assert "(line 3)" in shown and "c = a +* b" in shown
    assert session.values == {"x": 7}
    assert session.handle(f":load {tmp_path / 'missing.grad'}").exit_code == ExitCode.USAGE


def test_continuation_rules():
    assert needs_more("f = (x +")
    assert needs_more("f = x +")
    assert needs_more("f = x \\")
    assert not needs_more("f = x + 1")
    assert not needs_more("f = x + # a comment")  # a comment ends the statement
    assert not needs_more(":save a-")
    joined = join_lines("f = x +\n  y \\\n + 1")
    assert "\n" not in joined and len(joined) == len("f = x +\n  y \\\n + 1")
    session = Session()
    run(session, "x = 1; y = 2")
    assert session.handle(joined).error is None
    assert session.evaluate("f").evaluation.value == 4


def test_blank_lines_and_comments_do_nothing():
    session = Session()
    for line in ("", "   ", "# just a note", "; ;"):
        reply = session.handle(line)
        assert not reply.is_error and reply.output == [] and not reply.quit


# --- :descend ---------------------------------------------------------------------------------
# References are closed forms of the update rules, not the project's own numbers: SGD on
# f = x² + y² multiplies each coordinate by (1 − 2·lr) per step; on f = (x + y)·z with only x
# trained, ∂f/∂x = z is constant, so x moves by −lr·z per step; with --target T on f = w·x the
# error e = w·x − T shrinks by the factor (1 − 2·lr·x²) per step.


def descend(session: Session, line: str):
    reply = session.handle(line)
    assert not reply.is_error, text_of(reply.messages)
    return reply


def test_descend_moves_the_inputs_to_the_trained_point():
    session = Session()
    run(session, "x = 3", "y = -2")
    reply = descend(session, ":descend x^2 + y^2 --lr 0.1 --steps 5")
    assert session.values["x"] == pytest.approx(3 * 0.8**5, rel=1e-14)
    assert session.values["y"] == pytest.approx(-2 * 0.8**5, rel=1e-14)
    shown = text_of(reply.output)
    for word in ("trace", "f over the steps", "took all 5 steps", "final point"):
        assert word in shown
    assert "now x = 0.98304, y = -0.65536" in shown  # 3·0.8^5, −2·0.8^5
    # the next line sees the trained point
    ev = session.evaluate("x^2 + y^2").evaluation
    assert ev.value == pytest.approx(13 * 0.8**10, rel=1e-13)


def test_descend_with_options_as_grad_descend_takes_them():
    session = Session()
    run(session, "x = 1")
    descend(session, ":descend x^2 --lr=0.25 --steps 3 --every 1")
    assert session.values["x"] == 0.125  # (1 − 0.5)^3, exact in binary
    descend(
        session,
        ":descend -(x - 2)^2 --maximize --optimizer momentum --momentum 0 --steps 1 --lr 0.25",
    )
    # ascent on −(x − 2)²: x ← x + lr·(−2(x − 2)) = 0.125 + 0.25·3.75
    assert session.values["x"] == pytest.approx(0.125 + 0.25 * 3.75, rel=1e-15)


def test_descend_wrt_keeps_data_inputs_and_definitions_follow(worked):
    descend(worked, ":descend f --wrt x --lr 0.1 --steps 2")
    assert worked.values == pytest.approx({"x": -2 - 2 * 0.1 * -4, "y": 5, "z": -4})
    ev = worked.evaluate("f").evaluation
    assert ev.values[ev.graph.names.index("q")] == pytest.approx(-1.2 + 5)
    assert ev.value == pytest.approx((-1.2 + 5) * -4)


def test_descend_toward_a_target_with_fixed_data():
    session = Session()
    run(session, "w = 0.5", "x = 2")
    descend(session, ":descend w * x --wrt w --target -1 --lr 0.05 --steps 4")
    error = (0.5 * 2 - -1) * (1 - 2 * 0.05 * 2**2) ** 4
    assert session.values["x"] == 2
    assert session.values["w"] * 2 - -1 == pytest.approx(error, rel=1e-12)


def test_descend_json_is_strict_and_matches_the_new_values():
    from conftest import strict_json

    session = Session()
    run(session, "x = 2")
    reply = descend(session, ":descend x^2 --steps 2 --lr 0.25 --json")
    [data] = [item for item in reply.output if isinstance(item, str)]
    data = strict_json(data)
    assert data["stopped"] == "steps" and data["steps"] == 2
    assert data["final"] == {"x": 0.5} == session.values
    assert len(data["trace"]) == 3


@pytest.mark.parametrize(
    "line, words",
    [
        (":descend x^2 --lr -1", "--lr must be a positive number"),
        (":descend x^2 --lr abc", "'abc' is not a valid float"),
        (":descend x^2 --optimizer lbfgs", "lbfgs"),
        (":descend x^2 --wrt y", "--wrt names y, which is not an input"),
        (":descend x^2 --every 0", "--every"),
        (":descend x^2 --steps 3 extra", "unexpected 'extra'"),
        (":descend x^2 -f prog.grad", "-f is not an option"),
        (":descend x^2 --plot run.gif", "must end in .png or .svg"),
        (":descend --lr 0.1", "no formula given"),
        (":descend x^2 + nope", "nope"),
        (":descend x^2 +", "expression ends too soon"),
    ],
)
def test_descend_errors_keep_the_state(line, words):
    session = Session()
    run(session, "x = 3", "q = x + 1")
    reply = session.handle(line)
    assert reply.is_error
    assert words in text_of(reply.messages)
    assert session.values == {"x": 3} and list(session.definitions) == ["q"]


def test_a_diverged_descent_leaves_the_values_and_points_at_the_typed_text():
    session = Session()
    run(session, "x = 0.5")
    reply = session.handle(":descend log(x) --lr 10 --steps 5")
    assert reply.is_error and reply.exit_code == ExitCode.EVAL
    shown = text_of(reply.output)
    assert "diverged" in shown and "last good point" in shown
    assert "log(x)\n  ^~~~~~" in shown  # the caret under the formula as typed
    assert "values are unchanged" in text_of(reply.messages)
    assert session.values == {"x": 0.5}


def test_ctrl_c_keeps_the_point_reached(monkeypatch):
    """Ctrl-C arrives during the 4th gradient evaluation (after three steps)."""
    from gradcli.core import descend as descend_core

    session = Session()
    run(session, "x = 1")
    make = descend_core.make_gradient_fn

    def interrupted_after_three(*args):
        gradient, calls = make(*args), [0]

        def wrapped(xs):
            calls[0] += 1
            if calls[0] == 4:
                raise KeyboardInterrupt
            return gradient(xs)

        return wrapped

    monkeypatch.setattr(descend_core, "make_gradient_fn", interrupted_after_three)
    reply = descend(session, ":descend x^2 --lr 0.25 --steps 1000")
    assert "interrupted after 2 steps" in text_of(reply.output)  # 3 passes: steps 0, 1, 2
    assert session.values["x"] == 0.25  # (1 − 0.5)^2


def test_descend_is_in_help_and_completion():
    session = Session()
    assert ":descend" in text_of(session.handle(":help").output)
    assert session.complete(":des") == (":des", [":descend"])


@pytest.mark.parametrize(
    "line, message, hint",
    [
        (":descend x^2 --qqq 3", "unknown option --qqq", "the options are --wrt, --lr"),
        (":descend x^2 --stepz 3", "unknown option --stepz", "did you mean --steps?"),
        (":descend x^2 --lr 0.1 --maximse", "unknown option --maximse", "did you mean --maximize?"),
    ],
)
def test_an_unknown_descend_option_is_named_as_one(line, message, hint):
    session = Session()
    run(session, "x = 3")
    reply = session.handle(line)
    shown = text_of(reply.messages)
    assert reply.is_error and message in shown and hint in shown
    assert "multiplication" not in shown and session.values == {"x": 3}


def test_the_session_does_not_import_the_command_line():
    import subprocess
    import sys

    code = (
        "import sys, gradcli.cli.session, gradcli.cli.descend_command; "
        "s = gradcli.cli.session.Session(); s.handle('x = 1'); "
        "s.handle(':descend x^2 --steps 2 --lr 0.1'); "
        "print('gradcli.cli.app' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"


def test_descend_command_are_the_same_definition_as_grad_descends():
    import typer

    from gradcli.cli import app as cli
    from gradcli.cli import descend_command

    command = typer.main.get_command(cli.app_for(["descend"])).commands["descend"]
    on_the_command_line = {o for p in command.params for o in p.opts if o.startswith("--")}
    assert set(descend_command.option_names()) - {"--help"} | {"--file"} == on_the_command_line


# --- issue 11: nothing lost, one parse per line -----------------------------------------------
def session_of(*lines: str) -> Session:
    session = Session()
    for line in lines:
        reply = session.handle(line)
        assert not reply.is_error, text_of(reply.messages)
    return session


def test_save_writes_every_input_and_definition_and_counts_them(tmp_path):
    session = session_of("w = 2; x = 3; b = 1; f = w*x", "u = 4", "g = f + 1", "h = nothing*2")
    path = tmp_path / "s.grad"
    reply = session.handle(f":save {path}")
    assert "saved 4 inputs and 3 definitions" in text_of(reply.output)
    lines = [line for line in path.read_text().splitlines() if not line.startswith("#")]
    assert lines == [
        "w = 2",
        "x = 3",
        "b = 1",
        "u = 4",
        "f = w*x",
        "g = f + 1",
        "h = nothing*2",
    ]  # each definition as it was typed
    fresh = Session()
    assert not fresh.handle(f":load {path}").is_error
    assert fresh.values == session.values
    assert {n: d.rhs for n, d in fresh.definitions.items()} == {
        n: d.rhs for n, d in session.definitions.items()
    }
    assert fresh.evaluate("g").evaluation.value == session.evaluate("g").evaluation.value == 7


def test_save_of_inputs_only(tmp_path):
    session = session_of("w = 2; b = 3")
    reply = session.handle(f":save {tmp_path / 's.grad'}")
    assert "saved 2 inputs and 0 definitions" in text_of(reply.output)
    assert session_of(f":load {tmp_path / 's.grad'}").values == {"w": 2, "b": 3}


def test_save_over_a_file_asks_or_refuses(tmp_path):
    path = tmp_path / "s.grad"
    path.write_text("keep me\n")
    session = session_of("w = 2")
    reply = session.handle(f":save {path}")  # a script: nobody to ask
    assert reply.exit_code == ExitCode.USAGE and ":save!" in text_of(reply.messages)
    assert path.read_text() == "keep me\n"
    asked = []
    session.confirm = lambda question: asked.append(question) or False
    assert "not saved" in text_of(session.handle(f":save {path}").output)
    assert path.read_text() == "keep me\n" and "replace" in asked[0]
    session.confirm = lambda question: True
    shown = " ".join(text_of(session.handle(f":save {path}").output).split())
    assert "replacing the file that was there (1 line)" in shown
    assert "w = 2" in path.read_text()
    session.confirm = None
    for line in (f":save! {path}", f":save {path} --force"):
        assert "replacing" in text_of(session.handle(line).output)


def test_file_names_are_read_as_a_shell_reads_them(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    session = session_of("w = 2")
    assert not session.handle(':save "a b.grad"').is_error
    assert (tmp_path / "a b.grad").is_file() and not list(tmp_path.glob('"*'))
    assert session_of(r":load a\ b.grad").values == {"w": 2}
    assert session.handle(":save a b.grad").exit_code == ExitCode.USAGE


def test_an_input_is_updated_from_its_own_value():
    session = session_of("x = 2", "q = x * 10", "x = x + 1")
    assert session.values["x"] == 3 and "x" not in session.definitions
    assert session.evaluate("q").evaluation.value == 30
    session.handle("x = x * x - 1")
    assert session.values["x"] == 8
    reply = session.handle("q = q + 1")  # a named formula that refers to itself: a cycle
    assert reply.is_error and "depend on itself" in reply.error.message
    reply = session.handle("x = log(x - 8)")  # a domain error leaves the value as it was
    assert reply.is_error and session.values["x"] == 8


def test_meta_commands_name_options_they_do_not_take():
    session = session_of("x = 2")
    for line, option in ((":grad x^2 --json", "--json"), (":check x^2 --sweep", "--sweep")):
        reply = session.handle(line)
        assert reply.exit_code == ExitCode.USAGE
        assert option in reply.error.message and "no option" in reply.error.message
        assert "--wrt" in reply.error.hint and "json=1" not in text_of(reply.messages)
    assert not session.handle(":grad x^2 --wrt x").is_error


def test_a_line_is_lexed_and_parsed_once(monkeypatch):
    from gradcli.core import lalr

    session = session_of("x = 1; y = 2", "q = x + y")
    runs = []
    real = lalr.parse_into
    monkeypatch.setattr(
        lalr, "parse_into", lambda text, builder: runs.append(text) or real(text, builder)
    )
    matches = []
    real_finditer = lalr.LEX_RE.finditer
    monkeypatch.setattr(
        lalr,
        "LEX_RE",
        type(
            "R", (), {"finditer": lambda self, text: matches.append(text) or real_finditer(text)}
        )(),
    )
    for line in ("f = q * y; g = f + x", "f * g", "x = 5"):
        runs.clear(), matches.clear()
        assert not session.handle(line).is_error
        assert runs == [line] and matches == [line]
    assert session.evaluate("g").evaluation.value == 19  # (x + y)·y + x at x = 5, y = 2


def test_an_evaluation_error_points_at_the_line_it_was_typed_in():
    session = session_of("x = -1", "q = 2 + log(x)")
    reply = session.handle("q * 3")
    assert reply.is_error
    assert reply.error.source == "q = 2 + log(x)"
    assert reply.error.source[reply.error.span.start : reply.error.span.end] == "log(x)"


def test_a_long_file_is_summarised_on_load(tmp_path):
    path = tmp_path / "big.grad"
    path.write_text("x = 1\n" + "".join(f"d{i} = x + {i}\n" for i in range(200)))
    reply = Session().handle(f":load {path}")
    shown = text_of(reply.output)
    assert not reply.is_error and "d150" not in shown and len(shown.splitlines()) <= 3
    assert "1 input and 200 definitions" in shown


def test_loading_a_chain_walks_for_cycles_only_where_one_could_close(tmp_path, monkeypatch):
    path = tmp_path / "chain.grad"
    path.write_text("x = 1\nd0 = x\n" + "".join(f"d{i} = d{i - 1} + 1\n" for i in range(1, 300)))
    walks = []
    real = Session._cycle
    monkeypatch.setattr(
        Session, "_cycle", lambda self, name, deps: walks.append(name) or real(self, name, deps)
    )
    session = session_of(f":load {path}")
    assert walks == [] and session.evaluate("d299").evaluation.value == 300
    session = session_of("a = b + 1")  # b is used: defining it walks, and finds the cycle
    reply = session.handle("b = a * 2")
    assert walks == ["b"] and "b → a → b" in reply.error.message
    session.handle(":del a")
    assert session.definitions.uses["b"] == 0 and not session.handle("b = 2 * x").is_error
