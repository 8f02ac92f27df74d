"""Formula text -> Graph: the builder that makes the graph's nodes in the LALR parser's own
callbacks (no parse tree, no recursion). The lexer's definitions are in tokens, the parser
(its tables and the driver that runs them) in lalr.

The grammar lives in grammars/gradcli.lark, shipped inside the package.
"""

from __future__ import annotations

import functools
import math
from typing import NamedTuple

from . import lalr
from .errors import (
    ArityError,
    NameProblem,
    Span,
    SyntaxProblem,
    UnknownFunctionError,
)
from .graph import CONST, INPUT, Graph, gc_paused, prune
from .ops import CONSTANTS, FUNCTIONS

# session.py and prompt.py import the REPL's token regex from here
from .tokens import TOKEN_RE as _TOKEN_RE  # noqa: F401
from .tokens import Tok

# What `name = …` cannot simply name: an input or constant gets a node of its own (q = x),
# and a negated literal may be `x = -2`, a value for the input x
_NAMED_APART = (INPUT, CONST, "neg")


class _Builder:
    """Builds graph nodes as the parser reduces rules; made fresh for each parse. The method
    names are the grammar's rule aliases. Every expression callback returns an operand:
    (node id, start, end) of that occurrence in the text. A token is read by position, as
    (type, text, start, end): the fast driver passes plain tuples, the plain one Toks."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.ops: list[str] = []
        self.node_args: list[tuple[int, ...]] = []
        self.spans: list[tuple[int, int]] = []
        self.names: list[str | None] = []
        self.consts: dict[int, float] = {}
        self.inputs: dict[str, int] = {}
        self.shared_consts: dict[str, int] = {}
        self.defined: dict[str, int] = {}
        self.defaults: dict[str, float] = {}
        self.literals: set[int] = set()
        self.output: int | None = None
        self.expression: tuple | None = None  # the last statement, if a bare expression

    def _node(self, op: str, args: tuple[int, ...], start: int, end: int) -> tuple:
        node = len(self.ops)
        self.ops.append(op)
        self.node_args.append(args)
        self.spans.append((start, end))
        self.names.append(None)
        return node, start, end

    def _error(self, cls, message: str, start: int, end: int, hint: str | None = None):
        return cls(message, source=self.text, span=Span(start, end), hint=hint)

    # --- leaves -------------------------------------------------------------------------
    def number(self, token: Tok) -> tuple:
        _, text, start, end = token
        value = float(text)
        if not math.isfinite(value):
            raise self._error(
                SyntaxProblem, f"the number {text!r} is too large for a double", start, end
            )
        operand = self._node(CONST, (), start, end)
        self.consts[operand[0]] = value
        self.literals.add(operand[0])
        return operand

    def name(self, token: Tok) -> tuple:
        _, name, start, end = token
        node = self.defined.get(name)
        if node is not None:
            return node, start, end
        if name in CONSTANTS:
            node = self.shared_consts.get(name)
            if node is None:
                node = self._node(CONST, (), start, end)[0]
                self.consts[node] = CONSTANTS[name]
                self.names[node] = name
                self.shared_consts[name] = node
            return node, start, end
        if name in FUNCTIONS:
            raise self._error(
                SyntaxProblem, f"{name} is a function: call it as {name}(…)", start, end
            )
        node = self.inputs.get(name)
        if node is None:
            node = self._node(INPUT, (), start, end)[0]
            self.names[node] = name
            self.inputs[name] = node
        return node, start, end

    # --- operators ----------------------------------------------------------------------
    def add(self, a, _, b):
        return self._node("add", (a[0], b[0]), a[1], b[2])

    def sub(self, a, _, b):
        return self._node("sub", (a[0], b[0]), a[1], b[2])

    def mul(self, a, _, b):
        return self._node("mul", (a[0], b[0]), a[1], b[2])

    def div(self, a, _, b):
        return self._node("div", (a[0], b[0]), a[1], b[2])

    def pow(self, a, _, b):
        return self._node("pow", (a[0], b[0]), a[1], b[2])

    def neg(self, minus: Tok, a: tuple) -> tuple:
        return self._node("neg", (a[0],), minus[2], a[2])

    def pos(self, plus: Tok, a: tuple) -> tuple:
        return a[0], plus[2], a[2]

    def group(self, lpar: Tok, a: tuple, rpar: Tok) -> tuple:
        return a[0], lpar[2], rpar[3]

    def args(self, *children) -> list:
        return list(children[::2])  # expr, COMMA, expr, …

    def call(self, name: Tok, lpar: Tok, operands: list, rpar: Tok) -> tuple:
        _, fname, start, name_end = name
        end = rpar[3]
        op = FUNCTIONS.get(fname)
        if op is None:
            import difflib  # only for this message: keeps start-up light

            close = difflib.get_close_matches(fname, FUNCTIONS, n=1, cutoff=0.6)
            hint = f"did you mean {close[0]}(…)?" if close else "`grad ops` lists the functions"
            if fname in self.defined or fname in self.inputs or fname in CONSTANTS:
                message = f"{fname} is not a function"
            else:
                message = f"unknown function {fname!r}"
            raise self._error(UnknownFunctionError, message, start, name_end, hint)
        count = len(operands)
        if count != op.arity and (op.arity is not None or count < op.min_args):
            if op.arity is None:
                message = f"{fname} takes at least {op.min_args} arguments, got {count}"
            else:
                plural = "argument" if op.arity == 1 else "arguments"
                message = f"{fname} takes {op.arity} {plural}, got {count}"
            raise self._error(ArityError, message, start, end)
        if count == 1:
            return self._node(op.name, (operands[0][0],), start, end)
        return self._node(op.name, tuple([o[0] for o in operands]), start, end)

    # --- statements ---------------------------------------------------------------------
    def _literal_value(self, node: int) -> float | None:
        """The value of a plain (optionally negated) number literal just parsed, else None."""
        if node in self.literals:
            return self.consts[node]
        if self.ops[node] == "neg" and self.node_args[node][0] in self.literals:
            return -self.consts[self.node_args[node][0]]
        return None

    def _after_expression(self) -> None:
        """An expression statement followed by another statement would be computed and
        dropped: only the last statement is the output."""
        if self.expression is not None:
            _, start, end = self.expression
            raise self._error(
                SyntaxProblem,
                f"{self.text[start:end]} is not used: only the last statement is the output",
                start,
                end,
                "remove it, or use it in the last formula (name it first: r = …)",
            )

    def _assignable(self, name: str, start: int, end: int) -> None:
        if name in CONSTANTS:
            raise self._error(
                NameProblem,
                f"{name} is a built-in constant and cannot be assigned",
                start,
                end,
                "choose another name",
            )
        if name in FUNCTIONS:
            raise self._error(
                NameProblem,
                f"{name} is a function name and cannot be assigned",
                start,
                end,
                "choose another name",
            )

    def _drop_literal(self, rhs: tuple) -> None:
        while len(self.ops) > rhs[0]:  # drop the literal's nodes: they are the newest
            node = len(self.ops) - 1
            self.ops.pop(), self.node_args.pop(), self.spans.pop(), self.names.pop()
            self.consts.pop(node, None)
            self.literals.discard(node)  # the id will be reused

    def _named(self, name: str, rhs: tuple) -> int:
        """The node that holds the value of `name = rhs`, named."""
        node = rhs[0]
        if self.ops[node] in (INPUT, CONST) or self.names[node] is not None:
            node = self._node("id", (node,), rhs[1], rhs[2])[0]  # q = x: q gets its own node
        self.names[node] = name
        return node

    def assign(self, name_token: Tok, _, rhs: tuple) -> None:
        name, node = name_token[1], rhs[0]
        # The common case in one test, a new name for a node just built (a program of
        # 100,000 statements spends a tenth of its parse here); the rest in the order
        # their messages are given.
        if (
            self.expression is None
            and self.names[node] is None
            and node not in self.literals
            and self.ops[node] not in _NAMED_APART
            and name not in self.defined
            and name not in self.inputs
            and name not in self.defaults
            and name not in CONSTANTS
            and name not in FUNCTIONS
        ):
            self.names[node] = name
            self.defined[name] = node
            self.output = node
            return None
        self._after_expression()
        _, name, start, end = name_token
        self._assignable(name, start, end)
        if name in self.defined:
            raise self._error(
                NameProblem,
                f"{name} is already defined",
                start,
                end,
                "each name is defined once; choose another name",
            )
        value = self._literal_value(rhs[0])
        if value is not None:  # `x = -2` gives the input x its value
            if name in self.defaults:
                raise self._error(NameProblem, f"{name} is given a value twice", start, end)
            self._drop_literal(rhs)
            self.defaults[name] = value
            return None
        if name in self.inputs:
            raise self._error(
                NameProblem,
                f"{name} is used before it is defined",
                start,
                end,
                "define a name before the formulas that use it",
            )
        if name in self.defaults:
            raise self._error(
                NameProblem, f"{name} is given a value and also defined as a formula", start, end
            )
        node = self._named(name, rhs)
        self.defined[name] = node
        self.output = node
        return None

    def formula(self, expr: tuple) -> None:
        self._after_expression()
        self.expression = expr
        self.output = expr[0]


@functools.cache
def grammar_text() -> str:
    from pathlib import Path  # only to generate the tables: ~4 ms at start-up

    here = Path(__file__).resolve().parent.parent  # the gradcli package
    packaged = here / "grammars" / "gradcli.lark"  # an installed wheel
    checkout = here.parent / "grammars" / "gradcli.lark"  # an editable install or the source
    return (packaged if packaged.is_file() else checkout).read_text(encoding="utf-8")


def parse(text: str) -> Graph:
    """Parse a formula or program into a Graph. Raises SyntaxProblem (and its subclasses)."""
    with gc_paused():  # one pause for all: the builder's lists become the graph's tuples
        builder = _Builder(text)
        lalr.parse_into(text, builder)
        if builder.output is None:
            hint = "add a formula, e.g. f = x * y" if builder.defaults else None
            raise SyntaxProblem(
                "nothing to evaluate: there is no formula",
                source=text,
                span=Span(0, max(len(text), 1)) if text.strip() else None,  # no blank excerpt
                hint=hint,
            )
        return prune(
            Graph(
                source=text,
                ops=tuple(builder.ops),
                args=tuple(builder.node_args),
                spans=tuple(builder.spans),
                names=tuple(builder.names),
                consts=builder.consts,
                inputs=builder.inputs,
                defaults=builder.defaults,
                output=builder.output,
            )
        )


class Statement(NamedTuple):
    """One statement of a program as the parser read it. `line` is the whole text it was
    parsed from; `span` is the statement in it, `rhs` its formula (spans of the graph's nodes
    are offsets into `line` too, and graph.source is `line`)."""

    name: str | None  # the name assigned; None for a formula to show
    graph: Graph | None  # the formula, its free names as inputs; None for `x = -2`
    value: float | None  # the number of `x = -2`
    line: str
    span: Span
    rhs: Span

    @property
    def text(self) -> str:
        return self.line[self.span.start : self.span.end]

    @property
    def rhs_text(self) -> str:
        return self.line[self.rhs.start : self.rhs.end]


class _StatementBuilder(_Builder):
    """Builds each statement as a graph of its own: names are never resolved against earlier
    statements (the caller links them), so `x = x + 1` parses, its x an input."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.statements: list[Statement] = []

    def _close(
        self,
        name: str | None,
        node: int | None,
        value: float | None,
        start: int,
        end: int,
        rhs: tuple,
    ) -> None:
        graph = None
        if node is not None:
            graph = prune(
                Graph(
                    self.text,
                    tuple(self.ops),
                    tuple(self.node_args),
                    tuple(self.spans),
                    tuple(self.names),
                    self.consts,
                    self.inputs,
                    {},
                    node,
                )
            )
        self.statements.append(
            Statement(name, graph, value, self.text, Span(start, end), Span(rhs[1], rhs[2]))
        )
        self.ops, self.node_args, self.spans, self.names = [], [], [], []
        self.consts, self.inputs, self.shared_consts = {}, {}, {}
        self.literals = set()

    def assign(self, name_token: Tok, _, rhs: tuple) -> None:
        _, name, start, end = name_token
        self._assignable(name, start, end)
        value = self._literal_value(rhs[0])
        if value is not None:
            self._drop_literal(rhs)
            self._close(name, None, value, start, rhs[2], rhs)
        else:
            self._close(name, self._named(name, rhs), None, start, rhs[2], rhs)

    def formula(self, expr: tuple) -> None:
        self._close(None, expr[0], None, expr[1], expr[2], expr)


def parse_statements(text: str) -> tuple[list[Statement], SyntaxProblem | None]:
    """Each statement of a program, parsed once, and the error that stopped the parse (the
    statements before it are complete). Blank text and comments give no statements."""
    with gc_paused():
        builder = _StatementBuilder(text)
        try:
            lalr.parse_into(text, builder)
        except SyntaxProblem as exc:
            return builder.statements, exc
        return builder.statements, None
