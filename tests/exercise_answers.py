"""Right and wrong answers to every exercise, as zero-argument factories (used by test_exercises)."""

import numpy as np


# --- chapter 0 ---------------------------------------------------------------------------------
def _to_unit(raw):
    return (raw.astype(np.float32) / 255.0)[..., None]


def _pk(labels, p, k, rng):
    classes = rng.choice(np.unique(labels), size=p, replace=False)
    return np.concatenate([rng.choice(np.flatnonzero(labels == c), size=k, replace=False) for c in classes])


RIGHT = {
    "0.1": lambda: _to_unit,
    "0.2": lambda: _pk,
}

WRONG = {
    "0.1": [
        lambda: (lambda raw: raw.astype(np.float32) / 255.0),  # no channel axis
        lambda: (lambda raw: raw[..., None] / 255.0),  # float64
        lambda: (lambda raw: raw.astype(np.float32)[..., None]),  # not scaled
    ],
    "0.2": [
        lambda: (lambda labels, p, k, rng: np.arange(p * k)),  # not balanced
        lambda: (lambda labels, p, k, rng: np.concatenate(
            [np.flatnonzero(labels == c)[:k] for c in range(p)])),  # never random
        lambda: (lambda labels, p, k, rng: np.concatenate(
            [np.repeat(np.flatnonzero(labels == c)[0], k) for c in range(p)])),  # repeats an image
    ],
}


# --- chapter 6 ---------------------------------------------------------------------------------
def _p_at_1(emb, labels):
    d = np.linalg.norm(emb[:, None] - emb[None], axis=-1)
    np.fill_diagonal(d, np.inf)
    return float(np.mean(labels[d.argmin(axis=1)] == labels))


def _p_at_1_with_self(emb, labels):
    d = np.linalg.norm(emb[:, None] - emb[None], axis=-1)
    return float(np.mean(labels[d.argmin(axis=1)] == labels))


RIGHT.update({
    "6.1": lambda: (lambda labels, unseen: ~np.isin(labels, unseen)),
    "6.2": lambda: _p_at_1,
})
WRONG.update({
    "6.1": [
        lambda: (lambda labels, unseen: np.isin(labels, unseen)),  # inverted
        lambda: (lambda labels, unseen: (~np.isin(labels, unseen)).astype(int)),  # not boolean
        lambda: (lambda labels, unseen: labels < 7),  # hard-codes 7, 8, 9
    ],
    "6.2": [
        lambda: _p_at_1_with_self,  # counts the query as its own neighbour
        lambda: (lambda emb, labels: 0.5),
    ],
})


# --- chapters 1-3 ------------------------------------------------------------------------------
def _kind(d_ap, d_an, margin):
    if d_an <= d_ap:
        return "hard"
    return "semi-hard" if d_an < d_ap + margin else "easy"


def _kind_strict_hard(d_ap, d_an, margin):
    if d_an < d_ap:
        return "hard"
    return "semi-hard" if d_an < d_ap + margin else "easy"


def _kind_open_easy(d_ap, d_an, margin):
    if d_an <= d_ap:
        return "hard"
    return "semi-hard" if d_an <= d_ap + margin else "easy"


def _choice(d_ap, d_an, strict=True, fallback=True):
    d_an = np.asarray(d_an, dtype=float)
    if d_an.size == 0:
        return -1
    beyond = d_an > d_ap if strict else d_an >= d_ap
    if beyond.any():
        return int(np.argmin(np.where(beyond, d_an, np.inf)))
    return int(np.argmax(d_an)) if fallback else -1


def _sq_dist(x):
    x = np.asarray(x, dtype=float)
    return np.sum((x[:, None, :] - x[None, :, :]) ** 2, axis=-1)


def _scale(labels, x, margin, root=True, check_gap=True):
    d, y = _sq_dist(x), np.asarray(labels)
    need = 0.0
    for a in range(len(y)):
        neg = d[a][y != y[a]]
        for p in np.flatnonzero((y == y[a]) & (np.arange(len(y)) != a)):
            beyond = neg[neg > d[a, p]]
            chosen = beyond.min() if beyond.size else (neg.max() if neg.size else 0.0)
            if chosen - d[a, p] <= 0:
                if check_gap:
                    return np.inf
                continue
            need = max(need, margin / (chosen - d[a, p]))
    return float(np.sqrt(need) if root else need)


def _masks_np(labels):
    y = np.asarray(labels)
    same = y[:, None] == y[None, :]
    return same & ~np.eye(len(y), dtype=bool), ~same


def _batch_hard(labels, x, margin, plain=False, mean_positive=False):
    d = _sq_dist(x)
    d = np.sqrt(d) if plain else d
    positive, negative = _masks_np(labels)
    if mean_positive:
        hp = np.where(positive.any(1), (d * positive).sum(1) / np.maximum(positive.sum(1), 1), 0.0)
    else:
        hp = np.where(positive, d, 0.0).max(axis=1)
    hn = np.where(negative, d, d.max(axis=1, keepdims=True)).min(axis=1)
    return float(np.mean(np.maximum(margin + hp - hn, 0.0)))


def _batch_all(labels, x, margin, mean_over="active", allow_self=False):
    d = _sq_dist(x)
    positive, negative = _masks_np(labels)
    if allow_self:
        positive = positive | np.eye(len(d), dtype=bool)
    valid = positive[:, :, None] & negative[:, None, :]
    loss = np.where(valid, np.maximum(margin + d[:, :, None] - d[:, None, :], 0.0), 0.0)
    active = loss > 0
    count = active.sum() if mean_over == "active" else valid.sum()
    return float(loss.sum() / max(count, 1)), float(active.sum() / max(valid.sum(), 1))


