"""Readers of the import formats: each yields its records as generic rows (docs/import.md).

A reader yields ``Record`` tuples: where the record is (``line`` for text formats, else a path
inside the file such as ``results[3]``), the generic row (a mapping, or the
:class:`~hyouka.imports.rows.FieldProblem` that stopped it), and an error text when the tool
recorded the sample as failed. Text formats are read line by line, and Inspect's ``.eval``
archive one sample at a time, so memory stays flat in the file's size.

- generic JSONL / CSV: the rows as they are;
- promptfoo (``promptfoo eval -o results.json``, results version 3): one row per result;
  variant = the provider (and the prompt's label or index when the eval has several), case =
  the test's vars (its ``id`` var, else the test's description, names it), sample = the
  repeat (the k-th result of the same variant and test), scores = ``promptfoo`` (the result's
  score), ``promptfoo-pass``, each assertion (``promptfoo-<type>``, or its ``metric``) and
  the named scores;
- Inspect AI logs (``.eval`` zip and ``.json``): one row per sample and epoch; variant = the
  eval's model; case = the sample's id and input (target → expected); sample = epoch − 1;
  scores = each scorer's value (``C``/``I``/``P``/``N`` → 1/0/0.5/0 as Inspect maps them,
  dict values as ``scorer.key``).
"""

from __future__ import annotations

import csv
import json
import struct
import zipfile
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import orjson

from hyouka.imports.rows import FieldProblem

Record = tuple[str | int, Mapping[str, Any] | FieldProblem, str | None]
FORMATS = ("jsonl", "csv", "promptfoo", "inspect")


class FormatError(Exception):
    """The file as a whole is not of the format (a message for the person)."""


def detect_format(path: Path) -> str:
    """The format of ``path`` from its name, and for ``.json`` from its top-level keys."""
    suffix = path.suffix.lower()
    if suffix == ".jsonl":
        return "jsonl"
    if suffix == ".csv":
        return "csv"
    if suffix == ".eval":
        return "inspect"
    if suffix == ".json":
        with path.open("rb") as fh:
            head = fh.read(4096).decode("utf-8", "replace")
        if '"evalId"' in head or ('"results"' in head and '"version"' not in head[:200]):
            return "promptfoo"
        if '"eval"' in head or '"samples"' in head or '"plan"' in head:
            return "inspect"
        if '"results"' in head:
            return "promptfoo"
        raise FormatError("a .json file that is neither a promptfoo result file nor an Inspect "
                          "log; pass --format")  # fmt: skip
    raise FormatError(
        f"unknown format '{suffix or path.name}': use .jsonl, .csv, a promptfoo results .json "
        "or an Inspect AI log (.eval, .json), or pass --format"
    )


# -- generic JSONL / CSV ------------------------------------------------------------------------


def read_jsonl(path: Path) -> Iterator[Record]:
    for lines in jsonl_lines(path):
        yield from jsonl_records(lines)


def jsonl_lines(path: Path, size: int = 2000) -> Iterator[list[tuple[int, bytes]]]:
    """The file's non-blank lines with their numbers, ``size`` at a time (raw bytes)."""
    chunk: list[tuple[int, bytes]] = []
    with path.open("rb") as fh:
        for number, raw in enumerate(fh, start=1):
            if raw.strip():
                chunk.append((number, raw))
                if len(chunk) >= size:
                    yield chunk
                    chunk = []
    if chunk:
        yield chunk


def jsonl_records(lines: list[tuple[int, bytes]]) -> Iterator[Record]:
    loads = orjson.loads
    for number, raw in lines:
        try:
            yield number, loads(raw), None  # ~4x json.loads; any doubt goes to json below
            continue
        except orjson.JSONDecodeError:
            pass
        try:
            text = raw.decode("utf-8-sig" if number == 1 else "utf-8")
        except UnicodeDecodeError as exc:
            yield number, FieldProblem("", f"not UTF-8 text ({exc.reason} at byte "
                                       f"{exc.start} of the line)"), None  # fmt: skip
            continue
        try:
            yield number, json.loads(text), None
        except json.JSONDecodeError as exc:
            problem = FieldProblem("", f"invalid JSON at column {exc.colno}: {exc.msg}")
            yield number, problem, None
        except (RecursionError, ValueError):
            yield number, FieldProblem("", "too deeply nested, or a number too long"), None


_CSV_JSON = {"vars", "scores", "judge_takes", "expected"}
_CSV_INT = {"sample", "input_tokens", "output_tokens"}
_CSV_FLOAT = {"latency_ms", "cost"}


def _csv_number(name: str, cell: str) -> Any:
    try:
        return int(cell) if name in _CSV_INT else float(cell)
    except ValueError:
        kind = "a whole number" if name in _CSV_INT else "a number"
        raise FieldProblem(name, f"must be {kind} (got '{cell[:40]}')") from None


