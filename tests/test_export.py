"""Open-data export: CSV + Parquet + datapackage.json, byte-identical for the same inputs."""

import argparse
import hashlib
import json
import random
import shutil
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from observatoire.engine.catalogue import load_catalogue
from observatoire.cli import main
from observatoire.engine.export import (COLUMNS, CSV_NAME, PACKAGE_NAME, PARQUET_NAME, TERRITORY_PATTERN,
                                 export_scores)
from observatoire.engine.pipeline import score_data_file
from observatoire.engine.load import read_table
from observatoire.engine.pipeline import Choices
from observatoire.engine.tableschema import check_table

ROOT = Path(__file__).resolve().parents[1]
PILOTS = ROOT / "data" / "pilotes" / "observations.csv"
DEMO = ROOT / "data" / "demo" / "fictif.csv"
CODES = ["01004", "2A004", "33063", "REG-94"]
PERIOD = {"mensuelle": "2025-03", "annuelle": "2024", "projection": "2050"}


def write_data_file(path: Path, shuffle_seed: int | None = None) -> Path:
    """A small valid file: the first indicators of the catalogue, at their demo centre, for
    territories whose codes a spreadsheet would mangle (01004, 2A004) and a prefixed one."""
    ind = load_catalogue().indicators
    lines = []
    for i, code in enumerate(CODES):
        # Each territory leaves one indicator out, so that some scores are missing and flagged.
        for j, (ident, row) in enumerate(ind.iloc[:12].iterrows()):
            if j == i:
                continue
            value = min(row["max_plausible"], row["demo_centre"] * (1 + i / 50))
            lines.append(f"{code},{ident},{PERIOD[row['periodicite']]},{value:.3f}")
    if shuffle_seed is not None:
        random.Random(shuffle_seed).shuffle(lines)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("territoire,indicateur,periode,valeur\n" + "\n".join(lines) + "\n", encoding="utf-8")
    return path


def digests(folder: Path) -> dict[str, str]:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


@pytest.fixture(scope="module")
def exported(tmp_path_factory):
    root = tmp_path_factory.mktemp("export")
    data = write_data_file(root / "entree" / "donnees.csv")
    scores = score_data_file(data)[0]
    export_scores(scores, root / "sortie", data)
    return root / "sortie", scores


@pytest.fixture(scope="module")
def package(exported):
    return json.loads((exported[0] / PACKAGE_NAME).read_text(encoding="utf-8"))


def test_the_three_files_are_written(exported):
    folder, _ = exported
    assert sorted(p.name for p in folder.iterdir()) == sorted([CSV_NAME, PARQUET_NAME, PACKAGE_NAME])


def test_same_inputs_give_byte_identical_files(tmp_path):
    # Same content under the same name in two different folders, exported into two folders.
    a = write_data_file(tmp_path / "a" / "donnees.csv")
    b = write_data_file(tmp_path / "b" / "donnees.csv")
    export_scores(score_data_file(a)[0], tmp_path / "sortie-a", a)
    export_scores(score_data_file(b)[0], tmp_path / "sortie-b", b)
    first, second = digests(tmp_path / "sortie-a"), digests(tmp_path / "sortie-b")
    assert len(first) == 3 and first == second


def test_row_order_of_the_input_does_not_change_the_results(tmp_path):
    a = write_data_file(tmp_path / "a.csv")
    b = write_data_file(tmp_path / "b.csv", shuffle_seed=7)
    assert a.read_bytes() != b.read_bytes()
    export_scores(score_data_file(a)[0], tmp_path / "sortie-a")
    export_scores(score_data_file(b)[0], tmp_path / "sortie-b")
    for name in (CSV_NAME, PARQUET_NAME):
        assert digests(tmp_path / "sortie-a")[name] == digests(tmp_path / "sortie-b")[name]


def test_codes_keep_their_form_when_read_back_as_text(exported):
    folder, scores = exported
    table = pd.read_csv(folder / CSV_NAME, dtype=str, keep_default_na=False)
    assert list(table.columns) == list(COLUMNS)
    assert set(table["territoire"]) == set(CODES)
    assert len(table) == len(scores.tidy())
    # The same rows as the engine's tidy table, in a documented order.
    first = table.iloc[0]
    assert (first["territoire"], first["niveau"]) == ("01004", "indicateur")
    assert table.iloc[-1]["territoire"] == "REG-94" and table.iloc[-1]["element"] == "indice"
    assert "manquant" in set(table["drapeau"])


def test_parquet_holds_the_same_table_with_its_descriptions(exported, package):
    folder, _ = exported
    csv_table = pd.read_csv(folder / CSV_NAME, dtype=str, keep_default_na=False)
    pq_table = pq.read_table(folder / PARQUET_NAME)
    assert pq_table.column_names == list(COLUMNS)
    frame = pq_table.to_pandas()
    for name in COLUMNS:
        if name in ("valeur", "score", "couverture"):
            back = pd.to_numeric(csv_table[name].replace("", None)).astype("float64")
            pd.testing.assert_series_equal(back, frame[name].astype("float64"), check_names=False)
        else:
            assert frame[name].fillna("").tolist() == csv_table[name].tolist()
    fields = package["resources"][0]["schema"]["fields"]
    assert pq_table.schema.field("territoire").metadata[b"title"].decode() == fields[0]["title"]
    choices = json.loads(pq_table.schema.metadata[b"observatoire:choix"])
    assert choices == package["observatoire:choix"]


