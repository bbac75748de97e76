"""Reference-based text metrics and retrieval metrics as checks.

Each compares the output with the case's ``expected`` references (or a ``value``) through the
Japanese-aware functions in ``metrics_text`` / ``metrics_retrieval``. They measure (``numeric``)
and pass at ``threshold`` when one is given (or the metric's default).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from hyouka.scorers import metrics_retrieval as mr
from hyouka.scorers import metrics_text as mt
from hyouka.scorers.base import Check, CheckMeta, CheckResult, SampleView
from hyouka.text.normalize import get_normalizer
from hyouka.text.tokenize import TOKENIZER_ID


class _RefMetric(Check):
    fn: ClassVar[Callable[..., float]]
    takes_normalizer: ClassVar[bool] = True
    uses_tokens: ClassVar[bool] = False

    def validate(self) -> None:
        spec = self.spec.options.get("normalize", "default")
        self._normalizer = get_normalizer(spec)

    @property
    def params_extra(self) -> dict[str, Any]:
        extra = {"normalizer": self._normalizer.version}
        if self.uses_tokens:
            extra["tokenizer"] = TOKENIZER_ID
        return extra

    def refs(self, sample: SampleView) -> list[str]:
        value = self.spec.value
        if value is not None:
            return [str(v) for v in value] if isinstance(value, list | tuple) else [str(value)]
        return list(sample.case.expected or [])

    def score(self, sample: SampleView) -> CheckResult:
        refs = self.refs(sample)
        if not refs:
            return CheckResult(None, None, "the case has no expected reference", "skipped")
        if self.takes_normalizer:
            value = float(type(self).fn(sample.output, refs, self._normalizer))
        else:
            value = float(type(self).fn(sample.output, refs))
        limit = self.threshold()
        passed = None if limit is None else value >= limit
        return CheckResult(value, passed, f"{self.meta.name} {value:.3f} vs {len(refs)} ref(s)")


def _m(name: str, label: str, label_ja: str, desc: str, desc_ja: str, **kw: Any) -> CheckMeta:
    return CheckMeta(name, label, label_ja, desc, desc_ja, numeric=True, needs_reference=True, **kw)


class ExactMatch(_RefMetric):
    meta = _m(
        "exact-match",
        "Exact match",
        "完全一致率",
        "1 when the normalised output equals one of the references, else 0.",
        "正規化後の出力が参照のいずれかと一致すれば 1。",
        default_threshold=1.0,
    )
    fn = staticmethod(mt.exact_match)


class CharF1(_RefMetric):
    meta = _m(
        "char-f1",
        "Character F1",
        "文字 F1",
        "JGLUE-style bag-of-characters F1 after normalisation, max over references.",
        "JGLUE 方式の文字単位 F1（正規化後、参照の最大値）。",
        example={"type": "char-f1", "threshold": 0.5},
    )
    fn = staticmethod(mt.char_f1)


class LlmJpCharF1(_RefMetric):
    meta = _m(
        "llm-jp-char-f1",
        "llm-jp-eval char_f1 (compat)",
        "llm-jp-eval 互換 char_f1",
        "llm-jp-eval v1.3's `char_f1`: fuzzywuzzy token_sort_ratio/100 — a Levenshtein "
        "ratio, not an F1. For comparing with published llm-jp-eval numbers only.",
        "llm-jp-eval v1.3 の char_f1 互換（実体は編集距離比で F1 ではない）。",
    )
    fn = staticmethod(mt.llm_jp_eval_char_f1)
    takes_normalizer = False


class Bleu(_RefMetric):
    meta = _m(
        "bleu",
        "BLEU (Japanese tokens)",
        "BLEU（日本語単語）",
        "Sentence BLEU on fugashi + unidic-lite words (never whitespace tokens), best "
        "single reference, 0–1.",
        "fugashi + unidic-lite で分かち書きした文 BLEU（0〜1）。",
    )
    fn = staticmethod(mt.bleu)
    uses_tokens = True


class Chrf(_RefMetric):
    meta = _m(
        "chrf",
        "chrF",
        "chrF",
        "Character n-gram F-score (chrF, β=2), 0–1.",
        "文字 n-gram F スコア（chrF, β=2）。",
    )
    fn = staticmethod(mt.chrf)


class RougeL(_RefMetric):
    meta = _m(
        "rouge-l",
        "ROUGE-L (Japanese tokens)",
        "ROUGE-L（日本語単語）",
        "Longest-common-subsequence F-measure on Japanese words.",
        "日本語単語列の最長共通部分列 F 値。",
    )
    fn = staticmethod(mt.rouge_l)
    uses_tokens = True


class JaRatio(Check):
    meta = CheckMeta(
        "ja-ratio",
        "Japanese character ratio",
        "日本語文字の割合",
        "Share of Japanese characters (kana, kanji) among the letters of the output; passes at "
        "≥ threshold (default 0.5): 'the answer is in Japanese'.",
        "出力の文字のうち日本語（かな・漢字）の割合。threshold 以上で合格（既定 0.5）。",
        numeric=True,
        default_threshold=0.5,
        example={"type": "ja-ratio", "threshold": 0.6},
    )

    def score(self, sample: SampleView) -> CheckResult:
        value = mt.japanese_ratio(sample.output)
        limit = self.threshold()  # the spec's, else meta.default_threshold; 0 stays 0
        assert limit is not None
        return CheckResult(value, value >= limit, f"{value * 100:.0f}% Japanese characters")


class _Retrieval(Check):
    fn: ClassVar[Callable[..., float]]

    def validate(self) -> None:
        k = self.spec.options.get("k", 5)
        if not isinstance(k, int) or k < 1:
            raise ValueError(f"check '{self.meta.name}' needs 'k' as a positive integer")
        self.k = k

    def score(self, sample: SampleView) -> CheckResult:
        gold = list(sample.case.gold_ids or [])
        if not gold:
            return CheckResult(None, None, "the case has no gold_ids", "skipped")
        if sample.contexts is None:
            return CheckResult(None, None, "the sample returned no contexts", "skipped")
        ids = [str(c.get("id")) for c in sample.contexts]
        value = float(type(self).fn(ids, set(gold), self.k))
        limit = self.threshold()
        passed = None if limit is None else value >= limit
        return CheckResult(value, passed, f"{self.meta.name}@{self.k} = {value:.3f}")


def _r(name: str, label: str, label_ja: str, desc: str, desc_ja: str, **kw: Any) -> CheckMeta:
    return CheckMeta(
        name,
        label,
        label_ja,
        desc,
        desc_ja,
        numeric=True,
        needs_contexts=True,
        example={"type": name, "k": 5},
        **kw,
    )


class HitAtK(_Retrieval):
    meta = _r(
        "hit-at-k",
        "Hit@k",
        "Hit@k",
        "1 when a gold passage is among the first k retrieved contexts (option k, default 5).",
        "上位 k 件の検索結果に正解パッセージがあれば 1。",
        default_threshold=1.0,
    )
    fn = staticmethod(mr.hit_at_k)


class RecallAtK(_Retrieval):
    meta = _r(
        "recall-at-k",
        "Recall@k",
        "Recall@k",
        "Share of the gold passages among the first k retrieved contexts.",
        "正解パッセージのうち上位 k 件に含まれる割合。",
    )
    fn = staticmethod(mr.recall_at_k)


class Mrr(_Retrieval):
    meta = _r(
        "mrr",
        "MRR",
        "MRR",
        "Reciprocal rank of the first gold passage (within k).",
        "最初の正解パッセージの順位の逆数（k 件以内）。",
    )
    fn = staticmethod(mr.mrr)


class NdcgAtK(_Retrieval):
    meta = _r(
        "ndcg",
        "nDCG@k",
        "nDCG@k",
        "Normalised discounted cumulative gain at k.",
        "上位 k 件の nDCG。",
    )
    fn = staticmethod(mr.ndcg_at_k)


TEXT_CHECKS: list[type[Check]] = [
    ExactMatch,
    CharF1,
    LlmJpCharF1,
    Bleu,
    Chrf,
    RougeL,
    JaRatio,
    HitAtK,
    RecallAtK,
    Mrr,
    NdcgAtK,
]
