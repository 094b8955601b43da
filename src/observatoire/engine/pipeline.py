"""The scoring pipeline: snapshot → normalise → aggregate, each step's data set kept by name
and each choice logged, so that any score can say how it was made (as COINr's coin object).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd

from observatoire.engine import aggregate, denominate, impute, normalise, snapshot
from observatoire.engine.denominate import COUNT_BASE_POPULATION
from observatoire.engine.catalogue import Catalogue
from observatoire.engine.weights import EQUAL, Weights


@dataclass(frozen=True)
class Choices:
    """Every modelling choice of a run. Defaults are the book's reference choices."""

    normalisation: str = "goalposts"
    aggregation: str = "arithmetic"
    power: float = 0.5  # order of the generalised mean, used when aggregation == "generalised"
    min_coverage: float = aggregate.DEFAULT_MIN_COVERAGE
    imputation: str | None = None  # None or "group_median" (median of the territory's level)
    horizon: int = snapshot.DEFAULT_HORIZON
    weights: Weights = field(default_factory=lambda: EQUAL)


@dataclass
class Scores:
    """Result of a run: named data sets (territories × elements) and the log of choices."""

    catalogue: Catalogue
    choices: Choices
    datasets: dict[str, pd.DataFrame]
    log: list[dict]

    @property
    def indicators(self) -> pd.DataFrame:
        return self.datasets["normalise"]

    @property
    def communs(self) -> pd.DataFrame:
        return self.datasets["communs"]

    @property
    def axes(self) -> pd.DataFrame:
        return self.datasets["axes"]

    @property
    def index(self) -> pd.Series:
        return self.datasets["indice"]["indice"]

    def tidy(self) -> pd.DataFrame:
        """One row per territory × element (indicator, commun, axis, overall index)."""
        cat = self.catalogue
        snap = self.datasets["instantane"].set_index(["territoire", "indicateur"])
        parts = []
        ind = self.indicators.stack(future_stack=True).rename("score").reset_index()
        ind.columns = ["territoire", "element", "score"]
        ind["niveau"] = "indicateur"
        ind["libelle"] = ind["element"].map(cat.indicators["libelle"])
        keys = pd.MultiIndex.from_frame(ind[["territoire", "element"]])
        ind["valeur"] = snap["valeur"].reindex(keys).to_numpy()
        ind["periode"] = snap["periode"].reindex(keys).to_numpy()
        # An imputed indicator shows the value it was given (flagged « impute » below).
        imputed_values = self.datasets["matrice"].where(self.datasets["imputees"]).stack(future_stack=True)
        ind["valeur"] = ind["valeur"].fillna(pd.Series(imputed_values.reindex(keys).to_numpy(), index=ind.index))
        ind["couverture"] = np.where(ind["valeur"].notna(), 1.0, 0.0)
        parts.append(ind)
        for level, name, labels in (("commun", "communs", cat.communs["libelle"]),
                                    ("axe", "axes", cat.axes["libelle"]),
                                    ("indice", "indice", pd.Series({"indice": "Indice global"}))):
            s = self.datasets[name].stack(future_stack=True).rename("score").reset_index()
            s.columns = ["territoire", "element", "score"]
            cov = self.datasets[f"couverture_{name}"].stack(future_stack=True).to_numpy()
            s["couverture"] = cov
            s["niveau"] = level
            s["libelle"] = s["element"].map(labels)
            s["element"] = s["element"].astype(str)
            parts.append(s)
        out = pd.concat(parts, ignore_index=True)
        imputed = self.datasets["imputees"].stack(future_stack=True)
        is_imputed = pd.MultiIndex.from_frame(out[["territoire", "element"]]).isin(imputed[imputed].index)
        out["drapeau"] = np.select([out["score"].isna(), is_imputed & (out["niveau"] == "indicateur")],
                                   ["manquant", "impute"], "")
        cols = ["territoire", "niveau", "element", "libelle", "periode", "valeur", "score", "couverture", "drapeau"]
        return out[cols]


def territory_levels(codes) -> pd.Series:
    """Level of each canonical territory code (the default imputation groups)."""
    from observatoire.engine.reference import parse_territory_code

    return pd.Series({c: parse_territory_code(c)[0] for c in codes})


