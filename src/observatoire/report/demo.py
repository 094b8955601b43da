"""The seeded generator of DEMONSTRATION values, for FICTIONAL territories only.

The method of the book (method and uncertainty annexes, the Campus, the benchmarks and the tests)
is shown on values drawn by this generator for the fictional territories of
``data/demo/territoires-fictifs.csv`` (codes ``FICTIF-…``, refused by the validator outside
demonstrations); no synthetic value is ever attached to a real territory's name or code, except
in national files made for benchmarks and tests, which are never published (their pages carry a
« DÉMONSTRATION — valeurs fictives » banner). It is driven by the catalogue: each indicator's
``demo_centre`` and ``demo_dispersion`` set the level and spread, its direction and commun
combine with the territory's profile (``data/demo/profils.yml``) to give plausible contrasts, and
its periodicity gives the shape of the series (24 months, years 2015–2025, horizons
2030/2050/2100). A new indicator in the catalogue gets values with no code change, and adding one
leaves the others' values unchanged: each (territory, indicator) pair draws from its own seeded
stream.
"""

from __future__ import annotations

from observatoire import paths
import zlib
from functools import lru_cache

import numpy as np
import pandas as pd
import yaml

from observatoire.engine.catalogue import Catalogue
from observatoire.engine.denominate import COUNT_BASE_POPULATION
from observatoire.engine.pipeline import Scores, compute_scores
from observatoire.engine.reference import load_reference, population_by_code
from observatoire.engine.catalogue import load_catalogue
from observatoire.engine.snapshot import DEFAULT_HORIZON

PROFILES_FILE = paths.DATA / "demo" / "profils.yml"
#: The demonstration data file: fictional territories only.
DEMO_DATA = paths.DATA / "demo" / "fictif.csv"
DEFAULT_SEED = 20260101
DEMO_SOURCE = "Valeurs fictives (générateur à graine fixe de l'Observatoire, territoire imaginaire)"

YEARS = list(range(2015, 2026))
# The 24 months up to the reference data's vintage date (fixed so the output never depends on
# the day the generator runs).
MONTHS = [str(p) for p in pd.period_range("2024-10", "2026-09", freq="M")]
HORIZONS = [2030, 2050, 2100]


@lru_cache(maxsize=1)
def profiles() -> dict:
    """The generator's profiles (``data/demo/profils.yml``), by name."""
    return yaml.safe_load(PROFILES_FILE.read_text(encoding="utf-8"))["profils"]


def fictional_territories(reference=None) -> list[tuple[str, str]]:
    """(code, generator profile) of every fictional territory of the registry."""
    reference = reference or load_reference()
    return list(zip(reference.fictional["code"], reference.fictional["profil"]))


#: The fictional territories whose whole series are generated (the others, fictional peers,
#: get their scored periods only).
NAMED_FICTIONAL = ("FICTIF-R-HAUTES-BRUMES", "FICTIF-D-VAL-DE-BRUME", "FICTIF-BRUMEVAL", "FICTIF-PORT-LUMIERE",
                   "FICTIF-COMBE-AUX-FEES", "FICTIF-ILE-DES-GOELANDS")
#: The fictional territory of the book's demonstrations (method, uncertainty, template example).
MAIN_FICTIONAL = "FICTIF-BRUMEVAL"


