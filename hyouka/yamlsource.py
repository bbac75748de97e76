"""YAML loading that remembers where each value came from.

pydantic reports an error at a path such as ``("variants", "polite", "params")``; users need a
file and a line. :func:`load_yaml` returns the plain data plus a :class:`SourceMap` from every
path to the line and column where its value (or key) starts.

Two departures from PyYAML's ``SafeLoader``, both to keep a user's file meaning what it says:

- booleans are YAML 1.2's: only ``true`` and ``false`` (any case written as ``true``, ``True``
  or ``TRUE``); YAML 1.1's ``yes``/``no``/``on``/``off`` stay text, so a key ``on:`` is the
  text ``"on"``, not ``True``;
- mapping keys are text: ``1: a`` gives the key ``"1"`` (a key must be a scalar).

And limits, so that no file can exhaust memory or time (each says file and line): aliases may
expand to at most :data:`MAX_ALIAS_VALUES` values in all (a "billion laughs" bomb of a few
hundred bytes would otherwise expand to millions), an alias may not contain itself, and values
may nest at most :data:`MAX_DEPTH` levels.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from hyouka.errors import ConfigError, Location

PathKey = tuple[str | int, ...]

MAX_ALIAS_VALUES = 100_000
MAX_DEPTH = 100


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


_BOOL_TAG = "tag:yaml.org,2002:bool"
_BOOL_12 = re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$")


# libyaml's parser when PyYAML was built with it (every wheel is): ~10× faster than the
# pure-Python one (100,000 values: 0.5 s against 4.8 s), with the same nodes and marks.
_Base: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _Loader(_Base):  # type: ignore[valid-type,misc]
    """SafeLoader with YAML 1.2 booleans: ``yes``, ``no``, ``on`` and ``off`` stay text."""

    yaml_implicit_resolvers = {  # noqa: RUF012 - PyYAML's own class attribute
        first: [(tag, regexp) for tag, regexp in resolvers if tag != _BOOL_TAG]
        for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
    }


_Loader.add_implicit_resolver(_BOOL_TAG, _BOOL_12, list("tTfF"))


class _Walker:
    """Turns a composed node graph into plain data, recording positions and enforcing the
    limits of the module docstring."""

    def __init__(self, smap: SourceMap) -> None:
        self.smap = smap
        self.constructor = _Loader("")
        self.seen: set[int] = set()  # collection nodes already walked once
        self.open: set[int] = set()  # collection nodes being walked (to catch self-reference)
        self.alias_values = 0

    def _where(self, node: yaml.Node) -> Location:
        return Location(self.smap.path, node.start_mark.line + 1, node.start_mark.column + 1)

    def walk(self, node: yaml.Node, path: PathKey, aliased: bool = False) -> Any:
        self.smap.positions[path] = (node.start_mark.line + 1, node.start_mark.column + 1)
        if aliased:
            self.alias_values += 1
            if self.alias_values > MAX_ALIAS_VALUES:
                raise ConfigError(
                    f"YAML aliases (*name) expand to more than {MAX_ALIAS_VALUES:,} values; "
                    "write the values out or use fewer nested aliases",
                    self._where(node),
                    _dotted(path),
                )
        if not isinstance(node, yaml.MappingNode | yaml.SequenceNode):
            return self.scalar(node, path)
        if len(path) > MAX_DEPTH:
            raise ConfigError(f"YAML nested more than {MAX_DEPTH} levels deep", self._where(node))
        ident = id(node)
        if ident in self.open:
            raise ConfigError("a YAML alias refers to itself", self._where(node), _dotted(path))
        aliased = aliased or ident in self.seen
        self.seen.add(ident)
        self.open.add(ident)
        try:
            if isinstance(node, yaml.SequenceNode):
                return [self.walk(child, (*path, i), aliased) for i, child in enumerate(node.value)]
            return self._mapping(node, path, aliased)
        finally:
            self.open.discard(ident)

    def scalar(self, node: yaml.Node, path: PathKey) -> Any:
        try:
            return self.constructor.construct_object(node, deep=True)
        except ValueError as exc:
            # A scalar PyYAML cannot turn into a value: an integer of more than 4,300
            # digits, a date such as 2024-02-30.
            message = str(exc)
            if "integer string conversion" in message:
                message = "a number of more than 4,300 digits (quote it to keep it as text)"
            where = self._where(node)
            raise ConfigError(f"invalid value: {message}", where, _dotted(path)) from None

    def _mapping(self, node: yaml.MappingNode, path: PathKey, aliased: bool) -> dict[str, Any]:
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                raise ConfigError(
                    "a key must be text or a number, not a list or a mapping",
                    self._where(key_node),
                    _dotted(path),
                )
            key = self.scalar(key_node, path)
            key = key if isinstance(key, str) else str(key)
            if key in result:
                raise ConfigError(
                    f"the key '{key}' appears twice",
                    Location(self.smap.path, key_node.start_mark.line + 1),
                    _dotted(path),
                )
            result[key] = self.walk(value_node, (*path, key), aliased)
            self.smap.positions.setdefault(
                (*path, key, "__key__"),
                (key_node.start_mark.line + 1, key_node.start_mark.column + 1),
            )
        return result


def _dotted(path: Sequence[str | int]) -> str:
    return ".".join(str(p) for p in path)


def _unclosed_bracket(text: str) -> yaml.Mark | None:
    """Where the innermost ``[`` or ``{`` that is never closed opens (None: all are closed)."""
    opened: list[yaml.Mark] = []
    try:
        for token in yaml.scan(text, Loader=_Loader):
            if isinstance(token, yaml.FlowSequenceStartToken | yaml.FlowMappingStartToken):
                opened.append(token.start_mark)
            elif isinstance(token, yaml.FlowSequenceEndToken | yaml.FlowMappingEndToken) and opened:
                opened.pop()
    except yaml.YAMLError:
        pass
    return opened[-1] if opened else None


def _syntax_error(exc: yaml.MarkedYAMLError, text: str, path: str) -> ConfigError:
    """The error at the place to fix. The parser notices an unclosed ``[``, ``{`` or quote
    only where the document ends: that one is reported at its opening, with where the end
    was found; anything else where it was found."""
    problem = exc.problem or "invalid YAML"
    mark = exc.problem_mark or exc.context_mark
    context = exc.context or ""
    at_end = "<stream end>" in problem or "end of stream" in problem
    opening = None
    if context.startswith("while scanning a quoted") and at_end:
        opening, what = exc.context_mark, "quoted text"
    elif context.startswith(("while parsing a flow sequence", "while parsing a flow mapping")):
        opening, what = exc.context_mark, "bracket"  # the mark is the bracket
    elif at_end or context.startswith("while parsing a flow"):
        opening, what = _unclosed_bracket(text), "bracket"
    if opening is not None:
        found = f" at line {mark.line + 1}" if mark is not None else ""
        problem = f"this {what} is never closed ({problem}{found})"
        mark = opening
    line = mark.line + 1 if mark else 0
    column = mark.column + 1 if mark else 0
    return ConfigError(f"invalid YAML: {problem}", Location(path, line, column))


def _flow_depth_beyond(text: str, limit: int) -> int | None:
    """The offset where ``[`` / ``{`` brackets first nest deeper than ``limit``, or None.

    PyYAML's scanner takes time quadratic in the depth of flow brackets (3,000 nested ``[``
    take seconds before its parser gives up), so a document is measured first. Quoted text
    and comments are skipped; a stray bracket inside a plain scalar can only over-count, and
    only far beyond any real document's depth."""
    depth = 0
    i, n = 0, len(text)
    previous = "\n"
    while i < n:
        c = text[i]
        if c in "\"'" and previous in " \t\n[{,:-?":
            end = text.find(c, i + 1)
            while c == '"' and end > 0 and text[end - 1] == "\\":
                end = text.find(c, end + 1)
            i = n if end < 0 else end + 1
            previous = c
            continue
        if c == "#" and previous in " \t\n":
            end = text.find("\n", i)
            i = n if end < 0 else end
            continue
        if c in "[{":
            depth += 1
            if depth > limit:
                return i
        elif c in "]}":
            depth = max(0, depth - 1)
        previous = c
        i += 1
    return None


def parse_yaml(text: str, path: str) -> tuple[Any, SourceMap]:
    """Parse ``text``; raise :class:`ConfigError` with the line of any syntax error."""
    smap = SourceMap(path)
    deep_at = _flow_depth_beyond(text, 2 * MAX_DEPTH)
    if deep_at is not None:
        line = text.count("\n", 0, deep_at) + 1
        column = deep_at - (text.rfind("\n", 0, deep_at) + 1) + 1
        message = f"YAML nested more than {MAX_DEPTH} levels deep"
        raise ConfigError(message, Location(path, line, column))
    try:
        node = yaml.compose(text, Loader=_Loader)
        data = None if node is None else _Walker(smap).walk(node, ())
    except yaml.MarkedYAMLError as exc:
        raise _syntax_error(exc, text, path) from None
    except (yaml.reader.ReaderError, UnicodeEncodeError) as exc:
        # a character YAML does not allow (NUL, U+FFFE …) or a lone surrogate
        at = exc.position if isinstance(exc, yaml.reader.ReaderError) else exc.start
        line = text.count("\n", 0, at) + 1
        column = at - (text.rfind("\n", 0, at) + 1) + 1
        raise ConfigError(
            f"invalid YAML: character U+{ord(text[at]) if at < len(text) else 0:04X} is not "
            "allowed in YAML",
            Location(path, line, column),
        ) from None
    except yaml.YAMLError as exc:  # pragma: no cover - every other error has a mark
        raise ConfigError(f"invalid YAML: {exc}", Location(path)) from None
    except RecursionError:
        message = f"YAML nested more than {MAX_DEPTH} levels deep"
        raise ConfigError(message, Location(path)) from None
    return data, smap


def read_text(path: Path) -> str:
    """A user's text file, or a :class:`ConfigError` saying why it cannot be read."""
    try:
        return path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise ConfigError("file not found", Location(str(path))) from None
    except IsADirectoryError:
        raise ConfigError("is a folder, not a file", Location(str(path))) from None
    except UnicodeDecodeError as exc:
        raise ConfigError(
            f"not UTF-8 text ({exc.reason} at byte {exc.start})", Location(str(path))
        ) from None
    except OSError as exc:
        raise ConfigError(f"cannot be read ({exc.strerror})", Location(str(path))) from None
    except ValueError:  # a NUL character in the path
        raise ConfigError("is not a valid file name", Location(repr(str(path)))) from None


def load_yaml(path: Path) -> tuple[Any, SourceMap]:
    """Read and parse a YAML file."""
    return parse_yaml(read_text(path), str(path))
