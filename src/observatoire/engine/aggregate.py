"""Aggregation: combine scores of children into their parent's score.

The hierarchy is indicator → (axe × commun) → axe → indice global, a tree in which each axis
gives its communs equal voice whatever their number of indicators. The profile by commun (the
default view, as in CRATer or the City Resilience Index) is a cross-cut of the same indicators.

Missing values are skipped and the weights of the present children renormalised, but only
while the present children carry at least ``min_coverage`` of the total weight; below that the
aggregate is missing (NaN) rather than resting on too little data.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

DEFAULT_MIN_COVERAGE = 0.5


def aggregate_arithmetic(x, w) -> np.ndarray:
    """Weighted arithmetic mean per row of ``x`` (n × k), skipping NaN."""
    x, w = _prepare(x, w)
    present = np.isfinite(x)
    return _arithmetic(x, w, present, np.where(present, w, 0.0).sum(1))


def _arithmetic(x: np.ndarray, w: np.ndarray, present: np.ndarray, present_weight: np.ndarray) -> np.ndarray:
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(present, x * w, 0.0).sum(1) / present_weight


def aggregate_geometric(x, w) -> np.ndarray:
    """Weighted geometric mean per row, skipping NaN; a zero child gives zero."""
    x, w = _prepare(x, w)
    present = np.isfinite(x)
    wp = np.where(present, w, 0.0)
    with np.errstate(invalid="ignore", divide="ignore"):
        logs = np.where(present, np.log(np.where(present, x, 1.0)) * w, 0.0)
        return np.exp(logs.sum(1) / wp.sum(1))


def aggregate_generalised(x, w, p: float) -> np.ndarray:
    """Weighted power mean of order ``p`` (p=1 arithmetic, p→0 geometric, p=−1 harmonic)."""
    if p == 0:
        return aggregate_geometric(x, w)
    x, w = _prepare(x, w)
    present = np.isfinite(x)
    wp = np.where(present, w, 0.0)
    with np.errstate(invalid="ignore", divide="ignore", over="ignore"):
        powered = np.where(present, np.power(np.where(present, x, 1.0), p) * w, 0.0)
        return np.power(powered.sum(1) / wp.sum(1), 1.0 / p)


METHODS = ("arithmetic", "geometric", "generalised")
#: What each method is called for people (CLI flags, book, Campus).
LABELS = {"arithmetic": "arithmetique", "geometric": "geometrique", "generalised": "generalisee"}

#: Scores are on [0, 100]. A geometric mean, or a power mean of any order, reads them on
#: [FLOOR, 100] instead, then maps its result back: as COINr users do, so that one score of 0
#: lowers the mean without vetoing it (a zero would make the mean 0 whatever the other
#: scores). The mapping is affine and increasing: equal scores still aggregate to themselves,
#: and the geometric mean stays at or below the arithmetic one. For the power mean it applies
#: at every order, so that the mean moves continuously from the arithmetic mean (order 1, which
#: the affine mapping leaves unchanged) to the geometric mean (order → 0): without it an order
#: of 0.01 on [0, 50, 80, 90] gave 2·10⁻¹¹ where order 0 gives 23.8.
SCALE, FLOOR = 100.0, 1.0


def needs_floor(method: str, p: float = 0.5) -> bool:
    return method in ("geometric", "generalised")


def to_floor(x, floor: float = FLOOR):
    """Scores on [0, 100] read on [floor, 100]."""
    return floor + (SCALE - floor) / SCALE * np.asarray(x, dtype="float64")


def from_floor(m, floor: float = FLOOR):
    return (np.asarray(m, dtype="float64") - floor) * SCALE / (SCALE - floor)


def aggregate_rows(x, w, method: str = "arithmetic", p: float = 0.5, floor: float | None = FLOOR) -> np.ndarray:
    """Aggregate scores on [0, 100]: the geometric mean and the power means of order ≤ 0 read
    them on [``floor``, 100] (see :data:`FLOOR`); ``floor=None`` applies the mean to the scores
    as they are (COINr's ``a_gmean``, which refuses zeros; here a zero child gives 0)."""
    if method not in METHODS:
        raise ValueError(f"méthode d'agrégation inconnue : « {method} » (attendu : {', '.join(METHODS)})")
    if method == "arithmetic":
        return aggregate_arithmetic(x, w)
    shifted = floor is not None and needs_floor(method, p)
    if shifted:
        x = to_floor(x, floor)
    m = aggregate_geometric(x, w) if method == "geometric" else aggregate_generalised(x, w, p)
    return from_floor(m, floor) if shifted else m


#: How the data-availability threshold counts the children that have a value: the share of their
#: weight (the Observatoire's default) or the share of their number (COINr's ``dat_thresh``).
COVERAGE_BASES = ("weight", "count")
COVERAGE_LABELS = {"weight": "poids", "count": "nombre"}


def coverage(x, w, by: str = "weight") -> np.ndarray:
    """Share of the total weight (``by="weight"``) or of the number (``by="count"``) of the
    children that have a value."""
    x, w = _prepare(x, w)
    return _share(np.isfinite(x), w, by)


def _share(present: np.ndarray, w: np.ndarray, by: str, present_weight: np.ndarray | None = None) -> np.ndarray:
    """:func:`coverage` from which children have a value (and the weight they carry, when known)."""
    if by == "count":
        return present.sum(1) / present.shape[1]
    if by != "weight":
        raise ValueError(f"base de couverture inconnue : « {by} » (attendu : {', '.join(COVERAGE_BASES)})")
    return (np.where(present, w, 0.0).sum(1) if present_weight is None else present_weight) / w.sum()


def aggregate_and_cover(x, w, method: str = "arithmetic", p: float = 0.5, floor: float | None = FLOOR,
                        by: str = "weight") -> tuple[np.ndarray, np.ndarray]:
    """``(aggregate_rows(x, w, method, p, floor), coverage(x, w, by))``, which children have a
    value looked at once for both."""
    x, w = _prepare(x, w)
    present = np.isfinite(x)
    present_weight = np.where(present, w, 0.0).sum(1)
    share = _share(present, w, by, present_weight)
    if method == "arithmetic":
        return _arithmetic(x, w, present, present_weight), share
    return aggregate_rows(x, w, method, p, floor), share


def aggregate_groups(scores: pd.DataFrame, groups: pd.Series, weights: pd.Series,
                     method: str = "arithmetic", p: float = 0.5,
                     min_coverage: float = DEFAULT_MIN_COVERAGE, coverage_by: str = "weight",
                     floor: float | None = FLOOR) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Aggregate the columns of ``scores`` by ``groups`` (column → parent).

    Returns (parent scores, coverage shares), both territories × parents, parents in order of
    first appearance in ``groups``. A parent whose coverage is below ``min_coverage`` is NaN
    (COINr's ``dat_thresh``, which counts children: ``coverage_by="count"``).
    """
    parents = list(dict.fromkeys(groups.loc[scores.columns]))
    matrix = scores.to_numpy()  # once, then column positions: no DataFrame per parent
    result, share = {}, {}
    for parent in parents:
        cols = groups.index[groups == parent].intersection(scores.columns, sort=False)
        x = matrix[:, scores.columns.get_indexer(cols)]
        w = weights.loc[cols].to_numpy()
        value, c = aggregate_and_cover(x, w, method, p, floor, coverage_by)
        result[parent] = np.where(c >= min_coverage - 1e-12, value, np.nan)
        share[parent] = c
    index = scores.index
    return pd.DataFrame(result, index=index), pd.DataFrame(share, index=index)


def _prepare(x, w):
    x = np.atleast_2d(np.asarray(x, dtype="float64"))
    w = np.asarray(w, dtype="float64").reshape(1, -1)
    return x, w
