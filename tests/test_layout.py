"""Layout of the book (observatoire.build.layout) and its table of contents: chapters numbered
across parts, annexes lettered, figures numbered by chapter — the same in the HTML book, the
single page the PDF is printed from, and the PDF's own table of contents; the edition PDF link
of the home page never dead; the sidebar never repeats a caption."""

from __future__ import annotations

import pickle
import re
import shutil
from pathlib import Path

import pytest
import yaml

from observatoire.paths import ROOT
from observatoire.build.toc import toc_files
from observatoire.build.layout import MISSING_PDF_COMMAND, PDF_NAME, is_annex_caption, unlink_missing_pdf
from sphinx_project import body, build, written_pages, write_project


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    folder = tmp_path_factory.mktemp("mise-en-page")
    source = write_project(folder / "source")
    build(source, folder / "html")
    return folder, source


def numbers(page: Path, kind: str) -> list[str]:
    """Section or figure numbers in the content of a page (not its sidebar)."""
    return re.findall(rf'class="{kind}">([^<]*)<', body(page))


def test_annexes_are_lettered_and_figures_numbered_by_chapter(project):
    folder, source = project
    html = folder / "html"
    assert numbers(html / "chap1.html", "section-number")[:2] == ["1. ", "1.1. "]
    assert numbers(html / "annexe2.html", "section-number") == ["B. ", "B.1. "]
    assert numbers(html / "chap1.html", "caption-number") == ["Figure 1.1 "]
    assert numbers(html / "annexe2.html", "caption-number") == ["Figure B.1 "]
    chapter = (html / "chap1.html").read_text(encoding="utf-8")
    assert "Figure B.1" in chapter and "Figure 3.1" not in chapter  # a numbered reference follows
    # the sidebar of every page shows the letters
    assert re.search(r"A\. Annexe un", (html / "chap1.html").read_text(encoding="utf-8"))
    # the single page the PDF is printed from numbers the same way
    build(source, folder / "single", builder="singlehtml")
    single = (folder / "single" / "index.html").read_text(encoding="utf-8")
    assert "Figure B.1 " in single and "Figure 1.1 " in single and '"section-number">B.1. <' in single


def test_sphinx_keeps_its_own_numbers_so_a_rebuild_rewrites_no_annex(project):
    folder, source = project
    html = folder / "html"
    env = pickle.loads((html / ".doctrees" / "environment.pickle").read_bytes())
    assert env.toc_secnumbers["annexe2"]["#sous-partie"] == (3, 1)  # letters are for the pages only
    (source / "chap1.md").write_text((source / "chap1.md").read_text(encoding="utf-8") + "\nUne phrase de plus.\n",
                                     encoding="utf-8")
    log = build(source, html).stdout
    written = written_pages(log)
    assert "chap1" in written and not any(p.startswith("annexe") for p in written), written
    assert "Figure B.1" in (html / "chap1.html").read_text(encoding="utf-8")


def test_the_home_page_links_to_the_pdf_only_when_it_exists(project, tmp_path):
    folder, source = project
    site = tmp_path / "site"
    shutil.copytree(folder / "html", site)
    # no PDF: the home page says how to make it, and links to no missing file
    index = (site / "index.html").read_text(encoding="utf-8")
    assert PDF_NAME not in index and MISSING_PDF_COMMAND in index and not (site / PDF_NAME).exists()
    # the PDF appears: the home page alone is re-read, links to it, and the PDF is beside it
    pdf = tmp_path / "pdf" / PDF_NAME
    pdf.parent.mkdir()
    pdf.write_bytes(b"%PDF-1.7\n% edition\n")
    log = build(source, site, pdf=pdf).stdout
    assert "1 changed" in log and "index" in written_pages(log)
    index = (site / "index.html").read_text(encoding="utf-8")
    assert f'href="../{PDF_NAME}"' in index and MISSING_PDF_COMMAND not in index
    assert (site / PDF_NAME).read_bytes() == pdf.read_bytes()
    # and disappears: back to the words, and no stale copy
    pdf.unlink()
    build(source, site, pdf=pdf)
    index = (site / "index.html").read_text(encoding="utf-8")
    assert PDF_NAME not in index and MISSING_PDF_COMMAND in index and not (site / PDF_NAME).exists()


def test_only_links_to_the_pdf_are_replaced():
    markup = ('<p>Voir <a href="../livre-blanc.pdf" download="livre-blanc.pdf">le PDF</a> et '
              '<a href="autre.html">autre</a>.</p>')
    out = unlink_missing_pdf(markup)
    assert PDF_NAME not in out and '<a href="autre.html">autre</a>' in out and MISSING_PDF_COMMAND in out


def test_the_layout_style_sheet_is_served(project):
    folder, _ = project
    assert (folder / "html" / "_static" / "observatoire-layout.css").is_file()
    assert "observatoire-layout.css" in (folder / "html" / "index.html").read_text(encoding="utf-8")


# ---- The book's own table of contents ------------------------------------------------------------

def title_of(entry: str) -> str:
    """The first heading of a chapter (MyST file, or the template of the territory chapters)."""
    path = ROOT / f"{entry}.md"
    if path.exists():
        text = path.read_text(encoding="utf-8")
    else:
        import json

        text = "".join(json.loads((ROOT / "notebooks" / "territoire.ipynb").read_text(encoding="utf-8"))
                       ["cells"][0]["source"])
    return re.search(r"^# (.+)$", text, re.M).group(1).strip()


def test_no_part_caption_repeats_the_title_of_its_chapter():
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))
    for part in toc["parts"]:
        for chapter in part["chapters"]:
            if part.get("caption"):
                assert title_of(chapter["file"]).lower() != part["caption"].strip().lower(), chapter["file"]


def test_parts_are_numbered_and_the_pdf_labels_follow_the_same_rule():
    from observatoire.build import pdf

    toc = yaml.safe_load((ROOT / "_toc.yml").read_text(encoding="utf-8"))
    annexes = [p for p in toc["parts"] if is_annex_caption(p.get("caption"))]
    assert len(annexes) == 1 and annexes[0].get("numbered")
    last = toc["parts"][-1]  # the bibliography: no number, no caption
    assert [c["file"] for c in last["chapters"]] == ["book/bibliographie"] and not last.get("numbered")
    labels = {d.file: d.label for d in pdf.toc_docs()}
    assert [d.file for d in pdf.toc_docs()] == list(toc_files())
    expected, number, letter = {}, 0, 0
    for part in toc["parts"]:
        for chapter in part["chapters"]:
            if not part.get("numbered"):
                expected[chapter["file"]] = ""
            elif is_annex_caption(part.get("caption")):
                expected[chapter["file"]] = "ABCDEFGHIJ"[letter]
                letter += 1
            else:
                number += 1
                expected[chapter["file"]] = str(number)
            for k, section in enumerate(chapter.get("sections", []), 1):
                expected[section["file"]] = f"{expected[chapter['file']]}.{k}"
    assert {f: labels[f] for f in expected} == expected
    assert labels["book/index"] == ""
