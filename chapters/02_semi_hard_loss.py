# ---
# jupyter:
#   jupytext:
#     notebook_metadata_filter: -jupytext.text_representation.jupytext_version
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#   kernelspec:
#     display_name: Python (triplet course)
#     language: python
#     name: triplet-course
# ---

# %% [markdown]
# # Chapter 2 — The local TF semi-hard loss
#
# *Build TensorFlow's semi-hard triplet loss from its pieces, prove it right against brute force,
# measure its cubic memory, and replace it with a sort that gives the same values and gradients.*
#
# **You will learn**
# - the pieces of the loss: the pairwise distance matrix, positive and negative masks, masked
#   minimum and maximum, and TensorFlow's tiled (B × B × B) formulation;
# - how to check a vectorised loss against a plain-loop reference, pair by pair;
# - why the tiled form needs O(B³) memory, measured, and how sorting each row plus `searchsorted`
#   brings it down to O(B²) with identical values and gradients (checked by finite differences);
# - the edge cases: no positive pair (TF Addons returns NaN), one class, duplicated embeddings;
#   and how squared L2, L2 and angular distances change the loss.
#
# **Prerequisites:** chapter 1 (the triplet loss and TensorFlow's semi-hard rule); TensorFlow
# tensors and `tf.GradientTape`.
#
# **Run time:** about a minute on a 2-core CPU in the reader profile (measured: 44–81 s in four
# runs on a shared machine, depending on its load; most of it the timing sweep and the four fresh
# processes that measure memory, each of which imports TensorFlow; no data is loaded).

# %%
from fractions import Fraction

import matplotlib.pyplot as plt
import numpy as np
import tensorflow as tf
from matplotlib.colors import to_rgb

from helpers import losses, measure, reference, theory_plots
from helpers.config import PROFILE
from helpers.plotting import CLASS_COLORS, PAIR_COLORS, SERIES_COLORS

print(f"TensorFlow {tf.__version__} | run profile: {PROFILE.name}")

# %% [markdown]
# ## A toy batch with exact distances
#
# Ten 2-D "embeddings" on a grid of halves, so that every squared distance is a multiple of 1/4 —
# exact in float32 and float64 alike. Every value printed for this batch is therefore exact, the
# same on any machine (and checked in CI). Classes 0, 1 and 2 have three members each; class 3 has
# one, so its anchor has no positive. The margin is 1.

# %%
toy_x = np.array([[1.5, 0.5], [2.5, 1.5], [2.5, 1.0],    # class 0
                  [1.0, 1.5], [1.0, 2.0], [-1.0, 1.0],   # class 1
                  [0.5, 0.5], [1.0, 2.5], [1.5, 2.5],    # class 2
                  [2.5, 0.5]], dtype=np.float32)         # class 3
toy_y = np.array([0, 0, 0, 1, 1, 1, 2, 2, 2, 3])
MARGIN = 1.0

# %% [markdown]
# ## Piece 1: the pairwise distance matrix
#
# For a batch X (B × k), ‖a − b‖² = ‖a‖² − 2 a·b + ‖b‖². With the Gram matrix G = X Xᵀ and g its
# diagonal, D = g 1ᵀ − 2G + 1 gᵀ: one matrix product instead of a B × B × k tensor of
# differences. Rounding can leave tiny negative values (clamp them at 0) and a non-zero diagonal
# (set it to exactly 0).

# %%
def squared_distances(x):
    gram = tf.matmul(x, x, transpose_b=True)
    norms = tf.linalg.diag_part(gram)
    d = tf.maximum(norms[:, None] - 2.0 * gram + norms[None, :], 0.0)
    return tf.linalg.set_diag(d, tf.zeros_like(norms))


# %% tags=["nbval-check-output"]
D = squared_distances(tf.constant(toy_x))
np.set_printoptions(precision=2, suppress=True, linewidth=110)
print(D.numpy())
print("max |ours − helpers.reference| =", np.abs(D.numpy() - reference.pairwise_distances(toy_x)).max())

# %% [markdown]
# ## Piece 2: positive and negative masks
#
# `positive[a, p]`: same label and a ≠ p (an ordered positive pair). `negative[a, n]`: different
# label. Broadcasting a column of labels against a row does it in two comparisons.

