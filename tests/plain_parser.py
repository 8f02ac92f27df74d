"""The parser's plain LALR driver as it was before gradcli ran the tables with numbered
symbols and unit-rule chains: a generator of tokens, and one dict lookup per table action.
The oracle that test_parse_fast compares the parser with."""

from __future__ import annotations

from collections.abc import Iterator

from gradcli.core.errors import Span, SyntaxProblem
from gradcli.core.lalr import (
    CALL,
    CALL_FILTERED,
    INLINE,
    Splice,
    accepts,
    children_of,
    syntax_error,
    tables,
    unexpected_character,
)
from gradcli.core.syntax import _Builder
from gradcli.core.tokens import LEX_RE, Tok


def tokens(text: str) -> Iterator[Tok]:
    """The formula's tokens, ending with $END. Raises SyntaxProblem on a stray character."""
    depth = 0  # newlines inside parentheses do not end a statement
    for match in LEX_RE.finditer(text):
        kind = match.lastgroup
        if kind == "SKIP" or kind == "END":
            continue
        word = match.group(kind)
        end = match.end()
        if kind == "BAD":
            raise SyntaxProblem(
                unexpected_character(word), source=text, span=Span(end - len(word), end)
            )
        if kind == "LPAR":
            depth += 1
        elif kind == "RPAR":
            depth = max(depth - 1, 0)
        elif kind == "_SEP" and depth and word == "\n":
            continue
        yield Tok(kind, word, end - len(word), end)
    yield Tok("$END", "", len(text), len(text))


def _nothing(*children) -> None:
    """A rule the builder has no method for (`start`) builds nothing."""
    return None


def plain_run(text: str, builder: _Builder) -> None:
    table = tables()
    actions, end = table["actions"], table["end"]
    rules = [
        (kind, origin, size, getattr(builder, method, _nothing) if method else None)
        for kind, origin, size, method in table["rules"]
    ]
    states = [table["start"]]
    values: list = []
    previous = None
    for token in tokens(text):
        symbol = token.type
        while True:
            action = actions[states[-1]].get(symbol)
            if action is None:
                raise syntax_error(text, token, previous, accepts(table, states))
            if action >= 0:
                states.append(action)
                values.append(token)
                break
            kind, origin, size, method = rules[-action - 1]
            if kind == INLINE:  # a unit rule (sum: product): same value, new state
                states[-1] = actions[states[-2]][origin]
                continue
            if size:
                children = values[-size:]
                del values[-size:]
                del states[-size:]
            else:
                children = []
            if kind == CALL:
                value = method(*children)
            elif kind == CALL_FILTERED:
                value = method(*children_of(children))
            elif children and isinstance(children[0], Splice):
                value = children[0]  # a left-recursive repeat (x*): grow it, don't copy it
                value.extend(children_of(children[1:]))
            else:
                value = Splice(children_of(children))
            goto = actions[states[-1]][origin]
            if goto == end:
                return
            states.append(goto)
            values.append(value)
        previous = token
