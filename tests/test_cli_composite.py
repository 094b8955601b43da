"""`observatoire composite`: the public API from the command line, on a framework of fictional firms."""

import json

import pandas as pd

from observatoire.cli import main

FRAMEWORK = """code,libelle,parent,direction,poids
co2,Émissions de CO2,climat,-1,2
eau,Consommation d'eau,climat,-1,
parite,Part de femmes cadres,social,1,
climat,Climat,indice,,
social,Social,indice,,
indice,Indice d'entreprise durable,,,
"""
DATA = """entreprise;co2;eau;parite;secteur
FIRME-A;120;3,0;0,3;industrie
FIRME-B;80;2,5;0,5;industrie
FIRME-C;40;;0,45;services
FIRME-D;200;4,0;0,2;services
"""


def write(tmp_path):
    (tmp_path / "cadre.csv").write_text(FRAMEWORK, encoding="utf-8")
    (tmp_path / "donnees.csv").write_text(DATA, encoding="utf-8")
    return str(tmp_path / "cadre.csv"), str(tmp_path / "donnees.csv")


def test_composite_writes_results_framework_and_log(tmp_path, capsys):
    cadre, donnees = write(tmp_path)
    out = tmp_path / "sortie"
    code = main(["composite", cadre, donnees, "--sortie", str(out), "--normalisation", "minmax",
                 "--imputation", "mediane-groupe", "--groupes", "secteur", "--couverture-par", "nombre"])
    assert code == 0
    printed = capsys.readouterr().out
    assert "4 unités, 3 indicateurs, 3 niveaux" in printed and "FIRME-C" in printed
    results = pd.read_csv(out / "resultats.csv")
    assert set(results["code"]) == {"co2", "eau", "parite", "climat", "social", "indice"}
    assert results.loc[(results["unite"] == "FIRME-C") & (results["code"] == "eau"), "drapeau"].item() == "impute"
    journal = json.loads((out / "datapackage.json").read_text(encoding="utf-8"))["observatoire:journal"]
    assert [e["etape"] for e in journal] == ["imputation", "normalisation", "agregation"]
    assert journal[2]["parametres"]["base_couverture"] == "count"


def test_composite_bad_framework_is_reported_in_french(tmp_path, capsys):
    cadre, donnees = write(tmp_path)
    (tmp_path / "cadre.csv").write_text(FRAMEWORK.replace("climat,Climat,indice", "climat,Climat,inconnu"),
                                        encoding="utf-8")
    assert main(["composite", cadre, donnees, "--sortie", str(tmp_path / "s"), "--normalisation", "minmax"]) == 1
    err = capsys.readouterr().err
    assert "parent inconnu" in err and "Traceback" not in err


def test_composite_without_goalposts_asks_for_them(tmp_path, capsys):
    cadre, donnees = write(tmp_path)
    assert main(["composite", cadre, donnees, "--sortie", str(tmp_path / "s")]) == 1
    assert "bornes requises" in capsys.readouterr().err
