"""Serve the Campus with Voilà (``observatoire campus``, ``make campus``).

One Voilà server on ``notebooks/campus/``, listening on 127.0.0.1 unless told otherwise, with:

- sources stripped (``VoilaConfiguration.strip_sources``) and tracebacks hidden
  (``show_tracebacks=False``, French instructions in their place): learners see widgets and
  text, never code, stack traces or server paths (see also :mod:`observatoire.campus.server`);
- a cell timeout (``VoilaExecutor.timeout``): a notebook stuck at render time is stopped;
- kernels freed when a tab closes (the Campus template sets the ``_xsrf`` cookie Voilà's
  shutdown request needs), a safety net for lost requests, caps on kernels per learner and in
  total, and idle-kernel culling (``MappingKernelManager.cull_idle_timeout``, connected kernels
  included) for forgotten tabs, whose page then says so in French with a reload button;
- preheated kernels (``VoilaConfiguration.preheat_kernel``, ``default_pool_size`` per notebook):
  each exercise is executed in advance in a kernel waiting for the next learner. The Campus
  notebooks read nothing from the request (no query string, no ``wait_for_request``), which is
  what makes them compatible; ``preheat_kernel`` excludes ``progressive_rendering`` and
  ``prelaunch_hook``, neither of which is used;
- a ``Host`` allow-list (127.0.0.1, localhost, ::1 and ``--hote``), French error pages, Voilà's
  file tree replaced by the French home page at ``/``;
- the built book (``_build/html``) under ``/livre/``, where the debriefs link, or a redirection
  to the published book (``--livre``), or a French page saying how to build it;
- the exercises' shared computations done once before the first kernel
  (:mod:`observatoire.campus.prepared`), each kernel reading them from one file;
- learners' kernels forked from a kernel server that has imported the exercises and read those
  computations once (:mod:`observatoire.kernels`, :mod:`observatoire.campus.preload`), on Linux: a
  kernel costs about two tenths of a second of processor instead of two seconds, which is what a
  room of thirty on two cores needs (``OBSERVATOIRE_SANS_FOURCHE=1``: kernels started the usual way).

The frontend may only send comm and kernel-info messages to a kernel (Voilà's own
``allowed_message_types``): an ``execute_request`` from a browser is refused.
"""

from __future__ import annotations

import ipaddress
import os
import signal
import socket
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from observatoire.campus import EXERCISES, NOTEBOOKS, ROOT

TEMPLATES_ROOT = Path(__file__).resolve().parent / "jupyter"
TEMPLATE = "campus"
BOOK_HTML = ROOT / "_build" / "html"
HOST = "127.0.0.1"
CELL_TIMEOUT = 120  # seconds
CULL_IDLE = 30 * 60  # seconds without activity before a kernel is shut down
CELL_ERROR = ("Cet exercice n'a pas pu s'afficher entièrement. Rechargez la page ; si le problème persiste, "
              "prévenez la personne qui anime la séance.")
CELL_TIMEOUT_MESSAGE = "Le calcul de cet exercice a pris trop de temps. Rechargez la page dans un instant."


