"""How sure is a number? Spread over seeds and bootstrap intervals (chapters 4, 5 and 6).

A retrieval metric measured once hides two sources of noise: the training run (another seed
gives another network) and the finite set of queries (another sample of test images gives
another mean). The course reports both:

``seed_summary`` / ``spread_table``
    mean ± standard deviation of each metric over runs that differ only in their seed.
``compare_seeds``
    the difference of two recipes' means with a 95 % Welch interval: ``beyond_noise`` is true
    when that interval excludes zero — chapters print their verdicts from it.
``bootstrap`` / ``paired_bootstrap``
    95 % percentile intervals from resampling the queries (``retrieval_metrics(...,
    per_query=True)``) when retraining is too slow; the paired form resamples the same queries
    for two representations, which is the fair way to compare them on one test set.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

#: The metrics the course compares, in the order its tables show them.
METRICS = ("precision_at_1", "r_precision", "map_at_r")


def _values(runs, key: str) -> np.ndarray:
    if not runs:
        raise ValueError("need at least one run")
    missing = [i for i, run in enumerate(runs) if key not in run]
    if missing:
        raise KeyError(f"metric {key!r} missing from run(s) {missing}")
    values = np.array([float(run[key]) for run in runs])
    if not np.isfinite(values).all():
        raise ValueError(f"metric {key!r} is NaN or infinite in some run: {values.tolist()}")
    return values


def seed_summary(runs, keys=METRICS) -> dict:
    """``{key: (mean, sd)}`` over ``runs`` (metric dicts, one per seed; sd is 0 for one run)."""
    out = {}
    for key in keys:
        values = _values(runs, key)
        out[key] = (float(values.mean()), float(values.std(ddof=1)) if len(values) > 1 else 0.0)
    return out


def spread_table(rows: dict, keys=METRICS, *, digits: int = 3) -> dict:
    """``{name: {key: "mean ± sd"}}`` for ``helpers.evaluation.metrics_table`` from
    ``{name: [metrics of seed 0, seed 1, ...]}``; a ``"seeds"`` column gives the run count."""
    table = {}
    for name, runs in rows.items():
        summary = seed_summary(runs, keys)
        table[name] = {key: f"{m:.{digits}f} ± {s:.{digits}f}" for key, (m, s) in summary.items()}
        table[name]["seeds"] = str(len(runs))
    return table


@dataclass(frozen=True)
class Difference:
    """``a − b`` of a metric's means, with a 95 % interval, and whether it excludes zero."""

    metric: str
    difference: float
    low: float
    high: float

    @property
    def beyond_noise(self) -> bool:
        return self.low > 0 or self.high < 0

    def describe(self, name_a: str, name_b: str, *, digits: int = 3) -> str:
        """One sentence a chapter can print, e.g. ``"A − B in MAP@R: +0.031 [+0.020, +0.042]
        — beyond the noise: A is higher"`` (or ``"— within the noise"``)."""
        from helpers.evaluation import METRIC_NAMES

        # The interval, not the point estimate, says which side of zero the difference is on.
        verdict = ("beyond the noise: " + (f"{name_a} is higher" if self.low > 0 else
                                           f"{name_b} is higher")
                   if self.beyond_noise else "within the noise")
        return (f"{name_a} − {name_b} in {METRIC_NAMES.get(self.metric, self.metric)}: "
                f"{self.difference:+.{digits}f} [{self.low:+.{digits}f}, {self.high:+.{digits}f}] "
                f"— {verdict}")


def compare_seeds(runs_a, runs_b, key: str = "map_at_r", *, confidence: float = 0.95) -> Difference:
    """Welch's interval for ``mean(a) − mean(b)`` over two groups of seed runs (≥ 2 each).

    With 3 seeds per group the interval is wide on purpose: it takes a difference several times
    the seed-to-seed spread to call it "beyond the noise".
    """
    from scipy import stats

    a, b = _values(runs_a, key), _values(runs_b, key)
    if len(a) < 2 or len(b) < 2:
        raise ValueError(f"need at least 2 runs per group to measure the spread, got {len(a)} and {len(b)}")
    va, vb = a.var(ddof=1) / len(a), b.var(ddof=1) / len(b)
    diff = float(a.mean() - b.mean())
    se = float(np.sqrt(va + vb))
    if se == 0.0:
        return Difference(key, diff, diff, diff)
    dof = (va + vb) ** 2 / (va ** 2 / (len(a) - 1) + vb ** 2 / (len(b) - 1))
    half = float(stats.t.ppf(0.5 + confidence / 2, dof)) * se
    return Difference(key, diff, diff - half, diff + half)


def _per_query(metrics: dict, key: str) -> np.ndarray:
    if "per_query" not in metrics:
        raise ValueError("bootstrap needs retrieval_metrics(..., per_query=True)")
    return np.asarray(metrics["per_query"][key], dtype=float)


def _percentile_interval(values: np.ndarray, rounds: int, seed: int, confidence: float) -> tuple[float, float]:
    """The middle ``confidence`` of the means of ``rounds`` resamples of ``values`` (with replacement)."""
    rng = np.random.default_rng(seed)
    means = values[rng.integers(0, values.size, size=(rounds, values.size))].mean(axis=1)
    tail = (1 - confidence) / 2 * 100
    low, high = np.percentile(means, [tail, 100 - tail])
    return float(low), float(high)


def bootstrap(metrics: dict, key: str = "map_at_r", *, rounds: int = 1000, seed: int = 0,
              confidence: float = 0.95) -> tuple[float, float]:
    """A percentile interval for a metric's mean from resampling the queries with replacement."""
    values = _per_query(metrics, key)
    values = values[np.isfinite(values)]
    if values.size == 0:
        raise ValueError(f"no query has a finite {key}")
    return _percentile_interval(values, rounds, seed, confidence)


def paired_bootstrap(metrics_a: dict, metrics_b: dict, key: str = "map_at_r", *, rounds: int = 1000,
                     seed: int = 0, confidence: float = 0.95) -> Difference:
    """``a − b`` with a percentile interval from resampling the *same* queries for both."""
    a, b = _per_query(metrics_a, key), _per_query(metrics_b, key)
    if a.shape != b.shape:
        raise ValueError(f"paired metrics need the same queries, got {a.size} and {b.size}")
    keep = np.isfinite(a) & np.isfinite(b)
    diff = a[keep] - b[keep]
    if diff.size == 0:
        raise ValueError(f"no query has a finite {key} in both")
    low, high = _percentile_interval(diff, rounds, seed, confidence)
    return Difference(key, float(diff.mean()), low, high)
