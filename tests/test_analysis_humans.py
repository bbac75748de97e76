"""hyouka agreement / ranking on human and judge judgments written straight into the store.

The run is real (the echo provider through the runner); the judgments are inserted with
SQLAlchemy as the web app would store them (append-only, with a superseded vote). Expected
values are either counted by hand from the vote pattern below or computed by hyouka.stats on
matrices built here independently of hyouka.analysis.
"""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from sqlalchemy import insert, select

from hyouka.analysis import verdict as V
from hyouka.api import Workspace
from hyouka.errors import NotFoundError
from hyouka.stats import (
    aggregate_votes,
    bradley_terry,
    judge_vs_humans,
    krippendorff_alpha,
    ppi_mean,
    preference_by_group,
    vote_sequential_test,
)
from hyouka.store.schema import (
    annotators,
    campaign_items,
    campaigns,
    cases,
    judgments,
    samples,
    variants,
)
from tests.conftest import write_project

N_CASES = 30  # the judge judges all 30 A/B pairs; people judge the first 12
N_ITEMS = 12
PEOPLE = {  # name: (group, pairwise verdict per item i, exceptions)
    "ops1": ("operators", "b", {3: "tie", 7: "both_bad"}),
    "ops2": ("operators", "b", {5: "a"}),
    "ops3": ("operators", "b", {0: "a", 6: "a"}),
    "res1": ("researchers", "a", {2: "b", 9: "b"}),
    "res2": ("researchers", "a", {4: "tie"}),
}
RATINGS = {"ops1": (2, 4), "ops2": (2, 5), "ops3": (3, 4), "res1": (4, 3), "res2": (3, 2)}


RUBRIC = """
def score(output, context):
    # A stand-in for a judge's 1-5 rubric score: B answers score one point higher.
    i = int(output.split()[-1])
    return {"score": min(i % 4 + 1 + (output[0] == "B"), 5), "pass": True}
"""


def rubric_of(variant: str, i: int) -> float:
    return float(min(i % 4 + 1 + (variant == "B"), 5))


def verdict_of(person: str, i: int) -> str:
    _, usual, exceptions = PEOPLE[person]
    return exceptions.get(i, usual)


def rating_of(person: str, i: int) -> tuple[int, int]:
    a, b = RATINGS[person]
    bump = 1 if i % 3 == 0 else 0  # some spread so ratings are not constant per person
    return min(a + bump, 5), min(b + bump, 5)


def judge_verdict(i: int) -> str:
    return "a" if i % 4 == 0 else "b"


