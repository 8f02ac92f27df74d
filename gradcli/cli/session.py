"""The REPL's state and line handling, with no terminal I/O.

A session holds input values (`x = -2`) and named definitions (`q = x + y` is a formula, not a
snapshot: change x and q follows). Each line is parsed once into statements (syntax.Statement:
its own graph, the line it came from and where it is in it); a definition keeps its statement.
To evaluate, the session links the graphs a formula needs into one graph (definitions in
dependency order, the inputs with their values) and runs it through the same engine, request
and renderers as `grad eval`, so the REPL and the one-shot command cannot disagree. Every node
keeps its span in the line it was typed in, so an error points there as it is.

`Session.handle(line)` returns a Reply: renderables for standard output, messages (errors and
warnings) for standard error, and whether to quit. Meta-commands live in one table, META,
from which `:help` and completion are generated.
"""

from __future__ import annotations

import bisect
import difflib
import io
import os
import re
import shlex
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import RenderableType
from rich.table import Table
from rich.text import Text

from ..core import request
from ..core.engine import Tape, parse_binding, resolve_point
from ..core.errors import (
    DomainError,
    GradcliError,
    NameProblem,
    Span,
    SyntaxProblem,
    UnboundInputError,
    UsageError,
)
from ..core.graph import CONST, INPUT, Graph
from ..core.ops import CONSTANTS, FUNCTIONS
from ..core.syntax import Statement, parse_statements
from ..core.tokens import open_parens
from ..output import render
from ..output.files import read_text, write_text
from ..output.render_table import FoldingTable

# The last characters of a line that continue a statement on the next: an operator, ',', '='
# or '('. Each of them is a whole token (or ends one: '**'), so no lexing is needed to tell.
_CONTINUING = frozenset("+-*/^=,(")


@dataclass
class Reply:
    """What one line produced. `output` goes to standard output (a str is written as it is,
    e.g. JSON; anything else is a Rich renderable), `messages` (errors and warnings, already
    rendered) to standard error."""

    output: list[RenderableType] = field(default_factory=list)
    messages: list[RenderableType] = field(default_factory=list)
    error: GradcliError | None = None
    quit: bool = False
    line: int | None = None  # the number of the input's first line in its script, if any

    @property
    def is_error(self) -> bool:
        return self.error is not None

    @property
    def exit_code(self) -> int:
        return int(self.error.exit_code) if self.error is not None else 0

    def fail(self, exc: GradcliError) -> Reply:
        self.error = exc
        self.messages.append(render.error(exc, first_line=self.line))
        return self


@dataclass(frozen=True, slots=True)
class Definition:
    statement: Statement  # `name = formula` as the parser read it

    @property
    def graph(self) -> Graph:
        return self.statement.graph

    @property
    def rhs(self) -> str:
        """The formula as typed (continued lines joined)."""
        return self.statement.rhs_text

    @property
    def deps(self) -> tuple[str, ...]:
        """The free names of the formula, in order of first use."""
        return tuple(self.statement.graph.inputs)


class Definitions(dict):
    """name -> Definition, counting how many definitions use each name: defining a name that
    none uses cannot close a cycle, so loading a long chain needs no walk per definition."""

    def __init__(self, *args) -> None:
        super().__init__(*args)
        self.uses: Counter[str] = Counter()
        for definition in self.values():
            self.uses.update(definition.deps)

    def __setitem__(self, name: str, definition: Definition) -> None:
        self.pop(name, None)
        super().__setitem__(name, definition)
        self.uses.update(definition.deps)

    def __delitem__(self, name: str) -> None:
        self.pop(name)

    _missing = object()

    def pop(self, name: str, default=_missing):
        if name not in self:
            if default is Definitions._missing:
                raise KeyError(name)
            return default
        definition = super().pop(name)
        self.uses.subtract(definition.deps)
        return definition

    def clear(self) -> None:
        super().clear()
        self.uses.clear()


@dataclass(frozen=True, slots=True)
class Meta:
    name: str
    usage: str
    doc: str
    run: Callable[[Session, str], Reply]


