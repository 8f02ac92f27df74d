"""Formula text -> Graph: a regex lexer, Lark's LALR parser, and a builder that makes the
graph's nodes in the parser's own callbacks (no parse tree, no recursion).

The grammar lives in grammars/gradcli.lark, shipped inside the package.
"""

from __future__ import annotations

import functools
import marshal
import math
import os
import re
import zlib
from pathlib import Path
from typing import NamedTuple

from .errors import (
    ArityError,
    NameProblem,
    Span,
    SyntaxProblem,
    UnknownFunctionError,
)
from .graph import CONST, INPUT, Graph, gc_paused, prune
from .ops import CONSTANTS, FUNCTIONS

NUMBER = r"(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?"  # ASCII digits only
NAME = r"[A-Za-z_][A-Za-z0-9_]*"
_TERMINALS = rf"""
    (?P<NAME>{NAME})
    |(?P<LPAR>\()|(?P<RPAR>\))
    |(?P<NUMBER>{NUMBER})
    |(?P<POW>\*\*|\^)
    |(?P<STAR>\*)|(?P<PLUS>\+)|(?P<MINUS>-)|(?P<SLASH>/)
    |(?P<COMMA>,)|(?P<EQUAL>=)
    |(?P<_SEP>[;\n])
"""  # the commonest first: the regex tries them in turn
# Every piece of the text, whitespace and comments included (for highlighting and the REPL).
_TOKEN_RE = re.compile(_TERMINALS + r"|(?P<SKIP>[ \t\r\f]+|\#[^\n]*)|(?P<BAD>.)", re.VERBOSE)
# For the parser: the blanks before a token are folded into its match, halving the matches.
# A match's lastindex numbers its terminal (the fast driver's symbols); END matches once, at
# the end of the text.
_LEX_RE = re.compile(r"[ \t\r\f]*(?:" + _TERMINALS + r"|(?P<SKIP>\#[^\n]*)|(?P<END>\Z)"
                     r"|(?P<BAD>.))", re.VERBOSE)

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


class Tok(NamedTuple):
    type: str  # a terminal name of the grammar: NUMBER, NAME, PLUS, …, _SEP, $END
    text: str
    start: int
    end: int


_new_tuple = tuple.__new__  # makes a Tok without its Python-level __new__


class _Builder:
    """Builds graph nodes as the parser reduces rules; made fresh for each parse. The method
    names are the grammar's rule aliases. Every expression callback returns an operand:
    (node id, start, end) of that occurrence in the text."""

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
        value = float(token.text)
        if not math.isfinite(value):
            raise self._error(SyntaxProblem, f"the number {token.text!r} is too large for a "
                              "double", token.start, token.end)
        operand = self._node(CONST, (), token.start, token.end)
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
            raise self._error(SyntaxProblem, f"{name} is a function: call it as {name}(…)",
                              start, end)
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
        return self._node("neg", (a[0],), minus.start, a[2])

    def pos(self, plus: Tok, a: tuple) -> tuple:
        return a[0], plus.start, a[2]

    def group(self, lpar: Tok, a: tuple, rpar: Tok) -> tuple:
        return a[0], lpar.start, rpar.end

    def args(self, *children) -> list:
        if len(children) == 1:
            return [children[0]]
        return [c for c in children if not isinstance(c, Tok)]

    def call(self, name: Tok, lpar: Tok, operands: list, rpar: Tok) -> tuple:
        fname, start, end = name.text, name.start, rpar.end
        op = FUNCTIONS.get(fname)
        if op is None:
            import difflib  # only for this message: keeps start-up light

            close = difflib.get_close_matches(fname, FUNCTIONS, n=1, cutoff=0.6)
            hint = f"did you mean {close[0]}(…)?" if close else "`grad ops` lists the functions"
            if fname in self.defined or fname in self.inputs or fname in CONSTANTS:
                message = f"{fname} is not a function"
            else:
                message = f"unknown function {fname!r}"
            raise self._error(UnknownFunctionError, message, start, name.end, hint)
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

    def _assignable(self, name: str, start: int, end: int) -> None:
        if name in CONSTANTS:
            raise self._error(NameProblem, f"{name} is a built-in constant and cannot be "
                              "assigned", start, end, "choose another name")
        if name in FUNCTIONS:
            raise self._error(NameProblem, f"{name} is a function name and cannot be "
                              "assigned", start, end, "choose another name")

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
        _, name, start, end = name_token
        self._assignable(name, start, end)
        if name in self.defined:
            raise self._error(NameProblem, f"{name} is already defined", start, end,
                              "each name is defined once; choose another name")
        value = self._literal_value(rhs[0])
        if value is not None:  # `x = -2` gives the input x its value
            if name in self.defaults:
                raise self._error(NameProblem, f"{name} is given a value twice", start, end)
            self._drop_literal(rhs)
            self.defaults[name] = value
            return None
        if name in self.inputs:
            raise self._error(NameProblem, f"{name} is used before it is defined", start, end,
                              "define a name before the formulas that use it")
        if name in self.defaults:
            raise self._error(NameProblem, f"{name} is given a value and also defined as a "
                              "formula", start, end)
        node = self._named(name, rhs)
        self.defined[name] = node
        self.output = node
        return None

    def formula(self, expr: tuple) -> None:
        self.output = expr[0]

    def start(self, *statements) -> None:
        return None


