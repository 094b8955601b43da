"""National run: a page for every EPCI (or commune) and national summary pages, as a static site.

``observatoire national`` / ``make national`` / :func:`run_national`:

1. **Data.** A data file covering the territories (``--donnees``), or, without one, the
   demonstration file that :func:`observatoire.report.demo.national_demo_data` draws for every EPCI
   (or commune) — the same numbers as the comparison chapter's national distribution — written
   to ``SORTIE/donnees/``. The file is validated with :func:`observatoire.engine.validate.validate_file`
   (every problem at once, in French): on an invalid file nothing is written.
2. **Engine, vectorised, in this process.** One :func:`~observatoire.engine.pipeline.compute_scores`
   for all territories; two Monte Carlo runs (:func:`~observatoire.engine.uncertainty.monte_carlo`): one
   over the choices that only depend on a territory's own values (absolute normalisations,
   means, weights), which gives each territory's score bands, and one over the whole space
   (relative normalisations included), which gives the rank intervals of the ranking page;
   the synthesis levels (département, région, France; and EPCI for communes) by
   :func:`observatoire.engine.levels.roll_up_all`, then scored by the same pipeline. An EPCI's value is
   spread over its communes first (rates as they are, counts in proportion to population), so
   the roll-up is the engine's commune roll-up.
3. **Pages, distributed.** Each page's context (plain numbers and texts) goes to a worker that
   draws its figures and fills its template (:func:`observatoire.national.pages.render_page`)
   and returns the text; this process writes it atomically (temporary file, then rename). The
   executor is a local :class:`~concurrent.futures.ProcessPoolExecutor` (as many workers as
   cores) or, given a scheduler address, ``distributed.Client(address).get_executor()``: the same
   ``submit``/``as_completed`` code path. A progress bar goes to stderr.
4. **Resumable.** Each territory page has a fingerprint of its inputs: its rows of the data file,
   the catalogue files, the engine's source code (``src/observatoire``), the reference tables, the
   templates, the modelling choices (and Monte Carlo settings, data file name). Fingerprints are
   kept in ``SORTIE/manifeste.json``; a rerun renders only the pages whose fingerprint changed or
   whose file is missing. A territory page therefore shows only what depends on its own values
   (goalposts make a score absolute; its bands come from the absolute-only Monte Carlo): ranks,
   distributions and roll-ups, which depend on every territory, are on the summary pages, which
   are rendered at every run (five pages). With a relative normalisation or an imputation the
   scores of a territory depend on all the others: the whole data file then enters each page's
   fingerprint.

Why direct HTML rather than MyST pages and one Jupyter Book build (measured here, on the shared
2-core machine, load average 6 to 9 at the time): a Jupyter Book build of 60 bare MyST pages
(a notice, two tables, no figure, no execution) took 36 s, about 0.6 s per page in one process
(``sphinx-build -j`` gives no parallel reading with this toolchain), so 1,255 pages would spend
some 12 minutes in Sphinx alone, before any figure, above the 10-minute goal, and put 1,255
entries in the book's sidebar. Rendered directly, the whole national run of the 1,255 EPCI
pages (engine, Monte Carlo, one seaborn figure and one Jinja2 template per page, two workers)
took 410 s under the same load, and a rerun with nothing changed renders nothing. Direct HTML
keeps the national site apart from the book, fast and self-contained: one small shared style
sheet, figures inline as SVG, no script and no external resource (it works offline, from the
file system).
"""

from __future__ import annotations

from observatoire.files import replace_with
from observatoire import paths
from observatoire.files import write_atomic
from observatoire.fingerprints import code_digest, digest_object, digest_path
import hashlib
import json
import os
import tempfile
import sys
import time
from concurrent.futures import ProcessPoolExecutor, as_completed
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from observatoire import __version__
from observatoire.report import demo
from observatoire.engine import levels
from observatoire.engine.catalogue import Catalogue, load_catalogue
from observatoire.engine.pipeline import Choices, Scores, compute_scores
from observatoire.engine.reference import FRANCE_CODE, Reference, load_reference, population_by_code
from observatoire.text import fr_number, fr_value
from observatoire.engine.uncertainty import ABSOLUTE_METHODS, RELATIVE_METHODS, Space, monte_carlo
from observatoire.report import maps

