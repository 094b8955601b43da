"""Validate a territory data file against the data contract (data/schema/) and the catalogue.

Every problem is collected before anything is reported, so that a territory fixes its file in
one pass: unknown territory or indicator, duplicated key, wrong type, bad period, missing
required value, value outside the indicator's plausible range, wrong unit.

Nothing is repaired in silence: a header typed with its accents or the schema's titles, a
commune code that lost its leading zero, a month written as a spreadsheet shows it
(« mars-24 »), a value written with its « % », an ignored column — each kind is reported
once, as one grouped warning (« 24 codes complétés d'un zéro initial : lignes 2–25 »).
"""

from __future__ import annotations

from observatoire import paths
import dataclasses
import json
import os
import re
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import lru_cache
from typing import ClassVar

import numpy as np
import pandas as pd

from observatoire.engine.catalogue import Catalogue
from observatoire.engine.textcolumns import text_arrays
from observatoire.text import fr_plain
from observatoire.errors import Problem, ValidationError
from observatoire.engine.load import LINE, BuiltWhenRead, RawTable, fold_header, line_ranges
from observatoire.engine.denominate import COUNT_BASE_POPULATION
from observatoire.engine.reference import (FICTIONAL_PREFIX, Reference, TerritoryCodeError, parse_territory_code,
                                          population_by_code)

SCHEMA_PATH = paths.SCHEMA

#: Observed periods older than this are almost certainly typos (e.g. 1024 for 2024).
FIRST_OBSERVED_YEAR = 1950
#: Last year that can hold observed (not projected) values.
LAST_OBSERVED_YEAR = 2026
LAST_HORIZON = 2150

_MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
_YEAR = re.compile(r"^\d{4}$")
# Thousands separators: ordinary, no-break (U+00A0) and narrow no-break (U+202F) spaces.
_NUMBER = re.compile(r"^[+-]?(\d+|\d{1,3}([ \u00a0\u202f]\d{3})+)([.,]\d+)?([eE][+-]?\d+)?$")
_SPACES = re.compile(r"[ \u00a0\u202f]")
_PERCENT = re.compile(r"^(.*?)[ \u00a0\u202f]*%$")
# Errors a spreadsheet formula shows in its cell.
_SPREADSHEET_ERRORS = ("#N/A", "#DIV/0!", "#VALEUR!", "#VALUE!", "#REF!", "#NOM?", "#NAME?", "#NOMBRE!",
                       "#NUM!", "#NUL!", "#NULL!", "#N/D", "#CALC!", "#SPILL!", "#PROPAGATION!")

#: The optional provenance columns (after « commentaire »): where each value comes from.
PROVENANCE = ("producteur", "jeu_de_donnees", "url", "millesime", "date_consultation", "licence", "extrait")
#: Free-text columns kept with each value (as columns of ValidatedData.values when the file has them).
TEXT_COLUMNS = ("source", "commentaire", *PROVENANCE)
#: Rows validated at a time: the arrays of a block stay in the processor's caches.
_BLOCK = 1 << 16
#: Keys are marked in a bitmap when there are fewer possible keys than 8 per row plus this.
_BITMAP_SLACK = 1024
_URL = re.compile(r"^https?://\S+$")
_ISO_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
_FRENCH_DATE = re.compile(r"^(\d{1,2})/(\d{1,2})/(\d{4})$")


@dataclass
class ValidatedData(BuiltWhenRead):
    """The tidy, typed content of a valid data file, with the warnings it raised.

    Validation keeps the table as codes (:attr:`coded`); the ``values`` frame is built from
    them the first time it is read. Scoring reads the codes
    (:func:`~observatoire.engine.pipeline.compute_scores` takes a ValidatedData as it is), so
    a national file is scored without building millions of strings nobody reads.
    """

    #: territoire, indicateur, periode, valeur, source, commentaire, then the provenance columns
    #: the file has (producteur … extrait), then LINE. May be given as None with ``coded``.
    values: pd.DataFrame
    #: One warning per kind of repair or of ignored input, every line it concerns in its text.
    warnings: list[Problem] = field(default_factory=list)
    path: str = ""
    #: The same table as codes, when validation made it: see :class:`CodedValues`.
    coded: CodedValues | None = field(default=None, repr=False, compare=False)

    _built: ClassVar[str] = "values"
    _source: ClassVar[str] = "coded"

    def _build(self) -> pd.DataFrame:
        return self.coded.frame()


@dataclass(eq=False)
class CodedValues:
    """A validated table as codes: each text column as (texts, code of each row), with
    ``texts[codes]`` the column (texts may repeat: two raw codes repaired to one territory);
    the values as floats; the source line of each row. Treat as read-only."""

    texts: dict[str, tuple[np.ndarray, np.ndarray]]
    valeur: np.ndarray
    lines: np.ndarray

    def __len__(self) -> int:
        return len(self.lines)

    def frame(self) -> pd.DataFrame:
        """The table as :attr:`ValidatedData.values` shows it (text columns of dtype ``str``)."""
        made = text_arrays(self.texts)  # codes remembered for scoring (textcolumns)
        columns = {c: made[c] for c in ("territoire", "indicateur", "periode")}
        columns["valeur"] = self.valeur
        columns |= {c: made[c] for c in self.texts if c not in columns}
        columns[LINE] = self.lines.copy()  # the lines may be the reader's own
        return pd.DataFrame(columns, copy=False)


@lru_cache(maxsize=1)
def load_schema() -> dict:
    return json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))


