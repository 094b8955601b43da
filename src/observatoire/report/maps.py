"""Static maps from the official contours: locator maps and choropleths, for the book and the site.

Drawn at build time with geopandas and matplotlib from ``data/reference/geometries`` (IGN ADMIN
EXPRESS COG, COG 2026): no tile server, no CDN, no script. Each map is a :class:`Map`: the
image (SVG, or PNG for the maps with many shapes), a text alternative, a caption with the
source and millésime, and the numbers it draws (:class:`~observatoire.report.figure_data.FigureData`).
In a notebook a :class:`Map` displays itself (figure, caption, links to its data).

* :func:`locator_map` — a territory within its département and région, with metropolitan
  France in an inset (an overseas territory is shown within its département-région).
* :func:`choropleth` — one value per territory of a level (EPCI, départements, régions),
  metropolitan France with the five overseas départements as insets; five classes of equal
  counts (quantiles) in *cividis*, whose lightness grows steadily (readable in grey and by
  colour-blind readers); missing values hatched; legend in French number format; source and
  millésime written under the map.

Maps are pure functions of their parameters and of the contours: each is rendered once and kept
in ``_build/cache/cartes/`` under the fingerprint (:mod:`observatoire.fingerprints`) of its
parameters, of the reference folder and of this module.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import io
import json
import os
import re
from dataclasses import dataclass
from html import escape
from pathlib import Path

import numpy as np
import pandas as pd

from observatoire.files import write_atomic
from observatoire import paths
from observatoire.engine import geometries
from observatoire.engine.reference import Reference, load_reference
from observatoire.report.figure_data import LICENCE, FigureData
from observatoire.text import fr_int, fr_number

__all__ = ["Map", "choropleth", "locator_map", "classes", "CONTOURS_SOURCE"]

CONTOURS_SOURCE = "Contours : IGN – ADMIN EXPRESS COG (Licence Ouverte 2.0), Code officiel géographique 2026"
CACHE = paths.BUILD / "cache" / "cartes"
CACHE_VARIABLE = "OBSERVATOIRE_CACHE_CARTES"  # "0" disables the disk cache

METROPOLE_EPSG = 2154
#: Overseas départements (code → (name, EPSG of its legal projection)), in inset order.
OVERSEAS = {"971": ("Guadeloupe", 5490), "972": ("Martinique", 5490), "973": ("Guyane", 2972),
            "974": ("La Réunion", 2975), "976": ("Mayotte", 4471)}
#: Région code of each overseas département.
OVERSEAS_REGIONS = {"01": "971", "02": "972", "03": "973", "04": "974", "06": "976"}

# Colours: dark, light and very light greys of blue, told apart in grey as in colour.
TERRITORY = "#12436d"
DEPARTEMENT = "#a9c1d9"
BACKGROUND = "#eef1f4"
EDGE = "#ffffff"
OUTLINE = "#3b3b3b"
PALETTE = "cividis"
N_CLASSES = 5


# -- geometry for drawing ---------------------------------------------------------------------

def _zone_of_departement(dep: str | None) -> str:
    return dep if dep in OVERSEAS else "metropole"


def _epsg(zone: str) -> int:
    return METROPOLE_EPSG if zone == "metropole" else OVERSEAS[zone][1]


@functools.lru_cache(maxsize=64)
def _drawn(level: str, zone: str, tolerance: float, departement: str | None = None):
    """The contours of ``level`` in ``zone`` (projected, metres), simplified for drawing at a scale
    where ``tolerance`` metres is below a line's width (coverage kept: no gap between shapes);
    only those of ``departement`` when given."""
    import geopandas as gpd
    import shapely

    frame = geometries.layer(level)
    frame = frame[frame.geometry.notna()]
    deps = _departement_of(level, frame.index)
    keep = [(_zone_of_departement(d) == zone) and (departement is None or d == departement) for d in deps]
    frame = frame[keep]
    projected = frame.geometry.to_crs(_epsg(zone))
    if tolerance > 0 and len(projected):
        values = shapely.coverage_simplify(projected.values, tolerance)
        projected = gpd.GeoSeries(values, index=projected.index, crs=projected.crs)
    return projected


def _departement_of(level: str, codes) -> list[str | None]:
    """Département code (bare) of each territory of ``level`` (main département for an EPCI; the
    overseas département of an overseas région)."""
    reference = load_reference()
    if level == "departement":
        return [c.removeprefix("DEP-") for c in codes]
    if level == "region":
        return [OVERSEAS_REGIONS.get(c.removeprefix("REG-")) for c in codes]
    table = reference.communes if level == "commune" else reference.epci
    return list(table.set_index("code")["departement"].reindex(list(codes)).astype(object)
                .where(lambda s: s.notna(), None))


# -- the Map object ---------------------------------------------------------------------------

@dataclass(frozen=True)
class Map:
    """A rendered map: image bytes (``format`` "svg" or "png"), text alternative, caption, data."""

    image: bytes
    format: str
    alt: str
    caption: str
    data: FigureData

    def image_html(self, src: str | None = None) -> str:
        """The image as HTML: inline SVG (``src`` None and SVG), else ``<img>`` (``src`` a path,
        or a ``data:`` URI when None)."""
        if self.format == "svg" and src is None:
            text = self.image.decode("utf-8")
            text = text[text.index("<svg"):]
            return text.replace("<svg ", f'<svg role="img" aria-label="{escape(self.alt)}" ', 1)
        if src is None:
            src = f"data:image/{'svg+xml' if self.format == 'svg' else 'png'};base64," + \
                  base64.b64encode(self.image).decode("ascii")
        return f'<img src="{escape(src)}" alt="{escape(self.alt)}" class="carte">'

    def html(self, src: str | None = None, data_base: str | None = None) -> str:
        """``<figure>`` with the image, the caption and the links to the data (files under
        ``data_base``, or ``data:`` URIs when None)."""
        return (f'<figure class="carte">{self.image_html(src)}<figcaption>{escape(self.caption)}</figcaption>'
                f"{self.data.links(data_base)}</figure>")

    def _repr_html_(self) -> str:
        return self.html()

    def _repr_png_(self):
        return self.image if self.format == "png" else None

    def _repr_svg_(self):
        return self.image.decode("utf-8") if self.format == "svg" else None

    def save(self, path: str | os.PathLike) -> Path:
        path = Path(path)
        path.write_bytes(self.image)
        return path


# -- rendering, cached ------------------------------------------------------------------------

@functools.lru_cache(maxsize=1)
def _inputs_digest() -> str:
    from observatoire.fingerprints import digest_path

    h = hashlib.sha256()
    for path in (geometries.directory(), Path(__file__)):
        h.update(digest_path(path).encode())
    reference_dir = geometries.directory().parent
    for name in ("communes.csv", "epci.csv", "departements.csv", "regions.csv", "epci_communes.csv"):
        h.update(digest_path(reference_dir / name).encode())
    return h.hexdigest()


def _render(parameters: dict, draw, fmt: str) -> bytes:
    """Bytes of the figure ``draw()`` returns, from the disk cache when its fingerprint is there."""
    key = hashlib.sha256(json.dumps({"p": parameters, "f": fmt, "i": _inputs_digest()}, sort_keys=True,
                                    ensure_ascii=False, default=str).encode()).hexdigest()
    use_cache = os.environ.get(CACHE_VARIABLE, "1") != "0"
    path = CACHE / f"{key}.{fmt}"
    if use_cache and path.is_file():
        return path.read_bytes()
    content = _figure_bytes(draw(), fmt)
    if use_cache:
        try:
            write_atomic(path, content)
        except OSError:  # a read-only checkout still gets its map
            pass
    return content


def _figure_bytes(fig, fmt: str) -> bytes:
    import matplotlib

    buffer = io.BytesIO()
    if fmt == "svg":
        with matplotlib.rc_context({"svg.hashsalt": "observatoire-cartes", "svg.fonttype": "none"}):
            fig.savefig(buffer, format="svg", metadata={"Date": None, "Creator": None})
        text = re.sub(r"\s*<metadata>.*?</metadata>", "", buffer.getvalue().decode("utf-8"), count=1, flags=re.S)
        content = text.encode("utf-8")
    else:
        fig.savefig(buffer, format="png", dpi=120, metadata={"Software": None})
        content = buffer.getvalue()
    return content


def _new_figure(width: float, height: float):
    """A figure outside pyplot (no global state, nothing to close, no display by the notebook)."""
    from matplotlib.figure import Figure

    return Figure(figsize=(width, height))


def _frame(ax, bounds, margin: float = 0.04):
    xmin, ymin, xmax, ymax = bounds
    dx, dy = (xmax - xmin) * margin or 1000, (ymax - ymin) * margin or 1000
    ax.set_xlim(xmin - dx, xmax + dx)
    ax.set_ylim(ymin - dy, ymax + dy)
    ax.set_aspect("equal")
    ax.set_axis_off()


# -- locator map ------------------------------------------------------------------------------

def locator_map(code: str, reference: Reference | None = None, width: float = 6.4) -> Map:
    """A territory within its département and région (a département within its région; a région
    within France; France with its régions), metropolitan France in an inset."""
    reference = reference or load_reference()
    t = reference.territory(code)
    dep = t.departement.removeprefix("DEP-") if t.departement else None
    reg = t.region.removeprefix("REG-") if t.region else None
    if t.level == "commune" and dep is None:
        raise ValueError(f"{t.nom} ({t.code}) : commune d'une collectivité d'outre-mer, sans contour")
    zone = "metropole" if t.level == "france" else _zone_of_departement(dep if t.level != "region"
                                                                      else OVERSEAS_REGIONS.get(reg))
    width = float(width)

    def draw():
        return _draw_locator(t, dep, reg, zone, width, reference)

    image = _render({"carte": "situation", "code": t.code, "largeur": width}, draw, "svg")
    return Map(image, "svg", _locator_alt(t, dep, reg, reference), _locator_caption(t), _locator_data(t, reference))


def _names(reference: Reference):
    return (reference.departements.set_index("code")["nom"], reference.regions.set_index("code")["nom"])


def _locator_alt(t, dep, reg, reference) -> str:
    deps, regs = _names(reference)
    if t.level == "france":
        return "Carte de la France métropolitaine et de ses régions."
    if t.level == "region":
        return f"Carte de situation : la région {t.nom} en France."
    where = []
    if t.level != "departement" and dep:
        where.append(f"dans le département {deps[dep]}")
    if reg:
        where.append(f"{'dans ' if t.level == 'departement' else 'et '}la région {regs[reg]}")
    return f"Carte de situation : {t.nom}, en foncé, {' '.join(where)}."


def _locator_caption(t) -> str:
    return f"Situation de {t.nom}. {CONTOURS_SOURCE}."


def _locator_data(t, reference: Reference) -> FigureData:
    rows = [(t.code, t.nom, t.level, "territoire")]
    if t.departement and t.level != "departement":
        rows.append((t.departement, reference.territory(t.departement).nom, "departement", "département"))
    if t.region and t.level != "region":
        rows.append((t.region, reference.territory(t.region).nom, "region", "région"))
    frame = pd.DataFrame(rows, columns=["code", "nom", "niveau", "role"])
    frame["population"] = [reference.territory(c).population for c in frame["code"]]
    area = []
    for code, level in zip(frame["code"], frame["niveau"]):
        area.append(float(geometries.areas(level).get(code, np.nan)) if level in geometries.LEVELS
                    else float(geometries.areas("region").sum()))
    frame["superficie_km2"] = area
    slug = re.sub(r"[^a-z0-9]+", "-", t.code.lower()).strip("-")
    return FigureData(f"carte-situation-{slug}", f"Situation de {t.nom}", frame,
                      source="INSEE, Code officiel géographique 2026 et populations légales (population municipale) ; "
                             "superficies calculées sur les contours IGN ADMIN EXPRESS COG",
                      millesime="2026", units={"population": "habitants", "superficie_km2": "km²"},
                      description="Territoires dessinés sur la carte de situation.")


def _draw_locator(t, dep, reg, zone, width, reference: Reference):
    fig = _new_figure(width, width * 0.72)
    deps_of_region = reference.departements.loc[reference.departements["region"] == reg, "code"] if reg else []
    if t.level in ("france", "region") and zone == "metropole":
        ax = fig.add_axes([0.0, 0.0, 1.0, 1.0])
        regions = _drawn("region", "metropole", 2500.0)
        regions.plot(ax=ax, color=BACKGROUND, edgecolor="#9aa5b1", linewidth=0.5)
        if t.level == "region":
            regions.loc[[t.code]].plot(ax=ax, color=TERRITORY, edgecolor=OUTLINE, linewidth=0.6)
        _frame(ax, regions.total_bounds, 0.02)
        return fig

    ax = fig.add_axes([0.27, 0.0, 0.73, 1.0] if zone == "metropole" else [0.0, 0.0, 1.0, 1.0])
    # About a line's width at the scale of the panel: a région spans some 500 km, a département 100.
    detail = 250.0 if zone != "metropole" else 1000.0
    departements = _drawn("departement", zone, detail)
    if t.level == "commune":
        # A commune: the communes of its département, the commune in dark.
        detail = 150.0 if zone != "metropole" else 450.0
        departements = _drawn("departement", zone, detail)
        shown = [f"DEP-{dep}"]
        communes = _drawn("commune", zone, detail, dep)
        members = reference.communes.loc[reference.communes["departement"] == dep, "code"]
        departements.loc[shown].plot(ax=ax, color=BACKGROUND, edgecolor=EDGE, linewidth=0.8)
        communes.reindex(members).dropna().plot(ax=ax, color=DEPARTEMENT, edgecolor=EDGE, linewidth=0.3)
    else:
        shown = [f"DEP-{d}" for d in deps_of_region] if len(deps_of_region) else [f"DEP-{dep}"]
        shown = [c for c in shown if c in departements.index]
        departements.loc[shown].plot(ax=ax, color=BACKGROUND, edgecolor=EDGE, linewidth=0.8)
        if t.level != "departement" and dep and f"DEP-{dep}" in departements.index:
            departements.loc[[f"DEP-{dep}"]].plot(ax=ax, color=DEPARTEMENT, edgecolor=EDGE, linewidth=0.8)
    own = _own_shape(t, zone, detail)
    own.plot(ax=ax, color=TERRITORY, edgecolor=TERRITORY, linewidth=0.4)
    import geopandas as gpd

    outline = gpd.GeoSeries([departements.loc[shown].union_all()], crs=departements.crs)
    outline.boundary.plot(ax=ax, color=OUTLINE, linewidth=1.3)
    if t.level != "commune" and dep and f"DEP-{dep}" in departements.index and len(shown) > 1:
        departements.loc[[f"DEP-{dep}"]].boundary.plot(ax=ax, color=OUTLINE, linewidth=0.9)
    _frame(ax, departements.loc[shown].total_bounds)
    if t.level != "commune":
        _label_departements(ax, departements.loc[shown], reference)
    if zone == "metropole":
        inset = fig.add_axes([0.0, 0.0, 0.26, 0.34])
        regions = _drawn("region", "metropole", 5000.0)
        regions.plot(ax=inset, color=BACKGROUND, edgecolor="#9aa5b1", linewidth=0.3)
        if t.region in regions.index:
            regions.loc[[t.region]].plot(ax=inset, color=DEPARTEMENT, edgecolor=OUTLINE, linewidth=0.4)
        small = _drawn("departement", "metropole", 5000.0)
        if dep and f"DEP-{dep}" in small.index:
            small.loc[[f"DEP-{dep}"]].plot(ax=inset, color=TERRITORY, edgecolor=TERRITORY, linewidth=0.3)
        _frame(inset, regions.total_bounds, 0.02)
        inset.patch.set_visible(False)
    return fig


def _own_shape(t, zone: str, detail: float):
    if t.level == "commune":
        communes = _drawn("commune", zone, detail, t.departement.removeprefix("DEP-"))
        unit = geometries.layer("commune").at[t.code, "unite"]
        return communes.loc[[unit]]
    drawn = _drawn(t.level, zone, detail)
    return drawn.loc[[t.code]]


def _label_departements(ax, frame, reference: Reference) -> None:
    names = reference.departements.set_index("code")["nom"]
    if len(frame) > 14:
        return
    for code, geometry in frame.items():
        point = geometry.representative_point()
        ax.annotate(names[code.removeprefix("DEP-")], (point.x, point.y), ha="center", va="center", fontsize=7,
                    color="#1a1a1a", bbox={"boxstyle": "round,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.7})


# -- choropleth -------------------------------------------------------------------------------

def classes(values: pd.Series, n: int = N_CLASSES) -> np.ndarray:
    """Class edges of ``values`` (finite ones): quantiles of equal counts, duplicates removed."""
    finite = values[np.isfinite(values.to_numpy(dtype="float64"))].to_numpy(dtype="float64")
    if not len(finite):
        return np.array([])
    edges = np.unique(np.quantile(finite, np.linspace(0, 1, n + 1)))
    return edges if len(edges) > 1 else np.array([edges[0], edges[0]])


def _decimals(edges: np.ndarray) -> int:
    """Fewest decimals (0 to 3) that keep the class edges distinct and within 1 % of their value."""
    for d in range(4):
        rounded = np.round(edges, d)
        distinct = len(np.unique(rounded)) == len(np.unique(edges))
        close = np.all(np.abs(rounded - edges) <= 0.01 * np.abs(edges) + 1e-12)
        if distinct and close:
            return d
    return 3


def class_labels(edges: np.ndarray) -> list[str]:
    """« de 12,5 à 18,3 » for each class (French number format)."""
    d = _decimals(edges)
    return [f"de {fr_number(a, d)} à {fr_number(b, d)}" for a, b in zip(edges[:-1], edges[1:])]


def choropleth(values: pd.Series, level: str, title: str, *, unit: str, source: str, millesime: str,
               name: str, licence: str | None = None, width: float = 7.0, note: str = "") -> Map:
    """Map of ``values`` (canonical code → number) for the territories of ``level`` ("epci",
    "departement", "region"): PNG (many shapes), five quantile classes, missing values hatched."""
    if level not in ("epci", "departement", "region", "commune"):
        raise ValueError(f"niveau de carte inconnu : « {level} »")
    values = pd.Series(values, dtype="float64").sort_index()
    layer_codes = geometries.layer(level).index
    unknown = values.index.difference(layer_codes)
    if len(unknown):
        raise ValueError(f"territoires sans contour au niveau « {level} » : {', '.join(map(str, unknown[:5]))}")
    edges = classes(values)
    labels = class_labels(edges)
    drawn_values = values.reindex(layer_codes)

    def draw():
        return _draw_choropleth(drawn_values, level, title, unit, source, millesime, edges, labels, width, note)

    digest = hashlib.sha256(pd.util.hash_pandas_object(drawn_values, index=True).to_numpy().tobytes()).hexdigest()
    image = _render({"carte": "choroplethe", "niveau": level, "titre": title, "unite": unit, "source": source,
                     "millesime": millesime, "valeurs": digest, "largeur": width, "note": note}, draw, "png")
    shown = int(np.isfinite(drawn_values.to_numpy()).sum())
    classes_text = (f"en {len(labels)} classes de même effectif ({', '.join(labels)} {unit})" if labels
                    else "sans aucune valeur")
    alt = (f"Carte de France par {_LEVEL_WORD[level]} : {title}, {classes_text} ; "
           f"{fr_int(len(layer_codes) - shown)} territoire(s) sans valeur, hachurés.")
    caption = f"{title} ({unit}). Source : {source}, millésime {millesime}. {CONTOURS_SOURCE}."
    table = pd.DataFrame({"code": drawn_values.index.astype(str), "valeur": drawn_values.to_numpy()})
    table["classe"] = _class_of(table["valeur"].to_numpy(), edges)
    data = FigureData(name, title, table, source=source, millesime=millesime,
                      licence=licence or LICENCE,
                      units={"valeur": unit}, description=f"Valeur de chaque territoire et sa classe sur la carte "
                                                          f"(1 à {len(labels)}, vide : sans valeur). Classes : "
                                                          + " ; ".join(labels) + ".")
    return Map(image, "png", alt, caption, data)


_LEVEL_WORD = {"epci": "EPCI", "departement": "département", "region": "région", "commune": "commune"}


def _class_of(x: np.ndarray, edges: np.ndarray) -> list:
    out = []
    for v in x:
        if not np.isfinite(v) or len(edges) < 2:
            out.append(None)
        else:
            out.append(int(min(len(edges) - 1, max(1, np.searchsorted(edges, v, side="right")))))
    return pd.array(out, dtype="Int64")


def _draw_choropleth(values, level, title, unit, source, millesime, edges, labels, width, note):
    import matplotlib
    from matplotlib.patches import Patch

    cmap = matplotlib.colormaps[PALETTE]
    n = max(1, len(labels))
    colours = [cmap(0.08 + 0.84 * k / max(1, n - 1)) for k in range(n)]
    klass = _class_of(values.to_numpy(dtype="float64"), edges)
    fig = _new_figure(width, width * 0.86)
    main = fig.add_axes([0.2, 0.07, 0.8, 0.86])
    detail = {"commune": 300.0, "epci": 1200.0, "departement": 2000.0, "region": 2500.0}[level]
    zones = [("metropole", main)] + [(code, fig.add_axes([0.01, 0.76 - 0.17 * k, 0.17, 0.125]))
                                     for k, code in enumerate(OVERSEAS)]
    for zone, ax in zones:
        shapes = _drawn(level, zone, detail if zone == "metropole" else detail / 5)
        cls = pd.Series(klass, index=values.index).reindex(shapes.index)
        missing = cls.isna().to_numpy()
        if missing.any():
            shapes[missing].plot(ax=ax, color="white", edgecolor="#8a8a8a", hatch="////", linewidth=0.1)
        for k in range(n):
            chosen = (cls == k + 1).fillna(False).to_numpy()
            if chosen.any():
                shapes[chosen].plot(ax=ax, color=colours[k], edgecolor="white", linewidth=0.08)
        _drawn("departement", zone, 2000.0 if zone == "metropole" else 400.0).boundary.plot(
            ax=ax, color="#4d4d4d", linewidth=0.25 if zone == "metropole" else 0.3)
        _frame(ax, shapes.total_bounds, 0.02)
        if zone != "metropole":
            ax.set_title(OVERSEAS[zone][0], fontsize=6.5, pad=2)
    handles = [Patch(facecolor=c, edgecolor="#4d4d4d", linewidth=0.3, label=lab) for c, lab in zip(colours, labels)]
    handles.append(Patch(facecolor="white", edgecolor="#8a8a8a", hatch="////", linewidth=0.3, label="sans valeur"))
    main.legend(handles=handles, title=unit, loc="lower left", bbox_to_anchor=(0.0, 0.0), fontsize=7,
                title_fontsize=7, frameon=True, facecolor="white", edgecolor="none", framealpha=0.85)
    fig.suptitle(title, fontsize=10, x=0.02, ha="left", y=0.985)
    credit = f"Source : {source}, millésime {millesime}. {CONTOURS_SOURCE}."
    if note:
        credit = f"{note} {credit}"
    import textwrap

    fig.text(0.01, 0.008, "\n".join(textwrap.wrap(credit, 120)), fontsize=6, color="#333333", ha="left", va="bottom")
    return fig


# -- locator maps of the national site: one background per région, one overlay per page --------
#
# 1,255 matplotlib maps would add minutes to the national run; a page's locator map is instead
# an inline SVG that shows its région's background (written once per run, shared by the pages
# of the région) and draws the territory over it, with the same projection and viewport.

SITE_WIDTH = 640.0


@dataclass(frozen=True)
class _Viewport:
    x0: float
    y0: float
    x1: float
    y1: float
    width: float
    height: float

    @classmethod
    def around(cls, bounds, width: float = SITE_WIDTH, margin: float = 0.04) -> "_Viewport":
        xmin, ymin, xmax, ymax = bounds
        dx, dy = (xmax - xmin) * margin or 1000.0, (ymax - ymin) * margin or 1000.0
        x0, x1, y0, y1 = xmin - dx, xmax + dx, ymin - dy, ymax + dy
        return cls(x0, y0, x1, y1, width, round(width * (y1 - y0) / (x1 - x0), 1))

    def path(self, geometry) -> str:
        """SVG path data of a (multi)polygon, in the viewport's units (0.1 precision)."""
        import shapely

        sx = self.width / (self.x1 - self.x0)
        sy = self.height / (self.y1 - self.y0)
        parts = []
        for polygon in shapely.get_parts(geometry):
            for ring in (polygon.exterior, *polygon.interiors):
                xy = np.asarray(ring.coords)
                px = np.round((xy[:, 0] - self.x0) * sx, 1)
                py = np.round((self.y1 - xy[:, 1]) * sy, 1)
                points = " ".join(f"{x:g},{y:g}" for x, y in zip(px, py))
                parts.append(f"M{points}Z")
        return "".join(parts)


