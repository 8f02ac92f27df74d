"""The formula language's words: what a number and a name are, and the regexes that cut text
into tokens. Shared by the parser's lexer, the command line's NAME=NUMBER bindings and the
REPL's highlighting, so they can never disagree. Imports nothing of gradcli."""

from __future__ import annotations

import re
from typing import NamedTuple

NUMBER = r"(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?"  # ASCII digits only
NAME = r"[A-Za-z_][A-Za-z0-9_]*"
TERMINALS = rf"""
    (?P<NAME>{NAME})
    |(?P<LPAR>\()|(?P<RPAR>\))
    |(?P<NUMBER>{NUMBER})
    |(?P<POW>\*\*|\^)
    |(?P<STAR>\*)|(?P<PLUS>\+)|(?P<MINUS>-)|(?P<SLASH>/)
    |(?P<COMMA>,)|(?P<EQUAL>=)
    |(?P<_SEP>[;\n])
"""  # the commonest first: the regex tries them in turn
# Every piece of the text, whitespace and comments included (for highlighting and the REPL).
TOKEN_RE = re.compile(TERMINALS + r"|(?P<SKIP>[ \t\r\f]+|\#[^\n]*)|(?P<BAD>.)", re.VERBOSE)
# For the parser: the blanks before a token are folded into its match, halving the matches.
# A match's lastindex numbers its terminal (the fast driver's symbols); END matches once, at
# the end of the text.
LEX_RE = re.compile(
    r"[ \t\r\f]*(?:" + TERMINALS + r"|(?P<SKIP>\#[^\n]*)|(?P<END>\Z)"
    r"|(?P<BAD>.))",
    re.VERBOSE,
)


class Tok(NamedTuple):
    type: str  # a terminal name of the grammar: NUMBER, NAME, PLUS, …, _SEP, $END
    text: str
    start: int
    end: int


_PAREN = re.compile(r"[()]")


def open_parens(text: str) -> list[int]:
    """The offsets of the '(' still open at the end of `text`, outermost first (comments left
    out). Lines without parentheses cost one search each, as typing wants."""
    opened: list[int] = []
    at = 0
    for line in text.split("\n"):
        code = line.split("#", 1)[0]
        if "(" in code or opened:
            for match in _PAREN.finditer(code):
                if match.group() == "(":
                    opened.append(at + match.start())
                elif opened:
                    opened.pop()
        at += len(line) + 1
    return opened
