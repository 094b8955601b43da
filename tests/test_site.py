"""The built book in a real browser (Playwright driving Debian's chromium), served by a local
HTTP server as a reader would serve it: index.html and every chapter open with no console
error, every image loads, every internal link resolves (file and anchor), and no page asks the
internet for anything."""

import functools
import html
import os
import re
import threading
import urllib.parse
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from observatoire.build.layout import MISSING_PDF_COMMAND
from observatoire.build.toc import toc_files
from observatoire.build.pdf import CHROMIUM, CHROMIUM_ARGS, PDF_NAME

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not CHROMIUM.exists() and os.environ.get("CI") != "true",
                       reason="chromium est introuvable (/usr/bin/chromium) : installez-le avec « make chromium » "
                              "(apt-get install chromium)"),
]


# Console errors of the toolchain itself, named here so that any other error fails the test:
KNOWN_CONSOLE_ERRORS = (
    # jupyter-book 1.0.4 writes sphinx-thebe's inline configuration twice in every page; thebe
    # is not used by this book (no launch button), so the second declaration is harmless.
    "Identifier 'THEBE_JS_URL' has already been declared",
)


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def server(built_book):
    """The built site on 127.0.0.1, on a free port."""
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(QuietHandler, directory=str(built_book)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}", built_book
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield b
        b.close()


def pages_to_visit(site: Path) -> list[str]:
    return ["index.html"] + [f"{name}.html" for name in toc_files()]


@functools.lru_cache(maxsize=None)
def ids_of(path: Path) -> frozenset[str]:
    text = path.read_text(encoding="utf-8")
    return frozenset(html.unescape(i) for i in re.findall(r'\sid="([^"]+)"', text))


_VISIT = """async () => {
  if (window.MathJax && MathJax.startup && MathJax.startup.promise) { await MathJax.startup.promise; }
  await Promise.all([...document.images].map(img => img.complete ? null :
      new Promise(done => { img.addEventListener('load', done); img.addEventListener('error', done); })));
  return {
    images: [...document.images].map(img => [img.getAttribute('src'), img.naturalWidth]),
    links: [...document.querySelectorAll('a[href]')].map(a => a.href),
    // tables cut by the box they sit in: their right edge beyond what the box shows (by more
    // than a border or a margin: 4 px)
    clipped: [...document.querySelectorAll('article table')].filter(t => t.offsetParent !== null).map(t => {
      const right = t.getBoundingClientRect().right;
      for (let box = t.parentElement; box && box.tagName !== 'BODY'; box = box.parentElement) {
        const shown = box.getBoundingClientRect().left + box.clientLeft + box.clientWidth;
        if (getComputedStyle(box).overflowX !== 'visible' && right > shown + 4)
          return `${t.getBoundingClientRect().width | 0} px dans ${box.clientWidth} px`;
      }
      return null;
    }).filter(x => x),
  };
}"""


def test_every_page_opens_cleanly_in_a_browser(server, browser):
    base, site = server
    context = browser.new_context()
    outside, errors, broken_images, broken_links, clipped = [], [], [], [], []
    pdf_links = 0

    def route(r):
        if r.request.url.startswith(base + "/") or r.request.url.startswith("data:"):
            return r.continue_()
        outside.append(r.request.url)
        return r.abort()

    context.route("**/*", route)
    page = context.new_page()
    def error(text):
        if not any(known in text for known in KNOWN_CONSOLE_ERRORS):
            errors.append(f"{page.url}: {text}")

    page.on("console", lambda m: error(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: error(str(e)))
    visited = pages_to_visit(site)
    for name in visited:
        assert (site / name).exists(), name
        response = page.goto(f"{base}/{name}", wait_until="load")
        assert response and response.ok, name
        refresh = re.search(r'http-equiv="refresh"[^>]*url=([^"]+)"', (site / name).read_text(encoding="utf-8"), re.I)
        if refresh:  # the root index.html redirects to the home page: follow it as a browser does
            page.wait_for_url(urllib.parse.urljoin(f"{base}/{name}", refresh.group(1)))
            page.wait_for_load_state("load")
        found = page.evaluate(_VISIT)
        broken_images += [f"{name}: {src}" for src, width in found["images"] if not width]
        clipped += [f"{name}: tableau de {width}" for width in found["clipped"]]
        for href in found["links"]:
            if not href.startswith(base + "/"):
                continue  # links a reader follows to other sites are allowed
            parts = urllib.parse.urlsplit(href)
            rel = urllib.parse.unquote(parts.path).lstrip("/") or "index.html"
            target = site / rel
            if target.is_dir():
                target = target / "index.html"
            pdf_links += target.name == PDF_NAME  # checked like any other link: it must be there
            if not target.is_file():
                broken_links.append(f"{name} → {href} (fichier absent)")
            elif parts.fragment and target.suffix == ".html" and urllib.parse.unquote(parts.fragment) not in ids_of(target):
                broken_links.append(f"{name} → {href} (ancre absente)")
    context.close()
    assert len(visited) > 20
    assert not outside, outside[:5]
    assert not errors, errors[:5]
    assert not broken_images, broken_images[:5]
    assert not broken_links, broken_links[:10]
    assert not clipped, clipped[:5]  # at 1280 px (the browser's default width here), no table is cut
    # The home page and its edition PDF: this site was built without one, so the home page says
    # how to make it instead of linking to a missing file (test below: once made, it links).
    home = (site / "book" / "index.html").read_text(encoding="utf-8")
    assert pdf_links == 0 and f'href="../{PDF_NAME}"' not in home and MISSING_PDF_COMMAND in home


def test_the_home_page_links_to_the_pdf_once_it_is_made(server, browser):
    """``make pdf`` after ``make book``: the PDF edition lands in ``_build/pdf`` and the HTML
    book built next to it links to it (the home page is re-read, the PDF copied beside it)."""
    from pypdf import PdfWriter

    from observatoire.build.pdf import link_from_site
    from observatoire.paths import DEFAULT_DATA

    base, site = server
    pdf = site.parent / "pdf" / PDF_NAME
    pdf.parent.mkdir(exist_ok=True)
    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)  # stands for the edition: the link is under test
    writer.write(str(pdf))
    assert link_from_site(DEFAULT_DATA, pdf, site)
    context = browser.new_context()
    page = context.new_page()
    page.goto(f"{base}/book/index.html", wait_until="load")
    links = page.evaluate("() => [...document.querySelectorAll('a[href]')].map(a => a.href)")
    targets = [href for href in links if href.endswith(PDF_NAME)]
    assert targets == [f"{base}/{PDF_NAME}"]
    response = context.request.get(targets[0])
    assert response.ok and response.body() == pdf.read_bytes()
    assert MISSING_PDF_COMMAND not in (site / "book" / "index.html").read_text(encoding="utf-8")
    context.close()
