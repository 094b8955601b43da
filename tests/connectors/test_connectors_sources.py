"""Each connector on answers in its API's documented format: normal, paginated, empty, changed."""

import json
import re

import pytest

from observatoire.connectors import datagouv, georisques, hubeau, insee
from observatoire.connectors.base import Context, Unit
from observatoire.connectors.errors import MalformedResponse, NoData

from support import EPCI, fixture_text

AIGUES, GRAU, LAURENT = (Unit("30003", "Aigues-Mortes (30003)"), Unit("30133", "Le Grau-du-Roi (30133)"),
                         Unit("30276", "Saint-Laurent-d'Aigouze (30276)"))
CAMARGUE = Unit(EPCI, f"CC Terre de Camargue ({EPCI})")
MELODI = {c.key: c for c in insee.CONNECTORS}


def test_every_connector_names_its_documentation_in_its_module():
    for module in (georisques, hubeau, insee, datagouv):
        assert module.CONNECTORS
        for connector in module.CONNECTORS:
            assert connector.documentation and connector.indicators
            for page in connector.documentation:
                assert page.startswith("https://") and page in module.__doc__.replace("\n", "")


def test_catnat_follows_the_pages_and_counts_distinct_decrees_of_ten_years(server, factory):
    server.georisques("gaspar/catnat", "30003", "catnat-30003-p1.json")
    server.georisques("gaspar/catnat", "30003", "catnat-30003-p2.json", page=2)
    [obs] = georisques.CatNat().collect(factory(georisques.API), AIGUES, Context())
    # TEST1900001A covers two perils (one decree); TEST9900001A is older than ten years.
    assert (obs.indicator, obs.period, obs.value) == ("catnat_arretes_10ans", "2025", 2.0)
    p = obs.provenance
    assert p.url == "https://georisques.gouv.fr/api/v1/gaspar/catnat?code_insee=30003&page=1&page_size=100"
    assert p.date_consultation == "2026-12-02" and p.licence == "Licence Ouverte / Etalab 2.0"
    assert "TEST2400002A" in p.extrait and "TEST9900001A" not in p.extrait
    assert "2016 à 2025" in p.millesime and "/api/v1/gaspar/catnat" in p.jeu_de_donnees


def test_catnat_since_a_year_gives_one_ten_year_window_per_year(server, factory):
    server.georisques("gaspar/catnat", "30003", "catnat-30003-p1.json")
    server.georisques("gaspar/catnat", "30003", "catnat-30003-p2.json", page=2)
    series = georisques.CatNat().collect(factory(georisques.API), AIGUES, Context(since=2018))
    assert [(o.period, o.value) for o in series] == [
        ("2018", 0.0), ("2019", 1.0), ("2020", 1.0), ("2021", 1.0), ("2022", 1.0), ("2023", 1.0), ("2024", 2.0),
        ("2025", 2.0)]


def test_no_decree_at_all_is_zero_decrees(server, factory):
    server.georisques("gaspar/catnat", "30276", "catnat-30276.json")
    [obs] = georisques.CatNat().collect(factory(georisques.API), LAURENT, Context())
    assert obs.value == 0.0 and "results=0" in obs.provenance.extrait


def test_a_renamed_field_is_a_french_message_naming_source_and_commune(server, factory):
    server.georisques("gaspar/catnat", "30133", "catnat-champ-renomme.json")
    with pytest.raises(MalformedResponse) as caught:
        georisques.CatNat().collect(factory(georisques.API), GRAU, Context())
    message = caught.value.message
    assert "Géorisques" in message and "Le Grau-du-Roi (30133)" in message
    assert "champ « code_national_catnat » absent" in message and "code_catnat" in message


def test_dicrim_of_exposed_communes_and_the_others_out_of_the_field(server, factory):
    for commune in ("30003", "30133", "30276"):
        server.georisques("gaspar/risques", commune, f"risques-{commune}.json")
        server.georisques("gaspar/dicrim", commune, f"dicrim-{commune}.json")
    client = factory(georisques.API)
    [with_dicrim] = georisques.Dicrim().collect(client, AIGUES, Context())
    [without] = georisques.Dicrim().collect(client, GRAU, Context())
    assert (with_dicrim.value, without.value, with_dicrim.period) == (100.0, 0.0, "2026")
    assert "gaspar/dicrim" in with_dicrim.provenance.url and "Inondation" in with_dicrim.provenance.extrait
    with pytest.raises(NoData) as caught:
        georisques.Dicrim().collect(client, LAURENT, Context())
    assert caught.value.out_of_scope and "hors du champ" in caught.value.message


def test_an_abrogated_prevention_plan_does_not_count(server, factory):
    for commune in ("30003", "30133"):
        server.georisques("gaspar/risques", commune, f"risques-{commune}.json")
        server.georisques("gaspar/pprn", commune, f"pprn-{commune}.json")
    client = factory(georisques.API)
    [covered] = georisques.Pprn().collect(client, AIGUES, Context())
    [abrogated] = georisques.Pprn().collect(client, GRAU, Context())
    assert (covered.value, abrogated.value) == (100.0, 0.0)
    assert "0 PPRN non abrogé(s) sur 1" in abrogated.provenance.commentaire


