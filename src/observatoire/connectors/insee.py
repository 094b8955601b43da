"""INSEE, API Melodi: census population structure and Filosofi, published at every level.

Documentation:

- the API's portal (Melodi, open, no key): https://portail-api.insee.fr/
- the data catalogue, whose « Explorateur » gives the API URL of any filtered table:
  https://catalogue-donnees.insee.fr/
- INSEE's own R client and its recorded answers (format of ``/melodi/data``, paging, limits):
  https://inseefrlab.github.io/melodi/

Endpoint: ``GET https://api.insee.fr/melodi/data/{dataset}?GEO=…&{dimension}={code}…&maxResult=…``;
a dimension may be repeated to ask for several codes. ``GEO`` is ``COM-33063``,
``EPCI-200046977``, ``DEP-33``, ``REG-75``, or a whole level (``EPCI``: every EPCI). Answer:
``{"identifier", "title", "observations": [{"dimensions": {"GEO": "2025-COM-33063",
"TIME_PERIOD": "2022", …}, "measures": {"OBS_VALUE_NIVEAU": {"value": …}}}], "paging": {"first",
"next"?, "count"?}}``; ``GEO`` comes back prefixed with the year of INSEE's geography; ``next``
is present while there are more pages. At most 10,000 observations per page.

Rate limit: 30 requests per minute, HTTP 429 beyond (INSEE's published limit for Melodi).

INSEE publishes these values for every commune, EPCI, département and région: the connectors
read them at the territory's own level (``scale = territoire``), never rolled up from communes
(a median or a poverty rate does not average).

- :class:`CensusRatio` on ``DS_RP_POPULATION_PRINC`` (``SEX=_T``, ``RP_MEASURE=POP``):
  ``personnes_75plus_part`` = 100 × ``AGE=Y_GE75`` / ``AGE=_T``, and
  ``dependance_agee_rapport`` = 100 × ``Y_GE65`` / ``Y20T64`` (both proposed in
  data/catalogue/propositions/collecte.csv (now in the catalogue));
- :class:`FilosofiMeasure` on ``DS_FILOSOFI_CC``: ``pauvrete_taux`` (``FILOSOFI_MEASURE=PR_MD60``),
  ``rapport_interdecile_niveau_vie`` (``IR_D9_D1_SL``) and ``niveau_vie_median`` (``MED_SL``,
  proposed), as published (no recomputation). Values under statistical secrecy come back empty
  and stay « à renseigner ».

The census year (``TIME_PERIOD``) is the period; by default the latest one, every one since
``--depuis`` otherwise.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from observatoire.text import fr_plain
from observatoire.connectors.base import (EVERY_EPCI, TERRITORY, Connector, Context, Observation, Provenance, Unit,
                                          excerpt, expect, field_of)
from observatoire.connectors.errors import MalformedResponse, NoData
from observatoire.connectors.http import Api, Client, Fetched

API = Api(key="insee-melodi", name="Insee (Melodi)", host="api.insee.fr", limit=30, interval=60_000,
          rate_note="limite publiée de Melodi (30 requêtes par minute)")
BASE = "https://api.insee.fr/melodi/data"
DOCUMENTATION = ("https://portail-api.insee.fr/", "https://catalogue-donnees.insee.fr/",
                 "https://inseefrlab.github.io/melodi/")
MAX_RESULT = 10_000
MAX_PAGES = 50
_PREFIX = {"COM": "", "EPCI": "", "DEP": "DEP-", "REG": "REG-"}


def geo_of(code: str) -> str:
    """Canonical territory code → Melodi's ``GEO`` (« 33063 » → « COM-33063 », « DEP-33 » → itself)."""
    if code == EVERY_EPCI:
        return "EPCI"
    if code.startswith(("DEP-", "REG-")):
        return code
    return f"EPCI-{code}" if len(code) == 9 else f"COM-{code}"


