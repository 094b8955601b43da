"""Traceability of the book to its founding document, and coherence of the survey questionnaire.

The annex book/annexes/tracabilite.md maps every part of the founding document (the seed) to the
book sections that cover it, with {ref} roles. These tests check that every target of those roles
is a label that exists somewhere in the book, that the table is substantial, that each row says
where and how far the book covers the passage (traité / partiel / non traité), with the reason
for every partial or missing point, and that the chapters do not use the seed as their narrator
(« le document fondateur ») — the mapping to the seed lives in the annex only.

The model questionnaire (book/annexes/questionnaire.md) and the Campus (book/campus.md) name
catalogue indicators; the questionnaire also summarises, in two tables, which questions each
actor answers and which time × space scales they probe. Those must stay true to the catalogue and
to the questions themselves.
"""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import pytest
import yaml
from observatoire.build.toc import toc_files

ROOT = Path(__file__).resolve().parents[1]
BOOK = ROOT / "book"
ANNEX = BOOK / "annexes" / "tracabilite.md"
QUESTIONNAIRE = BOOK / "annexes" / "questionnaire.md"
CAMPUS = BOOK / "campus.md"
CATALOGUE = ROOT / "data" / "catalogue"

LABEL_LINE = re.compile(r"^\(([^()\s]+)\)=\s*$", re.MULTILINE)
REF_ROLE = re.compile(r"\{ref\}`([^`]+)`")
SEPARATOR = re.compile(r"\|[\s:|-]+\|")
COVERAGE = ("traité", "partiel", "non traité")
# « partiel : <why> » and « non traité : <why> » must say why, in a few words at least.
STATUS = re.compile(r"^(traité|partiel|non traité)(?: : (.+))?$")
MIN_REASON = 15
NARRATOR = re.compile(r"document fondateur", re.IGNORECASE)
MIN_ROWS = 25

# A catalogue identifier written as code: snake_case with at least one underscore.
CATALOGUE_ID = re.compile(r"`([a-z][a-z0-9]*(?:_[a-z0-9]+)+)`")
QUESTION_HEAD = re.compile(r"^\*\*((?:P|A[1-4]|Z)-\d+) · ", re.MULTILINE)
TIMES = ("mois", "années", "décennies")
SPACES = ("local", "régional", "national-mondial")
ACTORS = ("E", "T", "S")


# --------------------------------------------------------------------------- helpers


def ref_targets(text: str) -> list[str]:
    """Targets of {ref} roles: {ref}`label` or {ref}`shown text <label>`."""
    targets = []
    for content in REF_ROLE.findall(text):
        content = content.strip()
        if content.endswith(">") and "<" in content:
            content = content[content.rindex("<") + 1 : -1]
        targets.append(content.strip())
    return targets


def _notebook_markdown(path: Path) -> str:
    notebook = json.loads(path.read_text(encoding="utf-8"))
    return "\n".join(
        "".join(cell.get("source", "")) for cell in notebook.get("cells", []) if cell.get("cell_type") == "markdown"
    )


def book_labels() -> set[str]:
    """Every ``(label)=`` of the book's MyST files and of its notebooks (committed or generated)."""
    texts = [p.read_text(encoding="utf-8") for p in BOOK.rglob("*.md")]
    notebooks = list(BOOK.rglob("*.ipynb")) + list((ROOT / "notebooks").glob("*.ipynb"))
    texts += [_notebook_markdown(p) for p in notebooks if ".ipynb_checkpoints" not in p.parts]
    return {label for text in texts for label in LABEL_LINE.findall(text)}


def table_rows(text: str) -> list[list[str]]:
    """Data rows of every pipe table of ``text``: header lines and separator lines are skipped."""
    lines = [line.strip() for line in text.splitlines()]
    rows = []
    for i, line in enumerate(lines):
        if not line.startswith("|") or SEPARATOR.fullmatch(line):
            continue
        if i + 1 < len(lines) and SEPARATOR.fullmatch(lines[i + 1]):
            continue  # the header of a table is the line just above its separator
        rows.append([cell.strip() for cell in line.strip("|").split("|")])
    return rows


def _ids(name: str) -> set[str]:
    with (CATALOGUE / name).open(encoding="utf-8", newline="") as f:
        return {row["id"] for row in csv.DictReader(f)}


def _survey_indicators() -> set[str]:
    with (CATALOGUE / "indicateurs.csv").open(encoding="utf-8", newline="") as f:
        return {row["id"] for row in csv.DictReader(f) if row["source"].startswith("Enquête de l'Observatoire")}


