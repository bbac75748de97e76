"""The web app's messages (the ``web`` catalogs, ``hyouka/web/i18n/<locale>.json``) and choosing
a page's language.

Every word the UI shows lives in a catalog, never in a template: templates call
``t("judge.skip")``. The catalog format, the loader and the fallback rule are
:mod:`hyouka.i18n`'s, shared with the CLI and the report. The language is the ``hyouka_lang``
cookie (the switch), else the person's saved choice, else the browser's ``Accept-Language``,
else the default (Japanese).
"""

from __future__ import annotations

from hyouka.i18n import LANGS, Messages, from_accept_language
from hyouka.i18n import catalog as _catalog
from hyouka.i18n import messages as _messages

__all__ = [
    "COOKIE",
    "LOCALES",
    "Messages",
    "catalog",
    "choose_locale",
    "from_accept_language",
    "messages",
]

LOCALES = ("ja", "en")
COOKIE = "hyouka_lang"
assert set(LOCALES) == set(LANGS)


def catalog(locale: str) -> dict[str, str]:
    """The web catalog of ``locale``."""
    return _catalog("web", locale)


def messages(locale: str) -> Messages:
    """The web :class:`~hyouka.i18n.Messages` of ``locale`` (English for an unknown one)."""
    return _messages("web", locale if locale in LOCALES else "en")


def choose_locale(
    cookie: str | None, saved: str | None, accept_language: str | None, default: str = "ja"
) -> str:
    for choice in (cookie, saved):
        if choice in LOCALES:
            return str(choice)
    return from_accept_language(accept_language, default)
