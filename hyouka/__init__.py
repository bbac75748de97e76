"""hyouka (評価): evaluate versions of an LLM app with checks, LLM judges and real users."""

from __future__ import annotations

__version__ = "0.1.0"

__all__ = ["__version__"]
