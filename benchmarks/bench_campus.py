"""The Campus served by Voilà: time to first render of each exercise, with and without preheated
kernels, widget round-trip latency, memory per kernel.

A real server (``observatoire campus``) on a free port and Debian's chromium driven by
Playwright, as in tests/test_campus_server.py. « First render »: from the navigation to the
first feedback of the exercise on screen (the notebook executed, its widgets drawn). With
preheating, each measure starts once every kernel pool is full and idle (its notebook executed). « Round trip »: from a change in
the browser to the updated feedback (browser → kernel → engine → browser). Memory: resident set
size of each kernel process once the four exercises are open (psutil).
"""

from __future__ import annotations

import signal
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
ROUND_TRIPS = 6


class Server:
    def __init__(self, preheat: bool):
        from observatoire.campus import EXERCISES
        from observatoire.campus.serve import free_port

        self.port = free_port()
        cmd = [sys.executable, "-m", "observatoire", "campus", "--port", str(self.port)]
        if not preheat:
            cmd.append("--sans-prechauffage")
        self.proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.log: list[str] = []
        threading.Thread(target=lambda: self.log.extend(self.proc.stderr), daemon=True).start()
        for line in self.proc.stdout:
            if line.startswith("Ctrl-C"):
                break
        if preheat:  # wait until every exercise has its kernel started…
            deadline = time.monotonic() + 120
            while sum("is filled with" in x for x in self.log) < len(EXERCISES) and time.monotonic() < deadline:
                time.sleep(0.2)
        self.settle()  # …and done executing its notebook

    def settle(self, limit: float = 90.0) -> None:
        """Wait until the server and its kernels are idle (< 5 % of a core, twice in a row): a
        preheated pool is « ready » once its notebooks have run, and refills after each use."""
        import psutil

        deadline, calm = time.monotonic() + limit, 0
        while calm < 2 and time.monotonic() < deadline:
            procs = [psutil.Process(self.proc.pid), *psutil.Process(self.proc.pid).children(recursive=True)]
            for q in procs:
                q.cpu_percent(None)
            time.sleep(0.5)
            busy = sum(q.cpu_percent(None) for q in procs if q.is_running())
            calm = calm + 1 if busy < 5 else 0

    def kernel_rss(self) -> list[float]:
        import psutil

        children = psutil.Process(self.proc.pid).children(recursive=True)
        return [c.memory_info().rss / 2**20 for c in children if "ipykernel" in " ".join(c.cmdline())]

    def stop(self):
        self.proc.send_signal(signal.SIGINT)
        self.proc.wait(timeout=60)


def first_render(page, url: str) -> float:
    start = time.perf_counter()
    page.goto(url)
    page.wait_for_selector(".campus-app .campus-feedback .campus-retour", timeout=120_000)
    return time.perf_counter() - start


def round_trip(page) -> list[float]:
    """Quiz: pick an answer and press « Vérifier », until its feedback shows (alternating answers)."""
    from observatoire.campus.quiz import questions

    q = questions()[0]
    out = []
    for k in range(ROUND_TRIPS):
        choice = q.choices[q.answer] if k % 2 == 0 else q.choices[(q.answer + 1) % len(q.choices)]
        expected = "campus-retour-succes" if k % 2 == 0 else "campus-retour-erreur"
        page.locator(f".campus-question-{q.id} label", has_text=choice).click()
        page.wait_for_function(f"() => !document.querySelector('.campus-reponse-{q.id} .campus-retour')",
                               timeout=30_000)
        start = time.perf_counter()
        page.locator(f".campus-verifier-{q.id}").click()
        page.wait_for_selector(f".campus-reponse-{q.id} .{expected}", timeout=30_000)
        out.append(time.perf_counter() - start)
    return out


def recompute_round_trip(page) -> float:
    """Index exercise: change the normalisation until the new feedback shows (engine + Monte Carlo + figure)."""
    before = page.inner_text(".campus-feedback")
    start = time.perf_counter()
    page.select_option(".campus-normalisation select", label="rang entre les pilotes")
    page.wait_for_function("(b) => document.querySelector('.campus-feedback').innerText !== b", arg=before,
                           timeout=60_000)
    return time.perf_counter() - start


def run():
    from playwright.sync_api import sync_playwright

    from observatoire.campus import EXERCISES

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        for preheat in (False, True):
            server = Server(preheat)
            label = "noyaux préchauffés" if preheat else "sans préchauffage"
            try:
                pages = []
                for e in EXERCISES:
                    server.settle()
                    page = browser.new_page()
                    seconds = first_render(page, f"http://127.0.0.1:{server.port}/voila/render/{e.notebook}")
                    pages.append(page)
                    yield {"mesure": f"premier affichage, {e.title} ({label})", "valeur": seconds, "unite": "s",
                           "objectif": 1.0 if preheat else 10.0}
                if preheat:
                    server.settle()
                    times = round_trip(pages[3])
                    yield {"mesure": "aller-retour d'un widget (quiz, médiane)", "valeur": statistics.median(times) * 1000,
                           "unite": "ms", "objectif": 200.0}
                    yield {"mesure": "recalcul de l'indice (normalisation changée)", "valeur": recompute_round_trip(pages[0]),
                           "unite": "s", "objectif": 2.0}
                    rss = server.kernel_rss()
                    yield {"mesure": f"mémoire par noyau (RSS moyen, {len(rss)} noyaux)", "valeur": statistics.mean(rss),
                           "unite": "Mio"}
                    yield {"mesure": "mémoire par noyau (RSS maximal)", "valeur": max(rss), "unite": "Mio"}
                for page in pages:
                    page.close()
            finally:
                server.stop()
        browser.close()
