"""The LALR(1) driver: runs the parser tables of grammars/gradcli.lark over gradcli's own
lexer, calling a builder's method on each reduction (no parse tree, no recursion).

The tables are Lark's analysis of the grammar, kept in the repository as plain data
(gradcli/core/lalr_tables.py, made by `python -m gradcli.core.lalr_generate`); nothing is analysed or
cached at run time. Lark's own parser over the same grammar is the reference the tests
compare this driver with.
"""

from __future__ import annotations

import functools
import re
from typing import NamedTuple

from .errors import Span, SyntaxProblem
from .ops import FUNCTIONS
from .tokens import LEX_RE, Tok, open_parens

# How a rule's reduction builds its value (the generator writes these numbers in the tables)
CALL, CALL_FILTERED, INLINE, SPLICE = range(4)

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


def tables() -> dict:
    """The LALR(1) tables as plain data: per state, symbol -> shift state (>= 0) or
    -(rule + 1) to reduce; per rule, (kind, origin, length, builder method)."""
    from .lalr_tables import TABLES

    return TABLES


class Splice(list):
    """The children of a helper rule (Lark's `x*`, `x?`), spliced into the parent's."""


def children_of(values: list) -> list:
    """Splice helpers' children in and drop filtered tokens (_SEP). A splice is already flat:
    it was built by this same function when its rule was reduced."""
    out = []
    for value in values:
        if isinstance(value, Splice):
            out.extend(value)
        elif not (isinstance(value, Tok) and value.type.startswith("_")):
            out.append(value)
    return out


def accepts(tables: dict, states: list[int]) -> set[str]:
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


# --- the fast tables -------------------------------------------------------------------
# The tables renumbered for speed: a terminal is numbered by its lexer group (a match's
# lastindex is its symbol) and each state's row is a list. A chain of unit reductions (a
# value renamed: sum: product, then expr: sum) is one step, looked up in a table made once:
# where the chain that this lookahead starts from this state ends. A reduction's goto and
# the unit chain after it are one lookup too: per rule, per state below the reduced symbols,
# per lookahead. Errors show at the same token and with the same stack as with one table
# action at a time.

_SEP = LEX_RE.groupindex["_SEP"]  # the lexer's groups after the grammar's terminals
_SKIP = LEX_RE.groupindex["SKIP"]
_END = LEX_RE.groupindex["END"]
_BAD = LEX_RE.groupindex["BAD"]
_NO_ACTION = 1 << 20  # above every state: an error, or the accepting state's end
_UNITS = -_NO_ACTION  # the action of every unit rule: the units table says where it ends
_CALL1, _CALL3 = -1, -2  # a call with one child, or with three (binary operators, groups)
_NOTHING = -3  # a rule the builder has no method for, or a helper of one: its value is None
# How each terminal changes the depth of parentheses (a ')' too many is an error at once)
_DEPTH = [0] * (_END + 1)
_DEPTH[LEX_RE.groupindex["LPAR"]] = 1
_DEPTH[LEX_RE.groupindex["RPAR"]] = -1


class _FastTables(NamedTuple):
    actions: list[list[int]]  # [state][symbol]: shift or goto state, ~rule, _UNITS, _NO_ACTION
    units: list[list[list[int] | None]]  # [below][top][terminal]: top after unit reductions
    # per rule: kind, length, builder method, the rule it is part of (its own origin, or
    # for a helper the rule Lark made it for), [below][terminal]: the state after its goto
    rules: list[tuple[int, int, str | None, str, list[list[int] | None]]]
    names: list[str]  # terminal names by symbol
    start: int
    end: int


@functools.cache
def _fast_tables() -> _FastTables:
    return _make_fast_tables(tables())


def _make_fast_tables(tables: dict) -> _FastTables:
    rows, rules = tables["actions"], tables["rules"]
    symbols = {name: index for name, index in LEX_RE.groupindex.items() if index < _SKIP}
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
        return symbols[rules[~action][1]] if action < 0 and rules[~action][0] == INLINE else None

    actions = []
    for row in rows:
        actions.append([_NO_ACTION] * (max(symbols.values()) + 1))
        for symbol, action in row.items():
            actions[-1][symbols[symbol]] = action
    units: list[list[list[int] | None]] = []
    for below in actions:
        units.append([None] * len(actions))
        for top in set(below[_END + 1 :]) - {_NO_ACTION}:  # each state a goto leads to
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
        if kind == CALL and size in (1, 3):
            kind = _CALL1 if size == 1 else _CALL3
        target = symbols[origin]
        gotos = [
            units[number][below[target]] if below[target] != _NO_ACTION else None
            for number, below in enumerate(actions)
        ]
        fast_rules.append((kind, size, method, _owner(origin), gotos))
    return _FastTables(actions, units, fast_rules, names, tables["start"], tables["end"])


def _owner(origin: str) -> str:
    """The rule a helper belongs to: Lark names the helper of `x*` in rule r `__r_star_N`
    (and `__r_plus_N` for `x+`)."""
    match = re.fullmatch(r"__(\w+?)_(?:star|plus)_\d+", origin)
    return match[1] if match else origin


# --- the driver ------------------------------------------------------------------------


