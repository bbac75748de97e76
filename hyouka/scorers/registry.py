"""Which checks exist (built-in and plugins), and turning config into check objects."""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from typing import Any

from hyouka.errors import ConfigError, Location
from hyouka.plugins import check_classes
from hyouka.scorers.base import Check, CheckSpec


def checks() -> dict[str, type[Check]]:
    """Every registered check class by type name (built in :mod:`hyouka.plugins`)."""
    return check_classes()


def parse_spec(raw: Mapping[str, Any], origin: str = "global") -> CheckSpec:
    """A CheckSpec from a config mapping; raises ValueError with a readable message."""
    data = dict(raw)
    type_name = data.pop("type", None)
    if not isinstance(type_name, str) or not type_name:
        raise ValueError("every check needs a 'type'")
    negate = type_name.startswith("not-")
    base = type_name[4:] if negate else type_name
    registry = checks()
    cls = registry.get(base)
    if cls is None:
        close = difflib.get_close_matches(base, list(registry), n=3)
        hint = f" (did you mean {', '.join(close)}?)" if close else ""
        raise ValueError(f"unknown check type '{type_name}'{hint}; see docs/checks.md")
    if negate and not cls.meta.negatable:
        raise ValueError(f"check '{base}' cannot be negated with 'not-'")
    threshold = data.pop("threshold", None)
    weight = data.pop("weight", 1.0)
    metric = data.pop("metric", None)
    value = data.pop("value", None)
    try:
        threshold = None if threshold is None else float(threshold)
        weight = float(weight)
    except (TypeError, ValueError):
        raise ValueError("'threshold' and 'weight' must be numbers") from None
    return CheckSpec(
        type=base,
        negate=negate,
        value=value,
        threshold=threshold,
        weight=weight,
        metric=None if metric is None else str(metric),
        options=data,
        origin=origin,
    )


def build(raw: Mapping[str, Any], origin: str = "global") -> Check:
    spec = parse_spec(raw, origin)
    return checks()[spec.type](spec)


def build_or_config_error(
    raw: Mapping[str, Any], location: Location, field: str, origin: str = "global"
) -> Check:
    try:
        return build(raw, origin)
    except ValueError as exc:
        raise ConfigError(str(exc), location, field) from None
