"""Exercise 1, « Construire un indice »: the pilots' index under the learner's choices.

The learner picks the communs that enter the index, the normalisation, the aggregation and the
weight of each axis; :func:`experiment` scores the pilots with :func:`~observatoire.engine.pipeline.
compute_scores`, draws the uncertainty bands with :func:`~observatoire.engine.uncertainty.monte_carlo`
around those choices, and :func:`feedback` compares the result with the book's reference
choices (ranks that move, intervals that overlap, a geometric mean zeroed by one score).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

import pandas as pd

from observatoire.engine import aggregate, normalise
from observatoire.campus import ui
from observatoire.engine.catalogue import Catalogue, load_catalogue
from observatoire.engine.pipeline import Choices, compute_scores
from observatoire.engine.weights import Weights

N_DRAWS = 200
SEED = 20260101

NORMALISATION_LABELS = {
    "goalposts": "bornes du catalogue (choix du livre)",
    "distance_to_target": "distance à la cible",
    "minmax": "min-max entre les pilotes",
    "zscore": "score standardisé (z)",
    "rank": "rang entre les pilotes",
}
AGGREGATION_LABELS = {
    "arithmetic": "moyenne arithmétique (choix du livre)",
    "geometric": "moyenne géométrique",
    "generalised": "moyenne généralisée",
}
assert set(NORMALISATION_LABELS) == set(normalise.METHODS)
assert set(AGGREGATION_LABELS) == set(aggregate.METHODS)


@dataclass(frozen=True)
class PilotData:
    """The pilots' validated demonstration values, their population and labels."""

    values: pd.DataFrame
    catalogue: Catalogue
    population: pd.Series
    labels: dict[str, str]


@lru_cache(maxsize=1)
def pilot_data() -> PilotData:
    from observatoire.report.comparison import pilot_labels
    from observatoire.paths import DEFAULT_DATA
    from observatoire.engine.reference import load_reference, population_by_code
    from observatoire.engine.validate import validate_file

    catalogue, reference = load_catalogue(), load_reference()
    data = validate_file(DEFAULT_DATA, catalogue, reference)
    values = data.values
    codes = values["territoire"].unique()
    population = population_by_code(reference).reindex(codes).astype("float64")
    return PilotData(values, catalogue, population, pilot_labels())


def reference_index(data: PilotData | None = None) -> pd.Series:
    """The pilots' overall index with the book's reference choices."""
    data = data or pilot_data()
    if data is pilot_data():
        return _reference_index()
    return compute_scores(data.values, data.catalogue, Choices(), data.population).index


@lru_cache(maxsize=1)
def _reference_index() -> pd.Series:
    data = pilot_data()
    return compute_scores(data.values, data.catalogue, Choices(), data.population).index


def restrict(catalogue: Catalogue, communs) -> Catalogue:
    """The catalogue reduced to the indicators of ``communs`` (every axis they touch kept)."""
    ind = catalogue.indicators
    return Catalogue(ind[ind["commun"].isin(list(communs))], catalogue.axes, catalogue.communs,
                     catalogue.directory)


@dataclass
class Result:
    """One run of the exercise: a table per pilot and the learner's feedback."""

    choices: Choices
    communs: tuple[str, ...]
    table: pd.DataFrame | None  # per pilot code: titre, indice, rang, q05, q50, q95, rang_livre
    profile: pd.DataFrame | None  # pilots (titles) × communs (labels)
    error: str | None = None
    messages: list[tuple[str, str]] = field(default_factory=list)


def choices_of(normalisation: str = "goalposts", aggregation: str = "arithmetic", power: float = 0.5,
               axis_weights: dict | None = None) -> Choices:
    weights = Weights(axes={int(a): float(w) for a, w in (axis_weights or {}).items()})
    return Choices(normalisation=normalisation, aggregation=aggregation, power=float(power), weights=weights)


def _ranks(index: pd.Series) -> pd.Series:
    return index.rank(ascending=False, method="min")


