"""Territorial reference: Code officiel géographique 2026 (communes, EPCI, départements, régions).

The tables live in ``data/reference/`` (built by ``scripts/build_reference.py``, described by
``data/reference/datapackage.json``). This module reads them and resolves territory identifiers.

Territory identifiers (canonical form), after INSEE's own ``geo=`` identifiers:

==============  ======================  ==========================================
level           identifier              examples
==============  ======================  ==========================================
``commune``     5-character COG code    ``33063``, ``2A004``, ``97411``
``epci``        9-digit SIREN           ``200046977``
``departement`` ``DEP-`` + code         ``DEP-33``, ``DEP-2A``, ``DEP-974``
``region``      ``REG-`` + code         ``REG-94`` (Corse)
``france``      ``FR``                  ``FR``
==============  ======================  ==========================================

``COM-33063`` and ``EPCI-200046977`` are accepted and normalised to the bare form; prefixes
are case-insensitive. Bare two- or three-character codes are refused: ``94`` is both the
Val-de-Marne département and the Corse région.

Scope of ``FR``: France métropolitaine and the départements d'outre-mer (the perimeter of
INSEE's populations légales for France). The communes of the collectivités d'outre-mer
(975, 977, 978, 984, 986, 987, 988, 989) are in the commune table and can be looked up
one by one, but belong to no département, no région, and not to ``FR``.

The DataFrames of a :class:`Reference` are shared through a cache: treat them as read-only
(copy before modifying).
"""

from __future__ import annotations

import functools
import os
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from observatoire import paths

__all__ = [
    "LEVELS",
    "Reference",
    "Territory",
    "TerritoryCodeError",
    "load_reference",
    "parse_territory_code",
]

LEVELS = ("commune", "epci", "departement", "region", "france")

FRANCE_CODE = "FR"
FRANCE_NAME = "France"
COG_LABEL = "Code officiel géographique 2026"
ENV_VAR = "OBSERVATOIRE_REFERENCE"

# Same patterns as in datapackage.json (implicitly anchored: used with fullmatch).
COMMUNE_PATTERN = re.compile(r"([013-9]\d|2[AB1-9])\d{3}")
EPCI_PATTERN = re.compile(r"[1-9]\d{8}")
DEPARTEMENT_PATTERN = re.compile(r"0[1-9]|1\d|2[1-9AB]|[3-8]\d|9[0-5]|97[1-46]")
REGION_PATTERN = re.compile(r"\d{2}")

_PREFIXED = re.compile(r"(COM|EPCI|DEP|REG)-(.*)", re.IGNORECASE)
#: Fictional territories (demonstrations only): a prefix no INSEE code can have.
FICTIONAL_PREFIX = "FICTIF-"
FICTIONAL_PATTERN = re.compile(r"FICTIF-[A-Z0-9]+(?:-[A-Z0-9]+)*")
_EXPECTED_FORMS = (
    "formes attendues : commune « 33063 » ou « 2A004 », EPCI « 200046977 » (SIREN), "
    "département « DEP-33 », région « REG-75 », France « FR »"
)
# Arrondissements municipaux: not communes, but often met in data files.
_MUNICIPAL_ARRONDISSEMENTS = {
    "75": ("75056", "Paris", range(75101, 75121)),
    "69": ("69123", "Lyon", range(69381, 69390)),
    "13": ("13055", "Marseille", range(13201, 13217)),
}


class TerritoryCodeError(ValueError):
    """A territory identifier that is malformed, ambiguous or unknown (French message)."""


@dataclass(frozen=True)
class Territory:
    """One territory of the reference.

    ``code`` is the canonical identifier (see module docstring). ``departement`` and
    ``region`` are canonical identifiers too (``DEP-33``, ``REG-75``), or None when the
    level has none (a région has no département; France, and the communes of the
    collectivités d'outre-mer, have neither). For an EPCI they are its main département
    (the one holding most of its population) and that département's région.
    ``communes`` lists the member commune codes, sorted; a commune lists itself.
    ``population`` is the population municipale (sum of the communes above the commune level).
    """

    code: str
    level: str
    nom: str
    population: int
    departement: str | None
    region: str | None
    communes: tuple[str, ...]


