"""Plain-language sentences (English or Japanese) for comparisons, rankings and agreement.

Only wording lives here: every number comes from the result dataclasses unchanged. Numbers
are shown with as many decimals as their interval's half-width warrants (at least two), with
a real minus sign; counts of "more data" are rounded to two significant figures, because they
are planning estimates, not promises.
"""

from __future__ import annotations

import math
from typing import Any

from hyouka.analysis._json import jsonable
from hyouka.analysis.compare import (
    CompareResult,
    MetricComparison,
    PairComparison,
    SkippedMetric,
)
from hyouka.analysis.humans import AgreementReport, GroupSplit
from hyouka.analysis.judges import JudgeReport, PPIResult, PPISkipped
from hyouka.analysis.ranking import PairSequential, RankingReport, SourceRanking
from hyouka.i18n.cli import Lang, t


def decimals(half_width: float) -> int:
    """Decimals that show an estimate to about a tenth of its uncertainty (2 to 6)."""
    if not math.isfinite(half_width) or half_width <= 0:
        return 2
    return min(max(-math.floor(math.log10(half_width)), 2), 6)


def signed(x: float, digits: int = 2) -> str:
    """``+0.12`` / ``−0.05`` with a real minus; a non-zero number that would round to zero
    gets the extra decimals that show its sign (−0.003, never "−0.00"); zero is ``0.00``."""
    if not math.isfinite(x):
        return "–"
    if x == 0:
        return f"{0.0:.{digits}f}"
    while round(x, digits) == 0 and digits < 6:
        digits += 1
    if round(x, digits) == 0:
        return f"{0.0:.{digits}f}"
    return f"{x:+.{digits}f}".replace("-", "−")


def level_text(level: float) -> str:
    """A confidence level in percent with the decimals it needs: 95, 97.5, 98.3, 99.98."""
    pct = level * 100
    for digits in (0, 1, 2):
        if abs(round(pct, digits) - pct) < 1e-9:
            return f"{pct:.{digits}f}"
    digits = 1
    while round(pct, digits) >= 100 and digits < 4:
        digits += 1
    return f"{pct:.{digits}f}"


def count_text(lang: Lang, key: str, n: int) -> str:
    """ "1 metric" / "3 metrics" (the catalog has ``key`` and ``key + "_one"``)."""
    return t(lang, key + ("_one" if n == 1 else ""), n=n)


def num(x: float | None, digits: int = 2) -> str:
    if x is None or not math.isfinite(x):
        return "–"
    return f"{x:.{digits}f}".replace("-", "−")


def p_text(p: float) -> str:
    """A p-value for a table cell: 0.042, or < 0.001."""
    return "< 0.001" if p < 0.001 else f"{p:.3f}"


def p_eq(p: float) -> str:
    """A p-value for a sentence ("p {p}"): = 0.042, or < 0.001."""
    return "< 0.001" if p < 0.001 else f"= {p:.3f}"


def about(n: float) -> str:
    """A planning count rounded to two significant figures: 237 → 240, 1,234 → 1,200."""
    n = math.ceil(n)
    if n < 100:
        return str(n)
    digits = len(str(n)) - 2
    return f"{round(n, -digits):,}"


def ratio_text(r: float) -> str:
    return f"{r:.2g}" if r < 10 else f"{r:.0f}"


def _end(lang: Lang, text: str) -> str:
    return text + ("。" if lang == "ja" else ".")


# ----------------------------------------------------------------------------- compare


def _more_data(m: MetricComparison, lang: Lang) -> str:
    """After "not distinguishable": equivalence within ±delta, or how much more would settle it."""
    p = m.power
    delta = f"{p.delta:g}"
    if m.equivalent:
        return t(lang, "compare.equivalent", delta=delta)
    if p.cases_needed is None or p.more_cases is None:
        return ""
    if p.more_cases == 0:
        return t(lang, "compare.undecided", delta=delta)
    alts = []
    current_k = math.ceil(max(m.a.samples_per_case, m.b.samples_per_case))
    if p.samples_per_case_needed is not None and p.samples_per_case_needed > current_k:
        alts.append(t(lang, "compare.alt_samples", k=p.samples_per_case_needed))
    if p.more_seeds:
        alts.append(t(lang, "compare.alt_seeds", n=p.more_seeds))
    alt_text = t(lang, "compare.alts", items=t(lang, "compare.alt_sep").join(alts)) if alts else ""
    return t(lang, "compare.more", cases=about(p.more_cases), alts=alt_text, delta=delta)


def _seed_sentence(m: MetricComparison, lang: Lang, alpha: float) -> str:
    sl = m.seed_level
    if sl is None:
        return ""
    w = sl.welch
    dec = decimals((w.high - w.low) / 2)
    but = m.significant and w.p_value >= alpha
    key = "compare.seed_but" if but else "compare.seed"
    text = t(lang, key, na=w.n_a, nb=w.n_b, metric=m.metric,
             diff=signed(w.difference, dec), level=level_text(w.level),
             low=signed(w.low, dec), high=signed(w.high, dec), p=p_eq(w.p_value))  # fmt: skip
    if w.p_value >= alpha and sl.more_seeds:
        text += t(lang, "compare.seed_more", n=about(sl.more_seeds), delta=f"{m.power.delta:g}")
    if min(w.n_a, w.n_b) <= 3:
        text += t(lang, "compare.few_seeds")
    return " " + _end(lang, text) if lang == "en" else _end(lang, text)


