"""Who sees which variant: a seeded hash of (experiment, unit id) into buckets.

Stdlib only: :mod:`hyouka.client` imports this to assign inside the app without a round trip.

The rule (docs/experiments.md, "Sticky assignment"):

- A unit's bucket is ``blake2b(f"{seed}:{experiment}:{unit}")`` mod :data:`BUCKETS`
  (10,000): it never changes. Each bucket belongs to one variant; the allocation is that map,
  stored with the experiment and given a new *revision* when weights change.
- Changing the weights moves as few buckets as possible: a variant over its new share gives
  up its highest-numbered buckets, and only those go to the variants under theirs. A unit
  changes variant only if its bucket moved; every other unit keeps its variant. (Going from
  50/50 to 90/10 moves 40% of units, all from B to A; nobody moves from A.)
- Enrolment (the ramp) uses other bits of the same hash: a unit is in the experiment when
  ``enrol_bucket < ramp × 10,000``. Raising the ramp only adds units. Units outside see the
  control and are not logged.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

BUCKETS = 10_000


def unit_hash(seed: int, experiment: str, unit: str) -> int:
    """64 bits of blake2b over ``seed:experiment:unit``."""
    digest = hashlib.blake2b(f"{seed}:{experiment}:{unit}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


def bucket_of(seed: int, experiment: str, unit: str) -> tuple[int, int]:
    """(allocation bucket, enrolment bucket), each in [0, BUCKETS)."""
    h = unit_hash(seed, experiment, unit)
    return h % BUCKETS, (h >> 32) % BUCKETS


def target_counts(shares: Sequence[float], total: int = BUCKETS) -> list[int]:
    """Bucket counts per variant for ``shares`` (summing to ``total``; largest remainder)."""
    s = sum(shares)
    exact = [total * w / s for w in shares]
    counts = [int(x) for x in exact]
    order = sorted(range(len(shares)), key=lambda i: (-(exact[i] - counts[i]), i))
    for i in order[: total - sum(counts)]:
        counts[i] += 1
    return counts


def initial_buckets(shares: Sequence[float]) -> list[int]:
    """Contiguous ranges: variant 0 gets the first buckets, and so on."""
    out: list[int] = []
    for index, count in enumerate(target_counts(shares)):
        out.extend([index] * count)
    return out


def rebalance(buckets: Sequence[int], shares: Sequence[float]) -> list[int]:
    """The allocation for new ``shares`` moving the fewest buckets (see the module docs).

    ``shares`` may name more variants than ``buckets`` uses (a variant added later)."""
    targets = target_counts(shares)
    new = list(buckets)
    have = [0] * len(shares)
    for v in new:
        have[v] += 1
    freed: list[int] = []
    for v in range(len(shares)):
        excess = have[v] - targets[v]
        if excess > 0:
            mine = [b for b in range(len(new) - 1, -1, -1) if new[b] == v]
            freed.extend(mine[:excess])
    freed.sort()
    i = 0
    for v in range(len(shares)):
        need = targets[v] - have[v]
        for _ in range(max(need, 0)):
            new[freed[i]] = v
            i += 1
    return new


def encode(buckets: Sequence[int]) -> list[list[int]]:
    """Run-length encoding ``[[variant index, count], ...]`` (what is stored and sent)."""
    runs: list[list[int]] = []
    for v in buckets:
        if runs and runs[-1][0] == v:
            runs[-1][1] += 1
        else:
            runs.append([v, 1])
    return runs


def decode(runs: Sequence[Sequence[int]]) -> bytes:
    """The bucket → variant index map as bytes (index lookups are the fastest)."""
    out = bytearray()
    for v, count in runs:
        out.extend(bytes([int(v)]) * int(count))
    if len(out) != BUCKETS:
        raise ValueError(f"an allocation must cover {BUCKETS} buckets, got {len(out)}")
    return bytes(out)


@dataclass(frozen=True)
class Allocation:
    """One experiment's current allocation, as the server publishes it."""

    name: str
    status: str  # draft | running | stopped
    revision: int
    seed: int
    variants: tuple[str, ...]
    control: str
    ramp: float
    table: bytes  # bucket -> variant index

    def __post_init__(self) -> None:
        # Precomputed for assign(), the app's hot path (benchmarks/experiments_load.py).
        object.__setattr__(self, "_prefix", f"{self.seed}:{self.name}:".encode())
        object.__setattr__(self, "_cut", self.ramp * BUCKETS)
        object.__setattr__(self, "_by_bucket", tuple(self.variants[i] for i in self.table))
        object.__setattr__(self, "_running", self.status == "running")

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> Allocation:
        runs = data["buckets"]
        assert isinstance(runs, list)
        variants = data["variants"]
        assert isinstance(variants, list)
        return cls(
            name=str(data["name"]),
            status=str(data["status"]),
            revision=int(str(data["revision"])),
            seed=int(str(data["seed"])),
            variants=tuple(str(v) for v in variants),
            control=str(data["control"]),
            ramp=float(str(data["ramp"])),
            table=decode(runs),
        )

    def assign(self, unit: str) -> tuple[str, bool]:
        """(variant, enrolled). Not running, or outside the ramp: the control, not enrolled.

        The same as :func:`bucket_of` (a test checks it), inlined for speed."""
        if not self._running:  # type: ignore[attr-defined]
            return self.control, False
        h = int.from_bytes(_blake(self._prefix + unit.encode(), digest_size=8).digest())  # type: ignore[attr-defined]
        if (h >> 32) % BUCKETS >= self._cut:  # type: ignore[attr-defined]
            return self.control, False
        return self._by_bucket[h % BUCKETS], True  # type: ignore[attr-defined]


_blake = hashlib.blake2b