@dataclass
class Options:
    """How the Campus is served (the CLI's flags)."""

    port: int | None = None
    listen: str = HOST  # interface the server listens on
    hosts: tuple[str, ...] = ()  # names the learners use, besides 127.0.0.1 and localhost (--hote)
    preheat: bool = True
    pool_size: int = 1
    cell_timeout: int = CELL_TIMEOUT
    cull_idle: float = CULL_IDLE  # seconds
    per_client: int = 6
    total: int = 40
    orphan_seconds: float = 20.0
    book_url: str | None = None  # the published book, when it is not built here

    @property
    def cull_interval(self) -> int:
        return int(max(5, min(60, self.cull_idle // 4)))


def free_port(host: str = HOST) -> int:
    with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


def voila_argv(options: Options) -> list[str]:
    """Voilà's command-line arguments (traitlets) for the Campus."""
    return [
        str(NOTEBOOKS),
        f"--port={options.port}",
        "--Voila.port_retries=0",
        f"--Voila.ip={options.listen}",
        "--no-browser",
        f"--template={TEMPLATE}",
        "--theme=light",
        "--VoilaConfiguration.strip_sources=True",
        "--VoilaConfiguration.show_tracebacks=False",
        f"--VoilaExecutor.cell_error_instruction={CELL_ERROR}",
        f"--VoilaExecutor.cell_timeout_instruction={CELL_TIMEOUT_MESSAGE}",
        f"--VoilaExecutor.timeout={options.cell_timeout}",
        "--Voila.kernel_websocket_connection_class=observatoire.campus.server.CampusKernelConnection",
        f"--MappingKernelManager.cull_idle_timeout={int(options.cull_idle)}",
        f"--MappingKernelManager.cull_interval={options.cull_interval}",
        "--MappingKernelManager.cull_connected=True",
        f"--VoilaConfiguration.preheat_kernel={options.preheat}",
        f"--VoilaConfiguration.default_pool_size={options.pool_size if options.preheat else 0}",
    ]


def allowed_hosts(options: Options) -> tuple[str, ...]:
    from observatoire.campus.server import LOCAL_HOSTS

    return tuple(dict.fromkeys((*LOCAL_HOSTS, *(h.strip().lower() for h in options.hosts if h.strip()))))


def public_host(options: Options) -> str:
    """The address announced to learners: the first --hote, else the listening address."""
    host = options.hosts[0] if options.hosts else options.listen
    try:
        if ipaddress.ip_address(host).version == 6:
            return f"[{host}]"
    except ValueError:
        pass
    return host


def exercise_urls(port: int, host: str = HOST) -> dict[str, str]:
    return {e.title: f"http://{host}:{port}/voila/render/{e.notebook}" for e in EXERCISES}


def book_settings(options: Options) -> dict:
    built = (BOOK_HTML / "index.html").exists()
    return {"built": built, "url": None if built else options.book_url}


def _app_class(options: Options):
    from tornado.ioloop import IOLoop, PeriodicCallback
    from tornado.web import StaticFileHandler
    from voila.app import Voila
    from voila.handler import VoilaHandler

    from observatoire.campus import server

    class CampusVoila(Voila):
        """Voilà with the Campus's routes (see :mod:`observatoire.campus.server`)."""

        def init_settings(self):
            settings = super().init_settings()
            settings["campus_hosts"] = allowed_hosts(options)
            settings["campus_book"] = book_settings(options)
            settings["campus_sessions"] = self.sessions = server.Sessions(server.Limits(
                per_client=options.per_client, total=options.total, orphan_seconds=options.orphan_seconds))
            return settings

        def init_handlers(self):
            from jupyter_server.base.handlers import path_regex

            routes = []
            for route in super().init_handlers():
                pattern, handler, *kwargs = route
                if pattern in ("/", "/voila/tree" + path_regex) or pattern.startswith("/voila/api/contents"):
                    continue  # Voilà's file tree: replaced by the home page
                if issubclass(handler, VoilaHandler):
                    handler = server.exercise_handler(handler)
                routes.append((pattern, server.guarded(handler), *kwargs))
            book = self.settings_book = book_settings(options)
            book_route = ((r"/livre/(.*)", server.guarded(StaticFileHandler),
                           {"path": str(BOOK_HTML), "default_filename": "index.html"}) if book["built"]
                          else (r"/livre/?(.*)", server.BookHandler))
            return [(r"/", server.HomeHandler), (r"/voila/tree(.*)", server.RedirectHome), book_route,
                    *routes, (r"/.*", server.NotFound)]

        def start(self):
            IOLoop.current().add_callback(self.announce)
            IOLoop.current().add_callback(self.start_sweeping)
            super().start()

        def start_sweeping(self):
            async def sweep():
                await self.sessions.sweep(self.kernel_manager, self.log)

            self.sweeper = PeriodicCallback(sweep, self.sessions.limits.sweep_seconds * 1000)
            self.sweeper.start()

        def announce(self):
            host = public_host(options)
            print(f"Campus servi sur http://{host}:{self.port}/ (port {self.port})", flush=True)
            for title, url in exercise_urls(self.port, host).items():
                print(f"  {title} : {url}", flush=True)
            book = self.settings_book
            if book["built"]:
                print(f"  Livre (liens des bilans) : http://{host}:{self.port}/livre/", flush=True)
            elif book["url"]:
                print(f"  Livre (liens des bilans) : {book['url']}", flush=True)
            else:
                print("  Livre non construit : lancez « make book » pour que les liens des bilans "
                      "vers le livre fonctionnent.", flush=True)
            print(f"  Au plus {options.per_client} exercices ouverts par apprenant et {options.total} en tout ; "
                  f"noyaux inactifs arrêtés après {int(options.cull_idle // 60)} min.", flush=True)
            print("Ctrl-C pour arrêter.", flush=True)

    return CampusVoila


def serve(options: Options | None = None) -> int:
    """Run the Campus until Ctrl-C (or SIGTERM); kernels are shut down on the way out."""
    options = options or Options()
    options.port = options.port or free_port(options.listen)
    # Ctrl-C must stop the server even when started from a shell that ignores SIGINT (« & »).
    signal.signal(signal.SIGINT, signal.default_int_handler)
    # The exercises' shared computations, once, before any kernel: every kernel reads them.
    from observatoire.campus import prepared

    try:
        os.environ[prepared.VARIABLE] = str(prepared.prepare_in_child())
    except (subprocess.CalledProcessError, OSError) as exc:
        shown = (getattr(exc, "stderr", "") or str(exc)).strip().splitlines()[-1:]
        print("Calculs partagés des exercices non préparés (chaque noyau les refera) : "
              + " ".join(shown), file=sys.stderr, flush=True)
    # Voilà finds its templates in the Jupyter data path: ours first.
    os.environ["JUPYTER_PATH"] = os.pathsep.join(
        p for p in (str(TEMPLATES_ROOT), os.environ.get("JUPYTER_PATH", "")) if p)
    app = _app_class(options)
    from observatoire import kernels
    from observatoire.campus.preload import PRELOAD

    try:
        with kernels.kernel_server(PRELOAD):
            # jupyter_client's provisioner factory reads its default from the environment: the
            # learners' kernels are asked of the kernel server (started the usual way without one).
            os.environ.update(kernels.provisioner_environment())
            app.launch_instance(argv=voila_argv(options))
    except KeyboardInterrupt:  # Ctrl-C during start-up, before Voilà's own handler is in place
        pass
    print("Campus arrêté.", file=sys.stderr, flush=True)
    return 0