# --- reading lines ----------------------------------------------------------------------------
def ends_with_operator(line: str) -> bool:
    """True when a line ends with a token that continues the statement (a comment ends it)."""
    if "#" in line:
        return False
    stripped = line.rstrip()
    return bool(stripped) and stripped[-1] in _CONTINUING


def unclosed_paren(text: str) -> int | None:
    """The offset of the first '(' that is never closed, if any (comments left out)."""
    opened = open_parens(text)
    return opened[0] if opened else None


def needs_more(text: str) -> bool:
    """True when the input so far is an unfinished statement: unbalanced parentheses, or the
    last line ends with an operator, ',', '=' or a backslash. Linear, and no lexing."""
    if text.endswith("\\"):
        return True
    if text.lstrip().startswith(":"):
        return False
    if unclosed_paren(text) is not None:
        return True
    return ends_with_operator(text.rsplit("\n", 1)[-1])


def join_lines(text: str) -> str:
    """Join continued lines, keeping every character's offset (for error carets): a backslash
    and its newline become two spaces, a newline after an operator becomes a space."""
    text = text.replace("\\\n", "  ")
    lines = text.split("\n")
    for i in range(len(lines) - 1):
        lines[i] += " " if ends_with_operator(lines[i]) else "\n"
    return "".join(lines)


def number_literal(value: float) -> str:
    """A number as the language reads it back exactly: -2, 0.1, 1e-05."""
    text = repr(float(value))
    return text[:-2] if text.endswith(".0") else text


