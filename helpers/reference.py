"""Brute-force NumPy versions of the course's losses (chapter 2 — the local TF semi-hard loss; the
pairwise and supervised contrastive losses of :mod:`helpers.contrastive`, chapter 7).

These are plain Python loops written straight from the definitions, in float64, slow on purpose:
they are what the chapters print next to the TensorFlow code, and what the tests compare it with.
Same notation as :mod:`helpers.losses`: ``d(a, b)`` distance, ``(a, p)`` an ordered positive pair
(``a != p``, same label), ``n`` a negative of ``a`` (different label), ``[x]_+ = max(x, 0)``.

The edge cases follow the rules of :mod:`helpers.losses`: an empty batch gives ``0``; a NaN or
``+-inf`` embedding, or a distance that overflows (in float64 here), gives NaN; ``margin`` must be
a finite number ``> 0`` (``ValueError`` otherwise, even where ``soft=True`` ignores it), and so must
SupCon's ``temperature``.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = [
    "pairwise_distances",
    "semi_hard_choice",
    "semi_hard_loss",
    "hard_loss",
    "batch_all_loss",
    "contrastive_loss",
    "supcon_loss",
]

NOISE_FACTOR = 8.0  # same numerical-zero rule as helpers.distances
EPS = float(np.finfo(np.float64).eps)


def _check_margin(margin):
    try:
        number = float(margin) if not isinstance(margin, (str, bytes)) else math.nan
    except (TypeError, ValueError):
        number = math.nan
    if not (math.isfinite(number) and number > 0.0):
        raise ValueError(f"margin must be a finite number > 0; got margin={margin}")


def pairwise_distances(embeddings, distance="squared_l2"):
    """``(B, B)`` float64 matrix of ``d(x_i, x_j)``, one row at a time.

    ``squared_l2``: ``sum_k (a_k - b_k)^2``; ``l2``: its square root; ``angular``:
    ``max(1 - u.v, 0)`` with ``u = a / max(||a||, 1e-6)``. As in :mod:`helpers.distances`, values
    within rounding error of zero (``<= 8 eps (||a||^2 + ||b||^2)``) count as 0 (an overflow to
    ``inf`` does not); ``d(a, a) = 0``.
    """
    if distance not in ("squared_l2", "l2", "angular"):
        raise ValueError(f"Unknown distance {distance!r}; valid: squared_l2, l2, angular")
    x = np.asarray(embeddings, dtype=np.float64)
    if x.ndim != 2:
        raise ValueError(f"embeddings must have rank 2; got shape {x.shape}")
    d = np.zeros((len(x), len(x)))
    with np.errstate(over="ignore", invalid="ignore"):  # NaN / inf inputs give NaN / inf
        if distance == "angular":
            x = np.array([row / max(np.linalg.norm(row), 1e-6) for row in x]).reshape(x.shape)
        sq_norms = np.sum(x**2, axis=1)
        for i in range(len(x)):  # one row (anchor) at a time
            if distance == "angular":
                row = 1.0 - x @ x[i]
            else:
                row = np.sum((x - x[i]) ** 2, axis=1)
            noise = row <= NOISE_FACTOR * EPS * (sq_norms[i] + sq_norms)
            row[noise & (row < np.inf)] = 0.0  # numerical zero
            d[i] = np.sqrt(row) if distance == "l2" else row
            d[i, i] = 0.0
    return d


def _finite(embeddings, d):
    """Whether the batch obeys the finite rule: finite embeddings and distances."""
    return bool(np.all(np.isfinite(np.asarray(embeddings, np.float64))) and np.all(np.isfinite(d)))


def _labels(labels, size):
    y = np.asarray(labels).reshape(-1)
    if len(y) != size:
        raise ValueError(f"{len(y)} labels for {size} embeddings")
    return y


def semi_hard_choice(labels, embeddings, distance="squared_l2"):
    """TensorFlow's semi-hard choice for every positive pair.

    Returns a dict ``{(a, p): n}`` (in order of ``a`` then ``p``) where ``n`` is

    1. the negative with the smallest ``d(a, n)`` among those with ``d(a, n) > d(a, p)``
       (strictly farther than the positive), else
    2. the negative with the largest ``d(a, n)`` (none is farther: take the farthest), else
    3. ``-1``: ``a`` has no negative at all (the loss then uses 0 as the negative distance).

    Among negatives at exactly the same distance, the lowest index is reported.
    """
    d = pairwise_distances(embeddings, distance)
    y = _labels(labels, len(d))
    choice = {}
    for a in range(len(d)):
        negatives = [n for n in range(len(d)) if y[n] != y[a]]
        for p in range(len(d)):
            if p == a or y[p] != y[a]:
                continue
            beyond = [n for n in negatives if d[a, n] > d[a, p]]
            if beyond:
                choice[(a, p)] = min(beyond, key=lambda n: (d[a, n], n))
            elif negatives:
                choice[(a, p)] = max(negatives, key=lambda n: (d[a, n], -n))
            else:
                choice[(a, p)] = -1
    return choice


def semi_hard_loss(labels, embeddings, margin=1.0, distance="squared_l2"):
    """Mean over positive pairs of ``[margin + d(a, p) - d(a, n)]_+`` with ``n`` the semi-hard
    choice (``d(a, n) = 0`` when ``a`` has no negative); ``0.0`` without positive pairs."""
    _check_margin(margin)
    d = pairwise_distances(embeddings, distance)
    _labels(labels, len(d))
    if not _finite(embeddings, d):
        return math.nan
    terms = []
    for (a, p), n in semi_hard_choice(labels, embeddings, distance).items():
        chosen = d[a, n] if n >= 0 else 0.0
        terms.append(max(margin + d[a, p] - chosen, 0.0))
    return float(np.mean(terms)) if terms else 0.0


def hard_loss(labels, embeddings, margin=1.0, soft=False, distance="l2"):
    """Batch-hard loss, mean over all anchors of ``[margin + hp - hn]_+`` (``softplus(hp - hn)``
    if ``soft``): ``hp`` = farthest positive (0 if none), ``hn`` = nearest negative (the largest
    ``d(a, j)`` over all ``j`` if ``a`` has no negative); ``0.0`` for an empty batch."""
    _check_margin(margin)
    d = pairwise_distances(embeddings, distance)
    y = _labels(labels, len(d))
    if not _finite(embeddings, d):
        return math.nan
    per_anchor = []
    for a in range(len(d)):
        hp, hn = 0.0, max(d[a])
        for j in range(len(d)):
            if j != a and y[j] == y[a]:
                hp = max(hp, d[a, j])
            if y[j] != y[a]:
                hn = min(hn, d[a, j])
        gap = hp - hn
        if soft:
            per_anchor.append(max(gap, 0.0) + math.log1p(math.exp(-abs(gap))))  # softplus
        else:
            per_anchor.append(max(margin + gap, 0.0))
    return float(np.mean(per_anchor)) if per_anchor else 0.0


def batch_all_loss(labels, embeddings, margin=1.0, distance="squared_l2"):
    """``(loss, fraction)``: mean of ``[margin + d(a, p) - d(a, n)]_+`` over the triplets where it
    is positive (0 if none), and the fraction of valid triplets that are positive (0 if none);
    ``(nan, nan)`` for a non-finite batch."""
    _check_margin(margin)
    d = pairwise_distances(embeddings, distance)
    y = _labels(labels, len(d))
    if not _finite(embeddings, d):
        return math.nan, math.nan
    active, n_valid = [], 0
    for a in range(len(d)):
        for p in range(len(d)):
            if p == a or y[p] != y[a]:
                continue
            for n in range(len(d)):
                if y[n] == y[a]:
                    continue
                n_valid += 1
                value = margin + d[a, p] - d[a, n]
                if value > 0:
                    active.append(value)
    loss = float(np.mean(active)) if active else 0.0
    return loss, (len(active) / n_valid if n_valid else 0.0)


def _check_temperature(temperature):
    """The margin's rule (a finite number ``> 0``) under the temperature's name."""
    try:
        _check_margin(temperature)
    except ValueError:
        raise ValueError(
            f"temperature must be a finite number > 0; got temperature={temperature}") from None


def contrastive_loss(labels, embeddings, margin=1.0, distance="l2"):
    """Pairwise contrastive loss (Hadsell, Chopra & LeCun 2006), over unordered pairs ``i < j``:
    mean of ``d(i, j)^2`` over positive pairs plus mean of ``[margin - d(i, j)]_+^2`` over
    negative pairs (a mean over no pair is ``0``). ``distance``: ``"l2"`` or ``"angular"``."""
    if distance not in ("l2", "angular"):
        raise ValueError(f"contrastive_loss takes distance 'l2' or 'angular', not {distance!r}")
    _check_margin(margin)
    d = pairwise_distances(embeddings, distance)
    y = _labels(labels, len(d))
    if not _finite(embeddings, d):
        return math.nan
    positive_terms, negative_terms = [], []
    for i in range(len(d)):
        for j in range(i + 1, len(d)):
            if y[i] == y[j]:
                positive_terms.append(d[i, j] ** 2)
            else:
                negative_terms.append(max(margin - d[i, j], 0.0) ** 2)
    pull = float(np.mean(positive_terms)) if positive_terms else 0.0
    push = float(np.mean(negative_terms)) if negative_terms else 0.0
    return pull + push


def supcon_loss(labels, embeddings, temperature=0.1):
    """Supervised contrastive loss (Khosla et al. 2020, ``L_out``). With ``z_i = x_i / ||x_i||``
    (0 for a zero row) and ``s(i, a) = z_i . z_a / temperature``, an anchor ``i`` with positives
    ``P(i)`` costs ``-(1/|P(i)|) sum_{p in P(i)} log(exp(s(i, p)) / sum_{a != i} exp(s(i, a)))``;
    the loss is the mean over anchors with a positive, ``0`` if there is none."""
    _check_temperature(temperature)
    x = np.asarray(embeddings, dtype=np.float64)
    if x.ndim != 2:
        raise ValueError(f"embeddings must have rank 2; got shape {x.shape}")
    y = _labels(labels, len(x))
    if not np.all(np.isfinite(x)):
        return math.nan
    z = np.zeros_like(x)
    for i, row in enumerate(x):
        scale = np.max(np.abs(row), initial=0.0)  # the norm then neither overflows nor underflows
        if scale > 0:
            z[i] = (row / scale) / np.linalg.norm(row / scale)
    per_anchor = []
    for i in range(len(x)):
        positives = [p for p in range(len(x)) if p != i and y[p] == y[i]]
        if not positives:
            continue
        s = {a: float(z[i] @ z[a]) / temperature for a in range(len(x)) if a != i}
        top = max(s.values())  # log-sum-exp around the largest term
        log_denominator = top + math.log(sum(math.exp(value - top) for value in s.values()))
        per_anchor.append(-np.mean([s[p] - log_denominator for p in positives]))
    return float(np.mean(per_anchor)) if per_anchor else 0.0
