"""The engine on a national file: every commune of the COG 2026 × every catalogue indicator.

Synthetic values (one period per indicator, drawn within each indicator's goalposts, counts
scaled to the commune's population) are written as a CSV in a temporary folder, in the order
of a file made from the template (communes in code order, indicators in catalogue order), then
the whole engine runs on it: read + validate, scoring (snapshot, normalisation, aggregation) and roll-up
to EPCI, départements, régions and France. The same scoring done naively — one pandas
filter-normalise-aggregate per commune — is timed in the same run on a sample of communes and
extrapolated to all of them.

Timed runs take place in a fresh process, started before the data are generated (Linux keeps
the peak resident memory, ``ru_maxrss``, across fork and exec): its peak is the engine's own
plus the interpreter, pandas and the reference tables. The reference and the catalogue are
loaded before the clock starts, as they are once per process in real use.
"""

from __future__ import annotations

import resource
import statistics
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context
from pathlib import Path

import numpy as np
import pandas as pd

SEED = 20260101
#: Runs after the first (cold) one: their median is the figure; the first is reported apart.
RUNS = 5
#: Runs on the file with every text quoted (their median is reported).
QUOTED_RUNS = 3
NAIVE_SAMPLE = 500
GOAL_SECONDS = 2.0
PERIOD_OF = {"annuelle": "2024", "mensuelle": "2025-06", "projection": "2050"}
SOURCE = "Données de test"


def synthetic_values(catalogue, reference, seed: int = SEED) -> pd.DataFrame:
    """Long table (validated form): one value per commune × indicator, drawn vectorised.

    Rates are uniform between the goalposts widened by 10 % each side (so that some scores
    clip at 0 or 100), within the plausible range, rounded to 2 decimals. Counts are drawn per
    100,000 inhabitants the same way, then scaled to the commune and rounded down, so that a
    small commune never looks implausibly dense.
    """
    from observatoire.engine.denominate import COUNT_BASE_POPULATION

    rng = np.random.default_rng(seed)
    meta = catalogue.indicators
    communes = reference.communes
    n, k = len(communes), len(meta)
    low, high = meta["borne_basse"].to_numpy(), meta["borne_haute"].to_numpy()
    x = low + (high - low) * rng.uniform(-0.1, 1.1, size=(n, k))
    x = np.clip(x, meta["min_plausible"].to_numpy(), meta["max_plausible"].to_numpy())
    x = np.round(x, 2)
    counts = (meta["agregation"] == "compte").to_numpy()
    population = communes["population"].to_numpy(dtype="float64")
    x[:, counts] = np.floor(x[:, counts] * (population[:, None] / COUNT_BASE_POPULATION))
    return pd.DataFrame({
        "territoire": np.repeat(communes["code"].to_numpy(dtype=object), k),
        "indicateur": np.tile(meta.index.to_numpy(dtype=object), n),
        "periode": np.tile(meta["periodicite"].map(PERIOD_OF).to_numpy(dtype=object), n),
        "valeur": x.ravel(),
        "unite": np.tile(meta["unite"].to_numpy(dtype=object), n),
    })


def write_csv(values: pd.DataFrame, path: Path, quoted: bool = False) -> None:
    """The data-file format (7 columns, comma, UTF-8), written with numpy string operations;
    ``quoted``: every text between quotes, numbers as they are (as R's ``write.csv`` writes)."""
    from numpy.dtypes import StringDType

    q = '"' if quoted else ""

    def text(column, quote: str = q) -> np.ndarray:
        words = np.asarray(column).astype(StringDType())
        return np.strings.add(np.strings.add(quote, words), quote) if quote else words

    line = text(values["territoire"])
    for part in (values["indicateur"], values["periode"]):
        line = np.strings.add(np.strings.add(line, ","), text(part))
    line = np.strings.add(np.strings.add(line, ","), text(values["valeur"], ""))
    line = np.strings.add(np.strings.add(line, ","), text(values["unite"]))
    line = np.strings.add(line, f",{q}{SOURCE}{q},{q}{q}")
    columns = ("territoire", "indicateur", "periode", "valeur", "unite", "source", "commentaire")
    header = ",".join(f"{q}{c}{q}" for c in columns)
    path.write_text(header + "\n" + "\n".join(line.tolist()) + "\n", encoding="utf-8")


