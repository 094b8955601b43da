"""The PDF edition of the Livre Blanc: the ``singlehtml`` build of the book, post-processed into a
printable document (cover, colophon, table of contents with page numbers, numbered chapters and
figures, French typography and hyphenation) and printed to A4 by Debian's chromium.

Why chromium rather than LaTeX: it is the browser the tests already drive, so the edition needs
no extra 1 GB texlive install; and it prints the very HTML readers see online — seaborn figures,
glued numbers, MathJax formulas, admonitions and tables render identically, where the LaTeX
builder would need its own rendering (and fixes) of every myst-nb output. What LaTeX does better
(hyphenation, running chapter titles) is done here: soft hyphens from pyphen's French dictionary,
page numbers and running title in CSS page-margin boxes, and a table of contents whose page
numbers are read back from a first print's outline.

Nothing is lost on failure: the new PDF is written to a temporary file next to the old one and
renamed over it only once complete and checked.
"""

from __future__ import annotations

import datetime as dt
import functools
import os
import re
import shutil
import tempfile
import time
import tomllib
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from observatoire import paths
from observatoire.build.book import check_inputs, pilot_chapters
from observatoire.build.pipeline import Build, BuildError, run
from observatoire.build.toc import toc_entries
from observatoire.build.layout import LETTERS, PDF_NAME, is_annex_caption
# One implementation of French spacing: Sphinx applies it to every page (the single page printed
# here included); the cover, colophon and contents written here use the same function.
from observatoire.build.typography import french_spacing  # noqa: F401  (re-exported)
from observatoire.files import replace_with
from observatoire.text import fr_date

ROOT, DEFAULT_DATA = paths.ROOT, paths.DEFAULT_DATA

