"""Exercise 1, « Construire un indice »: four fictional territories' index under the learner's choices.

The learner picks the communs that enter the index, the normalisation, the aggregation (with
the order of the power mean) and the weight of each axis; :func:`experiment` scores Brumeval,
Port-Lumière, the Combe-aux-Fées and the Île des Goélands (fictional EPCI, invented values) with
the engine (its vectorised pipeline, :class:`~observatoire.engine.uncertainty.ScoringModel`, built
once per set of communs from :func:`~observatoire.engine.pipeline.compute_scores`), and draws each
index's margin **around the learner's own choices**: the learner's normalisation and aggregation
are held fixed and every weight varies by ±50 % around the learner's, so the band follows every
choice and says what it holds fixed. A Monte Carlo over every method
(:func:`~observatoire.engine.uncertainty.monte_carlo`) gives the ranks each territory can take
whatever the method. :func:`feedback` compares the result with the book's reference choices.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
import pandas as pd

from observatoire import text
from observatoire.campus import fiction, shared, ui
from observatoire.engine import aggregate, normalise
from observatoire.engine.catalogue import Catalogue
from observatoire.engine.pipeline import Choices, compute_scores
from observatoire.engine.weights import Weights

N_DRAWS = 200  # draws over every method (the ranks each territory can take)
N_SETS = 100  # weight sets of the margin around the learner's method
SEED = 20260101
WEIGHT_NOISE = 0.5

NORMALISATION_LABELS = {
    "goalposts": "bornes du catalogue (choix du livre)",
    "distance_to_target": "distance à la cible",
    "minmax": "min-max entre les territoires",
    "zscore": "score standardisé (z)",
    "rank": "rang entre les territoires",
}
AGGREGATION_LABELS = {
    "arithmetic": "moyenne arithmétique (choix du livre)",
    "geometric": "moyenne géométrique",
    "generalised": "moyenne d'ordre p (généralisée)",
}
assert set(NORMALISATION_LABELS) == set(normalise.METHODS)
assert set(AGGREGATION_LABELS) == set(aggregate.METHODS)
#: The order of the power mean: 1 is the arithmetic mean, 0 the geometric mean, −1 the harmonic
#: mean; the lower the order, the less a strong score makes up for a weak one.
POWER_MIN, POWER_MAX, POWER_STEP = -1.0, 1.0, 0.25
#: Example indicator of the normalisation checkpoint (first one of this list in the catalogue).
EXAMPLE_INDICATORS = ("eau_rendement_reseau", "ftth_locaux_part", "apl_medecins_generalistes")


def power_explanation(p: float) -> str:
    """What an order of the power mean does, in French (HTML)."""
    if p >= 1:
        what = "la moyenne arithmétique : un bon score compense entièrement un mauvais"
    elif p > 0:
        what = "entre la moyenne géométrique (ordre 0) et l'arithmétique (ordre 1) : compense en partie"
    elif p == 0:
        what = "la moyenne géométrique : compense peu, un score faible pèse lourd"
    elif p > -1:
        what = "en dessous de la géométrique : compense très peu"
    else:
        what = "la moyenne harmonique : compense très peu, proche du score le plus faible"
    return (f"<small>Ordre {text.fr_signed(p, 2) if p else '0'} : {what}. Comme le moteur de l'Observatoire "
            "(et COINr), cette moyenne lit les scores sur l'échelle de 1 à 100, pour qu'un seul score nul ne "
            "l'annule pas.</small>")


@dataclass(frozen=True)
class ExerciseData:
    """The four fictional territories' validated values, their population and labels."""

    values: pd.DataFrame
    catalogue: Catalogue
    population: pd.Series
    labels: dict[str, str]


@lru_cache(maxsize=1)
def exercise_data() -> ExerciseData:
    data = fiction.fictional_data()
    codes = list(fiction.EXERCISE_TERRITORIES)
    return ExerciseData(data.of(codes), data.catalogue, data.population.reindex(codes),
                        dict(fiction.EXERCISE_TERRITORIES))


