"""The French bibliography style (observatoire.build.bibliography): entries formatted by pybtex
with the book's own plug-ins, sorted in French order, and cited in the text by sphinxcontrib-bibtex
(in a real Sphinx build)."""

from __future__ import annotations

import re

import pytest
from pybtex.database import parse_string
from pybtex.plugin import find_plugin

from observatoire.paths import ROOT
from observatoire.build.bibliography import collation_key, french_access_date, french_month
from sphinx_project import BIB, body, build, write_project


def formatted(bib: str) -> dict[str, str]:
    style = find_plugin("pybtex.style.formatting", "livre-fr")()
    data = parse_string(bib, "bibtex")
    return {e.key: e.text.render_as("text") for e in style.format_entries(data.entries.values())}


def order(bib: str) -> list[str]:
    style = find_plugin("pybtex.style.formatting", "livre-fr")()
    return [e.key for e in style.format_entries(parse_string(bib, "bibtex").entries.values())]


def test_the_book_selects_the_french_styles():
    import yaml

    config = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))["sphinx"]["config"]
    assert config["bibtex_default_style"] == "livre-fr"
    assert config["bibtex_reference_style"] == "auteur-annee"
    from sphinxcontrib.bibtex.plugin import find_plugin as find_reference_style

    assert find_reference_style("sphinxcontrib.bibtex.style.referencing", "auteur-annee")


def test_entries_speak_french():
    text = formatted(BIB + r"""
@phdthesis{these, author = {Anne Martin}, title = {Une thèse}, school = {Université de Lyon}, year = {2020}}
@book{edition, author = {Paul Durand}, title = {Un livre}, publisher = {Seuil}, edition = {Second}, year = {2001},
  volume = {3}, series = {Points}}
""")
    assert text["dupont2024"] == ("Jean Dupont et Marie Curie. Un rapport sur la résilience. Rapport, Ademe, mars 2024. "
                                  "En ligne : https://exemple.fr/rapport (consulté le 1er mars 2025).")
    assert text["boyer2002"].startswith("Robert Boyer et Yves Saillard, éd. Théorie de la régulation.")
    assert text["walker2004"].startswith("Brian Walker, C. S. Holling, Stephen R. Carpenter et Ann Kinzig.")
    assert text["rockstrom2009"].startswith("Johan Rockström, Will Steffen et al. A safe")
    assert "Dans La Dissémination, p. 77–213." in text["derrida1972"]
    assert "Thèse de doctorat, Université de Lyon, 2020." in text["these"]
    assert "Vol. 3 de Points" in text["edition"] and "second éd." in text["edition"]
    english = ("others", "editor", "Technical Report", "URL:", "visited on", " In ", "pages ", "PhD")
    for key, entry in text.items():
        assert not any(word in entry for word in english), (key, entry)


def test_the_book_bibliography_has_no_english_convention_left():
    from pybtex.database import parse_file

    style = find_plugin("pybtex.style.formatting", "livre-fr")()
    data = parse_file(str(ROOT / "references.bib"))
    for entry in style.format_entries(data.entries.values()):
        text = entry.text.render_as("text")
        for word in ("and others", "editors", "Technical Report", "URL:", "visited on", "PhD thesis"):
            assert word not in text, (entry.key, text)
        source = data.entries[entry.key]
        for role in ("author", "editor"):
            if source.persons.get(role):
                names = style.format_names(role, as_sentence=False).format_data(
                    {"entry": source, "style": style, "bib_data": data}).render_as("text")
                assert names in text and "others" not in names, (entry.key, names)
                people = [p for p in source.persons[role] if not str(p).startswith("{")]  # not « {World … and …} »
                if len(people) == len(source.persons[role]):
                    assert " and " not in names, (entry.key, names)
                if len(source.persons[role]) == 2:
                    assert " et " in names, (entry.key, names)


