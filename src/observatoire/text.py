"""French formatting of the numbers and names that the book's prose cites through glue.

Glue values are plain ``str``: myst-nb stores their ``repr`` as ``text/plain`` and reads it
back with ``ast.literal_eval``, so a string round-trips exactly (quotes, ``<script>``, MyST or
LaTeX syntax included) and is shown as a literal text node, never interpreted. A str subclass
with a bare repr would not: « 79,6 » would be read back as the tuple (79, 6).
"""

from __future__ import annotations

import math
import re

NBSP = "\u202f"  # narrow no-break space, the French thousands separator


def fr_number(x: float | int | None, decimals: int = 1) -> str:
    """12345.678 → « 12 345,7 »; missing → « n.d. » (non disponible)."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "n.d."
    text = f"{x:,.{decimals}f}"
    return text.replace(",", NBSP).replace(".", ",")


def fr_int(x: int) -> str:
    return fr_number(int(x), 0)


_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|<>$~^&:@=])")


def escape_markdown(text: str) -> str:
    """Backslash-escape every character MyST or Markdown could read as syntax."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", " ".join(str(text).split()))


NO_BREAK = "\u00a0"  # between a number and its unit (Imprimerie nationale)
MINUS = "\u2212"


def plural(n: float | int, singular: str, plural_form: str | None = None, decimals: int = 0) -> str:
    """A count with its noun, agreed the French way (plural from 2): « 0 point », « 1,5 point »,
    « 2 points », « 12 exercices ouverts ». ``plural_form`` defaults to ``singular`` + « s »."""
    word = singular if abs(n) < 2 else (plural_form or singular + "s")
    return f"{fr_number(n, decimals).replace('-', MINUS)}{NO_BREAK}{word}"


def fr_signed(x: float, decimals: int = 1) -> str:
    """12.34 → « +12,3 », −0.5 → « −0,5 » (typographic minus), 0 → « 0,0 »."""
    text = fr_number(abs(x), decimals)
    if text.strip("0,") == "":
        return text
    return ("+" if x > 0 else MINUS) + text
