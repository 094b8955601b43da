"""Géorisques (DGPR, BRGM): the GASPAR base per commune — CatNat decrees, major risks, DICRIM, PPRN.

Documentation:

- API reference (Swagger/OpenAPI of the v1 API): https://www.georisques.gouv.fr/doc-api
- the GASPAR dataset and its licence (Licence Ouverte 2.0):
  https://www.data.gouv.fr/fr/datasets/base-nationale-de-gestion-assistee-des-procedures-administratives-relatives-aux-risques-gaspar/

Endpoints (no authentication), all answering the same paginated envelope
``{"results", "page", "total_pages", "data": [...], "response_code", "message", "next", "previous"}``:

- ``GET https://georisques.gouv.fr/api/v1/gaspar/catnat?code_insee=…&page=…&page_size=…`` —
  one record per decree and peril: ``code_national_catnat``, ``libelle_risque_jo``,
  ``date_debut_evt``, ``date_fin_evt``, ``date_publication_arrete``, ``date_publication_jo``
  (JJ/MM/AAAA), ``code_insee``, ``libelle_commune``;
- ``GET …/gaspar/risques?code_insee=…`` — ``code_insee``, ``libelle_commune``,
  ``risques_detail: [{num_risque, libelle_risque_long}]`` (the commune's major risks);
- ``GET …/gaspar/dicrim?code_insee=…`` — one record when the commune's DICRIM is recorded;
- ``GET …/gaspar/pprn?code_insee=…`` — the natural-risk prevention plans (PPRN) of the commune.

Rate limit: 5 requests per second for the v1 API, the quota stated with the API's OpenAPI
description (version 1.12.2) as quoted by its clients; SOURCES.md reports about 1,000 per minute
second-hand. The stricter one is applied.

What each connector fills:

- :class:`CatNat` → ``catnat_arretes_10ans``: distinct decrees (``code_national_catnat``: one
  decree covering two perils is one decree) published in the Journal officiel during the ten
  complete years before the retrieval date, per commune; rolled up as a population-weighted mean,
  as the catalogue defines it.
- :class:`Dicrim` → ``dicrim_population_part``: for a commune exposed to at least one major
  risk recorded in GASPAR, 100 if its DICRIM is recorded, else 0; a commune without recorded
  risk is outside the indicator's field (no value). Rolled up, the population-weighted mean is
  exactly the catalogue's definition (share of the exposed communes' population).
- :class:`Pprn` → ``pprn_population_part`` (proposed in data/catalogue/propositions/collecte.csv (now in the catalogue)):
  same construction for the communes exposed to a natural risk (GASPAR risk codes starting
  with 1), 100 if at least one PPRN not marked « abrogé » covers the commune. Only the number of
  plans and their state are read: the field names of the PPRN records differ between the
  versions of the API's documentation.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from observatoire.connectors.base import (COMMUNE, Connector, Context, Observation, Provenance, Unit, excerpt,
                                          expect, field_of)
from observatoire.connectors.errors import MalformedResponse, NoData
from observatoire.connectors.http import Api, Client, Fetched

API = Api(key="georisques", name="Géorisques", host="georisques.gouv.fr", limit=5, interval=1000,
          rate_note="quota de l'API v1 (5 appels par seconde)")
BASE = "https://georisques.gouv.fr/api/v1"
DOCUMENTATION = ("https://www.georisques.gouv.fr/doc-api",
                 "https://www.data.gouv.fr/fr/datasets/base-nationale-de-gestion-assistee-des-procedures-"
                 "administratives-relatives-aux-risques-gaspar/")
PRODUCER = "Ministère de la Transition écologique (DGPR), base GASPAR diffusée par Géorisques (BRGM)"
PAGE_SIZE = 100
MAX_PAGES = 200
WINDOW_YEARS = 10


def _fr_date(text: str, source: str, unit: Unit) -> dt.date:
    try:
        return dt.datetime.strptime(text.strip(), "%d/%m/%Y").date()
    except ValueError:
        raise MalformedResponse(f"{source}, {unit.label} : date « {text} » illisible (attendu JJ/MM/AAAA) — "
                                "le format de l'API a-t-il changé ?") from None


def paginated(client: Client, endpoint: str, unit: Unit, source: str) -> list[Fetched]:
    """Every page of a GASPAR endpoint for the commune ``unit``."""
    pages: list[Fetched] = []
    page = 1
    while True:
        fetched = client.get_json(f"{BASE}/{endpoint}", {"code_insee": unit.code, "page": page, "page_size": PAGE_SIZE})
        payload = expect(fetched.payload, dict, "la réponse", source, unit)
        total_pages = field_of(payload, "total_pages", source, unit, int)
        data = field_of(payload, "data", source, unit, list)
        pages.append(fetched)
        if page >= total_pages or not data:
            return pages
        page += 1
        if page > MAX_PAGES:
            raise MalformedResponse(f"{source}, {unit.label} : plus de {MAX_PAGES} pages annoncées "
                                    f"({total_pages}) — réponse inattendue")


def records(pages: list[Fetched], source: str, unit: Unit) -> list[dict]:
    out = []
    for fetched in pages:
        for record in field_of(fetched.payload, "data", source, unit, list):
            out.append(expect(record, dict, "chaque enregistrement de « data »", source, unit))
    return out


class _Gaspar(Connector):
    api = API
    scale = COMMUNE
    producer = PRODUCER
    documentation = DOCUMENTATION
    endpoints: tuple[str, ...] = ()

    def queries(self, unit: Unit, context: Context) -> list[tuple[str, dict]]:
        return [(f"{BASE}/{e}", {"code_insee": unit.code, "page": 1, "page_size": PAGE_SIZE}) for e in self.endpoints]

    def fetch(self, client: Client, unit: Unit, context: Context) -> dict[str, list[Fetched]]:
        return {e: paginated(client, e, unit, self.label) for e in self.endpoints}

    def collect(self, client: Client, unit: Unit, context: Context) -> list[Observation]:
        fetched = self.fetch(client, unit, context)
        return self.map(self.parse(fetched, unit, context), fetched, unit, context)

    def provenance(self, fetched: list[Fetched], endpoint: str, millesime: str, extrait: str,
                   commentaire: str, dataset: str) -> Provenance:
        day = min(f.retrieved for f in fetched)
        return Provenance(
            producteur=self.producer,
            jeu_de_donnees=f"API Géorisques v1, GET /api/v1/{endpoint} ({dataset})",
            url=fetched[0].url, millesime=millesime, date_consultation=day.isoformat(), licence=self.licence,
            extrait=excerpt(extrait), source=f"Géorisques, base GASPAR ({dataset})", commentaire=commentaire)

    def _risks(self, pages: list[Fetched], unit: Unit) -> list[dict]:
        """The commune's major risks (``risques_detail``), checked."""
        details: list[dict] = []
        for record in records(pages, self.label, unit):
            if field_of(record, "code_insee", self.label, unit) != unit.code:
                continue
            for detail in field_of(record, "risques_detail", self.label, unit, list):
                detail = expect(detail, dict, "chaque élément de « risques_detail »", self.label, unit)
                details.append({"num_risque": str(field_of(detail, "num_risque", self.label, unit, (str, int))),
                                "libelle_risque_long": field_of(detail, "libelle_risque_long", self.label, unit)})
        return details