class HumanStore:
    """A finished run of A, B, C and helpers to add annotators, campaigns and judgments."""

    def __init__(self, root: Path) -> None:
        cfg = {
            "name": "people",
            "samples": 1,
            "providers": {"e": {"type": "echo"}},
            "variants": {
                v: {"provider": "e", "prompt": "{{ q }}", "params": {"reply": v + ":{last}"}}
                for v in ("A", "B", "C")
            },
        }
        cfg["checks"] = [{"type": "python", "value": "rubric_like:score", "metric": "rubric"}]
        root.mkdir(parents=True, exist_ok=True)
        (root / "rubric_like.py").write_text(RUBRIC, encoding="utf-8")
        rows = [{"id": f"case{i:02d}", "vars": {"q": f"question {i}"}} for i in range(N_CASES)]
        self.ws = Workspace.open(write_project(root, cfg, rows))
        self.run = self.ws.run().run
        self.engine = self.ws.store.engine
        self.sample = self._samples()
        self.variant = {n: self._variant_id(n) for n in ("A", "B", "C")}
        self.judge_id = self.ws.store.save_variant("people", "judge-x", "v1", "judge", {})
        self.people: dict[str, int] = {}

    def _samples(self) -> dict[tuple[str, int], int]:
        query = (
            select(samples.c.id, variants.c.name, cases.c.case_key)
            .join(variants, variants.c.id == samples.c.variant_id)
            .join(cases, cases.c.id == samples.c.case_id)
        )
        with self.engine.connect() as conn:
            return {(n, int(k[4:])): int(s) for s, n, k in conn.execute(query)}

    def _variant_id(self, name: str) -> int:
        with self.engine.connect() as conn:
            return int(
                conn.execute(select(variants.c.id).where(variants.c.name == name)).scalar_one()
            )

    def _insert(self, table: Any, **values: Any) -> int:
        with self.engine.begin() as conn:
            return int(conn.execute(insert(table).values(**values)).inserted_primary_key[0])

    def annotator(self, name: str, group: str) -> int:
        self.people[name] = self._insert(
            annotators, project="people", name=name, group_name=group,
            token_hash=secrets.token_hex(16),
        )  # fmt: skip
        return self.people[name]

    def campaign(self, name: str, pair: tuple[str, str], n_items: int) -> tuple[int, list[int]]:
        cid = self._insert(
            campaigns, project="people", name=name, run_id=self.run.id, mode="pairwise+rating",
            overlap=5, tags=[], variant_ids=[self.variant[v] for v in pair], seed=1,
        )  # fmt: skip
        items = [
            self._insert(campaign_items, campaign_id=cid, position=i, case_id=self._case(i),
                         sample_a_id=self.sample[(pair[0], i)],
                         sample_b_id=self.sample[(pair[1], i)])
            for i in range(n_items)
        ]  # fmt: skip
        return cid, items

    def _case(self, i: int) -> int:
        with self.engine.connect() as conn:
            return int(conn.execute(
                select(samples.c.case_id).where(samples.c.id == self.sample[("A", i)])
            ).scalar_one())  # fmt: skip

    def vote(self, *, source: str = "human", campaign: int | None, item: int | None,
             who: int | None, pair: tuple[str, str], i: int, winner: str,
             ratings: tuple[int | None, int | None] = (None, None),
             supersedes: int | None = None, swap: bool = False) -> int:  # fmt: skip
        a, b = self.sample[(pair[0], i)], self.sample[(pair[1], i)]
        return self._insert(
            judgments, project="people", source=source, campaign_id=campaign, item_id=item,
            annotator_id=who, judge_variant_id=self.judge_id if source == "judge" else None,
            sample_a_id=a, sample_b_id=b, left_sample_id=b if swap else a, winner=winner,
            rating_a=ratings[0], rating_b=ratings[1], tags=[],
            idempotency_key=secrets.token_hex(8), supersedes_id=supersedes,
        )  # fmt: skip


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> HumanStore:
    hs = HumanStore(tmp_path_factory.mktemp("people"))
    for name, (group, _, _) in PEOPLE.items():
        hs.annotator(name, group)
    cid, items = hs.campaign("ab", ("A", "B"), N_ITEMS)
    # ops1 first said "a" on item 0, then changed their mind: only the new row counts.
    old = hs.vote(campaign=cid, item=items[0], who=hs.people["ops1"], pair=("A", "B"), i=0,
                  winner="a", ratings=(5, 1))  # fmt: skip
    for i, item in enumerate(items):
        for name in PEOPLE:
            hs.vote(campaign=cid, item=item, who=hs.people[name], pair=("A", "B"), i=i,
                    winner=verdict_of(name, i), ratings=rating_of(name, i),
                    supersedes=old if (name, i) == ("ops1", 0) else None)  # fmt: skip
    for i in range(N_CASES):  # the judge, asked twice with the order swapped
        for swap in (False, True):
            hs.vote(source="judge", campaign=None, item=None, who=None, pair=("A", "B"), i=i,
                    winner=judge_verdict(i), ratings=(3, 4 if i % 2 else 3), swap=swap)  # fmt: skip
    bc, bc_items = hs.campaign("bc", ("B", "C"), N_ITEMS)
    for i, item in enumerate(bc_items):  # one rater: C beats B on 10 of 12
        hs.vote(campaign=bc, item=item, who=hs.people["res1"], pair=("B", "C"), i=i,
                winner="b" if i >= 2 else "a")  # fmt: skip
    return hs


# ----------------------------------------------------------------------------- ranking


def test_ranking_counts_wins_ties_and_both_bad_by_hand(store: HumanStore) -> None:
    report = store.ws.ranking("ab", n_boot=200, seed=3)
    human = report.sources[0]
    assert human.source == "human" and human.items == ("A", "B")
    # 60 current votes (the superseded one is gone): b 33, a 24, tie 2, both bad 1.
    verdicts = [verdict_of(p, i) for p in PEOPLE for i in range(N_ITEMS)]
    assert human.n_votes == 60 == len(verdicts)
    assert human.wins == ((0, verdicts.count("a")), (verdicts.count("b"), 0))
    assert verdicts.count("b") == 33 and verdicts.count("a") == 24
    assert human.ties == ((0, 3), (3, 0))  # 2 ties + 1 both bad, counted as ties
    assert human.both_bad == 1 and human.both_bad_rate == pytest.approx(1 / 60)


