"""The command line's messages: the ``cli`` catalogs (``hyouka/i18n/cli/{en,ja}.json``).

See :mod:`hyouka.i18n` for the catalog format and the language rule (``--lang``, then
``HYOUKA_LANG``, then the locale; default English).
"""

from __future__ import annotations

from hyouka.i18n import LANGS, Lang, catalog, messages, resolve_lang

__all__ = ["EN", "JA", "LANGS", "Lang", "resolve_lang", "t"]

EN: dict[str, str] = catalog("cli", "en")
JA: dict[str, str] = catalog("cli", "ja")


def t(lang: Lang, key: str, **fields: object) -> str:
    """The message ``key`` in ``lang`` with ``fields`` filled in (English if ``lang`` lacks it)."""
    return messages("cli", lang)(key, **fields)
