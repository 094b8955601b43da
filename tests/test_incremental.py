"""Incremental builds: a chapter is re-executed when one of its inputs changes, and only then."""

import shutil
from dataclasses import replace
from pathlib import Path

import nbformat
import pytest

from observatoire import paths
from observatoire.build.book import build_book, pilot_chapters
from observatoire.build.pipeline import build_summary, stale_chapters
from observatoire.fingerprints import BookInputs, digest_path, record_fingerprint, stored_fingerprint

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def inputs(tmp_path):
    """A private copy of every input of a territory chapter, to change one at a time."""
    base = BookInputs()
    copy = tmp_path / "entrees"
    shutil.copytree(base.catalogue, copy / "catalogue")
    shutil.copytree(base.code[0], copy / "moteur", ignore=shutil.ignore_patterns("__pycache__"))
    (copy / "reference").mkdir()
    for f in ("communes.csv", "datapackage.json"):  # enough to see a change of the reference data
        shutil.copy(base.reference / f, copy / "reference" / f)
    shutil.copy(base.template, copy / "territoire.ipynb")
    shutil.copy(base.extra[0], copy / "territoires.yml")
    shutil.copy(paths.DEFAULT_DATA, copy / "pilotes.csv")
    return BookInputs(template=copy / "territoire.ipynb", catalogue=copy / "catalogue",
                      reference=copy / "reference", code=(copy / "moteur",), extra=(copy / "territoires.yml",))


def executed(chapters, inputs, destination):
    """Pretend every chapter was executed from the current inputs (fingerprint recorded)."""
    destination.mkdir(exist_ok=True)
    for c in chapters:
        nb = nbformat.v4.new_notebook()
        record_fingerprint(nb, c.fingerprint(inputs))
        nbformat.write(nb, destination / f"{c.slug}.ipynb")


def append(path: Path, text: str) -> None:
    with open(path, "a", encoding="utf-8") as f:
        f.write(text)


CHANGES = {
    "gabarit": lambda i, data: append_cell(i.template),
    "donnees": lambda i, data: append(data, "\n"),
    "catalogue": lambda i, data: append(next(i.catalogue.glob("*.csv")), "\n"),
    "reference": lambda i, data: append(i.reference / "communes.csv", "\n"),
    "moteur": lambda i, data: append(i.code[0] / "pipeline.py", "\n# changed\n"),
    "profils des pilotes": lambda i, data: append(i.extra[0], "\n# changed\n"),
}


def append_cell(template: Path) -> None:
    nb = nbformat.read(template, as_version=4)
    nb.cells.append(nbformat.v4.new_markdown_cell("Un paragraphe de plus."))
    nbformat.write(nb, template)


@pytest.mark.parametrize("what", sorted(CHANGES))
def test_changing_one_input_makes_the_chapters_stale(inputs, tmp_path, what):
    data = inputs.template.parent / "pilotes.csv"
    chapters = pilot_chapters(data)
    out = tmp_path / "chapitres"
    executed(chapters, inputs, out)
    assert stale_chapters(chapters, inputs, out) == []
    CHANGES[what](inputs, data)
    # Every pilot chapter reads the whole data file (the uncertainty band depends on all of it).
    assert stale_chapters(chapters, inputs, out) == chapters


def test_unrelated_files_do_not_make_chapters_stale(inputs, tmp_path):
    data = inputs.template.parent / "pilotes.csv"
    chapters = pilot_chapters(data)
    out = tmp_path / "chapitres"
    executed(chapters, inputs, out)
    (inputs.code[0] / "__pycache__").mkdir(exist_ok=True)
    (inputs.code[0] / "__pycache__" / "pipeline.cpython-311.pyc").write_bytes(b"bytecode")
    assert stale_chapters(chapters, inputs, out) == []