class Session:
    def __init__(self, digits: int = 6) -> None:
        self.digits = digits
        self.values: dict[str, float] = {}
        self.definitions = Definitions()
        # The console replies will be printed on, if any: a long :descend shows its progress
        # bar there while it runs (only on a terminal), as grad descend does.
        self.console = None
        # Asks the person at the terminal a yes/no question (:save over a file); None in a
        # script, where nothing is asked and the answer is no.
        self.confirm: Callable[[str], bool] | None = None

    # --- the public entry point -------------------------------------------------------------
    def handle(self, line: str, first_line: int | None = None) -> Reply:
        """Run one input (a statement, a program of several, or a ':' command). `first_line`
        is the number of its first line in a script, for the error messages."""
        text = join_lines(line)
        reply = Reply(line=first_line)
        try:
            if text.lstrip().startswith(":"):
                return self._meta(text.strip(), reply)
            statements, error = parse_statements(text)
            for statement in statements:
                self._run(statement, reply)
            if error is not None:
                raise self._cut_short(error, text)
        except GradcliError as exc:
            if exc.source == text:
                exc.source = line  # the same offsets, shown as typed
            elif exc.source is not None and exc.source not in line:
                reply.line = None  # an earlier line's definition: its number is not known
            reply.fail(exc)
        return reply

    @staticmethod
    def _cut_short(error: SyntaxProblem, text: str) -> SyntaxProblem:
        """An input that ends inside parentheses: the '(' left open is the error."""
        at = unclosed_paren(text)
        if at is None or error.span is None or error.span.start < len(text.rstrip()):
            return error
        return SyntaxProblem(
            "this '(' is never closed",
            source=text,
            span=Span(at, at + 1),
            hint="close it with ')'; a blank line or a ':' command ends an unfinished statement",
        )

    def names(self) -> list[str]:
        """Every name the session knows: inputs with values and named definitions."""
        return [*self.values, *self.definitions]

    def complete(self, before_cursor: str) -> tuple[str, list[str]]:
        """(the word being completed, candidates) for the text before the cursor: ':' commands
        at the start of a line, else functions (with '('), constants and session names."""
        if re.fullmatch(r"\s*:\w*!?", before_cursor):
            word = before_cursor.strip()
            return word, [m.name for m in META.values() if m.name.startswith(word)]
        match = re.search(r"[A-Za-z_][A-Za-z0-9_]*$", before_cursor[-200:])
        word = match.group() if match else ""
        if not word:
            return "", []
        found = [f"{n}(" for n in sorted(FUNCTIONS) if n.startswith(word)]
        found += [n for n in sorted(CONSTANTS) if n.startswith(word)]
        found += [n for n in self.names() if n.startswith(word)]
        return word, found

    # --- statements -------------------------------------------------------------------------
    def _run(self, statement: Statement, reply: Reply, echo: bool = True) -> None:
        """One statement: show a formula, give an input a value, or define a name."""
        name = statement.name
        if name is None:
            self._show(statement.graph, reply)
            return
        if statement.value is not None:
            self._set(name, statement.value, reply, echo)
            return
        deps = statement.graph.inputs
        if name in deps and name in self.values:  # x = x + 1: the input's next value
            self._set(name, self._evaluate(statement.graph).evaluation.value, reply, echo)
            return
        cycle = self._cycle(name, deps) if self.definitions.uses[name] > 0 or name in deps else None
        if cycle:
            shown = cycle if len(cycle) <= 8 else [*cycle[:4], "…", *cycle[-3:]]
            raise NameProblem(
                f"{statement.text} would make {name} depend on itself: {' → '.join(shown)}",
                source=statement.line,
                span=statement.span,
                hint="a definition cannot use itself, directly or through other names; "
                "only an input may be updated from its own value (x = x + 1)",
            )
        self.values.pop(name, None)
        self.definitions.pop(name, None)  # a redefinition moves to the end
        self.definitions[name] = Definition(statement)
        if echo:
            reply.output.append(self._defined_line(name))

    def _set(self, name: str, value: float, reply: Reply, echo: bool) -> None:
        self.definitions.pop(name, None)
        self.values[name] = value
        if echo:
            reply.output.append(
                Text.assemble((name, "bold"), " = ", (number_literal(value), render.VALUE))
            )

    def _defined_line(self, name: str) -> Text:
        definition = self.definitions[name]
        # one line, as grad diff's formulas: a definition is never broken inside a name
        text = Text.assemble((name, "bold"), " = ", definition.rhs, no_wrap=True, overflow="ignore")
        try:
            ev = self._evaluate(definition.graph).evaluation
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

    def _show(self, graph: Graph, reply: Reply) -> None:
        result = self._evaluate(graph)
        reply.messages.extend(render.warning(m) for m in result.warnings)
        reply.output.append(
            render.evaluation_view(result.evaluation, result.names, self.digits, result.check)
        )

    # --- linking and evaluating -------------------------------------------------------------
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

    def _link(self, top: Graph) -> tuple[Graph, list[tuple[int, str]]]:
        """One graph for `top` with the definitions it needs copied in before it (in
        dependency order), each free name one input node with the session's value. Also where
        each part came from: (its first node, the line it was typed in), in node order."""
        _, order = self.order(top.inputs)
        ops: list[str] = []
        args: list[tuple[int, ...]] = []
        spans: list[tuple[int, int]] = []
        names: list[str | None] = []
        consts: dict[int, float] = {}
        inputs: dict[str, int] = {}
        defaults: dict[str, float] = {}
        node_of: dict[str, int] = {}  # a session name -> its node
        origins: list[tuple[int, str]] = []

        def copy(graph: Graph) -> int:
            origins.append((len(ops), graph.source))
            local: list[int] = []
            for i, op in enumerate(graph.ops):
                if op == INPUT:
                    name = graph.names[i]
                    node = node_of.get(name)
                    if node is None:
                        node = node_of[name] = inputs[name] = len(ops)
                        if name in self.values:
                            defaults[name] = self.values[name]
                    else:
                        local.append(node)
                        continue
                else:
                    node = len(ops)
                    if op == CONST:
                        consts[node] = graph.consts[i]
                local.append(node)
                ops.append(op)
                args.append(tuple([local[a] for a in graph.args[i]]))
                spans.append(graph.spans[i])
                names.append(graph.names[i])
            return local[graph.output]

        for name in order:
            node_of[name] = copy(self.definitions[name].graph)
        output = copy(top)
        graph = Graph(
            top.source,
            tuple(ops),
            tuple(args),
            tuple(spans),
            tuple(names),
            consts,
            inputs,
            defaults,
            output,
        )
        return graph, origins

    @staticmethod
    def _locate(exc: GradcliError, origins: list[tuple[int, str]]) -> GradcliError:
        """An evaluation error at a node shows the line that node was typed in (its span is
        already an offset into that line)."""
        node = getattr(exc, "node", None)
        if node is not None and exc.span is not None and origins:
            index = bisect.bisect_right(origins, (node, "\U0010ffff")) - 1
            exc.source = origins[max(index, 0)][1]
        return exc

    def _compile(self, graph: Graph) -> tuple[Tape, dict[str, float], list[tuple[int, str]]]:
        linked, origins = self._link(graph)
        point, _ = resolve_point(linked, {})
        return Tape(linked), point, origins

    def _evaluate(
        self, graph: Graph, wrt: list[str] | None = None, check: bool = False
    ) -> request.Result:
        tape, point, origins = self._compile(graph)
        try:
            return request.answer(tape, point, wrt, check)
        except DomainError as exc:
            raise self._locate(exc, origins) from None

    @staticmethod
    def _formula(expression: str) -> Graph:
        """The graph of a formula given to a command (`:grad EXPR`). Raises SyntaxProblem
        pointing at the expression as typed, or UsageError for anything but one formula."""
        statements, error = parse_statements(expression)
        if error is not None:
            raise error
        if len(statements) != 1 or statements[0].name is not None:
            raise UsageError(
                "expected one formula",
                source=expression,
                span=Span(0, max(len(expression), 1)),
                hint="define names on a line of their own, then use them here",
            )
        return statements[0].graph

    def evaluate(
        self, expression: str, wrt: list[str] | None = None, check: bool = False
    ) -> request.Result:
        """What `grad eval` computes for `expression` with the session's values and
        definitions. Raises GradcliError pointing at what the user typed."""
        return self._evaluate(self._formula(expression), wrt, check)

    def descend(self, expression: str, options) -> Reply:
        """`grad descend` on `expression` from the session's values (options: the settings
        record, descend.DescendConfig), shown by the same renderer. When the run ends (all steps,
        converged or Ctrl-C) its parameters become the session's values; a diverged run leaves
        them as they were. Raises GradcliError, leaving the session unchanged."""
        from .descend_command import run_descent

        if options.data is not None and str(options.data) == "-":
            raise UsageError(
                "--data - would read the session's own input",
                hint="give the data as a file: :descend f --data points.csv …",
            )
        if options.data is None:
            tape, point, origins = self._compile(self._formula(expression))
        else:  # the rows bind the data inputs; the session's values are the others' and the start
            linked, origins = self._link(self._formula(expression))
            tape, point = Tape(linked), {}

        def locate(exc: GradcliError) -> GradcliError:
            return self._locate(exc, origins)

        # --json goes to the console's stream as the run goes (held here without a console)
        json_out = None
        if options.as_json:
            json_out = self.console.file if self.console is not None else io.StringIO()
        try:
            outcome = run_descent(
                tape, point, options, self.console, locate, json_out, note_divergence=False
            )
        except GradcliError as exc:
            raise locate(exc) from None
        result = outcome.run.result
        reply = Reply(output=list(outcome.output), messages=list(outcome.messages))
        if isinstance(json_out, io.StringIO):
            reply.output.insert(0, json_out.getvalue().rstrip("\n"))
        if result.stopped == "diverged":
            reply.error = result.error or GradcliError(result.reason)
            reply.messages.append(Text("the session's values are unchanged", style="dim"))
            return reply
        # on data, a parameter that had no value (it started at 0) gets the trained one
        moved = {
            n: v for n, v in result.final.items() if n in self.values or options.data is not None
        }
        self.values.update(moved)
        note = Text("now ", style="dim")
        for i, (name, value) in enumerate(moved.items()):
            note.append(", " if i else "")
            note.append(name, style="bold")
            note.append(" = ")
            note.append(render.num(value, self.digits), style=render.VALUE)
        (reply.messages if options.as_json else reply.output).append(note)
        return reply

    # --- meta-commands ----------------------------------------------------------------------
    def _meta(self, text: str, reply: Reply) -> Reply:
        word, _, argument = text.partition(" ")
        command = META.get(word)
        if command is None:
            close = difflib.get_close_matches(word, META, n=1, cutoff=0.6)
            raise UsageError(
                f"unknown command {word}",
                hint=f"did you mean {close[0]}?" if close else ":help lists the commands",
            )
        result = command.run(self, argument.strip())
        reply.output += result.output
        reply.messages += result.messages
        reply.error, reply.quit = result.error, result.quit
        return reply

    def reset(self) -> None:
        self.values.clear()
        self.definitions.clear()

    def program(self) -> tuple[str, int, int]:
        """The session as a program that `grad eval -f` and `:load` read: every input's value,
        then every definition as its own statement's text, in dependency order. Also the
        numbers of inputs and definitions written."""
        _, order = self.order(self.definitions)
        lines = [f"{name} = {number_literal(value)}" for name, value in self.values.items()]
        lines += [self.definitions[name].statement.text for name in order]
        return "".join(line + "\n" for line in lines), len(self.values), len(order)

    def save(self, path: str | os.PathLike) -> tuple[Path, int, int]:
        """Write the session as a program (see `program`): (the path, the numbers of inputs
        and definitions written)."""
        target = Path(path)
        text, inputs, definitions = self.program()
        write_text(
            target, "# a gradcli session: grad eval -f FILE, or :load FILE in grad repl\n" + text
        )
        return target, inputs, definitions

    def load(self, path: str | os.PathLike) -> Reply:
        """Run a program file's statements into the session: all of them, or (on an error)
        none. Each is echoed as it is typed, unless the file is long: then nothing is, and
        the reply counts them."""
        text = read_text(path)
        joined = join_lines(text)
        statements, error = parse_statements(joined)
        echo = len(statements) <= LOAD_ECHO_STATEMENTS and len(text) <= LOAD_ECHO_CHARS
        saved = dict(self.values), Definitions(self.definitions)
        reply = Reply()
        try:
            if error is not None:
                raise self._cut_short(error, joined)
            for statement in statements:
                self._run(statement, reply, echo)
        except GradcliError as exc:
            self.values, self.definitions = saved
            if exc.source == joined:
                exc.source = text
            raise
        if not echo:
            reply.output.append(
                Text(
                    f"read {len(statements)} statements (too many to show "
                    "each; :vars lists the session)",
                    style="dim",
                )
            )
        return reply


