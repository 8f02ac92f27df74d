"""One family of user-facing errors: a message, where in the source it happened, and a hint."""

from __future__ import annotations

from typing import NamedTuple


class ExitCode:  # plain ints: an IntEnum costs more to create at start-up than it gives
    OK = 0
    EVAL = 1  # a domain error or overflow while evaluating
    USAGE = 2  # bad command line: a binding that is not NAME=NUMBER, an input with no value
    SYNTAX = 3  # the formula does not parse, names an unknown function, or misuses a name
    SUSPECT = 5  # grad check: an analytic gradient disagrees with the numerical one
    INTERRUPTED = 130
    READER_LEFT = 141  # the output's reader left (| head): as a program SIGPIPE ends, quietly


class ReaderLeft(Exception):
    """The reader of standard output left (`grad … | head`): the command ends quietly with
    ExitCode.READER_LEFT. Not an OSError, so that click does not turn it into exit 1."""


class Span(NamedTuple):  # one per graph node: a NamedTuple is much cheaper to make
    """Half-open character offsets [start, end) into the source text."""

    start: int
    end: int


class GradcliError(Exception):
    """Anything the user can cause. Bugs are never a GradcliError."""

    exit_code = ExitCode.EVAL
    kind = "error"

    def __init__(
        self,
        message: str,
        *,
        source: str | None = None,
        span: Span | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.source = source
        self.span = span
        self.hint = hint


class SyntaxProblem(GradcliError):
    """The text is not a well-formed formula or program."""

    exit_code = ExitCode.SYNTAX
    kind = "syntax"


class UnknownFunctionError(SyntaxProblem):
    kind = "unknown-function"


class ArityError(SyntaxProblem):
    kind = "arity"


class NameProblem(SyntaxProblem):
    """A name used in a way the language forbids (redefinition, use before definition, …)."""

    kind = "name"


class UsageError(GradcliError):
    """The formula is fine but the request around it is not (missing or malformed values)."""

    exit_code = ExitCode.USAGE
    kind = "usage"


class UnboundInputError(UsageError):
    kind = "unbound-input"


class DomainError(GradcliError):
    """An operation was applied outside its domain, or its result is not a finite double."""

    exit_code = ExitCode.EVAL
    kind = "domain"

    def __init__(self, message: str, *, node: int, **kwargs) -> None:
        super().__init__(message, **kwargs)
        self.node = node


class GraphvizError(GradcliError):
    """Graphviz's dot program failed, crashed or did not finish: not the formula's fault."""

    exit_code = ExitCode.USAGE
    kind = "graphviz"
