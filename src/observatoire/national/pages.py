"""The worker side of the national run (:mod:`observatoire.national.site`): one page from its context.

:func:`render_page` takes a page's context — plain Python values the engine computed in the
main process (scores, intervals, the indicator table…) — draws its figures with matplotlib and
seaborn (Agg backend, inline SVG) and fills its Jinja2 template (HTML, autoescaped: every text
from the data or the reference, a territory name for instance, is escaped). It returns the
page's text and writes nothing: the client writes the files, so that a Dask worker on another
machine needs no access to the output folder, and so that every write is atomic in one place.

Same context → same bytes (SVG ids salted with a constant, no date in the figures): a page made
by the local process pool and by a Dask cluster are identical.
"""

from __future__ import annotations

import io
import re
from html import escape
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from dataclasses import replace  # noqa: E402

from observatoire.report import figures  # noqa: E402
from observatoire.report.figure_data import FigureData  # noqa: E402
from observatoire.report.html import environment  # noqa: E402

TEMPLATES = Path(__file__).resolve().parent / "templates"
#: Files of the site that are copied as they are (shared style sheet).
STATIC_FILES = ("style.css",)
KINDS = ("territoire", "accueil", "classement", "distributions", "niveaux")


def render_page(task: dict) -> tuple[str, str, dict[str, bytes]]:
    """(relative path, page text, files) of one page. ``task``: ``kind`` (one of :data:`KINDS`),
    ``path``, ``context`` and ``templates`` (the folder of the templates). ``files``: relative
    path → bytes of the files that go with the page (each figure's CSV and JSON, beside it)."""
    from markupsafe import Markup

    kind, context = task["kind"], dict(task["context"])
    if kind not in KINDS:
        raise ValueError(f"type de page inconnu : « {kind} »")
    drawn = _FIGURES[kind](context)
    folder, stem = _folder_and_stem(task["path"])
    context["figures"], context["donnees"], files = {}, {}, {}
    for name, (markup, data, *extra) in drawn.items():
        if extra:  # files of the figure itself (a map's image)
            files.update({folder + file_name: content for file_name, content in extra[0].items()})
        context["figures"][name] = markup
        data = replace(data, name=f"{stem}-{name}")
        for file_name, content in data.files().items():
            files[folder + file_name] = content
        context["donnees"][name] = Markup(data.links(""))
    template = environment(str(task["templates"])).get_template(f"{kind}.html")
    return task["path"], template.render(**context), files


def _folder_and_stem(path: str) -> tuple[str, str]:
    folder, _, name = path.rpartition("/")
    return (folder + "/" if folder else ""), name.removesuffix(".html")


# -- figures -----------------------------------------------------------------------------------

_SVG_START = re.compile(r"^.*?(?=<svg)", re.S)
_SVG_METADATA = re.compile(r"\s*<metadata>.*?</metadata>", re.S)


def svg(fig, label: str) -> str:
    """Inline SVG markup of ``fig`` (closed afterwards), labelled for screen readers."""
    from markupsafe import Markup

    plt.rcParams["svg.hashsalt"] = "observatoire-national"
    plt.rcParams["svg.fonttype"] = "none"  # text stays text: small, searchable, accessible
    buffer = io.StringIO()
    fig.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None})
    plt.close(fig)
    text = _SVG_START.sub("", buffer.getvalue(), count=1)
    text = _SVG_METADATA.sub("", text, count=1)
    text = text.replace("<svg ", f'<svg role="img" aria-label="{escape(label)}" ', 1)
    return Markup(text)


def _data(c: dict, title: str, table: pd.DataFrame, units: dict, description: str = "") -> FigureData:
    """The numbers of a figure of the site, with the run's source and millésime."""
    site = c["site"]
    return FigureData("figure", title, table, source=site["source_donnees"], millesime=site["millesime"],
                      units=units, description=description)


def _territory_figures(c: dict) -> dict:
    communs = pd.Series([r["score"] for r in c["communs"]], index=[r["libelle"] for r in c["communs"]],
                        dtype="float64")
    table = pd.DataFrame({"commun": communs.index, "score": communs.to_numpy(),
                          "q05": [r["q05"] for r in c["communs"]], "q95": [r["q95"] for r in c["communs"]]})
    units = {"score": "score 0-100", "q05": "score 0-100", "q95": "score 0-100"}
    # One drawn figure per page: drawing is most of a page's cost (the axes are in a table).
    out = {"communs": (svg(figures.profile_by_commun(communs),
                           "Barres horizontales : score du territoire pour chacun des communs, de 0 à 100."),
                       _data(c, f"Scores par commun de {c['nom']}", table, units,
                             "Score de chaque commun avec les choix de référence (barres) et son intervalle "
                             "5-95 % sous les tirages (q05, q95)."))}
    if c.get("carte"):
        from markupsafe import Markup

        from observatoire.report import maps

        situation = maps.site_locator(c["code"], c["racine"] + c["carte"])
        out["situation"] = (Markup(situation.image_html()), situation.data)
    return out


def rank_intervals_figure(ranks: pd.DataFrame, n: int):
    """Every territory's rank interval (5–95 % of the draws), territories ordered by their
    reference rank: a vertical segment each, the median as a dot."""
    figures.style()
    colours = figures.sns.color_palette(figures.PALETTE, 2)
    data = ranks.sort_values("reference")
    x = np.arange(1, len(data) + 1)
    fig, ax = plt.subplots(figsize=(7.5, 3.6))
    ax.vlines(x, data["q05"], data["q95"], color=colours[0], alpha=0.45, linewidth=max(0.4, min(3.0, 400 / n)),
              label="intervalle 5-95 % des tirages")
    ax.scatter(x, data["q50"], s=max(1.0, min(16.0, 2000 / n)), color=colours[1], zorder=3, linewidths=0,
               label="rang médian")
    ax.set_xlim(0, len(data) + 1)
    ax.set_ylim(n + 1, 0)
    ax.set_xlabel("Territoires, du premier au dernier rang avec les choix de référence")
    ax.set_ylabel("Rang (1 = indice le plus élevé)")
    ax.legend(loc="lower left", fontsize=8, frameon=False)
    fig.tight_layout()
    return fig