# %%
def masks(labels):
    same = tf.equal(labels[:, None], labels[None, :])
    not_self = tf.logical_not(tf.eye(tf.shape(labels)[0], dtype=tf.bool))
    return tf.logical_and(same, not_self), tf.logical_not(same)


positive, negative = masks(tf.constant(toy_y))

# %%
fig, (scatter, heat, mask_ax) = plt.subplots(1, 3, figsize=(15, 4.6))
theory_plots.plot_toy_batch(scatter, toy_x, toy_y, title="The toy batch (index in white)")
image = heat.imshow(D.numpy(), cmap="viridis")
for (i, j), value in np.ndenumerate(D.numpy()):
    heat.text(j, i, f"{value:g}", ha="center", va="center", fontsize=6.5,
              color="white" if value < D.numpy().max() / 2 else "black")
heat.set(title="Piece 1: squared distances D", xlabel="index j", ylabel="index i")
fig.colorbar(image, ax=heat, shrink=0.8)
kind = np.zeros(D.shape + (3,))
kind[negative.numpy()] = to_rgb(PAIR_COLORS["negative"])
for a, p in zip(*np.nonzero(positive.numpy())):
    kind[a, p] = CLASS_COLORS[toy_y[a]][:3]
kind[np.eye(len(toy_y), dtype=bool)] = 1.0
mask_ax.imshow(kind)
mask_ax.set(title="Piece 2: positive (class colour), negative (sand)",
            xlabel="index p or n", ylabel="anchor index a")
for ax in (heat, mask_ax):
    ax.set_xticks(range(10)), ax.set_yticks(range(10))
fig.tight_layout()
plt.show()

# %% [markdown]
# ## Piece 3: masked minimum and maximum
#
# The rule needs "the smallest d(a,n) among the negatives farther than the positive" and "the
# largest d(a,n) among the negatives". A masked reduction replaces the excluded entries by +∞
# (for a minimum) or −∞ (for a maximum) before reducing. TensorFlow's original code reaches the
# same end with an arithmetic shift instead of infinities; `tf.where` is clearer, and its gradient
# reaches only the selected entries.

# %%
def masked_min(values, mask, axis=-1):
    return tf.reduce_min(tf.where(mask, values, tf.constant(np.inf, values.dtype)), axis=axis)


def masked_max(values, mask, axis=-1):
    return tf.reduce_max(tf.where(mask, values, tf.constant(-np.inf, values.dtype)), axis=axis)


# %% [markdown]
# ## Piece 4: the tiled formulation
#
# TensorFlow's loss compares, for every anchor a and positive p, *all* negatives n at once: it
# tiles D into a B × B × B tensor indexed [a, p, n] holding d(a, n), compares it with d(a, p), and
# reduces over n. Then it falls back to the farthest negative where nothing lies beyond the
# positive (0 for an anchor without negatives), applies the hinge, and averages over the positive
# pairs — guarding the division so that a batch without positive pairs gives 0.

# %%
def semi_hard_tiled(labels, embeddings, margin=1.0, distances=squared_distances):
    d = distances(embeddings)
    positive, negative = masks(labels)
    b = tf.shape(d)[0]
    d_an = tf.tile(d[:, None, :], [1, b, 1])  # [a, p, n] = d(a, n): D copied B times
    beyond = tf.logical_and(negative[:, None, :], d_an > d[:, :, None])
    nearest_beyond = masked_min(d_an, beyond)  # [a, p]
    farthest = tf.where(tf.reduce_any(negative, axis=1), masked_max(d, negative), 0.0)  # [a]
    chosen = tf.where(tf.reduce_any(beyond, axis=2), nearest_beyond, farthest[:, None])
    hinge = tf.where(positive, tf.maximum(margin + d - chosen, 0.0), 0.0)
    n_pairs = tf.reduce_sum(tf.cast(positive, d.dtype))
    return tf.reduce_sum(hinge) / tf.maximum(n_pairs, 1.0), chosen


# %% [markdown]
# ## Check 1: pair by pair against brute force
#
# `helpers.reference.semi_hard_choice` walks the same rule with Python loops over the
# definition. Side by side, for every positive pair of the toy batch:

