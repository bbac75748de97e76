"""Getting judgments out: every current judgment (or the whole history) with what was judged,
and the people's settled pairwise preferences as prompt/chosen/rejected rows — on SQLite and
PostgreSQL, through the Python API and `hyouka judgments export`."""

from __future__ import annotations

# ruff: noqa: F811  (pytest fixtures imported from humans_env / pg are test arguments)
import csv
import json
import secrets
from pathlib import Path

from click.testing import CliRunner
from humans_env import QUESTIONS, VARIANTS, Env, db_url, env, signed_in  # noqa: F401
from pg import pg_session_url  # noqa: F401

from hyouka import humans
from hyouka.cli.main import cli
from hyouka.humans import JudgmentInput

V0, V1 = VARIANTS[0], VARIANTS[1]  # replies "回答0: …" and "回答1: …"


def _judge_all(e: Env, person: int, prefer: dict[str, str], **extra: object) -> dict[str, str]:
    """``person`` judges every item: ``prefer[question]`` is the variant that wins, or "tie".
    Returns each question's assignment public id."""
    who = e.people[person][0]
    done: dict[str, str] = {}
    while (a := humans.next_assignment(e.store, e.campaign, who.id)) is not None:
        view = humans.item_view(e.store, a)
        question = view.inputs[0][1]
        wanted = prefer[question]
        left_is_v0 = view.left.text.startswith("回答0")
        winner = "tie" if wanted == "tie" else "left" if (wanted == V0) == left_is_v0 else "right"
        data = JudgmentInput(idempotency_key=secrets.token_hex(8), winner=winner, **extra)
        humans.submit_judgment(e.store, e.campaign, a.public_id, who.id, data, view.sides)
        done[question] = a.public_id
    return done


def _edit(e: Env, person: int, public_id: str, winner_variant: str) -> None:
    who = e.people[person][0]
    _, assignment = humans.assignment_and_campaign(e.store, e.project, public_id, who.id)
    view = humans.item_view(e.store, assignment)
    left_is_v0 = view.left.text.startswith("回答0")
    winner = "left" if (winner_variant == V0) == left_is_v0 else "right"
    data = JudgmentInput(idempotency_key=secrets.token_hex(8), winner=winner)
    humans.submit_judgment(e.store, e.campaign, public_id, who.id, data, view.sides)


def _vote(e: Env) -> None:
    q0, q1, q2, q3 = QUESTIONS
    mine = _judge_all(
        e, 0, {q0: V0, q1: V0, q2: V1, q3: "tie"}, comment="丁寧", tags_left=["長すぎる"]
    )
    _judge_all(e, 1, {q0: V0, q1: V1, q2: V1, q3: V0})
    _edit(e, 0, mine[q1], V1)  # op0 changes their mind on q1: now both prefer V1


def test_rows_carry_what_was_judged_and_the_verdict(env: Env) -> None:
    _vote(env)
    rows = list(humans.judgment_rows(env.store, env.project, campaign=env.campaign))
    assert len(rows) == 8 and all(r["current"] for r in rows)  # 2 people × 4 items
    assert {r["source"] for r in rows} == {"human"} and {r["campaign"] for r in rows} == {"round-1"}
    assert {r["item_position"] for r in rows} == {1, 2, 3, 4}  # numbered as on the dashboard
    by = {(r["annotator"], r["input"]): r for r in rows}
    first = by[("op0", QUESTIONS[0])]
    assert first["winner_variant"] == V0 and first["group"] == "operators"
    assert first["comment"] == "丁寧"
    assert {first["variant_a"], first["variant_b"]} == {V0, V1}
    assert first[f"output_{'a' if first['variant_a'] == V0 else 'b'}"].startswith("回答0")
    # The tag was put on the output shown on the left.
    tagged_side = first["shown_left"]
    assert first[f"tags_{tagged_side}"] == ["長すぎる"]
    assert first[f"tags_{'b' if tagged_side == 'a' else 'a'}"] == []
    assert by[("op0", QUESTIONS[3])]["winner"] == "tie"
    assert by[("op0", QUESTIONS[3])]["winner_variant"] is None
    edited = by[("op0", QUESTIONS[1])]
    assert edited["winner_variant"] == V1 and edited["supersedes_id"] is not None
    history = list(humans.judgment_rows(env.store, env.project, history=True))
    assert len(history) == 9
    [old] = [r for r in history if not r["current"]]
    assert old["id"] == edited["supersedes_id"] and old["winner_variant"] == V0


