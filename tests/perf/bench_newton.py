"""Second derivatives and Newton's method: the Hessian's size and cost, and a Newton step
against an sgd step, as the number of parameters grows.

Run: .venv/bin/python tests/perf/bench_newton.py [--params 25,50,100,200,400] [--steps 10]
For two shapes of formula with n parameters, a banded one (the chained Rosenbrock function,
whose Hessian is tridiagonal) and a dense one (a squared dot product plus a sum, whose Hessian
is full), it prints the time to build the Hessian's formulas, their size (expression nodes),
the time of one Newton step (Hessian evaluated, solved, trial point) and of one sgd step, and
their ratio; the growth columns compare each row with the one before (×2 parameters). Then the
Hessian of the chain and of bench.py's random DAGs against the gradient's size: no recursion,
and the second pass shares what the first built.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

from bench import chain_dag, formula_text  # noqa: E402
from bench_eval import time_it  # noqa: E402

from gradcli.core import symbolic  # noqa: E402
from gradcli.core.descend import DescendConfig, Descent  # noqa: E402
from gradcli.core.engine import Tape  # noqa: E402
from gradcli.core.hessian import second_derivatives  # noqa: E402
from gradcli.core.syntax import parse  # noqa: E402


def banded(n: int) -> str:
    return " + ".join(f"100*(x{i + 1} - x{i}^2)^2 + (1 - x{i})^2" for i in range(n - 1))


def dense(n: int) -> str:
    dot = " + ".join(f"{(i % 7) - 3}*x{i}" for i in range(n))
    return f"s = {dot}; (s - 1)^2 + " + " + ".join(f"exp(x{i}) - x{i}" for i in range(n))


def per_step(source: str, n: int, optimizer: str, steps: int) -> float:
    """Seconds per step: a run of `steps` steps less a run of none (building the loop, and
    for newton the Hessian's formulas, and step 0), divided by `steps`."""
    tape = Tape(parse(source))
    point = {f"x{i}": 0.5 for i in range(n)}
    lr = 1e-4 if optimizer == "sgd" else None

    def run(k: int) -> None:
        for _ in Descent(tape, point, DescendConfig(optimizer=optimizer, steps=k, lr=lr)):
            pass

    return (time_it(lambda: run(steps), 3) - time_it(lambda: run(0), 3)) / steps


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--params", default="25,50,100,200,400")
    parser.add_argument("--steps", type=int, default=10)
    args = parser.parse_args()
    sizes = [int(s) for s in args.params.split(",")]
    print(
        f"{'shape':<7}{'params':>7}{'build s':>9}{'H nodes':>9}{'newton ms':>11}{'sgd ms':>8}"
        f"{'newton/sgd':>12}{'build ×':>9}{'step ×':>8}"
    )
    for shape, make in (("banded", banded), ("dense", dense)):
        previous = None
        for n in sizes:
            graph = parse(make(n))
            build = time_it(lambda: second_derivatives(graph), 3)  # noqa: B023
            nodes = len(second_derivatives(graph).derivation.expr.ops)
            newton = per_step(make(n), n, "newton", args.steps)
            sgd = per_step(make(n), n, "sgd", 100 * args.steps)
            growth = (
                ("", "")
                if previous is None
                else (f"{build / previous[0]:.1f}", f"{newton / previous[1]:.1f}")
            )
            print(
                f"{shape:<7}{n:>7}{build:>9.3f}{nodes:>9}{newton * 1e3:>11.2f}{sgd * 1e3:>8.3f}"
                f"{newton / sgd:>12.0f}{growth[0]:>9}{growth[1]:>8}"
            )
            previous = (build, newton)
    print()
    print(f"{'formula':<22}{'gradient nodes':>15}{'Hessian nodes':>15}{'ratio':>7}{'build s':>9}")
    for label, text in (
        ("chain 10,000 deep", formula_text(chain_dag(10_000))),
        ("chain 100,000 deep", formula_text(chain_dag(100_000))),
    ):
        graph = parse(text)
        first = len(symbolic.derive(graph).expr.ops)
        build = time_it(lambda: second_derivatives(graph), 1)  # noqa: B023
        second = len(second_derivatives(graph).derivation.expr.ops)
        print(f"{label:<22}{first:>15}{second:>15}{second / first:>7.1f}{build:>9.2f}")


if __name__ == "__main__":
    main()
