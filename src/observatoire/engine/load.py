"""Read tables as people really produce them: CSV with `,`, `;` or tabs, UTF-8 with or without
BOM, Windows-1252, UTF-16 or UTF-32 (Excel's « Texte Unicode »), or XLSX. Every cell is kept as
text so that codes such as ``01004`` keep their form; types are checked later by
:mod:`observatoire.engine.validate`, which needs the original text to quote it back in its
messages. A spreadsheet cell is read as the spreadsheet shows it (a date formatted « yyyy » is
the year, « 45 % » is 45 %), never as its internal number.

What is not a table (an image, a PDF, an archive, a web page saved under a ``.csv`` name, a
binary file) is recognised from its first bytes and named in French; an XLSX workbook renamed
``.csv`` is read as the workbook it is, with a warning.

A CSV without quotes (one record per line) is read by Arrow's multithreaded parser, a national
file of millions of rows in about a second; any other CSV by the ``csv`` module, which follows
quoted cells across lines. Both give the same table (same cells, same line numbers).
"""

from __future__ import annotations

import codecs
import csv
import datetime as dt
import io
import os
import re
import unicodedata
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar, Collection

import numpy as np
import pandas as pd

from observatoire.errors import Problem, ValidationError

#: Column holding the line number of each row as seen in the source file (header = line 1).
LINE = "ligne_source"


class BuiltWhenRead:
    """For a dataclass one of whose fields (``_built``) may be given as None when another
    attribute (``_source``) holds what it is made of: the field is then made by ``_build()``
    the first time it is read, and kept."""

    _built: ClassVar[str]
    _source: ClassVar[str]

    def _build(self):
        raise NotImplementedError

    def __post_init__(self):
        if getattr(self, self._built) is None:
            if getattr(self, self._source) is None:
                raise TypeError(f"{type(self).__name__}: {self._built} or {self._source} is required")
            delattr(self, self._built)  # made by __getattr__ when first read

    def __getattr__(self, name: str):
        # Only called when the field has not been made yet (or for a missing attribute).
        if name == type(self)._built and self.__dict__.get(type(self)._source) is not None:
            value = self._build()
            setattr(self, name, value)
            return value
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    def _unbuilt(self) -> bool:
        """Whether the field has not been made yet."""
        return self._built not in self.__dict__


@dataclass
class RawTable(BuiltWhenRead):
    """A table read as text, with where it came from and how it was decoded.

    A large CSV file is read column by column (:class:`Factorised`: integer codes into the
    distinct texts of each column); its ``rows`` frame of ``str`` objects is then built the
    first time it is asked for, and validation never needs it (:meth:`codes`).
    """

    path: str
    rows: pd.DataFrame  # every column str (missing = ""), plus LINE
    encoding: str
    delimiter: str | None
    warnings: list[Problem] = field(default_factory=list)
    #: Column position → {line: the cell as the spreadsheet shows it}, for the cells whose text
    #: was read from a display format (a month date « mars-24 » read 2024-03): quoted in messages.
    shown: dict[int, dict[int, str]] = field(default_factory=dict)
    #: The text columns in factorised form, when the reader computed it on its way (large CSV
    #: files): lets validation skip hashing millions of cells a second time. See :meth:`codes`.
    #: With it, ``rows`` may be given as None: it is then built from the codes when first read.
    factorised: Factorised | None = field(default=None, repr=False, compare=False)

    _built: ClassVar[str] = "rows"
    _source: ClassVar[str] = "factorised"

    def _build(self) -> pd.DataFrame:
        return self.factorised.frame()

    @property
    def name(self) -> str:
        return os.path.basename(self.path)

    @property
    def columns(self) -> list[str]:
        """The column titles (without LINE), in file order, without building ``rows``."""
        if self._unbuilt():
            return list(self.factorised.header)
        return [c for c in self.rows.columns if c != LINE]

    @property
    def lines(self) -> np.ndarray:
        """The source line of each row (``rows[LINE]``), without building ``rows``."""
        if self._unbuilt():
            return self.factorised.lines
        return self.rows[LINE].to_numpy()

    def __len__(self) -> int:
        return len(self.factorised.lines) if self._unbuilt() else len(self.rows)

    def codes(self, position: int) -> tuple[np.ndarray, np.ndarray] | None:
        """``(codes, texts)`` of the column at ``position`` (``texts[codes]`` is the column).

        None when the reader did not compute it, or when ``rows`` or that column has been
        replaced since it was built. Cells edited in place are not detected: treat ``rows`` as
        read-only (copy it, or build a new RawTable, to change it).
        """
        f = self.factorised
        if f is None or not 0 <= position < len(f.columns):
            return None
        if not self._unbuilt():
            if f.built is None or self.rows is not f.built[0]:
                return None
            current = self.rows.iloc[:, position].to_numpy()
            built = f.built[1][position]
            if len(current) != len(built) or not np.may_share_memory(current, built):
                return None
        return f.columns[position]


