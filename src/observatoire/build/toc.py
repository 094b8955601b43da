"""The table of contents (``_toc.yml``, jb-book format), read in one place.

Every document in reading order with its depth and part (:func:`toc_entries`), the files
alone (:func:`toc_files`), and the MyST text notebooks among them (:func:`toc_notebooks`).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from observatoire import paths


@dataclass(frozen=True)
class TocEntry:
    """One document: ``depth`` 0 for the root, 1 for a chapter, 2 for a section of a chapter;
    ``part`` the caption of its part; ``numbered`` whether its part is numbered by Sphinx."""

    file: str
    depth: int
    part: str | None = None
    numbered: bool = False


def read_toc(toc: Path | dict = paths.TOC) -> dict:
    return toc if isinstance(toc, dict) else yaml.safe_load(Path(toc).read_text(encoding="utf-8"))


def toc_entries(toc: Path | dict = paths.TOC) -> list[TocEntry]:
    """Every document named in the table of contents, in reading order."""
    data = read_toc(toc)
    entries = [TocEntry(data["root"], 0)]

    def walk(nodes, depth, part, numbered):
        for node in nodes:
            entries.append(TocEntry(node["file"], depth, part, numbered))
            walk(node.get("sections", []), depth + 1, part, numbered)

    for part in data.get("parts", []):
        walk(part.get("chapters", []), 1, part.get("caption"), bool(part.get("numbered")))
    walk(data.get("chapters", []), 1, None, False)
    return entries


def toc_files(toc: Path | dict = paths.TOC) -> list[str]:
    """The files of the table of contents (without extension), in reading order."""
    return [e.file for e in toc_entries(toc)]


def toc_notebooks(toc: Path | dict = paths.TOC, root: Path = paths.ROOT) -> list[Path]:
    """The MyST text notebooks (pages with code cells) named in a table of contents."""
    pages = [root / f"{f}.md" for f in toc_files(toc)]
    return [p for p in pages if p.exists() and "{code-cell}" in p.read_text(encoding="utf-8")]
