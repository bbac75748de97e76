"""The judging screens over HTTP: blind outputs, votes, ratings, complaints, edits, skips,
resent forms, inert model text — on SQLite and PostgreSQL."""

from __future__ import annotations

# ruff: noqa: F811  (pytest fixtures imported from humans_env / pg are test arguments)
import re
from pathlib import Path

from humans_env import (  # noqa: F401
    Env,
    db_url,
    env,
    env_for,
    form_fields,
    output_texts,
    signed_in,
    vote,
)
from pg import pg_session_url  # noqa: F401
from sqlalchemy import select

from hyouka import humans
from hyouka.store.schema import assignments, judgments, samples, variants


def _judgments(e: Env) -> list[dict[str, object]]:
    with e.store.engine.connect() as conn:
        return [
            dict(r._mapping)
            for r in conn.execute(
                select(judgments)
                .where(judgments.c.campaign_id == e.campaign.id)
                .order_by(judgments.c.id)
            )
        ]


def _variant_by_output(e: Env) -> dict[str, str]:
    with e.store.engine.connect() as conn:
        rows = conn.execute(
            select(samples.c.output, variants.c.name)
            .join(variants, variants.c.id == samples.c.variant_id)
            .where(samples.c.run_id == e.run_id)
        ).all()
    return {str(o): str(n) for o, n in rows}


def test_home_lists_open_campaigns_with_progress(env: Env) -> None:
    client = signed_in(env.app, env.people[0][1])
    page = client.get("/").text
    assert f'href="/c/{env.campaign.id}"' in page
    assert "round-1" in page and "あなた: 0件" in page and "全体: 0 / 8" in page


def test_judging_page_shows_input_outputs_rubric_and_no_variant_identity(env: Env) -> None:
    client = signed_in(env.app, env.people[0][1])
    response = client.get(f"/c/{env.campaign.id}")
    page = response.text
    assert response.status_code == 200
    texts = output_texts(page)
    assert set(texts) == {"left", "right"}
    by_output = _variant_by_output(env)
    assert {by_output[texts["left"]], by_output[texts["right"]]} == set(env.variant_names)
    assert "丁寧さと正確さ" in page  # the rubric
    assert "より良い回答を選んでください" in page  # the instructions
    # one input variable: shown without its (programmer's) name
    assert re.search(r"<dl>\s*<dd class=\"text\">[^<]+</dd>", page)
    assert "<dt>question</dt>" not in page
    assert "観点" in page  # the case's aspect
    for name in env.variant_names:
        assert name not in page
    # Not even a fragment of a variant name (random tokens on the page may contain "zz", so
    # look for the names' distinctive parts, not two letters).
    lowered = page.lower()
    assert "zzalpha" not in lowered and "zzbeta" not in lowered and "-secret" not in lowered
    fields = form_fields(page)
    assert set(fields) == {"csrf", "key", "highlight_side", "action"}
    assert re.fullmatch(r"/a/[A-Za-z0-9_-]{24}", fields["action"])
    assert "sample" not in page.lower() and "variant" not in page.lower()
    assert 'name="winner" value="left"' in page and 'name="rating_right"' in page
    script = client.get("/static/app.js").text
    assert "variant" not in script.lower()
    again = form_fields(client.get(f"/c/{env.campaign.id}").text)
    assert again["action"] == fields["action"]  # a reload shows the same item
    assert again["key"] != fields["key"]  # but it is a new form


def test_a_vote_is_recorded_for_what_was_shown_and_the_next_item_follows(env: Env) -> None:
    client = signed_in(env.app, env.people[0][1])
    page = client.get(f"/c/{env.campaign.id}").text
    shown = output_texts(page)
    response = vote(
        client,
        page,
        winner="right",
        rating_left="2",
        rating_right="5",
        comment="Aは敬語が不自然",
        tags_left=["長すぎる"],
    )
    assert response.status_code == 303
    assert response.headers["location"] == f"/c/{env.campaign.id}"
    (row,) = _judgments(env)
    with env.store.engine.connect() as conn:
        outputs = dict(conn.execute(select(samples.c.id, samples.c.output)).all())
    winner_id = row["sample_a_id"] if row["winner"] == "a" else row["sample_b_id"]
    assert outputs[winner_id] == shown["right"]
    assert outputs[row["left_sample_id"]] == shown["left"]
    left_side = "a" if row["left_sample_id"] == row["sample_a_id"] else "b"
    right_side = "b" if left_side == "a" else "a"
    assert row[f"rating_{left_side}"] == 2 and row[f"rating_{right_side}"] == 5
    assert row["tags"] == [{"tag": "長すぎる", "side": left_side}]
    assert row["comment"] == "Aは敬語が不自然" and row["source"] == "human"
    following = client.get(f"/c/{env.campaign.id}").text
    assert form_fields(following)["action"] != form_fields(page)["action"]
    assert "あなた: 1件" in following and "直前の回答を修正する" in following


