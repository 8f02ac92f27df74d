"""The consoles gradcli prints with, and what it does for streams that cannot show Unicode.

Two edges live here. Lines may run past the terminal's width (a number is never cut: the
renderers keep to the width where they can and otherwise let the terminal wrap the line), so
the consoles do not crop. And a stream whose encoding cannot show ∂, └ or ━ (PYTHONIOENCODING=
ascii, LC_ALL=C) gets an ASCII rendering: `d f/d x`, `+--` guides, ASCII table boxes. The text
is transliterated before Rich lays it out, so table columns stay aligned; Rich chooses ASCII
boxes itself for such a console. Anything written past Rich (help text, plain writes) is
transliterated by the stream's codec, so nothing ever raises UnicodeEncodeError.
"""

from __future__ import annotations

import codecs
import functools
import os
import re
import sys

ASCII = {
    "∂": "d ",
    "∇": "grad",
    "…": "...",
    "→": "->",
    "←": "<-",
    "↑": "^",
    "×": "x",
    "·": "*",
    "−": "-",
    "—": "-",
    "–": "-",
    "²": "^2",
    "≤": "<=",
    "≥": ">=",
    "≈": "~",
    "±": "+/-",
    "∝": "~",
    "√": "sqrt",
    "Σ": "sum",
    "σ": "sigma",
    "β": "beta",
    "ε": "eps",
    "μ": "mu",
    "ᵢ": "_i",
    "├": "+",
    "└": "+",
    "┌": "+",
    "┐": "+",
    "┘": "+",
    "┬": "+",
    "┴": "+",
    "┼": "+",
    "┤": "+",
    "│": "|",
    "─": "-",
    "━": "-",
    "▁": "_",
    "▂": "_",
    "▃": "-",
    "▄": "-",
    "▅": "=",
    "▆": "=",
    "▇": "#",
    "█": "#",
}
_TABLE = str.maketrans(ASCII)
_PARTIAL_AFTER_NAME = re.compile(r"(?<=\w)∂")
PROBE = "∂└━"  # what the Unicode rendering needs


def to_ascii(text: str) -> str:
    """Text a 7-bit stream can show: the known symbols spelled out, anything else escaped as
    Python writes it (é as \\xe9): a name the user typed is never shown as another one (é.svg
    as e.svg)."""
    text = text.replace("∂/∂", "d/d").replace("∂²", "d^2 ")  # ∂²f/∂x∂y: d^2 f/d x d y
    if "∂" in text:
        text = _PARTIAL_AFTER_NAME.sub(" d ", text)
    text = text.translate(_TABLE)
    if text.isascii():
        return text
    return "".join(c if c.isascii() else ascii(c)[1:-1] for c in text)


CODEC = "gradcli-ascii"  # ASCII that transliterates rather than fails


class _Encoder(codecs.IncrementalEncoder):
    def encode(self, text: str, final: bool = False) -> bytes:
        return to_ascii(text).encode("ascii", "replace")


def _codec(name: str):
    if name != CODEC.replace("-", "_"):
        return None
    ascii_codec = codecs.lookup("ascii")
    return codecs.CodecInfo(
        name=CODEC,
        encode=lambda text, errors="strict": (_Encoder().encode(text), len(text)),
        decode=ascii_codec.decode,
        incrementalencoder=_Encoder,
        incrementaldecoder=ascii_codec.incrementaldecoder,
    )


codecs.register(_codec)


def can_show(encoding: str | None) -> bool:
    if not encoding or encoding.lower() == CODEC:
        return False
    try:
        PROBE.encode(encoding)
    except (LookupError, UnicodeEncodeError):
        return False
    return True


def _c_locale() -> bool:
    """Python chose UTF-8 only because the locale is C or POSIX (PEP 540): the terminal
    behind such a locale shows ASCII. An explicit PYTHONUTF8 or PYTHONIOENCODING wins."""
    if (
        not sys.flags.utf8_mode
        or os.environ.get("PYTHONUTF8")
        or os.environ.get("PYTHONIOENCODING")
    ):
        return False
    for variable in ("LC_ALL", "LC_CTYPE", "LANG"):
        value = os.environ.get(variable)
        if value:
            return value in ("C", "POSIX")
    return True


