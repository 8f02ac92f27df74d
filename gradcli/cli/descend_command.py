"""`grad descend` and the REPL's `:descend` as one command: its options, defined once, and one
run as both show it. The command line (gradcli.cli.app) and the session (gradcli.cli.session) both
take them from here, so they accept the same words with the same types, defaults and checks,
build the one settings record (gradcli.core.descend.DescendConfig) with the same call, and run and
show it the same way.

`settings` is the option definition: its signature is the options (as Typer reads them) and
its body builds the record. `with_descend_options` adds them to a Typer command; `parse_words`
parses the REPL's option words with a click command made from the same signature.
`run_descent` runs the core's loop (descend_run.drive) with a progress bar and hands the run to
the renderers (render_descend). Heavier modules are imported when a run starts, not with the
command line.
"""

import difflib
import functools
import inspect
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer

from ..core.errors import GradcliError, UsageError
from ..core.optimizers import OPTIMIZERS
from ..core.request import split_names

Optimizer = Enum("Optimizer", {name: name for name in OPTIMIZERS}, type=str)
Loss = Enum("Loss", {name: name for name in ("squared", "logistic", "none")}, type=str)


def settings(
    wrt: Annotated[
        Optional[str],
        typer.Option(
            help="Comma-separated parameters to update; every other input is fixed data "
            "(default: all inputs)."
        ),
    ] = None,
    lr: Annotated[
        Optional[float],
        typer.Option(
            help="Learning rate (default 0.1; 0.01 for rmsprop and adagrad, as in torch.optim; "
            "1 for newton, where it scales the Newton step).",
            show_default=False,
        ),
    ] = None,
    steps: Annotated[
        Optional[int], typer.Option(help="Number of steps (default 100).", show_default=False)
    ] = None,
    tol: Annotated[
        Optional[float],
        typer.Option(
            help="Stop when the gradient norm over the parameters falls below TOL.",
            show_default=False,
        ),
    ] = None,
    maximize: Annotated[
        bool, typer.Option("--maximize", help="Gradient ascent: climb f instead of descending it.")
    ] = False,
    optimizer: Annotated[
        Optimizer, typer.Option(help="Update rule (as in torch.optim; formulas in the README).")
    ] = Optimizer.sgd,
    momentum: Annotated[float, typer.Option(help="Momentum μ (momentum, nesterov).")] = 0.9,
    beta1: Annotated[float, typer.Option(help="Adam's β1.")] = 0.9,
    beta2: Annotated[float, typer.Option(help="Adam's β2.")] = 0.999,
    alpha: Annotated[float, typer.Option(help="RMSprop's smoothing constant α.")] = 0.99,
    eps: Annotated[
        Optional[float],
        typer.Option(
            help="ε of adam, rmsprop (default 1e-8) and adagrad (default 1e-10).",
            show_default=False,
        ),
    ] = None,
    damping: Annotated[
        float,
        typer.Option(
            help="Newton's initial damping λ in (H + λI)·d = g: raised ×10 when a step does "
            "not decrease the objective, lowered ÷10 when it does (see the README)."
        ),
    ] = 0.0,
    target: Annotated[
        Optional[float],
        typer.Option(
            help="Minimise the squared error (f - TARGET)² instead of f.", show_default=False
        ),
    ] = None,
    every: Annotated[
        Optional[int],
        typer.Option(
            min=1,
            help="Show every N-th step in the table (default: about 20 rows); with "
            "--json, keep every N-th step in the trace (default: every step).",
            show_default=False,
        ),
    ] = None,
    as_json: Annotated[
        bool,
        typer.Option(
            "--json",
            help="Print one strict JSON object with the whole trace, written as the "
            "run goes (schema in the README).",
        ),
    ] = False,
    csv_file: Annotated[
        Optional[Path],
        typer.Option(
            "--csv",
            help="Write the whole trace to FILE as CSV, as the run goes ('-' for standard output).",
            show_default=False,
            readable=False,
        ),
    ] = None,
    plot_file: Annotated[
        Optional[Path],
        typer.Option(
            "--plot",
            help="Draw the run to FILE.png or FILE.svg (needs matplotlib: "
            "pip install 'gradcli[plot]').",
            show_default=False,
            readable=False,
        ),
    ] = None,
    digits: Annotated[int, typer.Option(min=1, max=17, help="Significant digits shown.")] = 6,
    data: Annotated[
        Optional[Path],
        typer.Option(
            help="Train on data: FILE's columns (CSV with a header, or JSON Lines; '-' for "
            "standard input) bind the formula's data inputs, --wrt names the parameters, and "
            "the mean loss over the rows is minimised.",
            show_default=False,
            readable=False,
        ),
    ] = None,
    target_column: Annotated[
        Optional[str],
        typer.Option(
            help="With --data: the column of right answers y; the loss is (f - y)² "
            "unless --loss says otherwise.",
            show_default=False,
        ),
    ] = None,
    loss: Annotated[
        Optional[Loss],
        typer.Option(
            help="With --data: the per-row loss: squared (f - y)² (the default with a target), "
            "logistic (cross-entropy of f in (0, 1)), none (f itself; the default without).",
            show_default=False,
        ),
    ] = None,
    batch: Annotated[
        Optional[int],
        typer.Option(
            help="With --data: rows per step (minibatch SGD, reshuffled each epoch; "
            "default: every row).",
            show_default=False,
        ),
    ] = None,
    epochs: Annotated[
        Optional[int],
        typer.Option(
            help="With --data: passes over the data, in place of --steps.", show_default=False
        ),
    ] = None,
    seed: Annotated[int, typer.Option(help="With --batch: the seed of the shuffles.")] = 0,
):
    """The settings record of a run, from the options as Typer passes them."""
    from ..core.descend import DescendConfig

    params = split_names(wrt)
    if steps is not None and epochs is not None:
        raise UsageError(
            "--steps and --epochs do not go together", hint="--epochs E is E passes over --data"
        )
    return DescendConfig(
        params=None if params is None else tuple(params),
        lr=lr,
        steps=100 if steps is None else steps,
        tol=tol,
        maximize=maximize,
        optimizer=getattr(optimizer, "value", optimizer),
        momentum=momentum,
        beta1=beta1,
        beta2=beta2,
        alpha=alpha,
        eps=eps,
        damping=damping,
        target=target,
        every=every,
        as_json=as_json,
        csv_file=None if csv_file is None else Path(csv_file).expanduser(),
        plot_file=None if plot_file is None else Path(plot_file).expanduser(),
        digits=digits,
        data=None if data is None else Path(data).expanduser(),
        target_column=target_column,
        loss=getattr(loss, "value", loss),
        batch=batch,
        epochs=epochs,
        seed=seed,
    )


