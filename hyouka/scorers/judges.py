"""LLM judges: rubric, reference-guided, faithfulness and pairwise grading.

A judge is configured like any check::

    - {type: judge-rubric, judge: gpt, preset: elyza, threshold: 4, judge_samples: 2}

``judge`` names a provider of hyouka.yaml; ``model`` and ``params`` (default
``{temperature: 0}``) override its model and sampling; ``cache: text`` lets outputs with the
same text share one stored verdict (the default, ``sample``, judges every sample on its
own). Each judge is a variant of its own
(kind ``judge``) whose version hashes the provider identity, model, prompt template, rubric and
params, and every judge call is stored as a sample (role ``judge``) with its raw output: see
``hyouka/scorers/judge_runner.py`` for how calls are cached, retried and stored.

A check object only renders prompts and reads verdicts; it is *bound* to a project first
(:meth:`JudgeCheck.bind`), which resolves the provider, reads rubric and template files and
fixes the version. The verdict parsing lives in ``verdicts.py``; the prompts in
``judge_prompts.py``.
"""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable, Mapping, Sequence
from pathlib import Path
from typing import Any, ClassVar

import jinja2
from jinja2.sandbox import ImmutableSandboxedEnvironment

from hyouka.config import Project
from hyouka.errors import TemplateError
from hyouka.hashing import content_hash, derive_seed
from hyouka.providers.base import GenerateRequest, Generation, Message
from hyouka.scorers import judge_prompts as jp
from hyouka.scorers.base import AsyncCheck, CheckMeta, CheckResult, SampleView
from hyouka.scorers.verdicts import PairVerdict, parse_claims, parse_grade, parse_pairwise

_ENV = ImmutableSandboxedEnvironment(
    undefined=jinja2.StrictUndefined, autoescape=False, keep_trailing_newline=True
)
_INPUT_KEYS = ("input", "question", "query", "q", "prompt", "instruction", "質問", "問題")
# Provider options that do not change what the judge says (kept out of its version).
_NON_SHAPING = {"api_key_env", "headers", "timeout", "max_retries", "rpm", "tpm", "concurrency",
                "pricing"}  # fmt: skip
_COMMON_OPTIONS = {"judge", "model", "params", "judge_samples", "input", "aspect_from", "template",
                   "rubric", "lang", "cache"}  # fmt: skip
# What a stored judge answer is reused for: "sample" (default) only for the same output of the
# same variant version, case and sample index, so every sample gets its own judge call(s) and
# the judge's own noise stays visible; "text" for any output with the same rendered prompt.
CACHE_SCOPES = ("sample", "text")
Caller = Callable[[GenerateRequest], Awaitable[Generation]]


def _templated(text: str) -> jinja2.Template:
    try:
        return _ENV.from_string(text)
    except jinja2.TemplateSyntaxError as exc:
        raise ValueError(
            f"judge template syntax error on its line {exc.lineno}: {exc.message}"
        ) from None


def case_input(view: SampleView, key: str | None = None) -> str:
    """The question the judged answer replies to, from the case's vars."""
    variables = view.case.vars
    if key is not None:
        return str(variables.get(key, ""))
    for name in _INPUT_KEYS:
        if name in variables:
            return str(variables[name])
    if len(variables) == 1:
        return str(next(iter(variables.values())))
    return "\n".join(f"{k}: {v}" for k, v in variables.items())


def _reference(view: SampleView) -> str:
    refs = list(view.case.expected or [])
    if len(refs) <= 1:
        return refs[0] if refs else ""
    return "\n".join(f"- {r}" for r in refs)


def _read_text(value: str, root: Path) -> str:
    """A rubric or template given inline, or as a file relative to the project."""
    candidate = root / value
    if "\n" not in value and len(value) < 300 and candidate.suffix and candidate.is_file():
        return candidate.read_text(encoding="utf-8")
    return value


def _is_japanese(text: str) -> bool:
    from hyouka.scorers.metrics_text import japanese_ratio

    return japanese_ratio(text) >= 0.3


