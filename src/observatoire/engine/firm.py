"""A firm's self-diagnosis, validated and scored like a territory's data file.

The firm framework is data (``data/catalogue/entreprise/cadre.csv``): a framework table read by
:func:`~observatoire.engine.framework.read_framework` (indicators → three pillars → the index),
whose indicator rows also carry what validation needs — unit, plausible range, the territorial
commun each indicator bears on, reference standard, source. A firm's file follows the Table
Schema ``data/schema/donnees-entreprise.schema.json`` (one row per firm × indicator × year)::

    from observatoire.engine.firm import load_firm_framework, validate_firm_file, score_firms

    framework = load_firm_framework()
    data = validate_firm_file("autodiagnostic.xlsx", framework)   # every problem, in French
    scores = score_firms(data, framework)                          # a Coin per file
    profile = scores.profile("123456782")                          # index, pillars, indicators

Scoring keeps each indicator's most recent year, normalises it between the framework's goalposts
(the only method that gives one firm a score without comparing it to others) and takes weighted
arithmetic means up the tree, through the public :class:`~observatoire.engine.coin.Coin` API.

Fictional firms (``FICTIF-…``, listed in ``data/demo/entreprises-fictives.csv``) are refused
unless ``demonstration`` is true: their values are invented.
"""

from __future__ import annotations

import difflib
import json
import os
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np
import pandas as pd

from observatoire import paths
from observatoire.engine.coin import Coin
from observatoire.engine.framework import Framework, read_framework
from observatoire.engine.load import LINE, RawTable, read_table
from observatoire.engine.reference import FICTIONAL_PATTERN, FICTIONAL_PREFIX
from observatoire.engine.validate import FIRST_OBSERVED_YEAR, LAST_OBSERVED_YEAR, parse_number
from observatoire.errors import Problem, ValidationError

FRAMEWORK_PATH = paths.CATALOGUE / "entreprise" / "cadre.csv"
SCHEMA_PATH = paths.DATA / "schema" / "donnees-entreprise.schema.json"
FICTIONAL_FIRMS_PATH = paths.DATA / "demo" / "entreprises-fictives.csv"
#: The worked case of the book: a fictional firm, hand-written values.
DEMO_PATH = paths.DATA / "demo" / "entreprise-fictive.csv"
COMMUNS_PATH = paths.CATALOGUE / "communs.csv"

#: Columns of the framework table that an indicator row must fill, beyond the framework's own.
INDICATOR_COLUMNS = ("unite", "min_plausible", "max_plausible", "commun")
#: Descriptive columns kept with each indicator (empty when the table lacks them).
DESCRIPTIVE_COLUMNS = ("libelle", "definition", "unite", "min_plausible", "max_plausible", "commun", "axe",
                       "referentiel", "source", "source_url", "applicabilite", "revue")
#: The run's choices: goalposts (one firm is scored on its own), arithmetic means, the
#: Observatoire's coverage threshold (half the weight of a parent's children).
NORMALISATION, AGGREGATION, MIN_COVERAGE = "goalposts", "arithmetic", 0.5

FICTIONAL_REFUSED = ("code d'entreprise fictif : réservé aux démonstrations (les valeurs des entreprises "
                     "« FICTIF- » sont inventées) ; indiquez le SIREN de l'entreprise")
_DIGITS_AND_SPACES = re.compile(r"^[\d \u00a0\u202f.]+$")
_YEAR = re.compile(r"^\d{4}$")


# ---------------------------------------------------------------------------------------------
# The firm framework
# ---------------------------------------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class FirmFramework:
    """The checked framework (``framework``) and the descriptive columns of its indicators
    (``indicators``, indexed by code in table order) and aggregates (``aggregates``)."""

    framework: Framework
    indicators: pd.DataFrame
    aggregates: pd.DataFrame
    communs: pd.Series  # commun id → label
    source: str

    @property
    def root(self) -> str:
        return self.framework.roots[0]

    @property
    def pillars(self) -> pd.Index:
        """The aggregates just below the index, in table order."""
        fw = self.framework
        return fw.aggregates[fw.parent.loc[fw.aggregates] == self.root]

    def pillar_of(self, indicator: str) -> str:
        """The pillar (child of the index) above ``indicator``."""
        fw, node = self.framework, indicator
        while fw.parent[node] and fw.parent[node] != self.root:
            node = fw.parent[node]
        return node