def _split(y_pred, cast=lambda c: np.round(c).astype(np.int64), keep=slice(1, None)):
    y_pred = np.asarray(y_pred)
    return cast(y_pred[:, 0]), y_pred[:, keep]


RIGHT.update({
    "1.1": lambda: _kind,
    "1.2": lambda: _choice,
    "1.3": lambda: _scale,
    "2.1": lambda: _batch_hard,
    "2.2": lambda: _batch_all,
    "3.1": lambda: (lambda dtype: 2 ** (np.finfo(dtype).nmant + 1)),
    "3.2": lambda: _split,
})
WRONG.update({
    "1.1": [
        lambda: _kind_strict_hard,  # a negative exactly as far as the positive counted semi-hard
        lambda: _kind_open_easy,  # a negative exactly at d_ap + margin counted semi-hard
        lambda: (lambda d_ap, d_an, margin: "semi"),  # not one of the three names
    ],
    "1.2": [
        lambda: (lambda d_ap, d_an: _choice(d_ap, d_an, strict=False)),  # ties with the positive count as beyond
        lambda: (lambda d_ap, d_an: _choice(d_ap, d_an, fallback=False)),  # no fallback to the farthest
        lambda: (lambda d_ap, d_an: int(np.argmin(d_an)) if len(d_an) else -1),  # the hardest negative
    ],
    "1.3": [
        lambda: (lambda labels, x, margin: _scale(labels, x, margin, root=False)),  # c² instead of c
        lambda: (lambda labels, x, margin: _scale(labels, x, margin, check_gap=False)),  # never inf
        lambda: (lambda labels, x, margin: 1.0),
    ],
    "2.1": [
        lambda: (lambda labels, x, margin: _batch_hard(labels, x, margin, plain=True)),  # plain L2
        lambda: (lambda labels, x, margin: _batch_hard(labels, x, margin, mean_positive=True)),  # mean, not max
        lambda: (lambda labels, x, margin: float("nan")),
    ],
    "2.2": [
        lambda: (lambda labels, x, margin: _batch_all(labels, x, margin, mean_over="valid")),  # mean over all
        lambda: (lambda labels, x, margin: _batch_all(labels, x, margin, allow_self=True)),  # a == p allowed
        lambda: (lambda labels, x, margin: _batch_all(labels, x, margin)[0]),  # no fraction
    ],
    "3.1": [
        lambda: (lambda dtype: 2 ** np.finfo(dtype).nmant),  # forgets the implicit bit
        lambda: (lambda dtype: np.finfo(dtype).max),  # the largest float, not the largest exact integer
    ],
    "3.2": [
        lambda: (lambda y_pred: _split(y_pred, cast=lambda c: c.astype(np.int64))),  # truncates
        lambda: (lambda y_pred: _split(y_pred, cast=lambda c: np.round(c))),  # stays float
        lambda: (lambda y_pred: _split(y_pred, keep=slice(None))),  # keeps the label column
    ],
})


# --- chapters 4-5 ------------------------------------------------------------------------------
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


def _resume_epoch(names, numeric=True, strict=True):
    import re

    pattern = r"^epoch_(\d+)\.keras$" if strict else r"epoch_(\d+)\.(?:tmp\.)?keras"
    found = [m.group(1) for m in (re.search(pattern, n) for n in names) if m]
    if not found:
        return 0
    return max(int(f) for f in found) if numeric else int(max(found))


def _pca2(x, centre=True, take=slice(0, 2)):
    x = np.asarray(x, dtype=float)
    x = x - x.mean(axis=0) if centre else x
    _, _, vt = np.linalg.svd(x - np.asarray(x).mean(axis=0), full_matrices=False)
    return x @ vt[take].T


def _nn_mistakes(emb, labels, loo=True, right=False):
    d = np.sum((emb[:, None, :] - emb[None, :, :]) ** 2, axis=-1)
    if loo:
        np.fill_diagonal(d, np.inf)
    wrong = labels[np.argmin(d, axis=1)] != labels
    return np.flatnonzero(~wrong if right else wrong)


def _separation(emb, labels, flip=False, ties=0.5):
    d = np.sqrt(np.sum((emb[:, None, :] - emb[None, :, :]) ** 2, axis=-1))
    i, j = np.triu_indices(len(labels), k=1)
    same = labels[i] == labels[j]
    pos, neg = d[i, j][same][:, None], d[i, j][~same][None, :]
    value = float(np.mean(pos < neg) + ties * np.mean(pos == neg))
    return 1.0 - value if flip else value


RIGHT.update({
    "4.1": lambda: _map_at_r,
    "4.2": lambda: _resume_epoch,
    "5.1": lambda: _pca2,
    "5.2": lambda: _nn_mistakes,
    "5.3": lambda: _separation,
})
WRONG.update({
    "4.1": [
        lambda: (lambda emb, labels: _map_at_r(emb, labels, include_self=True)),  # the query finds itself
        lambda: (lambda emb, labels: _map_at_r(emb, labels, r_precision=True)),  # R-precision instead
        lambda: (lambda emb, labels: _map_at_r(emb, labels, keep_empty=True)),  # R = 0 counted as 0
    ],
    "4.2": [
        lambda: (lambda names: _resume_epoch(names, numeric=False)),  # '999' > '1000' as text
        lambda: (lambda names: _resume_epoch(names, strict=False)),  # counts temporary files
        lambda: (lambda names: len([n for n in names if n.endswith(".keras")])),  # counts files
    ],
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
})
