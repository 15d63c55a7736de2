"""helpers.uncertainty: seed spreads, Welch intervals and bootstrap intervals against hand computations."""

import math

import numpy as np
import pytest
from scipy import stats

from helpers.evaluation import retrieval_metrics
from helpers.uncertainty import (METRICS, Difference, bootstrap, compare_seeds, paired_bootstrap,
                                 seed_summary, spread_table)


def runs(key, values):
    return [{key: v} for v in values]


def test_seed_summary_is_mean_and_sample_sd():
    many = [{"precision_at_1": p, "r_precision": r, "map_at_r": m}
            for p, r, m in [(0.90, 0.5, 0.4), (0.92, 0.6, 0.5), (0.94, 0.7, 0.3)]]
    summary = seed_summary(many)
    assert list(summary) == list(METRICS)
    # mean 0.92; deviations ±0.02, 0 -> sample variance (0.0004 + 0.0004) / 2 = 0.0004, sd 0.02
    assert summary["precision_at_1"] == pytest.approx((0.92, 0.02))
    assert summary["r_precision"] == pytest.approx((0.6, 0.1))
    assert summary["map_at_r"] == pytest.approx((0.4, 0.1))
    one = seed_summary([{"map_at_r": 0.5}], keys=("map_at_r",))
    assert one == {"map_at_r": (0.5, 0.0)}


def test_spread_table_formats_mean_sd_and_counts_seeds():
    table = spread_table({"a": runs("map_at_r", [0.1, 0.3]), "b": runs("map_at_r", [0.5])},
                         keys=("map_at_r",), digits=2)
    # sd of (0.1, 0.3) with ddof=1 is sqrt(0.02) = 0.1414...
    assert table == {"a": {"map_at_r": "0.20 ± 0.14", "seeds": "2"},
                     "b": {"map_at_r": "0.50 ± 0.00", "seeds": "1"}}


@pytest.mark.parametrize("bad, error, message", [
    ([], ValueError, "at least one run"),
    ([{"map_at_r": 0.5}, {"r_precision": 0.5}], KeyError, r"missing from run\(s\) \[1\]"),
    ([{"map_at_r": 0.5}, {"map_at_r": float("nan")}], ValueError, "NaN"),
    ([{"map_at_r": float("inf")}], ValueError, "NaN or infinite"),
])
def test_seed_summary_errors(bad, error, message):
    with pytest.raises(error, match=message):
        seed_summary(bad, keys=("map_at_r",))


def test_compare_seeds_matches_welch_by_hand_and_scipy():
    a, b = [0.61, 0.64, 0.60, 0.66], [0.55, 0.59, 0.56]
    got = compare_seeds(runs("map_at_r", a), runs("map_at_r", b))
    # By hand: Welch-Satterthwaite degrees of freedom and a t quantile.
    va, vb = np.var(a, ddof=1) / len(a), np.var(b, ddof=1) / len(b)
    dof = (va + vb) ** 2 / (va ** 2 / (len(a) - 1) + vb ** 2 / (len(b) - 1))
    half = stats.t.ppf(0.975, dof) * math.sqrt(va + vb)
    diff = np.mean(a) - np.mean(b)
    assert got.metric == "map_at_r"
    assert got.difference == pytest.approx(diff)
    assert (got.low, got.high) == pytest.approx((diff - half, diff + half))
    # And scipy's own Welch interval.
    ci = stats.ttest_ind(a, b, equal_var=False).confidence_interval(0.95)
    assert (got.low, got.high) == pytest.approx((ci.low, ci.high))
    assert got.beyond_noise
    wider = compare_seeds(runs("map_at_r", a), runs("map_at_r", b), confidence=0.99)
    assert wider.low < got.low and wider.high > got.high


def test_compare_seeds_within_noise_and_sign():
    a, b = runs("precision_at_1", [0.90, 0.95, 0.92]), runs("precision_at_1", [0.91, 0.93, 0.96])
    d = compare_seeds(a, b, "precision_at_1")
    assert d.low < 0 < d.high and not d.beyond_noise
    reverse = compare_seeds(b, a, "precision_at_1")
    assert (reverse.difference, reverse.low, reverse.high) == pytest.approx((-d.difference, -d.high, -d.low))


def test_compare_seeds_without_spread_is_a_point():
    d = compare_seeds(runs("map_at_r", [0.5, 0.5]), runs("map_at_r", [0.4, 0.4]))
    assert (d.difference, d.low, d.high) == pytest.approx((0.1, 0.1, 0.1))


@pytest.mark.parametrize("a, b, message", [
    ([0.5], [0.4, 0.45], "at least 2 runs per group"),
    ([0.5, 0.6], [0.4], "got 2 and 1"),
    ([0.5, float("nan")], [0.4, 0.45], "NaN"),
])
def test_compare_seeds_errors(a, b, message):
    with pytest.raises(ValueError, match=message):
        compare_seeds(runs("map_at_r", a), runs("map_at_r", b))


