"""`grad plot`: the installed command in subprocesses, and the terminal renderer in-process at
40 and 120 columns, with and without colour."""

import io
import struct
from pathlib import Path

import pytest
from conftest import strict_json
from rich.console import Console

from gradcli.core.engine import Tape
from gradcli.core.sample import axis, mark, sample
from gradcli.core.syntax import parse
from gradcli.output.render_plot import Plot

ESC = "\x1b["


def no_traceback(result):
    assert "Traceback" not in result.stderr and "Traceback" not in result.stdout


# ---- JSON --------------------------------------------------------------------------------


def test_json_samples_equal_grad_eval_bit_for_bit(grad):
    source = "log(x) * sin(3*x) + relu(x - 1) * y^2"
    result = grad("plot", source, "x=-1:3", "y=0.7", "--points", "9", "--json")
    assert result.returncode == 0, result.stderr
    data = strict_json(result.stdout)
    assert data["inputs"] == ["x"] and data["fixed"] == {"y": 0.7}
    assert data["ranges"] == {"x": {"from": -1.0, "to": 3.0, "points": 9}}
    samples = data["samples"]
    assert [s["point"]["x"] for s in samples] == [-1.0 + 0.5 * i for i in range(9)]
    checked = 0
    for s in samples[::2]:
        x = s["point"]["x"]
        ev = grad("eval", source, f"x={x!r}", "y=0.7", "--json")
        if s["value"] is None:  # a gap: grad eval says why
            assert ev.returncode == 1 and s["gradient"] == {"x": None}
            continue
        reference = strict_json(ev.stdout)
        assert s["value"] == reference["value"]
        assert s["gradient"]["x"] == reference["gradient"]["x"]
        checked += 1
    assert checked >= 2


def test_json_over_two_inputs_runs_row_by_row_with_the_point(grad):
    result = grad(
        "plot",
        "x^2 * y",
        "x=0:1",
        "y=-1:1",
        "--points",
        "3",
        "--json",
        "--at",
        "x=0.5",
        "--at",
        "y=1",
    )
    data = strict_json(result.stdout)
    points = [(s["point"]["x"], s["point"]["y"]) for s in data["samples"]]
    assert points == [(x, y) for y in (-1.0, 0.0, 1.0) for x in (0.0, 0.5, 1.0)]
    assert [s["value"] for s in data["samples"]][:3] == [-0.0, -0.25, -1.0]
    assert data["samples"][5]["gradient"] == {"x": 0.0, "y": 1.0}
    assert data["at"] == {
        "point": {"x": 0.5, "y": 1.0},
        "value": 0.25,
        "gradient": {"x": 1.0, "y": 0.25},
    }


def test_json_default_sampling_is_200_points(grad):
    data = strict_json(grad("plot", "x^2", "x=0:1", "--json").stdout)
    assert len(data["samples"]) == 200


# ---- errors ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args, message",
    [
        (("x^2", "x=1"), "no range to plot over"),
        (("x*y*z", "x=0:1", "y=0:1", "z=0:1"), "one or two different inputs"),
        (("x*y", "x=0:1", "x=2:3", "y=1"), "one or two different inputs"),
        (("x^2", "y=0:1", "x=1"), "y is not an input of the formula"),
        (("x^2", "x=1:0"), "the range is empty"),
        (("x^2", "x=0:1", "x=0.5"), "both a range and a value"),
        (("x^2", "x=0:1", "--at", "x=2"), "outside the range"),
        (("x*y", "x=0:1", "y=0:1", "--at", "x=0.5"), "no value for y"),
        (("x*y", "x=0:1", "y=1", "--at", "y=1"), "does not range over"),
        (("x^2", "x=0:1", "--svg", "p.png"), "ends in .png"),
        (("x^2", "x=0:1", "--points", "1"), "--points"),
        (("x*y", "x=0:1", "y=0:1", "--points", "501"), "at most 500 per input"),
    ],
)
def test_usage_errors(grad, args, message):
    result = grad("plot", *args)
    assert result.returncode == 2, result.stdout
    assert message in result.stderr and result.stdout == ""
    no_traceback(result)


def test_undefined_everywhere_is_a_clear_error(grad):
    result = grad("plot", "log(x)", "x=-2:-1")
    assert result.returncode == 1 and result.stdout == ""
    assert "undefined at every sampled point of x=-2:-1" in result.stderr
    assert "log(-2)" in result.stderr
    no_traceback(result)


