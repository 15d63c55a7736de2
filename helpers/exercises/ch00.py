"""Exercises of chapter 0 — setting up and the data."""

from __future__ import annotations

import functools
import math

import numpy as np

from helpers.exercises import _answers, exercise


@exercise("0.1", "pixels to the course's image format")
def to_unit_images(fn):
    """``fn(uint8 (N, 28, 28)) -> float32 (N, 28, 28, 1) in [0, 1]``."""
    if not callable(fn):
        return "pass a function that takes a uint8 array (N, 28, 28) and returns the converted images"
    rng = np.random.default_rng(0)
    raw = rng.integers(0, 256, size=(5, 28, 28), dtype=np.uint8)
    raw[0, 0, 0], raw[0, 0, 1] = 0, 255
    out = np.asarray(fn(raw.copy()))
    if out.shape != (5, 28, 28, 1):
        return f"the result has shape {out.shape}; the course's images carry a channel axis at the end"
    if out.dtype != np.float32:
        return f"the result has dtype {out.dtype}; Keras models here take float32"
    if out.max() > 1.0 or out.min() < 0.0:
        return f"pixels range over [{out.min():g}, {out.max():g}]; they should lie in [0, 1]"
    if not np.allclose(out[..., 0], raw / 255.0, atol=1e-6):
        return "the values are not proportional to the raw pixels — divide, don't clip or standardise"
    return None


@exercise("0.2", "a class-balanced (PK) batch by hand")
def pk_batch(fn):
    """``fn(labels, p, k, rng) -> indices``: P distinct classes, K images of each, no repeats."""
    if not callable(fn):
        return "pass a function fn(labels, p, k, rng) that returns an array of indices"
    labels = np.repeat(np.arange(6), 7)
    for seed, (p, k) in enumerate([(3, 2), (4, 5), (6, 1)]):
        idx = np.asarray(fn(labels.copy(), p, k, np.random.default_rng(seed))).reshape(-1)
        if idx.size != p * k:
            return f"with P={p}, K={k} the batch should hold P·K = {p * k} indices, not {idx.size}"
        if not np.issubdtype(idx.dtype, np.integer) or idx.min() < 0 or idx.max() >= labels.size:
            return "return integer positions into `labels` (0 … len(labels) − 1)"
        if np.unique(idx).size != idx.size:
            return "an image appears twice in the batch; draw without replacement within a class"
        classes, counts = np.unique(labels[idx], return_counts=True)
        if classes.size != p or np.any(counts != k):
            return (f"the batch holds classes {classes.tolist()} with counts {counts.tolist()}; "
                    f"it needs {p} classes with {k} images each")
    draws = {tuple(np.sort(np.asarray(fn(labels.copy(), 3, 2, np.random.default_rng(s))))) for s in range(8)}
    if len(draws) == 1:
        return "every call returns the same batch; use `rng` to choose classes and images at random"
    return None


@functools.lru_cache(maxsize=None)
def _lonely_anchors(batch_size=32, classes=10, per_class=400, batches=20_000, seed=0):
    """Measured: anchors per random batch (drawn without replacement from a balanced split, as
    MNIST nearly is) whose digit appears nowhere else in the batch."""
    rng = np.random.default_rng(seed)
    counts = rng.multivariate_hypergeometric([per_class] * classes, batch_size, size=batches)
    return float(np.mean(np.sum(counts == 1, axis=1)))


@exercise("0.3", "anchors without a positive in a random batch", "predict",
          why="Each of the other 31 images misses the anchor's digit with probability about 9/10, "
              "so all of them do with probability about 0.9³¹ ≈ 0.04 — for each of 32 anchors. "
              "A P×K batch has none by construction.")
def lonely_anchors(answer):
    """Prediction: how many of 32 anchors per random batch have no positive (a, b, c or d)."""
    per_anchor = ("think per anchor: each of the other 31 images is of another digit with probability "
                  "about 9/10 — how likely is that for all 31 at once, and how many anchors are there?")
    bins = [(0.05, "a"), (0.4, "b"), (2.5, "c"), (math.inf, "d")]
    return _answers.predicted(answer, _lonely_anchors(), bins, {
        "a": "some batches do leave an anchor alone: a batch holds about three images per digit on "
             "average, and an average hides the batches with a single one",
        "b": per_anchor,
        "c": per_anchor,
        "d": "that is too many: for one anchor, all 31 other images must miss its digit, and each "
             "misses it with probability about 9/10 — work out how rare that is",
    })
