"""What a run's judges cost and how far to trust them, recomputed from the stored rows.

Per judge (a judge variant): calls made and answered from the cache, failed calls, cost and
tokens actually spent (cached answers cost nothing again), verdicts that could not be parsed,
and **self-agreement** over ``judge_samples`` repeats: the share of judged samples whose
repeats all gave the same verdict, and the mean absolute difference between repeats. Per
pairwise judge and variant pair: wins, losses, ties and the **flip rate** — the share of pairs
whose verdict changed when the two answers swapped places (position bias) — with the share of
single-order verdicts that picked the answer shown first (0.5 when there is no such bias).
"""

from __future__ import annotations

import itertools
import json
from collections import defaultdict
from dataclasses import asdict, dataclass, field
from typing import Any

from hyouka.scorers.queries import judge_calls, judge_score_rows, pairwise_judgments
from hyouka.store.store import Store


@dataclass
class PairSummary:
    judge: str
    candidate: str
    baseline: str
    n: int = 0
    wins: int = 0
    losses: int = 0
    ties: int = 0
    flips: int = 0
    first_shown: int = 0  # single-order verdicts that chose the answer shown first
    decisive: int = 0  # single-order verdicts that were not a tie

    @property
    def flip_rate(self) -> float | None:
        return self.flips / self.n if self.n else None

    @property
    def first_shown_rate(self) -> float | None:
        return self.first_shown / self.decisive if self.decisive else None

    @property
    def win_rate(self) -> float | None:
        return (self.wins + 0.5 * self.ties) / self.n if self.n else None

    def as_dict(self) -> dict[str, Any]:
        return {**asdict(self), "flip_rate": self.flip_rate, "win_rate": self.win_rate,
                "first_shown_rate": self.first_shown_rate}  # fmt: skip


@dataclass
class JudgeSummary:
    judge_variant_id: int
    name: str
    version: str
    model: str
    calls: int = 0  # judge samples that called the model
    cached: int = 0  # judge samples answered from the cache
    errors: int = 0  # calls that failed after retries
    attempts: int = 0
    cost: float = 0.0
    cost_known: bool = False
    input_tokens: int = 0
    output_tokens: int = 0
    verdicts: int = 0  # parsed verdicts (score rows with status ok)
    parse_errors: int = 0
    agreement_items: int = 0  # judged samples with two or more parsed repeats
    agreeing: int = 0
    abs_diffs: list[float] = field(default_factory=list)
    pairs: list[PairSummary] = field(default_factory=list)

    @property
    def self_agreement(self) -> float | None:
        return self.agreeing / self.agreement_items if self.agreement_items else None

    @property
    def mean_abs_diff(self) -> float | None:
        return sum(self.abs_diffs) / len(self.abs_diffs) if self.abs_diffs else None

    def as_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out.pop("abs_diffs")
        out.update(self_agreement=self.self_agreement, mean_abs_diff=self.mean_abs_diff,
                   cost=self.cost if self.cost_known else None,
                   pairs=[p.as_dict() for p in self.pairs])  # fmt: skip
        return out


def _add_call(s: JudgeSummary, row: Any) -> None:
    if row.cached:
        s.cached += 1
        return
    s.calls += 1
    s.attempts += int(row.attempts or 0)
    if row.status != "ok":
        s.errors += 1
    if row.cost is not None:
        s.cost += float(row.cost)
        s.cost_known = True
    s.input_tokens += int(row.input_tokens or 0)
    s.output_tokens += int(row.output_tokens or 0)


def _agreement(s: JudgeSummary, values: list[float]) -> None:
    if len(values) < 2:
        return
    s.agreement_items += 1
    s.agreeing += int(len(set(values)) == 1)
    diffs = [abs(x - y) for x, y in itertools.combinations(values, 2)]
    s.abs_diffs.append(sum(diffs) / len(diffs))


def _add_scores(out: dict[int, JudgeSummary], rows: list[Any]) -> None:
    # the newest row per (sample, check, params, metric, repeat) counts, as in summary.py
    newest = {(r.variant_id, r.sample_id, r.check_name, r.params_hash, r.metric, r.repeat): r
              for r in rows}  # fmt: skip
    repeats: dict[tuple[Any, ...], list[float]] = defaultdict(list)
    for key, r in newest.items():
        s = out.get(int(r.variant_id))
        if s is None:
            continue
        if r.status == "parse_error":
            s.parse_errors += 1
        elif r.status == "ok" and r.value is not None:
            s.verdicts += 1
            repeats[key[:5]].append(float(r.value))
    for key, values in repeats.items():
        _agreement(out[int(key[0])], values)


def _add_pairs(store: Store, out: dict[int, JudgeSummary]) -> None:
    found: dict[tuple[int, str, str], PairSummary] = {}
    for row in pairwise_judgments(store, out):
        key = (int(row.judge_variant_id), str(row.candidate), str(row.baseline))
        pair = found.get(key)
        if pair is None:
            pair = found[key] = PairSummary(out[key[0]].name, key[1], key[2])
        _add_judgment(pair, row.winner, row.comment)
    for (judge_id, _, _), pair in sorted(found.items()):
        out[judge_id].pairs.append(pair)


def _add_judgment(pair: PairSummary, winner: str, comment: str | None) -> None:
    pair.n += 1
    pair.wins += winner == "a"
    pair.losses += winner == "b"
    pair.ties += winner == "tie"
    try:
        detail = json.loads(comment or "{}")
    except json.JSONDecodeError:
        detail = {}
    pair.flips += bool(detail.get("flipped"))
    for verdict in (detail.get("verdict_ab"), detail.get("verdict_ba")):
        if verdict in ("A", "B"):
            pair.decisive += 1
            pair.first_shown += verdict == "A"


def judge_report(store: Store, run_id: int) -> list[JudgeSummary]:
    """One summary per judge that judged samples of the run (see the module docstring)."""
    calls = judge_calls(store, run_id)
    ids = sorted({int(r.variant_id) for r in calls})
    if not ids:
        return []
    info = store.variants_by_id(ids)
    out = {
        vid: JudgeSummary(vid, str(info[vid]["name"]), str(info[vid]["version"]),
                          str(info[vid]["model"] or ""))
        for vid in ids
    }  # fmt: skip
    for row in calls:
        _add_call(out[int(row.variant_id)], row)
    _add_scores(out, judge_score_rows(store, run_id))
    _add_pairs(store, out)
    return list(out.values())
