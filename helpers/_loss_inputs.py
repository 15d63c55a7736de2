"""Input checks and shared pieces of the triplet losses (``helpers.losses``; chapter 2).

Validation of labels, embeddings, margins and sample weights, the distance matrix and masks every
loss starts from, and the rules for edge cases the module docstring of ``helpers.losses`` states:
non-finite inputs give NaN, an empty batch gives 0, the margin is a finite number above 0.
"""

from __future__ import annotations

import math

import tensorflow as tf

from helpers.distances import check_distance, check_embeddings, pairwise_distances

SEMI_HARD_METHODS = ("sort", "tile")
_LOW_PRECISION = (tf.float16, tf.bfloat16)
# Significand bits: every integer of magnitude below 2**bits is exact in that float dtype.
_EXACT_INTEGER_BITS = {tf.float16: 11, tf.bfloat16: 8, tf.float32: 24, tf.float64: 53}


# ----------------------------------------------------------------------------- input handling
def _after(check, *tensors):
    """``tensors`` made to wait for the assertion op ``check``: in a ``tf.function`` an assertion
    surely runs, but not first — an op reading a bad input could fail before it with TensorFlow's
    raw error. (Eagerly ``check`` is ``None``: it has already raised or passed.)"""
    if check is None:
        return tensors
    with tf.control_dependencies([check]):
        return tuple(tf.identity(t) for t in tensors)


def _check_margin(margin):
    """Return ``margin`` if it is a finite number ``> 0`` (or a symbolic tensor), else raise."""
    value = tf.get_static_value(margin) if tf.is_tensor(margin) else margin
    if value is None and tf.is_tensor(margin):
        return margin  # a tf.function argument: its value is unknown while tracing
    try:
        number = math.nan if isinstance(value, (str, bytes)) else float(value)
    except (TypeError, ValueError):
        number = math.nan
    if not math.isfinite(number) or number <= 0.0:
        raise ValueError(f"margin must be a finite number > 0; got margin={value}")
    return margin


def _label_vector(labels, x):
    """``labels`` as a ``(B,)`` tensor; ``ValueError`` if their static shape does not fit ``x``."""
    y = tf.convert_to_tensor(labels)
    shape, rank = y.shape, y.shape.rank
    if rank is not None:
        if rank == 0 or rank > 2 or (rank == 2 and shape[1] is not None and shape[1] != 1):
            raise ValueError(
                f"labels must have shape (B,) or (B, 1) with class indices (not one-hot); got "
                f"labels shape {tuple(shape)} for embeddings shape {tuple(x.shape)}"
            )
        n_labels, n_embeddings = shape[0], x.shape[0] if x.shape.rank else None
        if n_labels is not None and n_embeddings is not None and n_labels != n_embeddings:
            raise ValueError(
                f"labels and embeddings disagree on the batch size: labels shape {tuple(shape)}, "
                f"embeddings shape {tuple(x.shape)}"
            )
    return tf.reshape(y, [-1])


def _prepare(labels, embeddings):
    """Validate inputs; return ``(labels (B,), embeddings in compute dtype, output dtype)``."""
    x = check_embeddings(embeddings)
    out_dtype = x.dtype
    if out_dtype in _LOW_PRECISION:
        x = tf.cast(x, tf.float32)
    y = _label_vector(labels, x)
    if y.shape[0] is None or x.shape[0] is None:  # only known when the graph runs
        check = tf.debugging.assert_equal(
            tf.shape(y)[0], tf.shape(x)[0],
            message="labels (flattened) and embeddings must have the same batch size",
        )
        y, x = _after(check, y, x)  # nothing reads y or x before the check has passed
    return y, x, out_dtype


def _setup(labels, embeddings, distance, margin):
    """Check the arguments; return distances ``D``, masks ``positive[a, p]`` (same label,
    ``a != p``) and ``negative[a, n]`` (different label), whether the batch is finite
    (embeddings and distances), and the output dtype."""
    check_distance(distance)
    _check_margin(margin)
    y, x, out_dtype = _prepare(labels, embeddings)
    d = pairwise_distances(x, distance)
    finite = tf.logical_and(tf.reduce_all(tf.math.is_finite(x)),
                            tf.reduce_all(tf.math.is_finite(d)))
    same = tf.equal(y[:, None], y[None, :])
    not_self = tf.logical_not(tf.eye(tf.shape(y)[0], dtype=tf.bool))
    return d, tf.logical_and(same, not_self), tf.logical_not(same), finite, out_dtype


def _finish(value, finite, out_dtype):
    """``value`` in ``out_dtype``, NaN for a batch with a non-finite embedding or distance."""
    return tf.cast(tf.where(finite, value, tf.constant(math.nan, value.dtype)), out_dtype)


def _check_method(method):
    if method not in SEMI_HARD_METHODS:
        raise ValueError(f"Unknown method {method!r}; valid methods are: sort, tile")


def _scalar(value, dtype):
    """``value`` as a ``dtype`` tensor (a Python float is not rounded through float32)."""
    return tf.cast(tf.convert_to_tensor(value, dtype_hint=dtype), dtype)


def _mean_hinge(values, mask):
    """Mean of ``[values]_+`` over the entries where ``mask`` holds; ``0`` for an empty mask."""
    mask = tf.cast(mask, values.dtype)
    total = tf.reduce_sum(tf.maximum(values, 0.0) * mask)
    return total / tf.maximum(tf.reduce_sum(mask), 1.0)


def _check_float_labels(y, where):
    """``y``, after an assertion that float labels are below their dtype's exact-integer limit."""
    bits = _EXACT_INTEGER_BITS.get(y.dtype)
    if bits is None:  # integers
        return y
    check = tf.debugging.assert_less(
        tf.abs(y), tf.cast(2.0**bits, y.dtype),
        message=f"{where}: {y.dtype.name} labels must be finite and below 2**{bits} = "
                f"{2**bits} in magnitude; beyond it {y.dtype.name} cannot hold consecutive "
                "integers, so distinct classes may already have merged. Pass integer "
                "(int32/int64) labels.")
    return _after(check, y)[0]


def _check_sample_weight(sample_weight):
    weight = tf.convert_to_tensor(sample_weight)
    check = tf.debugging.assert_non_negative(
        weight, message="sample_weight must be >= 0 (and not NaN) for a triplet loss")
    return _after(check, weight)[0]
