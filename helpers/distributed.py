"""Training on more than one device with ``tf.distribute`` (chapter 7, "More than one device").

Under ``tf.distribute.MirroredStrategy`` every replica (one per device) runs the model on its own
shard of the global batch, and the gradients of all replicas are summed before the weights move.
A triplet loss computed per replica therefore mines only among the ``B / R`` embeddings of its
shard (*local* mining), and a scalar batch loss needs care: Keras divides per-example losses by
the number of replicas ``R`` before the gradients are summed, but leaves a loss that is already
one number per batch as it is — summed over ``R`` replicas, its gradient would be ``R`` times too
large. The course's Keras losses (``helpers.losses``, ``helpers.contrastive``) handle both.

*Global* mining (their default, ``mining="global"``): every replica gathers the labels and
embeddings of all replicas (``ReplicaContext.all_gather``) and computes the loss ``L`` of the
whole global batch, with the gradient flowing only into its own rows (the other replicas' rows
enter as constants). Each replica returns ``L / R`` whose gradient is that of ``L`` itself, so
that what ``tf.distribute`` sums — the returned values, the weight gradients — is exactly the
loss and the gradient of one device given the whole global batch.

*Local* mining (``mining="local"``): every replica computes the loss ``L_r`` of its shard and
returns ``L_r / R``: the sum over replicas is the mean of the shards' losses, as for Keras' own
losses. Cheaper on very large batches, but a shard sees fewer positives and negatives.

Outside a strategy (or with one replica) both are the one-device loss. ``use_cpu_devices(n)``
splits the host CPU into ``n`` logical devices, so that every machine can run and test
multi-device training; ``strategy_for(n)`` picks ``n`` GPUs when there are, else those devices.
``mining_counts`` counts, for the teaching section, how many semi-hard negatives each way of
mining can find in the same batch.

Several machines: with a ``TF_CONFIG`` cluster, ``strategy_for`` gives a
``MultiWorkerMirroredStrategy`` and the losses mine across every worker's replicas
(``tests/test_distributed.py`` runs two worker processes on 127.0.0.1). Keras 3.15's ``fit``,
however, fails under that strategy (tensorflow/tensorflow issue 72388), so ``train_embedding`` and
the CLI refuse a cluster with ``ClusterNotSupported`` rather than train wrongly.
"""

from __future__ import annotations

import numpy as np

MINING = ("global", "local")


def check_mining(mining: str) -> str:
    if mining not in MINING:
        raise ValueError(f"mining must be 'global' or 'local', got {mining!r}")
    return mining


# ----------------------------------------------------------------------------- devices
def _check_count(n, what: str) -> int:
    if not isinstance(n, (int, np.integer)) or isinstance(n, bool) or n < 1:
        raise ValueError(f"{what} must be a positive integer, got {n!r}")
    return n


def use_cpu_devices(n: int) -> list[str]:
    """Split the host CPU into ``n`` logical devices and return their names.

    TensorFlow fixes its devices when it first runs an op, so call this first (the CLI does).
    Calling it again with the same or a smaller ``n`` is harmless; asking for more devices than
    TensorFlow started with raises ``RuntimeError`` saying so.
    """
    import tensorflow as tf

    _check_count(n, "the number of devices")
    cpu = tf.config.list_physical_devices("CPU")[0]
    configured = tf.config.get_logical_device_configuration(cpu)
    if configured is None or len(configured) < n:
        try:
            tf.config.set_logical_device_configuration(
                cpu, [tf.config.LogicalDeviceConfiguration() for _ in range(n)])
        except RuntimeError:  # TensorFlow has started: its devices are fixed
            pass
    names = [d.name for d in tf.config.list_logical_devices("CPU")]
    if len(names) < n:
        raise RuntimeError(
            f"{n} CPU devices were asked for, but TensorFlow has already started with "
            f"{len(names)}; call helpers.distributed.use_cpu_devices({n}) before TensorFlow runs "
            "its first operation (at the top of the script or notebook; the CLI's --devices does it)")
    return names[:n]


def device_names(devices: int) -> list[str]:
    """The ``devices`` devices to train on: the first GPUs if the machine has that many, else
    logical CPU devices (``use_cpu_devices``, so call this before TensorFlow runs an op)."""
    import tensorflow as tf

    _check_count(devices, "devices")
    if len(tf.config.list_physical_devices("GPU")) >= devices:
        return [f"/gpu:{i}" for i in range(devices)]
    return use_cpu_devices(devices) if devices > 1 else ["/cpu:0"]


_STRATEGIES: dict = {}