CHROMIUM = Path(os.environ.get("OBSERVATOIRE_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
DEFAULT_OUTPUT = paths.BUILD / "pdf" / PDF_NAME
TEMPLATES = Path(__file__).with_name("templates")
HTML_NAME = "livre-blanc.html"
CSS = Path(__file__).with_name("pdf.css")
# The edition is served to chromium under this made-up origin, from disk, by request
# interception: fonts and MathJax load as from a web server (file:// pages may not load fonts),
# and any request to another origin is refused and reported — the edition is self-contained.
ORIGIN = "http://edition.localhost"

SHY = "\u00ad"


class EditionError(Exception):
    """The PDF could not be made; the message is French and the previous PDF is intact."""


# ---------------------------------------------------------------------------------------------
# What the cover and the colophon say

@dataclass(frozen=True)
class Facts:
    title: str
    author: str
    version: str
    date: str
    partners: dict[str, str]
    data: str = ""


def french_date(day: dt.date) -> str:
    return fr_date(day)


def build_date() -> dt.date:
    """Today, or the date of ``SOURCE_DATE_EPOCH`` for reproducible builds."""
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch and epoch.isdigit():
        return dt.datetime.fromtimestamp(int(epoch), tz=dt.timezone.utc).date()
    return dt.date.today()


def project_version(root: Path = ROOT) -> str:
    with open(root / "pyproject.toml", "rb") as f:
        return tomllib.load(f)["project"]["version"]


def partners(commun: Path = ROOT / "book" / "commun.md") -> dict[str, str]:
    """The partners table of the chapter « Le Commun » (role → organisations), the one place that
    lists them (from the founding document): the cover and colophon quote it, never retype it."""
    rows = {}
    for line in commun.read_text(encoding="utf-8").splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("|") and len(cells) == 2 and cells[0] and not set(cells[0]) <= set("-: "):
            rows[cells[0]] = cells[1]
    rows.pop("Rôle", None)
    if "Initiateurs" not in rows:
        raise EditionError(f"le tableau des partenaires est introuvable dans {commun} "
                           "(ligne « | Initiateurs | … | » attendue)")
    return rows


def book_facts(data_label: str = "") -> Facts:
    config = yaml.safe_load((ROOT / "_config.yml").read_text(encoding="utf-8"))
    return Facts(title=config["title"], author=config["author"], version=project_version(),
                 date=french_date(build_date()), partners=partners(), data=data_label)


# ---------------------------------------------------------------------------------------------
# Hyphenation (text nodes of the prose only: never code, math or URLs). French spacing is already
# in the page: Sphinx's transforms put it there (observatoire.build.typography).

@functools.lru_cache(maxsize=1)
def _dictionary():
    import pyphen

    return pyphen.Pyphen(lang="fr_FR", left=2, right=3)


@functools.lru_cache(maxsize=50_000)
def hyphenate_word(word: str) -> str:
    return _dictionary().inserted(word, hyphen=SHY)


_WORD = re.compile(r"[^\W\d_]{7,}")


def hyphenate(text: str) -> str:
    """Soft hyphens (U+00AD) at the French break points of every word of 7 letters or more;
    acronyms (all capitals) are left whole."""
    return _WORD.sub(lambda m: m.group(0) if m.group(0).isupper() else hyphenate_word(m.group(0)), text)


_NO_TOUCH = {"code", "pre", "kbd", "samp", "script", "style", "math", "svg", "tt", "var"}
_PROSE = {"p", "li", "dd", "td", "th", "figcaption", "blockquote", "dt"}
_URL = re.compile(r"^\s*(?:https?://|www\.|doi:|\S+@\S+)")


def _may_hyphenate(node) -> bool:
    """Whether a text node is prose (a paragraph, a cell, a caption…; not a title), away from
    code, math and URLs."""
    block = None
    for parent in node.parents:
        if parent.name is None:
            continue
        classes = parent.get("class") or []
        if parent.name in _NO_TOUCH or "math" in classes or "highlight" in classes or "pre" in classes:
            return False
        if parent.name == "a" and _URL.match(parent.get_text()):
            return False
        if block is None and (parent.name in _PROSE or re.fullmatch(r"h[1-6]", parent.name)):
            block = parent.name
    return block in _PROSE


def typeset(container) -> None:
    """Soft hyphens in the prose of the edition (print only: the web book lets lines be ragged)."""
    from bs4 import NavigableString

    for node in list(container.find_all(string=True)):
        if type(node) is not NavigableString or not node.strip() or _URL.match(node):
            continue
        if _may_hyphenate(node):
            text = hyphenate(str(node))
            if text != node:
                node.replace_with(NavigableString(text))


# ---------------------------------------------------------------------------------------------
# The table of contents (_toc.yml) as the edition numbers it

@dataclass
class Doc:
    file: str
    depth: int                 # 1 chapter, 2 section of a chapter (the pilot territories)
    part: str | None
    label: str = ""            # "3", "7.2", "A" or ""
    title: str = ""
    section: object = None     # its <section> in the page
    figures: int = 0


def toc_docs(toc_path: Path = paths.TOC) -> list[Doc]:
    """Every document of the book in reading order, labelled as Sphinx numbers it (with
    :mod:`observatoire.build.layout`): the chapters of the parts marked ``numbered`` continue
    one count, those of the annexes take letters; the home page and unnumbered parts (the
    synthesis, the bibliography) take none."""
    docs: list[Doc] = []
    number, letter = 0, 0
    for entry in toc_entries(toc_path):
        doc = Doc(entry.file, max(entry.depth, 1), entry.part)
        if entry.depth == 1 and entry.numbered and is_annex_caption(entry.part):
            doc.label = LETTERS[letter]
            letter += 1
        elif entry.depth == 1 and entry.numbered:
            number += 1
            doc.label = str(number)
        elif entry.depth == 2:
            parent = next(d for d in reversed(docs) if d.depth == 1)
            siblings = sum(1 for d in docs[docs.index(parent) + 1:] if d.depth == 2)
            doc.label = f"{parent.label}.{siblings + 1}" if parent.label else ""
        docs.append(doc)
    return docs


def _heading(section):
    return section.find(re.compile(r"^h[1-6]$"))


def _heading_title(h) -> str:
    parts = [str(s) for s in h.find_all(string=True)
             if not any(p.get("class") and ("headerlink" in p["class"] or "section-number" in p["class"])
                        for p in s.parents if p is not h and p.name)]
    return " ".join("".join(parts).split())


# ---------------------------------------------------------------------------------------------
# From the singlehtml page to the edition page

def edition_html(site: Path, facts: Facts, docs: list[Doc] | None = None) -> Path:
    """Write ``livre-blanc.html`` at the root of a singlehtml build (where its relative
    ``_static/`` and ``_images/`` links resolve) and return its path."""
    from bs4 import BeautifulSoup

    docs = docs or toc_docs()
    source = site / f"{docs[0].file}.html"
    if not source.exists():
        raise EditionError(f"la page unique du livre est introuvable : {source}")
    soup = BeautifulSoup(source.read_text(encoding="utf-8"), "html.parser")
    article = soup.select_one("article.bd-article")
    if article is None:
        raise EditionError(f"{source} n'a pas la structure attendue (article.bd-article absent)")

    # One flat sequence of document sections, in reading order.
    root_section = article.find("section")
    markers = {m["id"][len("document-"):]: m for m in article.select('span[id^="document-"]')}
    sections = {}
    for name, marker in markers.items():
        section = marker.find_next_sibling("section")
        if section is None:
            raise EditionError(f"section du document {name} introuvable dans la page unique")
        sections[name] = (marker, section)
    for marker, section in sections.values():
        marker.extract()
        section.extract()
    root_section.extract()
    main = soup.new_tag("main", attrs={"class": "bd-article", "role": "main"})
    missing = [d.file for d in docs[1:] if d.file not in sections]
    if missing:
        raise EditionError("documents de la table des matières absents de la page unique : " + ", ".join(missing))
    for doc in docs:
        if doc is docs[0]:
            doc.section = root_section
        else:
            marker, doc.section = sections[doc.file]
            doc.section.insert(0, marker)
        main.append(doc.section)
    for wrapper in main.select("div.toctree-wrapper"):
        if not wrapper.get_text(strip=True):
            wrapper.decompose()
    for node in main.select(".headerlink, .copybtn, .toggle-button"):
        node.decompose()

    # Headings: each document's title at its depth (h1 chapter, h2 section), the rest below it.
    for doc in docs:
        doc.section["class"] = [*doc.section.get("class", []), "chapitre"]
        top = _heading(doc.section)
        shift = doc.depth - int(top.name[1])
        if shift:
            for h in doc.section.find_all(re.compile(r"^h[1-6]$")):
                h.name = f"h{min(6, max(1, int(h.name[1]) + shift))}"
        doc.title = _heading_title(top)
        if doc.label:
            number = top.find("span", class_="section-number")
            text = f"{doc.label}. " if doc.depth == 1 else f"{doc.label} "
            if number is None:
                number = soup.new_tag("span", attrs={"class": "section-number"})
                top.insert(0, number)
            number.string = text

    # Figures keep the numbers Sphinx gave them, as in the web book (« Figure 5.2 », « Figure B.1 »),
    # followed by a full stop on paper.
    for doc in docs:
        for caption_number in doc.section.select("figure figcaption .caption-number"):
            caption_number.string = caption_number.get_text().strip() + ". "
            doc.figures += 1

    typeset(main)

    head = []
    for link in soup.head.find_all("link", rel="stylesheet"):
        head.append(str(link))
    css_dir = site / "_static" / "edition"
    css_dir.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(CSS, css_dir / CSS.name)
    head.append(f'<link rel="stylesheet" href="_static/edition/{CSS.name}">')
    for script in soup.head.find_all("script"):
        src = script.get("src", "")
        if "mathjax" in src.lower() or "MathJax" in (script.string or "") or re.search(r"require|embed-amd", src):
            head.append(str(script))
    out = site / HTML_NAME
    out.write_text(render_edition(facts, docs, head, str(main)), encoding="utf-8")
    return out


def _typo(text: str) -> str:
    """Text of the cover, colophon and contents with French spacing and apostrophes (escaped
    by the template)."""
    return french_spacing(str(text).replace("'", "’"))


def contents(docs: list[Doc]) -> list[tuple[str | None, list[dict]]]:
    """The table of contents, grouped by part; page numbers are filled in after a first print
    (``data-cible``)."""
    groups: list[tuple[str | None, list[dict]]] = []
    for doc in docs:
        if not groups or groups[-1][0] != doc.part:
            groups.append((doc.part, []))
        target = doc.section.find("span", id=re.compile("^document-"))
        href = target["id"] if target else doc.section.get("id", "")
        number = f"{doc.label}." if doc.label and doc.depth == 1 else doc.label
        groups[-1][1].append({"depth": doc.depth, "number": number, "title": doc.title, "target": href})
    return groups


def render_edition(facts: Facts, docs: list[Doc], head: list[str], main: str) -> str:
    """The edition page: cover, colophon, contents and the book (templates/edition.html.j2)."""
    from observatoire.report.html import environment

    env = environment(str(TEMPLATES))
    env.filters["typo"] = _typo
    initiators = [p.strip() for p in facts.partners["Initiateurs"].split(",")]
    return env.get_template("edition.html.j2").render(facts=facts, head=head, initiators=initiators,
                                                      contents=contents(docs), main=main)


# ---------------------------------------------------------------------------------------------
# Printing with chromium

@dataclass
class PrintReport:
    pages: int = 0
    passes: int = 0
    outside: list[str] = field(default_factory=list)        # refused requests to other origins
    missing: list[str] = field(default_factory=list)        # files the page asked for, not found
    console_errors: list[str] = field(default_factory=list)
    broken_images: list[str] = field(default_factory=list)


def require_chromium() -> None:
    if not CHROMIUM.exists():
        raise EditionError(f"chromium est introuvable ({CHROMIUM}) : installez-le avec « make chromium » "
                           "(apt-get install chromium fonts-dejavu-core fonts-dejavu-extra).")
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError as exc:
        raise EditionError("le paquet Python playwright manque : lancez « make install ».") from exc


def _serve(root: Path, report: PrintReport):
    root = root.resolve()

    def handle(route):
        url = route.request.url
        if not url.startswith(ORIGIN + "/"):
            report.outside.append(url)
            return route.abort()
        rel = urllib.parse.unquote(urllib.parse.urlsplit(url).path).lstrip("/")
        path = (root / rel).resolve()
        if root not in path.parents or not path.is_file():
            report.missing.append(url)
            return route.fulfill(status=404, body="")
        return route.fulfill(path=str(path))
    return handle


_READY = """async () => {
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) { await MathJax.startup.promise; }
  await document.fonts.ready;
  await Promise.all([...document.images].map(img => img.complete ? null :
      new Promise(done => { img.addEventListener('load', done); img.addEventListener('error', done); })));
  return [...document.images].filter(img => !img.naturalWidth).map(img => img.getAttribute('src'));
}"""

_SET_PAGES = """pages => {
  for (const span of document.querySelectorAll('.tdm .page[data-cible]')) {
    const n = pages[span.dataset.cible];
    span.textContent = n ? String(n) : '';
  }
}"""

_TARGETS = """() => [...document.querySelectorAll('.tdm .page[data-cible]')].map(span => {
  const marker = document.getElementById(span.dataset.cible);
  const section = marker && marker.closest('section');
  const h = section && section.querySelector('h1, h2, h3, h4, h5, h6');
  return [span.dataset.cible, h ? h.textContent : ''];
})"""


def _squash(text: str) -> str:
    return re.sub(r"[\s\u00ad#]+", "", text).lower()


def outline_pages(pdf: Path) -> list[tuple[int, str, int]]:
    """(depth, title, 1-based page) of every outline entry of a PDF, in order."""
    from pypdf import PdfReader

    reader = PdfReader(str(pdf))
    found = []

    def walk(items, depth):
        for item in items:
            if isinstance(item, list):
                walk(item, depth + 1)
            else:
                found.append((depth, str(item.title), reader.get_destination_page_number(item) + 1))
    walk(reader.outline, 1)
    return found


def _page_numbers(targets: list[list[str]], outline: list[tuple[int, str, int]]) -> dict[str, int]:
    """Match each table-of-contents target (in reading order) to the next outline entry with
    the same title."""
    pages, start = {}, 0
    for target, title in targets:
        key = _squash(title)
        for i in range(start, len(outline)):
            if _squash(outline[i][1]) == key:
                pages[target] = outline[i][2]
                start = i + 1
                break
    return pages


def print_pdf(html_path: Path, pdf_path: Path, max_passes: int = 3, timeout_ms: int = 180_000) -> PrintReport:
    """Print ``html_path`` (served from its folder) to ``pdf_path``: A4, CSS page size, tagged
    PDF with an outline; the table of contents gets its page numbers from a previous pass."""
    require_chromium()
    from playwright.sync_api import Error as PlaywrightError
    from playwright.sync_api import sync_playwright

    report = PrintReport()
    options = dict(path=str(pdf_path), prefer_css_page_size=True, print_background=True,
                   outline=True, tagged=True, display_header_footer=False)
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            try:
                page = browser.new_page()
                page.set_default_timeout(timeout_ms)
                page.on("console", lambda m: report.console_errors.append(m.text) if m.type == "error" else None)
                page.on("pageerror", lambda e: report.console_errors.append(str(e)))
                page.route("**/*", _serve(html_path.parent, report))
                page.goto(f"{ORIGIN}/{urllib.parse.quote(html_path.name)}", wait_until="load")
                report.broken_images = page.evaluate(_READY)
                targets = page.evaluate(_TARGETS)
                pages: dict[str, int] = {}
                for report.passes in range(1, max_passes + 1):
                    page.pdf(**options)
                    found = _page_numbers(targets, outline_pages(pdf_path))
                    if found == pages:
                        break
                    pages = found
                    page.evaluate(_SET_PAGES, pages)
            finally:
                browser.close()
    except PlaywrightError as exc:
        raise EditionError(f"l'impression par chromium a échoué : {exc}") from exc
    from pypdf import PdfReader

    report.pages = len(PdfReader(str(pdf_path)).pages)
    return report


# ---------------------------------------------------------------------------------------------
# The whole edition

def data_label(data_path: Path) -> str:
    return Path(data_path).name


def build_pdf(data_path: str | os.PathLike = DEFAULT_DATA, output: str | os.PathLike = DEFAULT_OUTPUT,
              workers: int | None = None, build_dir: str | os.PathLike | None = None) -> Path:
    """Build the singlehtml book by the one pipeline (the notebooks come from the HTML book's
    cache: nothing executed twice), make the edition page and print it; return the PDF's path.
    The previous PDF stays until the new one is complete and checked."""
    started = time.perf_counter()
    data_path = Path(data_path).resolve() if Path(data_path).exists() else Path(data_path)
    output = Path(output)
    require_chromium()
    chapters = pilot_chapters(data_path)
    # The build folder whose notebook cache the HTML book filled (_build for _build/pdf/…).
    build_dir = Path(build_dir) if build_dir else (output.parent.parent if output.parent.name == "pdf" else output.parent)
    try:
        site = run(Build(data_path=data_path, work=build_dir / ".edition", chapters=chapters, builder="singlehtml",
                         check=lambda: check_inputs(data_path, [c.code for c in chapters]), build_dir=build_dir),
                   workers)
    except BuildError as exc:
        raise EditionError(str(exc).replace("la version précédente est conservée", "le PDF précédent est conservé")) from exc

    print("Mise en page (couverture, table des matières, typographie) et impression par chromium…", flush=True)
    output.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=".impression-", dir=output.parent) as tmp:
        page = edition_html(site, book_facts(data_label(data_path)))
        fresh = Path(tmp) / PDF_NAME
        report = print_pdf(page, fresh)
        for url in report.outside:
            print(f"  avertissement : ressource extérieure refusée : {url}", flush=True)
        for url in report.missing + report.broken_images:
            print(f"  avertissement : ressource introuvable : {url}", flush=True)
        for message in report.console_errors:
            print(f"  avertissement : console du navigateur : {message}", flush=True)
        if report.pages < 3 or not outline_pages(fresh):
            raise EditionError(f"le PDF produit est incomplet ({report.pages} pages, sans sommaire) ; "
                               "le PDF précédent est conservé.")
        replace_with(fresh, output)
    print(f"PDF construit en {time.perf_counter() - started:.0f} s ({report.pages} pages) : {output.resolve()}",
          flush=True)
    link_from_site(data_path, output, build_dir / "html")
    return output.resolve()


def link_from_site(data_path: Path, pdf: Path, site: Path = paths.BUILD / "html") -> bool:
    """Once the PDF is made, the HTML book built next to it on the same inputs links to it: the
    book is rebuilt by the one pipeline (nothing to execute, Sphinx re-reads the home page only:
    :mod:`observatoire.build.layout` sees the PDF appear and copies it beside ``index.html``).
    A site built on other data or code (or none) is left as it is: ``make book`` will link it.
    Returns whether the site was updated."""
    from observatoire.build import book, pipeline

    build_dir = site.parent
    stamp = build_dir / book.WORK_NAME / pipeline.STAMP_NAME
    if Path(pdf).resolve() != (build_dir / "pdf" / PDF_NAME).resolve() or not (site / "index.html").exists():
        return False
    if not stamp.exists() or stamp.read_text() != pipeline.notebooks_fingerprint(Path(data_path)):
        return False
    print("Lien vers le PDF depuis la page d'accueil du livre HTML…", flush=True)
    book.build_book(data_path, build_dir)
    return True
