"""The pilots side by side and the national demonstration distribution (observatoire.report.comparison)."""

import numpy as np
import pandas as pd
import pytest

from observatoire.report import comparison
from observatoire.report import demo
from observatoire.engine.catalogue import load_catalogue
from observatoire.paths import DEFAULT_DATA
from observatoire.engine.load import read_table
from observatoire.engine.pipeline import compute_scores, score_data_file
from observatoire.engine.reference import load_reference
from observatoire.engine.validate import validate_data


@pytest.fixture(scope="module")
def pilot_run():
    scores, data = score_data_file(DEFAULT_DATA)
    ref = load_reference()
    population = pd.Series({c: ref.territory(c).population for c in data.values["territoire"].unique()},
                           dtype="float64")
    return scores, data.values, population


def test_communs_and_axes_side_by_side_are_the_engines_scores(pilot_run):
    scores, values, population = pilot_run
    cat = load_catalogue()
    direct = compute_scores(validate_data(read_table(DEFAULT_DATA), cat, load_reference()).values, cat,
                            population=population)
    names = comparison.pilot_labels()
    communs = comparison.communs_by_pilot(scores)
    assert list(communs.index) == [p.titre for p in demo.pilots()]
    assert list(communs.columns) == [cat.commun_label(c) for c in cat.communs.index]
    expected = direct.communs.reindex(list(names)).to_numpy()
    np.testing.assert_array_equal(communs.to_numpy(), expected)
    axes = comparison.axes_by_pilot(scores)
    assert axes.shape == (5, 4)
    np.testing.assert_array_equal(axes.to_numpy(), direct.axes.reindex(list(names)).to_numpy())
    both = comparison.index_and_axes(direct)
    assert list(both.columns) == [comparison.INDEX_LABEL, *[cat.axis_label(a) for a in cat.axes.index]]
    np.testing.assert_array_equal(both[comparison.INDEX_LABEL].to_numpy(), direct.index.to_numpy())


def test_coverage_counts_every_cube_cell_of_every_territory(pilot_run):
    scores, _, _ = pilot_run
    cov = comparison.coverage_by_cell(scores)
    assert len(cov) == 27 * 5
    assert (cov.groupby("territoire")["indicateurs"].sum() == len(scores.catalogue.indicators)).all()
    assert (cov["part"] == 1.0).all()  # the demonstration data fill the whole catalogue


def test_coverage_sees_a_missing_value(pilot_run):
    scores, values, population = pilot_run
    cat = scores.catalogue
    dropped = cat.indicators.index[0]
    thinner = values[~((values["territoire"] == "33063") & (values["indicateur"] == dropped))]
    cov = comparison.coverage_by_cell(compute_scores(thinner, cat, population=population))
    meta = cat.indicators.loc[dropped]
    cell = cov[(cov["territoire"] == "33063") & (cov["acteur"] == meta["acteur"])
               & (cov["echelle_spatiale"] == meta["echelle_spatiale"])
               & (cov["echelle_temporelle"] == meta["echelle_temporelle"])].iloc[0]
    assert cell["renseignes"] == cell["indicateurs"] - 1
    assert cov[cov["territoire"] != "33063"]["part"].eq(1.0).all()


def test_yearly_index_is_compute_scores_on_that_years_yearly_values(pilot_run):
    scores, values, population = pilot_run
    cat = scores.catalogue
    yearly = comparison.yearly_index(values, cat, population)
    assert list(yearly.index) == demo.YEARS
    assert sorted(yearly.columns) == sorted(comparison.pilot_labels())
    annual = cat.indicators.index[cat.indicators["periodicite"] == "annuelle"]
    v2019 = values[values["indicateur"].isin(annual) & (values["periode"] == "2019")]
    direct = compute_scores(v2019, comparison.annual_catalogue(cat), population=population)
    np.testing.assert_array_equal(yearly.loc[2019].to_numpy(), direct.index.reindex(yearly.columns).to_numpy())
    assert yearly.notna().all().all()


def test_vectorised_generator_gives_the_demo_generators_scored_values():
    cat, ref = load_catalogue(), load_reference()
    # Every kind of EPCI, plus the two pilots that are EPCI.
    epci = ref.epci.groupby("type").head(3)
    territories = [(c, demo.PROFILE_OF_EPCI_TYPE[t]) for c, t in zip(epci["code"], epci["type"])]
    territories = list(dict.fromkeys([*territories, ("200046977", "metropole"), ("200043776", "rural")]))
    population = ref.epci.set_index("code")["population"]
    fast = demo.scored_demo_values(cat, territories, population)
    full = demo.generate_demo_data(cat, ref, territories)
    snap = compute_scores(full, cat, population=population.astype("float64")).datasets["instantane"]
    expected = snap.set_index(["territoire", "indicateur"])
    got = fast.set_index(["territoire", "indicateur"]).reindex(expected.index)
    assert len(fast) == len(territories) * len(cat.indicators)
    assert (got["periode"] == expected["periode"]).all()
    np.testing.assert_array_equal(got["valeur"].to_numpy(), expected["valeur"].to_numpy())


def test_national_distribution_covers_every_epci_and_is_deterministic():
    ref = load_reference()
    national = demo.national_scores()
    assert len(national.index) == len(ref.epci) == 1255
    assert set(national.index.index) == set(ref.epci["code"])
    assert national.index.notna().all() and national.index.between(0, 100).all()
    assert demo.national_scores() is national  # computed once
    again = demo.scored_demo_values(load_catalogue(), demo.epci_profiles(ref)[:40],
                                           ref.epci.set_index("code")["population"])
    first = demo.national_demo_values()
    pd.testing.assert_frame_equal(again, first[first["territoire"].isin(again["territoire"])].reset_index(drop=True))


def test_national_values_of_the_epci_pilots_are_their_chapters_values(pilot_run):
    scores, _, _ = pilot_run
    national = demo.national_scores()
    for code in ("200046977", "200043776"):
        assert national.index.loc[code] == scores.index.loc[code]
        pd.testing.assert_series_equal(national.communs.loc[code], scores.communs.loc[code])


def test_every_epci_type_has_a_profile():
    types = set(load_reference().epci["type"])
    assert types <= set(demo.PROFILE_OF_EPCI_TYPE)
    assert set(demo.PROFILE_OF_EPCI_TYPE.values()) <= set(demo.profiles())
    assert comparison.epci_types().notna().all()


def test_percentile_ranks():
    distribution = pd.DataFrame({"x": [10.0, 20.0, 30.0, 40.0]})
    territories = pd.DataFrame({"x": [5.0, 20.0, 25.0, 50.0, np.nan]}, index=list("abcde"))
    ranks = comparison.percentile_ranks(territories, distribution)["x"]
    assert ranks["a"] == 0 and ranks["b"] == 37.5 and ranks["c"] == 50 and ranks["d"] == 100
    assert np.isnan(ranks["e"])


def test_comparison_figures_draw():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from observatoire.report import figures

    table = pd.DataFrame({"A": [10.0, 60.0], "B": [np.nan, 90.0]}, index=["Un", "Deux"])
    cov = comparison.coverage_by_cell(score_data_file(DEFAULT_DATA)[0])
    for fig in (figures.scores_heatmap(table), figures.grouped_profiles(table),
                figures.coverage_cells_heatmap(cov, comparison.pilot_labels()),
                figures.yearly_lines(pd.DataFrame({"Un": [1.0, 2.0]}, index=[2015, 2016]), "indice"),
                figures.against_distribution(pd.DataFrame({"A": [40.0, 50, 55], "B": [20.0, 30, 35]}), table)):
        assert fig.axes
        plt.close(fig)
