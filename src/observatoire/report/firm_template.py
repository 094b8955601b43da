"""The fill-in template of a firm's self-diagnosis, as CSV or XLSX (``data/modele/``).

One row per indicator of the firm framework (``data/catalogue/entreprise/cadre.csv``), in its
order, with the columns of the data contract (``data/schema/donnees-entreprise.schema.json``):
``entreprise`` set to the firm's SIREN (left empty in the generic template), ``indicateur``,
``periode`` set to the last full year (to be replaced by the year of the value), ``valeur`` to
fill, ``unite`` from the framework, the other columns empty.

The XLSX workbook has three sheets: « donnees » (the rows; every text column formatted as Text,
``@``, so that a SIREN stays a code), « instructions » (how to fill it and the meaning of each
column, taken from the schema) and « cadre » (each indicator: pillar, definition, unit, sense,
goalposts, plausible range, applicability, reference standard, source).
"""

from __future__ import annotations

import csv
import io
import os
from datetime import datetime
from pathlib import Path

import pandas as pd

from observatoire import paths
from observatoire.engine.firm import (FRAMEWORK_PATH, SCHEMA_PATH, FirmFramework, load_firm_framework,
                                      load_firm_schema, parse_firm_code)
from observatoire.engine.validate import LAST_OBSERVED_YEAR
from observatoire.errors import Problem, ValidationError
from observatoire.text import fr_int

GENERIC_DIRECTORY = paths.DATA / "modele"
GENERIC_NAME = "modele-entreprise"
SUFFIXES = (".csv", ".xlsx")
#: The year written in each row: the last full year.
TEMPLATE_YEAR = str(LAST_OBSERVED_YEAR - 1)
TEXT_FORMAT = "@"
#: Columns of the « cadre » sheet: (column of the sheet, heading).
FRAMEWORK_COLUMNS = (("code", "code"), ("pilier", "pilier"), ("libelle", "libelle"), ("definition", "definition"),
                     ("unite", "unite"), ("direction", "sens"), ("borne_basse", "borne_basse"),
                     ("borne_haute", "borne_haute"), ("cible", "cible"), ("min_plausible", "min_plausible"),
                     ("max_plausible", "max_plausible"), ("commun", "commun"), ("applicabilite", "applicabilite"),
                     ("referentiel", "referentiel"), ("source", "source"), ("source_url", "source_url"))
_DOCUMENT_DATE = datetime(2026, 1, 1)  # fixed: same inputs, same workbook


def firm_template_columns() -> list[str]:
    """The columns of the firm data contract, in the schema's order."""
    return [f["name"] for f in load_firm_schema()["fields"]]


def firm_template_rows(code: str | None = None, framework: FirmFramework | None = None) -> pd.DataFrame:
    """The rows to fill, all text: one per indicator of the firm framework."""
    meta = (framework or load_firm_framework()).indicators
    rows = pd.DataFrame({c: "" for c in firm_template_columns()}, index=range(len(meta)))
    rows["entreprise"] = code or ""
    rows["indicateur"] = meta.index.astype(str)
    rows["periode"] = TEMPLATE_YEAR
    rows["unite"] = meta["unite"].astype(str).to_numpy()
    return rows


def canonical_siren(code: str) -> str:
    """The SIREN of ``code`` as the validator reads it; ValidationError (French) otherwise."""
    siren, error, _warning = parse_firm_code(code)
    if error:
        raise ValidationError([Problem("code de l'entreprise", None, None, str(code), error)])
    return siren


def write_firm_template(path: str | os.PathLike, code: str | None = None,
                        framework: FirmFramework | None = None) -> Path:
    """Write the template of firm ``code`` (a SIREN; None: the generic template) to ``path``, CSV
    or XLSX according to its extension; return the path. ValueError (French) on another
    extension, ValidationError on a code that is not a SIREN."""
    path = Path(path)
    if path.suffix.lower() not in SUFFIXES:
        raise ValueError(f"extension « {path.suffix or '(aucune)'} » non prise en charge pour "
                         f"{path.name} : choisissez un fichier .xlsx ou .csv")
    framework = framework or load_firm_framework()
    code = canonical_siren(code) if code else None
    rows = firm_template_rows(code, framework)
    if path.suffix.lower() == ".csv":
        out = io.StringIO()
        writer = csv.writer(out, lineterminator="\n")
        writer.writerow(rows.columns)
        writer.writerows(rows.itertuples(index=False))
        path.write_bytes(out.getvalue().encode("utf-8"))
    else:
        _workbook(rows, framework, code).save(path)
    return path


