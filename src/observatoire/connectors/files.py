"""Atomic writes of the collected files (no ``observatoire.files`` on main yet: this small one).

Every file is first written next to its destination under a temporary name, flushed and synced,
then moved into place with :func:`os.replace`, which is atomic on one file system: a reader sees
the old file or the new one, never half of one; an interrupted run leaves the old file intact.
Several files are written together: all the temporary files first, then the renames, so that
a failure while writing leaves every destination untouched.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def write_texts_atomically(texts: dict[Path, str]) -> None:
    """Write each ``path: text`` (UTF-8, LF) atomically; nothing is replaced if one write fails."""
    staged: list[tuple[Path, Path]] = []
    try:
        for path, text in texts.items():
            path = Path(path)
            path.parent.mkdir(parents=True, exist_ok=True)
            handle, temporary = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
            staged.append((Path(temporary), path))
            with os.fdopen(handle, "w", encoding="utf-8", newline="\n") as out:
                out.write(text)
                out.flush()
                os.fsync(out.fileno())
        for temporary, path in staged:
            os.replace(temporary, path)
        staged = []
    finally:
        for temporary, _ in staged:
            temporary.unlink(missing_ok=True)
