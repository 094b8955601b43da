"""Reading tables as people produce them."""

import pytest

from observatoire import paths
from observatoire.errors import ValidationError
from observatoire.engine.load import LINE, read_table

ROWS = [["territoire", "indicateur", "periode", "valeur"], ["01004", "chomage_taux", "2024", "7,4"],
        ["2A004", "chomage_taux", "2024", "9,1"]]


def write(tmp_path, name, text, encoding="utf-8"):
    p = tmp_path / name
    p.write_bytes(text.encode(encoding))
    return p


@pytest.mark.parametrize("sep", [",", ";"])
@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "cp1252"])
def test_csv_separator_and_encoding(tmp_path, sep, encoding):
    text = "\n".join((";" if sep == ";" else ",").join(r) for r in ROWS)
    text = text.replace("7,4", '"7,4"').replace("9,1", '"9,1"') if sep == "," else text
    text += "\nDEP-2A" + sep + "commentaire_é" + sep + "2024" + sep + "1\n"
    raw = read_table(write(tmp_path, "d.csv", text, encoding))
    assert raw.delimiter == sep
    assert raw.rows["territoire"].tolist() == ["01004", "2A004", "DEP-2A"]  # codes stay text
    assert raw.rows["valeur"].tolist()[:2] == ["7,4", "9,1"]
    assert raw.rows["indicateur"].iloc[2] == "commentaire_é"  # cp1252 decoded as such, not Mac-Roman
    assert raw.rows[LINE].tolist() == [2, 3, 4]


def test_line_numbers_skip_blank_lines_and_follow_multiline_cells(tmp_path):
    text = 'a,b\n1,2\n\n3,"x\ny"\n5,6\n'
    raw = read_table(write(tmp_path, "d.csv", text))
    assert raw.rows[LINE].tolist() == [2, 4, 6]


def test_ragged_rows_are_all_reported(tmp_path):
    text = "a,b,c\n1,2\n1,2,3\n1,2,3,4\n"
    with pytest.raises(ValidationError) as exc:
        read_table(write(tmp_path, "d.csv", text))
    lines = [p.line for p in exc.value.problems]
    assert lines == [2, 4]
    assert "2 champ(s) au lieu des 3" in str(exc.value)


def test_missing_empty_and_unsupported_files(tmp_path):
    with pytest.raises(ValidationError, match="fichier introuvable"):
        read_table(tmp_path / "absent.csv")
    with pytest.raises(ValidationError, match="le fichier est vide"):
        read_table(write(tmp_path, "vide.csv", "  \n"))
    with pytest.raises(ValidationError, match="format de fichier non pris en charge"):
        read_table(write(tmp_path, "d.ods", "x"))


def test_xlsx_keeps_codes_and_numbers_as_typed(tmp_path):
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "donnees"
    ws.append(["territoire", "indicateur", "periode", "valeur"])
    ws.append(["01004", "chomage_taux", 2024, 7.4])
    ws.append([1004, "chomage_taux", 2025, 8.0])
    path = tmp_path / "d.xlsx"
    wb.save(path)
    raw = read_table(path)
    assert raw.rows["territoire"].tolist() == ["01004", "1004"]  # the repair is validate's job
    assert raw.rows["periode"].tolist() == ["2024", "2025"]
    assert raw.rows["valeur"].tolist() == ["7.4", "8"]
    assert raw.rows[LINE].tolist() == [2, 3]
    assert "feuille « donnees »" in raw.path


# -- files that are not tables, and text in every encoding people send (issue #19) ------------

