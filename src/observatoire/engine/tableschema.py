"""A small Frictionless Table Schema checker for tables read as text.

It covers what this project's schemas use (types string/integer/number/year, constraints
required/unique/pattern/enum/minimum/maximum, primaryKey) and reports French problems with the
file line and column. The frictionless package would guess `01004` as an integer and speaks
English; here the schema is always explicit and the messages are the user's language.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from observatoire.errors import Problem
from observatoire.engine.load import LINE, RawTable

_INTEGER = re.compile(r"^[+-]?\d+$")


def load_table_schema(path: str | Path) -> dict:
    return json.loads(Path(path).read_text(encoding="utf-8"))


def to_number(text: str) -> float | None:
    try:
        return float(text.replace(",", "."))
    except ValueError:
        return None


def check_table(raw: RawTable, schema: dict) -> list[Problem]:
    """All the problems of ``raw`` against ``schema``; an empty list when it conforms."""
    problems: list[Problem] = []
    fields = schema["fields"]
    missing_values = set(schema.get("missingValues", [""]))
    header = [c for c in raw.rows.columns if c != LINE]
    names = [f["name"] for f in fields]
    absent = [n for n in names if n not in header and f_required(fields, n)]
    if absent:
        problems.append(Problem(raw.path, 1, None, ", ".join(header),
                                "colonne(s) absente(s) : " + ", ".join(absent)))
        return problems
    for extra in [c for c in header if c not in names]:
        problems.append(Problem(raw.path, 1, extra, None, "colonne non décrite par le schéma"))

    for f in fields:
        name = f["name"]
        if name not in header:
            continue
        constraints = f.get("constraints", {})
        kind = f.get("type", "string")
        pattern = re.compile(constraints["pattern"]) if "pattern" in constraints else None
        enum = constraints.get("enum")
        seen: dict[str, int] = {}
        for text, line in zip(raw.rows[name], raw.rows[LINE]):
            if text in missing_values:
                if constraints.get("required"):
                    problems.append(Problem(raw.path, line, name, text, "valeur obligatoire manquante"))
                continue
            value = _typed(text, kind)
            if value is None:
                problems.append(Problem(raw.path, line, name, text, f"type attendu : {_TYPE_FR[kind]}"))
                continue
            if pattern and not pattern.fullmatch(text):
                problems.append(Problem(raw.path, line, name, text,
                                        f"ne respecte pas le motif {constraints['pattern']}"))
            if enum is not None and value not in enum and text not in map(str, enum):
                problems.append(Problem(raw.path, line, name, text,
                                        "valeur attendue parmi : " + ", ".join(map(str, enum))))
            if "minimum" in constraints and value < constraints["minimum"]:
                problems.append(Problem(raw.path, line, name, text,
                                        f"minimum autorisé : {constraints['minimum']}"))
            if "maximum" in constraints and value > constraints["maximum"]:
                problems.append(Problem(raw.path, line, name, text,
                                        f"maximum autorisé : {constraints['maximum']}"))
            if constraints.get("unique"):
                if text in seen:
                    problems.append(Problem(raw.path, line, name, text,
                                            f"valeur en double (déjà à la ligne {seen[text]})"))
                else:
                    seen[text] = line

    key = schema.get("primaryKey")
    if key:
        key = [key] if isinstance(key, str) else key
        if all(k in header for k in key):
            seen_keys: dict[tuple, int] = {}
            for values, line in zip(raw.rows[key].itertuples(index=False), raw.rows[LINE]):
                values = tuple(values)
                if values in seen_keys:
                    problems.append(Problem(raw.path, line, ", ".join(key), " / ".join(values),
                                            f"clé primaire en double (déjà à la ligne {seen_keys[values]})"))
                else:
                    seen_keys[values] = line
    return problems


def f_required(fields: list[dict], name: str) -> bool:
    return any(f["name"] == name and f.get("constraints", {}).get("required") for f in fields)


_TYPE_FR = {
    "string": "texte",
    "integer": "nombre entier",
    "number": "nombre",
    "year": "année (AAAA)",
    "boolean": "booléen",
}


def _typed(text: str, kind: str):
    if kind == "string":
        return text
    if kind in ("integer", "year"):
        return int(text) if _INTEGER.match(text) else None
    if kind == "number":
        return to_number(text)
    if kind == "boolean":
        return {"true": True, "false": False}.get(text.lower())
    return text
