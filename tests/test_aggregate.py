"""Aggregation: hand-computed fixtures and properties (hypothesis)."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given
from hypothesis import strategies as st

from observatoire.engine.aggregate import (
    aggregate_and_cover,
    aggregate_arithmetic,
    aggregate_generalised,
    aggregate_geometric,
    aggregate_groups,
    aggregate_rows,
    coverage,
)


def test_arithmetic_by_hand():
    assert aggregate_arithmetic([[10, 20, 60]], [1, 1, 2]).tolist() == [37.5]


def test_a_zero_lowers_a_geometric_mean_without_vetoing_it():
    """Scores are read on [1, 100] (COINr's practice): [0, 100] → [1, 100] → √100 = 10 → back
    to (10 − 1) / 0.99 ≈ 9.09, where the raw geometric mean would be 0."""
    assert aggregate_rows([[0, 100]], [1, 1], "geometric").tolist() == pytest.approx([9 / 0.99])
    assert aggregate_rows([[0, 100]], [1, 1], "generalised", p=-1).tolist() == pytest.approx(
        [(2 / (1 + 1 / 100) - 1) / 0.99])
    assert aggregate_rows([[0, 0]], [1, 1], "geometric").tolist() == pytest.approx([0.0], abs=1e-12)
    assert aggregate_rows([[100, 100]], [1, 1], "geometric").tolist() == pytest.approx([100.0])


def test_geometric_by_hand():
    assert aggregate_geometric([[4, 16]], [1, 1]).tolist() == pytest.approx([8.0])
    assert aggregate_geometric([[0, 50]], [1, 1]).tolist() == [0.0]


def test_generalised_by_hand():
    # p = 2: quadratic mean of 3 and 4 with equal weights = sqrt(12.5).
    assert aggregate_generalised([[3, 4]], [1, 1], 2).tolist() == pytest.approx([np.sqrt(12.5)])
    # p = −1: harmonic mean of 1 and 3 = 1.5.
    assert aggregate_generalised([[1, 3]], [1, 1], -1).tolist() == pytest.approx([1.5])


def test_missing_values_skipped_with_weights_renormalised():
    assert aggregate_arithmetic([[10, np.nan, 30]], [1, 1, 1]).tolist() == [20.0]


def test_coverage_threshold_makes_thin_aggregates_missing():
    scores = pd.DataFrame({"a": [10.0, 10.0], "b": [np.nan, 20.0], "c": [np.nan, np.nan]}, index=["t1", "t2"])
    groups = pd.Series({"a": "g", "b": "g", "c": "g"})
    weights = pd.Series({"a": 1.0, "b": 1.0, "c": 1.0})
    values, cov = aggregate_groups(scores, groups, weights, min_coverage=0.5)
    assert np.isnan(values.loc["t1", "g"]) and cov.loc["t1", "g"] == pytest.approx(1 / 3)
    assert values.loc["t2", "g"] == 15.0 and cov.loc["t2", "g"] == pytest.approx(2 / 3)


score = st.floats(0.01, 100, allow_nan=False)
weight = st.floats(0.1, 10, allow_nan=False)


@given(score, st.lists(weight, min_size=1, max_size=12), st.sampled_from(["arithmetic", "geometric", "generalised"]))
def test_aggregating_equal_values_returns_that_value(v, ws, method):
    x = [[v] * len(ws)]
    assert aggregate_rows(x, ws, method, p=0.5)[0] == pytest.approx(v, rel=1e-9)


@given(st.lists(st.tuples(score, weight), min_size=1, max_size=12))
def test_geometric_mean_never_exceeds_arithmetic_mean(pairs):
    x = [[p[0] for p in pairs]]
    w = [p[1] for p in pairs]
    assert aggregate_geometric(x, w)[0] <= aggregate_arithmetic(x, w)[0] * (1 + 1e-9)


@given(st.lists(st.tuples(score, weight), min_size=1, max_size=12), st.floats(-3, 3).filter(lambda p: abs(p) > 1e-3))
def test_power_mean_lies_between_min_and_max(pairs, p):
    x = [[q[0] for q in pairs]]
    w = [q[1] for q in pairs]
    m = aggregate_generalised(x, w, p)[0]
    assert min(x[0]) * (1 - 1e-9) <= m <= max(x[0]) * (1 + 1e-9)


@pytest.mark.parametrize("method", ["arithmetic", "geometric", "generalised"])
@pytest.mark.parametrize("by", ["weight", "count"])
def test_aggregate_and_cover_is_both_functions_to_the_bit(method, by):
    rng = np.random.default_rng(7)
    x = rng.uniform(0, 100, size=(500, 9))
    x[rng.uniform(size=x.shape) < 0.3] = np.nan
    x[0] = np.nan  # a unit with no value
    w = rng.uniform(0.1, 3, size=9)
    value, share = aggregate_and_cover(x, w, method, 0.7, 1.0, by)
    np.testing.assert_array_equal(value, aggregate_rows(x, w, method, 0.7, 1.0))
    np.testing.assert_array_equal(share, coverage(x, w, by))
    with pytest.raises(ValueError, match="base de couverture inconnue"):
        aggregate_and_cover(x, w, method, by="poids")
