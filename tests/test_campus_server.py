"""The Campus served by Voilà (``observatoire campus``), driven over HTTP, websocket and in a
real browser (Playwright for Python driving Debian's chromium, never a downloaded browser).

One server per module, started the way ``make campus`` starts it, stopped with Ctrl-C (SIGINT).
In CI (CI=true) nothing here may skip; elsewhere the browser tests skip without chromium.
"""

import json
import os
import re
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
import requests

from observatoire.campus import EXERCISES
from observatoire.campus.serve import free_port

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
IN_CI = os.environ.get("CI", "").lower() == "true"
TIMEOUT = 60_000  # ms


@pytest.fixture(scope="module")
def campus():
    """Base URL of a live Campus server; on teardown, Ctrl-C must stop it cleanly."""
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-m", "observatoire", "campus", "--port", str(port)], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines = []
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line and proc.poll() is not None:
            pytest.fail("le Campus n'a pas démarré :\n" + proc.stderr.read())
        lines.append(line)
        if line.startswith("Ctrl-C"):
            break
    announced = "".join(lines)
    assert f"port {port}" in announced
    for e in EXERCISES:
        assert f"{e.title} : http://127.0.0.1:{port}/voila/render/{e.notebook}" in announced
    yield f"http://127.0.0.1:{port}"
    proc.send_signal(signal.SIGINT)
    try:
        _, err = proc.communicate(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        pytest.fail("Ctrl-C n'a pas arrêté le Campus en 60 s")
    assert proc.returncode == 0, err[-2000:]
    assert "Campus arrêté" in err and "Kernel shutdown" in err


@pytest.fixture(scope="module")
def pages(campus):
    """HTML of each exercise page, fetched once (each fetch starts a kernel)."""
    out = {}
    for e in EXERCISES:
        r = requests.get(f"{campus}/voila/render/{e.notebook}", timeout=120)
        assert r.status_code == 200, e.notebook
        out[e.slug] = r.text
    return out


def test_each_exercise_page_loads_without_its_source(pages):
    for slug, html in pages.items():
        assert "campus-app" in html or "application/vnd.jupyter.widget-view+json" in html, slug
        assert "from observatoire.campus import" not in html, f"{slug} : le code source est visible"
        assert "Traceback" not in html
        assert "cdn.jsdelivr.net" not in html and "cdnjs" not in html, slug
        assert "Bilan" in html and "Consignes" in html


def test_home_page_has_no_cdn(campus):
    r = requests.get(f"{campus}/", timeout=30)
    assert r.status_code == 200
    assert "cdn.jsdelivr.net" not in r.text and "cdnjs" not in r.text


def _message(msg_type: str, content: dict, session: str) -> str:
    return json.dumps({
        "header": {"msg_id": uuid.uuid4().hex, "msg_type": msg_type, "session": session, "username": "",
                   "version": "5.3", "date": "2026-01-01T00:00:00Z"},
        "parent_header": {}, "metadata": {}, "content": content, "channel": "shell", "buffers": [],
    })


def test_execute_request_over_the_kernel_websocket_is_refused(campus, pages):
    import websocket

    kernel_id = json.loads(re.search(r'<script id="jupyter-config-data" type="application/json">\s*(.*?)\s*</script>',
                                     pages["quiz"], re.S).group(1))["kernelId"]
    session = uuid.uuid4().hex
    ws = websocket.create_connection(f"{campus.replace('http', 'ws')}/api/kernels/{kernel_id}/channels"
                                     f"?session_id={session}", timeout=5)
    try:
        ws.send(_message("execute_request", {"code": "print('INTRUSION')", "silent": False, "store_history": True,
                                             "user_expressions": {}, "allow_stdin": False, "stop_on_error": True},
                         session))
        # A control that is allowed: proves the channel works and orders the replies.
        ws.send(_message("kernel_info_request", {}, session))
        seen = []
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                msg = json.loads(ws.recv())
            except websocket.WebSocketTimeoutException:
                continue
            seen.append(msg["msg_type"])
            assert "INTRUSION" not in json.dumps(msg.get("content", {}))
            if msg["msg_type"] == "kernel_info_reply":
                break
        assert "kernel_info_reply" in seen
        assert "execute_reply" not in seen and "execute_input" not in seen
    finally:
        ws.close()


# -- in a real browser ----------------------------------------------------------------------

@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        message = ("chromium est introuvable (/usr/bin/chromium) : installez-le avec "
                   "« sudo apt-get install chromium » (ou « make chromium ») pour lancer les tests du Campus "
                   "dans un navigateur.")
        if IN_CI:
            pytest.fail(message)
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield b
        b.close()


class Page:
    """A browser page on one exercise, recording console errors and attempts to leave the machine."""

    def __init__(self, browser, url):
        self.page = browser.new_page(viewport={"width": 1200, "height": 1000})
        self.errors, self.external = [], []
        self.page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))

        def route(r):
            if r.request.url.startswith(("http://127.0.0.1", "ws://127.0.0.1", "data:", "blob:")):
                return r.continue_()
            self.external.append(r.request.url)
            return r.abort()

        self.page.route("**/*", route)
        self.page.goto(url)
        self.page.wait_for_selector(".campus-app .campus-feedback .campus-retour", timeout=TIMEOUT)

    def text(self, selector: str) -> str:
        return self.page.locator(selector).first.inner_text()

    def wait_change(self, selector: str, before: str) -> str:
        self.page.wait_for_function(
            "([s, b]) => { const e = document.querySelector(s); return e && e.innerText !== b && e.innerText.length > 0; }",
            arg=[selector, before], timeout=TIMEOUT)
        return self.text(selector)

    def wait_contains(self, selector: str, text: str) -> str:
        self.page.wait_for_function(
            "([s, t]) => { const e = document.querySelector(s); return e && e.innerText.includes(t); }",
            arg=[selector, text], timeout=TIMEOUT)
        return self.text(selector)

    def image(self, selector: str) -> str:
        img = self.page.locator(f"{selector} img").first
        img.wait_for(timeout=TIMEOUT)
        assert self.page.evaluate("(e) => e.complete && e.naturalWidth > 0", img.element_handle())
        return img.get_attribute("src")

    def close(self):
        self.page.close()
        assert not self.external, f"requêtes vers l'extérieur : {self.external}"
        assert not self.errors, f"erreurs dans la console : {self.errors}"


