"""Shared helpers for the statistics engine: input checks, grouping by case, bootstrap draws.

Every public function in ``hyouka.stats`` is pure: arrays in, numbers or frozen dataclasses
out. Anything random takes an explicit integer ``seed`` and records it in its result, so a
number printed by ``hyouka compare`` can be reproduced exactly.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from scipy import stats as sps

from hyouka.errors import HyoukaError

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]


class StatsInputError(HyoukaError, ValueError):
    """The data handed to a statistics function cannot be analysed as given.

    The message says which argument is wrong and what to pass instead. It is a HyoukaError,
    so the CLI prints it without a traceback, and a ValueError for plain-Python callers.
    """


def as_float_array(values: npt.ArrayLike, name: str, *, ndim: int = 1) -> FloatArray:
    """Convert ``values`` to a float array with ``ndim`` dimensions or explain why not."""
    try:
        arr = np.asarray(values, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise StatsInputError(
            f"{name}: expected numbers (use NaN for a missing value), got {exc}"
        ) from exc
    if arr.ndim != ndim:
        raise StatsInputError(f"{name}: expected a {ndim}-D array, got shape {arr.shape}")
    return arr


def require_finite(arr: FloatArray, name: str) -> None:
    """Reject NaN/inf where a missing value has no meaning."""
    if not np.all(np.isfinite(arr)):
        raise StatsInputError(f"{name}: contains NaN or infinity; drop those entries first")


def require_min_size(n: int, minimum: int, name: str) -> None:
    if n < minimum:
        raise StatsInputError(f"{name}: needs at least {minimum} values, got {n}")


def check_level(level: float) -> None:
    if not 0.0 < level < 1.0:
        raise StatsInputError(f"level: must be between 0 and 1 (e.g. 0.95), got {level}")


def z_value(level: float) -> float:
    """Two-sided normal critical value for a ``level`` confidence interval."""
    check_level(level)
    return float(sps.norm.ppf(0.5 + level / 2.0))


# A bootstrap in which more than this share of resamples has no value (κ when a resample holds
# one category only) gives no interval: the defined resamples are not a random subset, and
# dropping the rest once turned a κ interval into (1, 1) from 1,272 of 2,000 resamples.
MAX_FAILED_SHARE = 0.05


def failed_draws(draws: FloatArray) -> int:
    """How many bootstrap resamples gave no value (NaN or infinite)."""
    return int(np.sum(~np.isfinite(draws)))


def percentile_interval(
    draws: FloatArray, level: float, *, max_failed_share: float = MAX_FAILED_SHARE
) -> tuple[float, float]:
    """Percentile bootstrap interval over the resamples that have a value.

    When more than ``max_failed_share`` of them have none the interval is (NaN, NaN): the
    caller reports it as undefined, with :func:`failed_draws`.
    """
    tail = (1.0 - level) / 2.0
    finite = draws[np.isfinite(draws)]
    if finite.size == 0 or draws.size - finite.size > max_failed_share * draws.size:
        return (float("nan"), float("nan"))
    low, high = np.quantile(finite, [tail, 1.0 - tail])
    return (float(low), float(high))


def bootstrap_counts(n: int, n_boot: int, rng: np.random.Generator) -> IntArray:
    """How often each of ``n`` units is drawn in each of ``n_boot`` resamples (n_boot × n).

    Resampling as counts lets a statistic that is a weighted sum over units be computed for
    all replicates with one matrix product. Drawing indices and counting them with one
    offset ``bincount`` is ~12× faster than ``rng.multinomial`` here (0.5 ms vs 5.7 ms for
    400 × 100); chunks keep the index array under ~4 million entries.
    """
    out = np.empty((n_boot, n), dtype=np.int64)
    chunk = max(1, 4_000_000 // max(n, 1))
    for start in range(0, n_boot, chunk):
        rows = min(chunk, n_boot - start)
        idx = rng.integers(0, n, size=(rows, n)) + n * np.arange(rows)[:, None]
        out[start : start + rows] = np.bincount(idx.ravel(), minlength=rows * n).reshape(rows, n)
    return out


@dataclass(frozen=True)
class Cases:
    """Samples grouped by case: per-case label, count, mean and within-case variance."""

    labels: npt.NDArray[np.generic]
    counts: IntArray
    means: FloatArray
    variances: FloatArray  # ddof 1 within case; NaN for cases with one sample
    inverse: IntArray  # case index of every sample


def group_by_case(values: npt.ArrayLike, cases: npt.ArrayLike | None, name: str) -> Cases:
    """Group samples by case label.

    ``values`` is either 1-D (one entry per sample, with ``cases`` giving each sample's case)
    or 2-D (one row per case, one column per sample, NaN where a sample is missing; then
    ``cases`` must be None).
    """
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim == 2:
        if cases is not None:
            raise StatsInputError(
                f"{name}: pass either a 2-D cases × samples matrix or case labels"
            )
        rows = np.repeat(np.arange(arr.shape[0]), arr.shape[1])
        flat = arr.ravel()
        keep = ~np.isnan(flat)
        return group_by_case(flat[keep], rows[keep], name)
    if arr.ndim != 1:
        raise StatsInputError(f"{name}: expected 1-D samples or a 2-D matrix, got {arr.shape}")
    require_finite(arr, name)
    if cases is None:
        labels_in: npt.NDArray[np.generic] = np.arange(arr.size)
    else:
        labels_in = np.asarray(cases)
    if labels_in.shape != arr.shape:
        raise StatsInputError(
            f"{name}: {arr.size} values but {labels_in.size} case labels; give one label per value"
        )
    require_min_size(arr.size, 1, name)
    labels, inverse = np.unique(labels_in, return_inverse=True)
    inverse = inverse.astype(np.int64).ravel()
    counts = np.bincount(inverse).astype(np.int64)
    sums = np.bincount(inverse, weights=arr)
    means = sums / counts
    sq = np.bincount(inverse, weights=(arr - means[inverse]) ** 2)
    with np.errstate(invalid="ignore", divide="ignore"):
        variances = np.where(counts > 1, sq / np.maximum(counts - 1, 1), np.nan)
    return Cases(labels, counts, means, variances, inverse)
