"""The REPL's state and line handling, with no terminal I/O.

A session holds input values (`x = -2`) and named definitions kept as formula text
(`q = x + y` is a formula, not a snapshot: change x and q follows). To evaluate a line it writes
the program the session stands for (the values and the definitions the line needs, in
dependency order, then the line) and runs it through the same parser, engine, request and
renderers as `grad eval -f FILE`, so the REPL and the one-shot command cannot disagree.

`Session.handle(line)` returns a Reply: renderables for standard output, messages (errors and
warnings) for standard error, and whether to quit. Meta-commands live in one table, META,
from which `:help` and completion are generated.
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import RenderableType
from rich.table import Table
from rich.text import Text

from . import render, request
from .engine import Tape, parse_binding, resolve_point
from .errors import (
    DomainError,
    GradcliError,
    NameProblem,
    Span,
    SyntaxProblem,
    UnboundInputError,
    UsageError,
)
from .files import read_text, write_text
from .graph import CONST, Graph
from .ops import CONSTANTS, FUNCTIONS
from .render_table import FoldingTable
from .syntax import _TOKEN_RE, parse

_CONTINUES = {"PLUS", "MINUS", "STAR", "SLASH", "POW", "EQUAL", "COMMA", "LPAR"}


@dataclass
class Reply:
    """What one line produced. `output` goes to standard output (a str is written as it is,
    e.g. JSON; anything else is a Rich renderable), `messages` (errors and warnings, already
    rendered) to standard error."""

    output: list[RenderableType] = field(default_factory=list)
    messages: list[RenderableType] = field(default_factory=list)
    error: GradcliError | None = None
    quit: bool = False

    @property
    def is_error(self) -> bool:
        return self.error is not None

    @property
    def exit_code(self) -> int:
        return int(self.error.exit_code) if self.error is not None else 0

    def fail(self, exc: GradcliError) -> Reply:
        self.error = exc
        self.messages.append(render.error(exc))
        return self


@dataclass(frozen=True, slots=True)
class Definition:
    rhs: str  # the formula text as typed (continuations joined)
    deps: tuple[str, ...]  # the free names of the formula, in order of first use

    def text(self, name: str) -> str:
        return f"{name} = {self.rhs}"


@dataclass(frozen=True, slots=True)
class Meta:
    name: str
    usage: str
    doc: str
    run: Callable[[Session, str], Reply]


@dataclass(frozen=True, slots=True)
class _Segment:
    """Where a piece of a generated program came from, to point errors at what was typed."""

    start: int  # offset in the program
    end: int
    source: str  # the text the user typed it in
    offset: int  # where it starts in that text


# --- reading lines ----------------------------------------------------------------------------
def _tokens(text: str) -> list[re.Match]:
    return [m for m in _TOKEN_RE.finditer(text) if m.lastgroup != "SKIP"]


def needs_more(text: str) -> bool:
    """True when the input so far is an unfinished statement: unbalanced parentheses, or the
    last line ends with an operator, ',', '=' or a backslash."""
    if text.endswith("\\"):
        return True
    if text.lstrip().startswith(":"):
        return False
    depth = 0
    for match in _tokens(text):
        kind = match.lastgroup
        depth += kind == "LPAR"
        depth -= kind == "RPAR" and depth > 0
    if depth:
        return True
    last = text.rstrip(" \t\r\f").rsplit("\n", 1)[-1]
    tokens = _tokens(last)
    return bool(tokens) and tokens[-1].lastgroup in _CONTINUES and tokens[-1].end() == len(
        last.rstrip())


def join_lines(text: str) -> str:
    """Join continued lines, keeping every character's offset (for error carets): a backslash
    and its newline become two spaces, a newline after an operator becomes a space."""
    text = text.replace("\\\n", "  ")
    lines = text.split("\n")
    for i in range(len(lines) - 1):
        stripped = lines[i].rstrip()
        tokens = _tokens(stripped)
        if tokens and tokens[-1].lastgroup in _CONTINUES and tokens[-1].end() == len(stripped):
            lines[i] += " "
        else:
            lines[i] += "\n"
    return "".join(lines)


def statements(text: str) -> list[tuple[int, str]]:
    """(offset, text) of each statement, split at ';' and new lines outside parentheses, as
    the language does. Empty statements and comments are left out."""
    result, start, depth, significant = [], 0, 0, False
    for match in _TOKEN_RE.finditer(text):
        kind = match.lastgroup
        if kind == "SKIP":
            continue
        if kind == "_SEP" and depth == 0:
            if significant:
                result.append((start, text[start:match.start()]))
            start, significant = match.end(), False
            continue
        if kind == "LPAR":
            depth += 1
        elif kind == "RPAR":
            depth = max(depth - 1, 0)
        significant = True
    if significant:
        result.append((start, text[start:]))
    return result


def number_literal(value: float) -> str:
    """A number as the language reads it back exactly: -2, 0.1, 1e-05."""
    text = repr(float(value))
    return text[:-2] if text.endswith(".0") else text


def _literal(graph: Graph) -> float | None:
    """The value of a formula that is a plain (optionally negated) number, as the language
    reads `x = -2`; None for any other formula."""
    node, sign = graph.output, 1.0
    if graph.ops[node] == "neg":
        node, sign = graph.args[node][0], -1.0
    if graph.ops[node] == CONST and graph.names[node] is None:
        return sign * graph.consts[node]
    return None


def _relocate(exc: GradcliError, source: str, shift: int) -> GradcliError:
    """Point an error found in a piece of `source` (starting at `shift`) at `source` itself."""
    if exc.span is not None:
        exc.span = Span(exc.span.start + shift, exc.span.end + shift)
    exc.source = source
    return exc


class Session:
    def __init__(self, digits: int = 6) -> None:
        self.digits = digits
        self.values: dict[str, float] = {}
        self.definitions: dict[str, Definition] = {}
        # The console replies will be printed on, if any: a long :descend shows its progress
        # bar there while it runs (only on a terminal), as grad descend does.
        self.console = None

    # --- the public entry point -------------------------------------------------------------
    def handle(self, line: str) -> Reply:
        """Run one input (a statement, a program of several, or a ':' command)."""
        text = join_lines(line)
        reply = Reply()
        stripped = text.strip()
        if not stripped.startswith(":") and not statements(text):
            return reply  # an empty line or a comment does nothing
        try:
            if stripped.startswith(":"):
                return self._meta(stripped, reply)
            self._run_program(text, reply)
        except GradcliError as exc:
            reply.fail(exc)
        return reply

    def names(self) -> list[str]:
        """Every name the session knows: inputs with values and named definitions."""
        return [*self.values, *self.definitions]

    def complete(self, before_cursor: str) -> tuple[str, list[str]]:
        """(the word being completed, candidates) for the text before the cursor: ':' commands
        at the start of a line, else functions (with '('), constants and session names."""
        if re.fullmatch(r"\s*:\w*", before_cursor):
            word = before_cursor.strip()
            return word, [m.name for m in META.values() if m.name.startswith(word)]
        match = re.search(r"[A-Za-z_][A-Za-z0-9_]*$", before_cursor)
        word = match.group() if match else ""
        if not word:
            return "", []
        found = [f"{n}(" for n in sorted(FUNCTIONS) if n.startswith(word)]
        found += [n for n in sorted(CONSTANTS) if n.startswith(word)]
        found += [n for n in self.names() if n.startswith(word)]
        return word, found

    # --- statements -------------------------------------------------------------------------
    def _run_program(self, text: str, reply: Reply) -> None:
        """Run each statement in turn; the first error stops the rest (earlier ones stay)."""
        for offset, statement in statements(text):
            tokens = _tokens(statement)
            try:
                if len(tokens) >= 2 and tokens[0].lastgroup == "NAME" and \
                        tokens[1].lastgroup == "EQUAL":
                    self._assign(statement, tokens[0].group(), tokens[1].end(), reply)
                else:
                    self._show(statement, reply)
            except GradcliError as exc:
                if exc.source == statement:
                    _relocate(exc, text, offset)
                raise

    def _assign(self, statement: str, name: str, rhs_at: int, reply: Reply) -> None:
        rhs = statement[rhs_at:].strip()
        if name in CONSTANTS or name in FUNCTIONS:
            parse(statement)  # the language's own message: a constant or function name
            raise NameProblem(f"{name} cannot be assigned", source=statement,
                              span=Span(0, len(name)))
        try:
            graph = parse(rhs)
        except SyntaxProblem as exc:
            parse(statement)  # the language's own message for the whole statement, if any
            lead = len(statement[rhs_at:]) - len(statement[rhs_at:].lstrip())
            raise _relocate(exc, statement, rhs_at + lead) from None
        value = _literal(graph)
        if value is not None:
            self.definitions.pop(name, None)
            self.values[name] = value
            reply.output.append(Text.assemble((name, "bold"), " = ",
                                              (number_literal(value), render.VALUE)))
            return
        deps = tuple(graph.inputs)
        cycle = self._cycle(name, deps)
        if cycle:
            shown = cycle if len(cycle) <= 8 else [*cycle[:4], "…", *cycle[-3:]]
            raise NameProblem(
                f"{name} = {rhs} would make {name} depend on itself: {' → '.join(shown)}",
                source=statement, span=Span(0, len(statement.rstrip())),
                hint="a definition cannot use itself, directly or through other names")
        parse(statement)  # the language's own checks of the whole statement (`a = b = c`)
        self.values.pop(name, None)
        self.definitions.pop(name, None)  # a redefinition moves to the end
        self.definitions[name] = Definition(rhs, deps)
        reply.output.append(self._defined_line(name))

    def _defined_line(self, name: str) -> Text:
        text = Text.assemble((name, "bold"), " = ", self.definitions[name].rhs)
        try:
            ev = self._evaluate_name(name)
        except (UnboundInputError, DomainError) as exc:
            text.append(f"   (no value yet: {exc.message})", style="dim")
            return text
        text.append("   value ", style="dim")
        text.append(render.num(ev.value, self.digits), style=render.VALUE)
        return text

    def _cycle(self, name: str, deps: Iterable[str]) -> list[str] | None:
        """The chain name → … → name that defining `name` with these deps would close, if
        any. An explicit-stack walk over the definitions."""
        parent: dict[str, str] = {}
        stack: list[str] = []
        for dep in deps:
            if dep == name:
                return [name, name]
            if dep not in parent:
                parent[dep] = name
                stack.append(dep)
        while stack:
            node = stack.pop()
            definition = self.definitions.get(node)
            for dep in definition.deps if definition and node != name else ():
                if dep == name:
                    chain = [node]
                    while chain[-1] != name:
                        chain.append(parent[chain[-1]])
                    return [*reversed(chain), name]
                if dep not in parent:
                    parent[dep] = node
                    stack.append(dep)
        return None

    def _show(self, statement: str, reply: Reply) -> None:
        result = self.evaluate(statement)
        reply.messages.extend(render.warning(m) for m in result.warnings)
        reply.output.append(render.evaluation_view(result.evaluation, result.names,
                                                   self.digits, result.check))

    # --- programs ---------------------------------------------------------------------------
    def order(self, roots: Iterable[str]) -> tuple[list[str], list[str]]:
        """(the input values, the definitions) that the names `roots` need, definitions in
        dependency order. Iterative post-order walk; definitions never form a cycle."""
        done: set[str] = set()
        values: set[str] = set()
        order: list[str] = []
        stack = [(r, False) for r in reversed(list(roots))]
        while stack:
            node, expanded = stack.pop()
            if node in self.values:
                values.add(node)
                continue
            if node not in self.definitions or (node in done and not expanded):
                continue
            if expanded:
                order.append(node)
                continue
            done.add(node)
            stack.append((node, True))
            stack.extend((d, False) for d in reversed(self.definitions[node].deps))
        return [n for n in self.values if n in values], order

    def program(self, expression: str | None = None, roots: Iterable[str] | None = None,
                source: str | None = None, offset: int = 0) -> tuple[str, list[_Segment]]:
        """The session as a program text that ends with `expression` (or, without one, with the
        last definition), and where each of its lines came from."""
        if roots is None:
            roots = self.definitions
        values, order = self.order(roots)
        parts: list[str] = []
        segments: list[_Segment] = []
        at = 0

        def add(text: str, src: str, src_offset: int) -> None:
            nonlocal at
            parts.append(text)
            segments.append(_Segment(at, at + len(text), src, src_offset))
            at += len(text) + 1

        for name in values:
            line = f"{name} = {number_literal(self.values[name])}"
            add(line, line, 0)
        for name in order:
            line = self.definitions[name].text(name)
            add(line, line, 0)
        if expression is not None:
            add(expression, source if source is not None else expression, offset)
        return "\n".join(parts), segments

    def prepare(self, expression: str, source: str | None = None,
                offset: int = 0) -> tuple[Tape, dict[str, float]]:
        """Parse `expression` in the session's context: (the tape, the session's point).
        Errors point at what the user typed."""
        tape, point, _ = self._compile(expression, source, offset)
        return tape, point

    def _compile(self, expression: str, source: str | None,
                 offset: int) -> tuple[Tape, dict[str, float], list[_Segment]]:
        roots = self._free_names(expression)
        text, segments = self.program(expression, roots, source, offset)
        try:
            graph = parse(text)
            point, _ = resolve_point(graph, {})
        except GradcliError as exc:
            raise self._map_error(exc, text, segments) from None
        return Tape(graph), point, segments

    def evaluate(self, expression: str, wrt: list[str] | None = None,
                 check: bool = False) -> request.Result:
        """What `grad eval` computes for `expression` with the session's values and
        definitions. Raises GradcliError pointing at what the user typed."""
        tape, point, segments = self._compile(expression, None, 0)
        try:
            return request.run(tape, point, wrt, check)
        except DomainError as exc:
            raise self._map_error(exc, tape.graph.source, segments) from None

    def descend(self, expression: str, options) -> Reply:
        """`grad descend` on `expression` from the session's values (options: a
        descend_run.DescendOptions), shown by the same renderer. When the run ends (all steps,
        converged or Ctrl-C) its parameters become the session's values; a diverged run leaves
        them as they were. Raises GradcliError, leaving the session unchanged."""
        from .render_descend import run_descent

        tape, point, segments = self._compile(expression, None, 0)
        text = tape.graph.source

        def locate(exc: GradcliError) -> GradcliError:
            return self._map_error(exc, text, segments)

        try:
            outcome = run_descent(tape, point, options, self.console, locate)
        except GradcliError as exc:
            raise locate(exc) from None
        result = outcome.run.result
        reply = Reply(output=list(outcome.output), messages=list(outcome.messages))
        if result.stopped == "diverged":
            reply.error = result.error or GradcliError(result.reason)
            reply.messages.append(Text("the session's values are unchanged", style="dim"))
            return reply
        moved = {n: v for n, v in result.final.items() if n in self.values}
        self.values.update(moved)
        note = Text("now ", style="dim")
        for i, (name, value) in enumerate(moved.items()):
            note.append(", " if i else "")
            note.append(name, style="bold")
            note.append(" = ")
            note.append(render.num(value, self.digits), style=render.VALUE)
        (reply.messages if options.as_json else reply.output).append(note)
        return reply

    def _evaluate_name(self, name: str):
        return self.evaluate(name).evaluation

    def _free_names(self, expression: str) -> list[str]:
        """The names an expression uses (parsed on its own: a syntax error is reported
        against the expression as typed)."""
        return list(parse(expression).inputs)

    @staticmethod
    def _map_error(exc: GradcliError, text: str, segments: list[_Segment]) -> GradcliError:
        if exc.source != text or exc.span is None:
            return exc
        start = exc.span.start
        for seg in segments:
            if seg.start <= start <= seg.end or seg is segments[-1]:
                shift = seg.offset - seg.start
                exc.span = Span(start + shift, exc.span.end + shift)
                exc.source = seg.source
                return exc
        return exc

    # --- meta-commands ----------------------------------------------------------------------
    def _meta(self, text: str, reply: Reply) -> Reply:
        word, _, argument = text.partition(" ")
        command = META.get(word)
        if command is None:
            close = difflib.get_close_matches(word, META, n=1, cutoff=0.6)
            raise UsageError(f"unknown command {word}",
                             hint=f"did you mean {close[0]}?" if close else
                             ":help lists the commands")
        result = command.run(self, argument.strip())
        reply.output += result.output
        reply.messages += result.messages
        reply.error, reply.quit = result.error, result.quit
        return reply

    def reset(self) -> None:
        self.values.clear()
        self.definitions.clear()

    def save(self, path: str | os.PathLike) -> Path:
        """Write the session as a program (files.write_text: an old file is replaced only
        once the new one is complete)."""
        target = Path(path)
        text, _ = self.program()
        body = ("# a gradcli session: grad eval -f FILE, or :load FILE in grad repl\n"
                + (text + "\n" if text else ""))
        write_text(target, body)
        return target

    def load(self, path: str | os.PathLike) -> Reply:
        """Run a program file's statements into the session: all of them, or (on an error)
        none."""
        text = read_text(path)
        saved = dict(self.values), dict(self.definitions)
        reply = Reply()
        try:
            self._run_program(join_lines(text), reply)
        except GradcliError:
            self.values, self.definitions = saved
            raise
        return reply


# --- the command table ------------------------------------------------------------------------
def _split_at_options(argument: str, names: Iterable[str]) -> tuple[str, str]:
    """'EXPR --lr 0.1 --maximize' -> ('EXPR', '--lr 0.1 --maximize'): the expression is
    everything before the first word that is one of the option `names` ('--lr', alone or as
    '--lr=0.1')."""
    pattern = "|".join(re.escape(n) for n in names)
    match = re.search(rf"(?:^|(?<=\s))(?:{pattern})(?=[\s=]|$)", argument)
    if match is None:
        return argument.strip(), ""
    return argument[:match.start()].strip(), argument[match.start():].strip()


def _split_options(argument: str, options: Iterable[str]) -> tuple[str, dict[str, str]]:
    """'EXPR --wrt x,y' -> ('EXPR', {'wrt': 'x,y'}). Only the given option names (each taking
    a value) are options; everything before the first of them is the expression."""
    options = list(options)
    expression, rest = _split_at_options(argument, [f"--{o}" for o in options])
    names = "|".join(re.escape(o) for o in options)
    pattern = re.compile(rf"(?:^|\s)--({names})(?:=|\s+)(\S+)")
    found = {m.group(1): m.group(2) for m in pattern.finditer(rest)}
    left = pattern.sub("", rest).strip()
    if left:
        raise UsageError(f"unexpected {left!r} after the options")
    return expression, found


def _option_words(text: str) -> list[str]:
    """Option words split as a shell splits them (quotes keep a file name with spaces)."""
    import shlex

    try:
        return shlex.split(text)
    except ValueError as exc:
        raise UsageError(f"cannot read the options: {exc}") from None


def _expression_argument(argument: str, usage: str) -> None:
    if not argument:
        raise UsageError("no formula given", hint=f"usage: {usage}")


def _cmd_help(session: Session, argument: str) -> Reply:
    table = Table(box=None, show_header=False, pad_edge=False)
    table.add_column("command", style="bold")
    table.add_column("what it does")
    rows = [("x = -2", "give the input x a value"),
            ("q = x + y", "define a named node (a formula: it follows x and y)"),
            ("EXPR", "evaluate: every node's value and gradient, as grad eval"),
            *((meta.usage, meta.doc) for meta in META.values())]
    for usage, doc in rows:
        table.add_row(Text(usage), Text(doc))
    note = Text("Several statements may share a line, separated by ';'. A line ending in an "
                "operator or '\\', or with '(' left open, continues on the next one.",
                style="dim")
    return Reply(output=[table, note])


def _cmd_vars(session: Session, argument: str) -> Reply:
    if not session.values and not session.definitions:
        return Reply(output=[Text("no inputs or definitions yet", style="dim")])
    _, order = session.order(session.definitions)
    output = argument or (order[-1] if order else None)
    if output is not None and output not in session.definitions:
        raise UsageError(f"{output} is not a named definition",
                         hint=f"the definitions are {', '.join(session.definitions) or '(none)'}")
    ev, note = None, None
    if output is not None:
        try:
            ev = session.evaluate(output).evaluation
        except (UnboundInputError, DomainError) as exc:
            note = exc.message
    digits = session.digits
    table = FoldingTable(title=Text(f"gradients are ∂{output}/∂name") if output else None)
    for column, style in (("name", "bold"), ("formula", ""), ("value", render.VALUE),
                          (f"∂{output}/∂name" if output else "gradient", render.GRAD)):
        table.add_column(column, style=style, justify="right" if style.startswith(
            ("green", "red")) else "left", wrap=column == "formula")
    node_of = {}
    if ev is not None:
        for node, name in enumerate(ev.graph.names):
            if name is not None:
                node_of[name] = node
    for name, value in session.values.items():
        grad = render.num(ev.grads[node_of[name]], digits) if name in node_of else "—"
        table.add_row(Text(name), Text("input", style="dim"), render.num(value, digits), grad)
    for name in order:
        definition = session.definitions[name]
        if name in node_of:
            value = render.num(ev.values[node_of[name]], digits)
            grad = render.num(ev.grads[node_of[name]], digits)
        else:
            try:
                value = render.num(session.evaluate(name).evaluation.value, digits)
            except (UnboundInputError, DomainError):
                value = "—"
            grad = "—"
        table.add_row(Text(name), Text(definition.rhs), value, grad)
    out: list[RenderableType] = [table]
    if note:
        out.append(Text(f"{output} has no value: {note}", style="dim"))
    return Reply(output=out)


def _evaluation_command(session: Session, argument: str, usage: str, *, check: bool = False,
                        as_json: bool = False, table_only: bool = False) -> Reply:
    expression, options = _split_options(argument, ["wrt"])
    _expression_argument(expression, usage)
    wrt = None
    if "wrt" in options:
        wrt = [n.strip() for n in options["wrt"].split(",") if n.strip()]
    result = session.evaluate(expression, wrt, check)
    reply = Reply(messages=[render.warning(m) for m in result.warnings])
    if as_json:
        from . import jsonout

        reply.output.append(jsonout.dumps(jsonout.evaluation(
            result.evaluation, result.names, result.check)))
    elif table_only:
        reply.output.append(render.gradient_table(result.evaluation, result.names,
                                                  session.digits, result.check))
    else:
        reply.output.append(render.evaluation_view(result.evaluation, result.names,
                                                   session.digits, result.check))
    return reply


def _cmd_grad(session: Session, argument: str) -> Reply:
    return _evaluation_command(session, argument, META[":grad"].usage, table_only=True)


def _cmd_check(session: Session, argument: str) -> Reply:
    return _evaluation_command(session, argument, META[":check"].usage, check=True)


def _cmd_json(session: Session, argument: str) -> Reply:
    return _evaluation_command(session, argument, META[":json"].usage, as_json=True)


def _cmd_del(session: Session, argument: str) -> Reply:
    names = argument.replace(",", " ").split()
    if not names:
        raise UsageError("no name given", hint=f"usage: {META[':del'].usage}")
    unknown = [n for n in names if n not in session.values and n not in session.definitions]
    if unknown:
        raise UsageError(f"{', '.join(unknown)} is not defined in this session",
                         hint=f"the names are {', '.join(session.names()) or '(none)'}")
    for name in names:
        session.values.pop(name, None)
        session.definitions.pop(name, None)
    users = [n for n, d in session.definitions.items() if set(d.deps) & set(names)]
    reply = Reply(output=[Text(f"deleted {', '.join(names)}")])
    if users:
        reply.messages.append(render.warning(
            f"{', '.join(users)} still use{'s' if len(users) == 1 else ''} "
            f"{', '.join(names)}, which now has no value"))
    return reply


def _cmd_reset(session: Session, argument: str) -> Reply:
    session.reset()
    return Reply(output=[Text("the session is empty")])


def _file_argument(argument: str, usage: str) -> str:
    if not argument:
        raise UsageError("no file given", hint=f"usage: {usage}")
    return os.path.expanduser(argument)


def _counted(session: Session) -> str:
    """'1 input and 2 definitions'."""
    inputs, definitions = len(session.values), len(session.definitions)
    return (f"{inputs} input{'' if inputs == 1 else 's'} and "
            f"{definitions} definition{'' if definitions == 1 else 's'}")


def _cmd_save(session: Session, argument: str) -> Reply:
    path = session.save(_file_argument(argument, META[":save"].usage))
    return Reply(output=[Text(f"saved {_counted(session)} to {path}")])


def _cmd_load(session: Session, argument: str) -> Reply:
    path = _file_argument(argument, META[":load"].usage)
    reply = session.load(path)
    reply.output.append(Text(f"loaded {path}: {_counted(session)} in the session"))
    return reply


def _cmd_quit(session: Session, argument: str) -> Reply:
    return Reply(quit=True)


def _cmd_descend(session: Session, argument: str) -> Reply:
    from .cli import descend_option_names, parse_descend_options

    expression, rest = _split_at_options(argument, descend_option_names())
    _expression_argument(expression, META[":descend"].usage)
    options = parse_descend_options(_option_words(rest))
    return session.descend(expression, options)


_RANGE_WORD = re.compile(r"(?:^|(?<=\s))[A-Za-z_]\w*\s*=\s*[^\s:]*:")


def _cmd_plot(session: Session, argument: str) -> Reply:
    """As grad plot, in the terminal, with the session's values for the other inputs."""
    from .render_plot import Plot
    from .sample import at_point, axis, check_points, mark, sample, split_ranges

    usage = META[":plot"].usage
    found = _RANGE_WORD.search(argument)
    expression = argument[:found.start()].strip() if found else argument.strip()
    _expression_argument(expression, usage)
    words = _option_words(argument[found.start():] if found else "")
    at: dict[str, float] = {}
    points, rest = None, []
    while words:
        word = words.pop(0)
        if word in ("--at", "--points") and not words:
            raise UsageError(f"{word} needs a value", hint=f"usage: {usage}")
        if word == "--at":
            for part in filter(None, words.pop(0).split(",")):
                name, value = parse_binding(part)
                at[name] = value
        elif word == "--points":
            try:
                points = int(words.pop(0))
            except ValueError:
                raise UsageError("--points takes a whole number", hint=f"usage: {usage}") \
                    from None
        else:
            rest.append(word)
    ranges, others = split_ranges(rest)
    if others:
        raise UsageError(f"unexpected {' '.join(others)!r}",
                         hint="the other inputs take the session's values: set them first, "
                              "e.g. y = 1")
    check_points(points, ranges)
    names = tuple(name for name, _, _ in ranges)
    saved = dict(session.values)
    session.values.update({name: lo for name, lo, _ in ranges})  # the ranged inputs, for now
    try:
        tape, point, segments = session._compile(expression, None, 0)
    finally:
        session.values.clear()
        session.values.update(saved)
    missing = [n for n in names if n not in tape.graph.inputs]
    if missing:
        raise UsageError(f"{' and '.join(missing)} is not an input of {expression}")
    fixed = {n: v for n, v in point.items() if n not in names}
    try:
        marked = mark(tape, {**fixed, **at_point(at, ranges)}, names) if at else None
        width = max(40, getattr(session.console, "width", 80))
        n = points or (width if len(names) == 1 else 60)
        samples = sample(tape, [axis(name, lo, hi, n) for name, lo, hi in ranges], fixed)
    except DomainError as exc:
        raise session._map_error(exc, tape.graph.source, segments) from None
    return Reply(output=[Plot(samples, marked, session.digits)])


