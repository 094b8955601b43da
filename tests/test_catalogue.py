"""The indicator catalogue: schema, cross-field rules and the coverage the Observatoire promises."""

import shutil

import pytest

from observatoire.engine.catalogue import ACTORS, SPATIAL_SCALES, TIME_SCALES, cube_coverage, load_catalogue
from observatoire.errors import ValidationError


@pytest.fixture(scope="module")
def catalogue():
    return load_catalogue()


def test_every_cell_of_the_actor_space_time_cube_holds_an_indicator(catalogue):
    cov = cube_coverage(catalogue)
    assert len(cov) == len(ACTORS) * len(SPATIAL_SCALES) * len(TIME_SCALES) == 27
    empty = cov[cov["indicateurs"] == 0]
    assert empty.empty, f"empty cells: {empty.to_dict('records')}"


def test_four_axes_and_twelve_communs_all_populated(catalogue):
    ind = catalogue.indicators
    assert len(ind) >= 12
    assert sorted(ind["axe"].unique()) == [1, 2, 3, 4]
    assert set(ind["commun"]) == set(catalogue.communs.index) and len(catalogue.communs) == 12
    assert (ind.groupby("axe").size() >= 8).all()
    assert (ind.groupby("commun").size() >= 3).all()
    assert set(ind["nature"]) == {"état", "action"}


def test_each_indicator_has_scoring_metadata_and_a_real_source(catalogue):
    ind = catalogue.indicators
    assert ind["direction"].isin([1, -1]).all()
    assert (ind["borne_basse"] < ind["borne_haute"]).all()
    assert ind["source"].str.len().gt(5).all()
    assert ind["source_url"].str.startswith("https://").all()


def test_a_broken_catalogue_reports_every_problem_with_its_line(tmp_path):
    from observatoire.engine.catalogue import DEFAULT_DIRECTORY

    broken = tmp_path / "catalogue"
    shutil.copytree(DEFAULT_DIRECTORY, broken)
    lines = (broken / "indicateurs.csv").read_text(encoding="utf-8").splitlines()
    header = lines[0].split(",")
    # Line 2: direction 0; line 3: unknown commun. Edit by column position.
    def edit(line_no, column, value):
        import csv
        import io

        row = next(csv.reader([lines[line_no - 1]]))
        row[header.index(column)] = value
        buf = io.StringIO()
        csv.writer(buf, lineterminator="").writerow(row)
        lines[line_no - 1] = buf.getvalue()

    edit(2, "direction", "0")
    edit(3, "commun", "loisirs")
    (broken / "indicateurs.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(ValidationError) as exc:
        load_catalogue(broken)
    located = {(p.line, p.column) for p in exc.value.problems}
    assert (2, "direction") in located and (3, "commun") in located


def test_a_catalogue_without_a_column_nor_schema_is_a_french_message(tmp_path, monkeypatch, capsys):
    """Issue #17: `observatoire valider` with a catalogue lacking `unite` printed a traceback."""
    import pandas as pd

    from observatoire.cli import main
    from observatoire.engine.catalogue import DEFAULT_DIRECTORY
    from observatoire.paths import DEFAULT_DATA

    folder = tmp_path / "catalogue"
    folder.mkdir()
    for name in ("axes.csv", "communs.csv"):
        shutil.copy(DEFAULT_DIRECTORY / name, folder / name)
    table = pd.read_csv(DEFAULT_DIRECTORY / "indicateurs.csv", dtype=str, keep_default_na=False)
    table.drop(columns=["unite"]).to_csv(folder / "indicateurs.csv", index=False)
    with pytest.raises(ValidationError, match=r"colonne\(s\) absente\(s\) : unite"):
        load_catalogue(folder)
    monkeypatch.setenv("OBSERVATOIRE_CATALOGUE", str(folder))
    assert main(["valider", str(DEFAULT_DATA)]) == 1
    err = capsys.readouterr().err
    assert "colonne(s) absente(s) : unite" in err and "Traceback" not in err
