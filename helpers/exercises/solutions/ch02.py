"""Solutions to chapter 2's exercises — the local TF semi-hard loss."""

import numpy as np


def batch_hard(labels, embeddings, margin):
    """Batch-hard loss (Hermans et al.) with squared L2 distances."""
    labels = np.asarray(labels)
    x = np.asarray(embeddings, dtype=float)
    d = np.sum((x[:, None, :] - x[None, :, :]) ** 2, axis=-1)
    same = labels[:, None] == labels[None, :]
    positive = same & ~np.eye(len(labels), dtype=bool)
    negative = ~same
    hardest_positive = np.where(positive, d, 0.0).max(axis=1)  # 0 without positives
    row_max = d.max(axis=1, keepdims=True)  # the fallback without negatives
    hardest_negative = np.where(negative, d, row_max).min(axis=1)
    return float(np.mean(np.maximum(margin + hardest_positive - hardest_negative, 0.0)))


def batch_all(labels, embeddings, margin):
    """(mean hinge over the active triplets, fraction of valid triplets that are active)."""
    labels = np.asarray(labels)
    x = np.asarray(embeddings, dtype=float)
    d = np.sum((x[:, None, :] - x[None, :, :]) ** 2, axis=-1)
    same = labels[:, None] == labels[None, :]
    positive = same & ~np.eye(len(labels), dtype=bool)
    valid = positive[:, :, None] & ~same[:, None, :]  # [a, p, n]
    hinge = np.maximum(margin + d[:, :, None] - d[:, None, :], 0.0)
    active = valid & (hinge > 0)
    loss = hinge[active].sum() / max(active.sum(), 1)
    fraction = active.sum() / max(valid.sum(), 1)
    return float(loss), float(fraction)


def margin_changes_choice():
    """2.3: no pair changes its negative — TF's rule picks by distances; the margin is only in the hinge."""
    return 0


# --- wrong answers ------------------------------------------------------------------------------
def _sq_dist(x):
    x = np.asarray(x, dtype=float)
    return np.sum((x[:, None, :] - x[None, :, :]) ** 2, axis=-1)


def _batch_hard(labels, x, margin, plain=False, mean_positive=False):
    d = _sq_dist(x)
    d = np.sqrt(d) if plain else d
    y = np.asarray(labels)
    same = y[:, None] == y[None, :]
    positive, negative = same & ~np.eye(len(y), dtype=bool), ~same
    if mean_positive:
        hp = np.where(positive.any(1), (d * positive).sum(1) / np.maximum(positive.sum(1), 1), 0.0)
    else:
        hp = np.where(positive, d, 0.0).max(axis=1)
    hn = np.where(negative, d, d.max(axis=1, keepdims=True)).min(axis=1)
    return float(np.mean(np.maximum(margin + hp - hn, 0.0)))


def _batch_all(labels, x, margin, mean_over="active", allow_self=False):
    d = _sq_dist(x)
    y = np.asarray(labels)
    same = y[:, None] == y[None, :]
    positive = same if allow_self else same & ~np.eye(len(y), dtype=bool)
    valid = positive[:, :, None] & ~same[:, None, :]
    loss = np.where(valid, np.maximum(margin + d[:, :, None] - d[:, None, :], 0.0), 0.0)
    active = loss > 0
    count = active.sum() if mean_over == "active" else valid.sum()
    return float(loss.sum() / max(count, 1)), float(active.sum() / max(valid.sum(), 1))


RIGHT = {
    "2.1": lambda: batch_hard,
    "2.2": lambda: batch_all,
    "2.3": margin_changes_choice,
}

WRONG = {
    "2.1": [
        lambda: (lambda labels, x, margin: _batch_hard(labels, x, margin, plain=True)),  # plain L2
        lambda: (lambda labels, x, margin: _batch_hard(labels, x, margin, mean_positive=True)),  # mean, not max
        lambda: (lambda labels, x, margin: float("nan")),
    ],
    "2.2": [
        lambda: (lambda labels, x, margin: _batch_all(labels, x, margin, mean_over="valid")),  # mean over all
        lambda: (lambda labels, x, margin: _batch_all(labels, x, margin, allow_self=True)),  # a == p allowed
        lambda: (lambda labels, x, margin: _batch_all(labels, x, margin)[0]),  # no fraction
    ],
    "2.3": [
        lambda: 6,  # "a wider band takes in other negatives"
        lambda: 18,  # "every pair changes"
        lambda: 2.5,  # not a count
    ],
}

EXPLAIN = {
    "2.1": "Reuse the pieces: the squared distance matrix, the positive mask (same label, a ≠ p) and "
           "the negative mask. The hardest positive is a masked maximum (0 for an anchor without "
           "positives), the hardest negative a masked minimum whose fallback is the row's largest "
           "distance; the loss is the mean hinge over all anchors.",
    "2.2": "Build the [a, p, n] hinge tensor and the mask of valid triplets (a ≠ p of the same label, "
           "n of another). Average the hinge over the triplets where it is positive — averaging over "
           "all valid triplets drowns the signal as more triplets become easy — and report which "
           "fraction of valid triplets is active; guard both divisions by zero.",
    "2.3": "None of the 18 pairs changes its negative. TensorFlow's rule picks by distances alone — "
           "the nearest negative strictly beyond the positive, else the farthest — and the margin "
           "enters only in the hinge max(margin + d(a,p) − chosen, 0). A larger margin makes more "
           "terms active and larger, but with the same negatives. FaceNet's band d(a,p) < d(a,n) < "
           "d(a,p) + α, by contrast, does widen with the margin.",
}
