"""French typography of the book (observatoire.build.typography): the rules on plain text, on
pieces of a paragraph, on raw HTML, on docutils documents, and in a real Sphinx build (HTML and
singlehtml, the PDF's source) — what must change, and what must not (code, math, URLs,
attributes)."""

from __future__ import annotations

import re

import pytest

from observatoire.build.typography import (
    NBSP,
    NNBSP,
    count_spacing,
    french_spacing,
    typeset_doctree,
    typeset_html,
    typeset_runs,
)
from sphinx_project import body, build, write_project


# ---- Plain text -------------------------------------------------------------------------------

@pytest.mark.parametrize("typed, expected", [
    ("Pourquoi ? Parce que ; voici : « oui » !", f"Pourquoi{NNBSP}? Parce que{NNBSP}; voici{NBSP}: «{NBSP}oui{NBSP}»{NNBSP}!"),
    ("«oui»", f"«{NBSP}oui{NBSP}»"),
    ("« Quoi ? »", f"«{NBSP}Quoi{NNBSP}?{NBSP}»"),
    ("Il fait 2 °C de plus", f"Il fait 2{NBSP}°C de plus"),
    ("45 % des ménages, 45% des autres", f"45{NBSP}% des ménages, 45{NBSP}% des autres"),
    ("2°C et 3€", f"2{NBSP}°C et 3{NBSP}€"),
    ("3 000 € et 12 km, 1 234 567,8 habitants",
     f"3{NNBSP}000{NBSP}€ et 12{NBSP}km, 1{NNBSP}234{NNBSP}567,8{NBSP}habitants"),
    ("3 millions de tonnes, 12 m² et 5 MWh", f"3{NBSP}millions de tonnes, 12{NBSP}m² et 5{NBSP}MWh"),
    ("la loi n° 2021-1104, p. 12", f"la loi n°{NBSP}2021-1104, p.{NBSP}12"),
    ("Voici :\nla suite", f"Voici{NBSP}:\nla suite"),
])
def test_french_spacing_of_what_authors_type(typed, expected):
    assert french_spacing(typed) == expected
    assert french_spacing(expected) == expected  # nothing more to do the second time
    assert count_spacing(expected) == 0


@pytest.mark.parametrize("text", [
    "Resilience: are they related?",   # English titles of the bibliography: no space, none added
    "entre 2020 et 2030",              # years are not groups of thousands
    "à 14:30, le ratio 1:2",
    "x !important",                    # « ! » not followed by a space or an end
    "3 mètres et 3 moutons",           # « m » is a unit only as a whole word
    "l'appel, version 3 et suivantes",
    "app. 3",
])
def test_french_spacing_leaves_other_texts_alone(text):
    assert french_spacing(text) == text
    assert count_spacing(text) == 0


def test_the_count_is_the_number_of_spaces_put_in():
    text = "Un ; deux : « trois » 4 % et 5 000 €"
    assert count_spacing(text) == 7
    changed = french_spacing(text)
    assert sum(changed.count(c) for c in (NBSP, NNBSP)) == 7


def test_pieces_of_a_paragraph_are_read_together_and_opaque_pieces_kept():
    # a glued number, then the prose around it: the number is bound to its unit across nodes
    assert typeset_runs(["45,2", " % des ménages"]) == (["45,2", f"{NBSP}% des ménages"], 1)
    # code (None) stays; the spaces around it follow the rules
    pieces, n = typeset_runs(["Voir ", None, " ; et « ", None, " »"])
    assert pieces == ["Voir ", None, f"{NNBSP}; et «{NBSP}", None, f"{NBSP}»"] and n == 3
    # an insertion next to an opaque piece goes into the text beside it, never into the piece
    assert typeset_runs(["«", None, "»"]) == ([f"«{NBSP}", None, f"{NBSP}»"], 2)
    # a space split between two pieces becomes one no-break space
    assert typeset_runs(["Quoi ", " ?"]) == (["Quoi" + NNBSP, "?"], 1)


# ---- Raw HTML (notebook outputs) --------------------------------------------------------------

def test_raw_html_text_is_typeset_but_tags_attributes_and_code_are_not():
    markup = ('<table class="x"><tr><td title="Source : attribut ; x">Source : INSEE</td>'
              '<td><code>a ; b</code> !</td><td><a href="https://x.fr">https://x.fr/?a ;</a></td>'
              '<td>45 % &amp; « oui »</td></tr></table><!-- a ; b -->'
              '<script>var s = "x ; y : z";</script><style>p::after { content: " ;" }</style>'
              '<pre>code ; brut</pre><span class="math">\\(x : y\\)</span><img alt="a : b" src="i.png"> !')
    out, n = typeset_html(markup)
    assert f"Source{NBSP}: INSEE" in out and f"</code>{NNBSP}!" in out and f"45{NBSP}% &amp; «{NBSP}oui{NBSP}»" in out
    assert f'src="i.png">{NNBSP}!' in out
    for kept in ('title="Source : attribut ; x"', "<code>a ; b</code>", ">https://x.fr/?a ;</a>", "<!-- a ; b -->",
                 'var s = "x ; y : z";', 'content: " ;"', "<pre>code ; brut</pre>", "\\(x : y\\)", 'alt="a : b"'):
        assert kept in out, kept
    assert n == 6
    assert typeset_html(out) == (out, 0)


