"""Write the corpus of territory files « as officers send them » (tests/donnees/envois/).

The corpus is committed; this script says how each file was made and remakes them:
``.venv/bin/python tests/donnees/envois/fabriquer.py``. The values are test inputs for the
validator and the book build, for a real commune (Ambérieu-en-Bugey, 01004, the commune of
issue #19) because a territory's book is only built for codes of the COG: they are not
observations, and no test publishes them.
"""

from __future__ import annotations

import datetime as dt
import io
import struct
import zipfile
import zlib
from pathlib import Path

HERE = Path(__file__).parent
CODE = "01004"
HEADER = ["territoire", "indicateur", "periode", "valeur", "unite", "source", "commentaire"]
MONTHS = [f"2025-{m:02d}" for m in range(1, 13)]


def catalogue():
    from observatoire.engine.catalogue import load_catalogue

    return load_catalogue().indicators


def plausible(meta, indicator: str, shift: int = 0) -> str:
    """A value inside the indicator's goalposts (test input, not an observation)."""
    low, high = float(meta.at[indicator, "borne_basse"]), float(meta.at[indicator, "borne_haute"])
    value = low + (high - low) * (0.35 + 0.05 * (shift % 7))
    return f"{value:.1f}"


def csv_text(rows, sep=",", header=HEADER) -> str:
    """CSV as a spreadsheet writes it: cells holding the separator or a quote are quoted."""
    import csv

    out = io.StringIO()
    csv.writer(out, delimiter=sep, lineterminator="\n").writerows([header, *rows])
    return out.getvalue()


def row(meta, indicator, period, value=None, source="", comment="", shift=0):
    return [CODE, indicator, period, value or plausible(meta, indicator, shift), meta.at[indicator, "unite"], source,
            comment]


def write(name: str, data: bytes | str, encoding="utf-8"):
    (HERE / name).write_bytes(data if isinstance(data, bytes) else data.encode(encoding))


