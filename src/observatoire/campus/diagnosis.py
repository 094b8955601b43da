"""Exercise 3, « Diagnostiquer mon territoire »: a real territory's own values against fictional peers.

The learner finds a commune, an EPCI, a département or a région of the Code officiel
géographique by name or code (:meth:`observatoire.engine.reference.Reference.search`; a commune
code that lost its leading zero in a spreadsheet, « 1004 », is repaired as the validator does,
with :func:`~observatoire.engine.reference.parse_territory_code`). Of that real territory the
Campus shows only its real structural facts — name, level, population, membership — with their
source. It invents no indicator value for it: the learner types the values they know, or loads
their data file (validated by the engine, problems listed in French), and the rest stays « à
renseigner ».

Each value is scored with the book's choices (the catalogue's goalposts) and read against the
sixty fictional peers of ``data/demo/`` (``FICTIF-P01`` … ``FICTIF-P60``, invented values,
labelled as fiction wherever they appear): the peers' scores on the same indicator, and on
each commun restricted to the indicators the learner entered — a territory is only compared on
what it measured.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import lru_cache

import pandas as pd

from observatoire import text
from observatoire.campus import fiction, shared, ui
from observatoire.engine.catalogue import Catalogue, load_catalogue
from observatoire.engine.reference import (TerritoryCodeError, Territory, load_reference, parse_territory_code)

#: Indicators the learner is offered first: one per commun that a territory team knows or can find.
ADJUSTABLE = ("eau_rendement_reseau", "apl_medecins_generalistes", "voiture_domicile_travail_part",
              "ftth_locaux_part", "pcs_couverture_population", "enr_part_consommation")
LEVEL_NAMES = {"commune": "commune", "epci": "EPCI", "departement": "département", "region": "région",
               "france": "pays"}
LEVEL_WITH_ARTICLE = {"commune": "une commune", "epci": "un EPCI", "departement": "un département",
                      "region": "une région", "france": "le pays"}
EXAMPLE_INDICATOR = "eau_rendement_reseau"


# -- finding a real territory -----------------------------------------------------------------

def reference():
    """The COG 2026 reference (:func:`~observatoire.engine.reference.load_reference`), with its
    search index already built when the Campus prepared it (:mod:`observatoire.campus.prepared`)."""
    kept = shared.get("reference")
    return kept if kept is not None else load_reference()


def label_of(t: Territory) -> str:
    return f"{t.nom} ({LEVEL_NAMES[t.level]}, {t.code})"


def search(query: str, limit: int = 12) -> tuple[list[tuple[str, str]], str | None]:
    """(label, code) of the real territories matching ``query``, best first, and a French note
    when the query was a commune code that lost its leading zero (repaired first, as the
    validator does: « 1004 » is Ambérieu-en-Bugey, 01004)."""
    ref = reference()
    query = (query or "").strip()
    if not query:
        return [], None
    first, note = [], None
    try:
        level, code, warning = parse_territory_code(query)
    except TerritoryCodeError:
        pass
    else:
        if level != "fictif" and ref.contains(code):
            first, note = [ref.territory(code).code], warning
    found = ref.search(query, limit=limit)
    codes = first + [c for c in found["code"] if c not in first]
    return [(label_of(ref.territory(c)), c) for c in codes[:limit]], note


@lru_cache(maxsize=1)
def reference_source() -> str:
    """The reference's sources and licence, from its data package (for the territory card)."""
    from observatoire.engine.reference import default_reference_directory

    package = json.loads((default_reference_directory() / "datapackage.json").read_text(encoding="utf-8"))
    titles = [re.sub(r" \(intégrité [^)]*\)", "", s["title"]) for s in package.get("sources", [])
              if not s["title"].startswith("Dépôt")]
    licence = package.get("licenses", [{}])[0].get("title", "")
    return f"{' ; '.join(titles)}. {licence}."


