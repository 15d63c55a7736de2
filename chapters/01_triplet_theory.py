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
# # Chapter 1 — FaceNet triplet theory
#
# *What an embedding is, what the triplet loss asks of it, and which negatives FaceNet and
# TensorFlow actually learn from.*
#
# **You will learn**
# - what an embedding network does, and why raw pixels are not yet a good one;
# - the FaceNet objective, the loss max(d(a,p) − d(a,n) + margin, 0), and what the margin does;
# - easy, semi-hard and hard negatives, and how FaceNet's semi-hard band differs from the rule
#   TensorFlow's semi-hard loss applies (the one the 2018 notebook copied);
# - online mining inside a batch versus precomputed (offline) triplets;
# - squared versus plain L2 distances, and why FaceNet L2-normalises its embeddings while the
#   2018 notebook did not.
#
# **Prerequisites:** chapter 0 (the data, P×K batches); NumPy; the idea of a gradient.
#
# **Run time:** about 15 seconds on a 2-core CPU in the reader profile with the offline data
# (measured: 16 s; nothing is trained).

# %%
import matplotlib.pyplot as plt
import numpy as np
import tensorflow as tf

from helpers import data, losses, reference, theory_plots
from helpers.config import PROFILE
from helpers.distances import pairwise_distances
from helpers.plotting import CLASS_COLORS, HARDNESS_COLORS, HARDNESS_MARKERS, PAIR_COLORS, SERIES_COLORS

print(f"TensorFlow {tf.__version__} | run profile: {PROFILE.name}")

# %% [markdown]
# ## Embeddings: images as short vectors
#
# A classifier answers "which of these ten digits is it?". An **embedding network** `f` answers a
# different question — "how alike are these two images?" — by mapping each image `x` to a short
# vector `f(x)` (64 numbers in the 2018 notebook) so that the distance between two vectors means
# dissimilarity: small for two images of the same kind, large otherwise. Nothing in that tells
# the network how many kinds there are, which is why FaceNet could recognise faces of people it
# never saw in training: it compares embeddings instead of predicting a class.
#
# Raw pixels are already a (784-dimensional) embedding. How well do their distances separate the
# digits? Let us measure it on test images.

# %%
mnist = data.load_course_data("auto")
n_images = min(PROFILE.pick(reader=2000, quick=500), len(mnist.y_test))
x = mnist.x_test[:n_images].reshape(n_images, -1)
y = mnist.y_test[:n_images]
d_pixels = pairwise_distances(x, "l2").numpy()

same = y[:, None] == y[None, :]
upper = np.triu(np.ones_like(same), k=1)
d_same, d_diff = d_pixels[same & upper], d_pixels[~same & upper]
nearest = np.where(np.eye(n_images, dtype=bool), np.inf, d_pixels).argmin(axis=1)
print(f"{n_images} test images ({mnist.source} data), plain L2 distance between pixel vectors")
print(f"same-class pairs: median {np.median(d_same):.2f} | different-class pairs: median {np.median(d_diff):.2f}")
print(f"different-class pairs closer than the median same-class pair: {np.mean(d_diff < np.median(d_same)):.1%}")
print(f"1-nearest-neighbour accuracy in pixel space: {np.mean(y[nearest] == y):.1%}")

# %%
fig, (left, right) = plt.subplots(1, 2, figsize=(12, 3.8))
bins = np.linspace(0, d_pixels.max(), 60)
left.hist(d_diff, bins=bins, density=True, alpha=0.55, color=PAIR_COLORS["negative"], label="different class")
left.hist(d_same, bins=bins, density=True, alpha=0.55, color=PAIR_COLORS["positive"], label="same class")
left.set(title="Pixel-space distances overlap", xlabel="L2 distance between two images",
         ylabel="density")
left.legend()
for c in range(10):
    rows = y == c
    right.bar(c - 0.2, d_pixels[rows][:, rows][upper[rows][:, rows] == 1].mean(), 0.4,
              color=CLASS_COLORS[c], edgecolor="black")
    right.bar(c + 0.2, d_pixels[rows][:, ~rows].mean(), 0.4, color=CLASS_COLORS[c], alpha=0.35,
              edgecolor="black", hatch="//")
