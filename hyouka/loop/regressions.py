"""Writing accepted checks into the project: ``regressions.yaml`` and ``data/regressions.jsonl``.

``regressions.yaml`` is included by ``hyouka.yaml`` (``include: [regressions.yaml]``), so every
``hyouka run`` runs it. It holds:

- ``checks:``, run on every case of every dataset: the phrase checks (cheap, and a phrase
  nobody may say must not appear anywhere);
- ``datasets.regressions``: the complained cases (``data/regressions.jsonl``) and, under its
  ``checks:``, the judge rubric checks, which therefore cost judge calls on the regression
  cases only.

Each check carries ``metric: complaint-<id>`` and a comment block above it with its provenance
(which judgments, who, when, what was said, who accepted it and when). The files are edited as
text, so a person's own comments and layout survive; every edit is validated by loading the
project again and undone if the result does not load.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from hyouka.config import CONFIG_FILE, load_config
from hyouka.errors import HyoukaError

REGRESSIONS_FILE = "regressions.yaml"
DATASET_NAME = "regressions"
DATASET_PATH = "data/regressions.jsonl"

HEADER = f"""\
# Regression checks grown from complaints (`hyouka feedback`). hyouka.yaml includes this file,
# so every `hyouka run` runs them and `hyouka gate` fails a version that brings one back.
# Each check's metric, complaint-<id>, links it to its complaint and decision in the store.
# Phrase checks run on every case; judge rubric checks run on the regression cases only.
checks: []
datasets:
  {DATASET_NAME}:
    path: {DATASET_PATH}
    description: cases people complained about, one row per complaint
    checks: []
