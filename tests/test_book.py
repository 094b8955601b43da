"""End to end: build the whole book and check what readers see against the engine's numbers."""

import html
import re

import pytest

from observatoire.report.pilots import pilots
from observatoire.report.sheet import territory_sheet
from observatoire.paths import DEFAULT_DATA
from observatoire.text import fr_int, fr_number
from observatoire.engine.uncertainty import index_interval

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
def test_pilot_chapter_shows_the_engines_numbers(built, pilot):
    page = (built / "book" / "territoires" / f"{pilot.slug}.html").read_text(encoding="utf-8")
    sheet = territory_sheet(pilot.code, DEFAULT_DATA)
    values = pasted(page)
    assert f"<h1>{html.escape(pilot.titre, quote=False)}" in page
    assert sheet.territory.nom in values
    assert fr_int(sheet.territory.population) in values
    assert fr_number(sheet.index) in values
    low, _, high = index_interval(sheet.scores, sheet.code)
    assert fr_number(low) in values and fr_number(high) in values  # the index comes with its band
    for axis in (1, 2, 3, 4):
        assert fr_number(sheet.scores.axes.loc[sheet.code, axis]) in values
    communs = sheet.communs.dropna()
    assert fr_number(communs.max()) in values and communs.idxmax() in values
    assert "Parameters" not in page and str(DEFAULT_DATA) not in page  # papermill's cell is hidden
    # Honest data: the demonstration notice is on the page, above the numbers.
    assert page.index("Données de démonstration") < page.index('class="pasted-text"')


@pytest.mark.parametrize("pilot", pilots(), ids=lambda p: p.slug)
def test_pilot_chapter_figures_have_captions_and_alt_text(built, pilot):
    page = (built / "book" / "territoires" / f"{pilot.slug}.html").read_text(encoding="utf-8")
    figures = re.findall(r"<figure.*?</figure>", page, re.S)
    assert len(figures) == 3
    for fig in figures:
        assert "<figcaption" in fig
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
