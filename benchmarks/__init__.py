"""Benchmarks of the Observatoire (`make bench`): speed and memory goals live here, never in tests.

Each module ``bench_*.py`` exposes ``run() -> list[dict]``; each dict is one measured figure with
keys ``mesure`` (what), ``valeur`` (number), ``unite`` and optionally ``objectif`` (goal, same
unit) and ``reference`` (baseline figure measured in the same run, for ratios).
"""
