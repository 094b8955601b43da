"""Offline harness of the connector tests: the network is blocked, answers come from fixtures.

Every test of this folder runs with pytest-socket allowing connections to the loopback only
(the book build of the end-to-end test talks to its kernels there) and with name resolution of
any other host refused. The APIs' answers are the hand-written fixtures of
``tests/fixtures/connecteurs/``, in each API's documented format, served by ``responses``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import socket
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import pytest_socket
import responses

from observatoire.connectors import datagouv, georisques, hubeau, insee
from observatoire.connectors.http import Client

HERE = Path(__file__).resolve().parent
FIXTURES = HERE.parent / "fixtures" / "connecteurs"
TODAY = dt.date(2026, 12, 2)
EPCI = "243000650"  # CC Terre de Camargue: 30003, 30133, 30276
COMMUNES = ("30003", "30133", "30276")
LOOPBACK = ["127.0.0.1", "::1"]


def fixture_text(name: str) -> str:
    return (FIXTURES / name).read_text(encoding="utf-8")


def query(expected: dict) -> callable:
    """A responses matcher on the exact query string (repeated keys as lists)."""
    want = {k: sorted(v if isinstance(v, list) else [str(v)]) for k, v in expected.items()}

    def match(request):
        got = {k: sorted(v) for k, v in parse_qs(urlsplit(request.url).query, keep_blank_values=True).items()}
        return got == want, f"paramètres {got} au lieu de {want}"

    return match


class Server:
    """Registers the fixtures on a ``responses`` mock, one method per API."""

    def __init__(self, mock: responses.RequestsMock):
        self.mock = mock

    def add(self, url: str, params: dict, fixture: str | None = None, status: int = 200, body: str | None = None,
            headers: dict | None = None, content_type: str = "application/json", exception: Exception | None = None):
        if exception is not None:
            self.mock.add(responses.GET, url, body=exception, match=[query(params)])
            return
        text = body if body is not None else (fixture_text(fixture) if fixture else "")
        self.mock.add(responses.GET, url, body=text, status=status, headers=headers, content_type=content_type,
                      match=[query(params)])

    def georisques(self, endpoint: str, commune: str, fixture: str | None = None, page: int = 1, **kw):
        self.add(f"{georisques.BASE}/{endpoint}", {"code_insee": commune, "page": page, "page_size": 100},
                 fixture and f"georisques/{fixture}", **kw)

    def hubeau(self, commune: str, fixture: str | None = None, page: int = 1, year: int = 2025, **kw):
        self.add(hubeau.URL, {"code_commune": commune, "date_min_prelevement": f"{year}-01-01",
                              "date_max_prelevement": f"{year + 1}-01-01", "fields": hubeau.FIELDS,
                              "size": hubeau.SIZE, "page": page}, fixture and f"hubeau/{fixture}", **kw)

    def melodi(self, connector, geo: str, fixture: str | None = None, page: int | None = None, **kw):
        params: dict = {}
        unit = insee.Unit(geo, geo)
        for key, value in connector.params(unit):
            params.setdefault(key, []).append(str(value))
        if page is not None:
            params["page"] = [str(page)]
        self.add(f"{insee.BASE}/{connector.dataset}", params, fixture and f"insee/{fixture}", **kw)

    def irve(self, commune: str, fixture: str | None = None, page: int = 1, **kw):
        self.add(datagouv.URL, {"code_insee_commune__exact": commune,
                                "columns": "code_insee_commune,id_pdc_itinerance", "page_size": 50, "page": page},
                 fixture and f"datagouv/{fixture}", **kw)

    # -- the normal answers for CC Terre de Camargue -------------------------------------
    def georisques_ok(self, skip: tuple = ()):
        if "catnat" not in skip:
            self.georisques("gaspar/catnat", "30003", "catnat-30003-p1.json")
            self.georisques("gaspar/catnat", "30003", "catnat-30003-p2.json", page=2)
            self.georisques("gaspar/catnat", "30133", "catnat-30133.json")
            self.georisques("gaspar/catnat", "30276", "catnat-30276.json")
        for endpoint in ("risques", "dicrim", "pprn"):
            for commune in COMMUNES:
                self.georisques(f"gaspar/{endpoint}", commune, f"{endpoint}-{commune}.json")

    def hubeau_ok(self):
        self.hubeau("30003", "resultats-30003-p1.json")
        self.hubeau("30003", "resultats-30003-p2.json", page=2)
        self.hubeau("30133", "resultats-30133.json")
        self.hubeau("30276", "resultats-30276.json")

    def insee_ok(self, geo: str = EPCI):
        by_key = {c.key: c for c in insee.CONNECTORS}
        self.melodi(by_key["insee-personnes_75plus_part"], geo, "population-75-epci.json")
        self.melodi(by_key["insee-dependance_agee_rapport"], geo, "population-65-epci.json")
        self.melodi(by_key["insee-pauvrete_taux"], geo, "filosofi-pr_md60-p1.json")
        self.melodi(by_key["insee-pauvrete_taux"], geo, "filosofi-pr_md60-p2.json", page=2)
        self.melodi(by_key["insee-rapport_interdecile_niveau_vie"], geo, "filosofi-ir_d9_d1_sl.json")
        self.melodi(by_key["insee-niveau_vie_median"], geo, "filosofi-med_sl.json")

    def irve_ok(self):
        self.irve("30003", "irve-30003-p1.json")
        self.irve("30003", "irve-30003-p2.json", page=2)
        self.irve("30133", "irve-30133.json")
        self.irve("30276", "irve-30276.json")

    def everything(self):
        self.georisques_ok()
        self.hubeau_ok()
        self.insee_ok()
        self.irve_ok()


@dataclasses.dataclass
class Factory:
    """Builds each API's client for a test: fast token buckets, recorded back-off, fixed day."""

    cache: Path | None = None
    refresh: bool = False
    sleeps: list = dataclasses.field(default_factory=list)
    clients: list = dataclasses.field(default_factory=list)

    def __call__(self, api):
        fast = dataclasses.replace(api, limit=10_000, interval=1000)
        client = Client(fast, self.cache, self.refresh, sleep=self.sleeps.append, today=lambda: TODAY)
        self.clients.append(client)
        return client

    @property
    def sent(self) -> int:
        return sum(c.sent for c in self.clients)


def load_json(name: str):
    return json.loads(fixture_text(name))