ROOT = paths.ROOT
PACKAGE = Path(__file__).resolve().parent
DEFAULT_OUTPUT = ROOT / "_build" / "national"
TEMPLATES = PACKAGE / "templates"
MANIFEST = "manifeste.json"
MANIFEST_FORMAT = 1
LEVELS = ("epci", "commune")
#: Monte Carlo draws by default: a commune run keeps ~35,000 territories × draws arrays.
DEFAULT_DRAWS = {"epci": 1000, "commune": 100}
DEFAULT_SEED = 20260101

LEVEL_TEXT = {
    "epci": {"singulier": "EPCI", "pluriel": "EPCI",
             "label": "Établissement public de coopération intercommunale (EPCI)"},
    "commune": {"singulier": "commune", "pluriel": "communes", "label": "Commune"},
}
SYNTHESIS_TITLES = {"epci": "Les EPCI", "departement": "Les départements", "region": "Les régions",
                    "france": "La France"}
INDICATOR_COLUMNS = ["Indicateur", "Axe", "Commun", "Période", "Valeur", "Unité", "Score (0-100)",
                     "Source prévue"]


@dataclass
class NationalReport:
    """What a national run did."""

    output: Path
    level: str
    data_file: Path
    territories: int
    rendered: int  # territory pages rendered by this run
    skipped: int  # territory pages whose inputs had not changed
    summaries: int  # summary pages (always rendered)
    seconds: float
    executor: str

    @property
    def throughput(self) -> float:
        """Territories per second over the whole run (engine included)."""
        return self.territories / self.seconds if self.seconds else float("nan")


# -- fingerprints ----------------------------------------------------------------------------

def territory_digests(values: pd.DataFrame) -> pd.Series:
    """Territory → SHA-256 of its rows of the data file (all columns but the line number; the
    order of the rows does not matter)."""
    columns = [c for c in values.columns if c != "ligne_source"]
    rows = values[columns].sort_values(["territoire", "indicateur", "periode"], kind="stable")
    hashed = pd.util.hash_pandas_object(rows, index=False).to_numpy()
    codes = rows["territoire"].to_numpy(dtype=object)
    starts = np.flatnonzero(np.r_[True, codes[1:] != codes[:-1]]) if len(codes) else np.array([], dtype=int)
    ends = np.r_[starts[1:], len(codes)]
    return pd.Series({codes[s]: hashlib.sha256(hashed[s:e].tobytes()).hexdigest() for s, e in zip(starts, ends)},
                     dtype=object)


def read_manifest(output: Path) -> dict[str, str]:
    try:
        content = json.loads((output / MANIFEST).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if content.get("format") != MANIFEST_FORMAT:
        return {}
    return dict(content.get("pages", {}))


def write_manifest(output: Path, pages: dict[str, str]) -> None:
    content = {"format": MANIFEST_FORMAT,
               "description": "Empreinte des entrées de chaque page de territoire (données du territoire, "
                              "catalogue, code du moteur, référence, gabarits, choix de calcul).",
               "pages": dict(sorted(pages.items()))}
    write_atomic(output / MANIFEST, json.dumps(content, ensure_ascii=False, indent=1) + "\n")


# -- executors -------------------------------------------------------------------------------

@contextmanager
def executor_for(processes: int | None = None, scheduler: str | None = None):
    """(executor, description): a Dask cluster's executor when ``scheduler`` is given, else a
    local process pool of ``processes`` workers (default: one per core)."""
    if scheduler:
        from distributed import Client

        client = Client(scheduler, set_as_default=False)
        try:
            yield client.get_executor(), f"Dask ({scheduler})"
        finally:
            client.close()
    else:
        import multiprocessing

        workers = processes or os.cpu_count() or 1
        # forkserver: workers do not inherit this process's threads (progress bar, Dask client).
        with ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("forkserver")) as ex:
            yield ex, f"{workers} processus locaux"


# -- the engine part -------------------------------------------------------------------------