# %% tags=["nbval-check-output"]
loss_tiled, chosen = semi_hard_tiled(tf.constant(toy_y), tf.constant(toy_x), MARGIN)
d_ref = reference.pairwise_distances(toy_x)
print(" a  p | d(a,p) | reference: n  d(a,n) | ours: d(a,n) | kind      | loss term")
for (a, p), n in reference.semi_hard_choice(toy_y, toy_x).items():
    ours = float(chosen[a, p])
    kind = "hard" if ours <= d_ref[a, p] else "semi-hard" if ours < d_ref[a, p] + MARGIN else "easy"
    term = max(MARGIN + d_ref[a, p] - ours, 0.0)
    print(f"{a:2d} {p:2d} | {d_ref[a, p]:6.2f} | {n:12d} {d_ref[a, n]:7.2f} | {ours:12.2f} | {kind:9s} | {term:.2f}"
          + ("" if ours == d_ref[a, n] else "   <-- differs"))

# %% tags=["nbval-check-output"]
print(f"ours (tile):            {float(loss_tiled):.6f}")
print(f"helpers.reference:      {reference.semi_hard_loss(toy_y, toy_x, MARGIN):.6f}")
for method in losses.SEMI_HARD_METHODS:
    print(f"helpers.losses ({method}): {float(losses.semi_hard_triplet_loss(toy_y, toy_x, MARGIN, method=method)):.6f}")

# %% [markdown]
# Every chosen distance agrees (no row is flagged), and so do the losses. The three kinds of
# chapter 1 all occur: semi-hard choices, easy ones (loss 0), and hard fallbacks where no negative
# of the anchor is farther than the positive (loss ≥ the margin; exactly the margin in row 6 8,
# whose negative is exactly as far as the positive). Here is anchor 0 with its positive 1:

# %%
others = np.flatnonzero(toy_y != toy_y[0])
d_0 = d_ref[0, others]
kinds = np.where(d_0 <= d_ref[0, 1], "hard", np.where(d_0 < d_ref[0, 1] + MARGIN, "semi-hard", "easy"))
pick = int(np.flatnonzero(others == reference.semi_hard_choice(toy_y, toy_x)[(0, 1)])[0])
fig, ax = plt.subplots(figsize=(7.5, 4.6))
theory_plots.draw_mining_scene(ax, toy_x[0], toy_x[1], toy_x[others], kinds, MARGIN,
                               chosen={"TensorFlow's choice": (pick, "s")}, anchor_class=0,
                               title="Toy batch: anchor 0, positive 1, its seven negatives")
fig.tight_layout()
plt.show()

# %% [markdown]
# One toy batch is not a proof. Random batches of random sizes, float64, with few classes (so
# that ties, fallbacks and lonely anchors all happen), against the reference:

# %% tags=["nbval-check-output"]
rng = np.random.default_rng(0)
worst = {"ours (tile)": 0.0, "helpers sort": 0.0, "helpers tile": 0.0}
for trial in range(30):
    b = int(rng.integers(2, 25))
    y_r, x_r = rng.integers(0, 4, b), rng.normal(size=(b, 3))
    expected = reference.semi_hard_loss(y_r, x_r, MARGIN)
    found = {"ours (tile)": semi_hard_tiled(tf.constant(y_r), tf.constant(x_r), MARGIN)[0],
             "helpers sort": losses.semi_hard_triplet_loss(y_r, x_r, MARGIN, method="sort"),
             "helpers tile": losses.semi_hard_triplet_loss(y_r, x_r, MARGIN, method="tile")}
    for name, value in found.items():
        worst[name] = max(worst[name], abs(float(value) - expected))
print("30 random float64 batches, max |loss − reference| below 1e-12:",
      {name: w < 1e-12 for name, w in worst.items()})

# %% [markdown]
# ## The price of tiling: O(B³) memory
#
# `d_an` alone holds B³ numbers: 4·B³ bytes in float32, and the comparison and `tf.where` create
# more tensors of the same size. The analytic size of one such tensor (checked in CI):

