"""Validate a territory data file against the data contract (data/schema/) and the catalogue.

Every problem is collected before anything is reported, so that a territory fixes its file in
one pass: unknown territory or indicator, duplicated key, wrong type, bad period, missing
required value, value outside the indicator's plausible range, wrong unit.
"""

from __future__ import annotations

from observatoire import paths
import json
import re
from dataclasses import dataclass, field
from functools import lru_cache

import numpy as np
import pandas as pd

from observatoire.engine.catalogue import Catalogue
from observatoire.errors import Problem, ValidationError
from observatoire.engine.load import LINE, RawTable
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


@dataclass
class ValidatedData:
    """The tidy, typed content of a valid data file, with the warnings it raised."""

    values: pd.DataFrame  # territoire, indicateur, periode, valeur, source, commentaire, _ligne
    warnings: list[Problem] = field(default_factory=list)
    path: str = ""


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


def _fmt(x: float) -> str:
    return f"{x:g}".replace(".", ",")


def validate_data(raw: RawTable, catalogue: Catalogue, reference: Reference,
                  demonstration: bool = False) -> ValidatedData:
    """Check a raw table against the contract; return typed values or raise every problem.

    The checks run column-wise: each column is factorised and each *distinct* text (territory
    code, indicator, period, number, unit) is checked once, then the verdicts are spread back
    to the rows with integer arrays. :class:`Problem` objects are built for the bad rows only.

    Fictional territories (``FICTIF-…``) are refused unless ``demonstration`` is true: their
    values are synthetic, for demonstrations only.
    """
    schema = load_schema()
    fields = {f["name"]: f for f in schema["fields"]}
    required = [n for n, f in fields.items() if f.get("constraints", {}).get("required")]
    name = raw.path
    rows = raw.rows
    problems: list[Problem] = list(raw.warnings)

    columns = [c for c in rows.columns if c != LINE]
    normalised_columns = {c: c.strip().lower() for c in columns}
    rows = rows.rename(columns=normalised_columns)
    missing = [c for c in required if c not in rows.columns]
    if missing:
        problems.append(
            Problem(
                name, 1, None, ", ".join(columns),
                "colonne(s) obligatoire(s) absente(s) de l'en-tête : "
                + ", ".join(f"« {c} »" for c in missing)
                + ". En-tête attendu : " + ", ".join(fields),
            )
        )
        raise ValidationError(problems)
    unknown_columns = [c for c in rows.columns if c not in fields and c != LINE]
    for c in unknown_columns:
        problems.append(
            Problem(name, 1, c, None, "colonne inconnue, ignorée (colonnes du modèle : "
                    + ", ".join(fields) + ")", severity="avertissement")
        )
    # Two headers that normalise to the same name: the first one is read, as before.
    position: dict[str, int] = {}
    for k, c in enumerate(raw.rows.columns):
        if c != LINE:
            position.setdefault(normalised_columns[c], k)
    rows = rows.loc[:, ~rows.columns.duplicated()]
    text = {c: _Text(rows[c], raw.codes(position[c])) if c in position else _Text.blank(len(rows))
            for c in ("territoire", "indicateur", "periode", "valeur", "unite", "source", "commentaire")}
    lines = rows[LINE].to_numpy()
    checks = _RowChecks(lines)

    for order, col in enumerate(required):
        checks.add(text[col].row_mask(text[col].empty), order,
                   lambda line, i, col=col: Problem(name, line, col, "", "valeur obligatoire manquante"))

    territory = _territories(text["territoire"], reference, demonstration)
    checks.add(territory.row_mask(territory.error), 10,
               lambda line, i: Problem(name, line, "territoire", territory.raw(i),
                                       territory.errors[territory.codes[i]]))
    checks.add(territory.row_mask(territory.warning), 11,
               lambda line, i: Problem(name, line, "territoire", territory.raw(i),
                                       territory.warnings[territory.codes[i]], severity="avertissement"),
               blocking=False)

    meta = catalogue.indicators
    indicator = text["indicateur"]
    position_u = meta.index.get_indexer(indicator.uniques)  # row of the catalogue, −1 if unknown
    unknown_u = (position_u < 0) & ~indicator.empty
    suggestions = {u: _suggest(indicator.uniques[u], meta.index) for u in np.flatnonzero(unknown_u)}
    checks.add(indicator.row_mask(unknown_u), 20,
               lambda line, i: Problem(name, line, "indicateur", indicator.raw(i),
                                       "indicateur inconnu du catalogue" + suggestions[indicator.codes[i]]))
    position = position_u[indicator.codes]
    known = position >= 0
    pos = np.where(known, position, 0)  # safe index into catalogue arrays; masked by ``known``

    period = text["periode"]
    kinds, kind_of = np.unique(meta["periodicite"].to_numpy(dtype=object), return_inverse=True)
    valid_u = np.array([[period_is_valid(p, k) for k in kinds] for p in period.uniques],
                       dtype=bool).reshape(len(period.uniques), len(kinds))
    row_kind = kind_of[pos]
    bad_period = known & ~period.row_mask(period.empty) & ~valid_u[period.codes, row_kind]

    def period_problem(line, i):
        kind = kinds[row_kind[i]]
        return Problem(name, line, "periode", period.raw(i),
                       f"période invalide pour l'indicateur {indicator.raw(i)} ({kind}) : "
                       f"attendu {expected_period(kind)}")

    checks.add(bad_period, 30, period_problem)

    value = text["valeur"]
    parsed_u = _parse_numbers(value.uniques, value.empty)
    number_u = ~np.isnan(parsed_u)  # parse_number never returns NaN for a number
    has_value = ~value.row_mask(value.empty)
    number = number_u[value.codes]
    checks.add(has_value & ~number, 40,
               lambda line, i: Problem(name, line, "valeur", value.raw(i),
                                       "nombre attendu (par exemple 12,5 ou 12.5)"))
    values = parsed_u[value.codes]
    # Counts are plausible per 100,000 inhabitants, whatever the territory's size.
    per_capita = (meta["agregation"].to_numpy(dtype=object) == "compte")[pos] & known & territory.row_ok
    population = territory.population_u[territory.codes]
    checked = values.copy()
    scaled = per_capita & has_value & number
    with np.errstate(divide="ignore", invalid="ignore"):
        checked[scaled] = values[scaled] / (population[scaled] / COUNT_BASE_POPULATION)
    # An uninhabited territory: only a zero count is plausible (no division by zero).
    empty_territory = scaled & (population == 0)
    checked[empty_territory & (values == 0)] = 0.0
    low = meta["min_plausible"].to_numpy(dtype="float64")[pos]
    high = meta["max_plausible"].to_numpy(dtype="float64")[pos]
    outside = known & has_value & number & ~((low <= checked) & (checked <= high))
    units = meta["unite"].to_numpy(dtype=object)

    def range_problem(line, i):
        p = pos[i]
        per = ""
        if empty_territory[i]:
            per = " pour 100 000 habitants (territoire sans habitant : seul 0 est plausible)"
        elif per_capita[i]:
            per = f" pour 100 000 habitants (ici {_fmt(round(float(checked[i]), 3))})"
        return Problem(name, line, "valeur", value.raw(i),
                       f"hors de la plage plausible de {indicator.raw(i)} : attendu entre "
                       f"{_fmt(low[i])} et {_fmt(high[i])} {units[p]}{per}")

    checks.add(outside, 41, range_problem)

    unit = text["unite"]
    unit_ids = {u: k for k, u in enumerate(units)}
    unit_id_u = np.array([unit_ids.get(u.strip(), -1) for u in unit.uniques], dtype="int64")
    expected_unit = np.array([unit_ids[u] for u in units], dtype="int64")[pos]
    bad_unit = known & ~unit.row_mask(unit.empty) & (unit_id_u[unit.codes] != expected_unit)
    checks.add(bad_unit, 50,
               lambda line, i: Problem(name, line, "unite", unit.raw(i),
                                       f"unité attendue pour {indicator.raw(i)} : « {units[pos[i]]} »"))

    # Duplicated key (canonical territory, indicator, period) — after the leading-zero repair.
    keyed = territory.row_ok & ~indicator.row_mask(indicator.empty) & ~period.row_mask(period.empty)
    key = _row_keys(territory.canonical_id[territory.codes], indicator.codes, period.codes)
    first_line = _first_line_of_duplicates(key, keyed, lines)
    checks.add(first_line > 0, 60,
               lambda line, i: Problem(
                   name, line, "territoire, indicateur, periode",
                   " / ".join((territory.canonical_u[territory.codes[i]], indicator.raw(i), period.raw(i))),
                   f"doublon : même territoire, indicateur et période qu'à la ligne {int(first_line[i])}"))

    problems += checks.problems()
    if any(p.severity == "erreur" for p in problems):
        raise ValidationError(problems)
    ok = ~checks.blocked
    columns_out = ["territoire", "indicateur", "periode", "valeur", "source", "commentaire", LINE]
    if not ok.any():
        values_out = pd.DataFrame([], columns=columns_out)
        values_out["valeur"] = values_out["valeur"].astype("float64")
        return ValidatedData(values_out, problems, name)
    values_out = pd.DataFrame({
        "territoire": _strings(territory.canonical_u, territory.codes[ok]),
        "indicateur": indicator.take(ok),
        "periode": period.take(ok),
        "valeur": values[ok],
        "source": text["source"].take(ok),
        "commentaire": text["commentaire"].take(ok),
        LINE: lines[ok],
    })
    return ValidatedData(values_out, problems, name)


