"""Validate a territory data file against the data contract (data/schema/) and the catalogue.

Every problem is collected before anything is reported, so that a territory fixes its file in
one pass: unknown territory or indicator, duplicated key, wrong type, bad period, missing
required value, value outside the indicator's plausible range, wrong unit.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import pandas as pd

from observatoire.catalogue import Catalogue
from observatoire.errors import Problem, ValidationError
from observatoire.load import LINE, RawTable
from observatoire.pipeline import COUNT_BASE_POPULATION
from observatoire.reference import Reference, TerritoryCodeError, parse_territory_code

SCHEMA_PATH = Path(__file__).resolve().parents[2] / "data" / "schema" / "donnees-territoire.schema.json"

#: Observed periods older than this are almost certainly typos (e.g. 1024 for 2024).
FIRST_OBSERVED_YEAR = 1950
#: Last year that can hold observed (not projected) values.
LAST_OBSERVED_YEAR = 2026
LAST_HORIZON = 2150

_MONTH = re.compile(r"^(\d{4})-(0[1-9]|1[0-2])$")
_YEAR = re.compile(r"^\d{4}$")
_NUMBER = re.compile(r"^[+-]?(\d+|\d{1,3}([  \u202f]\d{3})+)([.,]\d+)?([eE][+-]?\d+)?$")


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

    Accepts a decimal comma or point and thin/non-breaking/ordinary spaces between thousands.
    """
    text = text.strip()
    if not _NUMBER.match(text):
        return None
    cleaned = re.sub(r"[  \u202f]", "", text).replace(",", ".")
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


def validate_data(raw: RawTable, catalogue: Catalogue, reference: Reference) -> ValidatedData:
    """Check a raw table against the contract; return typed values or raise every problem."""
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
    for optional in ("unite", "source", "commentaire"):
        if optional not in rows.columns:
            rows[optional] = ""

    indicators = catalogue.indicators
    territory_cache: dict[str, tuple[str | None, Problem | None, Problem | None]] = {}
    out = []
    seen: dict[tuple[str, str, str], int] = {}

    for record in rows.itertuples(index=False):
        line = getattr(record, LINE)
        row_ok = True
        for col in required:
            if getattr(record, col) == "":
                problems.append(Problem(name, line, col, "", "valeur obligatoire manquante"))
                row_ok = False

        # Territory: syntax (with leading-zero repair), then existence in the COG 2026.
        raw_code = record.territoire
        code = None
        if raw_code:
            if raw_code not in territory_cache:
                territory_cache[raw_code] = _check_territory(raw_code, reference)
            code, error, warning = territory_cache[raw_code]
            if error:
                problems.append(Problem(name, line, "territoire", raw_code, error.message))
                row_ok = False
            if warning:
                problems.append(Problem(name, line, "territoire", raw_code, warning.message,
                                        severity="avertissement"))

        indicator = record.indicateur
        meta = None
        if indicator:
            if indicator in indicators.index:
                meta = indicators.loc[indicator]
            else:
                problems.append(Problem(name, line, "indicateur", indicator,
                                        "indicateur inconnu du catalogue" + _suggest(indicator, indicators.index)))
                row_ok = False

        period = record.periode
        if period and meta is not None and not period_is_valid(period, meta["periodicite"]):
            problems.append(Problem(
                name, line, "periode", period,
                f"période invalide pour l'indicateur {indicator} ({meta['periodicite']}) : "
                f"attendu {expected_period(meta['periodicite'])}"))
            row_ok = False

        value = None
        if record.valeur:
            value = parse_number(record.valeur)
            if value is None:
                problems.append(Problem(name, line, "valeur", record.valeur,
                                        "nombre attendu (par exemple 12,5 ou 12.5)"))
                row_ok = False
            elif meta is not None:
                checked, per = value, ""
                if meta["agregation"] == "compte" and code:
                    # Counts are plausible per 100,000 inhabitants, whatever the territory's size.
                    checked = value / (reference.territory(code).population / COUNT_BASE_POPULATION)
                    per = f" pour 100 000 habitants (ici {_fmt(round(checked, 3))})"
                if not meta["min_plausible"] <= checked <= meta["max_plausible"]:
                    problems.append(Problem(
                        name, line, "valeur", record.valeur,
                        f"hors de la plage plausible de {indicator} : attendu entre "
                        f"{_fmt(meta['min_plausible'])} et {_fmt(meta['max_plausible'])} {meta['unite']}{per}"))
                    row_ok = False

        if record.unite and meta is not None and record.unite.strip() != meta["unite"]:
            problems.append(Problem(name, line, "unite", record.unite,
                                    f"unité attendue pour {indicator} : « {meta['unite']} »"))
            row_ok = False

        if code and indicator and period:
            key = (code, indicator, period)
            if key in seen:
                problems.append(Problem(
                    name, line, "territoire, indicateur, periode", " / ".join(key),
                    f"doublon : même territoire, indicateur et période qu'à la ligne {seen[key]}"))
                row_ok = False
            else:
                seen[key] = line

        if row_ok:
            out.append((code, indicator, period, value, record.source, record.commentaire, line))

    errors = [p for p in problems if p.severity == "erreur"]
    if errors:
        raise ValidationError(problems)
    values = pd.DataFrame(
        out, columns=["territoire", "indicateur", "periode", "valeur", "source", "commentaire", LINE]
    )
    values["valeur"] = values["valeur"].astype("float64")
    return ValidatedData(values, problems, name)


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
