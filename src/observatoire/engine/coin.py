"""The public API of the engine: one object for one composite indicator (COINr's *coin*).

A :class:`Coin` holds the data (units × indicators), the :class:`~observatoire.engine.framework.Framework`,
every intermediate data set and the log of the choices that produced them. Each step adds its
data set and records its parameters, as COINr's ``new_coin`` → ``Denominate`` → ``Impute`` →
``Normalise`` → ``Aggregate``::

    from observatoire.engine import Coin, read_framework

    coin = Coin(read_framework("cadre.csv"), data)          # data: units × indicators
    coin.normalise("minmax").aggregate("arithmetic")
    coin.results()                                          # the index and its ranks
    coin.regenerate()                                       # the same numbers, from the log alone

Units may be anything (territories, firms, countries): they are the index of ``data``. Running a
step again replaces its data set and those of the steps after it, so the log is always the
exact recipe of the data sets held.
"""

from __future__ import annotations

import json
import math
import os
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pandas as pd

from observatoire.engine import aggregate as agg
from observatoire.engine import normalise as norm
from observatoire.engine.framework import Framework
from observatoire.errors import Problem, ValidationError

#: The steps in their order, the data sets each one writes and its name in the log.
STEPS = ("denominate", "impute", "normalise", "aggregate")
OUTPUTS = {"denominate": ("denomine",), "impute": ("impute", "imputees"),
           "normalise": ("normalise",), "aggregate": ("agrege", "couverture")}
LOG_NAMES = {"denominate": "denomination", "impute": "imputation", "normalise": "normalisation",
             "aggregate": "agregation"}
#: Imputation methods: COINr's ``i_mean``, ``i_median``, ``i_mean_grp``, ``i_median_grp``.
IMPUTATIONS = ("mean", "median", "group_mean", "group_median")


