"""The public surface of hyouka.stats: everything exported exists and is documented."""

from __future__ import annotations

import dataclasses

import hyouka.stats as stats


def test_all_names_exist_and_have_docstrings() -> None:
    for name in stats.__all__:
        obj = getattr(stats, name)
        assert obj.__doc__, f"{name} has no docstring"


def test_all_is_sorted_and_unique() -> None:
    assert sorted(set(stats.__all__)) == stats.__all__


def test_result_types_are_frozen_dataclasses() -> None:
    for name in stats.__all__:
        obj = getattr(stats, name)
        if isinstance(obj, type) and dataclasses.is_dataclass(obj):
            assert obj.__dataclass_params__.frozen, f"{name} should be frozen"  # type: ignore[attr-defined]


def test_random_results_record_their_seed() -> None:
    # PairedDifference is analytic (calibrated t) since issue 17 and takes no seed.
    seeded = [
        stats.BootstrapMean, stats.BTResult, stats.AgreementEstimate, stats.JudgeAgreement,
    ]  # fmt: skip
    for cls in seeded:
        assert "seed" in {f.name for f in dataclasses.fields(cls)}, cls.__name__
