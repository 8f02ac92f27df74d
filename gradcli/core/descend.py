"""Gradient descent on a formula: a loop over one prepared tape, producing a trace.

The formula is parsed and its tape prepared once, before the loop. `make_gradient_fn` turns the
tape into the one function that computes a step's gradient, `gradient(xs) -> (f, [df/dp])`,
over the parameters only (every other input is fixed data). The loop itself is generated code
(`loop_source`): the objective, the norm, the Step and the optimizer's update, written once in
gradcli/core/optimizers.py, around either the graph's own generated sweeps (small graphs, no call
per step) or a call of the gradient function (graphs too large to compile, and the steps after
one the sweeps could not compute). Both loops are the same source apart from how the gradient
is computed, so they give the same numbers bit for bit by construction. When a loop stops at a
step it cannot compute, `_report` evaluates that step once more to say why.

`Descent` is iterable: it yields a `Step` record for the starting point (step 0) and one after
each update, and keeps what it needs to report a `Result` at any moment, so a run stopped by
Ctrl-C still has a summary. The optimizers follow torch.optim's definitions (see the README).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import NamedTuple

from .compiled import MAX_NODES, FastPathFailed, Sweeps, build, indent, run_source, sweeps
from .engine import Tape, number_text
from .errors import DomainError, ExitCode, GradcliError, UsageError
from .graph import INPUT
from .optimizers import OPTIMIZERS as OPTIMIZER_RULES
from .optimizers import Settings, fresh_state, lines, literal, unpack

OPTIMIZERS = tuple(OPTIMIZER_RULES)
STOPS = ("steps", "converged", "diverged", "interrupted")

# The exit code tells the outcomes apart: converged (or all steps taken when no --tol was
# asked for) is success; all steps taken without reaching --tol is 4; diverged is 1.
NOT_CONVERGED = 4
EXIT_CODES = {
    "converged": ExitCode.OK,
    "diverged": ExitCode.EVAL,  # 1, like any other evaluation that failed
    "interrupted": ExitCode.INTERRUPTED,  # 130
}

GradientFn = Callable[[Sequence[float]], tuple[float, list[float]]]


def _same_path(a, b) -> bool:
    import os

    return os.path.realpath(a) == os.path.realpath(b)


@dataclass(frozen=True, slots=True)
class DescendConfig:
    """Every setting of one run of `grad descend` or `:descend`, built once from the options.
    `lr` and `eps` left at None take the optimizer's defaults (gradcli/core/optimizers.py)."""

    params: tuple[str, ...] | None = None  # None: every input is a parameter
    lr: float | None = None
    steps: int = 100
    tol: float | None = None  # stop when the gradient norm falls below it
    maximize: bool = False
    optimizer: str = "sgd"
    momentum: float = 0.9  # momentum and nesterov
    beta1: float = 0.9  # adam
    beta2: float = 0.999
    alpha: float = 0.99  # rmsprop
    eps: float | None = None
    damping: float = 0.0  # newton: the initial λ of (H + λI)·d = g
    target: float | None = None  # minimise (f - target)² instead of f
    # what to show and write (the outputs, not the descent)
    every: int | None = None  # every N-th step in the table, or in the JSON trace
    as_json: bool = False
    csv_file: Path | None = None
    plot_file: Path | None = None
    digits: int = 6
    # descent on data (gradcli/core/training.py): the mean loss over the rows of a data set
    data: Path | None = None
    target_column: str | None = None
    loss: str | None = None  # squared (with a target), logistic, none (f itself)
    batch: int | None = None  # rows per step (None: every row)
    epochs: int | None = None  # passes over the data, in place of --steps
    seed: int = 0  # of the order of the rows, reshuffled at each epoch with --batch

    def __post_init__(self) -> None:
        rule = OPTIMIZER_RULES.get(self.optimizer)
        if rule is not None:  # an unknown name is reported by validate()
            if self.lr is None:
                object.__setattr__(self, "lr", rule.lr)
            if self.eps is None:
                object.__setattr__(self, "eps", rule.eps)
        if self.params is not None:
            object.__setattr__(self, "params", tuple(dict.fromkeys(self.params)))

    def validate(self) -> None:
        """Raise UsageError for settings no run can use."""

        def need(ok: bool, message: str, hint: str | None = None) -> None:
            if not ok:
                raise UsageError(message, hint=hint)

        finite = math.isfinite
        need(
            self.optimizer in OPTIMIZERS,
            f"unknown optimizer {self.optimizer!r}",
            f"choose one of {', '.join(OPTIMIZERS)}",
        )
        need(
            finite(self.lr) and self.lr > 0,
            f"--lr must be a positive number, not {number_text(self.lr)}",
            "for example --lr 0.01",
        )
        need(self.steps >= 0, f"--steps must be 0 or more, not {self.steps}")
        need(
            self.tol is None or (finite(self.tol) and self.tol >= 0),
            "--tol must be a number ≥ 0",
            "for example --tol 1e-6",
        )
        need(
            finite(self.momentum) and 0 <= self.momentum < 1,
            "--momentum must be in [0, 1)",
            "0.9 is usual",
        )
        need(
            finite(self.beta1) and 0 <= self.beta1 < 1, "--beta1 must be in [0, 1)", "0.9 is usual"
        )
        need(
            finite(self.beta2) and 0 <= self.beta2 < 1,
            "--beta2 must be in [0, 1)",
            "0.999 is usual",
        )
        need(
            finite(self.alpha) and 0 <= self.alpha < 1, "--alpha must be in [0, 1)", "0.99 is usual"
        )
        need(finite(self.eps) and self.eps > 0, "--eps must be a positive number", "1e-8 is usual")
        need(
            finite(self.damping) and self.damping >= 0,
            "--damping must be a number ≥ 0",
            "0 (the plain Newton step) is the default",
        )
        need(self.target is None or finite(self.target), "--target must be a finite number")
        need(
            not (self.maximize and self.target is not None),
            "--maximize and --target do not go together",
            "--target minimises the squared error (f - T)²; drop --maximize",
        )
        need(self.every is None or self.every >= 1, "--every must be 1 or more")
        csv, plot = self.csv_file, self.plot_file
        need(  # the picture would be written over the trace ('-' for both is said elsewhere)
            csv is None or plot is None or str(csv) == "-" or not _same_path(csv, plot),
            f"--csv and --plot both write {csv}",
            "give each its own file",
        )
        self._validate_data(need)

    def _validate_data(self, need) -> None:
        if self.data is None:
            for option, value in (
                ("--target-column", self.target_column),
                ("--loss", self.loss),
                ("--batch", self.batch),
                ("--epochs", self.epochs),
            ):
                need(
                    value is None, f"{option} goes with --data", "train on a data file: --data FILE"
                )
            return
        from .training import LOSSES  # (a descent without --data never imports training)

        need(
            self.loss is None or self.loss in LOSSES,
            f"unknown loss {self.loss!r}",
            f"choose one of {', '.join(LOSSES)}",
        )
        need(
            not (self.target is not None and self.target_column is not None),
            "--target and --target-column do not go together",
            "--target T compares every row with T; --target-column y with its own y",
        )
        need(
            not self.maximize,
            "--maximize does not go with --data",
            "--data minimises the mean loss over the rows",
        )
        need(
            not self.update_rule().hessian,
            f"--optimizer {self.optimizer} does not go with --data",
            "its Hessian is the formula's at one point, not the data objective's; "
            "use sgd, momentum, adam, rmsprop or adagrad",
        )
        need(self.batch is None or self.batch >= 1, "--batch must be 1 or more")
        need(self.epochs is None or self.epochs >= 0, "--epochs must be 0 or more")

    def update_rule(self):
        """The optimizer's update for these settings (gradcli.core.optimizers.Update)."""
        return OPTIMIZER_RULES[self.optimizer].rule(
            Settings(
                self.lr, self.momentum, self.beta1, self.beta2, self.alpha, self.eps, self.damping
            )
        )