class Coin:
    """Data, framework, choices and every intermediate data set of one composite indicator.

    ``data``: a DataFrame whose index holds the units and whose columns include every indicator
    of ``framework`` (other columns are ignored). ``denominators``: a DataFrame indexed by unit
    with the columns named in the framework's ``denominateur`` (optional). ``groups``: unit →
    group, for group imputation (optional). Bad input raises
    :class:`~observatoire.errors.ValidationError` with every problem, in French.
    """

    def __init__(self, framework: Framework, data: pd.DataFrame, denominators: pd.DataFrame | None = None,
                 groups: pd.Series | None = None, name: str = "indice"):
        if not isinstance(framework, Framework):
            raise ValidationError([Problem("cadre", None, None, type(framework).__name__,
                                           "un cadre lu par read_framework est attendu")])
        self.framework = framework
        self.name = name
        self.denominators = denominators
        self.groups = groups
        self.datasets: dict[str, pd.DataFrame] = {"brut": _check_data(data, framework)}
        self.log: list[dict] = []

    # --- the steps -------------------------------------------------------------------------

    def denominate(self, by: dict[str, str] | None = None, scale: float = 1.0) -> "Coin":
        """Divide indicators by a denominator (COINr ``Denominate``): ``x / (d / scale)``.

        ``by`` maps an indicator to a column of ``denominators`` (default: the framework's
        ``denominateur`` column). ``scale`` expresses the result per ``scale`` units of the
        denominator (the Observatoire: counts per 100 000 inhabitants)."""
        fw = self.framework
        if by is None:
            by = {i: d for i, d in fw.nodes.loc[fw.indicators, "denominateur"].items() if d}
        by = {str(k): str(v) for k, v in by.items()}
        problems = [Problem("denominateurs", None, "indicateur", i, "indicateur inconnu du cadre")
                    for i in by if i not in fw.indicators]
        if by and self.denominators is None:
            problems.append(Problem("denominateurs", None, None, None,
                                    "table des dénominateurs requise (Coin(..., denominators=...))"))
        elif by:
            problems += [Problem("denominateurs", None, d, None, "colonne absente de la table des dénominateurs")
                         for d in sorted(set(by.values())) if d not in self.denominators.columns]
        if problems:
            raise ValidationError(problems)
        self._start("denominate")
        out = self.datasets["brut"].copy(deep=False)  # copy-on-write: only the columns divided are new
        for indicator, column in by.items():
            d = pd.to_numeric(self.denominators[column], errors="coerce").reindex(out.index).astype("float64")
            out[indicator] = out[indicator] / (d / scale)
        self.datasets["denomine"] = out
        self._record("denominate", {"par": dict(sorted(by.items())), "echelle": scale})
        return self

    def impute(self, method: str = "group_median", groups: pd.Series | None = None) -> "Coin":
        """Fill missing values, flagged in the ``imputees`` mask (COINr ``Impute``):
        ``mean``/``median`` of the indicator over all units (``i_mean``, ``i_median``) or over the
        units of the same group (``group_mean`` = ``i_mean_grp``, ``group_median`` = ``i_median_grp``).
        A value stays missing when its group has none."""
        if method not in IMPUTATIONS:
            raise ValueError(f"imputation inconnue : « {method} » (attendu : {', '.join(IMPUTATIONS)})")
        x = self._latest("impute")
        if method.startswith("group_"):
            groups = self.groups if groups is None else groups
            if groups is None:
                raise ValueError("groupes requis pour une imputation par groupe (Coin(..., groups=...))")
            groups = pd.Series(groups).reindex(x.index)
            filled = x.fillna(x.groupby(groups).transform(method.removeprefix("group_")))
        else:
            filled = x.fillna(getattr(x, method)())
        self._start("impute")
        self.datasets["impute"] = filled
        self.datasets["imputees"] = x.isna() & filled.notna()
        self._record("impute", {"methode": method, "valeurs_imputees": int(self.datasets["imputees"].to_numpy().sum())})
        return self

    def normalise(self, method: str = "goalposts", options: norm.Options | None = None, **conventions) -> "Coin":
        """Put every indicator on a common scale, oriented by its direction (COINr ``Normalise``).

        ``method``: one of :data:`observatoire.engine.normalise.METHODS`; an indicator with its
        own ``normalisation`` in the framework keeps it. Conventions (see
        :class:`observatoire.engine.normalise.Options`): ``zscore_mean``, ``zscore_sd``,
        ``zscore_clip``, ``rank_ties``, ``minmax_range``."""
        if method not in norm.METHODS:
            raise ValueError(f"méthode de normalisation inconnue : « {method} » (attendu : {', '.join(norm.METHODS)})")
        options = options or norm.Options(**conventions)
        fw = self.framework
        meta = fw.nodes.loc[fw.indicators]
        methods = [own or method for own in meta["normalisation"]]
        low = meta["borne_basse"].to_numpy(dtype="float64")
        needs_posts = [i for i, m, lo in zip(meta.index, methods, low)
                       if m in ("goalposts", "distance_to_target") and not np.isfinite(lo)]
        if needs_posts:
            raise ValidationError([Problem(fw.source, None, "borne_basse", i, f"bornes requises par la méthode "
                                           f"« {meta.at[i, 'normalisation'] or method} »") for i in needs_posts])
        x = self._latest("normalise")
        self._start("normalise")
        self.datasets["normalise"] = norm.normalise_frame(x, meta, method, options, meta["normalisation"])
        self._record("normalise", {"methode": method, "options": _plain(asdict(options)),
                                   "propres": {i: m for i, m in meta["normalisation"].items() if m}})
        return self

    def aggregate(self, method: str = "arithmetic", power: float = 0.5, weights: dict | str | None = None,
                  min_coverage: float = agg.DEFAULT_MIN_COVERAGE, coverage_by: str = "weight",
                  floor: float | None = agg.FLOOR) -> "Coin":
        """Aggregate level by level, from the indicators up (COINr ``Aggregate``).

        ``method``: ``arithmetic``, ``geometric`` or ``generalised`` (of order ``power``); an
        aggregate with its own ``agregation``/``puissance`` in the framework keeps them.
        ``weights``: None (the framework's), ``"equal"``, or code → weight (≥ 0) replacing those
        named. A parent is missing when its children with a value carry less than
        ``min_coverage`` of the total, counted ``by="weight"`` or by number of children
        (``"count"``, COINr's ``dat_thresh``). ``floor``: the geometric and order ≤ 0 means read
        scores on [floor, 100] (None: as they are)."""
        if method not in agg.METHODS:
            raise ValueError(f"méthode d'agrégation inconnue : « {method} » (attendu : {', '.join(agg.METHODS)})")
        if coverage_by not in agg.COVERAGE_BASES:
            raise ValueError(f"base de couverture inconnue : « {coverage_by} » (attendu : {', '.join(agg.COVERAGE_BASES)})")
        if not 0 <= min_coverage <= 1:
            raise ValueError(f"couverture minimale attendue entre 0 et 1, reçu {min_coverage}")
        if floor is not None and not 0 <= floor < agg.SCALE:
            raise ValueError(f"plancher attendu dans [0, 100[, reçu {floor}")
        if "normalise" not in self.datasets:
            raise ValueError("normaliser avant d'agréger (coin.normalise(...))")
        w = self._weights(weights)
        fw = self.framework
        nodes = fw.nodes
        scores = self.datasets["normalise"]
        codes = [c for level in fw.levels for c in fw.codes_at(level)]
        column = {c: j for j, c in enumerate(codes)}
        parents = [c for level in fw.levels[1:] for c in fw.codes_at(level)]
        # Every node's scores in one matrix, a column each, column-major: the children of a
        # parent, when adjacent, are read where they are; the data set is the matrix itself.
        out = np.empty((len(scores.index), len(codes)), order="F")
        cover = np.empty((len(scores.index), len(parents)), order="F")
        leaves = codes[:len(codes) - len(parents)]  # the indicators
        if list(scores.columns) == leaves:
            out[:, :len(leaves)] = scores.to_numpy(dtype="float64")
        else:
            for j, c in enumerate(leaves):
                out[:, j] = scores[c].to_numpy(dtype="float64")
        # Weights and settings by row position of the framework's nodes (w follows their order).
        weight = w.to_numpy(dtype="float64") if w.index.equals(nodes.index) else w.reindex(nodes.index).to_numpy()
        own_method = nodes["agregation"].to_numpy(dtype=object)
        own_power = nodes["puissance"].to_numpy(dtype="float64")
        out_column = np.array([column[c] for c in nodes.index], dtype="intp")
        for j, parent in enumerate(parents):
            rows = fw.child_positions(parent)
            at = nodes.index.get_loc(parent)
            children = out_column[rows]
            adjacent = len(children) and (np.diff(children) == 1).all()
            x = out[:, children[0]:children[-1] + 1] if adjacent else out[:, children]
            m = own_method[at] or method
            p = own_power[at] if np.isfinite(own_power[at]) else power
            value, cover[:, j] = agg.aggregate_and_cover(x, weight[rows], m, p, floor, coverage_by)
            out[:, column[parent]] = np.where(cover[:, j] >= min_coverage - 1e-12, value, np.nan)
        self._start("aggregate")
        self.datasets["agrege"] = pd.DataFrame(out, index=scores.index, columns=pd.Index(codes), copy=False)
        self.datasets["couverture"] = pd.DataFrame(cover, index=scores.index, columns=pd.Index(parents), copy=False)
        self._record("aggregate", {
            "methode": method, "puissance": power if method == "generalised" else None,
            "poids": {c: float(v) for c, v in w.items()}, "couverture_minimale": min_coverage,
            "base_couverture": coverage_by, "plancher": floor,
            "propres": {c: {"methode": nodes.at[c, "agregation"] or method,
                            "puissance": None if not np.isfinite(nodes.at[c, "puissance"]) else float(nodes.at[c, "puissance"])}
                        for c in fw.aggregates if nodes.at[c, "agregation"] or np.isfinite(nodes.at[c, "puissance"])},
        })
        return self

    # --- the log -----------------------------------------------------------------------------

    def choices(self) -> list[dict]:
        """The log: one entry per step run, ``{"etape", "parametres"}``, in order (JSON-ready)."""
        return [dict(entry) for entry in self.log]

    def regenerate(self) -> "Coin":
        """A new coin computed from the raw data, the framework and the log alone."""
        again = Coin(self.framework, self.datasets["brut"], self.denominators, self.groups, self.name)
        for entry in self.log:
            p = entry["parametres"]
            if entry["etape"] == "denomination":
                again.denominate(p["par"], p["echelle"])
            elif entry["etape"] == "imputation":
                again.impute(p["methode"])
            elif entry["etape"] == "normalisation":
                o = dict(p["options"])
                for key in ("zscore_clip", "minmax_range"):
                    o[key] = None if o[key] is None else tuple(o[key])
                again.normalise(p["methode"], norm.Options(**o))
            elif entry["etape"] == "agregation":
                again.aggregate(p["methode"], p["puissance"] if p["puissance"] is not None else 0.5, p["poids"],
                                p["couverture_minimale"], p["base_couverture"], p["plancher"])
        return again

    # --- results -----------------------------------------------------------------------------

    @property
    def units(self) -> pd.Index:
        return self.datasets["brut"].index

    def level(self, level: int) -> pd.DataFrame:
        """Scores of the nodes of ``level`` (units × codes): 1 gives the normalised indicators."""
        self._need("agrege")
        return self.datasets["agrege"][self.framework.codes_at(level)]

    def scores(self, code: str | None = None) -> pd.Series:
        """Scores of node ``code`` (default: the first root, the index) for every unit."""
        self._need("agrege")
        return self.datasets["agrege"][code or self.framework.roots[0]]

    def results(self) -> pd.DataFrame:
        """Units sorted by the index: score and rank of every root and level-below aggregate
        (COINr ``get_results``). Ties share the best rank."""
        fw = self.framework
        root = fw.roots[0]
        top = self.datasets["agrege"][[*fw.roots, *[c for c in fw.aggregates if fw.parent[c] == root]]]
        out = top.copy()
        out.insert(1, "rang", pd.array(_rank_descending(top[root].to_numpy()), dtype="Int64"))
        return out.sort_values(["rang"], kind="stable")

    def tidy(self) -> pd.DataFrame:
        """One row per unit × node: ``unite, niveau, code, libelle, valeur, score, couverture,
        drapeau`` (``impute`` for an imputed indicator, ``manquant`` for a missing score)."""
        self._need("agrege")
        fw = self.framework
        scores = self.datasets["agrege"]
        raw = self._latest("normalise")
        cover = self.datasets["couverture"]
        n, codes = len(scores.index), list(scores.columns)
        units = np.tile(scores.index.to_numpy(dtype=object), len(codes))
        code_col = np.repeat(np.asarray(codes, dtype=object), n)
        values = np.concatenate([raw[c].to_numpy() if c in raw.columns else np.full(n, np.nan) for c in codes])
        coverage = np.concatenate([cover[c].to_numpy() if c in cover.columns
                                   else np.where(np.isfinite(raw[c].to_numpy()), 1.0, 0.0) for c in codes])
        imputed = self.datasets.get("imputees")
        flag_imputed = np.concatenate([imputed[c].to_numpy() if imputed is not None and c in imputed.columns
                                       else np.zeros(n, bool) for c in codes])
        score = scores.to_numpy().T.ravel()
        out = pd.DataFrame({
            "unite": units, "niveau": fw.nodes["niveau"].reindex(code_col).to_numpy(), "code": code_col,
            "libelle": fw.labels.reindex(code_col).to_numpy(), "valeur": values, "score": score,
            "couverture": coverage,
            "drapeau": np.select([np.isnan(score), flag_imputed], ["manquant", "impute"], ""),
        })
        return out.sort_values(["unite", "niveau"], kind="stable").reset_index(drop=True)

    def export(self, directory: str | os.PathLike) -> dict[str, Path]:
        """Write ``resultats.csv``, ``resultats.parquet`` and ``datapackage.json`` (with the
        framework and the log) into ``directory``; same coin, same bytes."""
        from observatoire.engine.export import export_coin

        return export_coin(self, directory)

    # --- uncertainty and sensitivity ---------------------------------------------------------

    def uncertainty(self, n_draws: int = 1000, seed: int = 20260101, **space):
        """Monte Carlo over the choices and the weights: score and rank intervals of every
        aggregate (see :func:`observatoire.engine.sensitivity.monte_carlo` and its ``space``)."""
        from observatoire.engine.sensitivity import monte_carlo

        return monte_carlo(self, n_draws, seed, **space)

    def sensitivity(self, n: int = 256, seed: int = 20260101, **space):
        """First-order and total Sobol indices of the index to each choice (see
        :func:`observatoire.engine.sensitivity.sobol`)."""
        from observatoire.engine.sensitivity import sobol

        return sobol(self, n, seed, **space)

    # --- internals ---------------------------------------------------------------------------

    def _weights(self, weights) -> pd.Series:
        fw = self.framework
        w = fw.weights.copy()
        if isinstance(weights, str):
            if weights not in ("equal", "egaux"):
                raise ValueError(f"poids inconnus : « {weights} » (attendu : equal, ou un dictionnaire code → poids)")
            w[:] = 1.0
        elif weights is not None:
            w = fw.with_weights(dict(weights)).weights
        return w

    def _latest(self, step: str) -> pd.DataFrame:
        """The data set a step reads: the last one written before it."""
        order = {"impute": ("denomine", "brut"), "normalise": ("impute", "denomine", "brut")}.get(step, ("brut",))
        return next(self.datasets[name] for name in order if name in self.datasets)

    def _start(self, step: str) -> None:
        later = STEPS[STEPS.index(step):]
        for s in later:
            for name in OUTPUTS[s]:
                self.datasets.pop(name, None)
        names = {LOG_NAMES[s] for s in later}
        self.log = [e for e in self.log if e["etape"] not in names]

    def _record(self, step: str, parameters: dict) -> None:
        self.log.append({"etape": LOG_NAMES[step], "parametres": _plain(parameters)})

    def _need(self, name: str) -> None:
        if name not in self.datasets:
            raise ValueError("agréger avant de lire les scores (coin.normalise(...).aggregate(...))")

    def __repr__(self) -> str:
        fw = self.framework
        return (f"Coin « {self.name} » : {len(self.units)} unités, {len(fw.indicators)} indicateurs, "
                f"{len(fw.levels)} niveaux ; jeux de données : {', '.join(self.datasets)}")


