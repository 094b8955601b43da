"""Normalisation: put every indicator on a 0–100 scale where 100 is the most resilient.

Each method is a small pure function, chosen by name as in COINr (``n_goalposts`` …), oriented
by the indicator's direction (+1: more is better; -1: less is better) taken from the catalogue.
Goalposts are the default because a territory's score then depends only on its own value:
a territory re-running the book alone gets the same score as in a national run.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd


SCALE = 100.0


def normalise_goalposts(x, low: float, high: float, direction: int) -> np.ndarray:
    """Linear between goalposts, clipped: ``low`` → 0 and ``high`` → 100 (reversed if direction −1)."""
    x = np.asarray(x, dtype="float64")
    s = (x - low) / (high - low)
    if direction < 0:
        s = 1.0 - s
    return np.clip(s, 0.0, 1.0) * SCALE


def normalise_minmax(x, direction: int, low: float = 0.0, high: float = SCALE) -> np.ndarray:
    """Min–max over the units scored together onto [low, high] (COINr ``n_minmax(x, l_u)``, with
    ``x`` multiplied by its direction first, as COINr does); undefined (NaN) when all values are
    equal. The Observatoire's default is [0, 100]."""
    x = np.asarray(x, dtype="float64")
    lo, hi = np.nanmin(x) if np.isfinite(x).any() else np.nan, np.nanmax(x) if np.isfinite(x).any() else np.nan
    if not np.isfinite(hi - lo) or hi == lo:
        return np.full_like(x, np.nan)
    s = (x - lo) / (hi - lo)
    if direction < 0:
        s = 1.0 - s
    return s * (high - low) + low


def normalise_zscore(x, direction: int, mean: float = 50.0, sd: float = 10.0,
                     clip: tuple[float, float] | None = (0.0, SCALE)) -> np.ndarray:
    """Standard score ``mean + sd · z`` (sample standard deviation, as R's ``sd``), then clipped to
    ``clip`` unless it is None. The Observatoire's default is the T-score 50 ± 10 clipped to
    [0, 100]; COINr's ``n_zscore(x, m_sd = c(0, 1))`` is ``mean=0, sd=1, clip=None``."""
    x = np.asarray(x, dtype="float64")
    spread = np.nanstd(x, ddof=1) if np.isfinite(x).sum() > 1 else np.nan
    if not np.isfinite(spread) or spread == 0:
        return np.full_like(x, np.nan)
    z = (x - np.nanmean(x)) / spread * np.sign(direction)
    out = mean + sd * z
    return out if clip is None else np.clip(out, clip[0], clip[1])


#: Tie rules of the percentile rank: pandas' (and R's ``rank(ties.method=)``) names.
RANK_TIES = ("average", "min", "max")


def normalise_rank(x, direction: int, ties: str = "average") -> np.ndarray:
    """Percentile rank among the units, ``(r − 1) / (n − 1)`` × 100: worst 0, best 100.

    ``ties``: ``"average"`` (the Observatoire's default: tied units share their mean rank) or
    ``"min"`` (COINr's ``n_prank(x, ties.method = "min")``, here × 100), or ``"max"``."""
    if ties not in RANK_TIES:
        raise ValueError(f"règle d'égalité des rangs inconnue : « {ties} » (attendu : {', '.join(RANK_TIES)})")
    s = pd.Series(np.asarray(x, dtype="float64"))
    n = s.notna().sum()
    if n < 2:
        return np.full(len(s), np.nan)
    r = s.rank(method=ties, ascending=direction > 0)
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


