"""A small Japanese RAG app: BM25 retrieval over ``data/passages.jsonl``, then an answer.

hyouka calls :func:`answer` once per case and sample (see ``hyouka.yaml``, ``app:
rag_app:answer``). ``params`` come from the variant, so one function serves every variant:

- ``mode: extractive`` answers with the retrieved sentence that shares the most (rare) words
  with the question. No LLM: fast, deterministic, and a fair baseline, because the small
  local model cannot write good Japanese.
- ``mode: llm`` (the default) puts what it retrieved into a Japanese prompt whose
  instruction is chosen by ``style`` (``concise`` or ``detailed``, or your own text in
  ``instruction``) and asks the variant's provider. ``context: passages`` (the default) gives
  the model the ``top_k`` passages, each cut at ``max_passage_chars``; ``context: sentences``
  gives only the best sentence of each, a prompt about four times shorter (the small local
  model reads Japanese at about 1.7 tokens per character, so this is what keeps it quick).
  Point the provider at any OpenAI-compatible server in ``hyouka.yaml``; this file does not
  change.

Every answer returns the passages it used as ``contexts`` so hit@k and MRR can be scored
against each case's ``gold_ids``.

Retrieval is Okapi BM25 (a dozen lines below, no extra package) over words from
``hyouka.text.tokenize.tokenize`` (fugashi + unidic-lite; ``pip install 'hyouka[ja]'``).
The index is built once per process, on first use.
"""

from __future__ import annotations

import functools
import json
import math
import re
import unicodedata
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hyouka.datasets import Case
from hyouka.providers.python_app import AppContext, AppResult
from hyouka.text.tokenize import tokenize

PASSAGES = Path(__file__).resolve().parent / "data" / "passages.jsonl"
# Only these variant params are sampling settings for the LLM; the rest configure the app.
LLM_PARAMS = ("temperature", "top_p", "max_tokens")

SYSTEM = "与えられた文書だけを根拠に、日本語で質問に答えてください。"
STYLES = {
    "concise": (
        "答えだけを一語か一句で短く書いてください。"
        "文書に答えがなければ「わかりません」と書いてください。"
    ),
    "detailed": (
        "答えを一文で述べ、根拠の文書の番号を [1] のように示してください。"
        "文書にないことは書かないでください。"
    ),
}

_WORD = re.compile(r"\w")  # a token with no letter, digit or kana/kanji is punctuation
_SENTENCE_END = re.compile(r"(?<=。)")


@dataclass(frozen=True)
class Passage:
    id: str
    title: str
    text: str


def normalize(text: str) -> str:
    """NFKC and lower case, so ＧＯＯＧＬＥ, Google and google are one word."""
    return unicodedata.normalize("NFKC", text).lower()


def terms(text: str) -> list[str]:
    """The words BM25 matches on: normalised tokens without punctuation."""
    return [t for t in tokenize(normalize(text)) if _WORD.search(t)]


class BM25:
    """Okapi BM25 (Robertson et al.) with the usual k1 = 1.5, b = 0.75."""

    def __init__(self, docs: Sequence[Sequence[str]], k1: float = 1.5, b: float = 0.75) -> None:
        self.k1, self.b = k1, b
        self.tfs = [Counter(doc) for doc in docs]
        self.lengths = [len(doc) for doc in docs]
        self.avg_length = sum(self.lengths) / max(len(docs), 1)
        df = Counter(term for tf in self.tfs for term in tf)
        n = len(docs)
        # The "+1" form of IDF stays positive for words found in most passages (の, は, …).
        self.idf = {t: math.log(1 + (n - f + 0.5) / (f + 0.5)) for t, f in df.items()}

    def scores(self, query: Sequence[str]) -> list[float]:
        out = []
        for tf, length in zip(self.tfs, self.lengths, strict=True):
            norm = self.k1 * (1 - self.b + self.b * length / self.avg_length)
            out.append(
                sum(self.idf[t] * tf[t] * (self.k1 + 1) / (tf[t] + norm) for t in query if t in tf)
            )
        return out


@dataclass(frozen=True)
class Hit:
    passage: Passage
    score: float


@dataclass(frozen=True)
class Index:
    passages: tuple[Passage, ...]
    bm25: BM25

    def search(self, question: str, k: int) -> list[Hit]:
        """The ``k`` best passages for ``question``, best first (ties keep file order)."""
        scores = self.bm25.scores(terms(question))
        order = sorted(range(len(scores)), key=lambda i: -scores[i])[:k]
        return [Hit(self.passages[i], scores[i]) for i in order]


