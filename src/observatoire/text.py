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


# -- « de » before a territory's name (elision and contraction) ---------------------------

_VOWELS = frozenset("AEIOUYÀÂÄÉÈÊËÎÏÔÖÙÛÜŸŒÆaeiouyàâäéèêëîïôöùûüÿœæ")
_APOSTROPHES = ("'", "\u2019")
# EPCI names that begin with their kind: « de la CC du Pays de Gex », « de l'Eurométropole… ».
_EPCI_KINDS = ("CC", "CA", "CU", "Communauté", "Métropole", "Eurométropole")
# Départements and régions take their article (INSEE's « type de nom en clair »): masculine
# « du », plural « des », none; the others « de l' » before a vowel (and Hérault) or « de la ».
_MASCULINE = frozenset((
    "Calvados", "Cantal", "Cher", "Doubs", "Finistère", "Gard", "Gers", "Jura", "Loiret", "Lot",
    "Lot-et-Garonne", "Loir-et-Cher", "Maine-et-Loire", "Morbihan", "Nord", "Pas-de-Calais",
    "Puy-de-Dôme", "Bas-Rhin", "Haut-Rhin", "Rhône", "Tarn", "Tarn-et-Garonne", "Var", "Vaucluse",
    "Val-de-Marne", "Val-d'Oise", "Territoire de Belfort", "Centre-Val de Loire", "Grand Est",
))
_PLURAL = frozenset((
    "Alpes-de-Haute-Provence", "Hautes-Alpes", "Alpes-Maritimes", "Ardennes", "Bouches-du-Rhône",
    "Côtes-d'Armor", "Deux-Sèvres", "Landes", "Pyrénées-Atlantiques", "Hautes-Pyrénées",
    "Pyrénées-Orientales", "Vosges", "Yvelines", "Hauts-de-Seine", "Hauts-de-France",
    "Pays de la Loire",
))
_NO_ARTICLE = frozenset(("Paris", "Mayotte", "Provence-Alpes-Côte d'Azur"))


def of_name(name: str, level: str = "commune") -> str:
    """« de » followed by a territory's name, as French writes it.

    Communes (and EPCI named after their town): elision before a vowel (« d'Ambérieu-en-Bugey »),
    contraction of the article (« du Havre », « des Mureaux »), « de La Rochelle »,
    « de L'Haÿ-les-Roses »; no elision before *h*, aspirated in most place names (« de
    Haguenau »). EPCI named by their kind: « de la CC du Pays de Gex ». Départements and
    régions with their article: « de l'Ain », « du Rhône », « des Landes », « de la Gironde »,
    « de Paris ». France: « de la France ».
    """
    name = " ".join(str(name).split())
    if not name:
        return "de"
    if level == "france":
        return f"de la {name}"
    if level in ("departement", "region"):
        if name in _NO_ARTICLE:
            return f"de {name}"
        if name in _MASCULINE:
            return f"du {name}"
        if name in _PLURAL:
            return f"des {name}"
        if name[0] in _VOWELS or name == "Hérault":
            return f"de l'{name}"
        if not name.startswith(("La ", "L'", "L\u2019")):
            return f"de la {name}"
        return f"de {name}"
    if level == "epci":
        first = name.split()[0]
        if first in _EPCI_KINDS:
            return f"de l'{name}" if first[0] in _VOWELS else f"de la {name}"
    for article, contracted in (("Le ", "du "), ("Les ", "des ")):
        if name.startswith(article) and len(name) > len(article):
            return contracted + name[len(article):]
    if name.startswith(("La ", *(f"L{a}" for a in _APOSTROPHES))):
        return f"de {name}"
    if name[0] in _VOWELS:
        return f"d'{name}"
    return f"de {name}"


# -- a value as it was given ---------------------------------------------------------------

def fr_value(x: float | int | None, max_decimals: int = 6) -> str:
    """A measured value with the decimals it was given, never rounded to a fixed precision:
    1.694 → « 1,694 », 81.5 → « 81,5 », 12345 → « 12 345 »; missing → « n.d. ».

    Values come from data files that state their own precision (a price in €/L has three
    decimals, a share in % one): the shortest decimal form of the float, up to
    ``max_decimals`` decimals (beyond that, binary noise such as 0.1 + 0.2).
    """
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "n.d."
    text = f"{float(x):.{max_decimals}f}".rstrip("0").rstrip(".")
    shortest = repr(float(x))
    if "e" not in shortest and "." in shortest and len(shortest.split(".")[1]) < max_decimals:
        text = shortest.rstrip("0").rstrip(".")
    if text in ("-0", "0", "") and x != 0:  # smaller than the decimals shown: keep it visible
        return f"{float(x):.3g}".replace(".", ",")
    if text in ("-0", ""):
        text = "0"
    whole, _, decimals = text.partition(".")
    sign = "-" if whole.startswith("-") else ""
    whole = f"{int(whole.lstrip('-')):,}".replace(",", NBSP)
    return sign + whole + ("," + decimals if decimals else "")


_MONTH_NAMES = ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre",
                "octobre", "novembre", "décembre")


def fr_month(period: str) -> str:
    """« 2025-03 » → « mars 2025 » (a period that is not a month is returned as it is)."""
    match = re.fullmatch(r"(\d{4})-(0[1-9]|1[0-2])", str(period))
    return f"{_MONTH_NAMES[int(match.group(2)) - 1]} {match.group(1)}" if match else str(period)
