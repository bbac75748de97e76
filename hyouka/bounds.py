"""Limits on what people and programs may send hyouka, in one place.

Each limit comes from where the value ends up: a name goes in a ``VARCHAR(200)`` column, an id
in a 32-bit ``INTEGER`` on PostgreSQL (a 64-bit one on SQLite), a seed must fit the 31 bits
that local engines take. Checking at the edge (config, dataset rows, web forms and the JSON
API) turns a value beyond one into a clear message, not a database error. ``docs/security.md``
lists them.
"""

from __future__ import annotations

import re

NAME_MAX = 200  # project, variant, dataset, campaign, annotator, group and API key names
TAG_MAX = 100  # one quick tag or feedback tag
TAGS_MAX = 20  # tags on one campaign or one piece of feedback
REF_MAX = 300  # production feedback's external reference
COMMENT_MAX = 5000  # a comment, a reason
LONG_TEXT_MAX = 100_000  # a rubric, instructions, production input or output text
DB_INT_MAX = 2**31 - 1  # PostgreSQL INTEGER: every id, count and seed column
SEED_MAX = 2**31 - 1  # seeds are 31-bit (hashing.derive_seed)
BODY_MAX = 4 * 1024 * 1024  # bytes in one HTTP request body

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def text_problem(text: str) -> str | None:
    """Why no database can store ``text``, or None: a NUL character (PostgreSQL refuses it) or
    a lone surrogate (``"\\ud800"`` in JSON: not Unicode, UTF-8 cannot encode it)."""
    found = _UNSTORABLE.search(text)
    if found is None:
        return None
    if found.group() == "\x00":
        return "holds a NUL character (U+0000); remove it"
    return f"holds a lone surrogate (U+{ord(found.group()):04X}), which is not Unicode text"


def name_problem(name: str, what: str = "a name") -> str | None:
    """Why ``name`` cannot be a name (shown in lists, file names and HTTP headers), or None:
    1 to :data:`NAME_MAX` characters, no line breaks or other control characters."""
    stripped = name.strip()
    if not stripped:
        return f"{what} cannot be empty"
    if len(stripped) > NAME_MAX:
        return f"{what} must be at most {NAME_MAX} characters (got {len(stripped)})"
    found = _CONTROL.search(stripped)
    if found:
        return f"{what} cannot hold a line break or control character (U+{ord(found.group()):04X})"
    return None


def has_control(text: str) -> bool:
    return _CONTROL.search(text) is not None


def as_db_id(ref: int | str) -> int | None:
    """``ref`` as a row id if it is one (an int, or ASCII digits) that a database column can
    hold; None when it is not a number or is beyond :data:`DB_INT_MAX` (no such row)."""
    if isinstance(ref, str):
        if not (ref.isascii() and ref.isdigit()) or len(ref) > 12:
            return None
        ref = int(ref)
    return ref if 0 <= ref <= DB_INT_MAX else None