def engine(path: str, catalogue, reference) -> dict[str, float]:
    """The whole engine on one file, as ``score_data_file`` runs it (the validated data given
    to ``compute_scores`` as they are, kept as codes); seconds per step."""
    from observatoire.engine.levels import roll_up_all
    from observatoire.engine.load import read_table
    from observatoire.engine.pipeline import compute_scores
    from observatoire.engine.validate import validate_data

    times = {}
    cpu = resource.getrusage(resource.RUSAGE_SELF)
    start = time.perf_counter()
    data = validate_data(read_table(path), catalogue, reference)
    times["lecture"] = time.perf_counter() - start
    population = reference.communes.set_index("code")["population"]
    t = time.perf_counter()
    scores = compute_scores(data, catalogue, population=population)
    times["scores"] = time.perf_counter() - t
    t = time.perf_counter()
    levels = roll_up_all(scores.datasets["matrice_brute"], catalogue, reference)
    times["niveaux"] = time.perf_counter() - t
    times["total"] = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_SELF)
    # The long tables (validated values, snapshot) are made only when read: timed apart.
    t = time.perf_counter()
    assert len(data.values) == len(scores.datasets["instantane"])
    times["tables_longues"] = time.perf_counter() - t
    times["cpu_utilisateur"] = after.ru_utime - cpu.ru_utime
    times["cpu_systeme"] = after.ru_stime - cpu.ru_stime
    assert len(scores.index) == len(reference.communes) and len(levels["region"][0]) == len(reference.regions)
    return times


def _timed_runs(path: str, quoted_path: str) -> dict:
    """In a fresh process: a first (cold) run of the engine, RUNS more, the process's peak
    memory; then QUOTED_RUNS runs on the same data with every text quoted."""
    from observatoire.engine.catalogue import load_catalogue
    from observatoire.engine.reference import load_reference

    catalogue, reference = load_catalogue(), load_reference()
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    runs = [engine(path, catalogue, reference) for _ in range(1 + RUNS)]
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    quoted = [engine(quoted_path, catalogue, reference)["total"] for _ in range(QUOTED_RUNS)]
    return {"runs": runs, "rss_avant_ko": before, "rss_pic_ko": peak, "guillemets": quoted}


def naive_scores(values: pd.DataFrame, catalogue, population: pd.Series, codes) -> pd.Series:
    """The overall index of each of ``codes``, one commune at a time, in plain pandas."""
    from observatoire.engine.denominate import COUNT_BASE_POPULATION

    meta = catalogue.indicators
    out = {}
    for code in codes:
        rows = values[values["territoire"] == code]
        latest = rows.sort_values("periode").groupby("indicateur")["valeur"].last()
        x = latest.reindex(meta.index)
        per_capita = meta["agregation"] == "compte"
        x[per_capita] = x[per_capita] / (population[code] / COUNT_BASE_POPULATION)
        s = (x - meta["borne_basse"]) / (meta["borne_haute"] - meta["borne_basse"])
        s = s.where(meta["direction"] > 0, 1 - s).clip(0, 1) * 100
        cells = s.groupby([meta["axe"], meta["commun"]]).mean()
        out[code] = cells.groupby(level=0).mean().mean()
    return pd.Series(out)


