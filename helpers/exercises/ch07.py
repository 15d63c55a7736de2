"""Exercises of chapter 7 — beyond the semi-hard triplet."""

from __future__ import annotations

import math

import numpy as np

from helpers.exercises import _answers, exercise


def _soft_margin_floor():
    """The best a two-digit batch of unit vectors can do under batch-hard with the soft margin:
    positives at distance 0, the negative antipodal at plain L2 distance 2 -> softplus(0 - 2)."""
    return math.log1p(math.exp(-2.0))


@exercise("7.1", "the soft margin on the unit sphere", "predict",
          why="softplus(x) = log(1 + eˣ) is positive for every x: the soft margin never stops pulling. "
              "On unit vectors the hardest negative is at most 2 away (plain L2), so the loss cannot "
              "fall below softplus(−2) — every anchor keeps a gradient however well the digits are "
              "separated, while the hinge is satisfied as soon as the margin is.")
def soft_margin_floor(answer):
    """Prediction (a–d): the smallest value of soft-margin batch-hard on a two-digit batch of unit vectors."""
    return _answers.predicted(answer, _soft_margin_floor(), [(0.01, "a"), (0.06, "b"), (0.4, "c"), (math.inf, "d")], {
        "a": "that is the hinge: it reaches zero once the negative is a margin farther than the positive. "
             "The soft margin replaces [x]₊ by softplus(x) = log(1 + eˣ) — can that be zero?",
        "b": "close in spirit, but check the distance: batch-hard here uses plain L2, not squared L2. "
             "How far apart can two unit vectors be?",
        "c": "the soft margin is softplus(hardest positive − hardest negative); what are those two "
             "distances in the best batch of unit vectors there can be?",
        "d": "that is softplus(0): the value when positives and negatives are equally far, a collapsed "
             "batch — the worst case, not the best. How far apart can the two digits be pushed on the "
             "unit sphere?",
    })


@exercise("7.2", "a reported improvement", "concept",
          why="Musgrave et al. (2020) found that many reported gains vanished once every loss was tuned "
              "with the same budget on a validation split and compared over several runs; a search on the "
              "test classes also inflates the winner's score.")
def reported_improvement(answer):
    """Multiple choice (a–d) on what a tuned-versus-untuned comparison shows."""
    return _answers.choose(answer, "b", {
        "a": "the standard error speaks of the noise of the test queries only; it says nothing about two "
             "other problems: only one of the two losses was tuned, and on the very classes it is scored on",
        "c": "an untuned loss losing to a tuned one says nothing about whether it is broken; what would "
             "each loss score with the same tuning budget?",
        "d": "changing the metric does not fix the comparison: one loss was tuned, the other not, and "
             "the tuning looked at the test classes",
    })


def _supcon_expected(labels, x, temperature):
    from helpers.contrastive import supcon_loss

    return float(np.asarray(supcon_loss(labels, x, temperature)))


def _supcon_batches():
    rng = np.random.default_rng(7)
    batches = [(rng.integers(0, 3, b), rng.normal(size=(b, 5)) * rng.uniform(0.5, 3.0), f"a random batch of {b}")
               for b in (6, 10, 16)]
    batches.append((np.array([0, 0, 1, 1, 2]), rng.normal(size=(5, 3)),
                    "a batch in which one anchor has no positive"))
    batches.append((np.arange(4), rng.normal(size=(4, 3)), "a batch without any positive pair"))
    return batches


def _supcon_variant(labels, x, temperature, *, normalise=True, self_in_denominator=False,
                    all_anchors=False, scale=True):
    """The loss with one common mistake switched on (to recognise it and give its hint)."""
    labels = np.asarray(labels)
    z = x / np.linalg.norm(x, axis=1, keepdims=True) if normalise else x
    s = z @ z.T / (temperature if scale else 1.0)
    others = ~np.eye(len(labels), dtype=bool)
    positive = (labels[:, None] == labels[None, :]) & others
    kept = others | np.eye(len(labels), dtype=bool) if self_in_denominator else others
    with np.errstate(all="ignore"):  # unnormalised similarities may overflow: then it is not a match
        log_denominator = np.log(np.where(kept, np.exp(s), 0.0).sum(axis=1))
    count = positive.sum(axis=1)
    per_anchor = log_denominator - np.where(positive, s, 0.0).sum(axis=1) / np.maximum(count, 1)
    has = count > 0
    if all_anchors:
        return float(np.where(has, per_anchor, 0.0).mean())
    return float(per_anchor[has].mean()) if has.any() else 0.0


_SUPCON_MISTAKES = [
    (dict(normalise=False), "normalise every embedding to unit length first: the similarities are cosines"),
    (dict(self_in_denominator=True), "the denominator runs over a ≠ i: leave the anchor's similarity with "
                                     "itself out of the log-sum-exp"),
    (dict(all_anchors=True), "average over the anchors that have a positive only; an anchor without "
                             "positives contributes nothing and is not counted"),
    (dict(scale=False), "divide the similarities by the temperature before the exponentials"),
]


@exercise("7.3", "the supervised contrastive loss by hand")
def supcon_by_hand(fn):
    """``fn(labels, embeddings, temperature) -> float`` equal to ``helpers.contrastive.supcon_loss``."""
    if not callable(fn):
        return "pass a function supcon(labels, embeddings, temperature) that returns the loss (a number)"
    for temperature in (0.1, 0.5):
        for labels, x, what in _supcon_batches():
            got = float(np.asarray(fn(labels.copy(), x.copy(), temperature), dtype=float))
            expected = _supcon_expected(labels, x, temperature)
            if not math.isfinite(got):
                return f"{what} (temperature {temperature}): you returned {got}; guard the empty cases"
            if abs(got - expected) <= 1e-4 * max(1.0, abs(expected)):
                continue
            for options, hint in _SUPCON_MISTAKES:
                if abs(got - _supcon_variant(labels, x, temperature, **options)) <= 1e-6 * max(1.0, abs(got)):
                    return f"{what} (temperature {temperature}): {hint}"
            return (f"{what} (temperature {temperature}): you got {got:.5f}, which is not the loss; per "
                    "anchor with positives, average over its positives the log-sum-exp over all other "
                    "images minus the positive's similarity, then average over those anchors")
    return None