def restrict(catalogue: Catalogue, communs) -> Catalogue:
    """The catalogue reduced to the indicators of ``communs`` (every axis they touch kept)."""
    ind = catalogue.indicators
    return Catalogue(ind[ind["commun"].isin(list(communs))], catalogue.axes, catalogue.communs,
                     catalogue.directory)


def choices_of(normalisation: str = "goalposts", aggregation: str = "arithmetic", power: float = 0.5,
               axis_weights: dict | None = None) -> Choices:
    weights = Weights(axes={int(a): float(w) for a, w in (axis_weights or {}).items()})
    return Choices(normalisation=normalisation, aggregation=aggregation, power=float(power), weights=weights)


def _ranks(index: pd.Series) -> pd.Series:
    return index.rank(ascending=False, method="min")


@dataclass
class Result:
    """One run of the exercise: a table per territory and the learner's feedback."""

    choices: Choices
    communs: tuple[str, ...]
    table: pd.DataFrame | None  # per code: titre, indice, rang, q05, q50, q95, rang_livre, rang_min, rang_max
    profile: pd.DataFrame | None  # territories (labels) × communs (labels)
    error: str | None = None
    messages: list[tuple[str, str]] = field(default_factory=list)


def score(data: ExerciseData, communs, choices: Choices):
    """The engine's pipeline on the four territories, restricted to ``communs``."""
    catalogue = restrict(data.catalogue, communs)
    values = data.values[data.values["indicateur"].isin(catalogue.indicators.index)]
    return compute_scores(values, catalogue, choices, data.population)


@lru_cache(maxsize=16)
def reference_scores(communs: tuple[str, ...]):
    """The four territories scored with the book's choices on ``communs`` (kept: read-only)."""
    kept = shared.get("reference_scores", communs)
    return kept if kept is not None else score(exercise_data(), communs, Choices())


@lru_cache(maxsize=16)
def model_of(communs: tuple[str, ...]):
    """The engine's vectorised pipeline (:class:`~observatoire.engine.uncertainty.ScoringModel`,
    tested to give the same scores as :func:`~observatoire.engine.pipeline.compute_scores`) on
    ``communs``: after its first use, a change of method or weights costs milliseconds."""
    from observatoire.engine.uncertainty import ScoringModel

    kept = shared.get("model_of", communs)
    return kept if kept is not None else ScoringModel.from_scores(reference_scores(communs))


@lru_cache(maxsize=16)
def _all_methods_ranks(communs: tuple[str, ...], n_draws: int, seed: int) -> pd.DataFrame:
    """Ranks each territory takes over every normalisation and aggregation (book's weights ±50 %)."""
    from observatoire.engine.uncertainty import monte_carlo

    kept = shared.get("all_methods_ranks", (communs, n_draws, seed))
    if kept is not None:
        return kept
    result = monte_carlo(reference_scores(communs), n_draws=n_draws, seed=seed)
    return pd.DataFrame({"rang_min": np.nanmin(result.ranks, axis=0), "rang_max": np.nanmax(result.ranks, axis=0)},
                        index=result.territories)


def weights_band(model, choices: Choices, n_sets: int, seed: int) -> np.ndarray:
    """Quantiles (5, 50, 95 %) of each territory's index over ``n_sets`` weight sets, every
    weight (indicator, commun, axis) times its own U[0.5, 1.5] around the learner's, with the
    learner's normalisation and aggregation (the engine's Monte Carlo perturbation,
    :func:`~observatoire.engine.uncertainty.noisy_weight_sets`)."""
    from observatoire.engine.uncertainty import nan_quantiles, noisy_weight_sets

    vectors = model.weight_vectors(choices.weights)
    sets = noisy_weight_sets(np.concatenate(vectors), WEIGHT_NOISE, n_sets, np.random.default_rng(seed))
    k, c = len(model.indicators), len(model.communs)
    draws = np.array([model.score(choices.normalisation, choices.aggregation, choices.power,
                                  matrices=model.weight_matrices(w[:k], w[k:k + c], w[k + c:])).index for w in sets])
    return nan_quantiles(draws)


