"""A framework is data: one table listing every node of a composite indicator, leaf or aggregate.

Any depth, any number of children, units of any kind (territories, firms, countries): the tree
is read from the table, never from code. One row per node (COINr's ``iMeta``, in French):

================  ===========  ==============================================================
column            required     meaning
================  ===========  ==============================================================
code              yes          identifier of the node (text, unique)
parent            yes          code of the parent node; empty for a root (the index)
direction         yes          1 (more is better) or −1 (less is better) for an indicator;
                               empty for an aggregate
libelle           no           label for people (default: the code)
niveau            no           1 for indicators, parent = child + 1 (computed when absent)
poids             no           weight within the parent, > 0 (default 1)
normalisation     no           method of this indicator (overrides the run's choice)
agregation        no           mean of this aggregate's children (overrides the run's choice)
puissance         no           order of this aggregate's generalised mean
borne_basse,      no           goalposts of an indicator (both or neither; needed by the
borne_haute                    goalposts and distance-to-target methods)
cible             no           target of an indicator (distance to target)
denominateur      no           column of the denominators table that divides this indicator
================  ===========  ==============================================================

:func:`read_framework` checks everything at once and raises
:class:`~observatoire.errors.ValidationError` with French messages (missing column, duplicate
or empty code, unknown parent, cycle, weight ≤ 0, direction, level, method, goalposts); it never
lets a raw exception through. :func:`framework_from_coinr` reads COINr's own ``iMeta`` table.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cached_property

import numpy as np
import pandas as pd

from observatoire.errors import Problem, ValidationError

REQUIRED = ("code", "parent", "direction")
OPTIONAL = ("libelle", "niveau", "poids", "normalisation", "agregation", "puissance",
            "borne_basse", "borne_haute", "cible", "denominateur")
NUMBERS = ("niveau", "poids", "direction", "puissance", "borne_basse", "borne_haute", "cible")
COLUMNS = ("code", "libelle", "parent", "niveau", "poids", "direction") + OPTIONAL[3:]

#: COINr's ``iMeta`` column → this table's column.
COINR_COLUMNS = {"iCode": "code", "iName": "libelle", "Parent": "parent", "Level": "niveau",
                 "Weight": "poids", "Direction": "direction", "Denominator": "denominateur"}


@dataclass(frozen=True, eq=False)
class Framework:
    """The checked tree. ``nodes`` is indexed by code, in table order, with every column of
    :data:`COLUMNS` (NaN or "" where not given); levels are integers from 1 (indicators)."""

    nodes: pd.DataFrame
    source: str = "cadre"

    # --- structure ---------------------------------------------------------------------------

    @cached_property
    def indicators(self) -> pd.Index:
        """Codes of the indicators (level 1), in table order."""
        return self.nodes.index[self.nodes["niveau"] == 1]

    @cached_property
    def aggregates(self) -> pd.Index:
        return self.nodes.index[self.nodes["niveau"] > 1]

    @cached_property
    def levels(self) -> list[int]:
        """Levels present, from the indicators (1) up."""
        return sorted(int(v) for v in self.nodes["niveau"].unique())

    def codes_at(self, level: int) -> pd.Index:
        return self.nodes.index[self.nodes["niveau"] == level]

    @cached_property
    def roots(self) -> pd.Index:
        return self.nodes.index[self.nodes["parent"] == ""]

    @cached_property
    def parent(self) -> pd.Series:
        """Code → parent code ("" for a root)."""
        return self.nodes["parent"]

    def children(self, code: str) -> pd.Index:
        return self.nodes.index[self.child_positions(code)]

    def child_positions(self, code: str) -> np.ndarray:
        """Row positions in :attr:`nodes` of the children of ``code``, in table order."""
        return self._children.get(code, np.zeros(0, dtype="intp"))

    @cached_property
    def _children(self) -> dict[str, np.ndarray]:
        positions = pd.Series(np.arange(len(self.nodes)), index=self.nodes.index)
        return {parent: np.asarray(rows, dtype="intp")
                for parent, rows in positions.groupby(self.nodes["parent"].to_numpy(), sort=False).indices.items()}

    @property
    def weights(self) -> pd.Series:
        """Code → nominal weight (the ``poids`` column)."""
        return self.nodes["poids"].astype("float64")

    @property
    def labels(self) -> pd.Series:
        return self.nodes["libelle"]

    def lineage(self) -> pd.DataFrame:
        """One row per indicator, one column per level: the indicator's ancestor at that level
        (COINr's ``Lineage``)."""
        rows = {}
        for code in self.indicators:
            chain, node = [code], code
            while self.parent[node]:
                node = self.parent[node]
                chain.append(node)
            rows[code] = chain
        return pd.DataFrame.from_dict(rows, orient="index", columns=[f"niveau_{k}" for k in self.levels])

    def to_table(self) -> pd.DataFrame:
        """The framework as the table it was read from (columns of :data:`COLUMNS`)."""
        return self.nodes.reset_index()[list(COLUMNS)]

    def with_weights(self, weights: dict) -> "Framework":
        """A copy whose weights of the nodes named in ``weights`` (code → weight ≥ 0) are replaced."""
        problems = []
        nodes = self.nodes.copy()
        new = {}
        for code, value in weights.items():
            if code not in nodes.index:
                problems.append(Problem("poids", None, "code", str(code), "nœud inconnu du cadre"))
            elif not _is_number(value) or not float(value) >= 0:
                problems.append(Problem("poids", None, str(code), str(value), "poids positif ou nul attendu"))
            else:
                new[code] = float(value)
        if problems:
            raise ValidationError(problems)
        if new:  # in one assignment: a framework has hundreds of nodes
            nodes.loc[list(new), "poids"] = np.array(list(new.values()), dtype="float64")
        return Framework(nodes, self.source)


# ---------------------------------------------------------------------------------------------
# Reading and checking
# ---------------------------------------------------------------------------------------------


def read_framework(table: pd.DataFrame | str | os.PathLike, source: str | None = None) -> Framework:
    """The framework of ``table`` (a DataFrame, or a CSV/XLSX file read as text), checked.

    Raises :class:`~observatoire.errors.ValidationError` listing every problem, in French, with
    the line of each (the header is line 1).
    """
    if isinstance(table, (str, os.PathLike)):
        from observatoire.engine.load import LINE, read_table

        raw = read_table(table)
        frame = raw.rows.rename(columns={LINE: "_ligne"})
        source = source or raw.path
    elif isinstance(table, pd.DataFrame):
        frame = table.reset_index(drop=True).copy()
        frame.columns = [str(c).strip() for c in frame.columns]
        frame["_ligne"] = np.arange(2, len(frame) + 2)
        source = source or "cadre"
    else:
        raise ValidationError([Problem(str(source or "cadre"), None, None, type(table).__name__,
                                       "un tableau (DataFrame) ou un fichier CSV/XLSX est attendu")])
    return _check(frame, source)


def framework_from_coinr(imeta: pd.DataFrame | str | os.PathLike, source: str | None = None) -> Framework:
    """The framework of a COINr ``iMeta`` table (``Level, iCode, iName, Direction, Weight,
    Parent, Type`` …): rows of type ``Indicator`` and ``Aggregate`` only, columns renamed by
    :data:`COINR_COLUMNS`."""
    if isinstance(imeta, (str, os.PathLike)):
        source = source or str(imeta)
        imeta = pd.read_csv(imeta, dtype=str, keep_default_na=False)
    frame = imeta.copy()
    if "Type" in frame.columns:
        frame = frame[frame["Type"].astype(str).isin(["Indicator", "Aggregate"])]
    frame = frame.rename(columns=COINR_COLUMNS)
    frame = frame[[c for c in COLUMNS if c in frame.columns]]
    aggregates = pd.to_numeric(frame.get("niveau"), errors="coerce") > 1
    if "direction" in frame.columns:  # COINr gives aggregates a direction; here they have none
        frame["direction"] = frame["direction"].astype(object).where(~aggregates, "")
    return read_framework(frame, source or "iMeta")


def _text(value) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA:
        return ""
    text = str(value).strip()
    return "" if text in ("nan", "NaN", "<NA>", "None") else text


def _is_number(value) -> bool:
    try:
        return np.isfinite(float(str(value).replace(",", ".")))
    except (TypeError, ValueError):
        return False


def _number(text: str) -> float:
    return float(text.replace(",", ".")) if text else np.nan


def _method_ids(labels: dict[str, str]) -> dict[str, str]:
    """What people may write (method id or French label) → method id."""
    return {m: m for m in labels} | {label: m for m, label in labels.items()}


def _check(frame: pd.DataFrame, source: str) -> Framework:
    from observatoire.engine import aggregate, normalise

    problems: list[Problem] = []

    def bad(line, column, value, message):
        problems.append(Problem(source, line, column, None if value is None else str(value), message))

    missing = [c for c in REQUIRED if c not in frame.columns]
    for column in missing:
        bad(None, column, None, "colonne manquante (colonnes obligatoires : " + ", ".join(REQUIRED) + ")")
    if missing:
        raise ValidationError(problems)
    if frame.empty:
        raise ValidationError([Problem(source, None, None, None, "le cadre ne contient aucun nœud")])

    lines = frame["_ligne"].to_numpy()
    text = {c: [_text(v) for v in frame[c]] if c in frame.columns else [""] * len(frame) for c in COLUMNS}
    codes = text["code"]

    # Codes: present and unique.
    first_line: dict[str, int] = {}
    for line, code in zip(lines, codes):
        if not code:
            bad(line, "code", "", "code vide : chaque nœud a un code")
        elif code in first_line:
            bad(line, "code", code, f"code en double (déjà à la ligne {first_line[code]})")
        else:
            first_line[code] = int(line)

    # Numbers.
    numbers = {}
    for column in NUMBERS:
        values = []
        for line, value in zip(lines, text[column]):
            if value and not _is_number(value):
                bad(line, column, value, "nombre attendu")
                values.append(np.nan)
            else:
                values.append(_number(value))
        numbers[column] = np.array(values, dtype="float64")

    # Parents: known, no cycle (without a tree, nothing below can be checked).
    before_tree = len(problems)
    known = set(first_line)
    parent_of = {}
    for line, code, parent in zip(lines, codes, text["parent"]):
        if parent and parent not in known:
            bad(line, "parent", parent, "parent inconnu : aucun nœud du cadre n'a ce code (nœud orphelin)")
        elif parent == code and code:
            bad(line, "parent", parent, "un nœud ne peut pas être son propre parent")
        elif code and first_line.get(code) == line:
            parent_of[code] = parent if parent in known else ""
    in_cycle = _cycles(parent_of)
    for cycle in in_cycle:
        code = cycle[0]
        bad(first_line[code], "parent", parent_of[code],
            "cycle dans l'arbre : " + " → ".join(cycle + [cycle[0]]))
    if not any(not parent_of.get(c, "x") for c in known) and known and not in_cycle:
        bad(None, "parent", None, "aucune racine : au moins un nœud doit avoir un parent vide")
    if len(problems) > before_tree:
        raise ValidationError(problems)

    children: dict[str, list[str]] = {c: [] for c in parent_of}
    for code, parent in parent_of.items():
        if parent:
            children[parent].append(code)

    # Levels: computed from the leaves, checked against the column when given.
    computed: dict[str, int] = {}

    def height(code: str) -> int:
        if code not in computed:
            kids = children[code]
            computed[code] = 1 if not kids else 1 + max(height(k) for k in kids)
        return computed[code]

    given = dict(zip(codes, numbers["niveau"]))
    has_level = "niveau" in frame.columns
    for line, code in zip(lines, codes):
        kids = children[code]
        level = height(code)
        heights = {height(k) for k in kids}
        if len(heights) > 1:
            bad(line, "code", code, "enfants à des niveaux différents : "
                + ", ".join(f"{k} (niveau {height(k)})" for k in kids)
                + " ; chaque nœud agrège des nœuds du niveau juste en dessous")
        if has_level:
            g = given[code]
            if not np.isfinite(g):
                bad(line, "niveau", text["niveau"][codes.index(code)] or "", "niveau entier ≥ 1 attendu")
            elif g != level and len(heights) <= 1:
                what = "indicateur (sans enfant) : niveau 1 attendu" if not kids else \
                    f"niveau {level} attendu (ses enfants sont au niveau {level - 1})"
                bad(line, "niveau", _fmt(g), what)

    # Weights, directions, methods, goalposts.
    normalisations = _method_ids(normalise.LABELS)
    aggregations = _method_ids(aggregate.LABELS)
    rows = []
    for i, (line, code) in enumerate(zip(lines, codes)):
        leaf = not children[code]
        weight = numbers["poids"][i] if text["poids"][i] else 1.0
        if np.isfinite(weight) and weight <= 0:
            bad(line, "poids", text["poids"][i], "poids strictement positif attendu")
        direction = numbers["direction"][i]
        if leaf and direction not in (1.0, -1.0) and not (text["direction"][i] and not np.isfinite(direction)):
            bad(line, "direction", text["direction"][i], "1 (plus = mieux) ou -1 (moins = mieux) attendu pour un indicateur")
        norm = text["normalisation"][i]
        if norm:
            if not leaf:
                bad(line, "normalisation", norm, "une méthode de normalisation ne s'applique qu'à un indicateur")
            elif norm not in normalisations:
                bad(line, "normalisation", norm, "méthode inconnue (attendu : " + ", ".join(normalise.LABELS.values()) + ")")
        agg = text["agregation"][i]
        if agg:
            if leaf:
                bad(line, "agregation", agg, "une méthode d'agrégation ne s'applique qu'à un agrégat")
            elif agg not in aggregations:
                bad(line, "agregation", agg, "méthode inconnue (attendu : " + ", ".join(aggregate.LABELS.values()) + ")")
        low, high = numbers["borne_basse"][i], numbers["borne_haute"][i]
        if bool(text["borne_basse"][i]) != bool(text["borne_haute"][i]):
            bad(line, "borne_haute" if text["borne_basse"][i] else "borne_basse", "",
                "les deux bornes sont attendues ensemble (borne_basse et borne_haute)")
        elif np.isfinite(low) and np.isfinite(high) and not low < high:
            bad(line, "borne_haute", text["borne_haute"][i], f"doit dépasser borne_basse ({text['borne_basse'][i]})")
        rows.append({
            "code": code, "libelle": text["libelle"][i] or code, "parent": parent_of.get(code, ""),
            "niveau": height(code), "poids": weight, "direction": direction if leaf else np.nan,
            "normalisation": normalisations.get(norm, ""), "agregation": aggregations.get(agg, ""),
            "puissance": numbers["puissance"][i], "borne_basse": low, "borne_haute": high,
            "cible": numbers["cible"][i], "denominateur": text["denominateur"][i],
        })
    if problems:
        raise ValidationError(problems)
    nodes = pd.DataFrame(rows).set_index("code")
    nodes["niveau"] = nodes["niveau"].astype("int64")
    return Framework(nodes, source)


def _fmt(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)


def _cycles(parent_of: dict[str, str]) -> list[list[str]]:
    """Each cycle of the parent links once, as the list of its codes (first in table order)."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    cycles = []
    for start in parent_of:
        path, node = [], start
        while node and state.get(node) is None:
            state[node] = 1
            path.append(node)
            node = parent_of.get(node, "")
        if node and state.get(node) == 1:
            cycle = path[path.index(node):]
            first = min(cycle, key=list(parent_of).index)
            k = cycle.index(first)
            cycles.append(cycle[k:] + cycle[:k])
        for n in path:
            state[n] = 2
    return cycles
