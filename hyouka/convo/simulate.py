"""Simulated conversations: a simulated user talks with the variant, one dialogue per sample.

A dataset with a ``simulate:`` block (:class:`~hyouka.config.SimulateConfig`) is run this way:
for each sample, the simulated user (an LLM on ``simulate.provider`` whose system prompt holds
the case's ``simulate: {persona, goal, language}``) and the variant take turns, starting from
the case's ``messages`` (if any) and its ``opening`` line (else the simulated user speaks
first), for up to ``max_turns`` assistant turns or until a stop rule:

* ``goal``: the simulated user writes the goal marker (``[[GOAL]]``), or every one of the
  ``goal_checks`` passes on an assistant turn (deterministic: e.g. ``contains: 注文番号``);
* ``gave_up``: the simulated user writes the give-up marker (``[[GIVE_UP]]``);
* ``max_turns``: neither happened in time.

Every turn is stored (the sample's trajectory); the sample's output is the variant's last turn;
its outcome (turns, stop reason, goal reached, turns to goal) feeds the ``goal-reached`` and
``turns-to-goal`` checks, and dialogue judges see the whole trajectory. Each call's seed is
``derive_seed(sample seed, role, turn)``: the same sample replays the same dialogue (with a
seeded model), and other sample indexes (other seeds) give other dialogues: the gacha is
measured per conversation.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import jinja2
from jinja2.sandbox import ImmutableSandboxedEnvironment

from hyouka.convo.messages import parse_case_simulate, to_messages
from hyouka.hashing import content_hash, derive_seed
from hyouka.providers.base import GenerateRequest, Generation, Message, Provider

if TYPE_CHECKING:
    from hyouka.config import Project, SimulateConfig
    from hyouka.datasets import Case
    from hyouka.scorers.base import Check

_ENV = ImmutableSandboxedEnvironment(undefined=jinja2.StrictUndefined, autoescape=False)

USER_PROMPT_JA = """\
あなたはカスタマーサポートに問い合わせている利用者を演じます。アシスタントではありません。
{% if persona %}
# あなたの人物像
{{ persona }}
{% endif %}
# あなたの目的
{{ goal or "（特になし）" }}

# ルール
- 利用者として、短い日本語で、一度に一つのことだけを話してください。
- 目的が果たされたら、お礼を言ってから {{ goal_marker }} と書いてください。
- 話が進まず諦めるときは {{ give_up_marker }} と書いてください。
"""

USER_PROMPT_EN = """\
You play a customer contacting a support desk. You are not the assistant.
{% if persona %}
# Who you are
{{ persona }}
{% endif %}
# Your goal
{{ goal or "(none in particular)" }}

