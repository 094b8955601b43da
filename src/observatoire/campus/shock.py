"""Exercise 2, « Choc et résilience »: a shock hits a fictional territory's communs, which recover.

A deliberately simple, documented teaching model (not a forecast), on one of the four fictional
EPCI of the exercises. A territory starts from its commun scores B_c (0–100, its profile with
the book's choices). A shock of intensity ``i`` (0–1) lasting ``d`` months hits commun c by the
share ``impact_c`` of its score given in ``data/campus/chocs.yml``. Three capacities (0–1),
after the FSIN definition the book uses, shape what follows:

- **absorption** ``a`` cushions the blow: initial loss L0 = B·impact·i·(1 − 0.7 a);
- **adaptation** ``p`` keeps a long shock from getting worse and speeds recovery: the loss
  grows during the shock to L1 = L0·(1 + (d / 12)·(1 − p)) (never beyond B), then recovers
  with a time constant τ = 6 + 54 (1 − p) months (from six months to five years);
- **transformation** ``r`` acts over decades: without it part of the loss never comes back,
  a scar S = 0.35·L1·(1 − r)(1 − 0.5 p); with it the territory « bounces forward », changing
  what made it vulnerable: a gain G = r (0.25 + 0.25 p)·i·impact·(100 − B), reached with a
  time constant of eight years — greatest where the shock hit hardest (the *pharmakon*).

So a commun's direct score at month t after the start of the shock is B − L(t) during the
shock and B − L1·e^(−(t−d)/τ) − S·(1 − e^(−(t−d)/τ)) + G·(1 − e^(−(t−d)/96)) afterwards.

**Cascades** (one step): communs depend on each other (``dependances`` in the same file, with
the reason for each, shown to the learner). When commun j has lost a share x_j(t) of its score,
commun c loses in addition B_c · Σ_j k_jc · x_j(t): a power cut stops water pumps. A loss that
came by cascade does not cascade again. Everything is clipped to 0–100. The territory's index
is the engine's arithmetic mean of its communs (:func:`observatoire.engine.aggregate.aggregate_rows`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
import pandas as pd
import yaml

from observatoire import text
from observatoire.campus import DATA, fiction, ui
from observatoire.engine import aggregate

SHOCKS_FILE = DATA / "chocs.yml"
#: Capacity → its name after « capacité » (French elision).
CAPACITIES = {"absorption": "d'absorption", "adaptation": "d'adaptation", "transformation": "de transformation"}
#: Horizons of the three time scales of the Observatoire (months after the start of the shock).
HORIZONS = {"1 mois": 1, "3 ans": 36, "20 ans": 240}
SCALE_OF_HORIZON = {"1 mois": "des mois", "3 ans": "des années", "20 ans": "des décennies"}
MONTHS = np.arange(0, 361)  # 30 years, month by month
TRANSFORMATION_MONTHS = 96.0
LEVER_STEP = 0.2
START = "FICTIF-BRUMEVAL"


@dataclass(frozen=True)
class Shock:
    key: str
    libelle: str
    description: str
    impacts: dict[str, float]
    leviers: dict[str, str]


@dataclass(frozen=True)
class Dependencies:
    """Cascade coefficients: ``matrix.loc[j, c]`` is the share of j's relative loss that c loses too."""

    matrix: pd.DataFrame
    reasons: dict[str, str]

    def between(self, communs) -> np.ndarray:
        return self.matrix.reindex(index=communs, columns=communs, fill_value=0.0).to_numpy(dtype="float64")


@lru_cache(maxsize=1)
def _content() -> dict:
    return yaml.safe_load(SHOCKS_FILE.read_text(encoding="utf-8"))


@lru_cache(maxsize=1)
def shocks() -> dict[str, Shock]:
    out = {}
    for key, s in _content()["chocs"].items():
        impacts = {c: float(v) for c, v in s["impacts"].items()}
        if not all(0 <= v <= 1 for v in impacts.values()):
            raise ValueError(f"{SHOCKS_FILE} : choc « {key} » : impact hors de [0, 1]")
        if set(s["leviers"]) != set(CAPACITIES):
            raise ValueError(f"{SHOCKS_FILE} : choc « {key} » : un levier par capacité attendu")
        out[key] = Shock(key, s["libelle"], s["description"], impacts, dict(s["leviers"]))
    return out


