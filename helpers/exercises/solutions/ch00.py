"""Solutions to chapter 0's exercises — setting up and the data."""

import numpy as np


def to_unit(raw):
    """uint8 pixels (N, 28, 28) -> float32 images (N, 28, 28, 1) in [0, 1]."""
    images = raw.astype(np.float32) / 255.0
    return images[..., np.newaxis]


def pk_batch(labels, p, k, rng):
    """Indices of a P×K batch: p distinct classes drawn with rng, k different images of each."""
    classes = rng.choice(np.unique(labels), size=p, replace=False)
    picks = [rng.choice(np.flatnonzero(labels == c), size=k, replace=False) for c in classes]
    return np.concatenate(picks)


def lonely_anchors():
    """0.3: about one anchor per random batch of 32 has no positive.

    One anchor: each of the other 31 images is of another digit with probability about 9/10, so
    all of them are with probability about 0.9 ** 31 ≈ 0.038. Over 32 anchors: 32 × 0.038 ≈ 1.2.
    """
    return "c"


RIGHT = {
    "0.1": lambda: to_unit,
    "0.2": lambda: pk_batch,
    "0.3": lonely_anchors,
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
    "0.3": [
        lambda: "a",  # "32 images are plenty for ten digits"
        lambda: "b",  # right idea, but forgets that there are 32 anchors
        lambda: "d",
    ],
}

EXPLAIN = {
    "0.1": "Three things change: the dtype (float32, what Keras models here take), the range "
           "(divide by 255 — not clip, not standardise) and the shape (a channel axis at the end, "
           "as convolutions expect). helpers.data.load_mnist returns exactly this format.",
    "0.2": "Choose P classes without replacement, then K images of each, again without replacement "
           "within the class, both with the given generator so that a seed reproduces the batch. "
           "Every anchor then has K − 1 positives and (P − 1)·K negatives — what the triplet loss needs.",
    "0.3": "Ask per anchor: each of the other 31 images misses the anchor's digit with probability "
           "about 9/10, so all of them do with probability 0.9³¹ ≈ 0.04; times 32 anchors that is "
           "about 1.2 lonely anchors per batch (measured: 1.2). An average of three images per digit "
           "hides the batches with one. The fix is a P×K batch, which has none by construction.",
}
