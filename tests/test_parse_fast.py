"""The parser runs Lark's tables renumbered, with chains of unit reductions as one step: it
builds exactly what the plain driver (one dict lookup per table action) builds, and reports
exactly the same errors."""

from unittest import mock

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from plain_parser import plain_run

from gradcli.core.errors import GradcliError
from gradcli.core.lalr import parse_into
from gradcli.core.syntax import _Builder, parse

NAMES = ["x", "y", "q", "w0", "pi", "e", "sin", "max", "log", "pow", "relu", "foo", "sigmod"]
NUMBERS = ["0", "1", "2.5", ".5", "3.", "1e-3", "2E+2", "1e400"]
PIECES = (
    NAMES
    + NUMBERS
    + [
        "+",
        "-",
        "*",
        "/",
        "^",
        "**",
        "(",
        ")",
        ",",
        "=",
        ";",
        "\n",
        " ",
        "\t",
        "# note\n",
        "$",
        "2x",
        ".",
    ]
)


def outcome(run, text: str):
    """The builder's state after `run`, or the error it raised as plain data."""
    builder = _Builder(text)
    try:
        run(text, builder)
    except GradcliError as exc:
        return type(exc), exc.message, exc.source, exc.span, exc.hint
    return vars(builder)


def parsed(text: str):
    """parse()'s graph, or its error as plain data."""
    try:
        return parse(text)
    except GradcliError as exc:
        return type(exc), exc.message, exc.source, exc.span, exc.hint


def assert_same(text: str) -> None:
    assert outcome(parse_into, text) == outcome(plain_run, text), text
    with mock.patch("gradcli.core.lalr.parse_into", plain_run):
        expected = parsed(text)
    assert parsed(text) == expected, text


def expressions():
    leaf = st.sampled_from(NAMES[:6] + NUMBERS[:7])
    return st.recursive(
        leaf,
        lambda inner: st.one_of(
            st.tuples(inner, st.sampled_from(["+", "-", "*", "/", "^", "**"]), inner).map(
                lambda t: " ".join(t)
            ),
            st.tuples(st.sampled_from(["-", "+", "- -"]), inner).map("".join),
            inner.map(lambda a: f"({a})"),
            inner.map(lambda a: f"(\n{a}\n)"),
            st.tuples(
                st.sampled_from(["sin", "exp", "log", "max", "min", "pow", "relu", "foo"]),
                st.lists(inner, min_size=0, max_size=3),
            ).map(lambda t: f"{t[0]}({', '.join(t[1])})"),
        ),
        max_leaves=12,
    )


programs = st.lists(
    st.tuples(st.sampled_from(["", "a = ", "b = ", "x = ", "pi = ", "sin = "]), expressions()),
    min_size=1,
    max_size=4,
).map(
    lambda statements: "".join(
        f"{lhs}{rhs}{sep}" for (lhs, rhs), sep in zip(statements, ["; ", "\n", "\n\n", ";"])
    )
)


@settings(max_examples=400, deadline=None)
@given(programs)
def test_programs_parse_the_same(text):
    assert_same(text)


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(PIECES), max_size=14).map("".join))
def test_any_token_soup_parses_or_fails_the_same(text):
    assert_same(text)


@settings(max_examples=100, deadline=None)
@given(programs, st.integers(0, 1000), st.sampled_from(["", ")", "(", "$", "=", ",", "* *"]))
def test_a_program_broken_anywhere_parses_or_fails_the_same(text, at, insert):
    at %= len(text) + 1
    assert_same(text[:at] + insert + text[at:])


@pytest.mark.parametrize(
    "text",
    [
        "(x + 1",
        "x + 1)",
        "1 $ 2",
        "f(x) + 2",
        "foo(x) $",
        "foo(x) y",
        "1e999",
        "x = 1",
        "q = x + 1; q = 2 * x; q",
        "sin()",
        "max(x)",
        "2x + 1",
        "(1\n+ 2\n",
        "x = 1 = 2",
        "a = foo(x) y",
        "",
        "# only a comment",
        "x;;\n;y",
        "(x,)",
        "x = (1)",
        "x = -(1)",
    ],
)
def test_known_errors_and_corners_parse_the_same(text):
    assert_same(text)
