"""The indicator catalogue (data/catalogue/): what each indicator measures, where it sits in the
Observatoire's frame (axis, commun, actor, spatial and time scale), how it is scored (direction,
goalposts, target) and which public source supplies it. Directions and goalposts live here, in
the metadata, never in code.
"""

from __future__ import annotations

from observatoire import paths
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import pandas as pd

from observatoire.errors import Problem, ValidationError
from observatoire.engine.load import LINE, read_table
from observatoire.engine.tableschema import check_table, load_table_schema

DEFAULT_DIRECTORY = paths.CATALOGUE

ACTORS = ("entreprises", "territoires", "société")
SPATIAL_SCALES = ("local", "régional", "national-mondial")
TIME_SCALES = ("mois", "années", "décennies")
#: Periodicities each time scale admits: the decades are either a projection at a multi-decade
#: horizon or an observed long-run change or structure measured each year (emissions since
#: 1990, the age of farm managers who will retire within the decade).
PERIODICITIES_OF_TIME_SCALE = {"mois": ("mensuelle",), "années": ("annuelle",), "décennies": ("projection", "annuelle")}
NUMERIC = ["borne_basse", "borne_haute", "cible", "min_plausible", "max_plausible",
           "demo_centre", "demo_dispersion"]
#: Columns the engine reads, checked even when a catalogue folder has no Table Schema beside its
#: files (a missing one is a French message, never a KeyError).
REQUIRED_COLUMNS = {
    "indicateurs": ("id", "libelle", "definition", "axe", "commun", "acteur", "echelle_spatiale",
                    "echelle_temporelle", "unite", "direction", "borne_basse", "borne_haute", "cible",
                    "min_plausible", "max_plausible", "nature", "agregation", "source", "source_url",
                    "periodicite"),
    "axes": ("id", "libelle"),
    "communs": ("id", "libelle"),
}
INTEGERS = ("axe", "direction")


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
        missing = [c for c in REQUIRED_COLUMNS[name] if c not in raw.rows.columns]
        if missing and not any(p.file == raw.path and p.line == 1 for p in problems):
            problems.append(Problem(raw.path, 1, None, ", ".join(raw.rows.columns.drop(LINE)),
                                    "colonne(s) absente(s) : " + ", ".join(missing)))
        tables[name] = raw
    if problems:
        raise ValidationError(problems)
    problems += _integer_problems(tables["indicateurs"], INTEGERS) + _integer_problems(tables["axes"], ("id",))
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


def _integer_problems(table, columns) -> list[Problem]:
    """Cells of ``columns`` that are not integers (checked here too: a schema may be absent)."""
    problems = []
    for column in columns:
        for line, value in zip(table.rows[LINE], table.rows[column]):
            text = str(value).strip()
            if not (text.lstrip("+-").isdigit()):
                problems.append(Problem(table.path, int(line), column, text, "nombre entier attendu"))
    return problems


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
        expected = PERIODICITIES_OF_TIME_SCALE.get(row.echelle_temporelle, ())
        if expected and row.periodicite not in expected:
            bad("periodicite", row.periodicite, " ou ".join(f"« {e} »" for e in expected)
                + f" attendu pour l'échelle temporelle « {row.echelle_temporelle} »")
    return problems


#: Code of the overall index in the Observatoire's framework; an axis's code is its number as text,
#: a cell's « axe|commun ».
INDEX_CODE = "indice"
INDEX_LABEL = "Indice global"


def cell_code(axis, commun: str) -> str:
    return f"{int(axis)}|{commun}"


def framework_table(catalogue: Catalogue) -> pd.DataFrame:
    """The Observatoire's tree as a framework table (see :mod:`observatoire.engine.framework`):
    indicator → (axe × commun) cell → axe → indice, each axis giving its communs equal voice.

    Indicators keep the catalogue's order, direction and goalposts; counts are divided by the
    territory's population (``denominateur = population``). Cells come in order of first
    appearance, axes in the order of axes.csv. Weights are 1: a run's weights come from its
    :class:`~observatoire.engine.weights.Weights`.
    """
    ind = catalogue.indicators
    cells = list(dict.fromkeys(cell_code(a, c) for a, c in zip(ind["axe"], ind["commun"])))
    axes = [a for a in catalogue.axes.index if a in set(ind["axe"])]
    rows = [{"code": i, "libelle": r["libelle"], "parent": cell_code(r["axe"], r["commun"]), "niveau": 1,
             "poids": 1.0, "direction": int(r["direction"]), "borne_basse": r["borne_basse"],
             "borne_haute": r["borne_haute"], "cible": r["cible"],
             "denominateur": "population" if r["agregation"] == "compte" else ""} for i, r in ind.iterrows()]
    for cell in cells:
        axis, commun = cell.split("|")
        rows.append({"code": cell, "libelle": f"{catalogue.axis_label(int(axis))} × {catalogue.commun_label(commun)}",
                     "parent": str(axis), "niveau": 2, "poids": 1.0})
    rows += [{"code": str(a), "libelle": catalogue.axis_label(a), "parent": INDEX_CODE, "niveau": 3, "poids": 1.0}
             for a in axes]
    rows.append({"code": INDEX_CODE, "libelle": INDEX_LABEL, "parent": "", "niveau": 4, "poids": 1.0})
    table = pd.DataFrame(rows)
    for column in ("direction", "borne_basse", "borne_haute", "cible"):
        table[column] = table[column].astype("float64") if column != "direction" else table[column].astype("Int64")
    return table.fillna({"denominateur": ""})


_FRAMEWORKS: dict[int, tuple] = {}


def catalogue_framework(catalogue: Catalogue):
    """:func:`framework_table` read and checked as any framework (kept per catalogue object)."""
    from observatoire.engine.framework import read_framework

    kept = _FRAMEWORKS.get(id(catalogue))
    if kept is None or kept[0] is not catalogue:
        kept = (catalogue, read_framework(framework_table(catalogue), source=f"{catalogue.directory} (cadre)"))
        if len(_FRAMEWORKS) > 8:
            _FRAMEWORKS.clear()
        _FRAMEWORKS[id(catalogue)] = kept
    return kept[1]


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


#: How the data dictionary shows an indicator's direction, and what the arrow means.
DIRECTION_ARROWS = {1: "↑", -1: "↓"}
ARROW_MEANINGS = {"↑": "une valeur plus élevée est meilleure", "↓": "une valeur plus basse est meilleure"}


def _fr_plain(x: float) -> str:
    """A catalogue number in French, with only the decimals it has: 0.5 → « 0,5 », 100 → « 100 »."""
    from observatoire.text import fr_plain

    return "" if pd.isna(x) else fr_plain(x, typographic_minus=True)

