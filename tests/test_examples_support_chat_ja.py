"""The support-chat-ja example (issue 15): its conversations load, and the whole project runs
with the local provider swapped for the fake OpenAI server (real HTTP): tool calls to the fake
order book are stored, checks read them, simulated customers talk for up to three turns.
The example's run on the real local model is measured in docs/conversations.md."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import select

from hyouka.api import Workspace
from hyouka.datasets import load_dataset
from hyouka.projects import copy_example
from hyouka.store.schema import cases, sample_conversations, samples, scores
from hyouka.testing import FakeServer


def test_the_conversations_are_well_formed() -> None:
    import hyouka

    folder = Path(hyouka.__file__).parent / "examples" / "support_chat_ja"
    chats = load_dataset("chats", folder / "data" / "conversations.jsonl")
    sims = load_dataset("simulated", folder / "data" / "simulated.jsonl")
    assert not chats.problems and not sims.problems
    assert len(chats.cases) == 10 and len(sims.cases) == 3
    assert all(c.messages and c.messages[-1]["role"] == "user" for c in chats.cases)
    assert all(c.simulate and c.simulate["language"] == "ja" for c in sims.cases)


def _responder(body: dict[str, Any]) -> str:
    system = next((m["content"] for m in body["messages"] if m["role"] == "system"), "")
    if "お客様" in system and "演じます" in system:  # the simulated customer
        return (
            "わかりました。ありがとうございます [[GOAL]]"
            if body.get("seed", 0) % 2
            else "まだですか？"
        )
    facts = system.partition("注文の照会結果: ")[2]
    return f"お待たせいたしました。{facts or '注文番号を教えていただけますか。'}"


def test_the_example_runs_with_tool_calls_and_simulated_customers(tmp_path: Path) -> None:
    root = copy_example("support-chat-ja", tmp_path / "scj")
    config = yaml.safe_load((root / "hyouka.yaml").read_text("utf-8"))
    with FakeServer() as srv:
        srv.set_responder(_responder)
        config["providers"]["local"] = {"type": "openai", "base_url": srv.base_url, "model": "f"}
        (root / "hyouka.yaml").write_text(yaml.safe_dump(config, allow_unicode=True), "utf-8")
        ws = Workspace.open(root)
        result = ws.run()
    assert result.progress.errors == 0
    assert result.progress.done == (10 + 3) * 2
    q = (
        select(cases.c.case_key, sample_conversations.c.tool_calls,
               sample_conversations.c.stop_reason, sample_conversations.c.trajectory)
        .select_from(samples.join(cases, cases.c.id == samples.c.case_id)
                     .outerjoin(sample_conversations))
        .where(samples.c.role == "app")
    )  # fmt: skip
    with ws.store.engine.connect() as conn:
        rows = conn.execute(q).all()
        passed = {
            (r.case_key, r.metric): r.passed
            for r in conn.execute(
                select(cases.c.case_key, scores.c.metric, scores.c.passed).select_from(
                    scores.join(samples, samples.c.id == scores.c.sample_id).join(
                        cases, cases.c.id == samples.c.case_id
                    )
                )
            )
        }
    by_case = {r.case_key: r for r in rows}
    (call,) = by_case["delay-shipped"].tool_calls
    assert call["arguments"] == {"order_id": "A1001"} and call["result"]["eta"] == "12月4日"
    assert by_case["unknown-order"].tool_calls[0]["result"]["error"] == "見つかりません"
    assert by_case["no-order-number"].tool_calls is None
    assert passed[("delay-shipped", "tool-args")] is True
    assert passed[("delay-shipped", "tool-sequence")] is True
    assert passed[("tracking-number", "contains")] is True  # the fact reached the reply
    assert passed[("no-order-number", "not-tool-called")] is True
    sim = by_case["sim-delay"]
    assert sim.stop_reason in {"goal", "gave_up", "max_turns"}
    assert sim.trajectory[0]["content"].startswith("加湿器がまだ届かない")
    assert ("sim-delay", "goal-reached") in passed
