"""Helpers shared by several test modules."""

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def built_book(tmp_path_factory):
    """The whole book built once per test session on the bundled pilot data (slow: ~1 min).
    Returns the folder holding index.html. Tests that need the built site share it."""
    from observatoire.build.book import build_book
    from observatoire.paths import DEFAULT_DATA

    index = build_book(DEFAULT_DATA, tmp_path_factory.mktemp("livre"))
    return index.parent