LOAD_ECHO_STATEMENTS = 20  # :load shows each statement of a file up to this size
LOAD_ECHO_CHARS = 4000


# --- the command table ------------------------------------------------------------------------
def _split_at_options(argument: str, names: Iterable[str], literal: bool = True) -> tuple[str, str]:
    """'EXPR --lr 0.1 --maximize' -> ('EXPR', '--lr 0.1 --maximize'): the expression is
    everything before the first word that is one of the option `names` ('--lr', alone or as
    '--lr=0.1'; with literal=False the names are regular expressions)."""
    pattern = "|".join(re.escape(n) if literal else n for n in names)
    match = re.search(rf"(?:^|(?<=\s))(?:{pattern})(?=[\s=]|$)", argument)
    if match is None:
        return argument.strip(), ""
    return argument[: match.start()].strip(), argument[match.start() :].strip()


def _refuse_other_options(command: str, argument: str, options: list[str], usage: str) -> None:
    """A word `--name` that is not one of the command's options is an unknown option (not a
    formula subtracting -name: write that `- -name`)."""
    for match in re.finditer(r"(?:^|(?<=\s))--([A-Za-z][\w-]*)", argument):
        if match.group(1) not in options:
            takes = ", ".join(f"--{o}" for o in options) or "no options"
            raise UsageError(
                f"{command} has no option --{match.group(1)}",
                hint=f"it takes {takes}; usage: {usage}",
            )


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
    rows = [
        ("x = -2", "give the input x a value"),
        ("q = x + y", "define a named node (a formula: it follows x and y)"),
        ("x = x + 1", "give the input x the formula's value at the current x"),
        ("EXPR", "evaluate: every node's value and gradient, as grad eval"),
        *((meta.usage, meta.doc) for meta in META.values()),
    ]
    for usage, doc in rows:
        table.add_row(Text(usage), Text(doc))
    note = Text(
        "Several statements may share a line, separated by ';'. A line ending in an "
        "operator or '\\', or with '(' left open, continues on the next one (in a "
        "script, a blank line or a ':' command ends it). x = x + 1 updates the input x. "
        "Lines over 5000 characters are not coloured.",
        style="dim",
    )
    return Reply(output=[table, note])