def _check_string(raw: object) -> str:
    if isinstance(raw, str):
        return raw
    if isinstance(raw, (int, float)) and not isinstance(raw, bool):
        raise TerritoryCodeError(
            f"code de territoire reçu sous forme de nombre ({raw!r}) : les codes sont du texte "
            "(« 01004 », pas 1004) ; lisez vos fichiers avec dtype=str"
        )
    raise TerritoryCodeError(
        f"code de territoire attendu sous forme de texte, reçu {type(raw).__name__} ({raw!r})"
    )


def _parse_commune(code: str, raw: str) -> tuple[str, str, str | None]:
    if COMMUNE_PATTERN.fullmatch(code):
        return "commune", code, None
    if len(code) == 4 and code.isdigit():
        repaired = "0" + code
        return (
            "commune",
            repaired,
            f"code « {raw} » complété en « {repaired} » (zéro initial perdu par un tableur ?)",
        )
    if len(code) == 5 and code.startswith("20") and code.isdigit():
        raise TerritoryCodeError(
            f"code commune « {raw} » : les communes corses ne commencent plus par 20 depuis 1976, "
            f"mais par 2A (Corse-du-Sud) ou 2B (Haute-Corse), par ex. « 2A004 » pour Ajaccio"
        )
    raise TerritoryCodeError(
        f"code commune « {raw} » invalide : un code commune a 5 caractères, "
        "par ex. « 33063 », « 2A004 » ou « 97411 »"
    )


def _parse_epci(code: str, raw: str) -> tuple[str, str, str | None]:
    if EPCI_PATTERN.fullmatch(code):
        return "epci", code, None
    raise TerritoryCodeError(
        f"code EPCI « {raw} » invalide : un EPCI se désigne par son SIREN, 9 chiffres "
        "ne commençant pas par 0, par ex. « 200046977 »"
    )


def parse_territory_code(raw: str) -> tuple[str, str, str | None]:
    """Parse a territory identifier (syntax only, no lookup).

    Returns ``(level, canonical_code, warning)``; ``warning`` is a French sentence when the
    code had to be repaired (a 4-digit commune code that lost its leading zero), else None.
    Raises :class:`TerritoryCodeError` for anything malformed or ambiguous.
    """
    raw = _check_string(raw)
    shown = raw.strip()
    text = shown.upper()
    if not text:
        raise TerritoryCodeError(f"code de territoire vide ; {_EXPECTED_FORMS}")
    if text == FRANCE_CODE:
        return "france", FRANCE_CODE, None
    if text.startswith(FICTIONAL_PREFIX):
        if FICTIONAL_PATTERN.fullmatch(text):
            return "fictif", text, None
        raise TerritoryCodeError(
            f"code de territoire fictif « {shown} » invalide : attendu « FICTIF- » suivi de lettres "
            "majuscules, de chiffres et de tirets (par ex. « FICTIF-BRUMEVAL »)"
        )

    prefixed = _PREFIXED.fullmatch(text)
    if prefixed:
        prefix, body = prefixed.groups()
        body = body.strip()
        if prefix == "COM":
            return _parse_commune(body, shown)
        if prefix == "EPCI":
            return _parse_epci(body, shown)
        if prefix == "DEP":
            if DEPARTEMENT_PATTERN.fullmatch(body):
                return "departement", f"DEP-{body}", None
            raise TerritoryCodeError(
                f"code département « {shown} » invalide : attendu « DEP- » suivi de 01 à 95, "
                "2A, 2B, 971 à 974 ou 976 (par ex. « DEP-33 », « DEP-2A », « DEP-974 »)"
            )
        if REGION_PATTERN.fullmatch(body):
            return "region", f"REG-{body}", None
        raise TerritoryCodeError(
            f"code région « {shown} » invalide : attendu « REG- » suivi de 2 chiffres "
            "(par ex. « REG-75 », « REG-94 »)"
        )

    if text.isdigit() and len(text) == 9:
        return _parse_epci(text, shown)
    if text.isdigit() and len(text) == 8:
        raise TerritoryCodeError(
            f"code « {shown} » invalide : 8 chiffres. Un code EPCI (SIREN) en compte 9 et ne "
            "commence jamais par 0 ; un code commune en compte 5"
        )
    if len(text) in (4, 5) and text.isalnum():
        return _parse_commune(text, shown)
    if len(text) in (2, 3) and text.isalnum():
        if REGION_PATTERN.fullmatch(text):
            raise TerritoryCodeError(
                f"code « {shown} » ambigu : écrivez « DEP-{text} » pour le département, "
                f"« REG-{text} » pour la région (94 est à la fois le Val-de-Marne et la Corse)"
            )
        raise TerritoryCodeError(
            f"code « {shown} » incomplet : écrivez les départements « DEP-{text} » et les "
            "régions « REG-94 » (un code nu de 2 ou 3 caractères est ambigu : 94 est à la fois "
            "le Val-de-Marne et la Corse)"
        )
    raise TerritoryCodeError(f"code de territoire « {shown} » non reconnu ; {_EXPECTED_FORMS}")