def default_output(code: str | None) -> Path:
    """``modele-entreprise-SIREN.xlsx`` (``modele-entreprise.xlsx`` without a code), here."""
    return Path(f"{GENERIC_NAME}-{code}.xlsx" if code else f"{GENERIC_NAME}.xlsx")


# -- the workbook ------------------------------------------------------------------------

def _workbook(rows: pd.DataFrame, framework: FirmFramework, code: str | None):
    from openpyxl import Workbook

    wb = Workbook()
    wb.properties.creator = "Observatoire de la résilience"
    wb.properties.title = "Modèle d'autodiagnostic d'une entreprise"
    wb.properties.created = _DOCUMENT_DATE
    wb.properties.modified = _DOCUMENT_DATE
    _data_sheet(wb.active, rows, framework)
    _instructions_sheet(wb.create_sheet("instructions"), framework, code)
    _framework_sheet(wb.create_sheet("cadre"), framework)
    return wb


def _header(ws, names) -> None:
    from openpyxl.styles import Font, PatternFill

    ws.append(list(names))
    for cell in ws[1]:
        cell.font = Font(bold=True)
        cell.fill = PatternFill("solid", fgColor="DDE4EE")
        cell.number_format = TEXT_FORMAT
    ws.freeze_panes = "A2"


def _data_sheet(ws, rows: pd.DataFrame, framework: FirmFramework) -> None:
    from openpyxl.comments import Comment
    from openpyxl.utils import get_column_letter

    ws.title = "donnees"
    columns = list(rows.columns)
    _header(ws, columns)
    for record in rows.itertuples(index=False):
        ws.append([None if value == "" else value for value in record])
    widths = {"entreprise": 14, "indicateur": 40, "periode": 9, "valeur": 12, "unite": 26, "source": 36,
              "commentaire": 40, "extrait": 40}
    for k, name in enumerate(columns, start=1):
        letter = get_column_letter(k)
        ws.column_dimensions[letter].width = widths.get(name, 18)
        if name == "valeur":
            continue  # a number, typed with a comma or a point
        ws.column_dimensions[letter].number_format = TEXT_FORMAT
        for (cell,) in ws.iter_rows(min_row=2, max_row=ws.max_row, min_col=k, max_col=k):
            cell.number_format = TEXT_FORMAT
    meta = framework.indicators
    k = columns.index("indicateur") + 1
    for (cell,) in ws.iter_rows(min_row=2, max_row=ws.max_row, min_col=k, max_col=k):
        m = meta.loc[cell.value]
        note = (f"{m['libelle']}\nUnité : {m['unite']}\nPlage plausible : {_plain(m['min_plausible'])} à "
                f"{_plain(m['max_plausible'])}\nPour : {m['applicabilite'] or 'toutes les entreprises'}")
        cell.comment = Comment(note, "Observatoire", width=340, height=140)
    ws.auto_filter.ref = ws.dimensions


def _plain(x) -> str:
    return f"{float(x):g}".replace(".", ",")


