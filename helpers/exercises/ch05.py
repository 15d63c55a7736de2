"""Exercises of chapter 5 — PCA and embedding analysis."""

from __future__ import annotations

import functools
import math

import numpy as np

from helpers.exercises import _answers, exercise


def _clusters(seed, n=60, dim=6, classes=4):
    rng = np.random.default_rng(seed)
    labels = rng.integers(0, classes, size=n)
    centres = rng.normal(size=(classes, dim)) * 2.0
    scale = np.linspace(3.0, 0.5, dim)  # distinct variances: a well-defined principal axis order
    return (centres[labels] + rng.normal(size=(n, dim)) * scale).astype(np.float64), labels


def _same_up_to_sign(a, b):
    """Equal column by column, each column up to a sign flip (a principal axis has no sign)."""
    return a.shape == b.shape and all(
        np.allclose(a[:, j], b[:, j], atol=1e-6) or np.allclose(a[:, j], -b[:, j], atol=1e-6)
        for j in range(a.shape[1]))


@exercise("5.1", "PCA to two dimensions by hand")
def pca_by_hand(fn):
    """``fn(x (N, D)) -> (N, 2)``: projections on the first two principal components."""
    if not callable(fn):
        return "pass a function fn(x) that returns the (N, 2) projections"
    for seed in range(3):
        x, _ = _clusters(seed)
        x = x + 5.0  # not centred: the answer must centre it
        got = np.asarray(fn(x.copy()), dtype=np.float64)
        if got.shape != (len(x), 2):
            return f"for x of shape {x.shape} the result should have shape ({len(x)}, 2), not {got.shape}"
        centred = x - x.mean(axis=0)
        _, _, vt = np.linalg.svd(centred, full_matrices=False)
        want = centred @ vt[:2].T
        if _same_up_to_sign(got, want):
            continue
        if _same_up_to_sign(got, x @ vt[:2].T):
            return "the projections are not centred: subtract the mean of every column before projecting"
        if _same_up_to_sign(got, want[:, ::-1]):
            return "the two columns are swapped: the first must be the direction of largest variance"
        least = centred @ vt[-2:].T
        if _same_up_to_sign(got, least) or _same_up_to_sign(got, least[:, ::-1]):
            return "those are the directions of *least* variance; PCA keeps the largest"
        return ("the projections differ from PCA's on a random test set (even allowing each axis "
                "to flip its sign); project the centred data on the directions of largest variance")
    return None


def _nn_wrong(emb, labels):
    d = ((emb[:, None, :] - emb[None, :, :]) ** 2).sum(-1)
    np.fill_diagonal(d, np.inf)
    return np.flatnonzero(labels[np.argmin(d, axis=1)] != labels)


@exercise("5.2", "queries whose nearest neighbour is wrong")
def nn_mistakes(fn):
    """``fn(embeddings, labels) -> indices`` of the leave-one-out nearest-neighbour mistakes."""
    if not callable(fn):
        return "pass a function fn(embeddings, labels) that returns an array of query indices"
    for seed in range(3):
        emb, labels = _clusters(seed, n=50, dim=3)
        emb = emb / 2.5  # overlapping clusters: some mistakes
        want = _nn_wrong(emb, labels)
        got = np.asarray(fn(emb.copy(), labels.copy())).reshape(-1)
        if got.dtype == bool:
            return "return the indices of the mistaken queries (e.g. with np.flatnonzero), not a mask"
        if not np.issubdtype(got.dtype, np.integer) and got.size:
            return f"return integer indices, not {got.dtype}"
        got = np.sort(got)
        if np.array_equal(got, want):
            continue
        if got.size == 0 and want.size:
            return ("no mistakes found where there are some — does every query find itself at "
                    "distance 0? Leave the query out of its own search")
        if np.array_equal(got, np.setdiff1d(np.arange(len(labels)), want)):
            return "those are the queries whose nearest neighbour is *right*; the exercise asks for the wrong ones"
        if np.unique(got).size != got.size:
            return "an index appears twice; return each mistaken query once"
        return f"on a random test set you found {got.size} mistakes where there are {want.size}; check the distance and the leave-one-out search"
    return None


def _pair_auc(emb, labels):
    d = np.sqrt(((emb[:, None, :] - emb[None, :, :]) ** 2).sum(-1))
    i, j = np.triu_indices(len(labels), k=1)
    same = labels[i] == labels[j]
    pos, neg = d[i, j][same], d[i, j][~same]
    closer = (pos[:, None] < neg[None, :]).mean()
    ties = (pos[:, None] == neg[None, :]).mean()
    return float(closer + 0.5 * ties), pos, neg