class JudgeCheck(AsyncCheck):
    """Shared by every judge: options, binding to a provider, version, rendering."""

    extra_options: ClassVar[set[str]] = set()
    scale: tuple[float, float] = (1.0, 5.0)

    def validate(self) -> None:
        opts = self.spec.options
        unknown = set(opts) - _COMMON_OPTIONS - self.extra_options
        if unknown:
            known = ", ".join(sorted(_COMMON_OPTIONS | self.extra_options))
            raise ValueError(
                f"check '{self.meta.name}' has unknown option(s) {', '.join(sorted(unknown))} "
                f"(known: {known})"
            )
        if not isinstance(opts.get("judge"), str) or not opts["judge"]:
            raise ValueError(
                f"check '{self.meta.name}' needs 'judge: <provider name from hyouka.yaml>'"
            )
        k = opts.get("judge_samples")
        if k is not None and (not isinstance(k, int) or isinstance(k, bool) or not 1 <= k <= 20):
            raise ValueError("'judge_samples' must be a whole number from 1 to 20")
        if not isinstance(opts.get("params", {}), Mapping):
            raise ValueError("'params' must be a mapping such as {temperature: 0}")
        if opts.get("cache", "sample") not in CACHE_SCOPES:
            raise ValueError(
                "'cache' must be 'sample' (default: every sample gets its own judge call) or "
                "'text' (outputs with the same text share one stored verdict)"
            )
        self._bound = False
        self._rubric = ""

    # -- binding ---------------------------------------------------------------------------

    def bind(self, project: Project, caller: Caller | None = None) -> None:
        """Resolve the provider, read files and fix the version (raises ValueError)."""
        opts = self.spec.options
        name = str(opts["judge"])
        provider = project.config.providers.get(name)
        if provider is None:
            known = ", ".join(sorted(project.config.providers)) or "none defined"
            raise ValueError(f"judge provider '{name}' is not in 'providers' (known: {known})")
        self.provider_name = name
        self.provider_type = provider.type
        self.model = str(opts.get("model") or provider.model)
        self.judge_params: dict[str, Any] = {"temperature": 0.0, **dict(opts.get("params") or {})}
        self.samples = int(opts.get("judge_samples") or project.config.judge_samples)
        self.timeout = provider.timeout
        self.template_text = self._template_text(project.root)
        self.template = _templated(self.template_text)
        self.identity = {
            "check": self.meta.name,
            "provider": {
                "type": provider.type,
                "base_url": provider.base_url,
                "options": {k: v for k, v in provider.options.items() if k not in _NON_SHAPING},
            },
            "model": self.model,
            "template": self.template_text,
            "rubric": self.rubric_text,
            "scale": list(self.scale),
            "params": self.judge_params,
        }
        self.version = content_hash(self.identity, 12)
        self.caller = caller
        self._bound = True

    def _template_text(self, root: Path) -> str:  # pragma: no cover - each judge defines it
        raise NotImplementedError

    @property
    def rubric_text(self) -> str:
        return self._rubric

    @property
    def variant_name(self) -> str:
        return f"{self.spec.metric_name}@{self.provider_name}"

    @functools.cached_property
    def params(self) -> dict[str, Any]:
        # judge_samples only says how many repeats to run: raising it adds repeats to the same
        # score key instead of starting a new one.
        params = self.spec.params
        params["options"] = {k: v for k, v in params["options"].items() if k != "judge_samples"}
        return {**params, **self.params_extra}

    @property
    def params_extra(self) -> dict[str, Any]:
        if not getattr(self, "_bound", False):
            raise RuntimeError(f"judge '{self.spec.full_name}' is used before bind(project)")
        return {"judge_version": self.version}

    # -- calls -----------------------------------------------------------------------------

    def base_vars(self, view: SampleView) -> dict[str, Any]:
        aspect_from = self.spec.options.get("aspect_from")
        aspect = view.case.aspect
        if aspect_from and aspect_from != "aspect":
            aspect = view.case.vars.get(aspect_from) or view.case.metadata.get(aspect_from)
        key = self.spec.options.get("input")
        question = case_input(view, None if key is None else str(key))
        output = view.output
        conversation = ""
        if view.case.messages or view.trajectory or view.tool_calls:
            from hyouka.convo.messages import judge_conversation_vars

            question, output, conversation = judge_conversation_vars(view, question)
        return {
            "input": question,
            "output": output,
            "conversation": conversation,
            "reference": _reference(view),
            "aspect": "" if aspect is None else str(aspect),
            "rubric": self.rubric_text,
            "low": f"{self.scale[0]:g}",
            "high": f"{self.scale[1]:g}",
            "contexts": [],
        }

    def render_vars(self, variables: Mapping[str, Any]) -> str:
        try:
            return self.template.render(**variables)
        except jinja2.TemplateError as exc:
            raise TemplateError(f"judge '{self.variant_name}': template error: {exc}") from None

    def request(self, prompt: str, repeat: int) -> GenerateRequest:
        """The model call for one repeat; its seed follows from the prompt and the repeat."""
        seed = derive_seed("judge", self.version, content_hash(prompt, 32), repeat)
        return GenerateRequest(
            messages=(Message("user", prompt),),
            model=self.model,
            params=self.judge_params,
            seed=seed,
            timeout=self.timeout,
        )

    def cache_key(self, prompt: str, repeat: int, owner: str = "") -> str:
        """Key of a stored judge answer: (judge version, prompt, repeat), plus ``owner`` (the
        judged samples' variant version, case and sample index) unless ``cache: text``."""
        if self.spec.options.get("cache", "sample") == "text":
            return content_hash(["judge", self.version, prompt, repeat], 32)
        return content_hash(["judge", self.version, prompt, repeat, owner], 32)

    def prompt(self, view: SampleView) -> str | CheckResult:
        """The rendered prompt, or a ``skipped`` result when the sample cannot be judged."""
        return self.render_vars(self.base_vars(view))

    def verdict(self, text: str) -> CheckResult:
        grade = parse_grade(text, *self.scale)
        if not grade.ok or grade.value is None:
            return CheckResult(None, None, grade.reason, "parse_error")
        limit = self.threshold()
        passed = None if limit is None else grade.value >= limit
        reason = f"grade {grade.value:g}" + (f": {grade.reason}" if grade.reason else "")
        return CheckResult(grade.value, passed, reason[:2000])

    async def ascore(self, sample: SampleView) -> list[CheckResult]:
        """Grade ``samples`` times through the bound caller (uncached; the runner caches)."""
        if self.caller is None:
            raise RuntimeError("bind(project, caller) before ascore")
        prompt = self.prompt(sample)
        if isinstance(prompt, CheckResult):
            return [prompt]
        out = []
        for repeat in range(self.samples):
            gen = await self.caller(self.request(prompt, repeat))
            out.append(self.verdict(gen.text))
        return out


