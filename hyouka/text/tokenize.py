"""Japanese word tokenisation with a dictionary that ships on PyPI (fugashi + unidic-lite).

Word-level metrics (BLEU, ROUGE-L) and BM25 retrieval need words; Japanese has no spaces.
``fugashi`` with ``unidic-lite`` works offline (the dictionary is inside the wheel), so it is
the one tokeniser hyouka uses for Japanese, pinned and recorded by :data:`TOKENIZER_ID` so
scores stay comparable. The tagger is loaded once per process.
"""

from __future__ import annotations

import functools
import re
from typing import Any

from hyouka.errors import MissingDependencyError

TOKENIZER_ID = "fugashi-unidic-lite"

_JA = re.compile(r"[\u3040-\u30ff\u3400-\u9fff\uf900-\ufaff\uff66-\uff9f]")


@functools.lru_cache(maxsize=1)
def _tagger() -> Any:
    try:
        import fugashi  # type: ignore[import-not-found,unused-ignore]
    except ImportError as exc:  # pragma: no cover - exercised only without the extra
        raise MissingDependencyError("fugashi", "ja", "Japanese tokenisation") from exc
    try:
        import unidic_lite  # type: ignore[import-not-found,unused-ignore]
    except ImportError as exc:  # pragma: no cover
        raise MissingDependencyError("unidic-lite", "ja", "Japanese tokenisation") from exc
    return fugashi.Tagger(f'-d "{unidic_lite.DICDIR}"')


def has_japanese(text: str) -> bool:
    """True when ``text`` contains kana or kanji."""
    return _JA.search(text) is not None


def tokenize(text: str) -> list[str]:
    """Surface-form words of ``text`` (whitespace dropped).

    Text without Japanese characters is split on whitespace and punctuation boundaries by the
    same tagger, so mixed Japanese/English text gets one consistent segmentation.
    """
    if not text:
        return []
    return [word.surface for word in _tagger()(text) if word.surface.strip()]
