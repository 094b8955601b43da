"""A firm's self-diagnosis (observatoire.engine.firm, observatoire.report.firm_template, the CLI):
the firm framework as data, the data contract and its examples, validation in French, scoring
through the Coin API, the fill-in template and the worked fictional case."""

from __future__ import annotations

import csv
import json
import re

import numpy as np
import pandas as pd
import pytest
from openpyxl import load_workbook

from observatoire import paths
from observatoire.cli import main
from observatoire.engine.firm import (DEMO_PATH, FRAMEWORK_PATH, SCHEMA_PATH, fictional_firms, load_firm_framework,
                                      load_firm_schema, parse_firm_code, score_firms, siren_is_valid,
                                      validate_firm_file)
from observatoire.engine.normalise import normalise_goalposts
from observatoire.errors import ValidationError
from observatoire.report.firm_template import (GENERIC_DIRECTORY, GENERIC_NAME, TEMPLATE_YEAR,
                                               firm_template_columns, write_firm_template)

PROPOSALS = paths.CATALOGUE / "propositions" / "entreprises.csv"
VALID = paths.DATA / "schema" / "exemple-entreprise-valide.csv"
INVALID = paths.DATA / "schema" / "exemple-entreprise-invalide.csv"
#: Nine digits with a correct check digit, for tests only (synthetic values never leave them).
SIREN = "123456782"
FICTIONAL = "FICTIF-CONSERVERIE-BRUMEVAL"


@pytest.fixture(scope="module")
def framework():
    return load_firm_framework()


def filled_rows(code: str = SIREN, year: str = "2025") -> pd.DataFrame:
    """One row per indicator, each value at the middle of its goalposts (synthetic)."""
    fw = load_firm_framework()
    nodes = fw.framework.nodes.loc[fw.indicators.index]
    return pd.DataFrame({"entreprise": code, "indicateur": fw.indicators.index, "periode": year,
                         "valeur": ((nodes["borne_basse"] + nodes["borne_haute"]) / 2).to_numpy(),
                         "unite": fw.indicators["unite"].to_numpy()})


def write_csv(frame: pd.DataFrame, path, **kwargs) -> str:
    frame.to_csv(path, index=False, **kwargs)
    return str(path)


# --------------------------------------------------------------------------- the framework


def test_the_framework_is_a_table_of_three_levels_with_every_reviewed_proposal(framework):
    fw = framework.framework
    assert fw.levels == [1, 2, 3] and list(fw.roots) == ["ent_indice"]
    assert list(framework.pillars) == ["ent_continuite", "ent_ressources_climat", "ent_travail_ancrage"]
    assert [len(fw.children(p)) for p in framework.pillars] == [5, 5, 5]
    proposed = pd.read_csv(PROPOSALS, dtype=str, keep_default_na=False)
    firm_level = proposed[proposed["id"].str.startswith("ent_")]
    assert sorted(framework.indicators.index) == sorted(firm_level["id"])
    # Firm-level indicators stay out of the territorial catalogue.
    territorial = pd.read_csv(paths.CATALOGUE / "indicateurs.csv", dtype=str)["id"]
    assert not territorial.str.startswith("ent_").any()
    meta = framework.indicators
    assert (meta["revue"].str.len() > 40).all() and (meta["referentiel"] != "").all()
    assert meta["source_url"].str.match(r"^https://\S+$").all()
    assert set(meta["commun"]) <= set(framework.communs.index)


