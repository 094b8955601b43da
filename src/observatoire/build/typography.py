"""French typography of the book, applied by Sphinx to every page, in the HTML book and in the
PDF edition alike (the edition prints the ``singlehtml`` build, which goes through the same
transforms): authors type ordinary spaces, readers get the Imprimerie nationale's rules.

- a narrow no-break space (U+202F) before « ; ! ? » where the author typed a space;
- a no-break space (U+00A0) before « : » where the author typed a space, and inside « »
  (inserted if missing: « oui » and «oui» both become «\u00a0oui\u00a0»);
- numbers bound to their units and multipliers (« 2 °C », « 45 % », « 12 km », « 3 millions »;
  a missing space before « % », « ‰ », « °C » and « € » is added), groups of thousands joined
  by a narrow no-break space (« 3 000 € » → « 3\u202f000\u00a0€ »), « n° 5 », « p. 12 » bound.

Left alone: inline code and code blocks, math, URLs (a link whose text is an address),
attribute values (only text nodes are changed), and in raw HTML (notebook outputs such as
tables) the content of ``<code>``, ``<pre>``, ``<script>``, ``<style>``, ``<math>``… and tags.

Two steps of the build use the same rules: a docutils transform when a page is read (so titles
in the table of contents, the sidebar and the browser tab are typeset too), and a Sphinx
post-transform when a page is written (for text made at that time: citations, the
bibliography, glue values pasted from another page). Each step counts the spaces it puts in;
the total for the pages written is logged at the end of the build (« typographie française : »).

Registered in ``_config.yml`` (``sphinx.extra_extensions``): ``observatoire.build.typography``.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass
from typing import Sequence

NNBSP = "\u202f"  # narrow no-break space (espace fine insécable)
NBSP = "\u00a0"  # no-break space (espace insécable)
#: Stands for a piece of text that must not change (code, math, a URL) inside a paragraph:
#: it is not a space, not a digit, not a letter, so rules see « something » there.
OPAQUE = "\ufffc"

_WS = "[ \\t\\r\\n\u00a0\u202f\u2009]"  # any space, breaking or not
_BREAKING = "[ \\t\\r\\n\u2009]"  # spaces a line may break at
#: What may follow « ; ! ? : » for the space before it to be French punctuation (not « a:b »).
_AFTER_PUNCTUATION = f"(?:{_WS}|$|{OPAQUE}|[»)\\]\"'’”…!?.,;:])"

#: Units and multipliers a number is bound to (whole words only: « 3 m » but not « 3 mois »
#: through « m »). Longest first, so that « km² » is not read as « km ».
UNITS = sorted((
    "%", "‰", "°C", "°F", "°", "€", "k€", "M€", "Md€", "Mds€", "$", "£",
    "km²", "km2", "km", "m²", "m³", "m2", "m3", "m", "cm", "mm", "µm",
    "kg", "t", "kt", "Mt", "Gt", "tCO2e", "tCO₂e", "tCO2", "teqCO2", "ha",
    "Wh", "kWh", "MWh", "GWh", "TWh", "W", "kW", "MW", "GW", "kWc", "MWc", "GWc",
    "h", "min", "dB", "hab.", "habitants", "millions", "million", "milliards", "milliard",
    "points", "point", "pts", "ans", "mois", "jours",
), key=len, reverse=True)
#: Units whose missing space is added (« 45% » → « 45 % »): never ambiguous after a digit.
UNITS_SPACED = ("%", "‰", "°C", "€")
#: Abbreviations bound to the number that follows them.
BEFORE_NUMBERS = ("n°", "N°", "p.", "pp.", "vol.", "chap.", "art.", "§")


def _alternatives(words) -> str:
    return "|".join(re.escape(w) for w in words)


#: Classes of elements whose text is left as it is: code, math, and text quoted from a data file
#: (``texte-donnees``: sources, comments and excerpts as their authors wrote them).
OPAQUE_CLASSES = frozenset({"math", "highlight", "pre", "texte-donnees"})


@dataclass(frozen=True)
class Rule:
    """A regular expression whose group ``ws`` (possibly empty: an insertion) becomes ``space``."""

    pattern: re.Pattern
    space: str


RULES = (
    # before ; ! ? : a narrow no-break space, where a space was typed
    Rule(re.compile(f"(?<=\\S)(?P<ws>{_WS}+)(?=[;!?]{_AFTER_PUNCTUATION})"), NNBSP),
    # before : a no-break space, where a space was typed
    Rule(re.compile(f"(?<=\\S)(?P<ws>{_WS}+)(?=:{_AFTER_PUNCTUATION})"), NBSP),
    # inside « », always
    Rule(re.compile(f"«(?P<ws>{_WS}*)"), NBSP),
    Rule(re.compile(f"(?<=[^\\s«])(?P<ws>{_WS}*)»"), NBSP),
    # a number and its unit
    Rule(re.compile(f"(?<=\\d)(?P<ws>{_BREAKING}*)(?=(?:{_alternatives(UNITS_SPACED)})(?![\\w²³]))"), NBSP),
    Rule(re.compile(f"(?<=\\d)(?P<ws>{_BREAKING}+)(?=(?:{_alternatives(UNITS)})(?![\\w²³]))"), NBSP),
    # « n° 5 », « p. 12 »
    Rule(re.compile(f"(?<![\\w.])(?:{_alternatives(BEFORE_NUMBERS)})(?P<ws>{_BREAKING}+)(?=\\d)"), NBSP),
)
#: Groups of thousands typed with spaces: « 12 345 678 » (a number starts with 1 to 3 digits).
_THOUSANDS = re.compile(f"(?<![\\d,.{NNBSP}{NBSP}])\\d{{1,3}}(?:[ {NBSP}]\\d{{3}})+(?![\\d])")


def _edits(text: str) -> list[tuple[int, int, str]]:
    """(start, end, replacement) of every change the rules make to ``text``, in order and
    without overlap; changes that would leave the text as it is are not listed."""
    found: dict[tuple[int, int], str] = {}
    for rule in RULES:
        for m in rule.pattern.finditer(text):
            span = m.span("ws")
            if m.group("ws") != rule.space:
                found.setdefault(span, rule.space)
    for m in _THOUSANDS.finditer(text):
        for k, char in enumerate(m.group(0)):
            if char in (" ", NBSP):
                found.setdefault((m.start() + k, m.start() + k + 1), NNBSP)
    edits, end = [], -1
    for (start, stop), space in sorted(found.items()):
        if start < end:
            continue  # overlaps the previous change
        edits.append((start, stop, space))
        end = stop
    return edits


def typeset_runs(runs: Sequence[str | None]) -> tuple[list[str | None], int]:
    """French spacing of a sequence of pieces of text read together (the text nodes of a
    paragraph, the text between the tags of a table cell). ``None`` stands for a piece that
    must not change (code, math, a URL): it is kept as it is, and seen by the rules as a
    non-space character. Returns the new pieces and the number of spaces put in or changed."""
    pieces = [OPAQUE if r is None else r for r in runs]
    text = "".join(pieces)
    starts, position = [], 0
    for piece in pieces:
        starts.append(position)
        position += len(piece)
    changes: list[list[tuple[int, int, str]]] = [[] for _ in pieces]
    count = 0
    for start, stop, space in _edits(text):
        if start == stop:  # an insertion: into the piece holding the character before it, else after it
            owners = [k for k, s in enumerate(starts) if s < start <= s + len(pieces[k]) and runs[k] is not None]
            owners = owners or [k for k, s in enumerate(starts) if s <= start < s + len(pieces[k]) and runs[k] is not None]
            if not owners:
                continue
            k = owners[0]
            changes[k].append((start - starts[k], start - starts[k], space))
            count += 1
            continue
        touched = [k for k, s in enumerate(starts) if s < stop and start < s + len(pieces[k])]
        if any(runs[k] is None for k in touched):
            continue  # never change text that must stay as it is
        for n, k in enumerate(touched):
            s = starts[k]
            changes[k].append((max(start, s) - s, min(stop, s + len(pieces[k])) - s, space if n == 0 else ""))
        count += 1
    out: list[str | None] = list(runs)
    for k, edits in enumerate(changes):
        if not edits:
            continue
        piece = pieces[k]
        for start, stop, space in sorted(edits, reverse=True):
            piece = piece[:start] + space + piece[stop:]
        out[k] = piece
    return out, count


def french_spacing(text: str) -> str:
    """The French spacing of a plain text (cover, colophon, messages)."""
    return typeset_runs([text])[0][0]


def count_spacing(text: str) -> int:
    """How many spaces :func:`french_spacing` would put in or change in ``text``."""
    return typeset_runs([text])[1]


_URL = re.compile(r"^\s*(?:[a-z][a-z0-9+.-]*://|www\.|doi:|mailto:|\S+@\S+\.\w+\s*$)", re.I)


def looks_like_url(text: str) -> bool:
    return bool(_URL.match(text))


# ---------------------------------------------------------------------------------------------
# Raw HTML (notebook outputs: pandas tables, Campus previews): text between tags only

_TAG = re.compile(r"""<!--.*?-->|<!\[CDATA\[.*?\]\]>|<![^>]*>|<\?.*?>"""
                  r"""|<(?P<close>/?)(?P<name>[a-zA-Z][a-zA-Z0-9:-]*)(?P<attrs>(?:"[^"]*"|'[^']*'|[^'">])*)>""",
                  re.S)
#: Elements whose content is never typeset.
HTML_OPAQUE = {"code", "pre", "kbd", "samp", "var", "tt", "script", "style", "math", "svg", "textarea",
               "template", "object", "iframe"}
#: Inline elements: their text belongs to the surrounding sentence. Any other tag ends one.
HTML_INLINE = {"a", "abbr", "b", "bdi", "bdo", "cite", "data", "dfn", "em", "i", "mark", "q", "s", "small",
               "span", "strong", "sub", "sup", "time", "u", "wbr", "font", "del", "ins",
               "code", "kbd", "samp", "var", "tt", "math", "svg", "img", "input"}
HTML_VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}
_CLASS = re.compile(r"""\sclass\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+))""", re.I)


def typeset_html(markup: str) -> tuple[str, int]:
    """French spacing of the text of an HTML fragment; tags, attributes, comments and the
    content of code, math, scripts and styles are kept byte for byte. Returns the new markup
    and the number of spaces put in or changed."""
    tokens: list[str] = []          # the fragment cut into tags and texts, in order
    texts: list[int] = []           # indices of text tokens in the current sentence
    sentence: list[str | None] = []  # their unescaped text (None: opaque)
    stack: list[tuple[str, bool, int]] = []  # open elements: (name, opaque, len(sentence) at opening)
    total = 0

    def opaque() -> bool:
        return any(o for _, o, _ in stack)

    def flush() -> None:
        nonlocal total
        if sentence:
            new, n = typeset_runs(sentence)
            if n:
                total += n
                for index, old, piece in zip(texts, sentence, new):
                    if index >= 0 and piece != old:
                        tokens[index] = html.escape(piece, quote=False)
        texts.clear()
        sentence.clear()

    position = 0
    for m in _TAG.finditer(markup):
        if m.start() > position:
            raw = markup[position:m.start()]
            tokens.append(raw)
            if opaque():
                texts.append(-1)
                sentence.append(None)
            else:
                texts.append(len(tokens) - 1)
                sentence.append(html.unescape(raw))
        tokens.append(m.group(0))
        position = m.end()
        name = (m.group("name") or "").lower()
        if not name:
            continue  # comment, doctype, processing instruction
        if m.group("close"):
            for depth in range(len(stack) - 1, -1, -1):
                if stack[depth][0] == name:
                    _, was_opaque, first = stack[depth]
                    del stack[depth:]
                    if name == "a" and not was_opaque:
                        inside = "".join(s for s in sentence[first:] if s)
                        if looks_like_url(inside):  # a link showing its address: leave it alone
                            for k in range(first, len(sentence)):
                                sentence[k], texts[k] = None, -1
                    break
            if name not in HTML_INLINE:
                flush()
            continue
        if name not in HTML_INLINE:
            flush()
        classes = _CLASS.search(m.group("attrs") or "")
        classes = set((classes.group(1) or classes.group(2) or classes.group(3) or "").split()) if classes else set()
        if name not in HTML_VOID and not (m.group("attrs") or "").rstrip().endswith("/"):
            stack.append((name, name in HTML_OPAQUE or bool(classes & OPAQUE_CLASSES), len(sentence)))
        elif name in ("img", "input", "embed"):
            texts.append(-1)
            sentence.append(None)
    if position < len(markup):
        tokens.append(markup[position:])
        if opaque():
            texts.append(-1)
            sentence.append(None)
        else:
            texts.append(len(tokens) - 1)
            sentence.append(html.unescape(markup[position:]))
    flush()
    return "".join(tokens), total


# ---------------------------------------------------------------------------------------------
# Docutils documents

def _opaque_node(node) -> bool:
    from docutils import nodes

    if isinstance(node, (nodes.literal, nodes.literal_block, nodes.math, nodes.math_block, nodes.raw,
                         nodes.comment, nodes.doctest_block, nodes.substitution_definition,
                         nodes.system_message, nodes.image, nodes.target, nodes.option_string)):
        return True
    if isinstance(node, nodes.Element):
        classes = set(node.get("classes", []))
        if classes & {"pre", "math", "highlight", "code", "xref"} and not isinstance(node, nodes.reference):
            return True
        if isinstance(node, nodes.reference) and looks_like_url(node.astext()):
            return True
    return False


def _is_block(node) -> bool:
    from docutils import nodes

    return (isinstance(node, nodes.TextElement) and not isinstance(node, nodes.FixedTextElement)
            and not isinstance(node.parent, nodes.TextElement) and not _opaque_node(node))


def _inside_opaque(node) -> bool:
    parent = node.parent
    while parent is not None:
        if _opaque_node(parent):
            return True
        parent = parent.parent
    return False


def typeset_doctree(doctree) -> int:
    """French spacing of every text of a docutils document (and of its raw HTML); returns the
    number of spaces put in or changed."""
    from docutils import nodes

    count = 0
    for block in list(doctree.findall(_is_block)):
        if _inside_opaque(block):
            continue
        runs: list[str | None] = []
        holders: list[nodes.Text | None] = []

        def collect(element) -> None:
            for child in element.children:
                if isinstance(child, nodes.Text):
                    runs.append(str(child))
                    holders.append(child)
                elif _opaque_node(child):
                    runs.append(None)
                    holders.append(None)
                elif isinstance(child, nodes.Element):
                    collect(child)

        collect(block)
        new, n = typeset_runs(runs)
        if not n:
            continue
        count += n
        for holder, old, piece in zip(holders, runs, new):
            if holder is not None and piece != old:
                holder.parent.replace(holder, nodes.Text(piece))
    for raw in list(doctree.findall(nodes.raw)):
        if "html" not in raw.get("format", "").split() or _inside_opaque(raw):
            continue
        markup, n = typeset_html(raw.astext())
        if n:
            count += n
            raw.children = []
            raw += nodes.Text(markup)
    return count


# ---------------------------------------------------------------------------------------------
# The Sphinx extension

COUNT_ATTRIBUTE = "french_typography"  # {docname: spaces put in when the page was read}
LOG_PREFIX = "typographie française :"


def _read_counts(env) -> dict[str, int]:
    if not hasattr(env, COUNT_ATTRIBUTE):
        setattr(env, COUNT_ATTRIBUTE, {})
    return getattr(env, COUNT_ATTRIBUTE)


def _written_counts(app) -> dict[str, int]:
    if not hasattr(app.builder, COUNT_ATTRIBUTE):
        setattr(app.builder, COUNT_ATTRIBUTE, {})
    return getattr(app.builder, COUNT_ATTRIBUTE)


def _transforms():
    from sphinx.transforms import SphinxTransform
    from sphinx.transforms.post_transforms import SphinxPostTransform

    class FrenchTypography(SphinxTransform):
        """When a page is read (after smart quotes and glue)."""

        default_priority = 880

        def apply(self, **kwargs) -> None:
            _read_counts(self.env)[self.env.docname] = typeset_doctree(self.document)

    class FrenchTypographyOnWrite(SphinxPostTransform):
        """When a page is written (after citations, the bibliography and cross-page glue)."""

        default_priority = 950

        def run(self, **kwargs) -> None:
            docname = self.env.docname if self.app.builder.name != "singlehtml" else self.config.root_doc
            written = _written_counts(self.app)
            written[docname] = written.get(docname, 0) + typeset_doctree(self.document)

    return FrenchTypography, FrenchTypographyOnWrite


def _purge(app, env, docname) -> None:
    _read_counts(env).pop(docname, None)


def _merge(app, env, docnames, other) -> None:
    counts = _read_counts(env)
    theirs = _read_counts(other)
    for docname in docnames:
        if docname in theirs:
            counts[docname] = theirs[docname]


def build_count(app) -> tuple[int, int]:
    """(spaces put in the pages written by this build, number of pages written)."""
    written = _written_counts(app)
    read = _read_counts(app.env)
    if app.builder.name == "singlehtml":  # one page made of every document
        return sum(read.values()) + sum(written.values()), len(read)
    return sum(read.get(d, 0) + n for d, n in written.items()), len(written)


def _report(app, exception) -> None:
    if exception is not None:
        return
    from sphinx.util import logging

    from observatoire.text import fr_int

    spaces, pages = build_count(app)
    if pages:
        logging.getLogger(__name__).info(
            f"{LOG_PREFIX} {fr_int(spaces)} espaces insécables placées dans {fr_int(pages)} page(s) écrite(s)")


def setup(app):
    read, write = _transforms()
    app.add_transform(read)
    app.add_post_transform(write)
    app.connect("env-purge-doc", _purge)
    app.connect("env-merge-info", _merge)
    app.connect("build-finished", _report)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
