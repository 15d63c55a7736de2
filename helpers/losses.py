"""Triplet losses for a batch of labelled embeddings (chapter 2 — the local TF semi-hard loss).

Notation: a batch of ``B`` embeddings with labels ``y``, the distance matrix ``D`` of
:func:`helpers.distances.pairwise_distances`, ``d(a, b) = D[a, b]``. An ordered *positive pair*
is ``(a, p)`` with ``a != p`` and ``y_a == y_p``; a *negative* of ``a`` is any ``n`` with
``y_n != y_a``. ``[x]_+ = max(x, 0)``.

* :func:`semi_hard_triplet_loss` — FaceNet's semi-hard mining with TensorFlow's exact rule. For
  each positive pair, the chosen negative distance is

  - ``min { d(a, n) : d(a, n) > d(a, p) }`` over negatives (strictly farther than the positive);
  - if there is none, ``max d(a, n)`` over all negatives of ``a`` (the farthest one);
  - if ``a`` has no negative at all (a single-class batch), ``0``,

  and ``loss = mean over positive pairs of [margin + d(a, p) - chosen]_+``. In a single-class
  batch that is the mean of ``[margin + d(a, p)]_+`` — TensorFlow's value, kept on purpose. A batch
  without any positive pair gives ``0`` (TF Addons divides by zero and returns NaN there).
  ``method="tile"`` follows TensorFlow's original ``O(B^3)`` formulation; ``method="sort"``
  (default) gives the same values and gradients in ``O(B^2)`` memory.
* :func:`hard_triplet_loss` — batch-hard (hardest positive and negative per anchor).
* :func:`batch_all_triplet_loss` — every valid triplet; ``O(B^3)`` memory.

float16/bfloat16 embeddings are computed in float32 and the loss is returned in their dtype;
float64 is computed in float64. Negatives tied at the chosen distance share its gradient equally.

Edge cases, one rule for every function, method and Keras class (and :mod:`helpers.reference`):

* an empty batch (``B = 0``, any embedding size) gives exactly ``0`` and zero gradients;
* a NaN or ``+-inf`` in the embeddings, or a distance that overflows to ``inf``, gives NaN (also
  batch-all's fraction), eagerly and in a ``tf.function``: training stops at the first non-finite
  loss (the gradients of such a batch mean nothing);
* ``margin`` must be a finite number ``> 0`` (else ``ValueError`` naming it), checked even where
  unused (``soft=True``); a tensor margin is checked when its value is known while tracing;
* the Keras classes refuse a negative or NaN ``sample_weight`` (``InvalidArgumentError``, also in
  graph mode, without a host sync); Keras multiplies the scalar loss by the weights and reduces
  (by default: the loss times their mean);
* labels and embeddings of different lengths raise ``ValueError``, or ``InvalidArgumentError``
  ("same batch size") when the lengths are only known at run time.

Labels: ``(B,)`` or ``(B, 1)`` class indices (not one-hot), integer or float, compared exactly as
given. Keras 3's ``Loss.__call__`` casts ``y_true`` to float32 before ``call``, which merges
integers ``>= 2**24`` (``100000001 .. 100000004`` become one class); the Keras classes therefore
first replace labels by class indices below ``B``: integer labels of any size survive a direct
call, ``fit`` and ``evaluate`` (which hand integer targets to the loss unconverted). Float labels
at or past their dtype's exact-integer limit (``2**24`` in float32, ``2**11`` float16, ``2**8``
bfloat16, ``2**53`` float64), or NaN, may already have merged (e.g. float64 targets that Keras'
data adapter made float32): the classes refuse them (``InvalidArgumentError`` naming the limit), as
:class:`LabelConcatLoss` refuses labels that its float32 ``[label | embedding]`` cannot carry.

Several devices (chapter 7): under a ``tf.distribute`` strategy the Keras classes take
``mining="global"`` (default: every replica gathers the whole global batch, and the values and
gradients summed over the replicas are one device's) or ``"local"`` (each replica mines its own
shard); see :mod:`helpers.distributed`. Outside a strategy both are the one-device loss.
"""

from __future__ import annotations

import keras
import tensorflow as tf

