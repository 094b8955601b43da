"""Widgets shared by the Campus exercises: the frame every exercise follows, feedback boxes,
figures and tables in Output widgets, and the take-away.

Every exercise has the same shape, after the best interactive tutorials: objectives (in the
notebook), a **prediction** answered before any result shows (:class:`Prediction`), the
controls and their results with feedback, **checkpoints** whose worked answers are computed
from what is on screen (:class:`Checkpoints`), the learner's **notes** (:func:`notes_widget`)
and a **summary** to download (:class:`Summary`): choices, results, prediction, checkpoints
opened and notes, as a Markdown file.

Outputs are written into the widgets' state (``Output.outputs``, ``HTML.value``), never through
``with output:`` capture: the state is then the same in Voilà and in the book's static preview,
where no browser captures anything while the notebook runs. Numbers go through
:mod:`observatoire.text`, the one French formatter.
"""

from __future__ import annotations

import base64
import datetime as dt
import html
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Callable

import ipywidgets as widgets

from observatoire import text

#: Kind of feedback → (border colour, background, symbol).
KINDS = {
    "succes": ("#1a7f37", "#e9f7ec", "✔"),
    "attention": ("#b35900", "#fff4e5", "⚠"),
    "erreur": ("#b42318", "#fdecea", "✘"),
    "info": ("#1f5fa8", "#eaf2fb", "ℹ"),
}

FICTION_NOTICE = (
    "<strong>Territoires fictifs.</strong> {names} n'existent pas : leurs valeurs d'indicateurs sont "
    "tirées par le générateur à graine fixe de l'Observatoire. L'exercice apprend une méthode ; il ne dit "
    "rien d'aucun territoire réel."
)


def escape(value) -> str:
    return html.escape(str(value), quote=True)


def box(kind: str, message_html: str) -> str:
    """An HTML feedback box (``message_html`` is trusted HTML built by the Campus)."""
    colour, background, symbol = KINDS[kind]
    return (f'<div class="campus-retour campus-retour-{kind}" style="border-left:4px solid {colour};'
            f'background:{background};padding:0.5em 0.8em;margin:0.3em 0;border-radius:3px;'
            f'line-height:1.45"><span aria-hidden="true" style="color:{colour};font-weight:bold">'
            f'{symbol}</span> {message_html}</div>')


def boxes(items: list[tuple[str, str]]) -> str:
    return "".join(box(kind, message) for kind, message in items)


@lru_cache(maxsize=None)
def shared_layout(width: str | None = None) -> widgets.Layout:
    """One layout model per width, shared by the page's text widgets, buttons and rows: never
    changed after creation (a layout that is shown or hidden belongs to one box only)."""
    return widgets.Layout(width=width)


@lru_cache(maxsize=None)
def shared_style(kind: str):
    """One style model per kind (``html``, ``button``, ``text``) for the page's widgets that never
    change their style (ipywidgets' ``HTMLStyle``, ``ButtonStyle``, ``TextStyle``)."""
    from ipywidgets.widgets.widget_button import ButtonStyle
    from ipywidgets.widgets.widget_string import HTMLStyle, TextStyle

    return {"html": HTMLStyle, "button": ButtonStyle, "text": TextStyle}[kind]()


def text_widget(value: str = "", width: str | None = None) -> widgets.HTML:
    """A text widget whose layout and style models are shared with the page's other text
    widgets: each widget otherwise brings two models of its own, all sent to the page when it
    opens — a third of an exercise's messages, and of the server's work to render it. Layouts
    that change (shown, hidden) belong to the boxes, never to these."""
    return widgets.HTML(value, layout=shared_layout(width), style=shared_style("html"))


def feedback_widget(css_class: str = "campus-feedback") -> widgets.HTML:
    w = text_widget(width="100%")
    w.add_class(css_class)
    return w


def notice(names: list[str]) -> widgets.HTML:
    listed = ", ".join(names[:-1]) + " et " + names[-1] if len(names) > 1 else names[0]
    w = text_widget(box("attention", FICTION_NOTICE.format(names=escape(listed))), width="100%")
    w.add_class("campus-fiction")
    return w