@functools.cache
def grammar_text() -> str:
    here = Path(__file__).resolve().parent
    packaged = here / "grammars" / "gradcli.lark"  # an installed wheel
    checkout = here.parent / "grammars" / "gradcli.lark"  # an editable install or the source
    return (packaged if packaged.is_file() else checkout).read_text(encoding="utf-8")


# --- the LALR parser -------------------------------------------------------------------
# Lark analyses the grammar into LALR(1) tables once (they are cached on disk with marshal,
# the quickest to load, keyed by the grammar's hash); a small loop below runs them, calling the builder on each
# reduction. This keeps start-up fast and the per-token cost low.

_CALL, _CALL_FILTERED, _INLINE, _SPLICE = range(4)
_TABLE_FORMAT = "1"


def _analyse(grammar: str) -> dict:
    """LALR(1) tables from Lark, as plain data: per state, symbol -> shift state (>= 0) or
    -(rule + 1) to reduce; per rule, (kind, origin, length, builder method)."""
    from lark import Lark
    from lark.lexer import Lexer

    class Unused(Lexer):  # the tables need no lexer; ours is _LEX_RE, run by _run
        def __init__(self, conf) -> None:
            pass

        def lex(self, data):
            raise NotImplementedError

    table = Lark(grammar, parser="lalr", lexer=Unused).parser.parser.parser.parse_table
    rules: list = []
    index: dict = {}
    actions = []
    for state in range(len(table.states)):
        row = {}
        for symbol, (action, arg) in table.states[state].items():
            symbol = str(symbol)  # plain str: Lark's names may be Token (a str subclass)
            if action.name == "Shift":
                row[symbol] = arg
                continue
            if arg not in index:
                index[arg] = len(rules)
                origin = str(arg.origin.name)
                names = [str(s.name) for s in arg.expansion]
                if arg.alias:
                    kind, method = _CALL, str(arg.alias)
                elif arg.options.expand1 and len(names) == 1:
                    kind, method = _INLINE, None
                elif origin.startswith("_"):
                    kind, method = _SPLICE, None
                else:
                    kind, method = _CALL, origin
                if kind == _CALL and any(n.startswith("_") for n in names):
                    kind = _CALL_FILTERED
                rules.append([kind, origin, len(names), method])
            row[symbol] = -(index[arg] + 1)
        actions.append(row)
    return {"format": _TABLE_FORMAT, "actions": actions, "rules": rules,
            "start": table.start_states["start"], "end": table.end_states["start"]}


def _cache_path(key: str) -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "gradcli" / f"lalr-{key}.marshal"


@functools.cache
def _tables() -> dict:
    grammar = grammar_text()
    data = (_TABLE_FORMAT + grammar).encode()
    # a cache key, not a security check; marshal's format may change with its version
    key = f"{zlib.crc32(data):08x}-{len(data)}-m{marshal.version}"
    path = _cache_path(key)
    try:
        return marshal.loads(path.read_bytes())
    except (OSError, ValueError, EOFError, TypeError):
        pass
    tables = _analyse(grammar)
    try:  # write beside, then rename: a reader never sees half a file
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f"{path.name}.{os.getpid()}.tmp")
        temporary.write_bytes(marshal.dumps(tables))
        os.replace(temporary, path)
    except OSError:
        pass  # no cache directory: analyse again next time
    return tables


class _Splice(list):
    """The children of a helper rule (Lark's `x*`, `x?`), spliced into the parent's."""


def _children(values: list) -> list:
    """Splice helpers' children in and drop filtered tokens (_SEP). A splice is already flat:
    it was built by this same function when its rule was reduced."""
    out = []
    for value in values:
        if isinstance(value, _Splice):
            out.extend(value)
        elif not (isinstance(value, Tok) and value.type.startswith("_")):
            out.append(value)
    return out


def _accepts(tables: dict, states: list[int]) -> set[str]:
    """The terminals the parser could take next from this stack (simulating reductions)."""
    actions, rules = tables["actions"], tables["rules"]
    found = set()
    for symbol in actions[states[-1]]:
        if not symbol.isupper():
            continue
        stack = list(states)
        while True:
            action = actions[stack[-1]].get(symbol)
            if action is None:
                break
            if action >= 0 or stack[-1] == tables["end"]:
                found.add(symbol)
                break
            _, origin, size, _ = rules[-action - 1]
            if size:
                del stack[-size:]
            stack.append(actions[stack[-1]][origin])
            if stack[-1] == tables["end"]:
                found.add(symbol)
                break
    return found