def test_a_resent_form_counts_once(env: Env) -> None:
    client = signed_in(env.app, env.people[0][1])
    page = client.get(f"/c/{env.campaign.id}").text
    first = vote(client, page, winner="left")
    second = vote(client, page, winner="left")  # the back button and send again
    assert first.status_code == second.status_code == 303
    assert len(_judgments(env)) == 1


def test_changing_an_answer_appends_a_superseding_judgment(env: Env) -> None:
    client = signed_in(env.app, env.people[0][1])
    page = client.get(f"/c/{env.campaign.id}").text
    action = form_fields(page)["action"]
    vote(client, page, winner="left", comment="最初の判断")
    edit_page = client.get(action).text
    assert "評価済みです" in edit_page and "最初の判断" in edit_page
    assert 'value="left" data-key="1" class="verdict chosen"' in edit_page
    assert form_fields(edit_page)["key"] != form_fields(page)["key"]  # a new form, a new key
    assert vote(client, edit_page, winner="tie", comment="やはり同等").status_code == 303
    old, new = _judgments(env)
    assert old["comment"] == "最初の判断" and old["winner"] in ("a", "b")
    assert new["supersedes_id"] == old["id"] and new["winner"] == "tie"
    assert humans.campaign_progress(env.store, env.campaign).judged == 1


def test_missing_verdict_or_bad_form_stores_nothing_and_explains(env: Env) -> None:
    client = signed_in(env.app, env.people[0][1], headers={"accept-language": "en"})
    page = client.get(f"/c/{env.campaign.id}").text
    response = vote(client, page, comment="まだ途中", rating_left="3")
    assert response.status_code == 400
    assert "Choose which answer is better" in response.text
    assert "まだ途中" in response.text  # what they typed is kept
    assert form_fields(response.text)["key"] == form_fields(page)["key"]
    forged = client.post(
        form_fields(page)["action"], data={"csrf": "forged", "key": "k", "winner": "left"}
    )
    assert forged.status_code == 400 and "The form expired" in forged.text
    assert _judgments(env) == []


def test_skip_hands_the_item_to_others_and_never_back(db_url: str, tmp_path: Path) -> None:
    with env_for(tmp_path / "p", db_url, overlap=1, questions=("一つだけ",)) as e:
        first = signed_in(e.app, e.people[0][1])
        page = first.get(f"/c/{e.campaign.id}").text
        fields = form_fields(page)
        skipped = first.post(
            fields["action"] + "/skip", data={"csrf": fields["csrf"]}, follow_redirects=False
        )
        assert skipped.status_code == 303
        assert "もうありません" in first.get(f"/c/{e.campaign.id}").text
        second = signed_in(e.app, e.people[1][1])
        assert form_fields(second.get(f"/c/{e.campaign.id}").text)["action"]
        assert _judgments(e) == []


def test_people_cannot_open_or_answer_each_others_items(env: Env) -> None:
    owner = signed_in(env.app, env.people[0][1])
    page = owner.get(f"/c/{env.campaign.id}").text
    action = form_fields(page)["action"]
    other = signed_in(env.app, env.people[1][1])
    assert other.get(action).status_code == 404
    other_csrf = form_fields(other.get(f"/c/{env.campaign.id}").text)["csrf"]
    stolen = other.post(action, data={"csrf": other_csrf, "key": "x", "winner": "left"})
    assert stolen.status_code == 404
    assert other.post(action + "/skip", data={"csrf": other_csrf}).status_code == 404
    assert all(j["annotator_id"] == env.people[1][0].id for j in _judgments(env))


def test_model_output_with_markup_is_shown_as_text(db_url: str, tmp_path: Path) -> None:
    replies = ["<script>window.__pwned=1</script>{last}", '<img src=x onerror="alert(1)">{last}']
    with env_for(tmp_path / "p", db_url, replies=replies) as e:
        client = signed_in(e.app, e.people[0][1])
        page = client.get(f"/c/{e.campaign.id}").text
        assert "<script>window" not in page and "<img src=x" not in page
        assert "&lt;script&gt;window.__pwned=1&lt;/script&gt;" in page
        assert "&lt;img src=x onerror=&#34;alert(1)&#34;&gt;" in page
        assert set(output_texts(page).values()) == {
            r.format(last=q) for r in replies for q in [_question(page)]
        }