def heading(title: str, css_class: str | None = None) -> widgets.HTML:
    w = text_widget(f"<h3 style='margin:0.9em 0 0.2em'>{escape(title)}</h3>")
    if css_class:
        w.add_class(css_class)
    return w


def figure_widget(css_class: str) -> widgets.HTML:
    """Where an exercise shows a figure (inline SVG, :mod:`observatoire.campus.svg`) or a table."""
    w = text_widget(width="100%")
    w.add_class(css_class)
    return w


def cell(value, decimals: int = 1) -> str:
    """A table cell for people: French decimal comma, « n.d. » for a missing number."""
    if isinstance(value, float):
        return text.fr_number(value, decimals)
    return str(value)


def table_html(frame, css_class: str = "campus-table", decimals: int = 1) -> str:
    """A small DataFrame as an HTML table (numbers in French)."""
    head = "".join(f"<th style='text-align:left;padding:2px 8px'>{escape(c)}</th>" for c in frame.columns)
    rows = "".join(
        "<tr>" + "".join(f"<td style='padding:2px 8px;text-align:{'right' if isinstance(v, float) else 'left'}'>"
                         f"{escape(cell(v, decimals))}</td>" for v in row) + "</tr>"
        for row in frame.itertuples(index=False, name=None))
    return (f"<table class='{css_class}' style='border-collapse:collapse;font-size:0.92em'>"
            f"<thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>")


def heat_table(frame, limit: float | None = None, css_class: str = "campus-table") -> str:
    """A table of signed changes (points), each cell coloured from red (loss) to blue (gain)."""
    import numpy as np

    values = frame.to_numpy(dtype="float64")
    limit = limit or max(10.0, float(np.nanmax(np.abs(values))) if values.size else 10.0)

    def colour(v: float) -> str:
        if v != v:
            return "#ffffff"
        k = min(1.0, abs(v) / limit)
        r, g, b = (178, 24, 43) if v < 0 else (33, 102, 172)
        mix = lambda c: int(255 + (c - 255) * k)  # noqa: E731
        return f"rgb({mix(r)},{mix(g)},{mix(b)})"

    head = "<th></th>" + "".join(f"<th style='padding:2px 8px'>{escape(c)}</th>" for c in frame.columns)
    rows = "".join(
        f"<tr><th style='text-align:left;padding:2px 8px;font-weight:normal'>{escape(name)}</th>" + "".join(
            f"<td style='padding:2px 10px;text-align:right;background:{colour(v)};"
            f"color:{'#fff' if abs(v) > 0.6 * limit else '#222'}'>{escape(text.fr_signed(v, 0))}</td>"
            for v in row) + "</tr>"
        for name, row in zip(frame.index, values))
    return (f"<table class='{css_class}' style='border-collapse:collapse;font-size:0.92em'>"
            f"<thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>")


def table_markdown(frame, decimals: int = 1) -> str:
    """The same table in Markdown, for the summary."""
    def md(v):
        return cell(v, decimals).replace("|", "\\|")

    lines = ["| " + " | ".join(md(c) for c in frame.columns) + " |",
             "|" + "|".join("---" for _ in frame.columns) + "|"]
    lines += ["| " + " | ".join(md(v) for v in row) + " |" for row in frame.itertuples(index=False, name=None)]
    return "\n".join(lines)


def link(url: str, label: str) -> str:
    return f'<a href="{escape(url)}" target="_blank" rel="noopener">{escape(label)}</a>'


def ordinal(rank) -> str:
    rank = int(rank)
    return "1<sup>er</sup>" if rank == 1 else f"{rank}<sup>e</sup>"


def ordinal_text(rank) -> str:
    rank = int(rank)
    return "1er" if rank == 1 else f"{rank}e"


