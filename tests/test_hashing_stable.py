"""Content hashes never change: cache keys, seeds and variant versions are stored by users."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

import pytest

from hyouka.hashing import canonical_json, content_hash, derive_seed

VALUE: dict[str, Any] = {
    "b": [1, 2.5, None, True, "東京"], "a": {"z": "\ud800", "y": 1e16}, "c": (1, 2),
}  # fmt: skip


def test_hashes_are_the_ones_stored_before() -> None:
    # Computed by the json.dumps-per-call code these values were first stored with.
    assert content_hash(VALUE) == "b473200f49ca6a89"
    assert content_hash(VALUE, 32) == "b473200f49ca6a89a5c1756784ecf3d9"
    assert derive_seed(7, "case-1", 0) == 1287542943
    assert content_hash(["ver", "h" * 32, 0, 12345], 32) == "7aafeea9f4f506ed713d4d0af63bee58"


@pytest.mark.parametrize(
    "value",
    [VALUE, [], {}, "", "text\n\t\"quoted\"", -0.0, 1.0, 10**20, float("inf"),
     {"nested": [{"k": [1, {"x": None}]}]}, {"when": date(2026, 12, 2)}, {2: "int key"}],
)  # fmt: skip
def test_canonical_json_is_json_dumps_sorted_and_compact(value: Any) -> None:
    expected = json.dumps(
        value, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=str
    )
    assert canonical_json(value) == expected