def _instructions_sheet(ws, framework: FirmFramework, code: str | None) -> None:
    from openpyxl.styles import Alignment, Font

    wrap = Alignment(wrap_text=True, vertical="top")
    ws.column_dimensions["A"].width = 24
    ws.column_dimensions["B"].width = 110

    def line(label: str = "", text: str = "", size: int = 11) -> None:
        ws.append([label or None, text or None])
        row = ws.max_row
        for cell in ws[row]:
            cell.alignment = wrap
            cell.number_format = TEXT_FORMAT
        ws.cell(row, 1).font = Font(bold=True, size=size)

    fw = framework.framework
    pillars = " ; ".join(f"« {fw.labels[p]} » ({fr_int(len(fw.children(p)))} indicateurs)" for p in framework.pillars)
    line("Autodiagnostic de performance globale et de résilience d'une entreprise", size=14)
    ws.merge_cells(start_row=1, start_column=1, end_row=1, end_column=2)
    line()
    line("Votre entreprise")
    if code:
        line("SIREN", code)
        line("", "La colonne entreprise de la feuille « donnees » porte déjà ce SIREN.")
    else:
        line("", "Modèle générique : inscrivez le SIREN de l'entreprise (9 chiffres) dans la colonne entreprise "
                 "de chaque ligne, ou créez un modèle pré-rempli : observatoire modele --entreprise SIREN.")
    line()
    line("Ce que l'on mesure")
    line("", f"{fr_int(len(framework.indicators))} indicateurs mesurés dans l'entreprise, par l'entreprise, "
             f"rangés en trois piliers : {pillars}. Chacun est noté de 0 à 100 entre ses bornes, puis les "
             "notes sont moyennées par pilier et les piliers en un indice. La feuille « cadre » donne la "
             "définition, l'unité, les bornes et le référentiel de chaque indicateur (ISO 22301, ISO 26000, "
             "ESRS, index de l'égalité professionnelle).")
    line()
    line("Comment remplir")
    steps = [
        ("1. Les lignes", "La feuille « donnees » compte une ligne par indicateur. Une ligne = une entreprise, "
         "un indicateur, une année, une valeur."),
        ("2. L'année", f"Chaque ligne propose l'année {TEMPLATE_YEAR} : remplacez-la par l'année (ou l'exercice) "
         "de la valeur. Pour suivre un indicateur dans le temps, ajoutez une ligne par année ; le calcul retient "
         "l'année la plus récente."),
        ("3. La valeur", "Saisissez la valeur dans l'unité indiquée, avec une virgule ou un point décimal "
         "(12,5 ou 12.5), sans écrire l'unité dans la cellule. Elle doit rester dans la plage plausible "
         "(feuille « cadre »)."),
        ("4. Sans objet", "Supprimez la ligne d'un indicateur sans objet pour l'entreprise (l'index de l'égalité "
         "sous 50 salariés, les matières achetées pour une entreprise de services) ou que vous ne savez pas "
         "mesurer : une ligne sans valeur est refusée. Un pilier reste calculé tant que la moitié de ses "
         "indicateurs (en poids) est renseignée."),
        ("5. La source", "Dites d'où vient chaque valeur (registre, logiciel, document) dans la colonne source, "
         "et son périmètre (sites, filiales) dans la colonne commentaire. Les colonnes producteur à extrait sont "
         "facultatives : elles servent quand la valeur vient d'un document publié."),
        ("6. Ne pas renommer", "Gardez le nom de la feuille « donnees » et les en-têtes de colonnes. Les "
         "feuilles « instructions » et « cadre » sont ignorées à la lecture."),
        ("7. Vérifier et calculer", "La commande « observatoire entreprise FICHIER » vérifie le fichier (tous "
         "les problèmes en une fois, avec leur ligne et leur colonne) puis affiche le profil de l'entreprise."),
    ]
    for label, text in steps:
        line(label, text)
    line()
    line("Les colonnes")
    for f in load_firm_schema()["fields"]:
        required = "colonne obligatoire" if f.get("constraints", {}).get("required") else "colonne facultative"
        line(f["name"], f"{f['title']} ({required}). {f['description']} Exemple : {f['example']}")
    line()
    line("Le contrat de données")
    line("Schéma", f"{SCHEMA_PATH.relative_to(paths.ROOT).as_posix()} (Table Schema, format Frictionless) ; il "
                   "fait foi en cas de doute.")
    line("Cadre", f"{FRAMEWORK_PATH.relative_to(paths.ROOT).as_posix()} : les indicateurs, les piliers, leurs "
                  "poids et leurs bornes, et la revue de chaque indicateur.")


def _framework_sheet(ws, framework: FirmFramework) -> None:
    from openpyxl.styles import Alignment
    from openpyxl.utils import get_column_letter

    nodes = framework.framework.nodes
    meta = framework.indicators
    table = pd.DataFrame({
        "code": meta.index, "pilier": [framework.framework.labels[framework.pillar_of(i)] for i in meta.index],
        **{c: meta[c].to_numpy() for c in ("libelle", "definition", "unite")},
        "direction": ["plus = mieux" if nodes.at[i, "direction"] > 0 else "moins = mieux" for i in meta.index],
        **{c: nodes.loc[meta.index, c].to_numpy() for c in ("borne_basse", "borne_haute", "cible")},
        **{c: meta[c].to_numpy() for c in ("min_plausible", "max_plausible")},
        "commun": framework.communs.reindex(meta["commun"]).to_numpy(),
        **{c: meta[c].to_numpy() for c in ("applicabilite", "referentiel", "source", "source_url")},
    })
    _header(ws, [heading for _, heading in FRAMEWORK_COLUMNS])
    for record in table[[c for c, _ in FRAMEWORK_COLUMNS]].itertuples(index=False):
        ws.append([None if (isinstance(v, float) and pd.isna(v)) or v == "" else
                   (v.item() if hasattr(v, "item") else v) for v in record])
    widths = {"code": 36, "pilier": 24, "libelle": 40, "definition": 70, "applicabilite": 30, "source": 50,
              "source_url": 40}
    for k, (_, heading) in enumerate(FRAMEWORK_COLUMNS, start=1):
        ws.column_dimensions[get_column_letter(k)].width = widths.get(heading, 14)
        if heading in ("definition", "libelle"):
            for (cell,) in ws.iter_rows(min_row=2, min_col=k, max_col=k):
                cell.alignment = Alignment(wrap_text=True, vertical="top")
    ws.auto_filter.ref = ws.dimensions