def test_a_point_where_f_is_undefined_is_an_error(grad):
    result = grad("plot", "log(x)", "x=-1:1", "--at", "x=-0.5")
    assert result.returncode == 1 and "log(-0.5)" in result.stderr
    no_traceback(result)


# ---- the terminal ------------------------------------------------------------------------


@pytest.mark.parametrize("columns", [40, 120])
def test_terminal_plot_without_colour_fits_the_width(grad, columns):
    result = grad("plot", "x^3 - 3*x", "x=-2.5:2.5", "--at", "x=1", env={"COLUMNS": str(columns)})
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert ESC not in out
    lines = out.splitlines()
    chart = [line for line in lines if "│" in line]
    assert chart and all(len(line) == columns for line in chart)
    for mark_ in ("•", "+", "·", "◆", "∂f/∂x"):  # distinct marks: legible with no colour
        assert mark_ in out
    assert "x = 1: f = -2, ∂f/∂x = 0" in out


@pytest.mark.parametrize("columns", [40, 120])
def test_terminal_plot_with_colour(grad, columns):
    result = grad(
        "plot", "x^2", "x=-1:1", env={"COLUMNS": str(columns), "NO_COLOR": "", "FORCE_COLOR": "1"}
    )
    assert result.returncode == 0, result.stderr
    assert f"{ESC}32m•" in result.stdout and f"{ESC}31m+" in result.stdout  # green, red


def test_heatmap_in_the_terminal(grad):
    result = grad(
        "plot", "x^2 + y^2", "x=-1:1", "y=-1:1", "--at", "x=0.5,y=0.5", env={"COLUMNS": "40"}
    )
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "@" in out and "." in out and "◆" in out and "↙" in out
    assert "steepest descent -∇f = (-1, -1)" in out


def test_ascii_stream(grad):
    result = grad(
        "plot",
        "x^2 + y^2",
        "x=-1:1",
        "y=-1:1",
        "--at",
        "x=0.5,y=0.5",
        env={"PYTHONIOENCODING": "ascii"},
    )
    assert result.returncode == 0 and result.stdout.isascii()
    assert "steepest descent -grad f" in result.stdout and "O x = 0.5" in result.stdout
    one = grad("plot", "x^2", "x=-1:1", "--at", "x=0", env={"PYTHONIOENCODING": "ascii"})
    assert one.stdout.isascii() and "df/dx" in one.stdout and "*" in one.stdout


def render(source, ranges, width, colour=False, at=None, fixed=None):
    tape = Tape(parse(source))
    axes = [axis(n, lo, hi, pts) for n, lo, hi, pts in ranges]
    samples = sample(tape, axes, fixed or {})
    marked = mark(tape, {**(fixed or {}), **at}, [a.name for a in axes]) if at else None
    buffer = io.StringIO()
    console = Console(
        file=buffer,
        width=width,
        force_terminal=colour,
        color_system="truecolor" if colour else None,
        markup=False,
    )
    console.print(Plot(samples, marked))
    return buffer.getvalue()


def f_panel(text):
    """The rows of the f panel, without their labels."""
    lines = text.splitlines()
    end = next(i for i, line in enumerate(lines) if line.startswith("+ ∂f"))
    return [line.split("│", 1)[1] for line in lines[:end] if "│" in line]


@pytest.mark.parametrize("width", [40, 120])
def test_gaps_where_f_is_undefined(width):
    rows = f_panel(render("log(x)", [("x", -1.0, 1.0, width)], width))
    plot_width = len(rows[0])
    zero_column = (plot_width - 1) / 2
    columns = [c for row in rows for c, ch in enumerate(row) if ch == "•"]
    assert columns and min(columns) > zero_column  # nothing drawn where x <= 0


@pytest.mark.parametrize("width", [40, 120])
def test_kinks_stay_sharp(width):
    def bottom(source):
        rows = f_panel(render(source, [("x", -1.0, 1.0, 41)], width))
        middle = (len(rows[0]) - 1) / 2
        marks = [c for c, ch in enumerate(rows[-1]) if ch == "•"]
        assert all(abs(c - middle) <= len(marks) for c in marks)  # centred
        step = len(rows[0]) / 2 / (len(rows) - 1)  # columns per row of a straight |x|
        return len(marks), step, rows

    tip, step, rows = bottom("abs(x)")
    assert tip <= step + 1  # the V's tip is one step wide: not rounded off
    assert rows[0][0] == "•" and rows[0][-1] == "•"
    flat, step, _ = bottom("x^2")  # a smooth minimum is visibly wider
    assert flat > 2 * (step + 1)


