"""Figures of the book, drawn with seaborn in a colour-blind-safe palette.

Shared by every notebook (territory chapters, comparison, Campus) and the national site, so that
a figure looks the same wherever it appears. Readable in the book's column (about 750 px):
labels of at least 9 points, numbers on the axes in French (« 1 234,5 », decimal comma,
narrow no-break space between thousands, « − » for negatives) and months as « janv. 2025 »,
all through :mod:`observatoire.text`.
"""

from __future__ import annotations

import matplotlib.dates as mdates
import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns
from matplotlib.ticker import Formatter

from observatoire.text import fr_month, fr_number

PALETTE = "colorblind"
#: Font sizes (points) of the book's figures: nothing smaller than SMALL.
SMALL, NORMAL, TITLE = 9, 10, 11


def style() -> None:
    """The book's look: white grid, colour-blind-safe palette, legible sizes."""
    sns.set_theme(style="whitegrid", palette=PALETTE, rc={
        "font.size": NORMAL, "axes.titlesize": TITLE, "axes.labelsize": NORMAL, "xtick.labelsize": SMALL,
        "ytick.labelsize": SMALL, "legend.fontsize": SMALL, "legend.title_fontsize": SMALL,
        "axes.unicode_minus": True})


class FrenchNumberFormatter(Formatter):
    """Tick labels in French: as many decimals as the ticks need to be told apart exactly
    (« 0 », « 0,5 », « 1 », « 1,5 »; « 1 000 », « 2 000 »)."""

    def __init__(self, most: int = 6):
        self.most = most
        self.decimals = 0

    def set_locs(self, locs):
        super().set_locs(locs)
        finite = [float(v) for v in locs if pd.notna(v)]
        self.decimals = next((d for d in range(self.most + 1)
                              if all(abs(round(v, d) - v) < 1e-9 * max(1.0, abs(v)) for v in finite)), self.most)

    def __call__(self, x, pos=None):
        return fr_number(x, self.decimals, typographic_minus=True)

    def format_data_short(self, value):
        return fr_number(value, max(self.decimals, 2), typographic_minus=True)


class FrenchMonthFormatter(Formatter):
    """Date ticks as French months: « janv. 2025 » (or « janv. » without the year)."""

    def __init__(self, year: bool = True):
        self.year = year

    def __call__(self, x, pos=None):
        label = fr_month(mdates.num2date(x), short=True)
        return label if self.year else label.rsplit(" ", 1)[0]


class YearFormatter(Formatter):
    """Years as they are written: « 2025 », never « 2 025 »."""

    def __call__(self, x, pos=None):
        return f"{x:.0f}"


def french_axes(ax, x: bool = True, y: bool = True) -> None:
    """French numbers on the numeric axes of ``ax`` that still have matplotlib's default number
    formatter (axes of categories, dates, years or fixed labels are left as they are)."""
    from matplotlib.ticker import ScalarFormatter

    for wanted, axis in ((x, ax.xaxis), (y, ax.yaxis)):
        if wanted and type(axis.get_major_formatter()) is ScalarFormatter:
            axis.set_major_formatter(FrenchNumberFormatter())


def _finish(fig):
    """French numbers on every numeric axis of the figure, then a tight layout."""
    for ax in fig.axes:
        french_axes(ax)
    fig.tight_layout()
    return fig


def profile_by_commun(communs: pd.Series, title: str | None = None):
    """Horizontal bars of the commun scores (0–100), missing communs shown as such."""
    style()
    data = communs.sort_values(ascending=True, na_position="first")
    fig, ax = plt.subplots(figsize=(7, 0.38 * len(data) + 1.2))
    colours = sns.color_palette(PALETTE, 4)
    bar_colours = [colours[2] if v >= 60 else colours[1] if v >= 40 else colours[3] for v in data.fillna(0)]
    ax.barh(data.index, data.fillna(0), color=bar_colours)
    for y, v in enumerate(data):
        ax.text((0 if pd.isna(v) else v) + 1, y, fr_number(v, 0), va="center", fontsize=SMALL)
    ax.set_xlim(0, 105)
    ax.set_xlabel("Score de résilience (0 = borne défavorable, 100 = borne favorable)")
    ax.set_ylabel("")
    if title:
        ax.set_title(title)
    return _finish(fig)


