"""Exercise 2, « Choc et résilience »: a shock hits a territory's communs, which recover.

A deliberately simple, documented teaching model (not a forecast). A territory starts from its
commun scores B_c (0–100, the pilot's profile with the book's choices). A shock of intensity
``i`` (0–1) lasting ``d`` months hits commun c by the share ``impact_c`` of its score given in
``data/campus/chocs.yml``. Three capacities (0–1), after the FSIN definition the book uses,
shape what follows:

- **absorption** ``a`` cushions the blow: initial loss L0 = B·impact·i·(1 − 0.7 a);
- **adaptation** ``p`` keeps a long shock from getting worse and speeds recovery: the loss
  grows during the shock to L1 = L0·(1 + (d / 12)·(1 − p)) (never beyond B), then recovers
  with a time constant τ = 6 + 54 (1 − p) months (from six months to five years);
- **transformation** ``r`` acts over decades: without it part of the loss never comes back,
  a scar S = 0.35·L1·(1 − r)(1 − 0.5 p); with it the territory « bounces forward », changing
  what made it vulnerable: a gain G = r (0.25 + 0.25 p)·i·impact·(100 − B), reached with a
  time constant of eight years — greatest where the shock hit hardest (the *pharmakon*).

So a commun's score at month t after the start of the shock is B − L(t) during the shock and
B − L1·e^(−(t−d)/τ) − S·(1 − e^(−(t−d)/τ)) + G·(1 − e^(−(t−d)/96)) afterwards, clipped to
0–100. The territory's index is the engine's arithmetic mean of its communs
(:func:`observatoire.engine.aggregate.aggregate_rows`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
import pandas as pd
import yaml

from observatoire.engine import aggregate
from observatoire.campus import DATA, ui

SHOCKS_FILE = DATA / "chocs.yml"
#: Capacity → its name after « capacité » (French elision).
CAPACITIES = {"absorption": "d'absorption", "adaptation": "d'adaptation", "transformation": "de transformation"}
#: Horizons of the three time scales of the Observatoire (months after the start of the shock).
HORIZONS = {"1 mois": 1, "3 ans": 36, "20 ans": 240}
SCALE_OF_HORIZON = {"1 mois": "des mois", "3 ans": "des années", "20 ans": "des décennies"}
MONTHS = np.arange(0, 361)  # 30 years, month by month
TRANSFORMATION_MONTHS = 96.0
LEVER_STEP = 0.2


@dataclass(frozen=True)
class Shock:
    key: str
    libelle: str
    description: str
    impacts: dict[str, float]
    leviers: dict[str, str]


@lru_cache(maxsize=1)
def shocks() -> dict[str, Shock]:
    content = yaml.safe_load(SHOCKS_FILE.read_text(encoding="utf-8"))["chocs"]
    out = {}
    for key, s in content.items():
        impacts = {c: float(v) for c, v in s["impacts"].items()}
        assert all(0 <= v <= 1 for v in impacts.values()), f"{key}: impact hors de [0, 1]"
        assert set(s["leviers"]) == set(CAPACITIES), f"{key}: un levier par capacité attendu"
        out[key] = Shock(key, s["libelle"], s["description"], impacts, dict(s["leviers"]))
    return out


@dataclass(frozen=True)
class Capacities:
    absorption: float = 0.3
    adaptation: float = 0.3
    transformation: float = 0.1

    def raised(self, name: str, step: float = LEVER_STEP) -> "Capacities":
        values = {k: getattr(self, k) for k in CAPACITIES}
        values[name] = min(1.0, values[name] + step)
        return Capacities(**values)


def trajectories(baseline: pd.Series, shock: Shock, intensity: float, duration: float,
                 capacities: Capacities, months=MONTHS) -> pd.DataFrame:
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
    level = np.where(t < d, during, after)
    return pd.DataFrame(np.clip(level, 0, 100), index=pd.Index(months, name="mois"), columns=baseline.index)


def index_of(levels: pd.DataFrame) -> pd.Series:
    """The territory's index at each month: the engine's arithmetic mean of the communs."""
    x = levels.to_numpy(dtype="float64")
    w = np.ones(x.shape[1])
    return pd.Series(aggregate.aggregate_rows(x, w, "arithmetic"), index=levels.index, name="indice")


@dataclass
class Outcome:
    """What the learner reads: trajectories, key figures, the levers, the feedback."""

    shock: Shock
    baseline: pd.Series
    levels: pd.DataFrame  # months × communs
    index: pd.Series  # months
    max_loss: float  # points of index
    recovery_months: float | None  # months until the index is back within 1 point (None: never)
    balance: dict[str, float]  # horizon label → index change vs before the shock
    by_commun: pd.DataFrame  # communs × horizons: change vs before the shock
    levers: pd.DataFrame  # capacities × horizons: index gain of raising the capacity by 0.2
    messages: list[tuple[str, str]] = field(default_factory=list)


def simulate(baseline: pd.Series, shock_key: str, intensity: float, duration: float,
             capacities: Capacities) -> Outcome:
    shock = shocks()[shock_key]
    levels = trajectories(baseline, shock, intensity, duration, capacities)
    index = index_of(levels)
    before = float(index_of(baseline.to_frame().T).iloc[0])
    change = index - before
    back = change[(change.index > duration) & (change >= -1.0)]
    recovery = float(back.index[0]) if len(back) else None
    balance = {h: float(change.loc[m]) for h, m in HORIZONS.items()}
    by_commun = pd.DataFrame({h: levels.loc[m] - baseline for h, m in HORIZONS.items()})
    levers = {}
    for name in CAPACITIES:
        better = index_of(trajectories(baseline, shock, intensity, duration, capacities.raised(name)))
        levers[name] = {h: float(better.loc[m] - index.loc[m]) for h, m in HORIZONS.items()}
    out = Outcome(shock, baseline, levels, index, float(-change.min()), recovery, balance, by_commun,
                  pd.DataFrame(levers).T)
    out.messages = feedback(out)
    return out


def feedback(o: Outcome, labels: dict | None = None) -> list[tuple[str, str]]:
    labels = labels or commun_labels()
    e = ui.escape
    msgs = []
    worst = o.levels.min() - o.baseline
    hit = worst.sort_values().index[:3]
    hit_text = ", ".join(f"{e(labels.get(c, c))} ({fr(worst[c])} points au pire)" for c in hit)
    msgs.append(("info", f"<strong>{e(o.shock.libelle)}</strong> : l'indice perd jusqu'à {fr(o.max_loss)} "
                 f"points. Communs les plus touchés : {hit_text}."))
    decades = o.balance["20 ans"]
    if decades > 1:
        msgs.append(("succes", f"<strong>Rebond en avant</strong> : vingt ans après, l'indice dépasse de "
                     f"{fr(decades)} points son niveau d'avant le choc. Le choc est devenu une opportunité : "
                     "la capacité de transformation a changé ce qui rendait le territoire vulnérable."))
    elif decades < -1:
        msgs.append(("attention", f"<strong>Cicatrice</strong> : vingt ans après, l'indice reste "
                     f"{fr(-decades)} points sous son niveau d'avant le choc. Sans transformation, une part "
                     "de la perte ne revient jamais."))
    else:
        msgs.append(("info", "<strong>Retour à l'équilibre</strong> : vingt ans après, l'indice a retrouvé son "
                     "niveau d'avant le choc, sans plus. Le territoire a résisté, il n'a pas appris."))
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
                        f"<strong>{CAPACITIES[name]}</strong> (+{fr(gains[name])} point(s))")
    if best:
        msgs.append(("info", "Leviers : relever une capacité de 20 points rapporte le plus " + " ; ".join(best)
                     + ". Exemples pour ce choc : " + " ; ".join(
                         f"{k} — {e(v)}" for k, v in o.shock.leviers.items()) + "."))
    return msgs


def fr(x: float, digits: int = 1) -> str:
    return f"{x:.{digits}f}".replace(".", ",").replace("-", "−")


def duration_text(months: float) -> str:
    months = int(round(months))
    if months < 24:
        return f"{months} mois"
    years = months / 12
    return f"{fr(years, 1 if years < 10 else 0)} ans"


@lru_cache(maxsize=1)
def commun_labels() -> dict[str, str]:
    from observatoire.engine.catalogue import load_catalogue

    return load_catalogue().communs["libelle"].to_dict()


@lru_cache(maxsize=1)
def pilot_baselines() -> pd.DataFrame:
    """Pilots (codes) × communs (ids): scores with the book's choices (demonstration data)."""
    from observatoire.campus.composite import pilot_data
    from observatoire.engine.pipeline import compute_scores

    data = pilot_data()
    return compute_scores(data.values, data.catalogue, population=data.population).communs