def metric_sentence(
    m: MetricComparison, a: str, b: str, lang: Lang, alpha: float = 0.05, name_pair: bool = False
) -> str:
    """The verdict on one metric, e.g. "B is better than A on `correct`: +0.12 (…)".

    ``name_pair``: a verdict of noise names the two variants too ("B vs A: not
    distinguishable…"), for a list that mixes several comparisons."""
    d = m.difference
    if m.identical:
        return _end(lang, t(lang, "compare.same", a=a, b=b, n=d.n_cases, metric=m.metric))
    dec = decimals((d.high - d.low) / 2)
    fields: dict[str, Any] = {
        "a": a, "b": b, "metric": m.metric, "level": level_text(d.level),
        "lower": "" if m.higher_is_better else t(lang, "compare.lower"),
        "diff": signed(d.estimate, dec), "low": signed(d.low, dec), "high": signed(d.high, dec),
    }  # fmt: skip
    if m.significant:
        better = m.b_better
        share = m.share_favouring_b if better else 1 - m.share_favouring_b - d.share_ties
        text = t(lang, "compare.better" if better else "compare.worse",
                 share=round(share * 100), **fields)  # fmt: skip
        if m.gacha is not None and math.isfinite(m.gacha.ratio):
            text += t(lang, "compare.spread", ratio=ratio_text(m.gacha.ratio))
    else:
        key = "compare.noise_pair" if name_pair else "compare.noise"
        text = t(lang, key, **fields) + _more_data(m, lang)
    return _end(lang, text) + _seed_sentence(m, lang, alpha)


def pair_sentences(
    pair: PairComparison, lang: Lang, alpha: float = 0.05, name_pair: bool = False
) -> list[str]:
    return [metric_sentence(m, pair.a, pair.b, lang, alpha, name_pair) for m in pair.metrics]


def skipped_sentence(sk: SkippedMetric, a: str, b: str, lang: Lang) -> str:
    """Why a metric was not compared, with what each side had."""
    mean_a = "–" if sk.mean_a is None else num(sk.mean_a)
    mean_b = "–" if sk.mean_b is None else num(sk.mean_b)
    why = t(lang, f"compare.skip.{sk.reason}", a=a, b=b, n=sk.n_shared, min=sk.minimum,
            na=sk.n_cases_a, nb=sk.n_cases_b, mean_a=mean_a, mean_b=mean_b)  # fmt: skip
    return _end(lang, t(lang, "compare.skipped", metric=sk.metric, why=why))


def compare_notes(result: CompareResult, lang: Lang) -> list[str]:
    """Notes under the verdicts: what Holm adjusted, metrics skipped, cases left out."""
    notes = []
    if result.n_tests > 1:
        metrics = max(len(p.metrics) for p in result.comparisons)
        key = "compare.holm" if len(result.comparisons) == 1 else "compare.holm_pairs"
        notes.append(_end(lang, t(lang, key, n=result.n_tests,
                                  metrics=count_text(lang, "compare.n_metrics", metrics),
                                  pairs=len(result.comparisons))))  # fmt: skip
    for p in result.comparisons:
        notes.extend(skipped_sentence(sk, p.a, p.b, lang) for sk in p.skipped)
        if p.dropped_cases:
            notes.append(_end(lang, t(lang, "compare.dropped", n=p.dropped_cases)))
    return notes


def compare_json(result: CompareResult, lang: Lang) -> dict[str, Any]:
    """Every number of the result, plus the verdict sentences in ``lang``."""
    data: dict[str, Any] = jsonable(result)
    for pair_data, pair in zip(data["comparisons"], result.comparisons, strict=True):
        for m_data, m in zip(pair_data["metrics"], pair.metrics, strict=True):
            m_data["verdict"] = metric_sentence(m, pair.a, pair.b, lang, result.alpha)
            m_data["share_favouring_b"] = m.share_favouring_b
    data["lang"] = lang
    data["notes"] = compare_notes(result, lang)
    return data


# ----------------------------------------------------------------------------- ranking


def sequential_sentence(ps: PairSequential, lang: Lang) -> str:
    pair = f"{ps.a} vs {ps.b}"
    if ps.decision is not None:
        winner = ps.b if ps.decision == "b" else ps.a
        text = t(lang, "ranking.settled", pair=pair, winner=winner, e=f"{ps.e_value:.3g}")
    elif ps.more_votes is None:
        text = t(lang, "ranking.no_lean", pair=pair, n=ps.a_wins + ps.b_wins)
    else:
        text = t(lang, "ranking.not_settled", pair=pair, n=about(ps.more_votes))
    return _end(lang, text)


