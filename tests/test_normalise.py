"""Normalisation: hand-computed fixtures for each method, and properties (hypothesis)."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from observatoire.engine.normalise import (
    normalise_distance_to_target,
    normalise_goalposts,
    normalise_indicator,
    normalise_minmax,
    normalise_rank,
    normalise_zscore,
)


def test_goalposts_by_hand():
    # low 10, high 30: 15 is a quarter of the way; out-of-range values are clipped.
    assert normalise_goalposts([15, 5, 40, 30], 10, 30, 1).tolist() == [25.0, 0.0, 100.0, 100.0]
    assert normalise_goalposts([15, 5, 40], 10, 30, -1).tolist() == [75.0, 100.0, 0.0]


def test_minmax_by_hand():
    assert normalise_minmax([2.0, 4.0, 6.0], 1).tolist() == [0.0, 50.0, 100.0]
    assert normalise_minmax([2.0, 4.0, 6.0], -1).tolist() == [100.0, 50.0, 0.0]
    assert np.isnan(normalise_minmax([3.0, 3.0], 1)).all()  # no spread: undefined, not 50


def test_zscore_by_hand():
    # mean 4, sample sd 2: 6 is +1 sd → 60; direction −1 mirrors it.
    assert normalise_zscore([2.0, 4.0, 6.0], 1).tolist() == pytest.approx([40.0, 50.0, 60.0])
    assert normalise_zscore([2.0, 4.0, 6.0], -1).tolist() == pytest.approx([60.0, 50.0, 40.0])


def test_rank_by_hand():
    assert normalise_rank([10.0, 30.0, 20.0, 20.0], 1).tolist() == pytest.approx([0.0, 100.0, 50.0, 50.0])
    assert normalise_rank([10.0, 30.0, 20.0], -1).tolist() == pytest.approx([100.0, 0.0, 50.0])


def test_distance_to_target_by_hand():
    # worst 0, target 80: 40 is half way; beyond the target is capped.
    assert normalise_distance_to_target([40.0, 100.0], 80.0, 0.0, 1).tolist() == [50.0, 100.0]
    # less is better: worst 50, target 10 → 30 is half way.
    assert normalise_distance_to_target([30.0], 10.0, 50.0, -1).tolist() == [50.0]


def test_unknown_method_is_a_french_error():
    meta = pd.Series({"direction": 1, "borne_basse": 0.0, "borne_haute": 1.0, "cible": np.nan})
    with pytest.raises(ValueError, match="méthode de normalisation inconnue"):
        normalise_indicator([1.0], meta, "magique")


finite = st.floats(-1e6, 1e6, allow_nan=False)
goalposts = st.tuples(finite, finite).filter(lambda t: t[1] - t[0] > 1e-3).map(lambda t: (t[0], t[1]))


@given(st.lists(finite, min_size=1, max_size=30), goalposts, st.sampled_from([1, -1]))
def test_goalposts_scores_within_bounds(xs, gp, d):
    s = normalise_goalposts(xs, gp[0], gp[1], d)
    assert ((s >= 0) & (s <= 100)).all()


@given(finite, finite, goalposts, st.sampled_from([1, -1]))
def test_goalposts_monotonic_in_direction(a, b, gp, d):
    lo, hi = sorted((a, b))
    s_lo, s_hi = normalise_goalposts([lo, hi], gp[0], gp[1], d)
    assert (s_hi >= s_lo) if d > 0 else (s_hi <= s_lo)


@given(st.lists(finite, min_size=2, max_size=30, unique=True), st.sampled_from(["minmax", "zscore", "rank"]),
       st.sampled_from([1, -1]))
@settings(max_examples=60)
def test_relative_methods_bounded_and_monotonic(xs, method, d):
    meta = pd.Series({"direction": d, "borne_basse": 0.0, "borne_haute": 1.0, "cible": np.nan})
    s = normalise_indicator(xs, meta, method)
    if np.isnan(s).all():
        return  # spread too small to define the method (variance underflows): undefined, not wrong
    assert ((s >= 0) & (s <= 100 + 1e-9)).all()
    order = np.argsort(xs)
    diffs = np.diff(s[order])
    assert (diffs >= -1e-9).all() if d > 0 else (diffs <= 1e-9).all()


@given(st.lists(finite, min_size=2, max_size=20, unique=True), st.randoms(use_true_random=False))
@settings(max_examples=60)
def test_permuting_territories_does_not_change_their_scores(xs, rnd):
    meta = pd.Series({"direction": 1, "borne_basse": -10.0, "borne_haute": 10.0, "cible": np.nan})
    perm = list(range(len(xs)))
    rnd.shuffle(perm)
    for method in ("goalposts", "minmax", "zscore", "rank", "distance_to_target"):
        s = normalise_indicator(xs, meta, method)
        sp = normalise_indicator([xs[i] for i in perm], meta, method)
        assert np.allclose(sp, s[perm], equal_nan=True)


def test_no_negative_zero_at_the_worst_goalpost():
    s = normalise_distance_to_target([50.0], 10.0, 50.0, -1)
    assert s[0] == 0.0 and not np.signbit(s[0])
