"""French bibliography of the book: a pybtex formatting style, its sorting, and the in-text
citation style of sphinxcontrib-bibtex, each a plug-in found by name through its entry point
(``pyproject.toml``), selected in ``_config.yml``:

- ``bibtex_default_style: livre-fr`` (pybtex.style.formatting): « et » between authors, « et al. »
  for « and others », « éd. » for editors and editions, « Dans » for a chapter in a book,
  « rapport » for a report, « chap. », « p. », « vol. », « n° », « thèse de doctorat »,
  « En ligne : » before an address and « consulté le 3 mars 2025 » for its date of access,
  French month names (« mars 2025 »);
- its sorting (pybtex.style.sorting ``livre-fr``): by author (or editor, or institution), year and
  title, in French alphabetical order — accents and case ignored (« Béné » before « Boyer »),
  institutional authors written ``{{Cerema}}`` sorted with the others by their name, not after
  them (the braces used to sort after every letter);
- ``bibtex_reference_style: auteur-annee`` (sphinxcontrib.bibtex.style.referencing): in-text
  citations « (Holling, 1973 ; Folke, 2006) », « Walker et al. (2004) », « Boyer et Saillard ».

Loaded as a Sphinx extension too (``_config.yml``), only to keep the formatted entries in Sphinx's
environment from one build to the next: sphinxcontrib-bibtex formats every cited entry at every
build, twice (bibliography and hover text), about a second of a rebuild where nothing changed.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from pybtex.richtext import Symbol, Tag, Text
from pybtex.style.formatting.unsrt import Style as UnsrtStyle
from pybtex.style.formatting.unsrt import pages
from pybtex.style.sorting import BaseSortingStyle
from pybtex.style.template import (
    FieldIsMissing,
    first_of,
    href,
    join,
    node,
    optional,
    optional_field,
    sentence,
    tag,
    together,
    words,
)
from pybtex.style.template import field as bib_field

from observatoire.fingerprints import digest_object, digest_path
from observatoire.text import MONTHS, MONTHS_SHORT, fr_date

ET, ET_AL = " et ", "et al."

_ENGLISH_MONTHS = {m: k for k, m in enumerate(
    ("january", "february", "march", "april", "may", "june", "july", "august", "september", "october",
     "november", "december"), 1)}
_ENGLISH_MONTHS.update({m[:3]: k for m, k in list(_ENGLISH_MONTHS.items())})
_ENGLISH_MONTHS["sept"] = 9
_FRENCH_MONTHS = {m: k for k, m in enumerate(MONTHS, 1)}
_FRENCH_MONTHS.update({m.rstrip("."): k for k, m in enumerate(MONTHS_SHORT, 1)})


def french_month(text: str) -> str:
    """« March », « mar », « 3 », « mars » → « mars »; anything else is kept as it is."""
    key = unicodedata.normalize("NFC", text.strip().rstrip(".").lower())
    number = _ENGLISH_MONTHS.get(key) or _FRENCH_MONTHS.get(key) or (int(key) if key.isdigit() else None)
    return MONTHS[number - 1] if number and 1 <= number <= 12 else text


def french_access_date(text: str) -> str:
    """« 2025-03-03 » → « 3 mars 2025 », « 2025-03 » → « mars 2025 »; other texts are kept."""
    m = re.fullmatch(r"\s*(\d{4})-(\d{2})(?:-(\d{2}))?\s*", text)
    if not m:
        return text
    year, month, day = int(m.group(1)), int(m.group(2)), m.group(3)
    try:
        return fr_date(dt.date(year, month, int(day))) if day else f"{MONTHS[month - 1]} {year}"
    except (ValueError, IndexError):
        return text


def _is_others(person) -> bool:
    return str(person).strip().lower() == "others"


@node
def french_names(children, context, role, sep=", ", sep2=ET, last_sep=ET, other=None, limit=None):
    """Persons of ``role`` joined the French way: « A, B et C »; « A et al. » for a list that
    ends with « others », or beyond ``limit`` persons when ``other`` is given."""
    assert not children
    try:
        persons = context["entry"].persons[role]
    except KeyError:
        raise FieldIsMissing(role, context["entry"])
    style = context["style"]
    others = bool(persons) and _is_others(persons[-1])
    real = [p for p in persons if not _is_others(p)]
    if hasattr(style, "format_name"):  # a pybtex formatting style
        formatted = [style.format_name(p, style.abbreviate_names).format_data(context) for p in real]
    else:  # a sphinxcontrib-bibtex reference style
        formatted = [style.person.style_plugin.format(p, style.person.abbreviate).format_data(context) for p in real]
    formatted = [f for f in formatted if f]
    if not formatted:
        raise FieldIsMissing(role, context["entry"])
    et_al = other if other is not None else Text(" ", ET_AL)
    if limit and other is not None and (len(formatted) > limit or others):
        return Text(formatted[0], et_al)  # in-text: « Walker et al. », « Rockström et al. »
    if others:
        return Text(Text(sep).join(formatted), et_al)
    if len(formatted) == 1:
        return formatted[0]
    if len(formatted) == 2:
        return Text(sep2).join(formatted)
    return Text(last_sep).join([Text(sep).join(formatted[:-1]), formatted[-1]])


class Style(UnsrtStyle):
    """pybtex's ``plain`` style (unsrt's templates, sorted) in French."""

    default_sorting_style = "livre-fr"

    def format_entry(self, label, entry, bib_data=None):
        if bib_data is not None:
            return super().format_entry(label, _localised(entry), bib_data=bib_data)
        key = (type(self).__qualname__, label, entry_digest(entry))
        formatted = _FORMATTED.current.get(key) or _FORMATTED.previous.get(key)
        if formatted is None:
            formatted = super().format_entry(label, _localised(entry))
        _FORMATTED.current[key] = formatted
        return formatted

    # -- names ------------------------------------------------------------------------------
    def format_names(self, role, as_sentence=True):
        formatted = french_names(role)
        return sentence[formatted] if as_sentence else formatted

    def format_editor(self, e, as_sentence=True):
        result = join(sep=", ")[french_names("editor"), "éd."]
        return sentence[result] if as_sentence else result

    # -- words ------------------------------------------------------------------------------
    def format_volume_and_series(self, e, as_sentence=True):
        volume_and_series = optional[words[together["vol.", bib_field("volume")],
                                           optional[words["de", bib_field("series")]]]]
        number_and_series = optional[words[join(sep=Symbol("nbsp"))["n°", bib_field("number")],
                                           optional[words["de", bib_field("series")]]]]
        result = first_of[volume_and_series, number_and_series, optional_field("series")]
        return sentence(capfirst=True)[result] if as_sentence else result

    def format_chapter_and_pages(self, e):
        return join(sep=", ")[optional[together["chap.", bib_field("chapter")]],
                              optional[together["p.", pages]]]

    def format_edition(self, e):
        return optional[words[bib_field("edition", apply_func=lambda x: x.lower()), "éd."]]

    def get_article_template(self, e):
        volume_and_pages = first_of[
            optional[join[bib_field("volume"), optional["(", bib_field("number"), ")"], ":", pages]],
            words["p.", pages],
        ]
        return self._toplevel(
            self.format_names("author"),
            self.format_title(e, "title"),
            sentence[tag("em")[bib_field("journal")], optional[volume_and_pages], _date],
            sentence[optional_field("note")],
            self.format_web_refs(e),
        )

    def get_inbook_template(self, e):
        return self._toplevel(
            self.format_author_or_editor(e),
            sentence[self.format_btitle(e, "title", as_sentence=False), self.format_chapter_and_pages(e)],
            self.format_volume_and_series(e),
            sentence[bib_field("publisher"), optional_field("address"), self.format_edition(e), _date,
                     optional_field("note")],
            self.format_web_refs(e),
        )

    def get_incollection_template(self, e):
        return self._toplevel(
            sentence[self.format_names("author")],
            self.format_title(e, "title"),
            words["Dans", sentence[optional[self.format_editor(e, as_sentence=False)],
                                   self.format_btitle(e, "booktitle", as_sentence=False),
                                   self.format_volume_and_series(e, as_sentence=False),
                                   self.format_chapter_and_pages(e)]],
            sentence[optional_field("publisher"), optional_field("address"), self.format_edition(e), _date],
            self.format_web_refs(e),
        )

    def get_inproceedings_template(self, e):
        return self._toplevel(
            sentence[self.format_names("author")],
            self.format_title(e, "title"),
            words["Dans", sentence[optional[self.format_editor(e, as_sentence=False)],
                                   self.format_btitle(e, "booktitle", as_sentence=False),
                                   self.format_volume_and_series(e, as_sentence=False), optional[pages]],
                  self.format_address_organization_publisher_date(e)],
            sentence[optional_field("note")],
            self.format_web_refs(e),
        )

    def get_mastersthesis_template(self, e):
        return self._thesis(e, "Mémoire de master")

    def get_phdthesis_template(self, e):
        return self._thesis(e, "Thèse de doctorat")

    def _thesis(self, e, kind):
        return self._toplevel(
            sentence[self.format_names("author")],
            self.format_btitle(e, "title"),
            sentence[first_of[optional_field("type"), kind], bib_field("school"), optional_field("address"), _date],
            sentence[optional_field("note")],
            self.format_web_refs(e),
        )

    def get_techreport_template(self, e):
        return self._toplevel(
            sentence[self.format_names("author")],
            self.format_title(e, "title"),
            sentence[words[first_of[optional_field("type"), "Rapport"], optional_field("number")],
                     bib_field("institution"), optional_field("address"), _date],
            sentence[optional_field("note")],
            self.format_web_refs(e),
        )

    def format_web_refs(self, e):
        return sentence[
            optional[self.format_url(e), optional[" (consulté le ", bib_field("urldate"), ")"]],
            optional[self.format_eprint(e)],
            optional[self.format_pubmed(e)],
            optional[self.format_doi(e)],
        ]

    def format_url(self, e):
        url = bib_field("url", raw=True)
        return words["En ligne :", href(url)[url]]

    @staticmethod
    def _toplevel(*children):
        from pybtex.style.formatting import toplevel

        return toplevel[list(children)]


_date = words[optional_field("month"), bib_field("year")]


def _localised(entry):
    """A copy of ``entry`` whose month and access date are written in French."""
    changes = {}
    if "month" in entry.fields:
        changes["month"] = french_month(entry.fields["month"])
    if "urldate" in entry.fields:
        changes["urldate"] = french_access_date(entry.fields["urldate"])
    if all(entry.fields[k] == v for k, v in changes.items()):
        return entry
    from pybtex.database import Entry

    copy = Entry(entry.type, fields={**entry.fields, **changes}, persons=entry.persons)
    copy.key = entry.key
    return copy


# ---------------------------------------------------------------------------------------------
# Sorting

def collation_key(text: str) -> str:
    """French alphabetical order, good enough for names and titles: accents, case, braces
    and punctuation ignored, ligatures spelt out (« Œ » → « oe »)."""
    text = text.replace("{", "").replace("}", "").replace("\\", "")
    text = text.replace("œ", "oe").replace("Œ", "Oe").replace("æ", "ae").replace("Æ", "Ae").replace("ß", "ss")
    text = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    text = re.sub(r"[^\w\s]", " ", text.casefold())
    return " ".join(text.split())


class SortingStyle(BaseSortingStyle):
    """Author (or editor, or institution, or title), year, title — in French order."""

    def sorting_key(self, entry):
        return (self.author_key(entry), entry.fields.get("year", ""), collation_key(entry.fields.get("title", "")))

    def author_key(self, entry) -> str:
        for role in ("author", "editor"):
            persons = [p for p in entry.persons.get(role, []) if not _is_others(p)]
            if persons:
                return "   ".join(self.person_key(p) for p in persons)
        for name in ("organization", "institution", "publisher", "title"):
            if entry.fields.get(name):
                return collation_key(entry.fields[name])
        return ""

    @staticmethod
    def person_key(person) -> str:
        return "  ".join(collation_key(" ".join(part)) for part in (
            person.prelast_names + person.last_names, person.first_names + person.middle_names,
            person.lineage_names))


# ---------------------------------------------------------------------------------------------
# In-text citations (sphinxcontrib-bibtex)

def _reference_style():
    from sphinxcontrib.bibtex.style.referencing import BracketStyle, PersonStyle
    from sphinxcontrib.bibtex.style.referencing.author_year import (
        AuthorYearReferenceStyle,
    )

    @dataclass
    class FrenchPersonStyle(PersonStyle):
        sep2: object = ET
        last_sep: object = ET
        other: object = field(default_factory=lambda: Text(" ", Tag("em", ET_AL)))

        def names(self, role, full):
            return french_names(role=role, sep=self.sep, sep2=self.sep2, last_sep=self.last_sep,
                                other=None if full else self.other, limit=None if full else 2)

        def author_or_editor_or_title(self, full):
            return first_of[optional[self.names("author", full)], optional[self.names("editor", full)],
                            tag("em")[bib_field("title")]]

    def brackets():
        return BracketStyle(left="(", right=")", sep=" ; ")

    @dataclass
    class ReferenceStyle(AuthorYearReferenceStyle):
        """Author-year, in parentheses, references separated by « ; », « et », « et al. »."""

        bracket_textual: BracketStyle = field(default_factory=brackets)
        bracket_parenthetical: BracketStyle = field(default_factory=brackets)
        bracket_author: BracketStyle = field(default_factory=brackets)
        bracket_label: BracketStyle = field(default_factory=brackets)
        bracket_year: BracketStyle = field(default_factory=brackets)
        person: PersonStyle = field(default_factory=FrenchPersonStyle)

    return ReferenceStyle


ReferenceStyle = _reference_style()


# ---------------------------------------------------------------------------------------------
# Formatted entries kept from one build to the next

#: This module's code: an entry formatted by another version of the style is formatted again.
_CODE = digest_path(Path(__file__))


def entry_digest(entry) -> str:
    """What the formatting of an entry depends on: its type, fields and names, and the style's code."""
    persons = {role: [str(p) for p in people] for role, people in entry.persons.items()}
    return digest_object([_CODE, entry.key, entry.type, dict(entry.fields), persons])


@dataclass
class _Formatted:
    """The entries formatted by the previous build (from Sphinx's pickled environment) and by
    this one (which the environment pickles for the next, only the ones still cited)."""

    previous: dict = field(default_factory=dict)
    current: dict = field(default_factory=dict)


_FORMATTED = _Formatted()
ENV_ATTRIBUTE = "observatoire_formatted_references"


def _before_reading(app, env, docnames) -> None:
    _FORMATTED.previous = getattr(env, ENV_ATTRIBUTE, {})
    _FORMATTED.current = {}
    setattr(env, ENV_ATTRIBUTE, _FORMATTED.current)


def setup(app):
    """Sphinx extension: the formatted entries live in Sphinx's environment (``env-before-read-docs``)."""
    app.connect("env-before-read-docs", _before_reading)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
