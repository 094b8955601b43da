"""What the Campus's kernel server prepares before forking a learner's kernel
(:func:`observatoire.kernels.kernel_server`, started by ``observatoire campus``).

A learner's kernel started the usual way spends about two seconds of processor before the
exercise's first line runs: a new Python process, ipykernel, pandas, ipywidgets, the engine, then
reading the exercises' shared computations (:mod:`observatoire.campus.prepared`). With thirty
learners arriving within a minute on two cores, and Voilà refilling its pool of preheated kernels
behind them, those seconds are what made every control moved in the room wait. Forked from a
server that has done all this once, a kernel starts with everything in memory (shared, copy on
write, between the kernels), and only the exercise's own widgets are left to build.
"""

from __future__ import annotations

import importlib

#: The kernel server's preload for the Campus (``module:function``).
PRELOAD = "observatoire.campus.preload:preload"
#: What a learner's kernel imports besides ipykernel: the widgets and the four exercises' modules.
PRELOADED_MODULES = (
    "numpy", "pandas", "ipywidgets",
    "observatoire.campus.composite", "observatoire.campus.diagnosis", "observatoire.campus.quiz", "observatoire.campus.shock",
)


def preload() -> None:
    """Import the exercises' modules and read everything they share (the prepared computations
    named in ``OBSERVATOIRE_CAMPUS_PREPARE``, the quiz, the shocks, the fictional territories)."""
    for name in PRELOADED_MODULES:
        importlib.import_module(name)
    from observatoire.campus import composite, diagnosis, fiction, quiz, shared, shock

    for name in shared.names():
        shared.get(name)
    fiction.fictional_data()
    composite.exercise_data()
    diagnosis.reference()
    quiz.questions()
    shock.shocks()
    shock.dependencies()
    shock.baselines()