def parse_number(text: str) -> float | None:
    """French or English number → float; None when it is not a number.

    Accepts a decimal comma or point, and ordinary, no-break (U+00A0) or narrow no-break
    (U+202F) spaces between thousands, as French spreadsheets write them.
    """
    text = text.strip()
    if not _NUMBER.match(text):
        return None
    cleaned = _SPACES.sub("", text).replace(",", ".")
    return float(cleaned)


def expected_period(periodicity: str) -> str:
    return {
        "mensuelle": "un mois au format AAAA-MM (par exemple 2025-03)",
        "annuelle": f"une année au format AAAA entre {FIRST_OBSERVED_YEAR} et {LAST_OBSERVED_YEAR}",
        "projection": f"un horizon de projection au format AAAA, après {LAST_OBSERVED_YEAR} (par exemple 2050)",
    }[periodicity]


def period_is_valid(period: str, periodicity: str) -> bool:
    if periodicity == "mensuelle":
        m = _MONTH.match(period)
        return bool(m) and FIRST_OBSERVED_YEAR <= int(m.group(1)) <= LAST_OBSERVED_YEAR
    if not _YEAR.match(period):
        return False
    year = int(period)
    if periodicity == "annuelle":
        return FIRST_OBSERVED_YEAR <= year <= LAST_OBSERVED_YEAR
    return LAST_OBSERVED_YEAR < year <= LAST_HORIZON




