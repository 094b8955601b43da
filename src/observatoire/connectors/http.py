"""HTTP for the connectors: one client per public API, polite and cached.

- **Cache**: every successful JSON answer is kept on disk (requests-cache, one SQLite file per
  API under the cache folder) with the date it was received; a rerun reads it instead of asking
  again, which is what makes a long national collection resumable. ``--rafraichir`` asks again
  and replaces the cached answer. Error answers and anything that is not JSON (an HTML error
  page) are never cached.
- **Rate limits**: each API's published limit is a token bucket (pyrate-limiter), shared by
  every query to that API and consumed only by queries that really go out (a cache hit costs
  nothing): the adapter that sends the request waits for its token.
- **Retries**: time-outs, lost connections, HTTP 429 and 5xx are retried with exponential
  back-off (tenacity), honouring ``Retry-After``; four attempts in all.
- **Time-outs**: 10 s to connect, 60 s to read.
- **User-Agent**: names the project and its version, so that the producers know who asks.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

import requests
from pyrate_limiter import Limiter, Rate, StateBucket, TokenBucket
from requests.adapters import HTTPAdapter
from requests_cache import CachedSession
from tenacity import Retrying, retry_if_exception_type, stop_after_attempt, wait_exponential_jitter

from observatoire.text import fr_plain
from observatoire import __version__
from observatoire.connectors.errors import HttpFailure, MalformedResponse, NetworkUnavailable

USER_AGENT = (f"observatoire/{__version__} (Livre Blanc vivant, Observatoire de la résilience des "
              "territoires ; collecte de données publiques, une requête à la fois) "
              f"python-requests/{requests.__version__}")
CONNECT_TIMEOUT, READ_TIMEOUT = 10, 60
ATTEMPTS = 4
MAX_RETRY_AFTER = 120  # seconds: a longer Retry-After is capped (the run is resumable anyway)
#: Environment variable naming the cache folder (default: ~/.cache/observatoire/collecte).
CACHE_VARIABLE = "OBSERVATOIRE_CACHE"


def default_cache_directory() -> Path:
    """``$OBSERVATOIRE_CACHE``, else ``$XDG_CACHE_HOME/observatoire/collecte`` (``~/.cache/…``)."""
    if os.environ.get(CACHE_VARIABLE):
        return Path(os.environ[CACHE_VARIABLE])
    base = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return base / "observatoire" / "collecte"


@dataclass(frozen=True)
class Api:
    """One public API: its host, its published rate limit and where both are documented."""

    key: str  # file name of its cache, id of its token bucket
    name: str  # as people know it: « Géorisques », « Hub'Eau »
    host: str
    limit: int  # at most ``limit`` requests per ``interval`` milliseconds
    interval: int
    rate_note: str  # where the limit comes from (French, shown in the estimate)

    @property
    def seconds_per_request(self) -> float:
        return self.interval / 1000 / self.limit

    def rate_text(self) -> str:
        per_second = self.limit * 1000 / self.interval
        if per_second >= 1:
            return f"{fr_plain(per_second)} requêtes par seconde"
        return f"{fr_plain(per_second * 60)} requêtes par minute"


@dataclass(frozen=True)
class Fetched:
    """One JSON answer: the query URL with its parameters, the decoded body, when it was received."""

    url: str
    status: int
    payload: Any
    text: str
    retrieved: dt.date
    from_cache: bool


def make_limiter(api: Api, clock=None) -> Limiter:
    """A token bucket for ``api``: ``limit`` tokens per ``interval``, refilled smoothly (burst 1)."""
    return Limiter(StateBucket([Rate(api.limit, api.interval, burst=1)], algorithm=TokenBucket(), clock=clock))


class RateLimitedAdapter(HTTPAdapter):
    """Transport adapter that takes a token before each request actually sent on the network."""

    def __init__(self, limiter: Limiter, name: str, **kwargs):
        self.limiter = limiter
        self.name = name
        super().__init__(**kwargs)

    def send(self, request, **kwargs):  # noqa: D102 - requests' own signature
        self.limiter.try_acquire(self.name)
        return super().send(request, **kwargs)


class _Retryable(Exception):
    """Raised inside one attempt; tenacity retries it."""

    retry_after: float | None = None


class _ConnectionProblem(_Retryable):
    def __init__(self, exc: Exception):
        self.exc = exc
        super().__init__(str(exc))


class _BadStatus(_Retryable):
    def __init__(self, response: requests.Response):
        self.response = response
        self.retry_after = _retry_after(response)
        super().__init__(f"HTTP {response.status_code}")


def _retry_after(response: requests.Response) -> float | None:
    value = response.headers.get("Retry-After")
    if value is None:
        return None
    try:
        return max(0.0, min(float(value), MAX_RETRY_AFTER))
    except ValueError:
        return None


def _is_json_answer(response: requests.Response) -> bool:
    """What may be cached: a 200 whose body is JSON (never an HTML error page)."""
    if response.status_code != 200:
        return False
    try:
        json.loads(response.content)
    except ValueError:
        return False
    return True


def _network_reason(exc: Exception) -> str:
    text = f"{type(exc).__name__} {exc}"
    if any(s in text for s in ("NameResolution", "Failed to resolve", "Name or service not known",
                               "getaddrinfo", "nodename nor servname", "Temporary failure in name resolution")):
        return "le nom du serveur ne se résout pas (pas de réseau ou DNS indisponible)"
    if "ConnectTimeout" in text or "timed out" in text.lower():
        return "délai de connexion dépassé"
    if "ReadTimeout" in text:
        return "le serveur n'a pas répondu à temps"
    return "connexion impossible (pas de réseau, serveur injoignable ou connexion refusée)"


class Client:
    """GET JSON from one API, with cache, rate limit, retries and time-outs."""

    def __init__(self, api: Api, cache_directory: Path | None = None, refresh: bool = False,
                 attempts: int = ATTEMPTS, sleep: Callable[[float], None] = time.sleep,
                 today: Callable[[], dt.date] = dt.date.today, limiter: Limiter | None = None):
        self.api = api
        self.refresh = refresh
        self.attempts = attempts
        self.sleep = sleep
        self.today = today
        if cache_directory is not None:
            Path(cache_directory).mkdir(parents=True, exist_ok=True)
            self.session: requests.Session = CachedSession(
                str(Path(cache_directory) / f"{api.key}.sqlite"), backend="sqlite", expire_after=-1,
                allowable_codes=(200,), allowable_methods=("GET",), filter_fn=_is_json_answer)
        else:
            self.session = requests.Session()
        self.cached = cache_directory is not None
        self.session.headers.update({"User-Agent": USER_AGENT, "Accept": "application/json"})
        adapter = RateLimitedAdapter(limiter or make_limiter(api), api.key)
        self.session.mount("https://", adapter)
        self.session.mount("http://", adapter)
        self._backoff = wait_exponential_jitter(initial=1, max=30)
        #: Requests that really went out (cache misses), for the summary.
        self.sent = 0
        self._refreshed: set[str] = set()

    def close(self) -> None:
        self.session.close()

    def query_url(self, url: str, params: dict | list | None = None) -> str:
        """The full query URL, parameters included, as it is sent and cached."""
        return requests.Request("GET", url, params=params).prepare().url

    def is_cached(self, url: str, params: dict | list | None = None) -> bool:
        return self.cached and not self.refresh and self.session.cache.contains(url=self.query_url(url, params))

    def _wait(self, state) -> float:
        exc = state.outcome.exception()
        after = getattr(exc, "retry_after", None)
        return after if after is not None else self._backoff(state)

    def _attempt(self, url: str, params) -> requests.Response:
        # --rafraichir asks each query again once per run, not once per connector that needs it.
        shown = self.query_url(url, params)
        options = {"force_refresh": True} if (self.cached and self.refresh and shown not in self._refreshed) else {}
        try:
            response = self.session.get(url, params=params, timeout=(CONNECT_TIMEOUT, READ_TIMEOUT), **options)
        except (requests.ConnectionError, requests.Timeout) as exc:
            raise _ConnectionProblem(exc) from exc
        if not getattr(response, "from_cache", False):
            self.sent += 1
        if response.status_code == 429 or response.status_code >= 500:
            raise _BadStatus(response)
        if options:
            self._refreshed.add(shown)
        return response

    def get_json(self, url: str, params: dict | list | None = None) -> Fetched:
        """The decoded JSON answer; raises :class:`NetworkUnavailable`, :class:`HttpFailure` or
        :class:`MalformedResponse` (French messages) when it cannot be had."""
        shown = self.query_url(url, params)
        retrying = Retrying(stop=stop_after_attempt(self.attempts), wait=self._wait, sleep=self.sleep,
                            retry=retry_if_exception_type(_Retryable), reraise=True)
        try:
            response = retrying(self._attempt, url, params)
        except _ConnectionProblem as exc:
            raise NetworkUnavailable(f"{self.api.name} ({self.api.host}) injoignable : {_network_reason(exc.exc)}, "
                                     f"après {self.attempts} essais") from exc
        except _BadStatus as exc:
            status = exc.response.status_code
            what = "trop de requêtes (429)" if status == 429 else f"erreur du serveur (HTTP {status})"
            raise HttpFailure(f"{self.api.name} : {what} après {self.attempts} essais — {shown}", status) from exc
        if response.status_code != 200:
            status = response.status_code
            what = "ressource introuvable (HTTP 404)" if status == 404 else f"requête refusée (HTTP {status})"
            raise HttpFailure(f"{self.api.name} : {what} — {shown}", status)
        text = response.text
        try:
            payload = json.loads(response.content)
        except ValueError as exc:
            start = text.lstrip()[:15].lower()
            if start.startswith(("<!doctype", "<html", "<?xml", "<")):
                raise MalformedResponse(f"{self.api.name} a renvoyé une page HTML au lieu de données JSON "
                                        f"(page d'erreur ou de maintenance ?) — {shown}") from exc
            raise MalformedResponse(f"{self.api.name} a renvoyé un JSON illisible ({exc.msg}, position "
                                    f"{exc.pos}) — {shown}") from exc
        from_cache = bool(getattr(response, "from_cache", False))
        created = getattr(response, "created_at", None)
        retrieved = created.date() if (from_cache and created is not None) else self.today()
        return Fetched(shown, response.status_code, payload, text, retrieved, from_cache)
