"""Exercise 4, « Quiz »: self-assessment on the book's concepts, questions as data.

Questions, choices, answers, explanations and the book section explaining each answer are in
``data/campus/quiz.yml``; this module loads and checks them, and builds the widgets. The
**first** answer checked for each question is the one scored: the question is then locked, its
explanation shown (a later click cannot turn a wrong answer into a right one). Before starting,
the learner predicts their score; three checkpoints are small calculations whose worked answers
come from the engine itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import yaml

from observatoire import text
from observatoire.campus import DATA, book_url, ui

QUIZ_FILE = DATA / "quiz.yml"


@dataclass(frozen=True)
class Question:
    id: str
    question: str
    choices: tuple[str, ...]
    answer: int
    explanation: str
    page: str
    anchor: str | None
    link_text: str

    @property
    def url(self) -> str:
        return book_url(self.page, self.anchor)


@lru_cache(maxsize=1)
def questions() -> tuple[Question, ...]:
    content = yaml.safe_load(QUIZ_FILE.read_text(encoding="utf-8"))["questions"]
    out = []
    for q in content:
        choices = tuple(str(c) for c in q["choix"])
        if not 0 <= int(q["reponse"]) < len(choices):
            raise ValueError(f"{QUIZ_FILE} : question « {q['id']} » : réponse hors des choix")
        link = q["lien"]
        out.append(Question(q["id"], q["question"], choices, int(q["reponse"]), q["explication"],
                            link["page"], link.get("ancre"), link["texte"]))
    return tuple(out)


def check(question: Question, choice: int | None) -> tuple[str, str]:
    """(kind, HTML) feedback for ``choice`` (index into the choices, None if none chosen)."""
    e = ui.escape
    if choice is None:
        return "attention", "Choisissez d'abord une réponse."
    more = f" Pour aller plus loin : {ui.link(question.url, question.link_text)}."
    if choice == question.answer:
        return "succes", f"<strong>Bonne réponse.</strong> {e(question.explanation)}{more}"
    right = question.choices[question.answer]
    return "erreur", (f"<strong>Pas tout à fait.</strong> La bonne réponse est : « {e(right)} ». "
                      f"{e(question.explanation)}{more}")


def summary(correct: int, answered: int, total: int) -> tuple[str, str]:
    """(kind, HTML) of the score line: first answers only."""
    if answered == 0:
        return "info", (f"Score : 0 / {total}. Répondez aux questions dans l'ordre qui vous plaît : la première "
                        "réponse vérifiée de chaque question est celle qui compte.")
    text_ = (f"Score : <strong>{correct} / {total}</strong> (premières réponses ; "
             f"{text.plural(answered, 'question vérifiée', 'questions vérifiées')} sur {total}).")
    if answered < total:
        return "info", text_
    if correct == total:
        return "succes", text_ + " Toutes les notions clés sont acquises."
    if correct >= total * 0.7:
        return "succes", text_ + " Bonne base : relisez les passages indiqués pour les réponses manquées."
    return "attention", text_ + " Relisez les chapitres indiqués, puis refaites le quiz."


def score_band(correct: int, total: int) -> str:
    """The prediction's band of a score (shares of the questions: < 40 %, < 70 %, < 90 %, the rest)."""
    share = correct / total if total else 0.0
    return "bas" if share < 0.4 else "moyen" if share < 0.7 else "bon" if share < 0.9 else "excellent"


def prediction_choices(total: int) -> list[tuple[str, str]]:
    """(label, key) of the score bands, each the scores :func:`score_band` puts in it."""
    bands: dict[str, list[int]] = {}
    for correct in range(total + 1):
        bands.setdefault(score_band(correct, total), []).append(correct)
    def words(n: int) -> str:
        return "bonne réponse" if n < 2 else "bonnes réponses"

    return [(f"de {s[0]} à {s[-1]} {words(s[-1])}" if len(s) > 1 else text.plural(s[0], words(s[0]), words(s[0])),
             key) for key, s in bands.items()]


# -- checkpoints: small calculations, answered by the engine ---------------------------------------

def normalisation_answer() -> str:
    from observatoire.engine.normalise import normalise_goalposts

    score = float(normalise_goalposts([65.0], 20.0, 100.0, 1)[0])
    return ("Méthode des bornes : 100 × (valeur − borne basse) / (borne haute − borne basse) = 100 × (65 − 20) / "
            f"(100 − 20) = 100 × 45 / 80 = <strong>{text.fr_number(score, 2)}</strong> (plus est mieux : pas "
            "d'inversion). C'est le calcul du moteur de l'Observatoire.")


def aggregation_answer() -> str:
    from observatoire.engine.aggregate import aggregate_rows

    x, w = [[80.0, 60.0, 0.0]], [1.0, 1.0, 1.0]
    arithmetic = float(aggregate_rows(x, w, "arithmetic")[0])
    geometric = float(aggregate_rows(x, w, "geometric")[0])
    f = text.fr_number
    return (f"Arithmétique : (80 + 60 + 0) / 3 = <strong>{f(arithmetic, 1)}</strong>. Géométrique brute : "
            "∛(80 × 60 × 0) = 0, quel que soit le reste : un seul zéro l'annule. L'Observatoire, comme COINr, la "
            "calcule sur l'échelle de 1 à 100 (un score s devient 1 + 0,99 s) puis revient à 0–100 : "
            f"<strong>{f(geometric, 1)}</strong>. Le zéro pèse lourd sans tout annuler ; l'arithmétique, elle, le "
            "laisse compenser par les deux autres.")


