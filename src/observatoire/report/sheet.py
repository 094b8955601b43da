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
from observatoire.text import escape_markdown, fr_int, fr_month, fr_number, fr_plain

#: What the table says of an indicator without a value: public statistics do not give it.
MISSING = "à renseigner"

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

    def shown_table(self) -> pd.DataFrame:
        """The rows of :meth:`display_table` that hold a value, for the territory or one of its
        reference levels; the others are listed by :meth:`missing_markdown`."""
        table = self.display_table()
        informative = table["Valeur"] != MISSING
        for label in ("Département", "Région", "France"):
            if label in table:
                informative |= table[label] != ""
        return table[informative].reset_index(drop=True)

    def missing_markdown(self) -> str:
        """The indicators without any value, by commun, as escaped MyST (a short paragraph)."""
        table = self.display_table()
        missing = table[table["Valeur"] == MISSING]
        shown = set(self.shown_table()["Indicateur"])
        missing = missing[~missing["Indicateur"].isin(shown)]
        if missing.empty:
            return "Tous les indicateurs du catalogue ont une valeur."
        groups = missing.groupby("Commun (axe)", sort=False)["Indicateur"].apply(list)
        lines = [f"- **{escape_markdown_text(commun)}** : " + " ; ".join(escape_markdown_text(i) for i in names)
                 for commun, names in groups.items()]
        n = len(missing)
        return (f"{fr_int(n)} indicateur{'s' if n > 1 else ''} du catalogue n'{'ont' if n > 1 else 'a'} de valeur "
                "ni pour le territoire ni pour ses niveaux de référence : à renseigner par l'enquête ou par "
                "le territoire.\n\n" + "\n".join(lines))

    def styled_indicator_table(self):
        """The indicator table as shown in the book (:meth:`shown_table`). Cells are
        HTML-escaped and MathJax is told to leave the table alone: sources are free text from a
        data file. The table takes the page's width and wraps its cells: never a sideways scroll."""
        return _fitted(self.shown_table().style, {"Indicateur": 3, "Commun (axe)": 2, "Période": 1.2,
                                                    "Valeur": 1.6, "Score (0-100)": 1.2, "Département": 1.6,
                                                    "Région": 1.6, "France": 1.6, "Source": 3})

    # -- what a chapter says, whatever the file holds (issue #19: sparse files build a book) ----

    def coverage(self) -> pd.DataFrame:
        """Per commun (catalogue order): « Commun », « Renseignés », « Indicateurs », « Score »
        (NaN: not computed, its indicators' weight below the coverage threshold)."""
        meta = self.catalogue.indicators
        filled = self.scores.indicators.loc[self.code].reindex(meta.index).notna()
        by_commun = filled.groupby(meta["commun"], sort=False)
        communs = [c for c in self.catalogue.communs.index if c in by_commun.groups]
        return pd.DataFrame({
            "Commun": [self.catalogue.commun_label(c) for c in communs],
            "Renseignés": [int(by_commun.get_group(c).sum()) for c in communs],
            "Indicateurs": [int(by_commun.get_group(c).size) for c in communs],
            "Score": [float(self.scores.communs.loc[self.code].get(c, float("nan"))) for c in communs],
        })

    def _threshold(self) -> str:
        share = self.scores.choices.min_coverage
        return "la moitié" if abs(share - 0.5) < 1e-9 else f"{fr_number(100 * share, 0)} %"

    def coverage_rule(self) -> str:
        """« un score n'est calculé pour un commun que si la moitié au moins … est renseignée »."""
        return (f"un score n'est calculé pour un commun que si {self._threshold()} au moins du poids de "
                "ses indicateurs est renseignée")

    def scored_axes(self) -> int:
        """How many axes of the survey have a score."""
        return int(self.scores.axes.loc[self.code].notna().sum())

    def index_text(self) -> str:
        """« 61,2 / 100 », or « non calculé (1 axe sur 4 avec un score) »."""
        if not pd.isna(self.index):
            return f"{fr_number(self.index)} / 100"
        scored = self.scored_axes()
        return f"non calculé ({scored} axe{'s' if scored > 1 else ''} sur {len(self.catalogue.axes)} avec un score)"

    def score_text(self, score: float, filled: int, total: int) -> str:
        """« 61,2 », or « non calculé : 1 indicateur renseigné sur 18 »."""
        if not pd.isna(score):
            return fr_number(score)
        count = "aucun indicateur renseigné" if filled == 0 else \
            f"{fr_int(filled)} indicateur{'s' if filled > 1 else ''} renseigné{'s' if filled > 1 else ''}"
        return f"non calculé : {count} sur {fr_int(total)}"

    def axis_texts(self) -> dict:
        """Axis id → its score, or why it is not computed."""
        meta = self.catalogue.indicators
        filled = self.scores.indicators.loc[self.code].reindex(meta.index).notna()
        axes = self.scores.axes.loc[self.code]
        return {a: self.score_text(axes.get(a, float("nan")), int(filled[meta["axe"] == a].sum()),
                                   int((meta["axe"] == a).sum()))
                for a in self.catalogue.axes.index}

    def profile_markdown(self) -> str:
        """The sentence on the commun profile, as MyST for ``{glue:md}`` (it cites the glued
        values ``commun_fort``… when two communs or more have a score)."""
        scored = self.communs.dropna()
        coverage = self.coverage()
        rule = self.coverage_rule()
        if len(scored) >= 2:
            return ("Dans ces données, le commun le mieux placé est « {glue:text}`commun_fort` » "
                    "({glue:text}`commun_fort_score` sur 100) et le plus fragile « {glue:text}`commun_faible` » "
                    "({glue:text}`commun_faible_score` sur 100)."
                    + (f" Les autres communs n'ont pas de score : {rule}." if scored.size < len(coverage) else ""))
        missing = coverage[coverage["Score"].isna()]
        if len(scored) == 1:
            head = (f"Un seul commun a un score, « {scored.index[0]} » ({fr_number(scored.iloc[0])} sur 100) : "
                    f"{rule}, et les autres n'y arrivent pas.")
        else:
            head = f"Aucun commun n'a de score dans ces données : {rule}."
        gaps = [f"{row.Commun} ({fr_int(row.Renseignés)} sur {fr_int(row.Indicateurs)})"
                for row in missing.itertuples() if row.Renseignés > 0]
        if gaps:
            head += " Communs commencés, sans score faute de données : " + ", ".join(gaps) + "."
        return escape_markdown_text(head) + " Le tableau ci-dessous dit, pour chaque commun, combien " \
            "d'indicateurs sont renseignés."

    def coverage_table(self):
        """The communs without a score and what they lack, shown when some commun has no score."""
        table = self.coverage()
        table["Score (0-100)"] = [self.score_text(s, f, n) for s, f, n in
                                  zip(table.pop("Score"), table["Renseignés"], table["Indicateurs"])]
        return (table.style.hide(axis="index").format(escape="html")
                .set_table_attributes('class="tex2jax_ignore mathjax_ignore texte-donnees"'))

    def index_markdown(self) -> str:
        """The paragraph on the overall index, as MyST for ``{glue:md}``: with its 5–95 % band
        (the glued ``indice``, ``indice_bas``, ``indice_haut``), or why it is not computed."""
        if not pd.isna(self.index):
            return ("L'indice global, moyenne des quatre axes, vaut {glue:text}`indice` sur 100 avec les "
                    "choix de référence du livre. Ce n'est qu'un résumé fragile : selon les choix de "
                    "normalisation, de pondération et d'agrégation, il se situe entre {glue:text}`indice_bas` "
                    "et {glue:text}`indice_haut` dans 90 % des cas (intervalle de 5 à 95 %, voir "
                    "{doc}`../annexes/incertitude`).")
        scored = self.scored_axes()
        total = len(self.catalogue.axes)
        axes = "aucun axe n'a" if scored == 0 else f"{fr_int(scored)} axe{'s' if scored > 1 else ''} sur " \
            f"{fr_int(total)} {'ont' if scored > 1 else 'a'}"
        return (f"L'indice global, moyenne des quatre axes, n'est pas calculé : {axes} un score, et "
                f"l'indice n'en est calculé que si {self._threshold()} au moins du poids des axes est renseignée. "
                "Un chiffre unique ne résumerait ici que ce qui manque (voir "
                "{doc}`../annexes/methode-de-calcul`).")

    def monthly_sentence(self) -> str:
        """What the monthly figure covers: how many months, from when to when, how many series."""
        monthly = self.series[self.series["periode"].astype(str).str.len() == 7]
        if monthly.empty:
            return "Le fichier ne contient aucune valeur mensuelle : il n'y a pas de série à tracer."
        months = sorted(monthly["periode"].astype(str).unique())
        n, k = len(months), monthly["indicateur"].nunique()
        span = (f"de {fr_month(months[0], short=False)} à {fr_month(months[-1], short=False)}" if n > 1
                else f"en {fr_month(months[0], short=False)}")
        return (f"Les séries ci-dessous couvrent {fr_int(n)} mois des données, {span}, pour "
                f"{fr_int(k)} indicateur{'s' if k > 1 else ''} mensuel{'s' if k > 1 else ''}.")

    def validation_markdown(self) -> str:
        """The data notice's list of what validation repaired or ignored in the file (escaped)."""
        if not self.data.warnings:
            return "La validation n'a rien corrigé ni ignoré dans le fichier."
        items = "\n".join("- " + escape_markdown(f"colonne « {p.column} » : {p.message}" if p.column else p.message)
                          for p in self.data.warnings)
        return "La validation a lu le fichier ainsi (le fichier lui-même n'est pas modifié) :\n\n" + items

    def display_table(self) -> pd.DataFrame:
        """The indicator table as the book shows it: narrow enough to be read without scrolling
        sideways; each value as the file gives it, with its unit; the source the file declares
        (with its provenance columns) or, failing that, the public source planned."""
        table = self.indicator_table()
        meta = self.catalogue.indicators
        tidy = self.scores.tidy()
        rows = tidy[(tidy["territoire"] == self.code) & (tidy["niveau"] == "indicateur")]
        key = pd.MultiIndex.from_arrays([rows["element"].to_numpy(), rows["periode"].to_numpy()])
        columns = [c for c in ("source", "producteur", "jeu_de_donnees", "millesime", "date_consultation",
                               "licence", "url") if c in self.series.columns]
        declared = self.series.set_index(["indicateur", "periode"])[columns]
        declared = declared[~declared.index.duplicated()].reindex(key).fillna("")
        sources = []
        for planned, (_, row) in zip(table["Source prévue"], declared.iterrows()):
            parts = [str(row[c]) for c in columns if str(row[c]) and str(row[c]) != DEMO_SOURCE]
            if "date_consultation" in columns and row["date_consultation"]:
                parts = [f"consulté le {row['date_consultation']}" if t == row["date_consultation"] else t
                         for t in parts]
            sources.append(", ".join(parts) if parts else f"prévue : {planned}")
        units = rows["element"].map(meta["unite"]).to_numpy()
        out = pd.DataFrame({
            "Indicateur": table["Indicateur"],
            "Commun (axe)": [f"{c} ({a})" for c, a in zip(table["Commun"], table["Axe"])],
            "Période": table["Période"].fillna("").astype(str),
            "Valeur": [(MISSING if pd.isna(v) else f"{fr_plain(v)}\u00a0{u}") for v, u in zip(table["Valeur"], units)],
            "Score (0-100)": table["Score (0-100)"],
        })
        for label, values in self.reference_values().items():
            out[label] = values.reindex(rows["element"].to_numpy()).fillna("").to_numpy()
        out["Source"] = sources
        return out

    def reference_levels(self) -> dict[str, str]:
        """The territory's reference levels (column label → canonical code): its département, its
        région, France — those that are not the territory itself."""
        levels = {"Département": self.territory.departement, "Région": self.territory.region, "France": "FR"}
        return {label: code for label, code in levels.items() if code and code != self.code}

    def reference_values(self) -> dict[str, pd.Series]:
        """Column label → (indicator → « value unit (period) ») of each reference level present in
        the data file, at its latest period (the value as published, with its own year)."""
        values = self.data.values
        meta = self.catalogue.indicators
        out = {}
        for label, code in self.reference_levels().items():
            rows = values[values["territoire"] == code]
            if rows.empty:
                continue
            latest = rows.sort_values("periode", kind="stable").groupby("indicateur").tail(1).set_index("indicateur")
            out[label] = pd.Series({ind: f"{fr_plain(r.valeur)}\u00a0{meta.at[ind, 'unite']} ({r.periode})"
                                    for ind, r in latest.iterrows()}, dtype=object)
        return out

    def file_notes(self) -> pd.DataFrame:
        """Every value of the file that comes with a comment or an excerpt, all periods (not only
        the period scored), in file order: « Indicateur », « Période », « Valeur », « Commentaire »
        (and « Extrait » when the file has excerpts)."""
        v = self.series
        texts = [c for c in ("commentaire", "extrait") if c in v.columns]
        noted = v[(v[texts].astype(str) != "").any(axis=1)] if texts else v.iloc[:0]
        noted = noted[noted["commentaire"].astype(str) != DEMO_SOURCE] if "commentaire" in noted else noted
        meta = self.catalogue.indicators
        out = pd.DataFrame({
            "Indicateur": noted["indicateur"].map(meta["libelle"]).to_numpy(),
            "Période": noted["periode"].astype(str).to_numpy(),
            "Valeur": [f"{fr_plain(x)}\u00a0{u}" for x, u in zip(noted["valeur"], noted["indicateur"].map(meta["unite"]))],
            "Commentaire": noted["commentaire"].astype(str).to_numpy(),
        })
        if "extrait" in noted and (noted["extrait"].astype(str) != "").any():
            out["Extrait"] = noted["extrait"].astype(str).to_numpy()
        return out

    def styled_file_notes(self):
        return _fitted(self.file_notes().style, {"Indicateur": 3, "Période": 1.2, "Valeur": 1.5,
                                                 "Commentaire": 4, "Extrait": 4})

    @property
    def value_count(self) -> int:
        """Number of values the data file holds for this territory (all periods)."""
        return len(self.series)

    def counts(self) -> tuple[int, int]:
        """(indicators with a value, indicators in the catalogue)."""
        n = int(self.scores.indicators.loc[self.code].notna().sum())
        return n, len(self.catalogue.indicators)


