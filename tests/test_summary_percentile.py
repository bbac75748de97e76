"""Latency percentiles without numpy give numpy's numbers exactly."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from hyouka.summary import percentile

latencies = st.lists(
    st.floats(min_value=0, max_value=1e6, allow_nan=False, allow_infinity=False),
    min_size=1,
    max_size=60,
)


@given(latencies, st.sampled_from([0, 1, 25, 50, 90, 99, 99.9, 100]))
def test_percentile_is_numpys_linear_percentile_to_the_bit(values: list[float], q: float) -> None:
    assert percentile(values, q) == float(np.percentile(values, q))


def test_percentile_of_a_known_sample() -> None:
    assert percentile([10.0, 20.0, 30.0, 40.0], 50) == 25.0
    assert percentile([10.0, 20.0, 30.0, 40.0], 90) == 37.0
    assert percentile([7.0], 99) == 7.0