def cluster() -> tuple[int, int]:
    """``(workers, this worker's index)`` from the ``TF_CONFIG`` environment variable that
    ``MultiWorkerMirroredStrategy`` reads (a ``chief`` counts as worker 0); ``(1, 0)`` without it."""
    import json
    import os

    raw = os.environ.get("TF_CONFIG", "").strip()
    if not raw:
        return 1, 0
    try:
        config = json.loads(raw)
        nodes = config["cluster"]
        chiefs, workers = len(nodes.get("chief", [])), len(nodes.get("worker", []))
        task = config["task"]
        index = int(task.get("index", 0)) + (chiefs if task["type"] == "worker" else 0)
    except (ValueError, KeyError, TypeError, AttributeError) as err:
        raise ValueError(f"TF_CONFIG is not a cluster description TensorFlow can use ({err!r}); "
                         'expected {"cluster": {"worker": ["host:port", ...]}, "task": '
                         '{"type": "worker", "index": 0}}') from None
    return chiefs + workers, index


class ClusterNotSupported(RuntimeError):
    """``train_embedding`` was asked to train on a cluster of several machines."""


#: Why ``train_embedding`` (and the CLI) refuse a cluster of several machines.
NO_MULTI_WORKER_FIT = (
    "TF_CONFIG describes several workers, but Keras 3.15's fit cannot train under "
    "MultiWorkerMirroredStrategy (its logs reduction fails: \"Invalid reduction dimension 0 for input "
    "with 0 dimensions\", tensorflow/tensorflow issue 72388); train on one machine with --devices N, "
    "or write your own loop: the course's losses mine across workers (helpers.distributed)")


def one_device_copy(model):
    """``model`` rebuilt outside any strategy with the same weights, for use on one device."""
    import keras

    copy = keras.models.clone_model(model)
    copy.set_weights(model.get_weights())
    return copy


def strategy_for(devices: int):
    """A ``MirroredStrategy`` over ``device_names(devices)``; ``None`` for one device. When
    ``TF_CONFIG`` describes several workers, a ``MultiWorkerMirroredStrategy`` over all of them
    instead (each worker uses its GPUs, or its CPU as one device), for a training loop of your
    own: Keras 3.15's ``fit`` cannot use it (``NO_MULTI_WORKER_FIT``).

    One strategy per set of devices and process, made once and then reused: TensorFlow numbers
    the collective operations (``all_gather``, the gradients' all-reduce) of every new strategy
    from the same starting key, and two strategies over different device sets that share a key
    fail ("joining a group with size 4, but that group has size 2"). Each set therefore gets its
    own range of keys (``_collective_key_base``, the class attribute TensorFlow reads for that).
    """
    import tensorflow as tf

    names = tuple(device_names(devices))
    if cluster()[0] > 1:
        if "multi-worker" not in _STRATEGIES:  # TensorFlow allows one per process
            _STRATEGIES["multi-worker"] = tf.distribute.MultiWorkerMirroredStrategy()
        return _STRATEGIES["multi-worker"]
    if devices == 1:
        return None
    if names not in _STRATEGIES:
        class Mirrored(tf.distribute.MirroredStrategy):
            _collective_key_base = 10_000 * len(_STRATEGIES)

        _STRATEGIES[names] = Mirrored(list(names))
    return _STRATEGIES[names]


def replica_context():
    """``(context, replicas)`` inside a replica of a strategy with more than one replica, else
    ``(None, 1)`` (no strategy, one replica, or the cross-replica context)."""
    import tensorflow as tf

    if not tf.distribute.has_strategy() or tf.distribute.in_cross_replica_context():
        return None, 1
    context = tf.distribute.get_replica_context()
    replicas = context.num_replicas_in_sync if context is not None else 1
    return (context, replicas) if replicas > 1 else (None, 1)


# ----------------------------------------------------------------------------- the global batch
def gather_batch(context, labels, embeddings, weights=None):
    """The global batch seen from one replica: ``(labels, embeddings, weights)`` of every replica,
    in replica order, with gradients flowing only into this replica's own embedding rows.

    The shards may differ in size (the last batch of a pass): each is padded to the largest
    before ``all_gather`` and the padding dropped afterwards.
    """
    import tensorflow as tf

    size = tf.shape(embeddings)[0]
    sizes = context.all_gather(tf.reshape(size, [1]), axis=0)  # (R,)
    width = tf.reduce_max(sizes)
    keep = tf.reshape(tf.range(width)[None, :] < sizes[:, None], [-1])  # real rows, replica order

    def gathered(values):  # (this replica's padded rows, every replica's, as constants)
        padded = tf.pad(values, [[0, width - size]] + [[0, 0]] * (values.shape.rank - 1))
        return padded, context.all_gather(tf.stop_gradient(padded), axis=0)

    own, everyone = gathered(embeddings)
    rows = tf.reshape(everyone, tf.concat([[-1, width], tf.shape(embeddings)[1:]], axis=0))
    mine = tf.equal(tf.range(tf.shape(rows)[0]), context.replica_id_in_sync_group)
    mine = tf.reshape(mine, [-1] + [1] * embeddings.shape.rank)
    rows = tf.where(mine, own[None], rows)  # this replica's rows stay differentiable
    flat = tf.reshape(rows, tf.concat([[-1], tf.shape(embeddings)[1:]], axis=0))
    global_embeddings = tf.boolean_mask(flat, keep)
    global_labels = tf.boolean_mask(gathered(labels)[1], keep)
    global_weights = None if weights is None else tf.boolean_mask(gathered(weights)[1], keep)
    return global_labels, global_embeddings, global_weights


