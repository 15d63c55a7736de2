"""Solutions to chapter 4's exercises — training on MNIST."""

import numpy as np


def map_at_r(embeddings, labels):
    """MAP@R of leave-one-out retrieval with Euclidean distance (queries with R = 0 left out)."""
    x = np.asarray(embeddings, dtype=float)
    labels = np.asarray(labels)
    d = np.sum((x[:, None, :] - x[None, :, :]) ** 2, axis=-1)
    np.fill_diagonal(d, np.inf)  # the query is not in its own gallery
    scores = []
    for i in range(len(labels)):
        r = int(np.sum(labels == labels[i])) - 1
        if r == 0:
            continue
        nearest = np.argsort(d[i], kind="stable")[:r]
        correct = labels[nearest] == labels[i]
        precision_at_rank = np.cumsum(correct) / np.arange(1, r + 1)
        scores.append(np.sum(precision_at_rank * correct) / r)
    return float(np.mean(scores))


def winners_curse():
    """4.2: the winner's validation score lies about 1.3 sd of the noise above its test score.

    The winner is the recipe whose validation noise was the largest of six draws; the expected
    maximum of six standard normal draws is about 1.27. Its test noise is a fresh draw, mean 0.
    """
    return "c"


# --- wrong answers ------------------------------------------------------------------------------
def _map_at_r(emb, labels, include_self=False, r_precision=False, keep_empty=False):
    emb, labels = np.asarray(emb, dtype=float), np.asarray(labels)
    d = np.sum((emb[:, None, :] - emb[None, :, :]) ** 2, axis=-1)
    if not include_self:
        np.fill_diagonal(d, np.inf)
    scores = []
    for i in range(len(labels)):
        r = int(np.sum(labels == labels[i])) - 1
        if r == 0:
            if keep_empty:
                scores.append(0.0)
            continue
        correct = labels[np.argsort(d[i], kind="stable")[:r]] == labels[i]
        precision = np.cumsum(correct) / np.arange(1, r + 1)
        scores.append(correct.mean() if r_precision else float((precision * correct).sum() / r))
    return float(np.mean(scores))


RIGHT = {
    "4.1": lambda: map_at_r,
    "4.2": winners_curse,
}

WRONG = {
    "4.1": [
        lambda: (lambda emb, labels: _map_at_r(emb, labels, include_self=True)),  # the query finds itself
        lambda: (lambda emb, labels: _map_at_r(emb, labels, r_precision=True)),  # R-precision instead
        lambda: (lambda emb, labels: _map_at_r(emb, labels, keep_empty=True)),  # R = 0 counted as 0
    ],
    "4.2": [
        lambda: "a",  # "each score is unbiased, so the difference is too"
        lambda: "b",
        lambda: "d",  # "the noise of six recipes adds up"
    ],
}

EXPLAIN = {
    "4.1": "For each query, rank all *other* points by distance and take the R nearest, R being the "
           "number of other points of its class. MAP@R sums the precision at the rank of each "
           "correct item among them and divides by R — so a correct item counts more the earlier it "
           "comes, and a missing one costs. Queries with R = 0 have nothing to find and are left out.",
    "4.2": "Every recipe's validation score is its true quality plus noise; the winner is the one "
           "whose noise came out highest — with six equally good recipes, about 1.27 sd above "
           "average (measured by the chapter's simulation). Its test score carries fresh noise, "
           "mean 0, so the validation score flatters the winner by about 1.3 sd — more with more "
           "candidates. That is why the chapter chooses on validation and reports on test, once.",
}