def demo_data_file(output: Path, level: str, catalogue: Catalogue, reference: Reference,
                   seed: int = demo.DEFAULT_SEED) -> Path:
    """Write the national demonstration file of ``level`` into ``output/donnees/`` (atomically)."""
    from observatoire.engine.load import write_values_csv

    path = output / "donnees" / f"demonstration-{level}.csv"
    frame = demo.national_demo_data(catalogue, reference, level, seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=path.parent) as tmp:
        write_values_csv(frame, Path(tmp) / path.name)
        replace_with(Path(tmp) / path.name, path)
    return path


def level_codes(reference: Reference, level: str) -> pd.Index:
    table = reference.epci if level == "epci" else reference.communes
    return pd.Index(table["code"].to_numpy(dtype=object))


def spread_to_communes(raw: pd.DataFrame, catalogue: Catalogue, reference: Reference) -> pd.DataFrame:
    """EPCI × indicators → communes × indicators: each commune of an EPCI gets its EPCI's rate,
    and the share of its EPCI's count that its population is of the EPCI's."""
    members = reference.epci_communes
    members = members[members["epci"].isin(raw.index)]
    population = population_by_code(reference)
    share = (population.reindex(members["commune"]).to_numpy(dtype="float64")
             / population.reindex(members["epci"]).to_numpy(dtype="float64"))
    x = raw.reindex(members["epci"].to_numpy(dtype=object)).to_numpy(dtype="float64", copy=True)
    counts = (catalogue.indicators["agregation"].reindex(raw.columns) == levels.COUNT).to_numpy()
    x[:, counts] *= share[:, None]
    return pd.DataFrame(x, index=pd.Index(members["commune"].to_numpy(dtype=object)), columns=raw.columns)


def synthesis_levels(scores: Scores, level: str, catalogue: Catalogue, reference: Reference,
                     choices: Choices | None) -> dict[str, tuple[Scores, pd.Series]]:
    """Parent level → (its scores, mean coverage of its parents' population), by roll-up."""
    raw = scores.datasets["matrice_brute"]
    communes = raw if level == "commune" else spread_to_communes(raw, catalogue, reference)
    rolled = levels.roll_up_all(communes, catalogue, reference)
    snap = scores.datasets["instantane"]
    period = snap.groupby("indicateur")["periode"].agg(lambda s: s.mode().iat[0])
    population = population_by_code(reference)
    out = {}
    for parent in levels.PARENT_LEVELS:
        if parent == "epci" and level == "epci":
            continue
        values, coverage = rolled[parent]
        long = values.stack(future_stack=True).dropna().rename("valeur").reset_index()
        long.columns = ["territoire", "indicateur", "valeur"]
        if long.empty:
            continue
        long["periode"] = long["indicateur"].map(period)
        parent_scores = compute_scores(long, catalogue, choices,
                                       population.reindex(values.index).astype("float64"))
        out[parent] = (parent_scores, coverage.mean(axis=1))
    return out


def _choices_text(choices: Choices) -> str:
    parts = [f"normalisation « {choices.normalisation} »", f"moyenne « {choices.aggregation} »"]
    if choices.aggregation == "generalised":
        parts.append(f"puissance {fr_number(choices.power, 2)}")
    parts.append(f"couverture minimale {fr_number(100 * choices.min_coverage, 0)} %")
    if choices.imputation:
        parts.append(f"imputation « {choices.imputation} »")
    w = choices.weights
    parts.append("poids explicites" if (w.indicateurs or w.communs or w.axes) else "poids égaux")
    return ", ".join(parts)




def indicator_rows(scores: Scores) -> dict[str, list[list[str]]]:
    """Territory → rows of its indicator table (the columns of
    :meth:`observatoire.report.sheet.TerritorySheet.indicator_table`, formatted), computed at once."""
    cat = scores.catalogue
    meta = cat.indicators
    tidy = scores.tidy()
    rows = tidy[tidy["niveau"] == "indicateur"]
    element = rows["element"]
    table = pd.DataFrame({
        "territoire": rows["territoire"].to_numpy(),
        "Indicateur": rows["libelle"].to_numpy(),
        "Axe": element.map(meta["axe"]).astype(str).to_numpy(),
        "Commun": element.map(meta["commun"]).map(cat.commun_label).to_numpy(),
        "Période": rows["periode"].fillna("").astype(str).to_numpy(),
        "Valeur": [fr_value(v) for v in rows["valeur"].to_numpy(dtype="float64")],
        "Unité": element.map(meta["unite"]).to_numpy(),
        "Score (0-100)": [fr_number(v, 1) for v in rows["score"].round(1).to_numpy(dtype="float64")],
        "Source prévue": element.map(meta["source"]).str.split(",").str[0].to_numpy(),
    })
    return {code: group[INDICATOR_COLUMNS].values.tolist()
            for code, group in table.groupby("territoire", sort=False)}


