"""Uncertainty and sensitivity analysis of the scores: Monte Carlo over the modelling choices.

A composite index is the product of choices — how each indicator is put on 0–100, how scores
are averaged, how much each element weighs — each defensible, none imposed by the data. The
OECD/JRC Handbook (step 7) and Saisana, Saltelli & Tarantola (2005) make these choices random
and recompute the whole index for each draw, as COINr's ``get_sensitivity`` does:

=================  ============================================================================
factor             distribution (:class:`Space`)
=================  ============================================================================
normalisation      uniform over the methods that make sense for the territories scored
                   together: relative methods (min-max, z-score, rank) need at least two
                   territories, so a territory scored alone only draws goalposts and
                   distance to target
agrégation         uniform over arithmetic, geometric and generalised means; the power of the
                   generalised mean uniform in ``power_range`` (between geometric and arithmetic)
poids              one of ``weight_sets`` noisy copies of the nominal weights: every weight
                   (indicator, commun, axis) multiplied by its own uniform factor in
                   [1 − noise, 1 + noise] (see :func:`noisy_weight_sets`)
=================  ============================================================================

Every pair of normalisation and aggregation is drawn. Min-max and rank give 0 to the worst
territory on every indicator by construction, and a geometric mean of raw scores would be 0 as
soon as one child is 0; the means that a zero would veto therefore read scores on [1, 100]
(:data:`observatoire.engine.aggregate.FLOOR`, as COINr users do), so that a zero weighs heavily
without annihilating the other scores.

Outputs (:class:`Uncertainty`): for each territory, the 5 %, 50 % and 95 % quantiles of its
overall index, axis scores, commun scores and of the rank of its index among the territories
scored together; first-order sensitivity indices of the overall index to each factor, per
territory and averaged (:func:`first_order_indices` explains the estimator).

The draws run on a vectorised numpy copy of the pipeline (:class:`ScoringModel`): the five
normalised matrices are computed once, each draw is a few matrix products over arrays
territories × indicators. ``tests/test_uncertainty.py`` checks that it reproduces
:func:`observatoire.engine.pipeline.compute_scores` for every combination of choices.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import pandas as pd

from observatoire.engine import aggregate, normalise
from observatoire.engine.catalogue import Catalogue
from observatoire.engine.scores import Choices, Scores
from observatoire.engine.weights import EQUAL, Weights

DEFAULT_SEED = 20260101
DEFAULT_DRAWS = 1000
QUANTILES = (0.05, 0.50, 0.95)
QUANTILE_COLUMNS = ("q05", "q50", "q95")

ABSOLUTE_METHODS = ("goalposts", "distance_to_target")  # a territory's score depends on itself only
RELATIVE_METHODS = ("minmax", "zscore", "rank")  # scores depend on the other territories
FACTORS = ("normalisation", "agregation", "poids")

# Coverage is compared with this slack, as in aggregate.aggregate_groups.
_COVERAGE_SLACK = 1e-12


def available_normalisations(n_territories: int) -> tuple[str, ...]:
    """Normalisation methods that make sense for ``n_territories`` scored together."""
    if n_territories >= 2:
        return normalise.METHODS
    return tuple(m for m in normalise.METHODS if m in ABSOLUTE_METHODS)


@dataclass(frozen=True)
class Space:
    """The uncertain choices and their distributions (see the module docstring).

    ``normalisations`` None means every method that makes sense for the number of territories.
    ``power_range`` bounds the uniform power of the generalised mean: (0.25, 1) spans the
    compensability between the geometric mean (p → 0) and the arithmetic mean (p = 1) without
    repeating them; a power above 1 would let a territory's strongest component carry its
    score, the opposite of resilience, where the weak link counts.
    """

    normalisations: tuple[str, ...] | None = None
    aggregations: tuple[str, ...] = aggregate.METHODS
    power_range: tuple[float, float] = (0.25, 1.0)
    weight_noise: float = 0.5
    weight_sets: int = 50

    @classmethod
    def fixed(cls, choices: Choices) -> "Space":
        """A degenerate space: the given normalisation and aggregation, nominal weights only."""
        return cls(normalisations=(choices.normalisation,), aggregations=(choices.aggregation,),
                   power_range=(choices.power, choices.power), weight_noise=0.0, weight_sets=1)

    def plan(self, n_territories: int) -> dict[str, tuple[str, ...]]:
        """Normalisation → the aggregations it may be drawn with (checked, French messages)."""
        unknown = [m for m in self.aggregations if m not in aggregate.METHODS]
        if unknown or not self.aggregations:
            raise ValueError(f"méthode d'agrégation inconnue : {unknown} (attendu : {', '.join(aggregate.METHODS)})")
        lo, hi = self.power_range
        if not lo <= hi:
            raise ValueError(f"intervalle de puissance invalide : {self.power_range}")
        if not 0 <= self.weight_noise < 1:
            raise ValueError(f"bruit des poids attendu dans [0, 1[, reçu {self.weight_noise}")
        if self.weight_sets < 1:
            raise ValueError("au moins un jeu de poids est nécessaire")
        allowed = available_normalisations(n_territories)
        if self.normalisations is None:
            methods = allowed
        else:
            methods = tuple(self.normalisations)
            bad = [m for m in methods if m not in normalise.METHODS]
            if bad or not methods:
                raise ValueError(f"méthode de normalisation inconnue : {bad} (attendu : {', '.join(normalise.METHODS)})")
            relative = [m for m in methods if m not in allowed]
            if relative:
                raise ValueError(f"les méthodes relatives {relative} demandent au moins deux territoires "
                                 f"(un seul territoire : {', '.join(allowed)})")
        plan = {m: tuple(self.aggregations) for m in methods if self.aggregations}
        if not plan:
            raise ValueError("aucune combinaison de normalisation et d'agrégation à tirer")
        return plan


# ---------------------------------------------------------------------------------------------
# The vectorised pipeline
# ---------------------------------------------------------------------------------------------


class _Children:
    """Scores of the children of one aggregation level (territories × children), with the
    transforms each mean needs computed once, on demand."""

    def __init__(self, x: np.ndarray):
        self.x = x

    @cached_property
    def present(self) -> np.ndarray:
        return np.isfinite(self.x).astype("float64")

    @cached_property
    def filled(self) -> np.ndarray:
        return np.where(np.isfinite(self.x), self.x, 0.0)

    @cached_property
    def zeros(self) -> np.ndarray:
        return (self.filled == 0.0).astype("float64") * self.present

    @cached_property
    def positive(self) -> np.ndarray:
        return self.present - self.zeros

    @cached_property
    def floored(self) -> "_Children":
        """The same scores read on [FLOOR, 100], for the means that a zero would veto."""
        return self.floored_at(aggregate.FLOOR)

    def floored_at(self, floor: float) -> "_Children":
        """The same scores read on [floor, 100] (kept per floor)."""
        kept = self.__dict__.setdefault("_floors", {})
        if floor not in kept:
            kept[floor] = _Children(aggregate.to_floor(self.x, floor))
        return kept[floor]

    @cached_property
    def logs(self) -> np.ndarray:
        with np.errstate(divide="ignore"):
            return np.where(self.positive > 0, np.log(np.where(self.positive > 0, self.filled, 1.0)), 0.0)


def _aggregate(children: _Children, w: np.ndarray, method: str, p: float, min_coverage: float,
               members: np.ndarray | None = None, floor: float | None = aggregate.FLOOR) -> np.ndarray:
    """Parents' scores from children's: ``w`` is children × parents, a child's weight in the
    column of its parent and 0 elsewhere. Same formulas as :mod:`observatoire.engine.aggregate`
    (missing children skipped, weights renormalised, scores read on [floor, 100] by the
    geometric and low-order means). ``members`` (children × parents, 1 where a child belongs
    to a parent) makes the coverage threshold count children instead of weight."""
    if floor is not None and aggregate.needs_floor(method, p):
        raw = _aggregate_raw(children.floored_at(floor), w, method, p, min_coverage, members)
        return aggregate.from_floor(raw, floor)
    return _aggregate_raw(children, w, method, p, min_coverage, members)


def _aggregate_raw(children: _Children, w: np.ndarray, method: str, p: float, min_coverage: float,
                   members: np.ndarray | None = None) -> np.ndarray:
    weight_present = children.present @ w
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        if method == "arithmetic":
            value = (children.filled @ w) / weight_present
        elif method == "geometric" or (method == "generalised" and p == 0):
            value = np.exp((children.logs @ w) / weight_present)
            value[(children.zeros @ w) > 0] = 0.0
        elif method == "generalised":
            if p > 0:
                value = np.power((np.power(children.filled, p) @ w) / weight_present, 1.0 / p)
            else:  # 0 ** p is infinite: the power mean of a zero child is 0, as in aggregate.py
                powered = np.power(np.where(children.positive > 0, children.filled, 1.0), p) * children.positive
                value = np.power((powered @ w) / weight_present, 1.0 / p)
                value[(children.zeros @ w) > 0] = 0.0
        else:
            raise ValueError(f"méthode d'agrégation inconnue : « {method} »")
        cover = weight_present / w.sum(axis=0) if members is None else \
            (children.present @ members) / members.sum(axis=0)
    return np.where(cover >= min_coverage - _COVERAGE_SLACK, value, np.nan)


def _membership(parent_of: np.ndarray, weights: np.ndarray, n_parents: int) -> np.ndarray:
    w = np.zeros((len(parent_of), n_parents))
    w[np.arange(len(parent_of)), parent_of] = weights
    return w


@dataclass(frozen=True)
class ArrayScores:
    """One run of the vectorised pipeline: arrays with the territories in rows."""

    communs: np.ndarray  # territories × communs (profile by commun)
    cells: np.ndarray  # territories × (axe, commun) cells
    axes: np.ndarray  # territories × axes
    index: np.ndarray  # territories


class ScoringModel:
    """The pipeline after the snapshot, as numpy arrays: raw matrix, group index arrays
    (indicator → commun, indicator → (axe, commun) cell, cell → axe) and the normalised
    matrices, computed once per method with :func:`observatoire.engine.normalise.normalise`.

    Element order matches :func:`~observatoire.engine.pipeline.compute_scores`: communs and axes in
    catalogue order, cells in order of first appearance.
    """

    def __init__(self, matrix: pd.DataFrame, catalogue: Catalogue,
                 min_coverage: float = aggregate.DEFAULT_MIN_COVERAGE, weights: Weights = EQUAL,
                 conventions: normalise.Options = normalise.DEFAULT_OPTIONS, coverage_by: str = "weight",
                 floor: float | None = aggregate.FLOOR):
        meta = catalogue.indicators
        self.catalogue = catalogue
        self.conventions, self.coverage_by, self.floor = conventions, coverage_by, floor
        self.matrix = matrix.reindex(columns=meta.index).astype("float64")
        self.min_coverage = float(min_coverage)
        self.nominal = weights
        self.territories = self.matrix.index
        self.indicators = meta.index
        present = set(meta["commun"])
        self.communs = pd.Index([c for c in catalogue.communs.index if c in present], name="commun")
        cell = meta["axe"].astype(str) + "|" + meta["commun"]
        self.cells = pd.Index(list(dict.fromkeys(cell)), name="cellule")
        present = set(meta["axe"])
        self.axes = pd.Index([a for a in catalogue.axes.index if a in present], name="axe")
        self.commun_of = self.communs.get_indexer(meta["commun"])
        self.cell_of = self.cells.get_indexer(cell)
        self.cell_axis = self.axes.get_indexer([int(c.split("|")[0]) for c in self.cells])
        self.cell_commun = self.communs.get_indexer([c.split("|")[1] for c in self.cells])
        self._normalised: dict[str, _Children] = {}
        ones = self.weight_matrices(np.ones(len(self.indicators)), np.ones(len(self.communs)), np.ones(len(self.axes)))
        self.members = ones if coverage_by == "count" else (None, None, None)

    @classmethod
    def from_scores(cls, scores: Scores) -> "ScoringModel":
        """The model of a :func:`~observatoire.engine.pipeline.compute_scores` run (its ``matrice``,
        counts already per 100 000 inhabitants; its coverage threshold and nominal weights)."""
        c = scores.choices
        return cls(scores.datasets["matrice"], scores.catalogue, c.min_coverage, c.weights,
                   c.conventions, c.coverage_by, c.floor)

    def normalised(self, method: str) -> _Children:
        if method not in self._normalised:
            scores = normalise.normalise(self.matrix, self.catalogue, method, self.conventions)
            self._normalised[method] = _Children(scores.to_numpy(dtype="float64"))
        return self._normalised[method]

    def weight_vectors(self, weights: Weights | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(indicators, communs, axes) weight arrays of ``weights`` (the nominal ones by default)."""
        w = weights or self.nominal
        return (np.array([w.of("indicateurs", i) for i in self.indicators], dtype="float64"),
                np.array([w.of("communs", c) for c in self.communs], dtype="float64"),
                np.array([w.of("axes", a) for a in self.axes], dtype="float64"))

    def weight_matrices(self, w_ind, w_commun, w_axis) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Membership matrices of the three aggregation steps, weights in place of ones."""
        first = np.hstack([_membership(self.commun_of, w_ind, len(self.communs)),
                           _membership(self.cell_of, w_ind, len(self.cells))])
        second = _membership(self.cell_axis, np.asarray(w_commun)[self.cell_commun], len(self.axes))
        third = np.asarray(w_axis, dtype="float64").reshape(-1, 1)
        return first, second, third

    def score(self, normalisation: str = "goalposts", aggregation: str = "arithmetic", power: float = 0.5,
              weights: Weights | tuple | None = None, matrices: tuple | None = None) -> ArrayScores:
        """Score every territory with the given choices (``weights``: a :class:`Weights` or a
        tuple of the three weight arrays; ``matrices``: from :meth:`weight_matrices`, to reuse)."""
        if matrices is None:
            vectors = weights if isinstance(weights, tuple) else self.weight_vectors(weights)
            matrices = self.weight_matrices(*vectors)
        first, second, third = matrices
        m1, m2, m3 = self.members
        agg = (aggregation, power, self.min_coverage)
        both = _aggregate(self.normalised(normalisation), first, *agg, m1, self.floor)
        communs, cells = both[:, :len(self.communs)], both[:, len(self.communs):]
        axes = _aggregate(_Children(cells), second, *agg, m2, self.floor)
        index = _aggregate(_Children(axes), third, *agg, m3, self.floor)[:, 0]
        return ArrayScores(communs, cells, axes, index)


# ---------------------------------------------------------------------------------------------
# Sampling the choices
# ---------------------------------------------------------------------------------------------


def noisy_weight_sets(nominal: np.ndarray, noise: float, n_sets: int, rng: np.random.Generator) -> np.ndarray:
    """``n_sets`` × len(nominal) weights, each nominal weight times its own U[1 − noise, 1 + noise].

    Why this rather than a Dirichlet around equal weights: it is the perturbation of Saisana et
    al. (2005) and of COINr's ``get_noisy_weights`` — each weight varies by a stated share
    (± 50 %) around its *nominal* value, so explicit weights from a YAML file stay the centre of
    the distribution and a weight of 0 stays 0; the spread reads directly (« ± 50 % »), where a
    Dirichlet's concentration parameter does not. Only ratios within a parent matter (the means
    renormalise), so no rescaling is needed.

    Why a finite number of sets drawn from, rather than fresh weights at each draw: weights are
    then one discrete factor whose levels are the sets, so its first-order index is estimable
    from the same sample (as in COINr, where the weights factor picks among noisy sets).
    """
    factors = rng.uniform(1.0 - noise, 1.0 + noise, size=(n_sets, len(nominal)))
    return nominal[None, :] * factors


def sample_choices(space: Space, model: ScoringModel, n_draws: int,
                   rng: np.random.Generator) -> tuple[pd.DataFrame, np.ndarray]:
    """The draws (one row each: normalisation, agregation, puissance, poids) and the weight sets
    (sets × [indicators, communs, axes]). Same generator state → same draws."""
    plan = space.plan(len(model.territories))
    nominal = np.concatenate(model.weight_vectors())
    weight_sets = noisy_weight_sets(nominal, space.weight_noise, space.weight_sets, rng)
    norms = list(plan)
    norm = np.array(norms, dtype=object)[rng.integers(len(norms), size=n_draws)]
    u = rng.random(n_draws)
    agg = np.array([plan[m][int(v * len(plan[m]))] for m, v in zip(norm, u)], dtype=object)
    lo, hi = space.power_range
    # Uniform on (lo, hi]: p = 0 (which switches to the geometric mean) cannot come from lo = 0.
    power = lo + (hi - lo) * (1.0 - rng.random(n_draws))
    power = np.where(agg == "generalised", power, np.nan)
    sets = rng.integers(space.weight_sets, size=n_draws)
    draws = pd.DataFrame({"normalisation": norm.astype(str), "agregation": agg.astype(str),
                          "puissance": power, "poids": sets})
    draws.index.name = "tirage"
    return draws, weight_sets


# ---------------------------------------------------------------------------------------------
# Statistics of the sample
# ---------------------------------------------------------------------------------------------


def nan_quantiles(a: np.ndarray, qs=QUANTILES) -> np.ndarray:
    """Quantiles along axis 0 skipping NaN, linear interpolation (as ``np.nanquantile``, but
    vectorised: one sort instead of one call per column). Shape: (len(qs), *a.shape[1:])."""
    s = np.sort(a, axis=0)  # NaN last
    count = np.isfinite(a).sum(axis=0)
    out = np.empty((len(qs),) + a.shape[1:], dtype="float64")
    for i, q in enumerate(qs):
        pos = q * np.maximum(count - 1, 0)
        lo = np.floor(pos).astype(np.intp)
        hi = np.minimum(lo + 1, np.maximum(count - 1, 0))
        v_lo = np.take_along_axis(s, lo[None], axis=0)[0].astype("float64")
        v_hi = np.take_along_axis(s, hi[None], axis=0)[0].astype("float64")
        t = pos - lo
        out[i] = np.where(t > 0, v_lo + (v_hi - v_lo) * t, v_lo)
    out[:, count == 0] = np.nan
    return out


def rank_descending(y: np.ndarray) -> np.ndarray:
    """Rank of each value, 1 for the highest; ties share the best rank; NaN keeps no rank."""
    valid = np.isfinite(y)
    s = np.sort(y[valid])
    r = np.full(y.shape, np.nan)
    r[valid] = len(s) - np.searchsorted(s, y[valid], side="right") + 1
    return r


def first_order_indices(y: np.ndarray, levels: np.ndarray) -> np.ndarray:
    """First-order sensitivity index S = Var(E[Y | X]) / Var(Y) of each column of ``y``
    (draws × territories) to a factor X whose value at each draw is the integer ``levels``.

    Given-data estimator (no special design: the Monte Carlo sample itself). The draws are
    grouped by the level of X; the variance of the group means, weighted by group size, estimates
    Var(E[Y|X]). With finite groups that between-group sum of squares is biased upwards by about
    (G − 1) times the within-group mean square, even when X has no effect; the estimate is
    corrected for it (as the ε² of an analysis of variance):

        S = (SS_between − (G − 1) · SS_within / (N − G)) / SS_total

    so a factor without effect gets S ≈ 0 (it may come out slightly negative: sampling noise).
    Continuous factors are binned beforehand (see :func:`factor_levels`); binning misses the
    variation of E[Y|X] within a bin, which biases S slightly downwards.

    Under the compatibility rule (module docstring) normalisation and aggregation are not drawn
    independently: S_i then keeps its meaning of the expected share of variance removed if
    choice i were fixed (the others drawn as the protocol draws them), but the indices need no
    longer add up to at most 1. A column with (numerically) no variance gets NaN.
    """
    y = np.asarray(y, dtype="float64")
    if y.ndim == 1:
        return first_order_indices(y[:, None], levels)[0]
    valid = np.isfinite(y)
    count = valid.sum(axis=0)
    mean = np.where(valid, y, 0.0).sum(axis=0) / np.maximum(count, 1)
    centred = np.where(valid, y - mean, 0.0)
    codes, _ = pd.factorize(np.asarray(levels))
    onehot = (codes[:, None] == np.arange(codes.max() + 1)[None, :]).astype("float64")
    n_g = onehot.T @ valid.astype("float64")
    s_g = onehot.T @ centred
    with np.errstate(divide="ignore", invalid="ignore"):
        ss_between = np.where(n_g > 0, s_g ** 2 / n_g, 0.0).sum(axis=0)
        ss_total = (centred ** 2).sum(axis=0)
        groups = (n_g > 0).sum(axis=0)
        ss_within = np.maximum(ss_total - ss_between, 0.0)
        s = (ss_between - (groups - 1) * ss_within / (count - groups)) / ss_total
    negligible = ss_total <= count * (1e-9 * (1.0 + np.abs(mean))) ** 2
    return np.where(negligible | (count - groups <= 0), np.nan, s)


def factor_levels(draws: pd.DataFrame, power_bins: int = 5) -> dict[str, np.ndarray]:
    """Integer level of each factor at each draw; the generalised mean's power is cut into
    ``power_bins`` bins of equal frequency, each a level of the aggregation factor."""
    agg = draws["agregation"].to_numpy()
    codes = pd.Series(agg).map({m: i for i, m in enumerate(aggregate.METHODS)}).to_numpy()
    gen = agg == "generalised"
    if gen.any() and power_bins > 1:
        p = draws["puissance"].to_numpy()
        edges = np.quantile(p[gen], np.linspace(0, 1, power_bins + 1)[1:-1])
        codes = np.where(gen, len(aggregate.METHODS) + np.searchsorted(edges, p, side="right"), codes)
    return {"normalisation": pd.factorize(draws["normalisation"])[0],
            "agregation": codes.astype(np.intp),
            "poids": draws["poids"].to_numpy(dtype=np.intp)}


# ---------------------------------------------------------------------------------------------
# The analysis
# ---------------------------------------------------------------------------------------------


@dataclass
class Uncertainty:
    """The Monte Carlo sample and what it says. Draw arrays have the draws in rows; axis and
    commun scores are kept as float32 (a 10⁻⁵ rounding, far below any printed decimal)."""

    territories: pd.Index
    axes: pd.Index
    communs: pd.Index
    draws: pd.DataFrame
    index: np.ndarray  # draws × territories
    ranks: np.ndarray  # draws × territories (1 = highest index; NaN where the index is missing)
    axis_scores: np.ndarray  # draws × territories × axes
    commun_scores: np.ndarray  # draws × territories × communs
    nominal: pd.Series  # overall index with the reference choices of the Scores analysed
    seed: int
    space: Space
    power_bins: int = 5
    _cache: dict = field(default_factory=dict, repr=False)

    @property
    def n_draws(self) -> int:
        return len(self.draws)

    def _quantiles(self, name: str, values: np.ndarray) -> np.ndarray:
        if name not in self._cache:
            self._cache[name] = (nan_quantiles(values), np.isfinite(values).mean(axis=0))
        return self._cache[name]

    def _frame(self, name: str, values: np.ndarray, elements: pd.Index | None) -> pd.DataFrame:
        q, defined = self._quantiles(name, values)
        if elements is None:
            index = self.territories
            cols = {c: q[i] for i, c in enumerate(QUANTILE_COLUMNS)}
            cols["part_definie"] = defined
        else:
            index = pd.MultiIndex.from_product([self.territories, elements], names=["territoire", elements.name])
            cols = {c: q[i].ravel() for i, c in enumerate(QUANTILE_COLUMNS)}
            cols["part_definie"] = defined.ravel()
        out = pd.DataFrame(cols, index=index)
        out.index.names = ["territoire"] + ([elements.name] if elements is not None else [])
        return out

    def index_quantiles(self) -> pd.DataFrame:
        """Territory → q05, q50, q95 of the overall index, ``reference`` (the nominal value) and
        ``part_definie`` (share of draws where the index exists)."""
        out = self._frame("indice", self.index, None)
        out.insert(3, "reference", self.nominal.reindex(self.territories).to_numpy())
        return out

    def rank_quantiles(self) -> pd.DataFrame:
        """Territory → q05, q50, q95 of the rank of its index (1 = highest) and ``reference``."""
        out = self._frame("rang", self.ranks, None)
        out.insert(3, "reference", rank_descending(self.nominal.reindex(self.territories).to_numpy()))
        return out

    def axis_quantiles(self) -> pd.DataFrame:
        return self._frame("axes", self.axis_scores, self.axes)

    def commun_quantiles(self) -> pd.DataFrame:
        return self._frame("communs", self.commun_scores, self.communs)

    def intervals(self) -> pd.DataFrame:
        """One row per territory × element (overall index, rank, axes, communs)."""
        parts = []
        for level, frame in (("indice", self.index_quantiles()), ("rang", self.rank_quantiles())):
            f = frame.drop(columns="reference").reset_index()
            f.insert(1, "niveau", level)
            f.insert(2, "element", level)
            parts.append(f)
        for level, frame in (("axe", self.axis_quantiles()), ("commun", self.commun_quantiles())):
            f = frame.reset_index()
            f.columns = ["territoire", "element", *f.columns[2:]]
            f.insert(1, "niveau", level)
            f["element"] = f["element"].astype(str)
            parts.append(f)
        return pd.concat(parts, ignore_index=True)

    def sensitivity(self) -> pd.DataFrame:
        """Territories × factors: first-order index of the overall index to each choice."""
        if "sensibilite" not in self._cache:
            levels = factor_levels(self.draws, self.power_bins)
            self._cache["sensibilite"] = pd.DataFrame(
                {f: first_order_indices(self.index, levels[f]) for f in FACTORS}, index=self.territories)
        return self._cache["sensibilite"].copy()

    def mean_sensitivity(self) -> pd.Series:
        """First-order indices averaged over the territories (those where the index varies)."""
        return self.sensitivity().mean(axis=0, skipna=True).rename("moyenne")


def monte_carlo(scores: Scores, n_draws: int = DEFAULT_DRAWS, seed: int = DEFAULT_SEED,
                space: Space | None = None, power_bins: int = 5) -> Uncertainty:
    """Recompute every territory of ``scores`` under ``n_draws`` random sets of choices.

    Weights are perturbed around the run's own (``scores.choices.weights``); the coverage
    threshold and the raw values are the run's. Same seed → identical results.
    """
    model = ScoringModel.from_scores(scores)
    space = space or Space()
    rng = np.random.default_rng(seed)
    draws, weight_sets = sample_choices(space, model, n_draws, rng)
    k, c = len(model.indicators), len(model.communs)
    matrices = [model.weight_matrices(ws[:k], ws[k:k + c], ws[k + c:]) for ws in weight_sets]

    n, n_axes = len(model.territories), len(model.axes)
    index = np.empty((n_draws, n))
    axis_scores = np.empty((n_draws, n, n_axes), dtype="float32")
    commun_scores = np.empty((n_draws, n, c), dtype="float32")
    for d, (norm, agg, p, ws) in enumerate(draws.itertuples(index=False, name=None)):
        result = model.score(norm, agg, p, matrices=matrices[ws])
        index[d] = result.index
        axis_scores[d] = result.axes
        commun_scores[d] = result.communs
    ranks = np.apply_along_axis(rank_descending, 1, index) if n_draws else np.empty((0, n))
    return Uncertainty(model.territories, model.axes, model.communs, draws, index, ranks,
                       axis_scores, commun_scores, scores.index.copy(), seed, space, power_bins)


def index_interval(source: Scores | Uncertainty, code: str, n_draws: int = DEFAULT_DRAWS,
                   seed: int = DEFAULT_SEED, space: Space | None = None) -> tuple[float, float, float]:
    """(q05, q50, q95) of territory ``code``'s overall index, for a territory's chapter.

    ``source`` is the :class:`~observatoire.engine.pipeline.Scores` of the data file (e.g.
    ``territory_sheet(...).scores``) or an :class:`Uncertainty` already computed (then
    ``n_draws``, ``seed`` and ``space`` are ignored). With the defaults it gives the same
    interval as the uncertainty annex for the same data file: relative normalisations compare
    the territories of that file. ``space=Space(normalisations=ABSOLUTE_METHODS)`` makes the
    interval depend on the territory's own values only.
    """
    result = source if isinstance(source, Uncertainty) else monte_carlo(source, n_draws, seed, space)
    code = str(code)
    if code not in result.territories:
        raise KeyError(f"le territoire « {code} » n'a pas de score dans ces données")
    row = result.index_quantiles().loc[code]
    return tuple(float(row[c]) for c in QUANTILE_COLUMNS)