# %% tags=["nbval-check-output"]
for b in (256, 1024, 4096):
    print(f"B = {b:5d}: one float32 B×B×B tensor {4 * b**3 / 2**30:8.3f} GiB | one B×B matrix {4 * b**2 / 2**20:6.2f} MiB")

# %% [markdown]
# Measured: one forward and backward pass of `helpers.losses.semi_hard_triplet_loss` inside a
# `tf.function`, on random 64-d float32 embeddings with 10 classes, for both methods. **Time** is
# the median of three passes in this kernel. **Peak memory** is a high-water mark that a process
# never lowers, so a smaller peak after a bigger one would be invisible here: `helpers.measure`
# measures each (method, B) in a fresh Python process instead (its docstring explains how), at
# fewer sizes, since each process imports TensorFlow. Off Linux only the analytic sizes are plotted.

# %%
sizes = {"tile": PROFILE.pick(reader=[32, 64, 128, 256, 384, 512], quick=[32, 64, 128, 256]),
         "sort": PROFILE.pick(reader=[32, 64, 128, 256, 512, 1024, 2048], quick=[32, 64, 128, 256, 512])}
memory_sizes = {"tile": PROFILE.pick(reader=[256, 512], quick=[256]),
                "sort": PROFILE.pick(reader=[256, 2048], quick=[256])}
seconds = measure.time_here(sizes)  # {(method, B): seconds}
growth = measure.peak_growths(memory_sizes, workers=2)  # {(method, B): bytes}, {} off Linux
print(measure.scaling_table(seconds, growth))

# %%
fig, (t_ax, m_ax) = plt.subplots(1, 2, figsize=(12, 4.2))
for method, colour in zip(sizes, SERIES_COLORS):
    t_ax.plot(sizes[method], [seconds[method, b] * 1000 for b in sizes[method]], "o-", color=colour, label=method)
    measured = [b for b in memory_sizes[method] if growth.get((method, b))]
    m_ax.plot(measured, [growth[method, b] / 2**20 for b in measured], "o-", color=colour,
              label=f"{method}, measured (fresh process)")
every_b = np.geomspace(32, max(max(s) for s in sizes.values()), 50)
m_ax.plot(every_b, 4 * every_b**3 / 2**20, "--", color="0.3", label="4·B³ bytes (one B×B×B tensor)")
m_ax.plot(every_b, 4 * every_b**2 / 2**20, ":", color="0.3", label="4·B² bytes (one B×B matrix)")
t_ax.set(xscale="log", yscale="log", title="Forward + backward time", xlabel="batch size B",
         ylabel="milliseconds (median of 3)")
m_ax.set(xscale="log", yscale="log", title="Peak memory growth during one pass", xlabel="batch size B",
         ylabel="MiB")
for ax in (t_ax, m_ax):
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3, which="both")
fig.suptitle(f"helpers.losses.semi_hard_triplet_loss, 64-d float32 ({PROFILE.name} profile, this machine)")
fig.tight_layout()
plt.show()

# %% [markdown]
# The tiled step's growth is about the same small multiple of one B×B×B tensor at every measured
# size (last column: several such tensors are alive at once), so it grows as B³; the sorted step's
# is a multiple of one B×B matrix, B². At the same B the tiled step needs far more (compare the two
# rows at B = 256). Times depend on the machine and its load; read the numbers in the printed
# table.
#
# ## From tiling to sorting: O(B²)
#
# For one anchor a, TensorFlow's rule needs, for *each* of its positives p, the smallest negative
# distance strictly above d(a, p). Sort a's negative distances once, ascending, into a row s(a)
# (pad the non-negatives with +∞, which sort last). Then
#
# - i = `searchsorted(s(a), d(a,p), side="right")` counts the negatives with d(a,n) ≤ d(a,p), so
#   s(a)[i] is the nearest negative strictly beyond the positive — provided i < the number of
#   negatives n(a);
# - otherwise nothing lies beyond, and the fallback, the farthest negative, is s(a)[n(a) − 1];
# - with n(a) = 0 the chosen distance is 0.
#
# Sorting B rows and B searches per row cost O(B² log B) time and O(B²) memory. The chosen value is
# *gathered* from s, so the gradient flows back to exactly the entry of D that was chosen.

