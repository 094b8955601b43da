"""The Campus served by Voilà (``observatoire campus``), driven over HTTP, websocket and in a
real browser (Playwright for Python driving Debian's chromium, never a downloaded browser).

Two servers, started the way ``make campus`` starts them and stopped with Ctrl-C (SIGINT): the
default one (preheated kernels), and a small one (no preheating, two exercises per learner,
three in all, kernels culled after 30 s of inactivity) for the caps and the idle message.
In CI (CI=true) nothing here may skip; elsewhere the browser tests skip without chromium.
"""

import html
import json
import os
import re
import signal
import subprocess
import sys
import threading
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
TIMEOUT = 90_000  # ms
SOURCE_MARKS = ("from observatoire", "import ", ".app(", "composite", "diagnosis")


class Server:
    """A live Campus (``observatoire campus`` with ``options``); :meth:`stop` is Ctrl-C."""

    def __init__(self, *options: str):
        self.port = free_port()
        self.proc = subprocess.Popen([sys.executable, "-m", "observatoire", "campus", "--port", str(self.port),
                                      *options], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.log: list[str] = []
        threading.Thread(target=lambda: self.log.extend(self.proc.stderr), daemon=True).start()
        lines, deadline = [], time.monotonic() + 120
        while time.monotonic() < deadline:
            line = self.proc.stdout.readline()
            if not line and self.proc.poll() is not None:
                pytest.fail("le Campus n'a pas démarré :\n" + "".join(self.log))
            lines.append(line)
            if line.startswith("Ctrl-C"):
                break
        self.announced = "".join(lines)
        self.url = f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            pytest.fail("Ctrl-C n'a pas arrêté le Campus en 60 s")
        time.sleep(0.5)
        assert self.proc.returncode == 0, "".join(self.log)[-2000:]
        assert any("Campus arrêté" in x for x in self.log)


@pytest.fixture(scope="module")
def campus():
    server = Server()
    assert f"port {server.port}" in server.announced
    for e in EXERCISES:
        assert f"{e.title} : http://127.0.0.1:{server.port}/voila/render/{e.notebook}" in server.announced
    yield server
    server.stop()


@pytest.fixture(scope="module")
def small():
    server = Server("--sans-prechauffage", "--max-par-apprenant", "2", "--max-noyaux", "3", "--inactivite", "0.5",
                    "--delai-orphelin", "300")
    yield server
    server.stop()


def shown(response) -> str:
    """The text of an HTML answer, entities decoded."""
    return html.unescape(response.text)


def url(base: str, slug: str) -> str:
    return f"{base}/voila/render/" + next(e.notebook for e in EXERCISES if e.slug == slug)


def kernel_id(html: str) -> str:
    return re.search(r'"kernelId":\s*"([0-9a-f-]{36})"', html).group(1)


def kernel_alive(base: str, kernel: str) -> bool:
    return requests.get(f"{base}/api/kernels/{kernel}", timeout=10).status_code == 200


def wait_until(condition, seconds: float, step: float = 1.0) -> float:
    start = time.monotonic()
    while time.monotonic() - start < seconds:
        if condition():
            return time.monotonic() - start
        time.sleep(step)
    raise AssertionError(f"condition non atteinte en {seconds} s")


# -- HTTP ----------------------------------------------------------------------------------------

def test_home_and_error_pages_are_french_and_hosts_are_checked(campus):
    home = requests.get(f"{campus.url}/", timeout=30)
    assert home.status_code == 200 and '<html lang="fr">' in shown(home) and "fictifs" in shown(home)
    assert "cdn.jsdelivr.net" not in shown(home) and "cdnjs" not in shown(home)
    missing = requests.get(f"{campus.url}/nulle-part", timeout=30)
    assert missing.status_code == 404 and "Page introuvable" in shown(missing) and '<html lang="fr">' in shown(missing)
    tree = requests.get(f"{campus.url}/voila/tree", timeout=30, allow_redirects=False)
    assert tree.status_code == 302 and tree.headers["Location"] == "/"
    assert requests.get(f"{campus.url}/voila/render/autre.ipynb", timeout=30).status_code == 404
    for host in ("evil.example", "127.0.0.1.evil.example", f"attaquant.example:{campus.port}"):
        refused = requests.get(f"{campus.url}/", headers={"Host": host}, timeout=30)
        assert refused.status_code == 403 and "Adresse refusée" in shown(refused)
        assert requests.get(url(campus.url, "quiz"), headers={"Host": host}, timeout=30).status_code == 403
    assert requests.get(f"{campus.url}/", headers={"Host": f"localhost:{campus.port}"}, timeout=30).status_code == 200
    api = requests.post(f"{campus.url}/api/kernels/inconnu", timeout=30)
    assert api.headers["Content-Type"].startswith("application/json")
    assert set(api.json()) == {"message"}
    for leak in ("Traceback", "site-packages", str(ROOT), "Kernel does not exist"):
        assert leak not in api.text, leak
    book = requests.get(f"{campus.url}/livre/", timeout=30)
    if (ROOT / "_build" / "html" / "index.html").exists():
        assert book.status_code == 200
    else:
        assert book.status_code == 404 and "Le livre n'est pas construit" in shown(book) and "make book" in shown(book)


def _message(msg_type: str, content: dict, session: str) -> str:
    return json.dumps({
        "header": {"msg_id": uuid.uuid4().hex, "msg_type": msg_type, "session": session, "username": "",
                   "version": "5.3", "date": "2026-01-01T00:00:00Z"},
        "parent_header": {}, "metadata": {}, "content": content, "channel": "shell", "buffers": [],
    })


def _collect(ws, seconds: float, until: str | None = None) -> list[dict]:
    import websocket

    seen, deadline = [], time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            seen.append(json.loads(ws.recv()))
        except websocket.WebSocketTimeoutException:
            continue
        if until and seen[-1]["msg_type"] == until:
            break
    return seen


def test_the_kernel_websocket_refuses_code_and_sends_no_traceback(campus):
    import websocket

    session = requests.Session()
    page = session.get(url(campus.url, "quiz"), timeout=120)
    kernel = kernel_id(page.text)
    cookies = "; ".join(f"{k}={v}" for k, v in session.cookies.items())
    ws = websocket.create_connection(f"{campus.url.replace('http', 'ws')}/api/kernels/{kernel}/channels"
                                     f"?session_id={uuid.uuid4().hex}", timeout=5, cookie=cookies)
    sid = uuid.uuid4().hex
    try:
        ws.send(_message("execute_request", {"code": "print('INTRUSION')", "silent": False, "store_history": True,
                                             "user_expressions": {}, "allow_stdin": False, "stop_on_error": True}, sid))
        # Malformed widget messages: an unknown comm, a broken update, an unknown target.
        ws.send(_message("comm_msg", {"comm_id": "inexistant", "data": {"method": "update", "state": 12}}, sid))
        ws.send(_message("comm_open", {"comm_id": uuid.uuid4().hex, "target_name": "jupyter.widget",
                                       "data": {"state": {"_model_name": "Rien"}}}, sid))
        ws.send(_message("comm_open", {"comm_id": uuid.uuid4().hex, "target_name": "cible.inconnue", "data": {}}, sid))
        ws.send(_message("kernel_info_request", {}, sid))  # allowed: proves the channel works
        seen = _collect(ws, 20, until="kernel_info_reply")
        seen += _collect(ws, 3)
    finally:
        ws.close()
    kinds = [m["msg_type"] for m in seen]
    assert "kernel_info_reply" in kinds
    assert "execute_reply" not in kinds and "execute_input" not in kinds and "error" not in kinds
    text = json.dumps(seen)
    for leak in ("INTRUSION", "Traceback", "site-packages", str(ROOT), "File \\\"", "ipykernel"):
        assert leak not in text, leak
    info = next(m for m in seen if m["msg_type"] == "kernel_info_reply")
    assert info["content"]["banner"] == ""
    session.post(f"{campus.url}/voila/api/shutdown/{kernel}", data={"_xsrf": "abc123"},
                 cookies={"_xsrf": "abc123"}, timeout=30)


def test_a_page_never_opened_in_a_browser_frees_its_kernel(campus):
    """A plain GET (a script, a crawler) gets a kernel, which is shut down once no browser holds it."""
    kernel = kernel_id(requests.get(url(campus.url, "quiz"), timeout=120).text)
    assert kernel_alive(campus.url, kernel)
    elapsed = wait_until(lambda: not kernel_alive(campus.url, kernel), 45)
    assert elapsed < 40


def kernel_server_children(server: Server) -> list:
    """The kernels forked by the Campus's kernel server (psutil processes)."""
    import psutil

    forks = [p for p in psutil.Process(server.proc.pid).children(recursive=True)
             if "observatoire.campus.preload" in " ".join(p.cmdline())]
    assert len({p.pid for p in forks if p.parent().pid == server.proc.pid}) == 1, "one kernel server"
    return [p for p in forks if p.parent().pid != server.proc.pid]


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="kernels are forked on Linux only")
def test_learners_kernels_are_forked_from_the_campus_kernel_server_and_their_widgets_answer(small):
    """A learner's kernel is a child of the kernel server (which imported the exercises once); its
    widgets answer the page's state request (ipywidgets loaded as an IPython extension, since the
    server imported it before there was a kernel), and it ends when the tab closes."""
    import websocket

    before = {p.pid for p in kernel_server_children(small)}
    http = requests.Session()
    page = http.get(url(small.url, "quiz"), timeout=120)
    kernel = kernel_id(page.text)
    forked = [p for p in kernel_server_children(small) if p.pid not in before]
    assert len(forked) == 1, "the page's kernel was forked by the kernel server"
    http.cookies.set("_xsrf", "abc123")
    ws = websocket.create_connection(f"{small.url.replace('http', 'ws')}/api/kernels/{kernel}/channels"
                                     f"?session_id={uuid.uuid4().hex}", timeout=60,
                                     cookie="; ".join(f"{k}={v}" for k, v in http.cookies.items()))
    try:
        comm, session = uuid.uuid4().hex, uuid.uuid4().hex

        def send(msg_type, content, metadata=None):
            ws.send(json.dumps({"header": {"msg_id": uuid.uuid4().hex, "msg_type": msg_type, "session": session,
                                           "username": "", "version": "5.3"},
                                "parent_header": {}, "metadata": metadata or {}, "content": content,
                                "channel": "shell", "buffers": []}))

        send("comm_open", {"comm_id": comm, "target_name": "jupyter.widget.control", "data": {}},
             {"version": "1.0.0"})
        send("comm_msg", {"comm_id": comm, "data": {"method": "request_states"}})
        while True:
            message = json.loads(ws.recv())
            assert message["msg_type"] != "comm_close", "the widgets' control comm is registered"
            if message["msg_type"] == "comm_msg" and message["content"]["comm_id"] == comm:
                break
        states = message["content"]["data"]["states"]
        classes = {c for s in states.values() for c in s["state"].get("_dom_classes", [])}
        assert "campus-prediction-choix" in classes
    finally:
        ws.close()
    http.post(f"{small.url}/voila/api/shutdown/{kernel}", data={"_xsrf": "abc123"}, timeout=60)
    wait_until(lambda: not forked[0].is_running() or forked[0].status() == "zombie", 30)


