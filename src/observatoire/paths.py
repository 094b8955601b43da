"""Where things are: the project's folders and the defaults every layer shares (one place).

The project root holds ``data/``, ``book/`` and ``notebooks/``; in a checkout it is two levels
above this package. ``OBSERVATOIRE_RACINE`` points elsewhere (an installed package reading a
checkout's data, or a copy of the project in a test).
"""

from __future__ import annotations

import os
from pathlib import Path

#: The package's own folder (templates and style sheets shipped with it).
PACKAGE = Path(__file__).resolve().parent
#: The project root (``data/``, ``book/``, ``notebooks/``, ``_build/``).
ROOT = Path(os.environ.get("OBSERVATOIRE_RACINE") or PACKAGE.parents[1]).resolve()

DATA = ROOT / "data"
CATALOGUE = DATA / "catalogue"
REFERENCE = DATA / "reference"
SCHEMA = DATA / "schema" / "donnees-territoire.schema.json"
PILOTS = DATA / "pilotes"
PILOTS_FILE = PILOTS / "territoires.yml"
#: The data file the book is built on by default: the pilots' public statistics.
DEFAULT_DATA = PILOTS / "observations.csv"
#: The fictional territories' values (demonstrations of the method, Campus, tests, benchmarks).
DEMO_DATA = DATA / "demo" / "fictif.csv"
CAMPUS_DATA = DATA / "campus"

BOOK = ROOT / "book"
NOTEBOOKS = ROOT / "notebooks"
TEMPLATE = NOTEBOOKS / "territoire.ipynb"
CHAPTERS = BOOK / "territoires"
TOC = ROOT / "_toc.yml"
CONFIG = ROOT / "_config.yml"
BUILD = ROOT / "_build"

#: Environment variable through which the book's notebooks learn which data file to read.
DATA_VARIABLE = "OBSERVATOIRE_DONNEES"


def book_data() -> Path:
    """The data file the book is built on (what the book's notebooks read)."""
    return Path(os.environ.get(DATA_VARIABLE) or DEFAULT_DATA)