right.set(title="Mean distance: same class (solid), other classes (hatched)",
          xlabel="digit class", ylabel="mean L2 distance", xticks=range(10))
fig.suptitle(f"Raw pixels as an embedding ({n_images} test images, {mnist.source} data)")
fig.tight_layout()
plt.show()

# %% [markdown]
# Same-class pairs are closer on average, but the two histograms overlap heavily: a large share of
# pairs of *different* digits is closer than a typical pair of the *same* digit (the printed
# fraction). Metric learning trains `f` to pull the two distributions apart — with a margin
# between them.
#
# ## The FaceNet objective
#
# FaceNet (Schroff et al., 2015) trains on **triplets**: an *anchor* `a`, a *positive* `p` of the
# same identity and a *negative* `n` of another. It asks that the anchor be closer to every
# positive than to every negative, by at least a margin α:
#
# $$\lVert f(a)-f(p)\rVert^2 + \alpha < \lVert f(a)-f(n)\rVert^2 ,$$
#
# with the embeddings on the unit sphere, $\lVert f(x)\rVert = 1$. Writing $d(a,b)$ for the squared
# L2 distance, the loss of one triplet is the hinge
#
# $$\ell(a,p,n) = \max\bigl(d(a,p) - d(a,n) + \alpha,\ 0\bigr).$$
#
# It is zero once the negative is at least α farther than the positive, and grows linearly as the
# negative comes closer. Without the margin (α = 0), a negative a hair farther than the positive
# would already cost nothing; the margin demands a gap, which is what makes neighbours of the same
# class *reliably* closer.

# %%
def triplet_loss(d_ap, d_an, margin=1.0):
    """The hinge of one triplet (or of arrays of triplets)."""
    return np.maximum(d_ap - d_an + margin, 0.0)


print("d_ap = 1, d_an = 0.5, 1.0, 1.5, 2.0, 3.0 ->", triplet_loss(1.0, np.array([0.5, 1, 1.5, 2, 3])))

# %% [markdown]
# ## Easy, semi-hard and hard negatives
#
# For a fixed anchor–positive pair, the negatives fall into three kinds. *Semi-hard* is FaceNet's
# word (FaceNet also calls the closest negative *hard*); *easy*, for the negatives beyond the
# margin, is this course's name — a common one, but not FaceNet's:
#
# | kind | where | loss |
# |---|---|---|
# | **hard** | not farther than the positive: d(a,n) ≤ d(a,p) | ≥ α |
# | **semi-hard** | farther than the positive, but inside the margin: d(a,p) < d(a,n) < d(a,p) + α | between 0 and α |
# | **easy** | beyond the margin: d(a,n) ≥ d(a,p) + α | 0 |
#
# In 2-D, with squared L2, the semi-hard negatives live in a ring around the anchor between the
# radii √d(a,p) and √(d(a,p) + α). Here is a toy set: an anchor, a positive at squared distance 1,
# and forty negatives scattered at random (fixed seed), margin α = 1.

# %%
rng = np.random.default_rng(3)
anchor, positive = np.array([0.0, 0.0]), np.array([0.8, 0.6])
negatives = rng.uniform(-2.3, 2.3, size=(40, 2))
margin = 1.0
d_ap = float(np.sum((positive - anchor) ** 2))
d_an = np.sum((negatives - anchor) ** 2, axis=1)
kinds = np.where(d_an <= d_ap, "hard", np.where(d_an < d_ap + margin, "semi-hard", "easy"))

fig, (scene, hinge) = plt.subplots(1, 2, figsize=(13, 5), gridspec_kw={"width_ratios": [1.35, 1]})
theory_plots.draw_mining_scene(scene, anchor, positive, negatives, kinds, margin,
                               title=f"Negatives of one anchor–positive pair (margin {margin:g})")
