"""Uncertainty and sensitivity analysis: the vectorised pipeline against compute_scores, the
Monte Carlo's reproducibility and degenerate cases, and the sensitivity estimator."""

import numpy as np
import pandas as pd
import pytest

from observatoire.engine import uncertainty
from observatoire.engine.catalogue import Catalogue, load_catalogue
from observatoire.engine.pipeline import Choices, compute_scores
from observatoire.engine.weights import Weights

PERIOD = {"annuelle": "2024", "mensuelle": "2025-06", "projection": "2050"}


def long_table(wide: pd.DataFrame, catalogue: Catalogue) -> pd.DataFrame:
    """Territories × indicators values → the long table compute_scores reads (one period each)."""
    long = wide.stack(future_stack=True).dropna().rename("valeur").reset_index()
    long.columns = ["territoire", "indicateur", "valeur"]
    long["periode"] = long["indicateur"].map(catalogue.indicators["periodicite"]).map(PERIOD)
    return long


@pytest.fixture(scope="module")
def catalogue():
    return load_catalogue()


@pytest.fixture(scope="module")
def synthetic(catalogue):
    """30 territories, values across each indicator's plausible range, with the awkward cases:
    scores at exactly 0 (values at the unfavourable goalpost), missing values (one territory
    below the coverage threshold on some groups), an indicator known for one territory only."""
    meta = catalogue.indicators
    rng = np.random.default_rng(7)
    codes = [f"T{i:02d}" for i in range(30)]
    lo, hi = meta["min_plausible"].to_numpy(), meta["max_plausible"].to_numpy()
    values = lo + (hi - lo) * rng.beta(2, 2, size=(len(codes), len(meta)))
    wide = pd.DataFrame(values, index=codes, columns=meta.index)
    worst = np.where(meta["direction"] > 0, meta["borne_basse"], meta["borne_haute"])
    wide.iloc[:4, :6] = worst[:6]  # exact zeros on goalposts
    wide = wide.mask(rng.random(wide.shape) < 0.1)
    wide.iloc[5, : len(meta) * 2 // 3] = np.nan  # thin coverage
    wide.iloc[1:, 10] = np.nan  # a single value: relative methods undefined there
    population = pd.Series(rng.integers(500, 2_000_000, len(codes)), index=codes)
    return long_table(wide, catalogue), population


def assert_same(array_scores, scores):
    kw = dict(rtol=1e-12, atol=1e-10, equal_nan=True)
    assert np.isnan(array_scores.index).tolist() == scores.index.isna().tolist()
    np.testing.assert_allclose(array_scores.index, scores.index.to_numpy(), **kw)
    np.testing.assert_allclose(array_scores.axes, scores.axes.to_numpy(), **kw)
    np.testing.assert_allclose(array_scores.communs, scores.communs.to_numpy(), **kw)
    np.testing.assert_allclose(array_scores.cells, scores.datasets["axes_communs"].to_numpy(), **kw)


WEIGHTS = Weights(indicateurs={"eau_rendement_reseau": 3.0, "crte_actions_taux": 0.5},
                  communs={"eau": 2.0, "securite": 0.7}, axes={1: 1.5, 4: 0.25})


@pytest.mark.parametrize("normalisation", ["goalposts", "minmax", "zscore", "rank", "distance_to_target"])
@pytest.mark.parametrize("aggregation,power", [("arithmetic", 0.5), ("geometric", 0.5),
                                               ("generalised", 0.37), ("generalised", -1.0),
                                               ("generalised", 2.0), ("generalised", 0.0)])
@pytest.mark.parametrize("weights", [None, WEIGHTS], ids=["egaux", "explicites"])
def test_vectorised_pipeline_reproduces_compute_scores(catalogue, synthetic, normalisation, aggregation,
                                                       power, weights):
    values, population = synthetic
    choices = Choices(normalisation=normalisation, aggregation=aggregation, power=power,
                      weights=weights or Weights())
    scores = compute_scores(values, catalogue, choices, population)
    model = uncertainty.ScoringModel.from_scores(scores)
    assert list(model.communs) == list(scores.communs.columns)
    assert list(model.axes) == list(scores.axes.columns)
    assert list(model.cells) == list(scores.datasets["axes_communs"].columns)
    assert_same(model.score(normalisation, aggregation, power), scores)


def test_vectorised_pipeline_respects_another_coverage_threshold(catalogue, synthetic):
    values, population = synthetic
    for threshold in (0.0, 0.8):
        scores = compute_scores(values, catalogue, Choices(min_coverage=threshold), population)
        assert_same(uncertainty.ScoringModel.from_scores(scores).score(), scores)


def test_fixture_exercises_zeros_and_missing_aggregates(catalogue, synthetic):
    values, population = synthetic
    scores = compute_scores(values, catalogue, Choices(aggregation="geometric"), population)
    assert (scores.indicators == 0).any().any() and scores.communs.isna().any().any()
    assert (scores.index.dropna() > 0).all()  # zero scores lower the geometric means, never annul them


# --- Monte Carlo ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def reference_scores(catalogue, synthetic):
    values, population = synthetic
    return compute_scores(values, catalogue, Choices(), population)


@pytest.fixture(scope="module")
def result(reference_scores):
    return uncertainty.monte_carlo(reference_scores, n_draws=1000, seed=11)


def test_same_seed_same_results_other_seed_other_draws(reference_scores, result):
    again = uncertainty.monte_carlo(reference_scores, n_draws=1000, seed=11)
    pd.testing.assert_frame_equal(again.draws, result.draws)
    np.testing.assert_array_equal(again.index, result.index)
    np.testing.assert_array_equal(again.commun_scores, result.commun_scores)
    pd.testing.assert_frame_equal(again.sensitivity(), result.sensitivity())
    other = uncertainty.monte_carlo(reference_scores, n_draws=300, seed=12)
    assert not other.draws.equals(result.draws)


def test_draws_follow_the_space(result):
    d = result.draws
    assert set(d["normalisation"]) == set(uncertainty.normalise.METHODS)
    assert set(d["agregation"]) == {"arithmetic", "geometric", "generalised"}
    # Every pair is drawn: the geometric mean reads scores on [1, 100], so the zeros of min-max
    # and rank no longer annihilate it.
    assert ((d["agregation"] == "geometric") & d["normalisation"].isin(["minmax", "rank"])).any()
    p = d.loc[d["agregation"] == "generalised", "puissance"]
    assert p.between(0.25, 1.0).all() and d.loc[d["agregation"] != "generalised", "puissance"].isna().all()
    assert d["poids"].between(0, result.space.weight_sets - 1).all()


@pytest.mark.parametrize("choices", [Choices(), Choices(normalisation="rank", aggregation="generalised", power=0.8),
                                     Choices(normalisation="zscore", aggregation="geometric", weights=WEIGHTS)])
def test_fixed_choices_collapse_the_interval_onto_compute_scores(catalogue, synthetic, choices):
    values, population = synthetic
    scores = compute_scores(values, catalogue, choices, population)
    fixed = uncertainty.monte_carlo(scores, n_draws=20, seed=3, space=uncertainty.Space.fixed(choices))
    q = fixed.index_quantiles()
    for col in uncertainty.QUANTILE_COLUMNS:
        np.testing.assert_allclose(q[col], scores.index.to_numpy(), rtol=1e-12, atol=1e-10, equal_nan=True)
    axes = fixed.axis_quantiles()["q50"].unstack().reindex_like(scores.axes)
    np.testing.assert_allclose(axes.to_numpy(), scores.axes.to_numpy(), rtol=1e-6, equal_nan=True)
    communs = fixed.commun_quantiles()["q05"].unstack().reindex_like(scores.communs)
    np.testing.assert_allclose(communs.to_numpy(), scores.communs.to_numpy(), rtol=1e-6, equal_nan=True)
    ranks = fixed.rank_quantiles()
    np.testing.assert_array_equal(ranks["q05"].to_numpy(), ranks["q95"].to_numpy())
    np.testing.assert_array_equal(ranks["q50"].to_numpy(), ranks["reference"].to_numpy())
    assert fixed.sensitivity().isna().all().all()  # nothing varies: no variance to share


def test_quantiles_are_ordered_and_ranks_within_bounds(result):
    frame = result.intervals().dropna(subset=["q50"])
    assert len(frame) > 0
    assert (frame["q05"] <= frame["q50"] + 1e-9).all() and (frame["q50"] <= frame["q95"] + 1e-9).all()
    assert frame["part_definie"].between(0, 1).all()
    n = len(result.territories)
    valid = np.isfinite(result.ranks)
    assert (result.ranks[valid] >= 1).all() and (result.ranks[valid] <= n).all()
    # Each draw ranks exactly the territories that have an index there, 1 being the best.
    for d in range(0, result.n_draws, 50):
        ok = np.isfinite(result.index[d])
        assert np.isfinite(result.ranks[d]).sum() == ok.sum()
        assert result.ranks[d][np.argmax(np.where(ok, result.index[d], -1))] == 1


def test_interval_brackets_the_reference_value_most_of_the_time(result):
    q = result.index_quantiles().dropna()
    inside = (q["q05"] <= q["reference"] + 1e-9) & (q["reference"] <= q["q95"] + 1e-9)
    assert inside.mean() >= 0.8


def test_sensitivity_indices_are_shares_of_variance(result):
    s = result.sensitivity()
    assert list(s.columns) == list(uncertainty.FACTORS)
    values = s.to_numpy()
    assert np.isfinite(values).mean() > 0.9
    assert np.nanmin(values) > -0.05 and np.nanmax(values) < 1.05
    mean = result.mean_sensitivity()
    assert mean.between(-0.05, 1.05).all()


def test_index_interval_for_a_territory_chapter(reference_scores, result):
    code = result.territories[3]
    expected = tuple(result.index_quantiles().loc[code, ["q05", "q50", "q95"]])
    assert uncertainty.index_interval(result, code) == expected
    assert uncertainty.index_interval(reference_scores, code, n_draws=1000, seed=11) == expected
    with pytest.raises(KeyError, match="pas de score"):
        uncertainty.index_interval(result, "99999")


# --- A single territory, the space's rules ------------------------------------------------------


def test_a_territory_alone_only_draws_absolute_normalisations(catalogue, synthetic):
    values, population = synthetic
    alone = values[values["territoire"] == "T07"]
    scores = compute_scores(alone, catalogue, Choices(), population)
    result = uncertainty.monte_carlo(scores, n_draws=100, seed=1)
    assert set(result.draws["normalisation"]) == set(uncertainty.ABSOLUTE_METHODS)
    assert (result.ranks == 1).all()
    q05, q50, q95 = uncertainty.index_interval(result, "T07")
    assert q05 <= scores.index["T07"] <= q95 and q05 < q95
    with pytest.raises(ValueError, match="au moins deux territoires"):
        uncertainty.monte_carlo(scores, n_draws=10, space=uncertainty.Space(normalisations=("minmax",)))


def test_space_draws_every_pair_and_a_zero_never_annihilates_the_index():
    plan = uncertainty.Space(normalisations=("rank",), aggregations=("geometric",)).plan(5)
    assert plan == {"rank": ("geometric",)}
    assert set(uncertainty.Space().plan(5)) == set(uncertainty.normalise.METHODS)
    assert all(aggs == uncertainty.aggregate.METHODS for aggs in uncertainty.Space().plan(5).values())


# --- The estimator on clean constructions -------------------------------------------------------


def toy_catalogue() -> Catalogue:
    """Four indicators (two axes × two communs), same goalposts 0–100, direction +1."""
    ind = pd.DataFrame({
        "axe": [1, 1, 2, 2], "commun": ["a", "b", "a", "b"], "direction": [1, 1, 1, 1],
        "borne_basse": 0.0, "borne_haute": 100.0, "cible": np.nan, "agregation": "taux",
        "periodicite": "annuelle", "libelle": ["i1", "i2", "i3", "i4"],
    }, index=pd.Index(["i1", "i2", "i3", "i4"], name="id"))
    axes = pd.DataFrame({"libelle": ["A1", "A2"]}, index=pd.Index([1, 2], name="id"))
    communs = pd.DataFrame({"libelle": ["A", "B"]}, index=pd.Index(["a", "b"], name="id"))
    return Catalogue(ind, axes, communs, "test")


def test_factor_without_effect_gets_zero_index_and_the_only_factor_gets_one():
    """Every indicator of a territory has the same value, so every indicator gets the same
    score whatever the normalisation: any mean of equal scores is that score, and neither the
    aggregation nor the weights can move the index. Only the normalisation can."""
    cat = toy_catalogue()
    wide = pd.DataFrame({i: [20.0, 50.0, 90.0, 65.0] for i in cat.indicators.index},
                        index=pd.Index(["t1", "t2", "t3", "t4"], name="territoire"))
    scores = compute_scores(long_table(wide, cat), cat, Choices())
    result = uncertainty.monte_carlo(scores, n_draws=2000, seed=5, space=uncertainty.Space())
    s = result.sensitivity()
    assert (s["normalisation"] > 0.99).all()
    assert s["agregation"].abs().max() < 0.03 and s["poids"].abs().max() < 0.03


def test_estimator_recovers_a_known_share_of_variance():
    """Y = X1 + X2 with independent X1 ∈ {0, 1, 2} and X2 ∈ {0, 2}: S1 = (2/3) / (2/3 + 1) = 0.4."""
    rng = np.random.default_rng(0)
    x1, x2 = rng.integers(3, size=20_000), 2 * rng.integers(2, size=20_000)
    y = (x1 + x2).astype(float)
    assert uncertainty.first_order_indices(y, x1) == pytest.approx(0.4, abs=0.02)
    assert uncertainty.first_order_indices(y, x2) == pytest.approx(0.6, abs=0.02)
    assert uncertainty.first_order_indices(y, rng.integers(50, size=20_000)) == pytest.approx(0.0, abs=0.01)


def test_nan_quantiles_match_numpy():
    rng = np.random.default_rng(1)
    a = rng.normal(size=(101, 7, 3))
    a[rng.random(a.shape) < 0.2] = np.nan
    a[:, 0, 0] = np.nan
    ours = uncertainty.nan_quantiles(a)
    with np.errstate(all="ignore"), pytest.warns(RuntimeWarning):
        theirs = np.nanquantile(a, uncertainty.QUANTILES, axis=0)
    np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-12, equal_nan=True)


def test_rank_descending_shares_ties_and_skips_missing():
    r = uncertainty.rank_descending(np.array([3.0, np.nan, 5.0, 3.0, 1.0]))
    np.testing.assert_array_equal(r, [2.0, np.nan, 1.0, 2.0, 4.0])


@pytest.mark.parametrize("choices", [
    Choices(normalisation="zscore", conventions=uncertainty.normalise.Options(zscore_mean=0, zscore_sd=1, zscore_clip=None),
            aggregation="arithmetic"),
    Choices(normalisation="rank", conventions=uncertainty.normalise.Options(rank_ties="min"), aggregation="geometric",
            floor=None),
    Choices(normalisation="minmax", aggregation="generalised", power=-0.5, coverage_by="count", min_coverage=0.6,
            floor=5.0),
], ids=["zscore-coinr", "rang-min-sans-plancher", "couverture-nombre"])
def test_vectorised_pipeline_follows_the_conventions(catalogue, synthetic, choices):
    values, population = synthetic
    scores = compute_scores(values, catalogue, choices, population)
    model = uncertainty.ScoringModel.from_scores(scores)
    assert_same(model.score(choices.normalisation, choices.aggregation, choices.power), scores)
