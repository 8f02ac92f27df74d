"""The parser's tables are kept in the repository (gradcli/core/lalr_tables.py) like a lock file:
they must be exactly what Lark makes of grammars/gradcli.lark, and the driver that runs them
must build the same tree as Lark's own parser over the same grammar."""

from __future__ import annotations

import functools
import os
import subprocess
import sys
from pathlib import Path

import pytest
import test_parse
import test_parse_fast
from hypothesis import given, settings
from hypothesis import strategies as st
from lark import Lark, Token, Tree
from lark.exceptions import UnexpectedToken
from lark.lexer import Lexer
from plain_parser import tokens

from gradcli.core import lalr
from gradcli.core.errors import SyntaxProblem
from gradcli.core.examples import EXAMPLES
from gradcli.core.lalr_generate import module_text
from gradcli.core.syntax import parse
from gradcli.core.tokens import Tok

ROOT = Path(__file__).resolve().parent.parent
GRAMMAR = ROOT / "grammars" / "gradcli.lark"
TABLES = ROOT / "gradcli" / "core" / "lalr_tables.py"


def test_the_tables_in_the_repository_are_what_lark_makes_of_the_grammar():
    assert TABLES.read_text(encoding="utf-8") == module_text(GRAMMAR.read_text("utf-8")), (
        "gradcli/core/lalr_tables.py is stale: run `python -m gradcli.core.lalr_generate`"
    )


def test_a_changed_grammar_makes_other_tables():
    grammar = GRAMMAR.read_text("utf-8")
    changed = grammar.replace("sum MINUS product", "product MINUS sum")  # right-associative
    assert changed != grammar
    assert module_text(changed) != module_text(grammar)


def test_the_tables_are_the_same_whatever_the_string_hashing():
    # Lark numbers states in the order of sets of strings, which PYTHONHASHSEED shuffles
    code = (
        "from pathlib import Path; from gradcli.core.lalr_generate import module_text; "
        f"print(module_text(Path({str(GRAMMAR)!r}).read_text('utf-8')))"
    )
    texts = {
        subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            check=True,
            env={**os.environ, "PYTHONHASHSEED": seed},
        ).stdout
        for seed in ("1", "2", "3")
    }
    assert len(texts) == 1