# -- figures ----------------------------------------------------------------------------

def trajectory_figure(o: Outcome, labels: dict | None = None):
    import matplotlib.pyplot as plt
    import seaborn as sns

    from observatoire.report.figures import MARKERS, PALETTE, _style

    labels = labels or commun_labels()
    _style()
    fig, ax = plt.subplots(figsize=(7.2, 3.6))
    x = o.index.index.to_numpy() + 1  # log scale: month 0 drawn at 1
    hit = (o.levels.min() - o.baseline).sort_values().index[:3]
    colours = sns.color_palette(PALETTE, 4)
    for k, c in enumerate(hit):
        ax.plot(x, o.levels[c], color=colours[k + 1], linewidth=1.2, marker=MARKERS[k], markevery=[1, 12, 120, 359],
                markersize=4, label=labels.get(c, c))
    ax.plot(x, o.index, color="black", linewidth=2.4, label="indice du territoire")
    before = float(index_of(o.baseline.to_frame().T).iloc[0])
    ax.axhline(before, color="0.4", linestyle=":", linewidth=1.2, label="indice avant le choc")
    ax.set_xscale("log")
    ticks = [1, 2, 4, 7, 13, 37, 121, 241, 361]
    ax.set_xticks(ticks, ["0", "1 mois", "3 mois", "6 mois", "1 an", "3 ans", "10 ans", "20 ans", "30 ans"],
                  fontsize=8)
    ax.axvspan(13, 121, color="0.5", alpha=0.06)  # the years, between the months and the decades
    for start, name in ((1, "les mois"), (13, "les années"), (121, "les décennies")):
        ax.text(start * 1.1, 101, name, fontsize=8, color="0.35", va="bottom")
    ax.set_ylim(0, 108)
    ax.set_xlim(1, 361)
    ax.set_ylabel("Score (0-100)")
    ax.set_xlabel("Temps depuis le début du choc (échelle logarithmique)")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.25), ncol=3, frameon=False, fontsize=8)
    fig.tight_layout()
    return fig