@dataclass(eq=False)
class Factorised:
    """The text columns of a table as (integer codes, distinct texts), with their lines.

    ``texts[codes]`` is the column; ``lines`` is the source line of each row.
    """

    header: list[str]
    lines: np.ndarray
    columns: list[tuple[np.ndarray, np.ndarray]]
    #: (the frame built by :meth:`frame`, the array of each column in it), once built.
    built: tuple[pd.DataFrame, list[np.ndarray]] | None = None

    def frame(self) -> pd.DataFrame:
        """The table as an object-dtype frame of ``str`` (one block, no copy into pandas)."""
        n = len(self.lines)
        block = np.empty((len(self.header), n), dtype=object)
        for k, (codes, texts) in enumerate(self.columns):
            np.take(texts, codes, out=block[k])
        frame = pd.DataFrame(block.T, columns=self.header, dtype=object, copy=False)
        frame[LINE] = self.lines.copy()
        self.built = (frame, [frame.iloc[:, k].to_numpy() for k in range(len(self.header))])
        return frame


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


def read_table(path: str | os.PathLike, sheet: str | None = None,
               header_names: Collection[str] = ()) -> RawTable:
    """Read a CSV or XLSX file into a :class:`RawTable` of strings.

    ``header_names``: folded column names (see :func:`fold_header`) that mark the data sheet of
    a workbook whose data sheet is not the first (a notes sheet first, as officers do).

    Raises :class:`ValidationError` with a French message when the file is missing, empty,
    unreadable or not a table.
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
    try_utf8 = True
    try:
        if suffix in TEXT_SUFFIXES and path.stat().st_size >= max(_MAPPED_SIZE, 1):
            table, try_utf8 = _read_mapped(path)
            if table is not None:
                return table
        raw = path.read_bytes()
    except OSError as exc:
        raise ValidationError([Problem(shown, None, None, None, _unreadable(exc))]) from None
    kind = describe_content(raw)
    if kind == XLSX:
        warnings = []
        if suffix not in XLSX_SUFFIXES:
            warnings.append(Problem(shown, None, None, None,
                                    f"ce fichier est un classeur XLSX nommé « {path.name} » : il est lu "
                                    "comme un classeur (renommez-le en .xlsx)", severity="avertissement"))
        table = _read_xlsx(path, sheet, header_names, raw)
        table.warnings[:0] = warnings
        return table
    if kind is not None:
        raise ValidationError([Problem(shown, None, None, None, f"ce fichier est {kind}, pas un tableau CSV ou XLSX"
                                       + _ADVICE.get(kind, ""))])
    if suffix in XLSX_SUFFIXES:
        if not raw.strip():
            raise ValidationError([Problem(shown, None, None, None, "le fichier est vide")])
        table = _read_csv(path, raw)
        table.warnings.insert(0, Problem(shown, None, None, None, f"« {path.name} » n'est pas un classeur XLSX "
                                         "mais un fichier texte : il est lu comme un CSV", severity="avertissement"))
        return table
    if suffix in TEXT_SUFFIXES:
        return _read_csv(path, raw, try_utf8)
    raise ValidationError(
        [
            Problem(
                shown, None, None, suffix,
                "format de fichier non pris en charge : un fichier .csv ou .xlsx est attendu",
            )
        ]
    )


TEXT_SUFFIXES = (".csv", ".txt", ".tsv", "")
XLSX_SUFFIXES = (".xlsx", ".xlsm")
#: Marker returned by :func:`describe_content` for an XLSX workbook (read, not refused).
XLSX = "un classeur XLSX"

# First bytes of the files people send instead of a table (what they are, in French).
_SIGNATURES = (
    (b"\x89PNG\r\n\x1a\n", "une image PNG"),
    (b"\xff\xd8\xff", "une image JPEG"),
    (b"GIF87a", "une image GIF"),
    (b"GIF89a", "une image GIF"),
    (b"II*\x00", "une image TIFF"),
    (b"MM\x00*", "une image TIFF"),
    (b"%PDF-", "un document PDF"),
    (b"{\\rtf", "un document RTF (traitement de texte)"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", "un fichier Office ancien format (classeur .xls ou document .doc)"),
    (b"\x1f\x8b", "une archive compressée gzip"),
    (b"7z\xbc\xaf\x27\x1c", "une archive 7-Zip"),
    (b"Rar!\x1a\x07", "une archive RAR"),
    (b"BZh", "une archive compressée bzip2"),
    (b"\xfd7zXZ\x00", "une archive compressée xz"),
    (b"PAR1", "un fichier Parquet"),
    (b"SQLite format 3\x00", "une base de données SQLite"),
)
_ZIP = "une archive ZIP"
_HTML = "une page web (HTML) enregistrée sous ce nom"
_ADVICE = {
    "un fichier Office ancien format (classeur .xls ou document .doc)":
        " : enregistrez le classeur au format .xlsx (Fichier › Enregistrer sous › Classeur Excel) ou CSV",
    "un classeur OpenDocument (.ods, LibreOffice)": " : enregistrez-le au format .xlsx ou CSV",
    _ZIP: " : décompressez-la et donnez le fichier CSV ou XLSX qu'elle contient",
    _HTML: " : téléchargez le fichier CSV lui-même (lien « Télécharger »), pas la page qui le présente",
    "un classeur Excel XML 2003": " : enregistrez-le au format .xlsx ou CSV",
}
_BOMS = (  # longest first: the UTF-32-LE BOM begins with the UTF-16-LE one
    (codecs.BOM_UTF32_LE, "utf-32"), (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF8, "utf-8-sig"),
    (codecs.BOM_UTF16_LE, "utf-16"), (codecs.BOM_UTF16_BE, "utf-16"),
)


def describe_content(raw: bytes) -> str | None:
    """What ``raw`` is when it is not a text table (« une image PNG »…), :data:`XLSX` for an
    XLSX workbook, None for text that may be a table."""
    head = raw[:16]
    for signature, kind in _SIGNATURES:
        if head.startswith(signature):
            return kind
    if head.startswith(b"RIFF") and raw[8:12] == b"WEBP":
        return "une image WebP"
    if head.startswith((b"PK\x03\x04", b"PK\x05\x06")):
        return _zip_kind(raw)
    if text_encoding(raw) is None:
        return "un fichier binaire (ni texte ni classeur)"
    text = _decode_start(raw).lstrip().lower()
    if text.startswith("<?xml") and "excel.sheet" in text[:500]:
        return "un classeur Excel XML 2003"
    if text.startswith(("<!doctype html", "<html")) or ("<html" in text[:2048] and "<head" in text[:4096]):
        return _HTML
    if text.startswith("<?xml"):
        return "un document XML"
    return None


def _zip_kind(raw: bytes) -> str:
    import zipfile

    try:
        with zipfile.ZipFile(io.BytesIO(raw)) as archive:
            names = archive.namelist()
            mimetype = archive.read("mimetype").decode("ascii", "replace") if "mimetype" in names else ""
    except (zipfile.BadZipFile, OSError, KeyError, RuntimeError, ValueError, EOFError):
        return "une archive ZIP illisible"
    if any(n.startswith("xl/") for n in names):
        return XLSX
    if "spreadsheet" in mimetype:
        return "un classeur OpenDocument (.ods, LibreOffice)"
    if "opendocument" in mimetype:
        return "un document OpenDocument (LibreOffice)"
    if any(n.startswith("word/") for n in names):
        return "un document Word (.docx)"
    if any(n.startswith("ppt/") for n in names):
        return "une présentation PowerPoint (.pptx)"
    return _ZIP


def _decode_start(raw: bytes, size: int = 8192) -> str:
    encoding = text_encoding(raw[:size]) or "latin-1"
    return raw[:size].decode(encoding, errors="replace")


def text_encoding(raw: bytes) -> str | None:
    """The encoding of text bytes (BOM, UTF-16/32 without BOM, UTF-8, Windows-1252), or None
    when the bytes are not text (NUL bytes out of a UTF-16/32 pattern, control characters)."""
    for bom, encoding in _BOMS:
        if raw.startswith(bom):
            return encoding
    sample = raw[:_SAMPLE]  # a sample: a national file of 100 MB is not read twice
    if b"\x00" in sample:
        return _wide_encoding(sample)
    try:  # a character cut at the end of the sample is not an error
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=len(sample) == len(raw))
        encoding = "utf-8"
    except UnicodeDecodeError:
        encoding = "cp1252"
    text = sample.decode(encoding if encoding != "cp1252" else "latin-1", errors="replace")
    controls = len(text) - len(text.translate(_CONTROLS))
    return None if controls > max(2, len(text) // 100) else encoding


#: Control characters that are not spacing (removed by str.translate to count them).
_CONTROLS = dict.fromkeys(c for c in range(32) if chr(c) not in "\t\n\r\f\v")


_SAMPLE = 65536
#: Text files from this size on are mapped in memory rather than copied (:func:`_read_mapped`).
_MAPPED_SIZE = 8 << 20


def _wide_encoding(sample: bytes) -> str | None:
    """UTF-16 or UTF-32 without BOM, told from where the NUL bytes of ASCII characters fall."""
    n = len(sample) - len(sample) % 4
    if n < 4:
        return None
    zeros = [sample[k:n:4].count(0) / (n // 4) for k in range(4)]
    if zeros[1] > 0.9 and zeros[2] > 0.9 and zeros[3] > 0.9:
        return "utf-32-le"
    if zeros[0] > 0.9 and zeros[1] > 0.9 and zeros[2] > 0.9:
        return "utf-32-be"
    odd, even = (zeros[1] + zeros[3]) / 2, (zeros[0] + zeros[2]) / 2
    if odd > 0.9 and even < 0.1:
        return "utf-16-le"
    if even > 0.9 and odd < 0.1:
        return "utf-16-be"
    return None


def _unreadable(exc: OSError) -> str:
    import errno

    if exc.errno in (errno.EACCES, errno.EPERM):
        return "lecture impossible : accès refusé (droits du fichier)"
    return f"lecture impossible (erreur système {exc.errno})"


def _read_mapped(path: Path) -> tuple[RawTable | None, bool]:
    """A large UTF-8 CSV file read by Arrow straight from the page cache (the file mapped in
    memory, not copied). ``(None, try_utf8)`` when it is anything else, left to
    :func:`read_table`'s usual path; ``try_utf8`` is False when Arrow's UTF-8 reading was tried
    here, so that it is not tried again on the copy."""
    import mmap

    with open(path, "rb") as file:
        view = mmap.mmap(file.fileno(), 0, access=mmap.ACCESS_READ)
    try:
        head = view[:_SAMPLE + 1]  # as much as text_encoding reads, and one byte to tell it more follows
        if (head.startswith((b"\xef\xbb\xbf", b"PK")) or not head.strip() or text_encoding(head) != "utf-8"
                or describe_content(head) is not None):
            return None, True
        return _read_csv_fast(path, view, "utf-8"), False
    finally:
        try:
            view.close()
        except BufferError:  # Arrow's threads still hold a read they gave up (a refused line):
            pass  # the mapping ends when they let it go


def _read_csv(path: Path, raw: bytes, try_utf8: bool = True) -> RawTable:
    """``raw`` read as a CSV; ``try_utf8=False`` when Arrow's UTF-8 reading was already tried
    (:func:`_read_mapped`)."""
    if not raw[:4096].strip() and not raw.strip():
        raise ValidationError([Problem(str(path), None, None, None, "le fichier est vide")])
    encoding = text_encoding(raw)
    wide = encoding is not None and encoding.startswith(("utf-16", "utf-32"))
    if not wide:
        # The fast path checks every distinct text it reads as UTF-8: when it reads the file as
        # UTF-8, detect_encoding would have said so, and the file needs no second pass to tell.
        fast = None if raw.startswith(b"\xef\xbb\xbf") or not try_utf8 else _read_csv_fast(path, raw, "utf-8")
        if fast is not None:
            return fast
        encoding = detect_encoding(raw)
        fast = _read_csv_fast(path, raw, encoding) if encoding != "utf-8" else None
        if fast is not None:
            return fast
    text = _decode(path, raw, encoding)
    if not text.strip():
        raise ValidationError([Problem(str(path), None, None, None, "le fichier est vide")])
    first_line = text.splitlines()[0] if text else ""
    delimiter = detect_delimiter(first_line)
    if not first_line.replace(delimiter, "").strip():
        raise ValidationError([Problem(
            str(path), 1, None, None,
            "la ligne d'en-tête est vide : la première ligne doit porter le nom des colonnes "
            "(territoire, indicateur, periode, valeur…), les valeurs commencent à la ligne 2")])
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
        if len(record) > len(header) and not any(c.strip() for c in record[len(header):]):
            record = record[:len(header)]  # empty cells after the last column (spreadsheet export)
        if len(record) != len(header):
            problems.append(
                Problem(
                    str(path), line, None, delimiter.join(record),
                    f"{len(record)} champ(s) au lieu des {len(header)} de l'en-tête "
                    f"(séparateur détecté : « {_DELIMITER_NAMES.get(delimiter, delimiter)} »)",
                )
            )
            continue
        rows.append([cell.strip() for cell in record])
        lines.append(line)
    if problems:
        raise ValidationError(problems)
    frame = pd.DataFrame(rows, columns=header, dtype=object)
    frame[LINE] = np.asarray(lines, dtype="int64")
    warnings = []
    if wide:  # read as it is, but said: a person may not know the file is not UTF-8
        name = "UTF-16" if encoding.startswith("utf-16") else "UTF-32"
        warnings.append(Problem(str(path), None, None, None,
                                f"fichier texte en {name}" + (" (export « Texte Unicode » d'Excel)" if name == "UTF-16"
                                                              else "") + " : lu comme tel", severity="avertissement"))
    return RawTable(str(path), frame, encoding, delimiter, warnings=warnings)


_DELIMITER_NAMES = {"\t": "tabulation"}


def _decode(path: Path, raw: bytes, encoding: str | None) -> str:
    """The file's text; a French message naming the first undecodable byte otherwise."""
    encoding = encoding or detect_encoding(raw)
    try:
        text = raw.decode(encoding)
    except UnicodeDecodeError as exc:
        line = raw[:exc.start].count(b"\n") + 1
        if encoding.startswith(("utf-16", "utf-32")):
            message = f"texte {encoding.upper()} (« Texte Unicode ») abîmé : octets illisibles"
        else:
            message = ("encodage non reconnu : le fichier n'est ni en UTF-8 ni en Windows-1252 "
                       f"(octet 0x{raw[exc.start]:02X})")
        raise ValidationError([Problem(str(path), line, None, None, message + " ; enregistrez-le depuis "
                                       "le tableur au format « CSV UTF-8 »")]) from None
    return text[1:] if text.startswith("\ufeff") else text


