"""Readable figures (observatoire.report.figures): every monthly series drawn, numbers and months
in French on the axes, nothing printed smaller than 9 points, the colour-blind-safe palette."""

from __future__ import annotations

import re

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
import seaborn as sns  # noqa: E402
from matplotlib.text import Text  # noqa: E402

from observatoire.report import figures  # noqa: E402


@pytest.fixture(scope="module")
def sheet():
    """What the figures draw for one territory: the catalogue's monthly indicators over 24
    months (test values, for no real territory), and scores by commun and axis."""
    from types import SimpleNamespace

    from observatoire.engine.catalogue import load_catalogue

    catalogue = load_catalogue()
    meta = catalogue.indicators
    monthly = [i for i in meta.index if meta.at[i, "periodicite"] == "mensuelle"]
    rng = np.random.default_rng(1)
    months = [str(p) for p in pd.period_range("2024-10", "2026-09", freq="M")]
    series = pd.DataFrame([{"territoire": "FICTIF-TEST", "indicateur": i, "periode": m,
                            "valeur": float((rng.uniform(500.0, 2500.0), rng.uniform(1.60, 1.72), rng.uniform(0, 10))[k % 3])}
                           for k, i in enumerate(monthly) for m in months])
    communs = pd.Series(rng.uniform(20, 90, len(catalogue.communs)), index=catalogue.communs["libelle"].to_list())
    communs.iloc[0] = np.nan
    axes = pd.Series([55.0, 61.5, 48.2], index=["Axe 1", "Axe 2", "Axe 3"])
    return SimpleNamespace(catalogue=catalogue, series=series, communs=communs, axes=axes)


def labels(fig) -> list[str]:
    fig.canvas.draw()
    found = []
    for ax in fig.axes:
        if ax.get_visible():
            for tick in [*ax.get_xticklabels(), *ax.get_yticklabels(), *ax.get_xticklabels(minor=True)]:
                if tick.get_text():
                    found.append(tick.get_text())
    return found


def texts(fig) -> list[Text]:
    fig.canvas.draw()
    return [t for t in fig.findobj(Text) if t.get_visible() and t.get_text().strip()
            and (t.axes is None or t.axes.get_visible())]


def test_every_monthly_indicator_is_drawn_with_french_months_and_numbers(sheet):
    meta = sheet.catalogue.indicators
    monthly = sheet.series[sheet.series["periode"].str.fullmatch(r"\d{4}-\d{2}")]["indicateur"].unique()
    assert len(monthly) > 4
    fig = figures.monthly_series(sheet.series, meta["libelle"], meta["unite"])
    drawn = [ax for ax in fig.axes if ax.get_visible()]
    assert len(drawn) == len(monthly)
    assert sorted(ax.get_title().replace("\n", " ") for ax in drawn) == \
        sorted(" ".join(figures._wrap(meta.loc[i, "libelle"], 40).split("\n")) for i in monthly)
    shown = labels(fig)
    assert "janv. 2025" in shown and "juil." in shown
    numbers = [t for t in shown if re.fullmatch(r"[−\d\u202f,]+", t)]
    assert numbers and all("." not in t for t in shown if t[0].isdigit())
    assert any("," in t for t in numbers)  # decimal comma
    assert any("\u202f" in t for t in numbers)  # groups of thousands
    plt.close(fig)


def test_no_text_smaller_than_nine_points_in_any_figure(sheet):
    rng = np.random.default_rng(0)
    communs = sheet.communs
    meta = sheet.catalogue.indicators
    names = ["Territoire A", "Territoire B", "Territoire C"]
    table = pd.DataFrame(rng.uniform(20, 80, (len(names), 4)), index=names, columns=["a", "b", "c", "d"])
    quantiles = pd.DataFrame({"q05": [30.0, 40.0], "q50": [45.0, 50.0], "q95": [60.0, 62.0], "reference": [44.0, 51.0]},
                             index=["A", "B"])
    coverage = pd.DataFrame({"acteur": ["entreprises"] * 2 + ["territoires"] * 2,
                             "echelle_spatiale": ["local", "régional"] * 2,
                             "echelle_temporelle": ["mois"] * 4, "indicateurs": [1, 2, 3, 4]})
    made = [
        figures.profile_by_commun(communs),
        figures.scores_by_axis(sheet.axes),
        figures.monthly_series(sheet.series, meta["libelle"], meta["unite"]),
        figures.cube_coverage_heatmap(coverage),
        figures.index_intervals(quantiles),
        figures.sensitivity_indices(pd.DataFrame({"x": [0.2, -0.01], "y": [0.5, 0.3]}, index=["A", "B"])),
        figures.scores_heatmap(table),
        figures.grouped_profiles(table),
        figures.yearly_lines(pd.DataFrame({"A": [40.0, 42.5, 41.0]}, index=[2023, 2024, 2025]), "Indice"),
        figures.against_distribution(pd.DataFrame(rng.uniform(0, 100, (50, 4)), columns=table.columns), table.iloc[:2]),
    ]
    for fig in made:
        small = [(t.get_text(), t.get_fontsize()) for t in texts(fig) if t.get_fontsize() < figures.SMALL]
        assert not small, small
        for label in labels(fig):
            assert not re.fullmatch(r"-?\d+\.\d+", label), label  # no decimal point
            assert not label.startswith("-"), label  # a true minus sign
        plt.close(fig)


def test_numbers_on_axes_are_french():
    fig, ax = plt.subplots()
    ax.plot([-1500.0, 0.0, 2500.0], [0.0, 0.25, 0.5])
    figures.french_axes(ax)
    shown = labels(fig)
    assert "−1\u202f000" in shown and "2\u202f000" in shown
    assert any(re.fullmatch(r"0,\d+", s) for s in shown)
    assert all("." not in s for s in shown)
    plt.close(fig)


def test_years_are_not_grouped_like_thousands():
    fig = figures.yearly_lines(pd.DataFrame({"A": [40.0, 42.5, 41.0]}, index=[2023, 2024, 2025]), "Indice")
    assert {"2023", "2024", "2025"} <= set(labels(fig))
    plt.close(fig)


def test_the_palette_stays_colour_blind_safe(sheet):
    meta = sheet.catalogue.indicators
    fig = figures.monthly_series(sheet.series, meta["libelle"], meta["unite"], limit=1)
    line = fig.axes[0].get_lines()[0]
    assert matplotlib.colors.to_rgb(line.get_color()) == pytest.approx(sns.color_palette("colorblind")[0])
    assert figures.PALETTE == "colorblind"
    plt.close(fig)