# --- the driver ------------------------------------------------------------------------
# Lark's tables, renumbered for speed: a terminal is numbered by its lexer group (a match's
# lastindex is its symbol) and each state's row is a list. A chain of unit reductions (a
# value renamed: sum: product, then expr: sum) is one step, looked up in a table made once:
# where the chain that this lookahead starts from this state ends. Errors show at the same
# token and with the same stack as with one table action at a time.

_SEP = _LEX_RE.groupindex["_SEP"]  # the lexer's groups after the grammar's terminals
_SKIP = _LEX_RE.groupindex["SKIP"]
_END = _LEX_RE.groupindex["END"]
_BAD = _LEX_RE.groupindex["BAD"]
_LPAR = _LEX_RE.groupindex["LPAR"]
_RPAR = _LEX_RE.groupindex["RPAR"]
_NO_ACTION = 1 << 20  # above every state: an error, or the accepting state's end
_UNITS = -_NO_ACTION  # the action of every unit rule: the units table says where it ends
_CALL1, _CALLN = -1, -2  # a call with one child, or with more


class _FastTables(NamedTuple):
    actions: list[list[int]]  # [state][symbol]: shift or goto state, ~rule, _UNITS, _NO_ACTION
    units: list[list[list[int] | None]]  # [below][top][terminal]: top after unit reductions
    rules: list[tuple[int, int, int, str | None]]  # kind, origin symbol, length, method
    names: list[str]  # terminal names by symbol
    start: int
    end: int


_FAST: list = []  # [(tables, fast tables)]: made again whenever _tables() gives others


def _fast_tables() -> _FastTables:
    tables = _tables()
    if not _FAST or _FAST[0][0] is not tables:
        _FAST[:] = [(tables, _make_fast_tables(tables))]
    return _FAST[0][1]


def _make_fast_tables(tables: dict) -> _FastTables:
    rows, rules = tables["actions"], tables["rules"]
    symbols = {name: index for name, index in _LEX_RE.groupindex.items() if index < _SKIP}
    symbols["$END"] = _END
    terminals = list(symbols.values())
    for row in rows:
        for symbol in row:
            symbols.setdefault(symbol, len(symbols) + _END)
    names = [""] * (_END + 1)
    for name, index in symbols.items():
        if index <= _END:
            names[index] = name

    def unit(action: int) -> int | None:
        """The origin symbol of a unit rule that `action` reduces by, else None."""
        return symbols[rules[~action][1]] if action < 0 and rules[~action][0] == _INLINE \
            else None

    actions = []
    for row in rows:
        actions.append([_NO_ACTION] * (max(symbols.values()) + 1))
        for symbol, action in row.items():
            actions[-1][symbols[symbol]] = action
    units: list[list[list[int] | None]] = []
    for below in actions:
        units.append([None] * len(actions))
        for top in set(below[_END + 1:]) - {_NO_ACTION}:  # each state a goto leads to
            ends = [top] * (_END + 1)
            for symbol in terminals:
                while (origin := unit(actions[ends[symbol]][symbol])) is not None:
                    ends[symbol] = below[origin]
            units[-1][top] = ends
    for row in actions:
        for symbol in terminals:
            if unit(row[symbol]) is not None:
                row[symbol] = _UNITS
    fast_rules = []
    for kind, origin, size, method in rules:
        if kind == _CALL and size:
            kind = _CALL1 if size == 1 else _CALLN
        fast_rules.append((kind, symbols[origin], size, method))
    return _FastTables(actions, units, fast_rules, names, tables["start"], tables["end"])


