"""What a one-shot `grad` process imports: only what the chosen command needs (issue 16).
Rich (~70 ms), prompt_toolkit and Lark stay off the `grad eval --json` path; `grad --version`
needs neither typer nor click. The import set is read from sys.modules at the process's exit."""

import math
import os
import signal
import subprocess
import sys
import time

import pytest
from conftest import default_sigint, strict_json

# Runs gradcli's entry point as the `grad` script does, then lists the loaded modules on stderr.
WRAPPER = """
import sys
sys.argv[0] = "grad"
from gradcli.start import main
try:
    main()
finally:
    sys.stderr.write("\\nMODULES " + " ".join(sorted(sys.modules)) + "\\n")
"""

NEURON = ["eval", "sigmoid(w0*x0 + w1*x1 + w2)", "w0=2", "x0=-1", "w1=-3", "x1=-2", "w2=-3"]


def run_listing(*args: str):
    env = {**os.environ, "NO_COLOR": "1"}
    env.pop("FORCE_COLOR", None)
    done = subprocess.run(
        [sys.executable, "-c", WRAPPER, *args], capture_output=True, text=True, env=env
    )
    listing = done.stderr.rpartition("\nMODULES ")[2].split()
    return done, {name.partition(".")[0] for name in listing}, set(listing)


def test_eval_json_loads_no_rich_prompt_toolkit_or_lark():
    done, packages, modules = run_listing(*NEURON, "--json")
    assert done.returncode == 0, done.stderr
    answer = strict_json(done.stdout)
    assert math.isclose(answer["value"], 1 / (1 + math.exp(-1)), rel_tol=1e-15)
    assert "gradcli.core.engine" in modules  # the listing is real
    assert not packages & {"rich", "prompt_toolkit", "lark", "pygments", "matplotlib"}
    # plain words need no option parser, and no pathlib (its imports cost ~4 ms)
    assert not packages & {"typer", "click", "pathlib"}


def test_eval_tree_loads_rich_but_no_command_line_framework():
    done, packages, _ = run_listing(*NEURON, "--wrt", "w0,x0", "--check")
    assert done.returncode == 0, done.stderr
    assert "∂f/∂input" in done.stdout
    assert "rich" in packages
    assert not packages & {"typer", "click", "prompt_toolkit", "lark"}


def test_eval_with_other_options_runs_through_typer():
    done, packages, _ = run_listing(*NEURON, "--digits", "3")
    assert done.returncode == 0, done.stderr
    assert "0.731" in done.stdout and "0.731059" not in done.stdout
    assert "typer" in packages


def test_version_loads_no_command_line_framework():
    done, packages, modules = run_listing("--version")
    assert done.returncode == 0 and done.stdout.startswith("grad "), done.stderr
    assert not packages & {"typer", "click", "rich", "prompt_toolkit", "lark"}
    assert "importlib.metadata" not in modules  # scans every installed distribution


def test_only_grad_descend_loads_its_options():
    _, _, modules = run_listing(*NEURON, "--json")
    assert "gradcli.cli.descend_command" not in modules
    done, _, modules = run_listing("descend", "(x - 3)^2", "x=0", "--steps", "3", "--json")
    assert done.returncode == 0, done.stderr
    assert "gradcli.cli.descend_command" in modules
    assert "gradcli.core.training" not in modules  # ~4 ms, only for --data


def test_help_lists_the_commands_as_the_whole_command_tree_does():
    """`grad --help` is built from the commands' names and help alone: the same text."""
    import click
    import typer

    from gradcli.cli.app import app, app_for

    def help_text(typer_app) -> str:
        command = typer.main.get_command(typer_app)
        with click.Context(command, info_name="grad", terminal_width=100) as ctx:
            return command.get_help(ctx)

    listing = app_for(["--help"])
    full = help_text(app_for([]))
    assert [c.name for c in listing.registered_commands] == [
        c.name for c in app.registered_commands
    ]
    assert "eval " in full and "Evaluate a formula" in full
    assert help_text(listing) == full