def load_firm_framework(path: str | os.PathLike | None = None) -> FirmFramework:
    """Read and check the firm framework (default: ``data/catalogue/entreprise/cadre.csv``).

    Raises :class:`ValidationError` listing every problem, in French: those of
    :func:`read_framework`, plus a missing unit, plausible range or commun on an indicator row,
    an unknown commun, goalposts outside the plausible range.
    """
    path = Path(path or FRAMEWORK_PATH)
    return _load_framework(str(path.resolve()), path.stat().st_mtime_ns if path.is_file() else 0)


@lru_cache(maxsize=4)
def _load_framework(path: str, _mtime: int) -> FirmFramework:
    framework = read_framework(path)
    raw = read_table(path)
    rows = raw.rows.set_index("code", drop=False)
    problems = []
    missing = [c for c in INDICATOR_COLUMNS if c not in rows.columns]
    if missing:
        raise ValidationError([Problem(raw.path, 1, c, None, "colonne manquante (le cadre d'entreprise donne, pour "
                                       "chaque indicateur : " + ", ".join(INDICATOR_COLUMNS) + ")") for c in missing])
    communs = pd.read_csv(COMMUNS_PATH, dtype=str, keep_default_na=False).set_index("id")["libelle"]
    table = pd.DataFrame({c: rows[c] if c in rows.columns else "" for c in DESCRIPTIVE_COLUMNS + (LINE,)})
    indicators = table.loc[framework.indicators].copy()
    for code, row in indicators.iterrows():
        line = int(row[LINE])
        for column in INDICATOR_COLUMNS:
            if not row[column]:
                problems.append(Problem(raw.path, line, column, code, "valeur obligatoire pour un indicateur"))
        numbers = {}
        for column in ("min_plausible", "max_plausible"):
            numbers[column] = parse_number(row[column]) if row[column] else None
            if row[column] and numbers[column] is None:
                problems.append(Problem(raw.path, line, column, row[column], "nombre attendu"))
        low, high = numbers["min_plausible"], numbers["max_plausible"]
        if low is not None and high is not None:
            if not low < high:
                problems.append(Problem(raw.path, line, "max_plausible", row["max_plausible"],
                                        f"doit dépasser min_plausible ({row['min_plausible']})"))
            posts = framework.nodes.loc[code, ["borne_basse", "borne_haute"]].to_numpy(dtype="float64")
            if np.isfinite(posts).all() and not (low <= posts[0] and posts[1] <= high):
                problems.append(Problem(raw.path, line, "borne_basse", code, "les bornes doivent rester dans la "
                                        f"plage plausible ({row['min_plausible']} à {row['max_plausible']})"))
        if row["commun"] and row["commun"] not in communs.index:
            problems.append(Problem(raw.path, line, "commun", row["commun"],
                                    "commun inconnu (attendu : " + ", ".join(communs.index) + ")"))
        if not np.isfinite(framework.nodes.at[code, "borne_basse"]):
            problems.append(Problem(raw.path, line, "borne_basse", code,
                                    "bornes requises : une entreprise seule est notée entre ses bornes"))
    if problems:
        raise ValidationError(problems)
    for column in ("min_plausible", "max_plausible"):
        indicators[column] = [parse_number(v) for v in indicators[column]]
    indicators["libelle"] = framework.labels.loc[indicators.index]
    aggregates = table.loc[framework.aggregates].drop(columns=[LINE])
    aggregates["libelle"] = framework.labels.loc[aggregates.index]
    return FirmFramework(framework, indicators.drop(columns=[LINE]), aggregates, communs, raw.path)