def experiment(communs=None, choices: Choices | None = None, n_sets: int = N_SETS, seed: int = SEED) -> Result:
    """Score the four fictional territories on ``communs`` (all by default) with ``choices``."""
    data = exercise_data()
    choices = choices or Choices()
    all_communs = tuple(data.catalogue.communs.index)
    communs = tuple(c for c in all_communs if c in set(communs if communs is not None else all_communs))
    if not communs:
        return Result(choices, communs, None, None, "Choisissez au moins un commun : un indice sans "
                      "indicateur n'a pas de valeur.")
    if sum(choices.weights.of("axes", a) for a in data.catalogue.axes.index) <= 0:
        return Result(choices, communs, None, None, "Tous les axes ont un poids nul : l'indice global "
                      "n'est plus défini. Donnez un poids positif à au moins un axe.")
    model = model_of(communs)
    try:
        scores = model.score(choices.normalisation, choices.aggregation, choices.power,
                             weights=model.weight_vectors(choices.weights))
        band = weights_band(model, choices, n_sets, seed)
    except ValueError as exc:  # a combination the engine refuses, with its French reason
        return Result(choices, communs, None, None, f"Le moteur refuse cette combinaison : {str(exc).rstrip('.')}.")
    index = pd.Series(scores.index, index=model.territories)
    spread = _all_methods_ranks(communs, N_DRAWS, seed)
    codes = list(data.labels)
    positions = model.territories.get_indexer(codes)
    table = pd.DataFrame({
        "titre": [data.labels[c] for c in codes],
        "indice": index.reindex(codes).to_numpy(),
        "q05": band[0][positions], "q50": band[1][positions], "q95": band[2][positions],
        "rang_min": spread["rang_min"].reindex(codes).to_numpy(),
        "rang_max": spread["rang_max"].reindex(codes).to_numpy(),
    }, index=pd.Index(codes, name="territoire"))
    table["rang"] = _ranks(table["indice"])
    table["rang_livre"] = _ranks(reference_scores(communs).index.reindex(codes))
    profile = pd.DataFrame(scores.communs, index=model.territories, columns=model.communs).reindex(codes).rename(
        index=data.labels, columns=data.catalogue.commun_label)
    result = Result(choices, communs, table, profile)
    result.messages = feedback(result, len(all_communs))
    return result


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
        out.append(("info", "Le classement des quatre territoires est <strong>le même</strong> qu'avec les choix "
                    "du livre."))
    else:
        changes = ", ".join(f"{e(r.titre)} ({ui.ordinal(r.rang_livre)} → {ui.ordinal(r.rang)})"
                            for r in moved.itertuples())
        out.append(("attention", f"<strong>Le classement a changé</strong> par rapport aux choix du livre : "
                    f"{changes}. Les données n'ont pas bougé : seuls vos choix de méthode l'ont fait."))
    pairs = _overlapping_neighbours(t)
    held = "vos poids variant de ±50 %, votre normalisation et votre agrégation tenues fixes"
    if pairs:
        shown = " ; ".join(f"{e(a)} et {e(b)}" for a, b in pairs)
        out.append(("info", f"Les marges (5 à 95 % des tirages, {held}) de territoires voisins se recouvrent : "
                    f"{shown}. Leur ordre dépend des poids."))
    else:
        out.append(("succes", f"Aucune marge de territoires voisins ne se recouvre ({held}) : avec cette méthode, "
                    "l'ordre résiste aux poids."))
    spread = t.dropna(subset=["rang_min"])
    wide = spread[spread["rang_max"] > spread["rang_min"]]
    if len(wide):
        listed = ", ".join(f"{e(r.titre)} du {ui.ordinal(r.rang_min)} au {ui.ordinal(r.rang_max)}"
                           for r in wide.itertuples())
        out.append(("info", f"Toutes normalisations et agrégations confondues (sur ces communs), les rangs "
                    f"possibles vont : {listed}. Un classement n'est solide que s'il tient à tous ces choix."))
    c = result.choices
    if c.aggregation == "geometric" or (c.aggregation == "generalised" and c.power <= 0.5):
        out.append(("info", "Cette moyenne <strong>compense peu</strong> : un score faible tire l'indice vers le bas, "
                    "un bon score ne le rattrape guère. Le moteur la calcule sur l'échelle de 1 à 100, comme COINr, "
                    "pour qu'un seul zéro n'annule pas tous les autres scores."))
    if len(result.communs) < n_communs_total:
        out.append(("info", f"Votre indice ne porte que sur {text.plural(len(result.communs), 'commun')} sur "
                    f"{n_communs_total} : choisir les indicateurs, c'est déjà choisir ce que l'on mesure."))
    return out