def test_goalposts_sit_inside_the_plausible_range_and_follow_the_review(framework):
    nodes = framework.framework.nodes.loc[framework.indicators.index]
    meta = framework.indicators
    assert (meta["min_plausible"] <= nodes["borne_basse"]).all()
    assert (nodes["borne_haute"] <= meta["max_plausible"]).all()
    # Payment delays: the legal 60-day ceiling scores 0, the 30-day default 100 (code de commerce L441-10).
    assert tuple(nodes.loc["ent_delai_paiement_fournisseurs", ["borne_basse", "borne_haute", "direction"]]) == (30, 60, -1)
    proposed = pd.read_csv(PROPOSALS, dtype=str, keep_default_na=False).set_index("id")
    changed = [i for i in meta.index if float(proposed.at[i, "borne_basse"]) != nodes.at[i, "borne_basse"]
               or float(proposed.at[i, "borne_haute"]) != nodes.at[i, "borne_haute"]]
    assert changed == ["ent_delai_paiement_fournisseurs"]
    assert "L441-10" in meta.at["ent_delai_paiement_fournisseurs", "revue"]


def test_a_broken_framework_is_refused_in_french(tmp_path, framework):
    table = pd.read_csv(FRAMEWORK_PATH, dtype=str, keep_default_na=False)
    table.loc[table["code"] == "ent_index_egalite", "commun"] = "egalite"
    table.loc[table["code"] == "ent_achats_region_part", "max_plausible"] = "50"  # below the goalpost 60
    table.loc[table["code"] == "ent_formation_heures_salarie", "unite"] = ""
    path = write_csv(table, tmp_path / "cadre.csv")
    with pytest.raises(ValidationError) as exc:
        load_firm_framework(path)
    text = str(exc.value)
    assert "commun inconnu" in text and "plage plausible" in text and "valeur obligatoire" in text
    with pytest.raises(ValidationError, match="colonne manquante"):
        load_firm_framework(write_csv(table.drop(columns=["unite"]), tmp_path / "sans-unite.csv"))


# --------------------------------------------------------------------------- codes


def test_siren_check_digit_and_code_forms():
    assert siren_is_valid(SIREN) and not siren_is_valid("123456789") and not siren_is_valid("12345678")
    assert parse_firm_code(SIREN) == (SIREN, None, None)
    code, error, warning = parse_firm_code("123 456 782")
    assert code == SIREN and error is None and "espaces retirés" in warning
    assert "clé de contrôle" in parse_firm_code("123456789")[1]
    assert "SIRET" in parse_firm_code("12345678200017")[1] and f"« {SIREN} »" in parse_firm_code("12345678200017")[1]
    assert "zéros initiaux" in parse_firm_code("23456782")[1]
    assert "9 chiffres" in parse_firm_code("ACME")[1]
    assert "démonstrations" in parse_firm_code(FICTIONAL)[1]
    assert parse_firm_code(FICTIONAL.lower(), demonstration=True) == (FICTIONAL, None, None)
    registry = fictional_firms().index
    assert "registre" in parse_firm_code("FICTIF-AUTRE", demonstration=True, fictional=registry)[1]


def test_the_schema_pattern_accepts_exactly_the_canonical_codes():
    pattern = re.compile(next(f for f in load_firm_schema()["fields"] if f["name"] == "entreprise")
                         ["constraints"]["pattern"])
    for raw in (SIREN, "123 456 782", FICTIONAL, "123456789", "12345678200017", "FICTIF-", "acme"):
        code, error, _ = parse_firm_code(raw, demonstration=True)
        if error is None:
            assert pattern.fullmatch(code), raw
    assert not pattern.fullmatch("12345678200017") and not pattern.fullmatch("FICTIF-")


# --------------------------------------------------------------------------- validation


def test_examples_beside_the_schema(framework):
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    assert [r["path"] for r in schema["resources"]] == [VALID.name, INVALID.name]
    assert [f["name"] for f in schema["fields"]][:7] == ["entreprise", "indicateur", "periode", "valeur", "unite",
                                                         "source", "commentaire"]
    data = validate_firm_file(VALID, framework, demonstration=True)
    assert len(data.values) == 3 and not data.warnings
    assert data.values.loc[data.values["indicateur"] == "ent_delai_paiement_fournisseurs", "valeur"].item() == 41.5
    with pytest.raises(ValidationError, match="réservé aux démonstrations"):
        validate_firm_file(VALID, framework)
    with pytest.raises(ValidationError) as exc:
        validate_firm_file(INVALID, framework, demonstration=True)
    lines = {p.line for p in exc.value.problems}
    n = sum(1 for _ in open(INVALID, encoding="utf-8"))
    # One problem on every data line, except line 10, the first of the duplicated pair.
    assert lines == set(range(2, n + 1)) - {10}
    messages = " ".join(p.message for p in exc.value.problems)
    for expected in ("clé de contrôle", "SIRET", "registre", "catalogue des territoires", "pas le mois",
                     "plage plausible", "n'écrivez pas l'unité", "unité attendue", "doublon", "AAAA-MM-JJ"):
        assert expected in messages, expected


