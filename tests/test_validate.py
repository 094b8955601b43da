"""Validation of territory data files: a corpus of malformed files, each with its French
messages (line, column, value, expectation), and the accepted variants people produce."""

from pathlib import Path

import pytest
import yaml

from observatoire.engine.catalogue import load_catalogue
from observatoire.errors import ValidationError
from observatoire.engine.load import read_table
from observatoire.engine.reference import load_reference
from observatoire.engine.validate import parse_number, validate_data

HERE = Path(__file__).parent / "donnees"
EXPECTED = yaml.safe_load((HERE / "invalides" / "attendus.yml").read_text(encoding="utf-8"))


def validate(path):
    return validate_data(read_table(path), load_catalogue(), load_reference())


def test_reference_valid_file_passes():
    data = validate(HERE / "valide.csv")
    assert len(data.values) == 3 and not data.warnings
    assert data.values["valeur"].tolist() == [81.5, 7.9, 31.0]


def test_corpus_has_at_least_twenty_files():
    assert len(EXPECTED) >= 20
    assert {p.name for p in (HERE / "invalides").glob("*.csv")} == set(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_malformed_file_reports_every_expected_problem(name):
    with pytest.raises(ValidationError) as exc:
        validate(HERE / "invalides" / name)
    problems = exc.value.problems
    text = str(exc.value)
    assert name in text  # the file is named in every message
    for expected in EXPECTED[name]:
        matching = [p for p in problems
                    if p.line == expected["ligne"] and (expected["colonne"] is None or p.column == expected["colonne"])
                    and expected["message"] in p.message]
        assert matching, f"{name}: no problem line {expected['ligne']} column {expected['colonne']} " \
                         f"containing « {expected['message']} » in:\n{text}"


def test_all_problems_reported_at_once():
    with pytest.raises(ValidationError) as exc:
        validate(HERE / "invalides" / "erreurs-multiples.csv")
    assert len([p for p in exc.value.problems if p.severity == "erreur"]) == 4
    assert str(exc.value).startswith("4 erreurs trouvées")


def test_value_is_quoted_back_in_the_message():
    with pytest.raises(ValidationError) as exc:
        validate(HERE / "invalides" / "valeur-hors-plage.csv")
    assert "ligne 2, colonne « valeur » : valeur « 180 »" in str(exc.value)
    assert "attendu entre 0 et 100 %" in str(exc.value)


def test_windows_1252_file_is_read_with_its_accents():
    raw = read_table(HERE / "invalides" / "point-virgule-windows-1252.csv")
    assert raw.encoding == "cp1252" and raw.rows["source"].tolist() == ["Régie"]


def test_leading_zero_repaired_with_a_warning_never_silently(tmp_path):
    path = tmp_path / "zero.csv"
    path.write_text("territoire;indicateur;periode;valeur\n1004;eau_rendement_reseau;2024;80,5\n", encoding="utf-8")
    data = validate(path)
    assert data.values["territoire"].tolist() == ["01004"]
    assert data.values["valeur"].tolist() == [80.5]
    (warning,) = data.warnings
    assert warning.severity == "avertissement" and "ligne 2" in warning.message and "« 01004 »" in warning.message


def test_xlsx_with_dropped_zero_and_decimal_numbers(tmp_path):
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "donnees"
    ws.append(["territoire", "indicateur", "periode", "valeur"])
    ws.append([1004, "eau_rendement_reseau", 2024, 80.5])
    ws.append(["2A004", "eau_rendement_reseau", 2024, 75])
    path = tmp_path / "d.xlsx"
    wb.save(path)
    data = validate(path)
    assert data.values["territoire"].tolist() == ["01004", "2A004"]
    assert len(data.warnings) == 1


@pytest.mark.parametrize("text,value", [("12,5", 12.5), ("12.5", 12.5), ("-3", -3.0), ("1 234,5", 1234.5),
                                        ("1\u202f234", 1234.0), ("2e3", 2000.0)])
def test_parse_number_accepts_french_and_english_forms(text, value):
    assert parse_number(text) == value


@pytest.mark.parametrize("text", ["", "abc", "12,5%", "1,2,3", "12.5.1", "--3"])
def test_parse_number_rejects_non_numbers(text):
    assert parse_number(text) is None


def test_schema_examples_beside_the_schema():
    schema_dir = Path(__file__).resolve().parents[1] / "data" / "schema"
    assert len(validate(schema_dir / "exemple-valide.csv").values) == 3
    with pytest.raises(ValidationError) as exc:
        validate(schema_dir / "exemple-invalide.csv")
    assert [p.line for p in exc.value.problems if p.severity == "erreur"] == [2, 3, 4]
