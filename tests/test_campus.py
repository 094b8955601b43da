"""The Campus engine: exercises' computations, quiz data, notebooks, serving options."""

import json
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from observatoire.campus import EXERCISES, NOTEBOOKS, book_url, quiz, serve
from observatoire.campus import shock
from observatoire.campus import diagnosis
from observatoire.campus import composite

ROOT = Path(__file__).resolve().parents[1]


def book_labels() -> dict[str, set[str]]:
    """Page (book/…) → MyST labels it defines."""
    out = {}
    for path in (ROOT / "book").rglob("*.md"):
        page = path.relative_to(ROOT).with_suffix("").as_posix()
        out[page] = set(re.findall(r"^\(([\w-]+)\)=\s*$", path.read_text(encoding="utf-8"), re.M))
    return out


def assert_book_link(url: str, labels: dict[str, set[str]]) -> None:
    m = re.fullmatch(r"/livre/(book/[\w/-]+)\.html(?:#([\w-]+))?", url)
    assert m, f"lien inattendu : {url}"
    page, anchor = m.groups()
    assert page in labels or page == "book/territoires/index", f"page inconnue : {url}"
    if anchor:
        assert anchor in labels.get(page, set()), f"ancre inconnue : {url}"


# -- exercise 1 ------------------------------------------------------------------------

def test_index_with_the_books_choices_matches_the_pipeline():
    result = composite.experiment(n_draws=50)
    assert result.error is None
    assert (result.table["rang"] == result.table["rang_livre"]).all()
    reference = composite.reference_index()
    pd.testing.assert_series_equal(result.table["indice"], reference.reindex(result.table.index),
                                   check_names=False)
    assert (result.table["q05"] <= result.table["q95"]).all()
    assert any("le même" in m for _, m in result.messages)


def test_index_feedback_follows_the_choices():
    moved = composite.experiment(["eau", "sante"], composite.choices_of("rank", "generalised", 0.3, {1: 3, 2: 0}),
                              n_draws=50)
    kinds = dict((m[:30], k) for k, m in moved.messages)
    assert "attention" in kinds.values() and any("classement a changé" in m for _, m in moved.messages)
    assert any("2 commun(s) sur 12" in m for _, m in moved.messages)
    geometric = composite.experiment(choices=composite.choices_of("minmax", "geometric"), n_draws=10)
    assert geometric.error is None and geometric.table is not None
    assert composite.experiment([], n_draws=10).error
    assert "poids nul" in composite.experiment(choices=composite.choices_of(axis_weights={1: 0, 2: 0, 3: 0, 4: 0})).error


# -- exercise 2 ------------------------------------------------------------------------

@pytest.fixture(scope="module")
def baseline():
    return shock.pilot_baselines().loc["78440"].dropna()


def test_every_shock_names_known_communs_and_three_levers():
    communs = set(shock.commun_labels())
    assert set(shock.shocks()) == {"inondation", "canicule", "pandemie", "cyberattaque", "rupture_approvisionnement"}
    for s in shock.shocks().values():
        assert set(s.impacts) <= communs and s.impacts


def test_shock_model_capacities_act_at_their_time_scale(baseline):
    c = shock.Capacities(0.3, 0.3, 0.1)
    o = shock.simulate(baseline, "inondation", 0.6, 2, c)
    assert o.max_loss > 0 and o.balance["1 mois"] < 0
    # Each capacity is the best lever at its own time scale.
    assert o.levers["1 mois"].idxmax() == "absorption"
    assert o.levers["3 ans"].idxmax() in ("adaptation", "absorption")
    assert o.levers["20 ans"].idxmax() == "transformation"
    assert shock.simulate(baseline, "inondation", 0.6, 2, shock.Capacities(0.9, 0.3, 0.1)).max_loss < o.max_loss
    forward = shock.simulate(baseline, "inondation", 0.6, 2, shock.Capacities(0.3, 0.8, 1.0))
    assert forward.balance["20 ans"] > 1 and any("Rebond en avant" in m for _, m in forward.messages)
    assert any("Cicatrice" in m for _, m in o.messages)
    nothing = shock.simulate(baseline, "canicule", 0.0, 2, c)
    assert nothing.max_loss == pytest.approx(0, abs=1e-9)
    assert ((o.levels >= 0) & (o.levels <= 100)).all().all()


def test_shock_longer_is_worse(baseline):
    c = shock.Capacities(0.3, 0.3, 0.1)
    short, long = (shock.simulate(baseline, "pandemie", 0.7, d, c) for d in (1, 18))
    assert long.max_loss > short.max_loss


# -- exercise 3 ------------------------------------------------------------------------

def test_search_by_name_and_code():
    assert diagnosis.search("brest")[0][1] == "29019"
    assert diagnosis.search("DEP-29")[0][1] == "DEP-29"
    assert diagnosis.search("200046977")[0][1] == "200046977"
    assert diagnosis.search("zzzzzz") == []


