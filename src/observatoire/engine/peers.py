"""« Territoires qui me ressemblent » : nearest structural peers, from real data only.

For a territory, its peers are the territories of the same level (EPCI among the 1,255 EPCI,
commune among the communes, département, région) whose structure is closest. Every variable
is a real observation of the reference (Code officiel géographique 2026, populations légales
of INSEE) or computed from the official contours (IGN ADMIN EXPRESS COG):

==========================  ===============================================================
variable                    definition
==========================  ===============================================================
population                  population municipale (sum of the communes)
densité                     population / area of the contours (hab./km²)
nombre de communes          number of member communes (EPCI, département, région)
part de la commune          share of the population living in the most populous commune
principale
==========================  ===============================================================

The area itself is shown but not used twice: density already combines it with population.
Method (also in the method annex, « Territoires qui me ressemblent »):

1. each variable is transformed — ``log(1 + x)`` for population, density and number of
   communes, whose distributions span several orders of magnitude; the share as it is;
2. variables that do not vary at a level are dropped (communes: a single commune each);
3. each transformed variable is standardised over all territories of the level that have every
   variable (mean 0, standard deviation 1, population formula);
4. distance: Euclidean distance between standardised vectors (equal weights);
5. peers: the ``k`` nearest territories (``k`` = 5 by default), ties broken by code — the result
   is deterministic. A territory without an area (the four communes restored in 2026 that share
   a contour with 15141, and 15141 itself) has no density: it has no peers and is nobody's.
"""

from __future__ import annotations

import functools

import numpy as np
import pandas as pd

from observatoire.engine import geometries
from observatoire.engine.reference import Reference, load_reference

__all__ = ["DEFAULT_K", "LEVELS", "VARIABLES", "all_peers", "nearest_peers", "peers_table", "structural_table"]

DEFAULT_K = 5
LEVELS = ("commune", "epci", "departement", "region")
#: Column → (French label, transformation) of the variables of the distance.
VARIABLES = {
    "population": ("population municipale", "log"),
    "densite": ("densité (habitants par km²)", "log"),
    "nb_communes": ("nombre de communes", "log"),
    "part_commune_principale": ("part de la population dans la commune la plus peuplée", "identity"),
}
COLUMNS = ["nom", "population", "superficie_km2", "densite", "nb_communes", "part_commune_principale",
           "departement", "region"]


def _members(reference: Reference, level: str) -> pd.DataFrame:
    """(territory code, commune code) pairs of a level."""
    communes = reference.communes
    if level == "commune":
        return pd.DataFrame({"territoire": communes["code"], "commune": communes["code"]})
    if level == "epci":
        m = reference.epci_communes
        return pd.DataFrame({"territoire": m["epci"].to_numpy(), "commune": m["commune"].to_numpy()})
    column, prefix = ("departement", "DEP-") if level == "departement" else ("region", "REG-")
    inside = communes[communes[column].notna()]
    return pd.DataFrame({"territoire": (prefix + inside[column]).to_numpy(), "commune": inside["code"].to_numpy()})


@functools.lru_cache(maxsize=8)
def _structural(reference: Reference, level: str) -> pd.DataFrame:
    if level not in LEVELS:
        raise ValueError(f"niveau inconnu pour les territoires semblables : « {level} » "
                         f"(attendu : {', '.join(LEVELS)})")
    members = _members(reference, level)
    population = reference.communes.set_index("code")["population"].astype("float64")
    members = members.assign(population=population.reindex(members["commune"]).to_numpy())
    grouped = members.groupby("territoire", sort=True)["population"]
    total, largest, count = grouped.sum(), grouped.max(), grouped.size()
    area = geometries.areas(level).reindex(total.index)
    if level == "commune":
        # A contour shared by several communes is the area of none of them.
        shared = geometries.shared_contours()
        area[area.index.isin(set(shared) | set(shared.index))] = np.nan
    names, deps, regs = _labels(reference, level, total.index)
    table = pd.DataFrame({
        "nom": names,
        "population": total,
        "superficie_km2": area,
        "densite": total / area,
        "nb_communes": count.astype("float64"),
        "part_commune_principale": (largest / total).where(total > 0),
        "departement": deps,
        "region": regs,
    }, index=pd.Index(total.index, dtype=object, name="territoire"))
    return table