def protect_streams() -> None:
    """Give stdout and stderr the transliterating ASCII codec when they cannot show Unicode:
    whatever goes past Rich (click's help text, plain writes) is ASCII too and never raises
    UnicodeEncodeError. (Click would re-wrap a plain 'ascii' stream as UTF-8 for its help.)"""
    c_locale = _c_locale()
    for stream in (sys.stdout, sys.stderr):
        if stream is None or not (c_locale or not can_show(getattr(stream, "encoding", None))):
            continue
        try:
            stream.reconfigure(encoding=CODEC)
        except (AttributeError, ValueError, OSError):
            pass  # not a text stream we can change: Rich's own writes are still ASCII


def ascii_text(text):
    """The same rich Text in ASCII, its styles kept on the transliterated pieces."""
    from rich.text import Text

    if text.plain.isascii():
        return text
    cuts = sorted({i for span in text.spans for i in (span.start, span.end)})
    result = Text(
        style=text.style,
        justify=text.justify,
        overflow=text.overflow,
        no_wrap=text.no_wrap,
        end=text.end,
    )
    for piece in text.divide(cuts):
        part = Text(to_ascii(piece.plain), style=piece.style)
        for span in piece.spans:
            part.stylize(span.style, 0, len(part))
        result.append_text(part)
    return result


def asciify(renderable):
    """The renderable with its text in ASCII (Text, str, Group, Tree, Table and anything with
    an `ascii()` method); other renderables are left to the stream's error handler."""
    from rich.console import Group
    from rich.table import Table
    from rich.text import Text
    from rich.tree import Tree

    if isinstance(renderable, str):
        return to_ascii(renderable)
    if isinstance(renderable, Text):
        return ascii_text(renderable)
    if hasattr(renderable, "ascii"):
        return renderable.ascii()
    if isinstance(renderable, Group):
        renderable._renderables = [asciify(r) for r in renderable._renderables]
    elif isinstance(renderable, Tree):
        renderable.label = asciify(renderable.label)
        for child in renderable.children:
            asciify(child)
    elif isinstance(renderable, Table):
        for attr in ("title", "caption"):
            if getattr(renderable, attr) is not None:
                setattr(renderable, attr, asciify(getattr(renderable, attr)))
        for column in renderable.columns:
            column.header = asciify(column.header)
            column._cells = [asciify(c) for c in column._cells]
    return renderable


@functools.cache
def console_class():
    """The Console subclass, made on first use: Rich is imported only when output is drawn."""
    from rich.console import Console

    class TerminalConsole(Console):
        """A Rich console that never crops a line (renderers keep to the width where they
        can; a line that cannot be shortened runs past it and the terminal wraps it) and
        writes ASCII to a stream that cannot show Unicode."""

        def print(self, *objects, crop: bool = False, **kwargs) -> None:
            if not can_show(self.encoding):
                objects = tuple(asciify(o) for o in objects)
            if objects and all(getattr(o, "no_wrap", None) is True for o in objects):
                # Rich wraps a Text that says no_wrap unless print says so too
                kwargs.setdefault("no_wrap", True)
                kwargs.setdefault("overflow", getattr(objects[0], "overflow", None))
            super().print(*objects, crop=crop, **kwargs)

        def on_broken_pipe(self) -> None:
            # Rich would exit 1 itself; the command's boundary ends it quietly, as SIGPIPE
            # would (streams.run_guarded: exit 141)
            from ..core.errors import ReaderLeft

            raise ReaderLeft

    return TerminalConsole


def _width_when_columns_is_zero() -> int | None:
    """None (Rich's own choice), except for COLUMNS=0, which Rich would take for a width of 0
    and print nothing at all: then the terminal's width, or 80."""
    if os.environ.get("COLUMNS", "").strip() != "0":
        return None
    import shutil  # (it queries the terminal when COLUMNS is not a positive number)

    return shutil.get_terminal_size().columns


def consoles():
    """stdout and stderr consoles (they look up sys.stdout/sys.stderr when they write). Text is
    never read as markup or :emoji: codes: formulas and messages are printed as written."""
    plain = dict(markup=False, emoji=False, width=_width_when_columns_is_zero())
    cls = console_class()
    # off a terminal a message is never broken at the assumed width: one message, one line
    # (the error excerpt keeps to the width by itself)
    try:
        piped = not sys.stderr.isatty()
    except (AttributeError, ValueError):  # no stderr, or a closed one
        piped = True
    return cls(**plain), cls(stderr=True, soft_wrap=piped, **plain)
