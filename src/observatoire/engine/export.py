"""Open-data export of a run: the tidy results as CSV and Parquet, described by a Frictionless
Data Package (``datapackage.json``) that also records the choices that made the numbers.

Same inputs give byte-identical files, so that a published export can be checked by recomputing
it: rows are sorted explicitly, floats are written in their shortest exact form, nothing records
a date, a path or the machine, and the Parquet writer options are fixed here.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
import os
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pandas as pd

from observatoire import __version__
from observatoire.engine.catalogue import Catalogue
from observatoire.engine.scores import Scores
from observatoire.engine.reference import (COMMUNE_PATTERN, DEPARTEMENT_PATTERN, EPCI_PATTERN, FRANCE_CODE,
                                    REGION_PATTERN)

CSV_NAME = "resultats.csv"
PARQUET_NAME = "resultats.parquet"
PACKAGE_NAME = "datapackage.json"

LEVELS = ("indicateur", "commun", "axe", "indice")
COLUMNS = ("territoire", "niveau", "element", "libelle", "periode", "valeur", "score", "couverture", "drapeau")
NUMBER_COLUMNS = ("valeur", "score", "couverture")
PRIMARY_KEY = ["territoire", "niveau", "element"]

#: Flags the engine sets in ``drapeau`` (an empty cell means no flag).
FLAGS = {
    "impute": "score d'une valeur imputée (médiane des territoires du même niveau), la valeur brute restant vide",
    "manquant": "aucun score : valeur absente ou couverture insuffisante",
}

# Canonical territory codes, as the engine writes them (Frictionless patterns are implicitly
# anchored, like those of data/reference/datapackage.json).
TERRITORY_PATTERN = (f"({COMMUNE_PATTERN.pattern}|{EPCI_PATTERN.pattern}"
                     f"|DEP-({DEPARTEMENT_PATTERN.pattern})|REG-{REGION_PATTERN.pattern}|{FRANCE_CODE})")

LICENSE = {
    "name": "etalab-2.0",
    "title": "Licence Ouverte / Open Licence version 2.0",
    "path": "https://www.etalab.gouv.fr/licence-ouverte-open-licence",
}
COG_SOURCE = {"title": "INSEE, Code officiel géographique au 1er janvier 2026",
              "path": "https://www.insee.fr/fr/information/2560452"}

# Parquet writer options, fixed so that the file depends on the data alone (the writer still
# names itself, « parquet-cpp-arrow version X », which the pinned pyarrow keeps constant).
PARQUET_OPTIONS = dict(
    version="2.6",
    data_page_version="1.0",
    compression="zstd",
    compression_level=9,
    use_dictionary=True,
    write_statistics=True,
    store_schema=True,
    write_page_index=False,
    write_page_checksum=False,
    use_content_defined_chunking=False,
)


def table_schema(flags: set[str] | None = None) -> dict:
    """Table Schema (in French) of the tidy results, shared by the CSV and Parquet resources."""
    flag_values = sorted(set(FLAGS) | set(flags or ()))
    flag_text = " ; ".join(f"« {f} » : {FLAGS.get(f, 'voir la documentation du moteur')}" for f in flag_values)
    levels = ", ".join(f"« {level} »" for level in LEVELS)
    fields = [
        {"name": "territoire", "title": "Code du territoire",
         "description": "Identifiant du territoire dans le Code officiel géographique 2026, à lire comme du "
                        "texte : code commune à 5 caractères (33063, 2A004, 01004), SIREN à 9 chiffres d'un "
                        "EPCI (200046977), DEP- et le code du département (DEP-33, DEP-2A), REG- et le code "
                        "de la région (REG-94), ou FR pour la France.",
         "example": "33063", "type": "string",
         "constraints": {"required": True, "pattern": TERRITORY_PATTERN}},
        {"name": "niveau", "title": "Niveau de synthèse",
         "description": f"Niveau de l'élément dans l'arbre de synthèse : {levels}.",
         "example": "indicateur", "type": "string",
         "constraints": {"required": True, "enum": list(LEVELS)}},
        {"name": "element", "title": "Identifiant de l'élément",
         "description": "Identifiant de l'indicateur (colonne id de data/catalogue/indicateurs.csv), du commun "
                        "(data/catalogue/communs.csv), numéro de l'axe (1 à 4, data/catalogue/axes.csv) ou "
                        "« indice » pour l'indice global.",
         "example": "chomage_taux", "type": "string",
         "constraints": {"required": True, "pattern": r"[a-z][a-z0-9_]{2,40}|\d+"}},
        {"name": "libelle", "title": "Libellé",
         "description": "Libellé français de l'élément, tel qu'affiché dans le Livre Blanc.",
         "example": "Taux de chômage", "type": "string", "constraints": {"required": True}},
        {"name": "periode", "title": "Période retenue",
         "description": "Pour un indicateur, période de la valeur retenue pour le score : mois (AAAA-MM), année "
                        "(AAAA) ou horizon de projection (AAAA). Vide pour un commun, un axe ou l'indice, et pour "
                        "un indicateur sans valeur.",
         "example": "2024", "type": "string",
         "constraints": {"required": False, "pattern": r"\d{4}(-(0[1-9]|1[0-2]))?"}},
        {"name": "valeur", "title": "Valeur brute",
         "description": "Pour un indicateur, valeur retenue, dans l'unité du catalogue (un compte est donné tel "
                        "que saisi, avant sa conversion pour 100 000 habitants). Vide pour les autres niveaux. "
                        "Séparateur décimal : le point.",
         "example": "7.4", "type": "number", "constraints": {"required": False}},
        {"name": "score", "title": "Score (0 à 100)",
         "description": "Score normalisé de 0 (pire) à 100 (meilleur), orienté par le sens de l'indicateur, puis "
                        "agrégé pour les communs, les axes et l'indice selon les choix consignés dans "
                        "observatoire:choix. Vide quand il n'a pas pu être calculé (voir drapeau). "
                        "Séparateur décimal : le point.",
         "example": "61.5", "type": "number",
         "constraints": {"required": False, "minimum": 0, "maximum": 100}},
        {"name": "couverture", "title": "Couverture",
         "description": "Part du poids des indicateurs de l'élément portée par ceux qui ont une valeur (de 0 à "
                        "1) ; pour un indicateur, 1 s'il a une valeur, 0 sinon. Vide si tous les poids de "
                        "l'élément sont nuls.",
         "example": "1.0", "type": "number",
         "constraints": {"required": False, "minimum": 0, "maximum": 1}},
        {"name": "drapeau", "title": "Drapeau",
         "description": f"Signalement sur le score ; vide quand il n'y a rien à signaler. {flag_text}.",
         "example": "manquant", "type": "string",
         "constraints": {"required": False, "enum": flag_values}},
    ]
    return {"fields": fields, "missingValues": [""], "primaryKey": list(PRIMARY_KEY)}


def ordered_results(scores: Scores) -> pd.DataFrame:
    """``scores.tidy()`` sorted by territory, level, then catalogue order of the elements."""
    cat = scores.catalogue
    tidy = scores.tidy()[list(COLUMNS)]
    rank = {("indicateur", e): i for i, e in enumerate(cat.indicators.index)}
    rank |= {("commun", e): i for i, e in enumerate(cat.communs.index)}
    rank |= {("axe", str(e)): i for i, e in enumerate(cat.axes.index)}
    keys = pd.DataFrame({
        "territoire": tidy["territoire"].astype(str).to_numpy(),
        "niveau": tidy["niveau"].map({level: i for i, level in enumerate(LEVELS)}).fillna(len(LEVELS)).to_numpy(),
        "rang": [rank.get((n, e), len(rank)) for n, e in zip(tidy["niveau"], tidy["element"])],
        "element": tidy["element"].astype(str).to_numpy(),
    })
    order = keys.sort_values(list(keys.columns), kind="mergesort").index
    return tidy.iloc[order].reset_index(drop=True)


def _text(value) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)) or value is pd.NA:
        return ""
    return str(value)


def _number(value) -> str:
    """Shortest text that reads back as the same float (``repr``); missing → empty cell."""
    if value is None or value is pd.NA:
        return ""
    x = float(value)
    return "" if math.isnan(x) else repr(x)


def results_csv(results: pd.DataFrame) -> bytes:
    """UTF-8 without BOM, comma, RFC 4180 quoting, LF line ends, one header line."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=",", quotechar='"', doublequote=True,
                        quoting=csv.QUOTE_MINIMAL, lineterminator="\n")
    writer.writerow(COLUMNS)
    columns = [results[c].tolist() for c in COLUMNS]
    formats = [_number if c in NUMBER_COLUMNS else _text for c in COLUMNS]
    for row in zip(*columns):
        writer.writerow([f(v) for f, v in zip(formats, row)])
    return buffer.getvalue().encode("utf-8")


