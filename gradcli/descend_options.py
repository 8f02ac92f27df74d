"""The options of `grad descend`, defined once: the command `grad descend` (gradcli.cli) and the
REPL's `:descend` (gradcli.session) both take them from here, so they accept the same words
with the same types, defaults and checks, and both build the one settings record,
gradcli.descend.DescendConfig, with the same call.

`settings` is that definition: its signature is the options (as Typer reads them) and its body
builds the record. `with_descend_options` adds them to a Typer command; `parse_words` parses
the REPL's option words with a click command made from the same signature.
"""

import difflib
import functools
import inspect
import re
from enum import Enum
from pathlib import Path
from typing import Annotated, Optional

import typer

from .errors import UsageError
from .optimizers import OPTIMIZERS

Optimizer = Enum("Optimizer", {name: name for name in OPTIMIZERS}, type=str)


def settings(
    wrt: Annotated[Optional[str], typer.Option(
        help="Comma-separated parameters to update; every other input is fixed data "
             "(default: all inputs).")] = None,
    lr: Annotated[Optional[float], typer.Option(
        help="Learning rate (default 0.1; 0.01 for rmsprop and adagrad, as in torch.optim).",
        show_default=False)] = None,
    steps: Annotated[int, typer.Option(help="Number of steps.")] = 100,
    tol: Annotated[Optional[float], typer.Option(
        help="Stop when the gradient norm over the parameters falls below TOL.",
        show_default=False)] = None,
    maximize: Annotated[bool, typer.Option(
        "--maximize", help="Gradient ascent: climb f instead of descending it.")] = False,
    optimizer: Annotated[Optimizer, typer.Option(
        help="Update rule (as in torch.optim; formulas in the README).")] = Optimizer.sgd,
    momentum: Annotated[float, typer.Option(help="Momentum μ (momentum, nesterov).")] = 0.9,
    beta1: Annotated[float, typer.Option(help="Adam's β1.")] = 0.9,
    beta2: Annotated[float, typer.Option(help="Adam's β2.")] = 0.999,
    alpha: Annotated[float, typer.Option(help="RMSprop's smoothing constant α.")] = 0.99,
    eps: Annotated[Optional[float], typer.Option(
        help="ε of adam, rmsprop (default 1e-8) and adagrad (default 1e-10).",
        show_default=False)] = None,
    target: Annotated[Optional[float], typer.Option(
        help="Minimise the squared error (f - TARGET)² instead of f.",
        show_default=False)] = None,
    every: Annotated[Optional[int], typer.Option(
        min=1, help="Show every N-th step in the table (default: about 20 rows); with "
                    "--json, keep every N-th step in the trace (default: every step).",
        show_default=False)] = None,
    as_json: Annotated[bool, typer.Option(
        "--json", help="Print one strict JSON object with the whole trace, written as the "
                       "run goes (schema in the README).")] = False,
    csv_file: Annotated[Optional[Path], typer.Option(
        "--csv", help="Write the whole trace to FILE as CSV, as the run goes.",
        show_default=False)] = None,
    plot_file: Annotated[Optional[Path], typer.Option(
        "--plot", help="Draw the run to FILE.png or FILE.svg (needs matplotlib: "
                       "pip install 'gradcli[plot]').", show_default=False)] = None,
    digits: Annotated[int, typer.Option(
        min=1, max=17, help="Significant digits shown.")] = 6,
):
    """The settings record of a run, from the options as Typer passes them."""
    from .descend import DescendConfig

    params = split_names(wrt)
    return DescendConfig(
        params=None if params is None else tuple(params), lr=lr, steps=steps, tol=tol,
        maximize=maximize, optimizer=getattr(optimizer, "value", optimizer),
        momentum=momentum, beta1=beta1, beta2=beta2, alpha=alpha, eps=eps, target=target,
        every=every, as_json=as_json,
        csv_file=None if csv_file is None else Path(csv_file).expanduser(),
        plot_file=None if plot_file is None else Path(plot_file).expanduser(), digits=digits)


def split_names(text: str | None) -> list[str] | None:
    """'x, y' -> ['x', 'y'], as --wrt takes names (None stays None)."""
    return None if text is None else [n.strip() for n in text.split(",") if n.strip()]


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
        raise UsageError("the options of :descend are those of grad descend",
                         hint="grad descend --help describes them")
    command = _command()
    try:
        ctx = command.make_context(":descend", words)
    except click.NoSuchOption as exc:
        raise unknown_option(exc.option_name) from None
    except click.ClickException as exc:
        message = exc.format_message()
        extra = re.search(r"unexpected extra arguments? \((.*)\)", message)
        if extra:  # a formula or bindings: not what the options take
            raise UsageError(f"unexpected {extra.group(1)!r} after the options",
                             hint="the starting point is the session's values: set them "
                                  "first, e.g. x = 1") from None
        raise UsageError(message) from None
    with ctx:
        return command.invoke(ctx)


def unknown_option(word: str) -> UsageError:
    known = [n for n in option_names() if n.startswith("--") and n != "--help"]
    near = difflib.get_close_matches(word.split("=")[0], known, n=1, cutoff=0.5)
    hint = f"did you mean {near[0]}?" if near else f"the options are {', '.join(known)}"
    return UsageError(f"unknown option {word}", hint=hint)