class Step(NamedTuple):  # a NamedTuple: made once per step, 4x cheaper than a frozen dataclass
    """One point of the run. `gradient` is of the objective being descended: f, or
    (f - target)² with a target; `loss` is that squared error (None without a target)."""

    step: int
    value: float  # f at `point`
    point: tuple[float, ...]  # the parameters, in the order of Result.params
    gradient: tuple[float, ...]
    norm: float  # Euclidean norm of `gradient`
    loss: float | None = None
    accuracy: float | None = None  # on data with 0/1 targets: the share with f ≥ 0.5 right


@dataclass(frozen=True, slots=True)
class Result:
    params: tuple[str, ...]
    fixed: dict[str, float]  # the data inputs, unchanged
    config: DescendConfig
    first: Step
    last: Step  # the last good step: the final point, or the last one before divergence
    stopped: str  # "steps" | "converged" | "diverged" | "interrupted"
    reason: str  # why, in words
    error: GradcliError | None = None  # what went wrong, when diverged
    failed_step: int | None = None  # the step that could not be computed
    hint: str | None = None

    @property
    def steps(self) -> int:
        """Updates taken to reach the final point."""
        return self.last.step

    @property
    def final(self) -> dict[str, float]:
        return dict(zip(self.params, self.last.point))

    @property
    def exit_code(self) -> int:
        if self.stopped == "steps":
            return NOT_CONVERGED if self.config.tol is not None else ExitCode.OK
        return int(EXIT_CODES[self.stopped])


