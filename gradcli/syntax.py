"""Formula text -> Graph: a regex lexer, Lark's LALR parser, and a builder that makes the
graph's nodes in the parser's own callbacks (no parse tree, no recursion).

The grammar lives in grammars/gradcli.lark, shipped inside the package.
"""

from __future__ import annotations

import difflib
import functools
import math
import re
from importlib import resources
from pathlib import Path

from lark import Lark, Token, Transformer, v_args
from lark.exceptions import UnexpectedToken
from lark.lexer import Lexer

from .errors import (
    ArityError,
    NameProblem,
    Span,
    SyntaxProblem,
    UnknownFunctionError,
)
from .graph import CONST, INPUT, Graph, prune
from .ops import CONSTANTS, FUNCTIONS, OPS

_TOKEN_RE = re.compile(
    r"""
    (?P<NUMBER>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)
    |(?P<NAME>[A-Za-z_][A-Za-z0-9_]*)
    |(?P<POW>\*\*|\^)
    |(?P<STAR>\*)|(?P<PLUS>\+)|(?P<MINUS>-)|(?P<SLASH>/)
    |(?P<LPAR>\()|(?P<RPAR>\))|(?P<COMMA>,)|(?P<EQUAL>=)
    |(?P<_SEP>[;\n])
    |(?P<SKIP>[ \t\r\f]+|\#[^\n]*)
    |(?P<BAD>.)
    """,
    re.VERBOSE,
)

_DESCRIBE = {
    "NUMBER": "a number",
    "NAME": "a name",
    "PLUS": "'+'",
    "MINUS": "'-'",
    "STAR": "'*'",
    "SLASH": "'/'",
    "POW": "'^'",
    "LPAR": "'('",
    "RPAR": "')'",
    "COMMA": "','",
    "EQUAL": "'='",
    "_SEP": "';' or a new line",
    "$END": "the end of the formula",
}
_OPERAND_START = {"NUMBER", "NAME", "LPAR", "PLUS", "MINUS"}
_OPERATORS = {"PLUS", "MINUS", "STAR", "SLASH", "POW"}


class _TokenStream:
    """Remembers the last two tokens, so a parse error can say what came before it."""

    __slots__ = ("current", "previous")

    def __init__(self) -> None:
        self.current: Token | None = None
        self.previous: Token | None = None


def _lexer_class(stream: _TokenStream) -> type[Lexer]:
    class RegexLexer(Lexer):
        """One compiled regex over the whole text: several times faster than Lark's lexer."""

        def __init__(self, lexer_conf) -> None:
            pass

        def lex(self, text: str):
            depth = 0  # newlines inside parentheses do not end a statement
            for match in _TOKEN_RE.finditer(text):
                kind = match.lastgroup
                if kind == "SKIP":
                    continue
                if kind == "BAD":
                    raise SyntaxProblem(
                        f"unexpected character {match.group()!r}",
                        source=text,
                        span=Span(match.start(), match.end()),
                    )
                if kind == "LPAR":
                    depth += 1
                elif kind == "RPAR":
                    depth = max(depth - 1, 0)
                elif kind == "_SEP" and depth and match.group() == "\n":
                    continue
                token = Token(kind, match.group(), match.start(), end_pos=match.end())
                stream.previous, stream.current = stream.current, token
                yield token

    return RegexLexer


def _span(token: Token) -> Span:
    return Span(token.start_pos, token.end_pos)