grid = np.linspace(0, d_an.max() * 1.05, 200)
hinge.plot(grid, triplet_loss(d_ap, grid, margin), color="black", lw=1.2, label="triplet loss")
for kind, colour in HARDNESS_COLORS.items():
    on = kinds == kind
    hinge.scatter(d_an[on], triplet_loss(d_ap, d_an[on], margin), color=colour, edgecolor="black",
                  marker=HARDNESS_MARKERS[kind], linewidth=0.5, zorder=3, label=kind)
hinge.axvspan(d_ap, d_ap + margin, color=HARDNESS_COLORS["semi-hard"], alpha=0.15)
hinge.axvline(d_ap, ls="--", color="black", lw=1)
hinge.axvline(d_ap + margin, ls=":", color="black", lw=1.2)
hinge.set(title="The loss each negative gives", xlabel="d(a, n) (squared L2)",
          ylabel="max(d(a,p) − d(a,n) + margin, 0)")
hinge.legend()
fig.tight_layout()
plt.show()

# %% [markdown]
# The margin sets the width of the semi-hard ring: a larger margin moves negatives from *easy* to
# *semi-hard*, so more of them contribute to the loss. Counting the kinds in the toy set for a few
# margins (this output is checked in CI):

# %% tags=["nbval-check-output"]
for m in (0.25, 0.5, 1.0, 2.0):
    k = np.where(d_an <= d_ap, "hard", np.where(d_an < d_ap + m, "semi-hard", "easy"))
    print(f"margin {m:4}: " + ", ".join(f"{kind} {np.sum(k == kind):2d}" for kind in ("hard", "semi-hard", "easy")))

# %% [markdown]
# Which negatives should training use? **Easy** ones give no gradient at all. The **hardest**
# ones (the closest negatives) give the largest loss, but FaceNet reports that selecting only
# those early in training can collapse the model (every image mapped to the same point, where
# all distances are 0 and every loss equals α). FaceNet therefore uses **semi-hard** negatives:
# informative (they violate the margin) without being the worst outliers.
#
# ## FaceNet's band versus TensorFlow's rule
#
# FaceNet's semi-hard negatives are *any* negatives in the band d(a,p) < d(a,n) < d(a,p) + α. The
# semi-hard loss of TensorFlow (`tf.contrib.losses.metric_learning.triplet_semihard_loss` in TF 1.x,
# later `tfa.losses.TripletSemiHardLoss`), which the 2018 notebook copied, applies a deterministic
# rule instead. For every anchor–positive pair it takes
#
# 1. the negative with the **smallest** d(a,n) that is **strictly greater** than d(a,p); or, if
#    there is none,
# 2. the **farthest** negative.
#
# The two agree only partly. `helpers.reference.semi_hard_choice` implements TensorFlow's rule
# with plain loops; here it is on three hand-made scenes (anchor at the origin, positive at
# squared distance 1, margin 1, negatives placed at the listed squared distances).

# %%
scenes = {
    "band populated": [0.5, 1.3, 1.7, 3.0, 5.0],
    "band empty, negatives beyond it": [0.4, 2.5, 4.0],
    "every negative closer than the positive": [0.3, 0.6, 0.8],
}
angles = np.deg2rad([100, 160, 220, 280, 330])
scene_points = {name: np.sqrt(d)[:, None] * np.c_[np.cos(angles[:len(d)]), np.sin(angles[:len(d)])]
                for name, d in scenes.items()}
positive_1 = np.array([1.0, 0.0])


def both_rules(name):
    """FaceNet's candidates, TF's choice (indices into the scene's negatives) and their squared
    distances (as listed: exact), for the pair (anchor, positive_1)."""
    points, d = scene_points[name], np.array(scenes[name])
    batch = np.vstack([anchor, positive_1, points])
    labels = np.r_[0, 0, np.arange(1, len(points) + 1)]
    tf_pick = reference.semi_hard_choice(labels, batch)[(0, 1)] - 2
    band = np.flatnonzero((d > 1.0) & (d < 1.0 + margin))
    return band, tf_pick, d


