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

from observatoire.report import figures  # noqa: E402
from observatoire.report.html import environment  # noqa: E402

TEMPLATES = Path(__file__).resolve().parent / "templates"
#: Files of the site that are copied as they are (shared style sheet).
STATIC_FILES = ("style.css",)
KINDS = ("territoire", "accueil", "classement", "distributions", "niveaux")


def render_page(task: dict) -> tuple[str, str]:
    """(relative path, page text) of one page. ``task``: ``kind`` (one of :data:`KINDS`),
    ``path``, ``context`` and ``templates`` (the folder of the templates)."""
    kind, context = task["kind"], dict(task["context"])
    if kind not in KINDS:
        raise ValueError(f"type de page inconnu : « {kind} »")
    context["figures"] = _FIGURES[kind](context)
    template = environment(str(task["templates"])).get_template(f"{kind}.html")
    return task["path"], template.render(**context)


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


def _territory_figures(c: dict) -> dict:
    communs = pd.Series([r["score"] for r in c["communs"]], index=[r["libelle"] for r in c["communs"]],
                        dtype="float64")
    # One figure per page: drawing is most of a page's cost (the axes are in a table).
    return {"communs": svg(figures.profile_by_commun(communs),
                           "Barres horizontales : score du territoire pour chacun des communs, de 0 à 100.")}


def rank_intervals_figure(ranks: pd.DataFrame, n: int):
    """Every territory's rank interval (5–95 % of the draws), territories ordered by their
    reference rank: a vertical segment each, the median as a dot."""
    figures._style()
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
    return {"rangs": svg(rank_intervals_figure(ranks, c["nb_territoires"]),
                         "Nuage de segments : pour chaque territoire, l'intervalle de son rang sous "
                         "les tirages du Monte-Carlo, les territoires étant rangés par rang de référence.")}


def histogram_figure(values: np.ndarray, marks: dict[str, float], xlabel: str):
    figures._style()
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
    out = {"indice": svg(histogram_figure(index, marks, "Indice global (0-100)"),
                         "Histogramme de l'indice global des territoires.")}
    band = f"{c['niveau_pluriel']} (boîte : quartiles ; moustaches : 5 à 95 %)"
    for key, label in (("axes", "axes de l'enquête"), ("communs", "communs")):
        dist = pd.DataFrame(c[f"{key}_distribution"], columns=c[f"{key}_libelles"], dtype="float64")
        marker = pd.DataFrame([c[f"{key}_repere"]], columns=c[f"{key}_libelles"], index=[c["repere_nom"]],
                              dtype="float64")
        out[key] = svg(figures.against_distribution(dist, marker, band=band),
                       f"Boîtes à moustaches : distribution des scores des territoires pour chacun des {label}.")
    return out


def _levels_figures(c: dict) -> dict:
    out = {}
    if c["regions_carte"]:
        table = pd.DataFrame(c["regions_carte"]["valeurs"], index=c["regions_carte"]["lignes"],
                             columns=c["regions_carte"]["colonnes"], dtype="float64")
        out["regions"] = svg(figures.scores_heatmap(table),
                             "Carte de chaleur : scores de chaque région (lignes) pour chacun des communs (colonnes).")
    return out


_FIGURES = {
    "territoire": _territory_figures,
    "accueil": lambda c: {},
    "classement": _ranking_figures,
    "distributions": _distribution_figures,
    "niveaux": _levels_figures,
}
