"""The details of a territory's chapter that issue #19 found wrong, one test each: the months
the monthly series cover, a price with its decimals, sources and comments readable without
scrolling sideways, a comment on a month other than the latest, what validation repaired, and
sparse files that say what is missing instead of computing scores."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from observatoire.report.sheet import territory_sheet

ROOT = Path(__file__).resolve().parents[1]
HERE = ROOT / "tests" / "donnees" / "envois"
CODE = "01004"
CHROMIUM = Path("/usr/bin/chromium")
needs_chromium = pytest.mark.skipif(not CHROMIUM.exists() and os.environ.get("CI") != "true",
                                    reason="chromium est introuvable (/usr/bin/chromium) : make chromium")


@pytest.fixture(scope="module")
def monthly():
    return territory_sheet(CODE, HERE / "mensuel-seulement.csv")


def test_the_monthly_caption_says_how_many_months_the_file_holds(monthly):
    assert monthly.monthly_sentence() == ("Les séries ci-dessous couvrent 12 mois des données, de janvier 2025 à "
                                          "décembre 2025, pour 3 indicateurs mensuels.")
    annual = territory_sheet(CODE, HERE / "une-valeur.csv")
    assert annual.monthly_sentence() == "Le fichier ne contient aucune valeur mensuelle : il n'y a pas de série à tracer."
    template = (ROOT / "notebooks" / "territoire.ipynb").read_text(encoding="utf-8")
    assert "24 derniers mois" not in template and "sur 24 mois" not in template


def test_a_price_is_shown_with_the_decimals_the_file_gives(monthly):
    table = monthly.display_table().set_index("Indicateur")
    price = table.loc[monthly.catalogue.indicators.at["prix_gazole_moyen", "libelle"]]
    assert price["Valeur"] == "1,705\u00a0€/L" and price["Période"] == "2025-12"
    html = monthly.styled_indicator_table().to_html()
    assert "1,705\u00a0€/L" in html and "1,7\u00a0€/L" not in html


def test_a_comment_on_an_earlier_month_is_shown(monthly):
    notes = monthly.file_notes()
    assert notes.to_dict("records") == [{"Indicateur": "Prix du gazole à la pompe", "Période": "2025-03",
                                         "Valeur": "1,696\u00a0€/L",
                                         "Commentaire": "Relevé interrompu par la grève des stations"}]
    assert "Relevé interrompu par la grève des stations" in monthly.styled_file_notes().to_html()


def test_the_declared_source_and_provenance_are_in_the_table():
    sheet = territory_sheet(CODE, HERE / "provenance.csv")
    table = sheet.display_table().set_index("Indicateur")
    source = table.loc["Rendement du réseau d'eau potable", "Source"]
    assert source == ("Régie des eaux d'Ambérieu, Rapport annuel sur le prix et la qualité du service, 2024, "
                      "consulté le 2026-11-20, Licence Ouverte / Etalab 2.0, https://www.example.org/rpqs-2024.pdf")
    assert table.loc["Conformité microbiologique de l'eau du robinet", "Source"] == "prévue : ARS"
    notes = sheet.file_notes()
    assert list(notes["Extrait"]) == ["Rendement du réseau : 81,5 %", "Part de logements sociaux : 12,4 %"]


def overflowing_tables(url: str, widths=(1280, 1000, 800)) -> list:
    """The tables of a page that make their container scroll sideways, at several window widths."""
    from playwright.sync_api import sync_playwright

    found = []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-gpu"])
        for width in widths:
            page = browser.new_page(viewport={"width": width, "height": 900})
            page.goto(url)
            found += [(width, *t) for t in page.evaluate("""() => Array.from(document.querySelectorAll('table'))
                .flatMap(t => { const out = []; let el = t;
                    while (el && el !== document.body) {
                        if (el.scrollWidth > el.clientWidth + 1 && getComputedStyle(el).overflowX !== 'visible')
                            out.push([el.tagName, el.scrollWidth, el.clientWidth]);
                        el = el.parentElement; }
                    if (document.documentElement.scrollWidth > document.documentElement.clientWidth + 1)
                        out.push(['page', document.documentElement.scrollWidth, document.documentElement.clientWidth]);
                    return out; })""")]
            page.close()
        browser.close()
    return found


@needs_chromium
def test_sources_and_comments_are_read_without_scrolling_sideways(tmp_path):
    """Long sources, comments and addresses in a column as wide as the book's text (736 px):
    the tables wrap their cells instead of overflowing."""
    import pandas as pd

    sheet = territory_sheet(CODE, HERE / "provenance.csv")
    long = "https://www.example.org/" + "un-chemin-sans-espace-" * 12 + ".pdf"
    sheet.data.values = sheet.data.values.assign(url=long, commentaire="Un commentaire assez long " * 12)
    sheet.data.values = pd.concat([sheet.data.values] * 1, ignore_index=True)
    page = tmp_path / "table.html"
    page.write_text("<!DOCTYPE html><html><body><div style='width:736px;overflow-x:auto'>"
                    + sheet.styled_indicator_table().to_html() + "</div><div style='width:736px;overflow-x:auto'>"
                    + sheet.styled_file_notes().to_html() + "</div></body></html>", encoding="utf-8")
    assert long in page.read_text(encoding="utf-8")
    assert overflowing_tables(page.as_uri(), widths=(800,)) == []


def test_the_data_notice_lists_what_validation_repaired():
    sheet = territory_sheet(CODE, HERE / "excel-cellules.xlsx")
    text = sheet.validation_markdown()
    assert text.count("\n- ") == 3
    assert "3 codes complétés d'un zéro initial \\(perdu par un tableur\\)" in text
    assert territory_sheet(CODE, HERE / "une-valeur.csv").validation_markdown() == \
        "La validation n'a rien corrigé ni ignoré dans le fichier."


@pytest.mark.parametrize("name", ["une-valeur.csv", "trois-valeurs.csv", "dix-valeurs.csv", "un-seul-commun.csv",
                                  "un-seul-axe.csv", "mensuel-seulement.csv", "horizons-seulement.csv"])
def test_a_sparse_file_computes_no_score_below_the_coverage_threshold(name):
    sheet = territory_sheet(CODE, HERE / name)
    coverage = sheet.coverage()
    share = coverage["Renseignés"] / coverage["Indicateurs"]
    assert coverage.loc[share < 0.5, "Score"].isna().all()  # equal weights: coverage is the share
    texts = sheet.axis_texts()
    axes = sheet.scores.axes.loc[CODE]
    for axis, text in texts.items():
        assert (text.startswith("non calculé : ")) == bool(pd_isna(axes[axis]))
    if pd_isna(sheet.index):
        assert "n'est pas calculé" in sheet.index_markdown() and "{glue:text}" not in sheet.index_markdown()
    else:
        assert "{glue:text}`indice`" in sheet.index_markdown()
    profile = sheet.profile_markdown()
    scored = sheet.communs.dropna()
    assert ("{glue:text}`commun_fort`" in profile) == (len(scored) >= 2)


def test_a_single_commun_and_a_single_axis_are_scored_alone():
    commun = territory_sheet(CODE, HERE / "un-seul-commun.csv")
    assert list(commun.communs.dropna().index) == ["Eau"]
    assert commun.profile_markdown().startswith("Un seul commun a un score, « Eau »")
    axis = territory_sheet(CODE, HERE / "un-seul-axe.csv")
    assert list(axis.scores.axes.loc[CODE].dropna().index) == [1]
    in_axis_2 = int((axis.catalogue.indicators["axe"] == 2).sum())
    assert axis.axis_texts()[2] == f"non calculé : aucun indicateur renseigné sur {in_axis_2}"


def test_the_comparison_keeps_a_territory_with_monthly_values_only(tmp_path):
    from observatoire.report import comparison

    compared = comparison.compared_territories(None, HERE / "mensuel-seulement.csv", CODE)
    table = comparison.comparison_table(compared)
    added = compared.added.titre
    assert added in table.columns and (table[added] != "").sum() == 3  # its three monthly series
    assert "France" in table.columns


def pd_isna(x) -> bool:
    import pandas as pd

    return bool(pd.isna(x))
