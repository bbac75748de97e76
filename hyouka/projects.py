"""Creating projects from the examples shipped in the package."""

from __future__ import annotations

import shutil
from importlib import resources
from pathlib import Path

from hyouka.errors import HyoukaError

EXAMPLES = {
    "starter": "starter",
    "support-en": "support_en",
    "rag-ja": "rag_ja",
    "live-ja": "live_ja",
    "support-chat-ja": "support_chat_ja",
}


def copy_example(name: str, target: Path, force: bool = False) -> Path:
    """Copy a packaged example project into ``target`` (with hyouka.schema.json for editors)."""
    from hyouka.config import json_schema_text

    if name not in EXAMPLES:
        raise HyoukaError(f"unknown example '{name}' (choose from: {', '.join(EXAMPLES)})")
    source = resources.files("hyouka.examples").joinpath(EXAMPLES[name])
    if (target / "hyouka.yaml").exists() and not force:
        raise HyoukaError(f"{target / 'hyouka.yaml'} already exists (use --force to overwrite)")
    target.mkdir(parents=True, exist_ok=True)
    with resources.as_file(source) as src:
        shutil.copytree(
            src,
            target,
            dirs_exist_ok=True,
            ignore=shutil.ignore_patterns("__pycache__", "*.pyc", ".hyouka"),
        )
    (target / "hyouka.schema.json").write_text(json_schema_text(), encoding="utf-8")
    return target