# `grad eval` as the typer app runs it, for comparison with the plain path that grad takes
THROUGH_TYPER = """
import sys
sys.argv[0] = "grad"
from gradcli.cli.app import main
main()
"""

PLAIN_CASES = [
    NEURON,
    [*NEURON, "--json"],
    ["eval", "(x + y) * z", "x=-2", "y=5", "z=-4", "--wrt", "x,y", "--explain"],
    ["eval", "q = x + y; f = q * z", "x=-2", "y=5", "z=-4", "--wrt=z", "--json", "--json"],
    ["eval", "x^2 + y", "x=3", "y=1", "--check", "--format=json"],
    ["eval", "x * y", "x=1", "y=2", "--format", "dot"],
    ["eval", "x * y", "x=1", "y=2", "z=3", "pi=1", "x=1e-400"],  # warnings
    ["eval", "x * 2", "x=1", "x=2"],  # a name given twice
    ["eval", "log(x)", "x=-1"],  # a domain error: exit 1
    ["eval", "x +", "x=1"],  # a syntax error: exit 3
    ["eval", "x * y", "x=1"],  # an input without a value: exit 2
    ["eval", "x * q", "x=1", "q", "--json"],  # a binding that is not NAME=NUMBER
    ["eval", "x", "x=1", "--format", "xml"],
    ["eval", "x", "x=1", "--json", "--format", "dot"],
    ["eval", "x", "x=1", "--wrt", "y"],
]


def assert_answered_as_typer_does(words: list[str], cwd=None) -> None:
    """Byte for byte the same output, messages and exit code, with and without typer."""
    from gradcli.cli.plain import plain_command

    here = os.getcwd()
    try:
        os.chdir(cwd or here)
        assert plain_command(words) is not None  # grad takes the plain path for these words
    finally:
        os.chdir(here)
    env = {**os.environ, "NO_COLOR": "1", "COLUMNS": "100"}
    env.pop("FORCE_COLOR", None)
    typer_run, plain_run = (
        subprocess.run(
            [sys.executable, "-c", program, *words],
            capture_output=True,
            text=True,
            env=env,
            cwd=cwd,
        )
        for program in (THROUGH_TYPER, WRAPPER)
    )
    assert "MODULES" in plain_run.stderr  # the wrapper ran
    assert plain_run.stdout == typer_run.stdout
    assert plain_run.stderr.rpartition("\nMODULES ")[0] == typer_run.stderr
    assert plain_run.returncode == typer_run.returncode


@pytest.mark.parametrize("words", PLAIN_CASES, ids=lambda words: " ".join(words[1:]))
def test_plain_eval_answers_as_the_typer_app_does(words):
    assert_answered_as_typer_does(words)


@pytest.mark.parametrize("command", ["eval", "diff"])
def test_ctrl_c_ends_a_plain_run_as_it_ends_a_typer_run(command, tmp_path):
    """Quietly, with exit code 130 (the README's "interrupted")."""
    (tmp_path / "huge.grad").write_text(" + ".join(f"sin(x*{i % 97})" for i in range(500_000)))
    outcomes = []
    for program in (THROUGH_TYPER, WRAPPER):
        process = subprocess.Popen(
            [sys.executable, "-c", program, command, "-f", "huge.grad", "x=1", "--json"],
            cwd=tmp_path,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            preexec_fn=default_sigint,
        )
        time.sleep(1.5)  # past the imports: parsing
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=120)
        outcomes.append((process.returncode, out, err.partition("\nMODULES ")[0]))
    assert outcomes[0] == outcomes[1] == (130, "", "")


@pytest.mark.parametrize(
    "words",
    [
        ["eval", "-f", "circuit.grad", "x=-2", "y=5", "z=-4", "--json"],
        ["eval", "--file", "./circuit.grad", "x=-2", "y=5", "z=-4", "--wrt", "z"],
        ["eval", "x=-2", "--file=circuit.grad", "y=5"],  # z has no value
        ["eval", "-f", "./latin1.grad", "x=1"],  # not UTF-8: the message names the file
    ],
)
def test_plain_eval_reads_a_file_as_the_typer_app_does(words, tmp_path):
    (tmp_path / "circuit.grad").write_text("q = x + y\nf = q * z\n", encoding="utf-8")
    (tmp_path / "latin1.grad").write_bytes("x * 2 # café\n".encode("latin-1"))
    assert_answered_as_typer_does(words, cwd=tmp_path)