"""


class RegressionsFileError(HyoukaError):
    """regressions.yaml or hyouka.yaml cannot be edited safely."""


@dataclass(frozen=True)
class Written:
    """What accepting a check changed in the project."""

    regressions_file: Path
    section: str  # checks | datasets.regressions.checks
    include_added: bool
    cases_added: tuple[str, ...]


# ----------------------------------------------------------------------------- YAML text


class _BlockDumper(yaml.SafeDumper):
    """Multi-line strings (rubrics) as literal blocks, readable in the file."""


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_BlockDumper.add_representer(str, _str)


def item_text(check: Mapping[str, Any], comments: list[str], indent: int) -> str:
    """One ``- {check}`` list item with its comment lines, indented by ``indent`` spaces."""
    body = yaml.dump(
        [dict(check)], Dumper=_BlockDumper, allow_unicode=True, sort_keys=False, width=100
    )
    pad = " " * indent
    lines = [f"{pad}# {line}".rstrip() for c in comments for line in c.splitlines()]
    lines += [pad + line if line else line for line in body.rstrip("\n").splitlines()]
    return "\n".join(lines) + "\n"


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip(" "))


def _find_key(lines: list[str], start: int, end: int, key: str, indent: int) -> int | None:
    pattern = re.compile(rf"^ {{{indent}}}{re.escape(key)}:(\s*(\[\s*\])?\s*(#.*)?)?$")
    for i in range(start, end):
        if pattern.match(lines[i]):
            return i
    return None


def _block_end(lines: list[str], header: int) -> int:
    """The line after the block that starts at ``header`` (deeper or blank lines, comments)."""
    level = _indent(lines[header])
    end = header + 1
    last = header + 1
    while end < len(lines):
        line = lines[end]
        stripped = line.strip()
        if stripped and not stripped.startswith("#"):
            deeper = _indent(line) > level or (stripped.startswith("- ") and _indent(line) >= level)
            if not deeper:
                break
            last = end + 1
        end += 1
    return last


def _section(lines: list[str], path: tuple[str, ...]) -> int | None:
    """The header line of ``a.b.c`` written in block style with 2-space steps."""
    start, end, found = 0, len(lines), None
    for depth, key in enumerate(path):
        found = _find_key(lines, start, end, key, 2 * depth)
        if found is None:
            return None
        start, end = found + 1, _block_end(lines, found)
    return found


def insert_item(text: str, path: tuple[str, ...], item: Mapping[str, Any], notes: list[str]) -> str:
    """``text`` with ``item`` appended to the block list at ``path`` (``checks: []`` opened)."""
    lines = text.splitlines()
    header = _section(lines, path)
    if header is None:
        raise RegressionsFileError(
            f"{REGRESSIONS_FILE}: no '{'.'.join(path)}:' list in block style; add it (see "
            "docs/closing-the-loop.md) or move the file away to have hyouka write a new one"
        )
    lines[header] = re.sub(r":\s*\[\s*\]", ":", lines[header])
    end = _block_end(lines, header)
    while end > header + 1 and not lines[end - 1].strip():
        end -= 1
    indent = 2 * (len(path) - 1)
    block = item_text(item, notes, indent + 2).rstrip("\n").splitlines()
    lines[end:end] = block
    return "\n".join(lines) + "\n"


def remove_item(text: str, metric: str) -> str:
    """``text`` without the list item whose ``metric:`` is ``metric`` (and its comments)."""
    lines = text.splitlines()
    pattern = re.compile(rf"\bmetric:\s*['\"]?{re.escape(metric)}(?![\w-])")
    hit = next((i for i, line in enumerate(lines) if pattern.search(line)), None)
    if hit is None:
        return text
    start = hit
    while start >= 0 and not lines[start].lstrip().startswith("- "):
        start -= 1
    if start < 0:
        return text
    level = _indent(lines[start])
    end = start + 1
    while (
        end < len(lines)
        and lines[end].strip()
        and _indent(lines[end]) > level
        and not (lines[end].lstrip().startswith("#"))
    ):
        end += 1
    while (
        start > 0
        and lines[start - 1].lstrip().startswith("#")
        and _indent(lines[start - 1]) == level
    ):
        start -= 1
    del lines[start:end]
    return "\n".join(lines) + "\n"


def add_include(text: str, name: str = REGRESSIONS_FILE) -> tuple[str, bool]:
    """hyouka.yaml's text with ``name`` in its ``include:`` list; (text, whether it changed)."""
    lines = text.splitlines()
    header = next((i for i, line in enumerate(lines) if re.match(r"^include:", line)), None)
    if header is None:
        tail = "" if text.endswith("\n") or not text else "\n"
        return f"{text}{tail}include: [{name}]  # regression checks from complaints\n", True
    flow = re.match(r"^include:\s*\[(.*)\](\s*#.*)?$", lines[header])
    if flow:
        items = [s.strip().strip("'\"") for s in flow.group(1).split(",") if s.strip()]
        if name in items:
            return text, False
        inner = ", ".join([flow.group(1).strip(), name] if flow.group(1).strip() else [name])
        lines[header] = f"include: [{inner}]{flow.group(2) or ''}"
        return "\n".join(lines) + "\n", True
    end = _block_end(lines, header)
    listed = [
        line.strip()[2:].strip().strip("'\"")
        for line in lines[header + 1 : end]
        if line.strip().startswith("- ")
    ]
    if name in listed:
        return text, False
    while end > header + 1 and not lines[end - 1].strip():
        end -= 1
    first = next((line for line in lines[header + 1 : end] if line.strip().startswith("- ")), None)
    pad = " " * (_indent(first) if first else 2)
    lines.insert(end, f"{pad}- {name}")
    if re.match(r"^include:\s*(#.*)?$", lines[header]) is None:
        raise RegressionsFileError(f"{CONFIG_FILE}: cannot read its 'include:' line; add {name}")
    return "\n".join(lines) + "\n", True


# ----------------------------------------------------------------------------- the project


def _validated(root: Path, changes: dict[Path, str]) -> None:
    """Write ``changes``; load the project; undo every change if it no longer loads."""
    before = {p: (p.read_text(encoding="utf-8") if p.exists() else None) for p in changes}
    try:
        for path, text in changes.items():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")
        project = load_config(root)
        from hyouka.scorers.engine import compile_checks

        compile_checks(project)
    except HyoukaError as exc:
        for path, old in before.items():
            if old is None:
                path.unlink(missing_ok=True)
            else:
                path.write_text(old, encoding="utf-8")
        raise RegressionsFileError(
            f"the project would not load with this check ({exc}); nothing was changed"
        ) from None


def _dataset_claimed(root: Path) -> bool:
    """Whether hyouka.yaml itself declares a ``regressions`` dataset (it would win the merge)."""
    data = yaml.safe_load((root / CONFIG_FILE).read_text(encoding="utf-8")) or {}
    return DATASET_NAME in (data.get("datasets") or {})