@pytest.mark.parametrize("content,kind", [
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR", "une image PNG"), (b"\xff\xd8\xff\xe0\x00\x10JFIF", "une image JPEG"),
    (b"%PDF-1.7\n%\xe2\xe3", "un document PDF"), (b"GIF89a\x01\x00", "une image GIF"),
    (b"\x1f\x8b\x08\x00", "une archive compressée gzip"), (bytes(range(256)) * 4, "un fichier binaire"),
    (b"<!DOCTYPE html>\n<html><head></head><body></body></html>", "une page web (HTML)"),
    (b"  <html lang='fr'>\n<head><title>x</title></head>", "une page web (HTML)"),
])
def test_what_is_not_a_table_is_named_in_french(tmp_path, content, kind):
    with pytest.raises(ValidationError) as exc:
        read_table(write_bytes(tmp_path, "donnees.csv", content))
    (problem,) = exc.value.problems
    assert problem.message.startswith(f"ce fichier est {kind}") and "pas un tableau CSV ou XLSX" in problem.message


def write_bytes(tmp_path, name, content):
    p = tmp_path / name
    p.write_bytes(content)
    return p


def test_an_archive_says_what_it_holds(tmp_path):
    import io
    import zipfile

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as z:
        z.writestr("donnees.csv", "a,b\n")
    with pytest.raises(ValidationError, match="une archive ZIP, pas un tableau CSV ou XLSX : décompressez-la"):
        read_table(write_bytes(tmp_path, "d.csv", buffer.getvalue()))


TEXT = "territoire\tindicateur\tperiode\tvaleur\r\n01004\teau_rendement_reseau\t2024\t80,5\r\n"


@pytest.mark.parametrize("encoding,bom", [("utf-16-le", b"\xff\xfe"), ("utf-16-be", b"\xfe\xff"), ("utf-16-le", b""),
                                          ("utf-16-be", b""), ("utf-32-le", b"\xff\xfe\x00\x00"), ("utf-32-le", b""),
                                          ("utf-32-be", b"\x00\x00\xfe\xff")])
def test_utf16_and_utf32_are_read(tmp_path, encoding, bom):
    """Excel's « Texte Unicode » export is UTF-16 with a BOM and tabs: read, not refused."""
    raw = read_table(write_bytes(tmp_path, "texte.txt", bom + TEXT.replace("Ã", "").encode(encoding)))
    assert raw.delimiter == "\t"
    assert raw.rows["territoire"].tolist() == ["01004"] and raw.rows["valeur"].tolist() == ["80,5"]


def test_bytes_neither_utf8_nor_windows_1252_are_named(tmp_path):
    with pytest.raises(ValidationError) as exc:
        read_table(write_bytes(tmp_path, "d.csv", b"a;b\n1;R\x81gie\n"))
    (problem,) = exc.value.problems
    assert problem.line == 2 and "ni en UTF-8 ni en Windows-1252 (octet 0x81)" in problem.message


@pytest.mark.parametrize("text", ["\nterritoire,valeur\n", "\n01004,12\n", ";;;\n01004;a;b;c\n", "\ufeff\n1,2\n"])
def test_an_empty_header_line_has_its_own_message(tmp_path, text):
    with pytest.raises(ValidationError) as exc:
        read_table(write(tmp_path, "d.csv", text))
    (problem,) = exc.value.problems
    assert problem.line == 1 and problem.message.startswith("la ligne d'en-tête est vide")


def test_empty_cells_after_the_last_column_are_harmless(tmp_path):
    raw = read_table(write(tmp_path, "d.csv", 'a;b\n1;"x";;\n3;4\n'))
    assert raw.rows["a"].tolist() == ["1", "3"] and raw.rows[LINE].tolist() == [2, 3]


def test_a_workbook_renamed_csv_is_read_as_a_workbook(tmp_path):
    from openpyxl import Workbook

    wb = Workbook()
    wb.active.append(["territoire", "valeur"])
    wb.active.append(["01004", 12.5])
    wb.save(tmp_path / "d.xlsx")
    (tmp_path / "d.xlsx").rename(tmp_path / "donnees.csv")
    raw = read_table(tmp_path / "donnees.csv")
    assert raw.rows["valeur"].tolist() == ["12.5"]
    (warning,) = raw.warnings
    assert "classeur XLSX nommé « donnees.csv »" in warning.message and warning.severity == "avertissement"