def _fitted(styler, widths: dict[str, float]):
    """A table that fits the page: fixed layout at 100 % width, columns in proportion to
    ``widths``, every cell wrapped (long words and addresses too); scores with one decimal."""
    columns = list(styler.data.columns)
    total = sum(widths.get(c, 1.5) for c in columns)
    styles = [{"selector": "", "props": [("width", "100%"), ("table-layout", "fixed")]},
              {"selector": "td, th", "props": [("overflow-wrap", "anywhere"), ("word-break", "normal"),
                                               ("white-space", "normal"), ("vertical-align", "top")]}]
    styles += [{"selector": f"th.col_heading.col{k}",
                "props": [("width", f"{100 * widths.get(c, 1.5) / total:.1f}%")]} for k, c in enumerate(columns)]
    return (styler.hide(axis="index")
            .format(precision=1, decimal=",", thousands="\u202f", na_rep="n.d.", escape="html")
            .set_table_styles(styles, overwrite=False)
            .set_table_attributes('class="tex2jax_ignore mathjax_ignore texte-donnees"'))


def escape_markdown_text(text: str) -> str:
    """Text for a ``{glue:md}`` paragraph: only names from the catalogue and numbers, escaped
    all the same (a label could hold a MyST character)."""
    return escape_markdown(text)


