"""The support assistant of 「そらまめ通販」 (a made-up online shop), as an app function.

One turn of the agent: read the conversation (``case.messages``), look the order up when the
customer gives an order number, and answer the next turn with the variant's system prompt.

Tools: ``lookup_order`` reads the fake order book below (no network). How the tool is called
depends on ``params.tools``:

* ``router`` (the default here): the app finds an order number (A + 4 digits) in the
  customer's turns and calls ``lookup_order`` itself (``ctx.call_tool``), then the model writes
  the reply with the result in its prompt. The tiny local model cannot call tools: llama.cpp
  ignores the tools for SmolLM2-135M, whose chat template has none.
* ``model``: the model is offered the tools (``ctx.generate(..., tools=TOOLS)``) and decides;
  use it with a model that calls tools (an OpenAI or Anthropic model, or a Qwen 2.5 GGUF).

Every tool call and its result is stored with the sample (its trajectory): the judging screen
shows it collapsed under the reply, and the ``tool-called`` / ``tool-args`` checks read it.
"""

from __future__ import annotations

import json
import re
from typing import Any

from hyouka.providers.python_app import AppResult

# The fake order book: what the look-up tool answers.
ORDERS: dict[str, dict[str, Any]] = {
    "A1001": {"item": "加湿器 KX-200", "status": "発送済み", "carrier": "ヤマネコ便",
              "eta": "12月4日", "tracking": "5521-0087-3310"},
    "A1002": {"item": "電気ケトル 1.0L", "status": "準備中", "eta": "12月6日"},
    "A1003": {"item": "ダウンジャケット M", "status": "配達完了", "delivered": "11月28日"},
    "A1004": {"item": "ワイヤレスイヤホン", "status": "キャンセル済み",
              "refund": "11月30日に返金済み"},
    "A1005": {"item": "炊飯器 5合", "status": "発送済み", "carrier": "ヤマネコ便",
              "eta": "12月3日", "tracking": "5521-0087-4471"},
    "A1006": {"item": "本棚 3段", "status": "お届け日調整中",
              "note": "大型商品のため配送業者から連絡します"},
}  # fmt: skip

TOOLS = [
    {
        "name": "lookup_order",
        "description": "注文番号から注文の状況（配送状況・お届け予定日など）を調べる",
        "parameters": {
            "type": "object",
            "properties": {"order_id": {"type": "string", "pattern": "^A[0-9]{4}$"}},
            "required": ["order_id"],
        },
    }
]

_ORDER_ID = re.compile(r"A[0-9]{4}")


def lookup_order(order_id: str) -> dict[str, Any]:
    found = ORDERS.get(order_id.strip().upper())
    return (
        {"order_id": order_id, **found}
        if found
        else {"order_id": order_id, "error": "見つかりません"}
    )


def _order_ids(messages: list[dict[str, Any]]) -> list[str]:
    """Order numbers the customer wrote, the latest last (each once)."""
    ids: list[str] = []
    for turn in messages:
        if turn["role"] == "user":
            for found in _ORDER_ID.findall(turn.get("content") or ""):
                if found in ids:
                    ids.remove(found)
                ids.append(found)
    return ids


async def answer(case: Any, params: dict[str, Any], ctx: Any) -> str | AppResult:
    system = {"role": "system", "content": params["system"]}
    history = [t for t in case.messages if t["role"] != "system"]
    sampling = {k: params[k] for k in ("temperature", "max_tokens") if k in params}
    if params.get("tools", "router") == "model":
        messages = [system, *history]
        for _ in range(3):  # a small agent loop: call tools until the model answers
            gen = await ctx.generate(messages, tools=TOOLS, **sampling)
            if not gen.tool_calls:
                return str(gen.text)
            messages.append({"role": "assistant", "content": gen.text,
                             "tool_calls": [c.as_dict() for c in gen.tool_calls]})  # fmt: skip
            for call in gen.tool_calls:
                result = lookup_order(**(call.arguments or {"order_id": ""}))
                messages.append(ctx.tool_result(call, result))
        return "恐れ入りますが、担当者からご連絡いたします。"
    steps: list[dict[str, Any]] = []
    ids = _order_ids(history)
    if ids:
        steps = ctx.call_tool("lookup_order", {"order_id": ids[-1]}, lookup_order)
        found = json.loads(steps[-1]["content"])
        # The tiny model reads the result best as one line of facts in its instructions.
        facts = "、".join(f"{k}: {v}" for k, v in found.items())
        system = {"role": "system", "content": f"{params['system']}\n注文の照会結果: {facts}"}
    # The local model's chat template knows no tool turns: the result goes in the system
    # prompt, and the trajectory stored with the sample shows the call where it happened.
    gen = await ctx.generate([system, *history], **sampling)
    reply = {"role": "assistant", "content": gen.text}
    return AppResult(output=gen.text, trajectory=[*case.messages, *steps, reply])
