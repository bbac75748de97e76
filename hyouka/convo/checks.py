"""Checks on tool calls and on whole conversations.

``tool-called`` / ``not-tool-called`` (a tool's name), ``tool-args`` (the arguments of a tool's
calls: a JSON Schema, equality with given arguments, or with the case's
``expected_tool_calls``), ``tool-sequence`` (the order of the calls, with or without other
calls between), ``goal-reached`` and ``turns-to-goal`` (a simulated conversation's outcome).

Tool calls whose arguments were not valid JSON fail ``tool-args`` with the raw text in the
reason; ``tool-called`` still counts them as calls of that tool (the model did try).
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from hyouka.scorers.base import Check, CheckMeta, CheckResult, SampleView


def _meta(name: str, label: str, label_ja: str, desc: str, desc_ja: str, **kw: Any) -> CheckMeta:
    return CheckMeta(name, label, label_ja, desc, desc_ja, **kw)


def _calls(sample: SampleView) -> list[Mapping[str, Any]]:
    return list(sample.tool_calls or [])


def _names(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, list | tuple) and all(isinstance(v, str) for v in value):
        return list(value)
    raise ValueError("'value' must be a tool name or a list of tool names")


class ToolCalled(Check):
    meta = _meta(
        "tool-called",
        "Tool called",
        "ツールを呼んだ",
        "The model called the tool named in `value` (any of them, for a list; any tool, "
        "without a value). `not-tool-called` passes when it did not.",
        "value のツール（リストならいずれか。value なしなら何かのツール）を呼んだ。",
        example={"type": "tool-called", "value": "lookup_order"},
    )

    def validate(self) -> None:
        self._wanted = _names(self.spec.value)

    def score(self, sample: SampleView) -> CheckResult:
        names = [str(c.get("name")) for c in _calls(sample)]
        if not self._wanted:
            ok = bool(names)
            return CheckResult(1.0 if ok else 0.0, ok, f"calls: {names}" if ok else "no tool call")
        hit = [n for n in names if n in self._wanted]
        ok = bool(hit)
        reason = f"called {hit[0]}" if ok else f"not called (calls: {names or 'none'})"
        return CheckResult(1.0 if ok else 0.0, ok, reason)


def _shown(call: Mapping[str, Any]) -> str:
    if call.get("error"):
        return f"raw: {str(call.get('raw'))[:300]}"
    return json.dumps(call.get("arguments"), ensure_ascii=False)[:300]


class ToolArgs(Check):
    meta = _meta(
        "tool-args",
        "Tool arguments",
        "ツールの引数",
        "Every call of the tool `tool` (all tools, without it) has arguments that match "
        "`schema` (JSON Schema) or equal `equals` (`match: subset`: those keys only); with "
        "neither, they equal the arguments of the case's `expected_tool_calls` for that tool. "
        "Fails when the tool was not called (skipped when the case's `expected_tool_calls` "
        "do not name it) or its arguments were not valid JSON.",
        "tool のツール呼び出しの引数が schema（JSON スキーマ）に合う、または equals と等しい"
        "（どちらもなければケースの expected_tool_calls と等しい）。",
        negatable=False,
        example={"type": "tool-args", "tool": "lookup_order", "equals": {"order_id": "A1234"}},
    )

    def validate(self) -> None:
        opts = self.spec.options
        unknown = set(opts) - {"tool", "schema", "equals", "match"}
        if unknown:
            raise ValueError(
                f"check 'tool-args' has unknown option(s) {', '.join(sorted(unknown))} "
                "(known: tool, schema, equals, match)"
            )
        self._tool = opts.get("tool", self.spec.value)
        if self._tool is not None and not isinstance(self._tool, str):
            raise ValueError("'tool' must be a tool name")
        self._match = opts.get("match", "exact")
        if self._match not in {"exact", "subset"}:
            raise ValueError("'match' must be 'exact' or 'subset'")
        self._equals = opts.get("equals")
        if self._equals is not None and not isinstance(self._equals, Mapping):
            raise ValueError("'equals' must be a mapping of argument names to values")
        schema = opts.get("schema")
        self._validator = None
        if schema is not None:
            import jsonschema

            if not isinstance(schema, Mapping):
                raise ValueError("'schema' must be a JSON Schema mapping")
            cls = jsonschema.validators.validator_for(dict(schema))
            try:
                cls.check_schema(dict(schema))
            except jsonschema.SchemaError as exc:
                raise ValueError(f"invalid JSON Schema: {exc.message}") from None
            self._validator = cls(dict(schema))

    def _same(self, got: Any, want: Mapping[str, Any]) -> bool:
        if not isinstance(got, Mapping):
            return False
        if self._match == "subset":
            return all(k in got and got[k] == v for k, v in want.items())
        return dict(got) == dict(want)

    def score(self, sample: SampleView) -> CheckResult:
        calls = [c for c in _calls(sample) if self._tool is None or c.get("name") == self._tool]
        if not calls:
            expected_names = {str(e["name"]) for e in sample.case.expected_tool_calls or ()}
            if sample.case.expected_tool_calls is not None and (
                not expected_names or (self._tool and self._tool not in expected_names)
            ):
                return CheckResult(None, None, "the case expects no such call", "skipped")
            what = f"'{self._tool}'" if self._tool else "any tool"
            return CheckResult(0.0, False, f"{what} was not called")
        for call in calls:  # arguments that are not JSON fail whatever the rule
            if call.get("error"):
                return CheckResult(
                    0.0, False, f"{call.get('name')}: {call['error']}; {_shown(call)}"
                )
        expected: dict[str, list[Mapping[str, Any]]] = {}
        if self._validator is None and self._equals is None:
            for e in sample.case.expected_tool_calls or ():
                if "arguments" in e:
                    expected.setdefault(str(e["name"]), []).append(e["arguments"])
            if not expected:
                return CheckResult(
                    None, None, "no schema, no equals and no expected_tool_calls arguments",
                    "skipped",
                )  # fmt: skip
        for call in calls:
            name = str(call.get("name"))
            args = call.get("arguments")
            if self._validator is not None:
                errors = sorted(self._validator.iter_errors(args), key=lambda e: list(e.path))
                if errors:
                    where = "/".join(str(p) for p in errors[0].path) or "(root)"
                    return CheckResult(0.0, False, f"{name}: {where}: {errors[0].message}")
            elif self._equals is not None:
                if not self._same(args, self._equals):
                    return CheckResult(0.0, False, f"{name}: arguments {_shown(call)}")
            else:
                wanted = expected.get(name)
                if wanted is None:
                    continue
                if not any(self._same(args, w) for w in wanted):
                    return CheckResult(
                        0.0, False, f"{name}: arguments {_shown(call)}; expected "
                        f"{json.dumps(wanted[0], ensure_ascii=False)[:300]}",
                    )  # fmt: skip
        return CheckResult(1.0, True, f"{len(calls)} call(s) with the right arguments")


def _is_subsequence(wanted: Sequence[str], got: Sequence[str]) -> bool:
    it = iter(got)
    return all(any(g == w for g in it) for w in wanted)


class ToolSequence(Check):
    meta = _meta(
        "tool-sequence",
        "Tool call order",
        "ツール呼び出しの順序",
        "The tools were called in the order of `value` (default: the names of the case's "
        "`expected_tool_calls`): exactly that sequence, or with `gaps: true` in that order "
        "with other calls allowed between.",
        "value の順にツールを呼んだ（gaps: true なら間に他の呼び出しがあってもよい）。",
        example={"type": "tool-sequence", "value": ["lookup_order", "create_ticket"], "gaps": True},
    )

    def validate(self) -> None:
        unknown = set(self.spec.options) - {"gaps"}
        if unknown:
            raise ValueError(f"check 'tool-sequence' has unknown option(s) {sorted(unknown)}")
        self._wanted = _names(self.spec.value)
        self._gaps = bool(self.spec.options.get("gaps", False))

    def score(self, sample: SampleView) -> CheckResult:
        wanted = self._wanted or [str(e["name"]) for e in sample.case.expected_tool_calls or ()]
        if not wanted:
            return CheckResult(None, None, "no value and no expected_tool_calls", "skipped")
        got = [str(c.get("name")) for c in _calls(sample)]
        ok = _is_subsequence(wanted, got) if self._gaps else got == wanted
        return CheckResult(1.0 if ok else 0.0, ok, f"calls: {got or 'none'}; wanted: {wanted}")


class GoalReached(Check):
    meta = _meta(
        "goal-reached",
        "Goal reached",
        "目的達成",
        "A simulated conversation (`simulate:`) ended with the user's goal reached.",
        "シミュレーション会話がユーザーの目的を達成して終わった。",
        example={"type": "goal-reached"},
    )

    def score(self, sample: SampleView) -> CheckResult:
        conv = sample.conversation
        if not conv:
            return CheckResult(None, None, "not a simulated conversation", "skipped")
        ok = bool(conv.get("goal_reached"))
        return CheckResult(
            1.0 if ok else 0.0, ok, f"stop: {conv.get('stop_reason')} after {conv.get('turns')} "
            "turn(s)",
        )  # fmt: skip


class TurnsToGoal(Check):
    meta = _meta(
        "turns-to-goal",
        "Turns to goal",
        "目的達成までのターン数",
        "How many assistant turns a simulated conversation took to reach the goal; passes "
        "when ≤ `threshold`. Skipped when the goal was not reached (see goal-reached).",
        "目的達成までのアシスタントのターン数。threshold 以下で合格。未達成ならスキップ。",
        numeric=True,
        negatable=False,
        example={"type": "turns-to-goal", "threshold": 3},
    )

    def score(self, sample: SampleView) -> CheckResult:
        conv = sample.conversation
        if not conv:
            return CheckResult(None, None, "not a simulated conversation", "skipped")
        turns = conv.get("turns_to_goal")
        if turns is None:
            return CheckResult(None, None, f"goal not reached ({conv.get('stop_reason')})",
                               "skipped")  # fmt: skip
        limit = self.threshold()
        ok = None if limit is None else float(turns) <= limit
        return CheckResult(float(turns), ok, f"{turns} turn(s)")


CONVO_CHECKS: list[type[Check]] = [ToolCalled, ToolArgs, ToolSequence, GoalReached, TurnsToGoal]
