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
    """The valid example: three real public statistics with their provenance (copied from the
    pilots' sourced layer); the invalid one: a fictional territory (demonstration mode)."""
    from observatoire.engine.validate import PROVENANCE, validate_file

    schema_dir = Path(__file__).resolve().parents[1] / "data" / "schema"
    values = validate(schema_dir / "exemple-valide.csv").values
    assert len(values) == 3 and all(c in values.columns for c in PROVENANCE)
    assert values["url"].str.startswith("https://www.insee.fr/").all() and (values["extrait"] != "").all()
    with pytest.raises(ValidationError) as exc:
        validate_file(schema_dir / "exemple-invalide.csv", demonstration=True)
    assert [(p.line, p.column) for p in exc.value.problems if p.severity == "erreur"] == [
        (2, "territoire"), (3, "periode"), (4, "valeur"), (5, "url")]


# -- headers as people type them, repairs said once, provenance, fictional codes (issue #19) ---

def write(tmp_path, text, name="d.csv", encoding="utf-8"):
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def test_headers_with_accents_capitals_spaces_and_titles_are_mapped_with_one_warning(tmp_path):
    data = validate(write(tmp_path, " Code du territoire ;INDICATEUR;Période;Valeur;Unité\n"
                                    "01004;eau_rendement_reseau;2024;80,5;%\n"))
    assert data.values["valeur"].tolist() == [80.5]
    (warning,) = data.warnings
    assert warning.line == 1 and warning.message == (
        "en-tête reconnu d'après les noms du modèle : « Code du territoire » lu comme « territoire », "
        "« INDICATEUR » lu comme « indicateur », « Période » lu comme « periode », « Valeur » lu comme « valeur », "
        "« Unité » lu comme « unite »")


def test_a_column_given_twice_is_an_error(tmp_path):
    with pytest.raises(ValidationError, match="les colonnes « valeur » et « Valeur » désignent toutes la colonne"):
        validate(write(tmp_path, "territoire,indicateur,periode,valeur,Valeur\n01004,eau_rendement_reseau,2024,80,81\n"))


def test_title_lines_above_the_header_are_skipped_with_a_warning(tmp_path):
    data = validate(write(tmp_path, "Relevés 2024;;;\n;;;\nterritoire;indicateur;periode;valeur\n"
                                    "01004;eau_rendement_reseau;2024;80\n"))
    assert data.values["ligne_source"].tolist() == [4]
    assert [w.message for w in data.warnings] == [
        "l'en-tête du tableau est à la ligne 3 : lignes 1–2 au-dessus (titre, notes) ignorée(s)"]


def test_a_header_only_file_is_invalid(tmp_path):
    with pytest.raises(ValidationError, match="ne contient que la ligne d'en-tête"):
        validate(write(tmp_path, "territoire,indicateur,periode,valeur\n\n\n"))


def test_unknown_and_untitled_columns_are_one_warning(tmp_path):
    data = validate(write(tmp_path, "Nom,territoire,indicateur,periode,valeur,,\nAmbérieu,01004,eau_rendement_reseau,2024,80,x,\n"))
    (warning,) = data.warnings
    assert warning.message.startswith("2 colonnes ignorées, inconnues du modèle : « Nom », colonne 6 (sans titre)")


def test_leading_zero_repairs_are_grouped(tmp_path):
    lines = ["territoire;indicateur;periode;valeur"] + [f"1004;eau_rendement_reseau;{y};80" for y in range(2002, 2026)]
    lines += ["1007;eau_rendement_reseau;2024;80"]
    data = validate(write(tmp_path, "\n".join(lines) + "\n"))
    (warning,) = data.warnings
    assert warning.message == ("25 codes complétés d'un zéro initial (perdu par un tableur) : lignes 2–26 ; "
                               "« 1004 » → « 01004 » (lignes 2–25), « 1007 » → « 01007 » (ligne 26)")