def _meta(name: str, label: str, label_ja: str, desc: str, desc_ja: str, **kw: Any) -> CheckMeta:
    return CheckMeta(name, label, label_ja, desc, desc_ja, needs_llm=True, numeric=True,
                     negatable=False, **kw)  # fmt: skip


class RubricJudge(JudgeCheck):
    meta = _meta(
        "judge-rubric", "LLM judge: rubric grade", "LLM 審査員：ルーブリック採点",
        "An LLM grades the output. `preset: elyza` (default) is the ELYZA-tasks-100 prompt "
        "(1–5 with its standard deductions, the case's `aspect` and `expected`); "
        "`preset: mtbench` is Japanese MT-Bench single-answer grading (1–10, 「評価：[[n]]」); "
        "`rubric:` (text or a file, Japanese or English) grades on `scale` (default [1, 5]). "
        "Value: the grade; passes at ≥ threshold when one is given.",
        "LLM が出力を採点する。preset: elyza（既定、ELYZA-tasks-100 の 1〜5 点と減点項目、"
        "ケースの aspect と expected を使う）、mtbench（日本語 MT-Bench の 1〜10 点）、または "
        "rubric（日本語・英語の採点基準、ファイル可）。値は点数、threshold 以上で合格。",
        value_type="rubric",
        example={"type": "judge-rubric", "judge": "gpt", "preset": "elyza", "threshold": 4,
                 "judge_samples": 2},
    )  # fmt: skip
    extra_options: ClassVar[set[str]] = {"preset", "scale"}
    presets: ClassVar[dict[str, tuple[str, float, float]]] = jp.RUBRIC_PRESETS
    default_preset: ClassVar[str] = "elyza"

    def validate(self) -> None:
        super().validate()
        opts = self.spec.options
        preset = opts.get("preset") or ("custom" if "rubric" in opts else self.default_preset)
        if preset not in {*self.presets, "custom"}:
            raise ValueError(
                f"unknown preset '{preset}' (known: {', '.join([*self.presets, 'custom'])})"
            )
        if preset == "custom" and not opts.get("rubric") and not opts.get("template"):
            raise ValueError("'preset: custom' needs a 'rubric' (text or file) or a 'template'")
        self.preset = str(preset)
        if preset == "custom":
            self.scale = _scale(opts.get("scale", [1, 5]))
        else:
            self.scale = self.presets[self.preset][1:]
            if "scale" in opts:
                raise ValueError(f"preset '{preset}' has a fixed scale; drop 'scale'")

    def _template_text(self, root: Path) -> str:
        opts = self.spec.options
        self._rubric = _read_text(str(opts["rubric"]), root) if opts.get("rubric") else ""
        if opts.get("template"):
            return _read_text(str(opts["template"]), root)
        if self.preset != "custom":
            return self.presets[self.preset][0]
        lang = opts.get("lang") or ("ja" if _is_japanese(self._rubric) else "en")
        return jp.CUSTOM_JA if lang == "ja" else jp.CUSTOM_EN