def communs_figure(o: Outcome, labels: dict | None = None):
    import matplotlib.pyplot as plt
    import seaborn as sns

    from observatoire.report.figures import _style

    labels = labels or commun_labels()
    _style()
    table = o.by_commun.rename(index=lambda c: labels.get(c, c))
    fig, ax = plt.subplots(figsize=(6.2, 0.32 * len(table) + 1.4))
    limit = max(10.0, float(np.nanmax(np.abs(table.to_numpy()))))
    sns.heatmap(table, annot=table.map(lambda v: fr(v, 0)), fmt="", cmap="RdBu", vmin=-limit, vmax=limit,
                cbar_kws={"label": "écart au score d'avant le choc (points)"}, ax=ax, annot_kws={"fontsize": 8})
    ax.set_xlabel("Temps depuis le début du choc")
    ax.set_ylabel("")
    fig.tight_layout()
    return fig


# -- the app ------------------------------------------------------------------------------

class ShockApp:
    def __init__(self):
        import ipywidgets as w

        from observatoire.report.comparison import pilot_labels

        self.baselines = pilot_baselines()
        style = {"description_width": "12em"}
        wide = w.Layout(width="34em")
        self.territory = w.Dropdown(options=[(t, c) for c, t in pilot_labels().items()], value="78440",
                                    description="Territoire de départ", style=style, layout=wide)
        self.territory.add_class("campus-territoire")
        self.shock = w.Dropdown(options=[(s.libelle, k) for k, s in shocks().items()], value="inondation",
                                description="Choc", style=style, layout=wide)
        self.shock.add_class("campus-choc")
        self.description = w.HTML()
        self.intensity = w.FloatSlider(value=0.6, min=0.1, max=1.0, step=0.1, description="Intensité",
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
        legend = w.HTML("<small>Capacités de la résilience, de 0 à 100 % : absorber le choc, s'adapter, "
                        "se transformer.</small>")
        self.feedback = ui.feedback_widget()
        self.trajectory = ui.output_widget("campus-trajectoire")
        self.heatmap = ui.output_widget("campus-communs")
        controls = w.VBox([self.territory, self.shock, self.description, self.intensity, self.duration,
                           legend, *self.capacities.values()])
        self.widget = w.VBox([ui.demo_notice(), controls, self.feedback, self.trajectory, self.heatmap])
        self.widget.add_class("campus-app")
        for c in (self.territory, self.shock, self.intensity, self.duration, *self.capacities.values()):
            c.observe(self.update, names="value")
        self.update()

    def update(self, _=None) -> None:
        shock = shocks()[self.shock.value]
        self.description.value = f"<small><em>{ui.escape(shock.description)}</em></small>"
        caps = Capacities(**{k: s.value / 100 for k, s in self.capacities.items()})
        baseline = self.baselines.loc[self.territory.value].dropna()
        self.outcome = simulate(baseline, shock.key, self.intensity.value, self.duration.value, caps)
        self.feedback.value = ui.boxes(self.outcome.messages)
        ui.show(self.trajectory, ui.figure_output(trajectory_figure(self.outcome)))
        ui.show(self.heatmap, ui.figure_output(communs_figure(self.outcome)))


def app():
    return ShockApp().widget

