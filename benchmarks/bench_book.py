"""Book builds: clean, no change, one prose chapter edited, a territory's own book, and the
pilot chapters in parallel against one after the other.

The baseline is what Jupyter Book does alone, measured in the same run: the five pilot
chapters prepared from the template with their parameters (papermill ``prepare_only``, no
execution), then ``jupyter-book build`` with ``execute_notebooks: force`` executing every
notebook of the book in sequence, into a fresh folder.

Everything is written under ``_build/bench/`` (the published ``_build/html`` is not touched);
the pilot chapters of ``book/territoires/`` are deleted for the clean build and re-created.
"""

from __future__ import annotations

import contextlib
import io
import shutil
import statistics
import tempfile
import time
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
WORK = ROOT / "_build" / "bench"
REPEATS = 3
TERRITORY_FILE = ROOT / "tests" / "donnees" / "territoire" / "lhay-les-roses.csv"


def _timed(fn, *args, **kwargs) -> float:
    started = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):
        fn(*args, **kwargs)
    return time.perf_counter() - started


def baseline() -> float:
    """Jupyter Book alone: every notebook executed in sequence at build time (force)."""
    import papermill

    from observatoire import paths
    from observatoire.build import book, pipeline

    out = Path(tempfile.mkdtemp(prefix="reference-", dir=WORK))
    try:
        started = time.perf_counter()
        for c in book.pilot_chapters(paths.DEFAULT_DATA):
            papermill.execute_notebook(str(paths.TEMPLATE), str(paths.CHAPTERS / f"{c.slug}.ipynb"),
                                       parameters=c.parameters(), prepare_only=True, progress_bar=False)
            book.finish_chapter(paths.CHAPTERS / f"{c.slug}.ipynb", c.titre)
        config = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
        config["execute"]["execute_notebooks"] = "force"
        config["execute"].pop("exclude_patterns", None)
        (out / "_config.yml").write_text(yaml.safe_dump(config, allow_unicode=True), encoding="utf-8")
        result = pipeline.jupyter_book(out, config=out / "_config.yml", program=pipeline.STOCK_JUPYTER_BOOK)
        elapsed = time.perf_counter() - started
        if result.returncode != 0:
            raise RuntimeError(pipeline.build_problems(result.stdout + result.stderr))
        return elapsed
    finally:
        shutil.rmtree(out, ignore_errors=True)
        for c in book.pilot_chapters(paths.DEFAULT_DATA):  # prepared, not executed: drop them
            (paths.CHAPTERS / f"{c.slug}.ipynb").unlink(missing_ok=True)


def chapters_time(workers: int, forked: bool = False) -> float:
    """The five pilot chapters through papermill, with kernels started the usual way or forked
    by the kernel server (its start-up counted)."""
    import os

    from observatoire import paths
    from observatoire.build import book, kernels, pipeline

    def run():
        previous = os.environ.get(kernels.NO_FORK_VARIABLE)
        os.environ[kernels.NO_FORK_VARIABLE] = "0" if forked else "1"
        try:
            pipeline.execute_everything(book.pilot_chapters(paths.DEFAULT_DATA), [], staging / "cache" / "c", {},
                                        staging, destination=dest, workers=workers)
        finally:
            os.environ.pop(kernels.NO_FORK_VARIABLE)
            if previous is not None:
                os.environ[kernels.NO_FORK_VARIABLE] = previous

    with tempfile.TemporaryDirectory(dir=WORK) as tmp:
        dest, staging = Path(tmp) / "chapitres", Path(tmp) / "staging"
        staging.mkdir()
        return _timed(run)


def run():
    from observatoire import paths
    from observatoire.build import book, pipeline
    from observatoire.build.territory_book import build_territory_book

    WORK.mkdir(parents=True, exist_ok=True)
    build_dir = WORK / "livre"

    def clean_build() -> float:
        shutil.rmtree(build_dir, ignore_errors=True)
        for c in book.pilot_chapters(paths.DEFAULT_DATA):
            (paths.CHAPTERS / f"{c.slug}.ipynb").unlink(missing_ok=True)
        return _timed(book.build_book, paths.DEFAULT_DATA, build_dir)

    # Interleaved, so that the machine's slow spells fall on both alike; medians compared.
    references, cleans = [], []
    for _ in range(REPEATS):
        references.append(baseline())
        cleans.append(clean_build())
    reference, clean = statistics.median(references), statistics.median(cleans)
    yield {"mesure": f"Référence : jupyter-book seul, execute_notebooks: force, séquentiel (médiane de {REPEATS})",
           "valeur": reference, "unite": "s", "mesures": references}
    yield {"mesure": f"Construction à neuf (make book) (médiane de {REPEATS})", "valeur": clean, "unite": "s",
           "mesures": cleans}
    yield {"mesure": "Accélération de la construction à neuf / référence", "valeur": reference / clean,
           "unite": "×", "objectif": 3.0,
           "mesures": [r / c for r, c in zip(references, cleans)]}
    yield {"mesure": "Reconstruction sans changement", "valeur": _timed(book.build_book, paths.DEFAULT_DATA,
           build_dir), "unite": "s", "objectif": 5.0}
    (ROOT / "book" / "mutations.md").touch()
    yield {"mesure": "Reconstruction après modification d'un chapitre de prose",
           "valeur": _timed(book.build_book, paths.DEFAULT_DATA, build_dir), "unite": "s", "objectif": 10.0}

    shutil.rmtree(build_dir / "territoires", ignore_errors=True)
    yield {"mesure": "Livre d'un territoire sur ses données (make territoire), première fois",
           "valeur": _timed(build_territory_book, TERRITORY_FILE, None, build_dir), "unite": "s", "objectif": 30.0}
    yield {"mesure": "Livre d'un territoire, nouvelle exécution sans changement",
           "valeur": _timed(build_territory_book, TERRITORY_FILE, None, build_dir), "unite": "s", "objectif": 30.0}

    sequential, parallel = chapters_time(1), chapters_time(2)
    workers = pipeline.default_workers()
    forked = chapters_time(workers, forked=True)
    yield {"mesure": "5 chapitres pilotes (papermill), séquentiel", "valeur": sequential, "unite": "s"}
    yield {"mesure": "5 chapitres pilotes (papermill), 2 processus", "valeur": parallel, "unite": "s"}
    yield {"mesure": "Accélération parallèle / séquentiel", "valeur": sequential / parallel, "unite": "×"}
    yield {"mesure": f"5 chapitres pilotes, {workers} processus, noyaux du serveur de noyaux", "valeur": forked,
           "unite": "s"}
    yield {"mesure": "Accélération serveur de noyaux / séquentiel", "valeur": sequential / forked, "unite": "×"}