def test_drinking_water_counts_distinct_samples_across_pages(server, factory):
    server.hubeau("30003", "resultats-30003-p1.json")
    server.hubeau("30003", "resultats-30003-p2.json", page=2)
    [obs] = hubeau.Conformity().collect(factory(hubeau.API), AIGUES, Context())
    # 5 samples (one analysed on two rows): 3 C, 1 N, 1 S (sans objet, not counted).
    assert (obs.period, obs.value) == ("2025", 75.0)
    assert "3 prélèvements conformes aux limites bactériologiques sur 4" in obs.provenance.commentaire
    assert "api_version 1.4.0" in obs.provenance.millesime and "count=6" in obs.provenance.extrait


def test_drinking_water_without_any_sample_is_no_data_not_zero(server, factory):
    server.hubeau("30276", "resultats-30276.json")
    with pytest.raises(NoData, match="aucun prélèvement avec conclusion bactériologique en 2025"):
        hubeau.Conformity().collect(factory(hubeau.API), LAURENT, Context())


def test_drinking_water_unknown_conclusion_is_refused(server, factory):
    body = json.loads(fixture_text("hubeau/resultats-30133.json"))
    body["data"][0]["conformite_limites_bact_prelevement"] = "X"
    server.hubeau("30133", body=json.dumps(body))
    with pytest.raises(MalformedResponse, match="conclusion bactériologique inconnue « X »"):
        hubeau.Conformity().collect(factory(hubeau.API), GRAU, Context())


def test_drinking_water_beyond_hubeaus_depth_is_read_month_by_month(server, factory):
    full = json.loads(fixture_text("hubeau/resultats-30133.json"))
    server.hubeau("30133", body=json.dumps({**full, "count": 25_000, "data": [], "next": None}))
    for month in range(1, 13):
        start = f"2025-{month:02d}-01"
        stop = f"2025-{month + 1:02d}-01" if month < 12 else "2026-01-01"
        row = {**full["data"][0], "code_prelevement": f"P{month}", "date_prelevement": f"{start}T08:00:00Z"}
        server.add(hubeau.URL, {"code_commune": "30133", "date_min_prelevement": start, "date_max_prelevement": stop,
                                "fields": hubeau.FIELDS, "size": hubeau.SIZE, "page": 1},
                   body=json.dumps({**full, "count": 1, "data": [row], "next": None}))
    [obs] = hubeau.Conformity().collect(factory(hubeau.API), GRAU, Context())
    assert obs.value == 100.0 and "12 prélèvements conformes" in obs.provenance.commentaire
    assert len(server.mock.calls) == 13


def test_census_ratio_read_at_the_territorys_own_level(server, factory):
    server.melodi(MELODI["insee-personnes_75plus_part"], EPCI, "population-75-epci.json")
    client = factory(insee.API)
    [latest] = MELODI["insee-personnes_75plus_part"].collect(client, CAMARGUE, Context())
    assert (latest.territory, latest.period) == (EPCI, "2022")
    assert latest.value == pytest.approx(100 * 2400 / 20500)
    assert "GEO=EPCI-243000650" in latest.provenance.url and "AGE=Y_GE75" in latest.provenance.url
    assert "géographie au 1er janvier 2025" in latest.provenance.millesime
    series = MELODI["insee-personnes_75plus_part"].collect(client, CAMARGUE, Context(since=2010))
    assert [o.period for o in series] == ["2016", "2022"]


def test_filosofi_follows_paging_next_and_keeps_the_published_value(server, factory):
    server.melodi(MELODI["insee-pauvrete_taux"], EPCI, "filosofi-pr_md60-p1.json")
    server.melodi(MELODI["insee-pauvrete_taux"], EPCI, "filosofi-pr_md60-p2.json", page=2)
    [obs] = MELODI["insee-pauvrete_taux"].collect(factory(insee.API), CAMARGUE, Context())
    assert (obs.period, obs.value) == ("2021", 17.2)
    assert '"value":17.2' in obs.provenance.extrait


def test_a_territory_absent_from_insees_geography_says_it_may_have_merged(server, factory):
    server.melodi(MELODI["insee-personnes_75plus_part"], EPCI, "vide.json")
    with pytest.raises(NoData) as caught:
        MELODI["insee-personnes_75plus_part"].collect(factory(insee.API), CAMARGUE, Context())
    assert "CC Terre de Camargue" in caught.value.message and "fusionné" in caught.value.message


def test_statistical_secrecy_is_no_data(server, factory):
    server.melodi(MELODI["insee-pauvrete_taux"], "30276", "secret.json")
    with pytest.raises(NoData, match="secret statistique"):
        MELODI["insee-pauvrete_taux"].collect(factory(insee.API), LAURENT, Context())


def test_charging_points_distinct_per_ten_thousand_inhabitants(server, factory):
    server.irve("30003", "irve-30003-p1.json")
    server.irve("30003", "irve-30003-p2.json", page=2)
    [obs] = datagouv.ChargingPoints().collect(factory(datagouv.API), AIGUES, Context(population={"30003": 8699}))
    assert obs.value == pytest.approx(2 * 10_000 / 8699)  # FRTST0000002A is listed twice
    assert "2 point(s) de recharge distinct(s)" in obs.provenance.commentaire
    assert "code_insee_commune__exact=30003" in obs.provenance.url


def test_charging_points_pages_that_do_not_add_up_are_refused(server, factory):
    body = json.loads(fixture_text("datagouv/irve-30003-p1.json"))
    body["links"]["next"] = None
    server.irve("30003", body=json.dumps(body))
    with pytest.raises(MalformedResponse, match=re.escape("2 lignes lues pour 3 annoncées")):
        datagouv.ChargingPoints().collect(factory(datagouv.API), AIGUES, Context(population={"30003": 8699}))
