"""The open-set protocol of chapter 6, and several seeds trained with one traced step (chapter 7
"Beyond the semi-hard triplet").

Chapter 6 trains on the digits 0–6 and retrieves the never-seen 7, 8 and 9; chapter 7 compares
seven objectives on that protocol. The pieces both need:

``OpenSet`` / ``open_set``
    the split: training images of the seen classes only; test queries of the unseen classes, and
    of the seen classes taken ``group_size`` at a time (every combination), so that seen and
    unseen retrieval compete among equally many classes.
``chance_levels``
    expected precision@1, R-precision and MAP@R of a random leave-one-out ranking.
``OpenSet.score``
    a representation's unseen metrics and its seen metrics averaged over the groups: 36 searches
    read from one ``neighbour_order`` of all test images (``leave_one_out_metrics`` gives the
    values of ``helpers.evaluation.retrieval_metrics`` without a nearest-neighbour index per
    search, about three times faster on the reader profile's 1,000 test images).
``train_seeds``
    train one objective once per seed. The first seed is ``helpers.training.train_embedding``
    itself; the later seeds continue on the *same* compiled model in one more ``fit``, each
    starting from the variables a fresh model built under its seed would have and from a zeroed
    optimizer, so TensorFlow traces the training step once per objective instead of once per run
    (and builds one input iterator for all the later seeds instead of one each). Each seed
    trains exactly what ``train_embedding`` trains for a model built right after
    ``keras.utils.set_random_seed(seed)`` (``tests/test_openset.py`` checks the loss histories and
    embeddings for equality); on two CPU cores the trace costs about as much as ten epochs of the
    MLP on 2,800 images, so this is what lets chapter 7 train 21 networks in its time budget.
"""

from __future__ import annotations

import itertools
import time
from dataclasses import dataclass, field

import numpy as np

from helpers.uncertainty import METRICS


def chance_levels(labels) -> dict:
    """Expected precision@1, R-precision and MAP@R of a random leave-one-out ranking of ``labels``.

    A query whose class has ``R`` other members among the ``M`` other points finds a same-class
    point at any rank with probability ``R / M`` (precision@1 and R-precision); the hit at rank
    ``i`` comes with ``1 + (i − 1)(R − 1)/(M − 1)`` hits up to it on average, which gives MAP@R
    ``(1/M) Σ_{i≤R} (1 + (i − 1)(R − 1)/(M − 1)) / i``. Averaged over the queries.
    """
    _, counts = np.unique(np.asarray(labels), return_counts=True)
    m = int(counts.sum()) - 1
    if m < 2:
        raise ValueError("chance levels need at least three points")
    totals, queries = np.zeros(3), 0
    for count in counts:  # every query of a class with `count` members has the same expectation
        r = count - 1
        i = np.arange(1, r + 1)
        totals += count * np.array([r / m, r / m, np.sum((1 + (i - 1) * (r - 1) / (m - 1)) / i) / m])
        queries += count
    return dict(zip(METRICS, (totals / queries).tolist()))


def mean_over_groups(metric_dicts) -> dict:
    """``{metric: mean}`` of the course's three metrics over several searches."""
    return {key: float(np.mean([m[key] for m in metric_dicts])) for key in METRICS}


@dataclass
class OpenSet:
    """Chapter 6's split of one data set (build it with :func:`open_set`)."""

    seen: np.ndarray  # the classes trained on
    unseen: np.ndarray  # the classes held out of training
    x_train: np.ndarray  # training images of the seen classes only
    y_train: np.ndarray
    x_test: np.ndarray  # every test image; the masks below pick the queries
    y_test: np.ndarray
    unseen_at: np.ndarray  # test images of the unseen classes
    groups: list = field(default_factory=list)  # each combination of `group_size` seen classes
    group_at: list = field(default_factory=list)  # the test images of each group

    def chance(self) -> dict:
        """``{"seen": ..., "unseen": ...}`` chance levels, the seen ones averaged over the groups."""
        return {"seen": mean_over_groups([chance_levels(self.y_test[g]) for g in self.group_at]),
                "unseen": chance_levels(self.y_test[self.unseen_at])}

    def score(self, embeddings) -> tuple[dict, dict]:
        """(unseen metrics, seen metrics averaged over the groups) of test-image ``embeddings``,
        every query searched leave-one-out among the other images of its search (Euclidean)."""
        order = neighbour_order(np.asarray(embeddings).reshape(len(self.y_test), -1))  # once for all
        unseen = leave_one_out_metrics(order, self.y_test, self.unseen_at)
        seen = mean_over_groups([leave_one_out_metrics(order, self.y_test, g) for g in self.group_at])
        return unseen, seen


