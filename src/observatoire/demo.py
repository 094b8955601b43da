"""The seeded generator of DEMONSTRATION data for the pilot territories.

The pilots' survey data do not exist yet. Until they do, the book runs on values drawn by this
generator, labelled as such wherever they are shown (source column, chapter notice). It is
driven by the catalogue: each indicator's ``demo_centre`` and ``demo_dispersion`` set the level
and spread, its direction and commun combine with the territory's profile
(data/pilotes/territoires.yml) to give plausible contrasts, and its periodicity gives the shape
of the series (24 months, years 2015–2025, horizons 2030/2050/2100). A new indicator in the
catalogue gets values with no code change, and adding one leaves the others' values unchanged:
each (territory, indicator) pair draws from its own seeded stream.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from observatoire.catalogue import Catalogue
from observatoire.pipeline import COUNT_BASE_POPULATION

PILOTS_FILE = Path(__file__).resolve().parents[2] / "data" / "pilotes" / "territoires.yml"
DEFAULT_SEED = 20260101
DEMO_SOURCE = "Données de démonstration (générateur à graine fixe, non issues de l'enquête)"

YEARS = list(range(2015, 2026))
# The 24 months up to the reference data's vintage date (fixed so the output never depends on
# the day the generator runs).
MONTHS = [str(p) for p in pd.period_range("2024-10", "2026-09", freq="M")]
HORIZONS = [2030, 2050, 2100]


@dataclass(frozen=True)
class Pilot:
    code: str
    slug: str
    titre: str
    profil: str


@lru_cache(maxsize=1)
def _pilots_config() -> dict:
    return yaml.safe_load(PILOTS_FILE.read_text(encoding="utf-8"))


def pilots() -> tuple[Pilot, ...]:
    return tuple(Pilot(**p) for p in _pilots_config()["pilotes"])


def profiles() -> dict:
    return _pilots_config()["profils"]


def _stream(seed: int, *keys: str) -> np.random.Generator:
    entropy = [seed, *(zlib.crc32(k.encode("utf-8")) for k in keys)]
    if 0 <= seed < 2**32:
        # Numbers below 2**32 are one 32-bit word each, exactly what SeedSequence derives from
        # the list itself: the same stream, a third faster to set up (90,360 of them for the
        # national demonstration data).
        return np.random.default_rng(np.array(entropy, dtype=np.uint32))
    return np.random.default_rng(entropy)


def _round(value: float, unit_scale: float) -> float:
    """Keep about three significant digits relative to the indicator's typical size."""
    decimals = max(0, 2 - int(np.floor(np.log10(max(abs(unit_scale), 1e-9)))))
    return round(float(value), min(decimals, 4))


def generate_series(meta: pd.Series, indicator: str, code: str, profile: dict,
                    population: int, seed: int = DEFAULT_SEED) -> list[tuple[str, float]]:
    """(period, value) pairs of one indicator for one territory."""
    rng = _stream(seed, code, indicator)
    centre = float(meta["demo_centre"])
    if meta.get("agregation") == "compte":
        centre *= population / COUNT_BASE_POPULATION
    span = float(meta["borne_haute"] - meta["borne_basse"])
    # Spread relative to the level, but never wider than the goalposts (a 98 % rate cannot vary by ±5).
    sd = float(meta["demo_dispersion"]) * (min(abs(centre), span) if centre else span)
    direction = int(meta["direction"])
    shift = float(profile.get("decalages", {}).get(meta["commun"], 0.0))
    level = centre + sd * (direction * shift + 0.7 * rng.standard_normal())
    lo, hi = float(meta["min_plausible"]), float(meta["max_plausible"])

    periodicity = meta["periodicite"]
    if periodicity == "annuelle":
        slope = 0.06 * sd * rng.standard_normal()
        noise = 0.15 * sd * rng.standard_normal(len(YEARS))
        points = [(str(y), level + slope * (y - YEARS[-1]) + e) for y, e in zip(YEARS, noise)]
    elif periodicity == "mensuelle":
        phase = rng.uniform(0, 2 * np.pi)
        amplitude = 0.25 * sd
        noise = 0.1 * sd * rng.standard_normal(len(MONTHS))
        points = [(m, level + amplitude * np.sin(2 * np.pi * int(m[5:]) / 12 + phase) + e)
                  for m, e in zip(MONTHS, noise)]
    else:
        # Without action the great mutations erode resilience: projections drift, on average,
        # in the unfavourable direction, by a random amount per 25 years.
        drift = -direction * abs(rng.normal(0.5, 0.3)) * sd
        points = [(str(h), level + drift * (h - 2025) / 25) for h in HORIZONS]
    return [(p, _round(min(max(v, lo), hi), centre or span)) for p, v in points]


def generate_demo_data(catalogue: Catalogue, reference, territories: list[tuple[str, str]] | None = None,
                       seed: int = DEFAULT_SEED) -> pd.DataFrame:
    """Long table in the data-file format for ``territories`` [(code, profile name)], pilots by default."""
    if territories is None:
        territories = [(p.code, p.profil) for p in pilots()]
    prof = profiles()
    rows = []
    for code, profile_name in territories:
        population = reference.territory(code).population
        for indicator, meta in catalogue.indicators.iterrows():
            for period, value in generate_series(meta, indicator, code, prof[profile_name], population, seed):
                rows.append((code, indicator, period, value, meta["unite"], DEMO_SOURCE, ""))
    return pd.DataFrame(rows, columns=["territoire", "indicateur", "periode", "valeur", "unite", "source", "commentaire"])


#: Generator profile of the communes outside any EPCI (the island communes of the COG).
PROFILE_WITHOUT_EPCI = "insulaire"


def national_demo_data(catalogue: Catalogue, reference, level: str = "epci",
                       seed: int = DEFAULT_SEED) -> pd.DataFrame:
    """Data-file table (7 columns) of every EPCI (``level="epci"``) or every commune
    (``"commune"``) of the reference, for the scored periods only (latest year, latest month,
    2050 horizon): the numbers of :func:`generate_demo_data` at those periods, drawn by the
    vectorised :func:`observatoire.comparaison.scored_demo_values` (the comparison chapter's
    national distribution). An EPCI gets the profile of its kind; a commune that of its EPCI
    (:data:`PROFILE_WITHOUT_EPCI` outside any)."""
    from observatoire.comparaison import PROFILE_OF_EPCI_TYPE, epci_profiles, scored_demo_values
    from observatoire.reference import population_by_code

    if level == "epci":
        territories = epci_profiles(reference)
    elif level == "commune":
        kind = reference.epci.set_index("code")["type"].map(PROFILE_OF_EPCI_TYPE)
        profile = reference.communes["epci"].map(kind).fillna(PROFILE_WITHOUT_EPCI)
        territories = list(zip(reference.communes["code"], profile))
    else:
        raise ValueError(f"niveau inconnu : « {level} » (attendu : epci ou commune)")
    values = scored_demo_values(catalogue, territories, population_by_code(reference), seed)
    values["unite"] = values["indicateur"].map(catalogue.indicators["unite"])
    values["source"] = DEMO_SOURCE
    values["commentaire"] = ""
    return values