def interval_answer() -> str:
    return ("A : 52, intervalle de 48 à 56 ; B : 50, intervalle de 47 à 53. Les intervalles se recouvrent (de 48 à 53) : "
            "pour des choix de méthode tout aussi défendables, B passe devant A. On ne peut pas dire que A est plus "
            "résilient que B ; on peut dire que leurs indices sont proches, et regarder leurs profils par commun.")


# -- the app ------------------------------------------------------------------------------

class QuizApp:
    def __init__(self, preview: bool = False):
        import ipywidgets as w

        self.items = []
        self.first: dict[str, int] = {}  # question id → the first answer checked (the one scored)
        self.score = ui.feedback_widget("campus-score")
        rows = []
        for k, q in enumerate(questions(), start=1):
            radio = w.RadioButtons(options=[(c, i) for i, c in enumerate(q.choices)], value=None,
                                   layout=ui.shared_layout("max-content"))
            radio.add_class(f"campus-question-{q.id}")
            button = w.Button(description="Vérifier", layout=ui.shared_layout("max-content"),
                              style=ui.shared_style("button"))
            button.add_class(f"campus-verifier-{q.id}")
            result = ui.feedback_widget(f"campus-reponse-{q.id}")
            button.on_click(lambda _, q=q, radio=radio, button=button, result=result:
                            self.verify(q, radio, button, result))
            rows.append(w.VBox([ui.text_widget(f"<strong>{k}. {ui.escape(q.question)}</strong>"), radio, button, result],
                               layout=ui.shared_layout()))
            self.items.append((q, radio, button, result))
        total = len(self.items)
        self.verdict = ui.feedback_widget("campus-verdict")
        self.prediction = ui.Prediction(f"Avant de commencer : combien de bonnes réponses sur {total} pensez-vous "
                                        "obtenir ?", prediction_choices(total), on_answer=self.revealed)
        self.checkpoints = ui.Checkpoints([
            ui.Checkpoint("Un indicateur « plus est mieux » a pour bornes 20 et 100 ; un territoire affiche 65. "
                          "Quel est son score ?", normalisation_answer),
            ui.Checkpoint("Trois communs valent 80, 60 et 0. Que valent leur moyenne arithmétique et leur moyenne "
                          "géométrique, calculée comme le fait l'Observatoire ?", aggregation_answer),
            ui.Checkpoint("A a un indice de 52 (intervalle de 48 à 56), B de 50 (de 47 à 53). Peut-on dire que A est "
                          "plus résilient que B ?", interval_answer),
        ], on_change=self.summarise)
        self.notes = ui.notes_widget("Vos remarques : les notions à revoir, les passages du livre à relire…")
        self.summary = ui.Summary("quiz", "Quiz")
        results = w.VBox([self.score, self.verdict, *rows], layout=w.Layout(width="100%"))
        self.widget, self.after = ui.frame(
            notice_widget=None, prediction=None if preview else self.prediction, controls=w.VBox([]),
            results=results, checkpoints=self.checkpoints, notes=self.notes, summary=self.summary, revealed=preview)
        self.notes.observe(lambda _: self.summarise(), names="value")
        self.refresh()

    def revealed(self) -> None:
        ui.reveal(self.after)
        self.refresh()

    def verify(self, q: Question, radio, button, result) -> None:
        if q.id in self.first:
            return  # already scored: the first answer counts
        kind, message = check(q, radio.value)
        result.value = ui.box(kind, message)
        if radio.value is None:
            return
        self.first[q.id] = radio.value
        radio.disabled = button.disabled = True
        self.refresh()

    def correct(self) -> int:
        return sum(1 for q, *_ in self.items if self.first.get(q.id) == q.answer)

    def refresh(self) -> None:
        total = len(self.items)
        kind, text_ = summary(self.correct(), len(self.first), total)
        self.score.value = ui.box(kind, text_)
        if self.prediction.answer is not None and len(self.first) == total:
            truth = score_band(self.correct(), total)
            kind, message = self.prediction.verdict(truth, f"Votre score : {self.correct()} / {total}. Estimer son "
                                                    "niveau avant de répondre aide à repérer ce que l'on croit "
                                                    "savoir sans le savoir.")
            self.verdict.value = ui.box(kind, message)
        self.summarise()

    def summarise(self) -> None:
        total = len(self.items)
        lines = []
        for k, (q, *_rest) in enumerate(self.items, start=1):
            if q.id in self.first:
                mine = q.choices[self.first[q.id]]
                mark = "juste" if self.first[q.id] == q.answer else f"faux ; bonne réponse : {q.choices[q.answer]}"
                lines.append(f"{k}. {q.question}\n   - Ma réponse : {mine} ({mark})\n   - {q.explanation}\n"
                             f"   - À relire : {q.link_text}")
            else:
                lines.append(f"{k}. {q.question}\n   - Pas encore répondu.")
        prediction = ""
        if self.prediction.answer is not None:
            prediction = f"{self.prediction.question}\n\nMa prédiction : {self.prediction.choices[self.prediction.answer]}."
            if self.verdict.value:
                prediction += f"\n\n{ui.markdown_of(self.verdict.value)}"
        steps = "\n\n".join(f"**{k}. {item.question}**\n\n{ui.markdown_of(item.opened)}"
                            for k, item in enumerate(self.checkpoints.items, start=1) if item.opened)
        self.summary.update([("Ma prédiction", prediction),
                             ("Mon score", f"{self.correct()} / {total} (premières réponses ; "
                                           f"{text.plural(len(self.first), 'question vérifiée', 'questions vérifiées')})"),
                             ("Mes réponses", "\n".join(lines)), ("Points d'étape ouverts", steps),
                             ("Mes notes", self.notes.value)])


def app(preview: bool = False):
    return QuizApp(preview).widget
