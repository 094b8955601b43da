"""data.gouv.fr tabular API: the consolidated national file of public charging points (IRVE).

Documentation:

- product documentation of the tabular API (beta): https://www.data.gouv.fr/dataservices/api-tabulaire-data-gouv-fr-beta/
- technical reference (Swagger): https://tabular-api.data.gouv.fr/api/doc
- the API's source and README (operators, paging): https://github.com/datagouv/api-tabular
- the dataset « Fichier consolidé des Bornes de Recharge pour Véhicules Électriques »
  (Licence Ouverte 2.0): https://www.data.gouv.fr/fr/datasets/fichier-consolide-des-bornes-de-recharge-pour-vehicules-electriques/

Endpoint (GET only, no authentication):
``GET https://tabular-api.data.gouv.fr/api/resources/{resource}/data/?code_insee_commune__exact=…&columns=…&page_size=…&page=…``.
Answer ``{"data": [rows], "links": {"profile", "swagger", "next", "prev"}, "meta": {"page",
"page_size", "total"}}``; ``links.next`` is the next page, null on the last one; at most 50 rows
per page by default configuration. The consolidated file has one row per charging point
(``id_pdc_itinerance``), with the commune declared by the operator (``code_insee_commune``).

Rate limit: none published for the tabular API; 5 requests per second are used, out of caution.

:class:`ChargingPoints` → ``irve_points_taux``: distinct ``id_pdc_itinerance`` of the commune
(duplicated rows counted once), per 10,000 inhabitants of the commune's population municipale
in the reference (COG 2026, populations légales). Points whose operator left the commune code
empty are not counted. The period is the year of retrieval (state of the file that day). Rolled
up as a population-weighted mean, which is the total number of points per 10,000 inhabitants.

The resource id below is that of the consolidated file on data.gouv.fr; if data.gouv.fr replaces
the resource by a new one, the API answers 404 and the connector says so.
"""

from __future__ import annotations

from observatoire.connectors.base import (COMMUNE, Connector, Context, Observation, Provenance, Unit, excerpt,
                                          expect, field_of)
from observatoire.connectors.errors import MalformedResponse, NoData
from observatoire.connectors.http import Api, Client, Fetched

API = Api(key="datagouv-tabular", name="API tabulaire de data.gouv.fr", host="tabular-api.data.gouv.fr", limit=5,
          interval=1000, rate_note="aucune limite publiée ; 5 requêtes par seconde par prudence")
RESOURCE = "eb76d20a-8501-400e-b336-d85724de5435"
URL = f"https://tabular-api.data.gouv.fr/api/resources/{RESOURCE}/data/"
PAGE_SIZE = 50
MAX_PAGES = 400
PER = 10_000


class ChargingPoints(Connector):
    api = API
    key = "datagouv-irve"
    label = "data.gouv.fr — bornes de recharge ouvertes au public (IRVE)"
    indicators = ("irve_points_taux",)
    scale = COMMUNE
    producer = ("Aménageurs et opérateurs de recharge (déclarations au schéma IRVE), fichier consolidé publié sur "
                "data.gouv.fr")
    documentation = ("https://www.data.gouv.fr/dataservices/api-tabulaire-data-gouv-fr-beta/",
                     "https://tabular-api.data.gouv.fr/api/doc", "https://github.com/datagouv/api-tabular",
                     "https://www.data.gouv.fr/fr/datasets/fichier-consolide-des-bornes-de-recharge-pour-"
                     "vehicules-electriques/")

    def params(self, unit: Unit) -> dict:
        return {"code_insee_commune__exact": unit.code, "columns": "code_insee_commune,id_pdc_itinerance",
                "page_size": PAGE_SIZE, "page": 1}

    def queries(self, unit: Unit, context: Context) -> list[tuple[str, dict]]:
        return [(URL, self.params(unit))]

    def fetch(self, client: Client, unit: Unit, context: Context) -> list[Fetched]:
        pages = [client.get_json(URL, self.params(unit))]
        while True:
            payload = expect(pages[-1].payload, dict, "la réponse", self.label, unit)
            field_of(payload, "data", self.label, unit, list)
            links = field_of(payload, "links", self.label, unit, dict)
            following = field_of(links, "next", self.label, unit, optional=True)
            if not following:
                return pages
            if len(pages) >= MAX_PAGES:
                raise MalformedResponse(f"{self.label}, {unit.label} : plus de {MAX_PAGES} pages")
            pages.append(client.get_json(following))

    def parse(self, pages: list[Fetched], unit: Unit, context: Context) -> dict:
        meta = field_of(pages[0].payload, "meta", self.label, unit, dict)
        total = field_of(meta, "total", self.label, unit, int)
        points: set[str] = set()
        rows = 0
        for page in pages:
            for row in page.payload["data"]:
                row = expect(row, dict, "chaque ligne de « data »", self.label, unit)
                if field_of(row, "code_insee_commune", self.label, unit, optional=True) != unit.code:
                    continue
                point = field_of(row, "id_pdc_itinerance", self.label, unit, optional=True)
                rows += 1
                if point:
                    points.add(point)
        if rows != total:
            raise MalformedResponse(f"{self.label}, {unit.label} : {rows} lignes lues pour {total} annoncées "
                                    "(pagination incomplète ?)")
        return {"points": points, "total": total, "example": pages[0].payload["data"][:2]}

    def map(self, parsed: dict, pages: list[Fetched], unit: Unit, context: Context) -> list[Observation]:
        population = context.population.get(unit.code, 0)
        if not population:
            raise NoData(f"{self.label}, {unit.label} : population nulle ou inconnue dans le référentiel, "
                         "pas de taux pour 10 000 habitants")
        n = len(parsed["points"])
        retrieved = min(p.retrieved for p in pages)
        provenance = Provenance(
            producteur=self.producer,
            jeu_de_donnees=f"API tabulaire de data.gouv.fr, GET /api/resources/{RESOURCE}/data/ (fichier consolidé "
                           "des bornes de recharge pour véhicules électriques)",
            url=pages[0].url,
            millesime="fichier consolidé IRVE, état de la ressource à la date de consultation",
            date_consultation=retrieved.isoformat(), licence=self.licence,
            extrait=excerpt(f"meta.total={parsed['total']} ; {excerpt(parsed['example'], 250)}"),
            source="Base nationale des IRVE, fichier consolidé (data.gouv.fr, API tabulaire)",
            commentaire=f"{n} point(s) de recharge distinct(s) (id_pdc_itinerance) pour {population} habitants "
                        "(population municipale du Code officiel géographique 2026)")
        return [Observation(unit.code, "irve_points_taux", str(retrieved.year), PER * n / population, provenance)]


CONNECTORS = (ChargingPoints(),)