def test_institutional_authors_are_sorted_with_the_others_in_french_order():
    keys = order(BIB)
    assert keys == ["bene2012", "boyer2002", "cerema2020", "derrida1972", "dupont2024", "rockstrom2009",
                    "walker2004"]
    # the book's own file: « Cerema » among the C, « Méda » before « Morin », « IPCC » among the I
    from pybtex.database import parse_file

    style = find_plugin("pybtex.style.formatting", "livre-fr")()
    names = [collation_key(" ".join(e.persons["author"][0].last_names)) if e.persons.get("author") else ""
             for e in style.sort(parse_file(str(ROOT / "references.bib")).entries.values())]
    names = [n for n in names if n]
    assert names == sorted(names)
    assert names.index("cerema") < names.index("cutter") and names.index("meda") < names.index("morin")


def test_collation_ignores_accents_case_and_braces():
    assert collation_key("{Béné}") == "bene" and collation_key("Œuvre") == "oeuvre"
    assert sorted(["Morin", "Méda", "{Cerema}", "Béné", "Boyer"], key=collation_key) == \
        ["Béné", "Boyer", "{Cerema}", "Méda", "Morin"]


@pytest.mark.parametrize("month, expected", [("mar", "mars"), ("March", "mars"), ("3", "mars"), ("déc.", "décembre"),
                                             ("printemps", "printemps")])
def test_french_months(month, expected):
    assert french_month(month) == expected


def test_french_access_dates():
    assert french_access_date("2025-03-01") == "1er mars 2025"
    assert french_access_date("2025-11") == "novembre 2025"
    assert french_access_date("hier") == "hier"


def test_citations_in_the_text(tmp_path):
    source = write_project(tmp_path / "source")
    build(source, tmp_path / "html")
    text = re.sub(r"<[^>]+>", "", body(tmp_path / "html" / "biblio.html"))
    text = text.replace("\u202f", " ").replace("\u00a0", " ")
    assert "Selon (Dupont et Curie, 2024 ; Walker et al., 2004)" in text
    assert "d’après Boyer et Saillard (2002)" in text or "d'après Boyer et Saillard (2002)" in text
    assert "Rockström et al. (2009)" in text
    assert "consulté le 1er mars 2025" in text


def test_an_entry_is_formatted_once_and_again_only_when_it_changes():
    from observatoire.build import bibliography

    env = type("Environment", (), {})()  # Sphinx's, pickled from one build to the next
    bibliography._before_reading(None, env, [])
    style = find_plugin("pybtex.style.formatting", "livre-fr")()
    entry = parse_string(BIB, "bibtex").entries["dupont2024"]
    first = style.format_entry("1", entry)
    assert style.format_entry("1", entry) is first  # the hover text asks again: the same answer
    bibliography._before_reading(None, env, [])  # the next build finds it in the environment
    assert style.format_entry("1", parse_string(BIB, "bibtex").entries["dupont2024"]) is first
    changed = parse_string(BIB.replace("Un rapport sur la résilience", "Un autre rapport"), "bibtex")
    text = style.format_entry("1", changed.entries["dupont2024"]).text.render_as("text")
    assert "Un autre rapport" in text and "Un rapport sur la résilience" not in text


def test_a_rebuild_reuses_the_formatted_entries_and_sees_a_changed_one(tmp_path):
    """The formatted entries travel in Sphinx's pickled environment: a rebuild where nothing
    changed gives the same bibliography; a changed entry is formatted again."""
    import pickle

    from observatoire.build.bibliography import ENV_ATTRIBUTE

    source = write_project(tmp_path / "source")
    build(source, tmp_path / "html")
    page = body(tmp_path / "html" / "biblio.html")
    with open(tmp_path / "html" / ".doctrees" / "environment.pickle", "rb") as f:
        kept = getattr(pickle.load(f), ENV_ATTRIBUTE)
    assert len(kept) >= 4 and all(key[0] == "Style" for key in kept)
    build(source, tmp_path / "html")
    assert body(tmp_path / "html" / "biblio.html") == page
    (source / "refs.bib").write_text(BIB.replace("Un rapport sur la résilience", "Un autre rapport"), encoding="utf-8")
    build(source, tmp_path / "html")
    text = re.sub(r"<[^>]+>", "", body(tmp_path / "html" / "biblio.html"))
    assert "Un autre rapport" in text and "Un rapport sur la résilience" not in text
