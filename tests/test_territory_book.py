"""A territory's own book: its name and numbers, escaped free text, bad files that change nothing."""

import hashlib
import html
import re
from pathlib import Path

import pytest
import yaml

from observatoire import cli
from observatoire.errors import ValidationError
from observatoire.report.sheet import territory_sheet
from observatoire.build.territory_book import build_territory_book, resolve_territory, slugify, territory_slug
from observatoire.engine.reference import load_reference
from observatoire.text import fr_number
from observatoire.engine.uncertainty import index_interval
from observatoire.engine.validate import validate_file

HERE = Path(__file__).parent / "donnees"
TERRITORY_FILE = HERE / "territoire" / "lhay-les-roses.csv"
CODE, SLUG = "94038", "l-hay-les-roses-94038"
INVALID = HERE / "invalides"
EXPECTED = yaml.safe_load((INVALID / "attendus.yml").read_text(encoding="utf-8"))


def test_slug_is_ascii_name_and_code():
    assert slugify("L'Haÿ-les-Roses") == "l-hay-les-roses"
    assert slugify("Saint-Étienne-du-Rouvray  (76)") == "saint-etienne-du-rouvray-76"
    assert territory_slug(load_reference().territory("DEP-2A")) == "corse-du-sud-dep-2a"


def test_a_file_with_several_territories_needs_a_code(tmp_path):
    data = validate_file(HERE / "valide.csv")
    if data.values["territoire"].nunique() > 1:
        with pytest.raises(ValidationError, match="--code"):
            resolve_territory(data, HERE / "valide.csv", None)
    with pytest.raises(ValidationError, match="aucune valeur"):
        resolve_territory(validate_file(TERRITORY_FILE), TERRITORY_FILE, "33063")


def tree_state(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def territory_book(tmp_path_factory):
    build_dir = tmp_path_factory.mktemp("territoire")
    index = build_territory_book(TERRITORY_FILE, build_dir=build_dir)
    return build_dir, index


def pasted(page: str) -> list[str]:
    """Glued texts; MyST's smartquotes make the apostrophe typographic (’), which is correct."""
    return [html.unescape(t).replace("’", "'")
            for t in re.findall(r'<span class="pasted-text">(.*?)</span>', page, re.S)]


@pytest.mark.slow
def test_the_book_is_built_where_announced(territory_book):
    build_dir, index = territory_book
    assert index == (build_dir / "territoires" / SLUG / "html" / "index.html").resolve()
    assert f"url=book/territoires/livre-{SLUG}.html" in index.read_text(encoding="utf-8")
    home = (index.parent / "book" / "territoires" / f"livre-{SLUG}.html").read_text(encoding="utf-8")
    assert "édition territoriale" in home
    assert "lhay-les-roses.csv" in home


@pytest.mark.slow
def test_the_chapter_shows_the_engines_numbers_for_the_territory(territory_book):
    _, index = territory_book
    page = (index.parent / "book" / "territoires" / f"territoire-{SLUG}.html").read_text(encoding="utf-8")
    sheet = territory_sheet(CODE, TERRITORY_FILE)
    values = pasted(page)
    low, _, high = index_interval(sheet.scores, CODE)
    for expected in ("L'Haÿ-les-Roses", fr_number(sheet.index), fr_number(low), fr_number(high),
                     *(fr_number(v) for v in sheet.axes)):
        assert expected in values
    # The name is a real COG name with an apostrophe: shown whole (typographic or straight).
    assert re.search(r"<h1>L[’']Haÿ-les-Roses", page)
    # Its notice is the one of a territory's own data, never the pilots' demonstration notice.
    assert "Données du territoire" in page and "Données de démonstration" not in page
    assert "données du territoire" in page  # figure captions


@pytest.mark.slow
def test_the_comparison_sets_the_territory_beside_the_pilots(territory_book):
    _, index = territory_book
    page = (index.parent / "book" / "territoires" / f"comparaison-{SLUG}.html").read_text(encoding="utf-8")
    # French typography binds the guillemets to their text (no-break spaces).
    texts = [" ".join(s.replace("\u00a0", " ").replace("\u202f", " ").split()) for s in pasted(page)]
    assert "Les 5 territoires pilotes et le territoire « L'Haÿ-les-Roses (vos données) »" in texts
    assert "L&#39;Haÿ-les-Roses (vos données)" in page or "L'Haÿ-les-Roses (vos données)" in page


@pytest.mark.slow
def test_free_text_from_the_file_never_executes(territory_book):
    _, index = territory_book
    pages = {p: p.read_text(encoding="utf-8") for p in index.parent.rglob("*.html")}
    for path, page in pages.items():
        assert "<script>alert" not in page, path
        assert "<img src=x" not in page, path
        assert 'href="javascript:' not in page, path
    chapter = pages[index.parent / "book" / "territoires" / f"territoire-{SLUG}.html"]
    assert "&lt;script&gt;alert(&#34;source&#34;)&lt;/script&gt;" in chapter
    assert "&lt;img src=x onerror=alert(1)&gt;" in chapter
    # MyST and LaTeX syntax stays literal text, in a table MathJax is told to skip.
    assert "{glue:text}`nom` **gras** :::{admonition} piège $\\def\\piege{1}$" in chapter
    table = chapter[chapter.index("tex2jax_ignore"):]
    assert "\\def\\piege" in table


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_a_bad_file_is_refused_and_the_previous_book_stays(territory_book, name, capsys):
    build_dir, index = territory_book
    before = tree_state(index.parent)
    status = cli.main(["territoire", str(INVALID / name), "--code", CODE, "--sortie", str(build_dir)])
    err = capsys.readouterr().err
    assert status == 1
    assert "Données invalides — rien n'a été modifié." in err
    for problem in EXPECTED[name]:
        assert problem["message"] in err
        if problem["ligne"]:
            assert f"ligne {problem['ligne']}" in err
    assert tree_state(index.parent) == before


def test_at_least_fifteen_malformed_files():
    assert len(EXPECTED) >= 15


def test_make_territoire_requires_a_file():
    import subprocess

    root = Path(__file__).resolve().parents[1]
    result = subprocess.run(["make", "-s", "-C", str(root), "territoire", "STAMP=Makefile"],
                            capture_output=True, text=True)
    assert result.returncode != 0
    assert "make territoire DONNEES=" in result.stderr
