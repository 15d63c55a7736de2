"""Retrieval metrics and PCA for embeddings (introduced in chapter 5 "PCA and embedding analysis").

The metrics follow Musgrave, Belongie & Lim (2020), "A Metric Learning Reality Check". For a
query whose class has ``R`` members in the gallery (the query itself not counted):

``precision_at_1``
    Fraction of queries whose nearest gallery item has the query's label (1-NN accuracy).
``r_precision``
    Mean over queries of ``r / R``, ``r`` = correct items among the ``R`` nearest.
``map_at_r``
    Mean over queries of ``(1/R) Σ_{i≤R} P(i)·[item i is correct]``, ``P(i)`` = precision of the
    ``i`` nearest. Unlike R-precision it rewards putting the correct items first.
``knn_accuracy``
    Fraction of queries whose ``k`` nearest vote (majority) for the query's label. A tie goes to
    the tied class whose nearest member ranks first.

Without a gallery the query set is searched leave-one-out: each query is compared with all the
other points, never with itself (even when the set holds exact duplicates of it). Queries whose
class has no other member (``R = 0``) are left out of R-precision and MAP@R.
"""

from __future__ import annotations

import numpy as np
from sklearn.decomposition import PCA
from sklearn.neighbors import NearestNeighbors

#: Column names ``metrics_table`` shows for the metric keys.
METRIC_NAMES = {
    "precision_at_1": "P@1",
    "r_precision": "R-precision",
    "map_at_r": "MAP@R",
    "knn_accuracy": "kNN acc",
}


def _check_embeddings(emb, labels, what: str):
    emb = np.asarray(emb)
    labels = np.asarray(labels)
    if labels.ndim == 2 and labels.shape[1] == 1:
        labels = labels[:, 0]
    if emb.ndim != 2:
        raise ValueError(f"{what} embeddings must be 2-D (N, D), got shape {emb.shape}")
    if labels.ndim != 1:
        raise ValueError(f"{what} labels must be 1-D (N,), got shape {labels.shape}")
    if emb.shape[0] != labels.shape[0]:
        raise ValueError(f"{what}: {emb.shape[0]} embeddings but {labels.shape[0]} labels")
    if emb.shape[0] == 0 or emb.shape[1] == 0:
        raise ValueError(f"{what} embeddings are empty (shape {emb.shape})")
    if not np.issubdtype(emb.dtype, np.number):
        raise ValueError(f"{what} embeddings must be numeric, got dtype {emb.dtype}")
    if not np.isfinite(emb).all():
        bad = int((~np.isfinite(emb)).any(axis=1).sum())
        raise ValueError(f"{what} embeddings contain NaN or infinity ({bad} of {emb.shape[0]} rows)")
    return emb.astype(np.float64, copy=False), labels


#: Metrics ranked by squared L2 computed here (float64, ties broken by gallery order); others go
#: to scikit-learn. Same neighbours, about ten times faster for the course's 800–1,000 points.
_EUCLIDEAN = ("euclidean", "l2", "sqeuclidean")
_BLOCK = 512  # queries per block: (512, G) float64 distances at a time


def _euclidean_neighbours(query, gallery, n: int, leave_one_out: bool) -> np.ndarray:
    order = np.empty((len(query), n), dtype=np.int64)
    gallery_sq = np.einsum("ij,ij->i", gallery, gallery)
    for start in range(0, len(query), _BLOCK):
        q = query[start:start + _BLOCK]
        d = np.einsum("ij,ij->i", q, q)[:, None] + gallery_sq[None, :] - 2.0 * (q @ gallery.T)
        np.maximum(d, 0.0, out=d)
        if leave_one_out:  # never the query itself, whatever its duplicates
            rows = np.arange(len(q))
            d[rows, start + rows] = np.inf
        if n < d.shape[1]:
            # The n smallest (ties at the cut kept by gallery order), then sorted stably.
            keep = np.sort(np.argpartition(d, n - 1, axis=1)[:, :n], axis=1)
            cut = np.take_along_axis(d, keep, axis=1).max(axis=1, keepdims=True)
            below = d < cut
            tied = np.cumsum(d == cut, axis=1) <= n - below.sum(axis=1, keepdims=True)
            chosen = below | ((d == cut) & tied)
            keep = np.nonzero(chosen)[1].reshape(len(q), n)
        else:
            keep = np.broadcast_to(np.arange(d.shape[1]), d.shape)
        dist = np.take_along_axis(d, keep, axis=1)
        order[start:start + len(q)] = np.take_along_axis(keep, np.argsort(dist, axis=1, kind="stable"), axis=1)
    return order