from helpers._loss_inputs import (  # noqa: F401  (SEMI_HARD_METHODS is public here)
    SEMI_HARD_METHODS, _LOW_PRECISION, _check_float_labels, _check_margin, _check_method,
    _check_sample_weight, _finish, _label_vector, _mean_hinge, _scalar, _setup,
)
from helpers import distributed
from helpers.distances import check_distance

__all__ = [
    "SEMI_HARD_METHODS", "semi_hard_triplet_loss", "hard_triplet_loss", "batch_all_triplet_loss",
    "SemiHardTripletLoss", "HardTripletLoss", "BatchAllTripletLoss", "label_concat_adapter",
    "split_label_concat", "LabelConcatLoss",
]



# ----------------------------------------------------------------------------- semi-hard loss
def _semi_hard_tile(d, positive, negative, margin):
    """TensorFlow's ``O(B^3)`` formulation: one ``(B, B, B)`` tensor indexed ``[a, p, n]``."""
    b = tf.shape(d)[0]
    inf = tf.constant(float("inf"), d.dtype)
    d_an = tf.tile(d[:, None, :], [1, b, 1])  # [a, p, n] = d(a, n): D tiled B times
    d_ap = d[:, :, None]  # [a, p, 1] = d(a, p)
    beyond = tf.logical_and(tf.tile(negative[:, None, :], [1, b, 1]), d_an > d_ap)
    nearest_beyond = tf.reduce_min(tf.where(beyond, d_an, inf), axis=2)  # masked minimum
    has_beyond = tf.reduce_any(beyond, axis=2)
    farthest = tf.reduce_max(tf.where(negative, d, -inf), axis=1)  # masked maximum (fallback)
    farthest = tf.where(tf.reduce_any(negative, axis=1), farthest, tf.zeros_like(farthest))
    chosen = tf.where(has_beyond, nearest_beyond, farthest[:, None])
    return _mean_hinge(margin + d - chosen, positive)


def _positive_pairs_by_row(d, positive):
    """Positive-pair distances packed per anchor: ``(d_ap (B, M), valid (B, M))``, ``M`` = max
    number of positives of an anchor (about ``B / classes``). Row ``a`` holds ``d(a, p)`` for
    ``a``'s positives, then padding (``valid`` False)."""
    b = tf.shape(d)[0]
    pairs = tf.where(positive)  # (P, 2) [a, p], row-major
    counts = tf.reduce_sum(tf.cast(positive, tf.int64), axis=1)
    slot = tf.range(tf.shape(pairs, tf.int64)[0]) - tf.gather(tf.cumsum(counts, exclusive=True),
                                                                pairs[:, 0])
    width = tf.reduce_max(tf.concat([counts, [0]], axis=0))
    columns = tf.scatter_nd(tf.stack([pairs[:, 0], slot], axis=1), pairs[:, 1],
                            tf.stack([tf.cast(b, tf.int64), width]))
    valid = tf.range(width)[None, :] < counts[:, None]
    return tf.gather(d, columns, batch_dims=1), valid


def _search(sorted_rows, values, side):
    """``tf.searchsorted`` for 2-D tensors, also when the batch is empty (``tf.searchsorted``
    reshapes its inputs to ``[-1, n]``, ambiguous for ``n = 0``; the ops take them as they are)."""
    op = tf.raw_ops.UpperBound if side == "right" else tf.raw_ops.LowerBound
    return op(sorted_inputs=sorted_rows, values=values, out_type=tf.int32)


