"""Every figure is also data: the numbers a figure draws, as a CSV, and its metadata, as JSON.

One mechanism for the book and the national site. A figure is drawn from a table; the same
table, with its title, source, millésime, licence and units, is a :class:`FigureData`:

* ``FigureData.files()`` gives the two files, ``<name>.csv`` (UTF-8, comma, dot decimals, LF —
  the dialect of the Observatoire's open data) and ``<name>.json`` (metadata, with the CSV's
  SHA-256), byte for byte the same for the same numbers;
* on the national site, the worker writes them next to the page and :meth:`FigureData.links`
  gives the HTML links (``base`` = the folder of the files, relative to the page);
* in the book, :func:`show` displays the figure, then the two links, as ``data:`` URIs: the
  numbers travel inside the executed notebook, so a chapter kept by the build's cache, the
  single-page edition and a territory's own book all carry them, with no file to copy.

A notebook cell of the book::

    fig = figures.profile_by_commun(fiche.communs)
    figure_data.show(fig, figure_data.FigureData(
        "profil-communs", "Score par commun", fiche.communs.rename("score").to_frame(),
        source="Observatoire, calcul sur les données du chapitre", millesime="2026",
        units={"score": "score 0-100"}))
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
import math
import re
from dataclasses import dataclass, field
from html import escape

import pandas as pd

__all__ = ["FigureData", "LICENCE", "show", "show_links", "read_csv"]

#: Licence of the numbers the Observatoire computes (its own open data).
LICENCE = "Licence Ouverte 2.0 (Etalab)"
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


@dataclass(frozen=True)
class FigureData:
    """The numbers of one figure and what they are.

    ``data``: the table drawn (a named index becomes the first column(s)); ``units``: column →
    unit, for the columns that have one. ``name``: file stem (letters, digits, ``-``, ``_``, ``.``).
    """

    name: str
    title: str
    data: pd.DataFrame
    source: str
    millesime: str
    licence: str = LICENCE
    units: dict[str, str] = field(default_factory=dict)
    description: str = ""

    def __post_init__(self):
        if not _NAME.fullmatch(self.name):
            raise ValueError(f"nom de fichier de figure invalide : « {self.name} »")
        unknown = set(self.units) - set(self.table().columns)
        if unknown:
            raise ValueError(f"unités de colonnes absentes du tableau de « {self.name} » : {sorted(unknown)}")

    def table(self) -> pd.DataFrame:
        """The table as written to the CSV: a named index becomes column(s), a default one is dropped."""
        data = self.data.to_frame() if isinstance(self.data, pd.Series) else self.data
        named = any(n is not None for n in data.index.names)
        return data.reset_index() if named else data.reset_index(drop=True)

    def csv_bytes(self) -> bytes:
        buffer = io.StringIO(newline="")
        self.table().to_csv(buffer, index=False, lineterminator="\n", float_format=_float)
        return buffer.getvalue().encode("utf-8")

    def metadata(self) -> dict:
        table = self.table()
        return {
            "titre": self.title,
            "description": self.description,
            "source": self.source,
            "millesime": self.millesime,
            "licence": self.licence,
            "fichier": f"{self.name}.csv",
            "colonnes": [{"nom": str(c), "unite": self.units.get(c, "")} for c in table.columns],
            "lignes": len(table),
            "sha256": hashlib.sha256(self.csv_bytes()).hexdigest(),
            "format": "CSV UTF-8, séparateur virgule, décimales avec un point, cellule vide = valeur absente",
        }

    def json_bytes(self) -> bytes:
        return (json.dumps(self.metadata(), ensure_ascii=False, indent=1) + "\n").encode("utf-8")

    def files(self) -> dict[str, bytes]:
        """``{"<name>.csv": …, "<name>.json": …}``."""
        return {f"{self.name}.csv": self.csv_bytes(), f"{self.name}.json": self.json_bytes()}

    def links(self, base: str | None = "") -> str:
        """HTML paragraph with the links to the CSV and the JSON: files under ``base`` (a folder
        relative to the page, ``""`` for the page's own), or ``data:`` URIs when ``base`` is None."""
        if base is None:
            csv_href = "data:text/csv;charset=utf-8;base64," + base64.b64encode(self.csv_bytes()).decode("ascii")
            json_href = "data:application/json;base64," + base64.b64encode(self.json_bytes()).decode("ascii")
        else:
            prefix = base if not base or base.endswith("/") else base + "/"
            csv_href, json_href = f"{prefix}{self.name}.csv", f"{prefix}{self.name}.json"
        label = escape(self.title)
        return (f'<p class="donnees-figure">Données de la figure « {label} » : '
                f'<a href="{escape(csv_href)}" download="{self.name}.csv" type="text/csv">tableau CSV</a> · '
                f'<a href="{escape(json_href)}" download="{self.name}.json" type="application/json">'
                f"métadonnées JSON</a> (source : {escape(self.source)} ; millésime {escape(self.millesime)} ; "
                f"{escape(self.licence)}).</p>")


def _float(x) -> str:  # used by pandas through float_format
    return repr(float(x)) if math.isfinite(x) else ""


#: Columns read back as text whatever they hold (territory codes: 01004, 200046977).
TEXT_COLUMNS = ("code", "territoire", "commune", "epci", "departement", "region")


def read_csv(content: bytes) -> pd.DataFrame:
    """Read back a figure's CSV: codes and labels as text, numbers as numbers, empty as missing."""
    frame = pd.read_csv(io.BytesIO(content), dtype=str, keep_default_na=False, na_values=[""], encoding="utf-8")
    for column in frame.columns:
        if column in TEXT_COLUMNS:
            continue
        numbers = pd.to_numeric(frame[column], errors="coerce")
        if (numbers.notna() == frame[column].notna()).all():
            frame[column] = numbers.astype("Int64") if frame[column].dropna().str.fullmatch(r"-?\d+").all() \
                else numbers.astype("float64")
    return frame


class _Links:
    def __init__(self, html: str):
        self.html = html

    def _repr_html_(self) -> str:
        return self.html

    def __repr__(self) -> str:  # text outputs (the PDF's text fallbacks never need the URIs)
        return "Données de la figure : tableau CSV et métadonnées JSON (édition en ligne)."


def show_links(data: FigureData) -> None:
    """In a notebook: display the links to a figure's data (``data:`` URIs), in a cell of their
    own after the figure's cell: a figure cell keeps a single output, its figure and caption."""
    from IPython.display import display

    display(_Links(data.links(None)))


def show(fig, data: FigureData) -> None:
    """In a notebook: display ``fig``, close it, then display the links to its data (``data:``
    URIs). ``fig`` may also be an object that displays itself (a map of :mod:`observatoire.report.maps`)."""
    from IPython.display import display

    display(fig)
    try:
        import matplotlib.pyplot as plt
        from matplotlib.figure import Figure

        if isinstance(fig, Figure):
            plt.close(fig)
    except ImportError:  # pragma: no cover - matplotlib is a dependency
        pass
    display(_Links(data.links(None)))
