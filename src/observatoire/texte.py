"""French formatting of the numbers and names that the book's prose cites through glue."""

from __future__ import annotations

import math
import re

NBSP = "\u202f"  # narrow no-break space, the French thousands separator


class Texte(str):
    """A string glued into prose verbatim: its repr is itself, so myst-nb shows no quotes.

    glue renders the ``text/plain`` representation as a literal text node, so names typed by a
    territory (quotes, ``<script>``, MyST or LaTeX syntax) are shown, never interpreted.
    """

    def __repr__(self) -> str:
        return str(self)


def fr_number(x: float | int | None, decimals: int = 1) -> Texte:
    """12345.678 → « 12 345,7 »; missing → « n.d. » (non disponible)."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return Texte("n.d.")
    text = f"{x:,.{decimals}f}"
    return Texte(text.replace(",", NBSP).replace(".", ","))


def fr_int(x: int) -> Texte:
    return fr_number(int(x), 0)


_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>$~^&:@=])")


def escape_markdown(text: str) -> str:
    """Backslash-escape every character MyST or Markdown could read as syntax."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", " ".join(str(text).split()))
