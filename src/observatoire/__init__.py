"""Observatoire de la résilience des territoires et des entreprises.

The package reads in layers, each importing only from the layers below it (checked by
``tests/test_architecture.py``):

    cli                      the French command line, thin
    build  national  campus  connectors
                             the applications: the book build (HTML, PDF, territory books),
                             the national site, the Campus's Voilà exercises, public APIs
    report                   what people see, computed from the engine: figures, a territory's
                             sheet, the comparison, results shared by the book's pages, the
                             demonstration generator (fictional territories), HTML templates
    engine                   the method, pure computation on DataFrames: reference → catalogue →
                             load → validate → snapshot → denominate → levels → impute →
                             normalise → weights → aggregate → scores → pipeline → uncertainty →
                             export; as a library for any composite index: framework, coin,
                             sensitivity
    paths errors text files fingerprints
                             where things are, French problems and formatting, atomic writes,
                             fingerprints of inputs
"""

from observatoire.errors import Problem, ValidationError

__all__ = ["Problem", "ValidationError"]
__version__ = "0.1.0"
