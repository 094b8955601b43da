"""Uncertainty and sensitivity of any :class:`~observatoire.engine.coin.Coin` (COINr's
``get_sensitivity``): Monte Carlo over the choices and the weights, and Sobol indices.

The choices drawn are those of :class:`observatoire.engine.uncertainty.Space` — normalisation
method, aggregation method (and the power of the generalised mean), one of ``weight_sets``
noisy copies of the nominal weights (each weight times its own U[1 − noise, 1 + noise]). The
coin's own conventions (z-score mean and sd, rank ties, min-max range), coverage threshold and
floor are kept; a drawn method applies to every node (per-node overrides of the framework are
the nominal choice only).

- :func:`monte_carlo`: score intervals of every aggregate and rank intervals of the index;
- :func:`sobol`: first-order and total Sobol indices of the index to each choice, with the
  estimators of Saltelli et al. (2010) for the first order and of Jansen (1999) for the total
  effect, on a sample of ``n × (d + 2)`` runs (:func:`sobol_indices`, tested on the Ishigami
  function, whose indices are known in closed form).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from observatoire.engine import aggregate, normalise
from observatoire.engine.uncertainty import (QUANTILE_COLUMNS, Space, _aggregate, _Children, _membership,
                                             nan_quantiles, noisy_weight_sets, rank_descending)

ABSOLUTE = ("goalposts", "distance_to_target")


class FrameworkModel:
    """A coin after its normalisation and aggregation, as arrays: one membership matrix per
    level, the normalised matrices computed once per method. Reproduces the coin's aggregate
    data set when given its choices (tests/test_coin.py checks it)."""

    def __init__(self, coin):
        entries = {e["etape"]: e["parametres"] for e in coin.log}
        if "agregation" not in entries:
            raise ValueError("normaliser et agréger le coin avant d'en mesurer l'incertitude")
        fw = coin.framework
        self.coin = coin
        self.framework = fw
        self.territories = coin.units  # the name Space.plan and sample_choices read
        self.nominal_choice = entries
        o = dict(entries["normalisation"]["options"])
        for key in ("zscore_clip", "minmax_range"):
            o[key] = None if o[key] is None else tuple(o[key])
        self.conventions = normalise.Options(**o)
        a = entries["agregation"]
        self.min_coverage, self.coverage_by, self.floor = a["couverture_minimale"], a["base_couverture"], a["plancher"]
        self.nodes = pd.Index([c for level in fw.levels for c in fw.codes_at(level)])
        self.nominal = fw.weights.reindex(self.nodes).to_numpy().copy()
        for code, w in a["poids"].items():
            self.nominal[self.nodes.get_loc(code)] = w
        self.matrix = coin._latest("normalise")
        self.meta = fw.nodes.loc[fw.indicators]
        # Per level above the indicators: positions of the children (level below), parent of each.
        self.steps = []
        for level in fw.levels[1:]:
            below, here = fw.codes_at(level - 1), fw.codes_at(level)
            parent = here.get_indexer(fw.parent.loc[below])
            self.steps.append((self.nodes.get_indexer(below), parent, len(here)))
        self.aggregates = pd.Index([c for level in fw.levels[1:] for c in fw.codes_at(level)])
        self.members = [(_membership(parent, np.ones(len(rows)), k) if self.coverage_by == "count" else None)
                        for rows, parent, k in self.steps]
        self._normalised: dict[str, _Children] = {}
        goalposts = np.isfinite(self.meta["borne_basse"]).all()
        self.methods = normalise.METHODS if goalposts else tuple(m for m in normalise.METHODS if m not in ABSOLUTE)

    def weight_vectors(self) -> tuple[np.ndarray]:
        return (self.nominal,)

    def normalised(self, method: str) -> _Children:
        if method not in self._normalised:
            x = normalise.normalise_frame(self.matrix, self.meta, method, self.conventions)
            self._normalised[method] = _Children(x.to_numpy(dtype="float64"))
        return self._normalised[method]

    def score(self, normalisation: str, aggregation: str, power: float, weights: np.ndarray | None = None) -> np.ndarray:
        """Units × aggregates (level by level, framework order) for these choices."""
        weights = self.nominal if weights is None else weights
        children = self.normalised(normalisation)
        out = []
        for (rows, parent, k), members in zip(self.steps, self.members):
            w = _membership(parent, weights[rows], k)
            values = _aggregate(children, w, aggregation, power, self.min_coverage, members, self.floor)
            out.append(values)
            children = _Children(values)
        return np.hstack(out)


def _space(model: FrameworkModel, normalisations, aggregations, power_range, weight_noise, weight_sets) -> Space:
    if normalisations is None:
        n = len(model.territories)
        normalisations = tuple(m for m in model.methods if n >= 2 or m in ABSOLUTE)
    return Space(tuple(normalisations), tuple(aggregations), tuple(power_range), weight_noise, weight_sets)


@dataclass
class CoinUncertainty:
    """The Monte Carlo sample: draws, scores (draws × units × aggregates) and ranks of the index
    (draws × units, 1 = highest)."""

    units: pd.Index
    aggregates: pd.Index
    root: str
    draws: pd.DataFrame
    scores: np.ndarray
    ranks: np.ndarray
    nominal: pd.DataFrame  # units × aggregates, the coin's own values
    seed: int

    def intervals(self) -> pd.DataFrame:
        """One row per unit × aggregate: q05, q50, q95 of its score, ``reference`` (the coin's
        value) and ``part_definie`` (share of draws where it exists)."""
        q = nan_quantiles(self.scores)
        units = np.repeat(self.units.to_numpy(dtype=object), len(self.aggregates))
        codes = np.tile(self.aggregates.to_numpy(dtype=object), len(self.units))
        out = pd.DataFrame({"unite": units, "code": codes})
        for i, c in enumerate(QUANTILE_COLUMNS):
            out[c] = q[i].ravel()
        out["reference"] = self.nominal[self.aggregates].to_numpy().ravel()
        out["part_definie"] = np.isfinite(self.scores).mean(axis=0).ravel()
        return out

    def rank_intervals(self) -> pd.DataFrame:
        """Unit → q05, q50, q95 of the rank of its index and ``reference`` (its rank in the coin)."""
        q = nan_quantiles(self.ranks)
        out = pd.DataFrame({c: q[i] for i, c in enumerate(QUANTILE_COLUMNS)}, index=self.units)
        out["reference"] = rank_descending(self.nominal[self.root].to_numpy())
        return out


def monte_carlo(coin, n_draws: int = 1000, seed: int = 20260101, normalisations: tuple | None = None,
                aggregations: tuple = aggregate.METHODS, power_range: tuple = (0.25, 1.0),
                weight_noise: float = 0.5, weight_sets: int = 50) -> CoinUncertainty:
    """Recompute ``coin`` under ``n_draws`` random sets of choices (same seed → same results).
    ``normalisations`` None: every method the framework allows (goalposts need bounds on every
    indicator; relative methods need two units)."""
    from observatoire.engine.uncertainty import sample_choices

    model = FrameworkModel(coin)
    space = _space(model, normalisations, aggregations, power_range, weight_noise, weight_sets)
    rng = np.random.default_rng(seed)
    draws, sets = sample_choices(space, model, n_draws, rng)
    scores = np.empty((n_draws, len(model.territories), len(model.aggregates)))
    for d, (norm, agg, p, ws) in enumerate(draws.itertuples(index=False, name=None)):
        scores[d] = model.score(norm, agg, p, sets[ws])
    root = coin.framework.roots[0]
    at = model.aggregates.get_loc(root)
    ranks = np.apply_along_axis(rank_descending, 1, scores[:, :, at]) if n_draws else np.empty((0, len(coin.units)))
    nominal = coin.datasets["agrege"][list(model.aggregates)]
    return CoinUncertainty(model.territories, model.aggregates, root, draws, scores, ranks, nominal, seed)


# ---------------------------------------------------------------------------------------------
# Sobol indices
# ---------------------------------------------------------------------------------------------


def sobol_indices(f, d: int, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """First-order and total Sobol indices of ``f`` on the unit hypercube [0, 1]^d.

    ``f`` maps an (m × d) array of points to (m,) or (m × k) outputs. Two independent samples A
    and B (n × d) and, for each factor i, A with its column i taken from B (A_B^i): n (d + 2)
    evaluations. With V the variance of f over A and B (outputs centred on their mean),

        S_i  = mean(f(B) · (f(A_B^i) − f(A))) / V          (Saltelli et al. 2010)
        ST_i = mean((f(A) − f(A_B^i))²) / (2 V)             (Jansen 1999)

    Returns (S, ST), each d × k (d for a scalar output); NaN where an output does not vary.
    Evaluations where an output is NaN are left out of that output's sums.
    """
    a, b = rng.random((n, d)), rng.random((n, d))
    points = [a, b] + [np.where(np.arange(d) == i, b, a) for i in range(d)]
    y = np.asarray(f(np.vstack(points)), dtype="float64")
    scalar = y.ndim == 1
    y = y.reshape(len(points), n, -1)
    both = np.isfinite(y[0]) & np.isfinite(y[1])
    first, total = np.full((d, y.shape[2]), np.nan), np.full((d, y.shape[2]), np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        pooled = np.where(both[None], y[:2], np.nan).reshape(2 * n, -1)
        variance = np.nanvar(pooled, axis=0)
        # Centred outputs: the same expectations, far less sampling noise when the mean is large
        # against the spread (a score of 60 ± 3), where the raw first-order estimator wanders.
        y = y - np.nanmean(pooled, axis=0)
    fa, fb, fab = y[0], y[1], y[2:]
    with np.errstate(invalid="ignore", divide="ignore"):
        for i in range(d):
            ok = both & np.isfinite(fab[i])
            count = ok.sum(axis=0)
            s = np.where(ok, fb * (fab[i] - fa), 0.0).sum(axis=0) / count
            t = np.where(ok, (fa - fab[i]) ** 2, 0.0).sum(axis=0) / count / 2
            varies = variance > 1e-12 * (1 + np.nanmean(np.abs(pooled), axis=0)) ** 2  # else: constant
            first[i] = np.where(varies, s / variance, np.nan)
            total[i] = np.where(varies, t / variance, np.nan)
    return (first[:, 0], total[:, 0]) if scalar else (first, total)


@dataclass
class Sensitivity:
    """Sobol indices of the index of each unit to each factor (units × factors)."""

    first_order: pd.DataFrame
    total: pd.DataFrame
    n: int
    seed: int

    def summary(self) -> pd.DataFrame:
        """Factor → mean over the units of S (``premier_ordre``) and ST (``total``)."""
        return pd.DataFrame({"premier_ordre": self.first_order.mean(), "total": self.total.mean()})


def sobol(coin, n: int = 256, seed: int = 20260101, normalisations: tuple | None = None,
          aggregations: tuple = aggregate.METHODS, power_range: tuple = (0.25, 1.0),
          weight_noise: float = 0.5, weight_sets: int = 50) -> Sensitivity:
    """Sobol indices of the coin's index to its choices: ``normalisation``, ``agregation``,
    ``puissance`` (of the generalised mean, when it is drawn) and ``poids`` (which noisy weight
    set), each factor a uniform variable mapped onto its levels; constant factors are left out.
    Costs n × (factors + 2) runs of the model."""
    model = FrameworkModel(coin)
    space = _space(model, normalisations, aggregations, power_range, weight_noise, weight_sets)
    plan = space.plan(len(model.territories))
    rng = np.random.default_rng(seed)
    sets = noisy_weight_sets(model.nominal, space.weight_noise, space.weight_sets, rng)
    norms, aggs = list(plan), list(space.aggregations)
    lo, hi = space.power_range
    factors = [name for name, live in (("normalisation", len(norms) > 1), ("agregation", len(aggs) > 1),
                                       ("puissance", "generalised" in aggs and hi > lo),
                                       ("poids", space.weight_noise > 0 and space.weight_sets > 1)) if live]
    at = model.aggregates.get_loc(coin.framework.roots[0])

    def pick(options, u):
        return options[min(int(u * len(options)), len(options) - 1)]

    def run(points: np.ndarray) -> np.ndarray:
        out = np.empty((len(points), len(model.territories)))
        for r, u in enumerate(points):
            x = dict(zip(factors, u))
            method = pick(norms, x.get("normalisation", 0.0))
            agg = pick(aggs, x.get("agregation", 0.0))
            p = lo + (hi - lo) * x.get("puissance", 0.5)
            ws = sets[pick(range(space.weight_sets), x["poids"])] if "poids" in x else model.nominal
            out[r] = model.score(method, agg, p, ws)[:, at]
        return out

    if not factors:
        raise ValueError("aucun choix incertain : l'espace des choix ne contient qu'une combinaison")
    first, total = sobol_indices(run, len(factors), n, rng)
    units = model.territories
    return Sensitivity(pd.DataFrame(first.T, index=units, columns=factors),
                       pd.DataFrame(total.T, index=units, columns=factors), n, seed)
