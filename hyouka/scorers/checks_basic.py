"""Deterministic checks with the names users know from promptfoo.

Text checks compare normalised text (``normalize:`` option, default ``default``: NFKC, 〜/～,
dashes, whitespace; see docs/japanese.md), so 「１２３」 contains "123". The raw output is what
is stored and shown; only the comparison is normalised.
"""

from __future__ import annotations

import functools
import importlib
import json
import re
import sys
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from hyouka.scorers.base import Check, CheckMeta, CheckResult, SampleView


@functools.lru_cache(maxsize=64)
def _normalizer(spec: str) -> Callable[[str], str]:
    from hyouka.text.normalize import get_normalizer

    return get_normalizer(spec).apply


class TextCheck(Check):
    """Shared by checks that compare the output with text values."""

    def norm(self, text: str) -> str:
        return _normalizer(self._norm_spec())(text)

    def _norm_spec(self) -> str:
        spec = self.spec.options.get("normalize", "default")
        return str(spec if spec is not None else "none")

    @property
    def params_extra(self) -> dict[str, Any]:
        from hyouka.text.normalize import get_normalizer

        return {"normalizer": get_normalizer(self._norm_spec()).version}

    def values(self) -> list[str]:
        value = self.spec.value
        if value is None:
            return []
        if isinstance(value, list | tuple):
            return [str(v) for v in value]
        return [str(value)]

    def validate(self) -> None:
        if self.meta.value_type in {"text", "text-list"} and not self.values():
            raise ValueError(f"check '{self.spec.full_name}' needs a 'value'")
        if self.meta.value_type == "text" and isinstance(self.spec.value, list | tuple):
            raise ValueError(f"check '{self.spec.full_name}' takes one text 'value', not a list")

    @staticmethod
    def yes(ok: bool, reason: str) -> CheckResult:
        return CheckResult(1.0 if ok else 0.0, ok, reason)


def _meta(name: str, label: str, label_ja: str, desc: str, desc_ja: str, **kw: Any) -> CheckMeta:
    return CheckMeta(name, label, label_ja, desc, desc_ja, **kw)


class Equals(TextCheck):
    meta = _meta(
        "equals",
        "Equals",
        "完全一致",
        "The output equals the value (after normalisation).",
        "出力が値と一致する（正規化後）。",
        value_type="text",
        example={"type": "equals", "value": "東京"},
    )

    def score(self, sample: SampleView) -> CheckResult:
        target = self.values()[0]
        ok = self.norm(sample.output).strip() == self.norm(target).strip()
        return self.yes(ok, "equal" if ok else f"output is not '{target}'")


class Contains(TextCheck):
    meta = _meta(
        "contains",
        "Contains",
        "含む",
        "The output contains the value (after normalisation).",
        "出力が値を含む（正規化後）。",
        value_type="text",
        example={"type": "contains", "value": "返金"},
    )
    fold = False

    def _prep(self, text: str) -> str:
        text = self.norm(text)
        return text.casefold() if self.fold else text

    def score(self, sample: SampleView) -> CheckResult:
        target = self.values()[0]
        ok = self._prep(target) in self._prep(sample.output)
        return self.yes(ok, f"{'found' if ok else 'missing'}: '{target}'")


class IContains(Contains):
    meta = _meta(
        "icontains",
        "Contains (any case)",
        "含む（大文字小文字を区別しない）",
        "The output contains the value, ignoring letter case.",
        "大文字・小文字を区別せずに値を含む。",
        value_type="text",
        example={"type": "icontains", "value": "refund"},
    )
    fold = True


class ContainsAny(Contains):
    meta = _meta(
        "contains-any",
        "Contains any",
        "いずれかを含む",
        "The output contains at least one of the values.",
        "値のうち少なくとも一つを含む。",
        value_type="text-list",
        example={"type": "contains-any", "value": ["返金", "払い戻し"]},
    )

    def score(self, sample: SampleView) -> CheckResult:
        out = self._prep(sample.output)
        found = [v for v in self.values() if self._prep(v) in out]
        return self.yes(bool(found), f"found: {found}" if found else "none of the values found")


class ContainsAll(Contains):
    meta = _meta(
        "contains-all",
        "Contains all",
        "すべてを含む",
        "The output contains every one of the values.",
        "値をすべて含む。",
        value_type="text-list",
        example={"type": "contains-all", "value": ["注文番号", "お届け日"]},
    )

    def score(self, sample: SampleView) -> CheckResult:
        out = self._prep(sample.output)
        missing = [v for v in self.values() if self._prep(v) not in out]
        return self.yes(not missing, f"missing: {missing}" if missing else "all found")


class StartsWith(TextCheck):
    meta = _meta(
        "starts-with",
        "Starts with",
        "で始まる",
        "The output starts with the value (leading whitespace ignored).",
        "出力が値で始まる（先頭の空白は無視）。",
        value_type="text",
        example={"type": "starts-with", "value": "お問い合わせ"},
    )

    def score(self, sample: SampleView) -> CheckResult:
        target = self.values()[0]
        ok = self.norm(sample.output).lstrip().startswith(self.norm(target))
        return self.yes(ok, f"{'starts' if ok else 'does not start'} with '{target}'")


