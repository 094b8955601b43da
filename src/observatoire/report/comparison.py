"""The pilots side by side, on the public statistics that describe them.

What the comparison chapter (``book/territoires/comparaison.md``) shows, computed here so that
the chapter stays thin: which indicators public statistics give for each pilot, their values
beside France's and each pilot's département and région, and the pilots' profiles where enough
indicators are filled to compute one. Goalposts make a score depend on the territory's own values
only (counts being taken per 100,000 inhabitants), so a commune, an EPCI and a région are read on
the same scale. No pilot is ranked against a distribution: there is no national distribution of
observed values to rank them in.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from observatoire.report.pilots import pilots
from observatoire.engine.catalogue import ACTORS, SPATIAL_SCALES, TIME_SCALES, Catalogue, load_catalogue
from observatoire.engine.pipeline import Scores, compute_scores
from observatoire.engine.reference import load_reference, population_by_code

EPCI_TYPE_LABELS = {
    "METRO": "métropole",
    "MET69": "métropole",
    "CU": "communauté urbaine",
    "CA": "communauté d'agglomération",
    "CC": "communauté de communes",
}
INDEX_LABEL = "Indice global"



# -- the pilots side by side -------------------------------------------------------------

@dataclass(frozen=True)
class Compared:
    """What the comparison chapter sets side by side: the pilots of the book's data file and,
    in a territory's own book, that territory scored on its own file."""

    scores: Scores
    values: pd.DataFrame
    catalogue: Catalogue
    territories: tuple  # objects with .code and .titre, in the chapter's order
    added: object | None = None  # the territory added to the pilots, if any

    @property
    def labels(self) -> dict[str, str]:
        return pilot_labels(self.territories)


@dataclass(frozen=True)
class _Compared:
    code: str
    titre: str


def compared_territories(pilot_data=None, territory_data=None, territory_code: str | None = None) -> Compared:
    """Score the pilots of ``pilot_data`` (default: the book's data file) and, when given, the
    territory ``territory_code`` from its own file ``territory_data``. A territory that is also
    a pilot replaces that pilot's public statistics."""
    from observatoire.paths import book_data
    from observatoire.engine.validate import validate_file

    catalogue, reference = load_catalogue(), load_reference()
    values = validate_file(pilot_data or book_data(), catalogue, reference).values
    territories = [_Compared(p.code, p.titre) for p in pilots()]
    added = None
    if territory_code:
        t = reference.territory(str(territory_code))
        own = validate_file(territory_data, catalogue, reference).values
        own = own[own["territoire"] == t.code]
        if own.empty:
            raise ValueError(f"le territoire « {t.code} » ({t.nom}) n'a aucune valeur dans {territory_data}")
        values = pd.concat([values[values["territoire"] != t.code], own], ignore_index=True)
        added = _Compared(t.code, f"{t.nom} (vos données)")
        territories = [p for p in territories if p.code != t.code] + [added]
    codes = values["territoire"].unique()
    population = population_by_code(reference).reindex(codes).astype("float64")
    scores = compute_scores(values, catalogue, None, population)
    return Compared(scores, values, catalogue, tuple(territories), added)


def pilot_labels(territories=None) -> dict[str, str]:
    """Canonical code → title of each pilot (or of ``territories``), in the book's order."""
    return {p.code: p.titre for p in (territories or pilots())}


def communs_by_pilot(scores: Scores, territories=None) -> pd.DataFrame:
    """Commun scores, one row per pilot (its title, book order), one column per commun label."""
    labels = pilot_labels(territories)
    table = scores.communs.reindex(list(labels))
    return table.rename(index=labels, columns=scores.catalogue.commun_label).rename_axis(
        index="territoire", columns="commun")


def index_and_axes(scores: Scores) -> pd.DataFrame:
    """Overall index and axis scores, one row per territory, columns labelled."""
    cat = scores.catalogue
    table = scores.axes.rename(columns=cat.axis_label)
    table.insert(0, INDEX_LABEL, scores.index)
    return table.rename_axis(columns="element")


def axes_by_pilot(scores: Scores, territories=None) -> pd.DataFrame:
    """Axis scores, one row per pilot (its title, book order), one column per axis label."""
    labels = pilot_labels(territories)
    table = scores.axes.reindex(list(labels)).rename(index=labels, columns=scores.catalogue.axis_label)
    return table.rename_axis(index="territoire", columns="axe")


