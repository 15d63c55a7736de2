"""Input pipelines and augmentation for training (introduced in chapter 4 "Training on MNIST").

``helpers.training.train_embedding`` reads its batches from here. Measured choices (two CPU
cores): the arrays are held in memory as two tensors and every batch is one ``tf.gather`` of
shuffled indices (no per-image slicing); the pipeline repeats forever and is prefetched, so the
next batch — and its augmentation — is prepared while the current one trains.

Augmentation (``random_affine``) moves each training image by its own random whole-pixel shift,
rotation and zoom, and optionally bends it (``elastic_warp``). On 4,000 training images it is
what lifts held-out precision@1 the most (see ``helpers.training.RECIPES``).
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf


def shuffled_batches(x, y, batch_size: int, *, seed: int = 0, concat: bool = False,
                     augment: dict | None = None, repeat: bool = False):
    """A prefetched ``tf.data`` pipeline of shuffled ``(images, labels)`` batches.

    The arrays are held as two tensors; each pass shuffles the indices and each batch gathers
    its rows in one op (the last batch of a pass may be smaller, as with ``fit`` on arrays).
    ``augment`` (e.g. ``{"shift": 2, "rotate": 10}``) moves every image at random, see
    ``random_affine``. ``repeat=True`` repeats the passes forever. ``concat=True``
    yields ``((images, labels), zeros)`` for the 2018 wiring.
    """
    xs, ys = tf.constant(x), tf.constant(y)
    n = len(y)
    ds = (tf.data.Dataset.range(n)
          .shuffle(n, seed=seed, reshuffle_each_iteration=True)
          .batch(batch_size))
    if repeat:
        ds = ds.repeat()
    ds = ds.map(lambda idx: (tf.gather(xs, idx), tf.gather(ys, idx)))
    return _finish_pipeline(ds, seed, concat, augment)


def _finish_pipeline(ds, seed, concat, augment):
    # Under a multi-worker strategy every worker reads the whole stream and keeps its share of
    # each global batch (there are no files to shard by); on one machine this changes nothing.
    options = tf.data.Options()
    options.experimental_distribute.auto_shard_policy = tf.data.experimental.AutoShardPolicy.DATA
    ds = ds.with_options(options)
    if augment:
        ds = ds.enumerate().map(lambda i, xy: (random_affine(xy[0], seed=(seed, i), **augment), xy[1]))
    if concat:
        ds = ds.map(_to_concat)
    return ds.prefetch(tf.data.AUTOTUNE)


def random_affine(images, *, shift: float = 0, rotate: float = 0.0, zoom: float = 0.0,
                  elastic: float = 0.0, seed=(0, 0)):
    """Move each image of a batch by its own random shift, rotation and zoom (zeros fill in).

    Shifts are whole pixels in ``[-shift, shift]``, rotations uniform in ``±rotate`` degrees,
    zoom factors in ``[1 - zoom, 1 + zoom]``, all about the image centre. Pure shifts copy
    pixels exactly; rotation or zoom interpolate bilinearly. ``elastic`` then bends each image
    by a smooth random displacement field of up to about that many pixels (``elastic_warp``).
    """
    n = tf.shape(images)[0]
    size = tf.cast(tf.shape(images)[1:3], tf.float32)
    u = tf.random.stateless_uniform((n, 4), seed=tf.cast(tf.stack(seed), tf.int64), minval=-1, maxval=1)
    s = int(shift)
    t = tf.random.stateless_uniform((n, 2), seed=tf.cast(tf.stack(seed), tf.int64) + 1,
                                    minval=-s, maxval=s + 1, dtype=tf.int32)
    t = tf.cast(t, tf.float32)
    angle = u[:, 0] * rotate * np.pi / 180.0
    scale = 1.0 + u[:, 1] * zoom
    cos, sin = tf.cos(angle) / scale, tf.sin(angle) / scale
    cx, cy = (size[1] - 1) / 2, (size[0] - 1) / 2
    # Output pixel p reads input pixel M (p - c - t) + c, M = rotation(-angle) / scale.
    px, py = cx + t[:, 0], cy + t[:, 1]
    transforms = tf.stack([cos, sin, cx - cos * px - sin * py,
                           -sin, cos, cy + sin * px - cos * py,
                           tf.zeros_like(cos), tf.zeros_like(cos)], axis=1)
    moved = tf.raw_ops.ImageProjectiveTransformV3(
        images=images, transforms=transforms, output_shape=tf.shape(images)[1:3], fill_value=0.0,
        interpolation="BILINEAR" if rotate or zoom else "NEAREST", fill_mode="CONSTANT")
    return elastic_warp(moved, elastic, tf.cast(tf.stack(seed), tf.int64) + 2) if elastic else moved


def elastic_warp(images, strength: float, seed, *, grid: int = 4):
    """Bend each image by its own smooth random displacement field (bilinear resampling).

    The field is drawn on a ``grid`` × ``grid`` lattice, uniform in ``±strength`` pixels, and
    upsampled bilinearly to the image size, so neighbouring pixels move together.
    """
    n, h, w = tf.shape(images)[0], tf.shape(images)[1], tf.shape(images)[2]
    coarse = tf.random.stateless_uniform((n, grid, grid, 2), seed=seed, minval=-strength, maxval=strength)
    field = tf.image.resize(coarse, (h, w), method="bilinear")  # (n, h, w, 2): dy, dx
    ys, xs = tf.meshgrid(tf.range(h, dtype=tf.float32), tf.range(w, dtype=tf.float32), indexing="ij")
    y = ys[None] + field[..., 0]
    x = xs[None] + field[..., 1]
    y0, x0 = tf.floor(y), tf.floor(x)
    wy, wx = (y - y0)[..., None], (x - x0)[..., None]
    batch = tf.broadcast_to(tf.range(n)[:, None, None], tf.shape(y0))

    def pixel(yy, xx):  # zero outside the image
        inside = (yy >= 0) & (yy <= tf.cast(h - 1, tf.float32)) & (xx >= 0) & (xx <= tf.cast(w - 1, tf.float32))
        idx = tf.stack([batch, tf.clip_by_value(tf.cast(yy, tf.int32), 0, h - 1),
                        tf.clip_by_value(tf.cast(xx, tf.int32), 0, w - 1)], axis=-1)
        return tf.gather_nd(images, idx) * tf.cast(inside, images.dtype)[..., None]

    top = pixel(y0, x0) * (1 - wx) + pixel(y0, x0 + 1) * wx
    bottom = pixel(y0 + 1, x0) * (1 - wx) + pixel(y0 + 1, x0 + 1) * wx
    return top * (1 - wy) + bottom * wy


def _to_concat(images, labels):
    return (images, labels[:, None]), tf.zeros_like(labels, dtype=tf.float32)[:, None]


def training_batches(x, y, batch_size: int, *, pk=None, seed: int = 0, concat: bool = False,
                     augment: dict | None = None):
    """An endless pipeline for ``fit`` and its steps per epoch (one pass over the data).

    ``pk=None``: shuffled batches of ``batch_size`` (``shuffled_batches``); ``pk=(P, K)``:
    class-balanced batches from ``helpers.data.pk_dataset``, ``len(y) // (P * K)`` per epoch.
    """
    if pk is None:
        steps = -(-len(y) // batch_size)
        return shuffled_batches(x, y, batch_size, seed=seed, concat=concat, augment=augment,
                                repeat=True), steps
    from helpers.data import pk_dataset

    steps = max(len(y) // batch_size, 1)
    ds = pk_dataset(x, y, int(pk[0]), int(pk[1]), seed=seed, endless=True)
    return _finish_pipeline(ds, seed, concat, augment), steps