@v_args(inline=True)
class _Builder(Transformer):
    """Builds graph nodes as the parser reduces rules. Every callback returns an operand:
    (node id, start, end) of that occurrence in the text."""

    def begin(self, text: str) -> None:
        self.text = text
        self.ops: list[str] = []
        self.args: list[tuple[int, ...]] = []
        self.spans: list[Span] = []
        self.names: list[str | None] = []
        self.consts: dict[int, float] = {}
        self.inputs: dict[str, int] = {}
        self.shared_consts: dict[str, int] = {}
        self.defined: dict[str, int] = {}
        self.defaults: dict[str, float] = {}
        self.literals: set[int] = set()
        self.output: int | None = None

    def _node(self, op: str, args: tuple[int, ...], start: int, end: int) -> tuple:
        node = len(self.ops)
        self.ops.append(op)
        self.args.append(args)
        self.spans.append(Span(start, end))
        self.names.append(None)
        return node, start, end

    def _error(self, cls, message: str, start: int, end: int, hint: str | None = None):
        return cls(message, source=self.text, span=Span(start, end), hint=hint)

    # --- leaves -------------------------------------------------------------------------
    def number(self, token: Token) -> tuple:
        value = float(token)
        if not math.isfinite(value):
            raise self._error(SyntaxProblem, f"the number {str(token)!r} is too large for a "
                              "double", token.start_pos, token.end_pos)
        operand = self._node(CONST, (), token.start_pos, token.end_pos)
        self.consts[operand[0]] = value
        self.literals.add(operand[0])
        return operand

    def name(self, token: Token) -> tuple:
        name, start, end = str(token), token.start_pos, token.end_pos
        if name in self.defined:
            return self.defined[name], start, end
        if name in CONSTANTS:
            node = self.shared_consts.get(name)
            if node is None:
                node = self._node(CONST, (), start, end)[0]
                self.consts[node] = CONSTANTS[name]
                self.names[node] = name
                self.shared_consts[name] = node
            return node, start, end
        if name in FUNCTIONS:
            raise self._error(SyntaxProblem, f"{name} is a function: call it as {name}(…)",
                              start, end)
        node = self.inputs.get(name)
        if node is None:
            node = self._node(INPUT, (), start, end)[0]
            self.names[node] = name
            self.inputs[name] = node
        return node, start, end

    # --- operators ----------------------------------------------------------------------
    def _binary(self, op: str, a: tuple, b: tuple) -> tuple:
        return self._node(op, (a[0], b[0]), a[1], b[2])

    def add(self, a, _, b):
        return self._binary("add", a, b)

    def sub(self, a, _, b):
        return self._binary("sub", a, b)

    def mul(self, a, _, b):
        return self._binary("mul", a, b)

    def div(self, a, _, b):
        return self._binary("div", a, b)

    def pow(self, a, _, b):
        return self._binary("pow", a, b)

    def neg(self, minus: Token, a: tuple) -> tuple:
        return self._node("neg", (a[0],), minus.start_pos, a[2])

    def pos(self, plus: Token, a: tuple) -> tuple:
        return a[0], plus.start_pos, a[2]

    def group(self, lpar: Token, a: tuple, rpar: Token) -> tuple:
        return a[0], lpar.start_pos, rpar.end_pos

    def args(self, *children) -> list:
        return [c for c in children if not isinstance(c, Token)]

    def call(self, name: Token, lpar: Token, operands: list, rpar: Token) -> tuple:
        fname, start, end = str(name), name.start_pos, rpar.end_pos
        op = FUNCTIONS.get(fname)
        if op is None:
            close = difflib.get_close_matches(fname, FUNCTIONS, n=1, cutoff=0.6)
            hint = f"did you mean {close[0]}(…)?" if close else "`grad ops` lists the functions"
            if fname in self.defined or fname in self.inputs or fname in CONSTANTS:
                message = f"{fname} is not a function"
            else:
                message = f"unknown function {fname!r}"
            raise self._error(UnknownFunctionError, message, start, name.end_pos, hint)
        count = len(operands)
        if op.arity is None and count < op.min_args:
            raise self._error(ArityError, f"{fname} takes at least {op.min_args} arguments, "
                              f"got {count}", start, end)
        if op.arity is not None and count != op.arity:
            plural = "argument" if op.arity == 1 else "arguments"
            raise self._error(ArityError, f"{fname} takes {op.arity} {plural}, got {count}",
                              start, end)
        return self._node(op.name, tuple(o[0] for o in operands), start, end)

    # --- statements ---------------------------------------------------------------------
    def _literal_value(self, node: int) -> float | None:
        """The value of a plain (optionally negated) number literal just parsed, else None."""
        if node in self.literals:
            return self.consts[node]
        if self.ops[node] == "neg" and self.args[node][0] in self.literals:
            return -self.consts[self.args[node][0]]
        return None

    def assign(self, name_token: Token, _, rhs: tuple) -> None:
        name, start, end = str(name_token), name_token.start_pos, name_token.end_pos
        if name in CONSTANTS:
            raise self._error(NameProblem, f"{name} is a built-in constant and cannot be "
                              "assigned", start, end, "choose another name")
        if name in FUNCTIONS:
            raise self._error(NameProblem, f"{name} is a function name and cannot be "
                              "assigned", start, end, "choose another name")
        if name in self.defined:
            raise self._error(NameProblem, f"{name} is already defined", start, end,
                              "each name is defined once; choose another name")
        value = self._literal_value(rhs[0])
        if value is not None:  # `x = -2` gives the input x its value
            if name in self.defaults:
                raise self._error(NameProblem, f"{name} is given a value twice", start, end)
            while len(self.ops) > rhs[0]:  # drop the literal's nodes: they are the newest
                node = len(self.ops) - 1
                self.ops.pop(), self.args.pop(), self.spans.pop(), self.names.pop()
                self.consts.pop(node, None)
                self.literals.discard(node)  # the id will be reused
            self.defaults[name] = value
            return None
        if name in self.inputs:
            raise self._error(NameProblem, f"{name} is used before it is defined", start, end,
                              "define a name before the formulas that use it")
        if name in self.defaults:
            raise self._error(NameProblem, f"{name} is given a value and also defined as a "
                              "formula", start, end)
        node = rhs[0]
        if self.ops[node] in (INPUT, CONST) or self.names[node] is not None:
            node = self._node("id", (node,), rhs[1], rhs[2])[0]  # q = x: q gets its own node
        self.names[node] = name
        self.defined[name] = node
        self.output = node
        return None

    def formula(self, expr: tuple) -> None:
        self.output = expr[0]

    def start(self, *statements) -> None:
        return None