def facts(t: Territory) -> list[tuple[str, str]]:
    """The territory's real structural facts, (label, value), from the COG 2026 reference."""
    ref = reference()
    departements = ref.departements.set_index("code")["nom"]
    regions = ref.regions.set_index("code")["nom"]
    rows = [("Nom", t.nom), ("Niveau", LEVEL_NAMES[t.level]), ("Code", t.code),
            ("Population municipale", text.plural(t.population, "habitant"))]
    if t.level == "commune":
        epci = ref.communes.set_index("code").at[t.code, "epci"]
        if isinstance(epci, str) and epci:
            rows.append(("EPCI", f"{ref.epci.set_index('code').at[epci, 'nom']} ({epci})"))
    if t.level == "epci":
        row = ref.epci.set_index("code").loc[t.code]
        rows.append(("Communes membres", text.fr_int(int(row["nb_communes"]))))
    if t.level in ("commune", "epci") and t.departement:
        code = t.departement.removeprefix("DEP-")
        rows.append(("Département", f"{departements.get(code, code)} ({code})"))
    if t.level in ("commune", "epci", "departement") and t.region:
        code = t.region.removeprefix("REG-")
        rows.append(("Région", f"{regions.get(code, code)} ({code})"))
    return rows


# -- the learner's values ----------------------------------------------------------------------

def parse_number(raw: str) -> float | None:
    """« 78,5 », « 78.5 », « 1 234,5 » → float; blank → None; anything else → ValueError."""
    cleaned = (raw or "").strip().replace("\u202f", "").replace("\u00a0", "").replace(" ", "").replace("%", "")
    if not cleaned:
        return None
    return float(cleaned.replace(",", "."))


def check_value(indicator: str, raw: str, catalogue: Catalogue) -> tuple[float | None, str | None]:
    """(value, French problem) of one typed value, checked against the catalogue's plausible range."""
    m = catalogue.indicators.loc[indicator]
    try:
        value = parse_number(raw)
    except ValueError:
        return None, f"« {raw} » n'est pas un nombre (exemple : 78,5)"
    if value is None:
        return None, None
    lo, hi = float(m["min_plausible"]), float(m["max_plausible"])
    if not lo <= value <= hi:
        return None, (f"{text.fr_number(value, 2)} {m['unite']} est hors de la plage plausible "
                      f"({text.fr_number(lo, 0)} à {text.fr_number(hi, 0)} {m['unite']})")
    return value, None


def values_from_file(name: str, content: bytes, code: str, catalogue: Catalogue) -> tuple[dict[str, float], list[str]]:
    """The territory's scored values from an uploaded data file (the project's contract), or the
    French problems of the file (line, column, value, what was expected)."""
    import tempfile
    from pathlib import Path

    from observatoire.engine.snapshot import scoring_matrix
    from observatoire.engine.validate import validate_file
    from observatoire.errors import ValidationError

    suffix = Path(name).suffix.lower()
    if suffix not in (".csv", ".xlsx"):
        return {}, [f"{name} : seuls les fichiers .csv et .xlsx du modèle de données sont acceptés"]
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"fichier{suffix}"
        path.write_bytes(content)
        try:
            data = validate_file(path, catalogue)
        except ValidationError as exc:
            shown = []
            for p in exc.problems[:12]:
                where = ", ".join(x for x in (f"ligne {p.line}" if p.line else "",
                                              f"colonne « {p.column} »" if p.column else "") if x)
                value = f" (valeur « {p.value} »)" if p.value not in (None, "") else ""
                shown.append(f"{name}{', ' + where if where else ''}{value} : {p.message}")
            if len(exc.problems) > 12:
                shown.append(f"… et {text.plural(len(exc.problems) - 12, 'autre problème', 'autres problèmes')}")
            return {}, shown
    values = data.values[data.values["territoire"] == code]
    if values.empty:
        return {}, [f"{name} : aucune valeur pour le territoire {code} (colonne « territoire »)"]
    _, wide = scoring_matrix(values, catalogue)
    row = wide.loc[code].dropna()
    return {i: float(v) for i, v in row.items()}, []


# -- scores and peers ------------------------------------------------------------------------

