"""Conversations and tool calls (issue 15): loaders, providers over real HTTP against the fake
OpenAI and Anthropic servers, tool checks, app agent loops and simulated conversations."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from hyouka.api import Workspace
from hyouka.datasets import load_dataset
from hyouka.errors import DatasetError
from hyouka.providers.anthropic import AnthropicProvider
from hyouka.providers.base import GenerateRequest
from hyouka.providers.openai_compat import OpenAICompatProvider
from hyouka.store.schema import cases, sample_conversations, samples, scores
from hyouka.testing import FakeServer
from tests.conftest import write_project

TURNS = [
    {"role": "system", "content": "丁寧に答える。"},
    {
        "role": "user",
        "content": "注文が届きません",
        "name": "tanaka",
        "timestamp": "2026-12-01T10:00",
    },
    {"role": "assistant", "content": "注文番号を教えてください。"},
    {"role": "user", "content": "A1234 です"},
]
TOOLS = [
    {
        "name": "lookup_order",
        "description": "注文を調べる",
        "parameters": {
            "type": "object",
            "properties": {"order_id": {"type": "string", "pattern": "^A[0-9]{4}$"}},
            "required": ["order_id"],
        },
    }
]


# -- loaders -------------------------------------------------------------------------------


def test_jsonl_yaml_csv_load_the_same_conversation(tmp_path: Path) -> None:
    row = {
        "id": "c1",
        "messages": TURNS,
        "tools": TOOLS,
        "expected_tool_calls": [{"name": "lookup_order", "arguments": {"order_id": "A1234"}}],
    }
    (tmp_path / "d.jsonl").write_text(json.dumps(row, ensure_ascii=False) + "\n", "utf-8")
    import yaml

    (tmp_path / "d.yaml").write_text(yaml.safe_dump([row], allow_unicode=True), "utf-8")
    import csv

    with (tmp_path / "d.csv").open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(["id", "messages", "tools", "expected_tool_calls"])
        w.writerow(
            [
                "c1",
                json.dumps(TURNS, ensure_ascii=False),
                json.dumps(TOOLS),
                json.dumps(row["expected_tool_calls"]),
            ]
        )
    loaded = [load_dataset("d", tmp_path / f"d.{ext}") for ext in ("jsonl", "yaml", "csv")]
    for ds in loaded:
        assert not ds.problems, ds.problems
        (case,) = ds.cases
        assert case.messages is not None and [t["role"] for t in case.messages] == [
            "system",
            "user",
            "assistant",
            "user",
        ]
        assert case.messages[1]["name"] == "tanaka"
        assert case.messages[1]["timestamp"] == "2026-12-01T10:00"
        assert case.tools is not None and case.tools[0]["name"] == "lookup_order"
    assert len({ds.cases[0].hash for ds in loaded}) == 1


def test_single_turn_cases_keep_their_hash() -> None:
    from hyouka.datasets import case_from_mapping

    case = case_from_mapping({"id": "x", "vars": {"q": "a"}})
    assert "messages" not in case.content()
    # the hash of this content before issue 15 (conversation fields enter only when given)
    assert set(case.content()) == {
        "id",
        "vars",
        "expected",
        "checks",
        "aspect",
        "tags",
        "gold_ids",
        "metadata",
    }


def test_bad_turns_name_the_line_and_turn(tmp_path: Path) -> None:
    lines = [
        {"id": "ok", "messages": [{"role": "user", "content": "hi"}]},
        {
            "id": "bad-role",
            "messages": [{"role": "user", "content": "a"}, {"role": "bot", "content": "b"}],
        },
        {"id": "no-content", "messages": [{"role": "user"}]},
        {"id": "empty", "messages": []},
        {
            "id": "bad-tool",
            "messages": [{"role": "user", "content": "a"}],
            "tools": [{"description": "x"}],
        },
    ]
    path = tmp_path / "d.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in lines), "utf-8")
    ds = load_dataset("d", path)
    assert [c.id for c in ds.cases] == ["ok"]
    problems = [str(p) for p in ds.problems]
    assert (
        f"{path}:2" in problems[0] and "messages[1].role" in problems[0] and "'bot'" in problems[0]
    )
    assert f"{path}:3" in problems[1] and "messages[0].content is missing" in problems[1]
    assert f"{path}:4" in problems[2] and "non-empty list" in problems[2]
    assert f"{path}:5" in problems[3] and "tools[0].name" in problems[3]


def test_yaml_error_points_at_the_turn_line(tmp_path: Path) -> None:
    path = tmp_path / "d.yaml"
    path.write_text(
        "- id: a\n"
        "  messages:\n"
        "    - role: user\n"
        "      content: こんにちは\n"
        "    - role: assistant\n"
        "      content: はい\n"
        "    - role: operator\n"
        "      content: 変な役割\n",
        "utf-8",
    )
    ds = load_dataset("d", path)
    (problem,) = ds.problems
    assert problem.location.line == 7, str(problem)
    assert "messages[2].role" in problem.message


def test_csv_bad_json_column_names_the_line(tmp_path: Path) -> None:
    path = tmp_path / "d.csv"
    path.write_text(
        'id,messages\na,"[{""role"": ""user"", ""content"": ""x""}]"\nb,[{oops\n', "utf-8"
    )
    ds = load_dataset("d", path)
    assert [c.id for c in ds.cases] == ["a"]
    (problem,) = ds.problems
    assert problem.location.line == 3 and "column 'messages' must hold JSON" in problem.message


def test_a_dataset_of_only_bad_conversations_is_an_error(tmp_path: Path) -> None:
    path = tmp_path / "d.jsonl"
    path.write_text('{"messages": "not a list"}\n', "utf-8")
    ds = load_dataset("d", path)
    with pytest.raises(DatasetError, match="no row is good"):
        ds.raise_for_problems()


# -- providers over real HTTP ----------------------------------------------------------------


def _request(text: str, tools: Any = TOOLS, history: Any = None) -> GenerateRequest:
    from hyouka.convo.messages import to_messages

    turns = history or [*TURNS[:-1], {"role": "user", "content": text}]
    return GenerateRequest(messages=to_messages(turns), model="m", seed=7, tools=tuple(tools))


@pytest.mark.parametrize("api", ["openai", "anthropic"])
def test_history_is_sent_as_messages_and_tool_calls_come_back(api: str) -> None:
    async def go(srv: FakeServer) -> None:
        prov: Any = (
            OpenAICompatProvider("p", model="m", base_url=srv.base_url)
            if api == "openai"
            else AnthropicProvider("p", model="m", base_url=srv.url)
        )
        try:
            gen = await prov.generate(
                _request('A1234 です [[call:lookup_order {"order_id": "A1234"}]]')
            )
            assert gen.tool_calls is not None
            assert gen.finish_reason == ("tool_calls" if api == "openai" else "tool_use")
            (call,) = gen.tool_calls
            assert (call.name, call.arguments, call.error) == (
                "lookup_order",
                {"order_id": "A1234"},
                None,
            )
            # the agent loop's next call: the assistant's call and the tool's result
            history = [
                *TURNS[:-1],
                {"role": "user", "content": "A1234 です"},
                {"role": "assistant", "content": "", "tool_calls": [call.as_dict()]},
                {"role": "tool", "tool_call_id": call.id, "content": '{"status": "shipped"}'},
            ]
            second = await prov.generate(_request("", history=history))
            assert second.tool_calls is None
            assert second.text == 'ツール結果: {"status": "shipped"}'
        finally:
            await prov.aclose()

    with FakeServer() as srv:
        asyncio.run(go(srv))
        first, second = (c.body for c in srv.calls())
    if api == "openai":
        roles = [m["role"] for m in first["messages"]]
        assert roles == ["system", "user", "assistant", "user"]
        assert first["messages"][1]["name"] == "tanaka"
        assert "timestamp" not in first["messages"][1]
        assert first["tools"][0]["function"]["name"] == "lookup_order"
        assert second["messages"][-2]["tool_calls"][0]["function"]["name"] == "lookup_order"
        assert second["messages"][-1] == {
            "role": "tool",
            "tool_call_id": second["messages"][-2]["tool_calls"][0]["id"],
            "content": '{"status": "shipped"}',
        }
    else:
        assert first["system"] == "丁寧に答える。"
        assert [m["role"] for m in first["messages"]] == ["user", "assistant", "user"]
        assert first["tools"][0]["input_schema"]["required"] == ["order_id"]
        assert second["messages"][-2]["content"][0]["type"] == "tool_use"
        assert second["messages"][-1]["content"][0]["type"] == "tool_result"


@pytest.mark.parametrize("api", ["openai", "anthropic"])
def test_malformed_tool_json_is_recorded_with_the_raw_text(api: str) -> None:
    async def go(srv: FakeServer) -> Any:
        prov: Any = (
            OpenAICompatProvider("p", model="m", base_url=srv.base_url)
            if api == "openai"
            else AnthropicProvider("p", model="m", base_url=srv.url)
        )
        try:
            return await prov.generate(_request('x [[call:lookup_order {"order_id": A12]]'))
        finally:
            await prov.aclose()

    with FakeServer() as srv:
        gen = asyncio.run(go(srv))
    (call,) = gen.tool_calls
    assert call.arguments is None
    assert call.raw == '{"order_id": A12'
    assert call.error is not None and (
        "not valid JSON" in call.error or "not a JSON object" in call.error
    )


# -- runs: tool checks, stored calls, agent loops --------------------------------------------


def _conversation_rows(ws: Workspace) -> dict[str, dict[str, Any]]:
    q = (
        select(
            cases.c.case_key,
            samples.c.sample_index,
            samples.c.output,
            samples.c.status,
            sample_conversations.c.tool_calls,
            sample_conversations.c.trajectory,
            sample_conversations.c.stop_reason,
            sample_conversations.c.turns,
            sample_conversations.c.goal_reached,
        )
        .select_from(
            samples.join(cases, cases.c.id == samples.c.case_id).outerjoin(sample_conversations)
        )
        .where(samples.c.role == "app")
    )
    with ws.store.engine.connect() as conn:
        return {f"{r.case_key}#{r.sample_index}": dict(r._mapping) for r in conn.execute(q)}


def _scores(ws: Workspace) -> dict[tuple[str, str], bool | None]:
    q = select(cases.c.case_key, scores.c.metric, scores.c.passed, scores.c.reason).select_from(
        scores.join(samples, samples.c.id == scores.c.sample_id).join(
            cases, cases.c.id == samples.c.case_id
        )
    )
    with ws.store.engine.connect() as conn:
        return {(r.case_key, r.metric): r.passed for r in conn.execute(q)}


@pytest.mark.parametrize("api", ["openai", "anthropic"])
def test_run_stores_tool_calls_and_scores_tool_checks(tmp_path: Path, api: str) -> None:
    rows = [
        {
            "id": "right",
            "messages": [
                {"role": "user", "content": 'A1234 [[call:lookup_order {"order_id": "A1234"}]]'}
            ],
            "expected_tool_calls": [{"name": "lookup_order", "arguments": {"order_id": "A1234"}}],
        },
        {
            "id": "wrong-args",
            "messages": [{"role": "user", "content": 'B [[call:lookup_order {"order_id": "B9"}]]'}],
            "expected_tool_calls": [{"name": "lookup_order", "arguments": {"order_id": "A1234"}}],
        },
        {
            "id": "broken",
            "messages": [{"role": "user", "content": "C [[call:lookup_order {oops]]"}],
            "expected_tool_calls": [{"name": "lookup_order"}],
        },
        {"id": "none", "messages": [{"role": "user", "content": "こんにちは"}]},
    ]
    with FakeServer() as srv:
        provider = (
            {"type": "openai", "base_url": srv.base_url}
            if api == "openai"
            else {"type": "anthropic", "base_url": srv.url}
        )
        cfg = {
            "name": "tools",
            "providers": {"srv": {**provider, "model": "fake"}},
            "variants": {"v": {"provider": "srv", "system": "あなたは窓口です。", "tools": TOOLS}},
            "checks": [
                {"type": "tool-called", "value": "lookup_order", "metric": "called"},
                {"type": "not-tool-called", "value": "cancel_order", "metric": "no-cancel"},
                {"type": "tool-args", "tool": "lookup_order", "metric": "args"},
                {
                    "type": "tool-args",
                    "tool": "lookup_order",
                    "metric": "schema",
                    "schema": TOOLS[0]["parameters"],
                },
                {"type": "tool-sequence", "metric": "seq"},
            ],
        }
        root = write_project(tmp_path, cfg, rows)
        ws = Workspace.open(root)
        result = ws.run()
        sent = srv.calls()[0].body
    assert result.progress.errors == 0
    assert sent["messages"][0]["role"] == "system" if api == "openai" else sent["system"]
    got = _scores(ws)
    assert got[("right", "called")] is True and got[("right", "args")] is True
    assert got[("right", "schema")] is True and got[("right", "seq")] is True
    assert got[("wrong-args", "args")] is False and got[("wrong-args", "schema")] is False
    assert got[("broken", "called")] is True and got[("broken", "args")] is False
    assert got[("none", "called")] is False and got[("none", "no-cancel")] is True
    stored = _conversation_rows(ws)
    assert stored["broken#0"]["status"] == "ok"
    (bad,) = stored["broken#0"]["tool_calls"]
    assert bad["raw"] == "{oops" and "error" in bad
    assert stored["none#0"]["tool_calls"] is None  # no row for a sample without calls
    # a rerun is served from the cache, tool calls included
    again = ws.run(resume=None)
    assert again.progress.cached == 4
    assert _scores(ws)[("right", "args")] is True


AGENT = """
from hyouka.providers.python_app import AppResult

