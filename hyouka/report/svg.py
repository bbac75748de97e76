"""Plots as inline SVG text, drawn in Python: no JavaScript, no fonts or files to fetch.

Three shapes cover the report: an interval chart (a point and its interval per row: variant
means, the forest plot of paired differences, Bradley–Terry ratings), the gacha strip plot
(every sample of every case), and the complaint timeline. Every mark has a ``<title>`` so a
reader hovering over it sees the exact numbers. Colours are the Okabe–Ito palette, which
people with the common colour-vision deficiencies can tell apart.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from xml.sax.saxutils import escape

PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000")
GOOD, BAD, NEUTRAL = "#009E73", "#D55E00", "#555555"
FONT = 'font-family="system-ui, -apple-system, Segoe UI, Hiragino Sans, Meiryo, sans-serif"'
LABEL_W = 230
PLOT_W = 420
ROW_H = 22


def text_width(text: str, size: float) -> float:
    """Rough rendered width: East Asian characters take about 1 em, others about 0.6 em."""
    import unicodedata

    return sum(size if unicodedata.east_asian_width(ch) in "WF" else size * 0.6 for ch in text)


def fit(text: str, width: float, size: float = 12) -> str:
    """``text`` cut (with …) to about ``width`` pixels, so labels never run off the plot."""
    if text_width(text, size) <= width:
        return text
    out = ""
    for ch in text:
        if text_width(out + ch + "…", size) > width:
            break
        out += ch
    return out + "…"


def colour(i: int) -> str:
    return PALETTE[i % len(PALETTE)]


def _attr(text: str) -> str:
    return escape(text, {'"': "&quot;"})


def _fmt(x: float) -> str:
    if x == 0 or not math.isfinite(x):
        return "0" if x == 0 else str(x)
    digits = max(0, 2 - math.floor(math.log10(abs(x))))
    return f"{x:.{min(digits, 4)}f}"


def nice_ticks(lo: float, hi: float, n: int = 5) -> list[float]:
    """About ``n`` round tick values covering [lo, hi]."""
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi <= lo:
        return [lo]
    raw = (hi - lo) / max(n - 1, 1)
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    start = math.ceil(lo / step - 1e-9) * step
    ticks = []
    v = start
    while v <= hi + 1e-9 * step:
        ticks.append(round(v, 10))
        v += step
    return ticks


@dataclass
class Svg:
    width: float
    height: float
    label: str
    parts: list[str] = field(default_factory=list)

    def add(self, text: str) -> None:
        self.parts.append(text)

    def text(
        self,
        x: float,
        y: float,
        s: str,
        anchor: str = "start",
        size: int = 12,
        fill: str = "#222",
        weight: str = "normal",
    ) -> None:
        self.add(
            f'<text x="{x:.1f}" y="{y:.1f}" text-anchor="{anchor}" font-size="{size}" '
            f'fill="{fill}" font-weight="{weight}">{escape(s)}</text>'
        )

    def line(
        self,
        x1: float,
        y1: float,
        x2: float,
        y2: float,
        stroke: str = "#999",
        width: float = 1,
        dash: str | None = None,
        tip: str | None = None,
    ) -> None:
        dashed = f' stroke-dasharray="{dash}"' if dash else ""
        title = f"<title>{escape(tip)}</title>" if tip else ""
        self.add(
            f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" '
            f'stroke="{stroke}" stroke-width="{width}"{dashed}>{title}</line>'
        )

    def circle(
        self,
        x: float,
        y: float,
        r: float,
        fill: str,
        tip: str | None = None,
        opacity: float = 1.0,
        stroke: str = "none",
    ) -> None:
        title = f"<title>{escape(tip)}</title>" if tip else ""
        self.add(
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="{r}" fill="{fill}" '
            f'fill-opacity="{opacity}" stroke="{stroke}">{title}</circle>'
        )

    def rect(self, x: float, y: float, w: float, h: float, fill: str, opacity: float = 1.0) -> None:
        self.add(
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{max(w, 0):.1f}" height="{h:.1f}" '
            f'fill="{fill}" fill-opacity="{opacity}"/>'
        )

    def render(self) -> str:
        head = (
            f'<svg xmlns="http://www.w3.org/2000/svg" class="plot" role="img" '
            f'aria-label="{_attr(self.label)}" viewBox="0 0 {self.width:.0f} '
            f'{self.height:.0f}" width="{self.width:.0f}" height="{self.height:.0f}" {FONT}>'
        )
        return head + f"<title>{escape(self.label)}</title>" + "".join(self.parts) + "</svg>"


class Scale:
    def __init__(self, lo: float, hi: float, x0: float, x1: float) -> None:
        if not hi > lo:
            lo, hi = lo - 0.5, hi + 0.5
        self.lo, self.hi, self.x0, self.x1 = lo, hi, x0, x1

    def __call__(self, v: float) -> float:
        v = min(max(v, self.lo), self.hi)
        return self.x0 + (v - self.lo) / (self.hi - self.lo) * (self.x1 - self.x0)


def _axis(svg: Svg, scale: Scale, y: float, label: str) -> None:
    svg.line(scale.x0, y, scale.x1, y, "#bbb")
    for t in nice_ticks(scale.lo, scale.hi):
        x = scale(t)
        svg.line(x, y, x, y + 4, "#bbb")
        svg.text(x, y + 16, _fmt(t), "middle", 11, "#555")
    if label:
        svg.text((scale.x0 + scale.x1) / 2, y + 32, label, "middle", 11, "#555")


# ----------------------------------------------------------------------------- intervals


@dataclass(frozen=True)
class IntervalRow:
    label: str
    estimate: float
    low: float
    high: float
    colour: str = NEUTRAL
    tip: str = ""
    heading: bool = False  # a group heading row (label only)
    hollow: bool = False  # an open mark (e.g. a difference that is not significant)


def interval_chart(
    rows: Sequence[IntervalRow],
    title: str,
    x_label: str = "",
    zero: float | None = None,
    lo: float | None = None,
    hi: float | None = None,
) -> str:
    """A point and a horizontal interval per row; an optional reference line at ``zero``."""
    values = [
        v for r in rows if not r.heading for v in (r.low, r.high, r.estimate) if math.isfinite(v)
    ]
    if zero is not None:
        values.append(zero)
    lo = min(values) if lo is None and values else (lo if lo is not None else 0.0)
    hi = max(values) if hi is None and values else (hi if hi is not None else 1.0)
    pad = (hi - lo) * 0.05 or 0.5
    scale = Scale(lo - pad, hi + pad, LABEL_W, LABEL_W + PLOT_W)
    height = 10 + ROW_H * len(rows) + 40
    svg = Svg(LABEL_W + PLOT_W + 20, height, title)
    if zero is not None:
        svg.line(scale(zero), 6, scale(zero), 10 + ROW_H * len(rows), "#888", 1, "4 3")
    for i, r in enumerate(rows):
        y = 10 + ROW_H * i + ROW_H / 2
        if r.heading:
            svg.text(8, y + 4, fit(r.label, LABEL_W + PLOT_W - 10), size=12, weight="bold")
            continue
        svg.text(LABEL_W - 8, y + 4, fit(r.label, LABEL_W - 14), "end", 12)
        tip = r.tip or f"{r.label}: {_fmt(r.estimate)} [{_fmt(r.low)}, {_fmt(r.high)}]"
        if math.isfinite(r.low) and math.isfinite(r.high):
            svg.line(scale(r.low), y, scale(r.high), y, r.colour, 2.5, tip=tip)
            for end in (r.low, r.high):
                svg.line(scale(end), y - 4, scale(end), y + 4, r.colour, 1.5)
        if r.hollow:
            svg.circle(scale(r.estimate), y, 4.5, "#fff", tip, stroke=r.colour)
        else:
            svg.circle(scale(r.estimate), y, 4.5, r.colour, tip)
    _axis(svg, scale, 10 + ROW_H * len(rows) + 2, x_label)
    return svg.render()


# ----------------------------------------------------------------------------- gacha


@dataclass(frozen=True)
class GachaRow:
    case: str
    values: Sequence[Sequence[float]]  # per variant: the samples' values


def gacha_chart(
    rows: Sequence[GachaRow], variants: Sequence[str], title: str, x_label: str = ""
) -> str:
    """Each case a band; each variant a line of dots (one per sample) and a mean tick."""
    every = [v for r in rows for vals in r.values for v in vals if math.isfinite(v)]
    lo, hi = (min(every), max(every)) if every else (0.0, 1.0)
    pad = (hi - lo) * 0.05 or 0.5
    scale = Scale(lo - pad, hi + pad, LABEL_W, LABEL_W + PLOT_W)
    sub = 9
    band = sub * max(len(variants), 1) + 8
    legend = 24
    height = legend + band * len(rows) + 44
    svg = Svg(LABEL_W + PLOT_W + 20, height, title)
    for j, name in enumerate(variants):
        x = LABEL_W + j * 140
        svg.circle(x, 12, 5, colour(j))
        svg.text(x + 9, 16, fit(name, 125, 11), size=11)
    for i, r in enumerate(rows):
        top = legend + band * i
        if i % 2 == 0:
            svg.rect(LABEL_W, top, PLOT_W, band, "#f2f2f2")
        svg.text(LABEL_W - 8, top + band / 2 + 4, fit(r.case, LABEL_W - 14, 11), "end", 11)
        for j, vals in enumerate(r.values):
            y = top + 6 + sub * j
            finite = [v for v in vals if math.isfinite(v)]
            for k, v in enumerate(finite):
                # Ties (pass/fail metrics) would hide each other: a small fixed offset per
                # sample keeps every draw visible without random jitter.
                svg.circle(
                    scale(v) + (k % 5 - 2) * 1.5,
                    y,
                    2.6,
                    colour(j),
                    f"{variants[j]} · {r.case} · sample {k}: {_fmt(v)}",
                    0.55,
                )
            if finite:
                mean = sum(finite) / len(finite)
                svg.line(
                    scale(mean),
                    y - 4,
                    scale(mean),
                    y + 4,
                    colour(j),
                    2.5,
                    tip=f"{variants[j]} · {r.case}: mean {_fmt(mean)} of {len(finite)}",
                )
    _axis(svg, scale, legend + band * len(rows) + 2, x_label)
    return svg.render()


# ----------------------------------------------------------------------------- timeline


@dataclass(frozen=True)
class TimelineRow:
    label: str
    raised: datetime
    fixed: datetime | None
    tip: str


def timeline_chart(
    rows: Sequence[TimelineRow], now: datetime, title: str, fixed_label: str, open_label: str
) -> str:
    """Each complaint: from raised (circle) to fixed (filled) or to now (dashed, still open)."""
    start = min((r.raised for r in rows), default=now)
    span = max((now - start).total_seconds(), 3600.0)
    x0, x1 = LABEL_W, LABEL_W + PLOT_W

    def x(t: datetime) -> float:
        return x0 + (t - start).total_seconds() / span * (x1 - x0)

    height = 10 + ROW_H * len(rows) + 44
    svg = Svg(x1 + 20, height, title)
    for i, r in enumerate(rows):
        y = 10 + ROW_H * i + ROW_H / 2
        svg.text(LABEL_W - 8, y + 4, fit(r.label, LABEL_W - 14, 11), "end", 11)
        end = r.fixed or now
        svg.line(
            x(r.raised),
            y,
            x(end),
            y,
            GOOD if r.fixed else BAD,
            2.5,
            None if r.fixed else "4 3",
            r.tip,
        )
        svg.circle(x(r.raised), y, 4, "#fff", r.tip, stroke=BAD)
        if r.fixed:
            svg.circle(x(r.fixed), y, 4.5, GOOD, r.tip)
    base = 10 + ROW_H * len(rows) + 2
    svg.line(x0, base, x1, base, "#bbb")
    svg.text(x0, base + 16, start.strftime("%Y-%m-%d"), "start", 11, "#555")
    svg.text(x1, base + 16, now.strftime("%Y-%m-%d"), "end", 11, "#555")
    svg.circle(x0 + 110, base + 30, 4.5, GOOD)
    svg.text(x0 + 118, base + 34, fixed_label, size=11, fill="#555")
    svg.line(x0 + 220, base + 30, x0 + 245, base + 30, BAD, 2.5, "4 3")
    svg.text(x0 + 250, base + 34, open_label, size=11, fill="#555")
    return svg.render()


__all__ = [
    "GachaRow",
    "IntervalRow",
    "TimelineRow",
    "colour",
    "fit",
    "gacha_chart",
    "interval_chart",
    "nice_ticks",
    "timeline_chart",
]
