"""Every file gradcli reads or writes by name: -f FILE, :load, --csv, --svg, --png, --plot, :save,
--at and -o, the history file. Nothing else in gradcli opens a user's path for writing.

Writing goes where the name points, as `tee` does, and never leaves half a file:
- `-` (and /dev/stdout) is standard output;
- a regular file or a new name is written beside its destination under a temporary name and
  renamed over it (os.replace) once complete, so an old file is never truncated before the new
  one is whole. A symlink's target is written (the link stays), the old file's mode is kept and
  a new file gets the umask's (mkstemp alone would give 0600);
- anything else (a character device such as /dev/null, a FIFO, /dev/fd/N, a symlink to one) is
  opened and written straight: renaming over it would replace the device or the pipe;
- when the folder cannot take a temporary file (read-only, someone else's) but the file itself
  is writable, the file is rewritten in place once the new text is whole (staged meanwhile in
  a temporary file of the system's temporary folder).
Every failure is a UsageError "cannot write 'PATH': reason", and no temporary file is left.

Reading takes at most READ_LIMIT bytes of UTF-8 text (a byte-order mark at the start is dropped),
so `-f /dev/zero` or a huge file is refused instead of filling the memory."""

from __future__ import annotations

import contextlib
import io
import os
import re
import stat
import sys
from collections.abc import Callable, Iterator
from typing import IO

from ..core.errors import ReaderLeft, UsageError

STDIO = "-"
READ_LIMIT = 64 * 1024 * 1024  # bytes; the README documents it
_CHUNK = 1 << 20

# Names of file descriptors that the kernel resolves itself: /dev/fd/63 from `>(cat)` leads to
# "pipe:[…]", and /dev/stdout to whatever fd 1 is, maybe a regular file the shell opened.
_DESCRIPTOR = re.compile(r"/(dev/(fd/\d+|stdout|stderr)|proc/(self|\d+)/fd/\d+)")
_STDOUT_NAMES = {"/dev/stdout", "/dev/fd/1", "/proc/self/fd/1"}


def is_stdout(path: str | os.PathLike) -> bool:
    """Whether writing `path` means writing standard output."""
    name = os.fspath(path)
    return name == STDIO or os.path.abspath(name) in _STDOUT_NAMES


def write_bytes(path: str | os.PathLike, data: bytes) -> None:
    if is_stdout(path) and b"\0" in data[:4096] and _is_terminal(sys.stdout):
        raise UsageError(  # a PNG on the screen is noise, and can upset the terminal
            "will not write a picture's bytes to the terminal",
            hint="send standard output to a file or a program: … > picture.png",
        )
    with open_output(path, binary=True) as out:
        out.write(data)


def _is_terminal(stream) -> bool:
    try:
        return stream is not None and stream.isatty()
    except (AttributeError, ValueError):  # a closed stream
        return False


def write_text(path: str | os.PathLike, text: str) -> None:
    with open_output(path) as out:
        out.write(text)


@contextlib.contextmanager
def open_output(path: str | os.PathLike, *, binary: bool = False) -> Iterator[IO]:
    """A stream that writes `path` (UTF-8 text, or bytes when `binary`), by the module's rules.
    What was written is committed when the block ends normally; when it raises, a temporary file
    is removed and the old file stays as it was (to keep a partial trace after Ctrl-C, catch
    KeyboardInterrupt inside the block and finish the document there). Raises UsageError when
    the file cannot be written."""
    name = os.fspath(path)
    if is_stdout(name):
        with _stdout(binary) as out:
            yield out
        return
    try:
        info = os.stat(name)  # follows symlinks
    except OSError:
        info = None
    if _DESCRIPTOR.fullmatch(os.path.abspath(name)) or (
        info is not None and not stat.S_ISREG(info.st_mode)
    ):
        # a device, a FIFO or a descriptor: write into it (a regular file behind /dev/fd/N is
        # appended to, as the shell opened it)
        regular = info is not None and stat.S_ISREG(info.st_mode)
        stream = _open(name, name, os.O_WRONLY | (os.O_APPEND if regular else 0), binary)
        with _committed(name, stream, commit=lambda: stream.close()):
            yield stream
        return
    target = os.path.realpath(name)
    folder = os.path.dirname(target)
    if info is not None and not os.access(target, os.W_OK, effective_ids=True):
        # renaming over it would replace a file its owner made read-only, as `>` would not
        raise _cannot_write(name, PermissionError(13, "Permission denied"))
    import tempfile  # only to write a file (~2 ms to import, with random)

    try:
        handle, temporary = tempfile.mkstemp(
            dir=folder, prefix=f".{os.path.basename(target)}.", suffix=".tmp"
        )
    except OSError as exc:
        if info is None:
            raise _cannot_write(name, exc) from None
        # The folder takes no new file, but the file may be writable: it is rewritten in place
        # once the whole text is ready, staged meanwhile in a temporary file elsewhere, so that
        # a run that fails or is interrupted leaves it as it was.
        destination = _open(name, target, os.O_WRONLY, True, refused=exc)
        try:
            staged = tempfile.TemporaryFile()
        except OSError as staging:
            destination.close()
            raise _cannot_write(name, staging) from None
        stream = staged if binary else io.TextIOWrapper(staged, encoding="utf-8")

        def rewrite() -> None:
            stream.flush()
            staged.seek(0)
            while piece := staged.read(_CHUNK):
                destination.write(piece)
            destination.truncate()  # the old text past the new end goes
            destination.close()

        try:
            with _committed(name, stream, commit=rewrite):
                yield stream
        finally:
            with contextlib.suppress(OSError):
                destination.close()
        return
    stream = os.fdopen(handle, "wb") if binary else os.fdopen(handle, "w", encoding="utf-8")

    def rename() -> None:
        stream.flush()
        os.fsync(stream.fileno())
        _adopt(stream.fileno(), info)
        stream.close()
        os.replace(temporary, target)

    try:
        with _terminated_as_exit(), _committed(name, stream, commit=rename):
            yield stream
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temporary)
        raise