def share_of(total, replicas: int):
    """``total / replicas`` whose gradient is that of ``total``: what one replica returns so that
    the values summed over replicas give ``total`` and the gradients summed give its gradient."""
    import tensorflow as tf

    @tf.custom_gradient
    def share(value):
        return value / tf.cast(replicas, value.dtype), lambda upstream: upstream

    return share(total)


REDUCTIONS = ("sum_over_batch_size", "mean", "mean_with_sample_weight", "sum")


def weighted(value, weights, reduction: str):
    """A scalar batch loss with Keras' sample-weight rule for a scalar: times the weights' mean
    (``sum_over_batch_size``, ``mean``), times their sum (``sum``), or unchanged
    (``mean_with_sample_weight``; ``0`` when the weights sum to 0)."""
    import tensorflow as tf

    if weights is None:
        return value
    w = tf.cast(tf.reshape(weights, [-1]), value.dtype)
    total = tf.reduce_sum(w)
    if reduction == "sum":
        return value * total
    if reduction == "mean_with_sample_weight":
        return tf.math.divide_no_nan(value * total, total)
    return value * tf.math.divide_no_nan(total, tf.cast(tf.size(w), value.dtype))


# ----------------------------------------------------------------------------- teaching
def per_replica_losses(loss, labels, embeddings, strategy) -> list[float]:
    """What each replica of ``strategy`` returns for ``loss`` when the batch ``(labels,
    embeddings)`` is cut into consecutive shards, one per replica, as ``tf.distribute`` cuts a
    global batch. Their sum is what Keras reports and what the summed gradients descend."""
    import tensorflow as tf

    shards = np.array_split(np.arange(len(labels)), strategy.num_replicas_in_sync)
    y, x = np.asarray(labels), np.asarray(embeddings, dtype=np.float32)
    values = lambda a: strategy.experimental_distribute_values_from_function(  # noqa: E731
        lambda ctx: tf.constant(a[shards[ctx.replica_id_in_sync_group]]))
    @tf.autograph.experimental.do_not_convert  # plain TensorFlow calls: nothing to convert
    def replica(yy, xx):
        return loss(yy, xx)

    out = tf.function(lambda yy, xx: strategy.run(replica, args=(yy, xx)))(values(y), values(x))
    return [float(v) for v in strategy.experimental_local_results(out)]


def mining_counts(labels, embeddings, margin: float = 1.0, distance: str = "squared_l2",
                  shards: int = 1) -> dict:
    """What semi-hard mining can find when the batch is cut into ``shards`` consecutive parts
    (the replicas' shards under local mining; ``shards=1`` is global mining).

    Returns the positive pairs ``(a, p)`` that share a shard, how many of them have a negative in
    FaceNet's semi-hard band (``d(a, p) < d(a, n) < d(a, p) + margin``) in their shard, and how
    many have a negative strictly farther than the positive (TensorFlow's rule then takes the
    nearest of those; otherwise it falls back to the farthest negative).
    """
    from helpers.reference import pairwise_distances

    y = np.asarray(labels).reshape(-1)
    d = pairwise_distances(embeddings, distance)
    if len(y) != len(d):
        raise ValueError(f"{len(y)} labels for {len(d)} embeddings")
    if not isinstance(shards, (int, np.integer)) or shards < 1:
        raise ValueError(f"shards must be a positive integer, got {shards!r}")
    counts = {"positive_pairs": 0, "with_semi_hard": 0, "with_beyond": 0}
    for part in np.array_split(np.arange(len(y)), shards):
        yy, dd = y[part], d[np.ix_(part, part)]
        same = yy[:, None] == yy[None, :]
        positive = same & ~np.eye(len(yy), dtype=bool)
        for a, p in zip(*np.nonzero(positive)):
            neg = dd[a][~same[a]]
            counts["positive_pairs"] += 1
            counts["with_beyond"] += int(np.any(neg > dd[a, p]))
            counts["with_semi_hard"] += int(np.any((neg > dd[a, p]) & (neg < dd[a, p] + margin)))
    return counts