def write_parquet(results: pd.DataFrame, path: Path, schema: dict, metadata: dict[str, str]) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    fields, arrays = [], []
    for f in schema["fields"]:
        name = f["name"]
        required = bool(f.get("constraints", {}).get("required"))
        field_meta = {"title": f["title"], "description": f["description"]}
        if f["type"] == "number":
            values = pd.to_numeric(results[name], errors="coerce").to_numpy(dtype="float64")
            array = pa.array(values, type=pa.float64(), from_pandas=True)  # NaN → null
            kind = pa.float64()
        else:
            values = [_text(v) or None for v in results[name].tolist()]  # empty → null
            array = pa.array(values, type=pa.string())
            kind = pa.string()
        fields.append(pa.field(name, kind, nullable=not required or array.null_count > 0, metadata=field_meta))
        arrays.append(array)
    table = pa.Table.from_arrays(arrays, schema=pa.schema(fields, metadata=metadata))
    pq.write_table(table, path, row_group_size=max(len(table), 1), **PARQUET_OPTIONS)


def _jsonable(obj):
    """Plain JSON values: numpy scalars unwrapped, NaN as null, keys as text, sets sorted."""
    if isinstance(obj, dict):
        return {str(k): _jsonable(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_jsonable(v) for v in obj]
    if isinstance(obj, (set, frozenset)):
        return [_jsonable(v) for v in sorted(obj, key=str)]
    if isinstance(obj, np.generic):
        obj = obj.item()
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, (str, int, float, bool)) or obj is None:
        return obj
    return str(obj)