class Regex(TextCheck):
    meta = _meta(
        "regex",
        "Regular expression",
        "正規表現",
        "The output matches the regular expression (Python syntax, searched anywhere). "
        "Not normalised unless `normalize:` is set.",
        "出力が正規表現に一致する（Python の構文、部分一致）。",
        value_type="text",
        example={"type": "not-regex", "value": "AI(として|の私)"},
    )

    def validate(self) -> None:
        super().validate()
        try:
            self._pattern = re.compile(self.values()[0])
        except re.error as exc:
            raise ValueError(f"invalid regular expression: {exc}") from None

    def score(self, sample: SampleView) -> CheckResult:
        spec = self.spec.options.get("normalize")
        text = _normalizer(str(spec))(sample.output) if spec else sample.output
        match = self._pattern.search(text)
        if match:
            return self.yes(True, f"matched '{match.group(0)[:80]}'")
        return self.yes(False, "no match")


def _find_json(text: str) -> Any:
    """The first JSON value inside ``text`` (objects and arrays), or raise ValueError."""
    decoder = json.JSONDecoder()
    for i, ch in enumerate(text):
        if ch in "{[":
            try:
                return decoder.raw_decode(text, i)[0]
            except json.JSONDecodeError:
                continue
    raise ValueError("no JSON found")


class _JsonCheck(Check):
    def validate(self) -> None:
        schema = self.spec.value
        self._validator = None
        if schema is not None:
            import jsonschema

            if not isinstance(schema, Mapping):
                raise ValueError("the JSON Schema 'value' must be a mapping")
            schema = dict(schema)
            try:
                cls = jsonschema.validators.validator_for(schema)
                cls.check_schema(schema)
            except jsonschema.SchemaError as exc:
                raise ValueError(f"invalid JSON Schema: {exc.message}") from None
            self._validator = cls(schema)

    def _check(self, data: Any) -> CheckResult:
        if self._validator is None:
            return CheckResult(1.0, True, "valid JSON")
        errors = sorted(self._validator.iter_errors(data), key=lambda e: list(e.path))
        if errors:
            where = "/".join(str(p) for p in errors[0].path) or "(root)"
            return CheckResult(0.0, False, f"schema: {where}: {errors[0].message}")
        return CheckResult(1.0, True, "valid JSON matching the schema")


class IsJson(_JsonCheck):
    meta = _meta(
        "is-json",
        "Is JSON",
        "JSON である",
        "The whole output is valid JSON; with a `value`, it also matches that JSON Schema.",
        "出力全体が JSON として正しい（value があればそのスキーマに合う）。",
        value_type="json-schema",
        example={"type": "is-json"},
    )

    def score(self, sample: SampleView) -> CheckResult:
        try:
            data = json.loads(sample.output)
        except json.JSONDecodeError as exc:
            return CheckResult(0.0, False, f"not JSON: {exc.msg} at column {exc.colno}")
        return self._check(data)


class ContainsJson(_JsonCheck):
    meta = _meta(
        "contains-json",
        "Contains JSON",
        "JSON を含む",
        "The output contains a JSON object or array (e.g. in a code block); with a "
        "`value`, it matches that JSON Schema.",
        "出力が JSON を含む（value があればスキーマに合う）。",
        value_type="json-schema",
        example={"type": "contains-json"},
    )

    def score(self, sample: SampleView) -> CheckResult:
        try:
            data = _find_json(sample.output)
        except ValueError:
            return CheckResult(0.0, False, "no JSON object or array found")
        return self._check(data)


class JsonSchema(_JsonCheck):
    meta = _meta(
        "json-schema",
        "JSON Schema",
        "JSON スキーマ",
        "The output (or the JSON inside it) matches the JSON Schema in `value`.",
        "出力（または含まれる JSON）が value の JSON スキーマに合う。",
        value_type="json-schema",
        example={"type": "json-schema", "value": {"type": "object", "required": ["answer"]}},
    )

    def validate(self) -> None:
        if self.spec.value is None:
            raise ValueError("check 'json-schema' needs a schema as 'value'")
        super().validate()

    def score(self, sample: SampleView) -> CheckResult:
        try:
            data = json.loads(sample.output)
        except json.JSONDecodeError:
            try:
                data = _find_json(sample.output)
            except ValueError:
                return CheckResult(0.0, False, "no JSON found")
        return self._check(data)


class Levenshtein(TextCheck):
    meta = _meta(
        "levenshtein",
        "Levenshtein distance",
        "編集距離",
        "Edit distance between the output and the value (or the case's expected "
        "references, the closest one); passes when ≤ threshold (default 5).",
        "出力と値（または期待値）の編集距離。threshold 以下で合格（既定 5）。",
        numeric=True,
        default_threshold=5.0,
        example={"type": "levenshtein", "value": "東京都", "threshold": 2},
    )

    def validate(self) -> None:
        return None

    def score(self, sample: SampleView) -> CheckResult:
        from rapidfuzz.distance import Levenshtein as Lev

        refs = self.values() or list(sample.case.expected or [])
        if not refs:
            return CheckResult(None, None, "no value and no expected reference", "skipped")
        out = self.norm(sample.output)
        distance = min(Lev.distance(out, self.norm(r)) for r in refs)
        limit = self.threshold()
        ok = None if limit is None else distance <= limit
        return CheckResult(float(distance), ok, f"distance {distance}")


