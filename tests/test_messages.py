"""Clear messages for the mistakes people make (issue 10, "Messages")."""

from __future__ import annotations

import os
import shutil
import subprocess

import pytest
from conftest import grad_executable

from gradcli.core.errors import ExitCode


def test_a_mistyped_option_is_an_unknown_option_with_the_nearest_suggested(grad):
    result = grad("eval", "x", "x=1", "--jsn")
    assert result.returncode == ExitCode.USAGE and result.stdout == ""
    assert result.stderr == ("error: grad eval has no option --jsn\nhint: did you mean --json?\n")
    descend = grad("descend", "x^2", "x=1", "--stpes=3")
    assert descend.returncode == 2 and "did you mean --steps?" in descend.stderr
    far = grad("check", "x", "x=1", "--zzzzzz")
    assert far.returncode == 2 and "grad check --help lists the options" in far.stderr
    value = grad("descend", "x^2", "x=1", "--target", "--3")  # an option's value is a value
    assert "has no option" not in value.stderr


@pytest.mark.parametrize("command", ["eval", "check", "descend", "example"])
def test_dash_h_is_help(grad, command):
    result = grad(command, "-h")
    assert result.returncode == 0 and result.stdout.startswith(f"Usage: grad {command}")


def test_a_leading_minus_is_still_a_formula(grad):
    result = grad("eval", "-x^2 + 1", "x=3", "--json")
    assert result.returncode == 0 and '"value":-8' in result.stdout


@pytest.mark.parametrize("word", ["-j", "-x=1"])
def test_a_word_with_a_leading_minus_is_quoted_as_typed(grad, word):
    # the option parser's guard for '-x^2 + 1' must not show in the message (" -j")
    result = grad("eval", "x", "x=1", word)
    assert result.returncode == ExitCode.USAGE and result.stdout == ""
    assert result.stderr.startswith(f"error: '{word}' is not a binding of the form NAME=NUMBER")


@pytest.mark.parametrize("command", ["eval", "check", "descend"])
def test_a_formula_with_a_leading_minus_is_shown_as_typed_in_an_error(grad, command):
    result = grad(command, "-x^^2", "x=1")
    assert result.returncode == ExitCode.SYNTAX
    assert result.stderr.splitlines()[1:3] == ["  -x^^2", "     ^"]


def test_a_function_name_without_parentheses_hints_the_call(grad):
    result = grad("eval", "sin x", "x=1")
    assert result.returncode == ExitCode.SYNTAX
    assert "hint: call the function with parentheses: sin(x)" in result.stderr
    times = grad("eval", "2 x", "x=1")  # a number before a name is still a product
    assert "2*x" in times.stderr


def test_binding_a_named_intermediate_says_it_is_defined_by_the_formula(grad):
    result = grad("eval", "q = x + 1; q*3", "q=5", "x=1")
    assert result.returncode == ExitCode.USAGE and result.stdout == ""
    assert "q is defined by the formula (q = x + 1) and cannot be bound" in result.stderr
    assert "not used" not in result.stderr


def test_an_expression_that_is_not_the_last_statement_is_an_error_naming_it(grad):
    result = grad("eval", "x*2; y*3", "x=1", "y=1")
    assert result.returncode == ExitCode.SYNTAX and result.stdout == ""
    assert "x*2 is not used: only the last statement is the output" in result.stderr
    later = grad("eval", "-", "x=1", input="q = x + 1\nq * 2\nf = q * 3\n")
    assert later.returncode == 3 and "q * 2 is not used" in later.stderr
    assert "(line 2)" in later.stderr
    fine = grad("eval", "q = x + 1; f = q * 3", "x=1")
    assert fine.returncode == 0


def test_example_with_a_bad_wrt_prints_nothing_on_stdout(grad):
    result = grad("example", "circuit", "--wrt", "x,nosuch")
    assert result.returncode == ExitCode.USAGE
    assert result.stdout == "" and "nosuch" in result.stderr
    ok = grad("example", "circuit")
    assert ok.stdout.startswith("circuit: ")


@pytest.mark.parametrize("flag", ["--explain", "--check"])
def test_explain_or_check_with_format_dot_are_refused(grad, flag):
    result = grad("eval", "x*y", "x=1", "y=2", flag, "--format", "dot")
    assert result.returncode == ExitCode.USAGE and result.stdout == ""
    assert f"{flag} cannot be shown in --format dot" in result.stderr


