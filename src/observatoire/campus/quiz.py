"""Exercise 4, « Quiz »: self-assessment on the book's concepts, questions as data.

Questions, choices, answers, explanations and the book section explaining each answer are in
``data/campus/quiz.yml``; this module loads and checks them, and builds the widgets.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import yaml

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
            raise ValueError(f"question « {q['id']} » : réponse hors des choix")
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
    if answered == 0:
        return "info", f"Score : 0 / {total}. Répondez aux questions dans l'ordre qui vous plaît."
    text = f"Score : <strong>{correct} / {total}</strong> ({answered} question(s) vérifiée(s))."
    if answered < total:
        return "info", text
    if correct == total:
        return "succes", text + " Toutes les notions clés sont acquises."
    if correct >= total * 0.7:
        return "succes", text + " Bonne base : relisez les passages indiqués pour les réponses manquées."
    return "attention", text + " Relisez les chapitres indiqués, puis refaites le quiz."


class QuizApp:
    def __init__(self):
        import ipywidgets as w

        self.items = []
        self.score = ui.feedback_widget()
        self.score.add_class("campus-score")
        rows = []
        for k, q in enumerate(questions(), start=1):
            radio = w.RadioButtons(options=[(c, i) for i, c in enumerate(q.choices)], value=None,
                                   layout=w.Layout(width="auto"))
            radio.add_class(f"campus-question-{q.id}")
            button = w.Button(description="Vérifier", layout=w.Layout(width="auto"))
            button.add_class(f"campus-verifier-{q.id}")
            result = ui.feedback_widget()
            result.add_class(f"campus-reponse-{q.id}")
            button.on_click(lambda _, q=q, radio=radio, result=result: self.verify(q, radio, result))
            radio.observe(lambda _, result=result: setattr(result, "value", ""), names="value")
            rows.append(w.VBox([w.HTML(f"<strong>{k}. {ui.escape(q.question)}</strong>"), radio, button, result]))
            self.items.append((q, radio, result))
        self.checked: dict[str, bool] = {}
        self.widget = w.VBox([self.score, *rows])
        self.widget.add_class("campus-app")
        self.refresh()

    def verify(self, q: Question, radio, result) -> None:
        kind, message = check(q, radio.value)
        result.value = ui.box(kind, message)
        if radio.value is not None:
            self.checked[q.id] = radio.value == q.answer
        self.refresh()

    def refresh(self) -> None:
        kind, text = summary(sum(self.checked.values()), len(self.checked), len(self.items))
        self.score.value = ui.box(kind, text)


def app():
    return QuizApp().widget
