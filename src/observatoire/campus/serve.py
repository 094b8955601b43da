"""Serve the Campus with Voilà (``observatoire campus``, ``make campus``).

One Voilà server in tree mode on ``notebooks/campus/``, listening on 127.0.0.1 only, with:

- sources stripped (``VoilaConfiguration.strip_sources``) and tracebacks hidden
  (``show_tracebacks=False``): learners see widgets and text, never code or stack traces;
- a cell timeout (``VoilaExecutor.timeout``): a notebook stuck at render time is stopped;
- idle-kernel culling (``MappingKernelManager.cull_idle_timeout``/``cull_interval``, connected
  kernels included): Voilà starts one kernel per page view and shuts it down when the page is
  closed, but a crashed browser or a forgotten tab would otherwise hold it forever;
- preheated kernels (``VoilaConfiguration.preheat_kernel``, ``default_pool_size`` per notebook):
  each exercise is executed in advance in a kernel waiting for the next learner. The Campus
  notebooks read nothing from the request (no query string, no ``wait_for_request``), which is
  what makes them compatible; ``preheat_kernel`` excludes ``progressive_rendering`` and
  ``prelaunch_hook``, neither of which is used;
- the ``campus`` template (``jupyter/voila/templates/campus``): the lab template without its
  links to the Font Awesome CDN (the same CSS and fonts ship in Voilà's own bundle);
- a French home page at ``/`` listing the exercises (Voilà's file tree stays at /voila/tree);
- the built book (``_build/html``) served under ``/livre/``, where the debriefs link.

The frontend may only send comm and kernel-info messages to a kernel (Voilà's own
``allowed_message_types``): an ``execute_request`` from a browser is refused.
"""

from __future__ import annotations

import os
import signal
import socket
import sys
from pathlib import Path

from observatoire.campus import EXERCISES, NOTEBOOKS, ROOT

TEMPLATES_ROOT = Path(__file__).resolve().parent / "jupyter"
TEMPLATE = "campus"
BOOK_HTML = ROOT / "_build" / "html"
HOST = "127.0.0.1"
CELL_TIMEOUT = 120  # seconds
CULL_IDLE = 30 * 60  # seconds without activity before a kernel is shut down
CULL_INTERVAL = 60  # seconds between two checks


def free_port(host: str = HOST) -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def voila_argv(port: int, preheat: bool = True, pool_size: int = 1, cell_timeout: int = CELL_TIMEOUT,
               cull_idle: int = CULL_IDLE, cull_interval: int = CULL_INTERVAL) -> list[str]:
    """Voilà's command-line arguments (traitlets) for the Campus."""
    return [
        str(NOTEBOOKS),
        f"--port={port}",
        "--Voila.port_retries=0",
        f"--Voila.ip={HOST}",
        "--no-browser",
        f"--template={TEMPLATE}",
        "--theme=light",
        "--VoilaConfiguration.strip_sources=True",
        "--VoilaConfiguration.show_tracebacks=False",
        f"--VoilaExecutor.timeout={cell_timeout}",
        f"--MappingKernelManager.cull_idle_timeout={cull_idle}",
        f"--MappingKernelManager.cull_interval={cull_interval}",
        "--MappingKernelManager.cull_connected=True",
        f"--VoilaConfiguration.preheat_kernel={preheat}",
        f"--VoilaConfiguration.default_pool_size={pool_size if preheat else 0}",
    ]


def exercise_urls(port: int, host: str = HOST) -> dict[str, str]:
    return {e.title: f"http://{host}:{port}/voila/render/{e.notebook}" for e in EXERCISES}


