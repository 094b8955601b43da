"""Public APIs → a territory's data file in the project's own contract (``observatoire collecter``).

One small module per API, every dataset behind the same fetch → parse → map interface
(:mod:`.base`): :mod:`.georisques` (GASPAR: CatNat decrees, major risks, DICRIM, PPRN),
:mod:`.insee` (Melodi: census and Filosofi), :mod:`.hubeau` (drinking-water quality),
:mod:`.datagouv` (tabular API: public charging points). :mod:`.http` is the polite client
(cache, token buckets, retries, time-outs, User-Agent), :mod:`.collect` the command: plan,
estimate, run, roll up with the engine's levels, check with the validator, write atomically.

This package imports the engine (``observatoire.engine``), ``paths``, ``text`` and ``errors``,
and nothing from the report, build, national or campus layers.
"""