@functools.lru_cache(maxsize=4)
def load_index(path: Path = PASSAGES) -> Index:
    """Read the passages and index title + text (the title names the topic of each article)."""
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
    passages = tuple(Passage(r["id"], r["title"], r["text"]) for r in rows)
    return Index(passages, BM25([terms(f"{p.title} {p.text}") for p in passages]))


def sentences(text: str) -> list[str]:
    """Split on 。 (keeping it); Japanese prose has no other reliable sentence marker."""
    return [s.strip() for s in _SENTENCE_END.split(text) if s.strip()]


def best_sentence_in(question: str, text: str, index: Index) -> tuple[str, float]:
    """The sentence of ``text`` that covers the most question words, weighted by IDF.

    Rare words (names, numbers) count for more than common ones; ties go to the earlier
    sentence.
    """
    wanted = set(terms(question))
    best, best_score = "", -1.0
    for sentence in sentences(text):
        score = sum(index.bm25.idf.get(t, 0.0) for t in wanted & set(terms(sentence)))
        if score > best_score:
            best, best_score = sentence, score
    return best, best_score


def best_sentence(question: str, hits: Sequence[Hit], index: Index) -> str:
    """The best sentence over all retrieved passages; ties go to the higher-ranked passage."""
    found = [best_sentence_in(question, h.passage.text, index) for h in hits]
    return max(found, key=lambda pair: pair[1], default=("", 0.0))[0]


def context_texts(
    question: str, hits: Sequence[Hit], index: Index, params: Mapping[str, Any]
) -> list[str]:
    """What the model reads of each hit: the passage (cut) or its best sentence."""
    kind = params.get("context", "passages")
    if kind == "sentences":
        return [best_sentence_in(question, h.passage.text, index)[0] for h in hits]
    if kind != "passages":
        raise ValueError(f"rag_app: unknown context {kind!r}; use 'passages' or 'sentences'")
    limit = int(params.get("max_passage_chars", 400))
    return [h.passage.text[:limit] for h in hits]


def build_messages(
    question: str, hits: Sequence[Hit], texts: Sequence[str], instruction: str
) -> list[dict[str, str]]:
    """System + user messages: the instruction, the numbered documents, the question."""
    docs = "\n".join(
        f"[{n}] {h.passage.title}: {text}"
        for n, (h, text) in enumerate(zip(hits, texts, strict=True), start=1)
    )
    user = f"{instruction}\n\n# 文書\n{docs}\n\n# 質問\n{question}\n\n# 答え\n"
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": user}]


def contexts_of(hits: Sequence[Hit], texts: Sequence[str] | None = None) -> list[dict[str, Any]]:
    """The retrieved passages as hyouka contexts; ``text`` is what the answer step read."""
    shown = texts if texts is not None else [h.passage.text for h in hits]
    return [
        {"id": h.passage.id, "title": h.passage.title, "text": text, "score": round(h.score, 4)}
        for h, text in zip(hits, shown, strict=True)
    ]


def instruction_of(params: Mapping[str, Any]) -> str:
    if "instruction" in params:
        return str(params["instruction"])
    style = str(params.get("style", "concise"))
    if style not in STYLES:
        raise ValueError(
            f"rag_app: unknown style {style!r}; use one of {sorted(STYLES)} "
            "or write your own text in the variant's params as 'instruction'"
        )
    return STYLES[style]


async def answer(case: Case, params: dict[str, Any], ctx: AppContext) -> AppResult:
    """Answer ``case.vars["question"]`` from the knowledge base.

    Async on purpose: the app then runs on hyouka's event loop, one call at a time between
    awaits, so the (not thread-safe) MeCab tagger behind ``tokenize`` is never entered from two
    threads, while LLM calls still overlap.
    """
    question = str(case.vars["question"])
    index = load_index()
    hits = index.search(question, int(params.get("top_k", 3)))
    mode = params.get("mode", "llm")
    if mode == "extractive":
        return AppResult(output=best_sentence(question, hits, index), contexts=contexts_of(hits))
    if mode != "llm":
        raise ValueError(f"rag_app: unknown mode {mode!r}; use 'extractive' or 'llm'")
    if not ctx.has_llm:
        raise ValueError(
            "rag_app: mode 'llm' needs a model; add 'provider: local' (or another provider) "
            "to this variant in hyouka.yaml, or set 'mode: extractive'"
        )
    texts = context_texts(question, hits, index, params)
    messages = build_messages(question, hits, texts, instruction_of(params))
    llm = {k: params[k] for k in LLM_PARAMS if k in params}
    generation = await ctx.generate(messages, **llm)
    return AppResult(output=generation.text.strip(), contexts=contexts_of(hits, texts))
