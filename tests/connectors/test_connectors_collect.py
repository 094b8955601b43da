"""``observatoire collecter``: the file in the contract, rows to fill, failures, offline, resume, national."""

import json
import re

import pandas as pd
import pytest
import requests

from observatoire import cli
from observatoire.connectors import collect, georisques, hubeau, insee
from observatoire.connectors.base import EVERY_EPCI
from observatoire.engine.catalogue import load_catalogue
from observatoire.engine.reference import Reference, load_reference
from observatoire.engine.validate import validate_file

from support import COMMUNES, EPCI, Factory, fixture_text

POP = {"30003": 8699, "30133": 8588, "30276": 3690}


def read(path):
    return pd.read_csv(path, dtype=str, keep_default_na=False)


@pytest.fixture
def run_cli(monkeypatch, factory, capsys):
    """``observatoire collecter …`` with the test's clients; returns (exit status, printed text)."""
    real = collect.collect

    def patched(*args, **kwargs):
        return real(*args, **{**kwargs, "client_factory": factory})

    monkeypatch.setattr(collect, "collect", patched)

    def run(*argv):
        status = cli.main(["collecter", *argv])
        out = capsys.readouterr()
        return status, out.out + out.err

    return run


def only_provenance_warnings(path):
    """The validator accepts the file; its only remarks are on the provenance columns, which the
    shared contract adds to the schema (if the schema on this branch does not list them yet)."""
    data = validate_file(path)
    for warning in data.warnings:
        assert warning.column in collect.PROVENANCE_COLUMNS, str(warning)
    return data


def test_an_epci_file_in_the_contract_with_provenance_and_rows_to_fill(server, run_cli, tmp_path):
    server.everything()
    output = tmp_path / "camargue.csv"
    status, text = run_cli(EPCI, "--sortie", str(output), "--silencieux")
    assert status == 0, text
    assert "Collecte pour CC Terre de Camargue (243000650, EPCI) : 3 commune(s)" in text
    assert "Estimation avant de commencer" in text and "Collecte complète." in text
    assert "Géorisques — arrêtés de catastrophe naturelle (GASPAR) : 1 indicateur(s) rempli(s)" in text

    data = only_provenance_warnings(output)
    values = data.values.set_index("indicateur")["valeur"]
    assert values["catnat_arretes_10ans"] == pytest.approx((2 * 8699 + 3 * 8588 + 0 * 3690) / 20977)
    assert values["dicrim_population_part"] == pytest.approx(100 * 8699 / (8699 + 8588))
    assert values["eau_conformite_microbio"] == pytest.approx((75 * 8699 + 100 * 8588) / (8699 + 8588))
    assert values["irve_points_taux"] == pytest.approx(10_000 * (2 + 1 + 0) / 20977)
    assert (values["pauvrete_taux"], values["rapport_interdecile_niveau_vie"]) == (17.2, 3.3)

    table = read(output)
    assert list(table.columns) == collect.COLUMNS
    for column in collect.PROVENANCE_COLUMNS + ["source", "unite"]:
        assert (table[column] != "").all(), column
    catnat = table.set_index("indicateur").loc["catnat_arretes_10ans"]
    assert catnat["url"] == "https://georisques.gouv.fr/api/v1/gaspar/catnat?code_insee={commune}&page=1&page_size=100"
    assert catnat["extrait"] == "valeurs communales : 30003=2 ; 30133=3 ; 30276=0"
    assert "de 3 commune(s) sur 3 ; couverture : 100,0 % de la population" in catnat["commentaire"]
    water = table.set_index("indicateur").loc["eau_conformite_microbio"]
    assert "sans valeur : Saint-Laurent-d'Aigouze (30276) : pas de donnée" in water["commentaire"]

    to_fill = read(tmp_path / "camargue-a-renseigner.csv")
    assert list(to_fill.columns) == collect.COLUMNS and (to_fill["valeur"] == "").all()
    catalogue = load_catalogue()
    assert len(to_fill) + len(table) == len(catalogue.indicators)
    reasons = to_fill.set_index("indicateur")["commentaire"]
    assert reasons["entreprises_pca_part"].startswith("À renseigner — indicateur d'enquête : Enquête de l'Observatoire")
    assert reasons["eau_rendement_reseau"].startswith("À renseigner — pas encore de connecteur automatique")

    communal = only_provenance_warnings(tmp_path / "camargue-communes.csv").values
    assert set(communal["territoire"]) == set(COMMUNES)
    # The indicators the connectors proposed are in the catalogue: their values are in the file.
    assert {"pprn_population_part", "personnes_75plus_part", "dependance_agee_rapport", "niveau_vie_median"} <= \
        set(values.index)
    assert values["niveau_vie_median"] == 20870
    assert not (tmp_path / "camargue-hors-catalogue.csv").exists()


