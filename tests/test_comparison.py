"""The pilots side by side on their public statistics (observatoire.report.comparison), and the
national demonstration generator kept for benchmarks and tests (observatoire.report.demo)."""

import numpy as np
import pandas as pd
import pytest

from observatoire.engine.catalogue import ACTORS, SPATIAL_SCALES, TIME_SCALES, load_catalogue
from observatoire.engine.pipeline import compute_scores, score_data_file
from observatoire.engine.reference import load_reference, population_by_code
from observatoire.paths import DEFAULT_DATA, DEMO_DATA
from observatoire.report import comparison, demo
from observatoire.report.pilots import pilots


@pytest.fixture(scope="module")
def compared():
    return comparison.compared_territories()


def test_the_pilots_are_compared_on_the_books_data(compared):
    assert list(compared.labels) == [p.code for p in pilots()]
    scores, _ = score_data_file(DEFAULT_DATA)
    communs = comparison.communs_by_pilot(compared.scores)
    assert list(communs.index) == [p.titre for p in pilots()]
    np.testing.assert_array_equal(communs.to_numpy(), scores.communs.reindex(list(compared.labels)).to_numpy())
    assert comparison.axes_by_pilot(compared.scores).shape == (5, 4)


def test_the_table_shows_each_published_value_with_its_period_beside_france(compared):
    table = comparison.comparison_table(compared)
    assert list(table.columns) == [p.titre for p in pilots()] + ["France"]
    values = compared.values
    catalogue = compared.catalogue.indicators
    for _, row in values[values["territoire"] == "33063"].sort_values("periode").groupby("indicateur").tail(1).iterrows():
        cell = table.loc[catalogue.at[row["indicateur"], "libelle"], "Ville de Bordeaux"]
        assert cell.endswith(f"({row['periode']})") and catalogue.at[row["indicateur"], "unite"] in cell
    # Every row has a value for at least one pilot: France alone is not a comparison.
    assert (table[[p.titre for p in pilots()]] != "").any(axis=1).all()


def test_a_pilot_beside_its_departement_region_and_france(compared):
    table = comparison.reference_table(compared, "33063")
    assert list(table.columns) == ["Ville de Bordeaux", "Gironde", "Nouvelle-Aquitaine", "France"]
    assert (table["Ville de Bordeaux"] != "").all()


def test_filled_counts_are_the_indicators_with_a_value(compared):
    counts = comparison.filled_counts(compared)
    values = compared.values
    for p in pilots():
        assert counts[p.titre] == values.loc[values["territoire"] == p.code, "indicateur"].nunique()


def test_coverage_counts_every_cube_cell_of_every_territory():
    scores, _ = score_data_file(DEMO_DATA, demonstration=True)
    cov = comparison.coverage_by_cell(scores)
    n = scores.datasets["matrice"].shape[0]
    assert len(cov) == len(ACTORS) * len(SPATIAL_SCALES) * len(TIME_SCALES) * n
    assert (cov.groupby("territoire")["indicateurs"].sum() == len(scores.catalogue.indicators)).all()
    named = cov[cov["territoire"] == "FICTIF-BRUMEVAL"]
    assert named.dropna(subset=["part"])["part"].eq(1.0).all()  # the generator fills the catalogue


def test_coverage_sees_a_missing_value():
    scores, data = score_data_file(DEMO_DATA, demonstration=True)
    cat = scores.catalogue
    values = data.values
    dropped = cat.indicators.index[0]
    thinner = values[~((values["territoire"] == "FICTIF-BRUMEVAL") & (values["indicateur"] == dropped))]
    population = population_by_code(load_reference()).astype("float64")
    cov = comparison.coverage_by_cell(compute_scores(thinner, cat, population=population))
    meta = cat.indicators.loc[dropped]
    cell = cov[(cov["territoire"] == "FICTIF-BRUMEVAL") & (cov["acteur"] == meta["acteur"])
               & (cov["echelle_spatiale"] == meta["echelle_spatiale"])
               & (cov["echelle_temporelle"] == meta["echelle_temporelle"])].iloc[0]
    assert cell["renseignes"] == cell["indicateurs"] - 1


def test_vectorised_generator_gives_the_demo_generators_scored_values():
    cat, ref = load_catalogue(), load_reference()
    territories = [(c, p) for c, p in demo.fictional_territories(ref) if c in demo.NAMED_FICTIONAL]
    population = population_by_code(ref)
    fast = demo.scored_demo_values(cat, territories, population)
    slow = demo.generate_demo_data(cat, ref, territories)
    last = {"annuelle": str(demo.YEARS[-1]), "mensuelle": demo.MONTHS[-1], "projection": "2050"}
    kind = slow["indicateur"].map(cat.indicators["periodicite"]).map(last)
    slow = slow[slow["periode"] == kind].set_index(["territoire", "indicateur"])["valeur"]
    fast = fast.set_index(["territoire", "indicateur"])["valeur"]
    pd.testing.assert_series_equal(fast.sort_index(), slow.sort_index(), check_names=False)


def test_national_demonstration_file_covers_every_epci_and_is_deterministic():
    first = demo.national_demo_values()
    assert first["territoire"].nunique() == len(load_reference().epci)
    assert demo.national_demo_values() is first  # computed once per seed
    assert set(demo.PROFILE_OF_EPCI_TYPE) >= set(load_reference().epci["type"])