def scores_by_axis(axes: pd.Series):
    style()
    fig, ax = plt.subplots(figsize=(7, 2.6))
    sns.barplot(x=axes.values, y=[_wrap(a) for a in axes.index], hue=[_wrap(a) for a in axes.index],
                palette=PALETTE, legend=False, ax=ax, orient="h")
    ax.set_xlim(0, 100)
    ax.set_xlabel("Score (0-100)")
    ax.set_ylabel("")
    return _finish(fig)


def monthly_series(series: pd.DataFrame, labels: pd.Series, units: pd.Series, limit: int | None = None,
                   columns: int = 2):
    """Small multiples of every monthly indicator of a territory (``limit`` to draw fewer), two
    per row, in catalogue order of appearance; months in French on a shared time axis."""
    style()
    monthly = series[series["periode"].astype(str).str.fullmatch(r"\d{4}-\d{2}")]
    indicators = list(dict.fromkeys(monthly["indicateur"]))[:limit] or [None]
    ncols = min(columns, len(indicators))
    nrows = -(-len(indicators) // ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(7.5 if ncols > 1 else 5.0, 2.5 * nrows + 0.3), squeeze=False,
                             sharex=True)
    for ax in axes.flat[len(indicators):]:
        ax.set_visible(False)
    colours = sns.color_palette(PALETTE, 1)
    for ax, ind in zip(axes.flat, indicators):
        if ind is None:
            ax.text(0.5, 0.5, "Aucun indicateur mensuel", ha="center", va="center")
            ax.set_axis_off()
            continue
        d = monthly[monthly["indicateur"] == ind].sort_values("periode")
        when = pd.PeriodIndex(d["periode"], freq="M").to_timestamp()
        ax.plot(when, d["valeur"].to_numpy(dtype="float64"), marker="o", markersize=3, linewidth=1.4,
                color=colours[0])
        ax.set_title(_wrap(labels[ind], 40), fontsize=NORMAL)
        ax.set_xlabel("")
        ax.set_ylabel(_wrap(units[ind], 22), fontsize=SMALL)
        # January with its year (« janv. 2025 »), July as a month alone: the labels never touch.
        ax.xaxis.set_major_locator(mdates.MonthLocator(bymonth=1))
        ax.xaxis.set_major_formatter(FrenchMonthFormatter())
        ax.xaxis.set_minor_locator(mdates.MonthLocator(bymonth=7))
        ax.xaxis.set_minor_formatter(FrenchMonthFormatter(year=False))
        ax.tick_params(axis="x", which="both", labelbottom=True, labelsize=SMALL)
        ax.grid(True, which="minor", axis="x", linewidth=0.5, alpha=0.5)
    return _finish(fig)


def _wrap(text: str, width: int = 34) -> str:
    import textwrap

    return "\n".join(textwrap.wrap(str(text), width))


def cube_coverage_heatmap(coverage: pd.DataFrame):
    """Indicators per actor × spatial scale × time scale cell, one panel per actor."""
    style()
    actors = list(dict.fromkeys(coverage["acteur"]))
    fig, axes = plt.subplots(1, len(actors), figsize=(3.4 * len(actors), 3.0), sharey=True)
    vmax = coverage["indicateurs"].max()
    for ax, actor in zip(axes, actors):
        grid = (coverage[coverage["acteur"] == actor]
                .pivot(index="echelle_spatiale", columns="echelle_temporelle", values="indicateurs"))
        grid = grid.reindex(index=list(dict.fromkeys(coverage["echelle_spatiale"])),
                            columns=list(dict.fromkeys(coverage["echelle_temporelle"])))
        sns.heatmap(grid, annot=True, fmt="d", cmap="cividis", vmin=0, vmax=vmax, cbar=False,
                    linewidths=0.5, ax=ax)
        ax.set_title(actor.capitalize())
        ax.set_xlabel("échelle temporelle")
        ax.set_ylabel("échelle spatiale" if ax is axes[0] else "")
    return _finish(fig)