@pytest.mark.parametrize("text,value", [("80 %", 80.0), ("80%", 80.0), ("12,5\u00a0%", 12.5)])
def test_a_percent_sign_is_read_in_a_percent_unit(tmp_path, text, value):
    data = validate(write(tmp_path, f"territoire;indicateur;periode;valeur\n01004;eau_rendement_reseau;2024;{text}\n"))
    assert data.values["valeur"].tolist() == [value]
    assert "avec le signe %" in data.warnings[0].message


@pytest.mark.parametrize("text,period", [("mars-25", "2025-03"), ("Mar-25", "2025-03"), ("janv. 2025", "2025-01"),
                                         ("03/2025", "2025-03"), ("2025/3", "2025-03"), ("décembre 2024", "2024-12")])
def test_a_month_written_as_a_spreadsheet_shows_it(tmp_path, text, period):
    data = validate(write(tmp_path, f"territoire;indicateur;periode;valeur\n01004;prix_gazole_moyen;{text};1,694\n"))
    assert data.values["periode"].tolist() == [period]
    (warning,) = data.warnings
    assert f"(« {text} » → {period})" in warning.message


def test_a_month_read_from_its_display_and_its_twin_are_duplicates(tmp_path):
    with pytest.raises(ValidationError, match="doublon"):
        validate(write(tmp_path, "territoire;indicateur;periode;valeur\n01004;prix_gazole_moyen;mars-25;1,7\n"
                                 "01004;prix_gazole_moyen;2025-03;1,7\n"))


def test_a_full_date_for_a_year_is_refused_with_what_to_write(tmp_path):
    with pytest.raises(ValidationError, match=r"\(c'est une date : pour l'année, écrivez 2024\)"):
        validate(write(tmp_path, "territoire;indicateur;periode;valeur\n01004;eau_rendement_reseau;15/03/2024;80\n"))


PROVENANCE_HEADER = "territoire,indicateur,periode,valeur,producteur,jeu_de_donnees,url,millesime,date_consultation,licence,extrait"


def test_provenance_columns_are_kept_with_each_value(tmp_path):
    data = validate(write(tmp_path, PROVENANCE_HEADER + "\n01004,eau_rendement_reseau,2024,80,SISPEA,P104.3,"
                                    "https://www.services.eaufrance.fr/,2024,2026-11-20,Licence Ouverte,\"80 %\"\n"))
    row = data.values.iloc[0]
    assert list(data.values.columns) == ["territoire", "indicateur", "periode", "valeur", "source", "commentaire",
                                         "producteur", "jeu_de_donnees", "url", "millesime", "date_consultation",
                                         "licence", "extrait", "ligne_source"]
    assert (row["producteur"], row["url"], row["date_consultation"], row["extrait"]) == (
        "SISPEA", "https://www.services.eaufrance.fr/", "2026-11-20", "80 %")
    without = validate(HERE / "valide.csv").values
    assert "producteur" not in without.columns  # kept when the file has them


def test_provenance_is_checked(tmp_path):
    with pytest.raises(ValidationError) as exc:
        validate(write(tmp_path, "territoire,indicateur,periode,valeur,url,date_consultation\n"
                                 "01004,eau_rendement_reseau,2024,80,ftp://x,2026-02-30\n"
                                 "01004,eau_conformite_microbio,2024,99,https://x.fr,2999-01-01\n"))
    assert [(p.line, p.column) for p in exc.value.problems] == [(2, "date_consultation"), (2, "url"),
                                                                 (3, "date_consultation")]


def test_the_schema_has_the_seven_provenance_fields_after_commentaire():
    from observatoire.engine.validate import PROVENANCE, load_schema

    names = [f["name"] for f in load_schema()["fields"]]
    assert names[names.index("commentaire") + 1:] == list(PROVENANCE)
    assert all(not f["constraints"]["required"] for f in load_schema()["fields"] if f["name"] in PROVENANCE)