def _float(x) -> float | None:
    x = float(x)
    return None if np.isnan(x) else x


@dataclass
class _Prepared:
    """Everything the pages need, computed by the engine in this process."""

    codes: list[str]
    contexts: dict[str, dict]  # territory → page context
    digests: dict[str, str]  # territory → fingerprint of its page's inputs
    summaries: list[dict]  # summary page tasks


def prepare(values: pd.DataFrame, level: str, catalogue: Catalogue, reference: Reference,
            choices: Choices | None, draws: int, seed: int, data_name: str, templates: Path,
            codes: list[str] | None = None) -> _Prepared:
    """Everything the pages show. ``codes``: the territories to show (default: those of
    ``values``); one without any value gets a page of its real facts, its indicators « à
    renseigner » and no score."""
    choices = choices or Choices()
    codes = sorted(codes if codes is not None else values["territoire"].unique())
    population = population_by_code(reference).reindex(codes).astype("float64")
    scores = compute_scores(values, catalogue, choices, population_by_code(reference).astype("float64"))
    scores = scores.covering(codes)
    own = monte_carlo(scores, draws, seed, Space(normalisations=ABSOLUTE_METHODS))
    band = own.index_quantiles()
    band_axes, band_communs = own.axis_quantiles(), own.commun_quantiles()
    del own
    everything = monte_carlo(scores, draws, seed)
    ranks, index_all = everything.rank_quantiles(), everything.index_quantiles()
    del everything

    text = LEVEL_TEXT[level]
    demo_codes = set(values.loc[values["source"] == demo.DEMO_SOURCE, "territoire"])
    is_demo = pd.Series([c in demo_codes for c in codes], index=codes, dtype=bool)
    departements = reference.departements.set_index("code")["nom"]
    regions = reference.regions.set_index("code")["nom"]
    if level == "epci":
        table = reference.epci.set_index("code")
        names, n_communes = table["nom"], table["nb_communes"]
    else:
        table = reference.communes.set_index("code")
        names, n_communes = table["nom"], pd.Series(1, index=table.index)
    dep_of, reg_of = table["departement"], table["region"]

    site = {"fichier": data_name, "version": __version__, "choix": _choices_text(choices),
            "tirages": draws, "niveau_pluriel": text["pluriel"]}
    # -- maps, peers and figure data (issue #18) ------------------------------------------------
    site.update(_figure_source(values, data_name, bool(is_demo.any())))
    similar = _similar(codes, level, reference, scores)
    backgrounds = {code: maps.site_background_name(code, reference) for code in codes}
    # -- end maps, peers and figure data ---------------------------------------------------------
    axis_labels = [catalogue.axis_label(a) for a in scores.axes.columns]
    commun_labels = [catalogue.commun_label(c) for c in scores.communs.columns]
    tables = indicator_rows(scores)
    axes, communs = scores.axes, scores.communs
    contexts = {}
    for code in codes:
        dep, reg = dep_of.get(code), reg_of.get(code)
        contexts[code] = {
            "racine": "../",
            "site": {**site, "demonstration": bool(is_demo[code])},
            "code": code, "nom": str(names[code]), "niveau_label": text["label"],
            "departement": f"{departements[dep]} ({dep})" if isinstance(dep, str) and dep in departements else None,
            "region": str(regions[reg]) if isinstance(reg, str) and reg in regions else None,
            "population": int(population[code]), "nb_communes": int(n_communes[code]),
            "indice": _float(scores.index[code]),
            "bande": {q: _float(band.at[code, q]) for q in ("q05", "q50", "q95")},
            "axes": [{"libelle": label, "score": _float(axes.at[code, a]),
                      "q05": _float(band_axes.at[(code, a), "q05"]), "q95": _float(band_axes.at[(code, a), "q95"])}
                     for a, label in zip(axes.columns, axis_labels)],
            "communs": [{"libelle": label, "score": _float(communs.at[code, c]),
                         "q05": _float(band_communs.at[(code, c), "q05"]),
                         "q95": _float(band_communs.at[(code, c), "q95"])}
                        for c, label in zip(communs.columns, commun_labels)],
            "renseignes": int(scores.indicators.loc[code].notna().sum()), "total": len(catalogue.indicators),
            "colonnes": INDICATOR_COLUMNS, "indicateurs": tables.get(code, []),
            # issue #18: structure, peers and locator map
            "structure": similar["structure"].get(code), "semblables": similar["peers"].get(code, []),
            "semblables_methode": similar["method"],
            "carte": f"cartes/{backgrounds[code]}" if backgrounds.get(code) else None,
        }

    # Fingerprints: the page's own rows + everything every page depends on.
    common = {
        "catalogue": digest_path(catalogue.directory, ("*.csv", "*.json")),
        "reference": digest_path(reference.source, ("*.csv", "*.json")),
        "moteur": code_digest(), "pages": digest_path(PACKAGE, ("*.py",)), "gabarits": digest_path(templates),
        "choix": asdict(choices), "tirages": draws, "graine": seed, "niveau": level, "fichier": data_name,
    }
    own_rows = territory_digests(values)
    if choices.normalisation in RELATIVE_METHODS or choices.imputation is not None:
        common["toutes_les_donnees"] = digest_object(own_rows.sort_index().tolist())  # scores depend on every territory
    common_digest = digest_object(common)
    # A page shows its peers' indices: their rows are inputs of the page (issue #18).
    digests = {code: digest_object([common_digest, own_rows.get(code, ""),
                                    *[own_rows.get(p["code"], "") for p in contexts[code]["semblables"]]])
               for code in codes}

    # Summary pages.
    summary_site = {**site, "demonstration": bool(is_demo.any()), "nb_territoires": len(codes)}
    synth = synthesis_levels(scores, level, catalogue, reference, choices)
    summaries = _summary_contexts(scores, codes, names, dep_of, departements, reg_of, regions, band, index_all,
                                  ranks, synth, summary_site, axis_labels, commun_labels, level)
    return _Prepared(codes, contexts, digests, summaries)