class _Text:
    """One text column, factorised: ``uniques[codes]`` gives back the column.

    ``factorised`` is the reader's own factorisation of the column when it has one
    (:meth:`observatoire.engine.load.RawTable.codes`); its texts are distinct.
    """

    def __init__(self, column: pd.Series | None, factorised=None, n: int = 0):
        if column is None:
            codes, uniques = np.zeros(n, dtype="intp"), np.array([""], dtype=object)
        elif factorised is not None:
            codes, uniques = factorised
        else:
            codes, uniques = pd.factorize(column)
            uniques = np.asarray(uniques, dtype=object)
            if (codes < 0).any():  # a missing cell (None/NaN) is an empty text
                uniques = np.append(uniques, "")
                codes = np.where(codes < 0, len(uniques) - 1, codes)
        self.codes = codes
        self.uniques = uniques
        self.empty = np.array([u == "" for u in uniques], dtype=bool)

    @classmethod
    def blank(cls, n: int) -> "_Text":
        return cls(None, None, n)

    def raw(self, i: int) -> str:
        return self.uniques[self.codes[i]]

    def row_mask(self, unique_mask: np.ndarray) -> np.ndarray:
        return unique_mask[self.codes]

    def take(self, rows: np.ndarray) -> pd.api.extensions.ExtensionArray:
        return _strings(self.uniques, self.codes[rows])