def squared_distances(embeddings) -> np.ndarray:
    """``(N, N)`` squared Euclidean distances (float64; rounding below zero clipped)."""
    x = np.asarray(embeddings, dtype=np.float64)
    norms = np.einsum("ij,ij->i", x, x)
    return np.maximum(norms[:, None] + norms[None, :] - 2.0 * (x @ x.T), 0.0)


def neighbour_order(embeddings) -> np.ndarray:
    """``(N, N)`` indices: row ``i`` lists the other points by Euclidean distance from point ``i``,
    nearest first (ties in index order), and ``i`` itself last."""
    d = squared_distances(embeddings)
    np.fill_diagonal(d, np.inf)
    return np.argsort(d, axis=1, kind="stable")


def leave_one_out_metrics(order, labels, at=None) -> dict:
    """Precision@1, R-precision and MAP@R of a leave-one-out search among the points ``at`` (a
    mask or indices; default all), read from the full ``neighbour_order``: the values of
    ``helpers.evaluation.retrieval_metrics`` on those points (up to the order of exactly tied
    distances), without a search per subset. Queries whose class has no other member among them
    are left out of R-precision and MAP@R."""
    labels = np.asarray(labels)
    member = np.zeros(len(labels), dtype=bool)
    member[np.arange(len(labels)) if at is None else at] = True
    index = np.flatnonzero(member)
    n = len(index)
    if n < 2:
        raise ValueError("a leave-one-out search needs at least two points")
    rows = order[index]
    ranked = rows[member[rows]].reshape(n, n)[:, :-1]  # the subset's own order, the query dropped
    lab = labels[index]
    hits = labels[ranked] == lab[:, None]
    r = hits.sum(axis=1)  # other members of the query's class
    rank = np.arange(1, n)
    within = hits & (rank[None, :] <= r[:, None])
    matched, safe_r = r > 0, np.maximum(r, 1)
    precision = np.cumsum(hits, axis=1) / rank[None, :]

    def mean_over_matched(values):
        return float(values[matched].mean()) if matched.any() else float("nan")

    return {"precision_at_1": float(hits[:, 0].mean()),
            "r_precision": mean_over_matched(within.sum(axis=1) / safe_r),
            "map_at_r": mean_over_matched((precision * within).sum(axis=1) / safe_r)}


def open_set(data, unseen=(7, 8, 9), group_size: int | None = None) -> OpenSet:
    """Split an ``MnistData`` (or anything with ``x_train``, ``y_train``, ``x_test``, ``y_test``)
    into chapter 6's open set: train on the other classes' training images; query the test images
    of ``unseen``, and of the seen classes ``group_size`` at a time (default: as many as unseen)."""
    unseen = np.asarray(sorted(unseen))
    classes = np.unique(np.concatenate([data.y_train, data.y_test]))
    seen = np.setdiff1d(classes, unseen)
    group_size = len(unseen) if group_size is None else group_size
    if len(unseen) < 2 or not 2 <= group_size <= len(seen):
        raise ValueError(f"need at least two unseen classes and 2 ≤ group_size ≤ {len(seen)} seen "
                         f"classes; got unseen {unseen.tolist()}, group_size {group_size}")
    train = np.isin(data.y_train, seen)
    groups = [list(g) for g in itertools.combinations(seen.tolist(), group_size)]
    return OpenSet(seen=seen, unseen=unseen, x_train=data.x_train[train], y_train=data.y_train[train],
                   x_test=data.x_test, y_test=data.y_test, unseen_at=np.isin(data.y_test, unseen),
                   groups=groups, group_at=[np.isin(data.y_test, g) for g in groups])


@dataclass
class SeedRun:
    """One seed of :func:`train_seeds`: its recipe, loss history, seconds of training (as
    ``train_embedding`` counts them: its epochs only) and embeddings."""

    seed: int
    recipe: dict
    history: dict
    train_seconds: float
    embeddings: np.ndarray