def _summary_contexts(scores, codes, names, dep_of, departements, reg_of, regions, band, index_all, ranks,
                      synth, site, axis_labels, commun_labels, level) -> list[dict]:
    index = scores.index.reindex(codes)
    base = {"racine": "", "site": site}
    france_scores, france_cov = synth.get("france", (None, None))
    if france_scores is not None and FRANCE_CODE in france_scores.index.index:
        france = {"indice": _float(france_scores.index[FRANCE_CODE]),
                  "couverture": 100 * float(france_cov[FRANCE_CODE]),
                  "axes": [_float(v) for v in france_scores.axes.loc[FRANCE_CODE].reindex(scores.axes.columns)],
                  "communs": [_float(v) for v in
                              france_scores.communs.loc[FRANCE_CODE].reindex(scores.communs.columns)]}
    else:
        france = {"indice": None, "couverture": 0.0, "axes": [None] * len(axis_labels),
                  "communs": [None] * len(commun_labels)}

    # Home: every territory, by région.
    by_region: dict[str, list] = {}
    for code in codes:
        reg = reg_of.get(code)
        by_region.setdefault(str(regions[reg]) if isinstance(reg, str) and reg in regions else "Hors région",
                             []).append({"code": code, "nom": str(names[code]), "indice": _float(index[code])})
    width = (band["q95"] - band["q05"]).reindex(codes)
    home = {**base, "france": france, "mediane": _float(index.median()),
            "carte_indice": {"niveau": level, "codes": [str(c) for c in index.index],
                             "valeurs": index.to_numpy(dtype="float64").tolist(),
                             "note": "Indice global avec les choix de référence."},
            "largeur_mediane": _float(width.median()),
            "regions": [{"nom": k, "territoires": sorted(v, key=lambda t: t["nom"])}
                        for k, v in sorted(by_region.items())]}

    # Ranking.
    order = ranks.reindex(codes).sort_values(["reference", "q50"], na_position="last").index
    lines = []
    for code in order:
        dep = dep_of.get(code)
        lines.append({"code": code, "nom": str(names[code]),
                      "departement": str(departements[dep]) if isinstance(dep, str) and dep in departements else "",
                      "rang": _float(ranks.at[code, "reference"]), "rang_q05": _float(ranks.at[code, "q05"]),
                      "rang_q95": _float(ranks.at[code, "q95"]), "indice": _float(index[code]),
                      "q05": _float(index_all.at[code, "q05"]), "q95": _float(index_all.at[code, "q95"])})
    rank_width = (ranks["q95"] - ranks["q05"]).median()
    ranked = ranks[["reference", "q05", "q50", "q95"]].dropna(subset=["reference"])
    ranking = {**base, "lignes": lines, "nb_territoires": len(codes),
               "largeur_rang_mediane": None if np.isnan(rank_width) else int(round(rank_width)),
               "rangs_figure": ranked.to_numpy().tolist(), "rangs_codes": [str(c) for c in ranked.index]}

    # Distributions.
    quant = index.quantile([0, 0.25, 0.5, 0.75, 1.0])
    table = []
    for label, series in [("Indice global", index)] + \
            [(lab, scores.axes[a]) for a, lab in zip(scores.axes.columns, axis_labels)] + \
            [(lab, scores.communs[c]) for c, lab in zip(scores.communs.columns, commun_labels)]:
        q = series.quantile([0.05, 0.25, 0.5, 0.75, 0.95])
        table.append({"element": label, **{k: _float(v) for k, v in zip(("q05", "q25", "q50", "q75", "q95"), q)},
                      "manquants": int(series.isna().sum())})
    distributions = {**base, "repere_nom": "la France", "repere_indice": france["indice"],
                     "niveau_pluriel": LEVEL_TEXT[level]["pluriel"],
                     "indices": index.to_numpy(dtype="float64").tolist(),
                     "indices_codes": [str(c) for c in index.index],
                     "quantiles": {"min": _float(quant[0]), "q25": _float(quant[0.25]), "q50": _float(quant[0.5]),
                                   "q75": _float(quant[0.75]), "max": _float(quant[1.0])},
                     "axes_libelles": axis_labels, "axes_repere": france["axes"],
                     "axes_distribution": scores.axes.to_numpy(dtype="float64").tolist(),
                     "communs_libelles": commun_labels, "communs_repere": france["communs"],
                     "communs_distribution": scores.communs.to_numpy(dtype="float64").tolist(),
                     "tableau": table}

    # Synthesis levels.
    level_rows = []
    heatmap = None
    for parent in ("france", "region", "departement", "epci"):
        if parent not in synth:
            continue
        parent_scores, coverage = synth[parent]
        rows = []
        for code in parent_scores.index.index:
            rows.append({"code": code, "nom": _parent_name(code, parent, departements, regions, names),
                         "indice": _float(parent_scores.index[code]),
                         "axes": [_float(v) for v in parent_scores.axes.loc[code].reindex(scores.axes.columns)],
                         "couverture": 100 * float(coverage[code])})
        level_rows.append({"code": parent, "titre": SYNTHESIS_TITLES[parent], "lignes": rows})
        if parent == "region" and len(rows):
            c = parent_scores.communs.reindex(columns=scores.communs.columns)
            heatmap = {"valeurs": c.to_numpy(dtype="float64").tolist(), "lignes": [r["nom"] for r in rows],
                       "colonnes": commun_labels}
    method = ("de la commune à l'EPCI, au département, à la région et à la France"
              if level == "commune" else
              "au département, à la région et à la France (la valeur d'un EPCI vaut pour chacune de ses "
              "communes : les taux tels quels, les comptes au prorata de la population)")
    method += " — moyenne pondérée par la population pour les taux, somme pour les comptes —"
    niveaux = {**base, "niveaux": level_rows, "axes": axis_labels, "methode": method, "regions_carte": heatmap}

    return [{"kind": "accueil", "path": "index.html", "context": home},
            {"kind": "classement", "path": "classement.html", "context": ranking},
            {"kind": "distributions", "path": "distributions.html", "context": distributions},
            {"kind": "niveaux", "path": "niveaux.html", "context": niveaux}]


