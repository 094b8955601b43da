#!/usr/bin/env python3
"""Build the reference tables (Code officiel géographique 2026) in data/reference/.

Run by ``make reference-data``; the tests never run it, they read the committed CSVs.

Steps:

1. ``npm pack @etalab/decoupage-administratif@6.0.0`` into ``.cache/`` (git-ignored),
   unless the tarball is already there; its sha512 is checked against the integrity
   published by the npm registry, so a rebuild is byte-for-byte reproducible.
2. Read ``package/data/{communes,epci,departements,regions}.json`` from the tarball.
3. Write five UTF-8 CSVs (comma, LF, header, sorted by code) into ``data/reference/``,
   then check their headers against ``data/reference/datapackage.json``.

Choices (documented in datapackage.json as well):

* communes: only ``type == "commune-actuelle"`` (arrondissements municipaux of
  Paris/Lyon/Marseille, communes déléguées and associées are left out). The communes of
  the collectivités d'outre-mer (975, 977, 978, 984, 986, 987, 988, 989) are kept, but
  they belong to no département and no région: both columns are empty for them. Their
  population is 0 where the package has none (TAAF, Clipperton: no permanent population).
* départements and régions: only the 101 départements and 18 régions of the COG; the
  package also lists the collectivités d'outre-mer as pseudo-départements/régions,
  which are dropped.
* populations: the package's commune ``population`` (populations légales, population
  municipale). EPCI, département and région populations are sums of their communes, so
  all levels share one vintage. (The package's EPCI ``populationMunicipale`` comes from
  the DGCL file and is one vintage older; it is deliberately not used.)
* EPCI département: the département holding the largest share of the EPCI's population
  (ties: smallest département code); its région follows.

Standard library only, so it runs before the project environment exists.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import json
import subprocess
import sys
import tarfile
from collections import defaultdict
from pathlib import Path

from observatoire.engine.reference import TABLE_COLUMNS

PACKAGE = "@etalab/decoupage-administratif"
VERSION = "6.0.0"
TARBALL = f"etalab-decoupage-administratif-{VERSION}.tgz"
# `npm view @etalab/decoupage-administratif@6.0.0 dist.integrity`
INTEGRITY = (
    "sha512-XavYsFlbcM/prKr8hNHPKER94IHw/dsxNM4nxjWMYk6PLFACpEedvn/7wK8Baozm0dCYhWWcf+7bcWpA5pmCaQ=="
)

REPO = Path(__file__).resolve().parents[1]
CACHE = REPO / ".cache"
OUT = REPO / "data" / "reference"

# Header of each CSV, shared with the loader (and matching datapackage.json).
COLUMNS = {name: list(columns) for name, columns in TABLE_COLUMNS.items()}


def integrity_of(path: Path) -> str:
    digest = hashlib.sha512(path.read_bytes()).digest()
    return "sha512-" + base64.b64encode(digest).decode("ascii")


def fetch_tarball() -> Path:
    """Return the path of the npm tarball, packing it into .cache/ if needed."""
    CACHE.mkdir(exist_ok=True)
    tarball = CACHE / TARBALL
    if not tarball.exists() or integrity_of(tarball) != INTEGRITY:
        print(f"npm pack {PACKAGE}@{VERSION} -> {CACHE.relative_to(REPO)}/", file=sys.stderr)
        try:
            subprocess.run(
                ["npm", "pack", f"{PACKAGE}@{VERSION}", "--silent"],
                cwd=CACHE,
                check=True,
                stdout=subprocess.DEVNULL,
            )
        except FileNotFoundError:
            raise SystemExit("npm est introuvable : installez Node.js (npm) pour régénérer les données.")
        except subprocess.CalledProcessError as error:
            raise SystemExit(f"échec de « npm pack {PACKAGE}@{VERSION} » (code {error.returncode}).")
    found = integrity_of(tarball)
    if found != INTEGRITY:
        raise SystemExit(
            f"{tarball}: empreinte inattendue {found} (attendue {INTEGRITY}) ; "
            "supprimez le fichier et relancez."
        )
    return tarball


def read_package(tarball: Path) -> dict[str, list[dict]]:
    """Read the four JSON tables out of the tarball (no files written)."""
    tables = {}
    with tarfile.open(tarball, "r:gz") as tar:
        for name in ("communes", "epci", "departements", "regions"):
            member = tar.getmember(f"package/data/{name}.json")
            handle = tar.extractfile(member)
            assert handle is not None, member.name
            tables[name] = json.load(handle)
    return tables


def build(tables: dict[str, list[dict]]) -> dict[str, list[list]]:
    """Turn the package's JSON into the rows of the five CSVs (sorted by code)."""
    departements = [d for d in tables["departements"] if d["zone"] != "com"]
    regions = [r for r in tables["regions"] if r["zone"] != "com"]
    dep_codes = {d["code"] for d in departements}
    reg_codes = {r["code"] for r in regions}
    assert len(departements) == 101 and len(regions) == 18, (len(departements), len(regions))

    communes = {c["code"]: c for c in tables["communes"] if c["type"] == "commune-actuelle"}
    for code, c in communes.items():
        assert isinstance(code, str) and len(code) == 5, code
        in_com = c["zone"] == "com"
        assert in_com == (c["departement"] not in dep_codes), code
        assert in_com == (c["region"] not in reg_codes), code

    def population(code: str) -> int:
        return communes[code].get("population") or 0

    def departement(code: str) -> str:
        c = communes[code]
        return "" if c["zone"] == "com" else c["departement"]

    def region(code: str) -> str:
        c = communes[code]
        return "" if c["zone"] == "com" else c["region"]

    epci_of: dict[str, str] = {}
    epci_rows, membership_rows = [], []
    for e in tables["epci"]:
        members = [m["code"] for m in e["membres"]]
        assert members and len(set(members)) == len(members), e["code"]
        by_dep: dict[str, int] = defaultdict(int)
        for code in members:
            assert code not in epci_of, f"{code} dans deux EPCI"
            epci_of[code] = e["code"]
            by_dep[departement(code)] += population(code)
            membership_rows.append([e["code"], code])
        main_dep = min(by_dep, key=lambda dep: (-by_dep[dep], dep))
        assert main_dep in dep_codes, e["code"]
        main_reg = next(d["region"] for d in departements if d["code"] == main_dep)
        epci_rows.append(
            [
                e["code"],
                e["nom"],
                e["type"],
                e["modeFinancement"],
                sum(population(code) for code in members),
                len(members),
                main_dep,
                main_reg,
            ]
        )

    commune_rows = [
        [code, c["nom"], departement(code), region(code), epci_of.get(code, ""), population(code)]
        for code, c in communes.items()
    ]

    dep_population: dict[str, int] = defaultdict(int)
    reg_population: dict[str, int] = defaultdict(int)
    for code in communes:
        if departement(code):
            dep_population[departement(code)] += population(code)
            reg_population[region(code)] += population(code)

    departement_rows = [
        [d["code"], d["nom"], d["region"], d["chefLieu"], dep_population[d["code"]]]
        for d in departements
    ]
    region_rows = [[r["code"], r["nom"], r["chefLieu"], reg_population[r["code"]]] for r in regions]

    for row in departement_rows + region_rows:
        assert row[-1] > 0 and row[-2] in communes, row  # chef-lieu is a commune

    return {
        "communes": sorted(commune_rows),
        "epci": sorted(epci_rows),
        "epci_communes": sorted(membership_rows),
        "departements": sorted(departement_rows),
        "regions": sorted(region_rows),
    }