def test_a_commune_gets_its_own_values_and_the_reason_of_each_gap(server, run_cli, tmp_path):
    server.georisques_ok()
    server.hubeau("30276", "resultats-30276.json")
    server.irve("30276", "irve-30276.json")
    for connector in insee.CONNECTORS:
        server.melodi(connector, "30276", "secret.json" if "FILOSOFI" in connector.dataset else "vide.json")
    output = tmp_path / "laurent.csv"
    status, text = run_cli("30276", "--sortie", str(output), "--silencieux")
    assert status == 0, text
    values = only_provenance_warnings(output).values.set_index("indicateur")["valeur"]
    assert values.to_dict() == {"catnat_arretes_10ans": 0.0, "irve_points_taux": 0.0}
    assert not (tmp_path / "laurent-communes.csv").exists()
    reasons = read(tmp_path / "laurent-a-renseigner.csv").set_index("indicateur")["commentaire"]
    assert "hors du champ de l'indicateur" in reasons["dicrim_population_part"]
    assert "aucun prélèvement avec conclusion bactériologique" in reasons["eau_conformite_microbio"]
    assert "secret statistique" in reasons["pauvrete_taux"]


def test_one_source_failing_keeps_the_others_and_says_why(server, run_cli, tmp_path):
    server.georisques_ok()
    server.insee_ok()
    server.irve_ok()
    for commune in COMMUNES:  # Hub'Eau down: 500 on every attempt
        for _ in range(4):
            server.hubeau(commune, status=500, body='{"message": "Internal Server Error"}')
    output = tmp_path / "camargue.csv"
    status, text = run_cli(EPCI, "--sortie", str(output), "--silencieux")
    assert status == cli.EXIT_PARTIAL, text
    assert "Collecte partielle" in text
    assert "Hub'Eau — qualité de l'eau potable (contrôle sanitaire) : aucun indicateur rempli" in text
    assert "Aigues-Mortes (30003) — Hub'Eau : erreur du serveur (HTTP 500) après 4 essais" in text
    values = only_provenance_warnings(output).values
    assert "eau_conformite_microbio" not in set(values["indicateur"]) and len(values) == 9
    reasons = read(tmp_path / "camargue-a-renseigner.csv").set_index("indicateur")["commentaire"]
    assert reasons["eau_conformite_microbio"].startswith("À renseigner — la collecte a échoué : ")
    assert "HTTP 500" in reasons["eau_conformite_microbio"]


def test_failed_communes_are_named_and_a_value_resting_on_too_few_is_withheld(server, run_cli, tmp_path):
    server.georisques_ok(skip=("catnat",))
    server.georisques("gaspar/catnat", "30003", "../erreurs/page-erreur.html", content_type="text/html")
    server.georisques("gaspar/catnat", "30133", "catnat-champ-renomme.json")
    server.georisques("gaspar/catnat", "30276", "catnat-30276.json")
    server.hubeau_ok()
    server.insee_ok()
    server.irve("30003", "irve-30003-p1.json")
    server.irve("30003", "irve-30003-p2.json", page=2)
    server.irve("30133", status=404, body='{"message": "Not Found"}')
    server.irve("30276", "irve-30276.json")
    output = tmp_path / "camargue.csv"
    status, text = run_cli(EPCI, "--sortie", str(output), "--silencieux")
    assert status == cli.EXIT_PARTIAL, text
    assert "Aigues-Mortes (30003) — Géorisques a renvoyé une page HTML au lieu de données JSON" in text
    assert "Le Grau-du-Roi (30133) : champ « code_national_catnat » absent" in text
    table = read(output).set_index("indicateur")
    # CatNat failed for 82 % of the population: withheld. IRVE failed for 41 %: kept, with the gap said.
    assert "catnat_arretes_10ans" not in table.index
    reasons = read(tmp_path / "camargue-a-renseigner.csv").set_index("indicateur")["commentaire"]
    assert "la collecte a échoué pour des communes regroupant 82,4 % de la population" in reasons["catnat_arretes_10ans"]
    assert float(table.loc["irve_points_taux", "valeur"]) == pytest.approx(10_000 * 2 / (8699 + 3690))
    assert "Le Grau-du-Roi (30133) : échec de la requête" in table.loc["irve_points_taux", "commentaire"]


