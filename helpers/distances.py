"""Pairwise distance matrices for a batch of embeddings (chapter 2 — the local TF semi-hard loss).

Every triplet loss in :mod:`helpers.losses` starts from the same object: the ``(B, B)`` matrix
``D`` with ``D[i, j] = d(x_i, x_j)`` for a batch of ``B`` embeddings ``x_i`` in ``R^k``.
Three distances are available (``DISTANCES``):

``"squared_l2"``
    ``d(a, b) = ||a - b||^2``. FaceNet, TF 1.x ``contrib`` and the 2018 notebook use this one.
    It is computed from the Gram matrix ``G = X X^T`` through the expansion
    ``||a - b||^2 = ||a||^2 - 2 a.b + ||b||^2``, i.e. ``D = g 1^T - 2 G + 1 g^T`` with
    ``g = diag(G)``: one matrix product instead of a ``(B, B, k)`` tensor of differences.

``"l2"``
    ``d(a, b) = ||a - b||``, the square root of the above. ``d/dx sqrt(x) = 1 / (2 sqrt(x))``
    is infinite at ``x = 0`` (and ``0 * inf = NaN`` in the chain rule), so entries that are exactly
    zero are replaced by ``1`` before the square root and set back to ``0`` afterwards: their
    gradient is then ``0`` instead of ``NaN``.

``"angular"``
    ``d(a, b) = max(1 - cos(a, b), 0)`` with ``cos(a, b) = u.v`` for the L2-normalised vectors
    ``u = a / max(||a||, 1e-6)`` (a zero vector stays zero, so its distance to anything is 1).
    It lies in ``[0, 2]``. No square root is involved, so its gradient is finite everywhere.

Numerical zero. The expansion subtracts numbers of size ``||a||^2 + ||b||^2``, so its result
carries a rounding error of a few ``eps * (||a||^2 + ||b||^2)`` (``eps`` = machine epsilon of the
compute dtype) — two *identical* embeddings typically come out at ``+-1e-7`` instead of ``0``.
Entries ``<= 8 * eps * (||a||^2 + ||b||^2)`` (with ``u`` in place of ``a`` for ``"angular"``) are
therefore set to exactly ``0``: that clamps the small negatives, makes coincident embeddings
exactly ``0`` apart, and gives those entries a zero gradient. (Distances from one point to two
*other* identical points can still differ in the last bit: a matrix product may round the same
dot product differently at two positions.) A distance that overflows stays ``inf`` (its tolerance
overflows too, so without care it would pass for noise and become ``0``); NaN and ``inf`` inputs
give NaN or ``inf`` distances, which :mod:`helpers.losses` turns into a NaN loss.

In all three cases the diagonal is set to exactly ``0`` (and receives no gradient).
float16 / bfloat16 inputs are computed in float32 and cast back; float64 stays float64.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

__all__ = ["DISTANCES", "check_distance", "check_embeddings", "pairwise_distances"]

DISTANCES = ("squared_l2", "l2", "angular")

# Squared-norm floor of the normalisation used by "angular": ||a|| is floored at sqrt(1e-12) = 1e-6.
_SQUARED_NORM_FLOOR = 1e-12
# Entries at most this many eps * (||a||^2 + ||b||^2) are rounding noise of the expansion -> 0.
NOISE_FACTOR = 8.0
_LOW_PRECISION = (tf.float16, tf.bfloat16)


def check_distance(distance: str) -> str:
    """Return ``distance`` if it names a known distance, else raise ``ValueError``."""
    if distance not in DISTANCES:
        raise ValueError(
            f"Unknown distance {distance!r}; valid distances are: {', '.join(DISTANCES)}"
        )
    return distance


def check_embeddings(embeddings) -> tf.Tensor:
    """Convert ``embeddings`` to a floating tensor and check that it is rank 2, ``(B, k)``.

    Integer inputs become float32. Raises ``ValueError`` (naming the shape) for any other rank;
    this is a static check, so it also fires while a ``tf.function`` is being traced.
    """
    x = tf.convert_to_tensor(embeddings)
    if not x.dtype.is_floating:
        x = tf.cast(x, tf.float32)
    if x.shape.rank is not None and x.shape.rank != 2:
        raise ValueError(
            f"embeddings must have rank 2, shape (batch, dim); got shape {tuple(x.shape)}"
        )
    return x


def _zero_noise(d: tf.Tensor, sq_norms: tf.Tensor) -> tf.Tensor:
    """Set entries within the expansion's rounding error (see module docstring) to exactly 0."""
    tolerance = NOISE_FACTOR * float(np.finfo(d.dtype.as_numpy_dtype).eps)
    noise = tolerance * (sq_norms[:, None] + sq_norms[None, :])
    is_noise = tf.logical_and(d <= noise, d < float("inf"))  # an overflow is not noise
    return tf.where(is_noise, tf.zeros_like(d), d)


def _squared_l2(x: tf.Tensor) -> tf.Tensor:
    """``||x_i - x_j||^2`` from the Gram matrix, noise set to 0 (diagonal not yet zeroed)."""
    gram = tf.matmul(x, x, transpose_b=True)
    sq_norms = tf.linalg.diag_part(gram)
    d = sq_norms[:, None] - 2.0 * gram + sq_norms[None, :]
    return _zero_noise(d, sq_norms)


def _safe_sqrt(d_sq: tf.Tensor) -> tf.Tensor:
    """``sqrt`` whose gradient is 0 (not NaN) where the input is exactly 0."""
    is_zero = tf.equal(d_sq, 0.0)
    root = tf.sqrt(tf.where(is_zero, tf.ones_like(d_sq), d_sq))
    return tf.where(is_zero, tf.zeros_like(d_sq), root)


def _angular(x: tf.Tensor) -> tf.Tensor:
    """``max(1 - u_i . u_j, 0)`` for the L2-normalised rows ``u_i``."""
    sq_norms = tf.reduce_sum(tf.square(x), axis=1, keepdims=True)
    unit = x / tf.sqrt(tf.maximum(sq_norms, _SQUARED_NORM_FLOOR))
    cosine = tf.matmul(unit, unit, transpose_b=True)
    return _zero_noise(1.0 - cosine, tf.linalg.diag_part(cosine))


def pairwise_distances(embeddings, distance: str = "squared_l2") -> tf.Tensor:
    """The ``(B, B)`` matrix of distances between the rows of ``embeddings``.

    Args:
        embeddings: ``(B, k)`` tensor (or array) of embeddings.
        distance: one of ``DISTANCES`` — ``"squared_l2"`` (default), ``"l2"`` or ``"angular"``.

    Returns:
        ``D`` of shape ``(B, B)`` in the dtype of ``embeddings`` (float32 for integer input):
        symmetric, non-negative, with an exactly zero diagonal, and with finite gradients even
        where two embeddings coincide.

    Raises:
        ValueError: unknown ``distance``, or ``embeddings`` not of rank 2.
    """
    check_distance(distance)
    x = check_embeddings(embeddings)
    out_dtype = x.dtype
    if out_dtype in _LOW_PRECISION:
        x = tf.cast(x, tf.float32)

    if distance == "angular":
        d = _angular(x)
    else:
        d = _squared_l2(x)
        if distance == "l2":
            d = _safe_sqrt(d)
    d = tf.linalg.set_diag(d, tf.zeros_like(tf.linalg.diag_part(d)))
    return tf.cast(d, out_dtype)