def choices_record(scores: Scores) -> dict:
    """The run's parameters and the log of its steps, as recorded in the data package."""
    return _jsonable({"parametres": asdict(scores.choices), "journal": scores.log})


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _catalogue_record(catalogue: Catalogue) -> dict:
    d = Path(catalogue.directory)
    files = {}
    for name in ("indicateurs.csv", "axes.csv", "communs.csv"):
        if (d / name).exists():
            files[name] = "sha256:" + _sha256((d / name).read_bytes())
    return {"fichiers": files}


def _sources(catalogue: Catalogue) -> list[dict]:
    """The producers named by the catalogue (one entry per source and address), then the COG."""
    ind = catalogue.indicators
    pairs = sorted(set(zip(ind["source"].astype(str), ind["source_url"].astype(str))))
    return [{"title": title, "path": url} for title, url in pairs] + [COG_SOURCE]


def data_package(scores: Scores, csv_bytes: bytes, parquet_bytes: bytes, flags: set[str],
                 data_file: dict | None = None, demonstration: bool = False) -> dict:
    schema = table_schema(flags)
    description = (
        "Scores de l'Observatoire de la résilience des territoires et des entreprises : une ligne par "
        "territoire et par élément de l'arbre de synthèse (indicateur, commun, axe, indice global), avec la "
        "valeur retenue, le score de 0 à 100, la couverture et un drapeau. Les deux ressources ont le même "
        "contenu, en CSV et en Parquet. Les codes de territoire sont du texte et gardent leur forme "
        "(01004, 2A004, REG-94) : lisez le CSV avec dtype=str. Les choix de calcul qui ont produit ces "
        "nombres (normalisation, agrégation, pondérations, couverture minimale, horizon) sont consignés "
        "dans la propriété observatoire:choix."
    )
    keywords = ["résilience", "territoires", "indicateurs", "indicateurs composites", "Observatoire"]
    if demonstration:
        description += (" Attention : ces résultats portent sur des territoires fictifs aux valeurs inventées "
                        "(générateur à graine fixe de l'Observatoire) ; ce ne sont pas des statistiques.")
        keywords.append("valeurs fictives")
    csv_resource = {
        "name": "resultats",
        "title": "Résultats de l'Observatoire (CSV)",
        "description": "Résultats au format long, triés par territoire, niveau puis ordre du catalogue.",
        "profile": "tabular-data-resource",
        "path": CSV_NAME, "format": "csv", "mediatype": "text/csv", "encoding": "utf-8",
        "bytes": len(csv_bytes), "hash": "sha256:" + _sha256(csv_bytes),
        "dialect": {"delimiter": ",", "lineTerminator": "\n", "quoteChar": '"', "doubleQuote": True,
                    "header": True},
        "schema": schema,
    }
    parquet_resource = {
        "name": "resultats-parquet",
        "title": "Résultats de l'Observatoire (Parquet)",
        "description": "Même contenu que resultats.csv, au format Apache Parquet (cellules vides en null).",
        "profile": "data-resource",
        "path": PARQUET_NAME, "format": "parquet", "mediatype": "application/vnd.apache.parquet",
        "bytes": len(parquet_bytes), "hash": "sha256:" + _sha256(parquet_bytes),
        "schema": schema,
    }
    package = {
        "profile": "data-package",
        "name": "observatoire-resilience-resultats",
        "title": "Observatoire de la résilience des territoires et des entreprises : résultats",
        "description": description,
        "version": __version__,
        "keywords": keywords,
        "licenses": [LICENSE],
        "sources": _sources(scores.catalogue),
        "resources": [csv_resource, parquet_resource],
        "observatoire:choix": choices_record(scores),
        "observatoire:catalogue": _catalogue_record(scores.catalogue),
    }
    if data_file is not None:
        package["observatoire:donnees"] = data_file
    return _jsonable(package)


