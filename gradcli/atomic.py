"""Permissions for files written atomically.

tempfile.mkstemp creates its file readable by its owner only (0600). A file that replaces an
existing one keeps that file's permissions; a new file gets the ones open() would give it
(0666 less the umask), as the user expects of `--csv FILE`, `--svg FILE` or `:save FILE`."""

from __future__ import annotations

import os
import stat
from pathlib import Path


def intended_mode(path: Path) -> int:
    try:
        return stat.S_IMODE(os.stat(path).st_mode)
    except OSError:
        mask = os.umask(0)
        os.umask(mask)
        return 0o666 & ~mask


def adopt_mode(temporary: str | os.PathLike, path: Path) -> None:
    """Give the temporary file the permissions `path` should end up with (before renaming)."""
    os.chmod(temporary, intended_mode(path))