def _scale(value: Any) -> tuple[float, float]:
    ok = isinstance(value, Sequence) and len(value) == 2 and not isinstance(value, str)
    if ok:
        try:
            low, high = float(value[0]), float(value[1])
        except (TypeError, ValueError):
            ok = False
        else:
            ok = low < high
    if not ok:
        raise ValueError("'scale' must be [lowest, highest], e.g. [1, 5]")
    return low, high


class DialogueJudge(RubricJudge):
    meta = _meta(
        "judge-dialogue", "LLM judge: the whole conversation", "LLM 審査員：会話全体の採点",
        "An LLM grades a whole conversation (a simulated dialogue's every turn, or a case's "
        "turns and the reply, tool calls and results included) with `rubric:` (text or a "
        "file, e.g. politeness or whether the customer's problem was solved) on `scale` "
        "(default [1, 5]).",
        "LLM が会話全体（シミュレーション会話の全ターン、またはケースの会話と応答。"
        "ツール呼び出しと結果を含む）を rubric で採点する（丁寧さ・問題解決など）。",
        value_type="rubric",
        example={"type": "judge-dialogue", "judge": "gpt", "rubric": "顧客の問題を丁寧に解決したか",
                 "threshold": 4},
    )  # fmt: skip

    def validate(self) -> None:
        if not self.spec.options.get("rubric") and not self.spec.options.get("template"):
            raise ValueError("check 'judge-dialogue' needs a 'rubric' (text or file)")
        super().validate()

    def _template_text(self, root: Path) -> str:
        opts = self.spec.options
        self._rubric = _read_text(str(opts["rubric"]), root) if opts.get("rubric") else ""
        if opts.get("template"):
            return _read_text(str(opts["template"]), root)
        lang = opts.get("lang") or ("ja" if _is_japanese(self._rubric) else "en")
        return jp.DIALOGUE_JA if lang == "ja" else jp.DIALOGUE_EN


class ReferenceJudge(RubricJudge):
    meta = _meta(
        "judge-reference", "LLM judge: reference-guided grade", "LLM 審査員：参照回答つき採点",
        "An LLM grades the output against the case's `expected` answer(s). `preset: mtbench` "
        "(default) is the Japanese MT-Bench reference-guided prompt (1–10); `preset: elyza` "
        "(1–5) or a `rubric:`. Cases without `expected` are skipped.",
        "LLM がケースの expected（参照回答）と比べて採点する。preset: mtbench（既定、1〜10）、"
        "elyza（1〜5）または rubric。expected のないケースはスキップ。",
        value_type="rubric", needs_reference=True,
        example={"type": "judge-reference", "judge": "gpt", "threshold": 7},
    )  # fmt: skip
    presets = jp.REFERENCE_PRESETS
    default_preset = "mtbench"

    def prompt(self, view: SampleView) -> str | CheckResult:
        if not view.case.expected:
            return CheckResult(None, None, "the case has no expected answer", "skipped")
        return super().prompt(view)


