"""Message catalogs (``hyouka/web/i18n/<locale>.json``) and choosing a language.

Every word the UI shows lives in a catalog, never in a template: templates call
``t("judge.skip")``. Both catalogs have the same keys (a test checks it). The language is the
``hyouka_lang`` cookie (the switch), else the person's saved choice, else the browser's
``Accept-Language``, else the default (Japanese).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import cache
from importlib import resources
from typing import Any

LOCALES = ("ja", "en")
COOKIE = "hyouka_lang"


class Messages:
    """The messages of one locale; a missing key falls back to English, then to the key."""

    def __init__(self, locale: str, data: Mapping[str, str], fallback: Mapping[str, str]) -> None:
        self.locale = locale
        self._data = data
        self._fallback = fallback

    def __call__(self, key: str, **values: Any) -> str:
        text = self._data.get(key) or self._fallback.get(key) or key
        return text.format(**values) if values else text

    def with_prefix(self, prefix: str) -> dict[str, str]:
        """Messages whose key starts with ``prefix`` (handed to the page's script as JSON)."""
        return {k: v for k, v in self._data.items() if k.startswith(prefix)}


@cache
def catalog(locale: str) -> dict[str, str]:
    text = resources.files("hyouka.web").joinpath(f"i18n/{locale}.json").read_text("utf-8")
    data: dict[str, str] = json.loads(text)
    return data


@cache
def messages(locale: str) -> Messages:
    if locale not in LOCALES:
        locale = "en"
    return Messages(locale, catalog(locale), catalog("en"))


def from_accept_language(header: str | None, default: str = "ja") -> str:
    """The supported locale the browser prefers most (``ja-JP,ja;q=0.9,en;q=0.8`` → ja)."""
    best: tuple[float, int, str] | None = None
    for index, part in enumerate((header or "").split(",")):
        pieces = part.strip().split(";")
        lang = pieces[0].strip().lower().split("-")[0]
        if lang not in LOCALES:
            continue
        quality = 1.0
        for param in pieces[1:]:
            name, _, value = param.strip().partition("=")
            if name == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if quality <= 0:
            continue
        rank = (-quality, index, lang)
        if best is None or rank < best:
            best = rank
    return best[2] if best else default


def choose_locale(
    cookie: str | None, saved: str | None, accept_language: str | None, default: str = "ja"
) -> str:
    for choice in (cookie, saved):
        if choice in LOCALES:
            return str(choice)
    return from_accept_language(accept_language, default)
