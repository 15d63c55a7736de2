"""Exercises of chapter 6 — retrieving digits never seen in training."""

from __future__ import annotations

import numpy as np

from helpers.exercises import exercise


@exercise("6.1", "an open-set split")
def open_set_split(fn):
    """``fn(labels, unseen) -> bool mask`` of the images a model may train on."""
    if not callable(fn):
        return "pass a function open_set_split(labels, unseen) that returns a boolean mask"
    labels = np.array([0, 7, 3, 8, 9, 1, 7, 2, 6, 9])
    for unseen in ([7, 8, 9], [0], [1, 2]):
        mask = np.asarray(fn(labels.copy(), np.array(unseen)))
        if mask.shape != labels.shape:
            return f"the mask has shape {mask.shape}; it needs one entry per image, {labels.shape}"
        if mask.dtype != bool:
            return f"the mask has dtype {mask.dtype}; return booleans (True = may train on it)"
        if np.isin(labels[mask], unseen).any():
            return "an image of an unseen class is marked for training — it would no longer be unseen"
        if (~mask & ~np.isin(labels, unseen)).any():
            return "a seen image is left out of training; only the unseen classes should be excluded"
    return None


@exercise("6.2", "precision@1 by hand")
def precision_at_1(fn):
    """``fn(embeddings, labels) -> float``: leave-one-out 1-NN agreement."""
    if not callable(fn):
        return "pass a function precision_at_1(embeddings, labels) that returns a number"
    emb = np.array([[0.0, 0.0], [0.1, 0.0], [5.0, 5.0], [5.2, 5.0], [0.0, 0.3], [5.0, 5.4]])
    labels = np.array([0, 0, 1, 1, 1, 0])
    # nearest others: 0→1 (ok), 1→0 (ok), 2→3 (ok), 3→2 (ok), 4→0 (wrong), 5→2 (wrong)
    value = float(fn(emb.copy(), labels.copy()))
    if np.isclose(value, 1.0):
        return "you got 1.0: is each point its own nearest neighbour? Leave the query itself out"
    if not np.isclose(value, 4 / 6):
        return f"you got {value:.3f}; check the distance you use (Euclidean) and the 'nearest' rule"
    rng = np.random.default_rng(1)
    emb, labels = rng.normal(size=(40, 3)), rng.integers(0, 3, 40)
    d = np.linalg.norm(emb[:, None] - emb[None], axis=-1)
    np.fill_diagonal(d, np.inf)
    if not np.isclose(float(fn(emb, labels)), np.mean(labels[d.argmin(1)] == labels)):
        return "right on the small example but not on a random one; does it handle any number of points?"
    return None
