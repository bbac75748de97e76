"""The public names: what each package exports resolves to the object its module defines, lazy
packages export exactly what they declare, and the front door's surface changes only on
purpose (this file lists it)."""

from __future__ import annotations

import importlib
import inspect
import pkgutil

import pytest

import hyouka
from hyouka._lazy import type_checking_imports
from hyouka.api import Workspace
from hyouka.facades import Front


def modules_with_all() -> list[str]:
    """Every hyouka module that declares ``__all__`` (the web stack's too)."""
    found = ["hyouka"]
    for info in pkgutil.walk_packages(hyouka.__path__, "hyouka."):
        if info.name.startswith("hyouka.store.migrations") or info.name.endswith("__main__"):
            continue
        module = importlib.import_module(info.name)
        if hasattr(module, "__all__"):
            found.append(info.name)
    return sorted(found)


EXPORTERS = modules_with_all()


def test_the_scan_finds_the_public_packages() -> None:
    expected = ["hyouka", "hyouka.api", "hyouka.facades", "hyouka.humans", "hyouka.loop",
                "hyouka.testing", "hyouka.stats", "hyouka.analysis", "hyouka.report"]  # fmt: skip
    assert set(expected) <= set(EXPORTERS)


@pytest.mark.parametrize("name", EXPORTERS)
def test_all_is_unique_and_every_name_resolves(name: str) -> None:
    module = importlib.import_module(name)
    exported = list(module.__all__)
    assert len(exported) == len(set(exported)), "a name is listed twice"
    for attr in exported:
        value = getattr(module, attr)  # raises AttributeError for a name that is not there
        origin = getattr(value, "__module__", None)
        if inspect.isclass(value) or inspect.isfunction(value):
            assert origin is not None and origin.startswith("hyouka"), (attr, origin)


@pytest.mark.parametrize("name", ["hyouka.humans", "hyouka.loop", "hyouka.testing"])
def test_a_lazy_package_exports_what_it_declares_and_each_from_its_module(name: str) -> None:
    package = importlib.import_module(name)
    declared = type_checking_imports(package.__file__ or "")
    assert set(package.__all__) == set(declared)
    for attr, module in declared.items():
        assert getattr(package, attr) is getattr(importlib.import_module(module), attr), attr
    assert set(package.__all__) <= set(dir(package))
    with pytest.raises(AttributeError, match=f"module '{name}' has no attribute 'nope'"):
        _ = package.nope


def public(cls: type) -> set[str]:
    return {n for n, _ in inspect.getmembers(cls) if not n.startswith("_")}


def test_the_front_doors_surface() -> None:
    assert hyouka.__all__ == ["__version__"]
    assert importlib.import_module("hyouka.api").__all__ == [
        "Workspace", "schema_revisions", "upgrade_schema",
    ]  # fmt: skip
    facades = {
        "campaigns",
        "people",
        "api_keys",
        "judgments",
        "feedback",
        "reports",
        "imports",
        "traces",
    }
    facades |= {"experiments", "widget_keys"}
    facades |= {"workbench", "judging"}
    assert public(Front) == facades
    assert public(Workspace) == facades | {
        "open", "name", "close", "run", "arun", "score", "runs", "get_run", "show", "errors",
        "failures", "judges", "compare", "ranking", "agreement", "variant_history",
        "current_variants", "export",
    }  # fmt: skip