def test_caps_per_learner_and_in_total_with_french_pages(small):
    alice, bob, carol = requests.Session(), requests.Session(), requests.Session()
    kernels = []
    for _ in range(2):
        page = alice.get(url(small.url, "quiz"), timeout=120)
        assert page.status_code == 200
        kernels.append((alice, kernel_id(page.text)))
    third = alice.get(url(small.url, "quiz"), timeout=120)
    assert third.status_code == 429 and "Trop d'exercices ouverts" in shown(third) and "Fermez un onglet" in shown(third)
    page = bob.get(url(small.url, "quiz"), timeout=120)
    assert page.status_code == 200
    kernels.append((bob, kernel_id(page.text)))
    full = carol.get(url(small.url, "quiz"), timeout=120)
    assert full.status_code == 503 and "Le Campus est complet" in shown(full) and full.headers["Retry-After"]
    # Closing a tab (the page's shutdown request, with the _xsrf the Campus template sets) frees a place.
    learner, kernel = kernels.pop()
    shut = learner.post(f"{small.url}/voila/api/shutdown/{kernel}", data={"_xsrf": "0f1e2d3c"},
                        cookies={"_xsrf": "0f1e2d3c"}, timeout=30)
    assert shut.status_code == 204
    page = carol.get(url(small.url, "quiz"), timeout=120)
    assert page.status_code == 200
    kernels.append((carol, kernel_id(page.text)))
    for learner, kernel in kernels:
        learner.post(f"{small.url}/voila/api/shutdown/{kernel}", data={"_xsrf": "0f1e2d3c"},
                     cookies={"_xsrf": "0f1e2d3c"}, timeout=30)