def territory_of(geo: str, source: str, unit: Unit) -> tuple[str, str]:
    """Melodi's ``GEO`` (« 2025-EPCI-200046977 ») → (canonical code, year of the geography)."""
    parts = geo.split("-")
    if len(parts) == 3 and parts[1] in _PREFIX:
        return _PREFIX[parts[1]] + parts[2], parts[0]
    if len(parts) == 2 and parts[0] in _PREFIX:
        return _PREFIX[parts[0]] + parts[1], ""
    raise MalformedResponse(f"{source}, {unit.label} : identifiant géographique « {geo} » inattendu "
                            "(attendu par exemple « 2025-COM-33063 »)")


class _Melodi(Connector):
    api = API
    scale = TERRITORY
    producer = "Insee"
    documentation = DOCUMENTATION
    dataset: str
    dataset_label: str
    filters: tuple[tuple[str, str], ...] = ()
    dimension: str  # the dimension whose codes are compared
    codes: tuple[str, ...]

    def params(self, unit: Unit) -> list[tuple[str, Any]]:
        return ([("GEO", geo_of(unit.code))] + list(self.filters) + [(self.dimension, c) for c in self.codes]
                + [("maxResult", MAX_RESULT)])

    def queries(self, unit: Unit, context: Context) -> list[tuple[str, Any]]:
        return [(f"{BASE}/{self.dataset}", self.params(unit))]

    def fetch(self, client: Client, unit: Unit, context: Context) -> list[Fetched]:
        pages = [client.get_json(f"{BASE}/{self.dataset}", self.params(unit))]
        while True:
            payload = expect(pages[-1].payload, dict, "la réponse", self.label, unit)
            field_of(payload, "observations", self.label, unit, list)
            paging = payload.get("paging") or {}
            following = paging.get("next") if isinstance(paging, dict) else None
            if not following:
                return pages
            if len(pages) >= MAX_PAGES:
                raise MalformedResponse(f"{self.label}, {unit.label} : plus de {MAX_PAGES} pages")
            pages.append(client.get_json(following))

    def parse(self, pages: list[Fetched], unit: Unit, context: Context) -> dict[str, Any]:
        """``table``: (territory, period) → {code of the compared dimension: (value, raw observation)};
        ``geography``: the year of INSEE's geography in the answer."""
        table: dict[tuple[str, str], dict] = defaultdict(dict)
        geography = ""
        for page in pages:
            for obs in page.payload["observations"]:
                obs = expect(obs, dict, "chaque observation", self.label, unit)
                dims = field_of(obs, "dimensions", self.label, unit, dict)
                measures = field_of(obs, "measures", self.label, unit, dict)
                territory, geography = territory_of(field_of(dims, "GEO", self.label, unit), self.label, unit)
                period = str(field_of(dims, "TIME_PERIOD", self.label, unit, (str, int)))
                code = field_of(dims, self.dimension, self.label, unit)
                if code not in self.codes or any(str(dims.get(k, v)) != v for k, v in self.filters):
                    continue
                level = field_of(measures, "OBS_VALUE_NIVEAU", self.label, unit, dict)
                value = field_of(level, "value", self.label, unit, (int, float), optional=True)
                if code in table[territory, period]:
                    raise MalformedResponse(f"{self.label}, {unit.label} : deux observations pour {territory}, "
                                            f"{period}, {self.dimension}={code} — dimension inattendue dans la réponse ?")
                table[territory, period][code] = (value, obs)
        if not table:
            raise NoData(f"{self.label}, {unit.label} : aucune observation pour GEO={geo_of(unit.code)} "
                         f"(territoire absent de la géographie de l'Insee utilisée : commune ou EPCI fusionné ou "
                         "créé depuis ?)")
        return {"table": table, "geography": geography}

    def periods(self, table: dict, context: Context) -> dict[str, list[str]]:
        """Per territory, the periods to keep: the latest, or every one since ``--depuis``."""
        by_territory: dict[str, list[str]] = defaultdict(list)
        for territory, period in table:
            by_territory[territory].append(period)
        keep = {}
        for territory, periods in by_territory.items():
            periods = sorted(periods)
            chosen = [p for p in periods if context.since is not None and int(p[:4]) >= context.since]
            keep[territory] = chosen or periods[-1:]
        return keep

    def provenance(self, pages: list[Fetched], period: str, used: list[dict], commentaire: str,
                   geography: str) -> Provenance:
        return Provenance(
            producteur=self.producer,
            jeu_de_donnees=f"API Melodi de l'Insee, GET /melodi/data/{self.dataset} ({self.dataset_label})",
            url=pages[0].url,
            millesime=f"{self.dataset_label} {period}" + (f", géographie au 1er janvier {geography}" if geography else ""),
            date_consultation=min(p.retrieved for p in pages).isoformat(), licence=self.licence,
            extrait=excerpt(used), source=f"Insee, {self.dataset_label} {period} (API Melodi)", commentaire=commentaire)