def _semi_hard_sort(d, positive, negative, margin):
    """The same loss in ``O(B^2)`` memory: sort each anchor's negative distances once.

    Row ``a`` of ``s`` holds ``a``'s negative distances in ascending order followed by ``+inf``.
    ``searchsorted(s[a], d(a, p), side="right")`` is the position of the first negative strictly
    farther than ``p``; when it is past the last negative, the last negative (the farthest) is
    taken instead. Only the ``(B, M)`` positive pairs are searched (``M`` ~ ``B / classes``).
    No gradient flows through the sort: the chosen distance is gathered from ``D`` itself, and
    its gradient is shared by all negatives at exactly that distance, as in the ``"tile"`` method.
    """
    b = tf.shape(d)[0]
    inf = tf.constant(float("inf"), d.dtype)
    top, order = tf.math.top_k(-tf.where(negative, tf.stop_gradient(d), inf), k=b)
    s = -top  # (B, B), ascending
    n_neg = tf.reduce_sum(tf.cast(negative, tf.int32), axis=1)[:, None]  # (B, 1)
    d_ap, valid = _positive_pairs_by_row(d, positive)  # (B, M)
    first_beyond = _search(s, tf.stop_gradient(d_ap), "right")
    has_beyond = first_beyond < n_neg
    last = tf.maximum(n_neg - 1, 0)
    target = tf.gather(s, tf.where(has_beyond, first_beyond, last), batch_dims=1)
    # s[a, lo:hi] is the run of negatives at exactly the chosen distance (ties). Beyond: the run
    # starts at first_beyond. Farthest: it ends at n_neg and starts where the row maximum does.
    hi = _search(s, target, "right")
    farthest_start = _search(s, tf.gather(s, last, batch_dims=1), "left")  # (B, 1): once per row
    lo = tf.where(has_beyond, first_beyond, farthest_start)
    chosen = _pick_tie_shared(d, order, lo, hi)
    chosen = tf.where(n_neg > 0, chosen, tf.zeros_like(chosen))  # no negative at all: 0
    return _mean_hinge(margin + d_ap - chosen, valid)


def _pick_tie_shared(d, order, lo, hi):
    """``d[a, order[a, lo]]`` with its gradient shared equally by columns ``order[a, lo:hi]``.

    Backward pass: put ``+g / (hi - lo)`` at sorted position ``lo`` and ``-g / (hi - lo)`` at
    ``hi``; a cumulative sum along the row spreads it over ``lo .. hi - 1``; ``order`` maps the
    sorted positions back to columns.
    """
    b = tf.shape(d)[0]
    rows = tf.broadcast_to(tf.range(b)[:, None], tf.shape(lo))
    columns = tf.gather(order, tf.minimum(lo, b - 1), batch_dims=1)

    @tf.custom_gradient
    def pick(dist):
        def grad(upstream):
            count = hi - lo
            share = upstream / tf.cast(tf.maximum(count, 1), upstream.dtype)
            share = tf.where(count > 0, share, tf.zeros_like(share))
            marks = tf.scatter_nd(tf.stack([rows, lo], -1), share, [b, b + 1])
            marks -= tf.scatter_nd(tf.stack([rows, hi], -1), share, [b, b + 1])
            per_position = tf.reshape(tf.cumsum(marks[:, :b], axis=1), [-1])
            flat_columns = tf.reshape(order + b * tf.range(b)[:, None], [-1])
            return tf.reshape(tf.math.unsorted_segment_sum(per_position, flat_columns, b * b),
                              [b, b])

        return tf.gather(dist, columns, batch_dims=1), grad

    return pick(d)


def semi_hard_triplet_loss(labels, embeddings, margin=1.0, distance="squared_l2", method="sort"):
    """Semi-hard triplet loss with TensorFlow's semantics (see the module docstring).

    Args:
        labels: ``(B,)`` or ``(B, 1)`` class labels (int or float).
        embeddings: ``(B, k)`` embeddings.
        margin: the margin ``alpha``, a finite number ``> 0``.
        distance: ``"squared_l2"`` (default, as TF 1.x), ``"l2"`` or ``"angular"``.
        method: ``"sort"`` (``O(B^2)`` memory, default) or ``"tile"`` (``O(B^3)``, for teaching).

    Returns:
        A scalar in the dtype of ``embeddings``: ``0`` for an empty batch, NaN for a non-finite one.
    """
    _check_method(method)
    d, positive, negative, finite, out_dtype = _setup(labels, embeddings, distance, margin)
    step = _semi_hard_tile if method == "tile" else _semi_hard_sort
    return _finish(step(d, positive, negative, _scalar(margin, d.dtype)), finite, out_dtype)


