"""The command line: French help, exit codes, and bad input that leaves the previous book intact."""

import hashlib
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def run(*args, cwd=ROOT):
    return subprocess.run([sys.executable, "-m", "observatoire", *args], cwd=cwd, capture_output=True, text=True)


def test_help_is_in_french():
    r = run("--help")
    assert r.returncode == 0
    assert "construire le livre HTML" in r.stdout and "valider un fichier de données" in r.stdout


def test_valider_accepts_the_pilot_file():
    from observatoire.paths import DEFAULT_DATA

    r = run("valider", str(DEFAULT_DATA.relative_to(ROOT)))
    assert r.returncode == 0 and "est valide" in r.stdout and " territoires" in r.stdout


def test_valider_lists_every_problem_and_fails():
    r = run("valider", "tests/donnees/invalides/erreurs-multiples.csv")
    assert r.returncode == 1
    assert "4 erreurs trouvées" in r.stderr and "ligne 2" in r.stderr and "ligne 5" in r.stderr


def test_fiche_of_an_unknown_territory():
    r = run("fiche", "33999")
    assert r.returncode == 1 and "territoire inconnu" in r.stderr and "33999" in r.stderr


@pytest.fixture
def previous_build(tmp_path):
    """A fake previous build whose bytes must survive a failed build."""
    html = tmp_path / "_build" / "html"
    html.mkdir(parents=True)
    (html / "index.html").write_text("<p>livre précédent</p>", encoding="utf-8")
    return tmp_path / "_build"


def digest(folder: Path) -> str:
    h = hashlib.sha256()
    for p in sorted(folder.rglob("*")):
        h.update(str(p.relative_to(folder)).encode())
        if p.is_file():
            h.update(p.read_bytes())
    return h.hexdigest()


@pytest.mark.parametrize("case,message", [
    ("absent.csv", "fichier introuvable"),
    ("tests/donnees/invalides/territoire-inconnu.csv", "territoire inconnu"),
    ("tests/donnees/invalides/erreurs-multiples.csv", "4 erreurs trouvées"),
])
def test_bad_input_fails_in_french_and_keeps_the_previous_book(previous_build, case, message):
    before = digest(previous_build)
    chapters_before = {p.name: p.stat().st_mtime_ns for p in (ROOT / "book" / "territoires").glob("*.ipynb")}
    r = run("livre", "--donnees", case, "--sortie", str(previous_build))
    assert r.returncode == 1
    assert message in r.stderr and "rien n'a été modifié" in r.stderr
    assert case.split("/")[-1] in r.stderr
    assert digest(previous_build) == before
    after = {p.name: p.stat().st_mtime_ns for p in (ROOT / "book" / "territoires").glob("*.ipynb")}
    assert after == chapters_before  # no chapter executed, none overwritten


def test_a_pilot_missing_from_the_data_file_is_named(previous_build, tmp_path):
    import pandas as pd

    from observatoire.paths import DEFAULT_DATA

    rows = pd.read_csv(DEFAULT_DATA, dtype=str, keep_default_na=False)  # excerpts span several lines
    data = tmp_path / "sans-mureaux.csv"
    rows[rows["territoire"] != "78440"].to_csv(data, index=False)
    before = digest(previous_build)
    r = run("livre", "--donnees", str(data), "--sortie", str(previous_build))
    assert r.returncode == 1 and "Les Mureaux" in r.stderr and "78440" in r.stderr
    assert digest(previous_build) == before


FULL = ("94038", "--donnees", "tests/donnees/territoire/lhay-les-roses.csv")  # every indicator filled


def test_modelling_choices_from_the_command_line(tmp_path):
    ref = run("fiche", *FULL)
    geo = run("fiche", *FULL, "--agregation", "geometric")
    assert ref.returncode == geo.returncode == 0
    index = lambda out: out.splitlines()[1]
    assert index(ref.stdout) != index(geo.stdout)
    weights = tmp_path / "poids.yml"
    weights.write_text("axes:\n  1: 2\n", encoding="utf-8")
    assert index(run("fiche", *FULL, "--poids", str(weights)).stdout) != index(ref.stdout)


def test_bad_weights_file_is_a_french_error(tmp_path):
    weights = tmp_path / "poids.yml"
    weights.write_text("axes:\n  9: 2\n", encoding="utf-8")
    r = run("fiche", "78440", "--poids", str(weights))
    assert r.returncode == 1 and "élément inconnu du catalogue" in r.stderr and "poids.yml" in r.stderr


