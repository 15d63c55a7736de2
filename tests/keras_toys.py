"""Tiny Keras set-ups the loss tests share: separable clusters and a small embedding network."""

import keras
import numpy as np


def clusters(n=240, dim=8, classes=4, seed=0):
    """``n`` points in ``classes`` well separated Gaussian clusters: float32 points, int32 labels."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, classes, size=n)
    centres = rng.normal(size=(classes, dim)) * 2.0
    return (centres[y] + rng.normal(size=(n, dim))).astype(np.float32), y.astype(np.int32)


def embedder(dim=8, out=4):
    """A seeded two-layer network from ``dim`` inputs to ``out``-dimensional embeddings."""
    keras.utils.set_random_seed(0)
    return keras.Sequential([keras.Input((dim,)), keras.layers.Dense(16, activation="relu"),
                             keras.layers.Dense(out)])