# ----------------------------------------------------------------------------- batch-hard / all
def hard_triplet_loss(labels, embeddings, margin=1.0, soft=False, distance="l2"):
    """Batch-hard triplet loss (TF Addons' conventions).

    Per anchor ``a``: ``hp = max_{p != a, y_p = y_a} d(a, p)`` (``0`` if ``a`` has no positive) and
    ``hn = min_n d(a, n)`` over negatives, where non-negative entries are first filled with the
    row maximum ``max_j d(a, j)`` (so an anchor without negatives gets that row maximum). The
    anchor's loss is ``[margin + hp - hn]_+``, or ``softplus(hp - hn)`` when ``soft=True``
    (``margin`` unused, but still checked); the result is the mean over all ``B`` anchors (``0``
    for ``B = 0``). Distance ``"l2"`` by default, as in TF Addons.
    """
    d, positive, negative, finite, out_dtype = _setup(labels, embeddings, distance, margin)
    hardest_positive = tf.reduce_max(tf.where(positive, d, tf.zeros_like(d)), axis=1)
    row_max = tf.reduce_max(d, axis=1, keepdims=True)
    hardest_negative = tf.reduce_min(tf.where(negative, d, row_max + tf.zeros_like(d)), axis=1)
    gap = hardest_positive - hardest_negative
    if soft:
        per_anchor = tf.nn.softplus(gap)
    else:
        per_anchor = tf.maximum(_scalar(margin, d.dtype) + gap, 0.0)
    anchors = tf.cast(tf.maximum(tf.shape(d)[0], 1), d.dtype)
    return _finish(tf.reduce_sum(per_anchor) / anchors, finite, out_dtype)


def batch_all_triplet_loss(labels, embeddings, margin=1.0, distance="squared_l2"):
    """Batch-all triplet loss; returns ``(loss, fraction_active)``.

    Over every valid triplet ``(a, p, n)`` (``a != p``, ``y_a = y_p != y_n``),
    ``l = [margin + d(a, p) - d(a, n)]_+``. ``loss`` is the mean of ``l`` over the *active*
    triplets (``l > 0``), ``0`` when there is none; ``fraction_active`` is
    ``#active / #valid`` (``0`` without valid triplets; both NaN for a non-finite batch). Builds a
    ``(B, B, B)`` tensor: ``O(B^3)`` time and memory (about 4 * B^3 bytes per float32 tensor).
    """
    d, positive, negative, finite, out_dtype = _setup(labels, embeddings, distance, margin)
    valid = tf.logical_and(positive[:, :, None], negative[:, None, :])  # [a, p, n]
    triplet = tf.maximum(_scalar(margin, d.dtype) + d[:, :, None] - d[:, None, :], 0.0)
    triplet = tf.where(valid, triplet, tf.zeros_like(triplet))
    n_active = tf.reduce_sum(tf.cast(triplet > 0, d.dtype))
    n_valid = tf.reduce_sum(tf.cast(valid, d.dtype))
    loss = tf.reduce_sum(triplet) / tf.maximum(n_active, 1.0)
    fraction = n_active / tf.maximum(n_valid, 1.0)
    return _finish(loss, finite, out_dtype), _finish(fraction, finite, out_dtype)


# ----------------------------------------------------------------------------- Keras classes
def _class_indices(labels):
    """``(B,)`` labels -> int32 class indices below ``B``: each label's first position among the
    sorted labels (equal labels, equal index). Not ``tf.unique``: XLA cannot bound its output."""
    if labels.dtype == tf.bool:
        labels = tf.cast(labels, tf.int32)
    return _search(tf.sort(labels)[None, :], labels[None, :], "left")[0]


class _TripletLossBase(keras.losses.Loss):
    """What the Keras classes share: ``sample_weight`` checked, labels kept exact (module
    docstring), and ``mining`` under a distribution strategy (``helpers.distributed``).
    ``call`` receives class indices (below ``B``) as ``y_true``."""

    _labels_in_y_true = True

    def __init__(self, *, mining="global", **kwargs):
        super().__init__(**kwargs)
        self.mining = distributed.check_mining(mining)

    def get_config(self):
        return {**super().get_config(), "mining": self.mining}

    def __call__(self, y_true, y_pred, sample_weight=None):
        context, replicas = distributed.replica_context()
        if replicas > 1 and self._labels_in_y_true:
            return self._replica_call(context, replicas, y_true, y_pred, sample_weight)
        y_pred = tf.convert_to_tensor(y_pred)
        if self._labels_in_y_true:
            labels = _check_float_labels(_label_vector(y_true, y_pred), "y_true")
            y_true = _class_indices(labels)  # exact in float32 for B < 2**24
        if sample_weight is not None:
            sample_weight = _check_sample_weight(sample_weight)
        return super().__call__(y_true, y_pred, sample_weight)

    def _replica_call(self, context, replicas, y_true, y_pred, sample_weight):
        """One replica's part of the loss (``helpers.distributed``): summed over the replicas,
        the values and the gradients are those of one device given the global batch
        (``mining="global"``), or the mean of the shards' losses (``"local"``)."""
        if self.reduction not in distributed.REDUCTIONS:
            raise ValueError(f"reduction={self.reduction!r} is not supported under a distribution "
                             "strategy: a triplet loss is one number per batch")
        y_pred = tf.convert_to_tensor(y_pred, dtype=self.dtype)
        labels = _check_float_labels(_label_vector(y_true, y_pred), "y_true")
        weights = None if sample_weight is None else tf.reshape(_check_sample_weight(sample_weight), [-1])
        with tf.name_scope(self.name):
            if self.mining == "local":
                value = distributed.weighted(self.call(_class_indices(labels), y_pred), weights,
                                             self.reduction)
                return value / tf.cast(replicas, value.dtype)
            labels, y_pred, weights = distributed.gather_batch(context, labels, y_pred, weights)
            value = distributed.weighted(self.call(_class_indices(labels), y_pred), weights,
                                         self.reduction)
            return distributed.share_of(value, replicas)