def _seed_switcher(trained, starts, seeds, epochs, features, embed_images):
    """A callback for one ``fit`` that trains several seeds in turn, ``epochs`` each: at a seed's
    first epoch it loads that seed's starting variables and zeroes the optimizer (Adam's moments
    and its step count, which also restarts the schedule); after its last, it embeds."""
    import keras

    from helpers.models import embed

    class SeedSwitcher(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.done, self.seconds, self._start = [], [0.0] * len(seeds), 0.0

        def on_epoch_begin(self, epoch, logs=None):
            turn, step = divmod(epoch, epochs)
            if step == 0:
                keras.utils.set_random_seed(seeds[turn])  # as train_embedding does before fit
                for target, value in zip(trained.variables, starts[turn]):
                    target.assign(value)
                for variable in trained.optimizer.variables:
                    variable.assign(np.zeros(variable.shape, dtype=variable.dtype))
            self._start = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            turn, step = divmod(epoch, epochs)
            self.seconds[turn] += time.perf_counter() - self._start
            if step == epochs - 1:
                self.done.append(embed(features, embed_images))

    return SeedSwitcher()


def train_seeds(build, data, loss, seeds, embed_images, **recipe) -> list[SeedRun]:
    """Train one objective once per seed, tracing its training step once; embed after each.

    The first seed is ``train_embedding(model, data, loss=loss, seed=seed, **recipe)``; the later
    seeds share one ``fit`` on the same compiled model, over their own pipelines (those
    ``train_embedding`` would build) one after the other, each seed starting from the variables
    ``build()`` gives under that seed and from a zeroed optimizer.

    Args:
        build: ``build() -> (model, features)``: the model to train (e.g. a classifier) and the
            sub-network whose output is the embedding (the model itself for a metric loss). It is
            called right after ``keras.utils.set_random_seed(seed)`` for every seed.
        data: ``(images, labels)`` to train on.
        loss: the Keras loss, shared by the seeds.
        seeds: the seeds, e.g. ``(0, 1, 2)``.
        embed_images: images whose embeddings each seed's trained ``features`` return.
        recipe: the settings of ``helpers.training.train_embedding`` (``epochs``, ``pk``,
            ``learning_rate``, ``lr_schedule``, ``augment``, ...), except ``seed``, ``loss``,
            ``output_dir``, ``callbacks`` and ``wiring`` (labels as ``y_true`` only).

    Returns:
        A :class:`SeedRun` per seed; its ``recipe`` is ``train_embedding``'s record with the seed.
    """
    import keras

    from helpers.models import as_images, embed
    from helpers.pipeline import training_batches
    from helpers.training import train_embedding

    refused = {"seed", "loss", "output_dir", "wiring", "callbacks"} & set(recipe)
    if refused:
        raise ValueError(f"train_seeds sets {sorted(refused)} itself")
    if recipe.get("devices", 1) != 1:  # train_embedding would train a copy, not build()'s features
        raise ValueError("train_seeds trains on one device; call train_embedding(devices=N) per seed")
    seeds = [int(s) for s in seeds]
    if not seeds or len(set(seeds)) != len(seeds):
        raise ValueError(f"need distinct seeds, got {seeds}")
    images, labels = data
    keras.utils.set_random_seed(seeds[0])
    model, features = build()
    result = train_embedding(model, (images, labels), loss=loss, seed=seeds[0], **recipe)
    trained, first = result.trained_model, result.recipe
    runs = [SeedRun(seeds[0], first, result.history, result.train_seconds, embed(features, embed_images))]
    if len(seeds) == 1:
        return runs
    starts = []
    for seed in seeds[1:]:
        keras.utils.set_random_seed(seed)
        fresh = build()[0]
        if len(fresh.variables) != len(trained.variables):
            raise ValueError("build() must return the same architecture for every seed")
        starts.append([variable.numpy() for variable in fresh.variables])  # weights, dropout states
    classes = np.unique(np.asarray(labels).reshape(-1), return_inverse=True)[1].astype(np.int64)
    epochs, stream = first["epochs"], None
    for seed in seeds[1:]:
        dataset, steps = training_batches(as_images(images), classes, first["batch_size"],
                                          pk=first["pk"], seed=seed, augment=first["augment"])
        dataset = dataset.take(epochs * steps)
        stream = dataset if stream is None else stream.concatenate(dataset)
    switcher = _seed_switcher(trained, starts, seeds[1:], epochs, features, embed_images)
    losses = trained.fit(stream, epochs=epochs * (len(seeds) - 1), steps_per_epoch=steps, shuffle=False,
                         verbose=recipe.get("verbose", 1), callbacks=[switcher]).history["loss"]
    for turn, seed in enumerate(seeds[1:]):
        history = {"epoch": list(range(epochs)), "loss": losses[turn * epochs:(turn + 1) * epochs]}
        runs.append(SeedRun(seed, {**first, "seed": seed}, history, switcher.seconds[turn],
                            switcher.done[turn]))
    return runs
