"""Imputation of missing indicator values — optional, explicit and flagged.

By default nothing is imputed: a missing value stays missing and the aggregates rest on the
indicators present (within the coverage threshold). When asked, a missing value takes the
median of the same indicator among the territories of its group (by default, territories of the
same level: communes with communes, EPCI with EPCI), as COINr's ``i_median`` by group. Each
imputed cell is returned in a mask so that the output can flag it.
"""

from __future__ import annotations

import pandas as pd

METHODS = (None, "group_median")
#: What each method is called for people (CLI flags, book).
LABELS = {"group_median": "mediane-groupe"}


def impute_group_median(wide: pd.DataFrame, groups: pd.Series) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Fill NaN with the group's median of the column; return (filled, imputed mask).

    A value stays missing when no territory of its group has one.
    """
    group = groups.reindex(wide.index)
    medians = wide.groupby(group).transform("median")
    filled = wide.fillna(medians)
    imputed = wide.isna() & filled.notna()
    return filled, imputed