def _cmd_vars(session: Session, argument: str) -> Reply:
    if not session.values and not session.definitions:
        return Reply(output=[Text("no inputs or definitions yet", style="dim")])
    _, order = session.order(session.definitions)
    output = argument or (order[-1] if order else None)
    if output is not None and output not in session.definitions:
        raise UsageError(
            f"{output} is not a named definition",
            hint=f"the definitions are {', '.join(session.definitions) or '(none)'}",
        )
    ev, note = None, None
    if output is not None:
        try:
            ev = session.evaluate(output).evaluation
        except (UnboundInputError, DomainError) as exc:
            note = exc.message
    digits = session.digits
    table = FoldingTable(title=Text(f"gradients are ∂{output}/∂name") if output else None)
    for column, style in (
        ("name", "bold"),
        ("formula", ""),
        ("value", render.VALUE),
        (f"∂{output}/∂name" if output else "gradient", render.GRAD),
    ):
        table.add_column(
            column,
            style=style,
            justify="right" if style.startswith(("green", "red")) else "left",
            wrap=column == "formula",
        )
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


def _evaluation_command(
    session: Session,
    argument: str,
    command: str,
    *,
    check: bool = False,
    as_json: bool = False,
    table_only: bool = False,
    hessian: bool = False,
) -> Reply:
    usage = META[command].usage
    _refuse_other_options(command, argument, ["wrt"], usage)
    expression, options = _split_options(argument, ["wrt"])
    _expression_argument(expression, usage)
    wrt = None
    if "wrt" in options:
        wrt = [n.strip() for n in options["wrt"].split(",") if n.strip()]
    result = session.evaluate(expression, wrt, check)
    reply = Reply(messages=[render.warning(m) for m in result.warnings])
    if as_json:
        from ..output import jsonout

        reply.output.append(
            jsonout.dumps(jsonout.evaluation(result.evaluation, result.names, result.check))
        )
    elif hessian:
        from ..core.hessian import evaluate as hessian_at
        from ..output.render_hessian import hessian_table

        ev = result.evaluation
        matrix = hessian_at(ev.graph, ev.point, result.names)
        reply.output.append(hessian_table(ev.graph, result.names, matrix, session.digits))
    elif table_only:
        reply.output.append(
            render.gradient_table(result.evaluation, result.names, session.digits, result.check)
        )
    else:
        reply.output.append(
            render.evaluation_view(result.evaluation, result.names, session.digits, result.check)
        )
    return reply