@lru_cache(maxsize=1)
def peer_scores() -> pd.DataFrame:
    """The sixty fictional peers × indicators: scores with the book's choices (goalposts)."""
    kept = shared.get("peer_scores")
    if kept is not None:
        return kept
    data = fiction.fictional_data()
    return fiction.book_scores().indicators.reindex(list(data.peers))


def indicator_scores(values: dict[str, float], catalogue: Catalogue) -> pd.Series:
    """The learner's values scored with the catalogue's goalposts (the book's normalisation)."""
    from observatoire.engine.normalise import normalise

    if not values:
        return pd.Series(dtype="float64")
    wide = pd.DataFrame([values], index=["territoire"])
    return normalise(wide, catalogue, "goalposts").iloc[0]


def commun_scores(indicator_table: pd.DataFrame, catalogue: Catalogue) -> pd.DataFrame:
    """Territories × communs: arithmetic mean of the indicator scores present (equal weights),
    the engine's aggregation restricted to the indicators in ``indicator_table``."""
    from observatoire.engine import aggregate

    columns = indicator_table.columns
    groups = catalogue.indicators.loc[columns, "commun"]
    communs, _ = aggregate.aggregate_groups(indicator_table, groups, pd.Series(1.0, index=columns),
                                            "arithmetic", min_coverage=0.0)
    return communs


def percentile_among(value: float, population: pd.Series) -> float:
    """Share (%) of ``population`` strictly below ``value``, plus half of the ties."""
    pop = population.dropna().to_numpy()
    if value != value or not len(pop):
        return float("nan")
    return float(100 * ((pop < value).sum() + 0.5 * (pop == value).sum()) / len(pop))


@dataclass
class Diagnosis:
    territory: Territory
    values: dict[str, float]  # indicator → the learner's value
    indicators: pd.DataFrame  # per indicator: valeur, score, mediane_pairs, p10, p90, centile
    communs: pd.DataFrame  # per commun (entered indicators only): score, mediane_pairs, p10, p90, centile, n
    messages: list[tuple[str, str]] = field(default_factory=list)


def diagnose(code: str, values: dict[str, float]) -> Diagnosis:
    catalogue = load_catalogue()
    territory = reference().territory(code)
    values = {i: float(v) for i, v in values.items() if i in catalogue.indicators.index and v == v}
    peers = peer_scores()
    own = indicator_scores(values, catalogue)
    entered = [i for i in catalogue.indicators.index if i in values]
    rows = []
    for i in entered:
        pop = peers[i]
        rows.append({"indicateur": i, "valeur": values[i], "score": float(own[i]),
                     "p10": float(pop.quantile(0.1)), "mediane_pairs": float(pop.median()),
                     "p90": float(pop.quantile(0.9)), "centile": percentile_among(float(own[i]), pop)})
    indicators = pd.DataFrame(rows, columns=["indicateur", "valeur", "score", "p10", "mediane_pairs", "p90",
                                             "centile"]).set_index("indicateur")
    communs = pd.DataFrame(columns=["score", "p10", "mediane_pairs", "p90", "centile", "n"])
    if entered:
        mine = commun_scores(pd.DataFrame([own[entered]], index=["territoire"]), catalogue).iloc[0]
        theirs = commun_scores(peers[entered], catalogue)
        n = catalogue.indicators.loc[entered, "commun"].value_counts()
        communs = pd.DataFrame({
            "score": mine, "p10": theirs.quantile(0.1), "mediane_pairs": theirs.median(), "p90": theirs.quantile(0.9),
            "centile": [percentile_among(mine[c], theirs[c]) for c in mine.index],
            "n": n.reindex(mine.index).to_numpy()})
    d = Diagnosis(territory, values, indicators, communs)
    d.messages = feedback(d, catalogue)
    return d


