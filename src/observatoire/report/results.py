"""Results that several pages compute alike, computed once per build and read from files.

Every pilot chapter, the comparison chapter and the uncertainty annex score the book's data
file with the book's reference choices, and several of them run its Monte Carlo draws. The book
build (:mod:`observatoire.build.pipeline`) computes both once, in its own process, before any
notebook runs, writes them to files in a folder named by the digest of their inputs, and tells
the notebooks' kernels where through ``OBSERVATOIRE_CALCULS`` (:func:`shared_results`).

:func:`scored_file` and :func:`draws` read those files when they are there for this exact file
and code, and compute otherwise (the CLI, the Campus, the tests): the numbers are the same either
way. Every caller gets its own copy: nothing shared is mutable.
"""

from __future__ import annotations

import contextlib
import os
import pickle
from collections.abc import Iterator
from pathlib import Path

from observatoire.engine.pipeline import Scores, score_data_file
from observatoire.engine.uncertainty import DEFAULT_DRAWS, DEFAULT_SEED, Uncertainty, monte_carlo
from observatoire.files import write_atomic
from observatoire.fingerprints import code_digest, digest_object, digest_path, engine_files

#: Environment variable naming the folder of the results computed for this build.
RESULTS_VARIABLE = "OBSERVATOIRE_CALCULS"
SCORES_NAME, DRAWS_NAME = "scores.pickle", "tirages.pickle"


def inputs_digest(data_path: str | os.PathLike, demonstration: bool = False) -> str:
    """Digest of everything the shared results depend on: the data file, the catalogue, the
    reference, the code, and the kind of run."""
    shared = {name: digest_path(path) for name, path in engine_files().items() if not name.startswith("code:")}
    return digest_object({"donnees": digest_path(data_path), "partage": shared, "code": code_digest(),
                          "demonstration": demonstration, "tirages": [DEFAULT_DRAWS, DEFAULT_SEED]})


def _folder(data_path, demonstration: bool) -> Path | None:
    root = os.environ.get(RESULTS_VARIABLE)
    if not root:
        return None
    folder = Path(root) / inputs_digest(data_path, demonstration)[:24]
    return folder if folder.is_dir() else None


def _load(folder: Path | None, name: str):
    if folder is None or not (folder / name).is_file():
        return None
    with open(folder / name, "rb") as f:
        return pickle.load(f)


def scored_file(data_path: str | os.PathLike, demonstration: bool = False):
    """(Scores, ValidatedData) of a data file with the book's reference choices: the build's
    copy when there is one for this file, else computed."""
    kept = _load(_folder(data_path, demonstration), SCORES_NAME)
    if kept is not None:
        return kept
    return score_data_file(data_path, demonstration=demonstration)


def draws(data_path: str | os.PathLike, demonstration: bool = False) -> Uncertainty:
    """The Monte Carlo draws (default space, draws and seed) of a data file's scores: the
    build's copy when there is one, else computed."""
    kept = _load(_folder(data_path, demonstration), DRAWS_NAME)
    if kept is not None:
        return kept
    scores, _ = scored_file(data_path, demonstration)
    return monte_carlo(scores, DEFAULT_DRAWS, DEFAULT_SEED)


def environment() -> dict[str, str]:
    """The variable that points processes started now to the shared results (empty if none)."""
    root = os.environ.get(RESULTS_VARIABLE)
    return {RESULTS_VARIABLE: root} if root else {}


@contextlib.contextmanager
def shared_results(data_path: str | os.PathLike, root: str | os.PathLike,
                   demonstration: bool = False) -> Iterator[Path | None]:
    """Compute the shared results of ``data_path`` into ``root`` (unless already there) and set
    ``OBSERVATOIRE_CALCULS`` for the block. A file that does not validate is left to the pages
    (which report it): nothing is shared then."""
    from observatoire.errors import ValidationError

    folder = Path(root) / inputs_digest(data_path, demonstration)[:24]
    if not (folder / DRAWS_NAME).is_file():
        try:
            scored = score_data_file(data_path, demonstration=demonstration)
        except (ValidationError, OSError):
            yield None
            return
        folder.mkdir(parents=True, exist_ok=True)
        write_atomic(folder / SCORES_NAME, pickle.dumps(scored, protocol=pickle.HIGHEST_PROTOCOL))
        write_atomic(folder / DRAWS_NAME, pickle.dumps(monte_carlo(scored[0], DEFAULT_DRAWS, DEFAULT_SEED),
                                                       protocol=pickle.HIGHEST_PROTOCOL))
    previous = os.environ.get(RESULTS_VARIABLE)
    os.environ[RESULTS_VARIABLE] = str(Path(root))
    try:
        yield folder
    finally:
        if previous is None:
            os.environ.pop(RESULTS_VARIABLE, None)
        else:
            os.environ[RESULTS_VARIABLE] = previous


__all__ = ["RESULTS_VARIABLE", "Scores", "draws", "environment", "scored_file", "shared_results"]