def compute_scores(values: pd.DataFrame, catalogue: Catalogue, choices: Choices | None = None,
                   population: pd.Series | None = None) -> Scores:
    """Score every territory present in ``values`` (the validated long table).

    ``population`` (territory code → inhabitants) is needed when the catalogue has counts.
    """
    choices = choices or Choices()
    meta = catalogue.indicators
    log: list[dict] = []
    snap, wide = snapshot.scoring_matrix(values, catalogue, choices.horizon)
    raw = wide  # as in the data file (counts as counts): what territorial roll-ups start from
    log.append({"etape": "instantane", "horizon": choices.horizon})
    counts = meta.index[meta["agregation"] == "compte"].intersection(wide.columns)
    if len(counts):
        wide = denominate.per_inhabitants(wide, counts, population)
        log.append({"etape": "comptes_par_habitant", "indicateurs": list(counts),
                    "base": COUNT_BASE_POPULATION})
    imputed = pd.DataFrame(False, index=wide.index, columns=wide.columns)
    if choices.imputation == "group_median":
        wide, imputed = impute.impute_group_median(wide, territory_levels(wide.index))
        log.append({"etape": "imputation", "methode": "group_median", "groupes": "niveau territorial",
                    "valeurs_imputees": int(imputed.to_numpy().sum())})
    elif choices.imputation is not None:
        raise ValueError(f"imputation inconnue : « {choices.imputation} » (attendu : group_median)")
    scores = normalise.normalise(wide, catalogue, choices.normalisation)
    log.append({"etape": "normalisation", "methode": choices.normalisation})

    w = choices.weights
    w_ind = pd.Series({i: w.of("indicateurs", i) for i in meta.index})
    agg = dict(method=choices.aggregation, p=choices.power, min_coverage=choices.min_coverage)

    # Profile by commun (cross-cut of all axes): the default view of the book.
    communs, cov_communs = aggregate.aggregate_groups(scores, meta["commun"], w_ind, **agg)
    communs = communs.reindex(columns=[c for c in catalogue.communs.index if c in communs.columns])
    cov_communs = cov_communs[communs.columns]

    # Tree: indicator → (axe × commun) → axe → indice.
    cell = meta["axe"].astype(str) + "|" + meta["commun"]
    cells, _ = aggregate.aggregate_groups(scores, cell, w_ind, **agg)
    cell_axis = pd.Series({c: int(c.split("|")[0]) for c in cells.columns})
    w_cell = pd.Series({c: w.of("communs", c.split("|")[1]) for c in cells.columns})
    axes, _ = aggregate.aggregate_groups(cells, cell_axis, w_cell, **agg)
    axes = axes.reindex(columns=[a for a in catalogue.axes.index if a in axes.columns])
    # Coverage of an axis is reported on its indicators, the figure a reader can check.
    _, cov_axes = aggregate.aggregate_groups(scores, meta["axe"], w_ind, **agg)
    cov_axes = cov_axes[axes.columns]
    w_axes = pd.Series({a: w.of("axes", a) for a in axes.columns})
    overall, cov_overall = aggregate.aggregate_groups(
        axes, pd.Series("indice", index=axes.columns), w_axes, **agg)
    log.append({"etape": "agregation", "methode": choices.aggregation,
                "puissance": choices.power if choices.aggregation == "generalised" else None,
                "couverture_minimale": choices.min_coverage, "poids": asdict(w)})

    datasets = {
        "brut": values,
        "instantane": snap,
        "matrice_brute": raw,
        "matrice": wide,
        "imputees": imputed,
        "normalise": scores,
        "communs": communs,
        "couverture_communs": cov_communs,
        "axes_communs": cells,
        "axes": axes,
        "couverture_axes": cov_axes,
        "indice": overall,
        "couverture_indice": cov_overall,
    }
    return Scores(catalogue, choices, datasets, log)


def score_data_file(data_path, choices: Choices | None = None, catalogue: Catalogue | None = None,
                    reference=None, demonstration: bool = False):
    """Read, validate and score a territory data file: (Scores, ValidatedData).

    Raises :class:`~observatoire.errors.ValidationError` (every problem, in French) on a bad file.
    ``demonstration``: the file may hold fictional territories (``FICTIF-…``).
    """
    from observatoire.engine.catalogue import load_catalogue
    from observatoire.engine.reference import load_reference, population_by_code
    from observatoire.engine.validate import validate_file

    catalogue = catalogue or load_catalogue()
    reference = reference or load_reference()
    data = validate_file(data_path, catalogue, reference, demonstration=demonstration)
    codes = data.values["territoire"].unique()
    population = population_by_code(reference).reindex(codes).astype("float64")
    return compute_scores(data.values, catalogue, choices, population), data
