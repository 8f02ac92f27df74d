"""The installed `grad repl` with a script on standard input, as a pipe runs it."""

from __future__ import annotations

import os
import subprocess

from conftest import grad_executable, strict_json

WORKED = """\
x = -2
y = 5
z = -4
q = x + y
f = q * z
f
:json f
"""


def json_lines(stdout: str) -> list:
    return [strict_json(line) for line in stdout.splitlines() if line.startswith("{")]


def test_worked_example_script(grad):
    result = grad("repl", input=WORKED)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    # the tree of f: every node's value and gradient (hand values of DESIGN.md)
    assert "f = q * z   value -12   grad 1" in out
    assert "q = x + y   value 3   grad -4" in out
    assert "x   value -2   grad -4" in out
    assert "y   value 5   grad -4" in out
    assert "z   value -4   grad 3" in out
    [data] = json_lines(out)
    assert data["value"] == -12
    assert data["gradient"] == {"x": -4, "y": -4, "z": 3}
    assert result.stderr == ""


def test_changing_an_input_moves_the_named_nodes(grad):
    result = grad("repl", input=WORKED + "x = 1\n:json f\n")
    first, second = json_lines(result.stdout)
    assert first["value"] == -12
    assert second["value"] == -24  # q = 6 now, f = 6 * -4
    assert second["gradient"] == {"x": -4, "y": -4, "z": 6}


def test_sigmoid_neuron_script(grad):
    script = (
        "w0 = 2; x0 = -1; w1 = -3; x1 = -2; w2 = -3\n"
        "f = 1/(1 + exp(-(w0*x0 + w1*x1 + w2)))\n:json f\n"
    )
    result = grad("repl", input=script)
    assert result.returncode == 0, result.stderr
    [data] = json_lines(result.stdout)
    assert round(data["value"], 2) == 0.73
    assert {k: round(v, 2) for k, v in data["gradient"].items()} == {
        "w0": -0.20,
        "x0": 0.39,
        "w1": -0.39,
        "x1": -0.59,
        "w2": 0.20,
    }


def test_json_matches_grad_eval_exactly(grad):
    repl = grad("repl", input="x = -2; y = 5; z = -4\n:json (x + y) * z --wrt x,z\n")
    one_shot = grad("eval", "(x + y) * z", "x=-2", "y=5", "z=-4", "--wrt", "x,z", "--json")
    assert repl.returncode == one_shot.returncode == 0
    assert [line for line in repl.stdout.splitlines() if line.startswith("{")] == [
        one_shot.stdout.strip()
    ]


def test_tree_matches_grad_eval(grad):
    repl = grad("repl", input="x = 3\n-x^2 + 1\n")
    one_shot = grad("eval", "-x^2 + 1", "x=3")
    assert one_shot.returncode == 0
    assert repl.stdout.endswith(one_shot.stdout)
    assert "value -8" in one_shot.stdout


def test_failed_line_gives_the_one_shot_message_and_the_session_goes_on(grad):
    result = grad("repl", input="x = 2\nfoo(x)\ny = 3\n:json x * y\n")
    one_shot = grad("eval", "foo(x)", "x=2")
    assert one_shot.returncode == 3
    # the same message, caret and hint, with the script's line number
    assert result.stderr == one_shot.stderr.replace("'foo'", "'foo' (line 2)", 1)
    [data] = json_lines(result.stdout)  # the lines after the error still ran
    assert data["value"] == 6
    assert result.returncode == 3


def test_exit_code_is_the_last_failure(grad):
    result = grad("repl", input="log(-1)\nx y\nx = 1\n")
    assert "log(-1) is undefined" in result.stderr
    assert "unexpected 'y'" in result.stderr
    assert result.returncode == 3  # the syntax error came last
    result = grad("repl", input="x y\nlog(-1)\n")
    assert result.returncode == 1  # the domain error came last


def test_all_good_lines_exit_zero_and_quit_stops(grad):
    result = grad("repl", input="x = 1\n:quit\nfoo(\n")
    assert result.returncode == 0, result.stderr
    assert result.stderr == ""


def test_a_trailing_operator_continues_on_the_next_line(grad):
    result = grad("repl", input="1 +\n2\n")
    assert result.returncode == 0 and "value 3" in result.stdout


def test_continued_lines(grad):
    result = grad("repl", input="x = 1; y = 2\nf = (x +\n  y) *\n  3 \\\n + 1\n:json f\n")
    assert result.returncode == 0, result.stderr
    [data] = json_lines(result.stdout)
    assert data["value"] == 10 and data["gradient"] == {"x": 3, "y": 3}


def test_save_then_grad_eval_gives_the_same_numbers(grad, tmp_path):
    script = (
        "w0 = 2; x0 = -1; w1 = -3; x1 = -2; w2 = -3\n"
        "s = w0*x0 + w1*x1 + w2\n"
        "f = 1 / (1 + exp(-s))\n"
        ":save neuron.grad\n:json f\n"
    )
    result = grad("repl", input=script)
    assert result.returncode == 0, result.stderr
    [from_repl] = json_lines(result.stdout)
    one_shot = grad("eval", "-f", "neuron.grad", "--json")
    assert one_shot.returncode == 0, one_shot.stderr
    from_file = strict_json(one_shot.stdout)
    assert from_file["value"] == from_repl["value"]
    assert from_file["gradient"] == from_repl["gradient"]
    assert (tmp_path / "neuron.grad").read_text().count("\n") >= 7
    # and :load brings it back in a new session
    again = grad("repl", input=":load neuron.grad\n:json f\n")
    [loaded] = json_lines(again.stdout)
    assert loaded == from_repl