def questions(text: str) -> dict[str, dict[str, set[str]]]:
    """Each question of the questionnaire with its actors, time scales and space scales."""
    heads = list(QUESTION_HEAD.finditer(text))
    found = {}
    for head, following in zip(heads, heads[1:] + [None]):
        block = " ".join(text[head.start() : following.start() if following else len(text)].split())
        def field(name):
            match = re.search(rf"\*{name} :\* (.+?) —", block)
            return {x.strip() for x in match.group(1).split(",")} if match else set()
        found[head.group(1)] = {"acteurs": field("Acteurs"), "temps": field("Temps"), "espace": field("Espace")}
    return found


def _code_key(code: str) -> tuple[int, int]:
    prefix, number = code.split("-")
    return ("P", "A1", "A2", "A3", "A4", "Z").index(prefix), int(number)


def expand(cell: str) -> set[str]:
    """« P-1 à P-4 ; A1-1, A1-3 » → {P-1, P-2, P-3, P-4, A1-1, A1-3}; « — » → empty."""
    codes = set()
    for part in re.split(r"[;,]", cell):
        part = part.strip()
        if not part or part == "—":
            continue
        if " à " in part:
            first, last = (p.strip() for p in part.split(" à "))
            prefix = first.split("-")[0]
            assert last.split("-")[0] == prefix, part
            codes |= {f"{prefix}-{n}" for n in range(_code_key(first)[1], _code_key(last)[1] + 1)}
        else:
            codes.add(part)
    return codes


def section(text: str, label: str) -> str:
    """The text of the section that starts at ``(label)=``, up to the next label."""
    _, found, rest = text.partition(f"({label})=")
    assert found, f"pas de section ({label})="
    following = LABEL_LINE.search(rest)
    return rest[: following.start()] if following else rest


@pytest.fixture(scope="module")
def annex() -> str:
    return ANNEX.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def questionnaire() -> str:
    return QUESTIONNAIRE.read_text(encoding="utf-8")


# --------------------------------------------------------------------------- the annex


def test_new_pages_are_in_the_toc():
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))
    files = list(toc_files(toc))
    for page in ("book/annexes/tracabilite", "book/annexes/questionnaire", "book/campus"):
        assert page in files, f"{page} manque dans _toc.yml"
    annexes = files.index("book/bibliographie")
    assert files.index("book/annexes/tracabilite") < files.index("book/annexes/questionnaire") < annexes


def test_every_ref_target_is_a_label_of_the_book(annex):
    labels = book_labels()
    targets = ref_targets(annex)
    assert targets, "la table de traçabilité ne contient aucun renvoi {ref}"
    missing = sorted({t for t in targets if t not in labels})
    assert missing == [], f"étiquettes inconnues dans la table de traçabilité : {missing}"


def test_the_table_has_enough_rows(annex):
    rows = table_rows(annex)
    assert len(rows) >= MIN_ROWS, f"{len(rows)} lignes seulement"


def test_every_row_says_where_and_how_far(annex):
    for row in table_rows(annex):
        assert len(row) == 4, row
        passage, summary, where, coverage = row
        assert passage and summary, row
        assert ref_targets(where), f"aucun renvoi pour « {passage} »"
        match = STATUS.match(coverage)
        assert match, f"statut inconnu pour « {passage} » : {coverage}"
        status, reason = match.groups()
        if status != "traité":
            assert reason and len(reason) >= MIN_REASON, f"« {passage} » est {status} sans dire pourquoi"


def test_statuses_are_all_used(annex):
    """A table where everything is « traité » is not a check: the three statuses appear."""
    statuses = {STATUS.match(row[3]).group(1) for row in table_rows(annex) if STATUS.match(row[3])}
    assert statuses == set(COVERAGE), statuses


def test_the_seed_is_not_the_narrator():
    """Chapters and annexes speak in the book's own voice; the seed is cited where it is the source
    of a proposal, never as « le document fondateur » (the pilot chapters, written elsewhere, are
    left to their own tests)."""
    pages = [p for p in BOOK.rglob("*.md") if "territoires" not in p.relative_to(BOOK).parts]
    assert len(pages) > 10
    hits = [f"{p.relative_to(ROOT)}:{n}" for p in pages
            for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1) if NARRATOR.search(line)]
    assert hits == [], f"« document fondateur » employé comme narrateur : {hits}"


