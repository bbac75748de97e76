"""Before a person accepts a proposed check: how it scores what people complained about (it
must fail every one) and what they liked (it should pass them).

Deterministic checks are scored on the spot. A judge check needs the project's providers and
makes real model calls, so it runs only when asked (``judges=True``) with a loaded project;
otherwise the preview says it was not judged.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, cast

from hyouka.config import Project
from hyouka.datasets import Case
from hyouka.errors import HyoukaError
from hyouka.loop.complaints import Complaint, Praise
from hyouka.scorers import registry
from hyouka.scorers.base import Check, CheckResult, SampleView
from hyouka.scorers.engine import run_check

MAX_LIKED = 30
SHOWN = 300  # characters of each output kept in a preview row


@dataclass(frozen=True)
class PreviewRow:
    key: str
    variant: str | None
    output: str
    passed: bool | None
    value: float | None
    reason: str | None
    status: str

    def as_dict(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "variant": self.variant,
            "output": self.output,
            "passed": self.passed,
            "value": self.value,
            "reason": self.reason,
            "status": self.status,
        }


@dataclass(frozen=True)
class Preview:
    complained: tuple[PreviewRow, ...]
    liked: tuple[PreviewRow, ...]
    judged: bool = True
    note: str | None = None

    @property
    def fails_complained(self) -> bool:
        """Every complained output fails the check (what acceptance requires)."""
        return bool(self.complained) and all(r.passed is False for r in self.complained)

    @property
    def missed(self) -> list[PreviewRow]:
        return [r for r in self.complained if r.passed is not False]

    @property
    def liked_failed(self) -> list[PreviewRow]:
        return [r for r in self.liked if r.passed is False]

    def as_dict(self) -> dict[str, Any]:
        return {
            "judged": self.judged,
            "note": self.note,
            "fails_complained": self.fails_complained if self.judged else None,
            "complained": [r.as_dict() for r in self.complained],
            "liked": [r.as_dict() for r in self.liked],
            "liked_passed": sum(r.passed is True for r in self.liked),
            "liked_failed": len(self.liked_failed),
        }


def _case(content: Mapping[str, Any] | None, input_text: str | None) -> Case:
    if content:
        from hyouka.datasets import case_from_mapping

        row = {k: v for k, v in content.items() if v is not None and v != [] and v != {}}
        try:
            return case_from_mapping(row)
        except Exception:  # a stored case always parses; an edited one may not
            pass
    return Case(id="production", vars={"input": input_text or ""})


def _views(
    complaints: Sequence[Complaint], praise: Sequence[Praise], max_liked: int
) -> tuple[list[tuple[str, str | None, SampleView]], list[tuple[str, str | None, SampleView]]]:
    bad: dict[str, tuple[str, str | None, SampleView]] = {}
    for c in complaints:
        view = SampleView(
            output=c.output, case=_case(c.case, c.input_text), variant=c.variant or ""
        )
        bad.setdefault(c.output, (c.key, c.variant, view))
    good: dict[str, tuple[str, str | None, SampleView]] = {}
    for p in reversed(praise):  # the newest first
        if p.output in bad or p.output in good:
            continue
        view = SampleView(
            output=p.output, case=_case(p.case, p.input_text), variant=p.variant or ""
        )
        good[p.output] = (p.key, p.variant, view)
        if len(good) >= max_liked:
            break
    return list(bad.values()), list(good.values())


def _row(key: str, variant: str | None, view: SampleView, r: CheckResult) -> PreviewRow:
    out = view.output if len(view.output) <= SHOWN else view.output[:SHOWN] + "…"
    return PreviewRow(key, variant, out, r.passed, r.value, r.reason, r.status)


def _combine(results: Sequence[CheckResult]) -> CheckResult:
    """A judge asked several times: the mean grade; passed when most repeats passed."""
    ok = [r for r in results if r.status == "ok"]
    if not ok:
        return results[0] if results else CheckResult(None, None, "no verdict", "error")
    values = [r.value for r in ok if r.value is not None]
    verdicts = [r.passed for r in ok if r.passed is not None]
    passed = None if not verdicts else sum(verdicts) * 2 > len(verdicts)
    value = sum(values) / len(values) if values else None
    return CheckResult(value, passed, ok[0].reason, "ok")


async def _judge_all(check: Any, project: Project, views: Sequence[SampleView]) -> list[Any]:
    from hyouka.providers.pool import ProviderPool

    name = str(check.spec.options["judge"])
    pool = ProviderPool(project)  # the judge under its limits, timeout and retries
    pool.get(name, role="judge provider")
    check.bind(project, lambda request: pool.generate(name, request))
    try:
        found = await asyncio.gather(*(check.ascore(v) for v in views), return_exceptions=True)
    finally:
        await pool.aclose()
    return list(found)


def _judge_results(
    check: Check, project: Project, views: Sequence[SampleView]
) -> list[CheckResult]:
    try:
        found = asyncio.run(_judge_all(check, project, views))
    except (KeyError, ValueError) as exc:
        raise HyoukaError(f"cannot run the judge for the preview: {exc}") from None
    out = []
    for item in found:
        if isinstance(item, BaseException):
            out.append(CheckResult(None, None, f"{type(item).__name__}: {item}", "error"))
        else:
            out.append(_combine(cast(list[CheckResult], item)))
    return out


def build_check(spec: Mapping[str, Any]) -> Check:
    try:
        return registry.build(spec)
    except ValueError as exc:
        raise HyoukaError(f"the proposed check is not valid: {exc}") from None


def preview_check(
    spec: Mapping[str, Any],
    complaints: Sequence[Complaint],
    praise: Sequence[Praise],
    *,
    project: Project | None = None,
    judges: bool = False,
    max_liked: int = MAX_LIKED,
) -> Preview:
    """Score ``spec`` on the complained and the liked outputs (see the module docstring)."""
    check = build_check(spec)
    bad, good = _views(complaints, praise, max_liked)
    if check.is_async:
        if project is None or not judges:
            note = "a judge check: preview it with --judge-preview (it calls the judge model)"
            return Preview(
                tuple(
                    PreviewRow(k, v, s.output[:SHOWN], None, None, None, "not judged")
                    for k, v, s in bad
                ),
                tuple(
                    PreviewRow(k, v, s.output[:SHOWN], None, None, None, "not judged")
                    for k, v, s in good
                ),
                judged=False,
                note=note,
            )
        results = _judge_results(check, project, [s for _, _, s in (*bad, *good)])
    else:
        results = [run_check(check, s) for _, _, s in (*bad, *good)]
    rows = [_row(k, v, s, r) for (k, v, s), r in zip((*bad, *good), results, strict=True)]
    return Preview(tuple(rows[: len(bad)]), tuple(rows[len(bad) :]))


__all__ = ["Preview", "PreviewRow", "build_check", "preview_check"]
