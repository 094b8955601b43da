"""The data dictionary annex: built from the catalogue, one row per indicator, safe HTML."""

import dataclasses
from html.parser import HTMLParser

import pytest

from observatoire.engine.catalogue import load_catalogue
from observatoire.report.dictionary import data_dictionary, data_dictionary_html


class Page(HTMLParser):
    """Collects the links, the table rows and every tag of an HTML fragment."""

    def __init__(self):
        super().__init__()
        self.links, self.tags, self.rows, self.text = [], [], 0, []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        if tag == "a":
            self.links.append(dict(attrs)["href"])
        if tag == "td" and dict(attrs).get("class") == "indicateur":
            self.rows += 1

    def handle_data(self, data):
        self.text.append(data)


def parse(html: str) -> Page:
    page = Page()
    page.feed(html)
    page.close()
    return page


@pytest.fixture(scope="module")
def catalogue():
    return load_catalogue()


def test_one_row_per_catalogue_indicator(catalogue):
    table = data_dictionary(catalogue)
    assert len(table) == len(catalogue.indicators)
    assert sorted(table["identifiant"]) == sorted(catalogue.indicators.index)
    assert table["axe"].is_monotonic_increasing
    assert set(table["sens"]) == {"↑", "↓"}
    assert parse(data_dictionary_html(table)).rows == len(catalogue.indicators)


def test_each_axis_table_holds_the_indicators_of_that_axis(catalogue):
    table = data_dictionary(catalogue)
    for axe in catalogue.axes.index:
        part = table[table["axe"] == axe]
        expected = catalogue.indicators.index[catalogue.indicators["axe"] == axe]
        assert sorted(part["identifiant"]) == sorted(expected)
        assert parse(data_dictionary_html(part)).rows == len(expected)


def test_every_link_is_the_source_url_of_its_indicator(catalogue):
    table = data_dictionary(catalogue)
    page = parse(data_dictionary_html(table))
    assert page.links == list(table["source_url"])
    expected = catalogue.indicators.loc[table["identifiant"], "source_url"]
    assert page.links == list(expected)


def test_numbers_are_written_in_french(catalogue):
    table = data_dictionary(catalogue).set_index("identifiant")
    ind = catalogue.indicators
    decimal = ind.index[(ind["borne_haute"] % 1 != 0)][0]
    assert "," in table.loc[decimal, "bornes"] and "." not in table.loc[decimal, "bornes"]
    counts = ind.index[ind["agregation"] == "compte"]
    assert all("100\u202f000 hab." in table.loc[c, "bornes"] for c in counts)
    assert (table.loc[ind.index[ind["cible"].isna()], "cible"] == "").all()


def test_catalogue_text_cannot_break_the_page(catalogue):
    ind = catalogue.indicators.copy()
    first = ind.index[0]
    ind.loc[first, "libelle"] = "<script>alert('libellé')</script>"
    ind.loc[first, "definition"] = 'Part des « A & B » </td></tr></table><b>gras</b>'
    ind.loc[first, "source"] = "<img src=x onerror=alert(1)>"
    ind.loc[first, "source_url"] = 'https://exemple.fr/?a=1&b="><script>alert(2)</script>'
    ind.loc[ind.index[1], "source_url"] = "javascript:alert(3)"
    hostile = dataclasses.replace(catalogue, indicators=ind)
    table = data_dictionary(hostile)
    html = data_dictionary_html(table)
    assert "<script>" not in html and "<img" not in html and "<b>" not in html
    assert "&lt;script&gt;alert(&#39;libellé&#39;)&lt;/script&gt;" in html  # escaped by Jinja2 (markupsafe)
    page = parse(html)
    # Only the markup the renderer writes itself; the text comes back exactly as written.
    assert set(page.tags) <= {"style", "table", "thead", "tbody", "tr", "th", "td", "strong", "br", "code",
                              "wbr", "span", "a"}
    text = "".join(page.text)
    assert "<script>alert('libellé')</script>" in text and "</td></tr></table><b>gras</b>" in text
    # The hostile address stays one attribute value; a non-http address is not linked.
    assert 'https://exemple.fr/?a=1&b="><script>alert(2)</script>' in page.links
    assert not any(link.startswith("javascript:") for link in page.links)
    assert len(page.links) == len(ind) - 1
