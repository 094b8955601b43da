"""The scoring pipeline: snapshot → normalise → aggregate, each step's data set kept by name
and each choice logged, so that any score can say how it was made (as COINr's coin object).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

import numpy as np
import pandas as pd

from observatoire.engine import aggregate, denominate, impute, normalise, snapshot
from observatoire.engine.denominate import COUNT_BASE_POPULATION
from observatoire.engine.catalogue import INDEX_CODE, Catalogue, catalogue_framework
from observatoire.engine.coin import Coin
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
    #: Conventions of the relative normalisations (z-score mean and sd, rank ties, min-max range).
    conventions: normalise.Options = normalise.DEFAULT_OPTIONS
    #: The coverage threshold counts the weight of the children with a value, or their number.
    coverage_by: str = "weight"
    #: Geometric and order ≤ 0 means read scores on [floor, 100]; None: as they are.
    floor: float | None = aggregate.FLOOR


@dataclass
class Scores:
    """Result of a run: named data sets (territories × elements) and the log of choices."""

    catalogue: Catalogue
    choices: Choices
    datasets: dict[str, pd.DataFrame]
    log: list[dict]
    #: The public API's object behind these scores (framework, data sets, log of choices).
    coin: Coin | None = None

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
    """Level of each canonical territory code (the default imputation groups); a code that is
    not a territory's (a fictional territory, a firm) forms the group « autre »."""
    from observatoire.engine.reference import TerritoryCodeError, parse_territory_code

    def level(code) -> str:
        try:
            return parse_territory_code(code)[0]
        except TerritoryCodeError:
            return "autre"

    return pd.Series({c: level(c) for c in codes}, dtype=object)


def compute_scores(values: pd.DataFrame, catalogue: Catalogue, choices: Choices | None = None,
                   population: pd.Series | None = None) -> Scores:
    """Score every territory present in ``values`` (the validated long table).

    The Observatoire's run of the public API: the catalogue's framework
    (:func:`~observatoire.engine.catalogue.catalogue_framework`) in a
    :class:`~observatoire.engine.coin.Coin`, denominated, imputed, normalised and aggregated
    with ``choices``; then the profile by commun, a cross-cut of the same scores. The coin is
    kept in :attr:`Scores.coin`. ``population`` (territory code → inhabitants) is needed when
    the catalogue has counts.
    """
    choices = choices or Choices()
    meta = catalogue.indicators
    log: list[dict] = []
    snap, wide = snapshot.scoring_matrix(values, catalogue, choices.horizon)
    log.append({"etape": "instantane", "horizon": choices.horizon})
    counts = meta.index[meta["agregation"] == "compte"].intersection(wide.columns)
    if len(counts) and population is None:
        raise ValueError(f"population requise pour ramener les comptes à {COUNT_BASE_POPULATION:_} habitants"
                         .replace("_", " "))
    if choices.imputation not in impute.METHODS:
        raise ValueError(f"imputation inconnue : « {choices.imputation} » (attendu : group_median)")
    denominators = None if population is None else pd.DataFrame({"population": population})
    groups = territory_levels(wide.index) if choices.imputation == "group_median" else None
    coin = Coin(catalogue_framework(catalogue), wide, denominators, groups)
    if len(counts):
        coin.denominate({c: "population" for c in counts}, COUNT_BASE_POPULATION)
        log.append({"etape": "comptes_par_habitant", "indicateurs": list(counts),
                    "base": COUNT_BASE_POPULATION})
    if choices.imputation == "group_median":
        coin.impute("group_median")
        log.append({"etape": "imputation", "methode": "group_median", "groupes": "niveau territorial",
                    "valeurs_imputees": int(coin.datasets["imputees"].to_numpy().sum())})
    matrix = coin.datasets.get("denomine", coin.datasets["brut"])
    imputed = coin.datasets.get("imputees", pd.DataFrame(False, index=wide.index, columns=wide.columns))
    matrix = coin.datasets.get("impute", matrix)
    coin.normalise(choices.normalisation, choices.conventions)
    scores = coin.datasets["normalise"]
    log.append({"etape": "normalisation", "methode": choices.normalisation}
               | ({"conventions": asdict(choices.conventions)} if choices.conventions != normalise.DEFAULT_OPTIONS else {}))

    w = choices.weights
    w_ind = pd.Series({i: w.of("indicateurs", i) for i in meta.index})
    node_weights = dict(w_ind) | {cell: w.of("communs", cell.split("|")[1]) for cell in coin.framework.codes_at(2)}
    node_weights |= {str(a): w.of("axes", a) for a in catalogue.axes.index if str(a) in coin.framework.nodes.index}
    coin.aggregate(choices.aggregation, choices.power, node_weights, choices.min_coverage,
                   choices.coverage_by, choices.floor)
    agg = dict(method=choices.aggregation, p=choices.power, min_coverage=choices.min_coverage,
               coverage_by=choices.coverage_by, floor=choices.floor)

    # Profile by commun (cross-cut of all axes): the default view of the book.
    communs, cov_communs = aggregate.aggregate_groups(scores, meta["commun"], w_ind, **agg)
    communs = communs.reindex(columns=[c for c in catalogue.communs.index if c in communs.columns])
    cov_communs = cov_communs[communs.columns]

    # Tree: indicator → (axe × commun) → axe → indice, from the coin.
    fw = coin.framework
    aggregated = coin.datasets["agrege"]
    cells = aggregated[list(fw.codes_at(2))]
    axis_codes = list(fw.codes_at(3))
    axes = aggregated[axis_codes].set_axis([int(a) for a in axis_codes], axis=1)
    # Coverage of an axis is reported on its indicators, the figure a reader can check.
    x = scores.to_numpy()
    cov_axes = pd.DataFrame({a: aggregate.coverage(x[:, (meta["axe"] == a).to_numpy()],
                                                   w_ind[meta["axe"] == a].to_numpy(), choices.coverage_by)
                             for a in axes.columns}, index=scores.index)
    overall = aggregated[[INDEX_CODE]]
    cov_overall = coin.datasets["couverture"][[INDEX_CODE]]
    log.append({"etape": "agregation", "methode": choices.aggregation,
                "puissance": choices.power if choices.aggregation == "generalised" else None,
                "couverture_minimale": choices.min_coverage, "poids": asdict(w)}
               | ({"base_couverture": choices.coverage_by} if choices.coverage_by != "weight" else {})
               | ({"plancher": choices.floor} if choices.floor != aggregate.FLOOR else {}))

    datasets = {
        "brut": values,
        "instantane": snap,
        "matrice_brute": wide,  # as in the data file (counts as counts): what territorial roll-ups start from
        "matrice": matrix,
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
    return Scores(catalogue, choices, datasets, log, coin)


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
