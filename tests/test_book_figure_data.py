"""Every figure of the book goes out with its data (issue #18): each code cell of the book that
draws a figure hands it to ``figure_data.show`` with the table it drew, or draws a map of
``observatoire.report.maps``, which carries its data."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from myst_nb.core.read import read_myst_markdown_notebook

from observatoire import paths

DRAWS = re.compile(r"\bfigures\.(?!MARKERS|PALETTE)\w+\(|\bplt\.(?:subplots|figure)\(|\bsns\.\w+plot\(")
MAP = re.compile(r"\bmaps\.(locator_map|choropleth)\(")
#: Sources of the book with code cells. The territory template (notebooks/territoire.ipynb) joins
#: this list once its figure cells call ``show`` (cells given to the lead with issue #18).
SOURCES = sorted(p for p in paths.BOOK.rglob("*.md") if "```{code-cell}" in p.read_text(encoding="utf-8"))


def code_cells(path: Path) -> list[str]:
    notebook = read_myst_markdown_notebook(path.read_text(encoding="utf-8"))
    return [cell.source for cell in notebook.cells if cell.cell_type == "code"]


def test_the_book_has_figures_to_check():
    assert sum(bool(DRAWS.search(c)) for p in SOURCES for c in code_cells(p)) >= 8


@pytest.mark.parametrize("path", SOURCES, ids=lambda p: str(p.relative_to(paths.ROOT)))
def test_every_figure_cell_shows_its_data(path):
    for source in code_cells(path):
        if MAP.search(source):
            continue
        drawn = len(DRAWS.findall(source))
        if not drawn:
            continue
        shown = len(re.findall(r"\bshow\(\s*fig\b", source))
        data = len(re.findall(r"\bFigureData\(", source))
        assert shown == drawn and data == drawn, f"{path.name} : figure sans ses données\n{source}"