def make_gradient_fn(tape: Tape, point: Mapping[str, float], params: Sequence[str]) -> GradientFn:
    """gradient(xs) -> (f, [df/dp for p in params]) with the other inputs held at `point`.
    Raises DomainError.

    Small graphs run as generated straight-line code (gradcli/core/compiled.py), bit-for-bit the
    tape's numbers; where that code meets an error, the tape reruns the point to report it.
    Such a function carries its sweeps as `.sweeps`, from which Descent generates its loop.
    Large graphs, where compiling costs more than it saves, run the tape's two sweeps."""
    inputs = tape.graph.inputs
    nodes = [inputs[p] for p in params]
    output = tape.graph.output
    where = dict(point)
    names = list(params)
    forward, backward = tape.forward, tape.backward

    def on_tape(xs: Sequence[float]) -> tuple[float, list[float]]:
        for name, x in zip(names, xs):
            where[name] = x
        values = forward(where)
        grads = backward(values)
        return values[output], [grads[n] for n in nodes]

    if len(tape.graph.ops) > MAX_NODES:
        return on_tape
    fixed = {n: v for n, v in point.items() if n not in params}
    code = sweeps(tape.graph, names, fixed)
    run = None

    def compiled(xs: Sequence[float]) -> tuple[float, list[float]]:
        nonlocal run
        if run is None:  # compiled when first called: Descent runs its generated loop, and
            # calls this only for a step that loop cannot compute
            run = build(*run_source(code), "run")
        try:
            return run(*xs)
        except FastPathFailed:
            return on_tape(xs)  # raises the DomainError that names the node

    compiled.sweeps = code  # type: ignore[attr-defined]  # for the generated loop (Descent)
    return compiled


def call_sweeps(n: int) -> Sweeps:
    """The gradient computed by calling `gradient` (Descent's gradient function), as Sweeps
    over the variables p0, p1, ... for loop_source: the loop of graphs without generated
    sweeps, and of the steps after one the sweeps could not compute."""
    ps = [f"p{i}" for i in range(n)]
    gs = [f"d{i}" for i in range(n)]
    call = f"value, ({unpack(gs)}) = gradient(({unpack(ps)}))"
    return Sweeps(ps, [call], "value", [], "value", gs, {})


def loop_source(
    code: Sweeps, config: DescendConfig, accuracy: str = "None", helpers: dict | None = None
) -> tuple[str, dict]:
    """Source of Descent's loop as one generator function over the sweeps `code`, and the
    namespace it runs in. `loop(descent, k, xs, opt, gradient)` runs from step k at the point
    xs, with the optimizer's state opt, and yields a Step per step, setting descent.first
    (step 0) and descent.last. It returns None when it stops at descent.last (--tol reached or
    all steps taken), or the step it could not compute (an error, a value that is not
    finite), with xs and opt left at that step. `accuracy` is the Step's accuracy, as an
    expression of the loop (the data objective's: gradient.accuracy). `helpers`: names the
    optimizer's lines call."""
    xs, grads = code.params, code.grads
    gs = [f"G{i}" for i in range(len(xs))]  # the gradient of the objective
    loss, finite = "None", "isfinite(norm)"
    if config.target is not None:
        objective = [
            f"error = {code.value} - {literal(config.target)}",
            "loss = error * error",
            "scale = 2.0 * error",
            *(f"{G} = scale * ({g})" for G, g in zip(gs, grads)),
        ]
        loss, finite = "loss", "isfinite(norm) and isfinite(loss)"
    elif config.maximize:
        objective = [f"{G} = -({g})" for G, g in zip(gs, grads)]
    else:
        objective = [f"{G} = {g}" for G, g in zip(gs, grads)]
    stops = [f"if norm < {literal(config.tol)}:", "    return"] if config.tol is not None else []
    stops += [f"if k >= {int(config.steps)}:", "    return"]
    value = "loss" if config.target is not None else code.value
    update = lines(config.update_rule(), xs, gs, f"-({value})" if config.maximize else value)
    body = [
        "try:",
        *indent(code.forward or ["pass"], 1),
        "except (ArithmeticError, ValueError, DomainError):",
        "    break",
        f"if not isfinite({code.check}):",
        "    break",
        "try:",
        *indent(code.backward or ["pass"], 1),
        "except (ArithmeticError, ValueError):",
        "    break",  # the plain loop says why
        *objective,
        f"norm = hypot({', '.join(gs)})",
        f"if not ({finite}):",
        "    break",
        f"descent.last = step = new(Step, (k, {code.value}, ({unpack(xs)}), "
        f"({unpack(gs)}), norm, {loss}, {accuracy}))",
        "if not k:",
        "    descent.first = step",
        "yield step",
        *stops,
        *update.step,
        "k += 1",
    ]
    lines_ = [
        "def loop(descent, k, xs, opt, gradient):",
        f"    {unpack(xs)} = xs",
        *indent(update.load, 1),
        "    while True:",
        *indent(body, 2),
        f"    xs[:] = [{', '.join(xs)}]",
        *indent(update.save, 1),
        "    return k",
    ]
    # Step(...) runs NamedTuple's Python-level __new__; tuple.__new__ makes the same record in
    # a fraction of the time (a sixth of a step on the neuron)
    namespace = {
        **code.namespace,
        "hypot": math.hypot,
        "sqrt": math.sqrt,
        "isfinite": math.isfinite,
        "Step": Step,
        "new": tuple.__new__,
        "DomainError": DomainError,
        **(helpers or {}),
    }
    return "\n".join(lines_) + "\n", namespace