def _fold(text: str) -> str:
    """Lower-case, accent-free, punctuation-free form used by :meth:`Reference.search`."""
    decomposed = unicodedata.normalize("NFKD", text.casefold())
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    bare = bare.replace("œ", "oe").replace("æ", "ae")
    return " ".join(re.sub(r"[^0-9a-z]+", " ", bare).split())


class Reference:
    """The territorial reference tables, with lookup and search.

    Attributes (pandas DataFrames, codes as strings, missing codes as NA, population int64):
    ``communes``, ``epci``, ``epci_communes``, ``departements``, ``regions`` — the columns
    of the CSVs described in ``data/reference/datapackage.json``.
    """

    def __init__(
        self,
        communes: pd.DataFrame,
        epci: pd.DataFrame,
        epci_communes: pd.DataFrame,
        departements: pd.DataFrame,
        regions: pd.DataFrame,
        source: Path | None = None,
        fictional: pd.DataFrame | None = None,
    ) -> None:
        self.communes = communes
        self.epci = epci
        self.epci_communes = epci_communes
        self.departements = departements
        self.regions = regions
        self.source = source
        #: Fictional territories for demonstrations (``data/demo/territoires-fictifs.csv``):
        #: code, nom, niveau, population, departement, region, profil.
        self.fictional = fictional if fictional is not None else pd.DataFrame(columns=list(FICTIONAL_COLUMNS))
        self._by_level = {
            "commune": communes.set_index("code", drop=False),
            "epci": epci.set_index("code", drop=False),
            "departement": departements.set_index("code", drop=False),
            "region": regions.set_index("code", drop=False),
            "fictif": self.fictional.set_index("code", drop=False),
        }
        self._territories: dict[str, Territory] = {}

    def __repr__(self) -> str:
        return (
            f"<Reference {COG_LABEL}: {len(self.communes)} communes, {len(self.epci)} EPCI, "
            f"{len(self.departements)} départements, {len(self.regions)} régions>"
        )

    # -- membership ---------------------------------------------------------------------

    @functools.cached_property
    def _members(self) -> dict[tuple[str, str], tuple[str, ...]]:
        """(level, code) → the sorted codes of its communes (one sort, then slices: a pandas
        group per territory would cost half a second)."""
        members: dict[tuple[str, str], tuple[str, ...]] = {}
        for level, frame, key, value in (("epci", self.epci_communes, "epci", "commune"),
                                         ("departement", self.communes, "departement", "code"),
                                         ("region", self.communes, "region", "code")):
            pairs = frame[[key, value]].dropna(subset=[key])
            keys, values = pairs[key].astype(str).to_numpy(dtype=str), pairs[value].astype(str).to_numpy(dtype=str)
            order = np.lexsort((values, keys))
            keys, values = keys[order], values[order]
            starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]]) if len(keys) else np.array([], int)
            for start, end in zip(starts, [*starts[1:], len(keys)]):
                members[level, keys[start]] = tuple(values[start:end].tolist())
        in_france = self.communes["departement"].notna()
        members["france", FRANCE_CODE] = tuple(sorted(self.communes.loc[in_france, "code"].astype(str)))
        return members

    # -- lookup -------------------------------------------------------------------------

    def _unknown(self, level: str, code: str) -> TerritoryCodeError:
        message = f"territoire inconnu : « {code} » n'existe pas dans le {COG_LABEL}"
        if level == "commune" and code.isdigit():
            commune, city, numbers = _MUNICIPAL_ARRONDISSEMENTS.get(code[:2], (None, None, ()))
            if int(code) in numbers:
                message += (
                    f" ; c'est un arrondissement municipal de {city} : "
                    f"le référentiel s'arrête à la commune « {commune} »"
                )
            else:
                message += " (commune fusionnée, déléguée ou supprimée ?)"
        return TerritoryCodeError(message)

    def territory(self, code: str) -> Territory:
        """Resolve an identifier to a :class:`Territory` (TerritoryCodeError if unknown)."""
        level, canonical, _warning = parse_territory_code(code)
        cached = self._territories.get(canonical)
        if cached is None:
            cached = self._territories[canonical] = self._build(level, canonical)
        return cached

    def _build(self, level: str, canonical: str) -> Territory:
        if level == "fictif":
            table = self._by_level["fictif"]
            if canonical not in table.index:
                raise TerritoryCodeError(
                    f"territoire fictif inconnu : « {canonical} » n'est pas dans le registre des "
                    "territoires fictifs (data/demo/territoires-fictifs.csv)")
            row = table.loc[canonical]
            return Territory(code=canonical, level=str(row["niveau"]), nom=str(row["nom"]),
                             population=int(row["population"]),
                             departement=None if pd.isna(row["departement"]) else str(row["departement"]),
                             region=None if pd.isna(row["region"]) else str(row["region"]),
                             communes=(canonical,))
        if level == "france":
            communes = self._members["france", FRANCE_CODE]
            population = int(self.departements["population"].sum())
            return Territory(FRANCE_CODE, "france", FRANCE_NAME, population, None, None, communes)

        bare = canonical.split("-", 1)[1] if level in ("departement", "region") else canonical
        table = self._by_level[level]
        if bare not in table.index:
            raise self._unknown(level, canonical)
        row = table.loc[bare]
        departement = row.get("departement") if level != "departement" else bare
        region = row.get("region")
        if level == "region":
            departement, region = None, bare
        communes = (canonical,) if level == "commune" else self._members.get((level, bare), ())
        return Territory(
            code=canonical,
            level=level,
            nom=str(row["nom"]),
            population=int(row["population"]),
            departement=None if pd.isna(departement) else f"DEP-{departement}",
            region=None if pd.isna(region) else f"REG-{region}",
            communes=communes,
        )

    def contains(self, code: str) -> bool:
        """True if ``code`` is a well-formed identifier of an existing territory."""
        try:
            self.territory(code)
        except TerritoryCodeError:
            return False
        return True

    # -- search -------------------------------------------------------------------------

    @functools.cached_property
    def _search_index(self) -> pd.DataFrame:
        level_rank = {level: rank for rank, level in enumerate(LEVELS)}
        parts = [
            pd.DataFrame(
                {
                    "code": self.communes["code"],
                    "level": "commune",
                    "nom": self.communes["nom"],
                    "population": self.communes["population"],
                    "bare": self.communes["code"],
                }
            ),
            pd.DataFrame(
                {
                    "code": self.epci["code"],
                    "level": "epci",
                    "nom": self.epci["nom"],
                    "population": self.epci["population"],
                    "bare": self.epci["code"],
                }
            ),
            pd.DataFrame(
                {
                    "code": "DEP-" + self.departements["code"],
                    "level": "departement",
                    "nom": self.departements["nom"],
                    "population": self.departements["population"],
                    "bare": self.departements["code"],
                }
            ),
            pd.DataFrame(
                {
                    "code": "REG-" + self.regions["code"],
                    "level": "region",
                    "nom": self.regions["nom"],
                    "population": self.regions["population"],
                    "bare": self.regions["code"],
                }
            ),
            pd.DataFrame(
                {
                    "code": [FRANCE_CODE],
                    "level": ["france"],
                    "nom": [FRANCE_NAME],
                    "population": [int(self.departements["population"].sum())],
                    "bare": [FRANCE_CODE],
                }
            ),
        ]
        index = pd.concat(parts, ignore_index=True)
        index["population"] = index["population"].astype("int64")
        index["key"] = [_fold(name) for name in index["nom"]]
        index["code_key"] = [_fold(code) for code in index["code"]]
        index["bare_key"] = [_fold(code) for code in index["bare"]]
        index["level_rank"] = index["level"].map(level_rank).astype("int64")
        return index

    def search(self, text: str, limit: int = 20) -> pd.DataFrame:
        """Find territories whose name or code matches ``text`` (case- and accent-insensitive).

        Searches every level. Best matches first: exact name or code, then names starting
        with the text, then names with a word starting with it, then names containing it;
        ties by decreasing population. Returns columns ``code, level, nom, population``
        (``code`` is the canonical identifier, to pass to :meth:`territory`).
        """
        index = self._search_index
        query = _fold(str(text))
        columns = ["code", "level", "nom", "population"]
        if not query or limit <= 0:
            return index.loc[[], columns].reset_index(drop=True)

        # One full scan on names (and on codes only if the text could be a code), then the
        # finer ranking on the few candidates.
        hit = index["key"].str.contains(query, regex=False)
        if any(ch.isdigit() for ch in query) or len(query) <= 4:
            hit |= index["code_key"].str.startswith(query) | index["bare_key"].str.startswith(query)
        found = index.loc[hit]
        key, code_key, bare_key = found["key"], found["code_key"], found["bare_key"]
        exact = (key == query) | (code_key == query) | (bare_key == query)
        prefix = key.str.startswith(query) | code_key.str.startswith(query) | bare_key.str.startswith(query)
        word = (" " + key).str.contains(" " + query, regex=False)
        rank = pd.Series(3, index=found.index, dtype="int64")
        for value, mask in ((2, word), (1, prefix), (0, exact)):
            rank = rank.mask(mask, value)
        found = found.assign(rank=rank).sort_values(
            ["rank", "population", "level_rank", "code"], ascending=[True, False, True, True]
        )
        return found.head(limit)[columns].reset_index(drop=True)