def test_demo_profile_of_each_level():
    ref = diagnosis.load_reference()
    assert diagnosis.demo_profile(ref.territory("33063")) == "metropole"
    assert diagnosis.demo_profile(ref.territory("REG-94")) == "insulaire"
    assert diagnosis.demo_profile(ref.territory("200043776")) == "rural"
    assert diagnosis.demo_profile(ref.territory("DEP-974")) == "insulaire"


def test_diagnosis_adjustment_moves_only_its_commun():
    before = diagnosis.diagnose("29019")
    after = diagnosis.diagnose("29019", {"eau_rendement_reseau": 95.0})
    diff = (after.communs - before.communs).abs()
    assert diff["eau"] > 0 and diff.drop("eau").max() == 0
    assert any("Eau +" in m for _, m in after.messages)
    assert before.percentiles.between(0, 100).all()
    assert set(diagnosis.ADJUSTABLE) <= set(before.values["indicateur"])


# -- exercise 4 ------------------------------------------------------------------------

def test_quiz_questions_are_sound_and_link_to_the_book():
    qs = quiz.questions()
    assert len(qs) >= 8 and len({q.id for q in qs}) == len(qs)
    labels = book_labels()
    for q in qs:
        assert len(q.choices) >= 2 and q.explanation
        assert_book_link(q.url, labels)
    topics = " ".join(q.question for q in qs)
    for word in ("résilience", "capacité", "axes", "commun"):
        assert word in topics


def test_quiz_feedback():
    q = quiz.questions()[0]
    assert quiz.check(q, q.answer)[0] == "succes"
    kind, text = quiz.check(q, (q.answer + 1) % len(q.choices))
    assert kind == "erreur" and q.choices[q.answer].replace("'", "&#x27;") in text
    assert quiz.check(q, None)[0] == "attention"
    assert quiz.summary(10, 10, 10)[0] == "succes" and quiz.summary(2, 10, 10)[0] == "attention"


def test_book_url_can_point_to_the_published_book(monkeypatch):
    assert book_url("book/resilience", "x") == "/livre/book/resilience.html#x"
    monkeypatch.setenv("OBSERVATOIRE_LIVRE_URL", "https://exemple.fr/livre")
    assert book_url("book/resilience") == "https://exemple.fr/livre/book/resilience.html"


# -- the apps build (what the notebooks and the book's preview display) -----------------------

def test_apps_build_with_feedback_and_figures():
    a = composite.IndexApp(n_draws=20)
    first = a.feedback.value
    assert "campus-retour" in first and a.figure.outputs[0]["data"]["image/png"]
    a.normalisation.value = "rank"
    assert a.feedback.value != first
    q = quiz.QuizApp()
    q0, radio, result = q.items[0]
    radio.value = q0.answer
    q.verify(q0, radio, result)
    assert "Bonne réponse" in result.value and "1 / " in q.score.value


# -- notebooks -------------------------------------------------------------------------

@pytest.mark.parametrize("exercise", EXERCISES, ids=[e.slug for e in EXERCISES])
def test_notebooks_are_thin_and_complete(exercise):
    nb = json.loads(exercise.path.read_text(encoding="utf-8"))
    markdown = "\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown")
    code = ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code"]
    for heading in ("**Objectif", "## Consignes", "## Bilan"):
        assert heading in markdown, heading
    if exercise.slug != "quiz":
        assert "Données de démonstration" in markdown
    assert len(code) == 1 and len(code[0].splitlines()) <= 3, "a Campus notebook calls the engine, nothing more"
    assert code[0].startswith(f"from observatoire.campus import {exercise.module}")
    links = re.findall(r"\]\(([^)]+)\)", markdown)
    assert links
    labels = book_labels()
    for url in links:
        assert_book_link(url, labels)
    assert nb["metadata"]["kernelspec"]["name"] == "python3"


def test_every_campus_notebook_is_an_exercise():
    assert sorted(p.name for p in NOTEBOOKS.glob("*.ipynb")) == sorted(e.notebook for e in EXERCISES)


# -- serving ---------------------------------------------------------------------------

def test_voila_options():
    argv = serve.voila_argv(8899)
    for option in ("--VoilaConfiguration.strip_sources=True", "--VoilaConfiguration.show_tracebacks=False",
                   "--Voila.ip=127.0.0.1", "--VoilaConfiguration.preheat_kernel=True", "--template=campus",
                   "--port=8899", "--MappingKernelManager.cull_connected=True"):
        assert option in argv
    assert any(a.startswith("--VoilaExecutor.timeout=") for a in argv)
    assert any(a.startswith("--MappingKernelManager.cull_idle_timeout=") for a in argv)
    assert "--VoilaConfiguration.default_pool_size=0" in serve.voila_argv(8899, preheat=False)


def test_campus_template_has_no_cdn():
    folder = serve.TEMPLATES_ROOT / "voila" / "templates" / "campus"
    for path in folder.iterdir():
        assert "cdn." not in path.read_text(encoding="utf-8").replace("jsDelivr CDN", "")


def test_cli_help_is_french():
    out = subprocess.run([sys.executable, "-m", "observatoire", "campus", "--help"], capture_output=True,
                         text=True, check=True).stdout
    assert "port d'écoute" in out and "Ctrl-C pour arrêter" in out and "préparer" in out
