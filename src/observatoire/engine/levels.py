"""Territorial levels: commune values rolled up to the EPCI, the département, the région and France.

Any territory of the Observatoire is a commune or a grouping of communes (COG 2026, see
:mod:`observatoire.engine.reference`), so a parent's value is computed from its communes' values:

- a **rate** (``agregation = taux`` in the catalogue: a share, a rate per inhabitant, a mean)
  rolls up as the mean of the communes' values weighted by their population municipale;
- a **count** (``agregation = compte``: establishments, projects) rolls up as the sum.

A commune without a value is skipped, never read as zero. What a parent's value rests on is
reported beside it: its **coverage**, per indicator, is the share of the parent's population
living in the communes that have a value (1 when every commune has one). A rate whose covered
population is zero is missing; a count is missing when none of its communes has a value.

All functions are pure and vectorised: one grouped sum per level over the communes × indicators
matrix, whatever the number of territories.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import pandas as pd

from observatoire.engine.catalogue import Catalogue
from observatoire.engine.reference import FRANCE_CODE, Reference
from observatoire.text import fr_percent

#: The levels communes roll up to, from the closest.
PARENT_LEVELS = ("epci", "departement", "region", "france")
#: Catalogue ``agregation`` values and how each rolls up.
RATE, COUNT = "taux", "compte"


def parent_codes(reference: Reference, level: str) -> pd.Series:
    """Commune code → canonical code of its parent at ``level``, communes in code order.

    Parents are EPCI SIREN codes, ``DEP-xx``, ``REG-xx`` or ``FR``. Communes that have no
    parent at that level are left out: the few communes outside any EPCI (island communes)
    for ``epci``, the communes of the collectivités d'outre-mer for the other levels.
    """
    tree = _tree(reference)
    group, names, _ = tree.levels[_check_level(level)]
    has = group >= 0
    codes = pd.Series(names[group[has]], index=tree.codes[has], dtype="str", name=level)
    codes.index = pd.Index(codes.index, dtype="str", name="commune")
    return codes.sort_index()


def roll_up(wide: pd.DataFrame, catalogue: Catalogue, reference: Reference,
            level: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Roll commune values up to ``level``: (values, coverage), both parents × indicators.

    ``wide`` is communes × indicators (index: commune codes, NaN where missing), raw values
    as in the data file (counts as counts, not per inhabitant). Rows that are not communes of
    the reference (an EPCI, a département scored directly) are ignored. The parents returned
    are those with at least one commune among the rows of ``wide``, in code order; coverage
    is a share in [0, 1] of the parent's whole population.
    """
    return _Communes.of(wide, catalogue, reference).roll_up(_check_level(level))


def roll_up_all(wide: pd.DataFrame, catalogue: Catalogue,
                reference: Reference) -> dict[str, tuple[pd.DataFrame, pd.DataFrame]]:
    """:func:`roll_up` to every parent level (epci, departement, region, france) at once."""
    communes = _Communes.of(wide, catalogue, reference)
    return {level: communes.roll_up(level) for level in PARENT_LEVELS}


def _check_level(level: str) -> str:
    if level not in PARENT_LEVELS:
        raise ValueError(f"niveau inconnu : « {level} » (attendu : {', '.join(PARENT_LEVELS)})")
    return level


