"""The publication folder (site + PDF + open data + template) and the self-contained-site check."""

import json
import re
from pathlib import Path

import pytest

from observatoire.build import publication
from observatoire.build.pdf import PDF_NAME

OUTSIDE_PAGE = """<!DOCTYPE html><html><head>
<script src="https://cdn.jsdelivr.net/npm/require.js"></script>
<link rel="stylesheet" href="//fonts.googleapis.com/css?family=Lato">
<link rel="preload" as="font" href="https://example.org/font.woff2">
<style>@import url("https://example.org/theme.css"); body { background: url(http://example.org/bg.png) }</style>
</head><body>
<img src="https://example.org/logo.png" alt="">
<div style="background-image: url('https://example.org/x.png')"></div>
</body></html>"""

LOCAL_PAGE = """<!DOCTYPE html><html><head>
<script src="_static/mathjax/tex-chtml.js"></script>
<link rel="stylesheet" href="_static/styles/theme.css">
<link rel="canonical" href="https://livre-blanc.example.org/">
<style>@font-face { src: url(../fonts/DejaVu.woff2) } .x { background: url(data:image/png;base64,AAAA) }</style>
<script>const THEBE = "https://unpkg.com/thebe";</script>
</head><body><a href="https://doi.org/10.1191/030913200701540465">doi</a><img src="_images/a.png" alt=""></body></html>"""


def test_external_loads_are_found_in_html_and_css(tmp_path):
    found = publication.html_outside(OUTSIDE_PAGE)
    assert len(found) == 7, found
    assert not publication.html_outside(LOCAL_PAGE)  # links to follow and local files are fine
    (tmp_path / "a.html").write_text(LOCAL_PAGE)
    (tmp_path / "_static").mkdir()
    (tmp_path / "_static" / "ok.css").write_text('@import "../basic.css"; .a { src: url(fonts/x.woff2) }')
    assert publication.external_resources(tmp_path) == {}
    (tmp_path / "_static" / "bad.css").write_text("@import url(https://fonts.googleapis.com/css2?family=Inter);\n"
                                                  ".b { src: url('//cdn.example.org/f.woff2') }")
    (tmp_path / "b.html").write_text(OUTSIDE_PAGE)
    problems = publication.external_resources(tmp_path)
    assert set(problems) == {"b.html", str(Path("_static") / "bad.css")}
    assert len(problems[str(Path("_static") / "bad.css")]) == 2


def test_missing_site_fails_in_french_and_keeps_the_previous_publication(tmp_path):
    previous = tmp_path / "publication"
    previous.mkdir()
    (previous / "index.html").write_text("ancienne publication")
    with pytest.raises(publication.PublicationError, match="construisez-le d’abord"):
        publication.publish(previous, site=tmp_path / "absent", pdf=tmp_path / "absent.pdf", build=False)
    assert (previous / "index.html").read_text() == "ancienne publication"


@pytest.mark.slow
def test_publication_folder_holds_site_pdf_open_data_and_template(built_book, tmp_path):
    from observatoire.build import pdf as edition
    from observatoire.paths import DEFAULT_DATA

    pdf = built_book.parent / "pdf" / PDF_NAME
    if not pdf.exists():  # as make pdf leaves it: the PDF next to the site, which links to it
        pdf.parent.mkdir(parents=True, exist_ok=True)
        pdf.write_bytes(b"%PDF-1.7 edition")
        assert edition.link_from_site(DEFAULT_DATA, pdf, built_book)
    out = publication.publish(tmp_path / "publication", site=built_book, pdf=pdf, build=False)
    assert (out / "index.html").exists() and (out / "book" / "index.html").exists()
    assert (out / PDF_NAME).read_bytes() == pdf.read_bytes()
    # The home page's link to the PDF resolves in the publication.
    home = (out / "book" / "index.html").read_text(encoding="utf-8")
    link = re.search(r'href="([^"]*livre-blanc\.pdf)"', home).group(1)
    assert ((out / "book" / link).resolve()) == (out / PDF_NAME).resolve()
    package = json.loads((out / "donnees" / "datapackage.json").read_text(encoding="utf-8"))
    assert {r["path"] for r in package["resources"]} >= {"resultats.csv", "resultats.parquet"}
    assert (out / "donnees" / "resultats.csv").stat().st_size > 1000
    assert (out / "modele" / "modele-donnees.xlsx").exists() and (out / "modele" / "modele-donnees.csv").exists()
    readme = (out / "README.md").read_text(encoding="utf-8")
    assert "python3 -m http.server" in readme and "nginx" in readme
    assert publication.external_resources(out) == {}
