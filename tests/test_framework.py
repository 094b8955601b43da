"""A framework is data: any depth, any units, checked with French messages (never a raw exception)."""

import pandas as pd
import pytest

from observatoire.engine import read_framework
from observatoire.engine.catalogue import catalogue_framework, load_catalogue
from observatoire.errors import ValidationError

FIRMS = pd.DataFrame([
    # A five-level framework of firms: indicators → pillars → dimensions → domains → index.
    {"code": "co2", "parent": "climat", "direction": -1, "poids": 2},
    {"code": "eau", "parent": "climat", "direction": -1},
    {"code": "dechets", "parent": "ressources", "direction": -1},
    {"code": "parite", "parent": "social", "direction": 1},
    {"code": "climat", "parent": "environnement", "direction": ""},
    {"code": "ressources", "parent": "environnement", "direction": ""},
    {"code": "social", "parent": "humain", "direction": ""},
    {"code": "environnement", "parent": "durabilite", "direction": ""},
    {"code": "humain", "parent": "durabilite", "direction": ""},
    {"code": "durabilite", "parent": "indice", "direction": ""},
    {"code": "indice", "parent": "", "direction": ""},
])


def messages(table) -> list[str]:
    with pytest.raises(ValidationError) as exc:
        read_framework(table)
    return [f"{p.line}|{p.column}|{p.message}" for p in exc.value.problems]


def test_any_depth_is_read_and_levels_computed():
    fw = read_framework(FIRMS)
    assert fw.levels == [1, 2, 3, 4, 5]
    assert list(fw.indicators) == ["co2", "eau", "dechets", "parite"]
    assert fw.weights["co2"] == 2.0 and fw.weights["eau"] == 1.0
    assert fw.lineage().loc["co2"].tolist() == ["co2", "climat", "environnement", "durabilite", "indice"]


def test_missing_required_column_is_a_french_message():
    problems = messages(FIRMS.drop(columns=["direction"]))
    assert problems == ["None|direction|colonne manquante (colonnes obligatoires : code, parent, direction)"]


def test_every_structural_problem_at_once():
    bad = FIRMS.copy()
    bad.loc[len(bad)] = {"code": "co2", "parent": "climat", "direction": 1}  # duplicate
    bad.loc[len(bad)] = {"code": "bruit", "parent": "sante", "direction": 1}  # orphan
    bad.loc[1, "poids"] = 0  # weight ≤ 0
    bad.loc[2, "direction"] = 2  # direction
    text = "\n".join(messages(bad))
    assert "13|code|code en double (déjà à la ligne 2)" in text
    assert "14|parent|parent inconnu" in text


def test_weight_and_direction_are_checked():
    bad = FIRMS.copy()
    bad["poids"] = bad["poids"].astype(object)
    bad.loc[1, "poids"] = 0
    bad.loc[2, "direction"] = 2
    bad.loc[3, "poids"] = "lourd"
    text = "\n".join(messages(bad))
    assert "3|poids|poids strictement positif attendu" in text
    assert "4|direction|1 (plus = mieux) ou -1 (moins = mieux) attendu pour un indicateur" in text
    assert "5|poids|nombre attendu" in text


def test_a_cycle_is_named():
    cyclic = pd.DataFrame([{"code": "a", "parent": "b", "direction": 1}, {"code": "b", "parent": "c", "direction": ""},
                           {"code": "c", "parent": "b", "direction": ""}, {"code": "r", "parent": "", "direction": ""}])
    assert any("cycle dans l'arbre : b → c → b" in m for m in messages(cyclic))


def test_levels_given_must_match_the_tree():
    table = FIRMS.assign(niveau=[1, 1, 1, 1, 2, 2, 2, 3, 3, 4, 4])
    assert messages(table) == ["12|niveau|niveau 5 attendu (ses enfants sont au niveau 4)"]
    uneven = pd.concat([FIRMS, pd.DataFrame([{"code": "brut", "parent": "durabilite", "direction": 1}])])
    assert any("enfants à des niveaux différents" in m for m in messages(uneven))


def test_methods_and_goalposts_overrides_are_checked():
    table = FIRMS.assign(normalisation="", agregation="", borne_basse="", borne_haute="")
    table.loc[0, "normalisation"] = "rang"  # French label accepted
    table.loc[4, "agregation"] = "geometrique"
    fw = read_framework(table)
    assert fw.nodes.loc["co2", "normalisation"] == "rank" and fw.nodes.loc["climat", "agregation"] == "geometric"
    table.loc[1, "normalisation"] = "magique"
    table.loc[2, "borne_basse"] = "10"
    table.loc[5, "normalisation"] = "minmax"
    text = "\n".join(messages(table))
    assert "3|normalisation|méthode inconnue" in text
    assert "les deux bornes sont attendues ensemble" in text
    assert "7|normalisation|une méthode de normalisation ne s'applique qu'à un indicateur" in text


def test_a_csv_framework_reports_its_file_and_lines(tmp_path):
    path = tmp_path / "cadre.csv"
    path.write_text("code;parent;direction\nx;indice;1\ny;inconnu;1\nindice;;\n", encoding="utf-8")
    with pytest.raises(ValidationError) as exc:
        read_framework(path)
    [problem] = exc.value.problems
    assert problem.file.endswith("cadre.csv") and problem.line == 3 and problem.value == "inconnu"


def test_the_observatoire_catalogue_is_one_such_framework():
    cat = load_catalogue()
    fw = catalogue_framework(cat)
    assert fw.levels == [1, 2, 3, 4] and list(fw.roots) == ["indice"]
    assert list(fw.indicators) == list(cat.indicators.index)
    assert list(fw.codes_at(3)) == [str(a) for a in cat.axes.index]
    counts = cat.indicators.index[cat.indicators["agregation"] == "compte"]
    assert (fw.nodes.loc[counts, "denominateur"] == "population").all()
    # The same table written as CSV reads back to the same framework.
    again = read_framework(fw.to_table())
    pd.testing.assert_frame_equal(again.nodes, fw.nodes)


def test_children_in_table_order_and_weights_replaced_at_once():
    fw = catalogue_framework(load_catalogue())
    for code in [*fw.nodes.index, "", "inconnu"]:
        expected = fw.nodes.index[fw.nodes["parent"] == code]
        assert fw.children(code).equals(expected)
        assert fw.nodes.index[fw.child_positions(code)].tolist() == expected.tolist()
    first, second = fw.indicators[:2]
    heavier = fw.with_weights({first: 3, second: 0.5})
    assert heavier.weights[first] == 3.0 and heavier.weights[second] == 0.5
    assert heavier.weights.drop([first, second]).equals(fw.weights.drop([first, second]))
    assert heavier.nodes["poids"].dtype == fw.nodes["poids"].dtype
    assert fw.weights[first] != 3.0  # the original is unchanged