def _labels(reference: Reference, level: str, codes: pd.Index):
    if level == "commune":
        table = reference.communes.set_index("code")
    elif level == "epci":
        table = reference.epci.set_index("code")
    elif level == "departement":
        table = reference.departements.assign(departement=reference.departements["code"])
        table = table.set_index("DEP-" + table["code"])
    else:
        table = reference.regions.assign(departement=pd.NA, region=reference.regions["code"])
        table = table.set_index("REG-" + table["code"])
    table = table.reindex(codes)
    deps = table["departement"].where(table["departement"].notna(), None)
    deps = ["DEP-" + d if isinstance(d, str) else None for d in deps]
    regs = ["REG-" + r if isinstance(r, str) else None for r in table["region"]]
    return table["nom"].to_numpy(dtype=object), deps, regs


def structural_table(level: str, reference: Reference | None = None) -> pd.DataFrame:
    """Structural variables of every territory of ``level`` (index: canonical code), with their
    name, département and région (canonical codes). Read-only (cached)."""
    return _structural(reference or load_reference(), level)


def _standardised(table: pd.DataFrame) -> tuple[pd.DataFrame, list[str]]:
    """Transformed and standardised variables of the territories that have them all, and the
    variables used (those that vary)."""
    transformed = {}
    for column, (_label, transform) in VARIABLES.items():
        x = table[column].astype("float64")
        transformed[column] = np.log1p(x) if transform == "log" else x
    frame = pd.DataFrame(transformed)
    used = [c for c in frame.columns if frame[c].dropna().std(ddof=0) > 0]
    frame = frame[used].dropna()
    return (frame - frame.mean()) / frame.std(ddof=0), used


@functools.lru_cache(maxsize=8)
def _space(reference: Reference, level: str):
    z, used = _standardised(_structural(reference, level))
    return z.index.to_numpy(dtype=object), z.to_numpy(dtype="float64"), tuple(used)


def _order(distances: np.ndarray, codes: np.ndarray, exclude: int, k: int) -> np.ndarray:
    """Indices of the ``k`` smallest distances (ties by code), ``exclude`` left out."""
    distances = distances.copy()
    distances[exclude] = np.inf
    if k < len(distances) - 1:
        # A generous partition first, then an exact, stable order on the few candidates.
        cut = np.partition(distances, k)[k]
        candidates = np.flatnonzero(distances <= cut)
    else:
        candidates = np.flatnonzero(np.isfinite(distances))
    order = np.lexsort((codes[candidates], distances[candidates]))
    return candidates[order][:k]


def nearest_peers(code: str, k: int = DEFAULT_K, reference: Reference | None = None) -> pd.DataFrame:
    """The ``k`` territories of the same level structurally closest to ``code``: columns
    ``rang``, ``territoire``, ``distance`` and the structural variables. Empty (same columns) for
    a territory without every variable (see the module docstring) or for France."""
    reference = reference or load_reference()
    t = reference.territory(code)
    columns = ["rang", "territoire", "distance", *COLUMNS]
    if t.level not in LEVELS:
        return pd.DataFrame(columns=columns)
    codes, z, _used = _space(reference, t.level)
    position = np.flatnonzero(codes == t.code)
    if not len(position):
        return pd.DataFrame(columns=columns)
    distances = np.sqrt(((z - z[position[0]]) ** 2).sum(axis=1))
    chosen = _order(distances, codes, position[0], k)
    table = structural_table(t.level, reference).loc[codes[chosen]]
    out = table.reset_index().assign(distance=distances[chosen], rang=np.arange(1, len(chosen) + 1))
    return out[columns]