def test_offline_nothing_is_written_and_the_exit_status_says_so(server, run_cli, tmp_path):
    dns = "Failed to resolve '{}' ([Errno -3] Temporary failure in name resolution)"
    server.mock.add("GET", re.compile(r"https://.*"), body=requests.ConnectionError(dns.format("host")))
    output = tmp_path / "camargue.csv"
    status, text = run_cli(EPCI, "--sortie", str(output), "--silencieux")
    assert status == cli.EXIT_OFFLINE, text
    assert "Aucune API n'a pu être jointe" in text and "ne se résout pas" in text
    assert "rien n'a été écrit" in text and "Traceback" not in text
    assert list(tmp_path.iterdir()) == []


def test_a_rerun_reads_the_cache_and_refresh_asks_again(server, tmp_path):
    server.everything()
    catalogue, reference = load_catalogue(), load_reference()
    first = Factory(cache=tmp_path / "cache")
    collect.collect(EPCI, tmp_path / "a.csv", catalogue, reference, client_factory=first, say=lambda _: None)
    assert first.sent == len(server.mock.calls) > 20
    server.mock.reset()  # the APIs are gone: only the cache can answer
    said = []
    again = Factory(cache=tmp_path / "cache")
    result = collect.collect(EPCI, tmp_path / "b.csv", catalogue, reference, client_factory=again, say=said.append)
    assert again.sent == 0 and result.status == collect.COMPLETE
    assert "0 requête(s) à envoyer" in said[1]
    assert (tmp_path / "a.csv").read_text() == (tmp_path / "b.csv").read_text()
    server.everything()
    fresh = Factory(cache=tmp_path / "cache", refresh=True)
    collect.collect(EPCI, tmp_path / "c.csv", catalogue, reference, client_factory=fresh, say=lambda _: None)
    assert fresh.sent == first.sent


def test_a_value_the_validator_refuses_becomes_a_row_to_fill(server, factory, tmp_path):
    server.georisques_ok()
    server.hubeau_ok()
    server.irve_ok()
    by_key = {c.key: c for c in insee.CONNECTORS}
    body = json.loads(fixture_text("insee/filosofi-pr_md60-p2.json"))
    body["observations"][0]["measures"]["OBS_VALUE_NIVEAU"]["value"] = 150.0  # above max_plausible (100 %)
    server.melodi(by_key["insee-pauvrete_taux"], EPCI, body=json.dumps(body))
    output = tmp_path / "camargue.csv"
    collect.collect(EPCI, output, load_catalogue(), load_reference(), client_factory=factory, say=lambda _: None,
                    connectors=georisques.CONNECTORS + hubeau.CONNECTORS + (by_key["insee-pauvrete_taux"],))
    assert "pauvrete_taux" not in set(read(output)["indicateur"])
    reasons = read(tmp_path / "camargue-a-renseigner.csv").set_index("indicateur")["commentaire"]
    assert "valeur collectée (150) refusée par le validateur : hors de la plage plausible" in reasons["pauvrete_taux"]


def test_arguments_are_checked_in_french(run_cli, tmp_path):
    assert run_cli()[0] == cli.EXIT_INVALID
    status, text = run_cli("--tous")
    assert status == cli.EXIT_INVALID and "--niveau epci --tous" in text
    status, text = run_cli(EPCI, "--niveau", "epci", "--tous")
    assert status == cli.EXIT_INVALID and "pas les deux" in text
    status, text = run_cli("FR")
    assert status == cli.EXIT_INVALID and "pas sur la France" in text
    fictional = load_reference().fictional["code"].iloc[0]
    status, text = run_cli(fictional)
    assert status == cli.EXIT_INVALID and "territoire fictif" in text and "aucune API publique" in text
    status, text = run_cli("20040")
    assert status == cli.EXIT_INVALID and "2A" in text and "Traceback" not in text
    status, text = run_cli(EPCI, "--depuis", "1800")
    assert status == cli.EXIT_INVALID and "--depuis 1800" in text
    assert list(tmp_path.iterdir()) == []


