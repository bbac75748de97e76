"""The experiments' sentences in English and Japanese (CLI, dashboard and report): the
``experiments`` catalogs (``hyouka/i18n/experiments/{en,ja}.json``).

See :mod:`hyouka.i18n` for the catalog format and the fallback rule."""

from __future__ import annotations

from hyouka.i18n import Lang, catalog, messages

EN: dict[str, str] = catalog("experiments", "en")
JA: dict[str, str] = catalog("experiments", "ja")
CATALOGS = {"en": EN, "ja": JA}


def m(lang: Lang, key: str, **fields: object) -> str:
    """The sentence ``key`` in ``lang`` with ``fields`` filled in."""
    return messages("experiments", lang)(key, **fields)
