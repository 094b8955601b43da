"""Every figure of the book goes out with its data (issue #18): each code cell of the book that
draws a figure either hands it to ``figure_data.show`` with the table it drew, or is followed by
a cell of its own that calls ``figure_data.show_links`` (or displays ``FigureData.links``) with that table (the figure cell then
keeps one output, for its caption); a map of ``observatoire.report.maps`` carries its data."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import nbformat
from myst_nb.core.read import read_myst_markdown_notebook

from observatoire import paths

DRAWS = re.compile(r"\bfigures\.(?!MARKERS|PALETTE)\w+\(|\bplt\.(?:subplots|figure)\(|\bsns\.\w+plot\(")
MAP = re.compile(r"\bmaps\.(locator_map|choropleth)\(")
#: Sources of the book with code cells, and the territory template.
SOURCES = sorted(p for p in paths.BOOK.rglob("*.md") if "```{code-cell}" in p.read_text(encoding="utf-8"))
SOURCES.append(paths.TEMPLATE)


def code_cells(path: Path) -> list[str]:
    if path.suffix == ".ipynb":
        notebook = nbformat.read(path, as_version=4)
    else:
        notebook = read_myst_markdown_notebook(path.read_text(encoding="utf-8"))
    return [cell.source for cell in notebook.cells if cell.cell_type == "code"]


def test_the_book_has_figures_to_check():
    assert sum(bool(DRAWS.search(c)) for p in SOURCES for c in code_cells(p)) >= 8


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(paths.ROOT)))
def test_every_figure_cell_shows_its_data(path):
    cells = code_cells(path)
    for k, source in enumerate(cells):
        if MAP.search(source):
            continue
        drawn = len(DRAWS.findall(source))
        if not drawn:
            continue
        shown = len(re.findall(r"\bshow\(\s*fig\b", source))
        following = cells[k + 1] if k + 1 < len(cells) else ""
        # show_links(FigureData(…)), or the same links as HTML: HTML(FigureData(…).links(None))
        links = len(re.findall(r"\bFigureData\(", following)) if re.search(r"\bshow_links\(|\.links\(", following) else 0
        data = len(re.findall(r"\bFigureData\(", source))
        assert (shown == drawn and data == drawn) or links == drawn, f"{path.name} : figure sans ses données\n{source}"