def guarded(callback: Callable, feedback: widgets.HTML) -> Callable:
    """``callback`` for a widget event: an unexpected error shows a French message in
    ``feedback`` instead of a traceback (which the server would not forward anyway)."""
    def run(*args, **kwargs):
        try:
            return callback(*args, **kwargs)
        except Exception:  # the learner gets a sentence, the server's log gets the details
            import logging

            logging.getLogger("observatoire.campus").exception("erreur dans un exercice du Campus")
            feedback.value = box("erreur", "Ce réglage n'a pas pu être calculé. Revenez au réglage précédent ; si "
                                 "le problème persiste, rechargez la page.")
    return run


# -- prediction ------------------------------------------------------------------------------

class Prediction:
    """« Prédisez, puis vérifiez » : a question answered before the results show.

    ``choices`` are (label, key) pairs. Once the learner validates an answer, it is locked and
    ``on_answer`` is called (the exercise then reveals its results). :meth:`verdict` compares the
    answer with what the data say.
    """

    def __init__(self, question: str, choices: list[tuple[str, str]], on_answer: Callable[[], None]):
        self.question, self.choices = question, dict((k, label) for label, k in choices)
        self.answer: str | None = None
        self.options = widgets.RadioButtons(options=choices, value=None, layout=widgets.Layout(width="auto"))
        self.options.add_class("campus-prediction-choix")
        self.button = widgets.Button(description="Valider ma prédiction", button_style="primary",
                                     layout=shared_layout("max-content"))
        self.button.add_class("campus-prediction-valider")
        self.status = feedback_widget("campus-prediction-statut")
        self.widget = widgets.VBox([
            text_widget(f"<strong>Prédisez, puis vérifiez.</strong> {escape(question)}"),
            self.options, self.button, self.status])
        self.widget.add_class("campus-prediction")
        self._on_answer = on_answer
        self.button.on_click(self.validate)

    def validate(self, _=None) -> None:
        if self.answer is not None:
            return
        if self.options.value is None:
            self.status.value = box("attention", "Choisissez d'abord une réponse : c'est en s'engageant sur une "
                                    "prédiction que l'on apprend de l'écart avec le résultat.")
            return
        self.answer = self.options.value
        self.options.disabled = self.button.disabled = True
        self.status.value = box("info", f"Votre prédiction : <strong>{escape(self.choices[self.answer])}</strong>. "
                                "Les résultats sont maintenant affichés : vérifiez-la.")
        self._on_answer()

    def verdict(self, truth: str, why_html: str, checked: bool = True) -> tuple[str, str]:
        """(kind, HTML) comparing the learner's answer with ``truth``; ``checked`` False while
        the learner has not yet made the move that tests the prediction."""
        said = escape(self.choices.get(self.answer, "—"))
        if not checked:
            return "info", f"Vous avez prédit : <strong>{said}</strong>. {why_html}"
        if self.answer == truth:
            return "succes", f"<strong>Prédiction vérifiée</strong> : {said}. {why_html}"
        return "attention", (f"<strong>Ce n'est pas ce qui se passe.</strong> Vous aviez prédit : {said} ; "
                             f"en réalité : {escape(self.choices[truth])}. {why_html}")


# -- checkpoints -----------------------------------------------------------------------------

@dataclass
class Checkpoint:
    question: str
    answer: Callable[[], str]  # worked answer (HTML), computed from what is on screen
    opened: str | None = None  # the worked answer as it was last shown


class Checkpoints:
    """Questions to answer for oneself, each with « Voir la réponse détaillée »."""

    def __init__(self, items: list[Checkpoint], on_change: Callable[[], None] | None = None):
        self.items = items
        self._on_change = on_change
        rows = [text_widget("Répondez pour vous-même (ou dans vos notes), puis comparez avec la réponse détaillée, "
                             "calculée sur ce qui est à l'écran.")]
        self.answers = []
        for k, item in enumerate(items, start=1):
            button = widgets.Button(description="Voir la réponse détaillée", layout=shared_layout("max-content"),
                                    style=shared_style("button"))
            button.add_class(f"campus-etape-{k}")
            answer = feedback_widget(f"campus-etape-reponse-{k}")
            button.on_click(lambda _, k=k: self.reveal(k))
            rows.append(widgets.VBox([text_widget(f"{k}. {escape(item.question)}"), button, answer],
                                     layout=shared_layout()))
            self.answers.append(answer)
        self.widget = widgets.VBox(rows)
        self.widget.add_class("campus-etapes")

    def reveal(self, k: int) -> None:
        item = self.items[k - 1]
        item.opened = item.answer()
        self.answers[k - 1].value = box("info", item.opened)
        if self._on_change:
            self._on_change()

    def refresh(self) -> None:
        """Recompute the answers already open (the results they rest on have changed)."""
        for k, item in enumerate(self.items, start=1):
            if item.opened is not None:
                item.opened = item.answer()
                self.answers[k - 1].value = box("info", item.opened)