# -- in a real browser ----------------------------------------------------------------------

@pytest.fixture(scope="module")
def browser():
    if not CHROMIUM.exists():
        message = ("chromium est introuvable (/usr/bin/chromium) : installez-le avec « make chromium » (ou "
                   "« apt-get install chromium ») pour lancer les tests du Campus dans un navigateur.")
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

    def __init__(self, browser, address, predict: bool = True, context=None):
        self.page = (context or browser).new_page(viewport={"width": 1200, "height": 1000})
        self.errors, self.external = [], []
        self.page.on("console", lambda m: m.type == "error" and self.errors.append(m.text))
        self.page.on("pageerror", lambda e: self.errors.append(str(e)))

        def route(r):
            if r.request.url.startswith(("http://127.0.0.1", "ws://127.0.0.1", "data:", "blob:")):
                return r.continue_()
            self.external.append(r.request.url)
            return r.abort()

        self.page.route("**/*", route)
        self.page.goto(address)
        self.page.wait_for_selector(".campus-app", timeout=TIMEOUT)
        self.kernel = kernel_id(self.page.content())
        if predict:
            self.predict()

    def predict(self, index: int = 0) -> None:
        self.page.locator(".campus-prediction-choix .widget-radio-box label").nth(index).click()
        self.page.locator(".campus-prediction-valider").click()
        self.page.wait_for_selector(".campus-apres-prediction", state="visible", timeout=TIMEOUT)

    def text(self, selector: str) -> str:
        return self.page.locator(selector).first.inner_text()

    def wait_contains(self, selector: str, text: str) -> str:
        self.page.wait_for_function(
            "([s, t]) => { const e = document.querySelector(s); return e && e.innerText.includes(t); }",
            arg=[selector, text], timeout=TIMEOUT)
        return self.text(selector)

    def wait_change(self, selector: str, before: str) -> str:
        self.page.wait_for_function(
            "([s, b]) => { const e = document.querySelector(s); return e && e.innerText !== b && e.innerText.length; }",
            arg=[selector, before], timeout=TIMEOUT)
        return self.text(selector)

    def close(self, check: bool = True):
        self.page.close(run_before_unload=True)
        if check:
            assert not self.external, f"requêtes vers l'extérieur : {self.external}"
            assert not self.errors, f"erreurs dans la console : {self.errors}"