def test_only_the_changed_chapter_is_stale(inputs, tmp_path):
    data = inputs.template.parent / "pilotes.csv"
    chapters = pilot_chapters(data)
    out = tmp_path / "chapitres"
    executed(chapters, inputs, out)
    renamed = [replace(c, titre=c.titre + " (bis)") if c.slug == "corse" else c for c in chapters]
    assert [c.slug for c in stale_chapters(renamed, inputs, out)] == ["corse"]
    (out / "bordeaux.ipynb").unlink()
    assert [c.slug for c in stale_chapters(renamed, inputs, out)] == ["bordeaux", "corse"]


def test_digest_of_a_folder_sees_names_and_contents(tmp_path):
    (tmp_path / "a.txt").write_text("1")
    first = digest_path(tmp_path)
    (tmp_path / "a.txt").rename(tmp_path / "b.txt")
    assert digest_path(tmp_path) != first
    (tmp_path / "b.txt").rename(tmp_path / "a.txt")
    assert digest_path(tmp_path) == first
    assert stored_fingerprint(tmp_path / "absent.ipynb") is None


def test_build_summary_reads_sphinx_log():
    log = ("\x1b[01mupdating environment: \x1b[39;49;00m[new config] 35 added, 0 changed, 0 removed\n"
           "x.md: Executed notebook in 3.2 seconds [mystnb]\n")
    assert build_summary(log) == "35 page(s) relue(s), 1 cahier(s) exécuté(s) par jupyter-book"


@pytest.mark.slow
def test_rebuilds_execute_nothing_unchanged(built_book, capsys):
    """After the session's full build: a rebuild with no change re-executes no chapter and no
    notebook; touching one prose chapter re-reads that page only."""
    build_dir = built_book.parent
    capsys.readouterr()
    build_book(paths.DEFAULT_DATA, build_dir)
    out = capsys.readouterr().out
    assert "5 chapitre(s) territoriaux à jour" in out and "exécution de" not in out
    assert "0 page(s) relue(s), 0 cahier(s) exécuté(s)" in out

    prose = ROOT / "book" / "mutations.md"
    prose.touch()  # same content, newer date: Sphinx re-reads it
    build_book(paths.DEFAULT_DATA, build_dir)
    out = capsys.readouterr().out
    assert "1 page(s) relue(s), 0 cahier(s) exécuté(s)" in out
    assert (build_dir / "html" / "book" / "mutations.html").exists()


def test_jupyter_cache_is_asked_again_only_when_a_notebook_or_the_cache_changed(tmp_path, monkeypatch):
    """The MyST notebooks jupyter-cache holds: asked once, then read from the stamp while neither
    the notebooks nor the cache's database change."""
    import jupyter_cache
    from jupyter_cache import get_cache
    from jupyter_cache.base import CacheBundleIn
    from myst_nb.core.read import read_myst_markdown_notebook

    from observatoire.build import pipeline

    page = tmp_path / "cahier.md"
    page.write_text("---\njupytext:\n  text_representation:\n    format_name: myst\nkernelspec:\n  name: python3\n"
                    "  display_name: Python 3\n---\n# Cahier\n\n```{code-cell} ipython3\nprint(1 + 1)\n```\n",
                    encoding="utf-8")
    cache_path = tmp_path / "cache"
    assert pipeline.uncached_notebooks([page], cache_path) == [page]
    assert not (cache_path / pipeline.ALL_CACHED).exists()
    get_cache(str(cache_path)).cache_notebook_bundle(
        CacheBundleIn(read_myst_markdown_notebook(page.read_text(encoding="utf-8")), str(page)),
        check_validity=False, overwrite=True)
    assert pipeline.uncached_notebooks([page], cache_path) == []
    assert (cache_path / pipeline.ALL_CACHED).exists()

    asked = []
    real = jupyter_cache.get_cache
    monkeypatch.setattr(jupyter_cache, "get_cache", lambda *a, **k: asked.append(a) or real(*a, **k))
    assert pipeline.uncached_notebooks([page], cache_path) == [] and asked == []  # from the stamp
    page.write_text(page.read_text(encoding="utf-8").replace("1 + 1", "2 + 2"), encoding="utf-8")
    assert pipeline.uncached_notebooks([page], cache_path) == [page] and len(asked) == 1