class Descent:
    """Iterate to run: yields Step 0 (the start), then one Step after each update. The first
    evaluation raises a GradcliError if the start itself is unusable; later failures end the
    run as "diverged". `result()` summarises the run so far, also after an interruption."""

    def __init__(
        self,
        tape: Tape,
        point: Mapping[str, float],
        config: DescendConfig,
        gradient_fn: GradientFn | None = None,
    ) -> None:
        config.validate()
        graph = tape.graph
        params = tuple(graph.inputs) if config.params is None else tuple(config.params)
        unknown = [p for p in params if p not in graph.inputs]
        if not graph.inputs:
            raise UsageError(
                "the formula has no inputs, so there is nothing to descend on",
                hint="descend on a formula of inputs, e.g. (x - 3)^2 x=0",
            )
        if unknown or not params:
            raise UsageError(
                f"--wrt names {', '.join(unknown) or 'nothing'}, which is not an input",
                hint=f"the inputs are {', '.join(graph.inputs) or '(none)'}",
            )
        self.tape, self.config, self.params = tape, config, params
        self.start = [float(point[p]) for p in params]
        self.fixed = {n: v for n, v in point.items() if n not in params}
        self.gradient = gradient_fn or make_gradient_fn(tape, point, params)
        code = getattr(self.gradient, "sweeps", None)  # the gradient is generated code
        helpers = {}
        if config.update_rule().hessian:
            from .newton import NewtonStep

            helpers["o_newton"] = NewtonStep(
                tape, point, params, config.lr, config.target, config.maximize
            )
        # the loops, in the order they run: the sweeps' own while they can go on, then the
        # one calling the gradient function (which also says why a step fails)
        accuracy = "gradient.accuracy" if hasattr(self.gradient, "accuracy") else "None"
        self.loops = [
            build(*loop_source(c, config, accuracy, helpers), "loop")
            for c in (code, call_sweeps(len(params)))
            if c is not None
        ]
        self.first: Step | None = None
        self.last: Step | None = None
        self._outcome: tuple | None = None

    # -- the loop -----------------------------------------------------------------------------
    def __iter__(self) -> Iterator[Step]:
        state = fresh_state(self.config.update_rule(), len(self.params))
        xs = list(self.start)
        k: int | None = 0
        for loop in self.loops:
            k = yield from loop(self, k, xs, state, self.gradient)
            if k is None:  # it stopped at self.last
                self._finished(self.last)
                return
        self._report(k, xs)

    def _report(self, k: int, xs: list[float]) -> None:
        """Why step k, at xs, cannot be computed (at step 0: raised)."""
        config, graph = self.config, self.tape.graph
        try:
            value, grads = self.gradient(xs)
        except DomainError as exc:
            if k == 0:
                raise
            if graph.ops[exc.node] == INPUT:  # the last update left a parameter at ±inf
                bad = graph.names[exc.node]
                return self._diverged(
                    k,
                    GradcliError(
                        f"the step sent {bad} to {number_text(xs[self.params.index(bad)])}"
                    ),
                    "the update overflowed",
                )
            what = "f overflows" if "overflows" in exc.message else "f is undefined"
            return self._diverged(k, exc, what)
        loss = None
        if config.target is not None:
            error = value - config.target
            loss = error * error
            grads = [2.0 * error * g for g in grads]
        elif config.maximize:
            grads = [-g for g in grads]
        return self._not_finite(k, value, grads, loss)

    def _finished(self, step: Step) -> bool:
        """Whether the run ends at this step: --tol reached, or all steps taken (and why)."""
        config = self.config
        if config.tol is not None and step.norm < config.tol:
            self._outcome = (
                "converged",
                f"the gradient norm {number_text(step.norm)} fell "
                f"below --tol {number_text(config.tol)}",
                None,
                None,
                None,
            )
            return True
        if step.step >= config.steps:
            taken = f"took all {config.steps} steps" if config.steps else "took no step"
            self._outcome = ("steps", taken, None, None, None)
            return True
        return False

    def _not_finite(self, k: int, value: float, grads: list[float], loss: float | None):
        if not isfinite_all(grads):
            name = next(p for p, g in zip(self.params, grads) if not math.isfinite(g))
            g = grads[self.params.index(name)]
            what = "undefined" if math.isnan(g) else "infinite"
            message = f"the gradient with respect to {name} is {what}"
        elif loss is not None and not math.isfinite(loss):
            message = f"the squared error (f - target)² overflows at f = {number_text(value)}"
        else:
            message = "the gradient is too large for a double"
        if k == 0:
            raise GradcliError(
                message + " at the starting point",
                hint="start from another point or leave that input out of --wrt",
            )
        exc = GradcliError(message)
        return self._diverged(k, exc, message)

    def _diverged(self, k: int, exc: GradcliError, reason: str) -> None:
        smaller = number_text(self.config.lr / 10)
        hint = f"the learning rate may be too large: try --lr {smaller}" + (
            " or another starting point" if isinstance(exc, DomainError) else ""
        )
        self._outcome = ("diverged", f"{reason} at step {k}", exc, k, hint)

    # -- the summary --------------------------------------------------------------------------
    def result(self, interrupted: bool = False) -> Result:
        """The summary so far. Call it after the loop has started (step 0 exists)."""
        if self.first is None or self.last is None:
            raise RuntimeError("the run has not produced its first step")
        if self._outcome is not None:
            stopped, reason, error, failed, hint = self._outcome
        elif interrupted:
            stopped, reason, error, failed, hint = (
                "interrupted",
                f"interrupted after {self.last.step} steps",
                None,
                None,
                None,
            )
        else:
            raise RuntimeError("the run has not finished")
        if stopped == "steps" and self.config.target is None:
            grew = (
                self.last.value > self.first.value
                if not self.config.maximize
                else self.last.value < self.first.value
            )
            if grew:
                hint = (
                    "f moved away from the "
                    + ("maximum" if self.config.maximize else "minimum")
                    + f"; the learning rate may be too large: try --lr "
                    f"{number_text(self.config.lr / 10)}"
                )
        return Result(
            self.params,
            dict(self.fixed),
            self.config,
            self.first,
            self.last,
            stopped,
            reason,
            error,
            failed,
            hint,
        )


