"""Territory files as officers really send them (tests/donnees/envois/, issue #19): each file
with its expected outcome, through the validator and the command line; sparse files build their
chapter; a sample goes through ``make territoire`` end to end."""

from __future__ import annotations

import html
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from observatoire import cli
from observatoire.engine.validate import validate_file
from observatoire.errors import ValidationError

ROOT = Path(__file__).resolve().parents[1]
HERE = ROOT / "tests" / "donnees" / "envois"
EXPECTED = yaml.safe_load((HERE / "attendus.yml").read_text(encoding="utf-8"))
VALID = sorted(n for n, e in EXPECTED.items() if e["issue"] == "valide")
INVALID = sorted(n for n, e in EXPECTED.items() if e["issue"] == "invalide")
CODE = "01004"


def test_the_corpus_is_complete_and_described():
    files = {p.name for p in HERE.iterdir() if p.is_file() and p.suffix not in (".py", ".yml", ".md")}
    assert files == set(EXPECTED)
    assert len(EXPECTED) >= 25
    assert {"photo.csv", "capture.csv", "document.csv", "archive.csv", "page-web.csv", "classeur-renomme.csv",
            "texte-unicode-utf16.txt", "utf32.csv", "entete-seule.csv", "entete-vide.csv"} <= files


def _matches(problem, expected: dict) -> bool:
    return (problem.line == expected["ligne"] and problem.column == expected["colonne"]
            and expected["message"] in problem.message
            and ("valeur" not in expected or problem.value == expected["valeur"]))


@pytest.mark.parametrize("name", VALID)
def test_a_valid_file_gives_its_values_and_each_warning_once(name):
    expected = EXPECTED[name]
    data = validate_file(HERE / name)
    assert len(data.values) == expected["valeurs"]
    assert set(data.values["territoire"]) == {CODE}
    messages = [p.message for p in data.warnings]
    assert len(messages) == len(expected["avertissements"]), messages
    for wanted, message in zip(expected["avertissements"], messages):
        assert wanted in message
    assert all(p.severity == "avertissement" for p in data.warnings)


@pytest.mark.parametrize("name", INVALID)
def test_an_invalid_file_is_refused_with_every_expected_problem(name):
    expected = EXPECTED[name]
    with pytest.raises(ValidationError) as exc:
        validate_file(HERE / name)
    errors = [p for p in exc.value.problems if p.severity == "erreur"]
    assert len(errors) == len(expected["erreurs"]), str(exc.value)
    for wanted in expected["erreurs"]:
        assert any(_matches(p, wanted) for p in errors), f"{name}: {wanted} not in\n{exc.value}"
    warnings = [p.message for p in exc.value.problems if p.severity != "erreur"]
    assert len(warnings) == len(expected.get("avertissements", []))
    assert name in str(exc.value)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_valider_answers_in_french_without_a_traceback(name, capsys):
    expected = EXPECTED[name]
    status = cli.main(["valider", str(HERE / name)])  # an escaping exception would fail the test
    out, err = capsys.readouterr()
    assert "Traceback" not in out + err
    if expected["issue"] == "valide":
        assert status == 0 and "est valide" in out
        for wanted in expected["avertissements"]:
            assert (out + err).count(wanted) == 1  # each repair said once
    else:
        assert status == 1 and "Données invalides — rien n'a été modifié." in err
        for wanted in expected["erreurs"]:
            assert wanted["message"] in err


@pytest.mark.parametrize("name", INVALID)
def test_territoire_refuses_an_invalid_file_before_building_anything(name, capsys, tmp_path):
    status = cli.main(["territoire", str(HERE / name), "--sortie", str(tmp_path / "_build")])
    out, err = capsys.readouterr()
    assert status == 1 and "Traceback" not in out + err
    assert "Données invalides — rien n'a été modifié." in err
    assert not (tmp_path / "_build" / "territoires").exists() or not any((tmp_path / "_build" / "territoires").iterdir())


