"""The Campus's web layer, on Voilà's and Jupyter Server's extension points.

Voilà serves each exercise; this module adds what a room of learners needs, without patching
any private function:

- **Host allow-list and French errors** (:class:`Guarded`): every handler of the server is a
  subclass that first checks the ``Host`` header (127.0.0.1, localhost, ::1 and the name given
  with ``--hote``: a DNS-rebinding page cannot reach the Campus) and writes every error as a
  French page, or French JSON for the API, never with a traceback, an exception text or a path.
  The subclasses are built in :meth:`observatoire.campus.serve.CampusVoila.init_handlers`, the
  Voilà application's own method for its routes.
- **Kernels per learner and in total** (:class:`Sessions`): an exercise page is refused with a
  French page when its learner already holds ``per_client`` kernels, or when the server holds
  ``total`` learner kernels (the preheated pool comes on top). A learner is the browser's
  login cookie (Jupyter Server's identity provider sets one per browser when authentication is
  off); a client that keeps no cookie is counted by its address.
- **Kernels freed when a tab closes**: the page asks for the shutdown on ``beforeunload`` with
  the ``_xsrf`` cookie in a form field, a cookie Voilà 0.5 never sets, so the request was
  refused (voila-dashboards/voila#1458, open upstream). The Campus template sets it (see its
  ``index.html.j2``). As a safety net for a crashed browser or a lost request,
  :meth:`Sessions.sweep` shuts down a learner's kernel that has had no websocket connection for
  ``orphan_seconds`` — which also frees the kernels of plain GET requests that never connect.
- **No traceback over the websocket** (:class:`CampusKernelConnection`, selected with Jupyter
  Server's ``kernel_websocket_connection_class`` option): ``error`` messages and the kernel's
  standard error (where a failing comm handler logs its traceback, with server paths and
  library versions) never reach the browser; the kernel's banner is blanked.
"""

from __future__ import annotations

import json
import re
import time
import uuid
from dataclasses import dataclass, field
from functools import lru_cache
from urllib.parse import quote

from jupyter_client.session import DELIM
from jupyter_server.services.kernels.connection.channels import ZMQChannelsWebsocketConnection
from tornado import web

from observatoire.campus import EXERCISES

LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")

#: Status → (title, explanation) of the French error pages.
ERRORS = {
    400: ("Requête incomprise", "Le serveur du Campus n'a pas compris cette demande."),
    403: ("Accès refusé", "Cette action n'est pas ouverte aux apprenants du Campus."),
    404: ("Page introuvable", "Cette page n'existe pas sur le Campus : les exercices sont listés sur la page "
                              "d'accueil."),
    405: ("Action impossible", "Cette page ne s'utilise pas ainsi."),
    429: ("Trop d'exercices ouverts", "Vous avez déjà ouvert le nombre maximal d'exercices en même temps."),
    503: ("Le Campus est complet", "Le serveur accueille déjà le nombre maximal d'exercices ouverts."),
}
SERVER_ERROR = ("Erreur du serveur", "Le serveur du Campus a rencontré un problème. Rechargez la page dans un "
                                     "instant ; si le problème persiste, prévenez la personne qui anime la séance.")
REFUSED_HOST = ("Adresse refusée", "Le Campus ne répond qu'aux adresses prévues par la personne qui l'a lancé "
                                   "(127.0.0.1, localhost ou l'adresse donnée avec --hote).")

_KERNEL_ID = re.compile(r'"kernelId":\s*"([0-9a-f-]{36})"')


def host_name(header: str) -> str:
    """The host of a ``Host`` header, lower-case, without its port or IPv6 brackets."""
    header = (header or "").strip().lower()
    if header.startswith("["):
        return header[1:header.find("]")] if "]" in header else header
    return header.rsplit(":", 1)[0] if header.count(":") == 1 else header


def host_allowed(header: str, allowed) -> bool:
    return host_name(header) in {h.lower() for h in allowed}


# -- pages (Jinja2) -------------------------------------------------------------------------

@lru_cache(maxsize=1)
def templates():
    from jinja2 import Environment, PackageLoader, select_autoescape

    return Environment(loader=PackageLoader("observatoire.campus", "templates"),
                       autoescape=select_autoescape(("html", "j2")), trim_blocks=True, lstrip_blocks=True)


def render(name: str, **context) -> str:
    return templates().get_template(name).render(**context)


def error_page(status: int, title: str, message: str, detail: str | None = None) -> str:
    return render("erreur.html.j2", status=status, title=title, message=message, detail=detail)


# -- every handler: Host allow-list, French errors -------------------------------------------

class Guarded:
    """Mixed in front of a handler class: Host allow-list first, French errors, no traceback."""

    def prepare(self):
        if not host_allowed(self.request.host, self.settings.get("campus_hosts", LOCAL_HOSTS)):
            self._campus_bad_host = True
            raise web.HTTPError(403)
        return super().prepare()

    def write_error(self, status_code: int, **kwargs) -> None:
        if getattr(self, "_campus_bad_host", False):
            title, message = REFUSED_HOST
        else:
            title, message = ERRORS.get(status_code, SERVER_ERROR)
        if self.request.path.startswith(("/api/", "/voila/api/")):
            self.set_header("Content-Type", "application/json")
            self.finish(json.dumps({"message": f"{title} : {message}"}, ensure_ascii=False))
            return
        self.set_header("Content-Type", "text/html; charset=utf-8")
        self.finish(error_page(status_code, title, message))


