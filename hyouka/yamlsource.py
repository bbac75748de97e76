"""YAML loading that remembers where each value came from.

pydantic reports an error at a path such as ``("variants", "polite", "params")``; users need a
file and a line. :func:`load_yaml` returns the plain data plus a :class:`SourceMap` from every
path to the line and column where its value (or key) starts.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from hyouka.errors import ConfigError, Location

PathKey = tuple[str | int, ...]


@dataclass
class SourceMap:
    """Where each value of a YAML document starts."""

    path: str
    positions: dict[PathKey, tuple[int, int]] = field(default_factory=dict)

    def locate(self, loc: Sequence[str | int]) -> Location:
        """The location of ``loc``, or of its nearest ancestor that has one."""
        key: PathKey = tuple(loc)
        while key:
            if key in self.positions:
                line, column = self.positions[key]
                return Location(self.path, line, column)
            key = key[:-1]
        return Location(self.path, 1, 1)


class _Loader(yaml.SafeLoader):
    """SafeLoader without YAML 1.1's surprising booleans (``no`` → False) for keys like ``on``."""


def _walk(node: yaml.Node, path: PathKey, smap: SourceMap) -> Any:
    smap.positions[path] = (node.start_mark.line + 1, node.start_mark.column + 1)
    if isinstance(node, yaml.MappingNode):
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = _Loader(stream="").construct_object(key_node, deep=True)
            if not isinstance(key, str | int):
                key = str(key)
            if key in result:
                line = key_node.start_mark.line + 1
                raise ConfigError(
                    f"the key '{key}' appears twice", Location(smap.path, line), _dotted(path)
                )
            result[key] = _walk(value_node, (*path, key), smap)
            smap.positions.setdefault(
                (*path, key, "__key__"),
                (key_node.start_mark.line + 1, key_node.start_mark.column + 1),
            )
        return result
    if isinstance(node, yaml.SequenceNode):
        return [_walk(child, (*path, i), smap) for i, child in enumerate(node.value)]
    return _Loader(stream="").construct_object(node, deep=True)


def _dotted(path: Sequence[str | int]) -> str:
    return ".".join(str(p) for p in path)


def parse_yaml(text: str, path: str) -> tuple[Any, SourceMap]:
    """Parse ``text``; raise :class:`ConfigError` with the line of any syntax error."""
    smap = SourceMap(path)
    try:
        node = yaml.compose(text, Loader=_Loader)
        data = None if node is None else _walk(node, (), smap)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 0
        column = mark.column + 1 if mark else 0
        problem = exc.problem or "invalid YAML"
        raise ConfigError(f"invalid YAML: {problem}", Location(path, line, column)) from None
    except yaml.YAMLError as exc:  # pragma: no cover - non-marked errors are rare
        raise ConfigError(f"invalid YAML: {exc}", Location(path)) from None
    except RecursionError:
        raise ConfigError("YAML nested too deeply", Location(path)) from None
    return data, smap


def load_yaml(path: Path) -> tuple[Any, SourceMap]:
    """Read and parse a YAML file."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError("file not found", Location(str(path))) from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"not UTF-8 text ({exc.reason})", Location(str(path))) from None
    return parse_yaml(text, str(path))