DIFF_NEURON = ["diff", *NEURON[1:]]

PLAIN_DIFF_CASES = [
    DIFF_NEURON,
    ["diff", "sigmoid(w0*x0 + w1*x1 + w2)"],  # formulas only, no numbers
    [*DIFF_NEURON, "--json"],
    ["diff", "x^3 * sin(y)", "--wrt", "x", "--latex"],
    ["diff", "relu(x) + max(x, y)", "--program"],
    ["diff", "q = x + y; f = q * z", "x=-2", "y=5", "z=-4", "--wrt=x,z", "--json"],
    ["diff", "x * y", "x=1", "y=2", "z=3", "pi=1"],  # warnings
    ["diff", "x *", "x=1"],  # a syntax error: exit 3
    ["diff", "2 * 3"],  # no inputs
    ["diff", "x * y", "--wrt", "w"],  # not an input
    ["diff", "x", "--latex", "--json"],  # two formats
    ["diff", "log(x)", "x=-1", "--json"],  # evaluated outside the domain
]


@pytest.mark.parametrize("words", PLAIN_DIFF_CASES, ids=lambda words: " ".join(words[1:]))
def test_plain_diff_answers_as_the_typer_app_does(words):
    assert_answered_as_typer_does(words)


@pytest.mark.parametrize(
    "words",
    [
        ["diff", "-f", "circuit.grad", "x=-2", "y=5", "z=-4", "--json"],
        ["diff", "--file=./circuit.grad", "--wrt", "z", "--program"],
        ["diff", "-f", "./latin1.grad"],  # not UTF-8: the message names the file
    ],
)
def test_plain_diff_reads_a_file_as_the_typer_app_does(words, tmp_path):
    (tmp_path / "circuit.grad").write_text("q = x + y\nf = q * z\n", encoding="utf-8")
    (tmp_path / "latin1.grad").write_bytes("x * 2 # café\n".encode("latin-1"))
    assert_answered_as_typer_does(words, cwd=tmp_path)


def test_diff_json_loads_no_rich_or_command_line_framework():
    done, packages, modules = run_listing(*DIFF_NEURON, "--json")
    assert done.returncode == 0, done.stderr
    answer = strict_json(done.stdout)
    assert set(answer["gradient"]) == {"w0", "x0", "w1", "x1", "w2"}
    assert "gradcli.core.symbolic" in modules  # the listing is real
    assert not packages & {"typer", "click", "rich", "prompt_toolkit", "lark", "pathlib"}


def test_diff_with_other_options_runs_through_typer():
    done, packages, _ = run_listing(*DIFF_NEURON, "--digits", "3")
    assert done.returncode == 0, done.stderr
    assert "typer" in packages


@pytest.mark.parametrize(
    "words",
    [
        ["eval"],
        ["eval", "-x^2", "x=1"],
        ["eval", "x", "x=1", "--digits", "3"],
        ["eval", "-f", "no such file.grad"],  # click says the file does not exist
        ["eval", "-f", "."],  # a directory
        ["eval", "-f=f.grad"],  # click reads '=f.grad'
        ["eval", "x", "x=1", "--help"],
        ["eval", "x", "x=1", "--json=1"],
        ["eval", "x", "x=1", "--wrt"],
        ["eval", "x", "x=1", "--wrt", "-x"],
        ["eval", "x", "x=1", "--", "y=2"],
        ["eval", "x", "x=1", "--latex"],  # diff's option, not eval's
        ["diff"],
        ["diff", "-x^2"],
        ["diff", "x", "--simplify"],
        ["diff", "x", "--order", "2"],
        ["diff", "x", "x=1", "--digits", "3"],
        ["diff", "x", "--help"],
        ["diff", "x", "--check"],  # eval's option, not diff's
        ["diff", "x", "--format", "json"],
        ["diff", "x", "--wrt"],
        ["descend", "x^2", "x=1"],
    ],
)
def test_plain_command_leaves_other_words_to_typer(words):
    from gradcli.cli.plain import plain_command

    assert plain_command(words) is None


