"""Jinja2, the one way HTML is written (the national site, the PDF edition's cover and contents,
the Campus pages): an environment per template folder, autoescaped, strict about missing
values, with the French number filters of :mod:`observatoire.text`."""

from __future__ import annotations

import math
from functools import lru_cache

from observatoire.text import fr_int, fr_number


def _fr(x, decimals: int = 1) -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "n.d."
    return fr_number(x, decimals)


@lru_cache(maxsize=8)
def environment(directory: str):
    """A Jinja2 environment for the templates of ``directory`` (autoescaped HTML)."""
    import jinja2

    env = jinja2.Environment(loader=jinja2.FileSystemLoader(directory), autoescape=True,
                             undefined=jinja2.StrictUndefined, keep_trailing_newline=True,
                             trim_blocks=True, lstrip_blocks=True)
    env.filters["fr"] = _fr
    env.filters["fr_int"] = lambda x: "n.d." if x is None else fr_int(x)
    return env
