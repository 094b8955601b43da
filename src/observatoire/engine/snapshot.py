"""Choose, for each territory and indicator, the value that is scored.

Time series are first-class in the data file; a score needs one value. Observed indicators
(monthly or yearly) use their most recent period; projections use the requested horizon
(2050 by default, the mid-century horizon of the SNBC and of DRIAS) or the closest available.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from observatoire.engine.catalogue import Catalogue
from observatoire.engine.textcolumns import factorize_sorted, text_arrays

DEFAULT_HORIZON = 2050


def scoring_matrix(values: pd.DataFrame, catalogue: Catalogue,
                   horizon: int = DEFAULT_HORIZON) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(snapshot, matrix) of ``values``: one row per (territoire, indicateur) with the scored
    period and value, sorted by territory then indicator; and the territories × indicators
    matrix of those values, columns in catalogue order (NaN where no value).

    The work is done on integer codes: each distinct territory, indicator and period is looked
    at once, then one sort of integer keys (a counting sort when keys are distinct, as in a file
    with one period per indicator).
    """
    snap = _Snapshot(values, catalogue, horizon)
    return snap.frame, snap.wide(catalogue)


class _Snapshot:
    """The scored rows of ``values``, with their territory and indicator codes kept."""

    def __init__(self, values: pd.DataFrame, catalogue: Catalogue, horizon: int):
        frame = values[["territoire", "indicateur", "periode", "valeur"]]
        present = frame["valeur"].notna().to_numpy()
        rows = None if present.all() else present
        if rows is not None:
            frame = frame[rows]
        # Sorted codes: their order is the order of the strings, as in sort_values. Validated
        # columns come with their codes (textcolumns): no string is hashed again.
        territory, self.territories = factorize_sorted(values["territoire"], rows)
        indicator, self.indicators = factorize_sorted(values["indicateur"], rows)
        period, periods = factorize_sorted(values["periode"], rows)  # any order of periods would do
        projection = (catalogue.indicators["periodicite"] == "projection").reindex(self.indicators, fill_value=False)
        rank = _period_rank(pd.Index(periods), horizon)  # (observed, projection) × distinct periods

        def row_rank() -> np.ndarray:  # read only when a pair has several periods
            return rank[projection.to_numpy(dtype=bool)[indicator].astype("intp"), period]

        pair = territory.astype("int64") * max(len(self.indicators), 1) + indicator
        order = _order_by_pair(pair, row_rank)
        pair = pair[order]
        first = np.ones(len(pair), dtype=bool)
        first[1:] = pair[1:] != pair[:-1]
        kept = order[first]
        self.territory, self.indicator = territory[kept], indicator[kept]  # sorted by territory
        self.frame = _taken(frame, kept, {"territoire": (self.territories, self.territory),
                                          "indicateur": (self.indicators, self.indicator),
                                          "periode": (periods, period[kept])})

    def wide(self, catalogue: Catalogue) -> pd.DataFrame:
        """Territories × indicators matrix of the snapshot, from the codes already at hand."""
        new = np.ones(len(self.territory), dtype=bool)
        new[1:] = self.territory[1:] != self.territory[:-1]
        row = np.cumsum(new) - 1
        column = catalogue.indicators.index.get_indexer(self.indicators)[self.indicator]
        known = column >= 0
        matrix = np.full((int(new.sum()), len(catalogue.indicators)), np.nan)
        value = self.frame["valeur"].to_numpy(dtype="float64")
        if not known.all():
            row, column, value = row[known], column[known], value[known]
        matrix.ravel()[row * matrix.shape[1] + column] = value  # one flat index: cheaper than two
        index = pd.Index(self.territories[self.territory[new]], name="territoire")
        return pd.DataFrame(matrix, index=index, columns=catalogue.indicators.index.copy())


def _taken(frame: pd.DataFrame, rows: np.ndarray, coded: dict[str, tuple[pd.Index, np.ndarray]]) -> pd.DataFrame:
    """``frame.take(rows).reset_index(drop=True)``, its ``str`` columns made from their codes
    (``coded``: column → (distinct texts, code of each row taken)): a gather from a few
    thousand texts rather than from millions of strings."""
    if not all(frame[c].dtype == "str" and (not len(codes) or codes.min() >= 0) for c, (_, codes) in coded.items()):
        return frame.take(rows).reset_index(drop=True)
    made = text_arrays({c: (np.asarray(texts, dtype=object), codes) for c, (texts, codes) in coded.items()})
    return pd.DataFrame({c: made[c] if c in made else frame[c].take(rows).reset_index(drop=True) for c in frame.columns})


def _period_rank(periods: pd.Index, horizon: int) -> np.ndarray:
    """Dense rank of each distinct period, read as observed (row 0) or projected (row 1).

    Observed series rank by recency; projections by distance to the horizon, ties broken
    towards the earlier horizon (the less uncertain one).
    """
    year = np.array([int(p[:4]) for p in periods], dtype="int64")
    month = np.array([int(p[5:7] or "0") for p in periods], dtype="int64")
    observed = -(year * 100 + month)
    projected = np.abs(year - horizon) * 10_000 + year
    _, dense = np.unique(np.concatenate([observed, projected]), return_inverse=True)
    return dense.reshape(2, len(periods)).astype("int64")


def _order_by_pair(pair: np.ndarray, rank) -> np.ndarray:
    """Positions sorting rows by (pair, ``rank()``), ties in their original order.

    When every pair occurs once (one period per indicator, as in most files), the rank does
    not matter and each row is placed at its pair's slot directly, without a sort.
    """
    n = len(pair)
    size = int(pair.max(initial=0)) + 1
    if n and size < 8 * n + 1024:
        slot = np.full(size, -1, dtype="int64" if n >= 2**31 else "int32")
        slot[pair] = np.arange(n, dtype=slot.dtype)
        placed = slot[slot >= 0]
        if len(placed) == n:  # distinct pairs
            return placed.astype("intp")
    rank = rank()
    return np.argsort(pair * (int(rank.max(initial=0)) + 1) + rank, kind="stable")
