"""« Salle de 30 » : thirty learners on the Campus at once, as a workshop would use it.

A real server (``observatoire campus``) on a free port, then thirty learner sessions arriving
at random within a minute, spread over the four exercises. Each session does what a browser does
over Jupyter's kernel protocol: it fetches the page (the notebook executed in a kernel, or taken
from Voilà's preheated pool), opens the kernel's websocket with the page's cookies, asks the
kernel for its widgets' states (the ``jupyter.widget.control`` comm of ipywidgets 8), answers the
prediction, then moves its exercise's controls, a few seconds of thought between two moves,
sending the same comm messages as the page — and keeps doing so until the whole room has
arrived and made its first moves: the thirty sessions are then open together, as in a workshop.
At the end every learner closes the tab the way the page does (the shutdown request with the
``_xsrf`` cookie the Campus template sets).

Measured, for each server configuration (no preheating, a pool of 1 and of 2 kernels per
exercise): **first render** (from the request to the widgets' states in hand: the page can be
drawn), p50 and p95; **update** (from a control's message to the kernel going idle after it,
every widget update sent), p50 and p95, and p95 once the whole room is in (no more kernel
starting); the **peak memory** of the server and all its kernels (proportional set size, psutil,
every half second) and the most kernels alive at once; and the **learner kernels still alive 30 s
after** every tab has closed (goal: none). Goals on this 2-core machine: p95 first
render under 5 s, p95 update under 500 ms, memory under 8 GB.
"""

from __future__ import annotations

import json
import os
import random
import re
import signal
import subprocess
import sys
import threading
import time
import uuid
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LEARNERS = 30
ARRIVAL_WINDOW = 60.0  # seconds
SEED = 20260101
#: (label, options of ``observatoire campus``, kernels preheated per exercise, environment). The
#: learners' kernels are forked from the Campus's kernel server, except in the last configuration,
#: which starts them the usual way (the baseline the kernel server is measured against).
CONFIGURATIONS = (("sans préchauffage", ["--sans-prechauffage"], 0, {}),
                  ("réserve de 1 noyau par exercice", [], 1, {}),
                  ("réserve de 2 noyaux par exercice", ["--reserve", "2"], 2, {}),
                  ("sans préchauffage ni fourche (noyaux lancés comme d'habitude)", ["--sans-prechauffage"], 0,
                   {"OBSERVATOIRE_SANS_FOURCHE": "1"}))
XSRF = "0123456789abcdef0123456789abcdef"
CONTROL_PROTOCOL = "1.0.0"  # ipywidgets 8's « jupyter.widget.control » comm, as its frontend sends it

