"""The one interface every connector implements: fetch → parse → map.

A *connector* reads one dataset of one public API and turns it into values of catalogue
indicators. Each public API has its own small module (:mod:`.georisques`, :mod:`.insee`,
:mod:`.hubeau`, :mod:`.datagouv`) holding one or more connectors, all built the same way:

``fetch(client, unit, context)``
    the HTTP queries for one *unit* (a commune, or a territory at its own level), following the
    API's pagination, through the API's polite :class:`~observatoire.connectors.http.Client`;
``parse(fetched, unit, context)``
    checks the answers against the API's documented format and keeps what is needed; anything
    unexpected (a missing or renamed field, a value of an unknown kind) raises
    :class:`~observatoire.connectors.errors.MalformedResponse` with a French message; a correct
    answer without data raises :class:`~observatoire.connectors.errors.NoData`;
``map(parsed, fetched, unit, context)``
    computes the indicators' values, each an :class:`Observation` carrying its provenance.

A connector's ``scale`` says where its values are read: ``commune`` (one unit per commune, the
collector rolls them up to the EPCI, département or région with the engine's levels) or
``territoire`` (the producer publishes the value at every level: one unit, the territory
itself, or every EPCI at once for the national collection).
"""

from __future__ import annotations

import json
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Any, Mapping

from observatoire.connectors.errors import MalformedResponse
from observatoire.connectors.http import Api, Client

COMMUNE, TERRITORY = "commune", "territoire"
#: The whole set of EPCI, as a unit of a ``territoire`` connector (national collection).
EVERY_EPCI = "EPCI"
LICENCE_OUVERTE = "Licence Ouverte / Etalab 2.0"
EXCERPT_LENGTH = 400


@dataclass(frozen=True)
class Provenance:
    """Where a value comes from, in the data contract's provenance columns (plus source, comment)."""

    producteur: str
    jeu_de_donnees: str  # API and endpoint
    url: str  # the query URL, parameters included
    millesime: str
    date_consultation: str  # AAAA-MM-JJ
    licence: str
    extrait: str  # the raw fragment of the answer the value was read from
    source: str  # the contract's « source » column: producer and dataset, in a few words
    commentaire: str = ""


@dataclass(frozen=True)
class Observation:
    territory: str  # commune code, or canonical territory code
    indicator: str
    period: str
    value: float
    provenance: Provenance


@dataclass(frozen=True)
class Unit:
    """What one ``fetch`` is about: a commune, a territory, or every EPCI (``EVERY_EPCI``)."""

    code: str
    label: str  # « Bordeaux (33063) », for messages


@dataclass
class Context:
    """What the connectors may need besides the unit: the first period wanted (``--depuis``)
    and the population of every territory of the reference (denominators)."""

    since: int | None = None
    population: Mapping[str, int] = field(default_factory=dict)


class Connector(ABC):
    """One dataset of one API → values of catalogue indicators (see the module docstring)."""

    api: Api
    key: str  # « georisques-catnat »
    label: str  # « Géorisques — arrêtés de catastrophe naturelle (GASPAR) »
    indicators: tuple[str, ...]
    scale: str = COMMUNE
    producer: str
    licence: str = LICENCE_OUVERTE
    documentation: tuple[str, ...] = ()

    def queries(self, unit: Unit, context: Context) -> list[tuple[str, dict]]:
        """The first query (or queries) of a unit, known before fetching: for the time estimate
        and to tell what is already cached. Pagination may add more."""
        return []

    @abstractmethod
    def fetch(self, client: Client, unit: Unit, context: Context) -> Any:
        """Every answer needed for the unit (pages included)."""

    @abstractmethod
    def parse(self, fetched: Any, unit: Unit, context: Context) -> Any:
        """Check the answers against the documented format; keep what ``map`` needs."""

    @abstractmethod
    def map(self, parsed: Any, fetched: Any, unit: Unit, context: Context) -> list[Observation]:
        """The indicators' values, each with its provenance."""

    def collect(self, client: Client, unit: Unit, context: Context) -> list[Observation]:
        fetched = self.fetch(client, unit, context)
        return self.map(self.parse(fetched, unit, context), fetched, unit, context)


# -- helpers shared by the connectors ------------------------------------------------------

def excerpt(fragment: Any, limit: int = EXCERPT_LENGTH) -> str:
    """The raw fragment as compact JSON (a string as is), cut at ``limit`` characters."""
    text = fragment if isinstance(fragment, str) else json.dumps(fragment, ensure_ascii=False,
                                                                 separators=(",", ":"))
    return text if len(text) <= limit else text[: limit - 1] + "…"


def expect(value: Any, kind: type | tuple[type, ...], what: str, source: str, unit: Unit) -> Any:
    """``value`` if it is of ``kind``, else a French :class:`MalformedResponse`."""
    if isinstance(value, bool) and kind in (int, float, (int, float)):
        value = None  # a JSON boolean is never a number here
    if not isinstance(value, kind):
        names = {dict: "un objet", list: "une liste", str: "un texte", int: "un entier",
                 float: "un nombre", (int, float): "un nombre"}
        wanted = names.get(kind, getattr(kind, "__name__", str(kind)))
        raise MalformedResponse(f"{source}, {unit.label} : réponse inattendue, {what} devrait être {wanted} "
                                f"(reçu : {excerpt(value, 80)}) — le format de l'API a-t-il changé ?")
    return value


def field_of(record: Mapping, name: str, source: str, unit: Unit, kind: type | tuple[type, ...] = str,
             optional: bool = False) -> Any:
    """``record[name]``, checked; a missing field (renamed by the API?) is a French error."""
    if not isinstance(record, Mapping):
        expect(record, dict, "chaque enregistrement", source, unit)
    if name not in record:
        known = ", ".join(sorted(record)[:12])
        raise MalformedResponse(f"{source}, {unit.label} : champ « {name} » absent de la réponse "
                                f"(champs reçus : {known}) — l'API a-t-elle renommé ses champs ?")
    value = record[name]
    if value is None and optional:
        return None
    return expect(value, kind, f"le champ « {name} »", source, unit)