@lru_cache(maxsize=1)
def load_firm_schema() -> dict:
    """The Table Schema of a firm's data file."""
    return json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))


def fictional_firms() -> pd.DataFrame:
    """The registry of fictional firms (``data/demo/entreprises-fictives.csv``), indexed by code."""
    if not FICTIONAL_FIRMS_PATH.is_file():
        return pd.DataFrame(columns=["nom"]).rename_axis("code")
    return pd.read_csv(FICTIONAL_FIRMS_PATH, dtype=str, keep_default_na=False).set_index("code")


# ---------------------------------------------------------------------------------------------
# Firm codes
# ---------------------------------------------------------------------------------------------


def siren_is_valid(digits: str) -> bool:
    """Whether nine digits carry a correct SIREN check digit (Luhn's algorithm)."""
    if not (len(digits) == 9 and digits.isdigit()):
        return False
    total = 0
    for position, char in enumerate(reversed(digits)):
        d = int(char) * (2 if position % 2 else 1)
        total += d - 9 if d > 9 else d
    return total % 10 == 0


def parse_firm_code(raw: str, demonstration: bool = False,
                    fictional: pd.Index | None = None) -> tuple[str | None, str | None, str | None]:
    """``(canonical code, error, warning)`` of one code as typed: a SIREN (spaces tolerated,
    with a warning) or, in demonstration mode, a registered fictional code."""
    text = str(raw).strip()
    upper = text.upper()
    if upper.startswith(FICTIONAL_PREFIX):
        if not demonstration:
            return None, FICTIONAL_REFUSED, None
        if not FICTIONAL_PATTERN.fullmatch(upper):
            return None, ("code d'entreprise fictif invalide : attendu « FICTIF- » suivi de lettres majuscules, "
                          "de chiffres et de tirets"), None
        if fictional is not None and upper not in fictional:
            return None, ("entreprise fictive inconnue : ce code n'est pas dans le registre des entreprises "
                          "fictives (data/demo/entreprises-fictives.csv)"), None
        return upper, None, None
    if not _DIGITS_AND_SPACES.match(text):
        return None, "SIREN attendu : 9 chiffres, sans lettre ni autre signe", None
    digits = re.sub(r"[ \u00a0\u202f.]", "", text)
    warning = None if digits == text else f"espaces retirés du SIREN : lu « {digits} »"
    if len(digits) == 14:
        siren = f" (les 9 premiers chiffres, « {digits[:9]} »)" if siren_is_valid(digits[:9]) else " (9 chiffres)"
        return None, ("numéro SIRET (14 chiffres) : l'autodiagnostic porte sur l'entreprise, indiquez son "
                      f"SIREN{siren}"), None
    if len(digits) != 9:
        lost = " (un tableur a-t-il retiré des zéros initiaux ?)" if len(digits) < 9 else ""
        return None, f"SIREN attendu : 9 chiffres, ce code en a {len(digits)}{lost}", None
    if not siren_is_valid(digits):
        return None, "SIREN invalide : sa clé de contrôle (algorithme de Luhn) ne correspond pas ; vérifiez la saisie", None
    return digits, None, warning


# ---------------------------------------------------------------------------------------------
# Validation
# ---------------------------------------------------------------------------------------------


@dataclass
class FirmData:
    """The typed content of a valid firm file and the warnings it raised."""

    values: pd.DataFrame  # entreprise, indicateur, periode, valeur, unite, source, commentaire, … , LINE
    warnings: list[Problem] = field(default_factory=list)
    path: str = ""

    @property
    def firms(self) -> list[str]:
        return list(dict.fromkeys(self.values["entreprise"]))