def export_scores(scores: Scores, directory: str | os.PathLike, data_path: str | os.PathLike | None = None,
                  demonstration: bool = False) -> dict[str, Path]:
    """Write resultats.csv, resultats.parquet and datapackage.json into ``directory``.

    ``data_path`` is the data file the scores were computed from: its name and SHA-256 are
    recorded (not its folder, so that the export does not depend on where it was run).
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    results = ordered_results(scores)
    flags = {f for f in results["drapeau"].map(_text) if f}
    csv_bytes = results_csv(results)
    paths = {"csv": directory / CSV_NAME, "parquet": directory / PARQUET_NAME,
             "datapackage": directory / PACKAGE_NAME}
    paths["csv"].write_bytes(csv_bytes)
    schema = table_schema(flags)
    metadata = {"observatoire:choix": json.dumps(choices_record(scores), ensure_ascii=False, sort_keys=True),
                "licence": LICENSE["name"]}
    write_parquet(results, paths["parquet"], schema, metadata)
    data_file = None
    if data_path is not None:
        raw = Path(data_path).read_bytes()
        data_file = {"fichier": Path(data_path).name, "octets": len(raw), "hash": "sha256:" + _sha256(raw)}
    package = data_package(scores, csv_bytes, paths["parquet"].read_bytes(), flags, data_file, demonstration)
    text = json.dumps(package, ensure_ascii=False, indent=2, allow_nan=False) + "\n"
    paths["datapackage"].write_bytes(text.encode("utf-8"))
    return paths



# ---------------------------------------------------------------------------------------------
# Any composite indicator: the export of a Coin
# ---------------------------------------------------------------------------------------------

COIN_COLUMNS = ("unite", "niveau", "code", "libelle", "valeur", "score", "couverture", "drapeau")
COIN_NUMBERS = ("valeur", "score", "couverture")


def coin_table_schema() -> dict:
    """Table Schema (in French) of :meth:`~observatoire.engine.coin.Coin.tidy`."""
    flags = {"impute": "valeur imputée", "manquant": "aucun score : valeur absente ou couverture insuffisante"}
    fields = [
        {"name": "unite", "title": "Unité", "description": "Code de l'unité évaluée (territoire, entreprise, pays…), "
         "tel que dans les données.", "type": "string", "constraints": {"required": True}},
        {"name": "niveau", "title": "Niveau", "description": "Niveau du nœud dans le cadre : 1 pour un indicateur, "
         "puis un de plus à chaque agrégation.", "type": "integer", "constraints": {"required": True, "minimum": 1}},
        {"name": "code", "title": "Code du nœud", "description": "Code de l'indicateur ou de l'agrégat (colonne code "
         "du cadre).", "type": "string", "constraints": {"required": True}},
        {"name": "libelle", "title": "Libellé", "description": "Libellé du nœud (colonne libelle du cadre).",
         "type": "string", "constraints": {"required": False}},
        {"name": "valeur", "title": "Valeur", "description": "Pour un indicateur, la valeur normalisée en entrée "
         "(après dénomination et imputation éventuelles) ; vide pour un agrégat.", "type": "number",
         "constraints": {"required": False}},
        {"name": "score", "title": "Score", "description": "Score normalisé (indicateur) ou agrégé (agrégat), selon "
         "les choix consignés dans observatoire:journal.", "type": "number", "constraints": {"required": False}},
        {"name": "couverture", "title": "Couverture", "description": "Part des enfants renseignés (en poids ou en "
         "nombre, selon le choix consigné) ; pour un indicateur, 1 s'il a une valeur, 0 sinon.",
         "type": "number", "constraints": {"required": False, "minimum": 0, "maximum": 1}},
        {"name": "drapeau", "title": "Drapeau", "description": "; ".join(f"« {k} » : {v}" for k, v in flags.items())
         + " ; vide sinon.", "type": "string", "constraints": {"required": False, "enum": sorted(flags)}},
    ]
    return {"fields": fields, "missingValues": [""], "primaryKey": ["unite", "code"]}


def _coin_csv(results: pd.DataFrame) -> bytes:
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(COIN_COLUMNS)
    formats = [_number if c in COIN_NUMBERS else _text for c in COIN_COLUMNS]
    for row in zip(*[results[c].tolist() for c in COIN_COLUMNS]):
        writer.writerow([f(v) for f, v in zip(formats, row)])
    return buffer.getvalue().encode("utf-8")


def export_coin(coin, directory: str | os.PathLike) -> dict[str, Path]:
    """Write a coin's tidy results (CSV and Parquet), its framework (CSV) and a
    ``datapackage.json`` holding their schemas and the log of choices. Same coin → same bytes."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    results = coin.tidy()
    results["niveau"] = results["niveau"].astype("int64")
    paths = {"csv": directory / CSV_NAME, "parquet": directory / PARQUET_NAME,
             "cadre": directory / "cadre.csv", "datapackage": directory / PACKAGE_NAME}
    csv_bytes = _coin_csv(results)
    paths["csv"].write_bytes(csv_bytes)
    schema = coin_table_schema()
    parquet_schema = {"fields": [dict(f, type="string" if f["type"] == "integer" else f["type"]) for f in schema["fields"]]}
    metadata = {"observatoire:journal": json.dumps(coin.choices(), ensure_ascii=False, sort_keys=True)}
    write_parquet(results.assign(niveau=results["niveau"].astype(str)), paths["parquet"], parquet_schema, metadata)
    frame_buffer = io.StringIO()
    coin.framework.to_table().to_csv(frame_buffer, index=False, lineterminator="\n")
    frame_bytes = frame_buffer.getvalue().encode("utf-8")
    paths["cadre"].write_bytes(frame_bytes)
    parquet_bytes = paths["parquet"].read_bytes()
    package = {
        "profile": "data-package",
        "name": f"{coin.name}-resultats".lower().replace(" ", "-"),
        "title": f"{coin.name} : résultats",
        "description": "Résultats d'un indicateur composite calculé par le moteur de l'Observatoire : une ligne par "
                       "unité et par nœud du cadre. Le cadre est dans cadre.csv ; les choix de calcul, dans "
                       "l'ordre où ils ont été faits, dans observatoire:journal (ils suffisent à recalculer "
                       "ces nombres).",
        "version": __version__,
        "resources": [
            {"name": "resultats", "path": CSV_NAME, "profile": "tabular-data-resource", "format": "csv",
             "mediatype": "text/csv", "encoding": "utf-8", "bytes": len(csv_bytes),
             "hash": "sha256:" + _sha256(csv_bytes), "schema": schema},
            {"name": "resultats-parquet", "path": PARQUET_NAME, "profile": "data-resource", "format": "parquet",
             "mediatype": "application/vnd.apache.parquet", "bytes": len(parquet_bytes),
             "hash": "sha256:" + _sha256(parquet_bytes), "schema": schema},
            {"name": "cadre", "path": "cadre.csv", "profile": "tabular-data-resource", "format": "csv",
             "mediatype": "text/csv", "encoding": "utf-8", "bytes": len(frame_bytes),
             "hash": "sha256:" + _sha256(frame_bytes)},
        ],
        "observatoire:journal": coin.choices(),
    }
    text = json.dumps(_jsonable(package), ensure_ascii=False, indent=2, allow_nan=False) + "\n"
    paths["datapackage"].write_bytes(text.encode("utf-8"))
    return paths
