"""The indicator engine: pure computation, usable without the book.

The public API (see the method annex of the book, « Utiliser le moteur comme bibliothèque »)::

    from observatoire.engine import Coin, read_framework, framework_from_coinr

Names are imported on first use, so that ``import observatoire.engine`` stays fast.
"""

from __future__ import annotations

from importlib import import_module

#: Public name → module that defines it.
_PUBLIC = {
    "Coin": "observatoire.engine.coin",
    "Framework": "observatoire.engine.framework",
    "read_framework": "observatoire.engine.framework",
    "framework_from_coinr": "observatoire.engine.framework",
    "NormalisationOptions": "observatoire.engine.normalise",
    "monte_carlo": "observatoire.engine.sensitivity",
    "sobol": "observatoire.engine.sensitivity",
    "sobol_indices": "observatoire.engine.sensitivity",
}

__all__ = sorted(_PUBLIC)


def __getattr__(name: str):
    if name not in _PUBLIC:
        raise AttributeError(f"module 'observatoire.engine' has no attribute '{name}'")
    module = import_module(_PUBLIC[name])
    value = getattr(module, "Options" if name == "NormalisationOptions" else name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(list(globals()) + __all__)