def validate_data(raw: RawTable, catalogue: Catalogue, reference: Reference,
                  demonstration: bool = False) -> ValidatedData:
    """Check a raw table against the contract; return typed values or raise every problem.

    ``demonstration``: accept the fictional territories (``FICTIF-…`` codes, looked up with
    :meth:`Reference.territory`); everywhere else they are refused.

    The checks run column-wise: each column is factorised and each *distinct* text (territory
    code, indicator, period, number, unit) is checked once, then the verdicts are spread back
    to the rows with integer arrays. :class:`Problem` objects are built for the bad rows only.

    Fictional territories (``FICTIF-…``) are refused unless ``demonstration`` is true: their
    values are synthetic, for demonstrations only.
    """
    schema = load_schema()
    fields = {f["name"]: f for f in schema["fields"]}
    name = raw.path
    problems: list[Problem] = list(raw.warnings)
    raw, column_at, header_problems = _header(raw, fields, catalogue)
    problems += header_problems
    if any(p.severity == "erreur" for p in header_problems):
        raise ValidationError(problems)
    required = [n for n, f in fields.items() if f.get("constraints", {}).get("required")]
    if not len(raw):
        raise ValidationError(problems + [Problem(
            name, None, None, None,
            "le fichier ne contient que la ligne d'en-tête : aucune valeur à valider (une ligne par "
            "territoire, indicateur et période est attendue sous l'en-tête)")])
    text = {c: _Text.of(raw, column_at[c]) if c in column_at else _Text.blank(len(raw))
            for c in ("territoire", "indicateur", "periode", "valeur", "unite", *TEXT_COLUMNS)}
    lines = raw.lines
    checks = _RowChecks(lines)

    for order, col in enumerate(required):
        checks.add(text[col].row_mask(text[col].empty), order,
                   lambda line, i, col=col: Problem(name, line, col, "", "valeur obligatoire manquante"))

    territory = _territories(text["territoire"], reference, demonstration)
    checks.add(territory.row_mask(territory.error), 10,
               lambda line, i: Problem(name, line, "territoire", territory.raw(i),
                                       territory.errors[territory.codes[i]]))
    repaired = territory.row_mask(territory.warning)
    if repaired.any():
        problems.append(_zero_repairs(name, territory, repaired, lines))

    meta = catalogue.indicators
    indicator = text["indicateur"]
    position_u = meta.index.get_indexer(indicator.uniques)  # row of the catalogue, −1 if unknown
    unknown_u = (position_u < 0) & ~indicator.empty
    suggestions = {u: _suggest(indicator.uniques[u], meta.index) for u in np.flatnonzero(unknown_u)}
    checks.add(indicator.row_mask(unknown_u), 20,
               lambda line, i: Problem(name, line, "indicateur", indicator.raw(i),
                                       "indicateur inconnu du catalogue" + suggestions[indicator.codes[i]]))
    # What each distinct indicator text stands for; rows read these tables through their codes.
    known_u = position_u >= 0
    pos_u = np.where(known_u, position_u, 0)  # safe index into catalogue arrays; masked by ``known``
    kinds, kind_of = np.unique(meta["periodicite"].to_numpy(dtype=object), return_inverse=True)
    kind_u = kind_of[pos_u]
    units = meta["unite"].to_numpy(dtype=object)
    percent_unit_u = np.array([str(u).startswith("%") for u in units], dtype=bool)[pos_u] & known_u
    per_capita_u = (meta["agregation"].to_numpy(dtype=object) == "compte")[pos_u] & known_u
    low_u = meta["min_plausible"].to_numpy(dtype="float64")[pos_u]
    high_u = meta["max_plausible"].to_numpy(dtype="float64")[pos_u]
    unit_ids = {u: k for k, u in enumerate(units)}
    expected_unit_u = np.array([unit_ids[u] for u in units], dtype="int64")[pos_u]

    period = text["periode"]
    # The period each distinct text stands for, per periodicity (None: invalid).
    read_u = np.array([[_read_period(p, k) for k in kinds] for p in period.uniques],
                      dtype=object).reshape(len(period.uniques), len(kinds))
    valid_u = np.array([[r is not None for r in row] for row in read_u], dtype=bool).reshape(read_u.shape)
    rewritten_u = np.array([[r is not None and r != p for r in row] for p, row in zip(period.uniques, read_u)],
                           dtype=bool).reshape(read_u.shape)
    if rewritten_u.any():  # months written as a spreadsheet shows them: one id per text read
        read_text = np.where(rewritten_u, read_u, period.uniques[:, None])
        ids, period_u = pd.factorize(np.concatenate([period.uniques, read_text.ravel()]))
        period_u = np.asarray(period_u, dtype=object)
        own_id_u, read_id_u = ids[:len(period.uniques)], ids[len(period.uniques):].reshape(read_u.shape)
    else:
        period_u, own_id_u, read_id_u = period.uniques, None, None

    value = text["valeur"]
    parsed_u = _parse_numbers(value.uniques, value.empty)
    number_u = ~np.isnan(parsed_u)  # parse_number never returns NaN for a number
    percent_u = _parse_percents(value.uniques, number_u | value.empty)
    with_sign_u = ~np.isnan(percent_u)
    value_u = np.where(number_u, parsed_u, percent_u)
    unit = text["unite"]
    unit_id_u = np.array([unit_ids.get(u.strip(), -1) for u in unit.uniques], dtype="int64")
    row_ok_u = territory.canonical_id >= 0

    # The rows, block by block: the arrays of a block stay in the processor's caches and their
    # memory is reused, where whole columns of millions of rows would each take fresh memory.
    n = len(raw)
    values = np.empty(n, dtype="float64")
    period_id = period.codes if own_id_u is None else np.empty(n, dtype="intp")
    sizes = (len(territory.uniques) + 1, len(indicator.uniques), max(len(period_u), 1))
    # Duplicated keys (canonical territory, indicator, period), after the repairs: each key met is
    # marked in a bitmap when keys are small (then stored only if some key is met twice), else
    # stored, or, if they cannot be held in 62 bits, made from factorised ids after the blocks.
    space = sizes[0] * sizes[1] * sizes[2]
    seen = np.zeros(space, dtype=bool) if space < 8 * n + _BITMAP_SLACK else None
    key = np.empty(n, dtype="int64") if seen is None and space < 2**62 else None
    keyed = np.empty(n, dtype=bool)

    def key_of(rows: slice, t: np.ndarray | None = None, i: np.ndarray | None = None) -> np.ndarray:
        k = territory.canonical_id[territory.codes[rows] if t is None else t] + 1  # int64: no overflow
        k *= sizes[1]
        k += indicator.codes[rows] if i is None else i
        k *= sizes[2]
        k += period_id[rows]
        return k

    def check_block(start: int) -> dict[str, np.ndarray]:
        """The rows from ``start`` on: their values and keys written, the positions of the bad ones."""
        rows = slice(start, start + _BLOCK)
        found = {}
        # Codes as intp, once: numpy looks up by intp three times as fast as by the reader's int32.
        t, i, p, v, u = (np.asarray(c[rows], dtype=np.intp) for c in (
            territory.codes, indicator.codes, period.codes, value.codes, unit.codes))
        known = known_u[i]
        kind = kind_u[i]
        filled_period = ~period.empty[p]
        checked_period = known & filled_period
        found["period"] = np.flatnonzero(checked_period & ~valid_u[p, kind]) + start
        if own_id_u is not None:
            rewritten = checked_period & rewritten_u[p, kind]
            found["rewritten"] = np.flatnonzero(rewritten) + start
            period_id[rows] = np.where(rewritten, read_id_u[p, kind], own_id_u[p])
        has_value = ~value.empty[v]
        with_sign = with_sign_u[v]
        percent_unit = percent_unit_u[i]
        number = number_u[v] | (with_sign & percent_unit)
        found["number"] = np.flatnonzero(has_value & ~number) + start
        found["signed"] = np.flatnonzero(has_value & with_sign & percent_unit) + start
        x = np.take(value_u, v, out=values[rows])
        # Counts are plausible per 100,000 inhabitants, whatever the territory's size.
        row_ok = row_ok_u[t]
        scaled = per_capita_u[i] & row_ok & has_value & number
        checked = x
        if scaled.any():
            population = territory.population_u[t]
            checked = x.copy()
            with np.errstate(divide="ignore", invalid="ignore"):
                np.divide(x, population / COUNT_BASE_POPULATION, out=checked, where=scaled)
            # An uninhabited territory: only a zero count is plausible (no division by zero).
            checked[scaled & (population == 0) & (x == 0)] = 0.0
        outside = known & has_value & number & ~((low_u[i] <= checked) & (checked <= high_u[i]))
        found["range"] = np.flatnonzero(outside) + start
        found["unit"] = np.flatnonzero(known & ~unit.empty[u] & (unit_id_u[u] != expected_unit_u[i])) + start
        keyed[rows] = with_key = row_ok & ~indicator.empty[i] & filled_period
        if seen is not None:
            seen[key_of(rows, t, i)[with_key]] = True
        elif key is not None:
            key[rows] = key_of(rows, t, i)
        return found

    # Two threads: numpy leaves the interpreter's lock while it works on a block.
    with ThreadPoolExecutor(max_workers=min(2, os.cpu_count() or 1)) as pool:
        blocks = list(pool.map(check_block, range(0, n, _BLOCK)))
    found = {k: np.concatenate([b[k] for b in blocks if k in b] or [np.zeros(0, dtype="intp")])
             for k in ("period", "rewritten", "number", "signed", "range", "unit")}

    def period_problem(line, i):
        kind = kinds[kind_u[indicator.codes[i]]]
        return Problem(name, line, "periode", period.raw(i),
                       f"période invalide pour l'indicateur {indicator.raw(i)} ({kind}) : "
                       f"attendu {expected_period(kind)}" + _period_hint(period.raw(i), kind))

    checks.add_rows(found["period"], 30, period_problem)
    if len(found["rewritten"]):
        problems.append(_period_readings(name, period, read_u, kind_u[indicator.codes[found["rewritten"]]],
                                         found["rewritten"], lines))

    def number_problem(line, i):
        text_i = value.raw(i)
        if with_sign_u[value.codes[i]] and known_u[indicator.codes[i]]:
            return Problem(name, line, "valeur", text_i,
                           f"nombre attendu : le signe % ne convient pas à {indicator.raw(i)}, "
                           f"dont l'unité est « {units[pos_u[indicator.codes[i]]]} »")
        if text_i.strip().upper() in _SPREADSHEET_ERRORS:
            return Problem(name, line, "valeur", text_i,
                           "nombre attendu : la cellule montre une erreur de formule du tableur")
        return Problem(name, line, "valeur", text_i, "nombre attendu (par exemple 12,5 ou 12.5)")

    checks.add_rows(found["number"], 40, number_problem)
    signed = found["signed"]
    if len(signed):
        first = int(signed[0])
        problems.append(Problem(
            name, None, "valeur", value.raw(first),
            f"{_count(len(signed), 'valeur écrite', 'valeurs écrites')} avec le signe % "
            f"(« {value.raw(first)} » lu {fr_plain(values[first])}, dans l'unité de l'indicateur) : "
            + line_ranges(lines[signed]), severity="avertissement"))

    def range_problem(line, i):
        j = indicator.codes[i]
        population = territory.population_u[territory.codes[i]]
        per = ""
        if per_capita_u[j] and row_ok_u[territory.codes[i]]:
            per = (" pour 100 000 habitants (territoire sans habitant : seul 0 est plausible)" if population == 0
                   else f" pour 100 000 habitants (ici {fr_plain(round(float(values[i] / (population / COUNT_BASE_POPULATION)), 3))})")
        return Problem(name, line, "valeur", value.raw(i),
                       f"hors de la plage plausible de {indicator.raw(i)} : attendu entre "
                       f"{fr_plain(low_u[j])} et {fr_plain(high_u[j])} {units[pos_u[j]]}{per}")

    checks.add_rows(found["range"], 41, range_problem)
    checks.add_rows(found["unit"], 50,
                    lambda line, i: Problem(name, line, "unite", unit.raw(i),
                                            f"unité attendue pour {indicator.raw(i)} : "
                                            f"« {units[pos_u[indicator.codes[i]]]} »"))

    dates = _check_provenance(name, text, column_at, lines, checks, problems)

    # Duplicated key (canonical territory, indicator, period) — after the repairs.
    if seen is not None:
        twice = int(np.count_nonzero(seen)) != int(np.count_nonzero(keyed))
        first_line = _duplicates(key_of(slice(None)), keyed, lines) if twice else {}
    else:
        if key is None:
            key = _row_keys(territory.canonical_id[territory.codes], indicator.codes, period_id)
        first_line = _duplicates(key, keyed, lines)
    checks.add_rows(np.array(sorted(first_line), dtype="intp"), 60,
               lambda line, i: Problem(
                   name, line, "territoire, indicateur, periode",
                   " / ".join((territory.canonical_u[territory.codes[i]], indicator.raw(i), period.raw(i))),
                   f"doublon : même territoire, indicateur et période qu'à la ligne {int(first_line[i])}"))

    problems += _as_shown(raw, column_at, checks.problems())
    if any(p.severity == "erreur" for p in problems):
        raise ValidationError(problems)
    ok = None if not checks.blocked.any() else ~checks.blocked  # None: every row
    kept = [c for c in PROVENANCE if c in column_at]

    def rows(a: np.ndarray) -> np.ndarray:
        return a if ok is None else a[ok]

    texts = {
        "territoire": (territory.canonical_u, rows(territory.codes)),
        "indicateur": (indicator.uniques, rows(indicator.codes)),
        "periode": (period_u, rows(period_id)),
        "source": (text["source"].uniques, rows(text["source"].codes)),
        "commentaire": (text["commentaire"].uniques, rows(text["commentaire"].codes)),
        **{c: (dates if c == "date_consultation" and dates is not None else text[c].uniques, rows(text[c].codes))
           for c in kept},
    }
    coded = CodedValues(texts, rows(values), rows(lines))
    return ValidatedData(None, problems, name, coded)