def test_a_text_file_named_xlsx_is_read_as_csv(tmp_path):
    raw = read_table(write(tmp_path, "d.xlsx", "a,b\n1,2\n"))
    assert raw.rows["a"].tolist() == ["1"] and "n'est pas un classeur XLSX" in raw.warnings[0].message


def test_excel_cells_are_read_as_the_spreadsheet_shows_them(tmp_path):
    import datetime as dt

    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "Notes"
    ws.append(["Lisez-moi"])
    data = wb.create_sheet("Feuil2")
    data.append(["territoire", "indicateur", "periode", "valeur"])
    cells = [(dt.datetime(2023, 1, 1), "yyyy", 0.453, "0%"), (dt.datetime(2024, 3, 1), "mmm-yy", 1.694, "0.00"),
             (dt.datetime(2024, 3, 15), "dd/mm/yyyy", "12,5", "@"), (dt.datetime(2024, 4, 1), "mm-dd-yy", 0.1 + 0.2, "General"),
             (dt.datetime(2024, 5, 1), '[$-40C]mmmm\\ yyyy', 7, "General")]
    for period, period_format, value, value_format in cells:
        data.append(["01004", "x", period, value])
        data.cell(data.max_row, 3).number_format = period_format
        data.cell(data.max_row, 4).number_format = value_format
    wb.save(tmp_path / "d.xlsx")
    raw = read_table(tmp_path / "d.xlsx", header_names={"territoire", "indicateur"})
    assert raw.path.endswith("(feuille « Feuil2 »)")
    # A year typed in a date cell is the year; a month shown as a month is that month; a full
    # date is what the cell shows; a percentage is what the cell shows; 0.1 + 0.2 is 0.3.
    assert raw.rows["periode"].tolist() == ["2023", "2024-03", "15/03/2024", "01/04/2024", "2024-05"]
    assert raw.rows["valeur"].tolist() == ["45,3 %", "1.694", "12,5", "0.3", "7"]
    assert raw.shown == {2: {3: "mars-24", 6: "mai 2024"}}
    sheet, months = raw.warnings
    assert "feuille « Feuil2 » lue" in sheet.message and "« Notes »" in sheet.message
    assert months.message == "2 mois saisis comme des dates, lus comme le tableur les affiche (« mars-24 » → 2024-03) : lignes 3 et 6"


@pytest.mark.parametrize("lines,text", [([4], "ligne 4"), ([2, 3, 4, 5], "lignes 2–5"), ([2, 3, 9, 12, 13], "lignes 2–3, 9 et 12–13")])
def test_line_ranges(lines, text):
    from observatoire.engine.load import line_ranges

    assert line_ranges(lines) == text


def test_headers_fold_alike():
    from observatoire.engine.load import fold_header

    assert fold_header(" Période ") == fold_header("periode") == "periode"
    assert fold_header("Jeu de données") == fold_header("jeu_de_donnees")
    assert fold_header("Identifiant de l’indicateur") == fold_header("Identifiant de l'indicateur")


FAST_FILES = {
    "plain.csv": "territoire,indicateur,periode,valeur\n01004,chomage_taux,2024,7.4\n2A004, chomage_taux ,2024,9\n",
    "blank_lines.csv": "a,b,c\n1,2,3\n,,\n\n4, ,6\n ,,\n7,8,9\n",
    "first_cell_empty.csv": "a;b\n;x\n;\n2;\n",
    "crlf.csv": "a,b\r\n1,é\r\n2,3\r\n",
    "header_only.csv": "a,b\n",
}