def _site_region_of(t) -> tuple[str, str]:
    """(région code, zone) of the background a territory is drawn on."""
    reg = t.region.removeprefix("REG-") if t.region else None
    dep = t.departement.removeprefix("DEP-") if t.departement else None
    zone = _zone_of_departement(dep if t.level != "region" else OVERSEAS_REGIONS.get(reg))
    return reg, zone


@functools.lru_cache(maxsize=32)
def _site_viewport(reg: str, zone: str) -> _Viewport:
    reference = load_reference()
    departements = _drawn("departement", zone, 1500.0 if zone == "metropole" else 250.0)
    codes = ["DEP-" + c for c in reference.departements.loc[reference.departements["region"] == reg, "code"]]
    width = SITE_WIDTH * (0.75 if zone == "metropole" else 1.0)
    return _Viewport.around(departements.loc[codes].total_bounds, width=width)


def _site_box(view: _Viewport, zone: str) -> tuple[float, float, float, float]:
    """SVG viewBox (x, y, width, height): the région, with a band on its left for the inset."""
    band = SITE_WIDTH - view.width if zone == "metropole" else 0.0
    return (-band, 0.0, view.width + band, view.height)


def site_background(reg: str) -> bytes:
    """SVG of a région's background: its départements (light), its outline and, in metropolitan
    France, an inset of France with the région."""
    reference = load_reference()
    zone = _zone_of_departement(OVERSEAS_REGIONS.get(reg))
    tolerance = 1500.0 if zone == "metropole" else 250.0
    departements = _drawn("departement", zone, tolerance)
    codes = ["DEP-" + c for c in reference.departements.loc[reference.departements["region"] == reg, "code"]]
    view = _site_viewport(reg, zone)
    body = [f'<path d="{view.path(departements.loc[c])}" fill="{BACKGROUND}" stroke="{EDGE}" stroke-width="1.2"/>'
            for c in codes]
    outline = departements.loc[codes].union_all()
    body.append(f'<path d="{view.path(outline)}" fill="none" stroke="{OUTLINE}" stroke-width="1.6"/>')
    x, y, w, h = _site_box(view, zone)
    if zone == "metropole":
        regions = _drawn("region", "metropole", 8000.0)
        inset = _Viewport.around(regions.total_bounds, width=-x * 0.95, margin=0.02)
        shift = max(0.0, h - inset.height)
        paths = "".join(f'<path d="{inset.path(g)}" fill="{DEPARTEMENT if code == "REG-" + reg else BACKGROUND}" '
                        f'stroke="#9aa5b1" stroke-width="0.5"/>' for code, g in regions.items())
        body.append(f'<g transform="translate({x:g} {shift:g})">{paths}</g>')
    return (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="{x:g} {y:g} {w:g} {h:g}" '
            f'width="{w:g}" height="{h:g}">' + "".join(body) + "</svg>\n").encode("utf-8")


