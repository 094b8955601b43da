"""What a run of the Observatoire's pipeline returns: the modelling choices (:class:`Choices`)
and the named data sets with the log of choices (:class:`Scores`). Kept apart from the pipeline
so that the modules reading results (uncertainty, export) do not import the pipeline."""

from __future__ import annotations

import functools
from collections.abc import Callable, MutableMapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from observatoire.engine import aggregate, normalise, snapshot
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
    #: Conventions of the relative normalisations (z-score mean and sd, rank ties, min-max range).
    conventions: normalise.Options = normalise.DEFAULT_OPTIONS
    #: The coverage threshold counts the weight of the children with a value, or their number.
    coverage_by: str = "weight"
    #: Geometric and order ≤ 0 means read scores on [floor, 100]; None: as they are.
    floor: float | None = aggregate.FLOOR


class Datasets(MutableMapping):
    """Named data sets, in the order they were given; an entry given as :class:`Later` is
    made the first time it is read (then kept), so that a long table nobody reads is never
    built. Pickled with every entry made."""

    def __init__(self, entries=()):
        self._entries = dict(entries)

    def __getitem__(self, name: str):
        entry = self._entries[name]
        if isinstance(entry, Later):
            entry = self._entries[name] = entry.value
        return entry

    def entry(self, name: str):
        """The entry as given: a :class:`Later` not read yet stays one."""
        return self._entries[name]

    def __setitem__(self, name: str, value) -> None:
        self._entries[name] = value

    def __delitem__(self, name: str) -> None:
        del self._entries[name]

    def __iter__(self):
        return iter(self._entries)

    def __len__(self) -> int:
        return len(self._entries)

    def __repr__(self) -> str:
        return f"Datasets({', '.join(self._entries)})"

    def __reduce__(self):
        return Datasets, (dict(self.items()),)


class Later:
    """A data set made when first read, by ``make()``, once (copies of a :class:`Datasets`
    share it)."""

    def __init__(self, make: Callable[[], object]):
        self._make = make

    @functools.cached_property
    def value(self):
        value = self._make()
        del self._make
        return value


@dataclass
class Scores:
    """Result of a run: named data sets (territories × elements) and the log of choices."""

    catalogue: Catalogue
    choices: Choices
    datasets: Datasets  # a plain dict given is made one
    log: list[dict]
    #: The public API's object behind these scores (an :class:`observatoire.engine.coin.Coin`:
    #: framework, data sets, log of choices).
    coin: object | None = None

    def __post_init__(self):
        if not isinstance(self.datasets, Datasets):
            self.datasets = Datasets(self.datasets)

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

    def covering(self, codes) -> "Scores":
        """These scores with a row for every territory of ``codes`` (empty, « not computed »,
        for a territory without any value): a national run shows every territory of a level,
        including those the data do not describe yet."""
        import dataclasses

        wanted = list(dict.fromkeys(codes))
        datasets = Datasets()
        for name in self.datasets:
            entry = self.datasets.entry(name)
            if isinstance(entry, Later):  # long tables (no territory index): still made when read
                datasets[name] = entry
                continue
            data = self.datasets[name]
            if isinstance(data, pd.DataFrame) and data.index.name == "territoire":
                order = pd.Index(wanted + [c for c in data.index if c not in set(wanted)], name="territoire")
                fill = False if all(t == bool for t in data.dtypes) else np.nan
                datasets[name] = data.reindex(order, fill_value=fill)
            else:
                datasets[name] = data
        return dataclasses.replace(self, datasets=datasets)