@contextlib.contextmanager
def _terminated_as_exit() -> Iterator[None]:
    """While a temporary file exists, SIGTERM (`kill`) ends the run as an exception does, so
    the file is removed (by default the process would just vanish and leave it): exit 143."""
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.getsignal(signal.SIGTERM)
    if previous is not signal.SIG_DFL:  # someone else's handler: left alone
        yield
        return

    def terminate(signum, frame):
        raise SystemExit(128 + signum)

    signal.signal(signal.SIGTERM, terminate)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextlib.contextmanager
def holding_interrupts(then_raise: bool = False) -> Iterator[None]:
    """Ctrl-C waits until the block is done: output being written is completed. With
    then_raise, a Ctrl-C that came meanwhile is raised after it. Only the main thread
    handles signals."""
    import signal  # here: most runs never hold one
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    came: list[int] = []
    previous = signal.signal(signal.SIGINT, lambda signum, frame: came.append(signum))
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, previous)
    if came and then_raise:
        raise KeyboardInterrupt


def writer(stream: IO, name: str | os.PathLike | None = None) -> Callable[[str], None]:
    """A function that writes text to `stream` (opened for `name`) whole. To a file descriptor
    it writes with os.write until every byte is out: a buffered write to a full pipe that a
    signal interrupts can drop the part not yet written (CPython's BufferedWriter), and a
    Ctrl-C held off while a chunk is written is such a signal."""
    try:
        fd = stream.fileno()
    except (AttributeError, OSError, ValueError, io.UnsupportedOperation):
        return stream.write  # a StringIO (the REPL without a console)
    encoding = getattr(stream, "encoding", None) or "utf-8"

    name = getattr(stream, "name", fd) if name is None else os.fspath(name)
    where = "standard output" if fd == 1 or is_stdout(str(name)) else repr(name)

    def write(text: str) -> None:
        stream.flush()
        view = memoryview(text.encode(encoding))
        try:
            while view:
                view = view[os.write(fd, view) :]
        except BrokenPipeError:
            raise ReaderLeft from None  # the reader left: the command ends quietly
        except OSError as exc:  # a full disk, a closed terminal: as for every output
            raise UsageError(f"cannot write to {where}: {exc.strerror or exc}") from None

    return write


def _open(name: str, where: str, flags: int, binary: bool, refused: OSError | None = None):
    try:
        handle = os.open(where, flags | os.O_CLOEXEC)
    except OSError as exc:
        raise _cannot_write(name, refused or exc) from None
    return os.fdopen(handle, "wb") if binary else os.fdopen(handle, "w", encoding="utf-8")


@contextlib.contextmanager
def _committed(name: str, stream: IO, commit) -> Iterator[None]:
    """Run the block, then `commit`; an OSError from either is the file's error. The stream is
    closed in every case."""
    try:
        try:
            yield
            commit()
        finally:
            with contextlib.suppress(OSError):
                stream.close()
    except OSError as exc:
        raise _cannot_write(name, exc) from None


def _adopt(handle: int, old: os.stat_result | None) -> None:
    """Give the new file the old one's mode (and owner, when allowed), or the umask's mode."""
    if old is None:
        mask = os.umask(0)
        os.umask(mask)
        os.fchmod(handle, 0o666 & ~mask)
        return
    if (old.st_uid, old.st_gid) != (os.getuid(), os.getgid()):
        with contextlib.suppress(OSError):  # only root may give a file away
            os.fchown(handle, old.st_uid, old.st_gid)
    os.fchmod(handle, stat.S_IMODE(old.st_mode))


