"""Denomination: counts brought to a common base of inhabitants (COINr's *denominate* step).

A count (``agregation = compte`` in the catalogue: Seveso sites, CatNat decrees…) says more
about a territory's size than about its resilience. It is divided by the territory's population
and expressed per :data:`COUNT_BASE_POPULATION` inhabitants, so that a région and a village are
scored on the same footing; the goalposts of counts are given on that basis.
"""

from __future__ import annotations

import pandas as pd

#: Counts are scored per this many inhabitants.
COUNT_BASE_POPULATION = 100_000


def per_inhabitants(wide: pd.DataFrame, counts: list[str] | pd.Index, population: pd.Series | None,
                    base: int = COUNT_BASE_POPULATION) -> pd.DataFrame:
    """``wide`` (territories × indicators) with the columns ``counts`` divided by each
    territory's population and multiplied by ``base``. Other columns are returned unchanged."""
    counts = pd.Index(counts).intersection(wide.columns)
    if not len(counts):
        return wide
    if population is None:
        raise ValueError(f"population requise pour ramener les comptes à {base:_} habitants".replace("_", " "))
    per = population.reindex(wide.index).astype("float64") / base
    out = wide.copy()
    out[counts] = out[counts].div(per, axis=0)
    return out