@lru_cache(maxsize=1)
def dependencies() -> Dependencies:
    content = _content()
    pairs = {(j, c): float(k) for j, targets in content["dependances"].items() for c, k in targets.items()}
    if not all(0 <= k <= 1 for k in pairs.values()):
        raise ValueError(f"{SHOCKS_FILE} : coefficient de dépendance hors de [0, 1]")
    communs = sorted({x for pair in pairs for x in pair})
    matrix = pd.DataFrame(0.0, index=communs, columns=communs)
    for (j, c), k in pairs.items():
        matrix.loc[j, c] = k
    return Dependencies(matrix, dict(content["raisons"]))


@dataclass(frozen=True)
class Capacities:
    absorption: float = 0.3
    adaptation: float = 0.3
    transformation: float = 0.1

    def raised(self, name: str, step: float = LEVER_STEP) -> "Capacities":
        values = {k: getattr(self, k) for k in CAPACITIES}
        values[name] = min(1.0, values[name] + step)
        return Capacities(**values)


@dataclass(frozen=True)
class Trajectory:
    levels: pd.DataFrame  # months × communs, cascades included
    direct: pd.DataFrame  # months × communs, the shock's direct effect only
    cascade: pd.DataFrame  # months × communs, points lost by cascade (≥ 0)


def trajectories(baseline: pd.Series, shock: Shock, intensity: float, duration: float,
                 capacities: Capacities, months=MONTHS, cascade: bool = True) -> Trajectory:
    """Scores (months × communs) after the shock; ``baseline`` is indexed by commun id."""
    t = np.asarray(months, dtype="float64")[:, None]
    b = baseline.to_numpy(dtype="float64")[None, :]
    impact = np.array([shock.impacts.get(c, 0.0) for c in baseline.index])[None, :]
    a, p, r = capacities.absorption, capacities.adaptation, capacities.transformation
    d = max(float(duration), 0.5)
    loss0 = b * impact * intensity * (1 - 0.7 * a)
    loss1 = np.minimum(loss0 * (1 + (d / 12) * (1 - p)), b)
    tau = 6 + 54 * (1 - p)
    scar = 0.35 * loss1 * (1 - r) * (1 - 0.5 * p)
    gain = r * (0.25 + 0.25 * p) * intensity * impact * (100 - b)
    during = b - (loss0 + (loss1 - loss0) * np.clip(t / d, 0, 1))
    since = np.maximum(t - d, 0)
    recover = np.exp(-since / tau)
    after = b - loss1 * recover - scar * (1 - recover) + gain * (1 - np.exp(-since / TRANSFORMATION_MONTHS))
    direct = np.clip(np.where(t < d, during, after), 0, 100)
    if cascade:
        share_lost = np.where(b > 0, np.clip(b - direct, 0, None) / np.where(b > 0, b, 1.0), 0.0)
        spread = (share_lost @ dependencies().between(list(baseline.index))) * b
    else:
        spread = np.zeros_like(direct)
    levels = np.clip(direct - spread, 0, 100)
    frame = dict(index=pd.Index(months, name="mois"), columns=baseline.index)
    return Trajectory(pd.DataFrame(levels, **frame), pd.DataFrame(direct, **frame),
                      pd.DataFrame(direct - levels, **frame))


def index_of(levels: pd.DataFrame) -> pd.Series:
    """The territory's index at each month: the engine's arithmetic mean of the communs."""
    x = levels.to_numpy(dtype="float64")
    w = np.ones(x.shape[1])
    return pd.Series(aggregate.aggregate_rows(x, w, "arithmetic"), index=levels.index, name="indice")


@dataclass
class Outcome:
    """What the learner reads: trajectories, key figures, the levers, the feedback."""

    shock: Shock
    intensity: float
    duration: float
    capacities: Capacities
    cascade: bool
    baseline: pd.Series
    trajectory: Trajectory
    index: pd.Series  # months
    before: float  # index before the shock
    max_loss: float  # points of index
    recovery_months: float | None  # months until the index is back within 1 point (None: never)
    balance: dict[str, float]  # horizon label → index change vs before the shock
    by_commun: pd.DataFrame  # communs × horizons: change vs before the shock
    levers: pd.DataFrame  # capacities × horizons: index gain of raising the capacity by 0.2
    messages: list[tuple[str, str]] = field(default_factory=list)

    @property
    def levels(self) -> pd.DataFrame:
        return self.trajectory.levels


