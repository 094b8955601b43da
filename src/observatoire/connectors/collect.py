"""``observatoire collecter``: public APIs → a data file in the project's own contract.

For a commune, an EPCI, a département or a région (or every EPCI at once, the national
collection), every connector is run on its units — the territory's communes for the connectors
that read communal values, the territory itself for those whose producer publishes every level —
then:

- communal values are rolled up to the territory with the engine's levels
  (:func:`observatoire.engine.levels.roll_up`: population-weighted mean for a rate, sum for a
  count), each rolled-up value saying in its comment how many communes it rests on and which
  population it covers; a value resting on less than half of the population because of failed
  queries is withheld;
- every value keeps its provenance in the contract's provenance columns;
- every indicator of the catalogue without a value becomes a row to fill, with the reason
  (survey indicator, failed query and why, no data published, no connector yet);
- the values are checked by the project's validator before anything is written, and the files
  are written atomically, all or none.

Files written, for ``--sortie fichier.csv``:

``fichier.csv``
    the values, in the data contract (the validator accepts it; ``make territoire`` builds a book);
``fichier-a-renseigner.csv``
    the same columns, one row per indicator still to fill, ``valeur`` empty, the reason in
    ``commentaire`` (to fill in, then append to the first file);
``fichier-communes.csv``
    for an EPCI, a département or a région: the communal values the rolled-up ones rest on,
    each with its own query and excerpt;
``fichier-hors-catalogue.csv``
    values of indicators proposed in ``data/catalogue/propositions/collecte.csv`` but not yet in
    the catalogue (the validator would refuse them in the first file).

Each API runs in its own thread with its own token bucket, so the slowest API sets the pace.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import sys
import tempfile
import threading
from collections import defaultdict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable

import pandas as pd

from observatoire import paths
from observatoire.connectors import datagouv, georisques, hubeau, insee
from observatoire.connectors.base import COMMUNE, EVERY_EPCI, Connector, Context, Observation, Unit, excerpt
from observatoire.connectors.errors import NetworkUnavailable, NoData, SourceError
from observatoire.files import write_all_atomic as write_texts_atomically
from observatoire.connectors.http import Api, Client
from observatoire.engine.catalogue import Catalogue
from observatoire.engine.levels import roll_up
from observatoire.engine.reference import Reference, Territory, is_fictional
from observatoire.engine.validate import LAST_OBSERVED_YEAR, validate_file
from observatoire.errors import ValidationError
from observatoire.text import fr_int, fr_number

#: Every connector, in the order of the summary.
CONNECTORS: tuple[Connector, ...] = (georisques.CONNECTORS + insee.CONNECTORS + hubeau.CONNECTORS
                                     + datagouv.CONNECTORS)
PROPOSALS = paths.CATALOGUE / "propositions" / "collecte.csv"
PROVENANCE_COLUMNS = ["producteur", "jeu_de_donnees", "url", "millesime", "date_consultation", "licence", "extrait"]
COLUMNS = ["territoire", "indicateur", "periode", "valeur", "unite", "source", "commentaire"] + PROVENANCE_COLUMNS
SURVEY = "Enquête de l'Observatoire"
#: A rolled-up value resting on less than this share of the population, because of failed
#: queries, is withheld.
MIN_SUCCESS_SHARE = 0.5
#: A connector stops after this many failures in a row (no success yet: the first five).
STOP_AFTER = {False: 5, True: 25}
LEVEL_NAMES = {"commune": "commune", "epci": "EPCI", "departement": "département", "region": "région"}
FILL_PERIODS = {"annuelle": str(LAST_OBSERVED_YEAR - 1), "mensuelle": f"{LAST_OBSERVED_YEAR - 1}-12",
                "projection": "2050"}

COMPLETE, PARTIAL, OFFLINE, EMPTY = "complète", "partielle", "hors ligne", "vide"


@dataclass
class Report:
    """What one connector did."""

    connector: Connector
    units: int
    done: int = 0
    observations: list[Observation] = field(default_factory=list)
    no_data: dict[str, str] = field(default_factory=dict)  # unit → reason
    out_of_scope: set[str] = field(default_factory=set)
    failures: dict[str, str] = field(default_factory=dict)  # unit → French message
    stopped: str | None = None  # why the connector stopped before its last unit
    network: bool = False  # stopped because the API could not be reached

    @property
    def failed(self) -> bool:
        return bool(self.failures) or self.stopped is not None


@dataclass
class Estimate:
    requests: dict[str, int]  # API name → queries to send (first pages, not cached)
    cached: dict[str, int]
    seconds: dict[str, float]

    @property
    def total_seconds(self) -> float:
        return max(self.seconds.values(), default=0.0)

    def text(self) -> str:
        parts = []
        for name, n in self.requests.items():
            if n or self.cached[name]:
                parts.append(f"{name} : {fr_int(n)} requête(s) à envoyer, {fr_int(self.cached[name])} en cache, "
                             f"{_duration(self.seconds[name])}")
        head = f"Estimation avant de commencer (au moins ; la pagination peut ajouter des requêtes) : " \
               f"{_duration(self.total_seconds)}, les API étant interrogées en parallèle."
        return "\n".join([head] + [f"  - {p}" for p in parts])


@dataclass
class Collection:
    targets: list[Territory]
    level: str
    reports: list[Report]
    values: pd.DataFrame
    to_fill: pd.DataFrame
    communes: pd.DataFrame
    off_catalogue: pd.DataFrame
    status: str
    written: dict[str, Path] = field(default_factory=dict)
    started: dt.date = field(default_factory=dt.date.today)


def _duration(seconds: float) -> str:
    seconds = int(round(seconds))
    if seconds < 60:
        return f"environ {seconds} s"
    if seconds < 3600:
        return f"environ {seconds // 60} min"
    return f"environ {seconds // 3600} h {seconds % 3600 // 60:02d} min"


def load_proposals(path: Path = PROPOSALS) -> pd.DataFrame:
    """Rows of ``propositions-collecte.csv`` that add an indicator (index: id)."""
    if not Path(path).exists():
        return pd.DataFrame()
    table = pd.read_csv(path, dtype=str, keep_default_na=False)
    return table[table["action"] == "ajouter"].set_index("id")


def extended_catalogue(catalogue: Catalogue, proposals: pd.DataFrame) -> Catalogue:
    """The catalogue plus the proposed indicators it does not hold yet (to roll their values up)."""
    extra = proposals.loc[~proposals.index.isin(catalogue.indicators.index)]
    if extra.empty:
        return catalogue
    extra = extra.reindex(columns=catalogue.indicators.columns)
    return dataclasses.replace(catalogue, indicators=pd.concat([catalogue.indicators, extra]))


# -- planning ---------------------------------------------------------------------------

def targets_of(reference: Reference, code: str | None, every_epci: bool) -> list[Territory]:
    if every_epci:
        return [reference.territory(c) for c in sorted(reference.epci["code"]) if not is_fictional(c)]
    territory = reference.territory(code)
    if is_fictional(territory.code) or territory.level not in (*LEVEL_NAMES, "france"):
        raise ValueError(f"« {territory.code} » est un territoire fictif : ses valeurs sont inventées pour les "
                         "démonstrations, aucune API publique n'en publie ; donnez le code INSEE d'un territoire réel")
    if territory.level == "france":
        raise ValueError("la collecte porte sur une commune, un EPCI, un département ou une région, pas sur la France "
                         "entière (pour tous les EPCI : observatoire collecter --niveau epci --tous)")
    return [territory]


def units_of(connector: Connector, targets: list[Territory], every_epci: bool,
             reference: Reference) -> list[Unit]:
    if connector.scale == COMMUNE:
        codes = sorted({c for t in targets for c in t.communes})
        names = reference.communes.set_index("code")["nom"]
        return [Unit(c, f"{names.get(c, c)} ({c})") for c in codes]
    if every_epci:
        return [Unit(EVERY_EPCI, "tous les EPCI")]
    return [Unit(t.code, f"{t.nom} ({t.code})") for t in targets]


def estimate(plan: dict[Connector, list[Unit]], clients: dict[str, Client], context: Context) -> Estimate:
    requests: dict[str, int] = defaultdict(int)
    cached: dict[str, int] = defaultdict(int)
    apis: dict[str, Api] = {}
    for connector, units in plan.items():
        client = clients[connector.api.key]
        api = client.api
        apis[api.name] = api
        for unit in units:
            for url, params in connector.queries(unit, context):
                if client.is_cached(url, params):
                    cached[api.name] += 1
                else:
                    requests[api.name] += 1
    seconds = {name: requests[name] * api.seconds_per_request for name, api in apis.items()}
    return Estimate({n: requests[n] for n in apis}, {n: cached[n] for n in apis}, seconds)


# -- running ----------------------------------------------------------------------------

class _Progress:
    """One progress bar per API (tqdm on standard error), or nothing."""

    def __init__(self, enabled: bool):
        self.enabled = enabled
        self.lock = threading.Lock()

    def bar(self, api: Api, total: int, position: int):
        if not self.enabled:
            return None
        from tqdm import tqdm

        return tqdm(total=total, desc=api.name, position=position, file=sys.stderr, unit=" unité",
                    leave=True, dynamic_ncols=True)


def _run_api(connectors: list[Connector], plan: dict[Connector, list[Unit]], client: Client, context: Context,
             progress: _Progress, position: int, stop: threading.Event) -> list[Report]:
    reports = [Report(c, len(plan[c])) for c in connectors]
    bar = progress.bar(client.api, sum(len(plan[c]) for c in connectors), position)
    unreachable: str | None = None
    try:
        for report in reports:
            connector = report.connector
            if unreachable:
                report.stopped, report.network = unreachable, True
                continue
            in_a_row = 0
            for unit in plan[connector]:
                if stop.is_set():
                    report.stopped = "collecte interrompue"
                    break
                try:
                    report.observations += connector.collect(client, unit, context)
                    in_a_row = 0
                except NoData as exc:
                    (report.out_of_scope.add(unit.code) if exc.out_of_scope else None)
                    report.no_data[unit.code] = exc.message
                    in_a_row = 0
                except NetworkUnavailable as exc:
                    unreachable = exc.message
                    report.stopped, report.network = exc.message, True
                    break
                except SourceError as exc:
                    named = exc.message if unit.label in exc.message else f"{unit.label} — {exc.message}"
                    report.failures[unit.code] = named
                    in_a_row += 1
                except Exception as exc:  # a bug or an answer no check foresaw: a message, never a traceback
                    report.failures[unit.code] = (f"{connector.label}, {unit.label} : réponse inattendue, "
                                                  f"impossible de la lire ({type(exc).__name__} : {exc})")
                    in_a_row += 1
                report.done += 1
                if bar is not None:
                    bar.update(1)
                if in_a_row >= STOP_AFTER[report.done > in_a_row]:
                    report.stopped = (f"{connector.label} : arrêt après {in_a_row} échecs consécutifs ; dernier : "
                                      f"{report.failures[unit.code]}")
                    break
    finally:
        if bar is not None:
            bar.close()
        client.close()
    return reports


def run(plan: dict[Connector, list[Unit]], clients: dict[str, Client], context: Context,
        progress: bool = False) -> list[Report]:
    """Run every connector on its units; one thread per API (each with its own token bucket)."""
    by_api: dict[str, list[Connector]] = defaultdict(list)
    for connector in plan:
        by_api[connector.api.key].append(connector)
    bars = _Progress(progress)
    stop = threading.Event()
    with ThreadPoolExecutor(max_workers=max(1, len(by_api))) as pool:
        futures = [pool.submit(_run_api, connectors, plan, clients[key], context, bars, i, stop)
                   for i, (key, connectors) in enumerate(by_api.items())]
        try:
            done = [f.result() for f in futures]
        except BaseException:  # Ctrl-C: the threads finish their current query and stop
            stop.set()
            raise
    order = {c: i for i, c in enumerate(plan)}
    return sorted((r for reports in done for r in reports), key=lambda r: order[r.connector])


# -- assembling -------------------------------------------------------------------------

def _row(territory: str, obs: Observation, unit: str) -> dict:
    p = obs.provenance
    return {"territoire": territory, "indicateur": obs.indicator, "periode": obs.period, "valeur": obs.value,
            "unite": unit, "source": p.source, "commentaire": p.commentaire, "producteur": p.producteur,
            "jeu_de_donnees": p.jeu_de_donnees, "url": p.url, "millesime": p.millesime,
            "date_consultation": p.date_consultation, "licence": p.licence, "extrait": p.extrait}


def _url_pattern(url: str, commune: str) -> str:
    return url.replace(f"={commune}", "={commune}")


def _rolled_up(reports: list[Report], targets: list[Territory], level: str, catalogue: Catalogue,
               reference: Reference) -> tuple[list[dict], dict[tuple[str, str], str]]:
    """Rows of the communal values rolled up to the targets, and the reasons of withheld ones."""
    rows: list[dict] = []
    withheld: dict[tuple[str, str], str] = {}
    population = reference.communes.set_index("code")["population"]
    names = reference.communes.set_index("code")["nom"]
    wanted = {t.code for t in targets}
    members = {t.code: t.communes for t in targets}
    for report in reports:
        if report.connector.scale != COMMUNE or not report.observations:
            continue
        obs = pd.DataFrame([{"territoire": o.territory, "indicateur": o.indicator, "periode": o.period,
                             "valeur": o.value, "o": o} for o in report.observations])
        for (indicator, period), group in obs.groupby(["indicateur", "periode"], sort=True):
            wide = group.pivot(index="territoire", columns="indicateur", values="valeur")
            values, coverage = roll_up(wide, catalogue, reference, level)
            by_commune = group.set_index("territoire")["o"]
            for parent in values.index.intersection(sorted(wanted)):
                value = values.loc[parent, indicator]
                if pd.isna(value):
                    continue
                communes = [c for c in members[parent] if c in by_commune.index]
                failed = [c for c in members[parent] if c in report.failures or (report.stopped and c not in
                          by_commune.index and c not in report.no_data)]
                whole = float(population.reindex(members[parent]).sum()) or 1.0
                failed_share = float(population.reindex(failed).fillna(0).sum()) / whole
                if failed_share > 1 - MIN_SUCCESS_SHARE:
                    withheld[parent, indicator] = (f"valeur non calculée : la collecte a échoué pour des communes "
                                                   f"regroupant {fr_number(100 * failed_share)} % de la population")
                    continue
                first = by_commune[communes[0]]
                p = first.provenance
                kind = catalogue.indicators.loc[indicator, "agregation"]
                how = ("somme des valeurs" if kind == "compte" else "moyenne des valeurs, pondérée par la population,")
                missing = [c for c in members[parent] if c not in by_commune.index]
                comment = (f"{how} de {len(communes)} commune(s) sur {len(members[parent])} ; couverture : "
                           f"{fr_number(100 * coverage.loc[parent, indicator])} % de la population")
                if missing:
                    shown = "; ".join(f"{names.get(c, c)} ({c}) : {_short_reason(report, c)}" for c in missing[:3])
                    comment += f" ; sans valeur : {shown}" + (" ; …" if len(missing) > 3 else "")
                dates = sorted({by_commune[c].provenance.date_consultation for c in communes})
                if len(dates) > 1:
                    comment += f" ; réponses reçues du {dates[0]} au {dates[-1]}"
                values_text = " ; ".join(f"{c}={by_commune[c].value:g}" for c in communes)
                millesimes = sorted({by_commune[c].provenance.millesime for c in communes})
                row = {"territoire": parent, "indicateur": indicator, "periode": period, "valeur": float(value),
                       "unite": None, "source": p.source, "commentaire": comment, "producteur": p.producteur,
                       "jeu_de_donnees": p.jeu_de_donnees + " — une requête par commune",
                       "url": _url_pattern(p.url, first.territory), "millesime": " | ".join(millesimes),
                       "date_consultation": dates[-1], "licence": p.licence,
                       "extrait": excerpt(f"valeurs communales : {values_text}")}
                rows.append(row)
    return rows, withheld


def _short_reason(report: Report, commune: str) -> str:
    if commune in report.out_of_scope:
        return "hors champ"
    if commune in report.no_data:
        return "pas de donnée"
    if commune in report.failures:
        return "échec de la requête"
    return "non interrogée (collecte arrêtée)"


def _reason(indicator: str, territory: Territory, reports: list[Report], covered: dict[str, Report],
            catalogue: Catalogue, withheld: dict) -> str:
    meta = catalogue.indicators.loc[indicator]
    suggested = f"source suggérée : {meta['source']} ({meta['source_url']})"
    if (territory.code, indicator) in withheld:
        return f"À renseigner — {withheld[territory.code, indicator]} ; {suggested}"
    if str(meta["source"]).startswith(SURVEY):
        return f"À renseigner — indicateur d'enquête : {meta['source']}"
    report = covered.get(indicator)
    if report is None:
        return f"À renseigner — pas encore de connecteur automatique pour cette source ; {suggested}"
    units = territory.communes if report.connector.scale == COMMUNE else (territory.code, EVERY_EPCI)
    messages = [report.failures[u] for u in units if u in report.failures]
    if report.stopped:
        messages.insert(0, report.stopped)
    if messages:
        return f"À renseigner — la collecte a échoué : {messages[0]}" + (
            f" (et {len(messages) - 1} autre(s) échec(s))" if len(messages) > 1 else "")
    notes = [report.no_data[u] for u in units if u in report.no_data]
    if notes:
        return f"À renseigner — pas de valeur publiée : {notes[0]}"
    if report.connector.scale != COMMUNE and report.done:
        return (f"À renseigner — {report.connector.label} : pas de valeur pour {territory.nom} ({territory.code}) dans "
                "la réponse (territoire absent de la géographie de la source : fusionné ou créé depuis ?)")
    return f"À renseigner — aucune valeur reçue ; {suggested}"


def assemble(reports: list[Report], targets: list[Territory], level: str, catalogue: Catalogue,
             reference: Reference, proposals: pd.DataFrame, national: bool) -> tuple[pd.DataFrame, ...]:
    """(values, to fill, communal values, values off the catalogue) as contract tables."""
    extended = extended_catalogue(catalogue, proposals)
    units = extended.indicators["unite"]
    wanted = {t.code for t in targets}
    rows: list[dict] = []
    communal: list[dict] = []
    withheld: dict = {}
    for report in reports:
        if report.connector.scale != COMMUNE:
            rows += [_row(o.territory, o, units.get(o.indicator)) for o in report.observations
                     if o.territory in wanted]
        elif level == "commune":
            rows += [_row(o.territory, o, units.get(o.indicator)) for o in report.observations
                     if o.territory in wanted]
        else:
            communal += [_row(o.territory, o, units.get(o.indicator)) for o in report.observations]
    if level != "commune":
        rolled, withheld = _rolled_up(reports, targets, level, extended, reference)
        for row in rolled:
            row["unite"] = units.get(row["indicateur"])
        rows += rolled
    frame = _frame(rows, extended)
    in_catalogue = frame["indicateur"].isin(catalogue.indicators.index)
    values, off = frame[in_catalogue].reset_index(drop=True), frame[~in_catalogue].reset_index(drop=True)
    covered = {i: r for r in reports for i in r.connector.indicators}
    filled = set(zip(values["territoire"], values["indicateur"]))
    fill_rows = []
    for territory in targets:
        for indicator, meta in catalogue.indicators.iterrows():
            if (territory.code, indicator) in filled:
                continue
            if national and indicator not in covered:
                continue
            fill_rows.append({"territoire": territory.code, "indicateur": indicator,
                              "periode": FILL_PERIODS[meta["periodicite"]], "valeur": None, "unite": meta["unite"],
                              "source": meta["source"],
                              "commentaire": _reason(indicator, territory, reports, covered, catalogue, withheld)})
    communal = _frame(communal, extended)
    known = communal["indicateur"].isin(catalogue.indicators.index)
    off = pd.concat([off, communal[~known]], ignore_index=True) if (~known).any() else off
    return values, _frame(fill_rows, catalogue), communal[known].reset_index(drop=True), off


def _frame(rows: list[dict], catalogue: Catalogue) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=COLUMNS)
    if frame.empty:
        return frame
    order = {i: k for k, i in enumerate(catalogue.indicators.index)}
    frame["_o"] = frame["indicateur"].map(order).fillna(len(order))
    frame = frame.sort_values(["territoire", "_o", "periode"], kind="stable").drop(columns="_o")
    return frame.reset_index(drop=True)


def to_csv_text(frame: pd.DataFrame) -> str:
    return frame.to_csv(index=False, lineterminator="\n", float_format="%.10g")


def checked(values: pd.DataFrame, to_fill: pd.DataFrame, catalogue: Catalogue,
            reference: Reference) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Run the project's validator on the values; a refused row moves to the rows to fill with the
    validator's message (never written as a value)."""
    if values.empty:
        return values, to_fill
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "collecte.csv"
        path.write_text(to_csv_text(values), encoding="utf-8")
        try:
            validate_file(path, catalogue, reference)
            return values, to_fill
        except ValidationError as exc:
            refused: dict[int, str] = {}
            for problem in exc.problems:
                if problem.severity == "erreur" and problem.line:
                    refused.setdefault(problem.line - 2, problem.message)
    if not refused:
        raise RuntimeError("le validateur refuse le fichier collecté sans désigner de ligne")
    bad = values.loc[sorted(refused)].copy()
    bad["commentaire"] = [f"À renseigner — valeur collectée ({v:g}) refusée par le validateur : {refused[i]}"
                          for i, v in zip(bad.index, bad["valeur"])]
    bad["valeur"] = None
    kept = values.drop(index=bad.index).reset_index(drop=True)
    return kept, pd.concat([to_fill, bad], ignore_index=True)