class CatNat(_Gaspar):
    key = "georisques-catnat"
    label = "Géorisques — arrêtés de catastrophe naturelle (GASPAR)"
    indicators = ("catnat_arretes_10ans",)
    endpoints = ("gaspar/catnat",)

    def parse(self, fetched: dict[str, list[Fetched]], unit: Unit, context: Context) -> list[dict]:
        decrees = []
        for record in records(fetched["gaspar/catnat"], self.label, unit):
            code = field_of(record, "code_national_catnat", self.label, unit)
            commune = field_of(record, "code_insee", self.label, unit)
            published = field_of(record, "date_publication_jo", self.label, unit, optional=True)
            decided = field_of(record, "date_publication_arrete", self.label, unit)
            if commune != unit.code:
                continue
            day = _fr_date(published or decided, self.label, unit)
            decrees.append({"code_national_catnat": code, "date_publication_jo": published,
                            "date_publication_arrete": decided, "libelle_risque_jo": record.get("libelle_risque_jo"),
                            "_year": day.year})
        return decrees

    def map(self, decrees: list[dict], fetched: dict[str, list[Fetched]], unit: Unit, context: Context) -> list[Observation]:
        pages = fetched["gaspar/catnat"]
        last = min(f.retrieved for f in pages).year - 1  # the last complete year before retrieval
        first = last if context.since is None else max(min(context.since, last), 1982 + WINDOW_YEARS - 1)
        out = []
        for year in range(first, last + 1):
            window = [d for d in decrees if year - WINDOW_YEARS + 1 <= d["_year"] <= year]
            distinct = sorted({d["code_national_catnat"] for d in window})
            shown = [{k: d[k] for k in ("code_national_catnat", "date_publication_jo", "libelle_risque_jo")}
                     for d in window]
            total = pages[0].payload.get("results")
            provenance = self.provenance(
                pages, "gaspar/catnat",
                millesime=f"GASPAR, état de la base à la date de consultation ; arrêtés publiés de "
                          f"{year - WINDOW_YEARS + 1} à {year}",
                extrait=f"results={total} ; dans la fenêtre : {excerpt(shown, 360)}",
                commentaire=f"{len(distinct)} arrêté(s) distinct(s) (code_national_catnat) publié(s) au Journal "
                            f"officiel du 01/01/{year - WINDOW_YEARS + 1} au 31/12/{year}",
                dataset="arrêtés de catastrophe naturelle")
            out.append(Observation(unit.code, "catnat_arretes_10ans", str(year), float(len(distinct)), provenance))
        return out


