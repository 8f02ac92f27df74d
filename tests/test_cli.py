"""The installed `grad` command, run as a user runs it."""

import pytest
from conftest import strict_json

NEURON = "1/(1 + exp(-(w0*x0 + w1*x1 + w2)))"
NEURON_POINT = ["w0=2", "x0=-1", "w1=-3", "x1=-2", "w2=-3"]


def assert_clean_failure(result, code):
    assert result.returncode == code, (result.stdout, result.stderr)
    assert result.stdout == ""
    assert "Traceback" not in result.stderr
    assert result.stderr.startswith("error: ")


def test_eval_prints_tree_and_gradient_table(grad):
    result = grad("eval", "q = x + y; f = q * z", "x=-2", "y=5", "z=-4")
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "f = q * z" in out and "q = x + y" in out
    assert "value -12" in out and "value 3   grad -4" in out
    assert "∂f/∂input" in out
    assert "\x1b[" not in out  # no colour codes when not a terminal / NO_COLOR


def test_json_is_strict_and_complete(grad):
    result = grad("eval", NEURON, *NEURON_POINT, "--json")
    data = strict_json(result.stdout)
    assert set(data) == {"value", "gradient", "nodes", "output", "diagnostics"}
    assert data["diagnostics"] == []
    assert data["value"] == pytest.approx(0.7310585786300049, rel=1e-12)
    assert data["gradient"]["x1"] == pytest.approx(-0.5898357997244456, rel=1e-12)
    ids = [n["id"] for n in data["nodes"]]
    assert ids == list(range(len(ids))) and data["output"] == ids[-1]
    for node in data["nodes"]:
        assert set(node) == {"id", "op", "name", "inputs", "value", "grad"}
        assert all(i < node["id"] for i in node["inputs"])


def test_json_undefined_gradient_is_null(grad):
    result = grad("eval", "x ^ n", "x=-2", "n=2", "--json")
    assert result.returncode == 0
    data = strict_json(result.stdout)
    assert data["gradient"] == {"x": -4.0, "n": None}
    assert "undefined" in result.stderr


def test_negative_base_integer_power_with_constant_exponent(grad):
    result = grad("eval", "(x - 3)^2", "x=1", "--json")
    data = strict_json(result.stdout)
    assert data["value"] == 4.0 and data["gradient"] == {"x": -4.0}
    assert None in [n["grad"] for n in data["nodes"]]  # the exponent's gradient


def test_wrt_and_digits(grad):
    result = grad("eval", NEURON, *NEURON_POINT, "--wrt", "w0,w2", "--json")
    assert strict_json(result.stdout)["gradient"].keys() == {"w0", "w2"}
    result = grad("eval", NEURON, *NEURON_POINT, "--digits", "3")
    assert "0.731" in result.stdout and "-0.197" in result.stdout
    result = grad("eval", "x + 1", "x=1", "--wrt", "q")
    assert_clean_failure(result, 2)


def test_check_shows_numerical_derivative_and_verdict(grad):
    result = grad("eval", NEURON, *NEURON_POINT, "--check")
    assert result.returncode == 0
    assert "numerical" in result.stdout and "good" in result.stdout
    data = strict_json(grad("eval", NEURON, *NEURON_POINT, "--check", "--json").stdout)
    for row in data["check"]:
        assert row["verdict"] == "good" and row["rel_error"] <= 1e-7
        assert row["numeric"] == pytest.approx(data["gradient"][row["name"]], rel=1e-7)


def test_formula_starting_with_minus(grad):
    result = grad("eval", "-x^2 + 1", "x=3", "--json")
    assert result.returncode == 0, result.stderr
    data = strict_json(result.stdout)
    assert data["value"] == -8 and data["gradient"] == {"x": -6}
    assert strict_json(grad("eval", "-x", "x=3", "--json").stdout)["value"] == -3
    assert strict_json(grad("eval", "--json", "-x*2", "x=3").stdout)["value"] == -6


def test_file_and_stdin(grad, tmp_path):
    program = tmp_path / "neuron.grad"
    program.write_text(
        "w0 = 2; x0 = -1; w1 = -3; x1 = -2; w2 = -3\nf = sigmoid(w0*x0 + w1*x1 + w2)\n"
    )
    data = strict_json(grad("eval", "-f", str(program), "--json").stdout)
    assert data["value"] == pytest.approx(0.7310585786300049, rel=1e-12)
    data = strict_json(grad("eval", "-f", str(program), "w2=0", "--json").stdout)
    assert data["value"] == pytest.approx(1 / (1 + 2.718281828459045**-4), rel=1e-12)
    data = strict_json(grad("eval", "-", "x=2", "--json", input="x * x\n").stdout)
    assert data["gradient"] == {"x": 4}
    assert_clean_failure(grad("eval", "-f", str(tmp_path / "missing.grad")), 2)


def test_unused_binding_is_a_warning(grad):
    result = grad("eval", "x + 1", "x=1", "zz=3", "--json")
    assert result.returncode == 0
    assert "warning" in result.stderr and "zz" in result.stderr