def territory_sheet(code: str, data_path: str | os.PathLike, choices: Choices | None = None,
                    catalogue: Catalogue | None = None, reference: Reference | None = None,
                    demonstration: bool = False) -> TerritorySheet:
    """Validate the data file, score it, and return the sheet of territory ``code``
    (``demonstration``: the file may hold fictional territories, ``FICTIF-…``).

    Raises :class:`~observatoire.errors.ValidationError` (French messages) on a bad file and
    :class:`~observatoire.engine.reference.TerritoryCodeError` on an unknown or absent territory.
    """
    from observatoire.engine.reference import TerritoryCodeError

    catalogue = catalogue or load_catalogue()
    reference = reference or load_reference()
    territory = reference.territory(str(code))
    if choices is None and catalogue is load_catalogue() and reference is load_reference():
        from observatoire.report.results import scored_file

        scores, data = scored_file(data_path, demonstration)  # the book build computes it once for every page
    else:
        scores, data = score_data_file(data_path, choices, catalogue, reference, demonstration)
    if territory.code not in set(data.values["territoire"]):
        raise TerritoryCodeError(
            f"le territoire « {territory.code} » ({territory.nom}) n'a aucune valeur dans {data_path}")
    return TerritorySheet(territory, scores, data, catalogue, reference)