class Latency(Check):
    meta = _meta(
        "latency",
        "Latency",
        "応答時間",
        "Passes when the call took at most `threshold` milliseconds.",
        "応答時間が threshold ミリ秒以下なら合格。",
        value_type="none",
        numeric=True,
        example={"type": "latency", "threshold": 3000},
    )

    def validate(self) -> None:
        if self.spec.threshold is None:
            raise ValueError("check 'latency' needs a 'threshold' in milliseconds")

    def score(self, sample: SampleView) -> CheckResult:
        if sample.latency_ms is None:
            return CheckResult(None, None, "latency unknown", "skipped")
        limit = float(self.spec.threshold or 0)
        ok = sample.latency_ms <= limit
        return CheckResult(sample.latency_ms, ok, f"{sample.latency_ms:.0f} ms (limit {limit:g})")


class Cost(Check):
    meta = _meta(
        "cost",
        "Cost",
        "コスト",
        "Passes when the call cost at most `threshold` (in the pricing's currency).",
        "1 回の呼び出しのコストが threshold 以下なら合格。",
        numeric=True,
        example={"type": "cost", "threshold": 0.002},
    )

    def validate(self) -> None:
        if self.spec.threshold is None:
            raise ValueError("check 'cost' needs a 'threshold'")

    def score(self, sample: SampleView) -> CheckResult:
        if sample.cost is None:
            return CheckResult(None, None, "cost unknown (set pricing on the provider)", "skipped")
        limit = float(self.spec.threshold or 0)
        ok = sample.cost <= limit
        return CheckResult(sample.cost, ok, f"cost {sample.cost:.6f} (limit {limit:g})")


def import_function(ref: str, root: Path | None = None) -> Callable[..., Any]:
    module_name, _, func_name = ref.partition(":")
    if not func_name:
        raise ValueError("'value' must look like 'module:function' (or 'file.py:function')")
    if root is not None and str(root) not in sys.path:
        sys.path.insert(0, str(root))
    module_name = module_name.removesuffix(".py").replace("/", ".")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ValueError(f"cannot import '{module_name}': {exc}") from None
    func = getattr(module, func_name, None)
    if not callable(func):
        raise ValueError(f"'{module_name}' has no function '{func_name}'")
    return func  # type: ignore[no-any-return]


class PythonCheck(Check):
    meta = _meta(
        "python",
        "Python function",
        "Python 関数",
        "Calls `value: module:function` with (output, context) where context has "
        "`case`, `vars`, `expected`, `contexts`; it returns a bool, a number in "
        "[0, 1] (passes at ≥ threshold, default 0.5) or a dict "
        "{pass, score, reason}.",
        "value に指定した関数 (output, context) を呼ぶ。bool・0〜1 の数・"
        "{pass, score, reason} を返す。",
        value_type="python-ref",
        example={"type": "python", "value": "checks:polite_enough"},
    )

    def validate(self) -> None:
        if not isinstance(self.spec.value, str):
            raise ValueError("check 'python' needs 'value: module:function'")
        root = self.spec.options.get("root")
        self._func = import_function(self.spec.value, Path(root) if root else None)

    def score(self, sample: SampleView) -> CheckResult:
        context = {
            "case": sample.case.content(),
            "vars": dict(sample.case.vars),
            "expected": list(sample.case.expected or []),
            "contexts": list(sample.contexts or []),
            "latency_ms": sample.latency_ms,
        }
        try:
            result = self._func(sample.output, context)
        except Exception as exc:
            return CheckResult(None, None, f"{type(exc).__name__}: {exc}", "error")
        configured = self.threshold()
        limit = configured if configured is not None else 0.5
        if isinstance(result, bool):
            return CheckResult(1.0 if result else 0.0, result, None)
        if isinstance(result, int | float):
            return CheckResult(float(result), float(result) >= limit, None)
        if isinstance(result, Mapping):
            score = result.get("score")
            passed = result.get("pass")
            if passed is None and score is not None:
                passed = float(score) >= limit
            value = float(score) if score is not None else (1.0 if passed else 0.0)
            reason = result.get("reason")
            return CheckResult(
                value,
                None if passed is None else bool(passed),
                None if reason is None else str(reason),
            )
        return CheckResult(None, None, f"returned {type(result).__name__}", "error")


BASIC_CHECKS: list[type[Check]] = [
    Equals,
    Contains,
    IContains,
    ContainsAny,
    ContainsAll,
    StartsWith,
    Regex,
    IsJson,
    ContainsJson,
    JsonSchema,
    Levenshtein,
    Latency,
    Cost,
    PythonCheck,
]
