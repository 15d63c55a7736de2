"""Pairwise and supervised contrastive losses (chapter 7 — beyond the semi-hard triplet).

Same notation and conventions as :mod:`helpers.losses`: a batch of ``B`` embeddings ``x_i`` with
labels ``y_i``; ``d(i, j)`` from :func:`helpers.distances.pairwise_distances`;
``[v]_+ = max(v, 0)``.

* :func:`contrastive_loss` — Hadsell, Chopra & LeCun (2006). Over the unordered pairs ``i < j``,
  a *positive* pair (``y_i == y_j``) costs ``d(i, j)^2`` and a *negative* pair costs
  ``[margin - d(i, j)]_+^2``; the loss is the mean of the positive costs plus the mean of the
  negative costs (a mean over no pair is ``0``). ``distance`` is ``"l2"`` (default) or
  ``"angular"``. ``"squared_l2"`` is refused: the loss squares the distance itself, and squaring
  a squared distance gives ``||x_i - x_j||^4``, which is not the loss of the paper.
* :func:`supcon_loss` — supervised contrastive loss of Khosla et al. (2020), the ``L_out`` form.
  With ``z_i = x_i / ||x_i||`` (a zero row stays zero), ``s_ij = z_i . z_j / temperature``,
  ``P(i) = {p != i : y_p == y_i}`` and ``A(i) = {a != i}``, an anchor with ``P(i)`` non-empty costs
  ``-(1/|P(i)|) sum_{p in P(i)} [s_ip - log sum_{a in A(i)} exp(s_ia)]``; the loss is the mean over
  those anchors (``0`` if there is none). The log-sum-exp subtracts each row's maximum, so
  ``temperature = 0.01`` neither overflows nor underflows. Rows are divided by their largest
  absolute entry before they are normalised, so that any finite embedding, however large or
  small, has an exact direction.

Edge cases follow the rules of :mod:`helpers.losses` (its module docstring): an empty batch gives
exactly ``0`` and zero gradients; a NaN or ``+-inf`` embedding (or, for the contrastive loss, a
distance that overflows) gives NaN; ``margin`` and ``temperature`` must be finite numbers ``> 0``
(``ValueError`` naming them); labels and embeddings of different lengths raise ``ValueError``, or
``InvalidArgumentError`` ("same batch size") at run time, before any op reads the batch; float16
and bfloat16 are computed in float32 and returned in their dtype, float64 in float64. The Keras
classes keep integer labels ``>= 2**24`` apart and check ``sample_weight`` as the triplet losses'
classes do. Gradients are finite where two embeddings coincide.
"""

from __future__ import annotations

import keras
import tensorflow as tf

from helpers._loss_inputs import _check_margin, _finish, _prepare, _scalar, _setup
from helpers.distances import check_distance
from helpers.losses import _TripletLossBase

__all__ = ["CONTRASTIVE_DISTANCES", "contrastive_loss", "supcon_loss", "ContrastiveLoss",
           "SupConLoss"]

CONTRASTIVE_DISTANCES = ("l2", "angular")


def _check_contrastive_distance(distance):
    check_distance(distance)
    if distance not in CONTRASTIVE_DISTANCES:
        raise ValueError(
            f"contrastive_loss takes distance 'l2' or 'angular', not {distance!r}: the loss "
            "squares the distance itself (d^2 for positive pairs, [margin - d]_+^2 for negative "
            "ones), so a squared L2 distance would be squared twice (||x_i - x_j||^4)"
        )
    return distance


def _check_temperature(temperature):
    """``temperature`` if it is a finite number ``> 0`` (or a symbolic tensor), else ``ValueError``
    naming it (the margin's rule, under the temperature's name)."""
    try:
        return _check_margin(temperature)
    except ValueError as error:
        shown = str(error).split("got margin=", 1)[-1]
        raise ValueError(f"temperature must be a finite number > 0; got temperature={shown}") \
            from None


def _pair_mean(values, mask):
    """Mean of ``values`` over the entries where ``mask`` holds; ``0`` for an empty mask."""
    mask = tf.cast(mask, values.dtype)
    return tf.reduce_sum(values * mask) / tf.maximum(tf.reduce_sum(mask), 1.0)


# ----------------------------------------------------------------------------- contrastive
def contrastive_loss(labels, embeddings, margin=1.0, distance="l2"):
    """Pairwise contrastive loss (see the module docstring).

    Args:
        labels: ``(B,)`` or ``(B, 1)`` class labels (int or float).
        embeddings: ``(B, k)`` embeddings.
        margin: how far apart negative pairs are pushed, a finite number ``> 0``.
        distance: ``"l2"`` (default) or ``"angular"``.

    Returns:
        A scalar in the dtype of ``embeddings``: ``0`` for an empty batch, NaN for a non-finite one.
    """
    _check_contrastive_distance(distance)
    d, positive, negative, finite, out_dtype = _setup(labels, embeddings, distance, margin)
    index = tf.range(tf.shape(d)[0])
    upper = index[:, None] < index[None, :]  # each unordered pair once, as (i, j) with i < j
    pull = _pair_mean(tf.square(d), tf.logical_and(positive, upper))
    push = _pair_mean(tf.square(tf.maximum(_scalar(margin, d.dtype) - d, 0.0)),
                      tf.logical_and(negative, upper))
    return _finish(pull + push, finite, out_dtype)


