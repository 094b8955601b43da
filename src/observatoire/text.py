"""The one French formatter: every number, date and month that people read (book prose through
glue, figures' axes, tables, the CLI, the national site, the Campus, messages) is written here.

French conventions (Imprimerie nationale): decimal comma, narrow no-break space (U+202F) between
groups of thousands, « n.d. » (non disponible) for a missing value, months in words (« mars
2025 », « janv. 2025 » on axes), the typographic minus where asked, « de » before a territory's
name (:func:`of_name`), plurals (:func:`plural`). The book's typography
(:mod:`observatoire.build.typography`) binds numbers to their units in the prose; a caller that
writes « 45 % » itself uses :data:`NO_BREAK_SPACE`.

Which function for which number: :func:`fr_number` at a fixed precision (scores, shares),
:func:`fr_int` for counts, :func:`fr_value` for a measured value with the decimals it was given,
:func:`fr_plain` for the same with a typographic minus (bounds, goalposts), :func:`fr_signed`
for a change (« +3,3 », « −0,5 »), :func:`fr_percent` for a share as a percentage.

Glue values are plain ``str``: myst-nb stores their ``repr`` as ``text/plain`` and reads it
back with ``ast.literal_eval``, so a string round-trips exactly (quotes, ``<script>``, MyST or
LaTeX syntax included) and is shown as a literal text node, never interpreted. A str subclass
with a bare repr would not: « 79,6 » would be read back as the tuple (79, 6).
"""

from __future__ import annotations

import datetime as dt
import math
import numbers
import re

NBSP = "\u202f"  # narrow no-break space, the French thousands separator (name kept for callers)
NNBSP = "\u202f"  # the same, under its own name
NO_BREAK_SPACE = "\u00a0"  # before « : », inside « », between a number and its unit
MINUS = "\u2212"  # the typographic minus sign (matplotlib's axes use it too)
MISSING = "n.d."

#: Month names, and their abbreviations as French dictionaries and INSEE tables write them.
MONTHS = ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre",
          "octobre", "novembre", "décembre")
MONTHS_SHORT = ("janv.", "févr.", "mars", "avr.", "mai", "juin", "juil.", "août", "sept.", "oct.",
                "nov.", "déc.")


def _missing(x) -> bool:
    if x is None:
        return True
    try:
        return bool(x != x)  # NaN, pandas.NA compare unequal to themselves
    except TypeError:  # pandas.NA: its truth value is ambiguous
        return True


def fr_number(x: float | int | None, decimals: int = 1, *, typographic_minus: bool = False) -> str:
    """12345.678 → « 12 345,7 » (U+202F between thousands); missing → « n.d. ».
    ``typographic_minus`` writes a negative number with U+2212 instead of a hyphen."""
    if _missing(x):
        return MISSING
    if isinstance(x, numbers.Real) and not isinstance(x, numbers.Integral) and math.isinf(x):
        return ("-" if x < 0 else "") + "∞"
    text = f"{x:,.{decimals}f}"
    if text.lstrip("-").strip("0,.") == "":  # -0.04 rounded to 0 decimals is « 0 », not « -0 »
        text = text.lstrip("-")
    text = text.replace(",", NNBSP).replace(".", ",")
    return text.replace("-", MINUS) if typographic_minus else text


def fr_int(x: int | None) -> str:
    """267991 → « 267 991 »; missing → « n.d. »."""
    if _missing(x):
        return MISSING
    return fr_number(int(x), 0)


def fr_plain(x: float | int | None, *, typographic_minus: bool = False) -> str:
    """A number with only the decimals it has (:func:`fr_value`), optionally with a typographic
    minus: bounds, goalposts and values quoted back to a person (catalogue, data template,
    validation messages): 0.5 → « 0,5 », 100 → « 100 », 1234.5 → « 1 234,5 »."""
    text = fr_value(x)
    return text.replace("-", MINUS) if typographic_minus else text


def fr_percent(share: float | None, decimals: int = 1, *, space: str = NO_BREAK_SPACE) -> str:
    """A share (0.953) as a percentage « 95,3 % »; ``space`` before « % » (a no-break space by
    default; a plain space in data files read by other programs)."""
    if _missing(share):
        return MISSING
    return fr_number(100 * float(share), decimals) + space + "%"


def fr_date(day: dt.date) -> str:
    """« 1er mars 2026 », « 25 décembre 2026 »."""
    return f"{day.day}{'er' if day.day == 1 else ''} {MONTHS[day.month - 1]} {day.year}"


def fr_month(month: dt.date | str, short: bool = False) -> str:
    """A month in words, « mars 2025 », or abbreviated as the axes of figures show it
    (``short``: « janv. 2025 »). Accepts a period text « 2025-03 » (any other period, such as a
    year, is returned as it is) or a date (a pandas Timestamp, a matplotlib date)."""
    names = MONTHS_SHORT if short else MONTHS
    if isinstance(month, dt.date):
        return f"{names[month.month - 1]} {month.year}"
    match = re.fullmatch(r"(\d{4})-(0[1-9]|1[0-2])", str(month).strip())
    return f"{names[int(match.group(2)) - 1]} {match.group(1)}" if match else str(month)


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
    if _missing(x):
        return MISSING
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
    whole = f"{int(whole.lstrip('-')):,}".replace(",", NNBSP)
    return sign + whole + ("," + decimals if decimals else "")


NO_BREAK = NO_BREAK_SPACE  # between a number and its unit (Imprimerie nationale)


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