def _ranking_figures(c: dict) -> dict:
    ranks = pd.DataFrame(c["rangs_figure"], columns=["reference", "q05", "q50", "q95"])
    table = ranks.assign(code=c["rangs_codes"])[["code", "reference", "q05", "q50", "q95"]]
    return {"rangs": (svg(rank_intervals_figure(ranks, c["nb_territoires"]),
                          "Nuage de segments : pour chaque territoire, l'intervalle de son rang sous "
                          "les tirages du Monte-Carlo, les territoires étant rangés par rang de référence."),
                      _data(c, "Intervalle du rang de chaque territoire", table,
                            {k: "rang" for k in ("reference", "q05", "q50", "q95")},
                            "Rang avec les choix de référence et quantiles 5 %, 50 % et 95 % des rangs "
                            "sous les tirages."))}


def histogram_figure(values: np.ndarray, marks: dict[str, float], xlabel: str):
    figures.style()
    colours = figures.sns.color_palette(figures.PALETTE, len(marks) + 1)
    fig, ax = plt.subplots(figsize=(7, 3.2))
    finite = values[np.isfinite(values)]
    ax.hist(finite, bins=min(40, max(5, len(finite) // 10)), color=colours[0], alpha=0.75)
    for k, (name, value) in enumerate(marks.items()):
        if value is not None and np.isfinite(value):
            ax.axvline(value, color=colours[k + 1], linewidth=2, linestyle="--", label=name)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("Nombre de territoires")
    if marks:
        ax.legend(fontsize=8, frameon=False)
    fig.tight_layout()
    return fig


def _distribution_figures(c: dict) -> dict:
    index = np.asarray(c["indices"], dtype="float64")
    marks = {c["repere_nom"]: c["repere_indice"]} if c["repere_indice"] is not None else {}
    codes = list(c["indices_codes"])
    table = pd.DataFrame({"code": codes + ["FR"], "indice": list(index) + [c["repere_indice"]]}, dtype=object)
    table["indice"] = table["indice"].astype("float64")
    out = {"indice": (svg(histogram_figure(index, marks, "Indice global (0-100)"),
                          "Histogramme de l'indice global des territoires."),
                      _data(c, "Indice global des territoires", table, {"indice": "score 0-100"},
                            "Indice de chaque territoire (histogramme) ; la ligne FR est le repère de la France."))}
    band = f"{c['niveau_pluriel']} (boîte : quartiles ; moustaches : 5 à 95 %)"
    for key, label in (("axes", "axes de l'enquête"), ("communs", "communs")):
        dist = pd.DataFrame(c[f"{key}_distribution"], columns=c[f"{key}_libelles"], dtype="float64")
        marker = pd.DataFrame([c[f"{key}_repere"]], columns=c[f"{key}_libelles"], index=[c["repere_nom"]],
                              dtype="float64")
        table = pd.concat([dist.assign(code=codes), marker.assign(code=["FR"])], ignore_index=True)
        table = table[["code", *dist.columns]]
        out[key] = (svg(figures.against_distribution(dist, marker, band=band),
                        f"Boîtes à moustaches : distribution des scores des territoires pour chacun des {label}."),
                    _data(c, f"Scores des territoires par {'axe' if key == 'axes' else 'commun'}", table,
                          {col: "score 0-100" for col in dist.columns},
                          "Score de chaque territoire (boîtes à moustaches) ; la ligne FR est le repère de la France."))
    return out


def _levels_figures(c: dict) -> dict:
    out = {}
    if c["regions_carte"]:
        table = pd.DataFrame(c["regions_carte"]["valeurs"], index=c["regions_carte"]["lignes"],
                             columns=c["regions_carte"]["colonnes"], dtype="float64")
        out["regions"] = (svg(figures.scores_heatmap(table),
                              "Carte de chaleur : scores de chaque région (lignes) pour chacun des communs (colonnes)."),
                          _data(c, "Scores des régions par commun", table.rename_axis("region"),
                                {col: "score 0-100" for col in table.columns},
                                "Score de chaque région (par agrégation des territoires) pour chaque commun."))
    return out


def _home_figures(c: dict) -> dict:
    if not c.get("carte_indice"):
        return {}
    from markupsafe import Markup

    from observatoire.report import maps

    m = c["carte_indice"]
    values = pd.Series(m["valeurs"], index=m["codes"], dtype="float64")
    if not np.isfinite(values.to_numpy()).any():  # no territory scored: no map of nothing
        return {}
    site = c["site"]
    carte = maps.choropleth(values, m["niveau"], f"Indice global des {site['niveau_pluriel']}",
                            unit="score 0-100", source=site["source_donnees"], millesime=site["millesime"],
                            name="carte", note=m["note"])
    image = "index-carte.png"
    return {"carte": (Markup(carte.image_html(image)), carte.data, {image: carte.image})}


_FIGURES = {
    "territoire": _territory_figures,
    "accueil": _home_figures,
    "classement": _ranking_figures,
    "distributions": _distribution_figures,
    "niveaux": _levels_figures,
}