def number(cell: str) -> float:
    return float(cell.replace("\u202f", "").replace(",", "."))


def test_browser_home_lists_the_exercises(campus, browser):
    page = browser.new_page()
    errors = []
    page.on("console", lambda m: m.type == "error" and errors.append(m.text))
    page.route("**/*", lambda r: r.continue_() if r.request.url.startswith("http://127.0.0.1") else r.abort())
    page.goto(f"{campus.url}/")
    for e in EXERCISES:
        page.wait_for_selector(f"a[href='voila/render/{e.notebook}']", timeout=TIMEOUT)
    assert "Territoires fictifs" in page.inner_text("body")
    page.locator("a", has_text="Quiz").click()
    page.wait_for_selector(".campus-app .campus-prediction", timeout=TIMEOUT)
    page.close(run_before_unload=True)
    assert not errors, errors


def test_browser_pages_show_no_source_and_closing_a_tab_frees_its_kernel(campus, browser):
    """The source-stripping check reads the rendered DOM text; then the tab is closed as a learner
    closes it, and its kernel must be gone within 30 s."""
    for e in EXERCISES:
        p = Page(browser, f"{campus.url}/voila/render/{e.notebook}", predict=False)
        shown = p.page.inner_text("body")
        for mark in SOURCE_MARKS:
            assert mark not in shown, f"{e.slug} : « {mark} » visible"
        assert "Traceback" not in shown and "Bilan" in shown and "Consignes" in shown
        assert kernel_alive(campus.url, p.kernel)
        p.close()
        elapsed = wait_until(lambda: not kernel_alive(campus.url, p.kernel), 30, step=0.5)
        assert elapsed < 30, f"{e.slug} : noyau encore vivant"
    assert not any("'_xsrf' argument missing" in line for line in campus.log)