def _check_data(data: pd.DataFrame, framework: Framework) -> pd.DataFrame:
    source = "donnees"
    if not isinstance(data, pd.DataFrame):
        raise ValidationError([Problem(source, None, None, type(data).__name__,
                                       "un tableau (DataFrame) unités × indicateurs est attendu")])
    problems = []
    missing = [i for i in framework.indicators if i not in data.columns]
    if missing:
        problems.append(Problem(source, None, None, ", ".join(missing),
                                "indicateur(s) du cadre absent(s) des colonnes des données"))
    index = pd.Index(data.index.astype(str), name=data.index.name or "unite")
    twice = index[index.duplicated()].unique()
    if len(twice):
        problems.append(Problem(source, None, index.name, ", ".join(twice[:10]), "unité en double"))
    if problems:
        raise ValidationError(problems)
    out = data[list(framework.indicators)]  # copy-on-write (pandas 3): the caller's frame is never changed
    out.index = index
    for column in out.columns:
        if pd.api.types.is_float_dtype(out[column]):
            continue
        values = pd.to_numeric(out[column], errors="coerce")
        bad = values.isna() & out[column].notna() & (out[column].astype(str).str.strip() != "")
        for unit in out.index[bad.to_numpy()][:5]:
            problems.append(Problem(source, None, column, f"{unit} : {out.at[unit, column]}", "nombre attendu"))
        out[column] = values.astype("float64")
    if problems:
        raise ValidationError(problems)
    return out


def _rank_descending(y: np.ndarray) -> np.ndarray:
    from observatoire.engine.uncertainty import rank_descending

    return rank_descending(np.asarray(y, dtype="float64"))


def _plain(obj):
    """JSON values: tuples as lists, numpy scalars unwrapped, NaN as None."""
    if isinstance(obj, dict):
        return {str(k): _plain(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_plain(v) for v in obj]
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    return obj


def log_json(coin: Coin) -> str:
    """The log as JSON text (keys sorted), as recorded in an export."""
    return json.dumps(coin.choices(), ensure_ascii=False, sort_keys=True)