META: dict[str, Meta] = {m.name: m for m in (
    Meta(":help", ":help", "this list", _cmd_help),
    Meta(":vars", ":vars [NAME]",
         "inputs and named nodes: value, and gradient of NAME (default: the last definition)",
         _cmd_vars),
    Meta(":grad", ":grad EXPR [--wrt a,b]", "the gradient table of EXPR", _cmd_grad),
    Meta(":check", ":check EXPR [--wrt a,b]",
         "EXPR with each gradient compared to the numerical derivative", _cmd_check),
    Meta(":json", ":json EXPR [--wrt a,b]", "EXPR as grad eval --json prints it", _cmd_json),
    Meta(":descend", ":descend EXPR [--wrt a,b] [--lr R] [--steps K] [--tol E] …",
         "gradient descent on EXPR, with the options of grad descend (--maximize, "
         "--optimizer, --target, --every, --json, …); its inputs then hold the trained point "
         "(Ctrl-C stops it and keeps the point so far)", _cmd_descend),
    Meta(":plot", ":plot EXPR x=A:B [y=C:D] [--at x=1] [--points N]",
         "f and its gradient over a range (two ranges: a heatmap), as grad plot draws it; "
         "the other inputs keep the session's values", _cmd_plot),
    Meta(":del", ":del NAME…", "forget inputs or definitions", _cmd_del),
    Meta(":reset", ":reset", "forget everything", _cmd_reset),
    Meta(":save", ":save FILE", "write the session as a program (grad eval -f FILE reads it)",
         _cmd_save),
    Meta(":load", ":load FILE", "run a program file's statements into the session", _cmd_load),
    Meta(":quit", ":quit", "leave (as does Ctrl-D)", _cmd_quit),
)}