def index_intervals(quantiles: pd.DataFrame, labels: dict | None = None, band: str = "intervalle 5-95 %"):
    """Each territory's overall index under the Monte Carlo of the choices: the band between
    the ``q05`` and ``q95`` columns, the median ``q50`` and, if given, the ``reference`` value."""
    import numpy as np

    style()
    data = quantiles.sort_values("q50")
    names = [_wrap((labels or {}).get(code, code), 30) for code in data.index]
    colours = sns.color_palette(PALETTE, 3)
    fig, ax = plt.subplots(figsize=(7, 0.6 * len(data) + 1.6))
    y = np.arange(len(data))
    ax.hlines(y, data["q05"], data["q95"], color=colours[0], linewidth=7, alpha=0.4, label=band)
    ax.scatter(data["q50"], y, color=colours[0], s=36, zorder=3, label="médiane des tirages")
    if "reference" in data:
        ax.scatter(data["reference"], y, marker="D", color=colours[1], s=30, zorder=4,
                   label="choix de référence")
    ax.set_yticks(y, names)
    ax.set_ylim(-0.6, len(data) - 0.4)
    ax.set_xlim(0, 100)
    ax.set_xlabel("Indice global (0 = borne défavorable, 100 = borne favorable)")
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.22), ncol=3, frameon=False, fontsize=SMALL)
    return _finish(fig)


def sensitivity_indices(indices: pd.DataFrame, labels: dict | None = None, factors: dict | None = None):
    """Grouped bars of first-order sensitivity indices: one group per row of ``indices``
    (territories, and e.g. their mean), one bar per column (factor)."""
    style()
    long = indices.rename(index=lambda c: _wrap((labels or {}).get(c, c), 30),
                          columns=lambda f: (factors or {}).get(f, f))
    long = long.rename_axis(index="territoire", columns="choix").stack().rename("indice").reset_index()
    fig, ax = plt.subplots(figsize=(7, 0.75 * len(indices) + 1.6))
    sns.barplot(data=long, y="territoire", x="indice", hue="choix", palette=PALETTE, orient="h", ax=ax)
    ax.set_xlim(min(0.0, float(long["indice"].min())) - 0.02, 1.0)
    ax.axvline(0, color="0.3", linewidth=0.8)
    ax.set_xlabel("Indice de sensibilité du premier ordre (part de la variance de l'indice global)")
    ax.set_ylabel("")
    ax.legend(title="", loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=3, frameon=False, fontsize=SMALL)
    return _finish(fig)


# -- Territories side by side (book/territoires/comparaison.md) -------------------------------

#: One marker per territory, so that a territory is told apart by shape as well as colour.
MARKERS = ("o", "s", "D", "^", "v", "P", "X", "*")


def scores_heatmap(table: pd.DataFrame, xlabel: str = ""):
    """Scores (0–100) of territories (rows) × elements (columns), annotated; empty cell = missing."""
    style()
    data = table.rename(index=lambda s: _wrap(s, 24), columns=lambda s: _wrap(s, 16))
    fig, ax = plt.subplots(figsize=(min(0.45 * data.shape[1] + 2.8, 8.0), 0.5 * data.shape[0] + 2.0))
    sns.heatmap(data, annot=True, fmt=".0f", cmap="cividis", vmin=0, vmax=100, linewidths=0.5,
                annot_kws={"fontsize": SMALL}, cbar_kws={"label": "score (0-100)", "shrink": 0.8}, ax=ax)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("")
    ax.tick_params(axis="x", labelrotation=45, labelsize=SMALL)
    ax.tick_params(axis="y", labelrotation=0, labelsize=SMALL)
    for label in ax.get_xticklabels():
        label.set_horizontalalignment("right")
        label.set_rotation_mode("anchor")
    return _finish(fig)