OPTIONS = list(inspect.signature(settings).parameters.values())


def with_descend_options(command):
    """Typer command decorator: `command`'s own parameters, then the options above; the
    command receives them as one keyword, `settings`, the DescendConfig they make."""
    own = [p for p in inspect.signature(command).parameters.values() if p.name != "settings"]
    names = [p.name for p in OPTIONS]

    @functools.wraps(command)
    def wrapper(**kwargs):
        values = {name: kwargs.pop(name) for name in names}
        return command(**kwargs, settings=settings(**values))

    wrapper.__signature__ = inspect.Signature([*own, *OPTIONS])
    wrapper.__annotations__ = {p.name: p.annotation for p in [*own, *OPTIONS]}
    del wrapper.__wrapped__  # Typer reads the signature above, not the command's
    return wrapper


@functools.cache
def _command():
    app = typer.Typer(add_completion=False)
    app.command()(settings)
    return typer.main.get_command(app)


def option_names() -> list[str]:
    """Every option word, e.g. '--lr', '--json'."""
    names = ["--help"]
    for param in _command().params:
        names += [*param.opts, *param.secondary_opts]
    return names


def parse_words(words: list[str]):
    """The settings from option words (the REPL's `:descend f --lr 0.1 --maximize`). Raises
    UsageError: an unknown option is named with the nearest one suggested."""
    import click

    words = list(words)
    if "--help" in words or "-h" in words:
        raise UsageError(
            "the options of :descend are those of grad descend",
            hint="grad descend --help describes them",
        )
    command = _command()
    try:
        ctx = command.make_context(":descend", words)
    except click.NoSuchOption as exc:
        raise unknown_option(exc.option_name) from None
    except click.ClickException as exc:
        message = exc.format_message()
        extra = re.search(r"unexpected extra arguments? \((.*)\)", message)
        if extra:  # a formula or bindings: not what the options take
            raise UsageError(
                f"unexpected {extra.group(1)!r} after the options",
                hint="the starting point is the session's values: set them first, e.g. x = 1",
            ) from None
        raise UsageError(message) from None
    with ctx:
        return command.invoke(ctx)