# -- the header ---------------------------------------------------------------------------

def _field_lookup(fields: dict) -> dict[str, str]:
    """Folded name or title of each field → the field's name (« Période » → periode)."""
    lookup: dict[str, str] = {}
    for f in fields.values():
        for label in (f["name"], f.get("title", "")):
            if label:
                lookup.setdefault(fold_header(label), f["name"])
    return lookup


def _header(raw: RawTable, fields: dict, catalogue: Catalogue) -> tuple[RawTable, dict[str, int], list[Problem]]:
    """``(table, field → column position, problems)``: the header read as people type it.

    Titles with accents, capitals, spaces or the schema's titles are mapped to the fields, with
    one warning naming the mapping; title lines above the header are skipped, with a warning;
    a field given twice, or required fields absent, are errors.
    """
    name = raw.path
    lookup = _field_lookup(fields)
    required = [n for n, f in fields.items() if f.get("constraints", {}).get("required")]
    problems: list[Problem] = []
    columns = raw.columns
    mapped = [lookup.get(fold_header(c)) for c in columns]
    header_line = 1
    if not set(required) <= set(mapped):
        found = _header_below(raw, lookup, required)
        if found is None:
            return raw, {}, [_missing_columns(name, columns, mapped, required, fields, catalogue)]
        raw, header_line = found
        columns = raw.columns
        mapped = [lookup.get(fold_header(c)) for c in columns]
        problems.append(Problem(name, None, None, None,
                                f"l'en-tête du tableau est à la ligne {header_line} : "
                                f"{line_ranges(range(1, header_line))} au-dessus (titre, notes) ignorée(s)",
                                severity="avertissement"))
    position: dict[str, int] = {}
    renamed, unknown, twice = [], [], {}
    for k, (column, field_name) in enumerate(zip(columns, mapped)):
        if field_name is None:
            if column.strip() == "" and not _has_text(raw, k):
                continue  # an empty column without a title (a spreadsheet's stray cells)
            unknown.append(f"« {column} »" if column.strip() else f"colonne {k + 1} (sans titre)")
            continue
        if field_name in position:
            twice.setdefault(field_name, [columns[position[field_name]]]).append(column)
            continue
        position[field_name] = k
        if column != field_name:
            renamed.append(f"« {column} » lu comme « {field_name} »")
    for field_name, titles in twice.items():
        problems.append(Problem(name, header_line, None, ", ".join(titles),
                                "les colonnes " + " et ".join(f"« {t} »" for t in titles)
                                + f" désignent toutes la colonne « {field_name} » : gardez-en une seule"))
    if renamed:
        problems.append(Problem(name, header_line, None, None,
                                "en-tête reconnu d'après les noms du modèle : " + ", ".join(renamed),
                                severity="avertissement"))
    if unknown:
        problems.append(Problem(name, header_line, None, None,
                                f"{_count(len(unknown), 'colonne ignorée', 'colonnes ignorées')}, inconnue"
                                f"{'s' if len(unknown) > 1 else ''} du modèle : " + ", ".join(unknown)
                                + " (colonnes du modèle : " + ", ".join(fields) + ")",
                                severity="avertissement"))
    return raw, position, problems


