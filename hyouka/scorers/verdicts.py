"""Reading a judge's verdict out of its raw text, without ever guessing.

Judges answer in many shapes: JSON (``{"score": 4}``, ``{"grade": 4, "reason": …}``), the
MT-Bench ``[[n]]`` (「評価：[[5]]」), a labelled number (``Score: 7``), or the bare number the
ELYZA-tasks-100 prompt asks for. Pairwise judges answer ``[[A]]``/``[[B]]``/``[[C]]`` (FastChat)
or 1/2/3 (Rakuda). The text is NFKC-normalised first, so full-width digits and brackets
(［［５］］) read like ASCII.

Anything else — no verdict, two different verdicts in one structured form, a value outside the
scale, or a refusal — is a failure with a reason (``ok=False``); the caller records it as a
``parse_error`` score and keeps the raw text in the judge sample. There is no default grade.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal

Winner = Literal["A", "B", "C"]

_NUMBER = r"(-?\d+(?:\.\d+)?)"
_BRACKETS = re.compile(r"\[\[\s*" + _NUMBER + r"\s*\]\]")
_LABELLED = re.compile(
    r"(?:評価|得点|点数|スコア|総合評価|score|grade|rating)\s*(?:[:=]|は)?\s*\**\s*" + _NUMBER,
    re.IGNORECASE,
)
_BARE = re.compile(r"^\**" + _NUMBER + r"\**\s*(?:点|/\s*\d+)?\s*[。.]?$")
_GRADE_KEYS = ("score", "grade", "rating", "評価", "点数", "得点", "スコア")
_REASON_KEYS = ("reason", "explanation", "rationale", "理由", "説明")
_WINNER_KEYS = ("winner", "verdict", "better", "result", "勝者", "判定")
_PAIR_BRACKETS = re.compile(r"\[\[\s*(A|B|C|1|2|3|tie)\s*\]\]", re.IGNORECASE)
_PAIR_WORDS: dict[str, Winner] = {
    "a": "A", "1": "A", "b": "B", "2": "B", "c": "C", "3": "C", "tie": "C", "引き分け": "C",
    "同等": "C",
}  # fmt: skip
_REFUSAL = re.compile(
    r"(I'?m sorry|I am sorry|I can(?:no|')t|I am unable|I'm unable|as an AI"
    r"|申し訳(?:ありません|ございません)|お答えできません|回答できません|お答えしかねます|できかねます|評価できません|採点できません)",
    re.IGNORECASE,
)


@dataclass(frozen=True)
class Grade:
    """A parsed grade, or why there is none (``ok=False``)."""

    value: float | None
    ok: bool
    reason: str | None
    how: str = ""  # json | brackets | labelled | bare


@dataclass(frozen=True)
class PairVerdict:
    """``A`` (first shown answer), ``B`` (second) or ``C`` (tie); None with a reason."""

    winner: Winner | None
    reason: str | None
    how: str = ""


@dataclass(frozen=True)
class Claims:
    """The claims a faithfulness judge listed, and how many the contexts support."""

    supported: int
    total: int
    unsupported: tuple[str, ...]
    ok: bool
    reason: str | None


def normalise(text: str) -> str:
    return unicodedata.normalize("NFKC", text).strip()


def json_objects(text: str) -> Iterator[Any]:
    """Every JSON object or array embedded in ``text`` (code fences included), in order."""
    decoder = json.JSONDecoder()
    i = 0
    while i < len(text):
        if text[i] in "{[":
            try:
                value, end = decoder.raw_decode(text, i)
            except json.JSONDecodeError:
                i += 1
                continue
            yield value
            i = end
        else:
            i += 1


def _lookup(data: Mapping[str, Any], keys: tuple[str, ...]) -> Any:
    lowered = {str(k).strip().lower(): v for k, v in data.items()}
    for key in keys:
        if key in lowered:
            return lowered[key]
    return None


def _as_number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        match = _BARE.match(normalise(value))
        return float(match.group(1)) if match else None
    return None


def _refusal(text: str) -> str | None:
    match = _REFUSAL.search(text)
    if match is None:
        return None
    return f"the judge refused or did not grade ('{match.group(0)}')"


def _in_range(value: float, low: float, high: float, how: str, reason: str | None) -> Grade:
    if low <= value <= high:
        return Grade(value, True, reason, how)
    return Grade(None, False, f"grade {value:g} is outside the scale {low:g}–{high:g}", how)


def _json_grade(text: str) -> tuple[float, str | None] | str | None:
    """(value, reason) from the last JSON object holding a grade; an error text; or None."""
    found: tuple[float, str | None] | str | None = None
    for obj in json_objects(text):
        if not isinstance(obj, Mapping):
            continue
        raw = _lookup(obj, _GRADE_KEYS)
        if raw is None:
            continue
        value = _as_number(raw)
        if value is None:
            found = f"the JSON grade {raw!r} is not a number"
            continue
        reason = _lookup(obj, _REASON_KEYS)
        found = (value, None if reason is None else str(reason))
    return found


def _one_value(matches: list[str], how: str) -> float | str:
    values = {float(m) for m in matches}
    if len(values) > 1:
        shown = ", ".join(f"{v:g}" for v in sorted(values))
        return f"several different {how} grades ({shown})"
    return values.pop()


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def parse_grade(raw: str, low: float, high: float) -> Grade:
    """The judge's grade on the scale ``[low, high]``; see the module docstring for the forms."""
    text = normalise(raw or "")
    if not text:
        return Grade(None, False, "the judge's answer is empty")
    from_json = _json_grade(text)
    if isinstance(from_json, tuple):
        return _in_range(from_json[0], low, high, "json", from_json[1])
    if isinstance(from_json, str):
        return Grade(None, False, from_json, "json")
    for pattern, how in ((_BRACKETS, "brackets"), (_LABELLED, "labelled")):
        matches = pattern.findall(text)
        if matches:
            value = _one_value(matches, how)
            if isinstance(value, str):
                return Grade(None, False, value, how)
            return _in_range(value, low, high, how, None)
    lines = _lines(text)
    for line in (lines[0], lines[-1]):
        match = _BARE.match(line)
        if match:
            return _in_range(float(match.group(1)), low, high, "bare", None)
    return Grade(None, False, _refusal(text) or "no grade found in the judge's answer")