@contextlib.contextmanager
def _stdout(binary: bool) -> Iterator[IO]:
    out = sys.stdout
    if out is None:
        raise UsageError("cannot write to standard output: it is closed")
    try:
        if binary:
            out.flush()  # what was printed before comes first
            out = out.buffer
        yield out
        out.flush()
    except BrokenPipeError:
        raise ReaderLeft from None  # the reader left: the caller stops quietly
    except OSError as exc:
        raise _cannot_write(STDIO, exc) from None


def _cannot_write(name: str, exc: BaseException) -> UsageError:
    reason = getattr(exc, "strerror", None) or str(exc)
    if name == STDIO:
        return UsageError(f"cannot write to standard output: {reason}")
    return UsageError(f"cannot write {name!r}: {reason}")


# --- reading --------------------------------------------------------------------------------


def read_text(path: str | os.PathLike) -> str:
    """The UTF-8 text of a file, or of standard input for `-`. Raises UsageError for a file that
    cannot be read, is larger than READ_LIMIT or is not text."""
    name = os.fspath(path)
    where = "standard input" if name == STDIO else repr(name)
    try:
        if name == STDIO:
            stream = getattr(sys.stdin, "buffer", None)
            if stream is None:
                raise UsageError("cannot read standard input: it is closed")
            data = _read_limited(stream, where)
        else:
            with open(name, "rb") as stream:
                data = _read_limited(stream, where)
    except OSError as exc:
        raise UsageError(f"cannot read {where}: {exc.strerror or exc}") from None
    if data.startswith(b"\xef\xbb\xbf"):  # a byte-order mark, as Notepad writes
        data = data[3:]
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise UsageError(
            f"cannot read {where}: not a text file (not UTF-8 at byte {exc.start})"
        ) from None


def _read_limited(stream, where: str) -> bytes:
    """A regular file is measured first and read whole; anything else (a pipe, /dev/zero) is
    read in chunks, so a NUL byte (binary data) or more than READ_LIMIT bytes stops it at
    once."""
    too_large = UsageError(
        f"cannot read {where}: larger than {READ_LIMIT >> 20} MiB, the largest input grad reads"
    )
    binary = UsageError(f"cannot read {where}: not a text file (it holds NUL bytes)")
    try:
        info = os.fstat(stream.fileno())
    except (OSError, ValueError):  # ValueError: a stream with no descriptor
        info = None
    if info is not None and stat.S_ISREG(info.st_mode):
        if info.st_size > READ_LIMIT:
            raise too_large
        data = stream.read(READ_LIMIT + 1)
        if len(data) > READ_LIMIT:
            raise too_large
        if b"\0" in data:
            raise binary
        return data
    chunks, size = [], 0
    while True:
        chunk = stream.read(_CHUNK)
        if not chunk:
            return b"".join(chunks)
        if b"\0" in chunk:
            raise binary
        size += len(chunk)
        if size > READ_LIMIT:
            raise too_large
        chunks.append(chunk)


LINE_LIMIT = 1 << 20  # characters in one line of a streamed file; the README documents it


@contextlib.contextmanager
def open_lines(path: str | os.PathLike, line_limit: int = LINE_LIMIT) -> Iterator[Iterator[str]]:
    """The lines of a UTF-8 text file, or of standard input for `-`, read as they are used
    (memory does not grow with the file: no READ_LIMIT), with their line ends as written (as
    the csv module wants them). A line longer than `line_limit`, text that is not UTF-8 or a
    failing read raises UsageError naming the file."""
    name = os.fspath(path)
    where = "standard input" if name == STDIO else repr(name)
    try:
        if name == STDIO:
            if sys.stdin is None:
                raise UsageError("cannot read standard input: it is closed")
            raw = getattr(sys.stdin, "buffer", None)  # a closed stdin's stand-in raises here
            if raw is None:  # a text stream put in its place (an embedding program's)
                yield _lines(sys.stdin, where, line_limit)
                return
            stream = io.TextIOWrapper(raw, encoding="utf-8", newline="")
        else:
            stream = open(name, encoding="utf-8", newline="")  # noqa: SIM115 - closed below
    except OSError as exc:
        raise UsageError(f"cannot read {where}: {exc.strerror or exc}") from None
    try:
        yield _lines(stream, where, line_limit)
    finally:
        if name == STDIO:
            stream.detach()  # leave standard input open
        else:
            stream.close()


def _lines(stream: IO[str], where: str, limit: int) -> Iterator[str]:
    readline = stream.readline
    number = 0
    try:
        while line := readline(limit):
            number += 1
            if len(line) == limit and line[-1] not in "\r\n":
                raise UsageError(
                    f"cannot read {where}: line {number} is longer than {limit >> 20} Mi characters"
                )
            yield line
    except UnicodeDecodeError:  # decoded a block at a time: the line is not known
        raise UsageError(f"cannot read {where}: not a text file (not UTF-8)") from None
    except OSError as exc:
        raise UsageError(f"cannot read {where}: {exc.strerror or exc}") from None
