"""Exercises of chapter 3 — Keras label-concatenation wiring."""

from __future__ import annotations

import numpy as np

from helpers.exercises import exercise


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


@exercise("3.2", "splitting [label | embedding]")
def split_label_embedding(fn):
    """``fn(y_pred) -> (int labels (B,), embeddings (B, k))``."""
    if not callable(fn):
        return "pass a function fn(y_pred) that returns (labels, embeddings)"
    rng = np.random.default_rng(3)
    labels = np.array([0, 3, 3, 9, 1, 2**20])
    emb = rng.normal(size=(6, 4)).astype(np.float32)
    noisy = labels.astype(np.float32) + np.array([0, -2e-7 * 3, 2e-7 * 3, -1e-6 * 9, 0, 0], np.float32)
    for y_pred, what in [(np.c_[labels.astype(np.float32), emb], "exact float labels"),
                         (np.c_[noisy, emb], "labels slightly off an integer (2.9999993 for 3)")]:
        result = fn(y_pred.copy())
        if not isinstance(result, (tuple, list)) or len(result) != 2:
            return "return a pair (labels, embeddings)"
        got_labels, got_emb = (np.asarray(r) for r in result)
        if got_labels.shape != (6,):
            return f"labels should be 1-D, shape (B,) = (6,); got {got_labels.shape}"
        if not np.issubdtype(got_labels.dtype, np.integer):
            return f"labels should be integers, not {got_labels.dtype}: the loss compares them for equality"
        if not np.array_equal(got_labels, labels):
            return (f"with {what} you got labels {got_labels.tolist()} instead of {labels.tolist()}; "
                    "casting a float to int truncates — round first")
        if got_emb.shape != emb.shape or not np.allclose(got_emb, emb):
            return f"the embeddings should be columns 1: of y_pred, shape {emb.shape}; got shape {got_emb.shape}"
    return None
