"""Problems found by trying to break the installed `grad` as a demanding user would.

Each test reproduces what a user sees."""

from __future__ import annotations

import os
import re
import shlex
import stat
from pathlib import Path

import pytest
from conftest import strict_json

README = Path(__file__).resolve().parent.parent / "README.md"


def current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


# --- the descent plot --------------------------------------------------------------------


def axis_line(stdout: str) -> str:
    lines = stdout.splitlines()
    axis = [i for i, line in enumerate(lines) if line.lstrip().startswith("└")][-1]
    return lines[axis + 1]  # the plot's axis is the last corner: the summary has no borders


def test_plot_axis_labels_of_a_short_run_are_apart(grad):
    result = grad("descend", "x^2", "x=1", "--steps", "3")
    assert result.returncode == 0, result.stderr
    line = axis_line(result.stdout)
    assert re.search(r"\b0 +step 3$", line.rstrip()), line


def test_plot_axis_ends_at_the_last_step_of_a_long_run(grad):
    # 1001 steps: the bounded sample keeps every 2nd step, so its last kept step is 1000
    result = grad("descend", "(x - 3)^2", "x=2", "--steps", "1001", "--lr", "1e-7")
    assert result.returncode == 0, result.stderr
    assert axis_line(result.stdout).rstrip().endswith("step 1001")


# --- written files keep the usual permissions ------------------------------------------


def expected_mode() -> int:
    return 0o666 & ~current_umask()


def test_svg_csv_plot_and_save_are_created_with_the_umask_permissions(grad, tmp_path):
    result = grad("eval", "x*y", "x=1", "y=2", "--svg", "c.svg")
    assert result.returncode == 0, result.stderr
    result = grad(
        "descend",
        "(x-3)^2 + y^2",
        "x=0",
        "y=1",
        "--steps",
        "3",
        "--csv",
        "t.csv",
        "--plot",
        "p.svg",
    )
    assert result.returncode == 0, result.stderr
    result = grad("repl", input="x = 1\nf = x * 2\n:save s.grad\n")
    assert result.returncode == 0, result.stderr
    for name in ("c.svg", "t.csv", "p.svg", "s.grad"):
        mode = stat.S_IMODE((tmp_path / name).stat().st_mode)
        assert mode == expected_mode(), (name, oct(mode))


def test_replacing_a_file_keeps_its_permissions(grad, tmp_path):
    target = tmp_path / "t.csv"
    target.write_text("old\n")
    target.chmod(0o640)
    result = grad("descend", "x^2", "x=1", "--steps", "2", "--csv", "t.csv")
    assert result.returncode == 0, result.stderr
    assert target.read_text().startswith("step,")
    assert stat.S_IMODE(target.stat().st_mode) == 0o640


# --- the error caret's window ----------------------------------------------------------


def test_error_window_at_the_end_of_a_long_line_has_no_trailing_ellipsis(grad):
    formula = "a" * 300 + " +"
    result = grad("eval", formula)
    assert result.returncode == 3 and result.stdout == ""
    shown = result.stderr.splitlines()[1]
    assert shown.startswith("  …") and shown.rstrip().endswith("a +"), shown


def test_error_window_in_the_middle_keeps_both_ellipses(grad):
    formula = "a" * 300 + " + log(y) + " + "b" * 300
    result = grad("eval", formula, "a" * 300 + "=1", "b" * 300 + "=1", "y=-1")
    assert result.returncode == 1 and result.stdout == ""
    shown = result.stderr.splitlines()[1]
    assert shown.startswith("  …") and shown.endswith("…"), shown
    caret = result.stderr.splitlines()[2]
    assert shown[caret.index("^") :].startswith("log(y)")


# --- REPL wording ------------------------------------------------------------------------


def test_save_and_load_count_in_good_english(grad):
    result = grad("repl", input="x = 1\nf = x * 2\n:save s.grad\n:load s.grad\n")
    assert result.returncode == 0, result.stderr
    assert "saved 1 input and 1 definition to s.grad" in result.stdout
    assert "1 input and 1 definition in the session" in result.stdout


# --- README ------------------------------------------------------------------------------


def test_the_readme_first_example_prints_what_the_readme_shows(grad):
    block = re.search(r"```console\n(.*?)```", README.read_text(), re.S).group(1)
    command, expected = block.split("\n", 1)
    args = shlex.split(command.removeprefix("$ "))
    assert args[0] == "grad"
    result = grad(*args[1:])
    assert result.returncode == 0, result.stderr
    assert [line.rstrip() for line in result.stdout.strip().splitlines()] == [
        line.rstrip() for line in expected.strip().splitlines()
    ]


def test_the_readme_eval_json_example_has_every_key_grad_prints(grad):
    text = README.read_text()
    block = text[text.index("### JSON output (`--json`)") :]
    block = re.search(r"```json\n(.*?)```", block, re.S).group(1)
    shown = strict_json(block)
    result = grad("eval", "q = x + y; f = q * z", "x=-2", "y=5", "z=-4", "--json")
    assert result.returncode == 0, result.stderr
    assert strict_json(result.stdout) == shown


# --- problems found in the core and the command line ----------------------------------


def test_descend_help_names_the_plot_extra(grad):
    result = grad("descend", "--help")
    assert result.returncode == 0
    assert "gradcli[plot]" in " ".join(result.stdout.split()).replace(" ", "")


@pytest.mark.parametrize("args", [("x * 2", "x=٣"), ("٣ * x", "x=1"), ("x * 2", "x=１")])
def test_non_ascii_digits_are_not_numbers(grad, args):
    result = grad("eval", *args)
    assert result.returncode in (2, 3)
    assert result.stdout == ""


def test_binding_a_constant_says_it_is_a_constant(grad):
    result = grad("eval", "x * pi", "x=1", "pi=3")
    assert "not used by the formula" not in result.stderr
    assert "constant" in result.stderr


def test_grad_alone_off_a_terminal_prints_its_help_on_stderr_only(grad):
    result = grad(input="")
    assert result.returncode == 2
    assert result.stdout == ""
    assert "Usage: grad" in result.stderr


def test_descend_on_a_formula_without_inputs_says_so(grad):
    result = grad("descend", "3 * pi", "--steps", "2")
    assert result.returncode == 2 and result.stdout == ""
    assert "no inputs" in result.stderr
    assert "--wrt" not in result.stderr  # no --wrt was given
    assert "Traceback" not in result.stderr


def test_check_of_a_formula_without_inputs_says_so(grad):
    result = grad("check", "3 * pi")
    assert result.returncode == 2 and result.stdout == ""
    assert "no inputs" in result.stderr


def test_an_infinite_slope_is_not_called_an_overflow(grad):
    result = grad("eval", "sqrt(x)", "x=0", "--json")
    [finding] = [d for d in strict_json(result.stdout)["diagnostics"] if d["kind"] == "overflow"]
    assert "sqrt" in finding["reason"] and "infinite" in finding["reason"]