def test_rank_with_a_geometric_mean_scores_without_annihilating(tmp_path):
    """Ranks need several territories: the full test file and a second commune whose values are
    nine tenths of the first's (test inputs, not observations)."""
    import pandas as pd

    rows = pd.read_csv(ROOT / FULL[2], dtype=str, keep_default_na=False)
    other = rows.assign(territoire="94080", valeur=(rows["valeur"].astype(float) * 0.9).round(3).astype(str))
    data = tmp_path / "deux-communes.csv"
    pd.concat([rows, other]).to_csv(data, index=False)
    r = run("fiche", "94038", "--donnees", str(data), "--normalisation", "rank", "--agregation", "geometric")
    assert r.returncode == 0, r.stderr
    index = float(re.search(r"Indice global : ([\d,]+)", r.stdout).group(1).replace(",", "."))
    assert index > 0


def test_help_and_usage_errors_are_in_french(capsys):
    from observatoire import cli

    for argv in (["--help"], ["territoire", "--help"], ["national", "--help"]):
        with pytest.raises(SystemExit) as exit_:
            cli.main(argv)
        assert exit_.value.code == 0
        out = capsys.readouterr().out
        assert "afficher cette aide et quitter" in out and "utilisation :" in out
        assert "show this help" not in out and "usage:" not in out
    with pytest.raises(SystemExit) as exit_:
        cli.main(["fiche", "33063", "--agregation", "moyenne"])
    assert exit_.value.code == 2
    err = capsys.readouterr().err
    assert "choix invalide" in err and "choix possibles" in err and "invalid choice" not in err


def test_a_file_name_beginning_with_a_dash_is_a_file(tmp_path):
    (tmp_path / "-données.csv").write_text("territoire,indicateur,periode,valeur\n01004,eau_rendement_reseau,2024,80\n",
                                           encoding="utf-8")
    r = run("valider", "-données.csv", cwd=tmp_path)
    assert r.returncode == 0 and "-données.csv est valide : 1 valeur, 1 territoire, 1 indicateur." in r.stdout
    r = run("valider", "-absent.csv", cwd=tmp_path)
    assert r.returncode == 2 and "s'écrit après « -- »" in r.stderr


def test_valider_says_each_repair_once_and_fails_on_a_header_only_file(tmp_path):
    lines = ["territoire;indicateur;periode;valeur"] + [f"1004;eau_rendement_reseau;{y};80" for y in range(2002, 2026)]
    (tmp_path / "zeros.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    r = run("valider", str(tmp_path / "zeros.csv"))
    assert r.returncode == 0
    assert r.stdout.count("complété") == 1 and "24 codes complétés d'un zéro initial" in r.stdout
    assert "lignes 2–25" in r.stdout
    (tmp_path / "entete.csv").write_text(lines[0] + "\n", encoding="utf-8")
    r = run("valider", str(tmp_path / "entete.csv"))
    assert r.returncode == 1 and "ne contient que la ligne d'en-tête" in r.stderr and "Traceback" not in r.stderr


def test_fiche_says_why_a_score_is_missing():
    """A pilot's public statistics cover a few indicators: the sheet says, per axis and commun,
    how many are filled, and what to do — never a bare « n.d. »."""
    r = run("fiche", "78440")
    assert r.returncode == 0, r.stderr
    assert "Indice global : non calculé (0 axe sur 4 avec un score)" in r.stdout
    assert "Commun « Eau » : non calculé : aucun indicateur renseigné sur " in r.stdout
    assert "n.d." not in r.stdout
    assert "--couverture-min" in r.stdout and "observatoire modele 78440" in r.stdout


def test_fiche_of_a_fictional_territory_reads_the_demonstration_file():
    from observatoire.paths import DEMO_DATA

    demo = str(DEMO_DATA.relative_to(ROOT))
    r = run("fiche", "FICTIF-BRUMEVAL", "--donnees", demo)
    assert r.returncode == 0, r.stderr
    assert "Communauté d'agglomération fictive de Brumeval (FICTIF-BRUMEVAL)" in r.stdout
    assert re.search(r"Indice global : \d+,\d / 100", r.stdout) and "valeurs inventées" in r.stdout
    geo = run("fiche", "FICTIF-BRUMEVAL", "--donnees", demo, "--agregation", "geometrique")
    assert geo.stdout.splitlines()[1] != r.stdout.splitlines()[1]
    v = run("valider", demo)
    assert v.returncode == 0 and "Fichier de démonstration" in v.stdout


def test_fictional_codes_stay_refused_in_any_other_file(tmp_path):
    from observatoire.paths import DEMO_DATA

    copy = tmp_path / "copie.csv"
    copy.write_bytes(DEMO_DATA.read_bytes())
    r = run("fiche", "FICTIF-BRUMEVAL", "--donnees", str(copy))
    assert r.returncode == 1 and "réservé aux démonstrations" in r.stderr and "Traceback" not in r.stderr