def main() -> None:
    meta = catalogue()
    annual = [i for i in meta.index if meta.at[i, "periodicite"] == "annuelle" and meta.at[i, "agregation"] != "compte"]
    monthly = [i for i in meta.index if meta.at[i, "periodicite"] == "mensuelle"]
    horizon = [i for i in meta.index if meta.at[i, "periodicite"] == "projection"]

    # -- sparse but valid: each builds a book -------------------------------------------
    write("une-valeur.csv", csv_text([row(meta, "eau_rendement_reseau", "2024")]))
    write("trois-valeurs.csv", csv_text([row(meta, i, "2024", shift=k) for k, i in
                                         enumerate(["eau_rendement_reseau", "logements_sociaux_part", "ftth_locaux_part"])]))
    ten = annual[::5][:10]
    write("dix-valeurs.csv", csv_text([row(meta, i, "2024", shift=k) for k, i in enumerate(ten)]))
    eau = [i for i in meta.index if meta.at[i, "commun"] == "eau"]
    write("un-seul-commun.csv", csv_text(
        [row(meta, i, "2050" if i in horizon else "2025-12" if i in monthly else "2024", shift=k) for k, i in enumerate(eau)]))
    axis1 = [i for i in meta.index if meta.at[i, "axe"] == 1]
    write("un-seul-axe.csv", csv_text(
        [row(meta, i, "2025-12" if i in monthly else "2024", shift=k) for k, i in enumerate(axis1)]))
    rows = []
    for k, i in enumerate(["prix_gazole_moyen", "restriction_eau_jours", "canicule_vigilance_jours"]):
        for m, month in enumerate(MONTHS):
            value = f"{1.694 + 0.001 * m:.3f}" if i == "prix_gazole_moyen" else f"{(m * 3 + k) % 12}"
            comment = "Relevé interrompu par la grève des stations" if (i, month) == ("prix_gazole_moyen", "2025-03") else ""
            rows.append(row(meta, i, month, value, comment=comment))
    write("mensuel-seulement.csv", csv_text(rows))
    write("horizons-seulement.csv", csv_text(
        [row(meta, i, h, shift=k) for k, i in enumerate(horizon) for h in ("2030", "2050", "2100")]))

    # -- valid, with something read or repaired: one warning each, grouped ----------------
    rows = [["1004", "prix_gazole_moyen", month, "1,7" if m % 2 else "1,694", "€/L", "Relevé mairie", ""]
            for m, month in enumerate(MONTHS)]
    rows += [["1004", "eau_rendement_reseau", str(y), "81,5", "%", "Régie des eaux", ""] for y in range(2014, 2026)]
    write("zeros-perdus.csv", csv_text(rows, ";").replace("\n", "\r\n"), "cp1252")
    write("titres-accentues.csv", csv_text([[CODE, "eau_rendement_reseau", "2024", "81,5", "%", "Régie", ""]], ";",
                                           ["Territoire", "INDICATEUR", " Période ", "Valeur", "Unité", "Source",
                                            "Commentaire"]), "cp1252")
    write("titres-du-schema.csv", csv_text([[CODE, "eau_rendement_reseau", "2024", "81.5", "%", "", ""]], ",",
                                           ["Code du territoire", "Identifiant de l'indicateur", "Période", "Valeur",
                                            "Unité", "Source", "Commentaire"]))
    write("colonnes-en-trop.csv", csv_text(
        [["Ambérieu-en-Bugey", CODE, "eau_rendement_reseau", "2024", "81,5", "%", "", "", "vu", ""]], ";",
        ["Nom de la commune", *HEADER, "", ""]))
    write("titre-au-dessus.csv", "Données de la commune d'Ambérieu-en-Bugey;;;\nSaisie du 20/11/2026;;;\n;;;\n"
          + csv_text([[CODE, "eau_rendement_reseau", "2024", "81,5"]], ";", HEADER[:4]), "cp1252")
    text = csv_text([row(meta, "eau_rendement_reseau", "2024", "81,5", "Régie des eaux")], "\t").replace("\n", "\r\n")
    write("texte-unicode-utf16.txt", codecs_bom("utf-16-le") + text.encode("utf-16-le"))
    write("utf16-sans-bom.csv", text.encode("utf-16-be"))
    write("utf32.csv", csv_text([row(meta, "eau_rendement_reseau", "2024")]), "utf-32")
    write("pourcentages.csv", csv_text([[CODE, "eau_rendement_reseau", "2024", "81,5 %", "%", "", ""],
                                        [CODE, "logements_sociaux_part", "2024", "12%", "%", "", ""]], ";"))
    write("mois-comme-affiches.csv", csv_text(
        [[CODE, "prix_gazole_moyen", p, v, "€/L", "", ""] for p, v in
         (("janv.-25", "1,69"), ("févr.-25", "1,70"), ("mars 2025", "1,71"), ("04/2025", "1,72"))], ";"), "cp1252")
    write("provenance.csv", csv_text(
        [[CODE, "eau_rendement_reseau", "2024", "81.5", "%", "", "", "Régie des eaux d'Ambérieu",
          "Rapport annuel sur le prix et la qualité du service", "https://www.example.org/rpqs-2024.pdf", "2024",
          "20/11/2026", "Licence Ouverte / Etalab 2.0", "Rendement du réseau : 81,5 %"],
         [CODE, "logements_sociaux_part", "2024", "12.4", "%", "", "", "SDES", "RPLS", "https://www.example.org/rpls",
          "2024", "2026-11-21", "Licence Ouverte / Etalab 2.0", "Part de logements sociaux : 12,4 %"]],
        ",", [*HEADER, "producteur", "jeu_de_donnees", "url", "millesime", "date_consultation", "licence", "extrait"]))
    write("separateurs-en-fin.csv", csv_text([[CODE, "eau_rendement_reseau", "2024", "81,5", "", "", "", "", ""]], ";",
                                             [*HEADER, "", ""]).replace("\n", "\r\n"))
    excel_cells("excel-cellules.xlsx")
    excel_cells("classeur-renomme.csv", "Saisie 2025")

    # -- not a table ---------------------------------------------------------------------
    write("photo.csv", jpeg())
    write("capture.csv", png())
    write("document.csv", pdf())
    write("archive.csv", zipped({"donnees.csv": csv_text([row(meta, "eau_rendement_reseau", "2024")])}))
    write("page-web.csv", "<!DOCTYPE html>\n<html lang=\"fr\"><head><meta charset=\"utf-8\"><title>Données — "
          "data.gouv.fr</title></head>\n<body><table><tr><td>territoire</td></tr></table></body></html>\n")
    write("binaire.csv", bytes((k * 37 + 11) % 256 for k in range(2048)))
    write("classeur-libreoffice.ods", zipped({"mimetype": "application/vnd.oasis.opendocument.spreadsheet",
                                              "content.xml": "<office:document-content/>"}, stored_first=True))
    write("classeur-ancien.xls", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504) + b"Workbook")

    # -- tables with a problem of their own ----------------------------------------------
    write("entete-seule.csv", csv_text([]))
    write("entete-vide.csv", "\n" + csv_text([row(meta, "eau_rendement_reseau", "2024")]).split("\n", 1)[1])
    write("entete-separateurs.csv", ";;;;;;\n" + csv_text([row(meta, "eau_rendement_reseau", "2024")], ";").split("\n", 1)[1])
    write("sans-entete.csv", csv_text([row(meta, "eau_rendement_reseau", "2024"),
                                       row(meta, "logements_sociaux_part", "2024")]).split("\n", 1)[1])
    write("encodage-inconnu.csv", csv_text([[CODE, "eau_rendement_reseau", "2024", "81,5", "%", "Régie", ""]],
                                           ";").encode("cp1252").replace(b"R\xe9gie", b"R\x81gie"))
    write("colonne-en-double.csv", csv_text([[CODE, "eau_rendement_reseau", "2024", "81,5", "2023"]], ";",
                                            HEADER[:4] + ["Période"]))
    write("pourcentage-mauvaise-unite.csv", csv_text([[CODE, "nuits_tropicales_2050", "2050", "31 %", "", "", ""]]))
    write("code-fictif.csv", csv_text([["FICTIF-VAL-DE-BRUME", "eau_rendement_reseau", "2024", "81.5", "%", "", ""]]))
    write("erreur-de-formule.csv", csv_text([[CODE, "eau_rendement_reseau", "2024", "#DIV/0!", "%", "", ""]], ";"))
    write("provenance-invalide.csv", csv_text(
        [[CODE, "eau_rendement_reseau", "2024", "81.5", "www.example.org/rpqs.pdf", "2024-13-01"]], ",",
        HEADER[:4] + ["url", "date_consultation"]))
    excel_dates("excel-date-complete.xlsx", "eau_rendement_reseau", dt.datetime(2024, 3, 15), "dd/mm/yyyy")
    excel_dates("excel-mois-pour-annuel.xlsx", "eau_rendement_reseau", dt.datetime(2024, 3, 1), "mmm-yy")