def small_reference(codes: list[str]) -> Reference:
    """The reference cut down to a few EPCI (a national run on fixtures)."""
    full = load_reference()
    members = full.epci_communes[full.epci_communes["epci"].isin(codes)]
    communes = full.communes[full.communes["code"].isin(members["commune"])]
    return Reference(communes.reset_index(drop=True), full.epci[full.epci["code"].isin(codes)].reset_index(drop=True),
                     members.reset_index(drop=True), full.departements, full.regions)


def test_national_collection_of_every_epci_is_estimated_resumable_and_valid(server, tmp_path):
    reference = small_reference([EPCI])
    by_key = {c.key: c for c in insee.CONNECTORS}
    connectors = (georisques.CatNat(), by_key["insee-pauvrete_taux"])
    server.georisques_ok()
    server.melodi(by_key["insee-pauvrete_taux"], EVERY_EPCI, "filosofi-pr_md60-tous-epci.json")
    said = []
    first = Factory(cache=tmp_path / "cache")
    output = tmp_path / "national.csv"
    result = collect.collect(None, output, load_catalogue(), reference, every_epci=True, client_factory=first,
                             connectors=connectors, say=said.append)
    assert said[0].startswith("Collecte pour tous les EPCI : 3 commune(s)")
    assert "Géorisques : 4 requête(s) à envoyer" not in said[1] and "Géorisques : 3 requête(s) à envoyer" in said[1]
    assert "Insee (Melodi) : 1 requête(s) à envoyer" in said[1]
    table = read(output)
    # 200000172 is in INSEE's answer but not in this reference: ignored.
    assert set(table["territoire"]) == {EPCI} and set(table["indicateur"]) == {"catnat_arretes_10ans", "pauvrete_taux"}
    assert not (tmp_path / "national-communes.csv").exists()
    assert len(read(tmp_path / "national-a-renseigner.csv")) == 0  # only the covered indicators are listed
    assert validate_file(output, reference=reference).values.shape[0] == 2
    assert result.status == collect.COMPLETE
    server.mock.reset()
    again = Factory(cache=tmp_path / "cache")
    collect.collect(None, tmp_path / "again.csv", load_catalogue(), reference, every_epci=True, client_factory=again,
                    connectors=connectors, say=said.append)
    assert again.sent == 0 and "0 requête(s) à envoyer" in said[-1]


def test_the_national_estimate_counts_every_commune_at_each_apis_rate():
    reference = load_reference()
    plan = {c: collect.units_of(c, collect.targets_of(reference, None, True), True, reference)
            for c in collect.CONNECTORS}
    communes = len(plan[georisques.CONNECTORS[0]])
    assert communes > 34_000 and len(plan[insee.CONNECTORS[0]]) == 1

    class Offline:
        def __init__(self, api):
            self.api = api

        def is_cached(self, url, params):
            return False

    estimate = collect.estimate(plan, {c.api.key: Offline(c.api) for c in collect.CONNECTORS}, collect.Context())
    # Géorisques: catnat, risques + dicrim, risques + pprn per commune, at 5 per second.
    assert estimate.requests["Géorisques"] == 5 * communes
    assert estimate.seconds["Géorisques"] == pytest.approx(communes)
    assert estimate.total_seconds == estimate.seconds["Géorisques"]
    assert "environ 9 h" in estimate.text() or "environ 10 h" in estimate.text()


def test_an_interrupted_collection_writes_nothing_and_says_how_to_resume(run_cli, monkeypatch, tmp_path):
    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(collect, "run", interrupted)
    status, text = run_cli(EPCI, "--sortie", str(tmp_path / "x.csv"), "--silencieux")
    assert status == 130 and "Collecte interrompue : rien n'a été écrit" in text and "reprendre" in text
    assert list(tmp_path.iterdir()) == []


def test_catalogue_proposals_were_applied_with_their_reasons():
    rows = pd.read_csv(collect.PROPOSALS, dtype=str, keep_default_na=False)
    catalogue = load_catalogue()
    header = list(pd.read_csv(collect.paths.CATALOGUE / "indicateurs.csv", nrows=0).columns)
    assert list(rows.columns) == ["action", *header, "justification"]
    assert set(rows["action"]) == {"ajouter", "redefinir"} and (rows["justification"].str.len() > 200).all()
    # Applied (data/catalogue/propositions/README.md): every proposed id is in the catalogue now,
    # and every indicator a connector fills is a catalogue indicator.
    assert set(rows["id"]) <= set(catalogue.indicators.index)
    filled = {i for c in collect.CONNECTORS for i in c.indicators}
    assert filled <= set(catalogue.indicators.index)