def write_csv(path: Path, header: list[str], rows: list[list]) -> None:
    buffer = io.StringIO(newline="")
    writer = csv.writer(buffer, lineterminator="\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow(header)
    writer.writerows(rows)
    path.write_bytes(buffer.getvalue().encode("utf-8"))


def check_datapackage(directory: Path) -> None:
    """The CSV headers must be exactly the fields declared in datapackage.json."""
    descriptor = directory / "datapackage.json"
    if not descriptor.exists():
        print(f"attention : {descriptor} absent, en-têtes non vérifiés", file=sys.stderr)
        return
    package = json.loads(descriptor.read_text(encoding="utf-8"))
    declared = {r["name"]: [f["name"] for f in r["schema"]["fields"]] for r in package["resources"]}
    for name, header in COLUMNS.items():
        if declared.get(name) != header:
            raise SystemExit(f"datapackage.json : champs de « {name} » {declared.get(name)} != {header}")


def main() -> None:
    tables = read_package(fetch_tarball())
    rows = build(tables)
    OUT.mkdir(parents=True, exist_ok=True)
    for name, header in COLUMNS.items():
        path = OUT / f"{name}.csv"
        write_csv(path, header, rows[name])
        print(f"{path.relative_to(REPO)}: {len(rows[name])} lignes", file=sys.stderr)
    check_datapackage(OUT)


if __name__ == "__main__":
    main()