def test_parsing_neither_imports_lark_nor_writes_a_file(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    code = (
        "import sys; from gradcli.core.syntax import parse; parse('q = x * 2; q + 1'); "
        "print('lark' in sys.modules)"
    )
    env = {**os.environ, "HOME": str(home), "XDG_CACHE_HOME": str(home / ".cache")}
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=tmp_path, env=env
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "False"
    assert list(home.iterdir()) == []


def test_grad_writes_nothing_in_the_home(grad, tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    result = grad(
        "eval",
        "(x + y) * z",
        "x=-2",
        "y=5",
        "z=-4",
        env={"HOME": str(home), "XDG_CACHE_HOME": str(home / ".cache")},
    )
    assert result.returncode == 0, result.stderr
    assert list(home.iterdir()) == []


# --- Lark's own parser as the reference ----------------------------------------------------


class _GradcliTokens(Lexer):
    """gradcli's lexer feeding Lark's parser: the same tokens the driver sees."""

    def __init__(self, conf) -> None:
        pass

    def lex(self, text):
        for tok in tokens(text):
            if tok.type != "$END":  # Lark adds its own
                yield Token(tok.type, tok.text, start_pos=tok.start, end_pos=tok.end)


@functools.cache
def lark_parser() -> Lark:
    return Lark(GRAMMAR.read_text("utf-8"), parser="lalr", lexer=_GradcliTokens)


class _TreeBuilder:
    """A builder for the driver whose every callback makes a tree node named as the rule's
    alias or name, as Lark's tree is."""

    tree = None

    def __getattr__(self, method: str):
        def build(*children):
            node = (method, children)
            if method == "start":
                self.tree = node
            return node

        return build


def _plain(value):
    """A tree of either parser as nested tuples; tokens as (type, text, start)."""
    if isinstance(value, Token):
        return (value.type, str(value), value.start_pos)
    if isinstance(value, tuple) and len(value) == 4:  # a token: the driver's plain tuple or a Tok
        kind, text, start, _ = value
        return (kind, text, start)
    if isinstance(value, Tree):
        return (str(value.data), tuple(_plain(c) for c in value.children))
    method, children = value
    return (method, tuple(_plain(c) for c in children))


def driver_outcome(text: str):
    builder = _TreeBuilder()
    try:
        lalr.parse_into(text, builder)
    except SyntaxProblem as exc:
        return "error", exc.span.start, exc.message
    return _plain(builder.tree)


def lark_outcome(text: str):
    try:
        tree = lark_parser().parse(text)
    except SyntaxProblem as exc:  # a character the lexer cannot take
        return "error", exc.span.start, exc.message
    except UnexpectedToken as exc:
        token = exc.token
        if token.type == "$END":
            tok = Tok("$END", "", len(text), len(text))
        else:
            tok = Tok(token.type, str(token), token.start_pos, token.end_pos)
        accepted = set(exc.interactive_parser.accepts())
        error = lalr.syntax_error(text, tok, None, accepted)
        return "error", error.span.start, error.message
    return _plain(tree)


def _parametrized_texts(*functions) -> list[str]:
    """The formulas of other tests' parameter lists."""
    texts = []
    for function in functions:
        for mark in function.pytestmark:
            if mark.name == "parametrize":
                texts += [row if isinstance(row, str) else row[0] for row in mark.args[1]]
    return texts


TEST_FORMULAS = _parametrized_texts(
    test_parse.test_precedence_and_associativity,
    test_parse.test_syntax_errors_say_what_and_where,
    test_parse.test_wrong_number_of_arguments,
    test_parse.test_name_problems,
    test_parse_fast.test_known_errors_and_corners_parse_the_same,
) + [example.program for example in EXAMPLES.values()]


def test_the_reference_sees_the_tests_formulas():
    outcomes = [driver_outcome(text)[0] for text in TEST_FORMULAS]
    assert len(outcomes) > 50 and "start" in outcomes and "error" in outcomes


def test_every_helper_rule_belongs_to_a_rule_of_the_grammar():
    """The driver learns which rule Lark made a helper for (`__start_star_1` is start's)
    from the helper's name: every helper must name a rule that is there."""
    rules = lalr.tables()["rules"]
    grammar_rules = {origin for _, origin, _, _ in rules if not origin.startswith("__")}
    helpers = 0
    for (_, origin, _, _), fast in zip(rules, lalr._fast_tables().rules, strict=True):
        owner = fast[3]
        if origin.startswith("__"):
            helpers += 1
            assert owner in grammar_rules, origin
        else:
            assert owner == origin
    assert helpers >= 2  # start's and args' repeats


def test_a_builder_without_start_collects_no_list_of_statements(monkeypatch):
    """gradcli's builder keeps what each statement builds: the separators and statements of a
    program are not gathered into lists for a `start` that would drop them."""
    gathered = []
    real = lalr.children_of
    monkeypatch.setattr(lalr, "children_of", lambda values: gathered.append(values) or real(values))
    graph = parse("a = x*2\n\nb = a*3; c = a*b\nc")
    assert graph.names[graph.output] == "c" and gathered == []
    tree_builder = _TreeBuilder()  # a builder with `start` gets the statements, as Lark does
    lalr.parse_into("a = x*2\nb = a", tree_builder)
    assert [child[0] for child in tree_builder.tree[1]] == ["assign", "assign"]


@pytest.mark.parametrize("text", TEST_FORMULAS)
def test_lark_builds_the_same_tree_on_the_tests_formulas(text):
    assert driver_outcome(text) == lark_outcome(text)


@settings(max_examples=300, deadline=None)
@given(test_parse_fast.programs)
def test_lark_builds_the_same_tree_on_programs(text):
    assert driver_outcome(text) == lark_outcome(text)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.sampled_from(test_parse_fast.PIECES), max_size=14).map("".join))
def test_lark_fails_at_the_same_token_expecting_the_same(text):
    assert driver_outcome(text) == lark_outcome(text)