def test_tangent_line_at_the_point():
    text = render("x^2", [("x", -2.0, 2.0, 81)], 120, at={"x": 1.0})
    rows = f_panel(text)
    width = len(rows[0])
    # the tangent y = 2x - 1 is drawn at the right end (x = 2 → y = 3, inside 0 … 4)
    column_of = {r: row for r, row in enumerate(rows)}
    assert any("·" in row for row in rows)
    mark_row = next(r for r, row in column_of.items() if "◆" in row)
    assert rows[mark_row].index("◆") == round(3 / 4 * (width - 1))
    assert "x = 1: f = 1, ∂f/∂x = 2" in text


def test_colour_in_process():
    text = render("x^2", [("x", -1.0, 1.0, 41)], 40, colour=True)
    assert ESC in text
    assert ESC not in render("x^2", [("x", -1.0, 1.0, 41)], 40, colour=False)


# ---- pictures ----------------------------------------------------------------------------


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def test_svg_has_the_axis_labels(grad, tmp_path):
    pytest.importorskip("matplotlib")
    result = grad("plot", "log(x) + relu(x - 2)", "x=-1:4", "--at", "x=1", "--svg", "f.svg")
    assert result.returncode == 0, result.stderr
    assert "wrote the plot to f.svg" in result.stderr
    svg = (tmp_path / "f.svg").read_text()
    assert svg.rstrip().endswith("</svg>")
    for label in (">x<", ">f<", ">∂f/∂x<", "tangent at x = 1"):
        assert label in svg
    assert "•" in result.stdout  # the terminal plot as well


def test_png_over_two_inputs_has_the_expected_size(grad, tmp_path):
    pytest.importorskip("matplotlib")
    result = grad(
        "plot",
        "x^2 + 3*y^2",
        "x=-2:2",
        "y=-2:2",
        "--at",
        "x=1,y=1",
        "--png",
        "bowl.png",
        "--points",
        "40",
    )
    assert result.returncode == 0, result.stderr
    assert png_size((tmp_path / "bowl.png").read_bytes()) == (700, 600)
    # the README shows this picture, kept beside the tests
    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    assert "(tests/data/plot-bowl.png)" in readme
    shown = Path(__file__).resolve().parent / "data" / "plot-bowl.png"
    assert png_size(shown.read_bytes()) == (700, 600)


def test_svg_over_two_inputs_labels_both_axes_and_the_arrows(grad, tmp_path):
    pytest.importorskip("matplotlib")
    grad(
        "plot",
        "x^2 + 3*y^2",
        "x=-2:2",
        "y=-2:2",
        "--at",
        "x=1,y=1",
        "--svg",
        "b.svg",
        "--points",
        "30",
    )
    svg = (tmp_path / "b.svg").read_text()
    for label in (">x<", ">y<", ">f<", "steepest descent −∇f"):
        assert label in svg


def test_picture_to_standard_output_is_the_output(tmp_path):
    pytest.importorskip("matplotlib")
    import os
    import subprocess

    from conftest import grad_executable

    result = subprocess.run(
        [grad_executable(), "plot", "x^2", "x=0:1", "--png", "-"],
        capture_output=True,
        cwd=tmp_path,
        env={**os.environ, "NO_COLOR": "1"},
    )
    assert result.returncode == 0, result.stderr
    assert png_size(result.stdout) == (700, 600)


def test_pictures_without_matplotlib_say_how_to_install(grad, tmp_path):
    hidden = tmp_path / "hide"
    (hidden / "matplotlib").mkdir(parents=True)
    (hidden / "matplotlib" / "__init__.py").write_text("raise ImportError('hidden')\n")
    result = grad("plot", "x^2", "x=0:1", "--svg", "p.svg", env={"PYTHONPATH": str(hidden)})
    assert result.returncode == 2 and result.stdout == ""
    assert "--svg needs matplotlib" in result.stderr
    assert "pip install 'gradcli[plot]'" in result.stderr
    assert not (tmp_path / "p.svg").exists()
    no_traceback(result)