def _has_text(raw: RawTable, position: int) -> bool:
    """Whether any cell of the column at ``position`` holds text."""
    column = _Text.of(raw, position)
    return bool(column.row_mask(~column.empty).any())


def _header_below(raw: RawTable, lookup: dict[str, str], required: list[str], depth: int = 10):
    """``(table re-read under its true header, header line)`` when one of the first lines holds
    every required column (a title above the table), else None."""
    rows = raw.rows
    cells = rows.drop(columns=[LINE]).to_numpy(dtype=object)
    for i in range(min(depth, len(rows))):
        header = ["" if c is None else str(c) for c in cells[i]]
        if set(required) <= {lookup.get(fold_header(c)) for c in header}:
            frame = pd.DataFrame(cells[i + 1:], columns=header, dtype=object)
            frame[LINE] = rows[LINE].to_numpy()[i + 1:]
            return (RawTable(raw.path, frame, raw.encoding, raw.delimiter, shown=raw.shown),
                    int(rows[LINE].iloc[i]))
    return None


def _missing_columns(name, columns, mapped, required, fields, catalogue) -> Problem:
    missing = [c for c in required if c not in mapped]
    message = ("colonne(s) obligatoire(s) absente(s) de l'en-tête : " + ", ".join(f"« {c} »" for c in missing)
               + ". En-tête attendu : " + ", ".join(fields))
    looks_like_data = [c for c in columns if c in catalogue.indicators.index or _is_territory_code(c)]
    if looks_like_data:
        message = ("la première ligne contient des valeurs (" + ", ".join(f"« {c} »" for c in looks_like_data[:3])
                   + ") et non le nom des colonnes : ajoutez au-dessus la ligne d'en-tête "
                   + ", ".join(fields[:4] if isinstance(fields, list) else list(fields)[:4]) + "…")
    return Problem(name, 1, None, ", ".join(columns), message)


def _is_territory_code(text: str) -> bool:
    try:
        parse_territory_code(text)
    except TerritoryCodeError:
        return False
    return True


def _count(n: int, singular: str, plural: str) -> str:
    from observatoire.text import fr_int

    return f"{fr_int(n)} {singular if n == 1 else plural}"


# -- grouped repairs ----------------------------------------------------------------------

def _zero_repairs(name: str, territory: "_Territories", rows: np.ndarray, lines: np.ndarray) -> Problem:
    """One warning for every commune code completed with its leading zero."""
    codes = territory.codes[rows]
    parts = []
    distinct = list(dict.fromkeys(codes.tolist()))
    for u in distinct[:5]:
        parts.append(f"« {territory.uniques[u]} » → « {territory.canonical_u[u]} »"
                     + (f" ({line_ranges(lines[rows][codes == u])})" if len(distinct) > 1 else ""))
    more = " …" if len(distinct) > 5 else ""
    n = int(rows.sum())
    return Problem(name, None, "territoire", None,
                   f"{_count(n, 'code complété', 'codes complétés')} d'un zéro initial (perdu par un tableur) : "
                   f"{line_ranges(lines[rows])} ; " + ", ".join(parts) + more, severity="avertissement")