def simulate(baseline: pd.Series, shock_key: str, intensity: float, duration: float,
             capacities: Capacities, cascade: bool = True) -> Outcome:
    shock = shocks()[shock_key]
    trajectory = trajectories(baseline, shock, intensity, duration, capacities, cascade=cascade)
    index = index_of(trajectory.levels)
    before = float(index_of(baseline.to_frame().T).iloc[0])
    change = index - before
    back = change[(change.index > duration) & (change >= -1.0)]
    recovery = float(back.index[0]) if len(back) else None
    balance = {h: float(change.loc[m]) for h, m in HORIZONS.items()}
    by_commun = pd.DataFrame({h: trajectory.levels.loc[m] - baseline for h, m in HORIZONS.items()})
    levers = {}
    for name in CAPACITIES:
        better = index_of(trajectories(baseline, shock, intensity, duration, capacities.raised(name),
                                       cascade=cascade).levels)
        levers[name] = {h: float(better.loc[m] - index.loc[m]) for h, m in HORIZONS.items()}
    out = Outcome(shock, intensity, duration, capacities, cascade, baseline, trajectory, index, before,
                  float(-change.min()), recovery, balance, by_commun, pd.DataFrame(levers).T)
    out.messages = feedback(out)
    return out


def points(x: float) -> str:
    return text.plural(x, "point", decimals=1)


def feedback(o: Outcome, labels: dict | None = None) -> list[tuple[str, str]]:
    labels = labels or commun_labels()
    e = ui.escape
    msgs = []
    worst = o.levels.min() - o.baseline
    hit = worst.sort_values().index[:3]
    hit_text = ", ".join(f"{e(labels.get(c, c))} ({points(-worst[c])} au pire)" for c in hit)
    msgs.append(("info", f"<strong>{e(o.shock.libelle)}</strong> : l'indice, à {text.fr_number(o.before, 1)} avant le "
                 f"choc, perd jusqu'à {points(o.max_loss)}. Communs les plus touchés : {hit_text}."))
    if o.cascade:
        spread = o.trajectory.cascade.max()
        spread = spread[spread >= 0.05].sort_values(ascending=False)
        if len(spread):
            listed = ", ".join(f"{e(labels.get(c, c))} ({points(spread[c])})" for c in spread.index[:3])
            msgs.append(("info", f"<strong>Effets en cascade</strong> : une partie des pertes vient d'autres communs "
                         f"touchés, dont ils dépendent ; au pire : {listed}. Décochez « effets en cascade » pour voir "
                         "le choc sans eux."))
    else:
        msgs.append(("info", "Effets en cascade <strong>désactivés</strong> : chaque commun ne subit que le choc "
                     "lui-même, comme s'il ne dépendait d'aucun autre."))
    decades = o.balance["20 ans"]
    if decades > 1:
        msgs.append(("succes", f"<strong>Rebond en avant</strong> : vingt ans après, l'indice dépasse de "
                     f"{points(decades)} son niveau d'avant le choc. Le choc est devenu une opportunité : la "
                     "capacité de transformation a changé ce qui rendait le territoire vulnérable."))
    elif decades < -1:
        msgs.append(("attention", f"<strong>Cicatrice</strong> : vingt ans après, l'indice reste "
                     f"{points(-decades)} sous son niveau d'avant le choc. Sans transformation, une part de la "
                     "perte ne revient jamais."))
    elif o.capacities.transformation >= 0.5:
        msgs.append(("info", "<strong>Retour au niveau d'avant</strong> : vingt ans après, l'indice est à moins d'un "
                     "point de son niveau d'avant le choc. La capacité de transformation est élevée, mais le choc "
                     "était trop faible pour qu'elle change visiblement l'indice."))
    else:
        msgs.append(("info", "<strong>Retour au niveau d'avant</strong> : vingt ans après, l'indice est à moins d'un "
                     "point de son niveau d'avant le choc : le territoire a résisté, sans se transformer."))
    if o.recovery_months is None:
        msgs.append(("attention", "L'indice ne revient jamais à moins d'un point de son niveau initial en "
                     "trente ans."))
    else:
        msgs.append(("info", f"Retour à moins d'un point du niveau initial après {duration_text(o.recovery_months)}."))
    best = []
    for horizon in HORIZONS:
        gains = o.levers[horizon]
        name = gains.idxmax()
        if gains[name] > 0.05:
            best.append(f"à l'échelle {SCALE_OF_HORIZON[horizon]} ({horizon}), la capacité "
                        f"<strong>{CAPACITIES[name]}</strong> ({text.fr_signed(gains[name], 1)} "
                        f"{'point' if abs(gains[name]) < 2 else 'points'})")
    if best:
        msgs.append(("info", "Leviers : relever une capacité de 20 points rapporte le plus " + " ; ".join(best)
                     + ". Exemples pour ce choc : " + " ; ".join(
                         f"{k} — {e(v)}" for k, v in o.shock.leviers.items()) + "."))
    return msgs


