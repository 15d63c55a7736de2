"""Solutions to chapter 1's exercises — FaceNet triplet theory."""

import math

import numpy as np


def negative_kind(d_ap, d_an, margin):
    """hard: not farther than the positive; semi-hard: inside the margin band; easy: beyond it."""
    if d_an <= d_ap:
        return "hard"
    if d_an < d_ap + margin:
        return "semi-hard"
    return "easy"


def tf_choice(d_ap, d_an):
    """Index of the negative TensorFlow's semi-hard rule picks (-1 when there is none)."""
    d_an = np.asarray(d_an, dtype=float)
    if d_an.size == 0:
        return -1
    beyond = d_an > d_ap  # strictly farther than the positive
    if beyond.any():
        return int(np.argmin(np.where(beyond, d_an, np.inf)))  # the nearest of them; argmin takes the first tie
    return int(np.argmax(d_an))  # none beyond: the farthest negative


def zero_loss_scale(labels, embeddings, margin):
    """Smallest c with a zero semi-hard loss for c * embeddings (squared L2), or math.inf.

    Scaling multiplies every squared distance by c² and keeps TF's choices, so each positive pair
    needs c² · (d(a,n) − d(a,p)) ≥ margin for its chosen negative n.
    """
    labels = np.asarray(labels)
    x = np.asarray(embeddings, dtype=float)
    d = np.sum((x[:, None, :] - x[None, :, :]) ** 2, axis=-1)
    needed = 0.0
    for a in range(len(labels)):
        negatives = d[a][labels != labels[a]]
        for p in np.flatnonzero((labels == labels[a]) & (np.arange(len(labels)) != a)):
            beyond = negatives[negatives > d[a, p]]
            chosen = beyond.min() if beyond.size else (negatives.max() if negatives.size else 0.0)
            gap = chosen - d[a, p]
            if gap <= 0:
                return math.inf  # no scale makes this pair's hinge vanish
            needed = max(needed, margin / gap)
    return math.sqrt(needed)


def easy_cosine():
    """1.4: on the unit sphere d = 2 − 2·cos, so d(a,n) ≥ d(a,p) + α ⇔ cos(a,n) ≤ cos(a,p) − α/2."""
    cos_ap, margin = 0.9, 0.2
    return cos_ap - margin / 2


# --- wrong answers ------------------------------------------------------------------------------
def _kind_strict_hard(d_ap, d_an, margin):
    if d_an < d_ap:  # a negative exactly as far as the positive counted semi-hard
        return "hard"
    return "semi-hard" if d_an < d_ap + margin else "easy"


def _kind_open_easy(d_ap, d_an, margin):
    if d_an <= d_ap:
        return "hard"
    return "semi-hard" if d_an <= d_ap + margin else "easy"  # exactly d_ap + margin counted semi-hard


def _choice(d_ap, d_an, strict=True, fallback=True):
    d_an = np.asarray(d_an, dtype=float)
    if d_an.size == 0:
        return -1
    beyond = d_an > d_ap if strict else d_an >= d_ap
    if beyond.any():
        return int(np.argmin(np.where(beyond, d_an, np.inf)))
    return int(np.argmax(d_an)) if fallback else -1


def _scale_squared(labels, x, margin):
    return zero_loss_scale(labels, x, margin) ** 2  # c² instead of c


def _scale_never_inf(labels, x, margin):
    labels, x = np.asarray(labels), np.asarray(x, dtype=float)
    d = np.sum((x[:, None, :] - x[None, :, :]) ** 2, axis=-1)
    needed = 0.0
    for a in range(len(labels)):
        negatives = d[a][labels != labels[a]]
        for p in np.flatnonzero((labels == labels[a]) & (np.arange(len(labels)) != a)):
            beyond = negatives[negatives > d[a, p]]
            chosen = beyond.min() if beyond.size else (negatives.max() if negatives.size else 0.0)
            if chosen > d[a, p]:  # skips the pairs no scale can fix
                needed = max(needed, margin / (chosen - d[a, p]))
    return math.sqrt(needed)


RIGHT = {
    "1.1": lambda: negative_kind,
    "1.2": lambda: tf_choice,
    "1.3": lambda: zero_loss_scale,
    "1.4": easy_cosine,
}

WRONG = {
    "1.1": [
        lambda: _kind_strict_hard,
        lambda: _kind_open_easy,
        lambda: (lambda d_ap, d_an, margin: "semi"),  # not one of the three names
    ],
    "1.2": [
        lambda: (lambda d_ap, d_an: _choice(d_ap, d_an, strict=False)),  # ties with the positive count as beyond
        lambda: (lambda d_ap, d_an: _choice(d_ap, d_an, fallback=False)),  # no fallback to the farthest
        lambda: (lambda d_ap, d_an: int(np.argmin(d_an)) if len(d_an) else -1),  # the hardest negative
    ],
    "1.3": [
        lambda: _scale_squared,
        lambda: _scale_never_inf,
        lambda: (lambda labels, x, margin: 1.0),
    ],
    "1.4": [
        lambda: 0.7,  # cos(a,p) − α: the margin taken as a gap in cosine
        lambda: 0.9,  # where a negative stops being hard, not where it becomes easy
        lambda: 0.95,  # the wrong side: closer than the positive
    ],
}

EXPLAIN = {
    "1.1": "Compare d(a,n) with d(a,p) and with d(a,p) + margin. The boundaries matter: a negative "
           "exactly as far as the positive is hard (it violates the ordering), one exactly at "
           "d(a,p) + margin is easy (its hinge is 0).",
    "1.2": "TensorFlow's rule: among the negatives strictly farther than the positive take the "
           "nearest; if there is none, the farthest negative; the first index among ties; -1 for no "
           "negative. It is not FaceNet's band: it can pick an easy negative (loss 0) or a hard one.",
    "1.3": "Scaling by c multiplies squared distances by c² and changes no choice, so each positive "
           "pair needs c² · (d(a,n) − d(a,p)) ≥ margin with its chosen n. The answer is the square "
           "root of the largest margin / gap — and infinite as soon as one chosen negative is not "
           "farther than its positive (a gap ≤ 0 never grows positive by scaling).",
    "1.4": "On the unit sphere ‖u − v‖² = 2 − 2·cos(u, v). Then d(a,n) ≥ d(a,p) + α becomes "
           "2 − 2·cos(a,n) ≥ 2 − 2·cos(a,p) + α, i.e. cos(a,n) ≤ cos(a,p) − α/2 = 0.9 − 0.1 = 0.8. "
           "A margin of 0.2 in squared distance is a gap of 0.1 in cosine — a fixed meaning that "
           "unnormalised embeddings do not give the margin.",
}