def test_difference_verdict_and_description():
    up = Difference("map_at_r", 0.031, 0.020, 0.042)
    assert up.beyond_noise
    assert up.describe("A", "B") == "A − B in MAP@R: +0.031 [+0.020, +0.042] — beyond the noise: A is higher"
    down = Difference("r_precision", -0.05, -0.08, -0.01)
    assert down.beyond_noise and down.describe("A", "B").endswith("beyond the noise: B is higher")
    assert "R-precision: -0.050" in down.describe("A", "B")
    flat = Difference("precision_at_1", 0.004, -0.002, 0.010)
    assert not flat.beyond_noise
    assert flat.describe("A", "B", digits=2) == "A − B in P@1: +0.00 [-0.00, +0.01] — within the noise"
    assert Difference("other", 0.1, 0.05, 0.2).describe("x", "y").startswith("x − y in other:")
    # An interval ending exactly at zero does not exclude it.
    assert not Difference("map_at_r", 0.01, 0.0, 0.02).beyond_noise


def metrics_of(per_query_values, key="map_at_r"):
    values = np.asarray(per_query_values, dtype=float)
    mean = float(values[np.isfinite(values)].mean()) if np.isfinite(values).any() else float("nan")
    return {key: mean, "per_query": {key: values}}


def test_bootstrap_interval_contains_the_mean_and_shrinks_with_more_queries():
    rng = np.random.default_rng(3)
    small = metrics_of(rng.uniform(size=100))
    large = metrics_of(rng.uniform(size=10_000))
    for m in (small, large):
        low, high = bootstrap(m)
        assert low < m["map_at_r"] < high
    width = lambda m: np.subtract(*bootstrap(m)[::-1])  # noqa: E731
    # The standard error falls like 1/sqrt(n): 100x the queries, about a tenth of the width.
    assert 0.05 < width(large) / width(small) < 0.2
    # A 95 % interval is about ±1.96 standard errors of the mean.
    se = np.std(large["per_query"]["map_at_r"], ddof=1) / np.sqrt(10_000)
    assert width(large) == pytest.approx(2 * 1.96 * se, rel=0.15)
    assert bootstrap(small) == bootstrap(small)  # seeded
    assert bootstrap(small, seed=1) != bootstrap(small)
    narrow = bootstrap(small, confidence=0.5)
    assert bootstrap(small)[0] < narrow[0] < narrow[1] < bootstrap(small)[1]


def test_bootstrap_of_a_constant_is_that_constant_and_skips_nan():
    assert bootstrap(metrics_of([0.25, 0.25, np.nan, 0.25])) == (0.25, 0.25)


def test_bootstrap_errors():
    with pytest.raises(ValueError, match="per_query=True"):
        bootstrap({"map_at_r": 0.5})
    with pytest.raises(ValueError, match="no query has a finite"):
        bootstrap(metrics_of([np.nan, np.nan]))


def test_bootstrap_on_retrieval_metrics():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 5, 300)
    emb = rng.normal(size=(300, 8)) + 1.5 * np.eye(8)[labels]
    m = retrieval_metrics(emb, labels, per_query=True)
    for key in METRICS:
        low, high = bootstrap(m, key)
        assert low <= m[key] <= high and high - low < 0.2, key


def test_paired_bootstrap_identical_inputs_is_exactly_zero():
    m = metrics_of(np.random.default_rng(0).uniform(size=50))
    d = paired_bootstrap(m, m)
    assert (d.difference, d.low, d.high) == (0.0, 0.0, 0.0)
    assert not d.beyond_noise


def test_paired_bootstrap_difference_and_pairing():
    rng = np.random.default_rng(1)
    b = rng.uniform(size=400)
    a = b + 0.01 + rng.normal(scale=0.001, size=400)  # a is always a little higher
    d = paired_bootstrap(metrics_of(a), metrics_of(b))
    assert d.difference == pytest.approx(np.mean(a - b))
    assert d.low < d.difference < d.high and d.beyond_noise and d.low > 0
    # Pairing is what makes it tight: the unpaired intervals of a and b overlap widely.
    assert bootstrap(metrics_of(a))[0] < bootstrap(metrics_of(b))[1]
    reverse = paired_bootstrap(metrics_of(b), metrics_of(a))
    assert reverse.difference == pytest.approx(-d.difference) and reverse.high < 0


def test_paired_bootstrap_leaves_out_queries_without_a_match():
    a, b = metrics_of([1.0, np.nan, 0.5]), metrics_of([0.5, 0.0, np.nan])
    d = paired_bootstrap(a, b)
    assert (d.difference, d.low, d.high) == (0.5, 0.5, 0.5)  # only query 0 counts


def test_paired_bootstrap_on_retrieval_metrics_equals_the_difference_of_metrics():
    rng = np.random.default_rng(2)
    labels = rng.integers(0, 4, 200)
    good = rng.normal(size=(200, 6)) + 3 * np.eye(6)[labels]
    poor = rng.normal(size=(200, 6)) + 0.5 * np.eye(6)[labels]
    mg, mp = (retrieval_metrics(e, labels, per_query=True) for e in (good, poor))
    for key in METRICS:
        d = paired_bootstrap(mg, mp, key)
        assert d.difference == pytest.approx(mg[key] - mp[key]), key
        assert d.beyond_noise and d.low > 0, key


def test_paired_bootstrap_errors():
    with pytest.raises(ValueError, match="per_query=True"):
        paired_bootstrap({"map_at_r": 0.5}, metrics_of([0.5]))
    with pytest.raises(ValueError, match="same queries, got 3 and 2"):
        paired_bootstrap(metrics_of([0.1, 0.2, 0.3]), metrics_of([0.1, 0.2]))
    with pytest.raises(ValueError, match="finite map_at_r in both"):
        paired_bootstrap(metrics_of([np.nan, 0.2]), metrics_of([0.1, np.nan]))
