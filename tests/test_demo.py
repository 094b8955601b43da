"""The seeded demonstration generator: reproducible, catalogue-driven, plausible, labelled."""

import pandas as pd
import pytest

from observatoire.engine.catalogue import load_catalogue
from observatoire.report.demo import DEMO_SOURCE, HORIZONS, MONTHS, YEARS, generate_demo_data
from observatoire.engine.load import write_values_csv, read_table
from observatoire.engine.reference import load_reference
from observatoire.engine.validate import validate_data


@pytest.fixture(scope="module")
def demo():
    return generate_demo_data(load_catalogue(), load_reference())


def test_the_generator_refuses_real_territories():
    with pytest.raises(ValueError, match="territoires réels : 33063"):
        generate_demo_data(load_catalogue(), load_reference(), [("33063", "metropole")])


def test_series_shapes_follow_periodicity(demo):
    cat = load_catalogue()
    periods = demo.groupby("indicateur")["periode"].apply(lambda s: sorted(set(s)))
    for ind, per in periods.items():
        kind = cat.indicators.loc[ind, "periodicite"]
        expected = {"mensuelle": MONTHS, "annuelle": [str(y) for y in YEARS],
                    "projection": [str(h) for h in HORIZONS]}[kind]
        assert per == sorted(expected), ind


def test_generated_values_pass_validation_and_are_labelled(demo, tmp_path):
    path = tmp_path / "d.csv"
    write_values_csv(demo, path)
    data = validate_data(read_table(path), load_catalogue(), load_reference(), demonstration=True)
    assert len(data.values) == len(demo)
    assert (demo["source"] == DEMO_SOURCE).all() and "fictives" in DEMO_SOURCE


def test_a_new_indicator_gets_values_without_changing_the_others(tmp_path):
    import shutil

    from observatoire.engine.catalogue import DEFAULT_DIRECTORY

    d = tmp_path / "catalogue"
    shutil.copytree(DEFAULT_DIRECTORY, d)
    text = (d / "indicateurs.csv").read_text(encoding="utf-8").splitlines()
    first = text[1].split(",", 1)
    text.append("zz_nouvel_indicateur," + first[1])
    (d / "indicateurs.csv").write_text("\n".join(text) + "\n", encoding="utf-8")
    ref = load_reference()
    before = generate_demo_data(load_catalogue(), ref, [("FICTIF-PORT-LUMIERE", "metropole")])
    after = generate_demo_data(load_catalogue(d), ref, [("FICTIF-PORT-LUMIERE", "metropole")])
    assert (after["indicateur"] == "zz_nouvel_indicateur").sum() > 0
    pd.testing.assert_frame_equal(after[after["indicateur"] != "zz_nouvel_indicateur"].reset_index(drop=True), before)


def test_profiles_give_plausible_contrasts(demo):
    # The fictional rural community's health access is worse than the fictional metropolis's
    # (profile shift).
    from observatoire.report.results import scored_file
    from observatoire.paths import DEMO_DATA

    communs = scored_file(DEMO_DATA, demonstration=True)[0].communs
    assert communs.loc["FICTIF-COMBE-AUX-FEES", "sante"] < communs.loc["FICTIF-PORT-LUMIERE", "sante"]


def test_committed_fictional_file_is_exactly_what_the_generator_writes(tmp_path):
    from observatoire.cli import main
    from observatoire.report.demo import DEMO_DATA

    out = tmp_path / "fictif.csv"
    assert main(["demo", "--sortie", str(out)]) == 0
    assert out.read_bytes() == DEMO_DATA.read_bytes(), "run `make demo-data` and commit the result"


def test_fictional_values_only_for_fictional_codes_and_refused_outside_demonstrations():
    from observatoire.engine.reference import is_fictional
    from observatoire.engine.validate import validate_file
    from observatoire.errors import ValidationError
    from observatoire.report.demo import DEMO_DATA, MAIN_FICTIONAL

    data = validate_file(DEMO_DATA, demonstration=True).values
    assert data["territoire"].map(is_fictional).all()
    assert MAIN_FICTIONAL in set(data["territoire"])
    with pytest.raises(ValidationError) as refused:
        validate_file(DEMO_DATA)
    assert "réservé aux démonstrations" in str(refused.value)
    reference = load_reference()
    for code in data["territoire"].unique():
        t = reference.territory(code)
        assert "fictif" in t.nom.lower() or "fictive" in t.nom.lower(), t.nom


def test_a_fictional_code_can_never_be_an_insee_code():
    from observatoire.engine.reference import TerritoryCodeError, parse_territory_code

    assert parse_territory_code("FICTIF-BRUMEVAL") == ("fictif", "FICTIF-BRUMEVAL", None)
    with pytest.raises(TerritoryCodeError, match="fictif"):
        parse_territory_code("FICTIF-")
    for real in ("33063", "200046977", "DEP-33", "REG-94", "FR"):
        assert not parse_territory_code(real)[1].startswith("FICTIF-")
