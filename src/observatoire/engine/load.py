"""Read tables as people really produce them: CSV with `,` or `;`, UTF-8 with or without BOM,
Windows-1252, or XLSX. Every cell is kept as text so that codes such as ``01004`` keep their
form; types are checked later by :mod:`observatoire.engine.validate`, which needs the original text to
quote it back in its messages.

A CSV without quotes (one record per line) is read by Arrow's multithreaded parser, a national
file of millions of rows in about a second; any other CSV by the ``csv`` module, which follows
quoted cells across lines. Both give the same table (same cells, same line numbers).
"""

from __future__ import annotations

import codecs
import csv
import io
import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
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
    #: The text columns in factorised form, when the reader computed it on its way (large CSV
    #: files): lets validation skip hashing millions of cells a second time. See :meth:`codes`.
    factorised: Factorised | None = field(default=None, repr=False, compare=False)

    @property
    def name(self) -> str:
        return os.path.basename(self.path)

    def codes(self, position: int) -> tuple[np.ndarray, np.ndarray] | None:
        """``(codes, texts)`` of the column at ``position`` (``texts[codes]`` is the column).

        None when the reader did not compute it, or when ``rows`` or that column has been
        replaced since. Cells edited in place are not detected: treat ``rows`` as read-only
        (copy it, or build a new RawTable, to change it).
        """
        f = self.factorised
        if f is None or f.rows is not self.rows or position not in f.columns:
            return None
        codes, texts, values = f.columns[position]
        current = self.rows.iloc[:, position].to_numpy()
        if len(current) != len(codes) or not np.may_share_memory(current, values):
            return None
        return codes, texts


@dataclass(frozen=True)
class Factorised:
    """Column position → (integer codes, distinct texts, the column's array) of ``rows``."""

    rows: pd.DataFrame
    columns: dict[int, tuple[np.ndarray, np.ndarray, np.ndarray]]


def detect_encoding(raw: bytes) -> str:
    """UTF-8 (with or without BOM) when the bytes decode as such, else Windows-1252.

    French files that are not UTF-8 are in practice Windows-1252 (Excel « CSV (séparateur :
    point-virgule) »). Statistical detectors often guess Mac-Roman for short French texts, which
    turns « é » into « È »: the choice is made explicitly here instead.
    """
    if raw.startswith(b"\xef\xbb\xbf"):
        return "utf-8-sig"
    return "utf-8" if _is_utf8(raw) else "cp1252"


def _is_utf8(raw: bytes, chunk: int = 1 << 20) -> bool:
    """Whether ``raw`` decodes as UTF-8, checked by pieces (no copy of a large file as text)."""
    if raw.isascii():
        return True
    decoder = codecs.getincrementaldecoder("utf-8")()
    view = memoryview(raw)
    try:
        for start in range(0, len(view), chunk):
            decoder.decode(view[start:start + chunk])
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


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
    if not raw[:4096].strip() and not raw.strip():
        raise ValidationError([Problem(str(path), None, None, None, "le fichier est vide")])
    # Arrow checks every cell it reads as UTF-8: when the fast path reads the file as UTF-8,
    # detect_encoding would have said so, and the file needs no second pass to tell.
    fast = None if raw.startswith(b"\xef\xbb\xbf") else _read_csv_fast(path, raw, "utf-8")
    if fast is not None:
        return fast
    encoding = detect_encoding(raw)
    fast = _read_csv_fast(path, raw, encoding) if encoding != "utf-8" else None
    if fast is not None:
        return fast
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
    frame[LINE] = np.asarray(lines, dtype="int64")
    return RawTable(str(path), frame, encoding, delimiter)


