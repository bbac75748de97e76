"""hyouka's words in English and Japanese: one catalog format, one loader, one language rule.

Every message the command line, the web app and the HTML report show lives in a catalog: a
flat JSON object ``{"key": "text with {fields}"}``, one file per locale, ``en.json`` and
``ja.json`` side by side. Three *domains* keep their catalogs apart because they are shown in
different places (:data:`DOMAINS`):

- ``cli``: the terminal (``hyouka/i18n/cli/``), used through :mod:`hyouka.i18n.cli`;
- ``experiments``: the live experiments' verdicts, shown by the CLI, the dashboard and the
  report (``hyouka/i18n/experiments/``), used through :mod:`hyouka.experiments.messages`;
- ``report``: the HTML report (``hyouka/i18n/report/``), used through :mod:`hyouka.report.i18n`;
- ``web``: the web app's pages and scripts (``hyouka/web/i18n/``), used through
  :mod:`hyouka.web.i18n`.

The two locales of a domain have the same keys and the same ``{fields}`` in each text
(tests/test_i18n_catalogs.py checks it, and that every key the code asks for exists). A key a
locale lacks falls back to English, then to the key itself, so a screen never breaks.

Language: on the command line ``--lang`` wins, then ``HYOUKA_LANG``, then the locale in
``LC_ALL`` / ``LC_MESSAGES`` / ``LANG`` (``ja_JP.UTF-8`` → Japanese), else English
(:func:`resolve_lang`); the web app adds its cookie and ``Accept-Language``
(:func:`from_accept_language`, used by :mod:`hyouka.web.i18n`).
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from contextvars import ContextVar
from functools import cache
from importlib import resources
from typing import Any, Literal

Lang = Literal["en", "ja"]
LANGS: tuple[Lang, ...] = ("en", "ja")

# domain -> (package, folder inside it) holding en.json and ja.json
DOMAINS: dict[str, tuple[str, str]] = {
    "cli": ("hyouka.i18n", "cli"),
    "experiments": ("hyouka.i18n", "experiments"),
    "report": ("hyouka.i18n", "report"),
    "web": ("hyouka.web", "i18n"),
}


@cache
def catalog(domain: str, locale: str) -> dict[str, str]:
    """The raw catalog of ``domain`` in ``locale`` (``{}`` for a locale hyouka does not have)."""
    package, folder = DOMAINS[domain]
    if locale not in LANGS:
        return {}
    text = resources.files(package).joinpath(f"{folder}/{locale}.json").read_text("utf-8")
    data: dict[str, str] = json.loads(text)
    return data


class Messages:
    """The messages of one domain in one locale: ``m("key", **fields)``.

    A key the locale lacks falls back to English, then to the key itself."""

    def __init__(self, domain: str, locale: str) -> None:
        self.domain = domain
        self.locale: Lang = "ja" if locale == "ja" else "en"
        self._data: Mapping[str, str] = catalog(domain, self.locale)
        self._fallback: Mapping[str, str] = catalog(domain, "en")

    def __call__(self, key: str, **fields: Any) -> str:
        text = self._data.get(key) or self._fallback.get(key) or key
        return text.format(**fields) if fields else text

    def has(self, key: str) -> bool:
        return key in self._data or key in self._fallback

    def with_prefix(self, prefix: str) -> dict[str, str]:
        """Messages whose key starts with ``prefix`` (handed to a page's script as JSON)."""
        return {k: v for k, v in self._data.items() if k.startswith(prefix)}


@cache
def messages(domain: str, locale: str) -> Messages:
    """The :class:`Messages` of ``domain`` in ``locale`` (English for an unknown locale)."""
    return Messages(domain, locale)


# The language a command was asked for (``hyouka --lang ja …``): set for one invocation by the
# CLI (hyouka.cli.common.lang_option), so that every message of that command follows it.
CHOSEN: ContextVar[str | None] = ContextVar("hyouka_lang", default=None)


def resolve_lang(explicit: str | None = None) -> Lang:
    """``explicit``, else the command's ``--lang`` (:data:`CHOSEN`), else ``HYOUKA_LANG``,
    else the locale; default English."""
    for value in (explicit, CHOSEN.get(), os.environ.get("HYOUKA_LANG")):
        if value:
            return "ja" if value.lower().startswith("ja") else "en"
    for var in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = os.environ.get(var)
        if value:
            return "ja" if value.lower().startswith("ja") else "en"
    return "en"


def from_accept_language(header: str | None, default: str = "ja") -> str:
    """The supported locale the browser prefers most (``ja-JP,ja;q=0.9,en;q=0.8`` → ja)."""
    best: tuple[float, int, str] | None = None
    for index, part in enumerate((header or "").split(",")):
        pieces = part.strip().split(";")
        lang = pieces[0].strip().lower().split("-")[0]
        if lang not in LANGS:
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