def _read_csv_fast(path: Path, raw: bytes, encoding: str) -> RawTable | None:
    """The same table as the csv-module reader above, read by Arrow's multithreaded CSV parser.

    Taken only when every physical line is one record, so that the line of row ``i`` is
    ``i + 2``: no NUL, and no quote character in a file smaller than
    :data:`_MAPPED_SIZE`. In a larger file, Arrow reads quoted cells as the csv module does (a
    quoted separator, a doubled quote, text after the closing quote); it is then taken only if
    no text it read holds a quote or a line break, which would make a record span lines or a
    block be cut inside a quoted cell. Arrow refuses a line with another number of fields than
    the header (and None is returned: the exact path then reports every such line). Arrow reads
    each column as texts, then encodes it as integer codes into its distinct texts; the texts
    are stripped here and the table kept in that form (:class:`Factorised`): its ``rows`` of
    ``str`` objects, as on the exact path, are built only if asked for.
    """
    import pyarrow as pa
    from pyarrow import csv as arrow_csv

    # Lines may end in LF, CRLF or CR alone (an old Mac's): Arrow ends a record at each, as the
    # csv module ends a line. A small quoted file (a reference table) never starts Arrow's threads.
    quoted = raw.find(b'"') >= 0
    if (quoted and len(raw) < _MAPPED_SIZE) or raw.find(b"\x00") >= 0:
        return None
    end = raw.find(b"\n")
    cr = raw.find(b"\r", 0, end if end >= 0 else len(raw))
    end = cr if cr >= 0 else end  # the header's line ends at its first line break of any kind
    try:
        first_line = (raw[:] if end < 0 else raw[:end]).decode(encoding)
    except UnicodeDecodeError:
        return None
    if not first_line or first_line.count('"') % 2:
        return None  # no header, or a quoted header cell spanning lines: the exact path
    delimiter = detect_delimiter((first_line.splitlines() or [""])[0])  # as the exact path
    if not first_line.replace(delimiter, "").strip():
        return None  # an empty header: the exact path says so
    header = [h.strip() for h in next(csv.reader([first_line], delimiter=delimiter))]  # quotes as the csv module reads them
    names = [str(k) for k in range(len(header))]
    try:
        table = arrow_csv.read_csv(
            pa.BufferReader(raw),
            read_options=arrow_csv.ReadOptions(column_names=names, skip_rows=1, block_size=_block_size(len(raw)),
                                               encoding="utf8" if encoding.startswith("utf-8") else encoding),
            parse_options=arrow_csv.ParseOptions(delimiter=delimiter, quote_char='"' if quoted else False,
                                                 double_quote=True, escape_char=False, newlines_in_values=False,
                                                 ignore_empty_lines=False),
            # UTF-8 is checked once per distinct text, after the encoding (_dictionary_codes).
            convert_options=arrow_csv.ConvertOptions(column_types={n: pa.string() for n in names}, check_utf8=False,
                                                     strings_can_be_null=False, quoted_strings_can_be_null=False),
        )
    except (pa.ArrowInvalid, UnicodeDecodeError):
        return None
    n = table.num_rows
    # Each column is encoded once, whole, by Arrow without holding the GIL, two columns at a
    # time on two cores. (Encoding as Arrow parses gives each block its own dictionary, to be
    # unified after: more work in all.) Each column's texts are let go once it is encoded.
    read = table.columns
    del table

    def encoded(k: int) -> tuple[np.ndarray, np.ndarray]:
        column, read[k] = read[k], None
        return _stripped(*_dictionary_codes(column, refused='["\r\n]' if quoted else None))

    # The longest first, so that both threads end together: a column with more distinct texts
    # in its first rows (the values) takes longer to encode.
    order = sorted(range(len(header)), key=lambda k: -_distinct_at_start(read[k]))
    try:
        with ThreadPoolExecutor(max_workers=min(len(header), os.cpu_count() or 1)) as pool:
            encodings = dict(zip(order, pool.map(encoded, order)))
    except (pa.ArrowInvalid, _Refused):  # a text that is not UTF-8; a quote or a line break in a text
        return None
    columns = [encodings[k] for k in range(len(header))]
    lines = np.arange(2, n + 2, dtype="int64")
    # Lines of empty cells are harmless: left out. Looked for among the rows whose first cell
    # is empty only (none, in nearly every file).
    blank = np.flatnonzero((columns[0][1] == "")[columns[0][0]]) if columns else np.zeros(0, dtype="intp")
    for codes, texts in columns[1:]:
        if not len(blank):
            break
        blank = blank[(texts == "")[codes[blank]]]
    if len(blank):
        keep = np.ones(n, dtype=bool)
        keep[blank] = False
        lines = lines[keep]
        columns = [(codes[keep], texts) for codes, texts in columns]
    return RawTable(str(path), None, encoding, delimiter, factorised=Factorised(header, lines, columns))