@pytest.mark.parametrize("name", sorted(FAST_FILES))
def test_fast_reader_gives_the_exact_readers_table(tmp_path, monkeypatch, name):
    from observatoire.engine import load

    path = write(tmp_path, name, FAST_FILES[name])
    fast = read_table(path)
    assert fast.factorised is not None  # read by Arrow, kept as codes
    columns, lines, n = fast.columns, fast.lines.tolist(), len(fast)
    codes = [fast.codes(k) for k in range(len(columns))]
    monkeypatch.setattr(load, "_read_csv_fast", lambda *args: None)
    exact = read_table(path)
    assert exact.factorised is None
    assert columns == [c for c in exact.rows.columns if c != LINE] == exact.columns
    assert lines == exact.rows[LINE].tolist() == exact.lines.tolist() and n == len(exact)
    for k, column in enumerate(columns):  # the codes give back each column, before the frame is built
        assert [str(t) for t in codes[k][1][codes[k][0]]] == exact.rows.iloc[:, k].tolist()
    assert "rows" not in vars(fast)  # nothing so far needed the frame of str objects
    assert fast.rows.equals(exact.rows) and list(fast.rows.dtypes) == list(exact.rows.dtypes)
    assert all(type(v) is str for v in fast.rows.drop(columns=LINE).to_numpy().ravel())


MAPPED_FILES = {
    **FAST_FILES,
    "quoted.csv": 'a,b\n"1, 2",3\n',
    "quoted_cell.csv": 'a,b\n1,"x"\n2,y\n',
    # Quoted cells: read by Arrow in a large file, as the csv module reads them ...
    "quoted_all.csv": 'territoire,valeur\n"01001","1.5"\n"01002",""\n',
    "quoted_header.csv": '"territoire","valeur"\n"01001",1.5\n',
    "quoted_header_lines.csv": '"terri\ntoire",valeur\n1,2\n',
    "quoted_after.csv": 'a,b\n"ab"c,1\n"",2\n',
    "quoted_semicolon.csv": 'a;b\n"1,5";" x "\n',
    # ... or by the exact reader: a quote or a line break left in a text, a quote left open.
    "quoted_doubled.csv": 'a,b\n"x ""y""",1\n',
    "quoted_space.csv": 'a,b\n "ab" ,1\n',
    "quoted_newline.csv": 'a,b\n"x\ny",1\n2,3\n4\n',
    "quoted_unterminated.csv": 'a,b\n"x,1\n2,3\n',
    "quoted_fields.csv": 'a,b\n"1,2",3\n4\n',
    "quoted_late.csv": "a,b\n" + "1,2\n" * 20_000 + '"3\n4",5\n',  # a quoted line break far into the file
    "nul.csv": "a,b\n" + "1,2\n" * 20_000 + "3,4\x005\n",  # a NUL after the sniffed start
    "lone_cr.csv": "a,b\r1,2\r",
    "bom.csv": "\ufeffa,b\n1,2\n",
    "no_newline.csv": "a,b",
    "fields.csv": "a,b\n1,2,3\n4,5\n",
    "spaces.csv": "   \n \n",
}


@pytest.mark.parametrize("name", sorted(MAPPED_FILES) + ["cp1252.csv", "image.csv", "workbook.csv", "utf16.csv"])
def test_a_large_file_mapped_in_memory_is_read_as_its_copy(tmp_path, monkeypatch, name):
    """Large text files are read from the page cache (mapped, not copied): the same table, or
    the same messages, as from a copy of the file, whatever the file holds."""
    from observatoire.engine import load

    if name in MAPPED_FILES:
        path = write(tmp_path, name, MAPPED_FILES[name])
    else:
        path = tmp_path / name
        path.write_bytes({"cp1252.csv": "a;b\nété;2\n".encode("cp1252"), "image.csv": b"\x89PNG\r\n\x1a\n" + bytes(64),
                          "utf16.csv": "a,b\n1,2\n".encode("utf-16"),
                          "workbook.csv": (paths.DATA / "modele" / "modele-donnees.xlsx").read_bytes()}[name])

    def outcome():
        try:
            table = read_table(path)
        except ValidationError as exc:
            return [p.message for p in exc.problems]
        return table.rows, table.encoding, table.delimiter, [p.message for p in table.warnings]

    copied = outcome()
    mapped = []
    monkeypatch.setattr(load, "_MAPPED_SIZE", 0)
    real = load._read_mapped
    monkeypatch.setattr(load, "_read_mapped", lambda p: mapped.append(p) or real(p))
    again = outcome()
    assert mapped == [path]  # the mapped path was taken
    if isinstance(copied, list):
        assert again == copied
    else:
        assert again[0].equals(copied[0]) and again[1:] == copied[1:]


