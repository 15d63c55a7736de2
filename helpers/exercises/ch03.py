"""Exercises of chapter 3 — Keras label-concatenation wiring."""

from __future__ import annotations

import functools

import numpy as np

from helpers.exercises import _answers, exercise


@exercise("3.1", "the largest label a float carries exactly")
def largest_exact_integer(fn):
    """``fn(dtype) -> N``: every integer 0..N is exact in ``dtype``, N + 1 is not."""
    if not callable(fn):
        return "pass a function fn(dtype) that returns an integer"
    expected = {np.float16: 2**11, np.float32: 2**24, np.float64: 2**53}
    for dtype, n in expected.items():
        got = fn(dtype)
        try:
            got_int = int(got)
        except (TypeError, ValueError, OverflowError):
            return f"for {dtype.__name__} return an integer, not {type(got).__name__}"
        if got_int != got:
            return f"for {dtype.__name__} you returned {got!r}, which is not a whole number"
        if got_int != n:
            lower = "too small: N + 1 is still exact" if got_int < n else "too large: some integer up to it is not exact"
            return (f"for {dtype.__name__} your N = {got_int} is {lower}; count the significand's "
                    "bits that np.finfo reports, and remember the implicit leading bit")
    return None


@functools.lru_cache(maxsize=None)
def _distinct_float32_labels(n_labels=20_000_000):
    """Measured: how many distinct values the labels 0 … n_labels − 1 take in float32 (the labels
    below 2**24 are exact, so only the rest are sent through float32 and counted)."""
    upper = np.arange(2**24, n_labels, dtype=np.int64).astype(np.float32)
    return 2**24 + int(np.unique(upper).size)


@exercise("3.2", "twenty million identities through a float32 column", "predict",
          why="Between 2²⁴ and 2²⁵ neighbouring float32 values are 2 apart, so the labels above 2²⁴ "
              "land on the even integers only: half as many classes as labels there, and about 1.6 "
              "million identities merged into others without an error.")
def float32_identities(answer):
    """Prediction: distinct classes the loss sees for labels 0 … 19,999,999 carried as float32."""
    exact = 2**24
    return _answers.number(answer, _distinct_float32_labels(), tol=0.01, relative=True, mistakes=[
        (lambda v: v > 20_000_000, "there are only 20,000,000 labels: rounding can merge classes, "
                                   "never create them"),
        (lambda v: v >= 0.99 * 20_000_000, "some labels do merge: exercise 3.1 found the largest N "
                                           "below which float32 carries every integer"),
        (lambda v: abs(v - exact) <= 0.01 * exact,
         "float32 does not stop at 2**24 — it keeps representing larger numbers, just not every "
         "integer. How far apart are neighbouring float32 values between 2**24 and 2**25?"),
        (lambda v: v < exact, "every label below 2**24 is exact in float32 and stays its own class; "
                              "count those first, then the ones above"),
    ], otherwise="count in two parts: the labels below 2**24 (each exact), and those above, which "
                 "share float32 values — how many labels share each value there?")