def test_cycle_refused_in_a_script(grad):
    result = grad("repl", input="a = b + 1\nb = a * 2\n")
    assert result.returncode == 3
    assert "would make b depend on itself: b → a → b" in result.stderr


def test_grad_alone_off_a_terminal_prints_help(grad):
    result = grad(input="")
    assert result.returncode == 2
    shown = result.stdout + result.stderr
    assert "Usage: grad" in shown and "repl" in shown


def test_the_plain_reader_does_not_load_prompt_toolkit():
    import subprocess
    import sys

    code = (
        "import sys, io; sys.stdin = io.StringIO('x = 1\\n'); from gradcli.cli import repl; "
        "code = repl.interact(interactive=False); "
        "assert 'prompt_toolkit' not in sys.modules, 'loaded'; print(code)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().endswith("0")


def test_help_of_the_commands(grad):
    for command in ("repl", "eval", "ops"):
        result = grad(command, "--help")
        assert result.returncode == 0, result.stderr
        assert f"Usage: grad {command}" in result.stdout


def test_descend_then_the_next_line_sees_the_trained_point(grad):
    # SGD on x² + y² with lr 0.25 halves each coordinate per step: after 4 steps x = 3/16,
    # y = -2/16, both exact in binary
    script = "x = 3\ny = -2\n:descend x^2 + y^2 --lr 0.25 --steps 4\n:json x^2 + y^2\n"
    result = grad("repl", input=script)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "took all 4 steps" in out and "final point  x = 0.1875, y = -0.125" in out
    assert "now x = 0.1875, y = -0.125" in out
    [data] = json_lines(out)
    assert data["value"] == 0.1875**2 + 0.125**2
    assert data["gradient"] == {"x": 0.375, "y": -0.25}


def test_a_diverged_descend_fails_the_script_and_it_carries_on(grad):
    script = "x = 0.5\n:descend log(x) --lr 10 --steps 5\n:json x\n"
    result = grad("repl", input=script)
    assert result.returncode == 1
    assert "diverged" in result.stdout and "values are unchanged" in result.stderr
    [data] = json_lines(result.stdout)
    assert data["value"] == 0.5
    assert "Traceback" not in result.stderr


def test_an_unclosed_paren_does_not_swallow_the_script(grad):
    result = grad("repl", input="x = 1\n(x +\n:vars\ny = 7\ny\n")
    assert result.returncode == 3
    assert "'(' is never closed (line 2)" in result.stderr
    assert "  (x +\n  ^" in result.stderr  # the caret is under the '('
    assert "input" in result.stdout  # :vars ran
    assert "value 7" in result.stdout  # and so did the lines after it


def test_a_blank_line_ends_an_unfinished_statement(grad):
    result = grad("repl", input="x = 2\nf = x *\n\ny = 5\n:json y\n")
    assert "(line 2)" in result.stderr
    assert strict_json(result.stdout.strip().splitlines()[-1])["value"] == 5


def test_errors_in_a_script_give_the_file_line_numbers(grad):
    script = "x = 2\n# a comment\nf = (x +\n  1) * 2\ng = (x +\n  log(x) * / 2)\n"
    result = grad("repl", input=script)
    assert result.returncode == 3
    assert "unexpected '/'" in result.stderr and "(line 6)" in result.stderr
    assert "  log(x) * / 2)\n" in result.stderr


def test_a_definition_is_echoed_on_one_line_at_any_width(grad):
    script = "f = exp(abcdefghijklmnopqrstu*xyz)*abcdefghijklmnopqrstu\n:diff f\n"
    result = grad("repl", input=script, env={"COLUMNS": "40"})
    lines = result.stdout.splitlines()
    assert lines[0].startswith("f = exp(abcdefghijklmnopqrstu*xyz)*abcdefghijklmnopqrstu   (no")
    assert "∂f/∂xyz = abcdefghijklmnopqrstu·ex·abcdefghijklmnopqrstu" in lines


def test_a_script_on_standard_input_is_read_as_a_formula_file_is(tmp_path):
    def repl(data: bytes, stdin=None):
        return subprocess.run(
            [grad_executable(), "repl"],
            input=None if stdin else data,
            stdin=stdin,
            capture_output=True,
            cwd=tmp_path,
            env={**os.environ, "NO_COLOR": "1", "GRADCLI_HISTORY": str(tmp_path / "h")},
            timeout=120,
        )

    bom = repl(b"\xef\xbb\xbfx = 1\nx + 1\n")  # a byte-order mark is ignored
    assert bom.returncode == 0 and b"f = 2" in bom.stdout, bom.stderr
    latin = repl(b"x = 1\n\xff\xfe = 2\n")
    assert latin.returncode == 2
    assert latin.stderr == b"error: cannot read standard input: not a text file (not UTF-8)\n"
    nul = repl(b"x = 1\nx\x00 + 1\n")
    assert nul.returncode == 2 and b"not a text file (it holds NUL bytes)" in nul.stderr
    with open("/dev/zero", "rb") as zeros:  # endless: refused, not read until memory runs out
        endless = repl(b"", stdin=zeros)
    assert endless.returncode == 2 and b"Traceback" not in endless.stderr
