"""Exercises of chapter 2 — the local TF semi-hard loss."""

from __future__ import annotations

import numpy as np

from helpers import reference
from helpers.exercises import _answers, exercise


def _batches():
    """Labelled float64 batches that exercise every convention of the losses."""
    rng = np.random.default_rng(21)
    batches = [(rng.integers(0, 3, b), rng.normal(size=(b, 4)), "a random batch of %d" % b)
               for b in (6, 9, 14)]
    batches += [
        (np.array([0, 0, 1, 1, 2]), rng.normal(size=(5, 2)), "a batch with a lonely anchor (no positive)"),
        (np.zeros(4, dtype=int), rng.normal(size=(4, 3)), "a single-class batch (no negatives)"),
        (np.arange(4), rng.normal(size=(4, 3)), "a batch without positive pairs"),
        (np.array([0, 0, 1, 1]), np.array([[0.0, 0], [0, 0], [3, 0], [3, 0]]), "a batch of duplicates"),
    ]
    return batches


def _as_float(value):
    value = np.asarray(value, dtype=float)
    if value.shape != ():
        raise ValueError(f"expected a scalar, got shape {value.shape}")
    return float(value)


@exercise("2.1", "batch-hard from the pieces")
def batch_hard(fn):
    """``fn(labels, embeddings, margin) -> loss`` equal to ``reference.hard_loss`` (squared L2)."""
    if not callable(fn):
        return "pass a function fn(labels, embeddings, margin) that returns the loss"
    for margin in (1.0, 0.3):
        for labels, x, what in _batches():
            got = _as_float(fn(labels.copy(), x.copy(), margin))
            expected = reference.hard_loss(labels, x, margin, distance="squared_l2")
            if not np.isfinite(got):
                return f"{what}: your loss is {got}; a masked reduction over an empty mask needs its fallback"
            if not np.isclose(got, expected, rtol=1e-5, atol=1e-6):
                return (f"{what} (margin {margin}): your loss is {got:.6f}, not the batch-hard value; "
                        "check the fallbacks (hp = 0 without positives, hn = row maximum without "
                        "negatives), the squared distances and the mean over all anchors")
    return None


@exercise("2.2", "batch-all with the [a, p, n] tensor")
def batch_all(fn):
    """``fn(labels, embeddings, margin) -> (loss, fraction)`` equal to ``reference.batch_all_loss``."""
    if not callable(fn):
        return "pass a function fn(labels, embeddings, margin) that returns (loss, fraction)"
    for margin in (1.0, 0.2):
        for labels, x, what in _batches():
            result = fn(labels.copy(), x.copy(), margin)
            if not isinstance(result, (tuple, list)) or len(result) != 2:
                return "return a pair (loss, fraction)"
            loss, fraction = (_as_float(v) for v in result)
            expected_loss, expected_fraction = reference.batch_all_loss(labels, x, margin)
            if not (np.isfinite(loss) and np.isfinite(fraction)):
                return f"{what}: you returned ({loss}, {fraction}); guard the divisions by zero"
            if not np.isclose(fraction, expected_fraction, rtol=1e-6, atol=1e-9):
                return (f"{what} (margin {margin}): fraction {fraction:.4f} is wrong; count only valid "
                        "triplets (a ≠ p with the same label, n with another) and, among them, those "
                        "with a positive loss")
            if not np.isclose(loss, expected_loss, rtol=1e-5, atol=1e-6):
                return (f"{what} (margin {margin}): loss {loss:.6f} is wrong; average the hinge over "
                        "the triplets where it is positive, not over all of them")
    return None


# TensorFlow's rule (helpers.reference.semi_hard_choice) takes labels and embeddings, no margin:
# however the margin moves, no positive pair of chapter 2's toy batch (18 of them) changes its
# negative. The chapter's cell measures it with its own `semi_hard_tiled` at margins 1 and 2.
_TOY_PAIRS, _CHANGED_PAIRS = 18, 0


@exercise("2.3", "what the margin changes in TensorFlow's rule", "predict",
          why="TensorFlow's rule picks the negative by distances alone — nearest beyond the positive, "
              "else the farthest; the margin enters only the hinge afterwards. FaceNet's band, "
              "d(a,p) < d(a,n) < d(a,p) + α, would widen with the margin.")
def margin_changes_choice(answer):
    """Prediction: how many of the toy batch's 18 positive pairs choose another negative at margin 2."""
    value = _answers.as_number(answer)
    if value is None or value != int(value) or not 0 <= value <= _TOY_PAIRS:
        return f"predict a count of positive pairs: a whole number from 0 to {_TOY_PAIRS}"
    if int(value) == _CHANGED_PAIRS:
        return None
    return ("the measurement disagrees. Look at `semi_hard_tiled`: which lines use `margin` — the "
            "ones that compute `chosen`, or only the hinge after it? Compare with FaceNet's band, "
            "whose edge d(a,p) + α does move with the margin")