def validate_firm_data(raw: RawTable, framework: FirmFramework | None = None,
                       demonstration: bool = False) -> FirmData:
    """Check a firm file read by :func:`~observatoire.engine.load.read_table` against the schema
    and the firm framework; return its typed values or raise every problem at once, in French."""
    framework = framework or load_firm_framework()
    schema = load_firm_schema()
    fields = {f["name"]: f for f in schema["fields"]}
    required = [n for n, f in fields.items() if f.get("constraints", {}).get("required")]
    name = raw.path
    problems: list[Problem] = list(raw.warnings)
    rows = raw.rows.rename(columns={c: c.strip().lower() for c in raw.rows.columns if c != LINE})
    rows = rows.loc[:, ~rows.columns.duplicated()]
    columns = [c for c in rows.columns if c != LINE]
    missing = [c for c in required if c not in columns]
    if missing:
        raise ValidationError(problems + [Problem(
            name, 1, None, ", ".join(columns),
            "colonne(s) obligatoire(s) absente(s) de l'en-tête : " + ", ".join(f"« {c} »" for c in missing)
            + ". En-tête attendu : " + ", ".join(fields))])
    for c in columns:
        if c not in fields:
            problems.append(Problem(name, 1, c, None, "colonne inconnue, ignorée (colonnes du modèle : "
                                    + ", ".join(fields) + ")", severity="avertissement"))
    if rows.empty:
        raise ValidationError(problems + [Problem(name, None, None, None, "le fichier ne contient aucune valeur")])

    meta = framework.indicators
    fictional = fictional_firms().index if demonstration else None
    territorial = _territorial_indicators()
    patterns = {n: re.compile(f["constraints"]["pattern"]) for n, f in fields.items()
                if n in ("url", "millesime", "date_consultation") and "pattern" in f.get("constraints", {})}
    expected_form = {"url": "une adresse http(s)", "millesime": "une année AAAA",
                     "date_consultation": "une date AAAA-MM-JJ (par exemple 2026-03-15)"}
    out, seen = [], {}
    for record in rows.to_dict("records"):
        line = int(record[LINE])
        cell = {c: str(record.get(c, "") or "").strip() for c in fields}
        bad = []

        def problem(column, value, message, severity="erreur"):
            (bad if severity == "erreur" else problems).append(Problem(name, line, column, value, message, severity))

        for column in required:
            if not cell[column]:
                problem(column, "", "valeur obligatoire manquante" + (
                    " (supprimez la ligne d'un indicateur sans objet ou non mesuré)" if column == "valeur" else ""))
        code = None
        if cell["entreprise"]:
            code, error, warning = parse_firm_code(cell["entreprise"], demonstration, fictional)
            if error:
                problem("entreprise", cell["entreprise"], error)
            if warning:
                problem("entreprise", cell["entreprise"], warning, "avertissement")
        indicator = cell["indicateur"]
        known = indicator in meta.index
        if indicator and not known:
            if indicator in framework.aggregates.index:
                hint = " : c'est un agrégat du cadre, calculé, pas une valeur à saisir"
            elif indicator in territorial:
                hint = (" : c'est un indicateur du catalogue des territoires ; l'autodiagnostic d'entreprise "
                        "n'accepte que les indicateurs « ent_… » de data/catalogue/entreprise/cadre.csv")
            else:
                close = difflib.get_close_matches(indicator, list(meta.index), n=1, cutoff=0.75)
                hint = f" (vouliez-vous dire « {close[0]} » ?)" if close else ""
            problem("indicateur", indicator, "indicateur inconnu de l'autodiagnostic d'entreprise" + hint)
        period = cell["periode"]
        if period and not (_YEAR.match(period) and FIRST_OBSERVED_YEAR <= int(period) <= LAST_OBSERVED_YEAR):
            month = " (une valeur d'entreprise est annuelle : indiquez l'année, pas le mois)" if re.match(
                r"^\d{4}-\d{2}", period) else ""
            problem("periode", period, f"année attendue au format AAAA entre {FIRST_OBSERVED_YEAR} et "
                                       f"{LAST_OBSERVED_YEAR}{month}")
        value = parse_number(cell["valeur"]) if cell["valeur"] else None
        if cell["valeur"] and value is None:
            unit_hint = " ; n'écrivez pas l'unité dans la cellule" if re.search(r"\d", cell["valeur"]) else ""
            problem("valeur", cell["valeur"], "nombre attendu (par exemple 12,5 ou 12.5)" + unit_hint)
        if value is not None and known:
            low, high = meta.at[indicator, "min_plausible"], meta.at[indicator, "max_plausible"]
            if not low <= value <= high:
                problem("valeur", cell["valeur"], f"hors de la plage plausible de {indicator} : attendu entre "
                                                  f"{_fmt(low)} et {_fmt(high)} {meta.at[indicator, 'unite']}")
        if cell["unite"] and known and cell["unite"] != meta.at[indicator, "unite"]:
            problem("unite", cell["unite"], f"unité attendue pour {indicator} : « {meta.at[indicator, 'unite']} »")
        for column, pattern in patterns.items():
            if cell[column] and not pattern.fullmatch(cell[column]):
                problem(column, cell[column], f"{expected_form[column]} est attendue")
        if code and known and period:
            key = (code, indicator, period)
            if key in seen:
                problem("entreprise, indicateur, periode", " / ".join(key),
                        f"doublon : même entreprise, indicateur et année qu'à la ligne {seen[key]}")
            else:
                seen[key] = line
        problems += bad
        if not bad:
            out.append({**cell, "entreprise": code, "valeur": value, LINE: line})
    if any(p.severity == "erreur" for p in problems):
        raise ValidationError(problems)
    values = pd.DataFrame(out, columns=list(fields) + [LINE])
    values["valeur"] = values["valeur"].astype("float64")
    return FirmData(values, problems, name)