def site_background_name(code: str, reference: Reference | None = None) -> str | None:
    """File name of the background of a territory's locator map (None for France)."""
    t = (reference or load_reference()).territory(code)
    reg, _zone = _site_region_of(t)
    return f"situation-region-{reg}.svg" if reg else None


def site_locator(code: str, background_href: str, reference: Reference | None = None) -> Map:
    """A territory's locator map for the national site: an inline SVG drawing the territory (and
    its département) over its région's background (``background_href``, the file that
    :func:`site_background` writes, relative to the page)."""
    reference = reference or load_reference()
    t = reference.territory(code)
    reg, zone = _site_region_of(t)
    if reg is None:
        raise ValueError(f"{t.nom} ({t.code}) : pas de région, pas de carte de situation")
    view = _site_viewport(reg, zone)
    dep = t.departement.removeprefix("DEP-") if t.departement else None
    paths = []
    if t.level in ("commune", "epci") and dep:
        departements = _drawn("departement", zone, 1500.0 if zone == "metropole" else 250.0)
        paths.append(f'<path d="{view.path(departements.loc[f"DEP-{dep}"])}" fill="{DEPARTEMENT}" '
                     f'stroke="{OUTLINE}" stroke-width="1"/>')
    own = _own_shape(t, zone, 400.0 if zone == "metropole" else 100.0)
    paths.append(f'<path d="{view.path(own.iloc[0])}" fill="{TERRITORY}" stroke="{TERRITORY}" stroke-width="0.8"/>')
    alt = _locator_alt(t, dep, reg, reference)
    x, y, w, h = _site_box(view, zone)
    svg = (f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="{x:g} {y:g} {w:g} {h:g}" '
           f'role="img" aria-label="{escape(alt)}" class="carte-situation">'
           f'<image href="{escape(background_href)}" x="{x:g}" y="{y:g}" width="{w:g}" height="{h:g}"/>'
           + "".join(paths) + "</svg>")
    return Map(svg.encode("utf-8"), "svg", alt, _locator_caption(t), _locator_data(t, reference))
