"""The Campus's figures as small inline SVG: drawn in a few milliseconds, so that a control moved
by one of thirty learners sharing two cores comes back in well under half a second (a
matplotlib PNG took 0.3 to 0.8 s per figure here), with text a screen reader (and a browser
test) can read, and numbers in French (:mod:`observatoire.text`).

Three charts cover the exercises: intervals with a point (the index and its margin), lines over
time on a logarithmic axis (a shock and its recovery) and dots against a band (a territory
against its fictional peers). Colours follow seaborn's « colorblind » palette, as the book.
"""

from __future__ import annotations

import math
from html import escape

from observatoire import text

COLOURS = ("#0173b2", "#de8f05", "#029e73", "#d55e00", "#cc78bc", "#ca9161")
FONT = "font-family:system-ui,sans-serif"


def _t(x: float) -> str:
    return f"{x:.1f}"


class Scale:
    """A linear (or logarithmic) map from data to pixels."""

    def __init__(self, lo: float, hi: float, a: float, b: float, log: bool = False):
        self.log = log
        self.lo, self.hi = (math.log(lo), math.log(hi)) if log else (lo, hi)
        self.a, self.b = a, b

    def __call__(self, v: float) -> float:
        v = math.log(v) if self.log else v
        span = (self.hi - self.lo) or 1.0
        return self.a + (v - self.lo) / span * (self.b - self.a)


def nice_ticks(lo: float, hi: float, n: int = 5) -> list[float]:
    span = max(hi - lo, 1e-9)
    raw = span / n
    step = 10 ** math.floor(math.log10(raw))
    for m in (1, 2, 2.5, 5, 10):
        if raw <= m * step:
            step *= m
            break
    first = math.ceil(lo / step) * step
    return [first + k * step for k in range(int((hi - first) / step + 1e-9) + 1)]


def _svg(width: int, height: int, body: list[str], title: str) -> str:
    return (f'<svg class="campus-svg" role="img" aria-label="{escape(title)}" viewBox="0 0 {width} {height}" '
            f'width="100%" style="max-width:{width}px;{FONT}" xmlns="http://www.w3.org/2000/svg">'
            f"<title>{escape(title)}</title>{''.join(body)}</svg>")


def _text(x, y, s, size=11, anchor="start", colour="#222", weight="normal", extra="") -> str:
    return (f'<text x="{_t(x)}" y="{_t(y)}" font-size="{size}" text-anchor="{anchor}" fill="{colour}" '
            f'font-weight="{weight}" {extra}>{escape(str(s))}</text>')


def _legend(items: list[tuple[str, str]], x: float, y: float, width: float) -> tuple[list[str], float]:
    """items: (swatch SVG at 0,0, label), laid out in rows; returns (SVG parts, bottom y)."""
    out, cx, cy = [], x, y
    for swatch, label in items:
        w = 26 + 6.2 * len(label)
        if cx + w > x + width and cx > x:
            cx, cy = x, cy + 16
        out.append(f'<g transform="translate({_t(cx)},{_t(cy)})">{swatch}</g>')
        out.append(_text(cx + 20, cy + 4, label, size=10))
        cx += w + 10
    return out, cy + 10