class Dicrim(_Gaspar):
    key = "georisques-dicrim"
    label = "Géorisques — risques majeurs et DICRIM (GASPAR)"
    indicators = ("dicrim_population_part",)
    endpoints = ("gaspar/risques", "gaspar/dicrim")

    def parse(self, fetched: dict[str, list[Fetched]], unit: Unit, context: Context) -> dict[str, Any]:
        risks = self._risks(fetched["gaspar/risques"], unit)
        dicrim = [r for r in records(fetched["gaspar/dicrim"], self.label, unit)
                  if field_of(r, "code_insee", self.label, unit) == unit.code]
        return {"risks": risks, "dicrim": dicrim}

    def map(self, parsed: dict[str, Any], fetched: dict[str, list[Fetched]], unit: Unit,
            context: Context) -> list[Observation]:
        if not parsed["risks"]:
            raise NoData(f"{self.label}, {unit.label} : aucun risque majeur recensé dans GASPAR, commune hors du "
                         "champ de l'indicateur", out_of_scope=True)
        pages = fetched["gaspar/dicrim"] + fetched["gaspar/risques"]
        has = bool(parsed["dicrim"])
        labels = [r["libelle_risque_long"] for r in parsed["risks"]]
        provenance = self.provenance(
            pages, "gaspar/dicrim",
            millesime="GASPAR, état de la base à la date de consultation",
            extrait=f"risques : {excerpt(labels, 150)} ; dicrim : {excerpt(parsed['dicrim'], 200) if has else 'data=[]'}",
            commentaire=("DICRIM recensé" if has else "aucun DICRIM recensé") + f" ; {len(labels)} risque(s) "
                        f"majeur(s) recensé(s) (requête gaspar/risques : {fetched['gaspar/risques'][0].url})",
            dataset="risques majeurs et DICRIM")
        year = str(min(f.retrieved for f in pages).year)
        return [Observation(unit.code, "dicrim_population_part", year, 100.0 if has else 0.0, provenance)]


class Pprn(_Gaspar):
    key = "georisques-pprn"
    label = "Géorisques — plans de prévention des risques naturels (GASPAR)"
    indicators = ("pprn_population_part",)
    endpoints = ("gaspar/risques", "gaspar/pprn")

    @staticmethod
    def abrogated(record: dict) -> bool:
        state = record.get("etat")
        if isinstance(state, dict):
            return str(state.get("code_etat")) == "03" or "abrog" in str(state.get("libelle_etat", "")).lower()
        return isinstance(state, str) and "abrog" in state.lower()

    def parse(self, fetched: dict[str, list[Fetched]], unit: Unit, context: Context) -> dict[str, Any]:
        natural = [r for r in self._risks(fetched["gaspar/risques"], unit) if r["num_risque"].startswith("1")]
        plans = records(fetched["gaspar/pprn"], self.label, unit)
        return {"natural": natural, "plans": plans, "active": [p for p in plans if not self.abrogated(p)]}

    def map(self, parsed: dict[str, Any], fetched: dict[str, list[Fetched]], unit: Unit,
            context: Context) -> list[Observation]:
        if not parsed["natural"]:
            raise NoData(f"{self.label}, {unit.label} : aucun risque naturel majeur recensé dans GASPAR, commune "
                         "hors du champ de l'indicateur", out_of_scope=True)
        pages = fetched["gaspar/pprn"] + fetched["gaspar/risques"]
        active = parsed["active"]
        state_known = all("etat" in p for p in parsed["plans"])
        provenance = self.provenance(
            pages, "gaspar/pprn",
            millesime="GASPAR, état de la base à la date de consultation",
            extrait=f"results={fetched['gaspar/pprn'][0].payload.get('results')} ; {excerpt(parsed['plans'], 300)}",
            commentaire=f"{len(active)} PPRN non abrogé(s) sur {len(parsed['plans'])} recensé(s)"
                        + ("" if state_known else " (état du plan non fourni par l'API pour certains plans : comptés)"),
            dataset="plans de prévention des risques naturels")
        year = str(min(f.retrieved for f in pages).year)
        return [Observation(unit.code, "pprn_population_part", year, 100.0 if active else 0.0, provenance)]


CONNECTORS = (CatNat(), Dicrim(), Pprn())