def test_browser_index_band_follows_the_method(campus, browser):
    p = Page(browser, url(campus.url, "indice"))
    assert "Territoires fictifs" in p.page.inner_text("body")
    assert "Pour vérifier" in p.text(".campus-verdict")

    def rows():
        table = p.page.locator(".campus-tableau table tbody tr")
        return [[c.strip() for c in table.nth(k).inner_text().split("\t")] for k in range(table.count())]

    def check_inside(table):
        for r in table:
            index, low, high = number(r[2]), number(r[3]), number(r[4])
            assert low - 0.05 <= index <= high + 0.05, r

    before = rows()
    check_inside(before)
    table_text = p.text(".campus-tableau")
    p.page.select_option(".campus-normalisation select", label="rang entre les territoires")
    p.wait_change(".campus-tableau", table_text)
    after = rows()
    check_inside(after)
    assert [r[3:5] for r in before] != [r[3:5] for r in after], "the band must move with the normalisation"
    feedback = p.text(".campus-feedback")
    p.page.select_option(".campus-agregation select", label="moyenne géométrique")
    assert "compense peu" in p.wait_change(".campus-feedback", feedback)
    p.wait_contains(".campus-verdict", "passer à la moyenne géométrique change l'indice")
    p.page.select_option(".campus-agregation select", label="moyenne d'ordre p (généralisée)")
    p.wait_contains(".campus-puissance-aide", "Ordre")
    assert p.page.locator(".campus-figure svg").count() == 1
    p.close()


def test_browser_shock_cascades_and_prediction(campus, browser):
    p = Page(browser, url(campus.url, "choc"))
    fb = ".campus-feedback"
    assert "Effets en cascade" in p.text(fb) and "Cicatrice" in p.text(fb)
    before = p.text(fb)
    p.page.locator(".campus-cascade input").click()
    assert "désactivés" in p.wait_change(fb, before)
    handle = p.page.locator(".campus-absorption .noUi-handle").first
    handle.focus()
    handle.press("End")
    p.wait_contains(".campus-verdict", "l'absorption à 100 %")
    p.page.select_option(".campus-choc select", label="Canicule")
    p.wait_contains(fb, "Canicule")
    for name in ("transformation", "adaptation"):
        h = p.page.locator(f".campus-{name} .noUi-handle").first
        h.focus()
        h.press("End")
    p.wait_contains(fb, "Rebond en avant")
    assert "indice avant le choc" in p.text(".campus-trajectoire")
    # The summary is rebuilt after each change: wait for the one of the last change, then download it.
    p.page.wait_for_function(
        "(words) => { const a = document.querySelector('.campus-telecharger'); if (!a) return false;"
        " const bytes = Uint8Array.from(atob(a.href.split(',')[1]), (c) => c.charCodeAt(0));"
        " const md = new TextDecoder().decode(bytes); return words.every((w) => md.includes(w)); }",
        arg=["Ma prédiction", "Rebond en avant", "Canicule"], timeout=TIMEOUT)
    with p.page.expect_download() as download:
        p.page.locator(".campus-telecharger").click()
    saved = Path(download.value.path()).read_text(encoding="utf-8")
    assert download.value.suggested_filename == "campus-choc-resume.md"
    assert saved.startswith("# Choc et résilience") and "Ma prédiction" in saved and "Rebond en avant" in saved
    p.close()