def _block_size(size: int) -> int:
    """Bytes Arrow parses at a time: a few blocks per core, from 1 to 16 MB. Each block of a
    column has its own dictionary, to be unified after: fewer blocks, less to unify."""
    return min(16 << 20, max(1 << 20, size // (4 * (os.cpu_count() or 1))))


class _Refused(Exception):
    """A text holds a character :func:`_dictionary_codes` was asked to refuse."""


#: Rows looked at to tell whether a column comes in runs of one text.
_RUN_PROBE = 4096


def _dictionary_codes(column, refused: str | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(codes, distinct texts in order of first appearance, which texts begin or end with a
    space) of an Arrow column of strings (``pyarrow.ArrowInvalid`` if one is not UTF-8;
    :class:`_Refused` if one matches the regular expression ``refused``).

    A column whose first rows come in runs of one text (a file's territories one after the
    other, a source written on every row) has each run's text encoded once.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    lengths = None  # of the runs, when the column is read run by run
    if column.num_chunks and not pa.types.is_dictionary(column.type) and _in_runs(column.chunk(0)):
        runs = [pc.run_end_encode(c) for c in column.chunks]
        lengths = np.concatenate([np.diff(r.run_ends.to_numpy(zero_copy_only=False), prepend=0) for r in runs])
        column = pa.chunked_array([r.values for r in runs], type=column.type)
    column = pc.dictionary_encode(column)
    if not column.num_chunks:  # no row (Arrow keeps no empty chunk)
        return np.zeros(0, dtype="int32"), np.zeros(0, dtype=object), np.zeros(0, dtype=bool)
    dictionary = column.chunk(0).dictionary
    if not all(_same_array(c.dictionary, dictionary) for c in column.chunks[1:]):
        column = column.unify_dictionaries()  # not seen: Arrow encodes all chunks with one dictionary
        dictionary = column.chunk(0).dictionary
    codes = np.empty(len(column), dtype="int32")  # as Arrow's indices: half the memory of intp
    at = 0
    for c in column.chunks:
        codes[at:at + len(c)] = c.indices.to_numpy(zero_copy_only=False)
        at += len(c)
    if lengths is not None:
        codes = np.repeat(codes, lengths)
    dictionary.validate(full=True)  # ArrowInvalid if a text is not UTF-8: every cell is one of these texts
    if refused is not None and pc.any(pc.match_substring_regex(dictionary, refused)).as_py():
        raise _Refused
    padded = pc.match_substring_regex(dictionary, _EDGE_SPACE).to_numpy(zero_copy_only=False)
    return codes, np.asarray(dictionary.to_pylist(), dtype=object), padded


def _distinct_at_start(column) -> int:
    """How many distinct texts the first rows of an Arrow column hold."""
    import pyarrow.compute as pc

    return pc.count_distinct(column.slice(0, _RUN_PROBE)).as_py() if len(column) else 0


def _in_runs(chunk) -> bool:
    """Whether the first rows of ``chunk`` come in runs of one text, eight rows a run or more."""
    import pyarrow.compute as pc

    probe = chunk.slice(0, _RUN_PROBE)
    return len(probe) > 1 and 8 * len(pc.run_end_encode(probe).run_ends) <= len(probe)


def _same_array(a, b) -> bool:
    """Whether two Arrow arrays are views of the same memory (the same length and buffers)."""
    return len(a) == len(b) and a.offset == b.offset and [x and x.address for x in a.buffers()] == [
        x and x.address for x in b.buffers()]


#: A text that ``str.strip()`` changes: it begins or ends with one of the characters Python
#: counts as a space (``str.isspace``), listed here for Arrow's regular expressions.
_SPACES = "".join(f"\\x{{{c:x}}}" for c in range(0x3001) if chr(c).isspace())
_EDGE_SPACE = f"^[{_SPACES}]|[{_SPACES}]$"


def _stripped(codes: np.ndarray, texts: np.ndarray, padded: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Codes and distinct texts once every text is stripped (" a" and "a" become one text);
    ``padded``: the texts that begin or end with a space (the others are left as they are)."""
    if not padded.any():
        return codes, texts
    stripped = texts.copy()
    stripped[padded] = [t.strip() for t in texts[padded]]
    merged, texts = pd.factorize(stripped)
    return merged[codes], np.asarray(texts, dtype=object)


def fold_header(text: str) -> str:
    """A column title as people may type it, reduced to compare: « Période » and « periode »,
    « Jeu de données » and « jeu_de_donnees » fold alike (accents, case, spaces, punctuation)."""
    decomposed = unicodedata.normalize("NFKD", str(text).casefold())
    bare = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(re.sub(r"[^0-9a-z]+", " ", bare).split())


def _read_xlsx(path: Path, sheet: str | None, header_names: Collection[str] = (),
               raw: bytes | None = None) -> RawTable:
    from openpyxl import load_workbook

    try:  # from the bytes: openpyxl refuses a workbook whose name does not end in .xlsx
        workbook = load_workbook(io.BytesIO(raw if raw is not None else path.read_bytes()),
                                 read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds on a corrupt file
        raise ValidationError(
            [Problem(str(path), None, None, None, f"classeur XLSX illisible ({type(exc).__name__})")]
        ) from None
    warnings: list[Problem] = []
    try:
        names = workbook.sheetnames
        if not names:
            raise ValidationError([Problem(str(path), None, None, None, "le classeur n'a aucune feuille")])
        if sheet is not None and sheet not in names:
            raise ValidationError([Problem(str(path), None, None, sheet, "feuille absente du classeur (feuilles : "
                                           + ", ".join(f"« {n} »" for n in names) + ")")])
        if sheet is None:
            sheet, skipped = _data_sheet(workbook, header_names)
            if skipped:
                warnings.append(Problem(
                    str(path), None, None, None,
                    f"feuille « {sheet} » lue : c'est la première qui porte l'en-tête du modèle "
                    "(feuille(s) " + ", ".join(f"« {n} »" for n in skipped) + " ignorée(s))",
                    severity="avertissement"))
        records = [[_cell(c) for c in row] for row in workbook[sheet].iter_rows()]
    finally:
        workbook.close()
    shown_path = f"{path} (feuille « {sheet} »)"
    while records and not any(text for text, _ in records[-1]):
        records.pop()
    if not records:
        raise ValidationError([Problem(shown_path, None, None, None, "la feuille est vide")])
    header = [text for text, _ in records[0]]
    while header and header[-1] == "":
        header.pop()
    if not header:
        raise ValidationError([Problem(
            shown_path, 1, None, None,
            "la ligne d'en-tête est vide : la première ligne doit porter le nom des colonnes "
            "(territoire, indicateur, periode, valeur…), les valeurs commencent à la ligne 2")])
    rows, lines = [], []
    shown: dict[tuple[int, str], list[tuple[int, str, str]]] = {}
    displayed: dict[int, dict[int, str]] = {}
    for number, record in enumerate(records[1:], start=2):
        record = record[: len(header)]
        cells = [text for text, _ in record] + [""] * (len(header) - len(record))
        if any(cells):
            rows.append(cells)
            lines.append(number)
            for k, (text, display) in enumerate(record):
                if display is not None:
                    shown.setdefault((k, display[0]), []).append((number, display[1], text))
                    displayed.setdefault(k, {})[number] = display[1]
    frame = pd.DataFrame(rows, columns=header, dtype=object)
    frame[LINE] = np.asarray(lines, dtype="int64")
    for (k, kind), cells in shown.items():
        if kind == "mois":
            line, display, text = cells[0]
            warnings.append(Problem(
                shown_path, None, header[k] or f"colonne {k + 1}", display,
                f"{len(cells)} mois saisi{'s comme des dates' if len(cells) > 1 else ' comme une date'}, "
                f"lu{'s' if len(cells) > 1 else ''} comme le tableur les affiche "
                f"(« {display} » → {text}) : {line_ranges([c[0] for c in cells])}",
                severity="avertissement"))
    return RawTable(shown_path, frame, "xlsx", None, warnings=warnings, shown=displayed)


def _data_sheet(workbook, header_names: Collection[str]) -> tuple[str, list[str]]:
    """(the sheet to read, the sheets skipped before it): the template's « donnees » sheet, else
    the first sheet with at least two of ``header_names`` in one of its first rows, else the first."""
    names = workbook.sheetnames
    folded = {fold_header(n): n for n in names}
    if "donnees" in folded:
        return folded["donnees"], []
    wanted = set(header_names)
    if wanted:
        for position, name in enumerate(names):
            worksheet = workbook[name]
            if getattr(worksheet, "iter_rows", None) is None:  # a chart sheet
                continue
            for row in worksheet.iter_rows(max_row=10, values_only=True):
                if sum(fold_header(v) in wanted for v in row if isinstance(v, str)) >= 2:
                    return name, names[:position]
    return names[0], []


def line_ranges(lines: Collection[int], limit: int = 12) -> str:
    """« ligne 4 », « lignes 2–25 », « lignes 2–5, 9 et 12–14 » (at most ``limit`` pieces)."""
    numbers = sorted(set(int(n) for n in lines))
    if not numbers:
        return ""
    pieces, start, previous = [], numbers[0], numbers[0]
    for n in numbers[1:] + [None]:
        if n is not None and n == previous + 1:
            previous = n
            continue
        pieces.append(str(start) if start == previous else f"{start}–{previous}")
        if n is not None:
            start = previous = n
    if len(numbers) == 1:
        return f"ligne {numbers[0]}"
    more = len(pieces) > limit
    pieces = pieces[:limit]
    text = ", ".join(pieces[:-1]) + " et " + pieces[-1] if len(pieces) > 1 else pieces[0]
    return "lignes " + text + (" …" if more else "")


_MONTHS_FR = ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre",
              "octobre", "novembre", "décembre")
_MONTHS_FR_SHORT = ("janv.", "févr.", "mars", "avr.", "mai", "juin", "juil.", "août", "sept.", "oct.",
                    "nov.", "déc.")
_FORMAT_NOISE = re.compile(r'\[[^\]]*\]|"[^"]*"|\\.|_.|\*.')


def _cell(cell) -> tuple[str, tuple[str, str] | None]:
    """(text, display note) of a spreadsheet cell: the text is what the person sees in the
    spreadsheet, the note ``(kind, shown)`` says when it was read from a display format."""
    value = cell.value
    if value is None:
        return "", None
    fmt = getattr(cell, "number_format", None) or "General"
    if isinstance(value, bool):
        return ("vrai" if value else "faux"), None
    if isinstance(value, (int, float)):
        if "%" in _FORMAT_NOISE.sub("", fmt):  # 0.45 shown « 45 % »: read as the person sees it
            return _number_text(value * 100).replace(".", ",") + " %", None  # « 81,5 % »
        return _number_text(value), None
    if isinstance(value, (dt.datetime, dt.date)):
        return _date_text(value, fmt)
    if isinstance(value, dt.time):
        return value.strftime("%H:%M"), None
    return str(value).strip(), None


def _number_text(value: float | int) -> str:
    """2024 not 2024.0; 12.5 not 12.500000000000002 (Excel keeps 15 significant digits)."""
    if isinstance(value, int):
        return str(value)
    value = float(f"{value:.15g}")
    return str(int(value)) if value.is_integer() else repr(value)


def _date_text(value, fmt: str) -> tuple[str, tuple[str, str] | None]:
    """A date cell as the spreadsheet shows it. A year format (« yyyy ») gives the year; a month
    format without day (« mmm-yy », « mm/yyyy ») gives AAAA-MM, noted; any other date gives
    what is shown (« 15/03/2024 »), for validation to accept or to quote back."""
    literals: list[str] = []

    def protect(match):  # literal text of the format (« "de" », « \ ») is shown as it is
        text = match.group(0)
        literals.append(text[1:-1] if text.startswith('"') else text[1:] if text[0] == "\\" else "")
        return f"\x01{len(literals) - 1}\x01"

    clean = _FORMAT_NOISE.sub(protect, fmt).lower()
    bare = re.sub(r"\x01\d+\x01", "", clean)
    if fmt in ("mm-dd-yy", "General", "GENERAL") or not bare.strip():
        clean = bare = "dd/mm/yyyy"  # Excel's short date (format 14) is shown in the French order
    no_time = re.sub(r"h+[:.]?m+|m+[:.]?s+", "", bare)
    has_year, has_day, has_month = "y" in no_time or "e" in no_time, "d" in no_time, "m" in no_time
    shown = re.sub(r"\x01(\d+)\x01", lambda m: literals[int(m.group(1))], _render_date(value, clean))
    if has_year and not has_month and not has_day:
        return f"{value.year:04d}", None
    if has_year and has_month and not has_day:
        text = f"{value.year:04d}-{value.month:02d}"
        return text, ("mois", shown)
    return shown, None


def _render_date(value, fmt: str) -> str:
    """The text a French spreadsheet shows for ``value`` under the (cleaned) format ``fmt``."""
    def token(match):
        t = match.group(0)
        if t[0] in "ye":
            return f"{value.year:04d}" if len(t) != 2 else f"{value.year % 100:02d}"
        if t[0] == "d":
            return {1: str(value.day), 2: f"{value.day:02d}"}.get(len(t), f"{value.day:02d}")
        if t[0] == "m":
            return {1: str(value.month), 2: f"{value.month:02d}", 3: _MONTHS_FR_SHORT[value.month - 1]}.get(
                len(t), _MONTHS_FR[value.month - 1])
        if t[0] == "h":
            return f"{getattr(value, 'hour', 0):02d}"
        if t[0] == "s":
            return f"{getattr(value, 'second', 0):02d}"
        return t
    fmt = re.sub(r"(h+[:.]?)(m+)", lambda m: m.group(1) + "\0" * len(m.group(2)), fmt)
    text = re.sub(r"y+|e+|d+|m+|h+|s+", token, fmt)
    minute = f"{getattr(value, 'minute', 0):02d}"
    return re.sub(r"\0+", minute, text).replace("am/pm", "").strip()


def write_values_csv(frame: pd.DataFrame, path: str | os.PathLike) -> None:
    """Write a long table in the data-file format: UTF-8, comma, LF, same inputs → same bytes."""
    frame.to_csv(path, index=False, encoding="utf-8", lineterminator="\n", float_format="%.10g")