@keras.saving.register_keras_serializable(package="triplet_course")
class SemiHardTripletLoss(_TripletLossBase):
    """Keras loss for :func:`semi_hard_triplet_loss`: ``y_true`` = labels, ``y_pred`` = embeddings.

    ``call`` returns the scalar batch loss, which Keras' default reduction leaves unchanged.
    ``sample_weight`` (``>= 0``) only rescales it. Integer labels of any size stay distinct;
    float32 labels ``>= 2**24`` are refused; ``margin`` must be finite and ``> 0`` (see the
    module docstring). Under a ``tf.distribute`` strategy, ``mining="global"`` (default) mines
    over the whole global batch — the same loss and gradients as one device — and ``"local"``
    within each replica's shard (``helpers.distributed``); without one they are the same.
    """

    def __init__(self, margin=1.0, distance="squared_l2", method="sort",
                 name="semi_hard_triplet_loss", mining="global", **kwargs):
        check_distance(distance)
        _check_method(method)
        _check_margin(margin)
        super().__init__(name=name, mining=mining, **kwargs)
        self.margin, self.distance, self.method = float(margin), distance, method

    def call(self, y_true, y_pred):
        return semi_hard_triplet_loss(y_true, y_pred, self.margin, self.distance, self.method)

    def get_config(self):
        config = super().get_config()
        config.update(margin=self.margin, distance=self.distance, method=self.method)
        return config


@keras.saving.register_keras_serializable(package="triplet_course")
class HardTripletLoss(_TripletLossBase):
    """Keras loss for :func:`hard_triplet_loss`: ``y_true`` = labels, ``y_pred`` = embeddings.

    Labels, ``sample_weight``, ``mining`` and ``margin`` (checked even when ``soft=True`` ignores
    it) as in :class:`SemiHardTripletLoss`.
    """

    def __init__(self, margin=1.0, soft=False, distance="l2", name="hard_triplet_loss",
                 mining="global", **kwargs):
        check_distance(distance)
        _check_margin(margin)
        super().__init__(name=name, mining=mining, **kwargs)
        self.margin, self.soft, self.distance = float(margin), bool(soft), distance

    def call(self, y_true, y_pred):
        return hard_triplet_loss(y_true, y_pred, self.margin, self.soft, self.distance)

    def get_config(self):
        config = super().get_config()
        config.update(margin=self.margin, soft=self.soft, distance=self.distance)
        return config


@keras.saving.register_keras_serializable(package="triplet_course")
class BatchAllTripletLoss(_TripletLossBase):
    """Keras loss for :func:`batch_all_triplet_loss` (its ``loss``; the fraction of active
    triplets is not reported): ``y_true`` = labels, ``y_pred`` = embeddings. Labels,
    ``sample_weight``, ``mining`` and ``margin`` as in :class:`SemiHardTripletLoss`.
    """

    def __init__(self, margin=1.0, distance="squared_l2", name="batch_all_triplet_loss",
                 mining="global", **kwargs):
        check_distance(distance)
        _check_margin(margin)
        super().__init__(name=name, mining=mining, **kwargs)
        self.margin, self.distance = float(margin), distance

    def call(self, y_true, y_pred):
        return batch_all_triplet_loss(y_true, y_pred, self.margin, self.distance)[0]

    def get_config(self):
        config = super().get_config()
        config.update(margin=self.margin, distance=self.distance)
        return config


