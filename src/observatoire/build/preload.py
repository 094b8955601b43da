"""What the build's kernel server prepares before forking the book's kernels
(:func:`observatoire.kernels.kernel_server`): everything the chapters import, and the reference
tables they read."""

from __future__ import annotations

import importlib

#: The kernel server's preload for the book (``module:function``).
PRELOAD = "observatoire.build.preload:preload"
#: What the server imports before forking (besides ipykernel): everything the book's notebooks import.
PRELOADED_MODULES = (
    "numpy", "pandas", "pyarrow", "pyarrow.csv", "matplotlib", "matplotlib.pyplot", "seaborn", "ipywidgets",
    "myst_nb.ext.glue",
    "observatoire.engine.catalogue", "observatoire.engine.pipeline", "observatoire.engine.reference",
    "observatoire.engine.uncertainty", "observatoire.engine.validate",
    "observatoire.report.comparison", "observatoire.report.demo", "observatoire.report.figures",
    "observatoire.report.results", "observatoire.report.sheet", "observatoire.text",
    "observatoire.campus.composite", "observatoire.campus.diagnosis", "observatoire.campus.quiz",
    "observatoire.campus.shock",
)


def preload() -> None:
    """Import what the notebooks import and read the reference tables (read-only, and copied
    into each kernel by the fork)."""
    for name in PRELOADED_MODULES:
        importlib.import_module(name)
    from observatoire.engine.catalogue import load_catalogue
    from observatoire.engine.reference import load_reference
    from observatoire.report.pilots import pilots

    reference = load_reference()
    load_catalogue()
    for pilot in pilots():  # builds the reference's membership tables (0.2 s in every chapter)
        reference.territory(pilot.code)
