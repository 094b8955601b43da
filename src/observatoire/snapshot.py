"""Choose, for each territory and indicator, the value that is scored.

Time series are first-class in the data file; a score needs one value. Observed indicators
(monthly or yearly) use their most recent period; projections use the requested horizon
(2050 by default, the mid-century horizon of the SNBC and of DRIAS) or the closest available.
"""

from __future__ import annotations

import pandas as pd

from observatoire.catalogue import Catalogue

DEFAULT_HORIZON = 2050


def scoring_snapshot(values: pd.DataFrame, catalogue: Catalogue, horizon: int = DEFAULT_HORIZON) -> pd.DataFrame:
    """One row per (territoire, indicateur): the scored period and value."""
    periodicity = catalogue.indicators["periodicite"]
    frame = values[["territoire", "indicateur", "periode", "valeur"]].copy()
    frame["periodicite"] = frame["indicateur"].map(periodicity)
    # Rank periods: observed series by recency, projections by distance to the horizon
    # (ties broken towards the earlier horizon, the less uncertain one).
    is_projection = frame["periodicite"] == "projection"
    year = frame["periode"].str.slice(0, 4).astype(int)
    month = frame["periode"].str.slice(5, 7).replace("", "0").astype(int)
    frame["_rang"] = (-(year * 100 + month)).where(~is_projection, (year - horizon).abs() * 10_000 + year)
    frame = frame.dropna(subset=["valeur"]).sort_values(["territoire", "indicateur", "_rang"], kind="stable")
    latest = frame.drop_duplicates(["territoire", "indicateur"], keep="first")
    return latest.drop(columns=["_rang", "periodicite"]).reset_index(drop=True)


def to_wide(snapshot: pd.DataFrame, catalogue: Catalogue) -> pd.DataFrame:
    """Territories × indicators matrix, columns in catalogue order (NaN where no value)."""
    wide = snapshot.pivot(index="territoire", columns="indicateur", values="valeur")
    return wide.reindex(columns=catalogue.indicators.index).astype("float64")