# %%
def semi_hard_sorted(labels, embeddings, margin=1.0, distances=squared_distances):
    d = distances(embeddings)
    positive, negative = masks(labels)
    s = tf.sort(tf.where(negative, d, tf.constant(np.inf, d.dtype)), axis=1)
    n_neg = tf.reduce_sum(tf.cast(negative, tf.int32), axis=1, keepdims=True)  # (B, 1)
    i = tf.searchsorted(s, d, side="right")  # [a, p]: negatives with d(a, n) <= d(a, p)
    i = tf.where(i < n_neg, i, tf.maximum(n_neg - 1, 0))  # nothing beyond: the farthest
    chosen = tf.where(n_neg > 0, tf.gather(s, i, batch_dims=1), 0.0)
    hinge = tf.where(positive, tf.maximum(margin + d - chosen, 0.0), 0.0)
    return tf.reduce_sum(hinge) / tf.maximum(tf.reduce_sum(tf.cast(positive, d.dtype)), 1.0), chosen


# %% tags=["nbval-check-output"]
loss_sorted, chosen_sorted = semi_hard_sorted(tf.constant(toy_y), tf.constant(toy_x), MARGIN)
print(f"toy batch: tiled {float(loss_tiled):.6f} | sorted {float(loss_sorted):.6f}")
print("same chosen distance for every positive pair:",
      bool(tf.reduce_all(tf.equal(chosen, chosen_sorted) | ~positive)))

# %% [markdown]
# ## Same gradients: a numerical check
#
# A gradient check compares `tf.GradientTape` with central finite differences,
# (L(x + h·e) − L(x − h·e)) / 2h, for every coordinate of every embedding, in float64 so that
# h = 10⁻⁶ is both small and far above rounding noise. The loss is piecewise smooth; with random
# embeddings no distance ties and no hinge sits within h of its kink, so both must agree.

# %%
rng = np.random.default_rng(7)
y_g, x_g = tf.constant(rng.integers(0, 3, 12)), tf.constant(rng.normal(size=(12, 3)))


def tape_gradient(loss_fn, x):
    with tf.GradientTape() as tape:
        tape.watch(x)
        value = loss_fn(y_g, x, MARGIN)[0]
    return tape.gradient(value, x).numpy()


h, numeric = 1e-6, np.zeros(x_g.shape)
for index in np.ndindex(*x_g.shape):
    step = np.zeros(x_g.shape)
    step[index] = h
    up, down = semi_hard_sorted(y_g, x_g + step, MARGIN)[0], semi_hard_sorted(y_g, x_g - step, MARGIN)[0]
    numeric[index] = float(up - down) / (2 * h)
grads = {"sorted": tape_gradient(semi_hard_sorted, x_g), "tiled": tape_gradient(semi_hard_tiled, x_g),
         "helpers sort": tape_gradient(lambda *a: (losses.semi_hard_triplet_loss(*a),), x_g)}

# %% tags=["nbval-check-output"]
print("gradient not all zero:", bool(np.abs(numeric).max() > 0.1))
print("tape (sorted) vs finite differences, max diff < 1e-6:", bool(np.abs(grads["sorted"] - numeric).max() < 1e-6))
print("tape: sorted vs tiled, max diff < 1e-12:", bool(np.abs(grads["sorted"] - grads["tiled"]).max() < 1e-12))
print("tape: helpers sort vs tiled, max diff < 1e-12:", bool(np.abs(grads["helpers sort"] - grads["tiled"]).max() < 1e-12))

# %% [markdown]
# One difference remains, and it only shows at **ties**. When two negatives sit at exactly the
# chosen distance (duplicated images do that), the gradient of the negative term −d(a, n) must go
# to one or both of them: `reduce_min` in the tiled form splits it equally between them, while
# `gather` in our sorted form sends all of it to the one entry of s(a) it reads. The value is the
# same; the gradient is not. `helpers.losses` (method "sort") splits it like the tiled form, by
# averaging over the run of equal entries of s(a). We duplicate point 3 of the toy batch (class 1)
# as point 10 (24 positive pairs now). The two copies are negatives for the anchors of other
# classes, but, being of class 1, they are also anchors and positives, and those roles give both
# copies gradient whatever the tie rule. The gradients are printed as exact fractions: every
# coordinate is a multiple of 1/2, so each entry is a multiple of 1/24 (1/48 where a tie splits
# it), which no number of decimals shows exactly:

# %%
def fraction(value):
    """The fraction with denominator at most 100 closest to value: exact for multiples of 1/48."""
    return "nan" if np.isnan(value) else str(Fraction(float(value)).limit_denominator(100))


# %% tags=["nbval-check-output"]
dup_x, dup_y = tf.constant(np.vstack([toy_x, toy_x[3:4]])), tf.constant(np.r_[toy_y, toy_y[3]])
tie_grads = {}
for name, fn in {"ours tiled": semi_hard_tiled, "ours sorted": semi_hard_sorted,
                 "helpers sort": lambda *a: (losses.semi_hard_triplet_loss(*a),)}.items():
    with tf.GradientTape() as tape:
        tape.watch(dup_x)
        value = fn(dup_y, dup_x, MARGIN)[0]
    g = tie_grads[name] = tape.gradient(value, dup_x).numpy()
    print(f"{name:12s} loss {fraction(value)} | gradient on the two copies: "
          f"({fraction(g[3, 0])}, {fraction(g[3, 1])}) and ({fraction(g[10, 0])}, {fraction(g[10, 1])})")

# %% [markdown]
# Where does each share come from? The tie rule matters for the positive pairs whose chosen
# negative is the duplicated point and whose hinge is not 0 (printed below). The derivative of
# their negative terms −d(a, n) with respect to that negative, 2(a − n) each, divided by the 24
# pairs, is the gradient the rule hands out. The rest of each copy's gradient comes from its roles
# as anchor and positive, the same for both copies. The cell computes the negative term from its
# definition, takes the rest from the tiled form, and checks all three rows above against them:

# %% tags=["nbval-check-output"]
d_dup, (pos_dup, _) = squared_distances(dup_x).numpy(), masks(dup_y)
_, chosen_dup = semi_hard_sorted(dup_y, dup_x, MARGIN)
y_dup, x_dup = dup_y.numpy(), dup_x.numpy()
tied = [(int(a), int(p)) for a, p in zip(*np.nonzero(pos_dup.numpy()))
        if y_dup[a] != y_dup[3] and chosen_dup[a, p] == d_dup[a, 3] and MARGIN + d_dup[a, p] - d_dup[a, 3] > 0]
to_negative = sum(2 * (x_dup[a] - x_dup[3]) for a, _ in tied) / int(np.sum(pos_dup))
as_anchor_positive = tie_grads["ours tiled"][3] - to_negative / 2
for name in ("ours tiled", "helpers sort"):  # split: half of it to each copy
    assert np.allclose(tie_grads[name][[3, 10]], as_anchor_positive + to_negative / 2, atol=1e-6)
shares = sorted([tie_grads["ours sorted"][3], tie_grads["ours sorted"][10]], key=lambda g: g.sum())
assert np.allclose(shares, [as_anchor_positive, as_anchor_positive + to_negative], atol=1e-6)  # all to one
print("tied pairs (a, p) with a non-zero hinge:", tied)
print("each copy as anchor and positive:", f"({fraction(as_anchor_positive[0])}, {fraction(as_anchor_positive[1])})",
      "| the tied negative term, in all:", f"({fraction(to_negative[0])}, {fraction(to_negative[1])})")

# %% [markdown]
# The tiled form and `helpers.losses` give each copy (7/24, 1/24) plus half of the negative term:
# 7/24 + 1/16 = 17/48 and 1/24 + 1/24 = 1/12. The gathered form gives one copy all of it,
# 7/24 + 1/8 = 5/12 and 1/24 + 1/12 = 1/8, and the other none, (7/24, 1/24). Both copies get
# gradient either way; only the negative term's share differs, and the sum over the two copies is
# the same.

# %% [markdown]
# ## Edge cases
#
# - **No positive pair** (every label distinct): the mean over positive pairs is 0/0. TF Addons
#   divides by the count as it is and returns NaN — one NaN batch ruins the weights. Guarding the
#   count with max(·, 1) gives 0, and no gradient.
# - **A single class**: no negatives at all; TensorFlow's rule then uses 0 as the chosen distance,
#   so the loss is the mean of margin + d(a, p). We keep TensorFlow's value.
# - **Duplicated embeddings**: distances of exactly 0; squared L2 is harmless, plain L2 needs the
#   guarded square root of chapter 1.