def home_page(book_available: bool) -> str:
    """The Campus home (French): one card per exercise. Voilà's own file tree stays at /voila/tree."""
    from html import escape

    cards = "".join(
        f'<li><a href="voila/render/{escape(e.notebook)}">{escape(e.title)}</a><br>'
        f'<span>{escape(e.summary[0].upper() + e.summary[1:])}.</span></li>' for e in EXERCISES)
    book = ('<p>Les bilans renvoient au <a href="livre/">Livre Blanc</a>.</p>' if book_available else
            "<p>Le livre n'est pas construit : lancez <code>make book</code> pour que les liens des bilans "
            "fonctionnent.</p>")
    return f"""<!DOCTYPE html>
<html lang="fr"><head><meta charset="utf-8"><title>Le Campus du Livre Blanc</title>
<meta name="viewport" content="width=device-width, initial-scale=1"><link rel="icon" href="data:;base64,=">
<style>body{{font-family:system-ui,sans-serif;max-width:46em;margin:3em auto;padding:0 1em;line-height:1.5;color:#222}}
li{{margin:0 0 1em}} a{{color:#1f5fa8;font-weight:600}} span{{color:#444}}
.demo{{border-left:4px solid #b35900;background:#fff4e5;padding:.5em .8em}}</style></head>
<body><h1>Le Campus</h1>
<p>Quatre exercices interactifs sur le moteur de l'Observatoire : on fait varier un choix et on observe.</p>
<ol>{cards}</ol>
<p class="demo"><strong>Données de démonstration.</strong> Les valeurs d'indicateurs des territoires pilotes sont
tirées par un générateur à graine fixe, en attendant les données de l'enquête.</p>
{book}</body></html>"""


def _app_class():
    from tornado.ioloop import IOLoop
    from tornado.web import RequestHandler, StaticFileHandler
    from voila.app import Voila

    class HomeHandler(RequestHandler):
        def get(self):
            self.set_header("Content-Type", "text/html; charset=utf-8")
            self.finish(home_page((BOOK_HTML / "index.html").exists()))

    class CampusVoila(Voila):
        """Voilà plus the built book under /livre/, announcing its addresses in French."""

        def init_handlers(self):
            handlers = super().init_handlers()
            book = (r"/livre/(.*)", StaticFileHandler, {"path": str(BOOK_HTML), "default_filename": "index.html"})
            return [(r"/", HomeHandler), book, *handlers]

        def start(self):
            IOLoop.current().add_callback(self.announce)
            super().start()

        def announce(self):
            print(f"Campus servi sur http://{HOST}:{self.port}/ (port {self.port})", flush=True)
            for title, url in exercise_urls(self.port).items():
                print(f"  {title} : {url}", flush=True)
            if (BOOK_HTML / "index.html").exists():
                print(f"  Livre (liens des bilans) : http://{HOST}:{self.port}/livre/", flush=True)
            else:
                print("  Livre non construit : lancez « make book » pour que les liens des bilans "
                      "vers le livre fonctionnent.", flush=True)
            print("Ctrl-C pour arrêter.", flush=True)

    return CampusVoila


def serve(port: int | None = None, preheat: bool = True, pool_size: int = 1, cell_timeout: int = CELL_TIMEOUT,
          cull_idle: int = CULL_IDLE, cull_interval: int = CULL_INTERVAL) -> int:
    """Run the Campus until Ctrl-C (or SIGTERM); kernels are shut down on the way out."""
    port = port or free_port()
    # Ctrl-C must stop the server even when started from a shell that ignores SIGINT (« & »).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    # Voilà finds its templates in the Jupyter data path: ours first.
    os.environ["JUPYTER_PATH"] = os.pathsep.join(
        p for p in (str(TEMPLATES_ROOT), os.environ.get("JUPYTER_PATH", "")) if p)
    app = _app_class()
    try:
        app.launch_instance(argv=voila_argv(port, preheat, pool_size, cell_timeout, cull_idle, cull_interval))
    except KeyboardInterrupt:  # Ctrl-C during start-up, before Voilà's own handler is in place
        pass
    print("Campus arrêté.", file=sys.stderr, flush=True)
    return 0
