"""Property-based fuzzing of the dataset loader: any bytes give cases or row problems."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hyouka.datasets import load_dataset
from hyouka.errors import DatasetError

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=8,
)
rows = st.dictionaries(
    st.sampled_from(["id", "vars", "expected", "checks", "aspect", "tags", "gold_ids", "x"]),
    json_values,
    max_size=5,
)


def _load(suffix: str, data: bytes) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"d{suffix}"
        path.write_bytes(data)
        try:
            ds = load_dataset("d", path)
        except DatasetError as exc:  # whole-file problems (encoding) are reported, not raised raw
            assert "d" + suffix in str(exc)
            return
        lines = data.decode("utf-8-sig", "replace").splitlines()
        for p in ds.problems:
            assert p.location.path == str(path)
            assert 0 <= p.location.line <= max(1, len(lines) + 1)
        assert len({c.id for c in ds.cases}) == len(ds.cases)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(rows | json_values, max_size=6))
def test_jsonl_rows_never_raise(items: list[object]) -> None:
    _load(".jsonl", "".join(json.dumps(i) + "\n" for i in items).encode())


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300))
def test_arbitrary_bytes_never_raise(data: bytes) -> None:
    for suffix in (".jsonl", ".csv", ".yaml"):
        _load(suffix, data)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300))
def test_arbitrary_text_never_raises(text: str) -> None:
    for suffix in (".jsonl", ".csv", ".yaml"):
        _load(suffix, text.encode("utf-8"))
