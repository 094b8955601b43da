"""Hub'Eau (OFB, BRGM): drinking-water quality, the health authorities' sanitary control per commune.

Documentation:

- API « Qualité de l'eau potable »: https://hubeau.eaufrance.fr/page/api-qualite-eau-potable
  (description on api.gouv.fr: https://www.api.gouv.fr/les-api/api_hubeau_eaupotable)
- the underlying dataset « Résultats du contrôle sanitaire de l'eau distribuée commune par
  commune » (ministère chargé de la santé), updated monthly:
  https://www.data.gouv.fr/fr/datasets/resultats-du-controle-sanitaire-de-leau-distribuee-commune-par-commune/

Endpoint (no authentication):
``GET https://hubeau.eaufrance.fr/api/v1/qualite_eau_potable/resultats_dis`` with
``code_commune``, ``date_min_prelevement``, ``date_max_prelevement``, ``fields`` (the columns
wanted), ``size`` and ``page``. Envelope ``{"count", "first", "last", "prev", "next",
"api_version", "data": [...]}``; ``next`` is the URL of the next page. One row per analysed
parameter of a sample (*prélèvement*); the sample's conclusions repeat on each of its rows:
``conformite_limites_bact_prelevement`` is ``C`` (conforme), ``N`` (non conforme), ``D``
(dérogation), ``S`` (sans objet) or empty. Hub'Eau serves at most 20,000 rows per query
(page × size): a commune-year above that is fetched month by month.

Rate limit: none published on the API's page as read here; 5 requests per second are used,
out of caution.

:class:`Conformity` → ``eau_conformite_microbio``: per commune and calendar year, distinct samples
whose bacteriological conclusion is ``C``, divided by those concluded ``C`` or ``N`` (samples
« sans objet », under derogation or without conclusion are left out and counted in the
comment), in %. The last complete year before the retrieval date, or every year since
``--depuis``. Rolled up as a population-weighted mean (catalogue: ``taux``).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from typing import Any

from observatoire.connectors.base import (COMMUNE, Connector, Context, Observation, Provenance, Unit, excerpt,
                                          expect, field_of)
from observatoire.connectors.errors import MalformedResponse, NoData
from observatoire.connectors.http import Api, Client, Fetched

API = Api(key="hubeau", name="Hub'Eau", host="hubeau.eaufrance.fr", limit=5, interval=1000,
          rate_note="aucune limite publiée ; 5 requêtes par seconde par prudence")
URL = "https://hubeau.eaufrance.fr/api/v1/qualite_eau_potable/resultats_dis"
FIELDS = "code_commune,code_prelevement,date_prelevement,conformite_limites_bact_prelevement"
SIZE = 5000
DEPTH = 20000  # Hub'Eau's maximum number of rows reachable by one query
MAX_PAGES = DEPTH // SIZE + 1
CONCLUSIONS = {"C", "N", "D", "S"}


def _params(commune: str, start: dt.date, end: dt.date) -> dict:
    return {"code_commune": commune, "date_min_prelevement": start.isoformat(),
            "date_max_prelevement": end.isoformat(), "fields": FIELDS, "size": SIZE, "page": 1}


class Conformity(Connector):
    api = API
    key = "hubeau-eau-potable"
    label = "Hub'Eau — qualité de l'eau potable (contrôle sanitaire)"
    indicators = ("eau_conformite_microbio",)
    scale = COMMUNE
    producer = "Ministère chargé de la santé (ARS, contrôle sanitaire), diffusé par Hub'Eau (OFB, BRGM)"
    documentation = ("https://hubeau.eaufrance.fr/page/api-qualite-eau-potable",
                     "https://www.data.gouv.fr/fr/datasets/resultats-du-controle-sanitaire-de-leau-distribuee-"
                     "commune-par-commune/")

    def years(self, context: Context, today: dt.date) -> list[int]:
        last = today.year - 1
        first = last if context.since is None else min(max(context.since, 2000), last)
        return list(range(first, last + 1))

    def queries(self, unit: Unit, context: Context) -> list[tuple[str, dict]]:
        return [(URL, _params(unit.code, dt.date(y, 1, 1), dt.date(y + 1, 1, 1)))
                for y in self.years(context, dt.date.today())]

    def _pages(self, client: Client, params: dict, unit: Unit) -> list[Fetched]:
        pages = [client.get_json(URL, params)]
        while True:
            payload = expect(pages[-1].payload, dict, "la réponse", self.label, unit)
            field_of(payload, "count", self.label, unit, int)
            field_of(payload, "data", self.label, unit, list)
            following = field_of(payload, "next", self.label, unit, optional=True)
            if not following:
                return pages
            if len(pages) >= MAX_PAGES:
                raise MalformedResponse(f"{self.label}, {unit.label} : pagination au-delà de {DEPTH} lignes")
            pages.append(client.get_json(following))

    def fetch(self, client: Client, unit: Unit, context: Context) -> dict[int, list[Fetched]]:
        out: dict[int, list[Fetched]] = {}
        for year in self.years(context, client.today()):
            start, end = dt.date(year, 1, 1), dt.date(year + 1, 1, 1)
            pages = self._pages(client, _params(unit.code, start, end), unit)
            count = field_of(pages[0].payload, "count", self.label, unit, int)
            if count > DEPTH:  # too many rows for one query: month by month
                pages = []
                for month in range(1, 13):
                    stop = dt.date(year + (month == 12), month % 12 + 1, 1)
                    pages += self._pages(client, _params(unit.code, dt.date(year, month, 1), stop), unit)
            out[year] = pages
        return out

    def parse(self, fetched: dict[int, list[Fetched]], unit: Unit, context: Context) -> dict[int, dict[str, Any]]:
        years = {}
        for year, pages in fetched.items():
            samples: dict[str, str | None] = {}
            example = None
            for page in pages:
                for row in field_of(page.payload, "data", self.label, unit, list):
                    row = expect(row, dict, "chaque ligne de « data »", self.label, unit)
                    if field_of(row, "code_commune", self.label, unit) != unit.code:
                        continue
                    sample = field_of(row, "code_prelevement", self.label, unit)
                    taken = field_of(row, "date_prelevement", self.label, unit)
                    conclusion = field_of(row, "conformite_limites_bact_prelevement", self.label, unit,
                                          optional=True)
                    if conclusion is not None and conclusion not in CONCLUSIONS:
                        raise MalformedResponse(f"{self.label}, {unit.label} : conclusion bactériologique inconnue "
                                                f"« {conclusion} » (attendu C, N, D ou S)")
                    if not taken.startswith(str(year)):
                        continue
                    if samples.get(sample) is None:
                        samples[sample] = conclusion
                    example = example or row
            years[year] = {"samples": samples, "example": example}
        return years

    def map(self, parsed: dict[int, dict[str, Any]], fetched: dict[int, list[Fetched]], unit: Unit,
            context: Context) -> list[Observation]:
        out = []
        empty = []
        for year, found in parsed.items():
            counts = Counter(found["samples"].values())
            judged = counts["C"] + counts["N"]
            if not judged:
                empty.append(str(year))
                continue
            pages = fetched[year]
            others = len(found["samples"]) - judged
            version = pages[0].payload.get("api_version", "?")
            provenance = Provenance(
                producteur=self.producer,
                jeu_de_donnees="API Hub'Eau Qualité de l'eau potable v1, GET /api/v1/qualite_eau_potable/resultats_dis",
                url=pages[0].url,
                millesime=f"contrôle sanitaire {year} (données mises à jour chaque mois ; api_version {version})",
                date_consultation=min(p.retrieved for p in pages).isoformat(), licence=self.licence,
                extrait=excerpt(f"count={pages[0].payload.get('count')} ; prélèvements distincts : {counts['C']} C, "
                                f"{counts['N']} N, {others} autres ; ex. {excerpt(found['example'], 200)}"),
                source="ARS, contrôle sanitaire de l'eau distribuée (Hub'Eau, API Qualité de l'eau potable)",
                commentaire=f"{counts['C']} prélèvements conformes aux limites bactériologiques sur {judged} "
                            f"({others} sans objet, en dérogation ou sans conclusion, non comptés)")
            out.append(Observation(unit.code, "eau_conformite_microbio", str(year), 100.0 * counts["C"] / judged,
                                   provenance))
        if not out:
            raise NoData(f"{self.label}, {unit.label} : aucun prélèvement avec conclusion bactériologique en "
                         f"{', '.join(empty)} (commune sans données dans la base, ou fusionnée depuis ?)")
        return out


CONNECTORS = (Conformity(),)