# ---- Docutils documents -----------------------------------------------------------------------

def test_docutils_document_typeset_except_literals_math_urls_and_attributes():
    from docutils.core import publish_doctree

    doctree = publish_doctree(
        "Titre : sous-titre\n==================\n\n"
        "Un texte ; avec ``a ; b`` et :math:`x : y` et https://exemple.fr/?a=1 ; fin.\n\n"
        ".. image:: i.png\n   :alt: Image : alt ; texte\n\n"
        "::\n\n   code ; brut : « x »\n",
        settings_overrides={"report_level": 5})
    n = typeset_doctree(doctree)
    text = doctree.astext()
    assert f"Titre{NBSP}: sous-titre" in text
    assert f"Un texte{NNBSP}; avec a ; b et x : y et https://exemple.fr/?a=1{NNBSP}; fin." in text
    assert "code ; brut : « x »" in text
    image = next(iter(doctree.findall(lambda node: node.tagname == "image")))
    assert image["alt"] == "Image : alt ; texte"
    assert n == 3
    assert typeset_doctree(doctree) == 0


# ---- A real Sphinx build ------------------------------------------------------------------------

@pytest.fixture(scope="module")
def site(tmp_path_factory):
    folder = tmp_path_factory.mktemp("typographie")
    source = write_project(folder / "source")
    log = build(source, folder / "html").stdout
    build(source, folder / "single", builder="singlehtml")
    return folder, log


def test_built_pages_are_typeset_in_html_and_singlehtml(site):
    folder, _ = site
    for page in (folder / "html" / "index.html", folder / "single" / "index.html"):
        html = page.read_text(encoding="utf-8")
        assert (f"Un texte{NNBSP}; avec «{NBSP}guillemets{NBSP}» et 45{NBSP}% de 3{NNBSP}000{NBSP}€{NBSP}: "
                f"voilà{NNBSP}! Il fait 2{NBSP}°C.") in html
        assert f"Accueil{NBSP}: le livre" in html  # titles too (and the table of contents)
        assert f"Source{NBSP}: INSEE" in html  # raw HTML
        # left alone: inline code, math, a URL, an attribute, a code block, a raw HTML attribute
        assert re.search(r"<code[^>]*>.*a.*;.*b.*:.*«.*c.*».*</code>", html), "inline code"
        assert "x : y ; z" in html
        assert ">https://exemple.fr/?a=1 ;</a>" in html
        assert 'alt="Image : texte de remplacement ; inchangé"' in html
        assert 'title="Source : attribut"' in html
        code_block = re.search(r'<div class="highlight"><pre>(.*?)</pre>', html, re.S).group(1)
        assert NBSP not in code_block and NNBSP not in code_block and "°C" in code_block
    single = (folder / "single" / "index.html").read_text(encoding="utf-8")
    assert f"Légende{NBSP}: une figure." in single  # the other documents of the single page too


def test_the_build_reports_how_many_spaces_it_put_in(site):
    folder, log = site
    m = re.search(r"typographie française : ([\d\u202f]+) espaces insécables placées dans (\d+) page", log)
    assert m, log[-1000:]
    reported, pages = int(m.group(1).replace(NNBSP, "")), int(m.group(2))
    assert pages == 5
    # every space the typography put in is a no-break space of a page's content; the
    # bibliography also holds pybtex's own ties (« C. S. », « p. 77 »), the others none
    found = sum(body(folder / "html" / f"{page}.html").count(c) for page in ("index", "chap1", "annexe1", "annexe2")
                for c in (NBSP, NNBSP))
    references = re.sub(r"<[^>]+>", "", body(folder / "html" / "biblio.html"))
    ours = references.count(f"2024{NNBSP};") + references.count(f"En ligne{NBSP}:")
    assert ours == 2
    assert reported == found + ours


def test_parallel_and_serial_builds_write_the_same_pages(site, tmp_path):
    """The extension declares itself safe for Sphinx's parallel reading and writing: the
    counts kept per page are merged from the reading processes, and the pages are the same."""
    folder, serial_log = site
    source = folder / "source"
    parallel_log = build(source, tmp_path / "html", jobs=2).stdout
    count = re.compile(r"typographie française : .*")
    assert count.search(parallel_log).group(0) == count.search(serial_log).group(0)
    for page in ("index", "chap1", "annexe2", "biblio"):
        assert body(tmp_path / "html" / f"{page}.html") == body(folder / "html" / f"{page}.html"), page


def test_text_quoted_from_a_data_file_is_left_as_its_author_wrote_it():
    from observatoire.build.typography import typeset_html

    markup = ('<table class="tex2jax_ignore texte-donnees"><tr><td>Source : « INSEE » ; 45 %</td></tr></table>'
              "<p>Source : « INSEE » ; 45 %</p>")
    out, count = typeset_html(markup)
    assert '<td>Source : « INSEE » ; 45 %</td>' in out
    assert "<p>Source\u00a0: «\u00a0INSEE\u00a0»\u202f; 45\u00a0%</p>" in out and count == 5