def _strings(uniques: np.ndarray, codes: np.ndarray):
    """``uniques[codes]`` as pandas' default string array (what a list of str would give)."""
    return pd.array(uniques, dtype="str").take(codes)


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
    row_ok: np.ndarray = field(init=False)  # per row: a canonical code was found

    def __post_init__(self):
        self.row_ok = self.canonical_id[self.codes] >= 0

    def raw(self, i: int) -> str:
        return self.uniques[self.codes[i]]

    def row_mask(self, unique_mask: np.ndarray) -> np.ndarray:
        return unique_mask[self.codes]


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
    in_reference = populations.index.get_indexer(uniques) >= 0
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
    found = np.array([c is not None for c in canonical], dtype=bool)
    canonical_id = np.full(k, -1, dtype="int64")
    if found.any():
        ids, _ = pd.factorize(canonical[found])
        canonical_id[found] = ids
    population = np.zeros(k, dtype="float64")
    population[found] = populations.reindex(canonical[found]).to_numpy(dtype="float64")
    error = np.zeros(k, dtype=bool)
    error[list(errors)] = True
    warning = np.zeros(k, dtype=bool)
    warning[list(warnings)] = True
    return _Territories(column.codes, uniques, canonical, canonical_id, errors, warnings,
                        error, warning, population)


class _RowChecks:
    """Collects the problems of the bad rows, in file order then in the order of the checks."""

    def __init__(self, lines: np.ndarray):
        self.lines = lines
        self.blocked = np.zeros(len(lines), dtype=bool)
        self._found: list[tuple[int, int, Problem]] = []

    def add(self, mask: np.ndarray, order: int, make, blocking: bool = True) -> None:
        rows = np.flatnonzero(mask)
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


def _first_line_of_duplicates(key: np.ndarray, keyed: np.ndarray, lines: np.ndarray) -> np.ndarray:
    """Per row: the line of the first row with the same key when the row repeats it, else 0."""
    out = np.zeros(len(key), dtype="int64")
    rows = None if keyed.all() else np.flatnonzero(keyed)
    if rows is not None:
        key = key[rows]
    if _all_distinct(key):
        return out
    rows = np.arange(len(out)) if rows is None else rows
    dup = pd.Series(key).duplicated(keep="first").to_numpy()
    first = pd.Series(lines[rows[~dup]], index=key[~dup])
    out[rows[dup]] = first.reindex(key[dup]).to_numpy()
    return out


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
    ``demonstration``: accept fictional territories (``FICTIF-…``)."""
    from observatoire.engine.catalogue import load_catalogue
    from observatoire.engine.load import read_table
    from observatoire.engine.reference import load_reference

    return validate_data(read_table(path), catalogue or load_catalogue(), reference or load_reference(), demonstration)
