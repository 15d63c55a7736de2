"""Exercises of chapter 4 — training on MNIST."""

from __future__ import annotations

import re

import numpy as np

from helpers.exercises import exercise


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


@exercise("4.2", "which checkpoint to resume from")
def resume_epoch(fn):
    """``fn(file_names) -> int``: the highest complete ``epoch_N.keras``, or 0."""
    if not callable(fn):
        return "pass a function fn(file_names) that returns an epoch number (an int)"
    cases = [
        (["epoch_003.keras", "epoch_004.keras", "state.json"], 4),
        (["state.json", "epoch_009.keras", "epoch_010.keras"], 10),
        ([], 0),
        (["state.json", "history.csv"], 0),
        (["epoch_007.keras", ".epoch_008.tmp.keras", "state.json"], 7),
        (["epoch_999.keras", "epoch_1000.keras"], 1000),
        (["epoch_012.keras.bak", "epoch_002.keras", "notes_epoch_050.keras"], 2),
    ]
    for names, want in cases:
        got = fn(list(names))
        if isinstance(got, (bool, np.bool_)) or not isinstance(got, (int, np.integer)):
            return f"return an int (the epoch), not {type(got).__name__}"
        if got == want:
            continue
        if not names or want == 0:
            return "when there is no checkpoint at all, training starts from epoch 0"
        if any(name.startswith(".") for name in names):
            return "a temporary file (a checkpoint still being written) is not a checkpoint: ignore it"
        if "epoch_1000.keras" in names:
            return "compare epoch numbers as numbers, not file names as strings: '1000' < '999' as text"
        if any("epoch_" in name and not re.fullmatch(r"epoch_\d+\.keras", name) for name in names):
            return "only names of the exact form epoch_N.keras are checkpoints; other files must be ignored"
        return f"for {names} the answer is not {got}: take the highest N among the checkpoints"
    return None
