"""Everything a territory's chapter shows, computed in one call so that notebooks stay thin."""

from __future__ import annotations

import os
from dataclasses import dataclass

import pandas as pd

from observatoire.engine.catalogue import Catalogue, load_catalogue
from observatoire.report.demo import DEMO_SOURCE
from observatoire.engine.pipeline import Choices, Scores, score_data_file
from observatoire.engine.reference import Reference, Territory, load_reference
from observatoire.engine.validate import ValidatedData

LEVEL_LABELS = {
    "commune": "une commune",
    "epci": "un établissement public de coopération intercommunale (EPCI)",
    "departement": "un département",
    "region": "une région",
    "france": "le pays entier",
}


@dataclass
class TerritorySheet:
    territory: Territory
    scores: Scores  # of every territory of the data file (goalposts make them independent)
    data: ValidatedData
    catalogue: Catalogue
    reference: Reference

    @property
    def code(self) -> str:
        return self.territory.code

    @property
    def level_label(self) -> str:
        return LEVEL_LABELS[self.territory.level]

    def composition(self) -> str:
        """How the territory is made of communes, as a French clause."""
        from observatoire.text import fr_int

        if self.territory.level == "commune":
            return "la commune est l'échelon de base de l'Observatoire"
        n = len(self.territory.communes)
        return f"le territoire regroupe {fr_int(n)} commune{'s' if n > 1 else ''}"

    @property
    def index(self) -> float:
        return float(self.scores.index.loc[self.code])

    @property
    def axes(self) -> pd.Series:
        s = self.scores.axes.loc[self.code]
        return s.rename(index=self.catalogue.axis_label)

    @property
    def communs(self) -> pd.Series:
        s = self.scores.communs.loc[self.code]
        return s.rename(index=self.catalogue.commun_label)

    @property
    def series(self) -> pd.DataFrame:
        v = self.data.values
        return v[v["territoire"] == self.code]

    def indicator_table(self) -> pd.DataFrame:
        """Scored value, unit, period, score and source of each indicator, in catalogue order."""
        tidy = self.scores.tidy()
        rows = tidy[(tidy["territoire"] == self.code) & (tidy["niveau"] == "indicateur")]
        meta = self.catalogue.indicators
        table = pd.DataFrame({
            "Indicateur": rows["libelle"].to_numpy(),
            "Axe": rows["element"].map(meta["axe"]).to_numpy(),
            "Commun": rows["element"].map(meta["commun"]).map(self.catalogue.commun_label).to_numpy(),
            "Période": rows["periode"].to_numpy(),
            "Valeur": rows["valeur"].to_numpy(),
            "Unité": rows["element"].map(meta["unite"]).to_numpy(),
            "Score (0-100)": rows["score"].round(1).to_numpy(),
            # The producer only (text before the first comma); the data dictionary has the rest.
            "Source prévue": rows["element"].map(meta["source"]).str.split(",").str[0].to_numpy(),
        })
        # What the data file itself says of each scored value (a territory's own file often
        # names its source and comments a value); the demonstration data say nothing more.
        declared = self.series.set_index(["indicateur", "periode"])[["source", "commentaire"]]
        key = pd.MultiIndex.from_arrays([rows["element"].to_numpy(), rows["periode"].to_numpy()])
        declared = declared[~declared.index.duplicated()].reindex(key)
        for column, label in (("source", "Source déclarée"), ("commentaire", "Commentaire")):
            text = declared[column].fillna("").astype(str).to_numpy()
            if any(t and t != DEMO_SOURCE for t in text):
                table[label] = text
        return table

    def styled_indicator_table(self):
        """The indicator table as shown in the book. Cells are HTML-escaped and MathJax is told
        to leave the table alone: sources and comments are free text from a data file."""
        from observatoire.text import fr_number

        table = self.indicator_table()
        numbers = [c for c in table.columns if pd.api.types.is_float_dtype(table[c])]
        return (table.style.hide(axis="index")
                .format(na_rep="n.d.", escape="html")
                .format(lambda v: fr_number(v, 1), subset=numbers, na_rep="n.d.")
                .set_table_attributes('class="tex2jax_ignore mathjax_ignore"'))

    @property
    def value_count(self) -> int:
        """Number of values the data file holds for this territory (all periods)."""
        return len(self.series)

    def counts(self) -> tuple[int, int]:
        """(indicators with a value, indicators in the catalogue)."""
        n = int(self.scores.indicators.loc[self.code].notna().sum())
        return n, len(self.catalogue.indicators)


def territory_sheet(code: str, data_path: str | os.PathLike, choices: Choices | None = None,
                    catalogue: Catalogue | None = None, reference: Reference | None = None) -> TerritorySheet:
    """Validate the data file, score it, and return the sheet of territory ``code``.

    Raises :class:`~observatoire.errors.ValidationError` (French messages) on a bad file and
    :class:`~observatoire.engine.reference.TerritoryCodeError` on an unknown or absent territory.
    """
    from observatoire.engine.reference import TerritoryCodeError

    catalogue = catalogue or load_catalogue()
    reference = reference or load_reference()
    territory = reference.territory(str(code))
    if choices is None and catalogue is load_catalogue() and reference is load_reference():
        from observatoire.report.results import scored_file

        scores, data = scored_file(data_path)  # the book build computes it once for every page
    else:
        scores, data = score_data_file(data_path, choices, catalogue, reference)
    if territory.code not in set(data.values["territoire"]):
        raise TerritoryCodeError(
            f"le territoire « {territory.code} » ({territory.nom}) n'a aucune valeur dans {data_path}")
    return TerritorySheet(territory, scores, data, catalogue, reference)