_MONTH_NAMES = {
    "janvier": 1, "janv": 1, "jan": 1, "january": 1, "fevrier": 2, "fevr": 2, "fev": 2, "feb": 2, "february": 2,
    "mars": 3, "mar": 3, "march": 3, "avril": 4, "avr": 4, "apr": 4, "april": 4, "mai": 5, "may": 5,
    "juin": 6, "jun": 6, "june": 6, "juillet": 7, "juil": 7, "jul": 7, "july": 7, "aout": 8, "aug": 8,
    "august": 8, "septembre": 9, "sept": 9, "sep": 9, "september": 9, "octobre": 10, "oct": 10,
    "october": 10, "novembre": 11, "nov": 11, "november": 11, "decembre": 12, "dec": 12, "december": 12,
}
_SHOWN_MONTH = re.compile(r"^([a-z]+)\.?[ \-/.]*(\d{2}|\d{4})$")
_NUMERIC_MONTH = re.compile(r"^(\d{1,2})[/.](\d{4})$|^(\d{4})[/.-](\d{1,2})$")


def _read_period(text: str, periodicity: str) -> str | None:
    """The period ``text`` stands for under ``periodicity`` (None: not one). Besides AAAA-MM,
    a monthly period may be written as a spreadsheet shows a month: « mars-24 », « mars 2024 »,
    « 03/2024 », « 2024/3 »."""
    if period_is_valid(text, periodicity):
        return text
    if periodicity != "mensuelle":
        return None
    folded = fold_header(text).replace(" ", "-")
    year = month = None
    m = _SHOWN_MONTH.match(folded.replace("-", " ").replace(" ", "-", 1)) or _SHOWN_MONTH.match(folded)
    if m and m.group(1) in _MONTH_NAMES:
        month, year = _MONTH_NAMES[m.group(1)], m.group(2)
    else:
        m = _NUMERIC_MONTH.match(text.strip())
        if m:
            month, year = (m.group(1), m.group(2)) if m.group(1) else (m.group(4), m.group(3))
    if month is None:
        return None
    year = int(year)
    if year < 100:  # a spreadsheet's two-digit years: 00–29 are 20xx, 30–99 are 19xx
        year += 2000 if year < 30 else 1900
    candidate = f"{year:04d}-{int(month):02d}"
    return candidate if period_is_valid(candidate, periodicity) else None


def _period_hint(text: str, periodicity: str) -> str:
    m = _FRENCH_DATE.match(text.strip())
    if m:
        day, month, year = (int(g) for g in m.groups())
        if periodicity == "mensuelle":
            return f" (c'est une date : pour le mois, écrivez {year:04d}-{month:02d})"
        return f" (c'est une date : pour l'année, écrivez {year:04d})"
    return ""


def _period_readings(name, period, read_u, kind, rows, lines) -> Problem:
    """One warning for the months read from a spreadsheet's display (``rows``: their positions,
    ``kind``: the periodicity of each)."""
    first = int(rows[0])
    shown, read = period.raw(first), read_u[period.codes[first], kind[0]]
    return Problem(name, None, "periode", shown,
                   f"{_count(len(rows), 'mois écrit', 'mois écrits')} comme un tableur les affiche, lu"
                   f"{'s' if len(rows) > 1 else ''} au format AAAA-MM (« {shown} » → {read}) : "
                   + line_ranges(lines[rows]), severity="avertissement")


def _parse_percents(texts: np.ndarray, skip: np.ndarray) -> np.ndarray:
    """Per text: the number before a final « % » (« 45 % », « 12,5% »), NaN otherwise."""
    out = np.full(len(texts), np.nan)
    for i in np.flatnonzero(~skip):
        m = _PERCENT.match(texts[i].strip())
        if m:
            number = parse_number(m.group(1))
            if number is not None:
                out[i] = number
    return out


# -- provenance ---------------------------------------------------------------------------

def _check_provenance(name, text, position, lines, checks, problems) -> np.ndarray | None:
    """Check the URL and consultation date columns; return the consultation dates of the
    distinct texts in AAAA-MM-JJ (a JJ/MM/AAAA date converted, with one warning)."""
    import datetime as dt

    if "url" in position:
        url = text["url"]
        bad = np.array([t != "" and not _URL.match(t) for t in url.uniques], dtype=bool)
        checks.add(url.row_mask(bad), 70, lambda line, i: Problem(
            name, line, "url", url.raw(i), "adresse web attendue, commençant par https:// ou http://"))
    if "date_consultation" not in position:
        return None
    date = text["date_consultation"]
    converted = np.array(date.uniques, dtype=object)
    bad = np.zeros(len(converted), dtype=bool)
    today = dt.date.today()
    for u, t in enumerate(date.uniques):
        if t == "":
            continue
        m = _ISO_DATE.match(t)
        parts = (m.group(1), m.group(2), m.group(3)) if m else None
        f = _FRENCH_DATE.match(t)
        if f:
            parts = (f.group(3), f.group(2), f.group(1))
        try:
            day = dt.date(*(int(x) for x in parts)) if parts else None
        except ValueError:
            day = None
        if day is None or day > today:
            bad[u] = True
            continue
        converted[u] = day.isoformat()
    checks.add(date.row_mask(bad), 71, lambda line, i: Problem(
        name, line, "date_consultation", date.raw(i),
        "date attendue au format AAAA-MM-JJ (par exemple 2026-11-20), passée ou du jour"))
    french = np.array([bool(_FRENCH_DATE.match(t)) for t in date.uniques], dtype=bool) & ~bad
    rows = date.row_mask(french)
    if rows.any():
        first = int(np.flatnonzero(rows)[0])
        problems.append(Problem(
            name, None, "date_consultation", date.raw(first),
            f"{_count(int(rows.sum()), 'date écrite', 'dates écrites')} JJ/MM/AAAA, lue"
            f"{'s' if rows.sum() > 1 else ''} AAAA-MM-JJ (« {date.raw(first)} » → "
            f"{converted[date.codes[first]]}) : " + line_ranges(lines[rows]), severity="avertissement"))
    return converted