def _run(text: str, builder: _Builder) -> None:
    """Parse `text`, calling the builder on each reduction. Raises SyntaxProblem."""
    tables = _fast_tables()
    actions, units, names, end = tables.actions, tables.units, tables.names, tables.end
    rules = [(kind, origin, size, getattr(builder, method) if method else None)
             for kind, origin, size, method in tables.rules]
    states = [tables.start]
    values: list = []
    previous = None
    depth = 0  # newlines inside parentheses do not end a statement
    for match in _LEX_RE.finditer(text):
        symbol = match.lastindex
        if symbol >= _SEP:
            if symbol == _SEP:
                if depth and match[_SEP] == "\n":
                    continue
            elif symbol == _SKIP:
                continue
            elif symbol == _BAD:
                raise SyntaxProblem(f"unexpected character {match[_BAD]!r}", source=text,
                                    span=Span(match.start(_BAD), match.end()))
        elif symbol == _LPAR:
            depth += 1
        elif symbol == _RPAR and depth:
            depth -= 1
        action = actions[states[-1]][symbol]
        while action < 0:
            if action == _UNITS:
                states[-1] = units[states[-2]][states[-1]][symbol]
                action = actions[states[-1]][symbol]
                continue
            kind, origin, size, method = rules[~action]
            if kind == _CALL1:
                values[-1] = method(values[-1])
                states[-1] = actions[states[-2]][origin]
            elif kind == _CALLN:  # in place: the first child's slots take the value
                if size == 3:  # the commonest: a binary operator, a group, an assignment
                    third = values.pop()
                    second = values.pop()
                    values[-1] = method(values[-1], second, third)
                    del states[-2:]
                else:
                    values[-size:] = [method(*values[-size:])]
                    del states[1 - size:]
                states[-1] = actions[states[-2]][origin]
            else:
                if size:
                    children = values[-size:]
                    del values[-size:]
                    del states[-size:]
                else:
                    children = []
                if kind == _CALL:
                    value = method(*children)
                elif kind == _CALL_FILTERED:
                    value = method(*_children(children))
                elif children and isinstance(children[0], _Splice):
                    value = children[0]  # a left-recursive repeat (x*): grow it in place
                    value.extend(_children(children[1:]))
                else:
                    value = _Splice(_children(children))
                states.append(actions[states[-1]][origin])
                values.append(value)
            action = actions[states[-1]][symbol]
        word = match[symbol]
        stop = match.end()
        token = _new_tuple(Tok, (names[symbol], word, stop - len(word), stop))
        if action == _NO_ACTION:
            if states[-1] == end:
                return
            raise _syntax_error(text, token, previous, _accepts(_tables(), states))
        states.append(action)
        values.append(token)
        previous = token


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


def _syntax_error(text: str, token: Tok, before: Tok | None,
                  accepts: set[str]) -> SyntaxProblem:
    expected = _expected(accepts)
    if token.type == "$END":
        return SyntaxProblem(f"expression ends too soon; expected {expected}",
                             source=text, span=Span(len(text), len(text) + 1))
    if token.type == "_SEP":
        what = "line" if token.text == "\n" else "statement"
        return SyntaxProblem(f"{what} ends too soon; expected {expected}",
                             source=text, span=Span(token.start, token.end))
    hint = None
    if token.type in ("NUMBER", "NAME", "LPAR") and before is not None and \
            before.type in ("NUMBER", "NAME", "RPAR"):
        hint = f"write multiplication explicitly: {before.text}*{token.text}"
    elif token.type == "EQUAL":
        hint = "only a plain name can be defined: name = formula"
    return SyntaxProblem(f"unexpected {token.text!r}; expected {expected}",
                         source=text, span=Span(token.start, token.end), hint=hint)


def parse(text: str) -> Graph:
    """Parse a formula or program into a Graph. Raises SyntaxProblem (and its subclasses)."""
    with gc_paused():  # one pause for all: the builder's lists become the graph's tuples
        builder = _Builder(text)
        _run(text, builder)
        if builder.output is None:
            hint = "add a formula, e.g. f = x * y" if builder.defaults else None
            raise SyntaxProblem("nothing to evaluate: there is no formula", source=text,
                                span=Span(0, max(len(text), 1)), hint=hint)
        return prune(Graph(
            source=text,
            ops=tuple(builder.ops),
            args=tuple(builder.node_args),
            spans=tuple(builder.spans),
            names=tuple(builder.names),
            consts=builder.consts,
            inputs=builder.inputs,
            defaults=builder.defaults,
            output=builder.output,
        ))


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
        return self.line[self.span.start:self.span.end]

    @property
    def rhs_text(self) -> str:
        return self.line[self.rhs.start:self.rhs.end]


class _StatementBuilder(_Builder):
    """Builds each statement as a graph of its own: names are never resolved against earlier
    statements (the caller links them), so `x = x + 1` parses, its x an input."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.statements: list[Statement] = []

    def _close(self, name: str | None, node: int | None, value: float | None,
               start: int, end: int, rhs: tuple) -> None:
        graph = None
        if node is not None:
            graph = prune(Graph(self.text, tuple(self.ops), tuple(self.node_args),
                                tuple(self.spans), tuple(self.names), self.consts,
                                self.inputs, {}, node))
        self.statements.append(Statement(name, graph, value, self.text, Span(start, end),
                                         Span(rhs[1], rhs[2])))
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
            _run(text, builder)
        except SyntaxProblem as exc:
            return builder.statements, exc
        return builder.statements, None


def known_names() -> list[str]:
    """Every function and constant name a formula may use (for completion and help)."""
    return sorted(set(FUNCTIONS) | set(CONSTANTS))