# -- loading ----------------------------------------------------------------------------

#: Header of each reference CSV (also used by scripts/build_reference.py to write them).
TABLE_COLUMNS = {
    "communes": ("code", "nom", "departement", "region", "epci", "population"),
    "epci": (
        "code",
        "nom",
        "type",
        "mode_financement",
        "population",
        "nb_communes",
        "departement",
        "region",
    ),
    "epci_communes": ("epci", "commune"),
    "departements": ("code", "nom", "region", "chef_lieu", "population"),
    "regions": ("code", "nom", "chef_lieu", "population"),
}
_INTEGER_COLUMNS = ("population", "nb_communes")
FICTIONAL_COLUMNS = ("code", "nom", "niveau", "population", "departement", "region", "profil")
FICTIONAL_FILE = paths.DATA / "demo" / "territoires-fictifs.csv"


def is_fictional(code: str) -> bool:
    """True for a fictional territory's code (``FICTIF-…``): demonstrations only."""
    return isinstance(code, str) and code.strip().upper().startswith(FICTIONAL_PREFIX)


def default_reference_directory() -> Path:
    """``$OBSERVATOIRE_REFERENCE`` if set, else ``data/reference`` at the repository root."""
    override = os.environ.get(ENV_VAR)
    if override:
        return Path(override)
    return paths.REFERENCE


