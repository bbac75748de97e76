"""Wording helpers: the message catalogs, language choice and number formatting."""

from __future__ import annotations

import string

import pytest

from hyouka.analysis import verdict as V
from hyouka.i18n.cli import EN, JA, resolve_lang, t


def _fields(template: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(template) if name}


def test_every_message_exists_in_both_languages_with_the_same_fields() -> None:
    assert set(EN) == set(JA)
    for key in EN:
        assert _fields(EN[key]) == _fields(JA[key]), key


def test_language_precedence(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("HYOUKA_LANG", "LC_ALL", "LC_MESSAGES", "LANG"):
        monkeypatch.delenv(var, raising=False)
    assert resolve_lang() == "en"
    monkeypatch.setenv("LANG", "ja_JP.UTF-8")
    assert resolve_lang() == "ja"
    monkeypatch.setenv("HYOUKA_LANG", "en")
    assert resolve_lang() == "en"
    assert resolve_lang("ja") == "ja"


def test_messages_fill_their_fields() -> None:
    assert t("en", "compare.alt_seeds", n=3) == "3 more seeds"
    assert t("ja", "compare.alt_seeds", n=3) == "シードをあと 3 本"


def test_decimals_follow_the_interval_width() -> None:
    assert V.decimals(0.07) == 2  # ±0.07 → +0.12
    assert V.decimals(0.004) == 3
    assert V.decimals(120.0) == 2
    assert V.decimals(1e-9) == 6
    assert V.decimals(float("nan")) == 2


def test_signs_counts_and_ratios() -> None:
    assert V.signed(0.12) == "+0.12"
    assert V.signed(-0.05) == "−0.05"
    assert V.about(7) == "7" and V.about(237) == "240" and V.about(1234) == "1,200"
    assert V.about(99.2) == "100"
    assert V.ratio_text(3.04) == "3" and V.ratio_text(0.456) == "0.46"
    assert V.ratio_text(12.6) == "13"
    assert V.p_text(0.0004) == "< 0.001" and V.p_eq(0.0421) == "= 0.042"
