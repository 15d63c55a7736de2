"""Exercises of chapter 1 — FaceNet triplet theory."""

from __future__ import annotations

import math

import numpy as np

from helpers import reference
from helpers.exercises import _answers, exercise

_KINDS = ("hard", "semi-hard", "easy")


@exercise("1.1", "hard, semi-hard or easy")
def negative_kind(fn):
    """``fn(d_ap, d_an, margin) -> "hard" | "semi-hard" | "easy"``."""
    if not callable(fn):
        return "pass a function fn(d_ap, d_an, margin) that returns one of 'hard', 'semi-hard', 'easy'"
    cases = [  # (d_ap, d_an, margin, expected, what it tests)
        (1.0, 0.5, 1.0, "hard", "a negative closer than the positive"),
        (1.0, 1.5, 1.0, "semi-hard", "a negative inside the margin band"),
        (1.0, 3.0, 1.0, "easy", "a negative beyond the margin"),
        (2.0, 2.0, 0.5, "hard", "a negative exactly as far as the positive"),
        (2.0, 2.5, 0.5, "easy", "a negative exactly at d_ap + margin"),
        (0.0, 0.1, 0.2, "semi-hard", "a positive at distance 0"),
        (4.0, 4.1, 0.05, "easy", "a narrow margin"),
        (0.3, 1.2, 2.0, "semi-hard", "a wide margin"),
    ]
    for d_ap, d_an, margin, expected, what in cases:
        got = fn(d_ap, d_an, margin)
        if got not in _KINDS:
            return f"return one of {_KINDS}; got {got!r}"
        if got != expected:
            return (f"d_ap={d_ap}, d_an={d_an}, margin={margin} ({what}) gave {got!r}; compare d_an "
                    "with d_ap and with d_ap + margin, minding which comparisons are strict")
    return None


def _tf_choice(d_ap, d_an):
    d_an = np.asarray(d_an, dtype=float)
    if d_an.size == 0:
        return -1
    beyond = np.flatnonzero(d_an > d_ap)
    if beyond.size:
        return int(beyond[np.argmin(d_an[beyond])])
    return int(np.argmax(d_an))


@exercise("1.2", "TensorFlow's semi-hard choice")
def tf_choice(fn):
    """``fn(d_ap, d_an) -> index`` of the negative TF's rule picks (``-1`` for no negative)."""
    if not callable(fn):
        return "pass a function fn(d_ap, d_an) that returns an integer index into d_an"
    cases = [
        (1.0, [0.5, 3.0, 1.5, 2.0], "the nearest negative beyond the positive"),
        (1.0, [0.2, 0.9, 0.4], "no negative beyond the positive"),
        (1.0, [1.0, 2.0, 0.5], "a negative exactly as far as the positive (not beyond it)"),
        (1.0, [2.0, 1.5, 1.5, 0.5], "two negatives tied at the chosen distance"),
        (2.0, [0.5, 1.5, 1.5], "two farthest negatives tied"),
        (0.5, [7.0], "a single negative beyond"),
        (0.5, [], "no negative at all"),
    ]
    rng = np.random.default_rng(11)
    cases += [(float(rng.uniform(0, 3)), rng.uniform(0, 4, size=rng.integers(1, 9)).round(1).tolist(),
               "a random case") for _ in range(30)]
    for d_ap, d_an, what in cases:
        got = fn(d_ap, np.asarray(d_an, dtype=float))
        expected = _tf_choice(d_ap, d_an)
        if isinstance(got, (bool, np.bool_)) or not isinstance(got, (int, np.integer)):
            return f"return a Python or NumPy integer (an index), not {type(got).__name__}"
        if int(got) != expected:
            return (f"for d_ap={d_ap} and d_an={d_an} ({what}) you chose {int(got)}; "
                    "re-read the rule: strictly farther than the positive first, the farthest as the "
                    "fallback, the lowest index among ties, -1 when there is no negative")
    return None


