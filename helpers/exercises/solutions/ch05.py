"""Solutions to chapter 5's exercises — PCA and embedding analysis."""

import numpy as np


def pca2(x):
    """Projections of the rows of x on its first two principal components."""
    x = np.asarray(x, dtype=float)
    centred = x - x.mean(axis=0)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)  # rows of vt: directions, largest variance first
    return centred @ vt[:2].T


def nn_mistakes(embeddings, labels):
    """Indices of the queries whose nearest *other* point has another label."""
    x = np.asarray(embeddings, dtype=float)
    labels = np.asarray(labels)
    d = np.sum((x[:, None, :] - x[None, :, :]) ** 2, axis=-1)
    np.fill_diagonal(d, np.inf)
    nearest = np.argmin(d, axis=1)
    return np.flatnonzero(labels[nearest] != labels)


def separation(embeddings, labels):
    """P(a random positive pair is closer than a random negative pair), pairs i < j, ties half."""
    x = np.asarray(embeddings, dtype=float)
    labels = np.asarray(labels)
    d = np.sqrt(np.sum((x[:, None, :] - x[None, :, :]) ** 2, axis=-1))
    i, j = np.triu_indices(len(labels), k=1)
    same = labels[i] == labels[j]
    positive, negative = d[i, j][same], d[i, j][~same]
    closer = np.mean(positive[:, None] < negative[None, :])
    ties = np.mean(positive[:, None] == negative[None, :])
    return float(closer + 0.5 * ties)


def more_queries():
    """5.4: four times the queries halve the interval — the noise of a mean falls as 1/√n."""
    return "b"


def tsne_reading():
    """5.5: P@1 inside a t-SNE map rewards t-SNE's neighbourhood-keeping; judge in the full space."""
    return "c"


# --- wrong answers ------------------------------------------------------------------------------
def _pca2(x, centre=True, take=slice(0, 2)):
    x = np.asarray(x, dtype=float)
    _, _, vt = np.linalg.svd(x - x.mean(axis=0), full_matrices=False)
    return (x - x.mean(axis=0) if centre else x) @ vt[take].T


def _nn_mistakes(emb, labels, loo=True, right=False):
    d = np.sum((emb[:, None, :] - emb[None, :, :]) ** 2, axis=-1)
    if loo:
        np.fill_diagonal(d, np.inf)
    wrong = labels[np.argmin(d, axis=1)] != labels
    return np.flatnonzero(~wrong if right else wrong)


def _separation(emb, labels, flip=False, ties=0.5):
    value = separation(emb, labels)
    if ties != 0.5:
        d = np.sqrt(np.sum((emb[:, None, :] - emb[None, :, :]) ** 2, axis=-1))
        i, j = np.triu_indices(len(labels), k=1)
        same = labels[i] == labels[j]
        pos, neg = d[i, j][same][:, None], d[i, j][~same][None, :]
        value = float(np.mean(pos < neg) + ties * np.mean(pos == neg))
    return 1.0 - value if flip else value


RIGHT = {
    "5.1": lambda: pca2,
    "5.2": lambda: nn_mistakes,
    "5.3": lambda: separation,
    "5.4": more_queries,
    "5.5": tsne_reading,
}

WRONG = {
    "5.1": [
        lambda: (lambda x: _pca2(x, centre=False)),  # projections not centred
        lambda: (lambda x: _pca2(x, take=[1, 0])),  # columns swapped
        lambda: (lambda x: _pca2(x, take=slice(-2, None))),  # least variance
    ],
    "5.2": [
        lambda: (lambda emb, labels: _nn_mistakes(emb, labels, loo=False)),  # each query finds itself
        lambda: (lambda emb, labels: _nn_mistakes(emb, labels, right=True)),  # the right ones
        lambda: (lambda emb, labels: _nn_mistakes(emb, labels) != -1),  # a mask, not indices
    ],
    "5.3": [
        lambda: (lambda emb, labels: _separation(emb, labels, flip=True)),  # farther, not closer
        lambda: (lambda emb, labels: _separation(emb, labels, ties=0.0)),  # ties not counted half
        lambda: (lambda emb, labels: 2.0),  # not a probability
    ],
    "5.4": [
        lambda: "a",  # "four times the data, a quarter of the width"
        lambda: "c",  # "the bootstrap only re-uses the same queries"
        lambda: "d",
    ],
    "5.5": [
        lambda: "a",  # "so training adds little"
        lambda: "b",
        lambda: "d",  # "PCA is the honest picture"
    ],
}

EXPLAIN = {
    "5.1": "Centre every column, then project on the first two right singular vectors of the centred "
           "data (equivalently, the top eigenvectors of its covariance). A principal axis has no "
           "sign, so either sign is right; the order is by variance, largest first.",
    "5.2": "Leave-one-out: set each point's distance to itself to infinity before taking the "
           "nearest, or every query finds itself. Return the indices where the nearest label differs.",
    "5.3": "This is the area under the ROC curve of 'distance as a same-class detector': compare "
           "every positive pair (i < j) with every negative pair and count the fraction where the "
           "positive one is closer, ties as one half. 1.0 means the two histograms do not overlap.",
    "5.4": "The bootstrap measures the noise of a mean, and the standard error of a mean of n "
           "independent values is σ/√n: four times the queries give half the width (measured: "
           "about 0.5). To halve it again takes sixteen times the queries — which is why a test set "
           "of 1,000 images cannot separate recipes that differ by less than about 0.01 in P@1.",
    "5.5": "P@1 inside a 2-D map scores the representation *and* the method that drew the map. "
           "t-SNE is built to keep each point's nearest neighbours, so its maps score well even "
           "for raw pixels; PCA keeps only two directions of variance. Neither picture is evidence "
           "about the embedding: the retrieval metrics in its full space are.",
}