def _csv_score(name: str, cell: str) -> Any:
    low = cell.strip().lower()
    if low in {"true", "false"}:
        return low == "true"
    try:
        return float(cell)
    except ValueError:
        raise FieldProblem(name, f"must be a number or true/false (got '{cell[:40]}')") from None


def _csv_row(header: list[str], cells: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, cell in zip(header, cells, strict=True):
        if not cell.strip():
            continue
        if name.startswith("vars."):
            out.setdefault("vars", {})[name[5:]] = cell
        elif name.startswith("scores."):
            out.setdefault("scores", {})[name[7:]] = _csv_score(name, cell)
        elif name in _CSV_JSON:
            stripped = cell.strip()
            if name == "expected" and not stripped.startswith("["):
                out[name] = cell
                continue
            try:
                value = json.loads(stripped)
            except json.JSONDecodeError as exc:
                raise FieldProblem(name, f"must hold JSON ({exc.msg})") from None
            if isinstance(out.get(name), dict) and isinstance(value, dict):
                out[name].update(value)
            else:
                out[name] = value
        elif name in _CSV_INT or name in _CSV_FLOAT:
            out[name] = _csv_number(name, cell.strip())
        else:
            out[name] = cell
    return out


def read_csv(path: Path) -> Iterator[Record]:
    previous = csv.field_size_limit(max(path.stat().st_size + 1, csv.field_size_limit()))
    try:
        with path.open("r", encoding="utf-8-sig", newline="") as fh:
            reader = csv.reader(fh)
            try:
                header = [h.strip() for h in next(reader)]
            except StopIteration:
                return
            dup = sorted({h for h in header if header.count(h) > 1})
            if dup:
                yield 1, FieldProblem(dup[0], "the header names this column twice"), None
                return
            while True:
                try:
                    cells = next(reader)
                except StopIteration:
                    return
                except csv.Error as exc:
                    yield reader.line_num, FieldProblem("", f"not valid CSV ({exc})"), None
                    return
                number = reader.line_num
                if not any(c.strip() for c in cells):
                    continue
                if len(cells) != len(header):
                    yield number, FieldProblem("", f"has {len(cells)} cells but the header has "
                                               f"{len(header)}"), None  # fmt: skip
                    continue
                try:
                    yield number, _csv_row(header, cells), None
                except FieldProblem as exc:
                    yield number, exc, None
    except UnicodeDecodeError as exc:
        yield 0, FieldProblem("", f"not UTF-8 text ({exc.reason}); save the file as UTF-8"), None
    finally:
        csv.field_size_limit(previous)


# -- promptfoo ------------------------------------------------------------------------------------


def _load_json(path: Path) -> Any:
    try:
        return json.loads(path.read_bytes().decode("utf-8-sig"))
    except UnicodeDecodeError as exc:
        raise FormatError(f"not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except json.JSONDecodeError as exc:
        raise FormatError(
            f"not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg})"
        ) from None


def _obj(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _label(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _promptfoo_variant(result: Mapping[str, Any], many_providers: bool, many_prompts: bool) -> str:
    provider = result.get("provider")
    if isinstance(provider, Mapping):
        name = _label(provider.get("label")) or _label(provider.get("id"))
    else:
        name = _label(provider)
    parts = [name] if many_providers or not many_prompts else []
    if many_prompts:
        prompt = _obj(result.get("prompt"))
        label, raw = _label(prompt.get("label")), _label(prompt.get("raw"))
        idx = result.get("promptIdx")
        # a label the user gave (not the template text itself) names the prompt
        given = label and label != raw and "{{" not in label and len(label) <= 60
        parts.append(label if given else f"prompt-{idx}")
    return " ".join(p for p in parts if p) or "promptfoo"


def _promptfoo_scores(result: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    if isinstance(result.get("score"), int | float) and not isinstance(result.get("score"), bool):
        out["promptfoo"] = result["score"]
    if isinstance(result.get("success"), bool):
        out["promptfoo-pass"] = result["success"]
    grading = result.get("gradingResult")
    components = grading.get("componentResults") if isinstance(grading, Mapping) else None
    for comp in components if isinstance(components, list) else []:
        if not isinstance(comp, Mapping):
            continue
        assertion = _obj(comp.get("assertion"))
        name = _label(assertion.get("metric")) or f"promptfoo-{_label(assertion.get('type'))}"
        key, k = name, 2
        while key in out:
            key, k = f"{name}#{k}", k + 1
        score = comp.get("score")
        out[key] = score if isinstance(score, int | float) else comp.get("pass")
    named = result.get("namedScores")
    if isinstance(named, Mapping):
        for metric, value in named.items():
            out.setdefault(str(metric), value)
    return out


def _text_of(value: Any) -> str:
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False)


def read_promptfoo(path: Path) -> Iterator[Record]:
    data = _load_json(path)
    body = data.get("results") if isinstance(data, Mapping) else None
    results = body.get("results") if isinstance(body, Mapping) else None
    if not isinstance(results, list):
        raise FormatError("not a promptfoo result file: no 'results.results' list (write one "
                          "with: promptfoo eval -o results.json)")  # fmt: skip
    providers = {_promptfoo_variant(r, True, False) for r in results if isinstance(r, Mapping)}
    prompts = {r.get("promptIdx") for r in results if isinstance(r, Mapping)}
    many_providers, many_prompts = len(providers) > 1, len(prompts) > 1
    repeats: dict[tuple[str, str], int] = {}
    for i, result in enumerate(results):
        where = f"results.results[{i}]"
        if not isinstance(result, Mapping):
            yield where, FieldProblem("", "a result must be an object"), None
            continue
        test = _obj(result.get("testCase"))
        variables = result.get("vars", test.get("vars"))
        variables = dict(variables) if isinstance(variables, Mapping) else {}
        case_id = variables.get("id") if isinstance(variables.get("id"), str | int) else None
        if case_id is None and isinstance(test.get("description"), str) and test["description"]:
            case_id = test["description"]
        variant = _promptfoo_variant(result, many_providers, many_prompts)
        key = (variant, json.dumps([case_id, variables], sort_keys=True, default=str))
        sample = repeats.get(key, 0)
        repeats[key] = sample + 1
        response = _obj(result.get("response"))
        usage = result.get("tokenUsage") or response.get("tokenUsage") or {}
        error = result.get("error") or response.get("error")
        output = response.get("output")
        row: dict[str, Any] = {
            "variant": variant, "vars": variables, "sample": sample,
            "output": "" if output is None else _text_of(output),
            "latency_ms": result.get("latencyMs"), "cost": result.get("cost"),
            "input_tokens": usage.get("prompt") if isinstance(usage, Mapping) else None,
            "output_tokens": usage.get("completion") if isinstance(usage, Mapping) else None,
            "scores": _promptfoo_scores(result),
        }  # fmt: skip
        if case_id is not None:
            row["id"] = case_id
        provider = result.get("provider")
        if isinstance(provider, Mapping) and isinstance(provider.get("id"), str):
            row["model"] = provider["id"]
        failed = result.get("failureReason") == 2 or (error and output is None)
        yield where, row, (_text_of(error) or "the provider call failed") if failed else None


# -- Inspect AI ---------------------------------------------------------------------------------

_INSPECT_VALUES = {"C": 1.0, "I": 0.0, "P": 0.5, "N": 0.0}
_TRUE = {"yes", "true"}
_FALSE = {"no", "false"}


def _inspect_value(value: Any) -> Any:
    """A score value as Inspect's ``value_to_float`` maps it (None: not a number)."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return value
    if isinstance(value, str):
        if value in _INSPECT_VALUES:
            return _INSPECT_VALUES[value]
        low = value.strip().lower()
        if low in _TRUE:
            return 1.0
        if low in _FALSE:
            return 0.0
        try:
            return float(value)
        except ValueError:
            return None
    return None


def _inspect_scores(sample: Mapping[str, Any]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    scores = sample.get("scores")
    for name, score in scores.items() if isinstance(scores, Mapping) else []:
        value = score.get("value") if isinstance(score, Mapping) else score
        if isinstance(value, Mapping):
            for key, item in value.items():
                out[f"{name}.{key}"] = _inspect_value(item)
        elif isinstance(value, list):
            for k, item in enumerate(value):
                out[f"{name}.{k}"] = _inspect_value(item)
        else:
            out[str(name)] = _inspect_value(value)
    return out


def _inspect_input(value: Any) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, list):  # chat messages: the texts of the user turns
        texts = []
        for m in value:
            content = m.get("content") if isinstance(m, Mapping) else None
            if isinstance(content, str):
                texts.append(content)
            elif isinstance(content, list):
                texts.extend(str(c.get("text")) for c in content
                             if isinstance(c, Mapping) and c.get("type") == "text")  # fmt: skip
        return "\n\n".join(texts)
    return json.dumps(value, ensure_ascii=False)


def _inspect_row(sample: Mapping[str, Any], model: str) -> tuple[dict[str, Any], str | None]:
    output = _obj(sample.get("output"))
    usage = _obj(output.get("usage"))
    epoch = sample.get("epoch", 1)
    seconds = output.get("time")
    if not isinstance(seconds, int | float):
        seconds = sample.get("working_time") or sample.get("total_time")
    row: dict[str, Any] = {
        "id": sample.get("id"), "variant": model, "model": model,
        "vars": {"input": _inspect_input(sample.get("input"))},
        "sample": epoch - 1 if isinstance(epoch, int) and epoch >= 1 else epoch,
        "output": output.get("completion") if isinstance(output.get("completion"), str) else "",
        "latency_ms": seconds * 1000 if isinstance(seconds, int | float) else None,
        "input_tokens": usage.get("input_tokens"), "output_tokens": usage.get("output_tokens"),
        "scores": _inspect_scores(sample),
    }  # fmt: skip
    target = sample.get("target")
    if isinstance(target, str | list) and target:
        row["expected"] = target
    error = sample.get("error")
    if isinstance(error, Mapping):
        return row, str(error.get("message") or "the sample failed in Inspect")
    return row, None


def _inspect_model(spec: Any) -> str:
    model = spec.get("model") if isinstance(spec, Mapping) else None
    return model if isinstance(model, str) and model else "inspect"


def read_inspect(path: Path) -> Iterator[Record]:
    with path.open("rb") as fh:
        magic = fh.read(2)
    if magic == b"PK" or path.suffix.lower() == ".eval":
        yield from _read_inspect_zip(path)
        return
    data = _load_json(path)
    if not isinstance(data, Mapping) or not isinstance(data.get("eval"), Mapping):
        raise FormatError("not an Inspect AI log: no 'eval' section")
    samples = data.get("samples")
    if not isinstance(samples, list):
        raise FormatError("the Inspect log holds no samples (was it written with "
                          "--no-log-samples?)")  # fmt: skip
    model = _inspect_model(data["eval"])
    for i, sample in enumerate(samples):
        where = f"samples[{i}]"
        if not isinstance(sample, Mapping):
            yield where, FieldProblem("", "a sample must be an object"), None
            continue
        row, error = _inspect_row(sample, model)
        yield where, row, error


_ZSTD = 93  # the zip compression method Inspect writes its .eval logs with (zipfile-zstd)


def _member(archive: zipfile.ZipFile, fh: Any, info: zipfile.ZipInfo) -> bytes:
    """A member's bytes; zstd members (which Python's zipfile cannot read before 3.14) are
    read raw from the local header on and decompressed with ``zstandard``."""
    if info.compress_type != _ZSTD:
        return archive.read(info)
    try:
        import zstandard
    except ImportError:
        from hyouka.errors import MissingDependencyError

        raise MissingDependencyError(
            "zstandard", "inspect", "reading Inspect AI .eval logs"
        ) from None
    fh.seek(info.header_offset)
    local = fh.read(30)
    if len(local) != 30 or local[:4] != b"PK\x03\x04":
        raise FormatError(f"{info.filename}: a broken zip entry")
    name_len, extra_len = struct.unpack("<HH", local[26:30])
    fh.seek(info.header_offset + 30 + name_len + extra_len)
    data = fh.read(info.compress_size)
    try:
        out: bytes = zstandard.ZstdDecompressor().decompressobj().decompress(data)
    except zstandard.ZstdError as exc:
        raise FormatError(f"{info.filename}: cannot be decompressed ({exc})") from None
    return out


def _read_inspect_zip(path: Path) -> Iterator[Record]:
    try:
        archive = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, OSError) as exc:
        raise FormatError(f"not a readable .eval archive ({exc})") from None
    with archive, path.open("rb") as fh:
        infos = {i.filename: i for i in archive.infolist()}
        header_name = "header.json" if "header.json" in infos else "_journal/start.json"
        if header_name not in infos:
            raise FormatError("not an Inspect AI .eval log: no header.json")
        try:
            header = json.loads(_member(archive, fh, infos[header_name]))
        except (json.JSONDecodeError, UnicodeDecodeError, NotImplementedError) as exc:
            raise FormatError(f"{header_name} cannot be read ({exc})") from None
        model = _inspect_model(header.get("eval") if isinstance(header, Mapping) else None)
        entries = sorted(n for n in infos if n.startswith("samples/") and n.endswith(".json"))
        if not entries:
            raise FormatError("the Inspect log holds no samples")
        for name in entries:
            try:
                sample = json.loads(_member(archive, fh, infos[name]))
            except (json.JSONDecodeError, UnicodeDecodeError, NotImplementedError) as exc:
                yield name, FieldProblem("", f"not valid JSON ({exc})"), None
                continue
            if not isinstance(sample, Mapping):
                yield name, FieldProblem("", "a sample must be an object"), None
                continue
            row, error = _inspect_row(sample, model)
            yield name, row, error


READERS = {"jsonl": read_jsonl, "csv": read_csv, "promptfoo": read_promptfoo,
           "inspect": read_inspect}  # fmt: skip
