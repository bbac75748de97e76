"""Derive the `rag-ja` example's knowledge base and test cases from JSQuAD v1.3.

Run by developers, never at run time:

    python scripts/make_rag_ja_subset.py \
        --source ../shared/data/jsquad/valid-v1.3.json \
        --out hyouka/examples/rag_ja/data

JSQuAD (JGLUE, Yahoo Japan Corporation and Waseda University, CC BY-SA 4.0) is SQuAD-shaped:
articles → paragraphs (``context`` = ``title [SEP] text``) → questions with three crowd answers.

Selection, deterministic for a given ``--seed``:

1. articles with at least ``--passages-per-article`` paragraphs are eligible; ``--articles``
   of them are drawn;
2. in each drawn article, ``--questions-per-article`` paragraphs become *gold* passages and
   the rest of the ``--passages-per-article`` are drawn from the same article as *distractors*
   (same topic and vocabulary, so retrieval has to pick the right paragraph, not just the
   right article);
3. for each gold passage one of its questions is drawn and becomes a case.

Writes ``passages.jsonl`` (``{"id", "title", "text"}``) and ``cases.jsonl`` (hyouka dataset
rows). Passage and case ids are JSQuAD's own (``a10336p0`` / ``a10336p0q0``), so every row can
be traced back to the source.
"""

from __future__ import annotations

import argparse
import json
import random
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

DEFAULT_SOURCE = Path(__file__).resolve().parents[2] / "shared/data/jsquad/valid-v1.3.json"
DEFAULT_OUT = Path(__file__).resolve().parents[1] / "hyouka/examples/rag_ja/data"
SEP = " [SEP] "
_QUESTION_SUFFIX = re.compile(r"q\d+$")


def passage_id(paragraph: dict[str, Any]) -> str:
    """JSQuAD's paragraph id: the question id without its ``q<n>`` suffix."""
    ids = {_QUESTION_SUFFIX.sub("", qa["id"]) for qa in paragraph["qas"]}
    if len(ids) != 1:
        raise ValueError(f"paragraph has questions from several paragraphs: {sorted(ids)}")
    return ids.pop()


def unique(items: Sequence[str]) -> list[str]:
    """Items in first-seen order, without repeats (the crowd often gives the same span)."""
    return list(dict.fromkeys(items))


def aspect_for(answers: Sequence[str]) -> str:
    """A per-case rubric in Japanese, ELYZA-tasks-100 style, for a judge or a human rater."""
    refs = " / ".join(f"「{a}」" for a in answers)
    return (
        f"参照解答: {refs}。これと同じ内容を答えていれば正解 (表現の違いは問わない)。"
        "答えが違う、または答えていない場合は不正解。"
        "検索した文書にない情報を付け加えていれば1点減点。"
    )


def make_case(title: str, qa: dict[str, Any], pid: str) -> dict[str, Any]:
    answers = unique([a["text"] for a in qa["answers"]])
    return {
        "id": qa["id"],
        "vars": {"question": qa["question"]},
        "expected": answers,
        "gold_ids": [pid],
        "aspect": aspect_for(answers),
        "tags": [title],
        # The answer span itself, in any of the crowd's variants: a strict "did it answer" check
        # next to char-f1, which also penalises long answers.
        "checks": [{"type": "contains-any", "value": answers}],
    }


def make_passage(paragraph: dict[str, Any]) -> dict[str, str]:
    title, text = paragraph["context"].split(SEP, 1)
    return {"id": passage_id(paragraph), "title": title, "text": text}


def select(
    articles: list[dict[str, Any]],
    *,
    seed: int,
    n_articles: int,
    questions_per_article: int,
    passages_per_article: int,
) -> tuple[list[dict[str, str]], list[dict[str, Any]]]:
    """Draw the subset; returns ``(passages, cases)`` in source order."""
    rng = random.Random(seed)
    eligible = [a for a in articles if len(a["paragraphs"]) >= passages_per_article]
    if len(eligible) < n_articles:
        raise SystemExit(f"only {len(eligible)} articles have {passages_per_article} paragraphs")
    drawn = sorted(rng.sample(range(len(eligible)), n_articles))
    passages: list[dict[str, str]] = []
    cases: list[dict[str, Any]] = []
    for index in drawn:
        article = eligible[index]
        paragraphs = article["paragraphs"]
        kept = sorted(rng.sample(range(len(paragraphs)), passages_per_article))
        gold = set(rng.sample(kept, questions_per_article))
        for i in kept:
            passage = make_passage(paragraphs[i])
            passages.append(passage)
            if i in gold:
                qa = rng.choice(paragraphs[i]["qas"])
                cases.append(make_case(passage["title"], qa, passage["id"]))
    return passages, cases


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> None:
    lines = [json.dumps(row, ensure_ascii=False) for row in rows]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE)
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--seed", type=int, default=3)
    parser.add_argument("--articles", type=int, default=8)
    parser.add_argument("--questions-per-article", type=int, default=5)
    parser.add_argument("--passages-per-article", type=int, default=25)
    args = parser.parse_args(argv)
    data = json.loads(args.source.read_text(encoding="utf-8"))
    passages, cases = select(
        data["data"],
        seed=args.seed,
        n_articles=args.articles,
        questions_per_article=args.questions_per_article,
        passages_per_article=args.passages_per_article,
    )
    args.out.mkdir(parents=True, exist_ok=True)
    write_jsonl(args.out / "passages.jsonl", passages)
    write_jsonl(args.out / "cases.jsonl", cases)
    titles = unique([p["title"] for p in passages])
    print(f"{len(passages)} passages, {len(cases)} cases from {len(titles)} articles:")
    print("  " + ", ".join(titles))


if __name__ == "__main__":
    main()