# ----------------------------------------------------------------------------- label-concat wiring
def split_label_concat(y_pred, strict=False):
    """Split ``[label | embedding]`` into ``(int64 labels (B,), embeddings (B, k))``.

    Column 0 carries the label as a float, exact for integers below ``2**24`` in float32
    (``2**11`` float16, ``2**8`` bfloat16, ``2**53`` float64); it is rounded and cast back. Past the
    limit distinct labels may have merged: ``strict=True`` (used by :class:`LabelConcatLoss` and
    :func:`label_concat_adapter`) then raises ``InvalidArgumentError`` naming it, also in graph
    mode; the default returns what the column holds (chapter 3 shows the merge that way).
    """
    y_pred = tf.convert_to_tensor(y_pred)
    if y_pred.shape.rank != 2 or (y_pred.shape[1] is not None and y_pred.shape[1] < 2):
        raise ValueError(
            f"y_pred must be [label | embedding] of shape (B, 1 + k) with k >= 1; "
            f"got shape {tuple(y_pred.shape)}"
        )
    column = y_pred[:, 0]
    if strict:
        column = _check_float_labels(column, "label column of [label | embedding]")
    if column.dtype in _LOW_PRECISION:
        column = tf.cast(column, tf.float32)
    return tf.cast(tf.round(column), tf.int64), y_pred[:, 1:]


def label_concat_adapter(loss_fn, **loss_kwargs):
    """Wrap ``loss_fn(labels, embeddings, **loss_kwargs)`` as ``loss(dummy_y_true, y_pred)``.

    The 2018 notebook's wiring (chapter 3): the model output ``y_pred = [label | embedding]``
    carries the labels and ``dummy_y_true`` is ignored. It was a workaround, not a necessity:
    Keras 2 checked target shapes only for its own losses, so labels as ``y_true`` would have
    reached a custom loss as well. Labels are split with ``split_label_concat(strict=True)``.
    """

    def loss(dummy_y_true, y_pred):
        del dummy_y_true
        labels, embeddings = split_label_concat(y_pred, strict=True)
        return loss_fn(labels, embeddings, **loss_kwargs)

    loss.__name__ = f"label_concat_{getattr(loss_fn, '__name__', 'loss')}"
    return loss


@keras.saving.register_keras_serializable(package="triplet_course")
class LabelConcatLoss(_TripletLossBase):
    """Keras loss applying ``loss`` (e.g. ``SemiHardTripletLoss()``) to ``y_pred = [label | emb]``.

    ``y_true`` is ignored. The labels travel in the float32 model output, so labels ``>= 2**24``
    raise ``InvalidArgumentError`` instead of merging (pass such labels as ``y_true`` to
    :class:`SemiHardTripletLoss`); ``sample_weight`` must be ``>= 0``. The inner loss is saved with
    ``keras.saving.serialize_keras_object``, so a model compiled with
    ``LabelConcatLoss(SemiHardTripletLoss())`` round-trips via ``.keras``.
    """

    _labels_in_y_true = False

    def __init__(self, loss, name="label_concat_loss", **kwargs):
        super().__init__(name=name, **kwargs)
        self.inner = loss

    def __call__(self, y_true, y_pred, sample_weight=None):
        if distributed.replica_context()[1] == 1:
            return super().__call__(y_true, y_pred, sample_weight)
        if not isinstance(self.inner, _TripletLossBase):  # it could not scale itself per replica
            raise ValueError("under a distribution strategy LabelConcatLoss needs one of the course's "
                             f"Keras losses inside, not {type(self.inner).__name__}")
        labels, embeddings = split_label_concat(y_pred, strict=True)
        return self.inner(labels, embeddings, sample_weight)  # mines as the inner loss says

    def call(self, y_true, y_pred):
        labels, embeddings = split_label_concat(y_pred, strict=True)
        return self.inner(labels, embeddings)

    def get_config(self):
        config = super().get_config()
        config["loss"] = keras.saving.serialize_keras_object(self.inner)
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config["loss"] = keras.saving.deserialize_keras_object(config["loss"])
        return cls(**config)
