"""The Campus: interactive exercises (Voilà apps of ``notebooks/campus/``) on the engine.

Each exercise is a thin notebook (instructions, one call, debrief) over a module of this
package, where all the computation and the widgets live, so that the book's static preview,
the tests and the live app run the same code:

================  ==============================  ===========================================
module            exercise                        engine it drives
================  ==============================  ===========================================
``composite``     Construire un indice            pipeline, uncertainty (vectorised model)
``shock``         Choc et résilience              a shock/recovery model over the communs
``diagnosis``     Diagnostiquer mon territoire    reference search, normalisation, aggregation
``quiz``          Quiz                            questions as data (``data/campus/quiz.yml``)
================  ==============================  ===========================================

``fiction`` loads the fictional territories the exercises run on (``data/demo/``), ``ui`` the
frame every exercise shares (prediction, checkpoints, notes, summary), ``svg`` their figures.
``serve`` starts Voilà on them (``observatoire campus``), ``server`` is its web layer,
``prepared`` computes once what every kernel shares and ``shared`` reads it in the kernels;
``preload`` is what the Campus's kernel server (:mod:`observatoire.kernels`) imports and reads
before forking each learner's kernel.
"""

from __future__ import annotations

from observatoire import paths
import os
from dataclasses import dataclass
from pathlib import Path

ROOT = paths.ROOT
NOTEBOOKS = paths.NOTEBOOKS / "campus"
DATA = paths.CAMPUS_DATA

#: Where the book is served for the debrief links: ``observatoire campus`` serves the built
#: book (``_build/html``) under /livre/ next to the exercises. Another address (the published
#: book) can be given in this environment variable.
BOOK_URL_VARIABLE = "OBSERVATOIRE_LIVRE_URL"
DEFAULT_BOOK_URL = "/livre/"


@dataclass(frozen=True)
class Exercise:
    slug: str
    module: str  # the module of this package the notebook drives
    notebook: str
    title: str
    summary: str

    @property
    def path(self) -> Path:
        return NOTEBOOKS / self.notebook


EXERCISES = (
    Exercise("indice", "composite", "01-construire-un-indice.ipynb", "Construire un indice",
             "normaliser, pondérer, agréger les indicateurs de quatre territoires fictifs et voir bouger rangs et "
             "marges d'incertitude"),
    Exercise("choc", "shock", "02-choc-et-resilience.ipynb", "Choc et résilience",
             "faire subir un choc à un territoire fictif, suivre ses effets en cascade entre communs et régler ses "
             "capacités d'absorption, d'adaptation et de transformation"),
    Exercise("diagnostic", "diagnosis", "03-diagnostiquer-mon-territoire.ipynb", "Diagnostiquer mon territoire",
             "chercher un territoire réel, saisir les valeurs que l'on connaît et les lire face à des territoires "
             "fictifs"),
    Exercise("quiz", "quiz", "04-quiz.ipynb", "Quiz", "vérifier les notions clés du livre, avec une explication "
             "pour chaque réponse ; la première réponse compte"),
)


def book_url(page: str, anchor: str | None = None) -> str:
    """Address of a chapter of the book (``page`` as in _toc.yml, e.g. ``book/resilience``)."""
    base = os.environ.get(BOOK_URL_VARIABLE, DEFAULT_BOOK_URL)
    if not base.endswith("/"):
        base += "/"
    return f"{base}{page}.html" + (f"#{anchor}" if anchor else "")