def grouped_profiles(table: pd.DataFrame, xlabel: str = "Score (0-100)"):
    """Grouped horizontal bars: one group per column of ``table`` (e.g. an axis), one bar per
    row (a territory), in the order given."""
    style()
    long = (table.rename(index=lambda s: _wrap(s, 30), columns=lambda s: _wrap(s, 22))
            .rename_axis(index="territoire", columns="element")
            .stack(future_stack=True).rename("score").reset_index())
    fig, ax = plt.subplots(figsize=(7, 0.32 * len(long) + 1.8))
    sns.barplot(data=long, y="element", x="score", hue="territoire", palette=PALETTE, orient="h", ax=ax)
    ax.set_xlim(0, 100)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("")
    ax.legend(title="", loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=2, frameon=False, fontsize=SMALL)
    return _finish(fig)


def coverage_cells_heatmap(coverage: pd.DataFrame, labels: dict):
    """Share of indicators with a value (%) per cube cell (rows: actor · spatial · time scale,
    with the cell's number of indicators) and territory (columns, in ``labels`` order).
    ``coverage`` has the columns of :func:`observatoire.report.comparison.coverage_by_cell`, rows in
    cube order."""
    style()
    d = coverage[coverage["territoire"].isin(list(labels))].copy()
    d["case"] = (d["acteur"] + " · " + d["echelle_spatiale"] + " · " + d["echelle_temporelle"]
                 + " (" + d["indicateurs"].astype(str) + ")")
    order = list(dict.fromkeys(d["case"]))  # the cells in the order given (cube order)
    grid = d.pivot(index="case", columns="territoire", values="part").reindex(index=order, columns=list(labels))
    grid = (grid * 100).rename(columns=lambda c: _wrap(labels[c], 16))
    fig, ax = plt.subplots(figsize=(7, 0.27 * len(grid) + 2.0))
    sns.heatmap(grid, annot=True, fmt=".0f", cmap="cividis", vmin=0, vmax=100, linewidths=0.5,
                annot_kws={"fontsize": SMALL}, cbar_kws={"label": "indicateurs renseignés (%)", "shrink": 0.6}, ax=ax)
    ax.set_xlabel("")
    ax.set_ylabel("acteur · échelle spatiale · échelle temporelle (nombre d'indicateurs)", fontsize=SMALL)
    ax.tick_params(axis="x", labelrotation=0, labelsize=SMALL)
    ax.tick_params(axis="y", labelsize=SMALL)
    ax.xaxis.tick_top()
    return _finish(fig)


def yearly_lines(table: pd.DataFrame, ylabel: str):
    """One line per column (a territory) over the years of the index, each with its marker."""
    style()
    colours = sns.color_palette(PALETTE, len(table.columns))
    fig, ax = plt.subplots(figsize=(7, 4.2))
    for k, column in enumerate(table.columns):
        ax.plot(table.index, table[column], marker=MARKERS[k % len(MARKERS)], markersize=5,
                color=colours[k], label=_wrap(column, 30))
    ax.set_xticks(list(table.index))
    ax.xaxis.set_major_formatter(YearFormatter())
    ax.tick_params(axis="x", labelsize=SMALL)
    ax.set_xlabel("")
    ax.set_ylabel(ylabel)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.1), ncol=2, frameon=False, fontsize=SMALL)
    return _finish(fig)


