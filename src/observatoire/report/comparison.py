"""The pilots side by side, and against a national reference distribution.

What the comparison chapter (``book/territoires/comparaison.md``) shows, computed here so that
the chapter stays thin. Goalposts make a score depend on the territory's own value only (counts
being taken per 100,000 inhabitants), so a commune, an EPCI and a région can be read on the
same scale.

The national reference is DEMONSTRATION data too: the seeded generator of
:mod:`observatoire.report.demo` run for all 1,255 EPCI à fiscalité propre of the COG 2026, each with
the profile of its kind (métropoles and communautés urbaines as metropoles, communautés
d'agglomération as medium-sized towns, communautés de communes as rural). Only the period that
is scored is generated, by a vectorised variant of :func:`observatoire.report.demo.generate_series`
that draws from the same seeded streams and gives the same values.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from observatoire.report import demo
from observatoire.engine.catalogue import ACTORS, SPATIAL_SCALES, TIME_SCALES, Catalogue, load_catalogue
from observatoire.engine.pipeline import Choices, Scores, compute_scores
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
    a pilot replaces that pilot's demonstration values."""
    from observatoire.paths import book_data
    from observatoire.engine.validate import validate_file

    catalogue, reference = load_catalogue(), load_reference()
    values = validate_file(pilot_data or book_data(), catalogue, reference).values
    territories = [_Compared(p.code, p.titre) for p in demo.pilots()]
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


def pilot_labels(pilots=None) -> dict[str, str]:
    """Canonical code → title of each pilot, in the book's order."""
    return {p.code: p.titre for p in (pilots or demo.pilots())}


def communs_by_pilot(scores: Scores, pilots=None) -> pd.DataFrame:
    """Commun scores, one row per pilot (its title, book order), one column per commun label."""
    labels = pilot_labels(pilots)
    table = scores.communs.reindex(list(labels))
    return table.rename(index=labels, columns=scores.catalogue.commun_label).rename_axis(
        index="territoire", columns="commun")


def index_and_axes(scores: Scores) -> pd.DataFrame:
    """Overall index and axis scores, one row per territory, columns labelled."""
    cat = scores.catalogue
    table = scores.axes.rename(columns=cat.axis_label)
    table.insert(0, INDEX_LABEL, scores.index)
    return table.rename_axis(columns="element")


def axes_by_pilot(scores: Scores, pilots=None) -> pd.DataFrame:
    """Axis scores, one row per pilot (its title, book order), one column per axis label."""
    labels = pilot_labels(pilots)
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


# -- trends ------------------------------------------------------------------------------

def annual_catalogue(catalogue: Catalogue) -> Catalogue:
    """The catalogue restricted to its yearly indicators (every commun and axis has some)."""
    ind = catalogue.indicators
    return Catalogue(ind[ind["periodicite"] == "annuelle"], catalogue.axes, catalogue.communs,
                     catalogue.directory)


def yearly_scores(values: pd.DataFrame, catalogue: Catalogue, population: pd.Series,
                  years=demo.YEARS, choices: Choices | None = None) -> dict[int, Scores]:
    """Scores of each year on the yearly indicators, from the values observed that year.

    Monthly series are too short and projections have no year of observation: a trend over
    2015–2025 can only rest on the yearly indicators. A value missing in a year is not carried
    over from an earlier one: it lowers that year's coverage instead.
    """
    cat = annual_catalogue(catalogue)
    annual = values[values["indicateur"].isin(cat.indicators.index)]
    return {int(y): compute_scores(annual[annual["periode"] == str(y)], cat, choices, population)
            for y in years}


def yearly_index(values: pd.DataFrame, catalogue: Catalogue, population: pd.Series,
                 years=demo.YEARS, choices: Choices | None = None) -> pd.DataFrame:
    """Overall index on the yearly indicators (see :func:`yearly_scores`): years × territories."""
    by_year = yearly_scores(values, catalogue, population, years, choices)
    table = pd.DataFrame({y: s.index for y, s in by_year.items()}).T
    # Every territory of the file has its column, empty when it has no yearly value (a file of
    # monthly values or projections only).
    table = table.reindex(columns=list(dict.fromkeys([*table.columns, *values["territoire"]])))
    return table.rename_axis(index="annee", columns="territoire")


def epci_types(reference=None) -> pd.Series:
    """EPCI SIREN → kind in words (métropole, communauté urbaine, d'agglomération, de communes)."""
    reference = reference or load_reference()
    return reference.epci.set_index("code")["type"].map(EPCI_TYPE_LABELS).rename("type")


def percentile_ranks(territories: pd.DataFrame, distribution: pd.DataFrame) -> pd.DataFrame:
    """Percentile rank (0–100) of each territory's score among ``distribution``, per column:
    the share of the distribution scoring below it, ties counting half."""
    out = {}
    for column in territories.columns:
        ref = np.sort(distribution[column].dropna().to_numpy(dtype="float64"))
        x = territories[column].to_numpy(dtype="float64")
        below = np.searchsorted(ref, x, side="left")
        tied = np.searchsorted(ref, x, side="right") - below
        rank = (below + 0.5 * tied) / len(ref) * 100 if len(ref) else np.full(len(x), np.nan)
        out[column] = np.where(np.isnan(x), np.nan, rank)
    return pd.DataFrame(out, index=territories.index).rename_axis(columns=territories.columns.name)


# The national demonstration distribution lives with its generator (observatoire.report.demo).
national_scores = demo.national_scores
national_demo_values = demo.national_demo_values