def test_ranking_matches_the_engine_on_the_same_votes(store: HumanStore) -> None:
    report = store.ws.ranking("ab", n_boot=200, seed=3)
    human = report.sources[0]
    score = {"a": 1.0, "b": 0.0, "tie": 0.5, "both_bad": 0.5}
    outcomes = [score[verdict_of(p, i)] for i in range(N_ITEMS) for p in PEOPLE]
    ids = [store.variant["A"], store.variant["B"]]
    # Five raters: the bootstrap resamples raters (a rater's votes share their taste).
    raters = [p for _ in range(N_ITEMS) for p in PEOPLE]
    votes = aggregate_votes([ids[0]] * 60, [ids[1]] * 60, outcomes, items=ids, clusters=raters)
    expected = bradley_terry(votes, n_boot=200, seed=3)
    assert human.bt is not None
    assert (human.bt.cluster, human.bt.n_clusters) == ("rater", 5)
    np.testing.assert_allclose(human.bt.elo, expected.elo)
    np.testing.assert_allclose(human.bt.low, expected.low)
    np.testing.assert_allclose(human.bt.se_elo, expected.se_elo)
    assert human.bt.elo[1] > human.bt.elo[0] and list(human.bt.rank) == list(expected.rank)


def test_sequential_test_follows_arrival_order(store: HumanStore) -> None:
    report = store.ws.ranking("ab", n_boot=0)
    pair = report.sources[0].pairs[0]
    # B's score per vote in insertion order (item by item, person by person).
    b_score = {"a": 0.0, "b": 1.0, "tie": 0.5, "both_bad": 0.5}
    y = [b_score[verdict_of(p, i)] for i in range(N_ITEMS) for p in PEOPLE]
    expected = vote_sequential_test(y)
    assert pair.e_value == pytest.approx(expected.e_value)
    assert pair.decision == ("b" if expected.decision == "B" else None)
    assert (pair.b_wins, pair.a_wins, pair.ties, pair.both_bad) == (33, 24, 3, 1)
    text = V.sequential_sentence(pair, "en")
    if pair.decision == "b":
        assert text.startswith("A vs B: settled, B preferred") and "stop voting" in text
    else:
        assert "about" in text and "more votes" in text


def test_not_settled_pair_estimates_more_votes(store: HumanStore) -> None:
    report = store.ws.ranking("bc", n_boot=0)
    pair = report.sources[0].pairs[0]
    assert (pair.a, pair.b, pair.b_wins, pair.a_wins) == ("B", "C", 10, 2)
    assert pair.decision is None  # 10 of 12: e = 2¹²·B(11, 3) = 4096·2/(13·12·11) < 20
    assert pair.e_value == pytest.approx(4096 * 2 / (13 * 12 * 11), rel=1e-9)
    assert pair.more_votes is not None and 1 <= pair.more_votes <= 20
    assert V.sequential_sentence(pair, "en") == (
        f"B vs C: not settled yet, about {pair.more_votes} more votes."
    )
    assert V.sequential_sentence(pair, "ja") == f"B vs C: 未決着、あと約 {pair.more_votes} 票。"


def test_run_ranking_joins_campaigns_and_keeps_judges_apart(store: HumanStore) -> None:
    report = store.ws.ranking(run=store.run.uid, n_boot=100)
    human, judge = report.sources
    assert human.items == ("A", "B", "C") and human.n_votes == 72
    assert human.bt is not None and human.bt.rank[2] == 1  # C is best
    assert judge.source == "judge" and judge.n_votes == 2 * N_CASES
    assert judge.wins[1][0] == 2 * sum(judge_verdict(i) == "b" for i in range(N_CASES))


# ----------------------------------------------------------------------------- agreement


def _winner_matrix() -> np.ndarray:
    code = {"a": 0.0, "b": 1.0, "tie": 2.0, "both_bad": 3.0}
    people = sorted(PEOPLE)
    return np.array([[code[verdict_of(p, i)] for p in people] for i in range(N_ITEMS)])


