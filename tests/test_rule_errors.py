"""An op whose derivative rule raises (a defect of the op table, such as cbrt's 1/(3·out²) at
0) gives a clear evaluation error naming the op and the node, never a traceback: in eval, the
explanation, the diagnostics and descent."""

import subprocess
import sys

import pytest

from gradcli.core import ops
from gradcli.core.diagnostics import diagnose
from gradcli.core.engine import Tape
from gradcli.core.errors import DomainError, ExitCode
from gradcli.core.explain import explain
from gradcli.core.syntax import parse

# Replaces cbrt by a copy whose partials rule divides by 0 at 0; "grads" says whether its grads
# rule (what the backward pass uses) is that same product or a correct quotient, so that only
# the explanation and the diagnostics meet the defect.
PATCH = """
import sys
from gradcli.core import ops
good = ops.OPS["cbrt"]
bad = good._replace(partials=lambda x, out: (1.0 / (3.0 * out * out),), py_grads=None)
if sys.argv[1] == "product":
    bad = bad._replace(grads=ops._product_rule(bad.partials, False))
ops.OPS["cbrt"] = ops.FUNCTIONS["cbrt"] = bad
sys.argv = ["grad", *sys.argv[2:]]
from gradcli.start import main
main()
"""


def run(rule: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", PATCH, rule, *args],
        capture_output=True,
        text=True,
        env={"NO_COLOR": "1", "COLUMNS": "120", "PATH": ""},
        timeout=60,
    )


@pytest.mark.parametrize(
    "rule,args",
    [
        ("product", ("eval", "2 * cbrt(x)", "x=0")),
        ("product", ("eval", "2 * cbrt(x)", "x=0", "--json")),
        ("product", ("descend", "cbrt(x) + x^2", "x=0")),
        ("product", ("descend", "cbrt(x) + x^2", "x=0", "--json")),
        ("product", ("descend", "x^2 + 0*cbrt(x)", "x=1", "--lr", "0.5")),  # meets it at step 1
        ("quotient", ("eval", "2 * cbrt(x)", "x=0")),  # the diagnostics meet it
        ("quotient", ("eval", "2 * cbrt(x)", "x=0", "--explain")),
    ],
)
def test_a_rule_that_raises_is_an_evaluation_error(rule, args):
    result = run(rule, *args)
    assert result.returncode == ExitCode.EVAL, result.stderr
    # (text-mode descend reports a divergence on stdout for now)
    said = result.stderr + (result.stdout if args[0] == "descend" else "")
    assert "Traceback" not in said
    assert "the derivative of cbrt at cbrt(0) cannot be computed (ZeroDivisionError" in said
    assert "cbrt(x)" in said  # the excerpt points at the node


def test_explain_and_diagnose_report_the_node(monkeypatch):
    good = ops.OPS["cbrt"]
    monkeypatch.setitem(
        ops.OPS, "cbrt", good._replace(partials=lambda x, out: (1.0 / (3.0 * out * out),))
    )
    graph = parse("2 * cbrt(x)")
    ev = Tape(graph).evaluate({"x": 0.0})  # the backward pass uses the good grads rule
    for report in (explain, diagnose):
        with pytest.raises(DomainError, match="derivative of cbrt") as caught:
            report(ev)
        assert graph.ops[caught.value.node] == "cbrt"