def _neighbours(query, gallery, n: int, metric: str, leave_one_out: bool) -> np.ndarray:
    """Indices ``(Q, n)`` of each query's ``n`` nearest gallery items, nearest first."""
    if metric in _EUCLIDEAN:
        return _euclidean_neighbours(query, gallery, n, leave_one_out)
    index = NearestNeighbors(metric=metric, algorithm="brute").fit(gallery)
    if not leave_one_out:
        return index.kneighbors(query, n_neighbors=n, return_distance=False)
    idx = index.kneighbors(query, n_neighbors=n + 1, return_distance=False)
    drop = idx == np.arange(len(query))[:, None]
    # With > n exact duplicates the query itself may rank beyond n + 1: drop the last instead.
    drop[~drop.any(axis=1), -1] = True
    return idx[~drop].reshape(len(query), n)


def retrieval_metrics(query_emb, query_labels, gallery_emb=None, gallery_labels=None, *,
                      metric: str = "euclidean", k: int = 5, per_query: bool = False) -> dict:
    """Precision@1, R-precision, MAP@R and k-NN accuracy of retrieving by ``metric`` distance.

    Args:
        query_emb, query_labels: ``(Q, D)`` embeddings and ``(Q,)`` labels of the queries.
        gallery_emb, gallery_labels: the set searched; both ``None`` for leave-one-out search
            within the queries.
        metric: any distance scikit-learn's ``NearestNeighbors`` knows (``"euclidean"``,
            ``"cosine"``, ...). Squared L2 ranks exactly like ``"euclidean"``.
        k: neighbours voting for ``knn_accuracy``.
        per_query: also return ``"per_query"``: each query's own precision@1, R-precision and
            MAP@R (arrays of length Q, NaN for R-based values of queries with ``R = 0``), whose
            means are the metrics (``helpers.uncertainty.bootstrap`` resamples them).

    Returns:
        A dict with ``precision_at_1``, ``r_precision``, ``map_at_r``, ``knn_accuracy`` (floats),
        ``k``, ``num_queries``, ``num_gallery``, ``leave_one_out`` and ``queries_without_match``
        (how many queries had ``R = 0`` and were left out of the R-based metrics).
    """
    query, qlab = _check_embeddings(query_emb, query_labels, "query")
    if (gallery_emb is None) != (gallery_labels is None):
        raise ValueError("pass both gallery_emb and gallery_labels, or neither (leave-one-out)")
    leave_one_out = gallery_emb is None
    if leave_one_out:
        gallery, glab = query, qlab
    else:
        gallery, glab = _check_embeddings(gallery_emb, gallery_labels, "gallery")
        if gallery.shape[1] != query.shape[1]:
            raise ValueError(f"query embeddings have {query.shape[1]} dimensions, gallery ones "
                             f"{gallery.shape[1]}")
    available = len(glab) - int(leave_one_out)
    if available < 1:
        raise ValueError("leave-one-out search needs at least two points")
    if not 1 <= int(k) <= available:
        raise ValueError(f"k must lie in [1, {available}] (the searchable gallery size), got {k}")
    k = int(k)

    classes, gallery_counts = np.unique(glab, return_counts=True)
    pos = np.searchsorted(classes, qlab).clip(0, len(classes) - 1)
    r = np.where(classes[pos] == qlab, gallery_counts[pos], 0) - int(leave_one_out)
    n = int(min(max(r.max(), k), available))
    idx = _neighbours(query, gallery, n, metric, leave_one_out)
    correct = glab[idx] == qlab[:, None]  # (Q, n)

    has_match = r > 0
    rank = np.arange(1, n + 1)
    within_r = rank[None, :] <= r[:, None]
    hits_within_r = (correct & within_r).sum(axis=1)
    precision_at_i = np.cumsum(correct, axis=1) / rank[None, :]
    ap_sum = (precision_at_i * (correct & within_r)).sum(axis=1)
    safe_r = np.maximum(r, 1)

    # k-NN vote: each neighbour's class counted among the k; the most votes wins, a tie goes to
    # the tied class whose nearest member ranks first (the earliest position among the winners).
    votes = glab[idx[:, :k]]
    same = votes[:, :, None] == votes[:, None, :]  # (Q, k, k)
    count = same.sum(axis=2)
    first = np.argmax(same, axis=2)  # position of each vote's class's first occurrence
    best = count == count.max(axis=1, keepdims=True)
    winner = np.where(best & (first == np.arange(k)[None, :]), np.arange(k)[None, :], k).min(axis=1)
    predicted = votes[np.arange(len(qlab)), winner]

    def mean_over_matched(values):
        return float(values[has_match].mean()) if has_match.any() else float("nan")

    result = {
        "precision_at_1": float(correct[:, 0].mean()),
        "r_precision": mean_over_matched(hits_within_r / safe_r),
        "map_at_r": mean_over_matched(ap_sum / safe_r),
        "knn_accuracy": float((predicted == qlab).mean()),
        "k": k,
        "num_queries": int(len(qlab)),
        "num_gallery": int(len(glab)),
        "leave_one_out": bool(leave_one_out),
        "queries_without_match": int((~has_match).sum()),
    }
    if per_query:
        result["per_query"] = {
            "precision_at_1": correct[:, 0].astype(float),
            "r_precision": np.where(has_match, hits_within_r / safe_r, np.nan),
            "map_at_r": np.where(has_match, ap_sum / safe_r, np.nan),
        }
    return result