def duration_text(months: float) -> str:
    months = int(round(months))
    if months < 24:
        return text.plural(months, "mois", "mois")
    years = months / 12
    return text.plural(years, "an", decimals=1 if years < 10 else 0)


@lru_cache(maxsize=1)
def commun_labels() -> dict[str, str]:
    from observatoire.engine.catalogue import load_catalogue

    return load_catalogue().communs["libelle"].to_dict()


@lru_cache(maxsize=1)
def baselines() -> pd.DataFrame:
    """The four fictional territories (codes) × communs (ids): scores with the book's choices."""
    return fiction.book_scores().communs.reindex(list(fiction.EXERCISE_TERRITORIES))


def dependencies_html(labels: dict | None = None) -> str:
    labels = labels or commun_labels()
    deps = dependencies()
    rows = []
    for source in deps.matrix.index:
        targets = deps.matrix.loc[source]
        targets = targets[targets > 0].sort_values(ascending=False)
        if len(targets):
            rows.append(f"<li><strong>{ui.escape(labels.get(source, source))}</strong> → "
                        + ", ".join(f"{ui.escape(labels.get(c, c))} ({text.fr_number(k, 2)})" for c, k in targets.items())
                        + f" : {ui.escape(deps.reasons.get(source, ''))}</li>")
    return ("<details class='campus-dependances'><summary>Les dépendances entre communs du modèle (effets en "
            "cascade)</summary><small>Quand un commun perd une part x de son score, chaque commun qui en dépend "
            "perd en plus le coefficient × x du sien ; une seule étape de propagation.</small><ul>"
            + "".join(rows) + "</ul></details>")


# -- figures ----------------------------------------------------------------------------

def trajectory_figure(o: Outcome, labels: dict | None = None) -> str:
    """The index and the three most hit communs from the start of the shock to thirty years."""
    from observatoire.campus import svg

    labels = labels or commun_labels()
    x = [float(m) + 1 for m in o.index.index]  # logarithmic axis: month 0 drawn at 1
    hit = (o.levels.min() - o.baseline).sort_values().index[:3]
    series = [{"label": labels.get(c, c), "values": o.levels[c].tolist(), "colour": svg.COLOURS[k], "width": 1.4}
              for k, c in enumerate(hit)]
    series.append({"label": "indice du territoire", "values": o.index.tolist(), "colour": "#111", "width": 2.6})
    ticks = [(1, "0"), (2, "1 mois"), (4, "3 mois"), (7, "6 mois"), (13, "1 an"), (37, "3 ans"), (121, "10 ans"),
             (241, "20 ans"), (361, "30 ans")]
    return svg.lines(x, series, f"{o.shock.libelle} : l'indice et les communs les plus touchés", ticks,
                     "Score (0 à 100, axe resserré)", "Temps depuis le début du choc (échelle logarithmique)",
                     reference=(o.before, f"indice avant le choc ({text.fr_number(o.before, 1)})"),
                     zones=[(1, 13, "les mois", False), (13, 121, "les années", True),
                            (121, 361, "les décennies", False)])


def communs_table(o: Outcome, labels: dict | None = None) -> str:
    """Each commun's change against its score before the shock, at 1 month, 3 years and 20 years."""
    labels = labels or commun_labels()
    table = o.by_commun.rename(index=lambda c: labels.get(c, c))
    table.columns = [f"à {h}" for h in table.columns]
    return ("<p style='margin:0.6em 0 0.2em'><strong>Écart de chaque commun à son score d'avant le choc "
            "(points)</strong></p>" + ui.heat_table(table))