def guarded(handler_class: type) -> type:
    """``handler_class`` with :class:`Guarded` in front (a subclass; the original is untouched)."""
    if issubclass(handler_class, Guarded):
        return handler_class
    return type(f"Campus{handler_class.__name__}", (Guarded, handler_class), {})


class HomeHandler(Guarded, web.RequestHandler):
    def get(self):
        self.set_header("Content-Type", "text/html; charset=utf-8")
        self.finish(render("accueil.html.j2", exercises=EXERCISES, book=self.settings["campus_book"]))


class RedirectHome(Guarded, web.RequestHandler):
    """Voilà's file tree is not the Campus's door: its pages lead to the French home."""

    def get(self, *_):
        self.redirect("/")


class NotFound(Guarded, web.RequestHandler):
    def prepare(self):
        super().prepare()
        raise web.HTTPError(404)


class BookHandler(Guarded, web.RequestHandler):
    """/livre/…: the published book when its address is given, else a French page saying how to
    build it (``make campus`` builds it first; the built book is served by a static handler)."""

    def get(self, path: str = ""):
        book = self.settings["campus_book"]
        if book.get("url"):
            self.redirect(book["url"].rstrip("/") + "/" + quote(path))
            return
        self.set_status(404)
        self.set_header("Content-Type", "text/html; charset=utf-8")
        self.finish(error_page(404, "Le livre n'est pas construit",
                               "Les liens des bilans mènent au Livre Blanc, qui n'est pas encore construit sur ce "
                               "serveur.", "Lancez « make book » (ou « make campus », qui le construit d'abord), "
                               "ou donnez l'adresse du livre publié avec « observatoire campus --livre ADRESSE »."))


# -- learners' kernels ----------------------------------------------------------------------

@dataclass
class Limits:
    per_client: int = 6  # kernels one learner may hold (4 exercises, plus reloads in flight)
    total: int = 40  # learner kernels on the server (the preheated pool comes on top)
    orphan_seconds: float = 20.0  # a learner's kernel without websocket for this long is shut down
    sweep_seconds: float = 5.0


@dataclass
class Sessions:
    """The learner kernels handed out by exercise pages: their owner, the caps, the orphans."""

    limits: Limits = field(default_factory=Limits)
    owner: dict[str, str] = field(default_factory=dict)  # kernel id → client
    rendering: dict[str, str] = field(default_factory=dict)  # render token → client (no kernel yet)
    seen: dict[str, float] = field(default_factory=dict)  # kernel id → last time connected (or page served)
    served: set[str] = field(default_factory=set)  # kernel ids whose page has been fully sent

    def forget_dead(self, alive) -> None:
        alive = set(alive)
        for kernel_id in [k for k in self.owner if k not in alive]:
            self.owner.pop(kernel_id, None)
            self.seen.pop(kernel_id, None)
            self.served.discard(kernel_id)

    def held_by(self, client: str) -> int:
        return (sum(1 for c in self.owner.values() if c == client)
                + sum(1 for c in self.rendering.values() if c == client))

    def held(self) -> int:
        return len(self.owner) + len(self.rendering)

    def refusal(self, client: str) -> tuple[int, str, str, str] | None:
        """(status, title, message, detail) when this client may not open one more exercise."""
        from observatoire.text import plural

        n = self.limits.per_client
        if self.held_by(client) >= n:
            title, message = ERRORS[429]
            return (429, title, message,
                    f"Un apprenant peut garder {plural(n, 'exercice ouvert', 'exercices ouverts')} à la fois. "
                    "Fermez un onglet d'exercice (son noyau de calcul est alors libéré), puis rechargez cette page.")
        if self.held() >= self.limits.total:
            title, message = ERRORS[503]
            return (503, title, message,
                    f"Le serveur accueille au plus {plural(self.limits.total, 'exercice ouvert', 'exercices ouverts')} "
                    "à la fois, pour que chacun garde des calculs rapides. Réessayez dans quelques minutes, quand "
                    "d'autres apprenants auront fermé leurs onglets.")
        return None

    def begin(self, client: str) -> str:
        token = uuid.uuid4().hex
        self.rendering[token] = client
        return token

    def hand_out(self, token: str, kernel_id: str) -> None:
        client = self.rendering.pop(token, None)
        if client is not None:
            self.owner[kernel_id] = client
            self.seen[kernel_id] = time.monotonic()

    def end(self, token: str, kernel_id: str | None) -> None:
        self.rendering.pop(token, None)
        if kernel_id is not None:
            self.served.add(kernel_id)
            self.seen[kernel_id] = time.monotonic()

    async def sweep(self, kernel_manager, log=None) -> list[str]:
        """Shut down the learner kernels with no websocket connection for ``orphan_seconds``
        once their page has been sent. Returns the ids shut down."""
        from jupyter_core.utils import ensure_async

        self.forget_dead(kernel_manager.list_kernel_ids())
        now, gone = time.monotonic(), []
        for kernel_id in list(self.owner):
            if kernel_id not in self.served:
                continue  # still rendering: its page is not in the browser yet
            try:
                connections = kernel_manager.kernel_model(kernel_id).get("connections", 0)
            except (web.HTTPError, KeyError):  # shut down meanwhile
                self.owner.pop(kernel_id, None)
                continue
            if connections:
                self.seen[kernel_id] = now
            elif now - self.seen.get(kernel_id, now) >= self.limits.orphan_seconds:
                gone.append(kernel_id)
        for kernel_id in gone:
            if log:
                log.info("Campus : noyau %s sans page ouverte depuis %.0f s, arrêté", kernel_id,
                         self.limits.orphan_seconds)
            try:
                await ensure_async(kernel_manager.shutdown_kernel(kernel_id))
            except (web.HTTPError, KeyError, RuntimeError):
                pass
            self.owner.pop(kernel_id, None)
            self.seen.pop(kernel_id, None)
            self.served.discard(kernel_id)
        return gone