def feedback(d: Diagnosis, catalogue: Catalogue) -> list[tuple[str, str]]:
    e = ui.escape
    t = d.territory
    n_peers = len(peer_scores())
    msgs = []
    if not d.values:
        msgs.append(("info", f"<strong>{e(t.nom)}</strong> : aucune valeur saisie. Saisissez ci-dessus les valeurs que "
                     "vous connaissez (ou chargez votre fichier de données) : le Campus n'invente aucune valeur pour "
                     "un territoire réel."))
        return msgs
    n = len(d.values)
    msgs.append(("info", f"<strong>{e(t.nom)}</strong> : {text.plural(n, 'valeur saisie', 'valeurs saisies')} sur "
                 f"{len(catalogue.indicators)} indicateurs du catalogue ; les autres restent « à renseigner ». "
                 f"Comparaison avec {n_peers} territoires <strong>fictifs</strong> (valeurs inventées) : elle "
                 "apprend à lire un score et un centile, elle ne situe pas votre territoire dans la réalité."))
    ranked = d.communs.dropna(subset=["centile"]).sort_values("centile")
    label = catalogue.communs["libelle"]
    if len(ranked):
        weak = ranked.index[0]
        msgs.append(("info", f"Commun le plus en retrait face aux pairs fictifs, sur ce que vous avez mesuré : "
                     f"<strong>{e(label[weak])}</strong> ({text.fr_number(ranked.at[weak, 'score'], 1)} sur 100, "
                     f"{centile(ranked.at[weak, 'centile'])}, sur "
                     f"{text.plural(int(ranked.at[weak, 'n']), 'indicateur')} de "
                     f"{int((catalogue.indicators['commun'] == weak).sum())}). Commencez le diagnostic par lui, "
                     "et notez ce qu'il faudrait mesurer pour le compléter."))
    if t.level != "epci":
        msgs.append(("info", f"Les pairs fictifs sont des EPCI : pour {LEVEL_WITH_ARTICLE[t.level]}, comparez surtout "
                     "l'ordre de vos scores, pas leurs niveaux."))
    flat = [i for i, r in d.indicators.iterrows() if r["score"] in (0.0, 100.0)]
    if flat:
        names = ", ".join(e(catalogue.indicators.at[i, "libelle"]) for i in flat)
        msgs.append(("attention", f"Valeur(s) au-delà des bornes du catalogue, où le score est déjà 0 ou 100 : {names}. "
                     "Un progrès au-delà de la borne ne change plus le score."))
    return msgs


def centile(p: float) -> str:
    return f"centile {int(round(p))} sur 100 parmi les pairs fictifs"


# -- figure, prediction, checkpoints ------------------------------------------------------------

def profile_figure(d: Diagnosis) -> str:
    from observatoire.campus import svg

    label = load_catalogue().indicators["libelle"]
    rows = [{"label": svg_label(label[i]), "value": r["score"], "low": r["p10"], "median": r["mediane_pairs"],
             "high": r["p90"]} for i, r in d.indicators.iterrows()]
    return svg.against_band(rows, f"{d.territory.nom} : vos valeurs face aux pairs fictifs",
                            "Score de 0 à 100 (bornes du catalogue)", "votre valeur",
                            "10 à 90 % des pairs fictifs", "médiane des pairs fictifs")


def svg_label(name: str, width: int = 32) -> str:
    return name if len(name) <= width else name[:width - 1].rstrip() + "…"


def commun_share_case(indicator: str = EXAMPLE_INDICATOR) -> tuple[str, float, int]:
    """The prediction: raising ``indicator`` by a quarter of its goalposts' span moves its
    commun's full score by 25 / (number of its indicators) points (equal weights). Returns
    (truth key, points, number of indicators)."""
    meta = load_catalogue().indicators
    n = int((meta["commun"] == meta.at[indicator, "commun"]).sum())
    moved = 25.0 / n
    return ("moins" if moved < 10 else "entre" if moved <= 20 else "plus"), moved, n