@pytest.mark.parametrize(
    "args,code,words",
    [
        (["1 + * 2"], 3, ["unexpected '*'", "^"]),
        (["(x + 1", "x=1"], 3, ["expression ends too soon", "')'"]),
        (["lg(x)", "x=1"], 3, ["unknown function 'lg'", "did you mean log"]),
        (["log(x, 2)", "x=1"], 3, ["log takes 1 argument, got 2"]),
        (["x * y + z", "y=1"], 2, ["no value for x and z"]),
        (["x + 1", "x=abc"], 2, ["NAME=NUMBER"]),
        (["x + 1", "x"], 2, ["NAME=NUMBER"]),
        (["1 + log(x)", "x=-1"], 1, ["log(-1)", "x > 0", "^~~~~~"]),
        (["sqrt(x)", "x=-1"], 1, ["sqrt(-1)"]),
        (["x / y", "x=1", "y=0"], 1, ["division by zero"]),
        (["x ^ -2", "x=0"], 1, ["negative power"]),
        (["x ^ 0.5", "x=-1"], 1, ["integer exponent"]),
        (["asin(x)", "x=2"], 1, ["asin(2)"]),
        (["exp(x)", "x=1000"], 1, ["exp(1000)", "too large"]),
        (["x * y", "x=1e200", "y=1e200"], 1, ["too large"]),
    ],
)
def test_errors_are_clear_messages_with_exit_codes(grad, args, code, words):
    result = grad("eval", *args)
    assert_clean_failure(result, code)
    for word in words:
        assert word in result.stderr
    json_result = grad("eval", *args, "--json")
    assert_clean_failure(json_result, code)


def test_caret_points_at_the_failing_part(grad):
    result = grad("eval", "x + log(y - 3)", "x=1", "y=2")
    lines = result.stderr.splitlines()
    source = next(i for i, line in enumerate(lines) if "x + log(y - 3)" in line)
    caret = lines[source + 1]
    assert caret.index("^") == lines[source].index("log")
    assert caret.rstrip().endswith("~") and len(caret.strip()) == len("log(y - 3)")


def test_large_graph_is_shortened(grad):
    formula = " + ".join(f"sin(x{i % 7} * {i})" for i in range(3000))
    point = [f"x{i}=0.{i + 1}" for i in range(7)]
    result = grad("eval", formula, *point)
    assert result.returncode == 0
    assert "Use --json for every node" in result.stdout
    assert len(result.stdout) < 60_000


def test_help_version_ops(grad):
    top = grad("--help")
    assert top.returncode == 0 and "grad eval '(x + y) * z' x=-2 y=5 z=-4" in top.stdout
    sub = grad("eval", "--help")
    assert "--check" in sub.stdout and "--json" in sub.stdout and "grad eval" in sub.stdout
    version = grad("--version")
    assert version.returncode == 0 and version.stdout.startswith("grad ")
    ops = grad("ops")
    for name in ["sigmoid", "softplus", "relu", "max", "log2", "atan", "swapper", "router"]:
        assert name in ops.stdout
    assert "--install-completion" in top.stdout


def test_version_is_the_installed_one(grad):
    """`grad --version` reads gradcli.__version__ (fast); it must be what pip installed, and
    said the same way when the flag comes with other words (answered by typer then)."""
    from importlib.metadata import version

    expected = f"grad {version('gradcli')}\n"
    assert grad("--version").stdout == expected
    assert grad("--version", "ops").stdout == expected


def test_a_mistyped_command_gets_one_suggestion(grad):
    result = grad("evl", "x", "x=1")
    assert result.returncode == 2
    assert "No such command 'evl'" in result.stderr
    assert result.stderr.count("Did you mean") == 1 and "'eval'" in result.stderr


def test_the_entry_point_leaves_the_collector_running(monkeypatch, capsys):
    import gc

    from gradcli import start

    monkeypatch.setattr("sys.argv", ["grad", "eval", "x * 2", "x=3", "--json"])
    try:
        with pytest.raises(SystemExit) as stop:
            start.main()
        assert stop.value.code == 0 and gc.isenabled()
        assert strict_json(capsys.readouterr().out)["gradient"] == {"x": 2}
    finally:
        gc.unfreeze()


def test_python_dash_m(tmp_path):
    import subprocess
    import sys

    result = subprocess.run(
        [sys.executable, "-m", "gradcli", "eval", "x*y", "x=2", "y=3", "--json"],
        capture_output=True,
        text=True,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert strict_json(result.stdout)["gradient"] == {"x": 3, "y": 2}


def test_a_shared_node_is_drawn_once_then_referred_to(grad):
    result = grad("eval", "q = x + y; f = q * q + q", "x=1", "y=2")
    assert result.returncode == 0
    assert result.stdout.count("q = x + y") == 1
    assert result.stdout.count("↑ q (shown above)") == 2
    unnamed = grad("eval", "exp(x + y) * (x + y)", "x=0", "y=0")  # two separate x + y nodes
    assert unnamed.stdout.count("x + y") == 2


def test_deep_formula_tree_is_bounded(grad, tmp_path):
    path = tmp_path / "deep.txt"
    path.write_text("(" * 20_000 + "x" + " * 1.0001)" * 20_000)
    result = grad("eval", "-f", str(path), "x=1")
    assert result.returncode == 0, result.stderr[-500:]
    assert "deeper nodes not shown" in result.stdout or "Use --json" in result.stdout
    assert len(result.stdout) < 100_000


def test_a_very_wide_max_keeps_its_label_short(grad):
    formula = "max(" + ", ".join(f"x * {i}" for i in range(5000)) + ")"
    result = grad("eval", formula, "x=1", "--digits", "3")
    assert result.returncode == 0
    first = result.stdout.splitlines()[1]
    assert first.startswith("max(") and "… 4996 more" in first and len(first) < 200


def test_help_documents_the_arguments(grad):
    result = grad("eval", "--help")
    assert "NAME=VALUE" in result.stdout and "standard input" in result.stdout