def against_distribution(distribution: pd.DataFrame, territories: pd.DataFrame,
                         xlabel: str = "Score (0 = borne défavorable, 100 = borne favorable)",
                         band: str = "EPCI (boîte : quartiles ; moustaches : 5 à 95 %)"):
    """A box plot per column of ``distribution`` (e.g. all EPCI), with each territory (rows of
    ``territories``, same columns) marked by its own colour and marker."""
    import numpy as np

    style()
    columns = list(territories.columns)
    names = [_wrap(c, 26) for c in columns]
    fig, ax = plt.subplots(figsize=(7, 0.95 * len(columns) + 2.0))
    y = np.arange(len(columns))
    data = [distribution[c].dropna().to_numpy() for c in columns]
    ax.boxplot(data, positions=y, orientation="horizontal", widths=0.55, whis=(5, 95), showfliers=False,
               patch_artist=True, boxprops={"facecolor": "0.88", "edgecolor": "0.45"},
               medianprops={"color": "0.2"}, whiskerprops={"color": "0.45"}, capprops={"color": "0.45"})
    colours = sns.color_palette(PALETTE, len(territories))
    offsets = np.linspace(-0.3, 0.3, len(territories)) if len(territories) > 1 else [0.0]
    for k, (name, row) in enumerate(territories.iterrows()):
        ax.scatter(row.to_numpy(dtype="float64"), y + offsets[k], marker=MARKERS[k % len(MARKERS)], s=34,
                   color=colours[k], edgecolor="black", linewidth=0.4, zorder=3, label=_wrap(name, 30))
    ax.scatter([], [], marker="s", s=60, color="0.88", edgecolor="0.45", label=band)
    ax.set_yticks(y, names)
    ax.invert_yaxis()
    # The scale is zoomed on the scores shown (to the nearest ten): a national distribution of
    # averages is narrow, and its boxes would vanish on the full 0–100 range.
    shown = np.concatenate([*data, territories.to_numpy(dtype="float64").ravel()])
    shown = shown[np.isfinite(shown)]
    low = max(0.0, np.floor(shown.min() / 10) * 10) if len(shown) else 0.0
    high = min(100.0, np.ceil(shown.max() / 10) * 10) if len(shown) else 100.0
    ax.set_xlim(low, high if high > low else low + 10)
    ax.set_xlabel(xlabel)
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.12), ncol=2, frameon=False, fontsize=SMALL)
    return _finish(fig)


def firm_profile(indicators: pd.DataFrame, pillars: pd.DataFrame):
    """Profile of one firm: a horizontal bar per indicator (score 0–100), grouped and coloured by
    pillar, with the pillar's score as a dashed line across its group.

    ``indicators``: rows in framework order with ``pilier``, ``libelle`` and ``score``;
    ``pillars``: indexed by pillar code, with ``libelle`` and ``score`` (an
    :class:`observatoire.engine.firm.FirmProfile`'s tables)."""
    style()
    colours = dict(zip(pillars.index, sns.color_palette(PALETTE, len(pillars))))
    fig, ax = plt.subplots(figsize=(7.6, 0.5 * len(indicators) + 0.5 * len(pillars) + 1.0))
    y, ticks, labels = 0.0, [], []
    for pillar, row in pillars.iterrows():
        group = indicators[indicators["pilier"] == pillar]
        top = y
        for _, ind in group.iterrows():
            score = ind["score"]
            ax.barh(y, 0 if pd.isna(score) else score, color=colours[pillar], height=0.72)
            ax.text((0 if pd.isna(score) else score) + 1, y, "n.d." if pd.isna(score) else fr_number(score, 0),
                    va="center", fontsize=SMALL)
            ticks.append(y)
            labels.append(_wrap(ind["libelle"], 40))
            y += 1
        if not pd.isna(row["score"]):
            ax.plot([row["score"]] * 2, [top - 0.45, y - 0.55], color=colours[pillar], linestyle="--", linewidth=1.4)
        ax.text(101, top - 0.75, f"{row['libelle']} : {fr_number(row['score'], 0)}",
                ha="right", va="bottom", fontsize=SMALL, fontweight="bold", color=colours[pillar])
        y += 0.9
    ax.set_yticks(ticks, labels, fontsize=SMALL)
    ax.set_ylim(y - 0.6, -1.4)
    ax.set_xlim(0, 105)
    ax.set_xlabel("Score de 0 à 100 entre les bornes (tirets : score du pilier)")
    ax.set_ylabel("")
    return _finish(fig)
