"""Test helpers shipped with hyouka: a fake OpenAI/Anthropic HTTP server.

Names are loaded on first use, so ``python -m hyouka.testing.fake_server`` does not import the
module twice (runpy warns when a package's ``__init__`` has already imported it).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hyouka._lazy import lazy_exports

if TYPE_CHECKING:
    from hyouka.testing.fake_server import (
        Call,
        FakeServer,
        Fault,
        FaultRule,
        FaultSpec,
        FaultSpecError,
        Responder,
        default_responder,
        parse_fault,
        prompt_key,
    )

__all__ = [
    "Call",
    "FakeServer",
    "Fault",
    "FaultRule",
    "FaultSpec",
    "FaultSpecError",
    "Responder",
    "default_responder",
    "parse_fault",
    "prompt_key",
]

__getattr__, __dir__ = lazy_exports(__name__, __file__)
