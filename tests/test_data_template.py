"""The fill-in template (observatoire.report.data_template): codes kept as text, every indicator listed, and a
template filled in validates — the round trip a territory makes."""

import argparse
import csv

import pandas as pd
import pytest
from openpyxl import load_workbook

from observatoire.engine.catalogue import load_catalogue
from observatoire.engine.load import read_table
from observatoire.cli import main
from observatoire.report.data_template import (
    GENERIC_DIRECTORY,
    GENERIC_NAME,
    TEMPLATE_PERIODS,
    template_columns,
    write_template,
)
from observatoire.engine.reference import TerritoryCodeError, load_reference
from observatoire.engine.validate import validate_data

CODES = ["2A004", "REG-94"]


def plausible_value(indicator: str, population: int) -> float:
    """A value inside the indicator's plausible range (counts scaled to the territory)."""
    meta = load_catalogue().indicators.loc[indicator]
    value = float(meta["demo_centre"])
    if meta["agregation"] == "compte":
        value *= population / 100_000
    return round(value, 2)


def data_rows_xlsx(path):
    ws = load_workbook(path)["donnees"]
    return ws, list(ws.iter_rows(min_row=2))


@pytest.mark.parametrize("code", CODES)
def test_xlsx_template_keeps_codes_as_text_and_lists_every_indicator(code, tmp_path):
    path = write_template(code, tmp_path / "modele.xlsx")
    wb = load_workbook(path)
    assert wb.sheetnames == ["donnees", "instructions", "catalogue"]
    ws, rows = data_rows_xlsx(path)
    header = [c.value for c in ws[1]]
    assert header == template_columns() == ["territoire", "indicateur", "periode", "valeur", "unite",
                                            "source", "commentaire", "producteur", "jeu_de_donnees", "url",
                                            "millesime", "date_consultation", "licence", "extrait"]
    col = {name: k for k, name in enumerate(header)}
    cat = load_catalogue().indicators
    assert [r[col["indicateur"]].value for r in rows] == list(cat.index)
    for r in rows:
        territory, period = r[col["territoire"]], r[col["periode"]]
        assert territory.value == code and isinstance(territory.value, str)
        assert territory.number_format == "@" and period.number_format == "@"
        assert period.value == TEMPLATE_PERIODS[cat.loc[r[col["indicateur"]].value, "periodicite"]]
        assert r[col["unite"]].value == cat.loc[r[col["indicateur"]].value, "unite"]
        assert r[col["valeur"]].value is None
    # The reference facts are in the instructions sheet.
    t = load_reference().territory(code)
    texts = [v for row in wb["instructions"].iter_rows(values_only=True) for v in row if v]
    assert t.nom in texts and code in texts
    assert any("habitants" in v and v.replace("\u202f", "").startswith(str(t.population)) for v in texts)
    catalogue_ids = [row[0] for row in wb["catalogue"].iter_rows(min_row=2, values_only=True)]
    assert catalogue_ids == list(cat.index)


@pytest.mark.parametrize("code", CODES)
def test_csv_template_keeps_codes_as_text_and_lists_every_indicator(code, tmp_path):
    path = write_template(code, tmp_path / "modele.csv")
    with open(path, encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == template_columns()
    assert [r["indicateur"] for r in rows] == list(load_catalogue().indicators.index)
    assert {r["territoire"] for r in rows} == {code}
    assert all(r["valeur"] == "" and r["commentaire"] == "" for r in rows)
    raw = read_table(path)  # the reader sees text, leading zeros and letters included
    assert set(raw.rows["territoire"]) == {code}


@pytest.mark.parametrize("code", CODES)
def test_filled_xlsx_template_validates(code, tmp_path):
    path = write_template(code, tmp_path / "modele.xlsx")
    wb = load_workbook(path)
    ws = wb["donnees"]
    header = [c.value for c in ws[1]]
    population = load_reference().territory(code).population
    for row in ws.iter_rows(min_row=2):
        indicator = row[header.index("indicateur")].value
        row[header.index("valeur")].value = plausible_value(indicator, population)
    wb.save(path)
    data = validate_data(read_table(path), load_catalogue(), load_reference())
    n = len(load_catalogue().indicators)
    assert len(data.values) == n and set(data.values["territoire"]) == {code}
    assert not data.warnings


@pytest.mark.parametrize("code", CODES)
def test_filled_csv_template_validates(code, tmp_path):
    path = write_template(code, tmp_path / "modele.csv")
    frame = pd.read_csv(path, dtype=str, keep_default_na=False)
    population = load_reference().territory(code).population
    frame["valeur"] = [str(plausible_value(i, population)).replace(".", ",") for i in frame["indicateur"]]
    frame.to_csv(path, index=False)
    data = validate_data(read_table(path), load_catalogue(), load_reference())
    assert len(data.values) == len(load_catalogue().indicators)
    assert not data.warnings


def test_unfilled_template_is_refused_with_a_message_per_row(tmp_path):
    from observatoire.errors import ValidationError

    path = write_template("2A004", tmp_path / "modele.csv")
    with pytest.raises(ValidationError) as exc:
        validate_data(read_table(path), load_catalogue(), load_reference())
    assert len(exc.value.problems) == len(load_catalogue().indicators)


def test_codes_are_canonical(tmp_path):
    ws, rows = data_rows_xlsx(write_template("com-2a004", tmp_path / "m.xlsx"))
    assert {r[0].value for r in rows} == {"2A004"}
    with pytest.raises(TerritoryCodeError):
        write_template("94", tmp_path / "m.xlsx")
    with pytest.raises(ValueError, match="xlsx"):
        write_template("2A004", tmp_path / "m.ods")


def test_committed_generic_csv_is_what_the_function_writes(tmp_path):
    fresh = write_template(None, tmp_path / "m.csv")
    committed = GENERIC_DIRECTORY / f"{GENERIC_NAME}.csv"
    assert committed.read_bytes() == fresh.read_bytes(), "régénérez data/modele (observatoire modele)"


def test_committed_generic_xlsx_is_what_the_function_writes(tmp_path):
    fresh = load_workbook(write_template(None, tmp_path / "m.xlsx"))
    committed = load_workbook(GENERIC_DIRECTORY / f"{GENERIC_NAME}.xlsx")
    assert committed.sheetnames == fresh.sheetnames
    for name in fresh.sheetnames:
        cells = [[(c.value, c.number_format) for c in row] for row in fresh[name].iter_rows()]
        assert [[(c.value, c.number_format) for c in row] for row in committed[name].iter_rows()] == cells, name
    rows = list(committed["donnees"].iter_rows(min_row=2, values_only=True))
    assert all(row[0] is None for row in rows)  # no territory in the generic template


def test_command_writes_the_template_and_tells_its_territory(tmp_path, capsys):
    out = tmp_path / "sous-dossier" / "ajaccio.xlsx"
    assert main(["modele", "2A004", "--sortie", str(out)]) == 0
    assert out.exists()
    said = capsys.readouterr().out
    assert "Ajaccio" in said and "observatoire valider" in said
    assert main(["modele", "2A004", "--sortie", str(tmp_path / "m.txt")]) == 1


def test_command_default_output(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert main(["modele", "REG-94"]) == 0
    assert (tmp_path / "modele-donnees-REG-94.xlsx").exists()
    assert main(["modele"]) == 0
    assert (tmp_path / "modele-donnees.xlsx").exists()
