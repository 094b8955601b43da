"""Checks of references.bib and of the citations made by the book.

The bibliography is part of the book's contract with its readers: every reference is a
real work that a reader can find (DOI, ISBN or stable URL), every citation in a chapter
resolves, and no entry sits in the file without a reason (it is cited, or listed on
purpose in the « Lectures complémentaires » section of book/bibliographie.md).
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import bibtexparser
import pytest
from bibtexparser.model import DuplicateBlockKeyBlock

ROOT = Path(__file__).resolve().parents[1]
BIB_FILE = ROOT / "references.bib"
BOOK_DIR = ROOT / "book"
NOTEBOOK_DIR = ROOT / "notebooks"
BIBLIOGRAPHY_CHAPTER = BOOK_DIR / "bibliographie.md"

# Fields each entry type needs so that pybtex's "plain" style formats it without a
# "missing field" warning. A tuple inside the list means "one of these".
REQUIRED_FIELDS: dict[str, list[str | tuple[str, ...]]] = {
    "article": ["author", "title", "journal", "year"],
    "book": [("author", "editor"), "title", "publisher", "year"],
    "incollection": ["author", "title", "booktitle", "publisher", "year"],
    "inproceedings": ["author", "title", "booktitle", "year"],
    "techreport": [("author", "institution"), "title", "institution", "year"],
    "report": [("author", "institution"), "title", "year"],
    "misc": ["title", "year", "url"],
    "online": ["title", "year", "url"],
}
IDENTIFIER_FIELDS = ("doi", "isbn", "url")

# {cite}`a`, {cite:p}`a, b`, {cite:t}`a`, {cite:ps}`a`, {cite:year}`a`...
CITE_ROLE = re.compile(r"\{cite(?::[a-z]+)?\}`([^`]+)`")
DOI_PATTERN = re.compile(r"^10\.\d{4,9}/\S+$")
URL_PATTERN = re.compile(r"^https?://\S+$")


# --------------------------------------------------------------------------- helpers


def _isbn_is_valid(raw: str) -> bool:
    """ISBN-10 or ISBN-13 with a correct check digit (hyphens and spaces ignored)."""
    digits = raw.replace("-", "").replace(" ", "").upper()
    if len(digits) == 10 and re.fullmatch(r"\d{9}[\dX]", digits):
        total = sum((10 - i) * (10 if c == "X" else int(c)) for i, c in enumerate(digits))
        return total % 11 == 0
    if len(digits) == 13 and digits.isdigit():
        total = sum((1 if i % 2 == 0 else 3) * int(c) for i, c in enumerate(digits))
        return total % 10 == 0
    return False


def _keys_in(text: str) -> set[str]:
    keys: set[str] = set()
    for match in CITE_ROLE.finditer(text):
        keys.update(k.strip() for k in match.group(1).split(",") if k.strip())
    return keys


def _notebook_text(path: Path) -> str:
    notebook = json.loads(path.read_text(encoding="utf-8"))
    return "\n".join("".join(cell.get("source", "")) for cell in notebook.get("cells", []))


def cited_keys() -> dict[str, set[Path]]:
    """Every key cited by a chapter or a notebook, with the files that cite it."""
    where: dict[str, set[Path]] = {}
    sources = [(p, p.read_text(encoding="utf-8")) for p in sorted(BOOK_DIR.rglob("*.md"))]
    if NOTEBOOK_DIR.exists():
        sources += [(p, _notebook_text(p)) for p in sorted(NOTEBOOK_DIR.rglob("*.ipynb"))]
    sources += [(p, _notebook_text(p)) for p in sorted(BOOK_DIR.rglob("*.ipynb"))]
    for path, text in sources:
        if ".ipynb_checkpoints" in path.parts:
            continue
        for key in _keys_in(text):
            where.setdefault(key, set()).add(path.relative_to(ROOT))
    return where


def further_reading_keys() -> set[str]:
    """Keys listed in the filter of the « Lectures complémentaires » bibliography.

    The section is the one labelled ``(bibliographie-lectures)=``; its ``{bibliography}``
    directive carries ``:filter: not cited and key in {"a", "b", ...}``.
    """
    text = BIBLIOGRAPHY_CHAPTER.read_text(encoding="utf-8")
    _, found, section = text.partition("(bibliographie-lectures)=")
    assert found, "book/bibliographie.md n'a pas de section (bibliographie-lectures)="
    filters = re.findall(r"^:filter:(.*)$", section, flags=re.MULTILINE)
    assert len(filters) == 1, "la section des lectures complémentaires doit avoir un :filter:"
    return set(re.findall(r'"([^"]+)"', filters[0]))


@pytest.fixture(scope="module")
def library():
    return bibtexparser.parse_file(str(BIB_FILE))


@pytest.fixture(scope="module")
def entries(library):
    return {entry.key: entry for entry in library.entries}


# --------------------------------------------------------------------------- the file


def test_file_parses_without_failed_block(library):
    failed = [b for b in library.failed_blocks if not isinstance(b, DuplicateBlockKeyBlock)]
    assert failed == [], [getattr(b, "raw", b) for b in failed]


def test_keys_are_unique(library):
    duplicates = [b.key for b in library.failed_blocks if isinstance(b, DuplicateBlockKeyBlock)]
    assert duplicates == []


def test_there_are_at_least_forty_references(entries):
    assert len(entries) >= 40


def test_keys_are_clean(entries):
    bad = [k for k in entries if not re.fullmatch(r"[a-z][a-z0-9_]*", k)]
    assert bad == []


@pytest.mark.parametrize("entry_type", sorted(REQUIRED_FIELDS))
def test_required_fields_per_type(entries, entry_type):
    missing = []
    for key, entry in entries.items():
        if entry.entry_type.lower() != entry_type:
            continue
        for need in REQUIRED_FIELDS[entry_type]:
            options = need if isinstance(need, tuple) else (need,)
            if not any(str(entry.fields_dict.get(f).value).strip() for f in options if f in entry.fields_dict):
                missing.append((key, " ou ".join(options)))
    assert missing == []


def test_only_known_entry_types(entries):
    unknown = {k: e.entry_type for k, e in entries.items() if e.entry_type.lower() not in REQUIRED_FIELDS}
    assert unknown == {}


def test_every_entry_has_an_identifier(entries):
    without = [k for k, e in entries.items() if not any(f in e.fields_dict for f in IDENTIFIER_FIELDS)]
    assert without == []


def test_identifiers_are_well_formed(entries):
    problems = []
    for key, entry in entries.items():
        fields = entry.fields_dict
        if "doi" in fields and not DOI_PATTERN.match(fields["doi"].value):
            problems.append((key, "doi", fields["doi"].value))
        if "url" in fields and not URL_PATTERN.match(fields["url"].value):
            problems.append((key, "url", fields["url"].value))
        if "isbn" in fields and not _isbn_is_valid(fields["isbn"].value):
            problems.append((key, "isbn", fields["isbn"].value))
    assert problems == []


def test_years_are_plausible(entries):
    bad = {k: e.fields_dict["year"].value for k, e in entries.items()
           if not re.fullmatch(r"(1[89]|20)\d\d", e.fields_dict["year"].value)}
    assert bad == {}


# --------------------------------------------------------------------------- the book


def test_every_cited_key_is_defined(entries):
    undefined = {k: sorted(map(str, files)) for k, files in cited_keys().items() if k not in entries}
    assert undefined == {}


def test_further_reading_keys_are_defined(entries):
    assert sorted(further_reading_keys() - set(entries)) == []


def test_every_entry_is_cited_or_listed(entries):
    used = set(cited_keys()) | further_reading_keys()
    assert sorted(set(entries) - used) == []


def test_bibliography_chapter_has_the_main_directive():
    text = BIBLIOGRAPHY_CHAPTER.read_text(encoding="utf-8")
    assert text.lstrip().startswith("(bibliographie)=")
    assert text.count("```{bibliography}") == 2


def test_isbn_checker_itself():
    assert _isbn_is_valid("978-0-8070-5643-1")
    assert _isbn_is_valid("2-7082-4258-X")
    assert not _isbn_is_valid("978-0-8070-5643-2")
    assert not _isbn_is_valid("12345")


def test_cite_role_parser_itself():
    text = "voir {cite:p}`a, b` et {cite:t}`c`, {cite}`d` ou {cite:ps}`e,f`."
    assert _keys_in(text) == {"a", "b", "c", "d", "e", "f"}
