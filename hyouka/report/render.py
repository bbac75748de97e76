"""Turning :class:`~hyouka.report.data.ReportData` into one HTML page.

Every value from the store is escaped by Jinja's autoescape (model outputs and complaints are
text, never markup); the SVG plots are built here from numbers and inserted as markup. The page
carries a Content-Security-Policy that forbids every fetch, so it cannot reach the network even
by mistake.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jinja2
from markupsafe import Markup

from hyouka.loop.speed import ComplaintStatus
from hyouka.report import svg
from hyouka.report.data import ReportData
from hyouka.report.i18n import Words

TEMPLATE = Path(__file__).with_name("template.html")
CSS = Path(__file__).with_name("report.css")
SECTIONS = (
    ("summary", "summary"),
    ("variants", "variants"),
    ("forest", "forest"),
    ("gacha", "gacha"),
    ("ranking", "ranking"),
    ("agreement", "agreement"),
    ("judges", "judge_human"),
    ("complaints", "complaints"),
    ("speed", "speed"),
    ("experiments", "experiments"),
)


def fmt(value: float | None, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    return f"{value:,.{digits}f}"


def sfmt(value: float | None, digits: int = 3) -> str:
    return "–" if value is None or not math.isfinite(value) else f"{value:+.{digits}f}"


def pct(value: float | None) -> str:
    return "–" if value is None or not math.isfinite(value) else f"{value * 100:.0f}%"


@dataclass(frozen=True)
class BTRow:
    rank: int
    name: str
    elo: float
    low: float
    high: float


def bt_rows(source: Any) -> list[BTRow]:
    bt = source.bt
    rows = [
        BTRow(int(bt.rank[i]), str(name), float(bt.elo[i]), float(bt.low[i]), float(bt.high[i]))
        for i, name in enumerate(source.items)
    ]
    return sorted(rows, key=lambda r: (r.rank, -r.elo))


# ----------------------------------------------------------------------------- plots


def _variants_plot(r: ReportData, w: Words) -> str:
    rows: list[svg.IntervalRow] = []
    for m in r.metrics:
        rows.append(svg.IntervalRow(m.metric, 0, 0, 0, heading=True))
        for i, (v, e) in enumerate(m.arms):
            if e is not None:
                rows.append(svg.IntervalRow(v.label, e.mean, e.low, e.high, svg.colour(i)))
    return svg.interval_chart(rows, w("variants"))


def _forest_plot(r: ReportData, w: Words) -> str:
    assert r.compare is not None
    rows: list[svg.IntervalRow] = []
    for p in r.compare.comparisons:
        rows.append(svg.IntervalRow(f"{p.b} − {p.a}", 0, 0, 0, heading=True))
        for m in p.metrics:
            d = m.difference
            col = (svg.GOOD if m.b_better else svg.BAD) if m.significant else svg.NEUTRAL
            tip = (
                f"{p.b} − {p.a} · {m.metric}: {d.estimate:+.3f} [{d.low:+.3f}, {d.high:+.3f}],"
                f" Holm p {m.p_adjusted:.3g}"
            )
            rows.append(
                svg.IntervalRow(
                    m.metric, d.estimate, d.low, d.high, col, tip, hollow=not m.significant
                )
            )
    return svg.interval_chart(rows, w("forest"), w("difference") + " (B − A)", zero=0.0)


def _gacha_plot(r: ReportData, w: Words) -> str:
    assert r.gacha is not None
    rows = [svg.GachaRow(case, values) for case, values in r.gacha.rows]
    return svg.gacha_chart(rows, r.gacha.variants, w("gacha"), r.gacha.metric)


def _ranking_plots(r: ReportData, w: Words) -> dict[str, str]:
    out: dict[str, str] = {}
    if r.ranking is None:
        return out
    for src in r.ranking.sources:
        if src.bt is None:
            continue
        rows = [
            svg.IntervalRow(f"{b.rank}. {b.name}", b.elo, b.low, b.high, svg.colour(i))
            for i, b in enumerate(bt_rows(src))
        ]
        out[src.source] = svg.interval_chart(rows, w("ranking"), "Elo", zero=1000.0)
    return out


def _timeline(r: ReportData, w: Words) -> str:
    assert r.loop is not None
    rows = []
    for s in r.loop.statuses:
        if s.status == "rejected":
            continue
        tip = f"{s.metric}: {s.title} · {status_text(w, s)}"
        rows.append(svg.TimelineRow(f"{s.metric} {s.title}", s.raised_at, s.fixed_at, tip))
    return svg.timeline_chart(rows, r.generated_at, w("speed"), w("fixed_mark"), w("open_mark"))


def status_text(w: Words, s: ComplaintStatus) -> str:
    if s.status == "fixed" and s.fixed_at is not None:
        return w("st_fixed", variant=s.fixed_by, date=s.fixed_at.strftime("%Y-%m-%d"))
    return w(
        {"open": "st_proposed", "accepted": "st_accepted", "rejected": "st_rejected"}.get(
            s.status, "st_open"
        )
    )


def note(w: Words, r: ReportData, section: str, default: str) -> str:
    """Why a section is empty, in the report's language."""
    found = r.notes.get(section, default)
    return w(found) if w.has(found) else found


def _duration(w: Words, days: float | None) -> str:
    if days is None:
        return w("no_fix_yet")
    if days < 1 / 24:
        return w("minutes", m=days * 24 * 60)
    return w("hours", h=days * 24) if days < 1 else w("days", d=days)


def _plots(r: ReportData, w: Words) -> dict[str, Any]:
    return {
        "variants": Markup(_variants_plot(r, w)) if r.metrics else "",
        "forest": Markup(_forest_plot(r, w)) if r.compare else "",
        "gacha": Markup(_gacha_plot(r, w)) if r.gacha else "",
        "ranking": {k: Markup(v) for k, v in _ranking_plots(r, w).items()},
        "timeline": Markup(_timeline(r, w)) if r.loop and r.loop.statuses else "",
    }


# ----------------------------------------------------------------------------- page


def _env() -> jinja2.Environment:
    return jinja2.Environment(
        autoescape=True, undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True
    )


def render(
    report: ReportData,
    lang: str = "en",
    *,
    css_href: str | None = None,
    back_href: str | None = None,
    back_label: str = "",
) -> str:
    """The whole page as one string.

    By default the styles are inline and a Content-Security-Policy meta tag forbids every
    fetch (a file that opens offline). ``css_href`` links the styles instead, for a web server
    whose own policy forbids inline styles (the admin dashboard).
    """
    w = Words(lang)
    baseline = report.compare.first.a if report.compare and report.compare.comparisons else ""
    template = _env().from_string(TEMPLATE.read_text(encoding="utf-8"))
    return template.render(
        r=report,
        w=w,
        lang=w.lang,
        sections=SECTIONS,
        plots=_plots(report, w),
        fmt=fmt,
        sfmt=sfmt,
        pct=pct,
        bt_rows=bt_rows,
        status_text=lambda s: status_text(w, s),
        baseline_label=baseline,
        note=lambda section, default="none": note(w, report, section, default),
        median_text=_duration(w, report.loop.median_days_to_fix if report.loop else None),
        now=datetime.now(UTC),
        css=Markup(CSS.read_text(encoding="utf-8")),
        css_href=css_href,
        back_href=back_href,
        back_label=back_label,
    )


__all__ = ["bt_rows", "fmt", "pct", "render", "sfmt", "status_text"]