def test_the_command_line_process_prints_no_traceback_for_the_corpus():
    """One interpreter, as a person runs it: every file of the corpus through ``valider``."""
    script = ("import sys\nfrom observatoire import cli\n"
              "for path in sys.argv[1:]:\n"
              "    print('==', path, cli.main(['valider', path]), flush=True)\n")
    result = subprocess.run([sys.executable, "-c", script, *(str(HERE / n) for n in sorted(EXPECTED))],
                            capture_output=True, text=True, cwd=ROOT)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    statuses = dict(re.findall(r"== .*/([^/\n]+) (\d)\n", result.stdout))
    assert statuses == {n: "0" if EXPECTED[n]["issue"] == "valide" else "1" for n in EXPECTED}


# -- every valid file builds: the chapters of sparse files ------------------------------------

def execute_chapter(data: Path, output: Path) -> str:
    """Run the chapter template on ``data`` as a territory's book does; return its text outputs."""
    import nbformat
    import papermill

    papermill.execute_notebook(str(ROOT / "notebooks" / "territoire.ipynb"), str(output), kernel_name="python3",
                               parameters={"code": CODE, "donnees": str(data), "nature": "territoire"},
                               cwd=str(ROOT), progress_bar=False, log_output=False)
    nb = nbformat.read(output, as_version=4)
    parts = []
    for cell in nb.cells:
        for out in cell.get("outputs", []):
            for kind, value in out.get("data", {}).items():
                if kind.endswith(("text/plain", "text/markdown", "text/html")):
                    parts.append(value if isinstance(value, str) else "".join(value))
    return "\n".join(parts)


@pytest.mark.slow
@pytest.mark.parametrize("name", sorted(n for n, e in EXPECTED.items() if e.get("chapitre")))
def test_a_sparse_file_builds_a_chapter_that_says_what_is_missing(name, tmp_path):
    from observatoire.report.sheet import territory_sheet

    text = execute_chapter(HERE / name, tmp_path / "chapitre.ipynb")
    sheet = territory_sheet(CODE, HERE / name)
    if sheet.communs.notna().sum() < 2:
        assert "non calculé" in text  # the communs, axes or index that have no score say why
    if pd_isna(sheet.index):
        assert "L'indice global, moyenne des quatre axes, n'est pas calculé" in text
    for axis, words in sheet.axis_texts().items():
        assert repr(words) in text  # each axis: its score, or « non calculé : n … sur m »
    assert repr(sheet.monthly_sentence()) in text


def pd_isna(x) -> bool:
    import pandas as pd

    return bool(pd.isna(x))


# -- through make, end to end --------------------------------------------------------------

def make_territoire(data: Path, out: Path, cwd: Path) -> subprocess.CompletedProcess:
    """``make territoire DONNEES=…`` run from ``cwd`` (the Makefile itself, its quoting included),
    the installation stamp being up to date there (nothing to install)."""
    import os
    import time

    for name in ("pyproject.toml", "constraints.txt", "stamp"):
        (cwd / name).touch()
        stamp_time = time.time() - (0 if name == "stamp" else 60)
        os.utime(cwd / name, (stamp_time, stamp_time))
    return subprocess.run(["make", "-s", "-f", str(ROOT / "Makefile"), "territoire", "STAMP=stamp",
                           f"PY={sys.executable}", f"DONNEES={data}", f"SORTIE={out}"],
                          cwd=cwd, capture_output=True, text=True)


NAMES = ["Données de l'Agglo (copie 2).csv", '-essai "final" $HOME.csv', "point-virgule; echo piege.csv",
         "deux  espaces, accents éèà.csv"]