# Rules
- Speak as the customer, briefly, one thing at a time.
- When your goal is met, say thanks and then write {{ goal_marker }}.
- If the conversation goes nowhere and you give up, write {{ give_up_marker }}.
"""

_START = {"ja": "（会話を始めてください。最初の一言だけを書いてください。）",
          "en": "(Start the conversation: write your first message only.)"}  # fmt: skip


def _prompt_text(project: Project, config: SimulateConfig) -> str | None:
    if config.prompt is None:
        return None
    candidate = project.resolve(config.prompt)
    if "\n" not in config.prompt and len(config.prompt) < 300 and candidate.is_file():
        return candidate.read_text(encoding="utf-8")
    return config.prompt


def simulator_identity(project: Project, config: SimulateConfig) -> dict[str, Any]:
    """Everything that shapes the simulated user and the stop rules (its version)."""
    prov = project.config.providers[config.provider]
    return {
        "provider": {"type": prov.type, "base_url": prov.base_url},
        "model": config.model or prov.model,
        "prompt": _prompt_text(project, config),
        "params": config.params,
        "max_turns": config.max_turns,
        "language": config.language,
        "markers": [config.goal_marker, config.give_up_marker],
        "goal_checks": [c.model_dump(exclude_none=True) for c in config.goal_checks],
    }


def simulator_version(project: Project, config: SimulateConfig) -> str:
    return content_hash(simulator_identity(project, config), 12)


# The variant's side of one turn: (history so far, the turn's seed) -> its generation.
AnswerFn = Callable[[list[dict[str, Any]], int], Awaitable[Generation]]


class Simulator:
    """Runs simulated conversations for one dataset (see the module docstring)."""

    def __init__(self, project: Project, config: SimulateConfig, user: Provider) -> None:
        from hyouka.scorers import registry

        self.config = config
        self.user = user
        prov = project.config.providers[config.provider]
        self.model = config.model or prov.model
        self.timeout = prov.timeout
        custom = _prompt_text(project, config)
        self.templates = {
            lang: _ENV.from_string(custom or (USER_PROMPT_JA if lang == "ja" else USER_PROMPT_EN))
            for lang in ("ja", "en")
        }
        self.goal_checks: list[Check] = [
            registry.build(c.model_dump(exclude_none=True), "simulate") for c in config.goal_checks
        ]
        self.version = simulator_version(project, config)

    def _system(self, case: Case, language: str) -> str:
        sim = case.simulate or {}
        return self.templates[language].render(
            persona=sim.get("persona", ""), goal=sim.get("goal", ""), language=language,
            goal_marker=self.config.goal_marker, give_up_marker=self.config.give_up_marker,
            vars=dict(case.vars),
        )  # fmt: skip

    async def _user_turn(
        self, case: Case, language: str, history: list[dict[str, Any]], seed: int, index: int
    ) -> Generation:
        # The simulated user sees the dialogue from its side: its own turns are "assistant".
        flipped = [
            Message("assistant" if t["role"] == "user" else "user", str(t.get("content") or ""))
            for t in history
            if t["role"] in ("user", "assistant") and t.get("content")
        ]
        if not flipped or flipped[-1].role == "assistant":
            flipped.append(Message("user", _START[language]))
        request = GenerateRequest(
            messages=(Message("system", self._system(case, language)), *flipped),
            model=self.model, params=self.config.params, seed=seed, timeout=self.timeout,
            sample_index=index,
        )  # fmt: skip
        return await self.user.generate(request)

    def _goal_by_checks(self, case: Case, text: str) -> bool:
        if not self.goal_checks:
            return False
        from hyouka.scorers.base import SampleView
        from hyouka.scorers.engine import run_check

        view = SampleView(output=text, case=case)
        return all(run_check(c, view).passed for c in self.goal_checks)

    async def run(self, case: Case, seed: int, index: int, answer: AnswerFn) -> Generation:
        cfg = self.config
        sim = case.simulate or {}
        language = str(sim.get("language") or cfg.language)
        max_turns = int(sim.get("max_turns") or cfg.max_turns)
        history: list[dict[str, Any]] = [dict(t) for t in case.messages or ()]
        if sim.get("opening"):
            history.append({"role": "user", "content": sim["opening"]})
        elif not history or history[-1]["role"] != "user":
            first = await self._user_turn(case, language, history, derive_seed(seed, "user", 0),
                                          index)  # fmt: skip
            history.append({"role": "user", "content": _clean(first.text, cfg)})
        turns, stop, goal_at = 0, "max_turns", None
        tokens_in = tokens_out = 0
        cost = 0.0
        calls: list[Any] = []
        last: Generation | None = None
        latency = 0.0
        while turns < max_turns:
            gen = await answer(history, derive_seed(seed, "assistant", turns))
            last = gen
            turns += 1
            tokens_in += gen.input_tokens or 0
            tokens_out += gen.output_tokens or 0
            cost += gen.cost or 0.0
            latency += gen.latency_ms or 0.0
            turn: dict[str, Any] = {"role": "assistant", "content": gen.text}
            if gen.tool_calls:
                calls.extend(gen.tool_calls)
                turn["tool_calls"] = [c.as_dict() for c in gen.tool_calls]
            history.append(turn)
            if self._goal_by_checks(case, gen.text):
                stop, goal_at = "goal", turns
                break
            if turns >= max_turns:
                break
            reply = await self._user_turn(case, language, history,
                                          derive_seed(seed, "user", turns), index)  # fmt: skip
            text = reply.text
            if cfg.give_up_marker in text:
                history.append({"role": "user", "content": _clean(text, cfg)})
                stop = "gave_up"
                break
            if cfg.goal_marker in text:
                history.append({"role": "user", "content": _clean(text, cfg)})
                stop, goal_at = "goal", turns
                break
            history.append({"role": "user", "content": text})
        assert last is not None  # max_turns >= 1
        return Generation(
            text=last.text,
            input_tokens=tokens_in,
            output_tokens=tokens_out,
            cost=cost,
            latency_ms=latency,
            finish_reason=stop,
            tool_calls=calls or None,
            trajectory=history,
            conversation={
                "turns": turns, "stop_reason": stop, "goal_reached": goal_at is not None,
                "turns_to_goal": goal_at,
            },
        )  # fmt: skip


def _clean(text: str, cfg: SimulateConfig) -> str:
    return text.replace(cfg.goal_marker, "").replace(cfg.give_up_marker, "").strip() or text


__all__ = [
    "USER_PROMPT_EN",
    "USER_PROMPT_JA",
    "Simulator",
    "parse_case_simulate",
    "simulator_identity",
    "simulator_version",
    "to_messages",
]