def _pair_word(value: Any) -> Winner | None:
    word = normalise(str(value)).strip("[]()「」*.。 ").lower()
    return _PAIR_WORDS.get(word)


def parse_pairwise(raw: str) -> PairVerdict:
    """Which of two answers won: ``[[A]]``/``[[B]]``/``[[C]]``, 1/2/3, or JSON ``winner``."""
    text = normalise(raw or "")
    if not text:
        return PairVerdict(None, "the judge's answer is empty")
    for obj in json_objects(text):
        if isinstance(obj, Mapping):
            value = _lookup(obj, _WINNER_KEYS)
            if value is not None:
                winner = _pair_word(value)
                if winner is None:
                    return PairVerdict(None, f"the JSON verdict {value!r} is not A, B or tie")
                return PairVerdict(winner, None, "json")
    matches = {_PAIR_WORDS[m.lower()] for m in _PAIR_BRACKETS.findall(text)}
    if len(matches) == 1:
        return PairVerdict(matches.pop(), None, "brackets")
    if len(matches) > 1:
        return PairVerdict(None, f"several different verdicts ({', '.join(sorted(matches))})")
    lines = _lines(text)
    for line in (lines[-1], lines[0]):
        winner = _pair_word(line)
        if winner is not None:
            return PairVerdict(winner, None, "bare")
    return PairVerdict(None, _refusal(text) or "no verdict ([[A]], [[B]] or [[C]]) found")


_YES = {"true", "yes", "y", "supported", "はい", "あり", "○"}
_NO = {"false", "no", "n", "unsupported", "not supported", "いいえ", "なし", "×"}


def _supported(value: Any) -> bool | None:
    if isinstance(value, bool):
        return value
    word = normalise(str(value)).lower()
    if word in _YES:
        return True
    if word in _NO:
        return False
    return None


def _claims_list(text: str) -> list[Any] | None:
    for obj in json_objects(text):
        if isinstance(obj, Mapping):
            claims = _lookup(obj, ("claims", "主張"))
            if isinstance(claims, list):
                return claims
        elif isinstance(obj, list):
            return obj
    return None


def parse_claims(raw: str) -> Claims:
    """``{"claims": [{"claim": …, "supported": true}, …]}`` (or the bare list)."""
    text = normalise(raw or "")
    claims = _claims_list(text)
    if claims is None:
        reason = _refusal(text) or 'no JSON {"claims": [...]} found in the judge\'s answer'
        return Claims(0, 0, (), False, reason)
    supported, unsupported = 0, []
    for i, item in enumerate(claims):
        if not isinstance(item, Mapping):
            return Claims(0, 0, (), False, f"claim {i + 1} is not an object")
        verdict = _supported(_lookup(item, ("supported", "裏付け", "support")))
        if verdict is None:
            return Claims(0, 0, (), False, f"claim {i + 1} has no true/false 'supported'")
        if verdict:
            supported += 1
        else:
            unsupported.append(str(_lookup(item, ("claim", "主張")) or f"claim {i + 1}"))
    return Claims(supported, len(claims), tuple(unsupported), True, None)
