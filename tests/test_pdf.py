"""The PDF edition: French typography, numbering, glyphs and fonts, and the whole printed book
(outline, a pilot's computed numbers, bibliography, glossary) against the engine."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from observatoire.build import pdf
from observatoire.report.pilots import pilots
from observatoire.errors import ValidationError
from observatoire.report.sheet import territory_sheet
from observatoire.paths import DEFAULT_DATA
from observatoire.text import fr_int, fr_number

ROOT = Path(__file__).resolve().parents[1]
INVALID = ROOT / "tests" / "donnees" / "invalides" / "erreurs-multiples.csv"

# In CI the browser tests must run: never skip there (a missing chromium is a failure).
needs_chromium = pytest.mark.skipif(
    not pdf.CHROMIUM.exists() and os.environ.get("CI") != "true",
    reason="chromium est introuvable (/usr/bin/chromium) : installez-le avec « make chromium » "
           "(apt-get install chromium fonts-dejavu-core fonts-dejavu-extra)")


# ---- Typography -----------------------------------------------------------------------------

def test_french_spacing_uses_no_break_spaces_where_there_is_a_space():
    nnbsp, nbsp = "\u202f", "\u00a0"
    assert pdf.french_spacing("Pourquoi ? Parce que ; voici : « oui »") == \
        f"Pourquoi{nnbsp}? Parce que{nnbsp}; voici{nbsp}: «{nbsp}oui{nbsp}»"
    # English titles of the bibliography have no space before ? or : and keep none.
    assert pdf.french_spacing("Resilience: are they related?") == "Resilience: are they related?"
    assert pdf.french_spacing("«oui»") == f"«{nbsp}oui{nbsp}»"


def test_hyphenation_inserts_soft_hyphens_in_long_french_words_only():
    text = pdf.hyphenate("La résilience des territoires, CEREMA, 2021 et l'OCDE.")
    assert "\u00ad" in text and text.replace("\u00ad", "") == "La résilience des territoires, CEREMA, 2021 et l'OCDE."
    assert "CEREMA" in text and "La " in text
    assert all(len(part) >= 2 for part in pdf.hyphenate_word("constitutionnellement").split("\u00ad"))


def test_typeset_hyphenates_prose_only_and_leaves_code_math_and_urls_alone():
    from bs4 import BeautifulSoup

    soup = BeautifulSoup('<main><p>Une démonstration\u00a0: <code>démonstration</code> <span class="math">'
                         '\\(démonstration\\)</span> <a href="https://x.fr">https://x.fr/démonstration</a></p>'
                         '<h2>Démonstration</h2></main>', "html.parser")
    pdf.typeset(soup.main)
    assert "dé\u00admons\u00adtra\u00adtion" in soup.p.contents[0]
    assert soup.code.string == "démonstration" and soup.find("span", class_="math").string == "\\(démonstration\\)"
    assert soup.a.string == "https://x.fr/démonstration"
    assert soup.h2.string == "Démonstration"  # no hyphenation in titles


def test_the_edition_uses_the_books_own_french_spacing():
    from observatoire.build import typography

    assert pdf.french_spacing is typography.french_spacing  # one implementation


# ---- Structure ------------------------------------------------------------------------------

def test_chapters_are_numbered_and_annexes_lettered():
    docs = pdf.toc_docs()
    labels = {d.file: d.label for d in docs}
    assert labels["book/index"] == "" and labels["book/bibliographie"] == ""
    assert labels["book/mutations"] == "1" and labels["book/analyses-specifiques"] == "6"
    assert labels["book/territoires/index"] == "7"
    assert [labels[f"book/territoires/{p.slug}"] for p in pilots()] == ["7.1", "7.2", "7.3", "7.4", "7.5"]
    assert labels["book/annexes/methode-de-calcul"] == "A" and labels["book/annexes/glossaire"] == "D"
    assert labels["book/synthese"] == ""  # the synthesis comes before the numbered chapters
    from observatoire.build.toc import toc_files

    assert [d.file for d in docs] == list(toc_files())


def test_cover_quotes_the_partners_of_the_commun_chapter():
    facts = pdf.book_facts("pilotes.csv")
    assert "Cerema" in facts.partners["Initiateurs"] and "Alters" in facts.partners["Initiateurs"]
    assert re.fullmatch(r"\d+\.\d+\.\d+", facts.version)
    page = pdf.render_edition(facts, [], [], "<main></main>")
    cover = page[page.index('<section class="couverture">'):page.index('<section class="colophon">')]
    colophon = page[page.index('<section class="colophon">'):page.index('<nav class="tdm"')]
    assert "Cerema" in cover and facts.version in cover and "CC BY 4.0" in cover and facts.date in cover
    assert "Contributeurs déclarés" in colophon


def test_the_edition_page_escapes_what_it_quotes():
    import dataclasses

    facts = dataclasses.replace(pdf.book_facts("pilotes.csv"), title="Livre <script>alert(1)</script> & co",
                                partners={"Initiateurs": "A <b>gras</b>, B"})
    page = pdf.render_edition(facts, [], [], "<main></main>")
    assert "<script>alert" not in page and "&lt;script&gt;" in page and "&amp; co" in page
    assert "A &lt;b&gt;gras&lt;/b&gt; · B" in page


def test_french_date():
    import datetime as dt

    assert pdf.french_date(dt.date(2026, 3, 1)) == "1er mars 2026"
    assert pdf.french_date(dt.date(2026, 12, 25)) == "25 décembre 2026"


# ---- Bad input: French message, non-zero exit, previous PDF intact ---------------------------

def test_invalid_data_leaves_the_previous_pdf_intact(tmp_path):
    previous = tmp_path / "livre-blanc.pdf"
    previous.write_bytes(b"%PDF-1.7 previous edition")
    with pytest.raises(ValidationError):
        pdf.build_pdf(INVALID, previous)
    r = subprocess.run([sys.executable, "-m", "observatoire", "pdf", "--donnees", str(INVALID), "--sortie", str(previous)],
                       cwd=ROOT, capture_output=True, text=True)
    assert r.returncode == 1 and "rien n'a été modifié" in r.stderr and "ligne 2" in r.stderr
    assert previous.read_bytes() == b"%PDF-1.7 previous edition"
    assert [p.name for p in tmp_path.iterdir()] == ["livre-blanc.pdf"]


def test_help_of_the_pdf_commands_is_in_french():
    r = subprocess.run([sys.executable, "-m", "observatoire", "--help"], cwd=ROOT, capture_output=True, text=True)
    assert "construire l'édition PDF du livre" in r.stdout and "assembler le site à publier" in r.stdout


# ---- Glyphs and fonts (a small page through the same print path) -----------------------------

def pdf_text(path: Path) -> str:
    from pypdf import PdfReader

    return "\n".join(page.extract_text() for page in PdfReader(str(path)).pages)


def pdf_fonts(path: Path) -> dict[str, bool]:
    """{font name: embedded?} over every page (Type3 fonts carry their glyphs inline)."""
    from pypdf import PdfReader

    fonts = {}
    for page in PdfReader(str(path)).pages:
        for font in (page.get("/Resources", {}).get("/Font", {}) or {}).values():
            font = font.get_object()
            if font.get("/Subtype") == "/Type3":
                fonts[str(font.get("/Name", "Type3"))] = True
                continue
            descendants = font.get("/DescendantFonts")
            descriptor = (descendants[0].get_object() if descendants else font).get("/FontDescriptor")
            descriptor = descriptor.get_object() if descriptor else {}
            fonts[str(font["/BaseFont"])] = any(k in descriptor for k in ("/FontFile", "/FontFile2", "/FontFile3"))
    return fonts


@needs_chromium
def test_french_glyphs_print_and_extract(tmp_path):
    (tmp_path / "_static" / "edition").mkdir(parents=True)
    (tmp_path / "_static" / "edition" / "pdf.css").write_text(pdf.CSS.read_text(encoding="utf-8"), encoding="utf-8")
    sample = "Œuvre et cœur, École, « Élan » ≥ 3 t de CO₂ par an ; vraiment ?"
    (tmp_path / "page.html").write_text(
        '<!DOCTYPE html><html lang="fr"><head><meta charset="utf-8">'
        '<link rel="stylesheet" href="_static/edition/pdf.css"></head><body class="edition">'
        f'<section class="couverture"><p class="titre">Couverture</p></section><main><h1>Glyphes</h1>'
        f'<p>{pdf.hyphenate(pdf.french_spacing(sample))}</p><p><em>italique œ</em> <strong>gras É</strong></p>'
        '</main></body></html>', encoding="utf-8")
    report = pdf.print_pdf(tmp_path / "page.html", tmp_path / "page.pdf")
    assert not report.outside and not report.console_errors and report.pages == 2
    text = pdf_text(tmp_path / "page.pdf")
    for glyph in ("Œ", "œ", "É", "«", "»", "≥", "CO₂", "\u202f"):
        assert glyph in text, glyph
    fonts = pdf_fonts(tmp_path / "page.pdf")
    assert fonts and all(fonts.values()), fonts                      # every font embedded
    assert all("DejaVu" in name for name in fonts), fonts            # no fallback font was needed
    assert any("Italic" in name or "Oblique" in name for name in fonts) and any("Bold" in name for name in fonts)


# ---- The whole book --------------------------------------------------------------------------

@pytest.fixture(scope="module")
def book_pdf(built_book):
    """The PDF edition built once for this module, in the HTML book's build folder (the pilot
    chapters and the MyST notebooks were executed for the HTML book), with the edition page it
    was printed from and what the build printed."""
    import contextlib
    import io

    build_dir = built_book.parent
    out = build_dir / "pdf" / "livre-blanc.pdf"
    said = io.StringIO()
    with contextlib.redirect_stdout(said):
        path = pdf.build_pdf(DEFAULT_DATA, out)
    page = build_dir / ".edition" / "_build" / "singlehtml" / pdf.HTML_NAME
    return path, page, said.getvalue()


@pytest.mark.slow
@needs_chromium
def test_the_pdf_after_the_html_book_executes_no_notebook_again(book_pdf):
    said = book_pdf[2]
    assert "rien à exécuter" in said and "exécution de" not in said
    assert "0 cahier(s) exécuté(s) par jupyter-book" in said


@pytest.fixture(scope="module")
def book_text(book_pdf):
    return " ".join(pdf_text(book_pdf[0]).replace("\u00a0", " ").replace("\u202f", " ").split())


@pytest.mark.slow
@needs_chromium
def test_outline_has_one_entry_per_chapter(book_pdf):
    outline = pdf.outline_pages(book_pdf[0])
    docs = pdf.toc_docs()
    chapters = [o for o in outline if o[0] == 1]
    from observatoire.build.toc import toc_entries

    in_toc = len([e for e in toc_entries() if e.depth <= 1])  # the home page and every chapter
    assert len(chapters) == len([d for d in docs if d.depth == 1]) == in_toc
    titles = [re.sub(r"\s+", "", t) for _, t, _ in outline]
    for p in pilots():
        assert any(p.titre.replace(" ", "") in t for t in titles), p.titre
    assert re.sub(r"\s+", "", chapters[-1][1]) == "Bibliographie"
    assert any("Glossaire" in t for _, t, _ in chapters)
    pages = [page for _, _, page in chapters]
    assert pages == sorted(pages) and pages[0] >= 3  # after the cover, colophon and contents


@pytest.mark.slow
@needs_chromium
def test_pdf_shows_a_pilots_computed_numbers(book_text):
    """A pilot's public statistics as its chapter shows them (value, reference level), and its
    scores where the coverage allows one, « non calculé » where it does not."""
    pilot = next(iter(pilots()))
    sheet = territory_sheet(pilot.code, DEFAULT_DATA)
    def flat(s): return " ".join(s.replace("\u202f", " ").replace("\u00a0", " ").split())
    assert flat(fr_int(sheet.territory.population)) in book_text
    table = sheet.display_table()
    observed = table[table["Valeur"] != "à renseigner"]
    assert len(observed) >= 1
    for value in observed["Valeur"]:
        assert flat(value) in book_text, value
    if sheet.index == sheet.index:
        assert flat(fr_number(sheet.index)) in book_text
    else:  # the chapter says why (index_markdown); hyphenation may break the words across lines
        def squash(s): return re.sub(r"[\s\u00ad\u2010-]+", "", s)
        assert squash("L'indice global, moyenne des quatre axes, n'est pas calculé").replace("'", "’") \
            in squash(book_text).replace("'", "’")
    communs = sheet.communs.dropna()
    if len(communs):
        assert flat(fr_number(communs.max())) in book_text and flat(fr_number(communs.min())) in book_text
    assert "Figure 7.1." in book_text  # figures numbered by chapter, with their captions


@pytest.mark.slow
@needs_chromium
def test_no_synthetic_value_beside_a_real_territory_in_the_pdf(book_pdf):
    """Issue #14: the pilot chapters of the PDF carry no fictional territory and no generated
    value; where the PDF shows fictional territories (method annexes), it says they are fictional
    on the same pages."""
    from pypdf import PdfReader

    from observatoire.report.demo import DEMO_SOURCE

    reader = PdfReader(str(book_pdf[0]))
    pages = [" ".join(p.extract_text().split()) for p in reader.pages]
    outline = pdf.outline_pages(book_pdf[0])
    titles = [" ".join(t.split()) for _, t, _ in outline]
    for p in pilots():
        k = next(i for i, t in enumerate(titles) if p.titre in t)
        depth = outline[k][0]
        after = [page for d, _, page in outline[k + 1:] if d <= depth]
        first, last = outline[k][2], (after[0] - 1 if after else len(pages))
        chapter = " ".join(pages[first - 1:last])
        assert "FICTIF-" not in chapter and DEMO_SOURCE not in chapter and "fictif" not in chapter.lower(), p.titre
    for number, text in enumerate(pages, start=1):
        if "FICTIF-" in text or "Valeurs fictives" in text:
            around = " ".join(pages[max(0, number - 3):number]).lower()
            assert "fictif" in around or "fictiv" in around, number


@pytest.mark.slow
@needs_chromium
def test_pdf_has_cover_contents_bibliography_and_glossary(book_pdf, book_text):
    from pypdf import PdfReader

    reader = PdfReader(str(book_pdf[0]))
    cover = reader.pages[0].extract_text()
    assert "Livre Blanc" in cover and "Cerema" in cover and pdf.project_version() in cover and "CC BY 4.0" in cover
    contents = reader.pages[2].extract_text()
    assert "Table des matières" in contents
    # The contents' page numbers are the outline's.
    bibliography = [o for o in pdf.outline_pages(book_pdf[0]) if o[0] == 1][-1]
    assert re.search(rf"Bibliographie\s*{bibliography[2]}\b", contents)
    assert "Références citées" in book_text
    assert "10.1191/030913200701540465" in book_text.replace(" ", "")  # a DOI of the bibliography
    assert "(Alters et al., 2021)" in book_text  # author-year citations, in French (parentheses)
    for glyph in ("œ", "É", "«", "»"):
        assert glyph in book_text


@pytest.mark.slow
@needs_chromium
def test_pdf_fonts_are_embedded_and_its_page_self_contained(book_pdf):
    from observatoire.build.publication import html_outside

    fonts = pdf_fonts(book_pdf[0])
    assert fonts and all(fonts.values()), [f for f, ok in fonts.items() if not ok]
    assert any("DejaVuSerif" in f for f in fonts)
    assert not html_outside(book_pdf[1].read_text(encoding="utf-8"))