def test_every_problem_at_once_and_never_a_traceback(tmp_path, framework, capsys):
    rows = filled_rows().astype(str)
    rows.loc[0, "valeur"] = "beaucoup"
    rows.loc[1, "indicateur"] = "ent_pca_activites_critique_part"
    rows.loc[2, "periode"] = "25"
    rows.loc[3, "entreprise"] = ""
    path = write_csv(rows, tmp_path / "f.csv")
    with pytest.raises(ValidationError) as exc:
        validate_firm_file(path, framework)
    assert [p.line for p in exc.value.problems] == [2, 3, 4, 5]
    assert "vouliez-vous dire « ent_pca_activites_critiques_part »" in str(exc.value)
    assert main(["entreprise", path]) == 1
    err = capsys.readouterr().err
    assert "4 erreurs" in err and "Traceback" not in err
    # Missing required column, aggregate as indicator, empty file.
    with pytest.raises(ValidationError, match="« valeur »"):
        validate_firm_file(write_csv(rows.drop(columns=["valeur"]), tmp_path / "g.csv"), framework)
    agg = filled_rows().head(1).assign(indicateur="ent_continuite")
    with pytest.raises(ValidationError, match="agrégat du cadre"):
        validate_firm_file(write_csv(agg, tmp_path / "h.csv"), framework)
    (tmp_path / "vide.csv").write_text("entreprise,indicateur,periode,valeur\n", encoding="utf-8")
    with pytest.raises(ValidationError, match="aucune valeur"):
        validate_firm_file(tmp_path / "vide.csv", framework)
    assert main(["entreprise", str(tmp_path / "absent.csv")]) == 1
    assert "introuvable" in capsys.readouterr().err


def test_french_spreadsheets_give_the_same_scores(tmp_path, framework):
    rows = filled_rows()
    rows.loc[0, "valeur"] = 37.5
    reference = score_firms(validate_firm_file(write_csv(rows, tmp_path / "a.csv"), framework), framework)
    french = rows.assign(valeur=rows["valeur"].map(lambda v: f"{v:g}".replace(".", ",")))
    path = write_csv(french, tmp_path / "b.csv", sep=";", encoding="cp1252")
    again = score_firms(validate_firm_file(path, framework), framework)
    pd.testing.assert_frame_equal(again.coin.datasets["agrege"], reference.coin.datasets["agrege"])


# --------------------------------------------------------------------------- scoring


