"""Built-in checks, registered through the same hook as third-party plugins."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from hyouka.hookspecs import hookimpl


@hookimpl
def register_checks(register: Callable[..., Any]) -> None:
    from hyouka.convo.checks import CONVO_CHECKS
    from hyouka.scorers.checks_basic import BASIC_CHECKS
    from hyouka.scorers.checks_text import TEXT_CHECKS
    from hyouka.scorers.judges import JUDGE_CHECKS

    for cls in [*BASIC_CHECKS, *TEXT_CHECKS, *JUDGE_CHECKS, *CONVO_CHECKS]:
        register(cls)
