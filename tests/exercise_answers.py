"""Right and wrong answers to every exercise, as zero-argument factories (used by test_exercises)."""

import numpy as np


# --- chapter 0 ---------------------------------------------------------------------------------
def _to_unit(raw):
    return (raw.astype(np.float32) / 255.0)[..., None]


def _pk(labels, p, k, rng):
    classes = rng.choice(np.unique(labels), size=p, replace=False)
    return np.concatenate([rng.choice(np.flatnonzero(labels == c), size=k, replace=False) for c in classes])


RIGHT = {
    "0.1": lambda: _to_unit,
    "0.2": lambda: _pk,
}

WRONG = {
    "0.1": [
        lambda: (lambda raw: raw.astype(np.float32) / 255.0),  # no channel axis
        lambda: (lambda raw: raw[..., None] / 255.0),  # float64
        lambda: (lambda raw: raw.astype(np.float32)[..., None]),  # not scaled
    ],
    "0.2": [
        lambda: (lambda labels, p, k, rng: np.arange(p * k)),  # not balanced
        lambda: (lambda labels, p, k, rng: np.concatenate(
            [np.flatnonzero(labels == c)[:k] for c in range(p)])),  # never random
        lambda: (lambda labels, p, k, rng: np.concatenate(
            [np.repeat(np.flatnonzero(labels == c)[0], k) for c in range(p)])),  # repeats an image
    ],
}