class Thinned:
    """A bounded sample of a long trace: every `stride`-th step, the stride doubling whenever
    more than `cap` are kept, so memory stays O(cap) however many steps run."""

    def __init__(self, cap: int = 512) -> None:
        self.cap, self.stride = cap, 1
        self.steps: list[Step] = []

    def add(self, step: Step) -> None:
        if step.step % self.stride == 0:
            self.steps.append(step)
            if len(self.steps) > self.cap:
                self.stride *= 2
                self.steps = [s for s in self.steps if s.step % self.stride == 0]


def objective_fn(
    tape: Tape, point: Mapping[str, float], params: Sequence[str], target: float | None = None
) -> Callable[[Sequence[float]], float]:
    """The descended objective (f, or (f - target)²) at given parameters; nan where undefined.
    For pictures of the landscape, not for the loop."""
    where = dict(point)
    output = tape.graph.output

    def objective(xs: Sequence[float]) -> float:
        for name, x in zip(params, xs):
            where[name] = x
        try:
            f = tape.forward(where)[output]
        except DomainError:
            return math.nan
        return f if target is None else (f - target) ** 2

    return objective


def isfinite_all(xs: Sequence[float]) -> bool:
    return all(map(math.isfinite, xs))


def run_to_end(
    tape: Tape, point: Mapping[str, float], config: DescendConfig
) -> tuple[Result, list[Step]]:
    """Run to the end and return the result and the whole trace."""
    descent = Descent(tape, point, config)
    trace = list(descent)
    return descent.result(), trace


def default_every(steps: int, rows: int = 20) -> int:
    """Show every N-th step so that a run of `steps` steps has at most about `rows` rows."""
    return max(1, -(-steps // rows))
