"""The exercises' shared computations, done once before the Campus starts and read by every kernel.

Every learner's kernel used to compute the same things on start: validate the fictional data
file, score the fictional territories with the book's choices, normalise them five ways, run the
Monte Carlo of the ranks, score the sixty fictional peers, index the 36 000 territories of the
reference for the search — about a second of processor per kernel for « Construire un indice »
and « Diagnostiquer mon territoire ». With thirty learners
arriving within a minute on two cores, that second competes with every control moved in the room.
So ``observatoire campus`` computes them once, in a child process (the server itself stays free
of pandas), writes them to one file named after the digest of everything they depend on (data,
catalogue, reference, engine and Campus code), and passes its path to the kernels in
``OBSERVATOIRE_CAMPUS_PREPARE``: a kernel reads it in a few hundredths of a second
(:mod:`observatoire.campus.shared`). Without the variable (the book's preview, the tests), each
function computes as before.
"""

from __future__ import annotations

import pickle
import subprocess
import sys
from pathlib import Path

from observatoire import paths
from observatoire.campus import shared

FOLDER = paths.BUILD / "campus"
VARIABLE = shared.VARIABLE


def inputs_digest() -> str:
    from observatoire.fingerprints import code_digest, digest_object, digest_path

    files = {"demo": paths.DATA / "demo", "catalogue": paths.CATALOGUE, "reference": paths.REFERENCE,
             "campus": paths.CAMPUS_DATA}
    return digest_object({"fichiers": {k: digest_path(v) for k, v in files.items()},
                          "code": code_digest((paths.PACKAGE / "engine", paths.PACKAGE / "report",
                                               paths.PACKAGE / "campus", paths.PACKAGE / "text.py")),
                          "python": sys.version})


def compute() -> dict:
    """What the kernels share (each value as the function that reads it returns it)."""
    from observatoire.campus import composite, diagnosis, fiction
    from observatoire.engine import normalise
    from observatoire.engine.reference import load_reference

    communs = tuple(fiction.fictional_data().catalogue.communs.index)
    model = composite.model_of(communs)
    for method in normalise.METHODS:
        model.normalised(method)
    reference = load_reference()
    reference.search("Paris", limit=1)  # builds its search index, kept with it
    return {
        "reference": reference,
        "fictional_data": fiction.fictional_data(),
        "book_scores": fiction.book_scores(),
        "reference_scores": {communs: composite.reference_scores(communs)},
        "model_of": {communs: model},
        "all_methods_ranks": {(communs, composite.N_DRAWS, composite.SEED):
                              composite._all_methods_ranks(communs, composite.N_DRAWS, composite.SEED)},
        "geometric_case": composite.geometric_case(),
        "peer_scores": diagnosis.peer_scores(),
    }


def prepare(folder: Path = FOLDER) -> Path:
    """The file of shared computations for the current inputs (written if absent)."""
    from observatoire.files import write_atomic

    path = Path(folder) / f"calculs-partages-{inputs_digest()[:20]}.pickle"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        for old in path.parent.glob("calculs-partages-*.pickle"):
            old.unlink()
        # Each value pickled apart, so that a kernel unpickles only what its exercise reads.
        parts = {name: pickle.dumps(value, protocol=pickle.HIGHEST_PROTOCOL) for name, value in compute().items()}
        write_atomic(path, pickle.dumps(parts, protocol=pickle.HIGHEST_PROTOCOL))
    return path


def prepare_in_child() -> Path:
    """:func:`prepare` in a child process (the server does not import the engine)."""
    out = subprocess.run([sys.executable, "-c", "from observatoire.campus.prepared import prepare; print(prepare())"],
                         capture_output=True, text=True, check=True)
    return Path(out.stdout.strip().splitlines()[-1])