def exercise_handler(voila_handler_class: type) -> type:
    """Voilà's notebook handler restricted to the Campus's exercises, with the kernel caps."""
    notebooks = {e.notebook for e in EXERCISES}

    class ExerciseHandler(Guarded, voila_handler_class):
        def client(self) -> str | None:
            """The learner: the browser's login cookie; a first visit without it is redirected
            once to get it; a client that keeps no cookie is counted by its address."""
            provider = self.identity_provider
            if self.get_cookie(provider.get_cookie_name(self)) is not None and self.current_user:
                return "apprenant:" + self.current_user.username
            if self.get_query_argument("temoin", None) is None:
                self.redirect(self.request.path + "?temoin=1")  # the login cookie is set on this answer
                return None
            return "adresse:" + (self.request.remote_ip or "?")

        @web.authenticated
        async def get(self, path=None):
            if path not in notebooks:
                raise web.HTTPError(404)
            client = self.client()
            if client is None:
                return
            sessions: Sessions = self.settings["campus_sessions"]
            sessions.forget_dead(self.kernel_manager.list_kernel_ids())
            refusal = sessions.refusal(client)
            if refusal:
                status, title, message, detail = refusal
                self.set_status(status)
                self.set_header("Retry-After", "60")
                self.set_header("Content-Type", "text/html; charset=utf-8")
                self.finish(error_page(status, title, message, detail))
                return
            token, kernel_id, head = sessions.begin(client), None, ""
            try:
                async for html in self.get_generator(path=path):
                    if kernel_id is None:
                        head += html
                        found = _KERNEL_ID.search(head)
                        if found:
                            kernel_id = found.group(1)
                            sessions.hand_out(token, kernel_id)
                            head = ""
                    self.write(html)
                    self.flush()
            finally:
                sessions.end(token, kernel_id)

    ExerciseHandler.__name__ = f"Campus{voila_handler_class.__name__}"
    return ExerciseHandler


# -- the kernel websocket -------------------------------------------------------------------

#: Messages whose content is read (small, rare); comm messages (widget states, figures) pass
#: through untouched.
_CHECKED = {"stream", "kernel_info_reply", "execute_reply", "comm_info_reply", "inspect_reply",
            "complete_reply", "history_reply", "is_complete_reply", "shutdown_reply", "interrupt_reply"}


def filter_outgoing(session, outgoing_msg: list) -> list | None:
    """A kernel's message on its way to the browser, for learners: None for ``error`` messages and
    standard error; replies without traceback, exception name or value; the kernel's banner
    blanked (re-signed when changed). Comm messages (widget states) pass untouched."""
    idents, parts = session.feed_identities(outgoing_msg)
    header = session.unpack(parts[1])
    msg_type = header.get("msg_type")
    if msg_type == "error":
        return None
    if msg_type not in _CHECKED:
        return outgoing_msg
    content = session.unpack(parts[4])
    if msg_type == "stream" and content.get("name") == "stderr":
        return None
    changed = False
    for key in ("traceback", "evalue", "ename"):
        changed |= content.pop(key, None) is not None
    if msg_type == "kernel_info_reply" and content.get("banner"):
        content["banner"], changed = "", True
    if not changed:
        return outgoing_msg
    parts = [*parts]
    parts[4] = session.pack(content)
    parts[0] = session.sign(parts[1:5])
    return [*idents, DELIM, *parts]


class CampusKernelConnection(ZMQChannelsWebsocketConnection):
    """Jupyter Server's kernel websocket connection, with :func:`filter_outgoing` (selected
    with Jupyter Server's ``kernel_websocket_connection_class`` option)."""

    def handle_outgoing_message(self, stream, outgoing_msg):
        try:
            outgoing_msg = filter_outgoing(self.session, outgoing_msg)
        except Exception:  # a message that cannot be read is not forwarded
            self.log.warning("Campus : message du noyau illisible, non transmis")
            return None
        if outgoing_msg is None:
            return None
        return super().handle_outgoing_message(stream, outgoing_msg)