# -- prediction and checkpoints ---------------------------------------------------------------------

PREDICTION_CHOICES = [("la perte du premier mois", "1 mois"), ("le niveau à 3 ans", "3 ans"),
                      ("le niveau à 20 ans", "20 ans")]


def absorption_effect(baseline: pd.Series, shock_key: str = "inondation", intensity: float = 0.6,
                      duration: float = 2, capacities: Capacities = Capacities()) -> pd.Series:
    """Index gain at each horizon when absorption goes from ``capacities`` to 100 %."""
    now = simulate(baseline, shock_key, intensity, duration, capacities)
    full = Capacities(1.0, capacities.adaptation, capacities.transformation)
    best = simulate(baseline, shock_key, intensity, duration, full)
    return pd.Series({h: best.balance[h] - now.balance[h] for h in HORIZONS})


def initial_loss_answer(o: Outcome, labels: dict | None = None) -> str:
    labels = labels or commun_labels()
    direct = o.trajectory.direct.loc[0] - o.baseline
    c = direct.idxmin()
    b, impact = float(o.baseline[c]), o.shock.impacts.get(c, 0.0)
    a, f = o.capacities.absorption, text.fr_number
    loss = b * impact * o.intensity * (1 - 0.7 * a)
    return (f"Le commun le plus touché d'emblée est {ui.escape(labels.get(c, c))} : score avant le choc "
            f"B = {f(b, 1)}, part touchée {f(impact, 2)}, intensité {f(o.intensity, 1)} ({f(100 * o.intensity, 0)} %), "
            f"absorption {f(a, 1)} ({f(100 * a, 0)} %). "
            f"Perte initiale L0 = B × part × intensité × (1 − 0,7 × absorption) = {f(b, 1)} × {f(impact, 2)} × "
            f"{f(o.intensity, 1)} × {f(1 - 0.7 * a, 2)} = <strong>{points(loss)}</strong>. Monter l'absorption "
            "réduit ce dernier facteur : c'est elle qui amortit le coup.")


def cascade_answer(o: Outcome, labels: dict | None = None) -> str:
    labels = labels or commun_labels()
    if not o.cascade:
        return "Les effets en cascade sont désactivés : cochez « effets en cascade » pour voir d'où viennent les pertes."
    spread = o.trajectory.cascade
    c = spread.max().idxmax()
    m = int(spread[c].idxmax())
    if spread.loc[m, c] < 0.05:
        return "Ce choc ne provoque pas d'effet en cascade visible : les communs touchés n'alimentent pas les autres."
    deps = dependencies().matrix
    b = o.baseline
    share_lost = ((b - o.trajectory.direct.loc[m]).clip(lower=0) / b).fillna(0)
    sources = {j: float(deps.at[j, c] * share_lost.get(j, 0.0) * b[c])
               for j in deps.index if c in deps.columns and deps.at[j, c] > 0 and j in b.index}
    sources = {j: v for j, v in sorted(sources.items(), key=lambda kv: -kv[1]) if v >= 0.05}
    f = text.fr_number
    parts = " ; ".join(f"{ui.escape(labels.get(j, j))} a perdu {f(100 * share_lost[j], 0)} % de son score, × "
                      f"{f(deps.at[j, c], 2)} → {points(v)}" for j, v in sources.items())
    when = duration_text(m) if m else "d'emblée"
    return (f"{ui.escape(labels.get(c, c))} perd au plus {points(float(spread.loc[m, c]))} par cascade ({when}) : "
            f"{parts}. Ces pertes s'ajoutent à celles que le choc lui inflige directement.")


def decades_answer(o: Outcome, labels: dict | None = None) -> str:
    p, r = o.capacities.adaptation, o.capacities.transformation
    f = text.fr_number
    d = o.balance["20 ans"]
    verdict = ("un rebond en avant" if d > 1 else "une cicatrice" if d < -1 else "un retour au niveau d'avant")
    return (f"À vingt ans, l'écart à l'indice d'avant le choc est de {text.fr_signed(d, 1)} : {verdict}. Deux termes "
            f"s'opposent dans chaque commun : la cicatrice S = 0,35 × L1 × (1 − transformation) × (1 − 0,5 × "
            f"adaptation), ici avec (1 − {f(r, 1)}) × (1 − 0,5 × {f(p, 1)}) = {f((1 - r) * (1 - 0.5 * p), 2)} ; "
            f"et le gain G = transformation × (0,25 + 0,25 × adaptation) × intensité × part touchée × (100 − B), ici "
            f"proportionnel à {f(r * (0.25 + 0.25 * p), 2)}. Le gain est le plus grand là où le choc a frappé le plus "
            "fort : c'est le <em>pharmakon</em>, le poison devenu remède.")


