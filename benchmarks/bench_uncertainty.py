"""Monte Carlo uncertainty analysis at national scale: 1 000 draws over the 1 255 EPCI.

Values are synthetic, drawn in one vectorised pass per indicator the way the demonstration
generator draws them (its ``demo_centre`` and ``demo_dispersion``, counts scaled by population,
clipped to the plausible range), with 3 % of values missing.
"""

from __future__ import annotations

import time
import tracemalloc

import numpy as np
import pandas as pd

from observatoire.engine import uncertainty
from observatoire.engine.catalogue import load_catalogue
from observatoire.engine.denominate import COUNT_BASE_POPULATION
from observatoire.engine.pipeline import Choices, compute_scores
from observatoire.engine.reference import load_reference

N_DRAWS = 1000
GOAL_SECONDS = 20.0
PERIOD = {"annuelle": "2025", "mensuelle": "2026-09", "projection": "2050"}


def synthetic_epci_values(seed: int = 1) -> tuple[pd.DataFrame, pd.Series]:
    """Long table (one value per EPCI × indicator) and the EPCI populations."""
    catalogue = load_catalogue()
    meta = catalogue.indicators
    epci = load_reference().epci
    population = pd.Series(epci["population"].to_numpy(dtype="float64"), index=epci["code"].astype(str))
    rng = np.random.default_rng(seed)
    n, k = len(population), len(meta)
    centre = np.broadcast_to(meta["demo_centre"].to_numpy(), (n, k)).copy()
    counts = (meta["agregation"] == "compte").to_numpy()
    centre[:, counts] *= population.to_numpy()[:, None] / COUNT_BASE_POPULATION
    span = (meta["borne_haute"] - meta["borne_basse"]).to_numpy()
    sd = meta["demo_dispersion"].to_numpy() * np.where(centre != 0, np.minimum(np.abs(centre), span), span)
    values = np.clip(centre + 0.7 * sd * rng.standard_normal((n, k)),
                     meta["min_plausible"].to_numpy(), meta["max_plausible"].to_numpy())
    values[rng.random((n, k)) < 0.03] = np.nan
    wide = pd.DataFrame(values, index=population.index, columns=meta.index)
    long = wide.stack(future_stack=True).dropna().rename("valeur").reset_index()
    long.columns = ["territoire", "indicateur", "valeur"]
    long["periode"] = long["indicateur"].map(meta["periodicite"]).map(PERIOD)
    return long, population


def _analyse(scores):
    result = uncertainty.monte_carlo(scores, n_draws=N_DRAWS)
    result.intervals()
    result.sensitivity()
    return result


def run() -> list[dict]:
    catalogue = load_catalogue()
    values, population = synthetic_epci_values()

    t0 = time.perf_counter()
    scores = compute_scores(values, catalogue, Choices(), population)
    one_call = time.perf_counter() - t0
    n, k = scores.indicators.shape

    t0 = time.perf_counter()
    result = uncertainty.monte_carlo(scores, n_draws=N_DRAWS)
    draws = time.perf_counter() - t0
    t0 = time.perf_counter()
    result.intervals()
    result.sensitivity()
    summaries = time.perf_counter() - t0

    tracemalloc.start()
    _analyse(scores)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()

    label = f"{N_DRAWS} tirages × {n} EPCI ({k} indicateurs)"
    return [
        {"mesure": f"{label} : analyse complète", "valeur": draws + summaries, "unite": "s",
         "objectif": GOAL_SECONDS, "reference": one_call * N_DRAWS},
        {"mesure": f"{label} : tirages (pipeline vectorisé)", "valeur": draws, "unite": "s"},
        {"mesure": "quantiles et indices de sensibilité", "valeur": summaries, "unite": "s"},
        {"mesure": "compute_scores, un appel (pandas), même données", "valeur": one_call, "unite": "s"},
        {"mesure": f"{label} : mémoire de pointe (tracemalloc)", "valeur": peak / 2**20, "unite": "Mio"},
    ]
