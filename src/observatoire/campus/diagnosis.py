"""Exercise 3, « Diagnostiquer mon territoire »: any territory of the COG, against the pilots
and the national distribution.

The learner finds a commune, an EPCI, a département or a région by name or code
(:meth:`observatoire.engine.reference.Reference.search`). It has no survey data yet, so it gets
DEMONSTRATION values from the seeded generator (:func:`observatoire.report.comparison.
scored_demo_values`, profile chosen from its level, kind and size), which the learner adjusts
for a few indicators. It is scored with the book's choices and read against the pilots and the
1,255 EPCI of the national demonstration distribution (percentile ranks).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache

import pandas as pd

from observatoire.campus import ui
from observatoire.engine.catalogue import load_catalogue
from observatoire.engine.pipeline import compute_scores
from observatoire.engine.reference import Territory, load_reference, population_by_code

#: Indicators the learner may adjust: one per commun that a territory team can act on or knows.
ADJUSTABLE = ("eau_rendement_reseau", "apl_medecins_generalistes", "voiture_domicile_travail_part",
              "ftth_locaux_part", "pcs_couverture_population", "enr_part_consommation")
LEVEL_NAMES = {"commune": "commune", "epci": "EPCI", "departement": "département", "region": "région",
               "france": "pays"}
LEVEL_WITH_ARTICLE = {"commune": "une commune", "epci": "un EPCI", "departement": "un département",
                      "region": "une région", "france": "le pays"}
ISLANDS = {"REG-94", "DEP-2A", "DEP-2B"}


def search(text: str, limit: int = 12) -> list[tuple[str, str]]:
    """(label, code) of the territories matching ``text``, best first."""
    found = load_reference().search(text, limit=limit)
    return [(f"{r.nom} ({LEVEL_NAMES[r.level]}, {r.code})", r.code) for r in found.itertuples()]


def demo_profile(territory: Territory) -> str:
    """Profile of the demonstration generator for a territory (see data/pilotes/territoires.yml)."""
    from observatoire.report.demo import PROFILE_OF_EPCI_TYPE

    code = territory.code
    if code in ISLANDS or (territory.region or code).startswith("REG-0") or code.startswith("DEP-97"):
        return "insulaire"
    if territory.level == "epci":
        kind = load_reference().epci.set_index("code").at[code, "type"]
        return PROFILE_OF_EPCI_TYPE[kind]
    if territory.level == "commune":
        if territory.population >= 100_000:
            return "metropole"
        return "ville_moyenne" if territory.population >= 10_000 else "rural"
    return "ville_moyenne"


@lru_cache(maxsize=64)
def demo_values(code: str) -> pd.DataFrame:
    """Scored demonstration values of one territory (one row per indicator)."""
    from observatoire.report.demo import scored_demo_values

    territory = load_reference().territory(code)
    population = population_by_code(load_reference())
    return scored_demo_values(load_catalogue(), [(territory.code, demo_profile(territory))], population)


@dataclass
class Diagnosis:
    territory: Territory
    profile: str
    values: pd.DataFrame  # the values scored (demonstration, with the learner's adjustments)
    communs: pd.Series  # commun id → score
    index: float
    percentiles: pd.Series  # commun id → percentile among the EPCI
    baseline: pd.Series | None = None  # commun scores before the adjustments
    messages: list[tuple[str, str]] = field(default_factory=list)


def diagnose(code: str, adjustments: dict[str, float] | None = None) -> Diagnosis:
    from observatoire.report.comparison import percentile_ranks
    from observatoire.report.demo import national_scores

    reference, catalogue = load_reference(), load_catalogue()
    territory = reference.territory(code)
    base_values = demo_values(territory.code)
    population = population_by_code(reference).reindex([territory.code]).astype("float64")

    def score(values):
        s = compute_scores(values, catalogue, population=population)
        return s.communs.loc[territory.code], float(s.index.loc[territory.code])

    baseline, _ = score(base_values)
    values = base_values.copy()
    for indicator, value in (adjustments or {}).items():
        values.loc[values["indicateur"] == indicator, "valeur"] = float(value)
    communs, index = score(values)
    national = national_scores().communs
    percentiles = percentile_ranks(communs.to_frame().T, national).iloc[0]
    d = Diagnosis(territory, demo_profile(territory), values, communs, index, percentiles, baseline)
    d.messages = feedback(d, adjustments or {})
    return d


def feedback(d: Diagnosis, adjustments: dict[str, float]) -> list[tuple[str, str]]:
    cat = load_catalogue()
    e = ui.escape
    label = cat.communs["libelle"]
    t = d.territory
    msgs = [("info", f"<strong>{e(t.nom)}</strong> ({LEVEL_NAMES[t.level]}, {fr_int(t.population)} habitants) : "
             f"profil de démonstration « {e(profile_label(d.profile))} ». Indice global : "
             f"{fr(d.index)} / 100.")]
    ranked = d.percentiles.dropna().sort_values()
    strong = ", ".join(f"{e(label[c])} ({centile(ranked[c])})" for c in ranked.index[::-1][:3])
    weak = ", ".join(f"{e(label[c])} ({centile(ranked[c])})" for c in ranked.index[:3])
    msgs.append(("info", f"Face aux 1 255 EPCI : points forts — {strong} ; points faibles — {weak}. Commencez "
                 "le diagnostic par le commun le plus faible, et descendez à ses indicateurs."))
    if t.level != "epci":
        msgs.append(("info", f"La distribution nationale est celle des EPCI : pour {LEVEL_WITH_ARTICLE[t.level]}, "
                     "comparez surtout l'ordre des communs, pas les niveaux."))
    if adjustments:
        ind = cat.indicators
        changed = []
        for indicator in adjustments:
            c = ind.at[indicator, "commun"]
            delta = float(d.communs[c] - d.baseline[c])
            if abs(delta) >= 0.05:
                changed.append(f"{e(label[c])} {'+' if delta > 0 else '−'}{fr(abs(delta))} point(s)")
        if changed:
            msgs.append(("succes", "Vos valeurs changent le profil : " + " ; ".join(changed) + ". Un seul "
                         "indicateur ne pèse qu'une part de son commun : c'est voulu, pour qu'aucune mesure "
                         "isolée ne fasse le diagnostic."))
        else:
            msgs.append(("attention", "Vos valeurs ne changent aucun score : elles sont au-delà des bornes du "
                         "catalogue, où le score est déjà 0 ou 100."))
    return msgs


def centile(p: float) -> str:
    n = int(round(p))
    return f"{n}<sup>{'er' if n == 1 else 'e'}</sup> centile"


def profile_label(profile: str) -> str:
    from observatoire.report.demo import profiles

    return profiles()[profile]["libelle"]


def fr(x: float, digits: int = 1) -> str:
    return f"{x:.{digits}f}".replace(".", ",")


def fr_int(n: int) -> str:
    return f"{n:,}".replace(",", "\u202f")


def comparison_table(d: Diagnosis) -> pd.DataFrame:
    """Communs: the territory's score and percentile, the pilots' median and the EPCI median."""
    from observatoire.campus.shock import pilot_baselines
    from observatoire.report.demo import national_scores

    label = load_catalogue().communs["libelle"]
    national = national_scores().communs
    return pd.DataFrame({
        "Commun": [label[c] for c in d.communs.index],
        "Score": d.communs.to_numpy(),
        "Centile parmi les EPCI": d.percentiles.reindex(d.communs.index).to_numpy(),
        "Médiane des pilotes": pilot_baselines().median().reindex(d.communs.index).to_numpy(),
        "Médiane des EPCI": national.median().reindex(d.communs.index).to_numpy(),
    })


def profile_figure(d: Diagnosis, pilots: int = 5):
    from observatoire.report import figures
    from observatoire.campus.shock import pilot_baselines
    from observatoire.report.comparison import pilot_labels
    from observatoire.report.demo import national_scores

    label = load_catalogue().communs["libelle"]
    national = national_scores().communs.rename(columns=label)
    labels = pilot_labels()
    rows = pd.DataFrame([d.communs.rename(label)], index=[f"{d.territory.nom} (votre diagnostic)"])
    others = pilot_baselines().reindex(list(labels)[:pilots]).rename(index=labels, columns=label)
    territories = pd.concat([rows, others[rows.columns]])
    return figures.against_distribution(national[rows.columns], territories)


class DiagnosisApp:
    def __init__(self, code: str = "78440"):
        import ipywidgets as w

        cat = load_catalogue()
        style = {"description_width": "14em"}
        wide = w.Layout(width="36em")
        self.query = w.Text(value="", placeholder="nom ou code : Brest, 29019, DEP-29, REG-53…",
                            description="Chercher un territoire", continuous_update=False, style=style,
                            layout=wide)
        self.query.add_class("campus-recherche")
        start = load_reference().territory(code)
        self.results = w.Dropdown(options=[(f"{start.nom} ({LEVEL_NAMES[start.level]}, {start.code})", start.code)],
                                  value=start.code, description="Territoire", style=style, layout=wide)
        self.results.add_class("campus-resultats")
        self.sliders = {}
        meta = cat.indicators
        for indicator in ADJUSTABLE:
            m = meta.loc[indicator]
            lo, hi = float(m["borne_basse"]), float(m["borne_haute"])
            s = w.FloatSlider(min=lo, max=hi, step=round((hi - lo) / 50, 3), continuous_update=False,
                              description=f"{m['libelle'][:30]}", style=style, layout=wide,
                              tooltip=f"{m['libelle']} ({m['unite']})")
            s.add_class(f"campus-valeur-{indicator}")
            self.sliders[indicator] = s
        units = w.HTML("<small>" + " ; ".join(f"{ui.escape(meta.at[i, 'libelle'])} en {ui.escape(meta.at[i, 'unite'])}"
                                              for i in ADJUSTABLE) + "</small>")
        self.reset = w.Button(description="Revenir aux valeurs de démonstration",
                              layout=w.Layout(width="auto"))
        self.reset.add_class("campus-reinitialiser")
        self.feedback = ui.feedback_widget()
        self.table = ui.output_widget("campus-tableau")
        self.figure = ui.output_widget("campus-figure")
        self.widget = w.VBox([ui.demo_notice(), self.query, self.results,
                              w.HTML("<strong>Ajuster quelques valeurs</strong> (les autres restent celles du "
                                     "générateur de démonstration)"),
                              *self.sliders.values(), units, self.reset, self.feedback, self.table, self.figure])
        self.widget.add_class("campus-app")
        self.query.observe(self.on_search, names="value")
        self.results.observe(self.on_territory, names="value")
        for s in self.sliders.values():
            s.observe(self.update, names="value")
        self.reset.on_click(self.on_territory)
        self.on_territory()

    def on_search(self, _=None) -> None:
        found = search(self.query.value)
        if not found:
            self.feedback.value = ui.box("attention", f"Aucun territoire ne correspond à « {ui.escape(self.query.value)} ». "
                                         "Essayez un nom sans article, ou un code : 33063, 200046977, DEP-33, REG-75.")
            return
        self.results.options = found  # selects the best match, which triggers on_territory

    def _set_sliders(self, values: pd.DataFrame) -> None:
        v = values.set_index("indicateur")["valeur"]
        for indicator, s in self.sliders.items():
            s.unobserve(self.update, names="value")
            s.value = min(max(float(v[indicator]), s.min), s.max)
            s.observe(self.update, names="value")
        self._initial = {i: s.value for i, s in self.sliders.items()}

    def on_territory(self, _=None) -> None:
        if self.results.value is None:
            return
        self._set_sliders(demo_values(load_reference().territory(self.results.value).code))
        self.update()

    def update(self, _=None) -> None:
        adjustments = {i: s.value for i, s in self.sliders.items() if abs(s.value - self._initial[i]) > 1e-9}
        self.diagnosis = diagnose(self.results.value, adjustments)
        self.feedback.value = ui.boxes(self.diagnosis.messages)
        ui.show(self.table, ui.html_output(ui.table_html(comparison_table(self.diagnosis))))
        ui.show(self.figure, ui.figure_output(profile_figure(self.diagnosis)))


def app(code: str = "78440"):
    return DiagnosisApp(code).widget

