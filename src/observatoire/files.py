"""Writing files and folders so that nothing is ever half-written (one helper for every layer).

- :func:`write_atomic`: a file through a temporary file in the same folder and a rename;
- :func:`write_all_atomic`: several files together — all written aside first, then renamed,
  so that a failure while writing leaves every destination untouched;
- :func:`swap_in`: a finished folder in place of the previous one, with two renames;
- :func:`copy_in`: a copy of a folder next to its target, then swapped in.

An interrupted run leaves either the old file (folder) or the new one, never a mix.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import stat
import tempfile
from pathlib import Path


def write_atomic(path: str | os.PathLike, data: str | bytes) -> Path:
    """Write ``data`` (text as UTF-8, or bytes) to ``path`` atomically; return the path."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data.encode("utf-8") if isinstance(data, str) else data)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


def write_all_atomic(texts: dict) -> None:
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


def replace_with(source: str | os.PathLike, path: str | os.PathLike) -> Path:
    """Copy the finished file ``source`` to ``path`` atomically (through a temporary copy in the
    target's folder: ``source`` may be on another file system)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    try:
        shutil.copyfile(source, tmp)
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return path


def swap_in(new: str | os.PathLike, target: str | os.PathLike) -> Path:
    """Replace the folder ``target`` by ``new`` (same file system) with two renames."""
    new, target = Path(new), Path(target)
    old = target.with_name(target.name + ".ancien")
    shutil.rmtree(old, ignore_errors=True)
    if target.exists():
        target.rename(old)
    new.rename(target)
    shutil.rmtree(old, ignore_errors=True)
    return target


def copy_in(source: str | os.PathLike, target: str | os.PathLike) -> Path:
    """Copy the folder ``source`` next to ``target``, then swap it in.

    A file that ``target`` already holds unchanged (same size and modification time as in
    ``source``: copies keep it) is hard-linked from there instead of copied: the previous copy is
    never written again, only replaced as a whole, so the link is as good as a copy."""
    source, target = Path(source), Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".construction-", dir=target.parent))

    def link_or_copy(src: str, dst: str) -> str:
        previous = target / Path(src).relative_to(source)
        with contextlib.suppress(OSError):
            new, old = os.stat(src), os.stat(previous)
            if (new.st_size, new.st_mtime_ns) == (old.st_size, old.st_mtime_ns) and stat.S_ISREG(old.st_mode):
                os.link(previous, dst)
                return dst
        return shutil.copy2(src, dst)

    try:
        shutil.copytree(source, staging / "copie", copy_function=link_or_copy)
        return swap_in(staging / "copie", target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