class _Tree:
    """The reference's communes with, per level, each commune's parent as an integer.

    Régions and France are also described from the level below (``via``) when every
    département lies in one région: their sums are then taken over the départements' sums,
    a hundred rows instead of thirty-five thousand.
    """

    def __init__(self, reference: Reference):
        communes = reference.communes
        self.codes = communes["code"].to_numpy(dtype=object)
        self.index = pd.Index(self.codes)
        self.population = communes["population"].to_numpy(dtype="float64")
        members = reference.epci_communes
        epci = pd.Series(members["epci"].to_numpy(dtype=object), index=members["commune"].to_numpy(dtype=object))
        department = communes["departement"].to_numpy(dtype=object)
        region = communes["region"].to_numpy(dtype=object)
        parents = {
            "epci": epci.reindex(self.codes).to_numpy(dtype=object),
            "departement": np.where(pd.notna(department), "DEP-" + department.astype(str), None),
            "region": np.where(pd.notna(region), "REG-" + region.astype(str), None),
            "france": np.where(pd.notna(department), FRANCE_CODE, None),
        }
        #: level → (parent id of each commune, −1 if none; parent codes, sorted; parent populations)
        self.levels = {}
        for level, parent in parents.items():
            group, names = pd.factorize(parent, sort=True)
            has = group >= 0
            whole = np.bincount(group[has], weights=self.population[has], minlength=len(names))
            self.levels[level] = (group, np.asarray(names, dtype=object), whole)
        #: level → (level below, parent id of each id of the level below)
        self.via = {}
        for level, below in (("region", "departement"), ("france", "region")):
            child, parent = self.levels[below][0], self.levels[level][0]
            lookup = np.full(len(self.levels[below][1]), -1)
            lookup[child[child >= 0]] = parent[child >= 0]
            if ((child >= 0) == (parent >= 0)).all() and (lookup[child[child >= 0]] == parent[child >= 0]).all():
                self.via[level] = (below, lookup)


@lru_cache(maxsize=4)
def _tree(reference: Reference) -> _Tree:
    return _Tree(reference)


class _Communes:
    """The commune rows of a wide matrix, prepared once for any number of levels."""

    def __init__(self, tree: _Tree, rows: np.ndarray, columns: pd.Index, x: np.ndarray, rate: np.ndarray):
        present = ~np.isnan(x)
        population = tree.population[rows][:, None]
        self.tree = tree
        self.rows = rows  # row of each commune in the reference tables, in code order
        self.columns = columns
        self.rate = rate
        # Everything a level needs is a grouped sum of these blocks of columns: Σ population × x
        # (rates) or Σ x (counts); the population with a value; the communes with a value (counts).
        # A column with a value for every commune shares the last two columns: the population
        # and the number of communes. Written in place: no temporary matrix of the communes' size.
        k = len(columns)
        self.partial = ~present.all(axis=0)  # columns where some commune has no value
        self.partial_count = self.partial & ~rate
        p, q = int(self.partial.sum()), int(self.partial_count.sum())
        self.sums = np.empty((len(rows), k + p + q + 2))
        total = self.sums[:, :k]
        np.multiply(x, population, out=total)  # every column, then the counts as they are:
        if not rate.all():                     # cheaper than one masked product
            total[:, ~rate] = x[:, ~rate]
        if self.partial.any():
            np.copyto(total, 0.0, where=~present)
            np.multiply(present[:, self.partial], population, out=self.sums[:, k:k + p])
            self.sums[:, k + p:k + p + q] = present[:, self.partial_count]
        self.sums[:, -2] = population[:, 0]
        self.sums[:, -1] = 1.0
        self._by_level: dict[str, tuple[np.ndarray, np.ndarray]] = {}

    @classmethod
    def of(cls, wide: pd.DataFrame, catalogue: Catalogue, reference: Reference) -> _Communes:
        kind = catalogue.indicators["agregation"].reindex(wide.columns)
        unknown = [str(c) for c, k in kind.items() if k not in (RATE, COUNT)]
        if unknown:
            raise ValueError("agrégation inconnue (ni « taux » ni « compte ») ou indicateur absent du "
                             "catalogue : " + ", ".join(unknown))
        tree = _tree(reference)
        position = tree.index.get_indexer(wide.index.to_numpy(dtype=object))
        keep = np.flatnonzero(position >= 0)
        # Reference (code) order, so that the sums never depend on the order of the rows.
        order = keep[np.argsort(position[keep], kind="stable")]
        rows = position[order]
        if len(rows) and np.bincount(rows).max() > 1:
            twice = pd.Index(tree.codes[rows]).duplicated()
            raise ValueError("commune en double dans le tableau à agréger : "
                             + ", ".join(tree.codes[rows][twice][:5]))
        x = wide.to_numpy(dtype="float64")
        if len(order) != len(x) or (order != np.arange(len(x))).any():  # else already in code order
            x = x[order]
        return cls(tree, rows, wide.columns, x, (kind == RATE).to_numpy())

    def sums_by(self, level: str) -> tuple[np.ndarray, np.ndarray]:
        """(ids of the parents that have communes here, their sums), parents in code order."""
        if level not in self._by_level:
            if level in self.tree.via:
                below, lookup = self.tree.via[level]
                ids, sums = self.sums_by(below)
                self._by_level[level] = _grouped_sum(sums, lookup[ids])
            else:
                self._by_level[level] = _grouped_sum(self.sums, self.tree.levels[level][0][self.rows])
        return self._by_level[level]

    def roll_up(self, level: str) -> tuple[pd.DataFrame, pd.DataFrame]:
        _, names, whole = self.tree.levels[level]
        parents, sums = self.sums_by(level)
        k, p = len(self.columns), int(self.partial.sum())
        total = sums[:, :k]
        covered = np.empty_like(total)
        covered[:, self.partial] = sums[:, k:k + p]
        covered[:, ~self.partial] = sums[:, -2:-1]
        counted = np.zeros_like(total)
        counted[:, self.partial_count] = sums[:, k + p:-2]
        counted[:, ~self.partial & ~self.rate] = sums[:, -1:]
        whole = whole[parents][:, None]
        with np.errstate(invalid="ignore", divide="ignore"):
            mean = np.where(covered > 0, total / covered, np.nan)
            value = np.where(self.rate, mean, np.where(counted > 0, total, np.nan))
            coverage = np.where(whole > 0, np.minimum(covered / whole, 1.0), np.nan)
        index = pd.Index(names[parents], name="territoire", dtype="str")
        return (pd.DataFrame(value, index=index, columns=self.columns),
                pd.DataFrame(coverage, index=index, columns=self.columns))


