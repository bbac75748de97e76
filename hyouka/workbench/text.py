"""Showing model output to the team: escaped, and its invisible characters made visible.

An output may carry bidirectional controls (U+202E turns the rest of the line around) and
zero-width characters (U+200B…): as text they are inert, but they change what a reader sees
and hide what the model actually wrote. The workbench shows each as a small visible mark
(``⟦U+202E⟧``) instead; everything else is escaped as usual.
"""

from __future__ import annotations

import re

from markupsafe import Markup, escape

# bidi embeddings/overrides/isolates, marks, zero-width characters, BOM, soft hyphen
INVISIBLE = re.compile("[\u200b-\u200f\u202a-\u202e\u2060-\u2069\ufeff\u00ad\u061c]")


def reveal(text: object) -> Markup:
    """``text`` escaped, each invisible or direction-changing character shown as a mark."""
    value = "" if text is None else str(text)
    out = []
    last = 0
    for found in INVISIBLE.finditer(value):
        out.append(str(escape(value[last : found.start()])))
        code = f"U+{ord(found.group()):04X}"
        out.append(f'<span class="ctl" title="{code}">⟦{code}⟧</span>')
        last = found.end()
    out.append(str(escape(value[last:])))
    return Markup("".join(out))
