"""helpers.openset: chapter 6's split, chance levels by enumeration, and train_seeds = train_embedding."""

import itertools
from types import SimpleNamespace

import keras
import numpy as np
import pytest

from helpers import models
from helpers.evaluation import retrieval_metrics
from helpers.losses import SemiHardTripletLoss
from helpers.openset import (chance_levels, leave_one_out_metrics, mean_over_groups, neighbour_order,
                             open_set, squared_distances, train_seeds)
from helpers.training import train_embedding


def enumerated_chance(labels):
    """Mean of each metric over every ordering of the other points, for every query."""
    labels = np.asarray(labels)
    totals = np.zeros(3)
    for q in range(len(labels)):
        others = np.delete(labels, q)
        r = int((others == labels[q]).sum())
        per_order = []
        for order in itertools.permutations(range(len(others))):
            hits = others[list(order)] == labels[q]
            precision = np.cumsum(hits) / np.arange(1, len(hits) + 1)
            per_order.append((hits[0], hits[:r].mean(), (precision[:r] * hits[:r]).sum() / r))
        totals += np.mean(per_order, axis=0)
    return totals / len(labels)


@pytest.mark.parametrize("labels", [[0, 0, 1, 1, 1], [0, 0, 0, 1, 1, 2, 2], [3, 3, 5, 5, 5, 5]])
def test_chance_levels_equal_the_average_over_every_ranking(labels):
    got = chance_levels(labels)
    assert list(got) == ["precision_at_1", "r_precision", "map_at_r"]
    assert list(got.values()) == pytest.approx(enumerated_chance(labels).tolist(), abs=1e-12)


def test_chance_levels_refuse_too_few_points():
    with pytest.raises(ValueError, match="three"):
        chance_levels([0, 0])


def fake_data(seed=0, per_class=12):
    rng = np.random.default_rng(seed)
    y_train, y_test = np.repeat(np.arange(10), per_class), np.repeat(np.arange(10), per_class // 2)
    return SimpleNamespace(x_train=rng.random((len(y_train), 28, 28, 1), dtype=np.float32), y_train=y_train,
                           x_test=rng.random((len(y_test), 28, 28, 1), dtype=np.float32), y_test=y_test)


def test_open_set_keeps_the_unseen_classes_out_of_training_and_groups_the_seen_ones():
    data = fake_data()
    split = open_set(data)
    assert split.seen.tolist() == list(range(7)) and split.unseen.tolist() == [7, 8, 9]
    assert not np.isin(split.y_train, [7, 8, 9]).any() and len(split.y_train) == 7 * 12
    assert len(split.groups) == 35 and all(len(g) == 3 for g in split.groups)
    assert np.array_equal(split.y_test[split.unseen_at], np.repeat([7, 8, 9], 6))
    assert all(sorted(np.unique(split.y_test[at]).tolist()) == g for g, at in zip(split.groups, split.group_at))
    chance = split.chance()
    assert chance["seen"] == pytest.approx(chance["unseen"])  # same class and image counts
    assert chance["unseen"] == chance_levels(np.repeat([7, 8, 9], 6))
    with pytest.raises(ValueError, match="group_size"):
        open_set(data, group_size=8)


def test_score_is_retrieval_metrics_on_the_unseen_and_the_mean_over_the_seen_groups():
    data = fake_data(1)
    split = open_set(data, unseen=(8, 9), group_size=2)
    emb = np.random.default_rng(2).normal(size=(len(data.y_test), 5)) + data.y_test[:, None] * 0.3
    unseen, seen = split.score(emb)
    direct = retrieval_metrics(emb[split.unseen_at], data.y_test[split.unseen_at])
    assert unseen == pytest.approx({k: direct[k] for k in unseen}, abs=1e-12)
    assert len(split.groups) == 28
    assert seen == pytest.approx(mean_over_groups([retrieval_metrics(emb[g], data.y_test[g])
                                                   for g in split.group_at]), abs=1e-12)


@pytest.mark.parametrize("seed", range(4))
def test_leave_one_out_metrics_from_distances_equal_retrieval_metrics(seed):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, 5, size=60)
    labels[0] = 9  # a class with one member: left out of R-precision and MAP@R
    emb = rng.normal(size=(60, 4)) + labels[:, None] * rng.uniform(0, 0.5)
    distances = squared_distances(emb)
    assert distances == pytest.approx(((emb[:, None] - emb[None]) ** 2).sum(-1), abs=1e-9)
    order = neighbour_order(emb)
    assert (order[:, -1] == np.arange(60)).all()  # each point itself last
    some = rng.random(60) < 0.6
    for at in (None, some, np.flatnonzero(some)):
        pick = np.arange(60) if at is None else at
        want = retrieval_metrics(emb[pick], labels[pick])
        got = leave_one_out_metrics(order, labels, at)
        assert got == pytest.approx({k: want[k] for k in got}, abs=1e-12)
    with pytest.raises(ValueError, match="two points"):
        leave_one_out_metrics(order, labels, [3])


@pytest.mark.parametrize("classifier", [False, True], ids=["metric", "classifier"])
def test_each_seed_trains_exactly_what_train_embedding_trains(tiny, classifier):
    x, y = tiny
    recipe = dict(epochs=2, pk=(3, 8), learning_rate=1e-3, lr_schedule="cosine", augment={"shift": 2},
                  verbose=0)

    def build():
        features = models.build_mlp(8, l2_normalize=True, hidden=16)
        if not classifier:
            return features, features
        return keras.Sequential([features, models.CosineSoftmax(6, scale=8.0)], name="classifier"), features

    loss = (keras.losses.SparseCategoricalCrossentropy(from_logits=True) if classifier
            else SemiHardTripletLoss(margin=0.5))
    seeds = (0, 1) if classifier else (0, 1, 2)  # three: the shared fit switches seeds twice
    runs = train_seeds(build, (x, y), loss, seeds, x[:20], **recipe)
    assert [run.seed for run in runs] == list(seeds)
    for run in runs:
        keras.utils.set_random_seed(run.seed)
        model, features = build()
        alone = train_embedding(model, (x, y), loss=loss, seed=run.seed, **recipe)
        assert run.history["loss"] == alone.history["loss"]
        assert np.array_equal(run.embeddings, models.embed(features, x[:20]))
        assert run.recipe == alone.recipe
    assert runs[0].history["loss"] != runs[1].history["loss"]  # the seeds differ
    assert all(run.train_seconds > 0 and len(run.history["loss"]) == 2 for run in runs)


def test_train_seeds_refuses_what_it_sets_itself(tiny):
    with pytest.raises(ValueError, match="seed"):
        train_seeds(lambda: None, tiny, SemiHardTripletLoss(), (0,), tiny[0][:2], seed=3)
    with pytest.raises(ValueError, match="distinct"):
        train_seeds(lambda: None, tiny, SemiHardTripletLoss(), (0, 0), tiny[0][:2])