def test_ranges_as_wide_as_doubles_go(grad):
    data = strict_json(grad("plot", "x", "x=-1e308:1e308", "--points", "5", "--json").stdout)
    assert [s["point"]["x"] for s in data["samples"]] == [-1e308, -5e307, 0.0, 5e307, 1e308]
    for args in (
        ("x", "x=-1e308:1e308", "--at", "x=1e307"),
        ("x/2 + y/2", "x=-1e308:1e308", "y=-1e308:1e308", "--at", "x=0,y=1"),
    ):
        result = grad("plot", *args, env={"COLUMNS": "40"})
        assert result.returncode == 0, result.stderr
        assert "◆" in result.stdout


def test_the_readme_plot_is_what_grad_plot_prints(grad):
    import re
    import shlex
    from pathlib import Path

    readme = (Path(__file__).resolve().parent.parent / "README.md").read_text()
    block = re.search(r"```console\n(\$ grad plot .*?)```", readme, re.S).group(1)
    command, expected = block.split("\n", 1)
    width = max(map(len, expected.splitlines()))
    result = grad(*shlex.split(command.removeprefix("$ "))[1:], env={"COLUMNS": str(width)})
    assert result.returncode == 0, result.stderr
    assert result.stdout.rstrip("\n") == expected.rstrip("\n")


# ---- --descend ---------------------------------------------------------------------------


def test_descend_path_is_grad_descends_trace(grad):
    plot = strict_json(
        grad(
            "plot",
            "(x - 1)^2 * (y + 2)^2 + y^2",
            "x=-2:3",
            "y=-3:1",
            "--at",
            "x=-1.5,y=0.5",
            "--descend",
            "--optimizer adam --lr 0.05 --steps 30",
            "--points",
            "5",
            "--json",
        ).stdout
    )
    run = strict_json(
        grad(
            "descend",
            "(x - 1)^2 * (y + 2)^2 + y^2",
            "x=-1.5",
            "y=0.5",
            "--optimizer",
            "adam",
            "--lr",
            "0.05",
            "--steps",
            "30",
            "--json",
        ).stdout
    )
    descent = plot["descent"]
    assert descent["optimizer"] == "adam" and descent["steps"] == 30
    assert descent["stopped"] == run["stopped"] and descent["reason"] == run["reason"]
    assert descent["path"] == [
        {"step": s["step"], "point": s["point"], "value": s["value"]} for s in run["trace"]
    ]


def test_descend_path_is_bounded_with_its_ends(grad):
    data = strict_json(
        grad(
            "plot", "x^2", "x=-1:1", "--at", "x=1", "--descend", "--lr 0.001 --steps 5000", "--json"
        ).stdout
    )
    steps = [s["step"] for s in data["descent"]["path"]]
    assert steps[0] == 0 and steps[-1] == 5000 and len(steps) <= 513
    assert steps == sorted(steps)


@pytest.mark.parametrize("columns", [40, 120])
def test_descend_in_the_terminal(grad, columns):
    result = grad(
        "plot",
        "(x - 1)^2",
        "x=-2:3",
        "--at",
        "x=-1.5",
        "--descend",
        "--lr 0.2 --steps 10",
        env={"COLUMNS": str(columns)},
    )
    assert result.returncode == 0, result.stderr
    assert any("o" in row for row in f_panel(result.stdout))
    assert "■" in result.stdout
    assert "descent (sgd, lr 0.2) ■ after 10 steps" in " ".join(result.stdout.split())
    two = grad(
        "plot",
        "x^2 + 3*y^2",
        "x=-2:2",
        "y=-2:2",
        "--at",
        "x=1.5,y=1.5",
        "--descend",
        "",
        env={"COLUMNS": str(columns)},
    )
    assert two.returncode == 0 and "■ after 100 steps" in " ".join(two.stdout.split())


def test_descend_in_a_picture(grad, tmp_path):
    pytest.importorskip("matplotlib")
    result = grad(
        "plot",
        "x^2 + 3*y^2",
        "x=-2:2",
        "y=-2:2",
        "--at",
        "x=1.5,y=1.5",
        "--descend",
        "--optimizer momentum --steps 20",
        "--svg",
        "d.svg",
        "--points",
        "30",
    )
    assert result.returncode == 0, result.stderr
    assert "descent (momentum, lr 0.1, 20 steps)" in (tmp_path / "d.svg").read_text()


