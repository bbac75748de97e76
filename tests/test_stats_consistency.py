"""Issue 17: a verdict and the interval printed beside it never contradict each other.

A hypothesis property over thousands of generated comparisons (pass/fail, 0–1 and 1–5 scores;
6 to 40 cases; 1 to 5 samples per case; one to five metrics, one or two comparisons so that
Holm adjusts): "not distinguishable" always comes with an interval that contains 0, "better"
or "worse" with one that excludes it, in the dataclass and in the printed sentence, in both
languages; the p-value agrees with the interval at every Holm level.
"""

from __future__ import annotations

import re

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from hyouka.analysis import verdict as V
from hyouka.analysis.compare import PairComparison, Settings, apply_holm, compare_metric
from hyouka.analysis.data import MetricInfo
from hyouka.stats import holm_levels

KINDS = ("binary", "unit", "rating")


def _scores(rng: np.random.Generator, kind: str, n: int, k: int, effect: float) -> np.ndarray:
    """A cases × samples matrix for one arm; ``effect`` shifts the latent case quality."""
    latent = rng.normal(0.0, rng.uniform(0.2, 2.5), (n, 1)) + effect
    noise = rng.normal(0.0, rng.uniform(0.05, 1.5), (n, k))
    z = latent + noise
    if kind == "binary":
        return (z > 0).astype(float)
    if kind == "unit":
        return np.round(1 / (1 + np.exp(-z)), 2)
    return np.clip(np.round(3 + z), 1, 5)


def _number(text: str) -> float:
    return float(text.replace("−", "-").replace("+", ""))


INTERVAL_EN = re.compile(r"\(([\d.]+)% CI ([−+]?[\d.]+) to ([−+]?[\d.]+)\)")
INTERVAL_JA = re.compile(r"\(([\d.]+)%CI ([−+]?[\d.]+)〜([−+]?[\d.]+)\)")


def _check_sentence(sentence: str, pattern: re.Pattern[str], significant: bool) -> None:
    found = pattern.search(sentence)
    assert found, sentence
    low, high = _number(found.group(2)), _number(found.group(3))
    assert low <= high, sentence
    if significant:
        assert low > 0 or high < 0, sentence
    else:
        assert low <= 0 <= high, sentence


@settings(
    max_examples=2000,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(
    seed=st.integers(0, 2**32 - 1),
    n_metrics=st.integers(1, 5),
    n_pairs=st.integers(1, 2),
    n=st.integers(6, 40),
    k=st.integers(1, 5),
    kind=st.sampled_from(KINDS),
    effect=st.sampled_from([0.0, 0.0, 0.1, 0.3, 0.8, 2.0]),
    level=st.sampled_from([0.95, 0.95, 0.9, 0.99]),
)
def test_verdict_and_printed_interval_never_disagree(
    seed: int, n_metrics: int, n_pairs: int, n: int, k: int, kind: str, effect: float, level: float
) -> None:
    rng = np.random.default_rng(seed)
    s = Settings(level=level, delta=0.05, seed=0)
    pairs = []
    for p in range(n_pairs):
        metrics = []
        for j in range(n_metrics):
            name = f"m{j}"
            info = MetricInfo("python", name, name, kind == "binary")
            a = _scores(rng, kind, n, k, 0.0)
            b = _scores(rng, kind, n, k, effect * rng.choice([-1.0, 0.0, 1.0]))
            if rng.random() < 0.2:  # identical arms on some metrics
                b = a.copy()
            metrics.append(compare_metric(info, a, b, s, plan=False))
        pairs.append(PairComparison("A", f"B{p}", ("A",), (f"B{p}",), n, 0, tuple(metrics)))
    decided = apply_holm(pairs, s)
    flat = [m for pc in decided for m in pc.metrics]
    levels = holm_levels([m.p_value for m in flat], alpha=s.alpha)
    for m, lv in zip(flat, levels, strict=True):
        d = m.difference
        assert d.level == lv
        assert m.significant == (d.low > 0 or d.high < 0)
        assert m.significant == (m.p_adjusted < s.alpha) or abs(m.p_adjusted - s.alpha) < 1e-9
        assert d.level >= level - 1e-12  # Holm never prints a narrower interval than asked
        for lang, pattern in (("en", INTERVAL_EN), ("ja", INTERVAL_JA)):
            sentence = V.metric_sentence(m, "A", "B", lang)  # type: ignore[arg-type]
            if m.identical:
                assert not m.significant
                continue
            noise = "Not distinguishable" in sentence or "区別できない" in sentence
            assert noise != m.significant, sentence
            _check_sentence(sentence, pattern, m.significant)
            assert V.level_text(d.level) in sentence
