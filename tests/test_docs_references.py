"""Every ``docs/…`` file the package, the README or the docs name exists."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PATH = re.compile(r"(?<![\w/])docs/[\w./-]+\.(?:md|json|html)")


def referenced() -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    files = [*ROOT.glob("hyouka/**/*.py"), ROOT / "README.md", *ROOT.glob("docs/**/*.md")]
    for path in files:
        for match in PATH.findall(path.read_text(encoding="utf-8")):
            found.setdefault(match.rstrip("."), []).append(str(path.relative_to(ROOT)))
    return found


def test_every_named_docs_file_exists() -> None:
    found = referenced()
    assert "docs/checks.md" in found and "docs/plugins.md" in found  # the scan sees them
    missing = {doc: where for doc, where in found.items() if not (ROOT / doc).is_file()}
    assert missing == {}