def _cmd_grad(session: Session, argument: str) -> Reply:
    return _evaluation_command(session, argument, ":grad", table_only=True)


def _cmd_hessian(session: Session, argument: str) -> Reply:
    return _evaluation_command(session, argument, ":hessian", hessian=True)


def _cmd_check(session: Session, argument: str) -> Reply:
    return _evaluation_command(session, argument, ":check", check=True)


def _cmd_json(session: Session, argument: str) -> Reply:
    return _evaluation_command(session, argument, ":json", as_json=True)


def _cmd_diff(session: Session, argument: str) -> Reply:
    """The gradient of EXPR as formulas, as grad diff shows it, with the session's
    definitions linked in; evaluated at the session's values when every input has one."""
    from ..core import symbolic
    from ..output.render_diff import text_view

    usage = META[":diff"].usage
    _refuse_other_options(":diff", argument, ["wrt"], usage)
    expression, options = _split_options(argument, ["wrt"])
    _expression_argument(expression, usage)
    graph, origins = session._link(session._formula(expression))
    try:
        derivation, values = symbolic.differentiate(
            graph, request.split_names(options.get("wrt")), symbolic.given_point(graph)
        )
    except DomainError as exc:
        raise session._locate(exc, origins) from None
    return Reply(output=[text_view(derivation, values, session.digits)])


