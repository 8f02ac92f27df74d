"""Standard input and output at the CLI's one error boundary (`run_guarded`).

Python sets sys.stdin / sys.stdout to None when descriptor 0 / 1 is closed (`<&-`, `>&-`): a
print then goes nowhere and exits 0, and a read is an AttributeError. A full disk or a vanished
terminal raises OSError from whichever write or flush meets it, maybe only at interpreter
shutdown. Here a closed stream becomes a stand-in that fails with a clear message, an error on
an open one becomes a UsageError, and standard output is flushed before the exit code is final.
A reader that leaves early (`grad … | head`) ends the program quietly, as before."""

from __future__ import annotations

import contextlib
import io
import os
import sys
from collections.abc import Callable

from ..core.errors import ExitCode, GradcliError, ReaderLeft, UsageError

_WRITE = "cannot write to standard output"
_READ = "cannot read standard input"


class _Closed:
    """Stands for a standard stream whose descriptor was closed: using it is a UsageError."""

    encoding = "utf-8"
    errors = "strict"
    failed = False

    def __init__(self, what: str) -> None:
        self._what = what

    def _fail(self, *args, **kwargs):
        raise UsageError(f"{self._what}: it is closed")

    write = writelines = read = readline = readlines = __next__ = _fail
    buffer = property(_fail)

    def __iter__(self):
        return self

    def isatty(self) -> bool:
        return False

    def fileno(self) -> int:
        raise io.UnsupportedOperation(f"{self._what}: it is closed")

    def flush(self) -> None:
        pass  # nothing was written


class _Guarded:
    """An open standard stream whose errors say which stream failed (as UsageError). A broken
    pipe passes through: it is not an error to report."""

    def __init__(self, stream, what: str) -> None:
        self._stream = stream
        self._what = what
        self.failed = False

    def __getattr__(self, name: str):
        return getattr(self._stream, name)

    def _call(self, method: str, *args):
        try:
            return getattr(self._stream, method)(*args)
        except StopIteration:
            raise
        except BrokenPipeError:
            raise ReaderLeft from None  # not an OSError: click would make it exit 1
        except OSError as exc:
            self.failed = True
            raise UsageError(f"{self._what}: {exc.strerror or exc}") from None
        except UnicodeDecodeError:
            self.failed = True
            raise UsageError(f"{self._what}: not a text file (not UTF-8)") from None

    def write(self, text):
        return self._call("write", text)

    def writelines(self, lines):
        return self._call("writelines", lines)

    def flush(self):
        return self._call("flush")

    def read(self, *args):
        return self._call("read", *args)

    def readline(self, *args):
        return self._call("readline", *args)

    def readlines(self, *args):
        return self._call("readlines", *args)

    def __iter__(self):
        return self

    def __next__(self):
        return self._call("__next__")


def is_closed(stream) -> bool:
    return stream is None or isinstance(stream, _Closed)


def run_guarded(main: Callable[[], object], report: Callable[[GradcliError], None]) -> int:
    """Run `main` (click's main, which ends in SystemExit) with guarded standard streams and
    return the exit code. A GradcliError that escapes `main` or comes from the last flush of
    standard output is reported (once) and gives its exit code."""
    _occupy_closed_descriptors()
    saved = sys.stdin, sys.stdout
    sys.stdin = _Closed(_READ) if sys.stdin is None else _Guarded(sys.stdin, _READ)
    out = sys.stdout = _Closed(_WRITE) if sys.stdout is None else _Guarded(sys.stdout, _WRITE)
    broken = False
    try:
        try:
            main()
            code = ExitCode.OK
        except SystemExit as exc:
            code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
        except GradcliError as exc:
            report(exc)
            code = exc.exit_code
        except (BrokenPipeError, ReaderLeft):
            broken, code = True, ExitCode.READER_LEFT
        failed_before = out.failed
        try:
            out.flush()  # here, not at interpreter shutdown where an error is only a warning
        except GradcliError as exc:
            if not failed_before:
                report(exc)
            code = code or exc.exit_code
        except (BrokenPipeError, ReaderLeft):
            broken, code = True, code or ExitCode.READER_LEFT
    finally:
        if broken or out.failed:
            _discard_stdout()
        sys.stdin, sys.stdout = saved
    return code


def _occupy_closed_descriptors() -> None:
    """Open /dev/null on a closed descriptor 0, 1 or 2, so that no file opened later takes its
    number and a child process never writes into a file by mistake."""
    for descriptor in (0, 1, 2):
        try:
            os.fstat(descriptor)
        except OSError:
            with contextlib.suppress(OSError):
                os.open(os.devnull, os.O_RDONLY if descriptor == 0 else os.O_WRONLY)


def _discard_stdout() -> None:
    """Point descriptor 1 at /dev/null: what is still buffered for a stdout that failed goes
    there at shutdown, instead of a second error."""
    with contextlib.suppress(OSError):
        null = os.open(os.devnull, os.O_WRONLY)
        os.dup2(null, 1)
        os.close(null)
