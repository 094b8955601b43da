"""How the book is laid out beyond its text, the same in the HTML book and the PDF edition:

- **numbering**: every part of ``_toc.yml`` marked ``numbered`` continues the chapter numbers
  (sphinx-multitoc-numbering), and the chapters of the « Annexes » part take letters A, B, C…
  Sections and figures follow their chapter: « 7.2 », « Figure 5.1 », « Figure B.2 ». Sphinx
  numbers annexes like any chapter; their numbers are turned into letters when pages are
  written (after Sphinx has saved its environment, so the next build finds the numbers it
  computed and rewrites nothing);
- **the edition PDF link** of the home page (``<a href="…/livre-blanc.pdf">`` in raw HTML, or a
  Markdown link to that file): when the site's PDF exists (the file named by
  ``OBSERVATOIRE_EDITION_PDF``: ``_build/pdf/livre-blanc.pdf`` for ``make book``) it is copied
  next to the site's ``index.html`` and the link works; when it does not, the link becomes the
  words « édition PDF à construire avec make pdf » — never a dead link. A change of the PDF's
  presence re-reads the home page only (``make pdf`` does it at its end);
- **a style sheet** (``static/observatoire-layout.css``): wide tables of notebook outputs fit the text column.

Registered in ``_config.yml`` (``sphinx.extra_extensions``): ``observatoire.build.layout``.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

#: The edition's file name, at the root of the published site (next to index.html).
PDF_NAME = "livre-blanc.pdf"
#: Where the HTML build looks for the edition PDF (default: ``_build/pdf/`` of the project).
EDITION_VARIABLE = "OBSERVATOIRE_EDITION_PDF"
LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
CSS = Path(__file__).with_name("static") / "observatoire-layout.css"
#: What the home page says instead of a link when the site has no PDF.
MISSING_PDF_TEXT = "édition PDF à construire avec "
MISSING_PDF_COMMAND = "make pdf"


def is_annex_caption(caption: str | None) -> bool:
    """The part whose chapters are lettered (« Annexes »)."""
    return bool(caption) and caption.strip().lower().startswith("annexe")


# ---------------------------------------------------------------------------------------------
# Annexes lettered

def annex_letters(env) -> dict[int, str]:
    """{chapter number Sphinx gave an annex: its letter}, from the root document's toctrees."""
    doctree = env.get_doctree(env.config.root_doc)
    from sphinx import addnodes

    mapping: dict[int, str] = {}
    for toctree in doctree.findall(addnodes.toctree):
        if not toctree.get("numbered") or not is_annex_caption(toctree.get("caption")):
            continue
        for k, (_, ref) in enumerate(toctree["entries"]):
            own = env.toc_secnumbers.get(ref, {}).get("")
            if own and isinstance(own[0], int):
                mapping[own[0]] = LETTERS[len(mapping) % len(LETTERS)]
    return mapping


def _relabel(numbers, mapping):
    if numbers and numbers[0] in mapping:
        lettered = [mapping[numbers[0]], *numbers[1:]]
        return tuple(lettered) if isinstance(numbers, tuple) else lettered
    return numbers


def letter_annexes(app) -> None:
    """Turn the annexes' chapter numbers into letters in section numbers, figure numbers, the
    table of contents and titles (once per build, when the first page is written)."""
    if getattr(app, "_observatoire_annexes_lettered", False):
        return
    app._observatoire_annexes_lettered = True
    from docutils import nodes

    env = app.env
    mapping = annex_letters(env)
    if not mapping:
        return
    for secnums in env.toc_secnumbers.values():
        for anchor, numbers in secnums.items():
            secnums[anchor] = _relabel(numbers, mapping)
    for figtypes in env.toc_fignumbers.values():
        for numbers_of in figtypes.values():
            for target, numbers in numbers_of.items():
                numbers_of[target] = _relabel(numbers, mapping)
    for toc in env.tocs.values():
        for reference in toc.findall(nodes.reference):
            if reference.get("secnumber"):
                reference["secnumber"] = _relabel(reference["secnumber"], mapping)
    for title in env.titles.values():
        if title.get("secnumber"):
            title["secnumber"] = _relabel(title["secnumber"], mapping)


