"""Exercises of chapter 4 — training on MNIST."""

from __future__ import annotations

import functools
import math

import numpy as np

from helpers.exercises import _answers, exercise


def _loo_ranking(emb, labels):
    """Each row's other points, nearest first (Euclidean), as a boolean 'same class' matrix."""
    d = ((emb[:, None, :] - emb[None, :, :]) ** 2).sum(-1)
    np.fill_diagonal(d, np.inf)
    order = np.argsort(d, axis=1, kind="stable")[:, :-1]
    return labels[order] == labels[:, None]


def _precision_scores(correct, r):
    """MAP@R and R-precision per query, from its ranked 'correct' row and R."""
    rank = np.arange(1, correct.size + 1)
    within = correct[:r]
    precision = np.cumsum(correct)[:r] / rank[:r]
    return (precision * within).sum() / r, within.sum() / r


def _reference(emb, labels, *, include_self=False, keep_empty=False, r_precision=False,
               divide_by_hits=False):
    """MAP@R (and look-alikes that catch common mistakes) by plain loops."""
    labels = np.asarray(labels)
    if include_self:
        d = ((emb[:, None, :] - emb[None, :, :]) ** 2).sum(-1)
        correct_all = labels[np.argsort(d, axis=1, kind="stable")] == labels[:, None]
    else:
        correct_all = _loo_ranking(emb, labels)
    scores = []
    for i, correct in enumerate(correct_all):
        r = int((labels == labels[i]).sum()) - 1
        if r == 0:
            if keep_empty:
                scores.append(0.0)
            continue
        ap, rp = _precision_scores(correct, r)
        if divide_by_hits:
            hits = correct[:r].sum()
            ap = ap * r / hits if hits else 0.0
        scores.append(rp if r_precision else ap)
    return float(np.mean(scores))


def _data(seed, n=40, dim=5, classes=4, singleton=True):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, classes, size=n)
    if singleton:
        labels[0] = classes  # a class with one member: R = 0 for that query
    centres = rng.normal(size=(classes + 1, dim)) * 1.5
    return (centres[labels] + rng.normal(size=(n, dim))).astype(np.float32), labels


@exercise("4.1", "MAP@R, leave-one-out")
def map_at_r(fn):
    """``fn(embeddings, labels) -> float``, checked on random clustered points."""
    if not callable(fn):
        return "pass a function fn(embeddings, labels) that returns MAP@R as a float"
    for seed in range(3):
        emb, labels = _data(seed)
        got = float(fn(emb.copy(), labels.copy()))
        want = _reference(emb, labels)
        if abs(got - want) < 1e-6:
            continue
        if abs(got - _reference(emb, labels, include_self=True)) < 1e-6:
            return "each query finds itself at distance 0; leave the query out of its own ranking"
        if abs(got - _reference(emb, labels, r_precision=True)) < 1e-6:
            return ("that is R-precision: MAP@R weighs each correct item by the precision at its "
                    "rank, P(i), and divides the sum by R")
        if abs(got - _reference(emb, labels, keep_empty=True)) < 1e-6:
            return "a query whose class has no other member (R = 0) must be left out of the mean"
        if abs(got - _reference(emb, labels, divide_by_hits=True)) < 1e-6:
            return ("divide each query's sum of P(i) by R, not by the number of correct items "
                    "found — missing items must cost")
        if got > want:
            return "your value is too high on a random test set; is every query compared with the R nearest *other* points?"
        return "your value is too low on a random test set; check R (the query's class size minus one) and the ranks (1-based)"
    return None


@functools.lru_cache(maxsize=None)
def _winners_optimism(recipes=6, trials=20_000, seed=0):
    """Measured: how far, in units of the noise's sd, the validation score of the recipe chosen
    on validation lies above its test score, when every recipe is equally good in truth."""
    rng = np.random.default_rng(seed)
    validation, test = rng.normal(size=(2, trials, recipes))
    winner = validation.argmax(axis=1)
    rows = np.arange(trials)
    return float(np.mean(validation[rows, winner] - test[rows, winner]))


@exercise("4.2", "the winner's validation score", "predict",
          why="The winner is the recipe whose validation noise happened to be the largest: the "
              "maximum of six draws of noise lies about 1.27 sd above their mean, and the test split "
              "does not share that luck. More candidates, more optimism — hence one look at the test split.")
def winners_curse(answer):
    """Prediction (a–d): the winner's validation score minus its test score, in units of the noise."""
    bins = [(0.03, "a"), (0.4, "b"), (3.0, "c"), (math.inf, "d")]
    return _answers.predicted(answer, _winners_optimism(), bins, {
        "a": "each score is unbiased on its own, but the winner is not a recipe picked at random: "
             "it is picked *because* its validation score came out highest — luck included",
        "b": "the winner's luck is not a small share of one draw of noise: it is the largest of six "
             "draws. How far above their mean does the largest of six standard normal draws lie?",
        "c": "the winner's luck is the largest of six draws of noise. How far above their mean does "
             "the largest of six standard normal draws lie, typically?",
        "d": "the six noises are not added up: the winner carries only its own draw of noise — "
             "the largest of six draws, not their sum",
    })
