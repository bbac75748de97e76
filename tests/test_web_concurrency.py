"""Many people judging at once through a real server (uvicorn on 127.0.0.1), each sending
every form twice at the same instant: nothing lost, nothing counted twice."""

from __future__ import annotations

# ruff: noqa: F811  (pytest fixtures imported from humans_env / pg are test arguments)
import threading
from collections import Counter
from pathlib import Path

import httpx
import pytest
from humans_env import ServerThread, db_url, env_for, form_fields  # noqa: F401
from pg import pg_session_url  # noqa: F401
from sqlalchemy import select

from hyouka import humans
from hyouka.store.schema import assignments, campaign_items, judgments
from hyouka.web import WebSettings

PEOPLE = 24
OVERLAP = 3


@pytest.mark.slow
@pytest.mark.parametrize("inline", [None, False], ids=["chosen", "threads"])
def test_a_crowd_of_double_clickers_loses_nothing(
    db_url: str, tmp_path: Path, inline: bool | None
) -> None:
    """``chosen``: where the server puts the queries by itself (on the event loop for SQLite
    and this near PostgreSQL); ``threads``: on the thread pool, as for a far database."""
    settings = WebSettings(inline=inline)
    with (
        env_for(
            tmp_path / "p",
            db_url,
            n_variants=3,
            overlap=OVERLAP,
            people=PEOPLE,
            settings=settings,
        ) as e,
        ServerThread(e.app) as server,
    ):
        statuses: Counter[int] = Counter()
        errors: list[BaseException] = []
        lock = threading.Lock()

        def send_twice(client: httpx.Client, fields: dict[str, str]) -> None:
            barrier = threading.Barrier(2)

            def send() -> None:
                barrier.wait()
                data = {
                    "csrf": fields["csrf"],
                    "key": fields["key"],
                    "winner": "left",
                    "rating_left": "4",
                    "comment": "同時送信",
                }
                response = client.post(fields["action"], data=data)
                with lock:
                    statuses[response.status_code] += 1

            pair = [threading.Thread(target=send) for _ in range(2)]
            for t in pair:
                t.start()
            for t in pair:
                t.join()

        def person(token: str) -> None:
            try:
                with httpx.Client(base_url=server.url, timeout=30) as client:
                    assert client.get(f"/signin/{token}").status_code == 303
                    while True:
                        page = client.get(f"/c/{e.campaign.id}")
                        assert page.status_code == 200
                        fields = form_fields(page.text)
                        if "action" not in fields:
                            return  # "nothing more for you"
                        send_twice(client, fields)
            except BaseException as exc:  # reported below
                errors.append(exc)

        threads = [threading.Thread(target=person, args=(tok,)) for _, tok in e.people]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=180)
        assert not errors, errors[:3]
        items = 4 * 3
        assert statuses == {303: 2 * items * OVERLAP}  # both copies answered, as a redirect
        with e.store.engine.connect() as conn:
            rows = conn.execute(
                select(judgments.c.item_id, judgments.c.annotator_id, judgments.c.comment).where(
                    judgments.c.campaign_id == e.campaign.id
                )
            ).all()
            counts = conn.execute(
                select(campaign_items.c.assigned_count, campaign_items.c.done_count).where(
                    campaign_items.c.campaign_id == e.campaign.id
                )
            ).all()
            done = (
                conn.execute(
                    select(assignments.c.status).where(assignments.c.campaign_id == e.campaign.id)
                )
                .scalars()
                .all()
            )
        assert len(rows) == items * OVERLAP  # one row per form: no loss, no duplicate
        assert max(Counter((i, a) for i, a, _ in rows).values()) == 1
        assert {c for _, _, c in rows} == {"同時送信"}
        assert [tuple(c) for c in counts] == [(OVERLAP, OVERLAP)] * items
        assert Counter(done) == {"done": items * OVERLAP}
        assert humans.campaign_progress(e.store, e.campaign).fraction == 1.0
