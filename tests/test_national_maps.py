"""National site, issue #18: every figure has its CSV and JSON (and they are the figure's numbers),
locator maps on every page, the EPCI choropleth, « territoires qui me ressemblent »."""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import re
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from html import unescape
from pathlib import Path

import numpy as np
import pytest

from observatoire.engine import peers
from observatoire.engine.reference import load_reference
from observatoire.engine.catalogue import load_catalogue
from observatoire.national.site import demo_data_file, run_national
from observatoire.report.figure_data import read_csv

LIMIT, DRAWS = 8, 40
LINKS = re.compile(r'<p class="donnees-figure">.*?<a href="([^"]+\.csv)"[^>]*>.*?<a href="([^"]+\.json)"', re.S)


@pytest.fixture(scope="module")
def site(tmp_path_factory) -> Path:
    output = tmp_path_factory.mktemp("national")
    # The synthetic national file of the benchmarks (pages under the « valeurs fictives » banner).
    data = demo_data_file(tmp_path_factory.mktemp("donnees"), "epci", load_catalogue(), load_reference())
    with ProcessPoolExecutor(2, mp_context=multiprocessing.get_context("forkserver")) as pool:
        report = run_national(data, output=output, limit=LIMIT, draws=DRAWS, executor=pool, progress=False)
    assert report.territories == LIMIT
    return output


def figures_of(page: Path) -> list[str]:
    return re.findall(r"<figure.*?</figure>", page.read_text(encoding="utf-8"), flags=re.S)


def test_every_figure_has_its_csv_and_json(site):
    pages = sorted(site.rglob("*.html"))
    assert len(pages) == LIMIT + 4
    seen = 0
    for page in pages:
        for figure in figures_of(page):
            found = LINKS.search(figure)
            assert found, f"{page.name}: figure sans données"
            csv_path, json_path = (page.parent / unescape(h) for h in found.groups())
            assert csv_path.is_file() and json_path.is_file(), (page.name, found.groups())
            meta = json.loads(json_path.read_text(encoding="utf-8"))
            content = csv_path.read_bytes()
            assert meta["sha256"] == hashlib.sha256(content).hexdigest()
            for key in ("titre", "source", "millesime", "licence", "colonnes"):
                assert meta[key], (page.name, key)
            table = read_csv(content)
            assert [c["nom"] for c in meta["colonnes"]] == list(table.columns)
            assert len(table) == meta["lignes"] > 0
            seen += 1
    assert seen == 2 * LIMIT + 6  # per page: profile + locator map; home map, ranks, 3 distributions, régions


def test_profile_csv_is_what_the_figure_draws(site):
    for page in sorted((site / "territoires").glob("*.html")):
        table = read_csv((page.parent / f"{page.stem}-communs.csv").read_bytes())
        figure = next(f for f in figures_of(page) if "communs.csv" in f)
        svg = re.search(r"<svg.*?</svg>", figure, re.S).group(0)
        drawn = Counter(t.strip() for t in re.findall(r"<text[^>]*>([^<]*)</text>", svg))
        labels = Counter(f"{v:.0f}" if np.isfinite(v) else "n.d." for v in table["score"].astype("float64"))
        assert not labels - drawn, page.name  # every bar label is a CSV value, rounded as drawn
        # … and the table of the page shows the same scores.
        text = page.read_text(encoding="utf-8")
        for name, score in zip(table["commun"], table["score"].astype("float64")):
            shown = f"{score:.1f}".replace(".", ",")
            assert re.search(rf"<th scope=\"row\">{re.escape(name)}</th><td class=\"nombre\">{shown}</td>", text), name


def test_ranks_and_distribution_csv_cover_every_territory(site):
    codes = sorted(p.stem for p in (site / "territoires").glob("*.html"))
    ranks = read_csv((site / "classement-rangs.csv").read_bytes())
    assert sorted(ranks["code"].astype(str)) == codes
    indices = read_csv((site / "distributions-indice.csv").read_bytes())
    assert sorted(indices["code"].astype(str)) == codes + ["FR"]


def test_home_page_has_the_choropleth(site):
    png = site / "index-carte.png"
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    html = (site / "index.html").read_text(encoding="utf-8")
    assert 'src="index-carte.png"' in html and "ADMIN EXPRESS" in html
    table = read_csv((site / "index-carte.csv").read_bytes())
    assert len(table) == 1255  # every EPCI drawn, those outside the run without a value (hatched)
    shown = table[table["valeur"].notna()]
    assert len(shown) == LIMIT and shown["classe"].notna().all()
    assert table.loc[table["valeur"].isna(), "classe"].isna().all()


def test_locator_map_and_peers_on_every_page(site):
    ref = load_reference()
    for page in sorted((site / "territoires").glob("*.html")):
        text = page.read_text(encoding="utf-8")
        background = re.search(r'<image href="\.\./(cartes/situation-region-\d\d\.svg)"', text).group(1)
        assert (site / background).is_file()
        region = ref.territory(page.stem).region.removeprefix("REG-")
        assert background.endswith(f"-{region}.svg")
        expected = list(peers.nearest_peers(page.stem, reference=ref)["territoire"])
        section = text[text.index('id="semblables"'):text.index("<h2>Les indicateurs</h2>")]
        assert re.findall(r'<span class="code">(\d{9})</span>', section) == expected
        assert "ADMIN EXPRESS" in text and "distance euclidienne" in section