ORDERS = {"A1234": {"status": "発送済み", "eta": "12月3日"}}


async def answer(case, params, ctx):
    messages = list(case.messages)
    for _ in range(3):
        gen = await ctx.generate(messages, tools=case.tools)
        if not gen.tool_calls:
            return gen.text
        messages.append({"role": "assistant", "content": gen.text,
                         "tool_calls": [c.as_dict() for c in gen.tool_calls]})
        for call in gen.tool_calls:
            found = ORDERS.get((call.arguments or {}).get("order_id"), "not found")
            messages.append(ctx.tool_result(call, found))
    return "諦めました"
"""


def test_app_agent_loop_stores_the_whole_trajectory(tmp_path: Path) -> None:
    rows = [
        {
            "id": "loop",
            "tools": TOOLS,
            "messages": [
                {
                    "role": "user",
                    "content": '届きません A1234 [[call:lookup_order {"order_id": "A1234"}]]',
                }
            ],
        }
    ]
    with FakeServer() as srv:
        cfg = {
            "name": "agent",
            "providers": {"srv": {"type": "openai", "base_url": srv.base_url, "model": "f"}},
            "variants": {"agent": {"app": "agent_app:answer", "provider": "srv"}},
            "checks": [
                {"type": "tool-sequence", "value": ["lookup_order"], "metric": "seq"},
                {"type": "contains", "value": "発送済み", "metric": "said"},
            ],
        }
        root = write_project(tmp_path, cfg, rows)
        (root / "agent_app.py").write_text(AGENT, "utf-8")
        ws = Workspace.open(root)
        result = ws.run()
    assert result.progress.errors == 0
    row = _conversation_rows(ws)["loop#0"]
    assert row["output"].startswith("ツール結果: ") and "発送済み" in row["output"]
    assert [t["role"] for t in row["trajectory"]] == ["user", "assistant", "tool", "assistant"]
    (call,) = row["tool_calls"]
    assert call["name"] == "lookup_order" and call["result"]["status"] == "発送済み"
    assert row["trajectory"][1]["tool_calls"][0]["result"]["eta"] == "12月3日"
    got = _scores(ws)
    assert got[("loop", "seq")] is True and got[("loop", "said")] is True


# -- simulated conversations -----------------------------------------------------------------


def _sim_responder(body: dict[str, Any]) -> str:
    """The fake for both sides: the simulated user (its system prompt says so) and the
    variant. Answers depend on the seed, so dialogues differ across sample indexes."""
    seed = body.get("seed")
    system = next((m["content"] for m in body["messages"] if m["role"] == "system"), "")
    turns = sum(1 for m in body["messages"] if m["role"] != "system")
    if "利用者を演じます" in system:
        if turns >= 5 and seed is not None and seed % 2 == 0:
            return "ありがとうございました [[GOAL]]"
        if turns >= 7:
            return "もういいです [[GIVE_UP]]"
        return f"注文について質問します (u{seed})"
    return f"承知しました (a{seed})"


def _sim_project(tmp_path: Path, base_url: str, samples_n: int = 3) -> Workspace:
    rows = [
        {
            "id": "sim1",
            "simulate": {"persona": "急いでいる会社員", "goal": "配達日を知る", "language": "ja"},
        }
    ]
    cfg = {
        "name": "sim",
        "samples": samples_n,
        "seed": 11,
        "providers": {"srv": {"type": "openai", "base_url": base_url, "model": "f"}},
        "variants": {"v": {"provider": "srv", "system": "あなたは窓口です。"}},
        "datasets": {
            "chats": {"path": "data/cases.jsonl", "simulate": {"provider": "srv", "max_turns": 4}}
        },
        "checks": [
            {"type": "goal-reached", "metric": "goal"},
            {"type": "turns-to-goal", "threshold": 3, "metric": "ttg"},
        ],
    }
    root = write_project(tmp_path, cfg, rows, dataset_name="chats")
    return Workspace.open(root)


def test_simulated_conversation_is_reproducible_and_differs_across_samples(
    tmp_path: Path,
) -> None:
    with FakeServer() as srv:
        srv.set_responder(_sim_responder)
        ws1 = _sim_project(tmp_path / "a", srv.base_url)
        r1 = ws1.run(use_cache=False)
        ws2 = _sim_project(tmp_path / "b", srv.base_url)
        r2 = ws2.run(use_cache=False)
    assert r1.progress.errors == r2.progress.errors == 0
    one, two = _conversation_rows(ws1), _conversation_rows(ws2)
    assert [one[k]["trajectory"] for k in sorted(one)] == [
        two[k]["trajectory"] for k in sorted(two)
    ]
    trajectories = [
        json.dumps(one[f"sim1#{k}"]["trajectory"], ensure_ascii=False) for k in range(3)
    ]
    assert len(set(trajectories)) == 3  # each sample index its own dialogue
    for k in range(3):
        t = one[f"sim1#{k}"]["trajectory"]
        assert t[0]["role"] == "user" and t[1]["role"] == "assistant"
        assert one[f"sim1#{k}"]["stop_reason"] in {"goal", "gave_up", "max_turns"}
        assert (
            one[f"sim1#{k}"]["output"] == [x for x in t if x["role"] == "assistant"][-1]["content"]
        )
    reasons = {one[f"sim1#{k}"]["stop_reason"] for k in range(3)}
    assert reasons <= {"goal", "gave_up", "max_turns"}
    got = _scores(ws1)
    assert ("sim1", "goal") in got


def _judging_responder(body: dict[str, Any]) -> Any:
    from hyouka.testing.fake_calls import default_responder

    text = json.dumps(body.get("messages"), ensure_ascii=False)
    if "採点者" in text:
        return '{"reason": "丁寧", "score": 4}'
    return default_responder(body)


def test_judges_see_the_conversation_tool_calls_and_results(tmp_path: Path) -> None:
    rows = [
        {
            "id": "loop",
            "tools": TOOLS,
            "messages": [
                {"role": "user", "content": "荷物が届きません"},
                {"role": "assistant", "content": "注文番号をお願いします"},
                {"role": "user", "content": 'A1234 [[call:lookup_order {"order_id": "A1234"}]]'},
            ],
        }
    ]
    with FakeServer() as srv:
        srv.set_responder(_judging_responder)
        cfg = {
            "name": "judged",
            "providers": {"srv": {"type": "openai", "base_url": srv.base_url, "model": "f"}},
            "variants": {"agent": {"app": "agent_app:answer", "provider": "srv"}},
            "checks": [
                {"type": "judge-dialogue", "judge": "srv", "rubric": "顧客の問題を丁寧に解決したか",
                 "metric": "dialogue"},
                {"type": "judge-rubric", "judge": "srv", "metric": "elyza"},
            ],
        }  # fmt: skip
        root = write_project(tmp_path, cfg, rows)
        (root / "agent_app.py").write_text(AGENT, "utf-8")
        ws = Workspace.open(root)
        result = ws.run()
        prompts = [c.last_user for c in srv.calls() if "採点者" in c.last_user]
    assert result.progress.errors == 0
    assert len(prompts) == 2
    dialogue = next(p for p in prompts if "会話全体" in p)
    assert "[0] ユーザー: 荷物が届きません" in dialogue
    assert "[1] アシスタント: 注文番号をお願いします" in dialogue
    assert 'ツール呼び出し lookup_order({"order_id": "A1234"})' in dialogue
    assert "発送済み" in dialogue  # the tool's result
    elyza = next(p for p in prompts if "会話全体" not in p)
    assert "[1] アシスタント: 注文番号をお願いします" in elyza  # the question is the history
    assert "lookup_order" in elyza  # the reply's tool call follows its text
    got = _scores(ws)
    assert got[("loop", "dialogue")] is None or got[("loop", "dialogue")] in (True, False)
    with ws.store.engine.connect() as conn:
        found = conn.execute(select(scores.c.metric, scores.c.value).where(scores.c.status == "ok"))
        values = {r.metric: r.value for r in found}
    assert values["dialogue"] == 4.0


def test_conversations_round_trip_in_sqlite_and_postgres(tmp_path: Path, store_url: str) -> None:
    """Tool calls stored (migration 0009) and read back by the cache and by rescoring, in both
    stores."""
    call = '[[call:lookup_order {"order_id": "A1234"}]]'
    rows = [
        {
            "id": "t",
            "messages": [{"role": "user", "content": f"x {call}"}],
            "expected_tool_calls": [{"name": "lookup_order", "arguments": {"order_id": "A1234"}}],
        }
    ]
    with FakeServer() as srv:
        cfg = {
            "name": "rt",
            "providers": {"srv": {"type": "openai", "base_url": srv.base_url, "model": "f"}},
            "variants": {"v": {"provider": "srv", "system": "s", "tools": TOOLS}},
            "checks": [{"type": "tool-args", "tool": "lookup_order", "metric": "args"}],
        }
        root = write_project(tmp_path / "p", cfg, rows)
        if store_url.startswith("postgresql"):
            from hyouka.store.db import create, upgrade

            upgrade(create(store_url))  # `hyouka db upgrade`: runs 0009 on PostgreSQL
        ws = Workspace.open(root, store_url)
        ws.run()
        cached = ws.run(resume=None)
        report = ws.score("latest")
    assert cached.progress.cached == 1
    assert report is not None
    got = _conversation_rows(ws)
    assert got["t#0"]["tool_calls"][0]["arguments"] == {"order_id": "A1234"}
    with ws.store.engine.connect() as conn:
        values = [
            r.passed for r in conn.execute(select(scores.c.passed).where(scores.c.metric == "args"))
        ]
    assert values == [True, True]
    ws.close()


def test_a_prompt_template_is_not_checked_against_conversation_cases(tmp_path: Path) -> None:
    """Conversation cases use a variant's system template only: its `prompt` reading a var
    they lack is no preflight error; a single-turn case lacking it still is."""
    from hyouka.errors import ConfigError

    cfg = {
        "name": "pf",
        "providers": {"e": {"type": "echo"}},
        "variants": {"v": {"provider": "e", "system": "窓口です", "prompt": "{{ question }}"}},
    }
    chat = {"id": "chat", "messages": [{"role": "user", "content": "こんにちは"}]}
    ws = Workspace.open(write_project(tmp_path / "ok", cfg, [chat]))
    result = ws.run()
    assert result.progress.errors == 0
    assert _conversation_rows(ws)["chat#0"]["output"] == "こんにちは"
    mixed = write_project(tmp_path / "mixed", cfg, [chat, {"id": "flat", "vars": {"q": "x"}}])
    with pytest.raises(ConfigError, match="'question' is undefined"):
        Workspace.open(mixed).run()
