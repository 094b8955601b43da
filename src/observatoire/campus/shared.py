"""The reading side of :mod:`observatoire.campus.prepared`: a kernel gets the exercises' shared
computations from the file named in ``OBSERVATOIRE_CAMPUS_PREPARE``, each value unpickled only
when its exercise asks for it; without the variable, :func:`get` answers None and the caller
computes the value itself."""

from __future__ import annotations

import os
import pickle
from functools import lru_cache
from pathlib import Path

VARIABLE = "OBSERVATOIRE_CAMPUS_PREPARE"


@lru_cache(maxsize=1)
def _parts() -> dict[str, bytes]:
    location = os.environ.get(VARIABLE)
    if not location or not Path(location).is_file():
        return {}
    return pickle.loads(Path(location).read_bytes())


@lru_cache(maxsize=None)
def _value(name: str):
    part = _parts().get(name)
    return None if part is None else pickle.loads(part)


def get(name: str, key=None):
    """The shared value ``name`` (``key`` for the per-argument ones), or None to compute it."""
    value = _value(name)
    if key is not None and value is not None:
        return value.get(key)
    return value


def names() -> list[str]:
    """The names of the shared values in the prepared file (none without it)."""
    return list(_parts())