# -- the command --------------------------------------------------------------------------

def companion(path: Path, suffix: str) -> Path:
    return path.with_name(f"{path.stem}-{suffix}{path.suffix or '.csv'}")


def collect(code: str | None, output: Path, catalogue: Catalogue, reference: Reference, *,
            every_epci: bool = False, since: int | None = None, cache_directory: Path | None = None,
            refresh: bool = False, progress: bool = False, connectors: Iterable[Connector] = CONNECTORS,
            client_factory: Callable[[Api], Client] | None = None, proposals: pd.DataFrame | None = None,
            say: Callable[[str], None] = print) -> Collection:
    """Collect, assemble, check and write (unless nothing was collected); see the module docstring."""
    targets = targets_of(reference, code, every_epci)
    level = "epci" if every_epci else targets[0].level
    proposals = load_proposals() if proposals is None else proposals
    population = {**reference.communes.set_index("code")["population"].astype(int).to_dict()}
    context = Context(since=since, population=population)
    connectors = list(connectors)
    plan = {c: units_of(c, targets, every_epci, reference) for c in connectors}
    factory = client_factory or (lambda api: Client(api, cache_directory, refresh))
    clients: dict[str, Client] = {}
    for c in connectors:
        clients.setdefault(c.api.key, factory(c.api))

    n_communes = len({u.code for c, us in plan.items() if c.scale == COMMUNE for u in us})
    what = ("tous les EPCI" if every_epci else f"{targets[0].nom} ({targets[0].code}, "
            f"{LEVEL_NAMES[targets[0].level]})")
    say(f"Collecte pour {what} : {fr_int(n_communes)} commune(s), {len(connectors)} jeux de données, "
        f"{len({c.api.key for c in connectors})} API.")
    say(estimate(plan, clients, context).text())

    reports = run(plan, clients, context, progress)
    values, to_fill, communal, off = assemble(reports, targets, level, catalogue, reference, proposals, every_epci)
    values, to_fill = checked(values, to_fill, catalogue, reference)
    got_any = not values.empty or not off.empty
    if not got_any:
        offline = any(r.network for r in reports)
        status = OFFLINE if offline else EMPTY
        return Collection(targets, level, reports, values, to_fill, communal, off, status)
    status = PARTIAL if any(r.failed for r in reports) else COMPLETE
    texts = {output: to_csv_text(values), companion(output, "a-renseigner"): to_csv_text(to_fill)}
    if level != "commune" and not every_epci and not communal.empty:
        texts[companion(output, "communes")] = to_csv_text(communal)
    if not off.empty:
        texts[companion(output, "hors-catalogue")] = to_csv_text(off)
    write_texts_atomically(texts)
    written = {"valeurs": output, "a_renseigner": companion(output, "a-renseigner")}
    for key, suffix in (("communes", "communes"), ("hors_catalogue", "hors-catalogue")):
        if companion(output, suffix) in texts:
            written[key] = companion(output, suffix)
    return Collection(targets, level, reports, values, to_fill, communal, off, status, written)