def experiment(communs=None, choices: Choices | None = None, n_draws: int = N_DRAWS,
               seed: int = SEED, data: PilotData | None = None) -> Result:
    """Score the pilots on ``communs`` (all by default) with ``choices``, with uncertainty."""
    from observatoire.engine.uncertainty import Space, monte_carlo

    data = data or pilot_data()
    choices = choices or Choices()
    all_communs = tuple(data.catalogue.communs.index)
    communs = tuple(c for c in all_communs if c in set(communs if communs is not None else all_communs))
    if not communs:
        return Result(choices, communs, None, None, "Choisissez au moins un commun : un indice sans "
                      "indicateur n'a pas de valeur.")
    if sum(choices.weights.of("axes", a) for a in data.catalogue.axes.index) <= 0:
        return Result(choices, communs, None, None, "Tous les axes ont un poids nul : l'indice global "
                      "n'est plus défini. Donnez un poids positif à au moins un axe.")
    catalogue = restrict(data.catalogue, communs)
    values = data.values[data.values["indicateur"].isin(catalogue.indicators.index)]
    try:
        scores = compute_scores(values, catalogue, choices, data.population)
    except ValueError as exc:  # a combination the engine refuses, with its French reason
        return Result(choices, communs, None, None, f"Le moteur refuse cette combinaison : {str(exc).rstrip('.')}.")
    reference = reference_index(data)
    # Bands: every normalisation and aggregation, weights ± 50 % around the learner's.
    uncertainty = monte_carlo(scores, n_draws=n_draws, seed=seed, space=Space())
    q = uncertainty.index_quantiles()
    codes = list(data.labels)
    table = pd.DataFrame({
        "titre": [data.labels[c] for c in codes],
        "indice": scores.index.reindex(codes).to_numpy(),
        "q05": q["q05"].reindex(codes).to_numpy(),
        "q50": q["q50"].reindex(codes).to_numpy(),
        "q95": q["q95"].reindex(codes).to_numpy(),
    }, index=pd.Index(codes, name="territoire"))
    table["rang"] = _ranks(table["indice"])
    table["rang_livre"] = _ranks(reference.reindex(codes))
    profile = scores.communs.reindex(codes).rename(index=data.labels, columns=data.catalogue.commun_label)
    result = Result(choices, communs, table, profile)
    result.messages = feedback(result, len(all_communs))
    return result


def _ordinal(rank) -> str:
    rank = int(rank)
    return "1<sup>er</sup>" if rank == 1 else f"{rank}<sup>e</sup>"


def _overlapping_neighbours(table: pd.DataFrame) -> list[tuple[str, str]]:
    ordered = table.dropna(subset=["indice"]).sort_values("indice", ascending=False)
    pairs = []
    for (_, a), (_, b) in zip(ordered.iterrows(), ordered.iloc[1:].iterrows()):
        if a["q05"] <= b["q95"] and b["q05"] <= a["q95"]:
            pairs.append((a["titre"], b["titre"]))
    return pairs


def feedback(result: Result, n_communs_total: int) -> list[tuple[str, str]]:
    """French feedback on a result: what changed against the book's choices, and why."""
    out: list[tuple[str, str]] = []
    t = result.table
    e = ui.escape
    moved = t[t["rang"] != t["rang_livre"]]
    if moved.empty:
        out.append(("info", "Le classement des pilotes est <strong>le même</strong> qu'avec les choix du "
                    "livre. Essayez une autre normalisation, une moyenne géométrique ou des poids très "
                    "inégaux : le classement tient-il toujours ?"))
    else:
        changes = ", ".join(f"{e(r.titre)} ({_ordinal(r.rang_livre)} → {_ordinal(r.rang)})"
                            for r in moved.itertuples())
        out.append(("attention", f"<strong>Le classement a changé</strong> par rapport aux choix du livre : "
                    f"{changes}. Les données n'ont pas bougé : seuls vos choix de méthode l'ont fait."))
    pairs = _overlapping_neighbours(t)
    if pairs:
        shown = " ; ".join(f"{e(a)} et {e(b)}" for a, b in pairs)
        out.append(("info", f"Les marges d'incertitude (5 à 95 % des tirages) de pilotes voisins se "
                    f"recouvrent : {shown}. Leur ordre n'est pas robuste aux choix de méthode."))
    else:
        out.append(("succes", "Aucune marge d'incertitude de pilotes voisins ne se recouvre : avec ces "
                    "communs, l'ordre des pilotes résiste aux choix de méthode."))
    if aggregate.needs_floor(result.choices.aggregation, result.choices.power):
        out.append(("info", "Cette moyenne compense peu : un score nul ou très faible tire l'indice vers le bas. "
                    "Le moteur la calcule sur l'échelle de 1 à 100, comme COINr, pour qu'un seul zéro "
                    "n'annule pas tous les autres scores."))
    if len(result.communs) < n_communs_total:
        out.append(("info", f"Votre indice ne porte que sur {len(result.communs)} commun(s) sur "
                    f"{n_communs_total} : choisir les indicateurs, c'est déjà choisir ce que l'on mesure."))
    return out


# -- the app ------------------------------------------------------------------------------