def _zero_loss_scale(labels, embeddings, margin):
    d = reference.pairwise_distances(embeddings)
    needed = 0.0
    for (a, p), n in reference.semi_hard_choice(labels, embeddings).items():
        gap = (d[a, n] if n >= 0 else 0.0) - d[a, p]
        if gap <= 0:
            return math.inf
        needed = max(needed, margin / gap)
    return math.sqrt(needed)


@exercise("1.3", "the scale that makes the loss vanish")
def zero_loss_scale(fn):
    """``fn(labels, embeddings, margin) -> c``: the smallest scale with a zero semi-hard loss."""
    if not callable(fn):
        return "pass a function fn(labels, embeddings, margin) that returns a number (or math.inf)"
    rng = np.random.default_rng(5)
    separated = np.repeat(np.arange(3), 3)
    batches = [
        (separated, np.repeat(np.eye(3) * 4, 3, axis=0) + 0.3 * rng.normal(size=(9, 3)), 1.0,
         "three well-separated classes"),
        (separated, np.repeat(np.eye(3) * 4, 3, axis=0) + 0.3 * rng.normal(size=(9, 3)), 0.2,
         "the same kind of batch with margin 0.2"),
        (np.array([0, 0, 1, 1]), np.array([[0.0, 0], [3, 0], [1, 0], [4, 0]]), 1.0,
         "a batch where a positive is farther than every negative"),
        (np.array([0, 0, 0]), rng.normal(size=(3, 2)), 1.0, "a single-class batch (no negatives)"),
        (np.array([0, 1, 2]), rng.normal(size=(3, 2)), 1.0, "a batch without positive pairs"),
    ]
    for labels, embeddings, margin, what in batches:
        got = fn(labels.copy(), embeddings.copy(), margin)
        expected = _zero_loss_scale(labels, embeddings, margin)
        try:
            got = float(got)
        except (TypeError, ValueError):
            return f"return a number (float or math.inf), not {type(got).__name__}"
        if math.isinf(expected) or math.isinf(got):
            if math.isinf(expected) != math.isinf(got):
                return (f"{what}: you returned {got:g}, which is wrong — ask whether any scale can "
                        "push every chosen negative past the margin (think about pairs whose chosen "
                        "negative is not farther than the positive)")
            continue
        if not math.isclose(got, expected, rel_tol=1e-6, abs_tol=1e-9):
            if got > expected:
                return (f"{what}: c = {got:.6g} is larger than needed — a smaller scale already "
                        "gives a zero loss; each positive pair needs c² · (d(a,n) − d(a,p)) ≥ margin")
            loss_at = reference.semi_hard_loss(labels, got * embeddings, margin)
            return (f"{what}: c = {got:.6g} is too small (the loss of c·x is {loss_at:.3g}); each "
                    "positive pair needs c² · (d(a,n) − d(a,p)) ≥ margin")
    return None


@exercise("1.4", "the margin on the unit sphere, in cosines", "concept",
          why="On the unit sphere d = 2 − 2·cos, so a margin α in squared distance is a gap of α/2 "
              "in cosine: the negative's cosine must be at least 0.1 below the positive's.")
def easy_cosine(answer):
    """The largest cos(a, n) for which a negative is easy, given cos(a, p) = 0.9 and α = 0.2."""
    return _answers.number(answer, 0.9 - 0.2 / 2, tol=1e-3, mistakes=[
        (_answers.near(0.7, 1e-3), "the margin is a gap in *squared distance*, not in cosine; write "
                                   "both distances as 2 − 2·cos and solve d(a,n) ≥ d(a,p) + α for cos(a,n)"),
        (_answers.near(0.9, 1e-3), "at that cosine the negative is exactly as far as the positive — a hard "
                                   "one; an easy negative must be a margin farther still"),
        (lambda v: v > 0.9, "an easy negative is *farther* from the anchor than the positive, so its "
                            "cosine with the anchor is *lower* than the positive's"),
        (lambda v: not -1.0 <= v <= 1.0, "a cosine lies between −1 and 1"),
    ], otherwise="write both squared distances as 2 − 2·cos (unit vectors) and solve "
                 "d(a,n) ≥ d(a,p) + α for cos(a,n)")