def validate_firm_file(path: str | os.PathLike, framework: FirmFramework | None = None,
                       demonstration: bool = False) -> FirmData:
    """Read a firm file (CSV or XLSX, French spreadsheets included) and validate it."""
    return validate_firm_data(read_table(path), framework, demonstration)


@lru_cache(maxsize=1)
def _territorial_indicators() -> frozenset:
    path = paths.CATALOGUE / "indicateurs.csv"
    if not path.is_file():
        return frozenset()
    return frozenset(pd.read_csv(path, usecols=["id"], dtype=str)["id"])


def _fmt(x: float) -> str:
    return f"{x:g}".replace(".", ",")


# ---------------------------------------------------------------------------------------------
# Scoring
# ---------------------------------------------------------------------------------------------


@dataclass
class FirmProfile:
    """One firm's result: its index, pillars and indicators, and the scores by commun."""

    code: str
    name: str | None
    index: float
    index_label: str
    pillars: pd.DataFrame  # code → libelle, score, couverture
    indicators: pd.DataFrame  # code → pilier, libelle, valeur, unite, periode, score, commun, …
    communs: pd.DataFrame  # commun → libelle, score, indicateurs

    @property
    def filled(self) -> int:
        return int(self.indicators["valeur"].notna().sum())


@dataclass
class FirmScores:
    """The scores of every firm of a file: the :class:`Coin` and the year of each value."""

    framework: FirmFramework
    coin: Coin
    periods: pd.DataFrame  # firms × indicators: year of the value used
    data: FirmData

    @property
    def firms(self) -> pd.Index:
        return self.coin.units

    def profile(self, code: str | None = None) -> FirmProfile:
        """The profile of firm ``code`` (optional when the file holds one firm)."""
        return firm_profile(self, code)