def _read_csv_fast(path: Path, raw: bytes, encoding: str) -> RawTable | None:
    """The same table as the csv-module reader above, read by Arrow's multithreaded CSV parser.

    Taken only when every physical line is one record, so that the line of row ``i`` is
    ``i + 2``: no quote character (hence no quoted separator or line break), no NUL, no lone
    carriage return. Arrow refuses a line with another number of fields than the header (and
    None is returned: the exact path then reports every such line). Each column is
    dictionary-encoded by Arrow, its distinct texts stripped here, and the codes kept for
    validation; the rows are plain ``str`` objects in an object-dtype frame, as on the exact path.
    """
    import pyarrow as pa
    from pyarrow import csv as arrow_csv

    if b'"' in raw or b"\x00" in raw or (b"\r" in raw and raw.count(b"\r") != raw.count(b"\r\n")):
        return None
    end = raw.find(b"\n")
    try:
        first_line = (raw if end < 0 else raw[:end]).decode(encoding).rstrip("\r")
    except UnicodeDecodeError:
        return None
    if not first_line:
        return None  # no header: the exact path reports every line
    delimiter = detect_delimiter((first_line.splitlines() or [""])[0])  # as the exact path
    header = [h.strip() for h in first_line.split(delimiter)]
    names = [str(k) for k in range(len(header))]
    try:
        table = arrow_csv.read_csv(
            pa.BufferReader(raw),
            read_options=arrow_csv.ReadOptions(column_names=names, skip_rows=1,
                                               encoding="utf8" if encoding.startswith("utf-8") else encoding),
            parse_options=arrow_csv.ParseOptions(delimiter=delimiter, quote_char=False, escape_char=False,
                                                 newlines_in_values=False, ignore_empty_lines=False),
            convert_options=arrow_csv.ConvertOptions(column_types={n: pa.string() for n in names},
                                                     strings_can_be_null=False, quoted_strings_can_be_null=False),
        )
    except (pa.ArrowInvalid, UnicodeDecodeError):
        return None
    # One block of str objects (rows × columns, stored column by column): no copy into pandas.
    n = table.num_rows
    block = np.empty((len(header), n), dtype=object)
    columns = {}
    blank = np.ones(n, dtype=bool)
    # Arrow encodes the columns without holding the GIL: two at a time on two cores.
    with ThreadPoolExecutor(max_workers=min(len(header), os.cpu_count() or 1)) as pool:
        encoded = list(pool.map(lambda k: _dictionary_encoded(table.column(k)), range(len(header))))
    for k in range(len(header)):
        codes, texts = _stripped(*encoded[k])
        np.take(texts, codes, out=block[k])
        blank &= (texts == "")[codes]
        columns[k] = (codes, texts)
    del table
    frame = pd.DataFrame(block.T, columns=header, dtype=object, copy=False)
    frame[LINE] = np.arange(2, n + 2, dtype="int64")
    if blank.any():  # lines of empty cells are harmless
        frame = frame[~blank].reset_index(drop=True)
        columns = {k: (codes[~blank], texts) for k, (codes, texts) in columns.items()}
    columns = {k: (codes, texts, frame.iloc[:, k].to_numpy()) for k, (codes, texts) in columns.items()}
    return RawTable(str(path), frame, encoding, delimiter, factorised=Factorised(frame, columns))


def _dictionary_encoded(column) -> tuple[np.ndarray, np.ndarray]:
    """(codes, distinct texts) of an Arrow string column."""
    import pyarrow as pa
    import pyarrow.compute as pc

    encoded = pc.dictionary_encode(column)
    chunks = encoded.chunks
    if not chunks:
        return np.zeros(0, dtype="intp"), np.zeros(0, dtype=object)
    dictionary = chunks[0].dictionary
    if not all(c.dictionary.equals(dictionary) for c in chunks[1:]):  # not seen, but cheap to check
        encoded = pc.dictionary_encode(pa.chunked_array(column).combine_chunks())
        chunks, dictionary = [encoded], encoded.dictionary
    codes = np.concatenate([c.indices.to_numpy(zero_copy_only=False) for c in chunks]).astype("intp")
    return codes, np.asarray(dictionary.to_pylist(), dtype=object)


def _stripped(codes: np.ndarray, texts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Codes and distinct texts once every text is stripped (" a" and "a" become one text)."""
    stripped = np.array([t.strip() for t in texts], dtype=object)
    if (stripped == texts).all():
        return codes, texts
    merged, texts = pd.factorize(stripped)
    return merged[codes], np.asarray(texts, dtype=object)


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


def write_values_csv(frame: pd.DataFrame, path: str | os.PathLike) -> None:
    """Write a long table in the data-file format: UTF-8, comma, LF, same inputs → same bytes."""
    frame.to_csv(path, index=False, encoding="utf-8", lineterminator="\n", float_format="%.10g")
