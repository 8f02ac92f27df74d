"""Streams that cannot show Unicode get an ASCII rendering, never a UnicodeEncodeError."""

from __future__ import annotations

import pytest
from rich.text import Text

from gradcli.output.terminal import ascii_text, to_ascii

ASCII_ENVIRONMENTS = [
    {"PYTHONIOENCODING": "ascii"},
    {"LC_ALL": "C", "PYTHONCOERCECLOCALE": "0", "PYTHONIOENCODING": ""},
]


@pytest.mark.parametrize("env", ASCII_ENVIRONMENTS)
def test_eval_on_an_ascii_stream_prints_an_ascii_rendering(grad, env):
    result = grad("eval", "(x+y)*z", "x=-2", "y=5", "z=-4", "--explain", env=env)
    assert result.returncode == 0, result.stderr
    assert result.stdout.isascii() and result.stderr == ""
    assert "d f/d node" in result.stdout  # the legend
    assert "d f/d x" in result.stdout  # the explanation's chain rule
    assert "+-- x + y" in result.stdout  # tree guides
    assert "| x     |    -2 |" in result.stdout  # an ASCII table box, still aligned
    assert "Traceback" not in result.stdout + result.stderr


@pytest.mark.parametrize("env", ASCII_ENVIRONMENTS)
def test_errors_help_and_other_commands_never_raise_on_an_ascii_stream(grad, env):
    env = dict(env)
    error = grad("eval", "x + é", "x=1", env=env)  # user text that ASCII cannot show
    assert error.returncode == 3 and error.stderr.isascii()
    assert "error:" in error.stderr and "Traceback" not in error.stderr
    for args in (
        ["descend", "--help"],
        ["ops"],
        ["check", "sin(x)", "x=1", "--sweep"],
        ["descend", "(x-1)^2", "x=0", "--steps", "5"],
        ["example", "neuron"],
    ):
        result = grad(*args, env=env)
        assert result.returncode == 0, (args, result.stderr)
        assert result.stdout.isascii() and result.stderr.isascii(), args
        assert "Traceback" not in result.stderr


def test_an_explicit_utf8_setting_keeps_unicode(grad):
    result = grad("eval", "x*2", "x=1", env={"LC_ALL": "C", "PYTHONUTF8": "1"})
    assert "∂f/∂node" in result.stdout


def test_transliteration_keeps_styles_on_the_right_characters():
    text = Text("∂f/∂x = ")
    text.append("-4", style="red")
    plain = ascii_text(text)
    assert plain.plain == "d f/d x = -4"
    assert [(plain.plain[s.start : s.end], str(s.style)) for s in plain.spans] == [("-4", "red")]
    # a letter that has no spelling is escaped, never shown as another letter (é.svg as e.svg)
    assert to_ascii("∂/∂a … é → ━") == "d/da ... \\xe9 -> -"
    assert to_ascii("wrote é.svg, 日本") == "wrote \\xe9.svg, \\u65e5\\u672c"
    # second derivatives read as they are spoken
    assert to_ascii("∂²f/∂x² = 2, ∂²f/∂x∂y = −400·x") == "d^2 f/d x^2 = 2, d^2 f/d x d y = -400*x"
    assert to_ascii("∂f/∂w0 = s·(1 − s)·x0") == "d f/d w0 = s*(1 - s)*x0"
    assert to_ascii("|∇|") == "|grad|"  # the trace's gradient norm, not |grad |
