"""Solutions to chapter 7's exercises — beyond the semi-hard triplet."""

import numpy as np


def soft_margin_floor():
    """7.1: about 0.13. Positives at distance 0 and the other digit antipodal, at plain L2 distance
    2 (the most two unit vectors can be apart): softplus(0 − 2) = log(1 + e⁻²) ≈ 0.127."""
    return "c"


def reported_improvement():
    """7.2: nothing yet — one loss was tuned, on the test classes; tune both alike on a validation
    split of held-out classes and compare over seeds."""
    return "b"


def supcon(labels, embeddings, temperature):
    """Supervised contrastive loss (L_out of Khosla et al.) of a labelled batch, in NumPy."""
    labels = np.asarray(labels)
    z = np.asarray(embeddings, dtype=float)
    z = z / np.linalg.norm(z, axis=1, keepdims=True)  # unit vectors: similarities are cosines
    similarity = z @ z.T / temperature
    not_self = ~np.eye(len(labels), dtype=bool)
    positive = (labels[:, None] == labels[None, :]) & not_self
    # log Σ_{a ≠ i} exp(s_ia), with each row's largest value taken out for stability
    row_max = np.where(not_self, similarity, -np.inf).max(axis=1)
    log_total = row_max + np.log(np.where(not_self, np.exp(similarity - row_max[:, None]), 0.0).sum(axis=1))
    n_positive = positive.sum(axis=1)
    anchors = n_positive > 0
    if not anchors.any():
        return 0.0
    mean_positive = np.where(positive, similarity, 0.0).sum(axis=1)[anchors] / n_positive[anchors]
    return float(np.mean(log_total[anchors] - mean_positive))


# --- wrong answers ------------------------------------------------------------------------------
def _supcon(labels, x, temperature, **mistake):
    from helpers.exercises.ch07 import _supcon_variant

    return _supcon_variant(np.asarray(labels), np.asarray(x, dtype=float), temperature, **mistake)


RIGHT = {
    "7.1": soft_margin_floor,
    "7.2": reported_improvement,
    "7.3": lambda: supcon,
}

WRONG = {
    "7.1": [
        lambda: "a",  # "the soft margin reaches zero like the hinge"
        lambda: "b",  # squared L2: softplus(−4)
        lambda: "d",  # softplus(0), the collapsed batch
    ],
    "7.2": [
        lambda: "a",  # "0.03 is beyond the standard error"
        lambda: "c",
        lambda: "d",
    ],
    "7.3": [
        lambda: (lambda labels, x, t: _supcon(labels, x, t, normalise=False)),  # not normalised
        lambda: (lambda labels, x, t: _supcon(labels, x, t, self_in_denominator=True)),  # a = i kept
        lambda: (lambda labels, x, t: _supcon(labels, x, t, all_anchors=True)),  # lonely anchors counted
        lambda: (lambda labels, x, t: _supcon(labels, x, t, scale=False)),  # no temperature
    ],
}

EXPLAIN = {
    "7.1": "softplus(x) = log(1 + eˣ) is positive everywhere, so the soft margin never reaches zero. "
           "The best possible batch puts every positive at distance 0 and the other digit at the "
           "largest plain L2 distance two unit vectors can have, 2: the loss is then "
           "softplus(−2) = log(1 + e⁻²) ≈ 0.127. On normalised embeddings the soft margin keeps "
           "pushing every anchor, where the hinge with margin 1 is already satisfied (the cell "
           "measures 0 for it) — one reason why a loss designed with one geometry in mind may "
           "behave differently in another.",
    "7.2": "Two flaws, neither about the size of the difference. Only one loss was tuned, and it was "
           "tuned on the classes it is scored on, which flatters it. Musgrave et al. (2020) re-ran "
           "such comparisons with the same tuning budget for every loss, chosen on a validation "
           "split of held-out classes, over several runs — and found the improvements of a decade of new losses over "
           "the old contrastive and triplet losses marginal.",
    "7.3": "Normalise the rows, divide the cosine similarities by τ, and for each anchor subtract the "
           "mean similarity to its positives from the log-sum-exp over all other images (never the "
           "anchor itself). Average over the anchors that have at least one positive; a batch "
           "without positive pairs costs 0. Taking each row's maximum out of the log-sum-exp keeps "
           "small temperatures from overflowing.",
}
