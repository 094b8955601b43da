"""The HTML book: the pilot chapters (the territory template run by papermill for each pilot)
and the whole Jupyter Book, built by the one pipeline (:mod:`observatoire.build.pipeline`) into
``_build/html``."""

from __future__ import annotations

import os
from pathlib import Path

from observatoire import paths
from observatoire.build.layout import EDITION_VARIABLE, PDF_NAME
from observatoire.build.pipeline import Build, BuildError, run
from observatoire.engine.reference import TerritoryCodeError, load_reference
from observatoire.engine.validate import ValidatedData, validate_file
from observatoire.errors import Problem, ValidationError
from observatoire.build.jobs import Chapter, finish_chapter
from observatoire.report.pilots import pilots

ROOT = paths.ROOT
TEMPLATE = paths.TEMPLATE
CHAPTERS = paths.CHAPTERS
DEFAULT_DATA = paths.DEFAULT_DATA
#: Persistent jupyter-book output of the main book (Sphinx environment).
WORK_NAME = ".livre"

__all__ = ["BuildError", "Chapter", "build_book", "check_inputs", "finish_chapter", "pilot_chapters"]


def pilot_chapters(data_path: Path) -> list[Chapter]:
    return [Chapter(p.code, p.slug, p.titre, Path(data_path)) for p in pilots()]


def check_inputs(data_path: Path, codes: list[str]) -> ValidatedData:
    """Validate the data file and that every territory exists and has data; raise all problems."""
    reference = load_reference()
    data = validate_file(data_path, reference=reference)
    present = set(data.values["territoire"])
    problems = []
    for code in codes:
        try:
            t = reference.territory(code)
        except TerritoryCodeError as exc:
            problems.append(Problem(str(data_path), None, "territoire", code, str(exc)))
            continue
        if t.code not in present:
            problems.append(Problem(str(data_path), None, "territoire", code,
                                    f"aucune valeur pour {t.nom} dans ce fichier"))
    if problems:
        raise ValidationError(problems)
    return data


def build_book(data_path: str | os.PathLike = DEFAULT_DATA, build_dir: str | os.PathLike = paths.BUILD,
               workers: int | None = None) -> Path:
    """Build the whole book into ``build_dir/html``; return the path of the new ``index.html``."""
    data_path = Path(data_path).resolve() if Path(data_path).exists() else Path(data_path)
    build_dir = Path(build_dir)
    chapters = pilot_chapters(data_path)
    # The home page links to the PDF edition made next to the site (make pdf), if there is one.
    edition = {EDITION_VARIABLE: str((build_dir / "pdf" / PDF_NAME).resolve())}
    site = run(Build(data_path=data_path, work=build_dir / WORK_NAME, chapters=chapters,
                     check=lambda: check_inputs(data_path, [c.code for c in chapters]),
                     target=build_dir / "html", build_dir=build_dir, environment=edition), workers)
    return (site / "index.html").resolve()
