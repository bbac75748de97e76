"""The package's modules import each other without a cycle.

The graph is read from the source with ``ast``: an edge A -> B for each ``import B`` or
``from B import x`` in A (``from P import m`` with ``m`` a module is an edge to ``P.m``).
Three graphs: the imports that run when a module is imported; plus those inside functions;
plus those under ``if TYPE_CHECKING:``. None may have a cycle: even through an import inside a
function or one made only for a type, a cycle means two modules each need the other, which is
how a lazy import "to break the cycle" and an ``Any`` instead of a type came about (issue 11).
"""

from __future__ import annotations

import ast
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "hyouka"


def module_files() -> dict[str, Path]:
    out = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


def _type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _statements(body: list[ast.stmt], in_functions: bool, types: bool) -> Iterator[ast.stmt]:
    """The statements that run when the module is imported; with ``in_functions`` also those
    of its functions; with ``types`` also the ``if TYPE_CHECKING:`` blocks."""
    for node in body:
        if isinstance(node, ast.If) and _type_checking(node.test) and not types:
            yield from _statements(node.orelse, in_functions, types)
            continue
        yield node
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and not in_functions:
            continue
        for field in ("body", "orelse", "finalbody", "handlers"):
            inner = getattr(node, field, None)
            if isinstance(inner, list):
                blocks = [h.body for h in inner] if field == "handlers" else [inner]
                for block in blocks:
                    yield from _statements(block, in_functions, types)


def imports_of(
    name: str, path: Path, modules: dict[str, Path], in_functions: bool, types: bool = False
) -> set[str]:
    found: set[str] = set()
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]

    def add(target: str) -> None:
        parts = target.split(".")
        for i in range(len(parts), 0, -1):  # the most specific module named
            candidate = ".".join(parts[:i])
            if candidate in modules:
                if candidate != name:
                    found.add(candidate)
                return

    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in _statements(tree.body, in_functions, types):
        if isinstance(node, ast.Import):
            for alias in node.names:
                add(alias.name)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                up = package.split(".")[: len(package.split(".")) - (node.level - 1)]
                base = ".".join([*up, base] if base else up)
            for alias in node.names:
                full = f"{base}.{alias.name}"
                add(full if full in modules else base)
    return found


def import_graph(in_functions: bool, types: bool) -> dict[str, set[str]]:
    modules = module_files()
    return {
        name: imports_of(name, path, modules, in_functions, types) for name, path in modules.items()
    }


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One cycle of the graph (as a path that returns to its start), or None."""
    state: dict[str, int] = {}  # 1: on the current path, 2: done
    path: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        path.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return [*path[path.index(nxt) :], nxt]
            if nxt not in state:
                found = visit(nxt)
                if found:
                    return found
        path.pop()
        state[node] = 2
        return None

    for start in sorted(graph):
        if start not in state:
            found = visit(start)
            if found:
                return found
    return None


@pytest.mark.parametrize(
    ("in_functions", "types"),
    [(False, False), (True, False), (True, True)],
    ids=["top-level", "with-functions", "with-types"],
)
def test_the_package_has_no_import_cycle(in_functions: bool, types: bool) -> None:
    graph = import_graph(in_functions, types)
    assert len(graph) > 100 and "hyouka.store.store" in graph["hyouka.api"]
    cycle = find_cycle(graph)
    assert cycle is None, " -> ".join(cycle or [])


def test_the_cycle_finder_finds_a_cycle() -> None:
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert find_cycle(graph) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_the_graph_sees_imports_in_functions_and_skips_type_checking() -> None:
    modules = module_files()
    run = imports_of("hyouka.runner.run", modules["hyouka.runner.run"], modules, True)
    assert "hyouka.scorers.scoring" in run  # imported inside Runner._run_judges
    top = imports_of("hyouka.runner.run", modules["hyouka.runner.run"], modules, False)
    assert "hyouka.scorers.scoring" not in top
    assert "hyouka.scorers.judge_runner" not in top | run  # only under TYPE_CHECKING
    typed = imports_of("hyouka.runner.run", modules["hyouka.runner.run"], modules, True, True)
    assert "hyouka.scorers.judge_runner" in typed