def test_scores_by_hand_latest_year_and_coverage(tmp_path, framework):
    rows = filled_rows()
    older = rows.head(1).assign(periode="2023", valeur=100.0)  # an older year: ignored
    rows.loc[rows["indicateur"] == "ent_delai_paiement_fournisseurs", "valeur"] = 41.0
    path = write_csv(pd.concat([older, rows]), tmp_path / "f.csv")
    scores = score_firms(validate_firm_file(path, framework), framework)
    profile = scores.profile()
    nodes = framework.framework.nodes
    expected = {i: float(normalise_goalposts([v], nodes.at[i, "borne_basse"], nodes.at[i, "borne_haute"],
                                             nodes.at[i, "direction"])[0])
                for i, v in zip(rows["indicateur"], rows["valeur"])}
    assert profile.indicators["score"].to_dict() == pytest.approx(expected)
    assert expected["ent_delai_paiement_fournisseurs"] == pytest.approx(100 * (60 - 41) / 30)
    assert profile.indicators.at["ent_pca_activites_critiques_part", "periode"] == "2025"
    pillars = {p: np.mean([expected[i] for i in framework.framework.children(p)]) for p in framework.pillars}
    assert profile.pillars["score"].to_dict() == pytest.approx(pillars)
    assert profile.index == pytest.approx(np.mean(list(pillars.values())))
    # The log regenerates the scores exactly.
    pd.testing.assert_frame_equal(scores.coin.regenerate().datasets["agrege"], scores.coin.datasets["agrege"])
    # By commun: the mean of the indicators attached to it.
    eau = [i for i in expected if framework.indicators.at[i, "commun"] == "energie"]
    assert profile.communs.at["energie", "score"] == pytest.approx(np.mean([expected[i] for i in eau]))

    # A small firm leaves the equality index out: the pillar stands on its four other indicators;
    # with three of five missing, the pillar is not computed and the index stands on two pillars.
    small = rows[rows["indicateur"] != "ent_index_egalite"]
    p = score_firms(validate_firm_file(write_csv(small, tmp_path / "s.csv"), framework), framework).profile()
    assert p.filled == 14 and p.pillars.at["ent_travail_ancrage", "couverture"] == pytest.approx(0.8)
    gone = ["ent_eau_prelevements_reduction", "ent_ges_scopes12_reduction", "ent_matieres_secondaires_part"]
    p = score_firms(validate_firm_file(write_csv(rows[~rows["indicateur"].isin(gone)], tmp_path / "t.csv"),
                                       framework), framework).profile()
    assert np.isnan(p.pillars.at["ent_ressources_climat", "score"])
    assert p.index == pytest.approx(np.mean([pillars["ent_continuite"], pillars["ent_travail_ancrage"]]))


def test_several_firms_in_one_file(tmp_path, framework, capsys):
    other = "732829320"
    assert siren_is_valid(other)
    second = filled_rows(other)
    second["valeur"] = framework.framework.nodes.loc[second["indicateur"], "borne_basse"].to_numpy()
    rows = pd.concat([filled_rows(), second])
    path = write_csv(rows, tmp_path / "deux.csv")
    scores = score_firms(validate_firm_file(path, framework), framework)
    assert list(scores.firms) == [SIREN, other]
    with pytest.raises(ValidationError, match="2 entreprises"):
        scores.profile()
    assert scores.profile("123 456 782").code == SIREN
    with pytest.raises(ValidationError, match="absente du fichier"):
        scores.profile("999999999")
    assert main(["entreprise", path]) == 0
    out = capsys.readouterr().out
    assert "2 entreprises" in out and "--code" in out
    assert main(["entreprise", path, "--code", other]) == 0
    assert other in capsys.readouterr().out


# --------------------------------------------------------------------------- the template


def test_template_rows_and_committed_files(tmp_path, framework):
    fresh = write_firm_template(tmp_path / "m.csv")
    assert (GENERIC_DIRECTORY / f"{GENERIC_NAME}.csv").read_bytes() == fresh.read_bytes(), \
        "régénérez data/modele (voir data/modele/README.md)"
    with open(fresh, encoding="utf-8", newline="") as f:
        rows = list(csv.DictReader(f))
    assert list(rows[0]) == firm_template_columns()
    assert [r["indicateur"] for r in rows] == list(framework.indicators.index)
    assert {r["periode"] for r in rows} == {TEMPLATE_YEAR} and {r["entreprise"] for r in rows} == {""}
    fresh_xlsx = load_workbook(write_firm_template(tmp_path / "m.xlsx"))
    committed = load_workbook(GENERIC_DIRECTORY / f"{GENERIC_NAME}.xlsx")
    assert committed.sheetnames == fresh_xlsx.sheetnames == ["donnees", "instructions", "cadre"]
    for name in fresh_xlsx.sheetnames:
        cells = [[(c.value, c.number_format) for c in row] for row in fresh_xlsx[name].iter_rows()]
        assert [[(c.value, c.number_format) for c in row] for row in committed[name].iter_rows()] == cells, name
    with pytest.raises(ValueError, match="xlsx"):
        write_firm_template(tmp_path / "m.ods")
    with pytest.raises(ValidationError, match="clé de contrôle"):
        write_firm_template(tmp_path / "m.csv", "123456789")