@dataclass(frozen=True)
class Options:
    """Conventions of the relative methods, each an explicit option (defaults: the Observatoire's).

    ============  =============================  ==========================================
    option        Observatoire default           COINr equivalent
    ============  =============================  ==========================================
    zscore_mean   50                             ``n_zscore(m_sd = c(0, 1))``: mean 0
    zscore_sd     10                             ``n_zscore``: sd 1
    zscore_clip   (0, 100)                       none (None)
    rank_ties     ``"average"``                  ``n_prank(ties.method = "min")``: ``"min"``
    minmax_range  (0, 100)                       ``n_minmax(l_u = c(0, 100))``: the same
    ============  =============================  ==========================================
    """

    zscore_mean: float = 50.0
    zscore_sd: float = 10.0
    zscore_clip: tuple[float, float] | None = (0.0, SCALE)
    rank_ties: str = "average"
    minmax_range: tuple[float, float] = (0.0, SCALE)

    def __post_init__(self):
        if not (np.isfinite(self.zscore_sd) and self.zscore_sd > 0):
            raise ValueError(f"écart-type du score z strictement positif attendu, reçu {self.zscore_sd}")
        if self.rank_ties not in RANK_TIES:
            raise ValueError(f"règle d'égalité des rangs inconnue : « {self.rank_ties} » "
                             f"(attendu : {', '.join(RANK_TIES)})")
        lo, hi = self.minmax_range
        if not lo < hi:
            raise ValueError(f"intervalle min-max invalide : {self.minmax_range} (borne basse < borne haute attendue)")


DEFAULT_OPTIONS = Options()


def normalise_indicator(x, meta: pd.Series, method: str, options: Options = DEFAULT_OPTIONS) -> np.ndarray:
    """Normalise one indicator's values across units with the named method.

    ``meta`` holds ``direction`` and, for the absolute methods, ``borne_basse``, ``borne_haute``
    and optionally ``cible``."""
    d = int(meta["direction"])
    if method == "goalposts":
        return normalise_goalposts(x, meta["borne_basse"], meta["borne_haute"], d)
    if method == "minmax":
        return normalise_minmax(x, d, *options.minmax_range)
    if method == "zscore":
        return normalise_zscore(x, d, options.zscore_mean, options.zscore_sd, options.zscore_clip)
    if method == "rank":
        return normalise_rank(x, d, options.rank_ties)
    if method == "distance_to_target":
        worst = meta["borne_basse"] if d > 0 else meta["borne_haute"]
        best = meta["borne_haute"] if d > 0 else meta["borne_basse"]
        target = meta["cible"] if pd.notna(meta.get("cible")) else best
        return normalise_distance_to_target(x, target, worst, d)
    raise ValueError(f"méthode de normalisation inconnue : « {method} » (attendu : {', '.join(METHODS)})")


def normalise_frame(wide: pd.DataFrame, meta: pd.DataFrame, method: str = "goalposts",
                    options: Options = DEFAULT_OPTIONS, overrides: pd.Series | None = None) -> pd.DataFrame:
    """Units × indicators raw values → units × indicators scores, one column at a time.

    ``meta`` is indexed by indicator (``direction``, goalposts); ``overrides`` maps an indicator
    to its own method (a framework's ``normalisation`` column), other indicators take ``method``.
    """
    def method_of(col) -> str:
        if overrides is not None:
            own = overrides.get(col)
            if isinstance(own, str) and own:
                return own
        return method

    if len(wide.columns) and all(method_of(col) == "goalposts" for col in wide.columns):
        # Every column by its goalposts: the same arithmetic, on the whole matrix at once.
        m = meta.loc[wide.columns]
        low, high = m["borne_basse"].to_numpy(dtype="float64"), m["borne_haute"].to_numpy(dtype="float64")
        s = wide.to_numpy(dtype="float64") - low  # then in place: one matrix, not five
        s /= high - low
        reverse = m["direction"].to_numpy(dtype="float64") < 0
        if reverse.any():
            s[:, reverse] = 1.0 - s[:, reverse]
        np.clip(s, 0.0, 1.0, out=s)
        s *= SCALE
        return pd.DataFrame(s, index=wide.index, columns=wide.columns, copy=False)
    out = {col: normalise_indicator(wide[col].to_numpy(), meta.loc[col], method_of(col), options)
           for col in wide.columns}
    return pd.DataFrame(out, index=wide.index, columns=wide.columns)


def normalise(wide: pd.DataFrame, catalogue, method: str = "goalposts",
              options: Options = DEFAULT_OPTIONS) -> pd.DataFrame:
    """Territories × indicators raw values → territories × indicators scores (0–100), with the
    catalogue's directions and goalposts."""
    return normalise_frame(wide, catalogue.indicators, method, options)