# -- notes and summary -------------------------------------------------------------------------

def notes_widget(placeholder: str) -> widgets.Textarea:
    w = widgets.Textarea(placeholder=placeholder, continuous_update=False,
                         layout=widgets.Layout(width="100%", height="7em"))
    w.add_class("campus-notes")
    return w


def markdown_of(html_text: str) -> str:
    """Plain text of a small HTML fragment built by the Campus (for the Markdown summary)."""
    import re

    t = re.sub(r"<sup>(.*?)</sup>", r"\1", html_text)
    t = re.sub(r"</?(strong|b)>", "**", t)
    t = re.sub(r"</?(em|i)>", "*", t)
    t = re.sub(r"<br\s*/?>", "\n", t)
    t = re.sub(r"<[^>]+>", "", t)
    return html.unescape(t).strip()


@dataclass
class Summary:
    """The learner's take-away: a Markdown file to download, rebuilt after every change."""

    slug: str
    title: str
    widget: widgets.HTML = field(init=False)
    markdown: str = field(init=False, default="")

    def __post_init__(self):
        self.widget = text_widget()
        self.widget.add_class("campus-resume")

    @property
    def filename(self) -> str:
        return f"campus-{self.slug}-resume.md"

    def update(self, sections: list[tuple[str, str]]) -> None:
        """``sections``: (heading, Markdown body) pairs, empty bodies left out."""
        now = dt.datetime.now()
        lines = [f"# {self.title} — résumé de ma séance", "",
                 f"Campus du Livre Blanc vivant, le {text.fr_date(now.date())} à {now.hour} h {now.minute:02d}.", ""]
        for title, body in sections:
            if body and body.strip():
                lines += [f"## {title}", "", body.strip(), ""]
        self.markdown = "\n".join(lines)
        data = base64.b64encode(self.markdown.encode("utf-8")).decode("ascii")
        self.widget.value = (
            f"<a class='campus-telecharger' download='{self.filename}' href='data:text/markdown;charset=utf-8;base64,"
            f"{data}' style='display:inline-block;padding:0.35em 0.9em;border:1px solid #1f5fa8;border-radius:3px;"
            f"text-decoration:none'>⬇ Télécharger le résumé de ma séance (Markdown)</a> "
            f"<small>vos choix, vos résultats, votre prédiction, les points d'étape ouverts et vos notes</small>")


def frame(*, notice_widget, prediction: Prediction | None, controls, results, checkpoints: Checkpoints,
          notes: widgets.Textarea, summary: Summary, revealed: bool) -> tuple[widgets.VBox, widgets.VBox]:
    """The exercise's page: notice, prediction, then (once predicted) controls and results,
    checkpoints, notes and the summary. Returns (page, the part hidden until the prediction)."""
    after = widgets.VBox([controls, results, heading("Points d'étape"), checkpoints.widget,
                          heading("Vos notes"), notes, summary.widget], layout=widgets.Layout(width="100%"))
    after.add_class("campus-apres-prediction")
    if not revealed:
        after.layout.display = "none"
    parts = [notice_widget] if notice_widget is not None else []
    if prediction is not None:
        parts.append(prediction.widget)
    page = widgets.VBox([*parts, after], layout=widgets.Layout(width="100%"))
    page.add_class("campus-app")
    return page, after


def reveal(after: widgets.VBox) -> None:
    after.layout.display = None