def test_browser_diagnosis_repairs_a_lost_zero_and_clears_stale_results(campus, browser):
    p = Page(browser, url(campus.url, "diagnostic"))
    box = p.page.locator(".campus-recherche input")
    box.fill("1004")
    box.press("Enter")
    card = p.wait_contains(".campus-fiche", "Ambérieu-en-Bugey")
    assert "01004" in card and "Code officiel géographique" in card
    assert "complété en « 01004 »" in p.text(".campus-recherche-retour")
    assert "aucune valeur saisie" in p.text(".campus-feedback")
    field = p.page.locator(".campus-valeur-eau_rendement_reseau input")
    field.fill("78,5")
    field.press("Enter")
    assert "78,50" in p.wait_contains(".campus-tableau", "pairs fictifs")
    p.page.wait_for_selector(".campus-figure svg", timeout=TIMEOUT)
    box.fill("zzzzzz")
    box.press("Enter")
    p.wait_contains(".campus-recherche-retour", "Aucun territoire")
    p.page.wait_for_function("() => !document.querySelector('.campus-fiche table') && "
                             "!document.querySelector('.campus-tableau table')", timeout=TIMEOUT)
    p.close()


def test_browser_quiz_scores_first_answers(campus, browser):
    from observatoire.campus.quiz import questions

    p = Page(browser, url(campus.url, "quiz"))
    q = questions()[0]
    assert "0 / " in p.text(".campus-score")
    wrong = q.choices[(q.answer + 1) % len(q.choices)]
    p.page.locator(f".campus-question-{q.id} label", has_text=wrong).click()
    p.page.locator(f".campus-verifier-{q.id}").click()
    p.page.wait_for_selector(f".campus-reponse-{q.id} .campus-retour-erreur", timeout=TIMEOUT)
    assert "Pas tout à fait" in p.text(f".campus-reponse-{q.id}")
    p.page.wait_for_selector(f".campus-question-{q.id} input:disabled", timeout=TIMEOUT)
    assert p.page.locator(f".campus-verifier-{q.id}").is_disabled()
    score = p.wait_contains(".campus-score", "1\u00a0question vérifiée")
    assert "0 / 10" in score
    link = p.page.locator(f".campus-reponse-{q.id} a").first.get_attribute("href")
    assert link.startswith("/livre/book/")
    p.close()


def test_browser_idle_tab_says_so_and_reloads(small, browser):
    p = Page(browser, url(small.url, "quiz"), predict=False)
    kernel = p.kernel
    wait_until(lambda: not kernel_alive(small.url, kernel), 90, step=2)  # culled after 30 s of inactivity
    # The page checks its kernel every 15 s and at every click or key: the message comes either way.
    p.page.locator(".campus-prediction-choix .widget-radio-box label").first.click(force=True)
    p.page.wait_for_selector(".campus-noyau-perdu", timeout=20_000)
    assert "s’est arrêté" in p.text(".campus-noyau-perdu") and "Rechargez la page" in p.text(".campus-noyau-perdu")
    p.page.locator(".campus-recharger").click()
    p.page.wait_for_selector(".campus-app .campus-prediction", timeout=TIMEOUT)
    assert p.page.locator(".campus-noyau-perdu").count() == 0
    assert kernel_id(p.page.content()) != kernel
    p.close(check=False)  # the dead kernel's websocket errors are expected in this console