def intervals(rows: list[tuple[str, float, float, float]], title: str, xlabel: str,
              band_label: str, point_label: str) -> str:
    """One row per item: (label, low, high, point), bands with a diamond; axis zoomed on the data."""
    width, left, right, row_h = 720, 190, 24, 34
    top = 14
    values = [v for _, lo, hi, p in rows for v in (lo, hi, p) if v == v]
    lo, hi = (min(values), max(values)) if values else (0.0, 100.0)
    pad = max(2.0, 0.15 * (hi - lo))
    lo, hi = max(0.0, lo - pad), min(100.0, hi + pad)
    x = Scale(lo, hi, left, width - right)
    body = []
    bottom = top + row_h * len(rows)
    for tick in nice_ticks(lo, hi):
        body.append(f'<line x1="{_t(x(tick))}" x2="{_t(x(tick))}" y1="{top}" y2="{bottom}" stroke="#e5e5e5"/>')
        body.append(_text(x(tick), bottom + 14, text.fr_number(tick, 0), size=10, anchor="middle"))
    for k, (label, low, high, point) in enumerate(rows):
        y = top + row_h * k + row_h / 2
        body.append(_text(left - 8, y + 4, label, anchor="end"))
        if low == low and high == high:
            body.append(f'<line x1="{_t(x(low))}" x2="{_t(x(high))}" y1="{_t(y)}" y2="{_t(y)}" stroke="{COLOURS[0]}" '
                        f'stroke-opacity="0.35" stroke-width="10" stroke-linecap="butt"><title>{escape(label)} : '
                        f'{text.fr_number(low, 1)} à {text.fr_number(high, 1)}</title></line>')
        if point == point:
            px = x(point)
            body.append(f'<path d="M{_t(px)},{_t(y - 6)} L{_t(px + 6)},{_t(y)} L{_t(px)},{_t(y + 6)} '
                        f'L{_t(px - 6)},{_t(y)} Z" fill="{COLOURS[1]}"><title>{escape(label)} : '
                        f'{text.fr_number(point, 1)}</title></path>')
    body.append(_text((left + width - right) / 2, bottom + 30, xlabel, size=11, anchor="middle"))
    legend, end = _legend([(f'<line x1="0" x2="14" y1="0" y2="0" stroke="{COLOURS[0]}" stroke-opacity="0.35" '
                            f'stroke-width="10"/>', band_label),
                           (f'<path d="M7,-6 L13,0 L7,6 L1,0 Z" fill="{COLOURS[1]}"/>', point_label)],
                          40, bottom + 48, width - 40 - right)
    return _svg(width, int(end + 4), body + legend, title)


def lines(x: list[float], series: list[dict], title: str, xticks: list[tuple[float, str]], ylabel: str,
          xlabel: str, log_x: bool = True, reference: tuple[float, str] | None = None,
          zones: list[tuple[float, float, str, bool]] = ()) -> str:
    """Lines over ``x``; each series: {label, values, colour, width, dash}; y zoomed on the data;
    ``zones``: (start, end, label, shaded) bands of the x axis."""
    width, left, right, top = 720, 48, 16, 22
    plot_h = 230
    bottom = top + plot_h
    all_y = [v for s in series for v in s["values"] if v == v] + ([reference[0]] if reference else [])
    lo, hi = min(all_y), max(all_y)
    pad = max(3.0, 0.12 * (hi - lo))
    lo, hi = max(0.0, lo - pad), min(100.0, hi + pad)
    xs = Scale(x[0], x[-1], left, width - right, log=log_x)
    ys = Scale(lo, hi, bottom, top)
    body = []
    for start, end, label, shaded in zones:
        if shaded:
            body.append(f'<rect x="{_t(xs(start))}" y="{top}" width="{_t(xs(end) - xs(start))}" height="{plot_h}" '
                        f'fill="#888" fill-opacity="0.07"/>')
        body.append(_text(xs(start) + 4, top - 6, label, size=10, colour="#555"))
    for tick in nice_ticks(lo, hi):
        body.append(f'<line x1="{left}" x2="{width - right}" y1="{_t(ys(tick))}" y2="{_t(ys(tick))}" stroke="#eee"/>')
        body.append(_text(left - 6, ys(tick) + 4, text.fr_number(tick, 0), size=10, anchor="end"))
    for pos, label in xticks:
        body.append(f'<line x1="{_t(xs(pos))}" x2="{_t(xs(pos))}" y1="{bottom}" y2="{bottom + 4}" stroke="#444"/>')
        body.append(_text(xs(pos), bottom + 16, label, size=10, anchor="middle"))
    body.append(f'<line x1="{left}" x2="{width - right}" y1="{bottom}" y2="{bottom}" stroke="#444"/>')
    if reference:
        body.append(f'<line x1="{left}" x2="{width - right}" y1="{_t(ys(reference[0]))}" y2="{_t(ys(reference[0]))}" '
                    f'stroke="#666" stroke-dasharray="2,3" stroke-width="1.3"/>')
    legend = []
    for k, s in enumerate(series):
        colour, w, dash = s.get("colour", COLOURS[k % len(COLOURS)]), s.get("width", 1.4), s.get("dash", "")
        points = " ".join(f"{_t(xs(a))},{_t(ys(min(max(b, lo), hi)))}" for a, b in zip(x, s["values"]) if b == b)
        body.append(f'<polyline points="{points}" fill="none" stroke="{colour}" stroke-width="{w}" '
                    f'stroke-dasharray="{dash}" stroke-linejoin="round"><title>{escape(s["label"])}</title></polyline>')
        legend.append((f'<line x1="0" x2="14" y1="0" y2="0" stroke="{colour}" stroke-width="{w}" '
                       f'stroke-dasharray="{dash}"/>', s["label"]))
    if reference:
        legend.append(('<line x1="0" x2="14" y1="0" y2="0" stroke="#666" stroke-dasharray="2,3"/>', reference[1]))
    body.append(_text(14, top + plot_h / 2, ylabel, size=11, anchor="middle",
                      extra=f'transform="rotate(-90 14 {_t(top + plot_h / 2)})"'))
    body.append(_text((left + width - right) / 2, bottom + 34, xlabel, size=11, anchor="middle"))
    legend_svg, end = _legend(legend, left, bottom + 54, width - left - right)
    return _svg(width, int(end + 4), body + legend_svg, title)


