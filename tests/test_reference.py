"""Reference tables (Code officiel géographique 2026) and their loader.

Reads the committed CSVs in data/reference/ (never runs scripts/build_reference.py).
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from observatoire.engine.reference import (
    LEVELS,
    Reference,
    Territory,
    TerritoryCodeError,
    load_reference,
    parse_territory_code,
)

REFERENCE_DIR = Path(__file__).resolve().parents[1] / "data" / "reference"
DATAPACKAGE = json.loads((REFERENCE_DIR / "datapackage.json").read_text(encoding="utf-8"))
# The CSV tables (the package also describes the map contours, GeoParquet files: tests/test_geometries.py).
RESOURCES = {resource["name"]: resource for resource in DATAPACKAGE["resources"]
             if resource["profile"] == "tabular-data-resource"}


@pytest.fixture(scope="module")
def ref() -> Reference:
    return load_reference(REFERENCE_DIR)


def read_raw(name: str) -> pd.DataFrame:
    """A CSV exactly as a user would read it: all text, only empty cells missing."""
    return pd.read_csv(REFERENCE_DIR / f"{name}.csv", dtype=str, keep_default_na=False, na_values=[""])


# -- the data --------------------------------------------------------------------------


def test_row_counts(ref):
    assert len(ref.communes) == 34_969
    assert len(ref.epci) == 1_255
    assert len(ref.epci_communes) == 34_871
    assert len(ref.departements) == 101
    assert len(ref.regions) == 18
    assert ref.epci["type"].value_counts().to_dict() == {
        "CC": 989,
        "CA": 230,
        "METRO": 21,
        "CU": 14,
        "MET69": 1,
    }


def test_codes_keep_their_leading_zeros_and_letters(ref):
    raw = read_raw("communes")
    assert raw["code"].iloc[0] == "01001"
    assert "01004" in set(raw["code"])
    assert ref.communes["code"].iloc[0] == "01001"
    row = ref.communes.loc[ref.communes["code"] == "01004"].iloc[0]
    assert row["code"] == "01004" and isinstance(row["code"], str)
    assert row["departement"] == "01" and row["nom"] == "Ambérieu-en-Bugey"
    for code in ("2A004", "2B033", "97411", "97611"):
        assert code in set(ref.communes["code"]), code
    assert ref.communes["code"].str.len().eq(5).all()
    assert set(ref.departements["code"]) >= {"01", "2A", "2B", "971", "974", "976"}
    assert "20" not in set(ref.departements["code"])


def test_code_columns_are_text_and_populations_integers(ref):
    for name in ("communes", "epci", "epci_communes", "departements", "regions"):
        frame = getattr(ref, name)
        for column in frame.columns:
            if column in ("population", "nb_communes"):
                assert frame[column].dtype == "int64", (name, column)
            else:
                assert pd.api.types.is_string_dtype(frame[column]), (name, column)


def test_csv_files_are_utf8_lf_and_sorted_by_code():
    for name, resource in RESOURCES.items():
        data = (REFERENCE_DIR / resource["path"]).read_bytes()
        text = data.decode("utf-8")
        assert "\r" not in text and text.endswith("\n"), name
        assert not text.startswith("\ufeff"), name
        frame = read_raw(name)
        key = resource["schema"]["primaryKey"]
        key = [key] if isinstance(key, str) else key
        assert frame.equals(frame.sort_values(key).reset_index(drop=True)), name


def test_bordeaux(ref):
    bordeaux = ref.territory("33063")
    assert bordeaux == Territory(
        code="33063",
        level="commune",
        nom="Bordeaux",
        population=bordeaux.population,
        departement="DEP-33",
        region="REG-75",
        communes=("33063",),
    )
    assert bordeaux.population > 200_000
    assert isinstance(bordeaux.population, int)
    assert "33063" in ref.territory("DEP-33").communes


def test_metropole_de_lyon(ref):
    lyon = ref.territory("200046977")
    assert lyon.level == "epci"
    assert lyon.nom == "Métropole de Lyon"
    assert len(lyon.communes) == 58
    assert "69123" in lyon.communes
    assert lyon.departement == "DEP-69" and lyon.region == "REG-84"
    row = ref.epci.set_index("code").loc["200046977"]
    assert row["type"] == "MET69" and row["nb_communes"] == 58
    assert ref.territory("EPCI-200046977") == lyon
    assert ref.territory("epci-200046977") == lyon


def test_cc_pyrenees_audoises(ref):
    cc = ref.territory("200043776")
    assert cc.nom == "CC Pyrénées audoises"
    assert cc.level == "epci"
    assert cc.departement == "DEP-11" and ref.territory(cc.departement).nom == "Aude"
    assert len(cc.communes) == 61


def test_les_mureaux(ref):
    mureaux = ref.territory("78440")
    assert mureaux.nom == "Les Mureaux"
    assert mureaux.departement == "DEP-78" and mureaux.region == "REG-11"
    assert 30_000 < mureaux.population < 40_000
    epci = ref.communes.set_index("code").loc["78440", "epci"]
    assert "78440" in ref.territory(epci).communes


def test_corse_region(ref):
    corse = ref.territory("REG-94")
    assert corse.level == "region" and corse.nom == "Corse"
    assert corse.region == "REG-94" and corse.departement is None
    departements = set(ref.departements.loc[ref.departements["region"] == "94", "code"])
    assert departements == {"2A", "2B"}
    in_corse = ref.communes.loc[ref.communes["region"] == "94"]
    assert set(corse.communes) == set(in_corse["code"])
    assert len(corse.communes) == 360
    assert corse.population == int(in_corse["population"].sum())
    assert corse.population == sum(ref.territory(f"DEP-{d}").population for d in departements)
    # The ambiguity the prefixes exist for.
    assert ref.territory("DEP-94").nom == "Val-de-Marne"


def test_france(ref):
    france = ref.territory("FR")
    assert france.level == "france" and france.nom == "France"
    assert france.departement is None and france.region is None
    in_departements = ref.communes.loc[ref.communes["departement"].notna()]
    assert len(france.communes) == len(in_departements) == 34_875
    assert france.population == int(in_departements["population"].sum())
    assert france.population == int(ref.regions["population"].sum())
    assert 68_000_000 < france.population < 69_000_000
    assert "98735" not in france.communes  # Papeete: collectivité d'outre-mer


def test_collectivites_d_outre_mer_have_no_departement(ref):
    com = ref.communes.loc[ref.communes["departement"].isna()]
    assert len(com) == 94
    assert com["code"].str[:3].isin(["975", "977", "978", "984", "986", "987", "988", "989"]).all()
    assert com["region"].isna().all() and com["epci"].isna().all()
    papeete = ref.territory("98735")
    assert papeete.nom == "Papeete" and papeete.departement is None and papeete.region is None


def test_communes_without_epci(ref):
    without = ref.communes.loc[ref.communes["epci"].isna()]
    assert len(without) == 98
    in_departements = without.loc[without["departement"].notna(), "code"]
    assert sorted(in_departements) == ["22016", "29083", "29155", "85113"]  # island communes


def test_municipal_arrondissements_are_not_communes(ref):
    assert ref.contains("75056") and ref.contains("13055") and ref.contains("69123")
    for code in ("75101", "75112", "13201", "69381"):
        assert not ref.contains(code)
    with pytest.raises(TerritoryCodeError, match="arrondissement municipal de Paris"):
        ref.territory("75112")


def test_every_epci_member_is_a_commune(ref):
    communes = set(ref.communes["code"])
    assert set(ref.epci_communes["commune"]) <= communes
    assert ref.epci_communes["commune"].is_unique
    members = ref.epci_communes.groupby("epci")["commune"].size()
    assert members.to_dict() == ref.epci.set_index("code")["nb_communes"].to_dict()
    with_epci = ref.communes.dropna(subset=["epci"])
    pairs = set(zip(with_epci["epci"], with_epci["code"]))
    assert pairs == set(zip(ref.epci_communes["epci"], ref.epci_communes["commune"]))


def test_populations_add_up(ref):
    communes = ref.communes.set_index("code")["population"]
    by_epci = ref.epci_communes.assign(p=ref.epci_communes["commune"].map(communes))
    assert by_epci.groupby("epci")["p"].sum().to_dict() == ref.epci.set_index("code")["population"].to_dict()
    by_dep = ref.communes.groupby("departement")["population"].sum()
    assert by_dep.to_dict() == ref.departements.set_index("code")["population"].to_dict()
    by_reg = ref.communes.groupby("region")["population"].sum()
    assert by_reg.to_dict() == ref.regions.set_index("code")["population"].to_dict()


def test_epci_departement_holds_most_of_its_population(ref):
    communes = ref.communes.set_index("code")
    members = ref.epci_communes.join(communes[["departement", "population"]], on="commune")
    shares = members.groupby(["epci", "departement"])["population"].sum().unstack(fill_value=0)
    declared = ref.epci.set_index("code")["departement"]
    assert (shares.idxmax(axis=1) == declared.loc[shares.index]).all()
    assert ref.territory("200054781").departement == "DEP-75"  # Métropole du Grand Paris


# -- the data package ------------------------------------------------------------------


def test_datapackage_metadata():
    assert DATAPACKAGE["profile"] == "data-package"
    assert set(RESOURCES) == {"communes", "epci", "epci_communes", "departements", "regions"}
    assert DATAPACKAGE["millesime"] == "2026"
    assert any("etalab.gouv.fr/licence-ouverte" in lic["path"] for lic in DATAPACKAGE["licenses"])
    paths = " ".join(source["path"] for source in DATAPACKAGE["sources"])
    assert "github.com/datagouv/decoupage-administratif" in paths
    for resource in RESOURCES.values():
        assert resource["path"] == f"{resource['name']}.csv"
        assert resource["format"] == "csv" and resource["encoding"] == "utf-8"
        assert resource["title"] and resource["description"]
        for field in resource["schema"]["fields"]:
            assert field["title"] and field["description"], (resource["name"], field["name"])


def test_headers_match_schema(ref):
    for name, resource in RESOURCES.items():
        header = (REFERENCE_DIR / resource["path"]).read_text(encoding="utf-8").split("\n", 1)[0]
        assert header.split(",") == [field["name"] for field in resource["schema"]["fields"]]
        assert list(getattr(ref, name).columns) == header.split(",")


def test_commune_code_pattern_matches_every_real_code():
    pattern = next(f for f in RESOURCES["communes"]["schema"]["fields"] if f["name"] == "code")
    regex = re.compile(pattern["constraints"]["pattern"])
    codes = read_raw("communes")["code"]
    assert all(regex.fullmatch(code) for code in codes)
    for code in ("01004", "2A004", "2B033", "97411", "97611", "98735"):
        assert regex.fullmatch(code), code
    for code in ("1004", "20004", "2C004", "330630", "3306A"):
        assert not regex.fullmatch(code), code


@pytest.mark.parametrize("name", sorted(RESOURCES))
def test_csv_valid_against_its_schema(name):
    """required, unique, pattern, enum, minimum, integer type, primary key (pandas only)."""
    schema = RESOURCES[name]["schema"]
    frame = read_raw(name)
    for field in schema["fields"]:
        column, constraints = frame[field["name"]], field.get("constraints", {})
        present = column.dropna()
        if constraints.get("required"):
            assert column.notna().all(), (name, field["name"])
        if constraints.get("unique"):
            assert present.is_unique, (name, field["name"])
        if "pattern" in constraints:
            regex = re.compile(constraints["pattern"])
            bad = [value for value in present if not regex.fullmatch(value)]
            assert not bad, (name, field["name"], bad[:5])
        if "enum" in constraints:
            assert present.isin(constraints["enum"]).all(), (name, field["name"])
        if field["type"] == "integer":
            assert present.str.fullmatch(r"-?\d+").all(), (name, field["name"])
            if "minimum" in constraints:
                assert (present.astype("int64") >= constraints["minimum"]).all(), (name, field["name"])
    key = schema["primaryKey"]
    key = [key] if isinstance(key, str) else key
    assert not frame.duplicated(subset=key).any(), name
    assert frame[key].notna().all().all(), name


@pytest.mark.parametrize("name", sorted(RESOURCES))
def test_foreign_keys(name):
    frame = read_raw(name)
    for fk in RESOURCES[name]["schema"].get("foreignKeys", []):
        fields = fk["fields"]
        target = read_raw(fk["reference"]["resource"])
        fields = [fields] if isinstance(fields, str) else fields
        ref_fields = fk["reference"]["fields"]
        ref_fields = [ref_fields] if isinstance(ref_fields, str) else ref_fields
        keys = set(target[ref_fields].itertuples(index=False, name=None))
        values = frame[fields].dropna()
        missing = {v for v in values.itertuples(index=False, name=None) if v not in keys}
        assert not missing, (name, fields, sorted(missing)[:5])


# -- parsing identifiers ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("33063", ("commune", "33063", None)),
        ("2A004", ("commune", "2A004", None)),
        ("2b033", ("commune", "2B033", None)),
        ("97411", ("commune", "97411", None)),
        ("COM-33063", ("commune", "33063", None)),
        ("com-2a004", ("commune", "2A004", None)),
        ("200046977", ("epci", "200046977", None)),
        ("EPCI-200046977", ("epci", "200046977", None)),
        ("DEP-33", ("departement", "DEP-33", None)),
        ("dep-2a", ("departement", "DEP-2A", None)),
        ("DEP-974", ("departement", "DEP-974", None)),
        ("REG-94", ("region", "REG-94", None)),
        ("reg-75", ("region", "REG-75", None)),
        ("FR", ("france", "FR", None)),
        ("fr", ("france", "FR", None)),
        ("  33063\t", ("commune", "33063", None)),
    ],
)
def test_parse_territory_code(raw, expected):
    assert parse_territory_code(raw) == expected


def test_parse_repairs_a_lost_leading_zero():
    level, code, warning = parse_territory_code("1004")
    assert (level, code) == ("commune", "01004")
    assert warning == "code « 1004 » complété en « 01004 » (zéro initial perdu par un tableur ?)"
    assert parse_territory_code(" 1004 ")[1] == "01004"


@pytest.mark.parametrize("raw", ["94", "2A", "974", "33", "2b"])
def test_bare_departement_or_region_code_is_refused(raw):
    with pytest.raises(TerritoryCodeError) as error:
        parse_territory_code(raw)
    message = str(error.value)
    assert f"DEP-{raw.upper()}" in message and "REG-" in message


def test_ambiguous_94_explains_both_readings():
    with pytest.raises(TerritoryCodeError, match="REG-94") as error:
        parse_territory_code("94")
    assert "DEP-94" in str(error.value) and "Corse" in str(error.value)


@pytest.mark.parametrize(
    "raw",
    ["", "   ", "20004697", "012345678", "EPCI-12345", "20004", "DEP-20", "DEP-975", "REG-1",
     "COM-123", "Bordeaux", "330630", "FR-33", 33063, None],
)
def test_malformed_codes_raise_a_french_error(raw):
    with pytest.raises(TerritoryCodeError) as error:
        parse_territory_code(raw)
    message = str(error.value)
    assert message and ("code" in message)
    if isinstance(raw, str) and raw.strip():
        assert raw.strip() in message  # names the value


def test_eight_digit_epci_is_not_repaired():
    with pytest.raises(TerritoryCodeError, match="9"):
        parse_territory_code("20004697")


def test_territory_code_error_is_a_value_error():
    assert issubclass(TerritoryCodeError, ValueError)


@given(st.text(max_size=20))
def test_parse_never_fails_with_another_exception(raw):
    try:
        level, code, warning = parse_territory_code(raw)
    except TerritoryCodeError:
        return
    assert level in LEVELS
    assert parse_territory_code(code) == (level, code, None)  # canonical form is stable


# -- lookup, search, loading -----------------------------------------------------------


def test_unknown_territory(ref):
    with pytest.raises(TerritoryCodeError) as error:
        ref.territory("33999")
    assert str(error.value).startswith(
        "territoire inconnu : « 33999 » n'existe pas dans le Code officiel géographique 2026"
    )
    for code in ("33999", "999999999", "DEP-96", "REG-99", "94", "xyz"):
        assert not ref.contains(code), code


def test_every_territory_round_trips(ref):
    ids = (
        list(ref.communes["code"])
        + list(ref.epci["code"])
        + ["DEP-" + c for c in ref.departements["code"]]
        + ["REG-" + c for c in ref.regions["code"]]
        + ["FR"]
    )
    for code in ids[::97] + ids[-140:]:
        territory = ref.territory(code)
        assert territory.code == code and territory.level in LEVELS
        assert parse_territory_code(code) == (territory.level, code, None)
        assert territory.communes and territory.population >= 0


def test_contains(ref):
    assert ref.contains("1004")  # repaired
    assert ref.contains("COM-2A004") and ref.contains("DEP-976") and ref.contains("FR")


def test_search(ref):
    found = ref.search("saint etienne", limit=5)
    assert list(found.columns) == ["code", "level", "nom", "population"]
    assert len(found) == 5
    assert found.iloc[0]["code"] == "42218" and found.iloc[0]["nom"] == "Saint-Étienne"
    assert ref.search("SAINT-ÉTIENNE", limit=5).equals(found)
    corse = ref.search("corse")
    assert corse.iloc[0]["code"] == "REG-94"
    assert {"DEP-2A", "DEP-2B"} <= set(corse["code"])
    assert set(ref.search("corse")["level"]) >= {"region", "departement", "epci"}
    assert ref.search("mureaux").iloc[0]["code"] == "78440"
    assert ref.search("200046977").iloc[0]["nom"] == "Métropole de Lyon"
    assert ref.search("DEP-33").iloc[0]["nom"] == "Gironde"
    assert ref.search("france").iloc[0]["code"] == "FR"
    assert len(ref.search("a", limit=7)) == 7
    assert ref.search("zzzzzz").empty
    assert ref.search("").empty


def test_load_reference_is_cached(ref):
    assert load_reference(REFERENCE_DIR) is ref
    assert load_reference(str(REFERENCE_DIR / ".." / "reference")) is ref
    assert load_reference() is ref


def test_environment_variable_overrides_default(tmp_path, monkeypatch):
    for name in RESOURCES:
        shutil.copy(REFERENCE_DIR / f"{name}.csv", tmp_path)
    monkeypatch.setenv("OBSERVATOIRE_REFERENCE", str(tmp_path))
    other = load_reference()
    assert other.source == tmp_path.resolve()
    assert other.territory("01004").nom == "Ambérieu-en-Bugey"


def test_missing_directory_gives_a_french_message(tmp_path):
    with pytest.raises(FileNotFoundError, match="make reference-data"):
        load_reference(tmp_path / "absent")