def parse_into(text: str, builder) -> None:
    """Parse `text`, calling the builder's method named by each rule on its reduction.
    Raises SyntaxProblem."""
    fast = _fast_tables()
    actions, units, names, end = fast.actions, fast.units, fast.names, fast.end
    # A rule the builder has no method for builds nothing, nor do its helpers: a builder
    # without `start` keeps what each statement builds, and a program's separators and
    # statements are then collected in no lists.
    built = {owner for _, _, method, owner, _ in fast.rules if method and hasattr(builder, method)}
    rules = [
        (kind, size, getattr(builder, method) if method else None, gotos)
        if kind == INLINE or owner in built
        else (_NOTHING, size, None, gotos)
        for kind, size, method, owner, gotos in fast.rules
    ]
    states = [fast.start]
    values: list = []
    push_state, push_value, pop_value = states.append, values.append, values.pop
    depths = _DEPTH
    previous = None
    depth = 0  # newlines inside parentheses do not end a statement
    for match in LEX_RE.finditer(text):
        symbol = match.lastindex
        if symbol < _SEP:
            depth += depths[symbol]
        elif symbol == _SEP:
            if depth and match[_SEP] == "\n":
                continue
        elif symbol == _SKIP:
            continue
        elif symbol == _BAD:
            raise SyntaxProblem(
                unexpected_character(match[_BAD]),
                source=text,
                span=Span(match.start(_BAD), match.end()),
            )
        action = actions[states[-1]][symbol]
        while action < 0:
            if action == _UNITS:
                states[-1] = units[states[-2]][states[-1]][symbol]
            else:
                kind, size, method, gotos = rules[~action]
                if kind == _CALL1:
                    values[-1] = method(values[-1])
                    states[-1] = gotos[states[-2]][symbol]
                elif kind == _CALL3:  # in place: the first child's slot takes the value
                    third = pop_value()
                    second = pop_value()
                    values[-1] = method(values[-1], second, third)
                    del states[-2:]
                    states[-1] = gotos[states[-2]][symbol]
                else:
                    if size:
                        children = values[-size:]
                        del values[-size:]
                        del states[-size:]
                    else:
                        children = []
                    if kind == CALL:
                        value = method(*children)
                    elif kind == _NOTHING:
                        value = None
                    elif kind == CALL_FILTERED:
                        value = method(*children_of(children))
                    elif children and isinstance(children[0], Splice):
                        value = children[0]  # a left-recursive repeat (x*): grow it in place
                        value.extend(children_of(children[1:]))
                    else:
                        value = Splice(children_of(children))
                    push_state(gotos[states[-1]][symbol])
                    push_value(value)
            action = actions[states[-1]][symbol]
        word = match[symbol]
        stop = match.end()
        # A token's fields as a plain tuple: a Tok costs a third of the parse to make. The
        # tokens the grammar filters out (_SEP) are Toks, which children_of tells apart.
        token = (names[symbol], word, stop - len(word), stop)
        if symbol == _SEP:
            token = tuple.__new__(Tok, token)  # without Tok's Python-level __new__
        if action == _NO_ACTION:
            if states[-1] == end:
                return
            before = previous and Tok(*previous)
            raise syntax_error(text, Tok(*token), before, accepts(tables(), states))
        push_state(action)
        push_value(token)
        previous = token


def unexpected_character(character: str) -> str:
    """The message for a character no token starts with; a non-ASCII one is also named, as
    an ASCII terminal shows it transliterated ('·' as '*', which would be a valid operator)."""
    if character.isascii() or not character.isprintable():
        return f"unexpected character {character!r}"
    import unicodedata  # only for this message

    name = unicodedata.name(character, "")
    return (
        f"unexpected character {character!r} (U+{ord(character):04X}{' ' + name if name else ''})"
    )


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


def syntax_error(text: str, token: Tok, before: Tok | None, accepts: set[str]) -> SyntaxProblem:
    expected = _expected(accepts)
    if token.type in ("$END", "_SEP") and "RPAR" in accepts:
        opened = _unclosed(text, token.start if token.type == "_SEP" else len(text))
        if opened is not None:
            what = (
                "expression"
                if token.type == "$END"
                else "line"
                if token.text == "\n"
                else "statement"
            )
            return SyntaxProblem(
                f"{what} ends too soon; expected ')' to close this '('",
                source=text,
                span=Span(opened, opened + 1),
            )
    if token.type == "$END":
        end = len(text.rstrip())  # just past the last character, on its own line
        return SyntaxProblem(
            f"expression ends too soon; expected {expected}", source=text, span=Span(end, end + 1)
        )
    if token.type == "_SEP":
        what = "line" if token.text == "\n" else "statement"
        return SyntaxProblem(
            f"{what} ends too soon; expected {expected}",
            source=text,
            span=Span(token.start, token.end),
        )
    hint = None
    if (
        token.type in ("NUMBER", "NAME")
        and before is not None
        and before.type == "NAME"
        and before.text in FUNCTIONS
    ):
        hint = f"call the function with parentheses: {before.text}({token.text})"
    elif (
        token.type in ("NUMBER", "NAME", "LPAR")
        and before is not None
        and before.type in ("NUMBER", "NAME", "RPAR")
    ):
        hint = f"write multiplication explicitly: {before.text}*{token.text}"
    elif token.type == "EQUAL":
        hint = "only a plain name can be defined: name = formula"
    return SyntaxProblem(
        f"unexpected {token.text!r}; expected {expected}",
        source=text,
        span=Span(token.start, token.end),
        hint=hint,
    )


def _unclosed(text: str, end: int) -> int | None:
    """Where the innermost '(' still open at `end` is (comments skipped), or None."""
    opened = open_parens(text[:end])
    return opened[-1] if opened else None