# -- figure -------------------------------------------------------------------------------

def index_figure(result: Result) -> str:
    """Each territory's index (the learner's choices) inside its margin, on an axis zoomed on the data."""
    from observatoire.campus import svg

    t = result.table.sort_values("indice", ascending=False)
    return svg.intervals([(f"{name} (fictif)", lo, hi, v) for name, lo, hi, v in
                          zip(t["titre"], t["q05"], t["q95"], t["indice"])],
                         "Indice global de chaque territoire fictif et sa marge",
                         "Indice global (0 à 100 ; axe resserré sur les valeurs)",
                         "marge 5-95 % (poids ±50 %, votre méthode tenue fixe)", "vos choix")


# -- prediction and checkpoints ---------------------------------------------------------------------

@lru_cache(maxsize=1)
def geometric_case() -> tuple[str, pd.Series]:
    """The prediction's answer: the territory whose index drops most when the book's
    arithmetic mean becomes the geometric mean, and every territory's drop (points)."""
    kept = shared.get("geometric_case")
    if kept is not None:
        return kept
    communs = tuple(exercise_data().catalogue.communs.index)
    drop = reference_scores(communs).index - score(exercise_data(), communs, Choices(aggregation="geometric")).index
    return str(drop.idxmax()), drop


def normalisation_answer(data: ExerciseData, code: str) -> str:
    """Worked answer: one indicator of ``code`` normalised by the catalogue's goalposts."""
    scores = reference_scores(tuple(data.catalogue.communs.index))
    meta = data.catalogue.indicators
    indicator = next(i for i in (*EXAMPLE_INDICATORS, *meta.index) if i in scores.datasets["matrice"].columns
                     and pd.notna(scores.datasets["matrice"].at[code, i]))
    m = meta.loc[indicator]
    value = float(scores.datasets["matrice"].at[code, indicator])
    low, high, direction = float(m["borne_basse"]), float(m["borne_haute"]), int(m["direction"])
    raw = 100 * (value - low) / (high - low)
    clipped = min(100.0, max(0.0, raw))
    result = float(scores.indicators.at[code, indicator])
    f = text.fr_number
    steps = [f"{ui.escape(m['libelle'])}, {ui.escape(fiction.named(code))} (fictif) : {f(value, 2)} "
             f"{ui.escape(m['unite'])} ; bornes du catalogue : {f(low, 2)} et {f(high, 2)}.",
             f"Position entre les bornes : 100 × ({f(value, 2)} − {f(low, 2)}) / ({f(high, 2)} − {f(low, 2)}) = "
             f"{f(raw, 1)}" + ("" if raw == clipped else f", ramené à {f(clipped, 0)} (hors des bornes)") + "."]
    if direction < 0:
        steps.append(f"Ici, moins est mieux : le score est 100 − {f(clipped, 1)} = <strong>{f(result, 1)}</strong>.")
    else:
        steps.append(f"Ici, plus est mieux : le score est <strong>{f(result, 1)}</strong>.")
    return " ".join(steps)


def geometric_answer(data: ExerciseData, code: str) -> str:
    """Worked answer: why the geometric mean moves ``code``."""
    communs = tuple(data.catalogue.communs.index)
    arith, geo = reference_scores(communs), score(data, communs, Choices(aggregation="geometric"))
    profile = arith.communs.loc[code].dropna()
    weak, strong = profile.idxmin(), profile.idxmax()
    label = data.catalogue.commun_label
    f = text.fr_number
    ra, rg = _ranks(arith.index)[code], _ranks(geo.index)[code]
    move = (f"son rang passe du {ui.ordinal_text(ra)} au {ui.ordinal_text(rg)}" if ra != rg
            else f"son rang reste le {ui.ordinal_text(ra)}")
    return (f"{ui.escape(fiction.named(code, capital=True))} (fictif) a des communs très inégaux : {ui.escape(label(weak))} à "
            f"{f(profile[weak], 1)}, {ui.escape(label(strong))} à {f(profile[strong], 1)}. La moyenne arithmétique "
            f"laisse le fort compenser le faible (indice {f(arith.index[code], 1)}) ; la géométrique, qui multiplie "
            f"les scores au lieu de les additionner, le compense beaucoup moins (indice {f(geo.index[code], 1)}) : "
            f"{move}. Plus les communs d'un territoire sont inégaux, plus il perd à ce changement.")


