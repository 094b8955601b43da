"""Read tables as people really produce them: CSV with `,` or `;`, UTF-8 with or without BOM,
Windows-1252, or XLSX. Every cell is kept as text so that codes such as ``01004`` keep their
form; types are checked later by :mod:`observatoire.validate`, which needs the original text to
quote it back in its messages.
"""

from __future__ import annotations

import csv
import io
import os
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from observatoire.errors import Problem, ValidationError

#: Column holding the line number of each row as seen in the source file (header = line 1).
LINE = "ligne_source"


@dataclass
class RawTable:
    """A table read as text, with where it came from and how it was decoded."""

    path: str
    rows: pd.DataFrame  # every column str (missing = ""), plus LINE
    encoding: str
    delimiter: str | None
    warnings: list[Problem] = field(default_factory=list)

    @property
    def name(self) -> str:
        return os.path.basename(self.path)


def detect_encoding(raw: bytes) -> str:
    """UTF-8 (with or without BOM) when the bytes decode as such, else Windows-1252.

    French files that are not UTF-8 are in practice Windows-1252 (Excel « CSV (séparateur :
    point-virgule) »). Statistical detectors often guess Mac-Roman for short French texts, which
    turns « é » into « È »: the choice is made explicitly here instead.
    """
    if raw.startswith(b"\xef\xbb\xbf"):
        return "utf-8-sig"
    try:
        raw.decode("utf-8")
        return "utf-8"
    except UnicodeDecodeError:
        return "cp1252"


def detect_delimiter(header_line: str) -> str:
    """`;` when the header has more semicolons than commas (French Excel), else `,`."""
    candidates = {d: header_line.count(d) for d in (";", ",", "\t")}
    best = max(candidates, key=candidates.get)
    return best if candidates[best] > 0 else ","


def read_table(path: str | os.PathLike, sheet: str | None = None) -> RawTable:
    """Read a CSV or XLSX file into a :class:`RawTable` of strings.

    Raises :class:`ValidationError` with a French message when the file is missing, empty or
    unreadable.
    """
    path = Path(path)
    shown = str(path)
    if not path.exists():
        raise ValidationError([Problem(shown, None, None, None, "fichier introuvable")])
    if path.is_dir():
        raise ValidationError(
            [Problem(shown, None, None, None, "c'est un dossier, un fichier CSV ou XLSX est attendu")]
        )
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        return _read_xlsx(path, sheet)
    if suffix in (".csv", ".txt", ".tsv", ""):
        return _read_csv(path)
    raise ValidationError(
        [
            Problem(
                shown, None, None, suffix,
                "format de fichier non pris en charge : un fichier .csv ou .xlsx est attendu",
            )
        ]
    )


def _read_csv(path: Path) -> RawTable:
    raw = path.read_bytes()
    if not raw.strip():
        raise ValidationError([Problem(str(path), None, None, None, "le fichier est vide")])
    encoding = detect_encoding(raw)
    text = raw.decode(encoding)
    first_line = text.splitlines()[0] if text else ""
    delimiter = detect_delimiter(first_line)
    # line_num counts physical lines, so quoted cells spanning lines keep true line numbers.
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    header = [h.strip() for h in next(reader)]
    problems: list[Problem] = []
    rows, lines = [], []
    previous_end = reader.line_num
    for record in reader:
        line = previous_end + 1  # where the record starts, as an editor shows it
        previous_end = reader.line_num
        if not any(cell.strip() for cell in record):
            continue  # blank lines are harmless
        if len(record) != len(header):
            problems.append(
                Problem(
                    str(path), line, None, delimiter.join(record),
                    f"{len(record)} champ(s) au lieu des {len(header)} de l'en-tête "
                    f"(séparateur détecté : « {delimiter} »)",
                )
            )
            continue
        rows.append([cell.strip() for cell in record])
        lines.append(line)
    if problems:
        raise ValidationError(problems)
    frame = pd.DataFrame(rows, columns=header, dtype=object)
    frame[LINE] = lines
    return RawTable(str(path), frame, encoding, delimiter)


def _read_xlsx(path: Path, sheet: str | None) -> RawTable:
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds on a corrupt file
        raise ValidationError(
            [Problem(str(path), None, None, None, f"classeur XLSX illisible ({type(exc).__name__})")]
        ) from None
    if sheet is None:
        # The template's data sheet is called « donnees »; else take the first sheet.
        names = {n.lower(): n for n in workbook.sheetnames}
        sheet = names.get("donnees", names.get("données", workbook.sheetnames[0]))
    worksheet = workbook[sheet]
    records = list(worksheet.iter_rows(values_only=True))
    workbook.close()
    if not records:
        raise ValidationError([Problem(str(path), None, None, None, "la feuille est vide")])
    header = [_cell_text(h) for h in records[0]]
    while header and header[-1] == "":
        header.pop()
    rows, lines = [], []
    for number, record in enumerate(records[1:], start=2):
        cells = [_cell_text(c) for c in record[: len(header)]]
        cells += [""] * (len(header) - len(cells))
        if any(cells):
            rows.append(cells)
            lines.append(number)
    frame = pd.DataFrame(rows, columns=header, dtype=object)
    frame[LINE] = lines
    return RawTable(f"{path} (feuille « {sheet} »)", frame, "xlsx", None)


def _cell_text(value) -> str:
    """Spreadsheet cell as the text a person typed: 2024 not 2024.0, 12.5 not 12.500000001."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float):
        if value.is_integer():
            return str(int(value))
        return repr(round(value, 12))
    if hasattr(value, "strftime"):
        return value.strftime("%Y-%m")  # a month typed as a date by the spreadsheet
    return str(value).strip()