def _as_shown(raw: RawTable, position: dict[str, int], problems: list[Problem]) -> list[Problem]:
    """Problems quoting a spreadsheet cell as the spreadsheet shows it (« mars-24 », not the
    2024-03 it was read as)."""
    if not raw.shown:
        return problems
    by_field = {f: raw.shown.get(k, {}) for f, k in position.items()}
    out = []
    for p in problems:
        cell = by_field.get(p.column, {}).get(p.line) if p.line is not None else None
        if cell is not None and cell != p.value:
            p = dataclasses.replace(p, value=cell, message=p.message + f" (lu {p.value} dans la cellule)")
        out.append(p)
    return out


class _Text:
    """One text column, factorised: ``uniques[codes]`` gives back the column.

    ``factorised`` is the reader's own factorisation of the column when it has one
    (:meth:`observatoire.engine.load.RawTable.codes`); its texts are distinct.
    """

    def __init__(self, column: pd.Series | None, factorised=None, n: int = 0):
        if factorised is not None:
            codes, uniques = factorised
        elif column is None:  # every row the same empty text: codes read, never written
            codes, uniques = np.broadcast_to(np.zeros(1, dtype="intp"), (n,)), np.array([""], dtype=object)
        else:
            codes, uniques = pd.factorize(column)
            uniques = np.asarray(uniques, dtype=object)
            if (codes < 0).any():  # a missing cell (None/NaN) is an empty text
                uniques = np.append(uniques, "")
                codes = np.where(codes < 0, len(uniques) - 1, codes)
        self.codes = codes
        self.uniques = uniques
        self.empty = np.asarray(uniques == "", dtype=bool).reshape(len(uniques))

    @classmethod
    def of(cls, raw: RawTable, position: int) -> "_Text":
        """The column at ``position`` of ``raw``, from the reader's codes when it has them."""
        factorised = raw.codes(position)
        return cls(raw.rows.iloc[:, position] if factorised is None else None, factorised, len(raw))

    @classmethod
    def blank(cls, n: int) -> "_Text":
        return cls(None, None, n)

    def raw(self, i: int) -> str:
        return self.uniques[self.codes[i]]

    def row_mask(self, unique_mask: np.ndarray) -> np.ndarray:
        return _spread(unique_mask, self.codes)


@dataclass
class _Territories:
    """Verdict on each distinct territory code of a column (see :func:`_territories`)."""

    codes: np.ndarray  # row → distinct raw code
    uniques: np.ndarray  # distinct raw codes
    canonical_u: np.ndarray  # canonical code, or None when empty or in error
    canonical_id: np.ndarray  # distinct raw code → id of its canonical code (−1: none)
    errors: dict  # distinct raw code → French message
    warnings: dict  # distinct raw code → French message (leading zero repaired)
    error: np.ndarray  # per distinct raw code
    warning: np.ndarray
    population_u: np.ndarray  # population of the canonical code (0 where none)

    def raw(self, i: int) -> str:
        return self.uniques[self.codes[i]]

    def row_mask(self, unique_mask: np.ndarray) -> np.ndarray:
        return _spread(unique_mask, self.codes)


FICTIONAL_REFUSED = ("code de territoire fictif : réservé aux démonstrations (les valeurs des territoires "
                     "« FICTIF- » sont inventées) ; utilisez le code INSEE d'un territoire réel")


def _territories(column: _Text, reference: Reference, demonstration: bool = False) -> _Territories:
    """Syntax (with leading-zero repair) and existence in the COG 2026 of each distinct code.

    Codes already in canonical form and present in the reference (nearly all of a large file)
    are recognised in one vectorised look-up; the others go through
    :func:`~observatoire.engine.reference.parse_territory_code` one by one.
    """
    populations = population_by_code(reference)
    uniques = column.uniques
    k = len(uniques)
    canonical = np.full(k, None, dtype=object)
    errors, warnings = {}, {}
    position = populations.index.get_indexer(uniques)
    in_reference = position >= 0
    if not demonstration:
        fictional = (pd.Series(uniques, dtype=object).astype(str).str.strip().str.upper()
                     .str.startswith(FICTIONAL_PREFIX).to_numpy(dtype=bool))
        for u in np.flatnonzero(fictional & ~column.empty):
            errors[u] = FICTIONAL_REFUSED
        in_reference &= ~fictional
    canonical[in_reference] = uniques[in_reference]
    for u in np.flatnonzero(~in_reference & ~column.empty):
        if u in errors:
            continue
        code, error, warning = _check_territory(uniques[u], reference)
        canonical[u] = code
        if error:
            errors[u] = error.message
        if warning:
            warnings[u] = warning.message
    found = np.not_equal(canonical, None)
    canonical_id = np.full(k, -1, dtype="int64")
    if found.any():
        ids, _ = pd.factorize(canonical[found])
        canonical_id[found] = ids
    population = np.zeros(k, dtype="float64")
    # Codes found as they are: their population by the position already looked up.
    population[in_reference] = populations.to_numpy(dtype="float64")[position[in_reference]]
    repaired = found & ~in_reference
    population[repaired] = populations.reindex(canonical[repaired]).to_numpy(dtype="float64")
    for u in np.flatnonzero(found & np.isnan(population)):  # fictional territories (demonstrations)
        population[u] = reference.territory(canonical[u]).population
    error = np.zeros(k, dtype=bool)
    error[list(errors)] = True
    warning = np.zeros(k, dtype=bool)
    warning[list(warnings)] = True
    return _Territories(column.codes, uniques, canonical, canonical_id, errors, warnings,
                        error, warning, population)