#: What a learner does in each exercise after the prediction, in a loop: (widget CSS class, message).
MOVES = {
    "01-construire-un-indice.ipynb": [("campus-normalisation", {"index": 4}), ("campus-agregation", {"index": 1}),
                                      ("campus-poids-axe-3", {"value": 3.0}), ("campus-normalisation", {"index": 2}),
                                      ("campus-agregation", {"index": 0}), ("campus-poids-axe-3", {"value": 1.0})],
    "02-choc-et-resilience.ipynb": [("campus-absorption", {"value": 100}), ("campus-choc", {"index": 1}),
                                    ("campus-transformation", {"value": 100}), ("campus-absorption", {"value": 30}),
                                    ("campus-choc", {"index": 2}), ("campus-cascade", {"value": False})],
    "03-diagnostiquer-mon-territoire.ipynb": [("campus-recherche", {"value": "1004"}),
                                              ("campus-valeur-eau_rendement_reseau", {"value": "78,5"}),
                                              ("campus-valeur-ftth_locaux_part", {"value": "64"}),
                                              ("campus-recherche", {"value": "Brest"}),
                                              ("campus-valeur-eau_rendement_reseau", {"value": "85"}),
                                              ("campus-valeur-ftth_locaux_part", {"value": "90"})],
    "04-quiz.ipynb": [("campus-question-definition", {"index": 1}), ("campus-verifier-definition", "click"),
                      ("campus-question-capacites", {"index": 1}), ("campus-verifier-capacites", "click"),
                      ("campus-question-cube", {"index": 0}), ("campus-verifier-cube", "click")],
}
FIRST_MOVES = 3  # moves every learner makes before the room counts as full


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = (len(ordered) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


class Server:
    def __init__(self, options: list[str], environment: dict[str, str] | None = None):
        from observatoire.campus.serve import free_port

        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc = subprocess.Popen([sys.executable, "-m", "observatoire", "campus", "--port", str(self.port),
                                      *options], cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                     env={**os.environ, **(environment or {})})
        self.log: list[str] = []
        threading.Thread(target=lambda: self.log.extend(self.proc.stderr), daemon=True).start()
        for line in self.proc.stdout:
            if line.startswith("Ctrl-C"):
                break

    def processes(self):
        import psutil

        root = psutil.Process(self.proc.pid)
        return [root, *root.children(recursive=True)]

    def sample(self) -> tuple[float, int]:
        """(memory of the server and its kernels, Mio; kernels alive). Memory is the proportional
        set size (PSS): a kernel forked from the kernel server shares its pages with it and the
        other kernels, which a sum of resident sizes would count once per kernel. Kernels are
        the processes started as ipykernel, or forked by the kernel server."""
        import psutil

        memory, kernels = 0, 0
        for p in self.processes():
            try:
                try:
                    memory += p.memory_full_info().pss
                except (psutil.AccessDenied, AttributeError):
                    memory += p.memory_info().rss
                forked = "observatoire.kernels" in " ".join(psutil.Process(p.ppid()).cmdline())
                kernels += forked or "ipykernel" in " ".join(p.cmdline())
            except psutil.Error:  # a kernel that just ended
                pass
        return memory / 2**20, kernels

    def settle(self, pools: int, limit: float = 240.0) -> None:
        """Until every pool is full and executed (the server and its kernels idle)."""
        import psutil

        deadline = time.monotonic() + limit
        while pools and sum("is filled with" in x for x in self.log) < 4 and time.monotonic() < deadline:
            time.sleep(0.5)
        calm = 0
        while calm < 3 and time.monotonic() < deadline:
            procs = self.processes()
            for p in procs:
                try:
                    p.cpu_percent(None)
                except psutil.Error:
                    pass
            time.sleep(1.0)
            busy = 0.0
            for p in procs:
                try:
                    busy += p.cpu_percent(None)
                except psutil.Error:
                    pass
            calm = calm + 1 if busy < 10 else 0

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def _message(msg_type: str, content: dict, session: str, metadata: dict | None = None) -> dict:
    return {"header": {"msg_id": uuid.uuid4().hex, "msg_type": msg_type, "session": session, "username": "",
                       "version": "5.3", "date": time.strftime("%Y-%m-%dT%H:%M:%SZ")},
            "parent_header": {}, "metadata": metadata or {}, "content": content, "channel": "shell", "buffers": []}


@dataclass
class Learner:
    """One learner's session, over HTTP and the kernel websocket."""

    number: int
    notebook: str
    base: str
    rng: random.Random
    first_render: float | None = None
    page_served: float | None = None
    updates: list[float] = field(default_factory=list)
    full_room_updates: list[float] = field(default_factory=list)  # once all thirty are in
    kernel: str | None = None
    error: str | None = None
    ready: threading.Event | None = None  # set by the room once every learner has made its first moves
    done_first: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        import requests
        import websocket

        http = requests.Session()
        start = time.perf_counter()
        page = http.get(f"{self.base}/voila/render/{self.notebook}", timeout=300)
        self.page_served = time.perf_counter() - start
        if page.status_code != 200:
            self.error = f"page {page.status_code}"
            return
        self.kernel = re.search(r'"kernelId":\s*"([0-9a-f-]{36})"', page.text).group(1)
        http.cookies.set("_xsrf", XSRF)
        cookies = "; ".join(f"{k}={v}" for k, v in http.cookies.items())
        self.ws = websocket.create_connection(
            f"{self.base.replace('http', 'ws')}/api/kernels/{self.kernel}/channels?session_id={uuid.uuid4().hex}",
            timeout=120, cookie=cookies)
        self.session = uuid.uuid4().hex
        try:
            states = self.widget_states()
            self.first_render = time.perf_counter() - start
            by_class = {c: model for model, s in states.items() for c in s.get("state", {}).get("_dom_classes", [])}
            self.act(by_class["campus-prediction-choix"], {"index": 0})
            self.act(by_class["campus-prediction-valider"], "click")
            moves, k = MOVES[self.notebook], 0
            while k < FIRST_MOVES or not self.ready.is_set():
                if k == FIRST_MOVES:
                    self.done_first.set()
                time.sleep(self.rng.uniform(2.0, 5.0))  # the learner reads, then moves a control
                css, change = moves[k % len(moves)]
                self.act(by_class[css], change)
                k += 1
        finally:
            self.done_first.set()
            self.ws.close()
            # The tab closes: the page's shutdown request, as the Campus template lets it send.
            http.post(f"{self.base}/voila/api/shutdown/{self.kernel}", data={"_xsrf": XSRF}, timeout=60)

    def send(self, msg_type: str, content: dict, metadata: dict | None = None) -> str:
        message = _message(msg_type, content, self.session, metadata)
        self.ws.send(json.dumps(message))
        return message["header"]["msg_id"]

    def wait(self, predicate, seconds: float = 120.0) -> dict:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            message = json.loads(self.ws.recv())
            if predicate(message):
                return message
        raise TimeoutError("pas de réponse du noyau")

    def widget_states(self) -> dict:
        comm = uuid.uuid4().hex
        self.send("comm_open", {"comm_id": comm, "target_name": "jupyter.widget.control", "data": {}},
                  {"version": CONTROL_PROTOCOL})
        self.send("comm_msg", {"comm_id": comm, "data": {"method": "request_states"}})
        reply = self.wait(lambda m: m["msg_type"] == "comm_msg" and m["content"].get("comm_id") == comm
                          and m["content"]["data"].get("method") == "update_states")
        return reply["content"]["data"]["states"]

    def act(self, model: str, change) -> None:
        data = ({"method": "custom", "content": {"event": "click"}} if change == "click" else
                {"method": "update", "state": change, "buffer_paths": []})
        start = time.perf_counter()
        sent = self.send("comm_msg", {"comm_id": model, "data": data})
        full = self.ready is not None and self.ready.is_set()
        self.wait(lambda m: m["msg_type"] == "status" and m["parent_header"].get("msg_id") == sent
                  and m["content"]["execution_state"] == "idle")
        self.updates.append(time.perf_counter() - start)
        if full:
            self.full_room_updates.append(self.updates[-1])


def room(options: list[str], pools: int, environment: dict[str, str] | None = None) -> dict:
    """Thirty learners on one server; the figures of the room."""
    import requests

    from observatoire.campus import EXERCISES

    server = Server(options, environment)
    try:
        server.settle(pools)
        rng = random.Random(SEED)
        arrivals = sorted(rng.uniform(0, ARRIVAL_WINDOW) for _ in range(LEARNERS))
        ready = threading.Event()
        learners = [Learner(k, EXERCISES[k % len(EXERCISES)].notebook, server.url, random.Random(SEED + k), ready=ready)
                    for k in range(LEARNERS)]
        peak, kernels_peak, running = [0.0], [0], [True]

        def sample():
            while running[0]:
                try:
                    memory, kernels = server.sample()
                except Exception:  # the server's own process table changing under psutil
                    continue
                peak[0], kernels_peak[0] = max(peak[0], memory), max(kernels_peak[0], kernels)
                time.sleep(0.5)

        sampler = threading.Thread(target=sample, daemon=True)
        sampler.start()

        def start(learner: Learner):
            try:
                learner.run()
            except Exception as exc:  # reported, the room goes on
                learner.error = f"{type(exc).__name__}: {exc}"

        threads, t0 = [], time.monotonic()
        for learner, at in zip(learners, arrivals):
            time.sleep(max(0.0, at - (time.monotonic() - t0)))
            thread = threading.Thread(target=start, args=(learner,), daemon=True)
            thread.start()
            threads.append(thread)
        for learner in learners:  # the room is full: everyone has arrived and made a first moves
            learner.done_first.wait(timeout=600)
        ready.set()
        for thread in threads:
            thread.join(timeout=600)
        closed = time.monotonic()
        kernels = [x.kernel for x in learners if x.kernel]

        def alive() -> int:
            return sum(requests.get(f"{server.url}/api/kernels/{k}", timeout=30).status_code == 200 for k in kernels)

        while alive() and time.monotonic() - closed < 30:
            time.sleep(1)
        freed_after = time.monotonic() - closed
        left = alive()
        running[0] = False
        sampler.join()
        renders = [x.first_render for x in learners if x.first_render is not None]
        served = [x.page_served for x in learners if x.page_served is not None]
        updates = [u for x in learners for u in x.updates]
        full_room = [u for x in learners for u in x.full_room_updates]
        return {"renders": renders, "served": served, "updates": updates, "full_room": full_room, "memory": peak[0],
                "kernels_peak": kernels_peak[0], "left": left, "freed_after": freed_after,
                "errors": [f"apprenant {x.number} ({x.notebook}) : {x.error}" for x in learners if x.error]}
    finally:
        server.stop()


def run():
    for label, options, pools, environment in CONFIGURATIONS:
        r = room(options, pools, environment)
        name = f"salle de {LEARNERS}, {label}"
        for error in r["errors"]:
            print(f"   ! {error}", flush=True)
        yield {"mesure": f"{name} : premier affichage, médiane", "valeur": percentile(r["renders"], 0.5), "unite": "s"}
        yield {"mesure": f"{name} : premier affichage, p95", "valeur": percentile(r["renders"], 0.95), "unite": "s",
               "objectif": 5.0}
        yield {"mesure": f"{name} : page servie, p95", "valeur": percentile(r["served"], 0.95), "unite": "s"}
        yield {"mesure": f"{name} : mise à jour, médiane", "valeur": 1000 * percentile(r["updates"], 0.5),
               "unite": "ms"}
        yield {"mesure": f"{name} : mise à jour, p95", "valeur": 1000 * percentile(r["updates"], 0.95), "unite": "ms",
               "objectif": 500.0}
        yield {"mesure": f"{name} : mise à jour salle pleine (tous arrivés), p95",
               "valeur": 1000 * percentile(r["full_room"], 0.95), "unite": "ms", "objectif": 500.0}
        yield {"mesure": f"{name} : mémoire maximale (serveur et noyaux, PSS)", "valeur": r["memory"], "unite": "Mio",
               "objectif": 8192.0}
        yield {"mesure": f"{name} : noyaux en même temps, au plus", "valeur": float(r["kernels_peak"]),
               "unite": "noyaux"}
        yield {"mesure": f"{name} : noyaux d'apprenants vivants 30 s après la fermeture", "valeur": float(r["left"]),
               "unite": "noyaux", "objectif": 0.0}
        yield {"mesure": f"{name} : délai pour que tous soient libérés", "valeur": r["freed_after"], "unite": "s",
               "objectif": 30.0}
        yield {"mesure": f"{name} : sessions en échec", "valeur": float(len(r["errors"])), "unite": "sessions",
               "objectif": 0.0}
        yield {"mesure": f"{name} : processeurs de la machine", "valeur": float(os.cpu_count() or 0),
               "unite": "cœurs"}


if __name__ == "__main__":  # python -m benchmarks.bench_campus: this benchmark alone
    for row in run():
        goal = f"  (objectif {row['objectif']} {row['unite']})" if "objectif" in row else ""
        print(f"   {row['mesure']:<78} {row['valeur']:>10.2f} {row['unite']}{goal}", flush=True)
