"""The scoring pipeline: snapshot → normalise → aggregate, each step's data set kept by name
and each choice logged, so that any score can say how it was made (as COINr's coin object).
"""

from __future__ import annotations

from dataclasses import asdict

import pandas as pd

from observatoire.engine import aggregate, impute, normalise, snapshot
from observatoire.engine.denominate import COUNT_BASE_POPULATION
from observatoire.engine.catalogue import INDEX_CODE, Catalogue, catalogue_framework
from observatoire.engine.coin import Coin
from observatoire.engine.scores import Choices, Datasets, Later, Scores


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


def compute_scores(values, catalogue: Catalogue, choices: Choices | None = None,
                   population: pd.Series | None = None) -> Scores:
    """Score every territory present in ``values``: the validated long table, as a frame or as
    the :class:`~observatoire.engine.validate.ValidatedData` itself (read from its codes; the
    « brut » and « instantane » long tables are then built only if read).

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
    snap = snapshot.Snapshot(values, catalogue, choices.horizon)
    wide = snap.wide(catalogue)
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

    datasets = Datasets({
        "brut": values if isinstance(values, pd.DataFrame) else Later(lambda: values.values),
        "instantane": Later(lambda: snap.frame),
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
    })
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
    population = population_by_code(reference).astype("float64")
    return compute_scores(data, catalogue, choices, population), data