def ranking_sentences(sr: SourceRanking, lang: Lang) -> list[str]:
    source = t(lang, f"source.{sr.source}")
    out = [sequential_sentence(ps, lang) for ps in sr.pairs]
    if sr.n_votes:
        rate = f"{sr.both_bad_rate * 100:.0f}"
        out.append(_end(lang, t(lang, "ranking.both_bad", rate=rate, source=source)))
    return out


def bt_notes(sr: SourceRanking, lang: Lang) -> list[str]:
    """How the ranking's intervals were made, and which ratings lean on the prior."""
    bt = sr.bt
    if bt is None:
        return []
    what = t(lang, f"ranking.what.{bt.cluster}", n=bt.n_clusters)
    key = "ranking.boot" if bt.ci_method == "bootstrap" else "ranking.sandwich"
    out = [_end(lang, t(lang, key, level=level_text(bt.level), n_boot=bt.n_boot, what=what))]
    if bt.prior_items:
        names = ", ".join(str(sr.items[bt.items.index(x)]) for x in bt.prior_items)
        out.append(_end(lang, t(lang, "ranking.prior", items=names, sd=f"{bt.prior_sd:g}")))
    return out


def ranking_json(report: RankingReport, lang: Lang) -> dict[str, Any]:
    data: dict[str, Any] = jsonable(report)
    for src_data, src in zip(data["sources"], report.sources, strict=True):
        src_data["sentences"] = ranking_sentences(src, lang)
        src_data["notes"] = bt_notes(src, lang)
    data["lang"] = lang
    return data


# ----------------------------------------------------------------------------- agreement


def group_sentence(g: GroupSplit, lang: Lang, alpha: float = 0.05) -> str:
    parts = []
    for gp in g.split.groups:
        iv = gp.interval
        if iv.low > 0.5:
            parts.append(t(lang, "agreement.group_prefers", group=gp.group, winner=g.b))
        elif iv.high < 0.5:
            parts.append(t(lang, "agreement.group_prefers", group=gp.group, winner=g.a))
        else:
            parts.append(t(lang, "agreement.group_even", group=gp.group))
    sep = "、" if lang == "ja" else ", "
    key = "agreement.groups_differ" if g.split.p_value < alpha else "agreement.groups_same"
    tail = t(lang, key, p=p_eq(g.split.p_value))
    return _end(lang, f"{g.a} vs {g.b}: {sep.join(parts)} ({tail})")


def judge_sentence(j: JudgeReport, lang: Lang) -> str:
    ag = j.agreement
    acc = ag.accuracy
    text = t(lang, "agreement.judge", judge=j.judge, kind=j.kind, n=ag.n_items,
             acc=f"{acc.estimate * 100:.0f}", acc_low=f"{acc.low * 100:.0f}",
             acc_high=f"{acc.high * 100:.0f}", kappa=num(ag.kappa), k_low=num(ag.kappa_low),
             k_high=num(ag.kappa_high))  # fmt: skip
    if j.human_alpha is not None and math.isfinite(j.human_alpha):
        text += t(lang, "agreement.judge_hh", alpha=num(j.human_alpha))
    return _end(lang, text)


def ppi_sentence(p: PPIResult, lang: Lang) -> str:
    e = p.estimate
    dec = decimals((e.high - e.low) / 2)
    what_key = {"win_rate": "agreement.ppi.win_rate", "rating_mean": "agreement.ppi.mean",
                "rating_difference": "agreement.ppi.diff"}[p.kind]  # fmt: skip
    what = t(lang, what_key, a=p.a, b=p.b, variant=p.a)
    show = signed if p.kind == "rating_difference" else num
    level = f"{e.level * 100:g}"
    text = t(lang, "agreement.ppi", what=what, est=show(e.estimate, dec), level=level,
             low=show(e.low, dec), high=show(e.high, dec), n=e.n_labeled, big_n=e.n_unlabeled,
             classic=show(e.classical_estimate, dec), classic_se=num(e.classical_se, dec),
             eff=f"{e.effective_n:.0f}")  # fmt: skip
    return _end(lang, f"[{p.judge}] {text}")


def ppi_skipped_sentence(p: PPISkipped, lang: Lang) -> str:
    what_key = {"win_rate": "agreement.ppi.win_rate", "rating_mean": "agreement.ppi.mean",
                "rating_difference": "agreement.ppi.diff"}[p.kind]  # fmt: skip
    what = t(lang, what_key, a=p.a, b=p.b, variant=p.a)
    key = "agreement.ppi_few" if p.n_labeled < p.min_labels else "agreement.ppi_failed"
    text = t(lang, key, what=what, n=p.n_labeled, min=p.min_labels, big_n=p.n_unlabeled,
             reason=p.reason)  # fmt: skip
    return _end(lang, f"[{p.judge}] {text}")


def agreement_json(report: AgreementReport, lang: Lang) -> dict[str, Any]:
    data: dict[str, Any] = jsonable(report)
    data["sentences"] = {
        "groups": [group_sentence(g, lang) for g in report.groups],
        "judges": [judge_sentence(j, lang) for j in report.judges],
        "ppi": [ppi_sentence(p, lang) for p in report.ppi],
        "ppi_skipped": [ppi_skipped_sentence(p, lang) for p in report.ppi_skipped],
    }
    data["lang"] = lang
    return data
