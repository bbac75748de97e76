"""hyouka.report: one self-contained HTML file a team reads to see where it stands.

Variants with intervals, a forest plot of paired differences against a baseline, the gacha
plot, Bradley–Terry rankings, rater and judge agreement, the complaint log and loop speed, in
English or Japanese. Plots are inline SVG drawn in Python: the file opens offline and fetches
nothing (its Content-Security-Policy forbids it).

>>> page = build_report(ws.store, ws.name, lang="ja")  # doctest: +SKIP
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from hyouka.report.data import ReportData, gather
from hyouka.report.render import render
from hyouka.store.store import Store


def build_report(
    store: Store,
    project: str,
    *,
    run: str = "latest",
    lang: str = "en",
    baseline: str | None = None,
    gacha_metric: str | None = None,
    css_href: str | None = None,
    back_href: str | None = None,
    back_label: str = "",
    experiments: Sequence[Any] = (),
) -> str:
    """The report of ``run`` as one HTML string (see :func:`hyouka.report.render.render`).

    ``experiments``: live experiments' analyses to show (``ws.reports.build`` passes them)."""
    data = gather(store, project, run, baseline, gacha_metric)
    data.experiments = list(experiments)
    return render(data, lang, css_href=css_href, back_href=back_href, back_label=back_label)


def write_report(store: Store, project: str, path: Path, **options: object) -> Path:
    path.write_text(build_report(store, project, **options), encoding="utf-8")  # type: ignore[arg-type]
    return path


__all__ = ["ReportData", "build_report", "gather", "render", "write_report"]