@pytest.mark.parametrize(
    "args, message",
    [
        (("--descend", ""), "--descend starts from the --at point"),
        (("--at", "x=1", "--descend", "--nosuch 3"), "unknown option --nosuch"),
        (("--at", "x=1", "--descend", "--lr -1"), "--lr must be a positive number"),
        (("--at", "x=1", "--descend", "--json"), "--json is not an option of --descend"),
        (("--at", "x=1", "--descend", "--wrt y"), "its --wrt cannot change them"),
        (("--at", "x=1", "--descend", "--help"), "--descend takes grad descend's options"),
        (("--at", "x=1", "--descend", "'--lr"), "--descend"),
    ],
)
def test_descend_usage_errors(grad, args, message):
    result = grad("plot", "x^2 * y", "x=0:1", "y=1", *args)
    assert result.returncode == 2, result.stdout
    assert message in result.stderr and result.stdout == ""
    no_traceback(result)


# ---- the REPL's :plot --------------------------------------------------------------------


def test_repl_plot_uses_the_sessions_values_and_keeps_them(grad):
    script = (
        "y = 2\nf = x^2 * y\n:plot f x=-1:1 --at x=0.5 --points 41\n"
        ":plot x*y x=0:1 y=0:1 --at x=1,y=0.5\n:json y\n"
    )
    result = grad("repl", input=script, env={"COLUMNS": "60"})
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "x = 0.5: f = 0.5, ∂f/∂x = 2" in out and "held fixed: y = 2" in out
    assert "x = 1, y = 0.5: f = 0.5" in out  # the range overrides y for the plot only
    assert strict_json(out.splitlines()[-1])["value"] == 2


@pytest.mark.parametrize(
    "line, message",
    [
        (":plot", "no formula given"),
        (":plot x^2 x=0:1 z=3", "unexpected 'z=3'"),
        (":plot x^2 x=0:1 --at x=2", "outside the range"),
        (":plot x^2 x=0:1 --points", "--points needs a value"),
        (":plot q x=0:1", "no value for q"),
    ],
)
def test_repl_plot_errors(grad, line, message):
    result = grad("repl", input=line + "\n")
    assert result.returncode == 2 and message in result.stderr, result.stderr
    no_traceback(result)


def test_repl_plot_of_a_formula_undefined_everywhere(grad):
    result = grad("repl", input=":plot log(x) x=-2:-1\n")
    assert result.returncode == 1 and "log(x)\n" in result.stderr
    no_traceback(result)


def test_repl_plot_on_a_terminal_fits_its_width(tmp_path):
    import os
    import re

    pexpect = pytest.importorskip("pexpect")
    from conftest import grad_executable

    env = {
        **os.environ,
        "TERM": "xterm",
        "NO_COLOR": "1",
        "PROMPT_TOOLKIT_NO_CPR": "1",
        "GRADCLI_HISTORY": str(tmp_path / "history"),
    }
    env.pop("COLUMNS", None)
    env.pop("LINES", None)
    child = pexpect.spawn(
        grad_executable(),
        ["repl"],
        env=env,
        cwd=str(tmp_path),
        encoding="utf-8",
        timeout=20,
        dimensions=(40, 100),
    )
    try:
        child.expect("grad> ")
        child.send(":plot x^2 x=-1:1 --at x=0.5\r")
        child.expect("tangent")
        shown = child.before + child.after
        child.expect("grad> ")
        screen = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b[=>]|\r", "", shown + child.before)
        assert "x = 0.5: f = 0.25, ∂f/∂x = 1" in screen
        chart = [line for line in screen.splitlines() if "│" in line]
        assert chart and {len(line) for line in chart} == {100}
        child.send("\x04")
        child.expect(pexpect.EOF)
    finally:
        child.close(force=True)


@pytest.mark.parametrize("width", [40, 120])
def test_heatmap_levels_with_and_without_colour(width):
    ranges = [("x", -1.0, 1.0, 31), ("y", -1.0, 1.0, 31)]
    plain = render("x^2 + y^2", ranges, width)
    rows = [line.split("│", 1)[1] for line in plain.splitlines() if "│" in line]
    assert all(len(row) == width - 4 for row in rows)  # labels '-1 │' take 4 columns
    middle = rows[len(rows) // 2]
    assert middle[len(middle) // 2] == "." and rows[0][0] == "@"  # lowest, highest level
    assert ESC not in plain
    coloured = render("x^2 + y^2", ranges, width, colour=True)
    assert "38;2;68;1;84m." in coloured and "38;2;253;231;37m@" in coloured  # viridis ends


def test_narrower_terminals_get_the_40_column_plot(grad):
    result = grad("plot", "x^2", "x=-1:1", env={"COLUMNS": "30"})
    assert result.returncode == 0
    assert {len(line) for line in result.stdout.splitlines() if "│" in line} == {40}