def against_band(rows: list[dict], title: str, xlabel: str, point_label: str, band_label: str,
                 median_label: str) -> str:
    """One row per element: {label, value, low, median, high}: the band low–high of the peers,
    their median (a tick) and the value (a dot), on 0–100."""
    width, left, right, row_h, top = 720, 210, 24, 26, 10
    bottom = top + row_h * len(rows)
    x = Scale(0, 100, left, width - right)
    body = []
    for tick in (0, 20, 40, 60, 80, 100):
        body.append(f'<line x1="{_t(x(tick))}" x2="{_t(x(tick))}" y1="{top}" y2="{bottom}" stroke="#eee"/>')
        body.append(_text(x(tick), bottom + 14, text.fr_number(tick, 0), size=10, anchor="middle"))
    for k, r in enumerate(rows):
        y = top + row_h * k + row_h / 2
        body.append(_text(left - 8, y + 4, r["label"], anchor="end"))
        if r.get("low") == r.get("low") and r.get("high") == r.get("high"):
            body.append(f'<line x1="{_t(x(r["low"]))}" x2="{_t(x(r["high"]))}" y1="{_t(y)}" y2="{_t(y)}" '
                        f'stroke="{COLOURS[0]}" stroke-opacity="0.3" stroke-width="10"/>')
        if r.get("median") == r.get("median"):
            mx = x(r["median"])
            body.append(f'<line x1="{_t(mx)}" x2="{_t(mx)}" y1="{_t(y - 7)}" y2="{_t(y + 7)}" stroke="{COLOURS[0]}" '
                        f'stroke-width="2"/>')
        if r.get("value") == r.get("value"):
            body.append(f'<circle cx="{_t(x(r["value"]))}" cy="{_t(y)}" r="5.5" fill="{COLOURS[3]}"><title>'
                        f'{escape(r["label"])} : {text.fr_number(r["value"], 1)}</title></circle>')
        else:
            body.append(_text(x(50), y + 4, "à renseigner", size=10, anchor="middle", colour="#777"))
    body.append(_text((left + width - right) / 2, bottom + 30, xlabel, size=11, anchor="middle"))
    legend, end = _legend([(f'<circle cx="7" cy="0" r="5" fill="{COLOURS[3]}"/>', point_label),
                           (f'<line x1="0" x2="14" y1="0" y2="0" stroke="{COLOURS[0]}" stroke-opacity="0.3" '
                            f'stroke-width="10"/>', band_label),
                           (f'<line x1="7" x2="7" y1="-7" y2="7" stroke="{COLOURS[0]}" stroke-width="2"/>',
                            median_label)], 40, bottom + 48, width - 40 - right)
    return _svg(width, int(end + 4), body + legend, title)
