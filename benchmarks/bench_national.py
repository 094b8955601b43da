"""The national run (observatoire.national.site) on the demonstration file of the 1,255 EPCI.

Throughput (territories per second, whole run: validation, scoring, Monte Carlo, roll-up, pages
and summary pages) on the first ``SAMPLE`` EPCI with 1 and 2 local processes and on a Dask
``LocalCluster`` of 2 single-threaded worker processes (started before the clock, as an existing
cluster would be); then every EPCI page from an empty folder (goal: under 10 minutes on this
2-core machine) and the rerun with nothing changed (``BENCH_NATIONAL_COMPLET=0`` skips these two).
Each run writes into a fresh temporary folder.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

SAMPLE = 120
GOAL_SECONDS = 600.0


def run():
    from distributed import LocalCluster

    from observatoire.engine.catalogue import load_catalogue
    from observatoire.national.site import demo_data_file, run_national
    from observatoire.engine.reference import load_reference

    with tempfile.TemporaryDirectory(prefix="bench-national-") as tmp:
        tmp = Path(tmp)
        data = demo_data_file(tmp / "donnees", "epci", load_catalogue(), load_reference())

        def national(name: str, **kw):
            return run_national(data, output=tmp / name, progress=False, **kw)

        for workers in (1, 2):
            report = national(f"pool{workers}", limit=SAMPLE, processes=workers)
            yield {"mesure": f"National : débit, {workers} processus ({SAMPLE} EPCI)",
                   "valeur": report.throughput, "unite": "territoires/s"}
        with LocalCluster(n_workers=2, processes=True, threads_per_worker=1, dashboard_address=None) as cluster:
            report = national("dask", limit=SAMPLE, scheduler=cluster.scheduler_address)
        yield {"mesure": f"National : débit, Dask LocalCluster 2 workers ({SAMPLE} EPCI)",
               "valeur": report.throughput, "unite": "territoires/s"}

        if os.environ.get("BENCH_NATIONAL_COMPLET", "1") == "0":  # quick runs: the sample only
            return
        report = national("complet", processes=os.cpu_count())
        yield {"mesure": f"National : {report.territories} pages d'EPCI + synthèses, dossier vide",
               "valeur": report.seconds, "unite": "s", "objectif": GOAL_SECONDS}
        yield {"mesure": "National : débit du passage complet", "valeur": report.throughput,
               "unite": "territoires/s"}
        again = national("complet", processes=os.cpu_count())
        assert again.rendered == 0, again
        yield {"mesure": "National : relance sans changement (0 page refaite)", "valeur": again.seconds,
               "unite": "s"}