def test_digits_never_rewrite_the_constants_written_in_the_formula(grad):
    result = grad("eval", "x*123.456", "x=1", "--digits", "2")
    assert result.returncode == 0
    assert "x * 123.456   value 1.2e+02" in result.stdout
    assert "1.2e+02 " not in result.stdout.splitlines()[2].split("value")[0]
    implicit = grad("eval", "-x", "x=1", "--digits", "2")  # no constant written: unchanged
    assert implicit.returncode == 0


def test_a_binding_that_underflows_to_zero_warns(grad):
    result = grad("eval", "x + 1", "x=1e-400")
    assert result.returncode == 0
    assert "warning: x=1e-400 underflows to 0" in result.stderr
    zero = grad("eval", "x + 1", "x=0.0e5")
    assert "underflows" not in zero.stderr
    tiny = grad("eval", "x + 1", "x=1e-310")  # subnormal, not zero
    assert "underflows" not in tiny.stderr


def test_check_exits_5_when_a_verdict_is_suspect(grad):
    suspect = grad("check", "abs(x)", "x=1e-9")
    assert suspect.returncode == ExitCode.SUSPECT == 5
    assert "suspect" in suspect.stdout
    as_json = grad("check", "abs(x)", "x=1e-9", "--json")
    assert as_json.returncode == 5 and '"suspect"' in as_json.stdout
    good = grad("check", "sin(x)", "x=0.5")
    assert good.returncode == 0


@pytest.mark.parametrize("formula", ["", "   "])
def test_a_blank_formula_is_said_without_an_empty_excerpt(grad, formula):
    result = grad("eval", formula, "x=1")
    assert result.returncode == 3
    assert result.stderr == "error: nothing to evaluate: there is no formula\n"


def test_a_formula_without_inputs_shows_its_value_not_empty_tables(grad):
    result = grad("eval", "pi*2", "--hessian")
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert "f = 6.28319  (no inputs: no gradient)" in lines
    assert "f has no inputs: no second derivatives" in lines
    assert not any(set(line) <= set("┏━┓┃ ┡┩└─┘") for line in lines)  # no empty box


def test_an_option_of_another_command_is_not_suggested_as_a_distant_one(grad):
    result = grad("diff", "x", "--check")
    assert result.returncode == 2
    assert result.stderr == (
        "error: grad diff has no option --check\nhint: grad diff --help lists the options\n"
    )


@pytest.mark.parametrize("env", [{"PYTHONWARNINGS": "error"}, {"PYTHONDEVMODE": "1"}])
def test_warnings_of_the_libraries_beneath_are_not_the_users(grad, env):
    for words in (["ops"], ["eval", "x", "x=1", "--digits", "3"]):
        result = grad(*words, env=env)
        assert result.returncode == 0 and result.stderr == "", result.stderr


def test_an_input_called_f_is_not_confused_with_the_output(grad):
    result = grad("eval", "q = f*2; q + f", "f=3", "--explain")
    assert result.returncode == 0, result.stderr
    assert "∂F/∂f = 1 + 2 = 3   (gradients add at branches: f feeds F, q)" in result.stdout
    assert "F = 9" in result.stdout.splitlines()
    assert grad("diff", "f*x + f^2").stdout == "∂F/∂f = 2·f + x\n∂F/∂x = f\n"


def test_a_name_given_two_values_is_warned_about(grad):
    result = grad("eval", "x*2", "x=1", "x=2", "--json")
    assert result.returncode == 0
    assert result.stderr == "warning: x is given twice; the last value, 2, is used\n"
    assert '"value":4.0' in result.stdout


@pytest.mark.skipif(shutil.which("dot") is None, reason="needs Graphviz")
def test_a_picture_is_not_written_to_a_terminal(tmp_path):
    leader, follower = os.openpty()
    try:
        done = subprocess.run(
            [grad_executable(), "eval", "x*y", "x=1", "y=2", "--png", "-"],
            stdout=follower,
            stderr=subprocess.PIPE,
            text=True,
            cwd=tmp_path,
            timeout=60,
        )
    finally:
        os.close(follower)
        os.close(leader)
    assert done.returncode == 2
    assert "will not write a picture's bytes to the terminal" in done.stderr
