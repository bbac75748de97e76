"""CSV cells that a spreadsheet shows as text, never runs as a formula.

Excel, LibreOffice and Google Sheets treat a cell that starts with ``=``, ``+``, ``-``, ``@``, a
tab or a carriage return as a formula, so a comment such as ``=HYPERLINK("http://evil", "OK")``
typed by an annotator or sent through ``/api/feedback`` would run when an admin opens the export.
As OWASP advises (CSV Injection), such a cell gets a leading ``'``: the spreadsheet shows the
text, and the apostrophe tells a reader it was added. Only text cells are touched (numbers stay
numbers). Every CSV hyouka writes goes through :func:`csv_cell`; JSONL and Parquet keep the raw
values.
"""

from __future__ import annotations

import json
from typing import Any

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(text: str) -> str:
    """``text``, with a leading ``'`` when a spreadsheet would read it as a formula."""
    return "'" + text if text.startswith(FORMULA_START) else text


def csv_cell(value: Any) -> Any:
    """One CSV cell: nested values as JSON text, text made spreadsheet-safe, the rest as is."""
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, str):
        return spreadsheet_safe(value)
    return value