def test_browser_home_lists_the_exercises(campus, browser):
    page = browser.new_page()
    errors = []
    page.on("console", lambda m: m.type == "error" and errors.append(m.text))
    page.route("**/*", lambda r: r.continue_() if r.request.url.startswith("http://127.0.0.1") else r.abort())
    page.goto(f"{campus}/")
    for e in EXERCISES:
        page.wait_for_selector(f"a[href='voila/render/{e.notebook}']", timeout=TIMEOUT)
    assert "Données de démonstration" in page.inner_text("body")
    page.locator("a", has_text="Quiz").click()
    page.wait_for_selector(".campus-app .campus-score", timeout=TIMEOUT)
    page.close()
    assert not errors, errors


def url(campus, slug):
    return f"{campus}/voila/render/" + next(e.notebook for e in EXERCISES if e.slug == slug)


def press_slider(page, css_class: str, key: str, times: int = 1):
    handle = page.page.locator(f".{css_class} .noUi-handle").first
    handle.focus()
    for _ in range(times):
        handle.press(key)


def test_browser_index(campus, browser):
    p = Page(browser, url(campus, "indice"))
    assert "Données de démonstration" in p.page.inner_text("body")
    fb = ".campus-feedback"
    before, figure = p.text(fb), p.image(".campus-figure")
    assert "le même" in before
    p.page.select_option(".campus-normalisation select", label="rang entre les pilotes")
    p.page.select_option(".campus-agregation select", label="moyenne géométrique")
    # rank + geometric: computed on [1, 100], and the feedback says why a zero no longer annuls
    after = p.wait_contains(fb, "échelle de 1 à 100")
    assert "refuse" not in after
    p.page.select_option(".campus-normalisation select", label="distance à la cible")
    p.page.select_option(".campus-agregation select", label="moyenne arithmétique (choix du livre)")
    p.page.wait_for_function(
        "([s, t]) => { const e = document.querySelector(s); return e && !e.innerText.includes(t); }",
        arg=[fb, "échelle de 1 à 100"], timeout=TIMEOUT)
    third = p.text(fb)
    assert third != after and "classement" in third
    p.page.wait_for_function("(s) => document.querySelector('.campus-figure img') && "
                             "document.querySelector('.campus-figure img').src !== s", arg=figure, timeout=TIMEOUT)
    p.close()


def test_browser_shock(campus, browser):
    p = Page(browser, url(campus, "choc"))
    fb = ".campus-feedback"
    before, figure = p.text(fb), p.image(".campus-trajectoire")
    assert "Inondation" in before and "Cicatrice" in before
    p.page.select_option(".campus-choc select", label="Canicule")
    p.wait_contains(fb, "Canicule")
    press_slider(p, "campus-transformation", "End")
    press_slider(p, "campus-adaptation", "End")
    assert "Rebond en avant" in p.wait_contains(fb, "Rebond en avant")
    assert p.image(".campus-trajectoire") != figure
    p.close()


def test_browser_diagnosis(campus, browser):
    p = Page(browser, url(campus, "diagnostic"))
    fb = ".campus-feedback"
    before = p.text(fb)
    assert "Les Mureaux" in before
    box = p.page.locator(".campus-recherche input")
    box.fill("Brest")
    box.press("Enter")
    after = p.wait_contains(fb, "Brest")
    assert "EPCI" in after
    press_slider(p, "campus-valeur-ftth_locaux_part", "Home")
    adjusted = p.wait_contains(fb, "Vos valeurs changent le profil")
    assert "Numérique" in adjusted
    assert "Brest" in p.text(".campus-tableau") or "Numérique" in p.text(".campus-tableau")
    p.image(".campus-figure")
    p.close()


def test_browser_quiz(campus, browser):
    from observatoire.campus.quiz import questions

    p = Page(browser, url(campus, "quiz"))
    q = questions()[0]
    score = p.text(".campus-score")
    assert "0 / " in score
    wrong = q.choices[(q.answer + 1) % len(q.choices)]
    p.page.locator(f".campus-question-{q.id} label", has_text=wrong).click()
    p.page.locator(f".campus-verifier-{q.id}").click()
    p.page.wait_for_selector(f".campus-reponse-{q.id} .campus-retour-erreur", timeout=TIMEOUT)
    assert "Pas tout à fait" in p.text(f".campus-reponse-{q.id}")
    p.page.locator(f".campus-question-{q.id} label", has_text=q.choices[q.answer]).click()
    p.page.locator(f".campus-verifier-{q.id}").click()
    p.page.wait_for_selector(f".campus-reponse-{q.id} .campus-retour-succes", timeout=TIMEOUT)
    assert "1 / " in p.wait_contains(".campus-score", "1 / ")
    link = p.page.locator(f".campus-reponse-{q.id} a").first.get_attribute("href")
    assert link.startswith("/livre/book/")
    p.close()