def unknown_option(word: str) -> UsageError:
    known = [n for n in option_names() if n.startswith("--") and n != "--help"]
    near = difflib.get_close_matches(word.split("=")[0], known, n=1, cutoff=0.5)
    hint = f"did you mean {near[0]}?" if near else f"the options are {', '.join(known)}"
    return UsageError(f"unknown option {word}", hint=hint)


# --- one run, as `grad descend` and the REPL's `:descend` show it ------------------------------

PROGRESS_FROM = 1000  # steps: shorter runs finish before a progress bar would help


@dataclass
class Outcome:
    """A run and what to show of it: `output` for standard output (Rich renderables; the
    --json document went to its stream as the run went), `messages` for standard error."""

    run: object  # descend_run.Run
    output: list = field(default_factory=list)
    messages: list = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        return self.run.exit_code


def run_descent(
    tape,
    point,
    config,
    console=None,
    locate: Callable[[GradcliError], object] | None = None,
    json_out=None,
    note_divergence: bool = True,
) -> Outcome:
    """Run the descent (descend_run.drive), with a progress bar on a terminal `console` for a
    long human-readable run, the --json document written to `json_out` and --csv as it goes;
    then write --plot and build the output. `locate` may point a divergence's error at the
    text the user typed before it is shown. A divergence is also said on standard error
    (`messages`): in full with --json, in one line after the report unless not
    `note_divergence` (the REPL, whose report is on the same screen).

    Raises GradcliError (bad options or start, a file that cannot be written) and
    KeyboardInterrupt when Ctrl-C comes before the first step."""
    from ..output.descend_run import drive, plot_format
    from ..output.files import holding_interrupts
    from ..output.render_descend import diverged_message, progress_bar, report, rows_of, write_plot

    fmt = plot_format(config)
    config.validate()  # bad options are said before a progress bar shows
    training = None if config.data is None else prepare_training(tape, point, config)
    steps = config.steps if training is None else training.config.steps
    progress = on_step = None
    if (
        console is not None
        and not config.as_json
        and console.is_terminal
        and steps >= PROGRESS_FROM
    ):
        progress = progress_bar(console, steps)
        task = progress.add_task("descend", total=steps)
        tick = max(1, steps // 200)

        def on_step(step) -> None:
            if step.step % tick == 0:
                progress.update(task, completed=step.step)

        progress.start()
    try:
        run = drive(tape, point, config, on_step, json_out, training)
    finally:
        if progress is not None:
            progress.stop()
    if locate is not None and run.result.error is not None:
        locate(run.result.error)
    with holding_interrupts():  # after Ctrl-C, the picture is drawn all the same
        write_plot(run, fmt)
    result, outcome = run.result, Outcome(run)
    if result.stopped == "diverged" and (config.as_json or note_divergence):
        outcome.messages.append(diverged_message(result, brief=not config.as_json))
    if not config.as_json:
        width = console.width if console is not None else 80
        outcome.output.append(
            report(result, rows_of(run), run.sample.steps, run.f_name, config.digits, width, run)
        )
    return outcome


def prepare_training(tape, given, config):
    """A descent on the data file --data names (gradcli.core.training): its rows read whole,
    as the run takes them many times. `given`: the values bound by the user."""
    from ..core import training
    from ..output.files import read_text

    name = "standard input" if str(config.data) == "-" else str(config.data)
    needed = [*tape.graph.inputs, *([config.target_column] if config.target_column else [])]
    data = training.load(read_text(config.data).splitlines(keepends=True), name, needed)
    return training.prepare(tape, data, given, config)