def latest_values(values: pd.DataFrame, indicators: pd.Index) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Firms × indicators: the value of the most recent year, and that year."""
    latest = (values.assign(_annee=values["periode"].astype(int))
              .sort_values(["entreprise", "indicateur", "_annee"], kind="stable")
              .drop_duplicates(["entreprise", "indicateur"], keep="last"))
    firms = pd.Index(list(dict.fromkeys(values["entreprise"])), name="entreprise")
    wide = latest.pivot(index="entreprise", columns="indicateur", values="valeur")
    years = latest.pivot(index="entreprise", columns="indicateur", values="periode")
    return (wide.reindex(index=firms, columns=indicators).astype("float64"),
            years.reindex(index=firms, columns=indicators))


def score_firms(data: FirmData, framework: FirmFramework | None = None) -> FirmScores:
    """Score every firm of a validated file on the firm framework (goalposts, arithmetic means,
    coverage threshold of half the weight)."""
    framework = framework or load_firm_framework()
    wide, years = latest_values(data.values, framework.framework.indicators)
    coin = Coin(framework.framework, wide, name="autodiagnostic d'entreprise")
    coin.normalise(NORMALISATION).aggregate(AGGREGATION, min_coverage=MIN_COVERAGE)
    return FirmScores(framework, coin, years, data)


def firm_profile(scores: FirmScores, code: str | None = None) -> FirmProfile:
    """Index, pillars, indicators and scores by commun of one firm of ``scores``.

    Raises :class:`ValidationError` (French) when ``code`` is not in the file, or is missing
    while the file holds several firms."""
    firms = scores.firms
    source = scores.data.path or "donnees"
    if code is None:
        if len(firms) != 1:
            raise ValidationError([Problem(source, None, "entreprise", None,
                                           f"le fichier contient {len(firms)} entreprises : précisez laquelle "
                                           "(codes : " + ", ".join(firms) + ")")])
        code = firms[0]
    else:
        canonical, _error, _warning = parse_firm_code(code, demonstration=True)
        code = canonical or str(code).strip()
    if code not in firms:
        raise ValidationError([Problem(source, None, "entreprise", code, "entreprise absente du fichier (codes "
                                       "présents : " + ", ".join(firms) + ")")])
    fw = scores.framework
    coin = scores.coin
    scored = coin.datasets["agrege"].loc[code]
    cover = coin.datasets["couverture"].loc[code]
    raw = coin.datasets["brut"].loc[code]
    meta = fw.indicators
    indicators = pd.DataFrame({
        "pilier": [fw.pillar_of(i) for i in meta.index],
        "libelle": meta["libelle"], "valeur": raw.reindex(meta.index), "unite": meta["unite"],
        "periode": scores.periods.loc[code].reindex(meta.index), "score": scored.reindex(meta.index),
        "commun": meta["commun"], "referentiel": meta["referentiel"],
        "borne_basse": fw.framework.nodes.loc[meta.index, "borne_basse"],
        "borne_haute": fw.framework.nodes.loc[meta.index, "borne_haute"],
        "direction": fw.framework.nodes.loc[meta.index, "direction"],
    }, index=meta.index)
    pillars = pd.DataFrame({"libelle": fw.framework.labels.loc[fw.pillars], "score": scored.loc[fw.pillars],
                            "couverture": cover.loc[fw.pillars]}, index=fw.pillars)
    names = fictional_firms()["nom"] if code.startswith(FICTIONAL_PREFIX) else pd.Series(dtype=str)
    return FirmProfile(code=code, name=names.get(code), index=float(scored[fw.root]),
                       index_label=fw.framework.labels[fw.root], pillars=pillars, indicators=indicators,
                       communs=scores_by_commun(indicators, fw.communs))


def scores_by_commun(indicators: pd.DataFrame, communs: pd.Series) -> pd.DataFrame:
    """Mean score of a firm's indicators attached to each territorial commun (only the communs
    that have at least one indicator with a score), in the order of ``communs``."""
    scored = indicators[indicators["score"].notna()]
    grouped = scored.groupby("commun")["score"].agg(["mean", "count"])
    grouped = grouped.reindex([c for c in communs.index if c in grouped.index])
    return pd.DataFrame({"libelle": communs.reindex(grouped.index), "score": grouped["mean"],
                         "indicateurs": grouped["count"].astype(int)}, index=grouped.index.rename("commun"))
