"""The fill-in template of a territory data file, as CSV or XLSX (``data/modele/``).

One row per indicator of the catalogue, in catalogue order, with the columns of the data
contract (``data/schema/donnees-territoire.schema.json``): ``territoire`` set to the territory's
canonical code (left empty in the generic template), ``indicateur``, a ``periode`` of the form
the indicator's periodicity expects (to be replaced by the period of the value), ``valeur`` to
fill, ``unite`` from the catalogue, ``source`` and ``commentaire`` left empty.

The XLSX workbook has three sheets: « donnees » (the rows; every text column formatted as Text,
``@``, so that ``01004`` or ``2A004`` stay codes), « instructions » (how to fill it, the
territory's reference facts, the meaning of each column, taken from the schema) and
« catalogue » (the main columns of the catalogue).

Where the territory's facts go: the reference facts (name, level, population, département,
région, number of communes) are written in the XLSX « instructions » sheet only. A CSV holds
nothing but rows of the data contract — a comment line would break it, and the ``commentaire``
column describes a value, not the file — so ``observatoire modele`` prints the facts instead.
"""

from __future__ import annotations

from observatoire import paths
import csv
import io
import os
from datetime import datetime
from pathlib import Path

import pandas as pd

from observatoire.engine.catalogue import Catalogue, load_catalogue
from observatoire.engine.reference import Reference, Territory, load_reference
from observatoire.text import fr_int, fr_plain
from observatoire.engine.validate import LAST_OBSERVED_YEAR, SCHEMA_PATH, expected_period, load_schema

ROOT = paths.ROOT
GENERIC_DIRECTORY = ROOT / "data" / "modele"
GENERIC_NAME = "modele-donnees"
SUFFIXES = (".csv", ".xlsx")

#: The period written in each row, by periodicity: the last full year, a month of it, and the
#: book's reference horizon. The person filling the file replaces it by the period of the value.
TEMPLATE_PERIODS = {
    "annuelle": str(LAST_OBSERVED_YEAR - 1),
    "mensuelle": f"{LAST_OBSERVED_YEAR - 1}-09",
    "projection": "2050",
}
LEVEL_NAMES = {
    "commune": "commune",
    "epci": "EPCI à fiscalité propre",
    "departement": "département",
    "region": "région",
    "france": "France (métropole et départements d'outre-mer)",
}
#: Columns of the catalogue sheet, in this order.
CATALOGUE_COLUMNS = ("id", "libelle", "definition", "axe", "commun", "acteur", "echelle_spatiale",
                     "echelle_temporelle", "periodicite", "unite", "direction", "borne_basse",
                     "borne_haute", "cible", "min_plausible", "max_plausible", "source", "source_url")
TEXT_FORMAT = "@"
# Fixed document dates, so that the same inputs give the same workbook.
_DOCUMENT_DATE = datetime(2026, 1, 1)


def template_columns() -> list[str]:
    """The columns of the data contract, in the schema's order."""
    return [f["name"] for f in load_schema()["fields"]]


def template_rows(code: str | None, catalogue: Catalogue | None = None) -> pd.DataFrame:
    """The rows to fill, all text (empty where the person fills in): one per indicator."""
    meta = (catalogue or load_catalogue()).indicators
    rows = pd.DataFrame({
        "territoire": code or "",
        "indicateur": meta.index.astype(str),
        "periode": meta["periodicite"].map(TEMPLATE_PERIODS).to_numpy(),
        "valeur": "",
        "unite": meta["unite"].astype(str).to_numpy(),
        "source": "",
        "commentaire": "",
    })
    for column in template_columns()[len(rows.columns):]:  # the optional provenance columns
        rows[column] = ""
    return rows[template_columns()]


def territory_facts(territory: Territory, reference: Reference) -> list[tuple[str, str]]:
    """The reference facts of a territory, as (label, French text) pairs."""
    facts = [("Territoire", territory.nom), ("Code", territory.code),
             ("Niveau", LEVEL_NAMES[territory.level]),
             ("Population municipale", f"{fr_int(territory.population)} habitants")]
    if territory.departement:
        facts.append(("Département", f"{reference.territory(territory.departement).nom} ({territory.departement})"))
    if territory.region:
        facts.append(("Région", f"{reference.territory(territory.region).nom} ({territory.region})"))
    if territory.level != "commune":
        facts.append(("Communes", fr_int(len(territory.communes))))
    return facts