# ----------------------------------------------------------------------------- SupCon
def _unit_rows(x):
    """``x_i / ||x_i||`` (zero rows stay zero), exact for any finite row: each row is first divided
    by its largest absolute entry, so its squared norm neither overflows nor underflows."""
    scale = tf.reduce_max(tf.abs(x), axis=1, keepdims=True)
    scaled = x / tf.where(scale > 0.0, scale, tf.ones_like(scale))
    return tf.math.l2_normalize(scaled, axis=1, epsilon=1e-12)


def supcon_loss(labels, embeddings, temperature=0.1):
    """Supervised contrastive loss, ``L_out`` of Khosla et al. (see the module docstring).

    Args:
        labels: ``(B,)`` or ``(B, 1)`` class labels (int or float).
        embeddings: ``(B, k)`` embeddings, normalised inside.
        temperature: ``tau``, a finite number ``> 0``; similarities are divided by it.

    Returns:
        A scalar in the dtype of ``embeddings``: ``0`` for an empty batch or a batch in which no
        anchor has a positive, NaN for a non-finite one.
    """
    _check_temperature(temperature)
    y, x, out_dtype = _prepare(labels, embeddings)
    finite = tf.reduce_all(tf.math.is_finite(x))
    z = _unit_rows(x)
    logits = tf.matmul(z, z, transpose_b=True) / _scalar(temperature, x.dtype)
    others = tf.logical_not(tf.eye(tf.shape(y)[0], dtype=tf.bool))  # A(i): a != i
    positive = tf.logical_and(tf.equal(y[:, None], y[None, :]), others)  # P(i)
    # log sum_{a != i} exp(s_ia) = m_i + log sum_{a != i} exp(s_ia - m_i), m_i = max_{a != i} s_ia
    lowest = tf.reduce_min(logits)
    row_max = tf.stop_gradient(tf.reduce_max(tf.where(others, logits, lowest - 1.0), axis=1))
    shifted = tf.where(others, logits - row_max[:, None], tf.zeros_like(logits))
    total = tf.reduce_sum(tf.where(others, tf.exp(shifted), tf.zeros_like(logits)), axis=1)
    has_other = tf.reduce_any(others, axis=1)  # False only for B = 1: no denominator at all
    log_denominator = row_max + tf.math.log(tf.where(has_other, total, tf.ones_like(total)))
    n_positive = tf.reduce_sum(tf.cast(positive, x.dtype), axis=1)
    mean_positive_logit = (tf.reduce_sum(tf.where(positive, logits, tf.zeros_like(logits)), axis=1)
                           / tf.maximum(n_positive, 1.0))
    per_anchor = log_denominator - mean_positive_logit
    loss = _pair_mean(per_anchor, n_positive > 0)
    return _finish(loss, finite, out_dtype)


# ----------------------------------------------------------------------------- Keras classes
@keras.saving.register_keras_serializable(package="triplet_course")
class ContrastiveLoss(_TripletLossBase):
    """Keras loss for :func:`contrastive_loss`: ``y_true`` = labels, ``y_pred`` = embeddings.

    ``call`` returns the scalar batch loss; ``sample_weight`` (``>= 0``) only rescales it. Labels
    as in :class:`helpers.losses.SemiHardTripletLoss` (integers of any size stay distinct).
    """

    def __init__(self, margin=1.0, distance="l2", name="contrastive_loss", **kwargs):
        _check_contrastive_distance(distance)
        _check_margin(margin)
        super().__init__(name=name, **kwargs)
        self.margin, self.distance = float(margin), distance

    def call(self, y_true, y_pred):
        return contrastive_loss(y_true, y_pred, self.margin, self.distance)

    def get_config(self):
        config = super().get_config()
        config.update(margin=self.margin, distance=self.distance)
        return config


@keras.saving.register_keras_serializable(package="triplet_course")
class SupConLoss(_TripletLossBase):
    """Keras loss for :func:`supcon_loss`: ``y_true`` = labels, ``y_pred`` = embeddings.

    ``sample_weight`` and labels as in :class:`ContrastiveLoss`.
    """

    def __init__(self, temperature=0.1, name="supcon_loss", **kwargs):
        _check_temperature(temperature)
        super().__init__(name=name, **kwargs)
        self.temperature = float(temperature)

    def call(self, y_true, y_pred):
        return supcon_loss(y_true, y_pred, self.temperature)

    def get_config(self):
        config = super().get_config()
        config.update(temperature=self.temperature)
        return config