def test_a_filled_xlsx_template_validates_and_scores(tmp_path, framework):
    path = write_firm_template(tmp_path / "m.xlsx", "123 456 782")
    wb = load_workbook(path)
    ws = wb["donnees"]
    header = [c.value for c in ws[1]]
    values = filled_rows().set_index("indicateur")["valeur"]
    for row in ws.iter_rows(min_row=2):
        assert row[0].value == SIREN and row[0].number_format == "@"
        row[header.index("valeur")].value = float(values[row[header.index("indicateur")].value])
    wb.save(path)
    data = validate_firm_file(path, framework)
    assert len(data.values) == 15 and not data.warnings
    assert score_firms(data, framework).profile().index == pytest.approx(50.0)


def test_template_command(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["modele", "--entreprise"]) == 0
    assert (tmp_path / "modele-entreprise.xlsx").exists()
    assert main(["modele", "--entreprise", SIREN, "--sortie", "sous/f.csv"]) == 0
    assert (tmp_path / "sous" / "f.csv").exists() and "observatoire entreprise" in capsys.readouterr().out
    assert main(["modele", "--entreprise", "12345"]) == 1
    assert "9 chiffres" in capsys.readouterr().err
    assert main(["modele", "--entreprise", "--sortie", "f.txt"]) == 1


# --------------------------------------------------------------------------- the worked case


def test_the_fictional_firm_is_registered_and_its_values_are_labelled_fiction(framework, capsys):
    registry = fictional_firms()
    assert list(registry.index) == [FICTIONAL]
    firm = registry.loc[FICTIONAL]
    assert "fictive" in firm["nom"] and "imaginaire" in firm["description"]
    territories = pd.read_csv(paths.DATA / "demo" / "territoires-fictifs.csv", dtype=str)["code"]
    assert firm["territoire"] in set(territories)
    assert set(firm["communs_critiques"].split(";")) <= set(framework.communs.index)
    demo = pd.read_csv(DEMO_PATH, dtype=str, keep_default_na=False)
    assert set(demo["entreprise"]) == {FICTIONAL}
    assert demo["source"].str.contains("fictives").all()
    with pytest.raises(ValidationError):
        validate_firm_file(DEMO_PATH, framework)  # fiction is refused outside demonstrations
    assert main(["entreprise", str(DEMO_PATH)]) == 0  # the shipped demonstration file is accepted
    out = capsys.readouterr().out
    profile = score_firms(validate_firm_file(DEMO_PATH, framework, demonstration=True), framework).profile()
    assert profile.name == firm["nom"] and "entreprise fictive" in out
    assert f"{profile.index:.1f}".replace(".", ",") in out
    assert profile.filled == len(framework.indicators)


def test_profile_figure_has_a_bar_per_indicator_and_a_line_per_pillar(framework):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from observatoire.report.figures import firm_profile

    profile = score_firms(validate_firm_file(DEMO_PATH, framework, demonstration=True), framework).profile()
    fig = firm_profile(profile.indicators, profile.pillars)
    ax = fig.axes[0]
    widths = [round(p.get_width(), 6) for p in ax.patches]
    assert widths == [round(s, 6) for s in profile.indicators["score"]]
    dashed = [line for line in ax.lines if line.get_linestyle() == "--"]
    assert [line.get_xdata()[0] for line in dashed] == pytest.approx(list(profile.pillars["score"]))
    assert ax.get_xlim() == (0, 105)
    plt.close(fig)
