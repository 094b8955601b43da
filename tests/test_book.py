"""End to end: build the whole book and check what readers see against the engine's numbers."""

import html
import re

import pandas as pd
import pytest

from observatoire.report.pilots import pilots
from observatoire.report.sheet import territory_sheet
from observatoire.paths import DEFAULT_DATA
from observatoire.text import fr_int, fr_number

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def built(built_book):
    return built_book


def pasted(page: str) -> list[str]:
    """Texts glued into the prose (myst-nb renders them as span.pasted-text)."""
    return [html.unescape(t) for t in re.findall(r'<span class="pasted-text">(.*?)</span>', page, re.S)]


def test_index_page_is_built(built):
    assert (built / "index.html").exists()
    assert (built / "book" / "index.html").exists()


@pytest.mark.parametrize("pilot", pilots(), ids=lambda p: p.slug)
def test_pilot_chapter_shows_its_public_statistics_with_their_sources(built, pilot):
    page = (built / "book" / "territoires" / f"{pilot.slug}.html").read_text(encoding="utf-8")
    text = html.unescape(page)
    sheet = territory_sheet(pilot.code, DEFAULT_DATA)
    values = pasted(page)
    assert f"<h1>{html.escape(pilot.titre, quote=False)}" in page
    assert sheet.territory.nom in values
    assert fr_int(sheet.territory.population) in values
    filled, total = sheet.counts()
    assert fr_int(filled) in values and fr_int(total) in values
    # Every value of the pilot is shown with its source's address; no invented value, no
    # demonstration notice, no score where coverage is too low.
    own = sheet.series
    for url in set(own["url"]):
        assert html.escape(url) in page or url in text, url
    assert "Statistiques publiques" in text and "démonstration" not in text.lower()
    assert "Valeurs fictives" not in text and "FICTIF-" not in text
    if pd.isna(sheet.index):
        assert "pas calculé" in text
    # The reference levels stand beside the values, and the monograph is included.
    assert "France" in text and "Le territoire vu par ses sources publiques" in text
    assert "Pourquoi ce territoire est pilote" in text
    assert "Parameters" not in page and str(DEFAULT_DATA) not in page  # papermill's cell is hidden


@pytest.mark.parametrize("pilot", pilots(), ids=lambda p: p.slug)
def test_pilot_chapter_figures_have_captions_and_alt_text(built, pilot):
    page = (built / "book" / "territoires" / f"{pilot.slug}.html").read_text(encoding="utf-8")
    figures = re.findall(r"<figure.*?</figure>", page, re.S)
    assert len(figures) == 4  # locator map, profile by commun, axes, monthly series
    for fig in figures:
        assert "<figcaption" in fig
        if fig.startswith('<figure class="carte"'):  # the locator map: an inline SVG, labelled
            label = re.search(r'<svg role="img" aria-label="([^"]+)"', fig)
            assert label and pilot.titre.split()[-1].casefold() in html.unescape(label.group(1)).casefold()
            continue
        alt = re.search(r'<img[^>]*alt="([^"]+)"', fig)
        assert alt and len(alt.group(1)) > 20
        src = re.search(r'<img[^>]*src="([^"]+)"', fig).group(1)
        assert (built / "book" / "territoires" / src).resolve().exists()


def test_no_execution_error_in_any_page(built):
    pages = list(built.rglob("*.html"))
    assert len(pages) > 10
    for page in pages:
        text = page.read_text(encoding="utf-8")
        assert "Traceback (most recent call last)" not in text, page
        assert 'class="output traceback' not in text and 'class="output stderr' not in text, page


def test_no_script_stylesheet_or_font_from_the_internet(built):
    """The site must work offline (intranets): nothing it runs or renders with comes from outside
    — scripts, stylesheets, fonts, images in the HTML, url() and @import in its CSS files."""
    from observatoire.build.publication import external_resources

    problems = external_resources(built)
    assert not problems, list(problems.items())[:3]
    assert (built / "_static" / "mathjax" / "tex-chtml.js").exists()


def test_no_synthetic_value_goes_with_a_real_territory(built):
    """Honest data: the territory chapters and the comparison show no fictional territory and no
    value of the demonstration generator; fictional territories appear only where the book
    shows the method, introduced as fiction."""
    from observatoire.report.demo import DEMO_SOURCE

    for page in (built / "book" / "territoires").glob("*.html"):
        text = html.unescape(page.read_text(encoding="utf-8"))
        assert "FICTIF-" not in text and DEMO_SOURCE not in text and "fictif" not in text.lower(), page.name
    for page in built.rglob("*.html"):
        text = html.unescape(page.read_text(encoding="utf-8"))
        if DEMO_SOURCE in text or "FICTIF-" in text:
            assert "fictif" in text.lower(), page.name  # introduced as fiction on the same page


@pytest.mark.parametrize("page", ["index.html", "book/campus.html", "book/territoires/bordeaux.html",
                                  "book/territoires/comparaison.html"])
def test_pages_load_every_resource_they_ask_for(built, page):
    """In a real browser, served over HTTP: no request fails or answers 4xx/5xx (the widget
    fonts once answered 404 from book/@jupyter-widgets/), and none leaves the local server."""
    import functools
    import http.server
    import os
    import threading
    from pathlib import Path

    chromium = Path("/usr/bin/chromium")
    if not chromium.exists() and os.environ.get("CI") != "true":
        pytest.skip("chromium est introuvable (/usr/bin/chromium) : make chromium")
    if not (built / page).exists():
        pytest.fail(f"page absente du livre construit : {page}")
    from playwright.sync_api import sync_playwright

    class Quiet(http.server.SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(built)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    origin = f"http://127.0.0.1:{server.server_address[1]}/"
    problems, seen = [], []
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(chromium), args=["--no-sandbox", "--disable-gpu"])
            tab = browser.new_page()
            tab.on("request", lambda r: seen.append(r.url))
            tab.on("response", lambda r: r.status >= 400 and problems.append((r.status, r.url)))
            tab.on("requestfailed", lambda r: problems.append((r.failure, r.url)))
            tab.goto(origin + page, wait_until="networkidle")
            tab.wait_for_timeout(500)
            browser.close()
    finally:
        server.shutdown()
    assert not problems, problems
    assert len(seen) > 3 and all(u.startswith((origin, "data:", "blob:")) for u in seen), \
        [u for u in seen if not u.startswith((origin, "data:", "blob:"))]