def _read_table(directory: Path, name: str) -> pd.DataFrame:
    path = directory / f"{name}.csv"
    if not path.is_file():
        raise FileNotFoundError(
            f"table de référence introuvable : {path} (lancez « make reference-data », ou "
            f"indiquez le dossier des tables par la variable d'environnement {ENV_VAR})"
        )
    # Everything as text first, so codes keep their leading zeros (01004) and letters (2A004);
    # only an empty cell is missing (no "NA"/"null" guessing).
    frame = pd.read_csv(path, dtype=str, keep_default_na=False, na_values=[""], encoding="utf-8")
    expected = list(TABLE_COLUMNS[name])
    if list(frame.columns) != expected:
        raise ValueError(
            f"{path} : colonnes {list(frame.columns)} inattendues, attendues {expected}"
        )
    for column in _INTEGER_COLUMNS:
        if column in frame.columns:
            frame[column] = frame[column].astype("int64")
    return frame


@functools.lru_cache(maxsize=8)
def _load(directory: Path) -> Reference:
    tables = {name: _read_table(directory, name) for name in TABLE_COLUMNS}
    fictional = None
    if FICTIONAL_FILE.is_file():
        fictional = pd.read_csv(FICTIONAL_FILE, dtype=str, keep_default_na=False, na_values=[""], encoding="utf-8")
        if tuple(fictional.columns) != FICTIONAL_COLUMNS:
            raise ValueError(f"{FICTIONAL_FILE} : colonnes {list(fictional.columns)} inattendues, "
                             f"attendues {list(FICTIONAL_COLUMNS)}")
        fictional["population"] = fictional["population"].astype("int64")
    return Reference(**tables, source=directory, fictional=fictional)


