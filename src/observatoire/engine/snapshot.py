"""Choose, for each territory and indicator, the value that is scored.

Time series are first-class in the data file; a score needs one value. Observed indicators
(monthly or yearly) use their most recent period; projections use the requested horizon
(2050 by default, the mid-century horizon of the SNBC and of DRIAS) or the closest available.
"""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd

from observatoire.engine.catalogue import Catalogue
from observatoire.engine.textcolumns import factorize_sorted, text_arrays

DEFAULT_HORIZON = 2050


def scoring_matrix(values, catalogue: Catalogue,
                   horizon: int = DEFAULT_HORIZON) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(snapshot, matrix) of ``values``: one row per (territoire, indicateur) with the scored
    period and value, sorted by territory then indicator; and the territories × indicators
    matrix of those values, columns in catalogue order (NaN where no value).

    ``values``: the validated long table, as a frame or as the
    :class:`~observatoire.engine.validate.ValidatedData` itself (then read from its codes).
    """
    snap = Snapshot(values, catalogue, horizon)
    return snap.frame, snap.wide(catalogue)


class Snapshot:
    """The scored rows of ``values`` (a frame, or a ValidatedData read from its codes).

    The work is done on integer codes: each distinct territory, indicator and period is looked
    at once, then one sort of integer keys (a counting sort when keys are distinct, as in a file
    with one period per indicator). The long :attr:`frame` of the scored rows is built the
    first time it is read: the matrix (:meth:`wide`) does not need it.
    """

    def __init__(self, values, catalogue: Catalogue, horizon: int = DEFAULT_HORIZON):
        coded = getattr(values, "coded", None)
        if coded is not None:  # a ValidatedData: its codes and numbers, no string read
            value = coded.valeur
            columns = {c: coded.texts[c][::-1] for c in ("territoire", "indicateur", "periode")}
        else:
            frame = values if isinstance(values, pd.DataFrame) else values.values  # a ValidatedData of a frame
            value = frame["valeur"]
            columns = {c: frame[c] for c in ("territoire", "indicateur", "periode")}
        #: Rows of a frame whose texts are not all ``str`` (None: the frame is made from codes).
        self._source = None
        if coded is None and not all(c.dtype == "str" and not c.hasnans for c in columns.values()):
            self._source = frame[["territoire", "indicateur", "periode", "valeur"]]
        present = ~pd.isna(value) if coded is None else ~np.isnan(value)
        present = np.asarray(present, dtype=bool)
        rows = None if present.all() else present
        # Sorted codes: their order is the order of the strings, as in sort_values. Validated
        # columns come with their codes (ValidatedData, textcolumns): no string is hashed again.
        territory, self.territories = factorize_sorted(columns["territoire"], rows)
        indicator, self.indicators = factorize_sorted(columns["indicateur"], rows)
        # Periods are read only when a pair has several, and for the long table.
        self._period_column = (columns["periode"], rows)
        self._projection = (catalogue.indicators["periodicite"] == "projection").reindex(
            self.indicators, fill_value=False).to_numpy(dtype=bool)
        self._horizon = horizon
        value = value if rows is None else value[rows]
        self._rows = (territory, indicator, value)
        if self._source is not None:
            self._source = self._source if rows is None else self._source[rows]
        number = np.asarray(value, dtype="float64")
        # Rows already in the matrix's order (by territory, then in catalogue order), as in a
        # file made from the template: one row per pair, every row scored, nothing to sort.
        self._index = catalogue.indicators.index
        column_of = self._index.get_indexer(self.indicators)
        self._flat = None  # each row's cell in the flattened matrix, when rows are in its order
        if len(indicator) and (column_of >= 0).all():
            flat = territory.astype("int64") * len(self._index) + column_of[indicator]
            if (flat[1:] > flat[:-1]).all():
                self._flat, self._cells = flat, (territory, indicator, number)
                return
        kept, distinct = self._scored
        # The matrix needs the scored rows in any order: when every row is scored, as they are.
        self._cells = ((territory, indicator, number) if distinct
                       else (territory[kept], indicator[kept], number[kept]))

    @functools.cached_property
    def _scored(self) -> tuple[np.ndarray, bool]:
        """(the scored rows (positions among the present rows) by territory then indicator,
        whether every row is scored)."""
        territory, indicator, _ = self._rows

        def row_rank() -> np.ndarray:
            period, periods = self._periods
            rank = _period_rank(pd.Index(periods), self._horizon)  # (observed, projection) × distinct periods
            return rank[self._projection[indicator].astype("intp"), period]

        pair = territory.astype("int64") * max(len(self.indicators), 1) + indicator
        order, distinct = _order_by_pair(pair, row_rank)
        if distinct:  # one row per pair: every row is scored, ``order`` only sorts them
            return order, True
        pair = pair[order]
        first = np.ones(len(pair), dtype=bool)
        first[1:] = pair[1:] != pair[:-1]
        return order[first], False

    @functools.cached_property
    def _periods(self) -> tuple[np.ndarray, pd.Index]:
        """(code of each present row's period, distinct periods); any order would do."""
        return factorize_sorted(*self._period_column)

    @functools.cached_property
    def frame(self) -> pd.DataFrame:
        """One row per (territoire, indicateur): territoire, indicateur, periode, valeur."""
        kept = self._scored[0]
        if self._source is not None:
            return self._source.take(kept).reset_index(drop=True)
        territory, indicator, value = self._rows
        period, periods = self._periods
        made = text_arrays({"territoire": (np.asarray(self.territories, dtype=object), territory[kept]),
                            "indicateur": (np.asarray(self.indicators, dtype=object), indicator[kept]),
                            "periode": (np.asarray(periods, dtype=object), period[kept])})
        value = value.take(kept).reset_index(drop=True) if isinstance(value, pd.Series) else value[kept]
        return pd.DataFrame({**made, "valeur": value}, copy=False)

    def wide(self, catalogue: Catalogue) -> pd.DataFrame:
        """Territories × indicators matrix of the snapshot, from the codes already at hand.

        Every territory of :attr:`territories` has a scored row (they are those of the present
        rows): its code is its row in the matrix.
        """
        row, indicator, value = self._cells
        shape = (len(self.territories), len(catalogue.indicators))
        if self._flat is not None and catalogue.indicators.index.equals(self._index):
            if len(self._flat) == shape[0] * shape[1]:  # increasing and as many as cells: every cell, in order
                matrix = np.asarray(value, dtype="float64").reshape(shape)  # a view: the frame below copies it
            else:
                matrix = np.full(shape, np.nan)
                matrix.ravel()[self._flat] = value
        else:
            column = catalogue.indicators.index.get_indexer(self.indicators)[indicator]
            known = column >= 0
            matrix = np.full(shape, np.nan)
            if not known.all():
                row, column, value = row[known], column[known], value[known]
            matrix.ravel()[row.astype("int64") * shape[1] + column] = value  # one flat index: cheaper than two
        index = pd.Index(self.territories, name="territoire")
        # Copied, column by column (as pandas keeps a frame's columns): never a view of the values.
        return pd.DataFrame(matrix, index=index, columns=catalogue.indicators.index.copy(), copy=True)


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


def _order_by_pair(pair: np.ndarray, rank) -> tuple[np.ndarray, bool]:
    """(positions sorting rows by (pair, ``rank()``), ties in their original order; whether
    every pair occurs once).

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
            return placed, True
    rank = rank()
    return np.argsort(pair * (int(rank.max(initial=0)) + 1) + rank, kind="stable"), False
