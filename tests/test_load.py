"""Reading tables as people produce them."""

import pytest

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