class IndexApp:
    """The widgets of the exercise; ``widget`` is what the notebook displays."""

    def __init__(self, n_draws: int = N_DRAWS):
        import ipywidgets as w

        self.n_draws = n_draws
        self.data = pilot_data()
        cat = self.data.catalogue
        style = {"description_width": "11em"}
        self.communs = w.SelectMultiple(
            options=[(cat.commun_label(c), c) for c in cat.communs.index], value=tuple(cat.communs.index),
            rows=6, description="Communs retenus", style=style, layout=w.Layout(width="32em"))
        self.communs.add_class("campus-communs")
        self.normalisation = w.Dropdown(options=[(v, k) for k, v in NORMALISATION_LABELS.items()],
                                        value="goalposts", description="Normalisation", style=style,
                                        layout=w.Layout(width="32em"))
        self.normalisation.add_class("campus-normalisation")
        self.aggregation = w.Dropdown(options=[(v, k) for k, v in AGGREGATION_LABELS.items()],
                                      value="arithmetic", description="Agrégation", style=style,
                                      layout=w.Layout(width="32em"))
        self.aggregation.add_class("campus-agregation")
        self.power = w.FloatSlider(value=0.5, min=0.1, max=1.0, step=0.1, description="Ordre (généralisée)",
                                   continuous_update=False, style=style, layout=w.Layout(width="32em"))
        self.power.add_class("campus-puissance")
        self.axis_weights = {}
        for axis in cat.axes.index:
            s = w.FloatSlider(value=1.0, min=0.0, max=3.0, step=0.5, continuous_update=False,
                              description=f"Poids axe {axis}", style=style, layout=w.Layout(width="32em"),
                              tooltip=cat.axis_label(axis))
            s.add_class(f"campus-poids-axe-{axis}")
            self.axis_weights[axis] = s
        axis_legend = w.HTML("<br>".join(f"<small>Axe {a} : {ui.escape(cat.axis_label(a))}</small>"
                                         for a in cat.axes.index))
        self.reset = w.Button(description="Revenir aux choix du livre",
                              layout=w.Layout(width="auto"))
        self.reset.add_class("campus-reinitialiser")
        self.feedback = ui.feedback_widget()
        self.table = ui.output_widget("campus-tableau")
        self.figure = ui.output_widget("campus-figure")
        controls = w.VBox([self.communs, self.normalisation, self.aggregation, self.power,
                           *self.axis_weights.values(), axis_legend, self.reset])
        results = w.VBox([self.feedback, self.table, self.figure], layout=w.Layout(width="100%"))
        self.widget = w.VBox([ui.demo_notice(), controls, results])
        self.widget.add_class("campus-app")
        for control in (self.communs, self.normalisation, self.aggregation, self.power,
                        *self.axis_weights.values()):
            control.observe(self.update, names="value")
        self.reset.on_click(self.restore)
        self.update()

    def restore(self, _=None) -> None:
        cat = self.data.catalogue
        with self.widget.hold_sync():
            for control in (self.communs, self.normalisation, self.aggregation, self.power,
                            *self.axis_weights.values()):
                control.unobserve(self.update, names="value")
            self.communs.value = tuple(cat.communs.index)
            self.normalisation.value, self.aggregation.value, self.power.value = "goalposts", "arithmetic", 0.5
            for s in self.axis_weights.values():
                s.value = 1.0
            for control in (self.communs, self.normalisation, self.aggregation, self.power,
                            *self.axis_weights.values()):
                control.observe(self.update, names="value")
        self.update()

    def update(self, _=None) -> None:
        from observatoire.report import figures

        self.power.disabled = self.aggregation.value != "generalised"
        choices = choices_of(self.normalisation.value, self.aggregation.value, self.power.value,
                             {a: s.value for a, s in self.axis_weights.items()})
        result = experiment(self.communs.value, choices, self.n_draws, data=self.data)
        self.result = result
        if result.error:
            self.feedback.value = ui.box("erreur", ui.escape(result.error))
            ui.show(self.table)
            ui.show(self.figure)
            return
        self.feedback.value = ui.boxes(result.messages)
        t = result.table.sort_values(["rang", "titre"])
        shown = pd.DataFrame({
            "Rang": t["rang"].astype("Int64").astype(str).to_numpy(),
            "Territoire pilote": t["titre"].to_numpy(),
            "Indice": t["indice"].to_numpy(),
            "Marge 5 %": t["q05"].to_numpy(),
            "Marge 95 %": t["q95"].to_numpy(),
            "Rang avec les choix du livre": t["rang_livre"].astype("Int64").astype(str).to_numpy(),
        })
        ui.show(self.table, ui.html_output(ui.table_html(shown)))
        quantiles = result.table.set_index("titre")[["q05", "q50", "q95"]].assign(
            reference=result.table.set_index("titre")["indice"])
        fig = figures.index_intervals(quantiles, band="marge 5-95 % (tirages des choix)")
        fig.axes[0].collections[-1].set_label("vos choix")
        fig.axes[0].legend(loc="upper center", bbox_to_anchor=(0.5, -0.22), ncol=3, frameon=False, fontsize=8)
        ui.show(self.figure, ui.figure_output(fig))



def app(n_draws: int = N_DRAWS):
    """The exercise's widget (what the notebook displays)."""
    return IndexApp(n_draws).widget


__all__ = ["IndexApp", "Result", "app", "choices_of", "experiment", "feedback", "pilot_data", "restrict"]