# ---------------------------------------------------------------------------------------------
# The edition PDF link

def edition_pdf(app) -> Path | None:
    """The PDF edition of this very site, as its builder names it (``build_book`` does): a
    territory's book or a plain ``jupyter-book build`` name none, and link to none."""
    configured = os.environ.get(EDITION_VARIABLE)
    return Path(configured) if configured else None


def _pdf_state(app) -> bool:
    pdf = edition_pdf(app)
    return pdf is not None and pdf.is_file()


_PDF_ANCHOR = re.compile(r"""<a\b(?:"[^"]*"|'[^']*'|[^'">])*?\bhref\s*=\s*(["'])[^"']*""" + re.escape(PDF_NAME)
                         + r"""\1(?:"[^"]*"|'[^']*'|[^'">])*>(?P<text>.*?)</a>""", re.S | re.I)


def unlink_missing_pdf(markup: str) -> str:
    """Raw HTML with every link to the edition PDF replaced by what to do to make it."""
    return _PDF_ANCHOR.sub(f'<em class="edition-pdf-absente">{MISSING_PDF_TEXT}'
                           f'<code>{MISSING_PDF_COMMAND}</code></em>', markup)


def _stale_pdf_link(app, env, added, changed, removed) -> list[str]:
    """Re-read the home page when the PDF appeared or disappeared since the last build."""
    state = _pdf_state(app)
    if getattr(env, "observatoire_edition_pdf", None) == state:
        return []
    env.observatoire_edition_pdf = state
    return [app.config.root_doc] if app.config.root_doc in env.found_docs else []


def _copy_pdf(app, exception) -> None:
    if exception is not None or app.builder.name != "html":
        return
    source, target = edition_pdf(app), Path(app.outdir) / PDF_NAME
    if source is None or not source.is_file():
        target.unlink(missing_ok=True)
        return
    if target.is_file() and target.stat().st_size == source.stat().st_size \
            and target.stat().st_mtime_ns >= source.stat().st_mtime_ns:
        return
    from observatoire.files import replace_with

    replace_with(source, target)


# ---------------------------------------------------------------------------------------------
# The Sphinx extension

def _post_transform():
    from docutils import nodes
    from sphinx.transforms.post_transforms import SphinxPostTransform

    class Layout(SphinxPostTransform):
        """Before references are resolved (numbered references need the letters)."""

        default_priority = 1

        def run(self, **kwargs) -> None:
            letter_annexes(self.app)
            if self.app.builder.name not in ("html", "dirhtml") or _pdf_state(self.app):
                return  # (the PDF edition, printed from the single page, does not link to itself)
            for raw in list(self.document.findall(nodes.raw)):
                text = raw.astext()
                if PDF_NAME in text and "html" in raw.get("format", "").split():
                    new = unlink_missing_pdf(text)
                    if new != text:
                        raw.children = []
                        raw += nodes.Text(new)
            for reference in list(self.document.findall(nodes.reference)):
                if reference.get("refuri", "").split("#")[0].endswith(PDF_NAME):
                    reference.replace_self(nodes.emphasis("", MISSING_PDF_TEXT,
                                                          nodes.literal("", MISSING_PDF_COMMAND),
                                                          classes=["edition-pdf-absente"]))

    return Layout


def _static_path(app, config) -> None:
    config.html_static_path = [*config.html_static_path, str(CSS.parent)]


def setup(app):
    app.add_post_transform(_post_transform())
    app.connect("write-started", lambda app, builder: letter_annexes(app))
    app.connect("env-get-outdated", _stale_pdf_link)
    app.connect("build-finished", _copy_pdf)
    app.add_css_file(CSS.name)
    app.connect("config-inited", _static_path)
    return {"version": "1", "parallel_read_safe": True, "parallel_write_safe": True}
