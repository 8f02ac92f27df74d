"""Writes gradcli/core/lalr_tables.py: Lark's LALR(1) analysis of grammars/gradcli.lark as plain
data for the driver in gradcli/core/lalr.py. Run it after changing the grammar or this analysis:

    .venv/bin/python -m gradcli.core.lalr_generate

(needs Lark: `pip install -e '.[test]'`). tests/test_lalr.py fails while the file is stale,
as a lock file would.
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

from .lalr import CALL, CALL_FILTERED, INLINE, SPLICE

TABLES_FILE = Path(__file__).with_name("lalr_tables.py")


def analyse(grammar: str) -> dict:
    """LALR(1) tables from Lark, as plain data: per state, symbol -> shift state (>= 0) or
    -(rule + 1) to reduce; per rule, [kind, origin, length, builder method]."""
    from lark import Lark
    from lark.lexer import Lexer

    class Unused(Lexer):  # the tables need no lexer; gradcli's is tokens.LEX_RE
        def __init__(self, conf) -> None:
            pass

        def lex(self, data):
            raise NotImplementedError

    table = Lark(grammar, parser="lalr", lexer=Unused).parser.parser.parser.parse_table
    return _canonical(table)


def _canonical(table) -> dict:
    """Lark's table as plain data, numbered the same way on every run: Lark numbers states
    and rules in the order of sets that string hashing (randomised per process) shuffles.
    States are numbered in breadth-first order from the start, symbols taken in sorted
    order; rules that build the same way are one, sorted."""

    def describe(rule) -> tuple:
        origin = str(rule.origin.name)
        names = [str(s.name) for s in rule.expansion]
        if rule.alias:
            kind, method = CALL, str(rule.alias)
        elif rule.options.expand1 and len(names) == 1:
            kind, method = INLINE, None
        elif origin.startswith("_"):
            kind, method = SPLICE, None
        else:
            kind, method = CALL, origin
        if kind == CALL and any(n.startswith("_") for n in names):
            kind = CALL_FILTERED
        return kind, origin, len(names), method

    states = {
        state: {str(symbol): action for symbol, action in row.items()}
        for state, row in table.states.items()
    }
    rules = sorted(
        {
            describe(rule)
            for row in states.values()
            for action, rule in row.values()
            if action.name != "Shift"
        },
        key=lambda rule: (rule[0], rule[1], rule[2], rule[3] or ""),
    )
    rule_number = {rule: number for number, rule in enumerate(rules)}
    start = table.start_states["start"]
    number = {start: 0}
    order = [start]
    for state in order:  # grows as states are found
        for symbol in sorted(states[state]):
            action, target = states[state][symbol]
            if action.name == "Shift" and target not in number:
                number[target] = len(order)
                order.append(target)
    actions = []
    for state in order:
        row = {}
        for symbol in sorted(states[state]):
            action, arg = states[state][symbol]
            row[symbol] = (
                number[arg] if action.name == "Shift" else -(rule_number[describe(arg)] + 1)
            )
        actions.append(row)
    return {
        "actions": actions,
        "rules": [list(rule) for rule in rules],
        "start": 0,
        "end": number[table.end_states["start"]],
    }


def module_text(grammar: str) -> str:
    """The text of lalr_tables.py for this grammar: one state or rule a line, in Lark's
    order, so a change to the grammar shows as a readable diff."""
    tables = analyse(grammar)
    digest = hashlib.sha256(grammar.encode("utf-8")).hexdigest()
    lines = [
        '"""LALR(1) tables of grammars/gradcli.lark, made by Lark. Generated: do not edit.',
        "Regenerate with `python -m gradcli.core.lalr_generate` (see gradcli/core/lalr_generate.py).",
        '"""',
        "",
        f'GRAMMAR_SHA256 = "{digest}"',
        "",
        "TABLES = {",
        f'    "start": {tables["start"]!r},',
        f'    "end": {tables["end"]!r},',
        '    "rules": [  # [kind, origin, length, builder method]',
        *(f"        {rule!r}," for rule in tables["rules"]),
        "    ],",
        '    "actions": [  # per state: symbol -> shift or goto state (>= 0), -(rule + 1)',
        *(f"        {row!r}," for row in tables["actions"]),
        "    ],",
        "}",
    ]
    return "\n".join(lines) + "\n"


def grammar_file() -> Path:
    """The grammar of the source checkout this module belongs to."""
    return Path(__file__).resolve().parents[2] / "grammars" / "gradcli.lark"


def main() -> None:
    try:
        text = module_text(grammar_file().read_text(encoding="utf-8"))
    except ImportError:
        sys.exit("gradcli.core.lalr_generate needs Lark: pip install -e '.[test]'")
    except OSError as exc:
        sys.exit(f"cannot read the grammar: {exc}")
    TABLES_FILE.write_text(text, encoding="utf-8")


if __name__ == "__main__":
    main()