# %% tags=["nbval-check-output"]
def naive_mean(labels, x):  # the unguarded division
    d = squared_distances(x)
    positive, _ = masks(labels)
    return tf.reduce_sum(tf.where(positive, d, 0.0)) / tf.reduce_sum(tf.cast(positive, d.dtype))


# every value below is a mean of multiples of 1/4 over at most 12 pairs: printed as a fraction
cases = {"no positive pair": (np.arange(4), toy_x[:4]),
         "a single class": (np.zeros(4, int), toy_x[:4]),
         "duplicated embeddings": (np.array([0, 0, 1, 1]), toy_x[[1, 1, 2, 2]])}
print(f"{'case':22s} {'unguarded':>9s} {'ours':>6s} {'helpers':>7s} {'reference':>9s}  finite gradients (sq L2, L2, angular)")
for name, (y_c, x_c) in cases.items():
    finite = []
    for distance in ("squared_l2", "l2", "angular"):
        xt = tf.constant(x_c)
        with tf.GradientTape() as tape:
            tape.watch(xt)
            value = losses.semi_hard_triplet_loss(y_c, xt, MARGIN, distance=distance)
        finite.append(bool(np.isfinite(tape.gradient(value, xt).numpy()).all()))
    print(f"{name:22s} {fraction(naive_mean(tf.constant(y_c), tf.constant(x_c))):>9s} "
          f"{fraction(semi_hard_sorted(tf.constant(y_c), tf.constant(x_c), MARGIN)[0]):>6s} "
          f"{fraction(losses.semi_hard_triplet_loss(y_c, x_c, MARGIN)):>7s} "
          f"{fraction(reference.semi_hard_loss(y_c, x_c, MARGIN)):>9s}  {finite}")

# %% [markdown]
# (The "unguarded" column only illustrates the 0/0: it averages d(a, p), not the full loss. With
# one class, the loss is margin + that mean: 31/12 = 1 + 19/12.)
#
# ## Squared L2, L2 or angular
#
# The same rule runs on any distance matrix; `helpers.losses` takes `distance=`. Plain L2 ranks
# the negatives exactly as squared L2 does (the square root is monotonic), so it picks the same
# negatives — but the margin is now in plain units, so the loss changes. The angular distance
# 1 − cos compares directions only: it can pick *different* negatives.

# %%
base_choice = reference.semi_hard_choice(toy_y, toy_x, "squared_l2")
expected, agrees, changed = {}, {}, {}
for distance in ("squared_l2", "l2", "angular"):
    expected[distance] = reference.semi_hard_loss(toy_y, toy_x, MARGIN, distance=distance)
    value = float(losses.semi_hard_triplet_loss(toy_y, toy_x, MARGIN, distance=distance))
    agrees[distance] = abs(value - expected[distance]) < 1e-5
    choice = reference.semi_hard_choice(toy_y, toy_x, distance)
    changed[distance] = sum(choice[pair] != n for pair, n in base_choice.items())
    print(f"{distance:10s} reference loss {expected[distance]:.4f}")

# %% [markdown]
# Plain L2 is the squared-L2 choice with square-rooted distances; checked, with the agreement of
# `helpers.losses` and the number of changed negatives (this output is checked in CI; the losses
# above, made of square roots and cosines, are not exact in any number of decimals):

# %% tags=["nbval-check-output"]
d_sq = reference.pairwise_distances(toy_x)
rooted = np.mean([max(MARGIN + np.sqrt(d_sq[a, p]) - np.sqrt(d_sq[a, n]), 0.0) for (a, p), n in base_choice.items()])
print("l2 loss = squared L2's negatives with square-rooted distances:", abs(rooted - expected["l2"]) < 1e-12)
for distance in expected:
    print(f"{distance:10s} helpers agrees with the reference: {agrees[distance]} | "
          f"pairs with a different negative than squared L2: {changed[distance]} of {len(base_choice)}")