def test_plain_command_leaves_tab_completion_to_typer(monkeypatch):
    from gradcli.cli.plain import plain_command

    monkeypatch.setenv("_GRAD_COMPLETE", "bash_complete")
    assert plain_command(NEURON) is None
    assert plain_command(DIFF_NEURON) is None


def test_help_loads_no_command_line_framework():
    done, packages, _ = run_listing("--help")
    assert done.returncode == 0 and done.stdout.startswith("Usage: grad"), done.stderr
    assert not packages & {"typer", "click", "rich", "prompt_toolkit", "lark"}


def test_help_listing_is_current():
    """gradcli/cli/help_listing.py is what help_generate writes from the app as it is now."""
    from gradcli.cli import help_generate

    assert help_generate.TARGET.read_text(encoding="utf-8") == help_generate.source(), (
        "run: python -m gradcli.cli.help_generate"
    )


@pytest.mark.parametrize(
    "words, env",
    [
        (["--help"], {"COLUMNS": "100"}),
        (["-h"], {"COLUMNS": "64"}),
        (["--help"], {"COLUMNS": "30"}),
        (["--help"], {"COLUMNS": "80", "LC_ALL": "C", "PYTHONIOENCODING": ""}),
    ],
)
def test_help_is_written_as_the_typer_app_writes_it(words, env):
    environment = {**os.environ, "NO_COLOR": "1", **env}
    runs = [
        subprocess.run(
            [sys.executable, "-c", program, *words],
            capture_output=True,
            env=environment,
        )
        for program in (THROUGH_TYPER, WRAPPER)
    ]
    typer_run, plain_run = runs
    assert b"Commands:" in plain_run.stdout
    assert plain_run.stdout == typer_run.stdout
    assert plain_run.returncode == typer_run.returncode == 0


@pytest.mark.parametrize(
    "command_name, body_name, options",
    [
        ("eval_cmd", "evaluation.run_eval", {"as_json", "check", "explain", "wrt", "fmt"}),
        ("diff_cmd", "differentiation.derive", {"as_json", "latex", "program", "wrt"}),
    ],
)
def test_plain_path_takes_the_commands_defaults(command_name, body_name, options):
    """The plain path leaves out what was not typed, so the body's defaults must be the
    command's: an option added to one with another default would answer differently."""
    import importlib
    import inspect

    from gradcli.cli import app
    from gradcli.cli.plain import PLAIN_OPTIONS

    module, _, function = body_name.partition(".")
    body = inspect.signature(getattr(importlib.import_module(f"gradcli.cli.{module}"), function))
    command = inspect.signature(getattr(app, command_name)).parameters
    shared = [name for name in body.parameters if name in command]
    flags, valued = PLAIN_OPTIONS[command_name.removesuffix("_cmd")]
    read = {*flags.values(), *valued.values()} - {"file"}  # the file is always passed
    assert read == options and options | {"digits"} <= set(shared)
    for name in shared:
        assert body.parameters[name].default == command[name].default, name


def test_ctrl_c_while_starting_up_is_quiet_too():
    """A Ctrl-C during the imports (simulated: the first import of the CLI is interrupted)."""
    program = """
import builtins, sys
real = builtins.__import__
def interrupted(name, *args, **kwargs):
    if name == "cli.plain":
        raise KeyboardInterrupt
    return real(name, *args, **kwargs)
builtins.__import__ = interrupted
sys.argv[0] = "grad"
from gradcli.start import main
main()
"""
    done = subprocess.run(
        [sys.executable, "-c", program, "eval", "x", "x=1"], capture_output=True, text=True
    )
    assert (done.returncode, done.stdout, done.stderr) == (130, "", "")
