"""Observatoire de la résilience des territoires et des entreprises: the indicator engine.

The data flow reads in the module list, one module per step:

    reference   → real territorial structure (COG 2026)
    catalogue   → indicator metadata (axis, commun, actor, scales, direction, goalposts, source)
    load        → a territory data file as people produce it (CSV/XLSX, any separator/encoding)
    tableschema → Table Schema checks (catalogue files), in French
    validate    → every problem at once, in French, with file line and column
    snapshot    → the value of each indicator used for scoring (latest year/month, 2050 horizon)
    levels      → commune values rolled up to EPCI, département, région and France
    impute      → optional, flagged group-median imputation
    normalise   → indicator scores on 0–100, oriented by the indicator's direction
    weights     → equal or explicit (YAML) weights per level
    aggregate   → commun, axis and overall scores, with a data-availability threshold
    pipeline    → the steps chained, every data set kept and every choice logged
    uncertainty → Monte Carlo over the modelling choices: score and rank intervals, sensitivity
    export      → tidy results as CSV and Parquet with their Data Package (open data)
    demo        → the seeded generator of the pilots' demonstration data
    comparaison → the pilots side by side and against the national (demonstration) distribution
    modele      → the fill-in data template (CSV/XLSX) for a territory
    fiche, figures, texte → what a territory's chapter shows, its figures, French formatting
    livre       → papermill runs of the territory chapter and the Jupyter Book build
"""

import sys

# jsonschema (imported by nbformat, papermill, jupyter-book) imports rfc3987_syntax when it is
# installed (jupyter-events requires it, for Voilà), which compiles 38 Lark grammars: about
# 1.5 s in every process that reads a notebook (the build, its workers, its kernels, Sphinx),
# for two IRI format checks that nothing here uses. With that import failing, jsonschema leaves
# those two checks out, as it does wherever the package is not installed.
sys.modules.setdefault("rfc3987_syntax", None)

from observatoire.errors import Problem, ValidationError  # noqa: E402

__all__ = ["Problem", "ValidationError"]
__version__ = "0.1.0"