def codecs_bom(encoding: str) -> bytes:
    import codecs

    return {"utf-16-le": codecs.BOM_UTF16_LE}[encoding]


def excel_cells(name: str, sheet: str = "Données") -> None:
    """A workbook as an officer fills it: a notes sheet first, then the data with a year typed
    in a date cell (shown « 2024 »), months typed as dates (shown « janv.-25 »), a number stored
    as text, a percentage cell (0.815 shown « 81,5 % ») and a code that lost its zero."""
    from openpyxl import Workbook

    wb = Workbook()
    notes = wb.active
    notes.title = "Notes"
    notes.append(["Fichier préparé pour l'Observatoire ; les valeurs sont dans la feuille Données."])
    ws = wb.create_sheet(sheet)
    ws.append(HEADER)
    ws.append([CODE, "eau_rendement_reseau", dt.datetime(2024, 1, 1), 0.815, "%", "Régie", ""])
    ws["C2"].number_format = "yyyy"
    ws["D2"].number_format = "0.0%"
    for m in range(1, 4):
        ws.append([1004, "prix_gazole_moyen", dt.datetime(2025, m, 1), "1,694" if m == 1 else 1.7 + m / 100,
                   "€/L", "", "prix affiché à la pompe" if m == 2 else ""])
        ws.cell(ws.max_row, 3).number_format = "mmm-yy"
    ws.append([CODE, "logements_sociaux_part", 2024, "12,4", "%", "", ""])
    write(name, saved(wb))


def saved(wb) -> bytes:
    """The workbook's bytes, the same at every run (fixed document and archive dates)."""
    when = dt.datetime(2026, 11, 20)
    wb.properties.created = wb.properties.modified = when
    buffer = io.BytesIO()
    wb.save(buffer)
    out = io.BytesIO()
    with zipfile.ZipFile(buffer) as source, zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for item in source.infolist():
            data = source.read(item.filename)
            if item.filename == "docProps/core.xml":  # openpyxl stamps the save time there
                import re

                data = re.sub(rb"<dcterms:modified([^>]*)>[^<]*<", rb"<dcterms:modified\1>2026-11-20T00:00:00Z<", data)
            info = zipfile.ZipInfo(item.filename, date_time=(2026, 11, 20, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            target.writestr(info, data)
    return out.getvalue()


def excel_dates(name: str, indicator: str, date: dt.datetime, fmt: str) -> None:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "donnees"
    ws.append(HEADER[:4])
    ws.append([CODE, indicator, date, 81.5])
    ws["C2"].number_format = fmt
    write(name, saved(wb))


def png() -> bytes:
    """A real 2×2 PNG image."""
    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)
    raw = b"".join(b"\x00" + bytes([200, 30, 30] * 2) for _ in range(2))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", 2, 2, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def jpeg() -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), (30, 120, 200)).save(buffer, format="JPEG")
    return buffer.getvalue()


def pdf() -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(2, 1))
    ax.text(0.1, 0.5, "Tableau des indicateurs")
    ax.set_axis_off()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="pdf", metadata={"CreationDate": None, "Creator": None, "Producer": None})
    plt.close(fig)
    return buffer.getvalue()


def zipped(files: dict[str, str], stored_first: bool = False) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for k, (name, text) in enumerate(files.items()):
            info = zipfile.ZipInfo(name, date_time=(2026, 11, 20, 0, 0, 0))
            info.compress_type = zipfile.ZIP_STORED if (stored_first and k == 0) else zipfile.ZIP_DEFLATED
            archive.writestr(info, text)
    return buffer.getvalue()


if __name__ == "__main__":
    main()
