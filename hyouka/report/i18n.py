"""The report's words: the ``report`` catalogs (``hyouka/i18n/report/{en,ja}.json``).

See :mod:`hyouka.i18n` for the catalog format and the fallback rule.
"""

from __future__ import annotations

from hyouka.i18n import Messages, catalog, messages

EN: dict[str, str] = catalog("report", "en")
JA: dict[str, str] = catalog("report", "ja")


class Words:
    """``w("key", **fields)``: the text in the report's language."""

    def __init__(self, lang: str) -> None:
        self.lang = "ja" if lang == "ja" else "en"
        self._messages: Messages = messages("report", self.lang)

    def __call__(self, key: str, **fields: object) -> str:
        return self._messages(key, **fields)

    def has(self, key: str) -> bool:
        return self._messages.has(key)