def test_agreement_coefficients_equal_the_engine(store: HumanStore) -> None:
    report = store.ws.agreement("ab", n_boot=200, seed=5, min_overlap=5)
    pairwise, rating = report.sections
    assert (pairwise.kind, pairwise.n_items, pairwise.n_raters) == ("pairwise", 12, 5)
    assert pairwise.alpha is not None and pairwise.fleiss is not None
    assert pairwise.alpha.estimate == pytest.approx(krippendorff_alpha(_winner_matrix()))
    assert pairwise.alpha.low <= pairwise.alpha.estimate <= pairwise.alpha.high
    assert pairwise.alpha.seed == 5 and pairwise.alpha.n_boot == 200
    assert len(pairwise.cohen) == 10  # every pair of the 5 people shares 12 items
    people = sorted(PEOPLE)
    ratings = np.array(
        [[rating_of(p, i)[side] for p in people] for i in range(N_ITEMS) for side in (0, 1)]
    )
    assert rating.kind == "rating" and rating.n_items == 24
    assert rating.alpha is not None
    assert rating.alpha.estimate == pytest.approx(krippendorff_alpha(ratings, metric="ordinal"))


def test_disputed_items_show_the_case_and_what_each_person_said(store: HumanStore) -> None:
    report = store.ws.agreement("ab", n_boot=100, top=3)
    top = report.sections[0].disputed[0]
    # Item 4 (res2 says tie) and 0/2/6 are the most split; every label is a name or tie.
    assert top.case_key.startswith("case") and top.variants == ("A", "B")
    said = dict(top.labels)
    assert set(said) == set(PEOPLE)
    i = int(top.case_key[4:])
    expected = {"a": "A", "b": "B", "tie": "tie", "both_bad": "both bad"}
    assert said == {p: expected[verdict_of(p, i)] for p in PEOPLE}


def test_rater_leniency_finds_the_generous_and_the_harsh(store: HumanStore) -> None:
    report = store.ws.agreement("ab", n_boot=100)
    raters = {r.rater: r for r in report.sections[1].rater_reports}
    assert raters["ops2"].bias > 0 and raters["res2"].bias < 0
    assert raters["ops1"].group == "operators"
    pair_raters = {r.rater: r for r in report.sections[0].rater_reports}
    assert pair_raters["ops1"].both_bad_rate == pytest.approx(1 / 12)


def test_group_split_says_operators_prefer_b_researchers_prefer_a(store: HumanStore) -> None:
    report = store.ws.agreement("ab", n_boot=100)
    (split,) = report.groups
    b_score = {"a": 0.0, "b": 1.0, "tie": 0.5, "both_bad": 0.5}
    y = [b_score[verdict_of(p, i)] for i in range(N_ITEMS) for p in PEOPLE]
    g = [PEOPLE[p][0] for i in range(N_ITEMS) for p in PEOPLE]
    expected = preference_by_group(y, g)
    assert split.split.chi2 == pytest.approx(expected.chi2)
    assert V.group_sentence(split, "en") == (
        f"A vs B: operators prefer B, researchers prefer A (groups differ: χ² p "
        f"{V.p_eq(expected.p_value)})."
    )
    assert V.group_sentence(split, "ja").startswith(
        "A vs B: operators は B を好む、researchers は A を好む"
    )


def test_judge_against_human_majority(store: HumanStore) -> None:
    report = store.ws.agreement("ab", n_boot=200, seed=2)
    pairwise = next(j for j in report.judges if j.kind == "pairwise")
    assert pairwise.judge == "judge-x"
    code = {"a": 0.0, "b": 1.0, "tie": 2.0, "both_bad": 3.0}
    judge = [code[judge_verdict(i)] for i in range(N_ITEMS)]
    expected = judge_vs_humans(judge, _winner_matrix(), n_boot=200, seed=2)
    got = pairwise.agreement
    assert got.kappa == pytest.approx(expected.kappa)
    assert got.accuracy.estimate == pytest.approx(expected.accuracy.estimate)
    np.testing.assert_array_equal(got.table, expected.table)
    assert (got.kappa_low, got.kappa_high) == pytest.approx(
        (expected.kappa_low, expected.kappa_high)
    )
    assert pairwise.categories[:2] == ("A", "B")
    assert got.n_items == expected.n_items == 10  # two items have no strict human majority
    assert V.judge_sentence(pairwise, "en").startswith(
        "judge judge-x vs human majority (pairwise, 10 items): accuracy "
        f"{got.accuracy.estimate * 100:.0f}%"
    )