def nearest_neighbours(query_emb, gallery_emb=None, *, k: int = 5, metric: str = "euclidean"):
    """Indices ``(Q, k)`` of each query's ``k`` nearest gallery items, nearest first.

    Without a gallery the queries are searched leave-one-out (a query is never its own
    neighbour). For ``plot_neighbour_gallery``.
    """
    query, _ = _check_embeddings(query_emb, np.zeros(np.shape(query_emb)[:1]), "query")
    leave_one_out = gallery_emb is None
    gallery = query if leave_one_out else _check_embeddings(
        gallery_emb, np.zeros(np.shape(gallery_emb)[:1]), "gallery")[0]
    if gallery.shape[1] != query.shape[1]:
        raise ValueError(f"query embeddings have {query.shape[1]} dimensions, gallery ones "
                         f"{gallery.shape[1]}")
    available = len(gallery) - int(leave_one_out)
    if not 1 <= int(k) <= available:
        raise ValueError(f"k must lie in [1, {available}] (the searchable gallery size), got {k}")
    return _neighbours(query, gallery, int(k), metric, leave_one_out)


def pca_2d(embeddings, fit_on=None):
    """Project ``embeddings`` onto the first two principal components of ``fit_on``.

    Args:
        embeddings: ``(N, D)`` array to project.
        fit_on: ``(M, D)`` array to fit the PCA on (default: ``embeddings`` itself); fit on the
            training embeddings to show the test points in the training set's coordinates.

    Returns:
        ``(projections, pca)``: an ``(N, 2)`` array and the fitted ``sklearn`` PCA (its
        ``explained_variance_ratio_`` says how much of the picture the two axes show).
    """
    emb, _ = _check_embeddings(embeddings, np.zeros(np.shape(embeddings)[:1]), "PCA")
    fit, _ = (emb, None) if fit_on is None else _check_embeddings(
        fit_on, np.zeros(np.shape(fit_on)[:1]), "PCA fit_on")
    if fit.shape[1] != emb.shape[1]:
        raise ValueError(f"fit_on has {fit.shape[1]} dimensions, embeddings {emb.shape[1]}")
    if fit.shape[0] < 2 or fit.shape[1] < 2:
        raise ValueError(f"PCA to 2-D needs at least 2 points of at least 2 dimensions, "
                         f"got {fit.shape}")
    pca = PCA(n_components=2, random_state=0).fit(fit)
    return pca.transform(emb), pca


def metrics_table(rows: dict, columns=("precision_at_1", "r_precision", "map_at_r", "knn_accuracy"),
                  *, digits: int = 4) -> str:
    """A plain-text table: one row per ``name -> metrics dict``, one column per metric.

    Missing metrics show as ``-``. Example::

        print(metrics_table({"raw pixels": m0, "MLP": m1}))
    """
    if not rows:
        raise ValueError("metrics_table needs at least one row")
    header = ["model"] + [METRIC_NAMES.get(c, c) for c in columns]
    body = []
    for name, metrics in rows.items():
        cells = [str(name)]
        for column in columns:
            value = metrics.get(column)
            cells.append("-" if value is None else
                         f"{value:.{digits}f}" if isinstance(value, float) else str(value))
        body.append(cells)
    widths = [max(len(row[i]) for row in [header] + body) for i in range(len(header))]

    def line(cells):
        first = cells[0].ljust(widths[0])
        return "  ".join([first] + [c.rjust(w) for c, w in zip(cells[1:], widths[1:])])

    rule = "-" * len(line(header))
    return "\n".join([line(header), rule] + [line(row) for row in body])