def _parent_name(code: str, parent: str, departements, regions, epci_names) -> str:
    if parent == "france":
        return "France"
    if parent == "departement":
        return str(departements.get(code.removeprefix("DEP-"), code))
    if parent == "region":
        return str(regions.get(code.removeprefix("REG-"), code))
    return str(epci_names.get(code, code)) if parent == "epci" else code


# -- the run ---------------------------------------------------------------------------------

def page_path(code: str) -> str:
    return f"territoires/{code}.html"


def run_national(data_path: str | os.PathLike | None = None, level: str = "epci",
                 output: str | os.PathLike = DEFAULT_OUTPUT, processes: int | None = None,
                 scheduler: str | None = None, limit: int | None = None, choices: Choices | None = None,
                 draws: int | None = None, seed: int = DEFAULT_SEED, executor=None,
                 templates: str | os.PathLike = TEMPLATES, catalogue: Catalogue | None = None,
                 reference: Reference | None = None, progress: bool = True) -> NationalReport:
    """Score every territory of ``level`` in the data file and write the national site.

    Without ``data_path``, the pages show the real data the project holds (the pilots' public
    statistics; the COG structure and population of every territory) and « à renseigner » for
    the rest: one page per territory of the level. Synthetic national files
    (:func:`demo_data_file`) are for benchmarks and tests only; pages built from them carry a
    « DÉMONSTRATION — valeurs fictives » banner and are never published.
    ``executor``: an executor to use instead of making one (it is not shut down).
    Raises :class:`~observatoire.errors.ValidationError` on an invalid file (nothing written) and
    :class:`ValueError` (French message) on an unusable option.
    """
    from observatoire.national.pages import STATIC_FILES, render_page
    from observatoire.engine.validate import validate_file

    start = time.perf_counter()
    if level not in LEVELS:
        raise ValueError(f"niveau inconnu : « {level} » (attendu : {', '.join(LEVELS)})")
    if limit is not None and limit < 1:
        raise ValueError("--limite attend un nombre de territoires positif")
    catalogue = catalogue or load_catalogue()
    reference = reference or load_reference()
    output, templates = Path(output), Path(templates)
    draws = DEFAULT_DRAWS[level] if draws is None else int(draws)
    every_territory = data_path is None
    if every_territory:  # the real data the project holds: every territory of the level is shown
        data_path = paths.DEFAULT_DATA
    data = validate_file(data_path, catalogue, reference)  # raises before anything is written
    values = data.values
    wanted = level_codes(reference, level)
    present = values["territoire"].isin(wanted)
    codes = sorted(wanted) if every_territory else sorted(values.loc[present, "territoire"].unique())
    if not codes:
        raise ValueError(f"le fichier {data_path} n'a aucune valeur pour un territoire de niveau « {level} » "
                         f"({LEVEL_TEXT[level]['pluriel']})")
    if limit is not None:
        codes = codes[:limit]
    values = values[values["territoire"].isin(codes)]
    prepared = prepare(values, level, catalogue, reference, choices, draws, seed, Path(data_path).name, templates,
                       codes)

    output.mkdir(parents=True, exist_ok=True)
    manifest = read_manifest(output)
    # Pages of territories no longer in the run are removed (the site is the current run).
    current = {page_path(c) for c in prepared.codes}
    for stale in [p for p in manifest if p not in current]:
        (output / stale).unlink(missing_ok=True)
        del manifest[stale]
    todo = [c for c in prepared.codes
            if manifest.get(page_path(c)) != prepared.digests[c] or not (output / page_path(c)).is_file()]
    # Summary pages first: they are the longest tasks, and would otherwise finish the run alone.
    tasks = [{**t, "templates": str(templates)} for t in prepared.summaries]
    tasks += [{"kind": "territoire", "path": page_path(c), "context": prepared.contexts[c],
               "templates": str(templates), "code": c} for c in todo]
    for name in STATIC_FILES:
        write_atomic(output / name, (templates / name).read_bytes())
    _write_backgrounds(output, prepared)  # issue #18: one locator background per région

    from tqdm import tqdm

    description = "aucun exécuteur (rien à rendre)"
    with (_given(executor) if executor is not None else executor_for(processes, scheduler)) as (ex, description):
        bar = tqdm(total=len(tasks), desc="Pages nationales", unit="page", file=sys.stderr, disable=not progress)
        futures = {ex.submit(render_page, task): task for task in tasks}
        last_flush = time.monotonic()
        try:
            for future in as_completed(futures):
                task = futures[future]
                path, text, files = future.result()
                for name, content in files.items():  # the figures' data (and map images), beside the page
                    write_atomic(output / name, content)
                write_atomic(output / path, text)
                if task["kind"] == "territoire":
                    manifest[path] = prepared.digests[task["code"]]
                bar.update(1)
                if time.monotonic() - last_flush > 2.0:  # an interrupted run keeps what it did
                    write_manifest(output, manifest)
                    last_flush = time.monotonic()
        finally:
            for future in futures:
                future.cancel()
            write_manifest(output, manifest)
            bar.close()
    return NationalReport(output=output, level=level, data_file=Path(data_path), territories=len(prepared.codes),
                          rendered=len(todo), skipped=len(prepared.codes) - len(todo),
                          summaries=len(prepared.summaries), seconds=time.perf_counter() - start,
                          executor=description)