def test_every_section_of_the_seed_has_its_table(annex):
    for label in ("tracabilite-description", "tracabilite-financement", "tracabilite-resilience-territoires",
                  "tracabilite-impacts", "tracabilite-synthese", "tracabilite-autodiagnostic",
                  "tracabilite-realisation"):
        assert table_rows(section(annex, label)), f"la section ({label})= n'a pas de tableau"


def test_parsers_themselves():
    text = "voir {ref}`a-b`, {ref}`Le texte <c-d>` et {ref}` e `."
    assert ref_targets(text) == ["a-b", "c-d", "e"]
    table = "| A | B |\n|---|---|\n| 1 | {ref}`x` |\n| 2 | 3 |\n\ntexte\n\n| C |\n|:-:|\n| 4 |\n"
    assert table_rows(table) == [["1", "{ref}`x`"], ["2", "3"], ["4"]]
    assert LABEL_LINE.findall("(a-b)=\n# Titre\n(c)= \n x (d)=\n") == ["a-b", "c"]
    assert expand("P-1 à P-3 ; A1-2, A1-4 à A1-5") == {"P-1", "P-2", "P-3", "A1-2", "A1-4", "A1-5"}
    assert expand("—") == set()
    assert STATUS.match("partiel : le montant n'est pas repris").groups() == ("partiel", "le montant n'est pas repris")
    assert STATUS.match("traité").groups() == ("traité", None)
    assert STATUS.match("en partie : ancien libellé") is None


# --------------------------------------------------------------------------- catalogue identifiers


@pytest.mark.parametrize("page", [QUESTIONNAIRE, CAMPUS], ids=lambda p: p.name)
def test_named_identifiers_exist_in_the_catalogue(page):
    known = _ids("indicateurs.csv") | _ids("communs.csv")
    named = set(CATALOGUE_ID.findall(page.read_text(encoding="utf-8")))
    assert named, f"{page.name} ne nomme aucun indicateur"
    assert sorted(named - known) == []


def test_every_survey_indicator_is_fed_by_a_question(questionnaire):
    fed = set(re.findall(r"Alimente l'indicateur `([a-z0-9_]+)`", questionnaire))
    assert sorted(_survey_indicators() - fed) == [], "indicateur de l'enquête sans question qui l'alimente"
    assert sorted(fed - _survey_indicators()) == [], "question qui prétend alimenter un indicateur hors enquête"


# --------------------------------------------------------------------------- the questionnaire


def test_questions_are_complete(questionnaire):
    found = questions(questionnaire)
    assert len([c for c in found if c.startswith("A")]) >= 30
    for axis in ("A1", "A2", "A3", "A4"):
        assert any(c.startswith(axis) for c in found), f"aucune question pour l'axe {axis}"
    for code, q in found.items():
        assert q["acteurs"] and q["acteurs"] <= set(ACTORS), (code, q["acteurs"])
        assert q["temps"] <= set(TIMES), (code, q["temps"])
        assert q["espace"] <= set(SPACES), (code, q["espace"])
        if code.startswith("A"):
            assert q["temps"] and q["espace"], f"{code} n'indique pas ses échelles"


def test_variants_table_matches_the_questions(questionnaire):
    found = questions(questionnaire)
    rows = {row[0]: expand(row[1]) for row in table_rows(section(questionnaire, "questionnaire-versions"))
            if row[0].startswith("**") and row[0][2] in ACTORS}
    assert set(rows) == {f"**{a}** — {n}" for a, n in zip(ACTORS, (
        "entreprises", "collectivités et services publics", "société civile et habitants"))}
    for name, codes in rows.items():
        actor = name[2]
        assert codes == {c for c, q in found.items() if actor in q["acteurs"]}, name


def test_scales_table_matches_the_questions(questionnaire):
    found = questions(questionnaire)
    cells = {}
    for row in table_rows(section(questionnaire, "questionnaire-versions")):
        time = row[0].strip("*").lower()
        if time in TIMES:
            for space, cell in zip(SPACES, row[1:]):
                cells[time, space] = expand(cell)
    assert len(cells) == len(TIMES) * len(SPACES)
    for (time, space), codes in cells.items():
        expected = {c for c, q in found.items() if c.startswith("A") and time in q["temps"] and space in q["espace"]}
        assert codes == expected, (time, space)
        assert codes, f"aucune question n'explore l'échelle {time} × {space}"