def margin_answer(result: Result | None) -> str:
    if result is None or result.table is None:
        return "Choisissez d'abord des communs et des poids qui donnent un indice."
    t = result.table.sort_values("indice", ascending=False)
    a, b = t.iloc[0], t.iloc[1]
    f = text.fr_number
    overlap = a["q05"] <= b["q95"] and b["q05"] <= a["q95"]
    lines = (f"{ui.escape(a['titre'])} : indice {f(a['indice'], 1)}, marge de {f(a['q05'], 1)} à {f(a['q95'], 1)} ; "
             f"{ui.escape(b['titre'])} : indice {f(b['indice'], 1)}, marge de {f(b['q05'], 1)} à {f(b['q95'], 1)}. ")
    if overlap:
        return lines + ("Les marges se recouvrent : pour certains jeux de poids tout aussi défendables, l'ordre "
                        "s'inverse. On ne peut pas dire que le premier est « plus résilient » que le second.")
    return lines + ("Les marges ne se recouvrent pas : avec cette méthode, l'ordre tient quels que soient les poids "
                    "tirés. Il peut encore dépendre de la méthode : regardez les rangs possibles dans le bandeau.")


# -- the app ------------------------------------------------------------------------------

class IndexApp:
    """The widgets of the exercise; ``widget`` is what the notebook displays."""

    def __init__(self, preview: bool = False):
        import ipywidgets as w

        self.data = exercise_data()
        self.result: Result | None = None
        self.tried_geometric = self.restoring = False
        cat = self.data.catalogue
        style = {"description_width": "11em"}
        wide = w.Layout(width="34em")
        self.communs = w.SelectMultiple(
            options=[(cat.commun_label(c), c) for c in cat.communs.index], value=tuple(cat.communs.index),
            rows=6, description="Communs retenus", style=style, layout=wide)
        self.communs.add_class("campus-communs")
        self.normalisation = w.Dropdown(options=[(v, k) for k, v in NORMALISATION_LABELS.items()],
                                        value="goalposts", description="Normalisation", style=style, layout=wide)
        self.normalisation.add_class("campus-normalisation")
        self.aggregation = w.Dropdown(options=[(v, k) for k, v in AGGREGATION_LABELS.items()],
                                      value="arithmetic", description="Agrégation", style=style, layout=wide)
        self.aggregation.add_class("campus-agregation")
        self.power = w.FloatSlider(value=0.5, min=POWER_MIN, max=POWER_MAX, step=POWER_STEP,
                                   description="Ordre p", continuous_update=False, readout=False,
                                   style=style, layout=wide)
        self.power.add_class("campus-puissance")
        self.power_help = ui.text_widget()
        self.power_help.add_class("campus-puissance-aide")
        self.power_box = w.VBox([self.power, self.power_help])
        self.axis_weights, self.weight_labels = {}, {}
        rows = []
        for axis in cat.axes.index:
            s = w.FloatSlider(value=1.0, min=0.0, max=3.0, step=0.5, continuous_update=False, readout=False,
                              description=f"Poids de l'axe {axis}", style=style, layout=w.Layout(width="22em"))
            s.add_class(f"campus-poids-axe-{axis}")
            self.axis_weights[axis] = s
            shown = ui.text_widget()
            shown.add_class(f"campus-poids-axe-{axis}-valeur")
            self.weight_labels[axis] = shown
            rows.append(w.HBox([s, shown]))
        self.reset = w.Button(description="Revenir aux choix du livre", layout=ui.shared_layout("max-content"))
        self.reset.add_class("campus-reinitialiser")
        self.verdict = ui.feedback_widget("campus-verdict")
        self.feedback = ui.feedback_widget()
        self.table = ui.figure_widget("campus-tableau")
        self.figure = ui.figure_widget("campus-figure")
        controls = w.VBox([ui.heading("Vos choix"), self.communs, self.normalisation, self.aggregation,
                           self.power_box, *rows, self.reset])
        results = w.VBox([ui.heading("Résultats"), self.verdict, self.feedback, self.table, self.figure],
                         layout=w.Layout(width="100%"))
        # Prepared while the kernel waits in Voilà's pool, not when the learner moves a control: the
        # five normalisations of the full catalogue.
        model = model_of(tuple(cat.communs.index))
        for method in normalise.METHODS:
            model.normalised(method)
        self.case, self.drops = geometric_case()
        name = fiction.named(self.case)
        self.prediction = ui.Prediction(
            "Si l'on remplace la moyenne arithmétique (choix du livre) par la moyenne géométrique, quel territoire "
            "perdra le plus de points d'indice ?",
            [(f"{label} (fictif)", code) for code, label in self.data.labels.items()], on_answer=self.revealed)
        self.checkpoints = ui.Checkpoints([
            ui.Checkpoint("Normaliser : avec les bornes du catalogue, quel score de 0 à 100 reçoit un indicateur "
                          f"{fiction.of(self.case)} ? Refaites le calcul.",
                          lambda: normalisation_answer(self.data, self.case)),
            ui.Checkpoint(f"Agréger : pourquoi {name} perd-elle plus que les autres territoires avec la moyenne "
                          "géométrique ?" if name.startswith(("la ", "l'")) else
                          f"Agréger : pourquoi {name} perd-il plus que les autres territoires avec la moyenne "
                          "géométrique ?",
                          lambda: geometric_answer(self.data, self.case)),
            ui.Checkpoint("Lire une marge : les marges des deux premiers se recouvrent-elles, et que peut-on en "
                          "conclure ?", lambda: margin_answer(self.result)),
        ], on_change=self.summarise)
        self.notes = ui.notes_widget("Vos remarques : ce qui vous a surpris, ce que vous retenez, une question à "
                                     "poser…")
        self.summary = ui.Summary("indice", "Construire un indice")
        self.widget, self.after = ui.frame(
            notice_widget=ui.notice(fiction.exercise_names()), prediction=None if preview else self.prediction,
            controls=controls, results=results, checkpoints=self.checkpoints, notes=self.notes,
            summary=self.summary, revealed=preview)
        for control in (self.communs, self.normalisation, self.aggregation, self.power, *self.axis_weights.values()):
            control.observe(ui.guarded(self.update, self.feedback), names="value")
        self.notes.observe(lambda _: self.summarise(), names="value")
        self.reset.on_click(ui.guarded(self.restore, self.feedback))
        self.update()

    def revealed(self) -> None:
        ui.reveal(self.after)
        self.show_verdict()
        self.summarise()

    def restore(self, _=None) -> None:
        cat = self.data.catalogue
        self.restoring = True  # one update at the end, not one per control
        try:
            with self.widget.hold_sync():
                self.communs.value = tuple(cat.communs.index)
                self.normalisation.value, self.aggregation.value, self.power.value = "goalposts", "arithmetic", 0.5
                for s in self.axis_weights.values():
                    s.value = 1.0
        finally:
            self.restoring = False
        self.update()

    def choices(self) -> Choices:
        return choices_of(self.normalisation.value, self.aggregation.value, self.power.value,
                          {a: s.value for a, s in self.axis_weights.items()})

    def show_verdict(self) -> None:
        if self.prediction.answer is None:
            return
        if not self.tried_geometric:
            why = "Pour vérifier, choisissez « moyenne géométrique » dans Agrégation et comparez les indices."
        else:
            drops = " ; ".join(f"{ui.escape(self.data.labels[c])} {text.fr_signed(-d, 1)}"
                              for c, d in self.drops.sort_values(ascending=False).items())
            why = (f"Avec les choix du livre, passer à la moyenne géométrique change l'indice de : {drops} "
                   "(points). Le point d'étape 2 détaille pourquoi.")
        kind, message = self.prediction.verdict(self.case, why, checked=self.tried_geometric)
        self.verdict.value = ui.box(kind, message)

    def update(self, _=None) -> None:
        if self.restoring:
            return
        for axis, s in self.axis_weights.items():
            self.weight_labels[axis].value = (f"<small><strong>{text.fr_number(s.value, 1)}</strong> — "
                                              f"{ui.escape(self.data.catalogue.axis_label(axis))}</small>")
        generalised = self.aggregation.value == "generalised"
        self.power_box.layout.display = None if generalised else "none"
        self.power_help.value = power_explanation(self.power.value) if generalised else ""
        if self.aggregation.value == "geometric":
            self.tried_geometric = True
        result = experiment(self.communs.value, self.choices())
        self.result = result
        self.show_verdict()
        if result.error:
            self.feedback.value = ui.box("erreur", ui.escape(result.error))
            self.table.value = self.figure.value = ""
        else:
            self.feedback.value = ui.boxes(result.messages)
            self.table.value = ui.table_html(self.shown_table(result))
            self.figure.value = index_figure(result)
        self.checkpoints.refresh()
        self.summarise()

    @staticmethod
    def shown_table(result: Result) -> pd.DataFrame:
        t = result.table.sort_values(["rang", "titre"])
        return pd.DataFrame({
            "Rang": [ui.ordinal_text(r) for r in t["rang"]],
            "Territoire fictif": t["titre"].to_numpy(),
            "Indice": t["indice"].to_numpy(),
            "Marge 5 %": t["q05"].to_numpy(),
            "Marge 95 %": t["q95"].to_numpy(),
            "Rang avec les choix du livre": [ui.ordinal_text(r) for r in t["rang_livre"]],
            "Rangs possibles, toutes méthodes": [
                "n.d." if pd.isna(lo) else (ui.ordinal_text(lo) if lo == hi else
                                             f"{ui.ordinal_text(lo)} à {ui.ordinal_text(hi)}")
                for lo, hi in zip(t["rang_min"], t["rang_max"])],
        })

    def summarise(self) -> None:
        c = self.choices()
        cat = self.data.catalogue
        chosen = [f"- Communs : {', '.join(cat.commun_label(x) for x in self.communs.value) or 'aucun'}",
                  f"- Normalisation : {NORMALISATION_LABELS[c.normalisation]}",
                  f"- Agrégation : {AGGREGATION_LABELS[c.aggregation]}"
                  + (f", ordre p = {text.fr_number(c.power, 2)}" if c.aggregation == "generalised" else ""),
                  *(f"- Poids de l'axe {a} ({cat.axis_label(a)}) : {text.fr_number(s.value, 1)}"
                    for a, s in self.axis_weights.items())]
        if self.result is None or self.result.table is None:
            results = self.result.error if self.result else ""
        else:
            results = (ui.table_markdown(self.shown_table(self.result)) + "\n\n"
                       + "\n".join(f"- {ui.markdown_of(m)}" for _, m in self.result.messages))
        prediction = ""
        if self.prediction.answer is not None:
            prediction = (f"{self.prediction.question}\n\nMa prédiction : {self.prediction.choices[self.prediction.answer]}."
                          f"\n\n{ui.markdown_of(self.verdict.value)}")
        steps = "\n\n".join(f"**{k}. {item.question}**\n\n{ui.markdown_of(item.opened)}"
                            for k, item in enumerate(self.checkpoints.items, start=1) if item.opened)
        self.summary.update([("Territoires", "Quatre territoires fictifs (valeurs inventées par le générateur de "
                                             "l'Observatoire) : " + ", ".join(self.data.labels.values()) + "."),
                             ("Ma prédiction", prediction), ("Mes choix", "\n".join(chosen)),
                             ("Résultats", results), ("Points d'étape ouverts", steps), ("Mes notes", self.notes.value),
                             ("Pour aller plus loin", "Le Livre Blanc : la méthode de calcul (normalisation, "
                                                      "agrégation) et l'annexe sur l'incertitude.")])


def app(preview: bool = False):
    """The exercise's widget (what the notebook displays); ``preview`` shows the results without
    the prediction step (the book's static preview)."""
    return IndexApp(preview).widget


__all__ = ["IndexApp", "Result", "app", "choices_of", "experiment", "feedback", "exercise_data", "restrict"]