# %% [markdown]
# ## Summary
#
# - The semi-hard loss is four pieces: D from one matrix product, positive and negative masks, a
#   masked minimum (nearest negative beyond the positive) and maximum (the fallback), then a
#   hinge averaged over positive pairs.
# - Built with TensorFlow ops, it matches the plain-loop reference pair by pair and
#   `helpers.losses` to the last digit.
# - TensorFlow's tiled form needs B³ memory (4 GiB per float32 tensor at B = 1024); sorting each
#   row and `searchsorted` gives the same values and gradients in B² memory — except at exact ties,
#   where the negative term's gradient must be split between the tied negatives to match
#   `reduce_min`, as `helpers.losses` does.
# - Guard the mean: a batch without positive pairs gives 0, not NaN; a single class gives
#   TensorFlow's mean of margin + d(a, p).
# - Squared L2 and L2 pick the same negatives with different margins; angular can pick others.
#
# ## Exercises
#
# Write your answer in place of `None`, then run the cell: the check prints a pass, or a hint.
#
# **2.1** Reuse the pieces for the **batch-hard** loss (Hermans et al.): for every anchor a, the
# hardest positive hp = max d(a, p) over its positives (0 if it has none) and the hardest negative
# hn = min d(a, n) over its negatives (if it has none, the largest d(a, j) of its row); the loss is
# the mean over all anchors of max(margin + hp − hn, 0). Write `batch_hard(labels, embeddings,
# margin)` with squared L2 distances; it may return a float or a scalar tensor.

# %%
from helpers.exercises import check

batch_hard = None  # your function here
check("2.1", batch_hard)

# %% [markdown]
# **2.2** The **batch-all** loss uses the whole [a, p, n] tensor: over every valid triplet (a ≠ p,
# same label; n of another label), ℓ = max(margin + d(a,p) − d(a,n), 0). Write
# `batch_all(labels, embeddings, margin)` returning `(loss, fraction)`: the mean of ℓ over the
# triplets where ℓ > 0 (0 if there are none), and the fraction of valid triplets with ℓ > 0
# (0 if there are no valid triplets). Squared L2 distances.

# %%
batch_all = None  # your function here
check("2.2", batch_all)

# %% [markdown]
# **2.3** *Predict, then run.* Raise the margin of the toy batch's semi-hard loss from 1 to 2. Of its
# 18 positive pairs, how many does TensorFlow's rule then pair with a *different* negative? Write
# down a whole number, then run the cell after it: it measures with `semi_hard_tiled`, and shows
# the measurement once you have predicted.

# %%
changes_prediction = None  # your prediction: a whole number from 0 to 18

# %%
pairs = masks(tf.constant(toy_y))[0]
at_margin = {m: semi_hard_tiled(tf.constant(toy_y), tf.constant(toy_x), m) for m in (1.0, 2.0)}
changed_pairs = int(tf.reduce_sum(tf.cast(pairs & (at_margin[1.0][1] != at_margin[2.0][1]), tf.int32)))
check("2.3", changes_prediction,
      measured=f"{changed_pairs} of {int(tf.reduce_sum(tf.cast(pairs, tf.int32)))} positive pairs change their "
               f"negative; the loss goes from {float(at_margin[1.0][0]):.3f} to {float(at_margin[2.0][0]):.3f}")

# %% [markdown]
# ## References
#
# - F. Schroff, D. Kalenichenko, J. Philbin, *FaceNet: A Unified Embedding for Face Recognition
#   and Clustering*, CVPR 2015, arXiv:1503.03832.
# - A. Hermans, L. Beyer, B. Leibe, *In Defense of the Triplet Loss for Person Re-Identification*,
#   2017, arXiv:1703.07737 — batch-hard and batch-all.
# - TensorFlow 1.x, `tf.contrib.losses.metric_learning.triplet_semihard_loss`; TensorFlow Addons,
#   `tfa.losses.TripletSemiHardLoss` —
#   https://www.tensorflow.org/addons/api_docs/python/tfa/losses/TripletSemiHardLoss
# - TensorFlow, `tf.searchsorted` — https://www.tensorflow.org/api_docs/python/tf/searchsorted
