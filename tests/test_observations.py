"""The pilots' public statistics (data/pilotes/observations.csv): every value is a real observation
with its provenance, and appears in the verbatim excerpt it was read from."""

from __future__ import annotations

import re
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pandas as pd
import pytest

from observatoire import paths
from observatoire.engine.catalogue import load_catalogue
from observatoire.engine.reference import is_fictional, load_reference
from observatoire.report.pilots import pilots

OBSERVATIONS = paths.PILOTS / "observations.csv"
SPACES = "[ \u00a0\u202f\u2009]"
NUMBER = re.compile(rf"[-−]?\d{{1,3}}(?:{SPACES}\d{{3}})+(?:[,.]\d+)?|[-−]?\d+(?:[,.]\d+)?")


def numbers_in(text: str) -> set[Decimal]:
    """Every number written in ``text``, French formats included (« 1 234,5 », « 17,2 % »)."""
    found = set()
    for match in NUMBER.findall(text):
        plain = re.sub(SPACES, "", match).replace(",", ".").replace("−", "-")
        found.add(Decimal(plain).normalize())
        found.add(abs(Decimal(plain)).normalize())
    return found


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    return pd.read_csv(OBSERVATIONS, dtype=str, keep_default_na=False)


def test_the_numbers_of_french_text_are_read_as_written():
    assert numbers_in("Ensemble 33 977 habitants ; taux 17,2 %") >= {Decimal("33977"), Decimal("17.2")}
    assert Decimal("1234.5") in numbers_in("1\u202f234,5 €")
    assert Decimal("12") not in numbers_in("123")


def test_the_committed_file_is_the_assembly_of_the_sources(tmp_path):
    out = tmp_path / "observations.csv"
    subprocess.run([sys.executable, str(paths.ROOT / "scripts" / "assemble_observations.py"), str(out)], check=True,
                   capture_output=True)
    assert out.read_bytes() == OBSERVATIONS.read_bytes(), "lancez `make observations` et versionnez le résultat"


def test_every_value_appears_in_its_excerpt(table):
    missing = [f"ligne {i + 2} : {r.territoire} {r.indicateur} {r.valeur}" for i, r in table.iterrows()
               if Decimal(r.valeur).normalize() not in numbers_in(r.extrait)]
    assert missing == []


def test_every_value_has_its_provenance(table):
    for column in ("producteur", "jeu_de_donnees", "url", "millesime", "date_consultation", "licence", "extrait",
                   "source"):
        empty = table.index[table[column].str.strip() == ""].tolist()
        assert empty == [], (column, empty[:5])
    assert table["url"].str.match(r"https?://").all()
    assert table["date_consultation"].str.fullmatch(r"\d{4}-\d{2}-\d{2}").all()
    assert not table["licence"].str.contains("à vérifier").any()


def test_values_are_real_territories_of_the_pilots_and_their_reference_levels(table):
    reference = load_reference()
    allowed = {"FR"}
    for p in pilots():
        t = reference.territory(p.code)
        allowed |= {t.code, t.departement, t.region} - {None}
    allowed |= {"DEP-2A", "DEP-2B"}  # Corse's two départements
    codes = set(table["territoire"])
    assert not any(is_fictional(c) for c in codes)
    assert codes <= allowed, codes - allowed


def test_indicators_and_units_are_the_catalogues(table):
    catalogue = load_catalogue().indicators
    assert set(table["indicateur"]) <= set(catalogue.index), set(table["indicateur"]) - set(catalogue.index)
    wrong = table[table["unite"] != table["indicateur"].map(catalogue["unite"])]
    assert wrong.empty, wrong[["indicateur", "unite"]].to_string()


def test_each_value_is_given_once(table):
    assert not table.duplicated(["territoire", "indicateur", "periode"]).any()