def fictional_demo_data(catalogue: Catalogue | None = None, reference=None, seed: int = DEFAULT_SEED) -> pd.DataFrame:
    """The demonstration data file (``data/demo/fictif.csv``): whole series for the named
    fictional territories, scored periods for the fictional peers. Every value is invented."""
    catalogue = catalogue or load_catalogue()
    reference = reference or load_reference()
    everyone = fictional_territories(reference)
    named = [(c, p) for c, p in everyone if c in NAMED_FICTIONAL]
    peers = [(c, p) for c, p in everyone if c not in NAMED_FICTIONAL]
    full = generate_demo_data(catalogue, reference, named, seed)
    scored = scored_demo_values(catalogue, peers, population_by_code(reference), seed)
    scored["unite"] = scored["indicateur"].map(catalogue.indicators["unite"])
    scored["source"] = DEMO_SOURCE
    scored["commentaire"] = ""
    return pd.concat([full, scored[full.columns]], ignore_index=True)


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
                       seed: int = DEFAULT_SEED, real_codes_for_tests: bool = False) -> pd.DataFrame:
    """Long table in the data-file format for the FICTIONAL ``territories`` [(code, profile name)].
    ``real_codes_for_tests``: allow real territory codes, for tests of the engine's mechanics
    that need the COG's structure (a roll-up, say); such values are never published."""
    if territories is None:
        territories = [(c, p) for c, p in fictional_territories(reference) if c in NAMED_FICTIONAL]
    real = [c for c, _ in territories if not c.startswith("FICTIF-")]
    if real and not real_codes_for_tests:
        raise ValueError("valeurs fictives demandées pour des territoires réels : " + ", ".join(real[:5]))
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
    vectorised :func:`scored_demo_values`. An EPCI gets the profile of its kind; a commune that of its EPCI
    (:data:`PROFILE_WITHOUT_EPCI` outside any)."""
    from observatoire.engine.reference import population_by_code

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


#: Profile of the demonstration generator for each kind of EPCI (column ``type`` of epci.csv).
PROFILE_OF_EPCI_TYPE = {
    "METRO": "metropole",  # métropole
    "MET69": "metropole",  # Métropole de Lyon
    "CU": "metropole",  # communauté urbaine
    "CA": "ville_moyenne",  # communauté d'agglomération
    "CC": "rural",  # communauté de communes
}
# The scored period of each periodicity in the demonstration series: the latest year and
# month, and the reference horizon for projections.
_SCORED_MONTH = int(MONTHS[-1][5:])
_HORIZON = DEFAULT_HORIZON
assert _HORIZON in HORIZONS, "the reference horizon must be one the generator draws"


# -- the national demonstration distribution ----------------------------------------------

def epci_profiles(reference=None) -> list[tuple[str, str]]:
    """(SIREN, generator profile) of every EPCI of the reference, in reference order."""
    reference = reference or load_reference()
    return [(code, PROFILE_OF_EPCI_TYPE[kind])
            for code, kind in zip(reference.epci["code"], reference.epci["type"])]


def scored_demo_values(catalogue: Catalogue, territories: list[tuple[str, str]],
                       population: pd.Series, seed: int = DEFAULT_SEED) -> pd.DataFrame:
    """The values of :func:`observatoire.report.demo.generate_demo_data` for the scored periods only
    (last year, last month, 2050 horizon): one row per territory × indicator.

    Each (territory, indicator) pair draws from its own seeded stream exactly as
    :func:`observatoire.report.demo.generate_series` does (same calls in the same order, so the same
    numbers); the arithmetic is then done on arrays. ``population``: code → inhabitants.
    """
    meta = catalogue.indicators
    profile_table = profiles()
    n_ind = len(meta)
    codes = [c for c, _ in territories]
    n = len(codes) * n_ind
    kind = meta["periodicite"].to_numpy(dtype=object)
    is_annual, is_monthly = kind == "annuelle", kind == "mensuelle"
    z_level, z_second, z_last = np.empty(n), np.empty(n), np.empty(n)
    k = 0
    for code in codes:
        for indicator, annual, monthly in zip(meta.index, is_annual, is_monthly):
            rng = _stream(seed, code, indicator)
            if annual:  # level, slope, then 11 yearly noises: the last is 2025's
                z = rng.standard_normal(2 + len(YEARS))
                z_level[k], z_second[k], z_last[k] = z[0], z[1], z[-1]
            elif monthly:  # level, phase, then 24 monthly noises: the last is the scored month's
                z_level[k] = rng.standard_normal()
                z_second[k] = rng.uniform(0, 2 * np.pi)
                z_last[k] = rng.standard_normal(len(MONTHS))[-1]
            else:  # level, then the drift of the projections
                z_level[k] = rng.standard_normal()
                z_second[k] = rng.normal(0.5, 0.3)
                z_last[k] = np.nan
            k += 1

    def per_pair(column) -> np.ndarray:
        return np.tile(meta[column].to_numpy(dtype="float64"), len(codes))

    pop = np.repeat(population.reindex(codes).to_numpy(dtype="float64"), n_ind)
    count = np.tile((meta["agregation"] == "compte").to_numpy(), len(codes))
    centre = per_pair("demo_centre")
    centre = np.where(count, centre * (pop / COUNT_BASE_POPULATION), centre)
    span = per_pair("borne_haute") - per_pair("borne_basse")
    sd = per_pair("demo_dispersion") * np.where(centre != 0, np.minimum(np.abs(centre), span), span)
    direction = np.tile(meta["direction"].to_numpy(dtype="int64"), len(codes))
    shift_of = {name: meta["commun"].map(profile.get("decalages", {})).fillna(0.0).to_numpy(dtype="float64")
                for name, profile in profile_table.items()}
    shift = np.concatenate([shift_of[p] for _, p in territories] or [np.empty(0)])
    level = centre + sd * (direction * shift + 0.7 * z_level)

    annual, monthly = np.tile(is_annual, len(codes)), np.tile(is_monthly, len(codes))
    value = np.empty(n)
    # The formulas of demo.generate_series at the scored period, operation for operation (the
    # scored year is the last one, hence the slope times 0).
    slope = 0.06 * sd * z_second
    value[annual] = (level + slope * 0 + 0.15 * sd * z_last)[annual]
    # np.sin one element at a time, on the same scalar as the generator (no SIMD difference).
    angle = 2 * np.pi * _SCORED_MONTH / 12 + z_second[monthly]
    sine = np.array([np.sin(float(a)) for a in angle])
    value[monthly] = level[monthly] + 0.25 * sd[monthly] * sine + 0.1 * sd[monthly] * z_last[monthly]
    projection = ~annual & ~monthly
    drift = -direction * np.abs(z_second) * sd
    value[projection] = (level + drift * (_HORIZON - 2025) / 25)[projection]
    value = np.minimum(np.maximum(value, per_pair("min_plausible")), per_pair("max_plausible"))
    scale = np.where(centre != 0, centre, span)
    rounded = [_round(v, s) for v, s in zip(value.tolist(), scale.tolist())]

    periods = np.where(is_annual, str(YEARS[-1]), np.where(is_monthly, MONTHS[-1], str(_HORIZON)))
    return pd.DataFrame({
        "territoire": np.repeat(np.array(codes, dtype=object), n_ind),
        "indicateur": np.tile(meta.index.to_numpy(dtype=object), len(codes)),
        "periode": np.tile(periods.astype(object), len(codes)),
        "valeur": np.asarray(rounded, dtype="float64"),
    })


def national_demo_values(seed: int = DEFAULT_SEED) -> pd.DataFrame:
    """Scored demonstration values of all 1,255 EPCI (computed once per seed: treat as read-only)."""
    return _national_demo_values(int(seed))


def national_scores(seed: int = DEFAULT_SEED) -> Scores:
    """Scores of all 1,255 EPCI on demonstration values with the book's reference choices
    (computed once per seed: treat as read-only)."""
    return _national_scores(int(seed))


@lru_cache(maxsize=2)
def _national_demo_values(seed: int) -> pd.DataFrame:
    catalogue, reference = load_catalogue(), load_reference()
    population = population_by_code(reference)
    return scored_demo_values(catalogue, epci_profiles(reference), population, seed)


@lru_cache(maxsize=2)
def _national_scores(seed: int) -> Scores:
    reference = load_reference()
    population = population_by_code(reference).astype("float64")
    return compute_scores(_national_demo_values(seed), load_catalogue(), population=population)