def load_reference(directory: str | os.PathLike[str] | None = None) -> Reference:
    """Load (once, then from cache) the reference tables from ``directory``.

    Default: ``$OBSERVATOIRE_REFERENCE`` if set, else ``data/reference`` at the repository
    root. The result is cached per resolved directory and shared: do not modify its
    DataFrames in place.
    """
    path = Path(directory) if directory is not None else default_reference_directory()
    return _load(path.resolve())


@functools.lru_cache(maxsize=4)
def population_by_code(reference: Reference) -> pd.Series:
    """Population of every territory of the reference, indexed by canonical code.

    Equal to ``reference.territory(code).population`` for every code, without building the
    35,000 :class:`~observatoire.engine.reference.Territory` objects of a national file.
    """
    parts = [
        pd.Series(reference.communes["population"].to_numpy(), index=reference.communes["code"].to_numpy()),
        pd.Series(reference.epci["population"].to_numpy(), index=reference.epci["code"].to_numpy()),
        pd.Series(reference.departements["population"].to_numpy(),
                  index=("DEP-" + reference.departements["code"]).to_numpy()),
        pd.Series(reference.regions["population"].to_numpy(),
                  index=("REG-" + reference.regions["code"]).to_numpy()),
        pd.Series([int(reference.departements["population"].sum())], index=[FRANCE_CODE]),
        pd.Series(reference.fictional["population"].to_numpy(dtype="int64"),
                  index=reference.fictional["code"].to_numpy()),
    ]
    out = pd.concat(parts)
    out.index = pd.Index(out.index.to_numpy(dtype=object), dtype=object)
    return out
