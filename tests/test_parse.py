"""The language: precedence, programs, errors with positions, and huge inputs."""

import math

import pytest
from lark import Lark

from gradcli.core.engine import evaluate
from gradcli.core.errors import ArityError, NameProblem, SyntaxProblem, UnknownFunctionError
from gradcli.core.syntax import grammar_text, parse


def value(text, **point):
    graph = parse(text)
    return evaluate(graph, {**graph.defaults, **point}).value


@pytest.mark.parametrize(
    "text,expected",
    [
        ("-x^2", -9.0),  # ^ binds tighter than unary minus
        ("-x**2", -9.0),
        ("2^3^2", 512.0),  # right-associative
        ("2**3**2", 512.0),
        ("8 - 4 - 2", 2.0),  # left-associative
        ("8 / 4 / 2", 1.0),
        ("2 + 3 * 4", 14.0),
        ("(2 + 3) * 4", 20.0),
        ("2 * 3 ^ 2", 18.0),
        ("2 ^ -1", 0.5),
        ("-2 ^ 2", -4.0),
        ("(-2) ^ 2", 4.0),
        ("- -x", 3.0),
        ("+x - -x", 6.0),
        ("x - 1 + 2", 4.0),
        ("12 / 2 * 3", 18.0),
        ("pow(2, 10)", 1024.0),
        (".5 + 2.5 + 1e-3 + 1E2", 103.001),
        ("ln(e)", 1.0),
        ("cos(pi)", -1.0),
        ("max(1, x, 2)", 3.0),
        ("min(4, x, 5)", 3.0),
    ],
)
def test_precedence_and_associativity(text, expected):
    assert value(text, x=3.0) == pytest.approx(expected, rel=1e-15)


def test_grammar_has_no_conflicts():
    Lark(grammar_text(), parser="lalr", lexer="basic", strict=True)


def test_program_statements_comments_and_values():
    program = "# worked example\nx = -2; y = 5\nz = -4  # a comment\n\nq = x + y\nf = q * z\n"
    graph = parse(program)
    assert graph.defaults == {"x": -2.0, "y": 5.0, "z": -4.0}
    assert value(program) == -12.0
    assert value(program, x=0.0) == -20.0  # a binding overrides the program's value


def test_newlines_inside_parentheses_continue_the_statement():
    assert value("f = (x +\n  1) * (\n 2)", x=1.0) == 4.0
    with pytest.raises(SyntaxProblem, match="line ends too soon"):
        parse("f = x +\n 1")


def test_the_output_is_the_last_formula():
    assert value("a = x * 2\nb = a + 1\nx = 3") == 7.0
    with pytest.raises(SyntaxProblem, match="x \\+ 100 is not used"):  # issue 10: never dropped
        parse("x + 100; x * 2")


def test_a_name_used_twice_is_one_node_and_gradients_add():
    graph = parse("x * x + x")
    assert graph.ops.count("input") == 1
    ev = evaluate(graph, {"x": 3.0})
    assert ev.gradient() == {"x": 7.0}  # 2x + 1


def test_named_node_used_twice():
    graph = parse("q = x + y; f = q * q")
    ev = evaluate(graph, {"x": 1.0, "y": 2.0})
    assert ev.value == 9 and ev.gradient() == {"x": 6, "y": 6}


def test_alias_definition_gets_its_own_node():
    graph = parse("r = x; f = r * 2")
    assert "r" in graph.names and "x" in graph.names
    assert evaluate(graph, {"x": 4.0}).gradient() == {"x": 2.0}


def test_unused_definitions_are_pruned():
    graph = parse("unused = y * 3; f = x + 1")
    assert list(graph.inputs) == ["x"] and "unused" not in graph.names


@pytest.mark.parametrize(
    "text,message,start",
    [
        ("1 +", "expression ends too soon", 3),
        ("1 + * 2", "unexpected '*'", 4),
        ("1 $ 2", "unexpected character '$'", 2),
        ("x·y", "unexpected character '·' (U+00B7 MIDDLE DOT)", 1),  # named: ASCII shows '*'
        ("x\x01", "unexpected character '\\x01'", 1),
        ("(x + 1", "expression ends too soon; expected ')'", 0),  # at the open '('
        ("sin(x * (y + 1)", "expression ends too soon; expected ')' to close", 3),
        ("x + 1)", "unexpected ')'", 5),
        ("2x", "unexpected 'x'", 1),
        ("x + y = 3", "unexpected '='", 6),
        ("f(x) = 2", "unexpected '='", 5),
        ("f(x) + 2", "unknown function 'f'", 0),
        ("1e999", "too large", 0),
        ("", "nothing to evaluate", None),  # blank: no excerpt to point into
        (" \n\t", "nothing to evaluate", None),
        ("x = 1", "nothing to evaluate", 0),
        ("exp + 1", "exp is a function", 0),
        ("x = 1;\ny = (", "expression ends too soon", 12),
    ],
)
def test_syntax_errors_say_what_and_where(text, message, start):
    with pytest.raises(SyntaxProblem) as info:
        parse(text)
    assert message in info.value.message
    assert (info.value.span and info.value.span.start) == start
    assert info.value.source == text


def test_implicit_multiplication_hint():
    with pytest.raises(SyntaxProblem) as info:
        parse("2x + 1")
    assert "2*x" in info.value.hint


def test_unknown_function_suggests_the_nearest_name():
    with pytest.raises(UnknownFunctionError) as info:
        parse("1 + sigmod(x)")
    assert "sigmoid" in info.value.hint
    assert info.value.span.start == 4


@pytest.mark.parametrize("text", ["log(x, 2)", "pow(x)", "max(x)", "sin()"])
def test_wrong_number_of_arguments(text):
    with pytest.raises((ArityError, SyntaxProblem)):
        parse(text)


@pytest.mark.parametrize(
    "text,message",
    [
        ("q = x + 1; q = 2 * x; q", "already defined"),
        ("f = q * z; q = x + y", "used before it is defined"),
        ("pi = 3; pi", "built-in constant"),
        ("x = 1; x = 2; x + 1", "given a value twice"),
        ("sin = 2; 1", "function name"),
    ],
)
def test_name_problems(text, message):
    with pytest.raises(NameProblem) as info:
        parse(text)
    assert message in info.value.message


def test_deep_nesting_100000():
    depth = 100_000
    graph = parse("(" * depth + "x" + " + 1)" * depth)
    ev = evaluate(graph, {"x": 0.5})
    assert ev.value == depth + 0.5 and ev.gradient() == {"x": 1.0}


def test_deep_unary_chain_and_right_associative_power_chain():
    assert value("-" * 100_001 + "x", x=2.0) == -2.0
    assert value("^".join(["1"] * 50_000 + ["x"]), x=7.0) == 1.0


def test_wide_sum_100000_terms():
    n = 100_000
    graph = parse(" + ".join(f"x{i % 10} * {i % 3 + 1}" for i in range(n)))
    point = {f"x{j}": float(j) for j in range(10)}
    ev = evaluate(graph, point)
    for j in range(10):
        expected = sum(i % 3 + 1 for i in range(j, n, 10))
        assert ev.gradient()[f"x{j}"] == expected
    assert ev.value == sum(float(i % 10) * (i % 3 + 1) for i in range(n))
    assert math.isfinite(ev.value)


def test_fifty_thousand_statements():
    n = 50_000
    program = "\n".join(f"t{i} = x * {i % 7}" for i in range(n)) + f"\nt0 + t{n - 1}"
    graph = parse(program)
    assert evaluate(graph, {"x": 2.0}).gradient() == {"x": 0 + (n - 1) % 7}