# -- the app ------------------------------------------------------------------------------

class ShockApp:
    def __init__(self, preview: bool = False):
        import ipywidgets as w

        self.baselines = baselines()
        self.outcome: Outcome | None = None
        self.touched_absorption = False
        style = {"description_width": "12em"}
        wide = w.Layout(width="34em")
        self.territory = w.Dropdown(options=[(f"{t} (fictif)", c) for c, t in fiction.EXERCISE_TERRITORIES.items()],
                                    value=START, description="Territoire de départ", style=style, layout=wide)
        self.territory.add_class("campus-territoire")
        self.shock = w.Dropdown(options=[(s.libelle, k) for k, s in shocks().items()], value="inondation",
                                description="Choc", style=style, layout=wide)
        self.shock.add_class("campus-choc")
        self.description = ui.text_widget()
        self.intensity = w.IntSlider(value=60, min=10, max=100, step=10, description="Intensité (%)",
                                     continuous_update=False, style=style, layout=wide)
        self.intensity.add_class("campus-intensite")
        self.duration = w.IntSlider(value=2, min=1, max=24, step=1, description="Durée (mois)",
                                    continuous_update=False, style=style, layout=wide)
        self.duration.add_class("campus-duree")
        self.capacities = {}
        defaults = Capacities()
        for name in CAPACITIES:
            s = w.IntSlider(value=int(round(getattr(defaults, name) * 100)), min=0, max=100, step=10,
                            description=f"{name.capitalize()} (%)", continuous_update=False, style=style,
                            layout=wide)
            s.add_class(f"campus-{name}")
            self.capacities[name] = s
        self.cascade = w.Checkbox(value=True, description="effets en cascade entre communs", indent=False)
        self.cascade.add_class("campus-cascade")
        legend = ui.text_widget("<small>Capacités de la résilience, de 0 à 100 % : absorber le choc, s'adapter, "
                        "se transformer.</small>")
        self.verdict = ui.feedback_widget("campus-verdict")
        self.feedback = ui.feedback_widget()
        self.trajectory = ui.figure_widget("campus-trajectoire")
        self.heatmap = ui.figure_widget("campus-communs")
        controls = w.VBox([ui.heading("Le choc et le territoire"), self.territory, self.shock, self.description,
                           self.intensity, self.duration, legend, *self.capacities.values(), self.cascade,
                           ui.text_widget(dependencies_html())])
        results = w.VBox([ui.heading("Résultats"), self.verdict, self.feedback, self.trajectory, self.heatmap],
                         layout=w.Layout(width="100%"))
        self.prediction = ui.Prediction(
            f"Inondation d'intensité 60 % pendant 2 mois à {fiction.EXERCISE_TERRITORIES[START]} (fictif), capacités "
            "à 30 %, 30 % et 10 %. Si vous montez la capacité d'absorption à 100 %, qu'est-ce qui s'améliore le plus ?",
            PREDICTION_CHOICES, on_answer=self.revealed)
        effect = absorption_effect(self.baselines.loc[START].dropna())
        self.prediction_truth, self.prediction_effect = str(effect.idxmax()), effect
        self.checkpoints = ui.Checkpoints([
            ui.Checkpoint("Calculez la perte initiale du commun le plus touché d'emblée.",
                          lambda: initial_loss_answer(self.outcome)),
            ui.Checkpoint("D'où viennent les pertes en cascade du commun qui en subit le plus ?",
                          lambda: cascade_answer(self.outcome)),
            ui.Checkpoint("Vingt ans après : cicatrice ou rebond ? Qu'est-ce qui en décide ?",
                          lambda: decades_answer(self.outcome)),
        ], on_change=self.summarise)
        self.notes = ui.notes_widget("Vos remarques : quel levier choisiriez-vous pour votre territoire, et pourquoi ?")
        self.summary = ui.Summary("choc", "Choc et résilience")
        self.widget, self.after = ui.frame(
            notice_widget=ui.notice(fiction.exercise_names()), prediction=None if preview else self.prediction,
            controls=controls, results=results, checkpoints=self.checkpoints, notes=self.notes,
            summary=self.summary, revealed=preview)
        self.capacities["absorption"].observe(self._absorption_moved, names="value")
        for c in (self.territory, self.shock, self.intensity, self.duration, *self.capacities.values(), self.cascade):
            c.observe(ui.guarded(self.update, self.feedback), names="value")
        self.notes.observe(lambda _: self.summarise(), names="value")
        self.update()

    def _absorption_moved(self, _=None) -> None:
        self.touched_absorption = True

    def revealed(self) -> None:
        ui.reveal(self.after)
        self.show_verdict()
        self.summarise()

    def show_verdict(self) -> None:
        if self.prediction.answer is None:
            return
        e = self.prediction_effect
        if self.touched_absorption:
            why = (f"Avec ces réglages, l'absorption à 100 % améliore l'indice de {text.fr_signed(e['1 mois'], 1)} au "
                   f"premier mois, {text.fr_signed(e['3 ans'], 1)} à 3 ans et {text.fr_signed(e['20 ans'], 1)} à "
                   "20 ans : elle amortit le coup, surtout au début ; ce qu'elle évite de perdre réduit aussi la "
                   "cicatrice.")
        else:
            why = "Pour vérifier, montez la capacité d'absorption à 100 % et comparez les trois horizons."
        kind, message = self.prediction.verdict(self.prediction_truth, why, checked=self.touched_absorption)
        self.verdict.value = ui.box(kind, message)

    def update(self, _=None) -> None:
        shock = shocks()[self.shock.value]
        self.description.value = f"<small><em>{ui.escape(shock.description)}</em></small>"
        caps = Capacities(**{k: s.value / 100 for k, s in self.capacities.items()})
        baseline = self.baselines.loc[self.territory.value].dropna()
        self.outcome = simulate(baseline, shock.key, self.intensity.value / 100, self.duration.value, caps,
                                cascade=self.cascade.value)
        self.feedback.value = ui.boxes(self.outcome.messages)
        self.trajectory.value = trajectory_figure(self.outcome)
        self.heatmap.value = communs_table(self.outcome)
        self.show_verdict()
        self.checkpoints.refresh()
        self.summarise()

    def summarise(self) -> None:
        o = self.outcome
        if o is None:
            return
        labels = commun_labels()
        chosen = [f"- Territoire de départ : {fiction.EXERCISE_TERRITORIES[self.territory.value]} (fictif)",
                  f"- Choc : {o.shock.libelle}, intensité {text.fr_number(100 * o.intensity, 0)} %, durée "
                  f"{duration_text(o.duration)}",
                  *(f"- Capacité {CAPACITIES[k]} : {s.value} %" for k, s in self.capacities.items()),
                  f"- Effets en cascade : {'oui' if o.cascade else 'non'}"]
        table = o.by_commun.rename(index=lambda c: labels.get(c, c)).reset_index()
        table.columns = ["Commun", *(f"Écart à {h}" for h in HORIZONS)]
        results = ("\n".join(f"- {ui.markdown_of(m)}" for _, m in o.messages) + "\n\n" + ui.table_markdown(table))
        prediction = ""
        if self.prediction.answer is not None:
            prediction = (f"{self.prediction.question}\n\nMa prédiction : "
                          f"{self.prediction.choices[self.prediction.answer]}.\n\n{ui.markdown_of(self.verdict.value)}")
        steps = "\n\n".join(f"**{k}. {item.question}**\n\n{ui.markdown_of(item.opened)}"
                            for k, item in enumerate(self.checkpoints.items, start=1) if item.opened)
        self.summary.update([("Le modèle", "Modèle pédagogique (pas une prévision), sur un territoire fictif aux "
                                           "valeurs inventées."), ("Ma prédiction", prediction),
                             ("Mes réglages", "\n".join(chosen)), ("Résultats", results),
                             ("Points d'étape ouverts", steps), ("Mes notes", self.notes.value),
                             ("Pour aller plus loin", "Le Livre Blanc : les trois capacités, du risque à "
                                                      "l'opportunité, le pharmakon, les interdépendances des "
                                                      "mutations.")])


def app(preview: bool = False):
    return ShockApp(preview).widget