class FaithfulnessJudge(JudgeCheck):
    meta = _meta(
        "judge-faithfulness", "LLM judge: faithfulness to contexts", "LLM 審査員：根拠への忠実性",
        "An LLM lists the factual claims of the output and whether the sample's retrieved "
        "`contexts` support each one (JSON). Value: the supported share (1.0 when the output "
        "makes no claim); passes at ≥ threshold (default 1.0: every claim supported).",
        "LLM が出力の事実の主張を列挙し、検索された contexts に裏付けられているかを判定する。"
        "値は裏付けのある主張の割合。threshold（既定 1.0＝すべて裏付けあり）以上で合格。",
        value_type="none", needs_contexts=True, default_threshold=1.0,
        example={"type": "judge-faithfulness", "judge": "gpt"},
    )  # fmt: skip
    scale = (0.0, 1.0)

    def _template_text(self, root: Path) -> str:
        template = self.spec.options.get("template")
        return _read_text(str(template), root) if template else jp.FAITHFULNESS_JA

    def prompt(self, view: SampleView) -> str | CheckResult:
        if not view.contexts:
            return CheckResult(None, None, "the sample returned no contexts", "skipped")
        variables = self.base_vars(view)
        variables["contexts"] = [
            {"id": str(c.get("id") or ""), "text": str(c.get("text") or c.get("content") or "")}
            for c in view.contexts
        ]
        return self.render_vars(variables)

    def verdict(self, text: str) -> CheckResult:
        claims = parse_claims(text)
        if not claims.ok:
            return CheckResult(None, None, claims.reason, "parse_error")
        if claims.total == 0:
            return CheckResult(1.0, True, "the output makes no factual claim")
        share = claims.supported / claims.total
        limit = self.threshold()
        passed = None if limit is None else share >= limit - 1e-12
        reason = f"{claims.supported}/{claims.total} claims supported"
        if claims.unsupported:
            reason += "; unsupported: " + " / ".join(claims.unsupported)
        return CheckResult(share, passed, reason[:2000])


class PairwiseJudge(JudgeCheck):
    meta = _meta(
        "judge-pairwise", "LLM judge: pairwise vs baseline", "LLM 審査員：ベースラインとの一対比較",
        "An LLM compares each variant's output with the `baseline` variant's output for the "
        "same case and sample, in both orders; a verdict that flips with the order is a tie. "
        "Stored as judgments; value 1 (win), 0.5 (tie), 0 (loss). The flip rate (position "
        "bias) is reported per judge and variant pair.",
        "各バリアントの出力を baseline バリアントの出力と LLM が比較する（両方の順序で実施し、"
        "順序で判定が変わったら引き分け）。勝ち 1・引き分け 0.5・負け 0。順序による判定の反転率"
        "（位置バイアス）を報告する。",
        value_type="none",
        example={"type": "judge-pairwise", "judge": "gpt", "baseline": "polite-v1"},
    )  # fmt: skip
    extra_options: ClassVar[set[str]] = {"baseline"}
    scale = (0.0, 1.0)

    def validate(self) -> None:
        super().validate()
        if not isinstance(self.spec.options.get("baseline"), str):
            raise ValueError("check 'judge-pairwise' needs 'baseline: <variant name>'")
        if self.spec.options.get("lang", "ja") not in {"ja", "en"}:
            raise ValueError("'lang' must be ja or en")

    @property
    def baseline(self) -> str:
        return str(self.spec.options["baseline"])

    def _template_text(self, root: Path) -> str:
        opts = self.spec.options
        self._rubric = _read_text(str(opts["rubric"]), root) if opts.get("rubric") else ""
        if opts.get("template"):
            return _read_text(str(opts["template"]), root)
        return jp.PAIRWISE_TEMPLATES[str(opts.get("lang") or "ja")]

    def pair_prompt(self, first: SampleView, second: SampleView) -> str:
        """The prompt showing ``first`` as assistant A and ``second`` as B."""
        variables = self.base_vars(first)
        variables.update(output_a=first.output, output_b=second.output, output=first.output)
        return self.render_vars(variables)

    def prompt(self, view: SampleView) -> str | CheckResult:
        return CheckResult(None, None, "pairwise judges compare two samples", "skipped")

    def pair_verdict(self, text: str) -> PairVerdict:
        return parse_pairwise(text)


JUDGE_CHECKS: list[type[JudgeCheck]] = [
    RubricJudge, ReferenceJudge, DialogueJudge, FaithfulnessJudge, PairwiseJudge,
]  # fmt: skip