@contextmanager
def _given(executor):
    yield executor, type(executor).__name__


# -- maps, peers and figure data (issue #18) -------------------------------------------------

def _figure_source(values: pd.DataFrame, data_name: str, demonstration: bool) -> dict:
    """Source and millésime written with every figure's data."""
    years = values["periode"].astype(str).str[:4]
    years = years[years.str.fullmatch(r"\d{4}")]
    millesime = f"{years.min()}-{years.max()}" if len(years) and years.min() != years.max() else \
        (years.max() if len(years) else "non précisé")
    if demonstration:
        source = ("données de démonstration tirées par le générateur à graine fixe de l'Observatoire (elles ne "
                  "décrivent pas les territoires), calculs de l'Observatoire")
    else:
        source = f"fichier « {data_name} » et ses sources déclarées, calculs de l'Observatoire"
    return {"source_donnees": source, "millesime": millesime}


def _similar(codes: list[str], level: str, reference: Reference, scores: Scores) -> dict:
    """Structure of each territory and its nearest structural peers (observatoire.engine.peers)."""
    from observatoire.engine import peers

    table = peers.structural_table(level, reference)
    found = peers.all_peers(level, codes=codes, reference=reference)
    in_run = set(codes)
    index = scores.index

    def row(code: str) -> dict:
        r = table.loc[code]
        return {"code": code, "nom": str(r["nom"]), "population": int(r["population"]),
                "superficie": _float(r["superficie_km2"]), "densite": _float(r["densite"]),
                "nb_communes": int(r["nb_communes"]), "part": _float(100 * r["part_commune_principale"])}

    structure = {code: row(code) for code in codes if code in table.index}
    result = {code: [{**row(p), "distance": d, "page": p in in_run,
                      "indice": _float(index[p]) if p in in_run and p in index.index else None}
                     for p, d in found.get(code, [])] for code in codes}
    summary = peers.method_summary(level, reference)
    method = (f"les {summary['k']} {LEVEL_TEXT[level]['pluriel']} les plus proches parmi "
              f"{fr_number(summary['territoires'], 0)} par la distance euclidienne entre variables "
              f"centrées réduites : {', '.join(summary['variables'])} (logarithme pour les grandeurs, "
              f"la part telle quelle)")
    return {"structure": structure, "peers": result, "method": method}


def _write_backgrounds(output: Path, prepared: "_Prepared") -> None:
    names = {c["carte"] for c in prepared.contexts.values() if c.get("carte")}
    for name in sorted(names):
        region = name.removeprefix("cartes/situation-region-").removesuffix(".svg")
        write_atomic(output / name, maps.site_background(region))