def test_a_windows_1252_byte_far_into_a_large_file_is_read_as_windows_1252(tmp_path):
    """Arrow reads texts without checking them; the distinct texts are checked after. A byte
    that is not UTF-8 after the sniffed start, in a column of runs or of distinct texts, sends
    the file to the Windows-1252 reading, as Arrow's own check did."""
    for column in (0, 1):
        rows = [f"75056,{k}" for k in range(30_000)]
        rows[-1] = "Orléans,1" if column == 0 else "75056,1 é"
        path = tmp_path / f"late{column}.csv"
        path.write_bytes(("territoire,v\n" + "\n".join(rows) + "\n").encode("cp1252"))
        table = read_table(path)
        assert table.encoding == "cp1252" and table.rows.iloc[-1].tolist()[:2] == rows[-1].split(",")


def test_a_large_quoted_file_is_read_by_arrow(tmp_path, monkeypatch):
    """A large file whose cells are quoted (as R's write.csv writes them) goes to Arrow like
    an unquoted one: the same table as the csv module reads, each row on its line."""
    from observatoire.engine import load

    text = "territoire,valeur,source\n" + "".join(f'"{k:05d}","{k}.5","Insee, RP"\n' for k in range(1000, 1200))
    path = write(tmp_path, "r.csv", text)
    exact = read_table(path)
    assert exact.factorised is None  # small: the csv module
    monkeypatch.setattr(load, "_MAPPED_SIZE", 0)
    table = read_table(path)
    assert table.factorised is not None and table.rows.equals(exact.rows)
    assert table.rows.iloc[0].tolist()[:3] == ["01000", "1000.5", "Insee, RP"] and table.lines.tolist() == list(range(2, 202))


@pytest.mark.parametrize("ends", [("\r",), ("\n", "\r\n", "\r"), ("\n", "\r")])
def test_line_ends_of_any_kind_give_the_exact_readers_rows_and_lines(tmp_path, monkeypatch, ends):
    """Lines ending in CR alone (an old Mac's), CRLF or LF, mixed at random over a file of
    several of Arrow's blocks: Arrow reads the rows the csv module reads, each on its line."""
    import random

    from observatoire.engine import load

    rng = random.Random(len(ends))
    rows = [f"{k:08d},{k % 97}{rng.choice(ends)}" for k in range(150_000)]  # 3 MB: three blocks
    path = tmp_path / "ends.csv"
    path.write_bytes(("a,b" + rng.choice(ends) + "".join(rows)).encode())
    monkeypatch.setattr(load, "_MAPPED_SIZE", 0)
    table = read_table(path)
    assert table.factorised is not None  # Arrow's reading
    monkeypatch.setattr(load, "_read_csv_fast", lambda *a, **k: None)
    exact = read_table(path)
    assert table.columns == exact.columns == ["a", "b"]
    assert table.rows.equals(exact.rows) and table.lines.tolist() == exact.lines.tolist() == list(range(2, 150_002))


def test_a_quoted_cell_is_read_as_the_csv_module_reads_it(tmp_path):
    table = read_table(write(tmp_path, "q.csv", 'a,b\n1,"x"\n2,y\n'))
    assert table.factorised is None  # the exact reader: Arrow's texts held a quote
    assert table.rows["b"].tolist() == ["x", "y"]


def test_codes_are_dropped_once_rows_are_replaced(tmp_path):
    raw = read_table(write(tmp_path, "d.csv", "a,b\n1,2\n3,4\n"))
    codes, texts = raw.codes(1)
    assert texts[codes].tolist() == ["2", "4"]
    assert raw.rows["b"].tolist() == ["2", "4"] and raw.codes(1) is not None  # built: still the same cells
    raw.rows = raw.rows.assign(b=["5", "6"])
    assert raw.codes(1) is None and raw.codes(0) is None
    assert raw.columns == ["a", "b"] and raw.lines.tolist() == [2, 3]


