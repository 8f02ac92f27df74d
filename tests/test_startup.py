"""What a one-shot `grad` process imports: only what the chosen command needs (issue 16).
Rich (~70 ms), prompt_toolkit and Lark stay off the `grad eval --json` path; `grad --version`
needs neither typer nor click. The import set is read from sys.modules at the process's exit."""

import math
import os
import subprocess
import sys

from conftest import strict_json

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
    done, packages, _ = run_listing(*NEURON, "--json")
    assert done.returncode == 0, done.stderr
    answer = strict_json(done.stdout)
    assert math.isclose(answer["value"], 1 / (1 + math.exp(-1)), rel_tol=1e-15)
    assert "gradcli" in packages and "typer" in packages  # the listing is real
    assert not packages & {"rich", "prompt_toolkit", "lark", "pygments", "matplotlib"}


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
