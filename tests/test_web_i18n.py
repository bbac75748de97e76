"""Message catalogs: the same keys in Japanese and English, every key the code and templates
use exists, placeholders agree, and the browser's language is honoured."""

from __future__ import annotations

import json
import re
import string
from pathlib import Path

import pytest

from hyouka.web.i18n import LOCALES, choose_locale, from_accept_language, messages

WEB = Path(__file__).parents[1] / "hyouka" / "web"
# The judging and admin screens of issue 5 (other features bring their own words).
TEMPLATES = [
    WEB / "templates" / name
    for name in (
        "base.html",
        "message.html",
        "home.html",
        "judge.html",
        "done.html",
        "admin/index.html",
        "admin/new_campaign.html",
        "admin/campaign.html",
        "admin/person_link.html",
    )
]
CODE = [*WEB.glob("*.py"), *(WEB.parent / "humans").glob("*.py")]


def _catalog(locale: str) -> dict[str, str]:
    data: dict[str, str] = json.loads((WEB / "i18n" / f"{locale}.json").read_text("utf-8"))
    return data


def _fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name}


def test_both_catalogs_have_the_same_keys_and_placeholders() -> None:
    ja, en = _catalog("ja"), _catalog("en")
    assert set(ja) == set(en)
    assert all(v.strip() for v in [*ja.values(), *en.values()])
    for key in ja:
        assert _fields(ja[key]) == _fields(en[key]), key


def test_japanese_catalog_is_japanese() -> None:
    ja, en = _catalog("ja"), _catalog("en")
    same = [k for k in ja if ja[k] == en[k] and re.search(r"[a-z]{3}", en[k])]
    assert same == [], same


def test_every_key_used_by_templates_and_code_exists() -> None:
    catalog = _catalog("en")
    used: set[str] = set()
    for template in TEMPLATES:
        text = template.read_text("utf-8")
        used |= set(re.findall(r"""\bt\(\s*["']([\w.+]+)["']""", text))
        used |= {
            f"{p}.{v}"
            for p in ("mode", "status", "role", "verdict")
            for v in _dynamic_values(p)
            if f't("{p}." ~' in text
        }
        used |= set(re.findall(r"""(?:title|body)=["']([\w.]+)["']""", text))
    for source in CODE:
        text = source.read_text("utf-8")
        used |= set(re.findall(r"""["']((?:error|signin|signout|js)\.[a-z_]+)["']""", text))
    used = {k for k in used if not k.endswith(".")}  # 'mode.' ~ value: expanded above
    missing = sorted(k for k in used if k not in catalog)
    assert not missing, missing
    assert len(used) > 100


def _dynamic_values(prefix: str) -> tuple[str, ...]:
    return {
        "mode": ("pairwise", "rating", "pairwise+rating"),
        "status": ("open", "closed", "active", "disabled"),
        "role": ("annotator", "admin"),
        "verdict": ("a", "b", "tie", "both_bad"),
    }[prefix]


def test_templates_hold_no_words_of_their_own() -> None:
    # Text between tags must come from t(...) or data; a bare word means a missed string.
    allowed = {
        "A",
        "B",
        "H",
        "1",
        "2",
        "3",
        "4",
        "0",
        "/",
        "Enter",
        "#",
        "日本語",
        "English",
        "–",
        "→",
        "(",
        ")",
        "「",
        "」",
        "n=",
        ",",
        "(n=",
        ":",
    }
    for template in TEMPLATES:
        text = re.sub(
            r"{%.*?%}|{{.*?}}|<script.*?</script>", " ", template.read_text("utf-8"), flags=re.S
        )
        for chunk in re.findall(r">([^<]+)<", text):
            for word in chunk.split():
                assert word in allowed, f"{template.name}: {word!r}"


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("ja-JP,ja;q=0.9,en;q=0.8", "ja"),
        ("en-US,en;q=0.9,ja;q=0.8", "en"),
        ("fr-FR,fr;q=0.9,en;q=0.5", "en"),
        ("en;q=0.2, ja;q=0.7", "ja"),
        ("ja;q=0, en", "en"),
        ("de", "ja"),
        ("", "ja"),
        (None, "ja"),
        ("EN-gb", "en"),
        ("en;q=abc, ja;q=0.1", "ja"),
    ],
)
def test_accept_language(header: str | None, expected: str) -> None:
    assert from_accept_language(header) == expected


def test_the_switch_beats_the_browser() -> None:
    assert choose_locale("en", None, "ja") == "en"
    assert choose_locale(None, "en", "ja") == "en"
    assert choose_locale("xx", None, "en") == "en"
    assert choose_locale(None, None, None, default="en") == "en"


def test_messages_format_and_fall_back() -> None:
    ja = messages("ja")
    assert ja("home.mine", n=3) == "あなた: 3件"
    assert messages("en")("home.mine", n=3) == "You: 3 judged"
    assert ja("no.such.key") == "no.such.key"
    assert messages("xx").locale == "en"
    assert set(LOCALES) == {"ja", "en"}
    assert set(ja.with_prefix("js.")) == {
        "js.select_first",
        "js.marked",
        "js.sending",
        "js.contradiction",
    }