def summary(collection: Collection, catalogue: Catalogue) -> str:
    """The French summary printed at the end: per source, what was filled, what failed and why."""
    lines = ["", "Bilan de la collecte :"]
    values = collection.values
    off = collection.off_catalogue
    for report in collection.reports:
        c = report.connector
        mine = values[values["indicateur"].isin(c.indicators)] if not values.empty else values
        theirs = off[off["indicateur"].isin(c.indicators)] if not off.empty else off
        filled = sorted(set(mine["indicateur"])) if not mine.empty else []
        proposed = sorted(set(theirs["indicateur"])) if not theirs.empty else []
        head = f"  - {c.label} : "
        if filled or proposed:
            head += f"{len(filled)} indicateur(s) rempli(s)" + (f" ({', '.join(filled)})" if filled else "")
            if proposed:
                head += f", {len(proposed)} indicateur(s) proposé(s) hors catalogue ({', '.join(proposed)})"
        else:
            head += "aucun indicateur rempli"
        head += f" ; {report.done}/{report.units} unité(s) interrogée(s)"
        if report.out_of_scope:
            head += f", {len(report.out_of_scope)} hors champ"
        others = len(report.no_data) - len(report.out_of_scope)
        if others:
            head += f", {others} sans donnée publiée"
        lines.append(head)
        if report.stopped:
            lines.append(f"      arrêt : {report.stopped}")
        for unit, message in list(report.failures.items())[:3]:
            lines.append(f"      échec : {message}")
        if len(report.failures) > 3:
            lines.append(f"      … et {len(report.failures) - 3} autre(s) échec(s)")
        for unit, message in list((k, v) for k, v in report.no_data.items() if k not in report.out_of_scope)[:2]:
            lines.append(f"      sans donnée : {message}")
    n_targets = len(collection.targets)
    filled_pairs = len(set(zip(values["territoire"], values["indicateur"]))) if not values.empty else 0
    total = len(catalogue.indicators) * n_targets
    survey = sum(str(s).startswith(SURVEY) for s in catalogue.indicators["source"]) * n_targets
    lines.append(f"Indicateurs du catalogue remplis : {fr_int(filled_pairs)} sur {fr_int(total)} "
                 f"({fr_int(len(values))} valeur(s)) ; indicateurs d'enquête à renseigner : {fr_int(survey)}.")
    if collection.status in (OFFLINE, EMPTY):
        if collection.status == OFFLINE:
            reasons = sorted({r.stopped for r in collection.reports if r.network})
            lines.append("Aucune API n'a pu être jointe — " + " ; ".join(reasons[:4]))
        lines.append("Aucune valeur collectée : rien n'a été écrit.")
        return "\n".join(lines)
    for key, label in (("valeurs", "valeurs"), ("a_renseigner", "lignes à renseigner"),
                       ("communes", "valeurs communales"), ("hors_catalogue", "valeurs d'indicateurs proposés")):
        if key in collection.written:
            frame = {"valeurs": values, "a_renseigner": collection.to_fill, "communes": collection.communes,
                     "hors_catalogue": off}[key]
            lines.append(f"Écrit : {collection.written[key]} ({fr_int(len(frame))} {label})")
    if collection.status == PARTIAL:
        lines.append("Collecte partielle : certaines sources ont échoué (voir ci-dessus) ; relancez la même commande "
                     "pour reprendre, les réponses déjà reçues sont en cache.")
    else:
        lines.append("Collecte complète.")
    return "\n".join(lines)