def coverage_by_cell(scores: Scores) -> pd.DataFrame:
    """Share of the catalogue's indicators with an observed value, per territory and cell of
    the actor × spatial scale × time scale cube (27 cells per territory; imputed values do not
    count). Columns: territoire, acteur, echelle_spatiale, echelle_temporelle, indicateurs,
    renseignes, part (NaN for a cell without indicator)."""
    meta = scores.catalogue.indicators
    observed = scores.datasets["matrice"].notna() & ~scores.datasets["imputees"]
    observed = observed.reindex(columns=meta.index, fill_value=False)
    cells = pd.MultiIndex.from_frame(meta[["acteur", "echelle_spatiale", "echelle_temporelle"]])
    filled = observed.T.set_axis(cells).groupby(level=[0, 1, 2]).sum()
    full = pd.MultiIndex.from_product([ACTORS, SPATIAL_SCALES, TIME_SCALES], names=list(cells.names))
    filled = filled.reindex(full, fill_value=0)
    total = meta.groupby(["acteur", "echelle_spatiale", "echelle_temporelle"]).size().reindex(full, fill_value=0)
    out = filled.stack().rename("renseignes").reset_index()
    out = out.rename(columns={out.columns[3]: "territoire"})
    out["indicateurs"] = total.reindex(pd.MultiIndex.from_frame(out[list(cells.names)])).to_numpy()
    out["renseignes"] = out["renseignes"].astype("int64")
    with np.errstate(invalid="ignore", divide="ignore"):
        out["part"] = np.where(out["indicateurs"] > 0, out["renseignes"] / out["indicateurs"], np.nan)
    out = out.sort_values("territoire", kind="stable").reset_index(drop=True)
    return out[["territoire", "acteur", "echelle_spatiale", "echelle_temporelle", "indicateurs",
                "renseignes", "part"]]


def latest_values(values: pd.DataFrame, catalogue: Catalogue, codes: list[str]) -> pd.DataFrame:
    """Indicator × territory table of « value unit (period) » texts: each territory's latest
    published value of each indicator, as the data give it; empty where there is none. Rows:
    the indicators with a value for at least one of ``codes``, in catalogue order."""
    from observatoire.text import fr_value

    meta = catalogue.indicators
    rows = values[values["territoire"].isin(codes)].sort_values("periode", kind="stable")
    latest = rows.groupby(["indicateur", "territoire"]).tail(1)
    text = [f"{fr_value(v)}\u00a0{meta.at[i, 'unite']} ({p})" for i, v, p in
            zip(latest["indicateur"], latest["valeur"], latest["periode"])]
    table = pd.Series(text, index=pd.MultiIndex.from_frame(latest[["indicateur", "territoire"]])).unstack()
    order = [i for i in meta.index if i in table.index]
    return table.reindex(index=order, columns=codes).fillna("")


def comparison_table(compared: "Compared", reference=None) -> pd.DataFrame:
    """The pilots' (and an added territory's) published values side by side, with France's: one
    row per indicator that at least one of them has, labelled; columns titled by territory."""
    reference = reference or load_reference()
    labels = compared.labels
    table = latest_values(compared.values, compared.catalogue, [*labels, "FR"])
    table = table[(table[list(labels)] != "").any(axis=1)]
    table.index = table.index.map(compared.catalogue.indicators["libelle"])
    return table.rename(columns={**labels, "FR": "France"}).rename_axis(index="Indicateur", columns=None)


def reference_table(compared: "Compared", code: str, reference=None) -> pd.DataFrame:
    """One territory beside its département, its région and France: the indicators it has."""
    reference = reference or load_reference()
    t = reference.territory(code)
    levels = {t.code: compared.labels.get(t.code, t.nom)}
    for parent in (t.departement, t.region, "FR"):
        if parent and parent != t.code:
            levels[parent] = "France" if parent == "FR" else reference.territory(parent).nom
    table = latest_values(compared.values, compared.catalogue, list(levels))
    table = table[table[t.code] != ""]
    table.index = table.index.map(compared.catalogue.indicators["libelle"])
    return table.rename(columns=levels).rename_axis(index="Indicateur", columns=None)


def filled_counts(compared: "Compared") -> pd.Series:
    """Number of catalogue indicators with a value, per territory compared (titles as index)."""
    observed = compared.scores.datasets["matrice"].notna()
    return observed.sum(axis=1).reindex(list(compared.labels)).fillna(0).astype(int).rename(index=compared.labels)