@pytest.mark.parametrize("name", NAMES)
def test_make_territoire_takes_any_file_name(name, tmp_path):
    """The name reaches the command whole: the header-only file is refused, naming the file
    (not a shell syntax error, not a missing-argument error)."""
    shutil.copy(HERE / "entete-seule.csv", tmp_path / name)
    result = make_territoire(Path(name), tmp_path / "_build", tmp_path)
    assert "le fichier ne contient que la ligne d'en-tête" in result.stderr, result.stderr
    assert name.strip() in result.stderr
    assert "syntax error" not in result.stderr and "Traceback" not in result.stderr
    assert result.returncode != 0
    assert not (tmp_path / "piege").exists()


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """Two files built with ``make territoire`` (one build at a time): the monthly-only file
    under a name with spaces, apostrophe and parentheses, and the XLSX renamed .csv (every
    repair) under a name beginning with a dash."""
    tmp = tmp_path_factory.mktemp("envois")
    runs = {}
    for source, name in (("mensuel-seulement.csv", "Données de l'Agglo (copie 2).csv"),
                         ("classeur-renomme.csv", "-l'essai (2).csv")):
        shutil.copy(HERE / source, tmp / name)
        out = tmp / f"_build-{source}"
        runs[source] = (make_territoire(Path(name), out, tmp), out / "territoires" / f"amberieu-en-bugey-{CODE}" / "html")
    return runs


def page_text(path: Path) -> str:
    page = path.read_text(encoding="utf-8")
    main = page[page.index("<main"):page.index("</main>")]
    main = re.sub(r"<(style|svg|script).*?</\1>", " ", main, flags=re.S)
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", main))).replace("\u2019", "'")


@pytest.mark.slow
def test_make_builds_the_book_of_a_monthly_only_file(built):
    result, site = built["mensuel-seulement.csv"]
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    assert "Livre d'Ambérieu-en-Bugey prêt" in result.stdout
    chapter = page_text(site / "book" / "territoires" / f"territoire-amberieu-en-bugey-{CODE}.html")
    # Sparse: no score below the coverage threshold, and the chapter says what is missing.
    assert "L'indice global, moyenne des quatre axes, n'est pas calculé" in chapter
    assert "Aucun commun n'a de score dans ces données" in chapter
    from observatoire.engine.catalogue import load_catalogue

    size = int((load_catalogue().indicators["axe"] == 1).sum())
    assert f"communs et besoins vitaux ( non calculé : aucun indicateur renseigné sur {size} )" in chapter
    # The caption says what the file holds: 12 months, not « 24 derniers mois ».
    assert "couvrent 12 mois des données, de janvier 2025 à décembre 2025, pour 3 indicateurs" in chapter
    assert "24 derniers mois" not in chapter
    # A price in €/L with its three decimals; a comment on March, not the latest month.
    assert "1,705 €/L" in chapter.replace("\u00a0", " ")
    assert "2025-03 1,696 €/L Relevé interrompu par la grève des stations" in chapter.replace("\u00a0", " ")
    home = page_text(site / "book" / "territoires" / f"livre-amberieu-en-bugey-{CODE}.html")
    assert "Les valeurs d'Ambérieu-en-Bugey sont celles de son fichier" in home
    assert "Le chapitre d'Ambérieu-en-Bugey" in home
    assert "« Données de l'Agglo (copie 2).csv »" in home


@pytest.mark.slow
def test_make_reports_every_repair_once_and_the_book_records_them(built):
    result, site = built["classeur-renomme.csv"]
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr
    for wanted in EXPECTED["classeur-renomme.csv"]["avertissements"]:
        wanted = wanted.replace("classeur-renomme.csv", "-l'essai (2).csv")  # the name it was built under
        assert result.stdout.count(wanted) == 1, wanted
    chapter = page_text(site / "book" / "territoires" / f"territoire-amberieu-en-bugey-{CODE}.html")
    home = page_text(site / "book" / "territoires" / f"livre-amberieu-en-bugey-{CODE}.html")
    for page in (chapter, home):
        assert "3 codes complétés d'un zéro initial (perdu par un tableur) : lignes 3–5" in page
        assert "feuille « Saisie 2025 » lue" in page
    assert "prix affiché à la pompe" in chapter  # the comment of February, not the latest month


@pytest.mark.slow
def test_the_indicator_table_needs_no_sideways_scrolling_in_the_built_chapter(built):
    _, site = built["mensuel-seulement.csv"]
    from test_chapter_details import overflowing_tables

    page = site / "book" / "territoires" / f"territoire-amberieu-en-bugey-{CODE}.html"
    assert overflowing_tables(page.as_uri()) == []
