"""Maps (observatoire.report.maps) and figure data (observatoire.report.figure_data)."""

from __future__ import annotations

import base64
import hashlib
import json
import re

import matplotlib
import numpy as np
import pandas as pd
import pytest

from observatoire.engine import geometries
from observatoire.engine.reference import load_reference
from observatoire.report import figure_data, maps
from observatoire.report.figure_data import FigureData, read_csv

PILOTS = ("33063", "200046977", "78440", "200043776", "REG-94")


@pytest.fixture(autouse=True)
def private_cache(tmp_path, monkeypatch):
    monkeypatch.setattr(maps, "CACHE", tmp_path / "cartes")


@pytest.fixture(scope="module")
def ref():
    return load_reference()


# -- figure data -------------------------------------------------------------------------------

def test_figure_data_round_trip():
    table = pd.DataFrame({"code": ["01004", "2A004"], "score": [12.5, np.nan], "n": [3, 4]})
    data = FigureData("exemple", "Un exemple", table, source="Observatoire", millesime="2026",
                      units={"score": "score 0-100"})
    files = data.files()
    assert set(files) == {"exemple.csv", "exemple.json"}
    assert files["exemple.csv"] == b"code,score,n\n01004,12.5,3\n2A004,,4\n"
    meta = json.loads(files["exemple.json"])
    assert meta["sha256"] == hashlib.sha256(files["exemple.csv"]).hexdigest()
    assert meta["colonnes"] == [{"nom": "code", "unite": ""}, {"nom": "score", "unite": "score 0-100"},
                                {"nom": "n", "unite": ""}]
    back = read_csv(files["exemple.csv"])
    assert list(back["code"]) == ["01004", "2A004"] and back["score"].isna().iloc[1]
    assert data.files() == files  # same numbers, same bytes
    # data: URIs carry the same bytes (the book's links).
    uris = re.findall(r'href="data:[^;]+;(?:charset=utf-8;)?base64,([^"]+)"', data.links(None))
    assert [base64.b64decode(u) for u in uris] == [files["exemple.csv"], files["exemple.json"]]
    assert 'href="donnees/exemple.csv"' in data.links("donnees")


def test_figure_data_refuses_bad_names_and_units():
    with pytest.raises(ValueError, match="nom de fichier"):
        FigureData("../x", "t", pd.DataFrame({"a": [1]}), source="s", millesime="2026")
    with pytest.raises(ValueError, match="unités"):
        FigureData("x", "t", pd.DataFrame({"a": [1]}), source="s", millesime="2026", units={"b": "km"})


def test_named_index_becomes_a_column():
    series = pd.Series([1.5, 2.0], index=pd.Index(["Eau", "Énergie"], name="commun"), name="score")
    assert FigureData("s", "t", series, source="s", millesime="2026").csv_bytes() == \
        "commun,score\nEau,1.5\nÉnergie,2.0\n".encode()


def test_show_displays_the_figure_then_its_links(monkeypatch):
    import IPython.display

    shown = []
    monkeypatch.setattr(IPython.display, "display", lambda obj: shown.append(obj))
    from matplotlib.figure import Figure

    fig = Figure()
    data = FigureData("x", "t", pd.DataFrame({"a": [1]}), source="s", millesime="2026")
    figure_data.show(fig, data)
    assert shown[0] is fig and "data:text/csv" in shown[1]._repr_html_()


# -- maps --------------------------------------------------------------------------------------

@pytest.mark.parametrize("code", PILOTS)
def test_locator_map_of_each_pilot(ref, code):
    m = maps.locator_map(code, reference=ref)
    t = ref.territory(code)
    assert m.format == "svg" and m.image.lstrip().startswith(b"<?xml") and b"<svg" in m.image
    assert t.nom in m.alt and "ADMIN EXPRESS" in m.caption
    table = read_csv(m.data.csv_bytes())
    assert table["code"].iloc[0] == t.code and table["role"].iloc[0] == "territoire"
    for _, row in table.iterrows():
        assert row["population"] == ref.territory(row["code"]).population
    html = m._repr_html_()
    assert html.startswith("<figure") and 'role="img"' in html and "tableau CSV" in html
    assert not re.search(r'(href|src)="(https?:)?//|url\((?!#)', m.image.decode())  # nothing fetched by the reader


def test_locator_map_is_cached_by_fingerprint(ref, monkeypatch):
    first = maps.locator_map("200043776", reference=ref)
    files = list(maps.CACHE.glob("*.svg"))
    assert len(files) == 1
    monkeypatch.setattr(maps, "_draw_locator", lambda *a, **k: pytest.fail("redrawn"))
    assert maps.locator_map("200043776", reference=ref).image == first.image


def test_overseas_and_commune_maps(ref):
    assert "La Réunion" in maps.locator_map("97411", reference=ref).alt
    assert "Haute-Corse" in maps.locator_map("2B033", reference=ref).alt
    with pytest.raises(ValueError, match="collectivité d'outre-mer"):
        maps.locator_map("97501", reference=ref)


def test_classes_and_french_labels():
    values = pd.Series(np.arange(1, 101, dtype="float64"))
    edges = maps.classes(values)
    assert len(edges) == 6 and edges[0] == 1 and edges[-1] == 100
    assert maps.class_labels(np.array([0.5, 1234.25, 5000.0]))[0] == "de 0,5 à 1\u202f234,2"
    assert maps.class_labels(np.array([12.0, 27.4, 49.0])) == ["de 12,0 à 27,4", "de 27,4 à 49,0"]
    assert maps.class_labels(np.array([12.0, 27.0, 4900.0])) == ["de 12 à 27", "de 27 à 4\u202f900"]


def test_palette_is_readable_in_grey():
    cmap = matplotlib.colormaps[maps.PALETTE]
    colours = np.array([cmap(0.08 + 0.84 * k / 4)[:3] for k in range(5)])
    luminance = colours @ np.array([0.2126, 0.7152, 0.0722])
    assert np.all(np.diff(luminance) > 0.08)  # each class lighter than the one before


def test_choropleth_of_real_values(ref):
    population = ref.epci.set_index("code")["population"].astype("float64")
    density = population / geometries.areas("epci").reindex(population.index)
    density.iloc[:3] = np.nan
    m = maps.choropleth(density, "epci", "Densité de population", unit="habitants par km²",
                        source="INSEE, populations légales", millesime="2023", name="densite-epci")
    assert m.format == "png" and m.image[:8] == b"\x89PNG\r\n\x1a\n"
    table = read_csv(m.data.csv_bytes())
    assert len(table) == len(population) and table["classe"].isna().sum() == 3
    np.testing.assert_allclose(table.set_index("code")["valeur"].astype("float64").reindex(density.index),
                               density.to_numpy())
    counts = table["classe"].value_counts()
    assert counts.max() - counts.min() <= 2  # quantile classes: equal counts
    assert "3 territoire(s) sans valeur" in m.alt and "millésime 2023" in m.caption
    with pytest.raises(ValueError, match="sans contour"):
        maps.choropleth(pd.Series({"123456789": 1.0}), "epci", "x", unit="u", source="s", millesime="m", name="x")


def test_site_locator_shares_the_background_viewbox(ref):
    background = maps.site_background("76").decode()
    page = maps.site_locator("200043776", "../cartes/situation-region-76.svg", reference=ref)
    box = re.search(r'viewBox="([^"]+)"', background).group(1)
    assert re.search(r'viewBox="([^"]+)"', page.image.decode()).group(1) == box
    assert 'href="../cartes/situation-region-76.svg"' in page.image.decode()
    assert maps.site_background_name("200043776", ref) == "situation-region-76.svg"
