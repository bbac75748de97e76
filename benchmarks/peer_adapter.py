"""Adapter that lets shared/bench/peers.py put hyouka's row beside the peers'.

    python3 /work/shared/bench/peers.py --n 5000 --tools baseline-aiohttp,hyouka \
        --cold-runs 0 --out benchmarks/results \
        --extra 'hyouka=VENV/bin/python benchmarks/peer_adapter.py \
                 {cases} {base_url} {conc} {workdir}'

It turns the benchmark's cases file into a hyouka project — the two prompt templates as two
variants, one case per question id with its `contains` check — runs it through the public
Python API (one model call per line, no cache), and prints {"passed": P, "failed": F}.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

TEMPLATES = {
    "a": "Answer the question briefly. ({{ id }}) {{ question }}",
    "b": "質問に日本語で答えてください。{{ question }} [{{ id }}]",
}


def main() -> None:
    cases_file, base_url, conc, workdir = sys.argv[1:5]
    root = Path(workdir) / "hyouka-project"
    root.mkdir(parents=True, exist_ok=True)
    seen: dict[str, dict[str, object]] = {}
    variants: set[str] = set()
    for line in Path(cases_file).read_text(encoding="utf-8").splitlines():
        row = json.loads(line)
        variants.add(row["variant"])
        seen.setdefault(
            row["id"],
            {
                "id": row["id"],
                "vars": {"id": row["id"], "question": row["question"]},
                "checks": [{"type": "contains", "value": row["expected"], "normalize": "none"}],
            },
        )
    (root / "cases.jsonl").write_text(
        "".join(json.dumps(c, ensure_ascii=False) + "\n" for c in seen.values()), encoding="utf-8"
    )
    variant_yaml = "".join(
        f"  {v}: {{provider: mock, prompt: {json.dumps(TEMPLATES[v], ensure_ascii=False)}}}\n"
        for v in sorted(variants)
    )
    (root / "hyouka.yaml").write_text(
        f"name: peerbench\nsamples: 1\nproviders:\n"
        f'  mock: {{type: openai, base_url: "{base_url.rstrip("/")}", model: mock-gpt}}\n'
        f"variants:\n{variant_yaml}datasets:\n  main: cases.jsonl\n",
        encoding="utf-8",
    )
    from hyouka.api import Workspace

    ws = Workspace.open(root)
    result = ws.run(concurrency=int(conc), use_cache=False)
    _, summaries = ws.show(result.run.uid)
    passed = sum(c.passed for s in summaries for c in s.checks.values())
    judged = sum(c.judged + c.errors for s in summaries for c in s.checks.values())
    print(json.dumps({"passed": passed, "failed": judged - passed + result.progress.errors}))


if __name__ == "__main__":
    main()