def _cmd_del(session: Session, argument: str) -> Reply:
    names = argument.replace(",", " ").split()
    if not names:
        raise UsageError("no name given", hint=f"usage: {META[':del'].usage}")
    unknown = [n for n in names if n not in session.values and n not in session.definitions]
    if unknown:
        raise UsageError(
            f"{', '.join(unknown)} is not defined in this session",
            hint=f"the names are {', '.join(session.names()) or '(none)'}",
        )
    for name in names:
        session.values.pop(name, None)
        session.definitions.pop(name, None)
    users = [n for n, d in session.definitions.items() if set(d.deps) & set(names)]
    reply = Reply(output=[Text(f"deleted {', '.join(names)}")])
    if users:
        reply.messages.append(
            render.warning(
                f"{', '.join(users)} still use{'s' if len(users) == 1 else ''} "
                f"{', '.join(names)}, which now has no value"
            )
        )
    return reply


def _cmd_reset(session: Session, argument: str) -> Reply:
    session.reset()
    return Reply(output=[Text("the session is empty")])


def _file_argument(argument: str, usage: str, flags: Iterable[str] = ()) -> tuple[str, set]:
    """The one file name of a command, quoted as in a shell ('a b.grad' or a\\ b.grad), and
    which of the `flags` (words such as --force) were given."""
    words = _option_words(argument)
    given = {w for w in words if w in flags}
    names = [w for w in words if w not in given]
    if not names:
        raise UsageError("no file given", hint=f"usage: {usage}")
    if len(names) > 1:
        raise UsageError(
            f"one file name expected, got {len(names)}: {' '.join(names)}",
            hint="quote a name with spaces: :save 'my session.grad'",
        )
    return os.path.expanduser(names[0]), given


def _counted(inputs: int, definitions: int) -> str:
    """'1 input and 2 definitions'."""
    return (
        f"{inputs} input{'' if inputs == 1 else 's'} and "
        f"{definitions} definition{'' if definitions == 1 else 's'}"
    )


def _cmd_save(session: Session, argument: str, force: bool = False) -> Reply:
    name, flags = _file_argument(argument, META[":save"].usage, ["--force"])
    replaced = None
    if os.path.isfile(name):  # a device or a FIFO is written into, never replaced
        replaced = _line_count(name)
        if not (force or flags):
            if session.confirm is None:
                raise UsageError(
                    f"{name} already exists; not replaced",
                    hint=f":save! {shlex.quote(name)} replaces it",
                )
            if not session.confirm(f"{name} exists; replace it? (y/N) "):
                return Reply(output=[Text(f"not saved: {name} is unchanged", style="dim")])
    path, inputs, definitions = session.save(name)
    note = f"saved {_counted(inputs, definitions)} to {path}"
    if replaced is not None:
        note += (
            f", replacing the file that was there ({replaced} line{'' if replaced == 1 else 's'})"
        )
    return Reply(output=[Text(note)])


def _line_count(path: str) -> int:
    try:
        with open(path, "rb") as old:
            return sum(block.count(b"\n") for block in iter(lambda: old.read(1 << 16), b""))
    except OSError:
        return 0


def _cmd_save_over(session: Session, argument: str) -> Reply:
    return _cmd_save(session, argument, force=True)


def _cmd_load(session: Session, argument: str) -> Reply:
    path, _ = _file_argument(argument, META[":load"].usage)
    reply = session.load(path)
    reply.output.append(
        Text(
            f"loaded {path}: "
            f"{_counted(len(session.values), len(session.definitions))} "
            "in the session"
        )
    )
    return reply


def _cmd_quit(session: Session, argument: str) -> Reply:
    return Reply(quit=True)


def _cmd_descend(session: Session, argument: str) -> Reply:
    from .descend_command import parse_words

    # the expression ends at the first option word: a known one, -f, or any --word (an
    # unknown option is reported as one, not read as the formula's minus signs)
    expression, rest = _split_at_options(argument, ["-f", "-h", r"--[A-Za-z][-\w]*"], literal=False)
    _expression_argument(expression, META[":descend"].usage)
    words = _option_words(rest)
    if "-f" in words or "--file" in words:
        raise UsageError("-f is not an option of :descend", hint="write the formula itself")
    return session.descend(expression, parse_words(words))