def score_answer(d: Diagnosis | None) -> str:
    meta = load_catalogue().indicators
    if d is None or not d.values:
        return "Saisissez d'abord au moins une valeur : la réponse détaillée se calcule sur elle."
    i = next(iter(d.indicators.index))
    m, f = meta.loc[i], text.fr_number
    v, lo, hi, direction = d.values[i], float(m["borne_basse"]), float(m["borne_haute"]), int(m["direction"])
    raw = min(100.0, max(0.0, 100 * (v - lo) / (hi - lo)))
    how = (f"plus est mieux : le score est {f(raw, 1)}" if direction > 0 else
           f"moins est mieux : le score est 100 − {f(raw, 1)} = {f(100 - raw, 1)}")
    return (f"{ui.escape(m['libelle'])} : vous avez saisi {f(v, 2)} {ui.escape(m['unite'])}. Bornes du catalogue : "
            f"{f(lo, 2)} (score 0) et {f(hi, 2)} (score 100). Position : 100 × ({f(v, 2)} − {f(lo, 2)}) / "
            f"({f(hi, 2)} − {f(lo, 2)}), ramenée entre 0 et 100 = {f(raw, 1)} ; {how}. Le même calcul vaut pour les "
            "pairs fictifs : leurs scores sont comparables aux vôtres.")


def centile_answer(d: Diagnosis | None) -> str:
    if d is None or d.indicators.empty:
        return "Saisissez d'abord au moins une valeur."
    meta = load_catalogue().indicators
    i = next(iter(d.indicators.index))
    r = d.indicators.loc[i]
    pop = peer_scores()[i].dropna()
    below, ties = int((pop < r["score"]).sum()), int((pop == r["score"]).sum())
    f = text.fr_number
    return (f"{ui.escape(meta.at[i, 'libelle'])} : score {f(r['score'], 1)}. Parmi les {len(pop)} pairs fictifs, "
            f"{below} ont un score plus bas" + (f" et {ties} le même" if ties else "") +
            " : centile = 100 × " + (f"({below} + {ties}/2)" if ties else f"{below}") + f" / {len(pop)} = "
            f"{f(r['centile'], 0)}. Un centile situe un score dans un groupe ; il ne dit pas si le score est bon en "
            "soi (les bornes le disent), et entre deux centiles proches l'écart peut ne rien signifier.")


def questions_answer(d: Diagnosis | None) -> str:
    cat = load_catalogue()
    if d is None or d.communs.dropna(subset=["centile"]).empty:
        return "Saisissez d'abord des valeurs : le commun le plus en retrait se lit sur elles."
    weak = d.communs.dropna(subset=["centile"]).sort_values("centile").index[0]
    meta = cat.indicators[cat.indicators["commun"] == weak]
    missing = [i for i in meta.index if i not in d.values]
    listed = " ; ".join(f"{ui.escape(meta.at[i, 'libelle'])} (source : {ui.escape(meta.at[i, 'source'])})"
                       for i in missing[:4])
    return (f"Commun le plus en retrait : {ui.escape(cat.communs.at[weak, 'libelle'])}, mesuré sur "
            f"{text.plural(len(meta) - len(missing), 'indicateur')} de {len(meta)}. Deux questions pour l'enquête : "
            f"(1) que disent les indicateurs encore à renseigner — {listed or 'aucun'} ? (2) quelles actions le "
            "territoire mène-t-il déjà sur ce commun, avec qui, et qu'est-ce qui les freine ? Le questionnaire type "
            "du livre les pose pour chaque commun.")


# -- the app ------------------------------------------------------------------------------