@functools.cache
def grammar_text() -> str:
    packaged = resources.files("gradcli").joinpath("grammars").joinpath("gradcli.lark")
    if packaged.is_file():  # an installed wheel
        return packaged.read_text(encoding="utf-8")
    checkout = Path(__file__).resolve().parent.parent / "grammars" / "gradcli.lark"
    return checkout.read_text(encoding="utf-8")  # an editable install or the source tree


@functools.cache
def _parser() -> tuple[Lark, _Builder, _TokenStream]:
    stream = _TokenStream()
    builder = _Builder()
    lark = Lark(grammar_text(), parser="lalr", lexer=_lexer_class(stream), transformer=builder)
    return lark, builder, stream


def _expected(names: set[str]) -> str:
    names = set(names)
    parts = []
    if {"NUMBER", "NAME", "LPAR"} <= names:
        parts.append("a number, a name or '('")
        names -= _OPERAND_START
    if _OPERATORS <= names:
        parts.append("an operator")
        names -= _OPERATORS | {"LPAR"}  # '(' here could only call the name before it
    if names & {"_SEP", "$END"}:
        names -= {"_SEP", "$END"}
        parts.append("the end of the statement")
    parts += sorted(_DESCRIBE.get(n, n) for n in names)
    if len(parts) == 1:
        return parts[0]
    return ", ".join(parts[:-1]) + " or " + parts[-1]


def _syntax_error(text: str, exc: UnexpectedToken, stream: _TokenStream) -> SyntaxProblem:
    expected = _expected(exc.accepts or exc.expected)
    token = exc.token
    if token.type == "$END":
        return SyntaxProblem(f"expression ends too soon; expected {expected}",
                             source=text, span=Span(len(text), len(text) + 1))
    if token.type == "_SEP":
        what = "line" if str(token) == "\n" else "statement"
        return SyntaxProblem(f"{what} ends too soon; expected {expected}",
                             source=text, span=_span(token))
    hint = None
    before = stream.previous
    if token.type in ("NUMBER", "NAME", "LPAR") and before is not None and \
            before.type in ("NUMBER", "NAME", "RPAR"):
        hint = f"write multiplication explicitly: {before}*{token}"
    elif token.type == "EQUAL":
        hint = "only a plain name can be defined: name = formula"
    return SyntaxProblem(f"unexpected {str(token)!r}; expected {expected}",
                         source=text, span=_span(token), hint=hint)


def parse(text: str) -> Graph:
    """Parse a formula or program into a Graph. Raises SyntaxProblem (and its subclasses)."""
    lark, builder, stream = _parser()
    builder.begin(text)
    stream.previous = stream.current = None
    try:
        lark.parse(text)
    except UnexpectedToken as exc:
        raise _syntax_error(text, exc, stream) from None
    if builder.output is None:
        hint = "add a formula, e.g. f = x * y" if builder.defaults else None
        raise SyntaxProblem("nothing to evaluate: there is no formula", source=text,
                            span=Span(0, max(len(text), 1)), hint=hint)
    graph = Graph(
        source=text,
        ops=tuple(builder.ops),
        args=tuple(builder.args),
        spans=tuple(builder.spans),
        names=tuple(builder.names),
        consts=builder.consts,
        inputs=builder.inputs,
        defaults=builder.defaults,
        output=builder.output,
    )
    builder.begin("")  # let the node lists go
    return prune(graph)


def known_names() -> list[str]:
    """Every function and constant name a formula may use (for completion and help)."""
    return sorted(set(FUNCTIONS) | set(CONSTANTS))


assert set(_DESCRIBE) >= {"NUMBER", "NAME"} and "add" in OPS  # the table and grammar agree