def test_datapackage_describes_every_column(exported, package):
    folder, _ = exported
    header = (folder / CSV_NAME).read_text(encoding="utf-8").splitlines()[0].split(",")
    assert package["licenses"][0]["name"] == "etalab-2.0"
    assert package["sources"] and all(s["title"] and s["path"].startswith("https://") for s in package["sources"])
    names = [r["name"] for r in package["resources"]]
    assert names == ["resultats", "resultats-parquet"]
    for resource in package["resources"]:
        schema = resource["schema"]
        assert [f["name"] for f in schema["fields"]] == header
        for f in schema["fields"]:
            assert f["title"] and f["description"] and f["type"] in ("string", "number", "integer")
            assert isinstance(f["constraints"], dict)
        assert schema["primaryKey"] == ["territoire", "niveau", "element"]
        assert set(schema["primaryKey"]) <= set(header)
        territory = next(f for f in schema["fields"] if f["name"] == "territoire")
        assert territory["type"] == "string" and territory["constraints"]["pattern"] == TERRITORY_PATTERN
        data = (folder / resource["path"]).read_bytes()
        assert resource["bytes"] == len(data)
        assert resource["hash"] == "sha256:" + hashlib.sha256(data).hexdigest()


def test_csv_conforms_to_its_own_table_schema(exported, package):
    folder, _ = exported
    raw = read_table(folder / CSV_NAME)
    assert check_table(raw, package["resources"][0]["schema"]) == []


def test_table_schema_check_catches_a_number_lost_code(exported, package, tmp_path):
    folder, _ = exported
    text = (folder / CSV_NAME).read_text(encoding="utf-8").replace("\n01004,", "\n1004,", 1)
    (tmp_path / CSV_NAME).write_text(text, encoding="utf-8")
    problems = check_table(read_table(tmp_path / CSV_NAME), package["resources"][0]["schema"])
    assert [p.value for p in problems] == ["1004"]


def test_choices_behind_the_numbers_are_recorded(exported, package):
    folder, scores = exported
    choix = package["observatoire:choix"]
    assert choix["parametres"]["normalisation"] == scores.choices.normalisation
    assert [step["etape"] for step in choix["journal"]] == [step["etape"] for step in scores.log]
    assert package["observatoire:donnees"]["fichier"] == "donnees.csv"
    assert package["observatoire:donnees"]["hash"].startswith("sha256:")
    assert set(package["observatoire:catalogue"]["fichiers"]) == {"indicateurs.csv", "axes.csv", "communs.csv"}
    assert "démonstration" not in package["description"]
    text = json.dumps(package)
    assert str(folder.parent) not in text and str(ROOT) not in text  # no machine path


def test_exporter_command_on_the_pilot_data(tmp_path, capsys):
    data = tmp_path / "observations.csv"
    shutil.copy(PILOTS, data)
    assert main(["exporter", "--donnees", str(data), "--sortie", str(tmp_path / "a")]) == 0
    out = capsys.readouterr().out
    assert "Résultats exportés" in out and CSV_NAME in out
    table = pd.read_csv(tmp_path / "a" / CSV_NAME, dtype=str, keep_default_na=False)
    assert {"REG-94", "33063", "200046977"} <= set(table["territoire"])


def test_exporter_command_flags_fictional_data_and_only_them(tmp_path):
    assert main(["exporter", "--donnees", str(DEMO), "--sortie", str(tmp_path / "fictif")]) == 0
    package = json.loads((tmp_path / "fictif" / PACKAGE_NAME).read_text(encoding="utf-8"))
    assert "territoires fictifs" in package["description"] and "valeurs fictives" in package["keywords"]
    assert main(["exporter", "--sortie", str(tmp_path / "pilotes")]) == 0
    package = json.loads((tmp_path / "pilotes" / PACKAGE_NAME).read_text(encoding="utf-8"))
    assert "fictifs" not in package["description"]
    assert package["observatoire:donnees"]["fichier"] == PILOTS.name
    table = pd.read_csv(tmp_path / "pilotes" / CSV_NAME, dtype=str, keep_default_na=False)
    assert not table["territoire"].str.startswith("FICTIF-").any()


def test_imputed_scores_are_flagged_and_described(tmp_path):
    data = write_data_file(tmp_path / "donnees.csv")
    scores = score_data_file(data, Choices(imputation="group_median"))[0]
    export_scores(scores, tmp_path / "sortie", data)
    package = json.loads((tmp_path / "sortie" / PACKAGE_NAME).read_text(encoding="utf-8"))
    table = pd.read_csv(tmp_path / "sortie" / CSV_NAME, dtype=str, keep_default_na=False)
    assert "impute" in set(table["drapeau"])
    schema = package["resources"][0]["schema"]
    flag = next(f for f in schema["fields"] if f["name"] == "drapeau")
    assert "impute" in flag["constraints"]["enum"] and "« impute »" in flag["description"]
    assert check_table(read_table(tmp_path / "sortie" / CSV_NAME), schema) == []
    assert package["observatoire:choix"]["parametres"]["imputation"] == "group_median"
    assert "imputation" in [step["etape"] for step in package["observatoire:choix"]["journal"]]