@exercise("5.3", "how well the two histograms separate")
def pair_separation(fn):
    """``fn(embeddings, labels) -> float``: P(a random positive pair is closer than a random negative pair)."""
    if not callable(fn):
        return "pass a function fn(embeddings, labels) that returns a probability (a float)"
    for seed in range(3):
        emb, labels = _clusters(seed, n=40, dim=3)
        emb = emb / 2.0
        want, pos, neg = _pair_auc(emb, labels)
        got = float(fn(emb.copy(), labels.copy()))
        if abs(got - want) < 1e-9:
            continue
        if abs(got - (1.0 - want)) < 1e-9:
            return "that is the chance that the positive pair is *farther*; flip the comparison"
        if not 0.0 <= got <= 1.0:
            return f"{got:g} is not a probability; count comparisons and divide by how many there are"
        # Counting every ordered pair (i, j) and (j, i), or the (i, i) pairs, changes the value.
        d = np.sqrt(((emb[:, None, :] - emb[None, :, :]) ** 2).sum(-1))
        same = labels[:, None] == labels[None, :]
        with_self = (d[same][:, None] < d[~same][None, :]).mean()
        if abs(got - with_self) < 1e-6:
            return "a point paired with itself (distance 0) is not a positive pair; use pairs i ≠ j"
        return ("not the value on a random test set: compare every positive pair with every negative "
                "pair (pairs i < j) and take the fraction where the positive one is closer")
    # Ties count half: points on a grid produce equal distances.
    grid = np.array([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0], [1.0, 1.0], [2.0, 0.0], [2.0, 1.0]])
    lab = np.array([0, 0, 1, 1, 0, 1])
    want, _, _ = _pair_auc(grid, lab)
    got = float(fn(grid.copy(), lab.copy()))
    if abs(got - want) > 1e-9:
        return ("right on random points but not when a positive and a negative pair are equally far: "
                "count such ties as one half")
    return None


@functools.lru_cache(maxsize=None)
def _width_ratio(small=1000, large=4000, p_at_1=0.95, rounds=2000, seed=0):
    """Measured: the width of a 95 % bootstrap interval of mean precision@1 over ``large`` queries,
    as a fraction of the width over ``small`` queries (each query right with probability p_at_1)."""
    rng = np.random.default_rng(seed)
    widths = []
    for n in (small, large):
        values = (rng.random(n) < p_at_1).astype(float)
        means = values[rng.integers(0, n, size=(rounds, n))].mean(axis=1)
        low, high = np.percentile(means, [2.5, 97.5])
        widths.append(high - low)
    return float(widths[1] / widths[0])


@exercise("5.4", "four times the queries", "predict",
          why="The bootstrap interval estimates the noise of a mean, whose standard error falls as "
              "1/√n: four times the queries halve the interval. Halving it again takes sixteen times.")
def more_queries(answer):
    """Prediction (a–d): the bootstrap interval's width with 4,000 queries instead of 1,000."""
    bins = [(0.35, "a"), (0.75, "b"), (1.5, "c"), (math.inf, "d")]
    return _answers.predicted(answer, _width_ratio(), bins, {
        "a": "the interval does narrow, but not in proportion to the queries: the noise of a mean of "
             "n values shrinks with a power of n — which power?",
        "b": "the noise of a mean of n values shrinks with a power of n — which power?",
        "c": "more queries do tell the mean more precisely: the resampled means spread less around "
             "it. By how much does the noise of a mean of n values shrink as n grows?",
        "d": "more queries give *more* information about the mean, not less: the resampled means "
             "spread less, never more",
    })


@exercise("5.5", "what a t-SNE map's score says", "concept",
          why="P@1 inside a 2-D map scores the map-making as much as the representation: t-SNE is "
              "built to keep each point's neighbours, whatever space it starts from. The evidence "
              "about the embedding is measured in the embedding's own space.")
def tsne_reading(answer):
    """Multiple choice (a–d) on reading P@1 inside t-SNE maps of raw pixels and of the embedding."""
    return _answers.choose(answer, "c", {
        "a": "in the full space the trained embedding beats raw pixels by far in MAP@R; a 2-D map "
             "cannot overturn a measurement made in the space the retrieval happens in",
        "b": "nothing is broken: t-SNE does on raw pixels exactly what it is built to do. Ask what "
             "it is designed to preserve, and what a P@1 inside its map then rewards",
        "d": "a linear map is not more truthful: two principal components hold only part of the "
             "variance (the panel titles say how much), so a PCA map hides structure too",
    })