def all_peers(level: str, k: int = DEFAULT_K, reference: Reference | None = None,
              codes: list[str] | None = None, block: int = 512) -> dict[str, list[tuple[str, float]]]:
    """Territory → its ``k`` peers ``(code, distance)`` for every territory of ``level`` (or of
    ``codes``), computed by blocks of rows; the same peers as :func:`nearest_peers`."""
    reference = reference or load_reference()
    all_codes, z, _used = _space(reference, level)
    n = len(all_codes)
    where = {c: i for i, c in enumerate(all_codes)}
    wanted = [c for c in (codes if codes is not None else all_codes) if c in where]
    out: dict[str, list[tuple[str, float]]] = {}
    if n < 2:
        return {c: [] for c in wanted}
    squared = (z ** 2).sum(axis=1)
    extra = min(n - 1, k + 8)  # candidates kept per row before the exact, tie-aware order
    for start in range(0, len(wanted), block):
        rows = np.array([where[c] for c in wanted[start:start + block]])
        d2 = squared[rows, None] + squared[None, :] - 2.0 * (z[rows] @ z.T)
        d2[np.arange(len(rows)), rows] = np.inf
        candidates = np.argpartition(d2, extra - 1, axis=1)[:, :extra]
        for r, i in enumerate(rows):
            cand = candidates[r]
            exact = np.sqrt(((z[cand] - z[i]) ** 2).sum(axis=1))
            order = np.lexsort((all_codes[cand], exact))[:k]
            boundary = np.sqrt(max(d2[r, cand].max(), 0.0))
            if extra < n - 1 and not exact[order[-1]] + 1e-9 < boundary:
                # Ties at the edge of the candidates: the exact order over every territory.
                distances = np.sqrt(((z - z[i]) ** 2).sum(axis=1))
                chosen = _order(distances, all_codes, i, k)
                out[all_codes[i]] = [(all_codes[j], float(distances[j])) for j in chosen]
            else:
                out[all_codes[i]] = [(all_codes[cand[j]], float(exact[j])) for j in order]
    return out


def method_summary(level: str, reference: Reference | None = None) -> dict:
    """Variables used at ``level`` (French labels), number of territories compared, k."""
    reference = reference or load_reference()
    codes, _z, used = _space(reference, level)
    return {"variables": [VARIABLES[c][0] for c in used], "territoires": len(codes), "k": DEFAULT_K,
            "transformations": {VARIABLES[c][0]: VARIABLES[c][1] for c in used}}


def peers_table(code: str, k: int = DEFAULT_K, reference: Reference | None = None) -> pd.DataFrame:
    """The territory and its peers, one row each, with French column names (numbers left as
    numbers: format them where they are shown). Communes have no « Communes » and « Part de la
    commune principale » columns (one commune each)."""
    reference = reference or load_reference()
    t = reference.territory(code)
    found = nearest_peers(code, k, reference)
    if found.empty:
        return pd.DataFrame(columns=["Territoire", "Code"])
    own = structural_table(t.level, reference).loc[[t.code]].reset_index().assign(distance=0.0, rang=0)
    frame = pd.concat([own, found], ignore_index=True)
    out = pd.DataFrame({
        "Territoire": frame["nom"] + np.where(frame["rang"] == 0, " (ce territoire)", ""),
        "Code": frame["territoire"],
        "Population": frame["population"].astype("int64"),
        "Superficie (km²)": frame["superficie_km2"],
        "Densité (hab./km²)": frame["densite"],
        "Communes": frame["nb_communes"].astype("int64"),
        "Part de la commune principale (%)": 100 * frame["part_commune_principale"],
        "Distance": frame["distance"],
    })
    if t.level == "commune":
        out = out.drop(columns=["Communes", "Part de la commune principale (%)"])
    return out
