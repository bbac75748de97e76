"""Package exports loaded on first use (PEP 562), so importing one module stays cheap.

A package ``__init__`` lists its exports once, as ``from … import …`` lines inside
``if TYPE_CHECKING:`` (what type checkers and readers see), and ends with::

    __getattr__, __dir__ = lazy_exports(__name__, __file__)

Then ``from hyouka.loop import still_triggered`` imports ``hyouka.loop.speed`` and what it needs,
not the gate's statistics (scipy): ``hyouka show`` starts in a fraction of the time
(``python benchmarks/cli_startup.py``). A name is imported once and then kept in the package.
"""

from __future__ import annotations

import ast
import importlib
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any


def type_checking_imports(init_file: str) -> dict[str, str]:
    """Name -> module of every ``from module import name`` under ``if TYPE_CHECKING:``."""
    tree = ast.parse(Path(init_file).read_text(encoding="utf-8"))
    found: dict[str, str] = {}
    for node in tree.body:
        if not (isinstance(node, ast.If) and _is_type_checking(node.test)):
            continue
        for stmt in node.body:
            if isinstance(stmt, ast.ImportFrom) and stmt.module and stmt.level == 0:
                for alias in stmt.names:
                    found[alias.asname or alias.name] = stmt.module
    return found


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def lazy_exports(
    package: str, init_file: str
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """The ``__getattr__`` and ``__dir__`` of a package whose exports load on first use."""
    names = type_checking_imports(init_file)

    def __getattr__(name: str) -> Any:
        module = names.get(name)
        if module is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(module), name)
        setattr(sys.modules[package], name, value)  # the next look-up is a plain attribute
        return value

    def __dir__() -> list[str]:
        return sorted(set(names) | set(vars(sys.modules[package])))

    return __getattr__, __dir__