class DiagnosisApp:
    def __init__(self, code: str | None = None, preview: bool = False):
        import ipywidgets as w

        self.catalogue = cat = load_catalogue()
        reference().search("Paris", limit=1)  # the search index, ready before the learner searches
        self.code: str | None = None
        self.diagnosis: Diagnosis | None = None
        self.file_values: dict[str, float] = {}
        style = {"description_width": "12em"}
        self.query = w.Text(value="", placeholder="nom ou code : Brest, 29019, DEP-29, REG-53…",
                            description="Chercher un territoire", continuous_update=False, style=style,
                            layout=w.Layout(width="38em"))
        self.query.add_class("campus-recherche")
        self.results = w.Dropdown(options=[], value=None, description="Territoire", style=style,
                                  layout=w.Layout(width="38em"))
        self.results.add_class("campus-resultats")
        self.search_note = ui.feedback_widget("campus-recherche-retour")
        self.card = ui.figure_widget("campus-fiche")
        meta = cat.indicators
        self.fields = {}
        rows = [ui.text_widget("<strong>Vos valeurs</strong> (laissez vide ce que vous ne connaissez pas : « à renseigner »)")]
        for indicator in ADJUSTABLE:
            m = meta.loc[indicator]
            field_ = w.Text(value="", placeholder="à renseigner", continuous_update=False,
                            layout=ui.shared_layout("9em"), style=ui.shared_style("text"))
            field_.add_class(f"campus-valeur-{indicator}")
            self.fields[indicator] = field_
            rows.append(w.HBox([ui.text_widget(f"<div style='width:26em'>{ui.escape(m['libelle'])} <small>"
                                       f"({ui.escape(m['unite'])} ; bornes {text.fr_number(float(m['borne_basse']), 0)} "
                                       f"et {text.fr_number(float(m['borne_haute']), 0)}, "
                                       f"{'plus' if int(m['direction']) > 0 else 'moins'} est mieux)</small></div>"),
                                field_], layout=ui.shared_layout()))
        self.upload = w.FileUpload(accept=".csv,.xlsx", multiple=False, description="Charger mon fichier",
                                   layout=ui.shared_layout("max-content"))
        self.upload.add_class("campus-fichier")
        self.clear = w.Button(description="Effacer mes valeurs", layout=ui.shared_layout("max-content"))
        self.clear.add_class("campus-effacer")
        self.values_note = ui.feedback_widget("campus-valeurs-retour")
        self.verdict = ui.feedback_widget("campus-verdict")
        self.feedback = ui.feedback_widget()
        self.table = ui.figure_widget("campus-tableau")
        self.figure = ui.figure_widget("campus-figure")
        controls = w.VBox([ui.heading("Votre territoire"), self.query, self.results, self.search_note, self.card,
                           *rows, w.HBox([self.upload, self.clear]),
                           ui.text_widget("<small>Fichier au format du modèle de données du livre (colonnes territoire, "
                                  "indicateur, periode, valeur…) : « observatoire modele CODE » en produit un.</small>"),
                           self.values_note])
        results = w.VBox([ui.heading("Diagnostic"), self.verdict, self.feedback, self.table, self.figure],
                         layout=w.Layout(width="100%"))
        self.truth, self.moved, self.n_example = commun_share_case()
        example = meta.loc[EXAMPLE_INDICATOR]
        self.prediction = ui.Prediction(
            f"Le commun « {cat.communs.at[example['commun'], 'libelle']} » compte {self.n_example} indicateurs, de "
            f"même poids. Si « {example['libelle']} » progresse d'un quart de l'écart entre ses bornes (de "
            f"{text.fr_number(float(example['borne_basse']), 0)} à {text.fr_number(float(example['borne_haute']), 0)} "
            f"{example['unite']}), de combien le score complet du commun progresse-t-il ?",
            [("moins de 10 points", "moins"), ("de 10 à 20 points", "entre"), ("plus de 20 points", "plus")],
            on_answer=self.revealed)
        self.checkpoints = ui.Checkpoints([
            ui.Checkpoint("Comment le score de la première valeur que vous avez saisie est-il calculé ?",
                          lambda: score_answer(self.diagnosis)),
            ui.Checkpoint("Que veut dire son centile parmi les pairs fictifs ?", lambda: centile_answer(self.diagnosis)),
            ui.Checkpoint("Quelles deux questions poser lors de l'enquête pour le commun le plus en retrait ?",
                          lambda: questions_answer(self.diagnosis)),
        ], on_change=self.summarise)
        self.notes = ui.notes_widget("Vos deux questions pour l'enquête, vos pistes pour le projet de territoire…")
        self.summary = ui.Summary("diagnostic", "Diagnostiquer mon territoire")
        notice = ui.feedback_widget("campus-fiction")
        notice.value = ui.box("attention", "<strong>Un territoire réel, des pairs fictifs.</strong> Du territoire que "
                              "vous cherchez, le Campus ne montre que des faits réels de structure (nom, population, "
                              "appartenance, avec leur source) ; ses valeurs d'indicateurs, c'est vous qui les "
                              f"saisissez. La comparaison se fait avec {len(peer_scores())} territoires fictifs aux "
                              "valeurs inventées par le générateur de l'Observatoire.")
        self.widget, self.after = ui.frame(
            notice_widget=notice, prediction=None if preview else self.prediction, controls=controls, results=results,
            checkpoints=self.checkpoints, notes=self.notes, summary=self.summary, revealed=preview)
        guard = lambda f: ui.guarded(f, self.feedback)  # noqa: E731
        self.query.observe(guard(self.on_search), names="value")
        self.results.observe(guard(self.on_territory), names="value")
        for f_ in self.fields.values():
            f_.observe(guard(self.update), names="value")
        self.upload.observe(guard(self.on_upload), names="value")
        self.clear.on_click(guard(self.on_clear))
        self.notes.observe(lambda _: self.summarise(), names="value")
        if code:
            self.query.value = code
        else:
            self.update()

    # -- events --

    def revealed(self) -> None:
        ui.reveal(self.after)
        why = (f"Le score d'un indicateur progresse de 25 points (un quart de 0 à 100) ; le commun est la moyenne de "
               f"ses {self.n_example} indicateurs : 25 / {self.n_example} = {text.fr_number(self.moved, 1)} points. Un "
               "indicateur ne pèse qu'une part de son commun : aucune mesure isolée ne fait le diagnostic.")
        kind, message = self.prediction.verdict(self.truth, why)
        self.verdict.value = ui.box(kind, message)
        self.summarise()

    def on_search(self, _=None) -> None:
        found, note = search(self.query.value)
        if not found:
            shown = self.query.value.strip()
            self.search_note.value = ui.box("attention", (
                f"Aucun territoire ne correspond à « {ui.escape(shown)} ». " if shown else "Recherche vide. ")
                + "Essayez un nom sans article, ou un code : 33063, 200046977, DEP-33, REG-75.")
            self.results.options = []  # the previous territory's results are cleared
            self.set_territory(None)
            return
        self.search_note.value = ui.box("info", ui.escape(note)) if note else ""
        self.results.options = found  # selects the best match, which triggers on_territory
        if self.results.value != found[0][1]:
            self.results.value = found[0][1]

    def on_territory(self, _=None) -> None:
        self.set_territory(self.results.value)

    def set_territory(self, code: str | None) -> None:
        self.code = code
        self.file_values = {}
        self.values_note.value = ""
        if code is None:
            self.card.value = ""
        else:
            t = reference().territory(code)
            rows = "".join(f"<tr><th style='text-align:left;padding:1px 10px 1px 0;font-weight:normal'>{ui.escape(k)}"
                           f"</th><td>{ui.escape(v)}</td></tr>" for k, v in facts(t))
            self.card.value = (f"<table class='campus-fiche-table' style='font-size:0.92em'>{rows}</table>"
                               f"<small>Source : {ui.escape(reference_source())}</small>")
        self.update()

    def on_upload(self, change=None) -> None:
        if not self.upload.value or self.code is None:
            if self.code is None and self.upload.value:
                self.values_note.value = ui.box("attention", "Choisissez d'abord votre territoire, puis chargez le "
                                                "fichier : le Campus y prend les valeurs de ce territoire.")
            return
        item = self.upload.value[0]
        values, problems = values_from_file(item["name"], bytes(item["content"]), self.code, self.catalogue)
        if problems:
            self.values_note.value = ui.box("erreur", "Le fichier n'a pas été pris en compte :<br>"
                                            + "<br>".join(ui.escape(p) for p in problems))
            return
        self.file_values = values
        for indicator, field_ in self.fields.items():
            if indicator in values:
                field_.value = text.fr_number(values[indicator], 2).replace("\u202f", "")
        self.values_note.value = ui.box("succes", f"{ui.escape(item['name'])} : "
                                        f"{text.plural(len(values), 'valeur reprise', 'valeurs reprises')} pour ce "
                                        "territoire.")
        self.update()

    def on_clear(self, _=None) -> None:
        self.file_values = {}
        for field_ in self.fields.values():
            field_.value = ""
        self.values_note.value = ""
        self.update()

    def typed_values(self) -> tuple[dict[str, float], list[str]]:
        values, problems = dict(self.file_values), []
        for indicator, field_ in self.fields.items():
            value, problem = check_value(indicator, field_.value, self.catalogue)
            if problem:
                problems.append(f"{self.catalogue.indicators.at[indicator, 'libelle']} : {problem}")
                values.pop(indicator, None)
            elif value is None:
                values.pop(indicator, None)
            else:
                values[indicator] = value
        return values, problems

    def update(self, _=None) -> None:
        if self.code is None:
            self.diagnosis = None
            self.feedback.value = ui.box("info", "Cherchez d'abord votre territoire (nom ou code), puis saisissez "
                                         "les valeurs que vous connaissez.")
            self.table.value = self.figure.value = ""
            self.checkpoints.refresh()
            self.summarise()
            return
        values, problems = self.typed_values()
        if problems:
            self.values_note.value = ui.box("erreur", "<br>".join(ui.escape(p) for p in problems))
        elif not self.file_values:
            self.values_note.value = ""
        self.diagnosis = d = diagnose(self.code, values)
        self.feedback.value = ui.boxes(d.messages)
        if d.indicators.empty:
            self.table.value = self.figure.value = ""
        else:
            self.table.value = ui.table_html(self.shown_table(d))
            self.figure.value = profile_figure(d)
        self.checkpoints.refresh()
        self.summarise()

    def shown_table(self, d: Diagnosis) -> pd.DataFrame:
        meta = self.catalogue.indicators
        label = self.catalogue.communs["libelle"]
        rows = [{"Élément": f"{meta.at[i, 'libelle']} ({meta.at[i, 'unite']})",
                 "Votre valeur": text.fr_number(r["valeur"], 2), "Score": r["score"],
                 "Médiane des pairs fictifs": r["mediane_pairs"], "Centile parmi les pairs fictifs": r["centile"]}
                for i, r in d.indicators.iterrows()]
        rows += [{"Élément": f"Commun « {label[c]} » (sur {text.plural(int(r['n']), 'indicateur saisi', 'indicateurs saisis')})",
                  "Votre valeur": "", "Score": r["score"], "Médiane des pairs fictifs": r["mediane_pairs"],
                  "Centile parmi les pairs fictifs": r["centile"]} for c, r in d.communs.iterrows()]
        return pd.DataFrame(rows)

    def summarise(self) -> None:
        territory = ""
        if self.code:
            t = reference().territory(self.code)
            territory = "\n".join(f"- {k} : {v}" for k, v in facts(t)) + f"\n\nSource : {reference_source()}"
        results = ""
        if self.diagnosis is not None and not self.diagnosis.indicators.empty:
            results = (ui.table_markdown(self.shown_table(self.diagnosis)) + "\n\n"
                       + "\n".join(f"- {ui.markdown_of(m)}" for _, m in self.diagnosis.messages))
        prediction = ""
        if self.prediction.answer is not None:
            prediction = (f"{self.prediction.question}\n\nMa prédiction : {self.prediction.choices[self.prediction.answer]}."
                          f"\n\n{ui.markdown_of(self.verdict.value)}")
        steps = "\n\n".join(f"**{k}. {item.question}**\n\n{ui.markdown_of(item.opened)}"
                            for k, item in enumerate(self.checkpoints.items, start=1) if item.opened)
        self.summary.update([("Mon territoire (faits réels de structure)", territory), ("Ma prédiction", prediction),
                             ("Mes valeurs et leur lecture", results), ("Points d'étape ouverts", steps),
                             ("Mes notes et mes questions pour l'enquête", self.notes.value),
                             ("Avertissement", "Les pairs de comparaison sont des territoires fictifs aux valeurs "
                                               "inventées : la comparaison apprend une méthode de lecture."),
                             ("Pour aller plus loin", "observatoire modele CODE (le modèle de données de votre "
                                                      "territoire), observatoire valider, puis observatoire fiche "
                                                      "CODE --donnees mes-donnees.csv.")])


def app(code: str | None = None, preview: bool = False):
    return DiagnosisApp(code, preview).widget