def _question(page: str) -> str:
    found = re.search(r'<dl>\s*<dd class="text">([^<]+)</dd>', page)
    assert found
    return found.group(1)


def test_rating_mode_shows_one_output_and_needs_a_rating(db_url: str, tmp_path: Path) -> None:
    with env_for(tmp_path / "p", db_url, mode="rating", overlap=1) as e:
        client = signed_in(e.app, e.people[0][1])
        page = client.get(f"/c/{e.campaign.id}").text
        assert list(output_texts(page)) == ["left"]
        assert 'name="winner"' not in page and 'data-key="Enter"' in page
        assert vote(client, page).status_code == 400
        assert vote(client, page, rating_left="4", tags_left=["事実と違う"]).status_code == 303
        (row,) = _judgments(e)
        assert (row["rating_a"], row["winner"], row["tags"]) == (
            4,
            None,
            [{"tag": "事実と違う", "side": "a"}],
        )


def test_retrieved_passages_are_shown_once_and_inert(db_url: str, tmp_path: Path) -> None:
    with env_for(tmp_path / "p", db_url, contexts=True) as e:
        page = signed_in(e.app, e.people[0][1]).get(f"/c/{e.campaign.id}").text
        assert page.count("返品は30日以内") == 1  # same passages for both: under the input
        assert "FAQ &lt;i&gt;1&lt;/i&gt;" in page and "&lt;b&gt;です&lt;/b&gt;" in page


def test_marked_phrase_is_stored_with_its_output(env: Env) -> None:
    client = signed_in(env.app, env.people[0][1])
    page = client.get(f"/c/{env.campaign.id}").text
    right = output_texts(page)["right"]
    vote(
        client,
        page,
        winner="left",
        highlight=right[:3],
        highlight_side="right",
        tags_right=["never say this"],
    )
    (row,) = _judgments(env)
    right_side = "a" if row["left_sample_id"] == row["sample_b_id"] else "b"
    assert row["highlight"] == right[:3] and row["highlight_side"] == right_side


def test_finished_and_closed_campaigns_say_so(db_url: str, tmp_path: Path) -> None:
    with env_for(tmp_path / "p", db_url, overlap=1, questions=("一つだけ",)) as e:
        client = signed_in(e.app, e.people[0][1], headers={"accept-language": "en"})
        page = client.get(f"/c/{e.campaign.id}").text
        vote(client, page, winner="tie")
        done = client.get(f"/c/{e.campaign.id}").text
        assert "There is nothing more for you" in done and "you judged 1 items" in done
        humans.set_campaign_status(e.store, e.project, e.campaign.id, "closed")
        other = signed_in(e.app, e.people[1][1], headers={"accept-language": "en"})
        assert "This campaign is closed" in other.get(f"/c/{e.campaign.id}").text
        assert "nothing to judge right now" in other.get("/").text
        assert other.get("/c/99999").status_code == 404


def test_a_campaign_for_another_group_is_neither_listed_nor_served(env: Env) -> None:
    _, researcher_token = humans.add_annotator(env.store, env.project, "kenkyu", "researchers")
    spec = humans.CampaignSpec(name="research-only", groups=["researchers"])
    research = humans.create_campaign(env.store, env.project, env.run_id, spec)
    operator = signed_in(env.app, env.people[0][1])
    home = operator.get("/").text
    assert f'href="/c/{env.campaign.id}"' in home and f'href="/c/{research.id}"' not in home
    refused = operator.get(f"/c/{research.id}")
    assert (
        refused.status_code == 403
        and "このキャンペーンは別のグループの方が対象です" in refused.text
    )
    with env.store.engine.connect() as conn:
        handed_out = conn.execute(
            select(assignments.c.id).where(assignments.c.campaign_id == research.id)
        ).all()
    assert handed_out == []  # refusing handed nothing out
    researcher = signed_in(env.app, researcher_token)
    assert f'href="/c/{research.id}"' in researcher.get("/").text
    assert "action" in form_fields(researcher.get(f"/c/{research.id}").text)
    admin = signed_in(env.app, env.admin_token)  # group pdm: admins may open it anyway
    assert "action" in form_fields(admin.get(f"/c/{research.id}").text)