def write_template(code: str | None, path: str | os.PathLike, catalogue: Catalogue | None = None,
                   reference: Reference | None = None) -> Path:
    """Write the template of territory ``code`` (None: the generic template) to ``path``,
    CSV or XLSX according to its extension; return the path.

    Raises :class:`~observatoire.engine.reference.TerritoryCodeError` on an unknown code and
    ValueError (French message) on another extension.
    """
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise ValueError(f"extension « {path.suffix or '(aucune)'} » non prise en charge pour "
                         f"{path.name} : choisissez un fichier .xlsx ou .csv")
    catalogue = catalogue or load_catalogue()
    territory = None
    if code is not None:
        reference = reference or load_reference()
        territory = reference.territory(str(code))
    rows = template_rows(territory.code if territory else None, catalogue)
    if suffix == ".csv":
        path.write_bytes(_csv_bytes(rows))
    else:
        facts = territory_facts(territory, reference) if territory else None
        _workbook(rows, catalogue, facts).save(path)
    return path


def _csv_bytes(rows: pd.DataFrame) -> bytes:
    """UTF-8 without BOM, comma separator, LF line ends: the repository's CSV convention."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(rows.columns)
    writer.writerows(rows.itertuples(index=False))
    return out.getvalue().encode("utf-8")


# -- the workbook ------------------------------------------------------------------------

def _workbook(rows: pd.DataFrame, catalogue: Catalogue, facts: list[tuple[str, str]] | None):
    from openpyxl import Workbook

    wb = Workbook()
    wb.properties.creator = "Observatoire de la résilience"
    wb.properties.title = "Modèle de fichier de données d'un territoire"
    wb.properties.created = _DOCUMENT_DATE
    wb.properties.modified = _DOCUMENT_DATE
    _data_sheet(wb.active, rows, catalogue)
    _instructions_sheet(wb.create_sheet("instructions"), catalogue, facts)
    _catalogue_sheet(wb.create_sheet("catalogue"), catalogue)
    return wb


def _header(ws, names) -> None:
    from openpyxl.styles import Font, PatternFill

    ws.append(list(names))
    for cell in ws[1]:
        cell.font = Font(bold=True)
        cell.fill = PatternFill("solid", fgColor="DDE4EE")
        cell.number_format = TEXT_FORMAT
    ws.freeze_panes = "A2"


def _data_sheet(ws, rows: pd.DataFrame, catalogue: Catalogue) -> None:
    from openpyxl.comments import Comment
    from openpyxl.utils import get_column_letter

    ws.title = "donnees"
    columns = list(rows.columns)
    _header(ws, columns)
    meta = catalogue.indicators
    for record in rows.itertuples(index=False):
        ws.append([None if value == "" else value for value in record])
    widths = {"territoire": 13, "indicateur": 38, "periode": 10, "valeur": 12, "unite": 26,
              "source": 40, "commentaire": 40}
    for k, name in enumerate(columns, start=1):
        letter = get_column_letter(k)
        ws.column_dimensions[letter].width = widths.get(name, 16)
        if name == "valeur":
            continue  # a number: typed with a comma or a point, as the spreadsheet likes
        # Text, also for the rows a person adds: codes keep their leading zero and letters,
        # and a month stays « 2025-09 » instead of becoming a date.
        ws.column_dimensions[letter].number_format = TEXT_FORMAT
        for (cell,) in ws.iter_rows(min_row=2, max_row=ws.max_row, min_col=k, max_col=k):
            cell.number_format = TEXT_FORMAT
    indicator_column = columns.index("indicateur") + 1
    for (cell,) in ws.iter_rows(min_row=2, max_row=ws.max_row, min_col=indicator_column, max_col=indicator_column):
        m = meta.loc[cell.value]
        note = (f"{m['libelle']}\nUnité : {m['unite']}\nPériode : {expected_period(m['periodicite'])}\n"
                f"Plage plausible : {_plain(m['min_plausible'])} à {_plain(m['max_plausible'])}")
        cell.comment = Comment(note, "Observatoire", width=320, height=130)
    ws.auto_filter.ref = ws.dimensions


def _plain(x: float) -> str:
    return fr_plain(x)


def _instructions_sheet(ws, catalogue: Catalogue, facts: list[tuple[str, str]] | None) -> None:
    from openpyxl.styles import Alignment, Font

    wrap = Alignment(wrap_text=True, vertical="top")
    ws.column_dimensions["A"].width = 24
    ws.column_dimensions["B"].width = 110

    def line(label: str = "", text: str = "", size: int = 11) -> None:
        """A row: a label (bold) and its text; a label alone is a heading."""
        ws.append([label or None, text or None])
        row = ws.max_row
        for cell in ws[row]:
            cell.alignment = wrap
            cell.number_format = TEXT_FORMAT
        ws.cell(row, 1).font = Font(bold=True, size=size)

    n = len(catalogue.indicators)
    line("Modèle de fichier de données de l'Observatoire de la résilience", size=14)
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=2)
    line()
    if facts:
        line("Votre territoire")
        for label, value in facts:
            line(label, value)
        line("", "Ces faits viennent du Code officiel géographique 2026 et des populations légales de l'INSEE. "
                 "La colonne territoire de la feuille « donnees » porte déjà le code du territoire.")
    else:
        line("Votre territoire")
        line("", "Modèle générique : inscrivez le code de votre territoire dans la colonne territoire "
                 "de chaque ligne (ou créez un modèle pré-rempli : observatoire modele CODE).")
    line()
    line("Comment remplir")
    steps = [
        ("1. Les lignes", f"La feuille « donnees » compte une ligne par indicateur du catalogue ({fr_int(n)} "
         "indicateurs). Une ligne = un territoire, un indicateur, une période, une valeur."),
        ("2. La période", "Chaque ligne propose une période de la forme attendue : "
         f"« {TEMPLATE_PERIODS['annuelle']} » pour un indicateur annuel (une année jusqu'à "
         f"{LAST_OBSERVED_YEAR}), « {TEMPLATE_PERIODS['mensuelle']} » pour un indicateur mensuel "
         f"(AAAA-MM), « {TEMPLATE_PERIODS['projection']} » pour une projection (un horizon après "
         f"{LAST_OBSERVED_YEAR}). Remplacez-la par la période de votre valeur."),
        ("3. Les séries", "Pour une série temporelle, ajoutez une ligne par période : copiez la ligne de "
         "l'indicateur et changez la période. Un même territoire, indicateur et période ne doit "
         "apparaître qu'une fois."),
        ("4. La valeur", "Saisissez la valeur dans l'unité indiquée, avec une virgule ou un point "
         "décimal (12,5 ou 12.5) ; les espaces entre milliers sont acceptés. N'écrivez pas l'unité dans "
         "la cellule (12,5 et non 12,5 %). La valeur doit rester dans la plage plausible de "
         "l'indicateur (feuille « catalogue »)."),
        ("5. Les lignes vides", "Supprimez les lignes des indicateurs que vous ne renseignez pas : une "
         "ligne sans valeur est refusée à la validation."),
        ("6. Les codes", "Les codes restent du texte (colonnes au format Texte) : « 01004 » garde son "
         "zéro initial, « 2A004 » ses lettres. Formes acceptées : commune « 33063 » ou « 2A004 », EPCI "
         "par son SIREN « 200046977 », département « DEP-33 », région « REG-94 », France « FR »."),
        ("7. Ne pas renommer", "Gardez le nom de la feuille « donnees » et les en-têtes de colonnes. Les "
         "feuilles « instructions » et « catalogue » sont ignorées à la lecture."),
        ("8. Vérifier", "La commande « observatoire valider FICHIER » liste en une fois, en français, "
         "chaque problème du fichier avec sa ligne et sa colonne."),
    ]
    for label, text in steps:
        line(label, text)
    line()
    line("Les colonnes")
    for field in load_schema()["fields"]:
        required = "colonne obligatoire" if field.get("constraints", {}).get("required") else "colonne facultative"
        line(field["name"], f"{field['title']} ({required}). {field['description']} "
                            f"Exemple : {field['example']}")
    line()
    line("Le contrat de données")
    line("Schéma", f"{SCHEMA_PATH.relative_to(ROOT).as_posix()} (Table Schema, format Frictionless) ; "
                   "il fait foi en cas de doute.")
    line("Catalogue", "data/catalogue/indicateurs.csv, et l'annexe « Dictionnaire des données » du "
                      "Livre Blanc : définition, unité, sens, bornes et source de chaque indicateur.")


def _catalogue_sheet(ws, catalogue: Catalogue) -> None:
    from openpyxl.styles import Alignment
    from openpyxl.utils import get_column_letter

    meta = catalogue.indicators.reset_index()
    columns = [c for c in CATALOGUE_COLUMNS if c in meta.columns]
    _header(ws, columns)
    for record in meta[columns].itertuples(index=False):
        ws.append([None if pd.isna(v) else (v.item() if hasattr(v, "item") else v) for v in record])
    widths = {"id": 34, "libelle": 40, "definition": 70, "source": 50, "source_url": 40}
    for k, name in enumerate(columns, start=1):
        ws.column_dimensions[get_column_letter(k)].width = widths.get(name, 14)
        if name == "definition":
            for (cell,) in ws.iter_rows(min_row=2, min_col=k, max_col=k):
                cell.alignment = Alignment(wrap_text=True, vertical="top")
    ws.auto_filter.ref = ws.dimensions


# -- command line ------------------------------------------------------------------------

def default_output(code: str | None) -> Path:
    """``modele-donnees-CODE.xlsx`` (``modele-donnees.xlsx`` without a code), in the current folder."""
    return Path(f"{GENERIC_NAME}-{code}.xlsx" if code else f"{GENERIC_NAME}.xlsx")