def run() -> list[dict]:
    from observatoire.engine.catalogue import load_catalogue
    from observatoire.engine.pipeline import compute_scores
    from observatoire.engine.reference import load_reference

    with ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn")) as pool:
        pool.submit(int).result()  # the worker starts now, while this process is small
        catalogue, reference = load_catalogue(), load_reference()
        values = synthetic_values(catalogue, reference)
        n_communes, n_rows = len(reference.communes), len(values)
        with tempfile.TemporaryDirectory() as folder:
            path, quoted_path = Path(folder) / "communes.csv", Path(folder) / "communes-guillemets.csv"
            write_csv(values, path)
            write_csv(values, quoted_path, quoted=True)
            size_mb = path.stat().st_size / 1e6
            measured = pool.submit(_timed_runs, str(path), str(quoted_path)).result()

    def median(step: str) -> float:
        return statistics.median(r[step] for r in measured["runs"][1:])

    # Naive loop against the engine's scoring of the same validated values, in this process.
    values = values.assign(source=SOURCE, commentaire="", ligne_source=np.arange(2, n_rows + 2))
    population = reference.communes.set_index("code")["population"]
    t = time.perf_counter()
    engine_scores = compute_scores(values, catalogue, population=population)
    engine_seconds = time.perf_counter() - t
    sample = np.random.default_rng(SEED).choice(reference.communes["code"].to_numpy(), NAIVE_SAMPLE, replace=False)
    t = time.perf_counter()
    naive = naive_scores(values, catalogue, population, sample)
    naive_seconds = (time.perf_counter() - t) * n_communes / NAIVE_SAMPLE
    same = np.allclose(naive.to_numpy(), engine_scores.index.reindex(naive.index).to_numpy(), equal_nan=True)
    assert same, "la boucle naïve et le moteur ne donnent pas le même indice"

    label = f"{n_communes} communes × {len(catalogue.indicators)} indicateurs = {n_rows} lignes ({size_mb:.0f} Mo)"
    return [
        {"mesure": f"pipeline complet, {label} (médiane de {RUNS} passages après le premier)", "valeur": median("total"),
         "unite": "s", "objectif": GOAL_SECONDS},
        {"mesure": "  dont lecture CSV + validation", "valeur": median("lecture"), "unite": "s"},
        {"mesure": "  dont instantané + normalisation + agrégation", "valeur": median("scores"), "unite": "s"},
        {"mesure": "  dont remontée EPCI, départements, régions, France", "valeur": median("niveaux"), "unite": "s"},
        {"mesure": "  temps processeur utilisateur (médiane)", "valeur": median("cpu_utilisateur"), "unite": "s"},
        {"mesure": "  temps processeur système, surtout défauts de page (médiane)", "valeur": median("cpu_systeme"),
         "unite": "s"},
        {"mesure": "tables longues, construites si on les lit (valeurs validées, instantané ; hors total)",
         "valeur": median("tables_longues"), "unite": "s"},
        {"mesure": "pipeline complet, premier passage du processus (à froid)", "valeur": measured["runs"][0]["total"],
         "unite": "s"},
        {"mesure": f"pipeline complet, mêmes données, chaque texte entre guillemets (write.csv de R ; médiane de "
                   f"{QUOTED_RUNS})", "valeur": statistics.median(measured["guillemets"]), "unite": "s"},
        {"mesure": "mémoire vive maximale du processus (ru_maxrss, pic)", "valeur": measured["rss_pic_ko"] / 1024,
         "unite": "Mo"},
        {"mesure": "  dont avant le pipeline (Python, pandas, référentiel)", "valeur": measured["rss_avant_ko"] / 1024,
         "unite": "Mo"},
        {"mesure": "scores du moteur (même processus que la boucle naïve)", "valeur": engine_seconds, "unite": "s"},
        {"mesure": f"boucle pandas naïve par commune ({NAIVE_SAMPLE} communes, extrapolé à {n_communes})",
         "valeur": naive_seconds, "unite": "s", "reference": engine_seconds},
        {"mesure": "rapport boucle naïve / moteur (scores)", "valeur": naive_seconds / engine_seconds, "unite": "×"},
    ]