def case_row(
    complaint_id: int, record: Mapping[str, Any], content: Mapping[str, Any] | None, var: str
) -> dict[str, Any] | None:
    """The regression case for one complaint: the complained case's inputs under a new id."""
    meta = {
        "complaint": complaint_id,
        "judgment": record.get("judgment_id"),
        "from_case": record.get("case_key"),
        "variant": record.get("variant"),
        "complained_output": record.get("output"),
    }
    if content:
        row: dict[str, Any] = {"id": f"complaint-{complaint_id}-{record.get('case_key')}"}
        for key in ("vars", "expected", "checks", "aspect", "gold_ids"):
            if content.get(key) not in (None, [], {}):
                row[key] = content[key]
        row["tags"] = ["regression", f"complaint-{complaint_id}"]
        row["metadata"] = {**dict(content.get("metadata") or {}), "regression": meta}
        return row
    if record.get("input_text"):
        return {
            "id": f"complaint-{complaint_id}-j{record.get('judgment_id')}",
            "vars": {var: record["input_text"]},
            "tags": ["regression", f"complaint-{complaint_id}"],
            "metadata": {"regression": meta},
        }
    return None


def _existing_rows(path: Path) -> tuple[str, set[str], set[str]]:
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    ids, inputs = set(), set()
    for line in text.splitlines():
        if line.strip():
            try:
                row = json.loads(line)
            except json.JSONDecodeError:
                continue
            ids.add(str(row.get("id")))
            inputs.add(json.dumps(row.get("vars"), sort_keys=True, ensure_ascii=False))
    return text, ids, inputs


def _dataset_text(
    path: Path,
    complaint_id: int,
    records: list[Mapping[str, Any]],
    contents: Mapping[int, Mapping[str, Any]],
    var: str,
) -> tuple[str, list[str]]:
    text, ids, inputs = _existing_rows(path)
    added: list[str] = []
    for record in records:
        case_id = record.get("case_id")
        content = contents.get(int(case_id)) if case_id is not None else None
        row = case_row(complaint_id, record, content, var)
        if row is None:
            continue
        same_input = json.dumps(row.get("vars"), sort_keys=True, ensure_ascii=False)
        if row["id"] in ids or same_input in inputs:  # the case already guards this input
            continue
        ids.add(row["id"])
        inputs.add(same_input)
        if text and not text.endswith("\n"):
            text += "\n"
        text += json.dumps(row, ensure_ascii=False) + "\n"
        added.append(str(row["id"]))
    return text, added


def _input_var(root: Path) -> str:
    """The template variable a production complaint's input goes in: the one variable the
    project's cases use when there is exactly one, else ``input``."""
    try:
        project = load_config(root)
    except HyoukaError:
        return "input"
    from hyouka.datasets import load_dataset

    for name, ds in project.config.datasets.items():
        if name == DATASET_NAME:
            continue
        found = load_dataset(name, project.resolve(ds.path))
        if found.cases and len(found.cases[0].vars) == 1:
            return str(next(iter(found.cases[0].vars)))
    return "input"


def write_accepted(
    root: Path,
    check: Mapping[str, Any],
    notes: list[str],
    complaint_id: int,
    records: list[Mapping[str, Any]],
    contents: Mapping[int, Mapping[str, Any]],
) -> Written:
    """Add an accepted check (and its complained cases) to the project (module docstring)."""
    config_path = root / CONFIG_FILE
    reg_path = root / REGRESSIONS_FILE
    is_judge = str(check.get("type", "")).startswith("judge-")
    if is_judge and _dataset_claimed(root):
        raise RegressionsFileError(
            f"{CONFIG_FILE} declares a '{DATASET_NAME}' dataset itself, which hides the one "
            f"{REGRESSIONS_FILE} declares with its judge checks; remove it from {CONFIG_FILE}"
        )
    reg_text = reg_path.read_text(encoding="utf-8") if reg_path.exists() else HEADER
    section = ("datasets", DATASET_NAME, "checks") if is_judge else ("checks",)
    reg_text = insert_item(reg_text, section, check, notes)
    config_text, include_added = add_include(config_path.read_text(encoding="utf-8"))
    data_path = root / DATASET_PATH
    data_text, added = _dataset_text(data_path, complaint_id, records, contents, _input_var(root))
    changes = {reg_path: reg_text, config_path: config_text}
    if added or not data_path.exists():
        changes[data_path] = data_text
    _validated(root, changes)
    return Written(reg_path, ".".join(section), include_added, tuple(added))


def remove_check(root: Path, metric: str) -> bool:
    """Take a check out of regressions.yaml (a rejected-after-accepted proposal)."""
    path = root / REGRESSIONS_FILE
    if not path.exists():
        return False
    text = path.read_text(encoding="utf-8")
    new = remove_item(text, metric)
    if new == text:
        return False
    _validated(root, {path: new})
    return True


__all__ = [
    "DATASET_NAME",
    "DATASET_PATH",
    "REGRESSIONS_FILE",
    "RegressionsFileError",
    "Written",
    "add_include",
    "case_row",
    "insert_item",
    "remove_check",
    "remove_item",
    "write_accepted",
]