FICTIONAL = "territoire,indicateur,periode,valeur,unite\nFICTIF-VAL-DE-BRUME,eau_rendement_reseau,2024,80,%\n"


def test_a_fictional_code_is_refused_outside_demonstrations(tmp_path):
    with pytest.raises(ValidationError) as exc:
        validate(write(tmp_path, FICTIONAL))
    (problem,) = exc.value.problems
    assert problem.message.startswith("code de territoire fictif : réservé aux démonstrations")


def test_a_fictional_code_is_looked_up_in_demonstration_mode(tmp_path):
    """In demonstration mode a fictional code is looked up in the registry of fictional
    territories (data/demo/territoires-fictifs.csv)."""
    from observatoire.engine.validate import validate_file

    data = validate_file(write(tmp_path, FICTIONAL.replace("VAL-DE-BRUME", "BRUMEVAL")), demonstration=True)
    assert data.values["territoire"].tolist() == ["FICTIF-BRUMEVAL"]
    with pytest.raises(ValidationError, match="territoire fictif inconnu"):
        validate_file(write(tmp_path, FICTIONAL.replace("VAL-DE-BRUME", "AILLEURS"), "e.csv"), demonstration=True)


def test_verdicts_on_distinct_texts_spread_to_the_rows():
    import numpy as np

    from observatoire.engine.validate import _spread

    codes = np.array([2, 0, 1, 2], dtype="intp")
    assert _spread(np.array([False, True, True]), codes).tolist() == [True, False, True, True]
    assert _spread(np.zeros(3, dtype=bool), codes).tolist() == [False] * 4
    assert _spread(np.ones(3, dtype=bool), codes).tolist() == [True] * 4
    assert _spread(np.zeros(0, dtype=bool), np.zeros(0, dtype="intp")).tolist() == []


def _outcome(path):
    try:
        data = validate(path)
    except ValidationError as exc:
        return [str(p) for p in exc.problems]
    return data.values, [str(p) for p in data.warnings]


def test_rows_checked_in_small_blocks_give_the_same_verdicts(tmp_path, monkeypatch):
    """Rows are checked block by block on two threads: blocks of two rows (problems spread
    over many blocks, met in any order) give the same problems, in the same order, and the
    same values as one block, whether duplicated keys are found with a bitmap or not."""
    import pandas as pd

    import observatoire.engine.validate as validation

    rows = ["territoire,indicateur,periode,valeur,unite,source,commentaire",
            "33063,eau_rendement_reseau,2024,74.5,%,Agence,", "1004,eau_rendement_reseau,2023,71,%,Agence,",
            "33063,demandeurs_emploi_cat_a_taux,mars-24,7,pour 100 hab. de 15-64 ans,Travail,",
            "69123,eau_rendement_reseau,2024,45 %,%,Agence,", "69123,seveso_etablissements_nombre,2024,3,nombre,,",
            "1004,seveso_etablissements_nombre,2024,1,nombre,,"]
    with_warnings = tmp_path / "avertissements.csv"
    with_warnings.write_text("\n".join(rows) + "\n", encoding="utf-8")
    paths = [with_warnings, HERE / "valide.csv", *sorted((HERE / "invalides").glob("*.csv"))]
    whole = [_outcome(p) for p in paths]
    monkeypatch.setattr(validation, "_BLOCK", 2)
    for slack in (validation._BITMAP_SLACK, -10**9):  # duplicates found by a bitmap, or by stored keys
        monkeypatch.setattr(validation, "_BITMAP_SLACK", slack)
        for path, expected in zip(paths, whole):
            got = _outcome(path)
            if isinstance(expected, list):
                assert got == expected, path.name
            else:
                pd.testing.assert_frame_equal(got[0], expected[0], check_exact=True)
                assert got[1] == expected[1]
    assert len(whole[0][0]) == 6 and len(whole[0][1]) == 3  # repairs, a month, a % sign: warnings
