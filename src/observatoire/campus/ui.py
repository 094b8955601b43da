"""Widgets shared by the Campus exercises: feedback boxes, figures in Output widgets, notices.

Outputs are written into the widgets' state (``Output.outputs``, ``HTML.value``), never through
``with output:`` capture: the state is then the same in Voilà and in the book's static preview,
where no browser captures anything while the notebook runs.
"""

from __future__ import annotations

import base64
import html
import io

import ipywidgets as widgets

#: Kind of feedback → (CSS class suffix, border colour, background, symbol).
KINDS = {
    "succes": ("#1a7f37", "#e9f7ec", "✔"),
    "attention": ("#b35900", "#fff4e5", "⚠"),
    "erreur": ("#b42318", "#fdecea", "✘"),
    "info": ("#1f5fa8", "#eaf2fb", "ℹ"),
}

DEMO_NOTICE = (
    "<strong>Données de démonstration.</strong> Les valeurs d'indicateurs des territoires pilotes "
    "(et de la distribution nationale) sont tirées par un générateur à graine fixe, en attendant "
    "les données de l'enquête : elles ne décrivent pas ces territoires. L'exercice apprend une "
    "méthode, il ne dit rien de leur situation réelle."
)


def escape(text) -> str:
    return html.escape(str(text), quote=True)


def box(kind: str, message_html: str) -> str:
    """An HTML feedback box (``message_html`` is trusted HTML built by the engine)."""
    colour, background, symbol = KINDS[kind]
    return (f'<div class="campus-retour campus-retour-{kind}" style="border-left:4px solid {colour};'
            f'background:{background};padding:0.5em 0.8em;margin:0.3em 0;border-radius:3px;'
            f'line-height:1.45"><span aria-hidden="true" style="color:{colour};font-weight:bold">'
            f'{symbol}</span> {message_html}</div>')


def boxes(items: list[tuple[str, str]]) -> str:
    return "".join(box(kind, message) for kind, message in items)


def feedback_widget() -> widgets.HTML:
    w = widgets.HTML(layout=widgets.Layout(width="100%"))
    w.add_class("campus-feedback")
    return w


def demo_notice() -> widgets.HTML:
    w = widgets.HTML(box("attention", DEMO_NOTICE), layout=widgets.Layout(width="100%"))
    w.add_class("campus-demo")
    return w


def figure_output(fig, dpi: int = 90) -> dict:
    """A matplotlib figure as a display_data output (PNG), the figure then closed."""
    import matplotlib.pyplot as plt

    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, bbox_inches="tight")
    plt.close(fig)
    return {"output_type": "display_data", "metadata": {},
            "data": {"image/png": base64.b64encode(buffer.getvalue()).decode("ascii"),
                     "text/plain": "<Figure>"}}


def html_output(fragment: str) -> dict:
    return {"output_type": "display_data", "metadata": {},
            "data": {"text/html": fragment, "text/plain": "[tableau]"}}


def output_widget(css_class: str) -> widgets.Output:
    w = widgets.Output(layout=widgets.Layout(width="100%"))
    w.add_class(css_class)
    return w


def show(output: widgets.Output, *items: dict) -> None:
    """Replace the content of ``output`` by ``items`` in one state update."""
    output.outputs = tuple(items)


def table_html(frame, css_class: str = "campus-table") -> str:
    """A small DataFrame as an HTML table (French decimal comma for floats)."""
    def fmt(v):
        if isinstance(v, float):
            return "n.d." if v != v else f"{v:.1f}".replace(".", ",")
        return escape(v)

    head = "".join(f"<th style='text-align:left;padding:2px 8px'>{escape(c)}</th>" for c in frame.columns)
    rows = "".join("<tr>" + "".join(f"<td style='padding:2px 8px;text-align:{'right' if isinstance(v, float) else 'left'}'>{fmt(v)}</td>" for v in row) + "</tr>"
                   for row in frame.itertuples(index=False, name=None))
    return (f"<table class='{css_class}' style='border-collapse:collapse;font-size:0.92em'>"
            f"<thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>")


def link(url: str, text: str) -> str:
    return f'<a href="{escape(url)}" target="_blank" rel="noopener">{escape(text)}</a>'
