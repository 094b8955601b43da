"""Observatoire de la résilience des territoires et des entreprises: the indicator engine.

The data flow reads in the module list, one module per step:

    reference  → real territorial structure (COG 2026)
    catalogue  → indicator metadata (axis, commun, actor, scales, direction, goalposts, source)
    load       → a territory data file as people produce it (CSV/XLSX, any separator/encoding)
    validate   → every problem at once, in French, with file line and column
    snapshot   → the value of each indicator used for scoring (latest year/month, 2050 horizon)
    normalise  → indicator scores on 0–100, oriented by the indicator's direction
    aggregate  → commun, axis and overall scores (weights from the catalogue or a YAML file)
    pipeline   → the steps chained, every data set kept and every choice logged
    demo       → the seeded generator of the pilots' demonstration data
    livre      → papermill runs of the territory chapter and the Jupyter Book build
"""

from observatoire.errors import Problem, ValidationError

__all__ = ["Problem", "ValidationError"]
__version__ = "0.1.0"