def _spread(unique_mask: np.ndarray, codes: np.ndarray) -> np.ndarray:
    """``unique_mask[codes]``: the verdict on each distinct text spread to the rows (without
    reading the codes when the verdict is the same for every text)."""
    if not unique_mask.any():
        return np.zeros(len(codes), dtype=bool)
    if unique_mask.all():
        return np.ones(len(codes), dtype=bool)
    return unique_mask[codes]


class _RowChecks:
    """Collects the problems of the bad rows, in file order then in the order of the checks."""

    def __init__(self, lines: np.ndarray):
        self.lines = lines
        self.blocked = np.zeros(len(lines), dtype=bool)
        self._found: list[tuple[int, int, Problem]] = []

    def add(self, mask: np.ndarray, order: int, make, blocking: bool = True) -> None:
        self.add_rows(np.flatnonzero(mask), order, make, blocking)

    def add_rows(self, rows: np.ndarray, order: int, make, blocking: bool = True) -> None:
        """:meth:`add` given the positions of the bad rows rather than a mask of them."""
        if blocking:
            self.blocked[rows] = True
        self._found += [(i, order, make(int(self.lines[i]), i)) for i in rows.tolist()]

    def problems(self) -> list[Problem]:
        self._found.sort(key=lambda t: (t[0], t[1]))
        return [p for _, _, p in self._found]


def _parse_numbers(texts: np.ndarray, empty: np.ndarray) -> np.ndarray:
    """:func:`parse_number` of each text (NaN: empty or not a number), plain decimals in bulk.

    Texts such as ``-12,5`` or ``80`` (ASCII digits, one optional decimal separator) are
    converted by Arrow, whose conversion rounds exactly as Python's ``float``; the others
    (thousands separators, exponents, spaces, errors) go through :func:`parse_number`.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    out = np.full(len(texts), np.nan)
    plain = np.zeros(len(texts), dtype=bool)
    try:
        text = pa.array(texts, type=pa.string())
    except (pa.ArrowException, UnicodeError):  # a text Arrow cannot hold: all go the slow way
        text = None
    if text is not None and len(texts):
        plain = pc.match_substring_regex(text, r"^-?[0-9]+([.,][0-9]+)?$").to_numpy(zero_copy_only=False)
    if plain.any():
        decimal = pc.replace_substring(text.filter(pa.array(plain)), ",", ".")
        out[plain] = pc.cast(decimal, pa.float64()).to_numpy(zero_copy_only=False)
    for i in np.flatnonzero(~plain & ~empty):
        value = parse_number(texts[i])
        out[i] = np.nan if value is None else value
    return out


def _row_keys(*ids: np.ndarray) -> np.ndarray:
    """One non-negative integer per distinct tuple of ids (rows with a −1 id get any value)."""
    key = np.maximum(np.asarray(ids[0], dtype="int64"), 0)
    for part in ids[1:]:
        size = int(part.max(initial=0)) + 1
        if (int(key.max(initial=0)) + 1) * size >= 2**62:  # keep the key small, never overflow
            key = pd.factorize(key)[0].astype("int64")
        key *= size
        key += np.maximum(part, 0)
    return key


def _duplicates(key: np.ndarray, keyed: np.ndarray, lines: np.ndarray) -> dict[int, int]:
    """Position of each row that repeats the key of an earlier row → the line of that row."""
    rows = None if keyed.all() else np.flatnonzero(keyed)
    if rows is not None:
        key = key[rows]
    if _all_distinct(key):
        return {}
    rows = np.arange(len(keyed)) if rows is None else rows
    dup = pd.Series(key).duplicated(keep="first").to_numpy()
    first = pd.Series(lines[rows[~dup]], index=key[~dup])
    return dict(zip(rows[dup].tolist(), first.reindex(key[dup]).tolist()))


def _all_distinct(key: np.ndarray) -> bool:
    """Whether the non-negative integers ``key`` are all different (a bitmap when they are small)."""
    if len(key) and key.max() < 8 * len(key) + 1024:
        seen = np.zeros(int(key.max()) + 1, dtype=bool)
        seen[key] = True
        return int(np.count_nonzero(seen)) == len(key)
    return not pd.Series(key).duplicated().any()


def _check_territory(raw_code: str, reference: Reference):
    """(canonical code or None, error or None, repair warning or None) for one raw code."""
    try:
        _level, code, warning = parse_territory_code(raw_code)
    except TerritoryCodeError as exc:
        return None, Problem("", None, None, None, str(exc)), None
    warn = Problem("", None, None, None, warning) if warning else None
    if not reference.contains(code):
        try:
            reference.territory(code)
        except TerritoryCodeError as exc:
            return None, Problem("", None, None, None, str(exc)), warn
    return code, None, warn


def _suggest(word: str, known) -> str:
    import difflib

    close = difflib.get_close_matches(word, list(known), n=1, cutoff=0.75)
    return f" (vouliez-vous dire « {close[0]} » ?)" if close else ""


def validate_file(path, catalogue: Catalogue | None = None, reference: Reference | None = None,
                  demonstration: bool = False) -> ValidatedData:
    """Read a data file (CSV or XLSX) and validate it; raise every problem at once, in French.

    ``demonstration=True`` accepts the fictional territories (``FICTIF-…``), refused otherwise.
    """
    from observatoire.engine.catalogue import load_catalogue
    from observatoire.engine.load import read_table
    from observatoire.engine.reference import load_reference

    header_names = set(_field_lookup({f["name"]: f for f in load_schema()["fields"]}))
    return validate_data(read_table(path, header_names=header_names), catalogue or load_catalogue(),
                         reference or load_reference(), demonstration)
