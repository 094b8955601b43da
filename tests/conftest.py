"""Helpers shared by several test modules."""

from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[1]


def toc_files(node=None):
    """Every file named in _toc.yml (root, chapters, sections), in order."""
    if node is None:
        node = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))
    for key in ("root", "file"):
        if key in node:
            yield node[key]
    for key in ("parts", "chapters", "sections"):
        for child in node.get(key, []):
            yield from toc_files(child)


@pytest.fixture(scope="session")
def built_book(tmp_path_factory):
    """The whole book built once per test session on the bundled pilot data (slow: ~1 min).
    Returns the folder holding index.html. Tests that need the built site share it."""
    from observatoire.build.book import DEFAULT_DATA, build_book

    index = build_book(DEFAULT_DATA, tmp_path_factory.mktemp("livre"))
    return index.parent