class CensusRatio(_Melodi):
    dataset = "DS_RP_POPULATION_PRINC"
    dataset_label = "Recensement de la population, exploitation principale"
    filters = (("SEX", "_T"), ("RP_MEASURE", "POP"))
    dimension = "AGE"

    def __init__(self, indicator: str, numerator: str, denominator: str, what: str):
        self.indicator = indicator
        self.indicators = (indicator,)
        self.numerator, self.denominator = numerator, denominator
        self.codes = (numerator, denominator)
        self.what = what
        self.key = f"insee-{indicator}"
        self.label = f"Insee — {what} (recensement, Melodi)"

    def map(self, parsed: dict, pages: list[Fetched], unit: Unit, context: Context) -> list[Observation]:
        table = parsed["table"]
        out = []
        for territory, periods in self.periods(table, context).items():
            for period in periods:
                cell = table[territory, period]
                top, bottom = cell.get(self.numerator, (None, None))[0], cell.get(self.denominator, (None, None))[0]
                if top is None or not bottom:
                    continue
                used = [cell[self.numerator][1], cell[self.denominator][1]]
                comment = (f"{self.what} : 100 × {self.dimension}={self.numerator} ({fr_plain(top)}) / "
                           f"{self.dimension}={self.denominator} ({fr_plain(bottom)})")
                out.append(Observation(territory, self.indicator, period, 100.0 * top / bottom,
                                       self.provenance(pages, period, used, comment, parsed["geography"])))
        if not out:
            raise NoData(f"{self.label}, {unit.label} : les effectifs {self.numerator} et {self.denominator} ne sont "
                         "pas publiés ensemble pour ce territoire")
        return out


class FilosofiMeasure(_Melodi):
    dataset = "DS_FILOSOFI_CC"
    dataset_label = "Filosofi (fichier localisé social et fiscal)"
    dimension = "FILOSOFI_MEASURE"

    def __init__(self, indicator: str, measure: str, what: str):
        self.indicator = indicator
        self.indicators = (indicator,)
        self.measure = measure
        self.codes = (measure,)
        self.what = what
        self.key = f"insee-{indicator}"
        self.label = f"Insee — {what} (Filosofi, Melodi)"

    def map(self, parsed: dict, pages: list[Fetched], unit: Unit, context: Context) -> list[Observation]:
        table = parsed["table"]
        out = []
        secret = []
        for territory, periods in self.periods(table, context).items():
            for period in periods:
                value, obs = table[territory, period][self.measure]
                if value is None:
                    secret.append(f"{territory} {period}")
                    continue
                out.append(Observation(territory, self.indicator, period, float(value), self.provenance(
                    pages, period, [obs], f"{self.what} publié par l'Insee (FILOSOFI_MEASURE={self.measure})", parsed["geography"])))
        if not out:
            raise NoData(f"{self.label}, {unit.label} : valeur non diffusée (secret statistique) pour "
                         + ", ".join(secret[:5]))
        return out


CONNECTORS = (
    CensusRatio("personnes_75plus_part", "Y_GE75", "_T", "part des 75 ans ou plus"),
    CensusRatio("dependance_agee_rapport", "Y_GE65", "Y20T64", "personnes de 65 ans ou plus pour 100 de 20 à 64 ans"),
    FilosofiMeasure("pauvrete_taux", "PR_MD60", "taux de pauvreté au seuil de 60 %"),
    FilosofiMeasure("rapport_interdecile_niveau_vie", "IR_D9_D1_SL", "rapport interdécile D9/D1 du niveau de vie"),
    FilosofiMeasure("niveau_vie_median", "MED_SL", "niveau de vie médian"),
)
