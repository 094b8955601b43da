"""« Territoires qui me ressemblent » (observatoire.engine.peers): real variables, deterministic."""

import numpy as np
import pandas as pd
import pytest

from observatoire.engine import geometries, peers
from observatoire.engine.reference import load_reference


@pytest.fixture(scope="module")
def ref():
    return load_reference()


def test_structural_variables_are_the_reference_and_the_contours(ref):
    table = peers.structural_table("epci", ref)
    epci = ref.epci.set_index("code")
    assert sorted(table.index) == sorted(epci.index)
    assert (table["population"] == epci["population"].reindex(table.index)).all()
    assert (table["nb_communes"] == epci["nb_communes"].reindex(table.index)).all()
    np.testing.assert_array_equal(table["superficie_km2"], geometries.areas("epci").reindex(table.index))
    np.testing.assert_allclose(table["densite"], table["population"] / table["superficie_km2"])
    # Share of the main commune, recomputed by hand for the Métropole de Lyon.
    members = ref.epci_communes.loc[ref.epci_communes["epci"] == "200046977", "commune"]
    pop = ref.communes.set_index("code").loc[members, "population"]
    assert table.at["200046977", "part_commune_principale"] == pytest.approx(pop.max() / pop.sum())
    assert table.at["200046977", "nom"] == "Métropole de Lyon"


def test_peers_are_nearest_in_the_standardised_space(ref):
    table = peers.structural_table("epci", ref)
    z = pd.DataFrame({"p": np.log1p(table["population"]), "d": np.log1p(table["densite"]),
                      "n": np.log1p(table["nb_communes"]), "s": table["part_commune_principale"]})
    z = (z - z.mean()) / z.std(ddof=0)
    code = "200043776"
    distance = np.sqrt(((z - z.loc[code]) ** 2).sum(axis=1)).drop(code)
    expected = distance.sort_values(kind="stable").index[:5]
    found = peers.nearest_peers(code, reference=ref)
    assert list(found["territoire"]) == list(expected)
    np.testing.assert_allclose(found["distance"], distance[expected])
    assert list(found["rang"]) == [1, 2, 3, 4, 5]
    assert code not in set(found["territoire"])


def test_deterministic_and_same_in_bulk(ref):
    codes = list(ref.epci["code"])
    bulk = peers.all_peers("epci", reference=ref)
    assert set(bulk) == set(codes)
    for code in codes[::50]:
        assert [c for c, _ in bulk[code]] == list(peers.nearest_peers(code, reference=ref)["territoire"])
    assert peers.all_peers("epci", reference=ref, codes=codes[:30]) == {c: bulk[c] for c in codes[:30]}


def test_ties_are_broken_by_code(ref):
    """The six uninhabited communes of the Meuse (« mortes pour la France ») are identical here."""
    dead = ["55039", "55050", "55139", "55189", "55239", "55307"]
    found = peers.nearest_peers("55039", reference=ref)
    assert list(found["territoire"]) == dead[1:]
    assert (found["distance"] == 0).all()
    assert [c for c, _ in peers.all_peers("commune", reference=ref, codes=["55039"])["55039"]] == dead[1:]


def test_each_level_uses_the_variables_that_vary(ref):
    assert peers.method_summary("commune", ref)["variables"] == ["population municipale",
                                                                 "densité (habitants par km²)"]
    assert len(peers.method_summary("epci", ref)["variables"]) == 4
    regions = peers.nearest_peers("REG-94", reference=ref)
    assert len(regions) == 5 and all(c.startswith("REG-") for c in regions["territoire"])
    deps = peers.nearest_peers("DEP-2A", reference=ref)
    assert all(c.startswith("DEP-") for c in deps["territoire"])


def test_no_peers_without_an_own_area(ref):
    for code in ("15031", "15141"):  # restored in 2026, one contour for five communes
        assert peers.nearest_peers(code, reference=ref).empty
    assert "15141" not in {c for c, _ in peers.all_peers("commune", reference=ref, codes=["15142"]).get("15142", [])}
    assert peers.nearest_peers("FR", reference=ref).empty


def test_peers_table_for_a_chapter(ref):
    table = peers.peers_table("200043776", reference=ref)
    assert list(table["Code"]) == ["200043776", *peers.nearest_peers("200043776", reference=ref)["territoire"]]
    assert table["Territoire"].iloc[0].endswith("(ce territoire)") and table["Distance"].iloc[0] == 0
    assert table["Population"].iloc[0] == ref.territory("200043776").population
    assert "Communes" not in peers.peers_table("33063", reference=ref).columns
    assert peers.peers_table("15031", reference=ref).empty