def _grouped_sum(values: np.ndarray, group: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(sorted distinct non-negative groups, sum of the rows of ``values`` in each), in row order."""
    selected = group >= 0
    if selected.all() and (group[1:] >= group[:-1]).all():  # already grouped (communes by département)
        order = None
    else:
        selected = np.flatnonzero(selected)
        order = selected[np.argsort(group[selected], kind="stable")]
        group = group[order]
    if not len(group):
        return group, np.zeros((0, values.shape[1]))
    starts = np.flatnonzero(np.r_[True, group[1:] != group[:-1]])
    return group[starts], np.add.reduceat(values if order is None else values.take(order, axis=0), starts, axis=0)


ROLL_UP_SOURCE = "Agrégation des valeurs communales (observatoire remonter)"


def roll_up_long(values: pd.DataFrame, catalogue: Catalogue, reference: Reference, level: str) -> pd.DataFrame:
    """Validated long commune values → long values at ``level``, in the data-file format.

    Each period is rolled up on its own, so time series stay time series. The coverage of each
    value is written in its ``commentaire`` (share of the parent's population whose commune has
    a value), so that a file made this way says what it rests on.
    """
    level = _check_level(level)
    unit = catalogue.indicators["unite"]
    parts = []
    for period, group in values.groupby("periode", sort=True):
        wide = group.pivot(index="territoire", columns="indicateur", values="valeur")
        parents, coverage = roll_up(wide, catalogue, reference, level)
        long = parents.stack(future_stack=True).rename("valeur").reset_index()
        long.columns = ["territoire", "indicateur", "valeur"]
        long["couverture"] = coverage.stack(future_stack=True).to_numpy()
        long = long.dropna(subset=["valeur"])
        long.insert(2, "periode", period)
        parts.append(long)
    columns = ["territoire", "indicateur", "periode", "valeur", "unite", "source", "commentaire"]
    if not parts:
        return pd.DataFrame(columns=columns)
    out = pd.concat(parts, ignore_index=True)
    out["unite"] = out["indicateur"].map(unit)
    out["source"] = ROLL_UP_SOURCE
    out["commentaire"] = [f"couverture : {fr_percent(c, space=' ')} de la population" for c in out["couverture"]]
    return out.sort_values(["territoire", "indicateur", "periode"], kind="stable")[columns].reset_index(drop=True)
