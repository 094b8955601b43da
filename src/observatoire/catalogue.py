"""The indicator catalogue (data/catalogue/): what each indicator measures, where it sits in the
Observatoire's frame (axis, commun, actor, spatial and time scale), how it is scored (direction,
goalposts, target) and which public source supplies it. Directions and goalposts live here, in
the metadata, never in code.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import pandas as pd

from observatoire.errors import Problem, ValidationError
from observatoire.load import LINE, read_table
from observatoire.tableschema import check_table, load_table_schema

DEFAULT_DIRECTORY = Path(__file__).resolve().parents[2] / "data" / "catalogue"

ACTORS = ("entreprises", "territoires", "société")
SPATIAL_SCALES = ("local", "régional", "national-mondial")
TIME_SCALES = ("mois", "années", "décennies")
PERIODICITY_OF_TIME_SCALE = {"mois": "mensuelle", "années": "annuelle", "décennies": "projection"}
NUMERIC = ["borne_basse", "borne_haute", "cible", "min_plausible", "max_plausible",
           "demo_centre", "demo_dispersion"]


@dataclass(frozen=True)
class Catalogue:
    indicators: pd.DataFrame  # index: id
    axes: pd.DataFrame  # index: id (int)
    communs: pd.DataFrame  # index: id
    directory: str

    def axis_label(self, axis: int) -> str:
        return self.axes.loc[int(axis), "libelle"]

    def commun_label(self, commun: str) -> str:
        return self.communs.loc[commun, "libelle"]


def load_catalogue(directory: str | os.PathLike | None = None) -> Catalogue:
    """Read and check the catalogue; raise :class:`ValidationError` listing every problem."""
    directory = Path(directory or os.environ.get("OBSERVATOIRE_CATALOGUE") or DEFAULT_DIRECTORY)
    return _load(str(directory.resolve()))


@lru_cache(maxsize=4)
def _load(directory: str) -> Catalogue:
    d = Path(directory)
    problems: list[Problem] = []
    tables = {}
    for name in ("indicateurs", "axes", "communs"):
        raw = read_table(d / f"{name}.csv")
        schema_path = d / f"{name}.schema.json"
        if schema_path.exists():
            problems += check_table(raw, load_table_schema(schema_path))
        tables[name] = raw
    if problems:
        raise ValidationError(problems)

    axes = tables["axes"].rows.drop(columns=LINE)
    axes["id"] = axes["id"].astype(int)
    axes = axes.set_index("id").sort_index()
    communs = tables["communs"].rows.drop(columns=LINE).set_index("id")

    raw = tables["indicateurs"]
    ind = raw.rows.copy()
    for col in NUMERIC:
        if col in ind.columns:
            ind[col] = pd.to_numeric(ind[col].replace("", None), errors="coerce").astype("float64")
    ind["axe"] = ind["axe"].astype(int)
    ind["direction"] = ind["direction"].astype(int)
    problems += _check_consistency(raw.path, ind, axes, communs)
    if problems:
        raise ValidationError(problems)
    ind = ind.drop(columns=LINE).set_index("id")
    return Catalogue(ind, axes, communs, directory)


def _check_consistency(path, ind, axes, communs) -> list[Problem]:
    """Cross-field rules a Table Schema cannot express."""
    problems = []
    for row in ind.itertuples(index=False):
        line = getattr(row, LINE)

        def bad(column, value, message):
            problems.append(Problem(path, line, column, str(value), message))

        if row.axe not in axes.index:
            bad("axe", row.axe, "axe inconnu de axes.csv")
        if row.commun not in communs.index:
            bad("commun", row.commun, "commun inconnu de communs.csv")
        if row.direction not in (1, -1):
            bad("direction", row.direction, "1 (plus = mieux) ou -1 (moins = mieux) attendu")
        if not row.borne_basse < row.borne_haute:
            bad("borne_haute", row.borne_haute, f"doit dépasser borne_basse ({row.borne_basse})")
        if not (row.min_plausible <= row.borne_basse and row.borne_haute <= row.max_plausible):
            bad("min_plausible", row.min_plausible,
                "les bornes doivent être dans la plage plausible [min_plausible, max_plausible]")
        expected = PERIODICITY_OF_TIME_SCALE.get(row.echelle_temporelle)
        if expected and row.periodicite != expected:
            bad("periodicite", row.periodicite,
                f"« {expected} » attendu pour l'échelle temporelle « {row.echelle_temporelle} »")
    return problems


def counts_by_commun_and_axis(catalogue: Catalogue) -> pd.DataFrame:
    """Indicators per commun (rows, catalogue order) and axis (columns, axis order), labelled."""
    ind = catalogue.indicators
    table = pd.crosstab(ind["commun"], ind["axe"])
    table = table.reindex(index=catalogue.communs.index, columns=catalogue.axes.index, fill_value=0)
    table.index = [catalogue.commun_label(c) for c in table.index]
    table.columns = [catalogue.axis_label(a) for a in table.columns]
    return table


def cube_coverage(catalogue: Catalogue) -> pd.DataFrame:
    """Number of indicators in each actor × spatial scale × time scale cell (27 rows)."""
    index = pd.MultiIndex.from_product([ACTORS, SPATIAL_SCALES, TIME_SCALES],
                                       names=["acteur", "echelle_spatiale", "echelle_temporelle"])
    counts = catalogue.indicators.groupby(["acteur", "echelle_spatiale", "echelle_temporelle"]).size()
    return counts.reindex(index, fill_value=0).rename("indicateurs").reset_index()