def test_ppi_win_rate_uses_judge_only_pairs(store: HumanStore) -> None:
    # 12 human-labelled items: below the default floor of 30, so lowered here on purpose.
    report = store.ws.agreement("ab", n_boot=100, ppi_min_labels=10)
    win = next(p for p in report.ppi if p.kind == "win_rate")
    b_score = {"a": 0.0, "b": 1.0, "tie": 0.5, "both_bad": 0.5}
    y = [np.mean([b_score[verdict_of(p, i)] for p in PEOPLE]) for i in range(N_ITEMS)]
    yhat = [b_score[judge_verdict(i)] for i in range(N_ITEMS)]
    unlabeled = [b_score[judge_verdict(i)] for i in range(N_ITEMS, N_CASES)]
    expected = ppi_mean(y, yhat, unlabeled, min_labels=10)
    assert (win.a, win.b, win.judge) == ("A", "B", "judge-x")
    assert win.estimate.estimate == pytest.approx(expected.estimate)
    assert win.estimate.se == pytest.approx(expected.se)
    assert (win.estimate.n_labeled, win.estimate.n_unlabeled) == (12, 18)


def test_ppi_rating_mean_and_difference(store: HumanStore) -> None:
    report = store.ws.agreement("ab", n_boot=100, ppi_min_labels=10)
    kinds = {(p.kind, p.a) for p in report.ppi}
    assert ("rating_mean", "A") in kinds and ("rating_mean", "B") in kinds
    diff = next(p for p in report.ppi if p.kind == "rating_difference")
    human_a = [np.mean([rating_of(p, i)[0] for p in PEOPLE]) for i in range(N_ITEMS)]
    human_b = [np.mean([rating_of(p, i)[1] for p in PEOPLE]) for i in range(N_ITEMS)]
    judge_b = [4.0 if i % 2 else 3.0 for i in range(N_CASES)]
    expected = ppi_mean(
        np.subtract(human_b, human_a), np.subtract(judge_b[:N_ITEMS], 3.0),
        np.subtract(judge_b[N_ITEMS:], 3.0), min_labels=10,
    )  # fmt: skip
    assert diff.estimate.estimate == pytest.approx(expected.estimate)
    assert diff.estimate.n_labeled == N_ITEMS
    assert "PPI++ human rating B − A" in V.ppi_sentence(diff, "en")


def test_ppi_with_too_few_labels_is_listed_not_estimated(store: HumanStore) -> None:
    """Issue 17, defect 8: PPI++ from 12 labels covered ~85%; by default it is refused, and
    the report says so for each estimate with the counts."""
    report = store.ws.agreement("ab", n_boot=100)
    assert report.ppi == ()
    win = next(p for p in report.ppi_skipped if p.kind == "win_rate")
    assert (win.a, win.b, win.n_labeled, win.n_unlabeled, win.min_labels) == ("A", "B", 12, 18, 30)
    assert V.ppi_skipped_sentence(win, "en") == (
        "[judge-x] PPI++ human win rate of B over A not estimated: 12 human-labelled items, at "
        "least 30 are needed for an interval that covers (fewer under-cover; --min-labels "
        "lowers the floor)."
    )
    assert "推定していません" in V.ppi_skipped_sentence(win, "ja")
    kinds = {p.kind for p in report.ppi_skipped}
    assert kinds == {"win_rate", "rating_mean", "rating_difference"}


def test_unknown_campaign_names_the_known_ones(store: HumanStore) -> None:
    with pytest.raises(NotFoundError, match=r"no campaign 'nope'.*ab, bc"):
        store.ws.agreement("nope")


def test_ppi_with_a_judge_score_metric(store: HumanStore) -> None:
    report = store.ws.agreement("ab", judge_metric="rubric", n_boot=100, ppi_min_labels=10)
    got = {(p.kind, p.a): p for p in report.ppi if p.judge == "rubric"}
    mean_b = got[("rating_mean", "B")].estimate
    human_b = [np.mean([rating_of(p, i)[1] for p in PEOPLE]) for i in range(N_ITEMS)]
    judged = [rubric_of("B", i) for i in range(N_CASES)]
    expected = ppi_mean(human_b, judged[:N_ITEMS], judged[N_ITEMS:], min_labels=10)
    assert mean_b.estimate == pytest.approx(expected.estimate)
    assert mean_b.lam == pytest.approx(expected.lam) and mean_b.n_unlabeled == 18
    assert ("rating_difference", "A") in got
    with pytest.raises(NotFoundError, match="no ok scores for metric 'nope'"):
        store.ws.agreement("ab", judge_metric="nope")