# %% tags=["nbval-check-output"]
for name in scenes:
    band, pick, d = both_rules(name)
    print(f"{name:40s} FaceNet band: {np.round(d[band], 2).tolist()!s:12s} "
          f"TF picks d(a,n) = {d[pick]:.2f} -> loss {triplet_loss(1.0, d[pick], margin):.2f}")

# %%
fig, axes = plt.subplots(1, 3, figsize=(14, 5.6))
for ax, (name, points) in zip(axes, scene_points.items()):
    band, pick, d = both_rules(name)
    kinds_here = np.where(d <= 1, "hard", np.where(d < 1 + margin, "semi-hard", "easy"))
    chosen = {"TensorFlow's choice": (pick, "s")}
    for i in band:
        chosen[f"FaceNet candidate {i}"] = (i, "o")
    theory_plots.draw_mining_scene(ax, anchor, positive_1, points, kinds_here, margin,
                                   chosen=chosen, legend=False, title=name)
    ax.set_xlim(-2.4, 2.4), ax.set_ylim(-2.4, 2.4)
handles = {}
for ax in axes:
    for h, label in zip(*ax.get_legend_handles_labels()):
        handles.setdefault("FaceNet candidate" if label.startswith("FaceNet") else label, h)
fig.legend(handles.values(), handles.keys(), loc="lower center", ncol=5, fontsize=9)
fig.suptitle("FaceNet's semi-hard band (rings) versus TensorFlow's rule (square)")
fig.tight_layout(rect=(0, 0.11, 1, 0.97))
plt.show()

# %% [markdown]
# - **Band populated**: TensorFlow's choice lies in the band, and it is always the innermost
#   negative — the hardest semi-hard one. FaceNet's criterion admits every negative of the band and
#   does not prescribe one of them.
# - **Band empty, negatives beyond it**: FaceNet has no semi-hard negative for this pair;
#   TensorFlow takes the nearest *easy* one, whose loss is 0 — the pair contributes nothing.
# - **Every negative closer than the positive**: FaceNet has no semi-hard negative again;
#   TensorFlow falls back to the farthest negative — a *hard* one (the least hard of them), with a
#   loss above the margin.
#
# So "semi-hard loss" in TensorFlow (and in this course's `helpers.losses`) means this rule — one
# fixed negative per positive pair — not FaceNet's criterion, which accepts any negative inside the
# band; the next chapter builds it.
#
# ## Online mining inside a batch
#
# The 2018 repository also had an *offline* version: precompute (anchor, positive, negative)
# index triples, and feed them to a three-branch network that embeds the three images with shared
# weights. Each triplet then costs three forward passes, and triplets mined with an old model go
# stale (most become easy) as the model improves.
#
# **Online mining** embeds one batch of B images once, and forms the triplets *inside* it from the
# current embeddings: every ordered positive pair (a,p) with a ≠ p, each with every negative of
# a. TensorFlow's semi-hard loss keeps one negative per positive pair; the "batch-all" loss keeps
# them all. Counting them for batches of 256 images:

# %%
def triplet_counts(labels):
    same = labels[:, None] == labels[None, :]
    positives = same.sum(axis=1) - 1
    return int(positives.sum()), int(positives @ (~same).sum(axis=1))


