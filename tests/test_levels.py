"""Territorial levels: commune values rolled up to EPCI, département, région and France.

A hand-computed fixture, properties on small random references (hypothesis), and the real
COG 2026 reference.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from observatoire.engine.catalogue import Catalogue, load_catalogue
from observatoire.engine.levels import PARENT_LEVELS, parent_codes, roll_up, roll_up_all
from observatoire.engine.reference import load_reference

# -- small synthetic references ---------------------------------------------------------


def make_reference(communes: pd.DataFrame):
    """A Reference holding only ``communes`` (code, departement, region, epci, population)."""
    from observatoire.engine.reference import Reference

    communes = communes.assign(nom=communes["code"])[["code", "nom", "departement", "region", "epci", "population"]]
    communes = communes.astype({"population": "int64"})
    members = communes.dropna(subset=["epci"])
    epci = (members.groupby("epci", as_index=False)
            .agg(population=("population", "sum"), nb_communes=("code", "size"),
                 departement=("departement", "first"), region=("region", "first"))
            .rename(columns={"epci": "code"})
            .assign(nom="EPCI", type="CC", mode_financement="FPU"))
    epci = epci[["code", "nom", "type", "mode_financement", "population", "nb_communes", "departement", "region"]]
    departements = (communes.dropna(subset=["departement"])
                    .groupby("departement", as_index=False)
                    .agg(region=("region", "first"), population=("population", "sum"))
                    .rename(columns={"departement": "code"})
                    .assign(nom="Département", chef_lieu=None))
    departements = departements[["code", "nom", "region", "chef_lieu", "population"]]
    regions = (communes.dropna(subset=["region"])
               .groupby("region", as_index=False).agg(population=("population", "sum"))
               .rename(columns={"region": "code"}).assign(nom="Région", chef_lieu=None))
    regions = regions[["code", "nom", "chef_lieu", "population"]]
    epci_communes = members[["epci", "code"]].rename(columns={"code": "commune"})
    return Reference(communes, epci, epci_communes.reset_index(drop=True), departements, regions)


def make_catalogue(kinds: dict[str, str]) -> Catalogue:
    indicators = pd.DataFrame({"agregation": list(kinds.values())}, index=pd.Index(list(kinds), name="id"))
    return Catalogue(indicators, pd.DataFrame(), pd.DataFrame(), "")


FIXTURE = pd.DataFrame({
    "code": ["01001", "01002", "02001"],
    "departement": ["01", "01", "02"],
    "region": ["84", "84", "32"],
    "epci": ["200000001", "200000001", "200000002"],
    "population": [100, 300, 50],
})


def test_rate_and_count_by_hand():
    ref = make_reference(FIXTURE)
    cat = make_catalogue({"part": "taux", "nombre": "compte"})
    wide = pd.DataFrame({"part": [10.0, 20.0, np.nan], "nombre": [1.0, np.nan, 4.0]},
                        index=["01001", "01002", "02001"])
    values, coverage = roll_up(wide, cat, ref, "epci")
    assert values.index.tolist() == ["200000001", "200000002"]
    # Rate: (100 × 10 + 300 × 20) / 400 = 17.5, on the whole population; no value in 200000002.
    assert values.loc["200000001", "part"] == pytest.approx(17.5)
    assert coverage.loc["200000001", "part"] == 1.0
    assert np.isnan(values.loc["200000002", "part"]) and coverage.loc["200000002", "part"] == 0.0
    # Count: the sum of the communes that have one (1), resting on 100 of 400 inhabitants.
    assert values.loc["200000001", "nombre"] == 1.0
    assert coverage.loc["200000001", "nombre"] == pytest.approx(0.25)
    assert values.loc["200000002", "nombre"] == 4.0 and coverage.loc["200000002", "nombre"] == 1.0
    # Same communes, by département and région: the parents of 02001 are named by code.
    dep, _ = roll_up(wide, cat, ref, "departement")
    assert dep.index.tolist() == ["DEP-01", "DEP-02"]
    france, cov = roll_up(wide, cat, ref, "france")
    assert france.index.tolist() == ["FR"]
    assert france.loc["FR", "nombre"] == 5.0 and cov.loc["FR", "nombre"] == pytest.approx(150 / 450)
    assert france.loc["FR", "part"] == pytest.approx(17.5) and cov.loc["FR", "part"] == pytest.approx(400 / 450)


def test_parent_codes_are_canonical_and_skip_communes_without_parent():
    communes = pd.concat([FIXTURE, pd.DataFrame({"code": ["97501"], "departement": [None], "region": [None],
                                                 "epci": [None], "population": [5000]})], ignore_index=True)
    ref = make_reference(communes)
    assert parent_codes(ref, "epci").to_dict() == {"01001": "200000001", "01002": "200000001", "02001": "200000002"}
    assert parent_codes(ref, "departement").to_dict() == {"01001": "DEP-01", "01002": "DEP-01", "02001": "DEP-02"}
    assert parent_codes(ref, "region").tolist() == ["REG-84", "REG-84", "REG-32"]
    assert set(parent_codes(ref, "france")) == {"FR"} and "97501" not in parent_codes(ref, "france").index
    with pytest.raises(ValueError, match="niveau inconnu"):
        parent_codes(ref, "canton")


def test_rows_that_are_not_communes_are_ignored_and_unknown_indicators_refused():
    ref = make_reference(FIXTURE)
    cat = make_catalogue({"part": "taux"})
    wide = pd.DataFrame({"part": [10.0, 99.0]}, index=["01001", "DEP-01"])
    values, coverage = roll_up(wide, cat, ref, "departement")
    assert values.loc["DEP-01", "part"] == 10.0 and coverage.loc["DEP-01", "part"] == pytest.approx(0.25)
    with pytest.raises(ValueError, match="absent du catalogue"):
        roll_up(wide.assign(inconnu=1.0), cat, ref, "departement")


# -- properties -------------------------------------------------------------------------

value = st.one_of(st.floats(0, 1000, allow_nan=False), st.just(np.nan))


@st.composite
def territories(draw):
    """A random little country: communes in départements in régions, EPCI across them."""
    n = draw(st.integers(1, 12))
    regions = draw(st.lists(st.sampled_from(["11", "24", "84"]), min_size=n, max_size=n))
    deps = [r + draw(st.sampled_from(["a", "b"])) for r in regions]  # a département lies in one région
    communes = pd.DataFrame({
        "code": [f"{10001 + i:05d}" for i in range(n)],
        "departement": [d.replace("a", "1").replace("b", "2") for d in deps],
        "region": regions,
        "epci": draw(st.lists(st.sampled_from(["200000001", "200000002", None]), min_size=n, max_size=n)),
        "population": draw(st.lists(st.integers(1, 100_000), min_size=n, max_size=n)),
    })
    rates = draw(st.lists(value, min_size=n, max_size=n))
    counts = draw(st.lists(value, min_size=n, max_size=n))
    wide = pd.DataFrame({"part": rates, "nombre": counts}, index=communes["code"].tolist(), dtype="float64")
    return make_reference(communes), wide


CATALOGUE = make_catalogue({"part": "taux", "nombre": "compte"})


@given(territories(), st.sampled_from(PARENT_LEVELS))
@settings(max_examples=50, deadline=None)
def test_weighted_mean_lies_between_the_children(case, level):
    ref, wide = case
    values, _ = roll_up(wide, CATALOGUE, ref, level)
    parents = parent_codes(ref, level)
    for parent, mean in values["part"].items():
        children = wide.loc[parents.index[parents == parent], "part"].dropna()
        if children.empty:
            assert np.isnan(mean)
        else:
            assert children.min() * (1 - 1e-12) - 1e-12 <= mean <= children.max() * (1 + 1e-12) + 1e-12


@given(territories())
@settings(max_examples=50, deadline=None)
def test_counts_add_up_through_the_levels(case):
    ref, wide = case
    by_dep, _ = roll_up(wide, CATALOGUE, ref, "departement")
    by_region, _ = roll_up(wide, CATALOGUE, ref, "region")
    region_of = ("REG-" + ref.departements.set_index("code")["region"]).rename(lambda c: f"DEP-{c}")
    via_deps = by_dep["nombre"].groupby(region_of.reindex(by_dep.index)).sum(min_count=1)
    pd.testing.assert_series_equal(via_deps.reindex(by_region.index), by_region["nombre"],
                                   check_names=False, check_index_type=False, rtol=1e-12)
    france, _ = roll_up(wide, CATALOGUE, ref, "france")
    assert france.loc["FR", "nombre"] == pytest.approx(wide["nombre"].sum(min_count=1), rel=1e-12, nan_ok=True)


@given(territories(), st.sampled_from(PARENT_LEVELS))
@settings(max_examples=50, deadline=None)
def test_coverage_is_a_share_and_full_when_every_commune_has_a_value(case, level):
    ref, wide = case
    _, coverage = roll_up(wide, CATALOGUE, ref, level)
    assert ((coverage >= 0) & (coverage <= 1)).all().all()
    _, full = roll_up(wide.fillna(1.0), CATALOGUE, ref, level)
    assert (full == 1.0).all().all()


@given(territories(), st.randoms(use_true_random=False))
@settings(max_examples=40, deadline=None)
def test_permuting_the_communes_changes_nothing(case, rnd):
    ref, wide = case
    order = list(range(len(wide)))
    rnd.shuffle(order)
    shuffled = wide.iloc[order]
    for level, (values, coverage) in roll_up_all(wide, CATALOGUE, ref).items():
        values2, coverage2 = roll_up(shuffled, CATALOGUE, ref, level)
        pd.testing.assert_frame_equal(values, values2, check_exact=True)
        pd.testing.assert_frame_equal(coverage, coverage2, check_exact=True)


# -- the real reference -----------------------------------------------------------------


@pytest.fixture(scope="module")
def real():
    cat = load_catalogue()
    meta = cat.indicators
    rate = meta.index[meta["agregation"] == "taux"][0]
    count = meta.index[meta["agregation"] == "compte"][0]
    return load_reference(), cat, rate, count


def test_a_value_of_one_everywhere_in_corse_rolls_up_to_one(real):
    ref, cat, rate, count = real
    corse = ref.territory("REG-94").communes
    wide = pd.DataFrame({rate: 1.0, count: 1.0}, index=list(corse))
    values, coverage = roll_up(wide, cat, ref, "region")
    assert values.index.tolist() == ["REG-94"]
    assert values.loc["REG-94", rate] == pytest.approx(1.0) and coverage.loc["REG-94", rate] == 1.0
    assert values.loc["REG-94", count] == len(corse) and coverage.loc["REG-94", count] == 1.0
    deps, dep_coverage = roll_up(wide, cat, ref, "departement")
    assert deps.index.tolist() == ["DEP-2A", "DEP-2B"] and (dep_coverage == 1.0).all().all()


def test_metropole_de_lyon_is_the_population_weighted_mean_of_its_communes(real):
    ref, cat, rate, count = real
    lyon = ref.territory("200046977")
    members = list(lyon.communes)
    x = pd.Series([float(int(c[-3:]) % 97) for c in members], index=members)
    x.iloc[::5] = np.nan  # some communes without a value
    population = ref.communes.set_index("code")["population"].astype(float)
    present = x.dropna().index
    expected = (x[present] * population[present]).sum() / population[present].sum()
    wide = pd.DataFrame({rate: x, count: x})
    values, coverage = roll_up(wide, cat, ref, "epci")
    assert values.loc["200046977", rate] == pytest.approx(expected, rel=1e-12)
    assert values.loc["200046977", count] == pytest.approx(x.sum(), rel=1e-12)
    assert coverage.loc["200046977", rate] == pytest.approx(population[present].sum() / lyon.population, rel=1e-12)


def test_every_commune_of_france_rolls_up_to_every_level(real):
    ref, cat, rate, count = real
    codes = ref.communes["code"]
    wide = pd.DataFrame({rate: 50.0, count: 2.0}, index=codes.tolist())
    levels = roll_up_all(wide, cat, ref)
    assert list(levels) == list(PARENT_LEVELS)
    sizes = {level: len(values) for level, (values, _) in levels.items()}
    assert sizes == {"epci": len(ref.epci), "departement": len(ref.departements),
                     "region": len(ref.regions), "france": 1}
    for level, (values, coverage) in levels.items():
        assert (coverage == 1.0).all().all(), level
        assert values[rate].to_numpy() == pytest.approx(50.0)
    france, _ = levels["france"]
    # Every commune of France's perimeter (not the collectivités d'outre-mer) counted once.
    assert france.loc["FR", count] == 2.0 * len(ref.territory("FR").communes)
    for code in ("DEP-33", "REG-94", "200046977"):
        level = ref.territory(code).level
        assert levels[level][0].loc[code, count] == 2.0 * len(ref.territory(code).communes)


def test_roll_up_long_file_of_the_communes_of_lyon(tmp_path):
    """A commune file rolled up with the CLI becomes a valid EPCI file with its coverage."""
    import subprocess
    import sys

    from observatoire.engine.catalogue import load_catalogue
    from observatoire.report.demo import generate_demo_data
    from observatoire.engine.load import write_values_csv, read_table
    from observatoire.engine.reference import load_reference
    from observatoire.engine.validate import validate_data

    cat, ref = load_catalogue(), load_reference()
    lyon = ref.territory("200046977")
    communes = generate_demo_data(cat, ref, [(c, "metropole") for c in lyon.communes], real_codes_for_tests=True)
    # One commune lacks one indicator in 2024: coverage drops by its population share.
    missing = (communes["territoire"] == lyon.communes[0]) & (communes["indicateur"] == "eau_rendement_reseau") \
        & (communes["periode"] == "2024")
    communes = communes[~missing]
    source = tmp_path / "communes.csv"
    write_values_csv(communes, source)
    out = tmp_path / "epci.csv"
    r = subprocess.run([sys.executable, "-m", "observatoire", "remonter", str(source), "--niveau", "epci",
                        "--sortie", str(out)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    data = validate_data(read_table(out), cat, ref).values
    assert set(data["territoire"]) == {"200046977"}
    row = data[(data["indicateur"] == "eau_rendement_reseau") & (data["periode"] == "2024")].iloc[0]
    kept = communes[(communes["indicateur"] == "eau_rendement_reseau") & (communes["periode"] == "2024")]
    pop = kept["territoire"].map(lambda c: ref.territory(c).population)
    assert row["valeur"] == pytest.approx((kept["valeur"] * pop).sum() / pop.sum())
    share = pop.sum() / lyon.population
    assert row["commentaire"] == f"couverture : {100 * share:.1f} % de la population".replace(".", ",")
    assert share < 1
    full = data[(data["indicateur"] == "eau_rendement_reseau") & (data["periode"] == "2023")].iloc[0]
    assert full["commentaire"] == "couverture : 100,0 % de la population"