def test_preference_pairs_keep_the_items_the_votes_settled(env: Env) -> None:
    _vote(env)
    pairs = {p["prompt"]: p for p in humans.preference_pairs(env.store, env.campaign)}
    q0, q1, q2, q3 = QUESTIONS
    assert set(pairs) == {q0, q1, q2, q3}
    assert (pairs[q0]["variant_chosen"], pairs[q0]["votes_chosen"]) == (V0, 2)
    assert pairs[q0]["chosen"] == f"回答0: {q0} です。" and pairs[q0]["rejected"].startswith(
        "回答1"
    )
    assert (pairs[q1]["variant_chosen"], pairs[q1]["votes_chosen"]) == (V1, 2)  # after the edit
    assert pairs[q2]["variant_chosen"] == V1
    # a tie and one vote for V0: V0 is chosen, 1 to 0, out of 2 votes
    assert (pairs[q3]["variant_chosen"], pairs[q3]["votes_chosen"]) == (V0, 1)
    assert (pairs[q3]["votes_rejected"], pairs[q3]["votes"]) == (0, 2)


def test_split_votes_give_no_pair(env: Env) -> None:
    q0, q1, q2, q3 = QUESTIONS
    _judge_all(env, 0, {q0: V0, q1: V0, q2: V0, q3: V0})
    _judge_all(env, 1, {q0: V1, q1: V1, q2: V1, q3: "tie"})
    pairs = list(humans.preference_pairs(env.store, env.campaign))
    assert [p["prompt"] for p in pairs] == [q3] and pairs[0]["variant_chosen"] == V0


def test_the_cli_writes_csv_jsonl_and_pairs(env: Env, db_url: str, tmp_path: Path) -> None:
    _vote(env)
    root = str(env.ws.project.root)
    store = {"HYOUKA_DATABASE_URL": db_url}

    def run(*args: str) -> str:
        out = CliRunner(env=store).invoke(cli, ["judgments", "export", "-p", root, *args])
        assert out.exit_code == 0, out.output
        return out.output

    assert "wrote 8 judgments" in run("-o", str(tmp_path / "j.csv"))
    raw = (tmp_path / "j.csv").read_bytes()
    assert raw.startswith(b"\xef\xbb\xbfid,source,")  # a BOM: Excel (ja) reads it as UTF-8
    with (tmp_path / "j.csv").open(encoding="utf-8-sig", newline="") as fh:
        table = list(csv.DictReader(fh))
    assert len(table) == 8 and table[0]["campaign"] == "round-1"
    commented = [r for r in table if r["comment"] == "丁寧"]  # op0's 4 current rows
    assert len(commented) == 3  # the edit of q1 carries no comment
    for r in commented:  # nested values are JSON text in CSV; the tag went on the left output
        assert json.loads(r[f"tags_{r['shown_left']}"]) == ["長すぎる"]
    assert "wrote 9 judgments" in run("-o", str(tmp_path / "all.jsonl"), "--history")
    assert "wrote 4 preference pairs" in run(
        "-o", str(tmp_path / "pairs.jsonl"), "--campaign", "round-1", "--pairs"
    )
    lines = [json.loads(x) for x in (tmp_path / "pairs.jsonl").read_text("utf-8").splitlines()]
    assert {x["prompt"] for x in lines} == set(QUESTIONS)
    assert list(lines[0])[:3] == ["prompt", "chosen", "rejected"]
    refused = CliRunner(env=store).invoke(
        cli, ["judgments", "export", "-p", root, "-o", "x", "--pairs"]
    )
    assert refused.exit_code != 0 and "--pairs needs --campaign" in refused.output


def test_admins_download_judgments_and_pairs_from_the_dashboard(env: Env) -> None:
    _vote(env)
    admin = signed_in(env.app, env.admin_token, headers={"accept-language": "ja"})
    page = admin.get(f"/admin/campaigns/{env.campaign.id}").text
    assert f'href="/admin/campaigns/{env.campaign.id}/judgments.csv"' in page
    assert "判定一覧(CSV、Excel で開けます)" in page
    got = admin.get(f"/admin/campaigns/{env.campaign.id}/judgments.csv")
    assert got.status_code == 200 and got.headers["content-type"].startswith("text/csv")
    assert "filename*=UTF-8''round-1-judgments.csv" in got.headers["content-disposition"]
    assert got.content.startswith(b"\xef\xbb\xbfid,source,campaign,")
    table = list(csv.DictReader(got.content.decode("utf-8-sig").splitlines()))
    assert len(table) == 8 and {r["annotator"] for r in table} == {"op0", "op1"}
    history = admin.get(f"/admin/campaigns/{env.campaign.id}/judgments.csv?history=true")
    assert len(list(csv.DictReader(history.content.decode("utf-8-sig").splitlines()))) == 9
    pairs = admin.get(f"/admin/campaigns/{env.campaign.id}/pairs.jsonl")
    assert {json.loads(x)["prompt"] for x in pairs.text.splitlines()} == set(QUESTIONS)
    # annotators get nothing: this data names the variants and the people
    operator = signed_in(env.app, env.people[0][1])
    refused = operator.get(f"/admin/campaigns/{env.campaign.id}/judgments.csv")
    assert refused.status_code == 403 and "round-1" not in refused.text