_RANGE_WORD = re.compile(r"(?:^|(?<=\s))[A-Za-z_]\w*\s*=\s*[^\s:]*:")


def _cmd_plot(session: Session, argument: str) -> Reply:
    """As grad plot, in the terminal, with the session's values for the other inputs."""
    from ..core.sample import at_point, axis, check_points, mark, sample, split_ranges
    from ..output.render_plot import Plot

    usage = META[":plot"].usage
    found = _RANGE_WORD.search(argument)
    expression = argument[: found.start()].strip() if found else argument.strip()
    _expression_argument(expression, usage)
    words = _option_words(argument[found.start() :] if found else "")
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
                raise UsageError("--points takes a whole number", hint=f"usage: {usage}") from None
        else:
            rest.append(word)
    ranges, others = split_ranges(rest)
    if others:
        raise UsageError(
            f"unexpected {' '.join(others)!r}",
            hint="the other inputs take the session's values: set them first, e.g. y = 1",
        )
    check_points(points, ranges)
    names = tuple(name for name, _, _ in ranges)
    saved = dict(session.values)
    session.values.update({name: lo for name, lo, _ in ranges})  # the ranged inputs, for now
    try:
        tape, point, origins = session._compile(session._formula(expression))
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
        raise session._locate(exc, origins) from None
    return Reply(output=[Plot(samples, marked, session.digits)])


META: dict[str, Meta] = {
    m.name: m
    for m in (
        Meta(":help", ":help", "this list", _cmd_help),
        Meta(
            ":vars",
            ":vars [NAME]",
            "inputs and named nodes: value, and gradient of NAME (default: the last definition)",
            _cmd_vars,
        ),
        Meta(":grad", ":grad EXPR [--wrt a,b]", "the gradient table of EXPR", _cmd_grad),
        Meta(
            ":diff",
            ":diff EXPR [--wrt a,b]",
            "the gradient of EXPR as formulas, as grad diff shows it (with their values when "
            "every input has one)",
            _cmd_diff,
        ),
        Meta(
            ":hessian",
            ":hessian EXPR [--wrt a,b]",
            "the Hessian of EXPR: its second derivatives, as grad eval --hessian shows them",
            _cmd_hessian,
        ),
        Meta(
            ":check",
            ":check EXPR [--wrt a,b]",
            "EXPR with each gradient compared to the numerical derivative",
            _cmd_check,
        ),
        Meta(":json", ":json EXPR [--wrt a,b]", "EXPR as grad eval --json prints it", _cmd_json),
        Meta(
            ":descend",
            ":descend EXPR [--wrt a,b] [--lr R] [--steps K] [--tol E] …",
            "gradient descent on EXPR, with the options of grad descend (--maximize, "
            "--optimizer, --target, --every, --json, …); its inputs then hold the trained point "
            "(Ctrl-C stops it and keeps the point so far)",
            _cmd_descend,
        ),
        Meta(
            ":plot",
            ":plot EXPR x=A:B [y=C:D] [--at x=1] [--points N]",
            "f and its gradient over a range (two ranges: a heatmap), as grad plot draws it; "
            "the other inputs keep the session's values",
            _cmd_plot,
        ),
        Meta(":del", ":del NAME…", "forget inputs or definitions", _cmd_del),
        Meta(":reset", ":reset", "forget everything", _cmd_reset),
        Meta(
            ":save",
            ":save FILE",
            "write every input and definition as a program (grad eval -f FILE reads it); asks "
            "before replacing a file (a script refuses)",
            _cmd_save,
        ),
        Meta(
            ":save!",
            ":save! FILE",
            "the same, replacing FILE if it exists (or :save FILE --force)",
            _cmd_save_over,
        ),
        Meta(":load", ":load FILE", "run a program file's statements into the session", _cmd_load),
        Meta(":quit", ":quit", "leave (as does Ctrl-D)", _cmd_quit),
    )
}
