"""Normalisation: put every indicator on a 0–100 scale where 100 is the most resilient.

Each method is a small pure function, chosen by name as in COINr (``n_goalposts`` …), oriented
by the indicator's direction (+1: more is better; -1: less is better) taken from the catalogue.
Goalposts are the default because a territory's score then depends only on its own value:
a territory re-running the book alone gets the same score as in a national run.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from observatoire.engine.catalogue import Catalogue

SCALE = 100.0


def normalise_goalposts(x, low: float, high: float, direction: int) -> np.ndarray:
    """Linear between goalposts, clipped: ``low`` → 0 and ``high`` → 100 (reversed if direction −1)."""
    x = np.asarray(x, dtype="float64")
    s = (x - low) / (high - low)
    if direction < 0:
        s = 1.0 - s
    return np.clip(s, 0.0, 1.0) * SCALE


def normalise_minmax(x, direction: int) -> np.ndarray:
    """Min–max over the territories scored together; undefined (NaN) when all values are equal."""
    x = np.asarray(x, dtype="float64")
    lo, hi = np.nanmin(x) if np.isfinite(x).any() else np.nan, np.nanmax(x) if np.isfinite(x).any() else np.nan
    if not np.isfinite(hi - lo) or hi == lo:
        return np.full_like(x, np.nan)
    s = (x - lo) / (hi - lo)
    return (s if direction > 0 else 1.0 - s) * SCALE


def normalise_zscore(x, direction: int) -> np.ndarray:
    """Standard score mapped to 50 ± 10 per standard deviation (T-score), clipped to 0–100."""
    x = np.asarray(x, dtype="float64")
    sd = np.nanstd(x, ddof=1) if np.isfinite(x).sum() > 1 else np.nan
    if not np.isfinite(sd) or sd == 0:
        return np.full_like(x, np.nan)
    z = (x - np.nanmean(x)) / sd * np.sign(direction)
    return np.clip(50.0 + 10.0 * z, 0.0, SCALE)


def normalise_rank(x, direction: int) -> np.ndarray:
    """Percentile rank among the territories (ties share their mean rank): worst 0, best 100."""
    s = pd.Series(np.asarray(x, dtype="float64"))
    n = s.notna().sum()
    if n < 2:
        return np.full(len(s), np.nan)
    r = s.rank(method="average", ascending=direction > 0)
    return ((r - 1) / (n - 1) * SCALE).to_numpy()


def normalise_distance_to_target(x, target: float, worst: float, direction: int) -> np.ndarray:
    """Share of the way from the worst goalpost to the target, capped at 100 once reached."""
    x = np.asarray(x, dtype="float64")
    s = (x - worst) / (target - worst)
    # + 0.0 turns the -0.0 of a "less is better" indicator at its worst goalpost into 0.0, which
    # a power mean of negative order would otherwise turn into -inf.
    return np.clip(s, 0.0, 1.0) * SCALE + 0.0


METHODS = ("goalposts", "minmax", "zscore", "rank", "distance_to_target")
#: What each method is called for people (CLI flags, book, Campus).
LABELS = {"goalposts": "bornes", "minmax": "minmax", "zscore": "score-z", "rank": "rang",
          "distance_to_target": "distance-cible"}


def normalise_indicator(x, meta: pd.Series, method: str) -> np.ndarray:
    """Normalise one indicator's values across territories with the named method."""
    d = int(meta["direction"])
    if method == "goalposts":
        return normalise_goalposts(x, meta["borne_basse"], meta["borne_haute"], d)
    if method == "minmax":
        return normalise_minmax(x, d)
    if method == "zscore":
        return normalise_zscore(x, d)
    if method == "rank":
        return normalise_rank(x, d)
    if method == "distance_to_target":
        worst = meta["borne_basse"] if d > 0 else meta["borne_haute"]
        best = meta["borne_haute"] if d > 0 else meta["borne_basse"]
        target = meta["cible"] if pd.notna(meta.get("cible")) else best
        return normalise_distance_to_target(x, target, worst, d)
    raise ValueError(f"méthode de normalisation inconnue : « {method} » (attendu : {', '.join(METHODS)})")


def normalise(wide: pd.DataFrame, catalogue: Catalogue, method: str = "goalposts") -> pd.DataFrame:
    """Territories × indicators raw values → territories × indicators scores (0–100)."""
    meta = catalogue.indicators
    out = {col: normalise_indicator(wide[col].to_numpy(), meta.loc[col], method) for col in wide.columns}
    return pd.DataFrame(out, index=wide.index, columns=wide.columns)