def test_fast_reader_unifies_the_texts_of_every_block_of_a_large_file(tmp_path, monkeypatch):
    from observatoire.engine import load

    # About 3 MB: Arrow reads it in several blocks, each with texts of its own.
    lines = ["territoire,indicateur,valeur"] + [f"{k % 3001:05d},ind_{k % 7},{k * 7 % 1013}.5" for k in range(120_000)]
    path = write(tmp_path, "large.csv", "\n".join(lines) + "\n")
    fast = read_table(path)
    codes = [fast.codes(k) for k in range(3)]
    assert all(len(texts) == len(set(texts)) for _, texts in codes)  # one code per distinct text
    monkeypatch.setattr(load, "_read_csv_fast", lambda *args: None)
    exact = read_table(path)
    for k, (c, texts) in enumerate(codes):
        assert texts[c].tolist() == exact.rows.iloc[:, k].tolist()
    assert fast.rows.equals(exact.rows)


def test_arrow_finds_exactly_the_texts_that_strip_changes():
    """The fast reader strips only the texts Arrow finds with a space at an edge: every
    character Python's str.strip removes, and no other, is such a space."""
    import sys

    import pyarrow as pa
    import pyarrow.compute as pc

    from observatoire.engine.load import _EDGE_SPACE

    every = [chr(c) for c in range(sys.maxunicode + 1) if not 0xD800 <= c <= 0xDFFF]
    texts = [f"{c}x" for c in every] + [f"x{c}" for c in every] + [f"x{c}x" for c in every] + ["", "x"]
    found = pc.match_substring_regex(pa.array(texts), _EDGE_SPACE).to_pylist()
    assert found == [t != t.strip() for t in texts]


def test_a_column_is_encoded_once_over_all_its_chunks():
    """Each column Arrow read (in chunks, one per block) becomes one array of codes into its
    distinct texts, in order of first appearance; chunks that come with dictionaries of their
    own are unified first."""
    import pyarrow as pa

    from observatoire.engine.load import _dictionary_codes

    codes, texts, padded = _dictionary_codes(pa.chunked_array([[" x", "y"], [], ["y ", "z", " x"]]))
    assert codes.tolist() == [0, 1, 2, 3, 0] and texts.tolist() == [" x", "y", "y ", "z"]
    assert padded.tolist() == [True, False, True, False]
    own = pa.chunked_array([pa.array(["b", "a", "b"]).dictionary_encode(), pa.array(["c", "a"]).dictionary_encode()])
    codes, texts, _ = _dictionary_codes(own)
    assert texts[codes].tolist() == ["b", "a", "b", "c", "a"] and texts.tolist() == ["b", "a", "c"]
    codes, texts, padded = _dictionary_codes(pa.chunked_array([], type=pa.string()))
    assert len(codes) == len(texts) == len(padded) == 0


def test_a_column_in_runs_gives_the_same_codes(monkeypatch):
    """A column whose first rows come in runs (territories one after the other, one source on
    every row) is encoded run by run: the same codes and texts as row by row."""
    import numpy as np
    import pyarrow as pa

    from observatoire.engine import load

    monkeypatch.setattr(load, "_RUN_PROBE", 16)
    runs = pa.chunked_array([["a"] * 10 + ["b"] * 10, [], ["b"] * 5 + [" c"] * 20 + ["a"] * 3, ["d"]])
    assert load._in_runs(runs.chunk(0)) and not load._in_runs(pa.array(["a", "b"] * 10))
    codes, texts, padded = load._dictionary_codes(runs)
    monkeypatch.setattr(load, "_in_runs", lambda chunk: False)
    row_by_row = load._dictionary_codes(runs)
    assert codes.dtype == row_by_row[0].dtype == np.int32
    assert codes.tolist() == row_by_row[0].tolist() == [0] * 10 + [1] * 15 + [2] * 20 + [0] * 3 + [3]
    assert texts.tolist() == row_by_row[1].tolist() == ["a", "b", " c", "d"] and padded.tolist() == [False, False, True, False]
