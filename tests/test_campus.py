"""The Campus engine: exercises' computations, quiz data, notebooks, serving pieces."""

import base64
import json
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from observatoire import text
from observatoire.campus import EXERCISES, NOTEBOOKS, book_url, composite, diagnosis, fiction, quiz, serve, shock, ui

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


def plain(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", "", html)).replace("\u00a0", " ").replace("&#x27;", "'")


# -- French plurals (observatoire.text) ---------------------------------------------------------

def test_french_plurals_and_signs():
    assert text.plural(1.2, "point", decimals=1) == "1,2\u00a0point"
    assert text.plural(2, "point") == "2\u00a0points"
    assert text.plural(0, "question") == "0\u00a0question"
    assert text.plural(12, "exercice ouvert", "exercices ouverts") == "12\u00a0exercices ouverts"
    assert text.fr_signed(-1234.5) == "−1\u202f234,5" and text.fr_signed(3.26) == "+3,3" and text.fr_signed(0.01) == "0,0"


# -- honest data: fictional territories only ------------------------------------------------------

def test_exercises_run_on_fictional_territories_only():
    data = fiction.fictional_data()
    assert data.values["territoire"].str.startswith("FICTIF-").all()
    assert len(data.peers) == 60 and all(re.fullmatch(r"FICTIF-P\d+", c) for c in data.peers)
    assert set(fiction.EXERCISE_TERRITORIES) <= set(data.values["territoire"])
    assert set(composite.exercise_data().values["territoire"]) == set(fiction.EXERCISE_TERRITORIES)
    assert set(shock.baselines().index) == set(fiction.EXERCISE_TERRITORIES)
    assert set(diagnosis.peer_scores().index) == set(data.peers)
    # No real territory's name in what the two fictional exercises show.
    from observatoire.report.pilots import pilots

    shown = composite.IndexApp(preview=True).widget, shock.ShockApp(preview=True).widget
    states = json.dumps([w.get_state() for app in shown for w in _descendants(app)], ensure_ascii=False)
    for pilot in pilots():
        assert pilot.titre not in states and f'"{pilot.code}"' not in states
    assert "fictif" in states


def _descendants(widget):
    yield widget
    for child in getattr(widget, "children", ()):
        yield from _descendants(child)


# -- exercise 1 ------------------------------------------------------------------------

def test_index_with_the_books_choices_matches_the_pipeline():
    result = composite.experiment()
    assert result.error is None
    assert (result.table["rang"] == result.table["rang_livre"]).all()
    reference = composite.score(composite.exercise_data(), tuple(composite.exercise_data().catalogue.communs.index),
                                composite.Choices()).index
    pd.testing.assert_series_equal(result.table["indice"], reference.reindex(result.table.index), check_names=False)
    assert any("le même" in m for _, m in result.messages)


@pytest.mark.parametrize("normalisation,aggregation,power", [("rank", "generalised", 0.25), ("minmax", "geometric", 0.5),
                                                             ("zscore", "arithmetic", 0.5),
                                                             ("distance_to_target", "generalised", -0.75)])
def test_index_any_choice_matches_the_pipeline_and_its_band_follows_the_method(normalisation, aggregation, power):
    choices = composite.choices_of(normalisation, aggregation, power, {1: 2, 3: 0.5})
    result = composite.experiment(None, choices)
    data = composite.exercise_data()
    expected = composite.score(data, tuple(data.catalogue.communs.index), choices).index.reindex(result.table.index)
    np.testing.assert_allclose(result.table["indice"].to_numpy(), expected.to_numpy())
    t = result.table
    # The band is drawn around the learner's own method: their score lies inside it…
    assert ((t["q05"] <= t["indice"] + 1e-9) & (t["indice"] <= t["q95"] + 1e-9)).all()
    # …and it moves when the method moves (it did not, before: only weights moved it).
    book = composite.experiment().table
    assert not np.allclose(book[["q05", "q95"]].to_numpy(), t[["q05", "q95"]].to_numpy())


def test_power_slider_range_is_continuous_from_arithmetic_to_harmonic():
    from observatoire.engine.aggregate import aggregate_rows

    x, w = [[0, 50, 80, 90]], [1, 1, 1, 1]
    orders = np.arange(composite.POWER_MIN, composite.POWER_MAX + 1e-9, composite.POWER_STEP)
    assert orders[0] == -1 and orders[-1] == 1 and 0 in orders
    means = [float(aggregate_rows(x, w, "generalised", p)[0]) for p in orders]
    assert means == sorted(means), "the mean grows with the order"
    assert means[-1] == pytest.approx(55)  # order 1: the arithmetic mean
    geometric = float(aggregate_rows(x, w, "geometric")[0])
    assert float(aggregate_rows(x, w, "generalised", 0.01)[0]) == pytest.approx(geometric, abs=0.5)
    assert float(aggregate_rows(x, w, "generalised", 0.01)[0]) > 20  # no collapse next to 0 (was 2e-11)
    assert "harmonique" in composite.power_explanation(-1) and "arithmétique" in composite.power_explanation(1)
    assert "compense peu" in composite.power_explanation(0)


def test_index_feedback_follows_the_choices():
    moved = composite.experiment(["eau", "sante"], composite.choices_of("rank", "generalised", 0.25, {1: 3, 2: 0}))
    assert any("2\u00a0communs sur 12" in m for _, m in moved.messages)
    assert any("compense peu" in m for _, m in moved.messages)
    one = composite.experiment(["eau"])
    assert any("1\u00a0commun sur 12" in m for _, m in one.messages)
    assert composite.experiment([]).error
    assert "poids nul" in composite.experiment(choices=composite.choices_of(axis_weights={1: 0, 2: 0, 3: 0, 4: 0})).error


def test_index_prediction_and_checkpoints_say_what_the_data_say():
    app = composite.IndexApp()
    assert app.after.layout.display == "none", "results hidden until the prediction"
    case, drops = composite.geometric_case()
    assert case == drops.idxmax() and (drops > 0).all()
    wrong = next(c for c in fiction.EXERCISE_TERRITORIES if c != case)
    app.prediction.options.value = wrong
    app.prediction.validate()
    assert app.after.layout.display is None
    assert "Pour vérifier" in app.verdict.value
    app.aggregation.value = "geometric"
    assert "Ce n'est pas ce qui se passe" in app.verdict.value
    for k in (1, 2, 3):
        app.checkpoints.reveal(k)
    answers = [plain(a.value) for a in app.checkpoints.answers]
    assert "bornes du catalogue" in answers[0] and "géométrique" in answers[1] and "marge" in answers[2]
    geo = composite.score(composite.exercise_data(), tuple(composite.exercise_data().catalogue.communs.index),
                          composite.Choices(aggregation="geometric")).index[case]
    assert text.fr_number(geo, 1) in answers[1]


def test_index_summary_is_a_downloadable_markdown_file():
    app = composite.IndexApp()
    app.prediction.options.value = "FICTIF-BRUMEVAL"
    app.prediction.validate()
    app.notes.value = "Retenir : la géométrique pénalise les profils inégaux."
    app.checkpoints.reveal(1)
    href = re.search(r"href='data:text/markdown;charset=utf-8;base64,([^']+)'", app.summary.widget.value).group(1)
    markdown = base64.b64decode(href).decode("utf-8")
    assert markdown == app.summary.markdown
    for part in ("# Construire un indice", "## Ma prédiction", "## Mes choix", "## Résultats", "| Rang |",
                 "## Points d'étape ouverts", "Retenir : la géométrique", "fictifs"):
        assert part in markdown, part
    assert "download='campus-indice-resume.md'" in app.summary.widget.value


# -- exercise 2 ------------------------------------------------------------------------

@pytest.fixture(scope="module")
def baseline():
    return shock.baselines().loc["FICTIF-BRUMEVAL"].dropna()


def test_every_shock_and_dependency_names_known_communs():
    communs = set(shock.commun_labels())
    assert set(shock.shocks()) == {"inondation", "canicule", "pandemie", "cyberattaque", "rupture_approvisionnement"}
    for s in shock.shocks().values():
        assert set(s.impacts) <= communs and s.impacts
    deps = shock.dependencies()
    assert set(deps.matrix.index) | set(deps.matrix.columns) <= communs
    assert set(deps.reasons) == {j for j in deps.matrix.index if deps.matrix.loc[j].sum() > 0}
    assert "dépendances" in shock.dependencies_html()


def test_shock_model_capacities_act_at_their_time_scale(baseline):
    c = shock.Capacities(0.3, 0.3, 0.1)
    o = shock.simulate(baseline, "inondation", 0.6, 2, c)
    assert o.max_loss > 0 and o.balance["1 mois"] < 0
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


def test_shock_cascades_propagate_along_the_dependencies(baseline):
    c = shock.Capacities()
    with_cascade = shock.simulate(baseline, "cyberattaque", 0.8, 3, c, cascade=True)
    without = shock.simulate(baseline, "cyberattaque", 0.8, 3, c, cascade=False)
    assert with_cascade.max_loss > without.max_loss
    spread = with_cascade.trajectory.cascade.max()
    # A cyberattack hits « numérique » first; the economy depends on it and loses more by cascade.
    assert spread["economie_emploi"] > 0
    # Communs depending on nothing that was hit lose nothing by cascade.
    deps = shock.dependencies().matrix
    untouched = [x for x in baseline.index if x not in deps.columns or deps[x].sum() == 0]
    assert all(spread.get(x, 0) == pytest.approx(0) for x in untouched)
    assert (without.trajectory.cascade.to_numpy() == 0).all()
    assert any("Effets en cascade" in m for _, m in with_cascade.messages)
    assert "cascade" in plain(shock.cascade_answer(with_cascade))


def test_shock_messages_tell_the_truth_at_small_intensity(baseline):
    small = shock.simulate(baseline, "inondation", 0.1, 1, shock.Capacities(0.3, 0.3, 1.0))
    said = " ".join(m for _, m in small.messages)
    assert "n'a pas appris" not in said and "sans se transformer" not in said
    assert "trop faible" in said
    assert "1,2 point " in plain(said) or "point" in plain(said)
    assert not re.search(r"\b1,\d points\b", plain(said)), "French: singular below 2"


def test_shock_longer_is_worse(baseline):
    c = shock.Capacities(0.3, 0.3, 0.1)
    short, long = (shock.simulate(baseline, "pandemie", 0.7, d, c) for d in (1, 18))
    assert long.max_loss > short.max_loss


def test_shock_prediction_is_answered_by_the_model(baseline):
    effect = shock.absorption_effect(baseline)
    assert effect.idxmax() == "1 mois" and (effect > 0).all()
    app = shock.ShockApp()
    app.prediction.options.value = "20 ans"
    app.prediction.validate()
    app.capacities["absorption"].value = 100
    assert "Ce n'est pas ce qui se passe" in app.verdict.value
    assert "<svg" in app.trajectory.value and "indice avant le choc" in app.trajectory.value


# -- exercise 3 ------------------------------------------------------------------------

def test_search_repairs_a_lost_leading_zero_like_the_validator():
    found, note = diagnosis.search("1004")
    assert found[0][1] == "01004" and "Ambérieu-en-Bugey" in found[0][0]
    assert "01004" in note and "zéro initial" in note
    assert diagnosis.search("brest")[0][0][1] == "29019"
    assert diagnosis.search("DEP-29")[0][0][1] == "DEP-29"
    assert diagnosis.search("200046977")[0][0][1] == "200046977"
    assert diagnosis.search("zzzzzz") == ([], None) and diagnosis.search("  ") == ([], None)


def test_a_real_territory_shows_its_real_structure_and_no_invented_value():
    ref = diagnosis.load_reference()
    facts = dict(diagnosis.facts(ref.territory("01004")))
    row = ref.communes.set_index("code").loc["01004"]
    assert facts["Population municipale"] == text.plural(int(row["population"]), "habitant")
    assert row["epci"] in facts["EPCI"] and facts["Département"] == "Ain (01)"
    assert "Code officiel géographique" in diagnosis.reference_source()
    empty = diagnosis.diagnose("01004", {})
    assert empty.indicators.empty and empty.communs.empty
    assert "aucune valeur saisie" in plain(empty.messages[0][1])


def test_diagnosis_scores_typed_values_against_fictional_peers():
    d = diagnosis.diagnose("29019", {"eau_rendement_reseau": 95.0, "ftth_locaux_part": 20.0})
    assert d.indicators.at["eau_rendement_reseau", "score"] == pytest.approx(100)
    assert d.indicators.at["ftth_locaux_part", "score"] == pytest.approx(0)
    peers = diagnosis.peer_scores()["eau_rendement_reseau"]
    assert d.indicators.at["eau_rendement_reseau", "mediane_pairs"] == pytest.approx(peers.median())
    assert d.indicators.at["eau_rendement_reseau", "centile"] == pytest.approx(diagnosis.percentile_among(100, peers))
    # A commun is compared on the indicators entered only, for the territory and its peers alike.
    assert d.communs.at["eau", "n"] == 1 and d.communs.at["eau", "score"] == pytest.approx(100)
    assert "fictifs" in plain(" ".join(m for _, m in d.messages))


def test_typed_values_are_checked_in_french():
    cat = diagnosis.load_catalogue()
    assert diagnosis.check_value("eau_rendement_reseau", "78,5", cat) == (78.5, None)
    assert diagnosis.check_value("eau_rendement_reseau", "", cat) == (None, None)
    assert "n'est pas un nombre" in diagnosis.check_value("eau_rendement_reseau", "abc", cat)[1]
    assert "plage plausible" in diagnosis.check_value("eau_rendement_reseau", "140", cat)[1]


def test_uploaded_file_is_validated_by_the_engine(tmp_path):
    cat = diagnosis.load_catalogue()
    good = ("territoire,indicateur,periode,valeur,unite,source,commentaire\n"
            "29019,eau_rendement_reseau,2024,81.5,%,Rapport annuel du délégataire,\n").encode()
    values, problems = diagnosis.values_from_file("mes-donnees.csv", good, "29019", cat)
    assert problems == [] and values == {"eau_rendement_reseau": 81.5}
    bad = good.replace(b"81.5", b"quatre-vingts")
    values, problems = diagnosis.values_from_file("mes-donnees.csv", bad, "29019", cat)
    assert not values and problems and problems[0].startswith("mes-donnees.csv, ligne 2")
    assert all("/tmp" not in p and "fichier.csv" not in p for p in problems), "no server path shown"
    fictional = good.replace(b"29019", b"FICTIF-BRUMEVAL")
    assert diagnosis.values_from_file("f.csv", fictional, "FICTIF-BRUMEVAL", cat)[1]
    assert diagnosis.values_from_file("f.ods", good, "29019", cat)[1]


def test_diagnosis_app_clears_stale_results_and_repairs_codes():
    app = diagnosis.DiagnosisApp()
    app.query.value = "1004"
    assert "Ambérieu-en-Bugey" in plain(app.card.value) and "01004" in plain(app.search_note.value)
    app.fields["eau_rendement_reseau"].value = "78,5"
    assert app.table.value and "<svg" in app.figure.value
    app.query.value = "zzzzzz"
    assert app.card.value == "" and app.table.value == "" and app.figure.value == ""
    assert "Aucun territoire" in app.search_note.value and app.results.options == ()
    app.query.value = "Brest"
    assert "Brest" in plain(app.card.value)


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
    assert "démonstration" not in " ".join(q.explanation + " ".join(q.choices) for q in qs)


def test_quiz_scores_first_answers_only():
    app = quiz.QuizApp()
    for q, radio, button, result in app.items:
        radio.value = (q.answer + 1) % len(q.choices)
        app.verify(q, radio, button, result)
        assert radio.disabled and button.disabled
        radio.value = q.answer  # a later click on the revealed answer does not count
        app.verify(q, radio, button, result)
    assert app.correct() == 0
    assert "0 / 10" in app.score.value and "Toutes les notions" not in app.score.value
    assert "10\u00a0questions vérifiées" in app.score.value
    again = quiz.QuizApp()
    q, radio, button, result = again.items[0]
    radio.value = q.answer
    again.verify(q, radio, button, result)
    assert again.correct() == 1 and "1\u00a0question vérifiée" in again.score.value


def test_quiz_feedback_and_prediction():
    q = quiz.questions()[0]
    assert quiz.check(q, q.answer)[0] == "succes"
    kind, message = quiz.check(q, (q.answer + 1) % len(q.choices))
    assert kind == "erreur" and q.choices[q.answer].replace("'", "&#x27;") in message
    assert quiz.check(q, None)[0] == "attention"
    assert quiz.summary(10, 10, 10)[0] == "succes" and quiz.summary(2, 10, 10)[0] == "attention"
    bands = quiz.prediction_choices(10)
    assert [k for _, k in bands] == ["bas", "moyen", "bon", "excellent"]
    assert bands[0][0] == "de 0 à 3 bonnes réponses" and quiz.score_band(9, 10) == "excellent"
    assert "56,25" in quiz.normalisation_answer() and "46,7" in quiz.aggregation_answer()


def test_book_url_can_point_to_the_published_book(monkeypatch):
    assert book_url("book/resilience", "x") == "/livre/book/resilience.html#x"
    monkeypatch.setenv("OBSERVATOIRE_LIVRE_URL", "https://exemple.fr/livre")
    assert book_url("book/resilience") == "https://exemple.fr/livre/book/resilience.html"


# -- notebooks -------------------------------------------------------------------------

def test_the_books_previews_show_results_without_the_prediction_step():
    """book/campus.md shows each exercise's first result (static preview): nothing hidden."""
    for app in (composite.IndexApp(preview=True), shock.ShockApp(preview=True),
                diagnosis.DiagnosisApp(code="29019", preview=True), quiz.QuizApp(preview=True)):
        assert app.after.layout.display is None
        assert app.prediction.widget not in app.widget.children
    brest = diagnosis.DiagnosisApp(code="29019", preview=True)
    assert "Brest" in plain(brest.card.value) and brest.table.value == "", "no invented value for a real territory"
    book = (ROOT / "book" / "campus.md").read_text(encoding="utf-8")
    for call in ("composite.app(preview=True)", "shock.app(preview=True)", 'diagnosis.app(code="29019", preview=True)',
                 "quiz.app(preview=True)"):
        assert call in book, call


@pytest.mark.parametrize("exercise", EXERCISES, ids=[e.slug for e in EXERCISES])
def test_notebooks_are_thin_and_complete(exercise):
    nb = json.loads(exercise.path.read_text(encoding="utf-8"))
    markdown = "\n".join("".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "markdown")
    code = ["".join(c["source"]) for c in nb["cells"] if c["cell_type"] == "code"]
    for heading in ("**Objectif", "## Consignes", "## Bilan", "**Prédisez**", "points d'étape", "résumé"):
        assert heading in markdown, heading
    if exercise.slug != "quiz":
        assert "fictifs" in markdown and "démonstration" not in markdown
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


# -- shared computations ------------------------------------------------------------------

def test_kernels_read_the_shared_computations_the_server_prepared(tmp_path, monkeypatch):
    from observatoire.campus import prepared, shared

    monkeypatch.delenv(prepared.VARIABLE, raising=False)
    shared._parts.cache_clear()
    shared._value.cache_clear()
    assert shared.get("peer_scores") is None  # no file: each function computes
    path = prepared.prepare(tmp_path)
    assert path.parent == tmp_path and path.name.startswith("calculs-partages-")
    assert prepared.prepare(tmp_path) == path and len(list(tmp_path.iterdir())) == 1  # same inputs, same file
    monkeypatch.setenv(prepared.VARIABLE, str(path))
    shared._parts.cache_clear()
    shared._value.cache_clear()
    try:
        communs = tuple(fiction.fictional_data().catalogue.communs.index)
        pd.testing.assert_frame_equal(shared.get("peer_scores"), diagnosis.peer_scores())
        pd.testing.assert_series_equal(shared.get("reference_scores", communs).index,
                                       composite.reference_scores(communs).index)
        case, drops = shared.get("geometric_case")
        assert case == composite.geometric_case()[0]
        pd.testing.assert_series_equal(drops, composite.geometric_case()[1])
        assert shared.get("reference").search("1004", limit=1)["nom"].iloc[0]  # its search index comes along
        assert shared.get("reference_scores", ("eau",)) is None  # other communs: computed by the kernel
    finally:
        shared._parts.cache_clear()
        shared._value.cache_clear()


# -- serving ---------------------------------------------------------------------------

def test_voila_options():
    argv = serve.voila_argv(serve.Options(port=8899))
    for option in ("--VoilaConfiguration.strip_sources=True", "--VoilaConfiguration.show_tracebacks=False",
                   "--Voila.ip=127.0.0.1", "--VoilaConfiguration.preheat_kernel=True", "--template=campus",
                   "--port=8899", "--MappingKernelManager.cull_connected=True",
                   "--Voila.kernel_websocket_connection_class=observatoire.campus.server.CampusKernelConnection"):
        assert option in argv
    assert any(a.startswith("--VoilaExecutor.cell_error_instruction=Cet exercice") for a in argv)
    assert "--MappingKernelManager.cull_idle_timeout=1800" in argv
    assert "--VoilaConfiguration.default_pool_size=0" in serve.voila_argv(serve.Options(port=1, preheat=False))
    assert serve.Options(cull_idle=15).cull_interval == 5 and serve.Options().cull_interval == 60
    assert serve.allowed_hosts(serve.Options(hosts=("Salle.Example.org",))) == (
        "127.0.0.1", "localhost", "::1", "salle.example.org")


def test_host_allow_list():
    from observatoire.campus.server import LOCAL_HOSTS, host_allowed, host_name

    assert host_name("127.0.0.1:8866") == "127.0.0.1" and host_name("[::1]:8866") == "::1"
    assert host_name("LocalHost") == "localhost" and host_name("::1") == "::1"
    assert host_allowed("localhost:1", LOCAL_HOSTS) and not host_allowed("evil.example:8866", LOCAL_HOSTS)
    assert not host_allowed("127.0.0.1.evil.example", LOCAL_HOSTS) and not host_allowed("", LOCAL_HOSTS)


class FakeKernels:
    def __init__(self):
        self.kernels, self.stopped = {}, []

    def list_kernel_ids(self):
        return list(self.kernels)

    def kernel_model(self, kernel_id):
        return {"connections": self.kernels[kernel_id]}

    async def shutdown_kernel(self, kernel_id):
        self.stopped.append(kernel_id)
        self.kernels.pop(kernel_id)


def test_kernel_caps_per_learner_and_in_total():
    from observatoire.campus.server import Limits, Sessions

    s = Sessions(Limits(per_client=2, total=3))
    for kernel in ("a", "b"):
        s.hand_out(s.begin("apprenant:1"), kernel)
    status, title, *_ = s.refusal("apprenant:1")
    assert status == 429 and "Trop d'exercices" in title
    assert s.refusal("apprenant:2") is None
    s.begin("apprenant:2")  # a page still rendering counts
    status, title, message, detail = s.refusal("apprenant:3")
    assert status == 503 and "complet" in title and "3\u00a0exercices ouverts" in detail
    s.forget_dead(["b"])  # kernel a was shut down (its tab closed)
    assert s.refusal("apprenant:1") is None


def test_orphan_kernels_are_shut_down_after_their_delay():
    import asyncio

    from observatoire.campus.server import Limits, Sessions

    kernels = FakeKernels()
    kernels.kernels = {"open": 1, "closed": 0, "rendering": 0}
    s = Sessions(Limits(orphan_seconds=0.2))
    for k in kernels.kernels:
        s.hand_out(s.begin("apprenant:1"), k)
    for k in ("open", "closed"):
        s.end(None, k)  # their pages were sent; « rendering » is still being sent
    assert asyncio.run(s.sweep(kernels)) == []  # not yet past the delay
    import time

    time.sleep(0.25)
    assert asyncio.run(s.sweep(kernels)) == ["closed"]
    assert kernels.stopped == ["closed"] and "rendering" in kernels.kernels


def test_kernel_websocket_hides_tracebacks():
    from jupyter_client.session import DELIM, Session

    from observatoire.campus.server import filter_outgoing

    session = Session(key=b"secret")

    def message(msg_type, content):
        return [b"id", *session.serialize(session.msg(msg_type, content))]

    def passed(msg):
        return filter_outgoing(session, msg)

    assert passed(message("error", {"ename": "E", "evalue": "/srv/x.py", "traceback": ["/srv/x.py"]})) is None
    assert passed(message("stream", {"name": "stderr", "text": "Traceback (…) /srv/venv/lib"})) is None
    out = message("stream", {"name": "stdout", "text": "ok"})
    assert passed(out) is out
    comm = message("comm_msg", {"comm_id": "x", "data": {"method": "update"}})
    assert passed(comm) is comm
    info = passed(message("kernel_info_reply", {"banner": "Python 3.11 IPython 9", "status": "ok"}))
    parts = info[info.index(DELIM) + 1:]
    assert session.unpack(parts[4])["banner"] == "" and session.sign(parts[1:5]) == parts[0]
    reply = passed(message("comm_info_reply", {"status": "error", "ename": "KeyError", "evalue": "/srv",
                                               "traceback": ["/srv/x.py line 3"]}))
    content = session.unpack(reply[reply.index(DELIM) + 5])
    assert content == {"status": "error"}


def test_campus_pages_are_jinja2_templates_in_french():
    from observatoire.campus.server import error_page, render

    home = render("accueil.html.j2", exercises=EXERCISES, book={"built": False, "url": None})
    assert '<html lang="fr">' in home and all(e.title in home for e in EXERCISES)
    assert "Territoires fictifs" in home and "cdn" not in home
    page = error_page(404, "Page introuvable", "Cette page n'existe pas.", "<script>x</script>")
    assert "Page introuvable" in page and "<script>x" not in page


def test_campus_template_has_no_cdn():
    folder = serve.TEMPLATES_ROOT / "voila" / "templates" / "campus"
    for path in folder.iterdir():
        assert "cdn." not in path.read_text(encoding="utf-8").replace("jsDelivr CDN", "")
    template = (folder / "index.html.j2").read_text(encoding="utf-8")
    assert "_xsrf=" in template and "voila-dashboards/voila" in template and "Recharger la page" in template


def test_cli_help_is_french():
    out = subprocess.run([sys.executable, "-m", "observatoire", "campus", "--help"], capture_output=True,
                         text=True, check=True).stdout
    out = " ".join(out.split())
    for words in ("port d'écoute", "Ctrl-C pour arrêter", "préparer", "--hote", "--max-noyaux", "--max-par-apprenant",
                  "--livre"):
        assert words in out, words


def test_text_widgets_share_their_layout_and_style_models_and_nothing_changes_them():
    """Each widget brings layout and style models of its own, all sent to the page when it opens;
    the exercises' text widgets, buttons and rows share theirs (45 % fewer models for the quiz),
    which is safe only as long as no exercise changes a shared model."""
    from ipywidgets.widgets.widget import _instances

    before = set(_instances)
    index = composite.IndexApp()
    made = [w for k, w in list(_instances.items()) if k not in before]
    texts = [w for w in made if type(w).__name__ == "HTML"]
    assert len(texts) >= 20
    assert len({w.layout.model_id for w in texts}) <= 2 and len({w.style.model_id for w in texts}) == 1
    before = set(_instances)
    answers = quiz.QuizApp()
    made = [w for k, w in list(_instances.items()) if k not in before]
    assert len(made) < 120, "the quiz's page opens with fewer than 120 widget models (218 without sharing)"
    shared = [ui.shared_layout(width) for width in (None, "100%", "max-content")]
    shared += [ui.shared_style(kind) for kind in ("html", "button")]
    states = [w.get_state() for w in shared]
    index.normalisation.value = "zscore"
    index.aggregation.value = "generalised"
    index.aggregation.value = "arithmetic"
    index.restore()
    q, radio, button, result = answers.items[0]
    radio.value = 0
    button.click()
    index.checkpoints.reveal(1)
    assert [w.get_state() for w in shared] == states