B = 256
random_batch = mnist.y_train[np.random.default_rng(0).choice(len(mnist.y_train), B, replace=False)]
pk_batch = mnist.y_train[next(data.pk_batch_indices(mnist.y_train, p=8, k=32, seed=0))]
counts = {"offline: 3 images per triplet": (B // 3, B // 3),
          "online, random batch": triplet_counts(random_batch),
          "online, P×K = 8×32": triplet_counts(pk_batch)}
for name, (pairs, triplets) in counts.items():
    print(f"{name:32s} positive pairs {pairs:6,d} | triplets {triplets:10,d}")

# %%
fig, ax = plt.subplots(figsize=(8, 3.6))
names = list(counts)
ax.bar(np.arange(3) - 0.2, [c[0] for c in counts.values()], 0.4, color=SERIES_COLORS[0],
       label="positive pairs (one semi-hard negative each)")
ax.bar(np.arange(3) + 0.2, [c[1] for c in counts.values()], 0.4, color=SERIES_COLORS[1],
       label="triplets (every negative)")
ax.set_yscale("log")
ax.set(xticks=range(3), xticklabels=names, ylabel="count per batch (log scale)",
       title=f"What one batch of {B} embedded images offers ({mnist.source} data labels)")
ax.legend(fontsize=9)
fig.tight_layout()
plt.show()

# %% [markdown]
# One batch of embeddings yields thousands of positive pairs and over a million triplets (the
# printed counts), against B // 3 = 85 for the offline version — and they are mined with the
# *current* model, every step. A class-balanced P×K batch guarantees K − 1 positives for every
# anchor; a random batch usually has them too when classes are few (10 digits) and the batch is
# large.
#
# ## Squared versus plain L2
#
# FaceNet and TensorFlow 1.x use the **squared** L2 distance; TF Addons (from version 0.11)
# defaults to the **plain** L2 distance. Same ranking of neighbours, different loss:
#
# - *The margin's units.* With squared distances, a negative at plain distance r' from the anchor
#   is easy once r'² ≥ r² + α, i.e. r' ≥ √(r² + α), r being the positive's plain distance: the gap
#   this demands shrinks as r grows (about α / 2r). With plain L2, it is α whatever r.
# - *The gradient.* ∂‖a − b‖²/∂a = 2(a − b) fades as points come close; ∂‖a − b‖/∂a = (a − b)/‖a − b‖
#   has length 1 everywhere — and is undefined where a = b: `sqrt`'s derivative is infinite at 0.

# %%
r = np.linspace(0.0, 3.0, 61)
pairs = tf.constant(np.c_[np.zeros_like(r), r, np.zeros_like(r), np.zeros_like(r)].reshape(-1, 2, 2))
grad_norm = {}
for distance in ("squared_l2", "l2"):
    with tf.GradientTape() as tape:
        tape.watch(pairs)
        d = tf.stack([pairwise_distances(p, distance)[0, 1] for p in tf.unstack(pairs)])
    grad_norm[distance] = tf.norm(tape.gradient(d, pairs)[:, 0], axis=1).numpy()

fig, (gap, grad) = plt.subplots(1, 2, figsize=(12, 3.8))
gap.plot(r, np.sqrt(r**2 + margin) - r, color=SERIES_COLORS[0], label="squared L2 loss: √(r² + α) − r")
gap.plot(r, np.full_like(r, margin), color=SERIES_COLORS[1], label="plain L2 loss: α")
gap.set(title=f"How much farther an easy negative must be (α = {margin:g})",
        xlabel="plain distance r = ‖f(a) − f(p)‖", ylabel="required extra plain distance")
gap.legend()
for distance, colour in zip(grad_norm, SERIES_COLORS):
    grad.plot(r, grad_norm[distance], color=colour, label=distance)
grad.set(title="Gradient length of d(a, b) with respect to a (TF, guarded at 0)",
         xlabel="plain distance ‖a − b‖", ylabel="‖∂d/∂a‖")
grad.legend()
fig.tight_layout()
plt.show()

# %% [markdown]
# At a = b the plain L2 gradient through a bare `tf.sqrt` is NaN (0 · ∞ in the chain rule) — and
# identical embeddings do happen, e.g. two copies of an image, or a collapsed model.
# `helpers.distances` guards the square root so that the gradient there is 0 (checked in CI):

# %% tags=["nbval-check-output"]
twins = tf.constant([[0.5, -1.0], [0.5, -1.0], [2.0, 0.0]])
with tf.GradientTape(persistent=True) as tape:
    tape.watch(twins)
    naive = tf.sqrt(tf.reduce_sum(tf.square(twins[0] - twins[1])))
    guarded = pairwise_distances(twins, "l2")[0, 1]
print("naive sqrt:  distance", naive.numpy(), "| gradient", tape.gradient(naive, twins)[0].numpy())
print("helpers:     distance", guarded.numpy(), "| gradient", tape.gradient(guarded, twins)[0].numpy())

# %% [markdown]
# ## Why FaceNet L2-normalises
#
# FaceNet puts every embedding on the unit sphere. Then squared L2 distances lie in [0, 4]
# (‖u − v‖² = 2 − 2 cos(u, v)) and a margin α has a fixed meaning: d(a,n) ≥ d(a,p) + α is
# cos(a,p) − cos(a,n) ≥ α/2, a fixed gap in cosine (not in angle: the same cosine gap is a wider
# angle near 0° than near 90°).
#
# The 2018 notebook's network ends in a linear Dense layer with no normalisation. Then the margin
# has no fixed meaning: multiplying every embedding by c multiplies every squared distance by c²,
# which leaves every neighbour ranking unchanged but pushes each correctly ordered triplet past
# the margin. A network can lower its loss just by growing its output. Watch it on a synthetic
# batch — ten Gaussian clusters in 64 dimensions, 20 points each (fixed seed):

# %%
rng = np.random.default_rng(0)
labels_64 = np.repeat(np.arange(10), 20)
points_64 = (rng.normal(size=(10, 64))[labels_64] + 1.2 * rng.normal(size=(200, 64))).astype("float32")
scales = np.geomspace(0.1, 10, 21)


def l2_normalise(v):
    return v / np.linalg.norm(v, axis=1, keepdims=True)


curves = {
    "unnormalised c·x": [losses.semi_hard_triplet_loss(labels_64, c * points_64).numpy() for c in scales],
    "L2-normalised (c·x)/‖c·x‖": [
        losses.semi_hard_triplet_loss(labels_64, l2_normalise(c * points_64)).numpy() for c in scales],
}
raw, unit = curves.values()
nn_accuracy = []
for c in scales:
    d_c = pairwise_distances(c * points_64).numpy() + np.diag(np.full(200, np.inf))
    nn_accuracy.append(np.mean(labels_64[d_c.argmin(1)] == labels_64))
assert len(set(nn_accuracy)) == 1  # scaling changes no neighbour
assert np.ptp(unit) < 1e-6  # normalising undoes the scaling
print(f"1-NN accuracy of this batch at every scale: {nn_accuracy[0]:.1%}")
print(f"loss at c = 0.1: {raw[0]:.3f}, at c = 1: {raw[10]:.3f}, at c = 10: {raw[-1]:.3f} "
      f"| L2-normalised: {unit[0]:.3f} at every scale")

# %%
fig, ax = plt.subplots(figsize=(7, 3.8))
for (name, values), colour in zip(curves.items(), SERIES_COLORS):
    ax.plot(scales, values, marker="o", ms=3, color=colour, label=name)
ax.set_xscale("log")
ax.set(title="Semi-hard loss (margin 1, squared L2) of the same batch, rescaled",
       xlabel="scale factor c", ylabel="loss")
ax.legend()
fig.tight_layout()
plt.show()

# %% [markdown]
# The neighbours never change — the 1-NN accuracy is the same at every scale — yet the
# unnormalised loss falls towards 0 as the scale grows. The normalised curve, computed at each of
# the 21 scales, is flat: (c·x)/‖c·x‖ = x/‖x‖ for every c > 0, so the loss sees the same
# embeddings, up to rounding, whatever the scale (the code checks both facts).
# Without normalisation, part of what training "learns" can be scale rather than structure;
# chapters 4 and 5 measure what normalising changes on MNIST.
#
# ## Summary
#
# - An embedding network maps images to vectors whose distances mean dissimilarity; raw pixels
#   are a weak one — their same-class and different-class distances overlap heavily.
# - The triplet loss max(d(a,p) − d(a,n) + α, 0) asks every negative to be α farther than the
#   positive. Hard negatives are no farther than the positive, semi-hard ones fall inside the
#   margin band, easy ones beyond it (loss 0).
# - TensorFlow's semi-hard rule picks the nearest negative strictly beyond the positive, else the
#   farthest negative. That is not FaceNet's band: it can pick an easy negative (loss 0) or a
#   hard one (loss ≥ α).
# - Online mining gets thousands of positive pairs from one batch of embeddings; offline triplets
#   cost three forward passes each and go stale.
# - Squared L2 (FaceNet, TF 1.x, the 2018 notebook) and plain L2 (TF Addons' default) rank alike
#   but differ in the margin's units and the gradient; plain L2 needs a guarded square root.
# - Normalised embeddings give the margin a fixed meaning; unnormalised ones let the loss fall by
#   scaling alone.
#
# ## Exercises
#
# Write your answer in place of `None`, then run the cell: the check prints a pass, or a hint.
#
# **1.1** Write `negative_kind(d_ap, d_an, margin)` that returns `"hard"`, `"semi-hard"` or
# `"easy"` for one negative, with the conventions of the table above (a negative exactly as far as
# the positive is hard; one exactly at d(a,p) + margin is easy).

# %%
from helpers.exercises import check

negative_kind = None  # your function here
check("1.1", negative_kind)

# %% [markdown]
# **1.2** Write `tf_choice(d_ap, d_an)`: given the distance of a positive and a 1-D array of the
# anchor's negative distances, return the **index** of the negative TensorFlow's semi-hard rule
# picks — the nearest one strictly farther than `d_ap`, else the farthest one; among equal
# distances the lowest index; `-1` when the array is empty.

# %%
tf_choice = None  # your function here
check("1.2", tf_choice)

# %% [markdown]
# **1.3** Without normalisation, scaling embeddings by c scales squared distances by c². Write
# `zero_loss_scale(labels, embeddings, margin)` that returns the smallest c ≥ 0 for which the
# semi-hard loss (squared L2) of `c * embeddings` is 0 — or `math.inf` when no scale can make it 0.
# Hint: scaling does not change which negative TensorFlow's rule picks.

# %%
zero_loss_scale = None  # your function here
check("1.3", zero_loss_scale)

# %% [markdown]
# **1.4** *A question.* Embeddings on the unit sphere, squared L2 distances, margin α = 0.2, as in
# FaceNet. An anchor and its positive have cosine similarity 0.9. Up to which cosine similarity
# with the anchor is a negative *easy* — its loss 0? Answer with a number.

# %%
easy_cosine = None  # a number
check("1.4", easy_cosine)

# %% [markdown]
# ## References
#
# - F. Schroff, D. Kalenichenko, J. Philbin, *FaceNet: A Unified Embedding for Face Recognition
#   and Clustering*, CVPR 2015, arXiv:1503.03832 — the triplet loss, semi-hard negatives, online
#   mining, L2-normalised embeddings.
# - K. Q. Weinberger, L. K. Saul, *Distance Metric Learning for Large Margin Nearest Neighbor
#   Classification*, JMLR 10 (2009) — the large-margin triplet idea (LMNN) FaceNet builds on.
# - R. Hadsell, S. Chopra, Y. LeCun, *Dimensionality Reduction by Learning an Invariant Mapping*,
#   CVPR 2006 — the contrastive (pairwise) loss.
# - A. Hermans, L. Beyer, B. Leibe, *In Defense of the Triplet Loss for Person Re-Identification*,
#   2017, arXiv:1703.07737 — batch-hard and batch-all mining, P×K batches.
# - C.-Y. Wu, R. Manmatha, A. J. Smola, P. Krähenbühl, *Sampling Matters in Deep Embedding
#   Learning*, ICCV 2017, arXiv:1706.07567 — how the choice of negatives shapes training.
# - TensorFlow Addons, `tfa.losses.TripletSemiHardLoss` —
#   https://www.tensorflow.org/addons/api_docs/python/tfa/losses/TripletSemiHardLoss
