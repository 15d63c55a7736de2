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
# # Chapter 6 — Retrieving digits never seen in training
#
# *Train on the digits 0–6 only, then ask the embedding to tell apart 7, 8 and 9 — classes it has
# never seen — as FaceNet tells apart faces of people outside its training set.*
#
# **You will learn**
# - why metric learning is judged on classes held out of training, and how to split data for it;
# - how to compare objectives fairly: one network, one optimiser and schedule, one batch sampler,
#   several seeds — only the loss differs;
# - how a triplet embedding compares, on unseen classes, with raw pixels and with the penultimate
#   features of a plain softmax classifier and of a normalised ("cosine") softmax classifier;
# - how to read retrieval numbers (precision@1, R-precision, MAP@R) against their chance levels,
#   and why seen and unseen classes must be compared with equally many classes.
#
# **Prerequisites:** chapters 2 (the semi-hard loss), 4 (training) and 5 (retrieval metrics).
#
# **Run time:** about 2 minutes in the reader's profile on a 2-core CPU with the offline data
# (measured: 125 s on an otherwise idle machine, `python -m helpers.book run 06_unseen_digits`; nine
# small CNNs are trained: three objectives × three seeds), the same with full MNIST, which the
# reader profile cuts to 4,000 / 1,000 images; about 80 seconds in the quick profile (measured: 81 s).

# %%
import itertools
import time

import keras
import matplotlib.pyplot as plt
import numpy as np
import tensorflow as tf
from threadpoolctl import threadpool_limits

from helpers import data, evaluation, models, plotting
from helpers.config import PROFILE
from helpers.losses import SemiHardTripletLoss
from helpers.training import RECIPES, train_embedding
from helpers.uncertainty import METRICS, compare_seeds, seed_summary, spread_table

# Nine models train one after the other; each gets its own freshly traced training step, and
# TensorFlow counts those expected traces as "retracing". Hide exactly that message.
tf.get_logger().addFilter(lambda record: "triggered tf.function retracing" not in record.getMessage())
chapter_start = time.perf_counter()
mnist = data.load_course_data("auto")
print(mnist.description, "| profile:", PROFILE.name)

# %% [markdown]
# ## An open-set split, measured on equal footing
#
# A classifier answers "which of the classes I know is this?". FaceNet answers a different question:
# "are these two faces the same person?" — for people it never met. Its embedding must *generalise
# across classes*, not just across images. We test exactly that on MNIST:
#
# - **training**: the training-split images of the digits 0–6, and nothing else;
# - **unseen**: the test-split images of 7, 8 and 9 — three classes no model ever sees;
# - **seen**: the test-split images of the digits 0–6, taken three digits at a time — every one of
#   the 35 groups of three digits ({0,1,2}, {0,1,3}, …, {4,5,6}) is searched on its own, and the
#   35 scores are averaged.
#
# Why groups of three? A retrieval score depends on how many classes compete. Among 7 classes a
# random ranking puts a same-class image first about 1 time in 7; among 3 classes, 1 time in 3.
# Comparing seen digits searched among 7 with unseen digits searched among 3 would mix that
# difference into the "generalisation gap". With three digits and the same number of test images
# per digit on both sides (the offline subset is stratified), the chance levels match, and a drop
# from seen to unseen is no longer arithmetic. (The training-split images of 7–9 stay unused.)

# %%
SEEN, UNSEEN = np.arange(7), np.array([7, 8, 9])
GROUPS = [list(group) for group in itertools.combinations(SEEN.tolist(), 3)]
train_seen = np.isin(mnist.y_train, SEEN)
x_seen, y_seen = mnist.x_train[train_seen], mnist.y_train[train_seen]
x_test, y_test = mnist.x_test, mnist.y_test
unseen_at = np.isin(y_test, UNSEEN)
group_at = [np.isin(y_test, group) for group in GROUPS]
per_digit = np.bincount(y_test, minlength=10)


def span(values):
    return f"{min(values)}" if min(values) == max(values) else f"{min(values)}–{max(values)}"


print(f"training on {len(y_seen):,} images of digits {SEEN.tolist()}")
print(f"unseen queries: {unseen_at.sum():,} test images of {UNSEEN.tolist()} "
      f"({span(per_digit[UNSEEN])} per digit)")
print(f"seen queries: {len(GROUPS)} groups of 3 digits, {span([g.sum() for g in group_at])} test images "
      f"each ({span(per_digit[SEEN])} per digit)")

# %% tags=["nbval-check-output"]
print("no unseen digit in training:", not np.isin(y_seen, UNSEEN).any())
print("unseen classes:", np.unique(y_test[unseen_at]).tolist(), "| seen classes:", np.unique(y_seen).tolist())
print("seen groups:", len(GROUPS), "| classes per group:", sorted({len(np.unique(y_test[g])) for g in group_at}),
      "| every seen digit in", sorted({sum(d in g for g in GROUPS) for d in SEEN.tolist()}), "groups")

# %% [markdown]
# ### Chance levels
#
# What does a *random* ranking score? For a query whose digit has `R` other images among the `M`
# other images searched, every rank holds a same-digit image with probability `R/M`, so precision@1
# and R-precision are both `R/M` on average. MAP@R averages precision at the ranks of the hits;
# the hit at rank `i` comes with, on average, `1 + (i−1)(R−1)/(M−1)` hits up to it, which gives
# `(1/M) Σ_{i≤R} (1 + (i−1)(R−1)/(M−1)) / i` — lower than R-precision, because MAP@R rewards
# putting the hits *first*. We average over the queries.

# %%
# helpers.openset.chance_levels computes exactly that formula (chapter 7 reuses it).
from helpers.openset import chance_levels, mean_over_groups

chance = {"seen (35 groups of 3)": mean_over_groups([chance_levels(y_test[g]) for g in group_at]),
          "unseen (7, 8, 9)": chance_levels(y_test[unseen_at])}
print("chance levels of a random ranking:")
print(evaluation.metrics_table(chance, METRICS, digits=3))

# %% [markdown]
# ## Three objectives, one recipe
#
# All three models are the course's small CNN (`helpers.models.build_cnn`, a 64-dimensional
# output), trained by the same function, `helpers.training.train_embedding`, with the same
# optimiser (Adam), learning-rate schedule (cosine decay), epochs, class-balanced batches (P×K =
# 7 digits × 12 images: all seven seen digits in every batch, and small batches, so that a few
# epochs still make many updates) and random augmentation. Only the head and the loss differ:
#
# 1. **Triplet**: the CNN with an L2-normalised output and the semi-hard triplet loss (chapter 2),
#    margin and distance from the library's CNN recipe (`helpers.training.RECIPES["cnn"]`).
# 2. **Softmax**: the CNN without normalisation, then a 7-way `Dense` layer, trained with
#    cross-entropy. Its 64-d penultimate layer is a popular "free" embedding; we use it raw and
#    L2-normalised.
# 3. **Cosine softmax**: the CNN with an L2-normalised output, then `helpers.models.CosineSoftmax`
#    — a classifier whose logits are `scale · cos(feature, class weight)` (NormFace). It is still a
#    classifier, but it can only separate the classes by angle, which is the geometry that
#    nearest-neighbour search with cosine distance uses.
#
# `train_embedding` accepts any Keras model and any Keras loss on `(labels, outputs)`, so a
# classifier trains through it exactly like the triplet network; we keep a handle on its `features`
# sub-network to embed images. The recipe is the library's CNN recipe with fewer epochs (nine
# networks must train in a few minutes), and each objective is trained with seeds 0, 1 and 2.

# %%
# Updates matter, not epochs: 2 epochs of the reader's 2,800 images make 66 updates, 3 of the quick
# profile's 1,400 make 48; the full profile trains 5.
EPOCHS = PROFILE.pick(reader=2, quick=3, full=5)
SEEDS = (0, 1, 2)
recipe = dict(RECIPES["cnn"])
margin, distance = recipe.pop("margin"), recipe.pop("distance")  # the triplet loss's own settings
for key in ("seed", "l2_normalize", "batch_size"):  # seeds vary below, networks are built here,
    recipe.pop(key)                                  # and P×K sets the batch size
recipe.update(epochs=EPOCHS, pk=(7, 12), verbose=0)
print("shared recipe:", recipe)
print(f"{len(y_seen) // (7 * 12)} updates per epoch, {EPOCHS * (len(y_seen) // (7 * 12))} per run; "
      f"triplet loss: semi-hard, margin {margin}, {distance}; seeds {list(SEEDS)}")


def build(objective):
    """(model to train, its features sub-network, loss) for one objective."""
    if objective == "triplet":
        features = models.build_cnn(64, l2_normalize=True, name="triplet_features")
        return features, features, SemiHardTripletLoss(margin=margin, distance=distance)
    crossentropy = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    if objective == "softmax":
        features = models.build_cnn(64, l2_normalize=False, name="softmax_features")
        head = keras.layers.Dense(len(SEEN), name="softmax_head")
    else:
        features = models.build_cnn(64, l2_normalize=True, name="cosine_features")
        head = models.CosineSoftmax(len(SEEN), scale=16.0, name="cosine_head")
    classifier = keras.Sequential([features, head], name=f"{objective.replace(' ', '_')}_classifier")
    return classifier, features, crossentropy


# %%
OBJECTIVES = ("triplet", "softmax", "cosine softmax")
test_embeddings, recipes_used = {}, {}
for seed in SEEDS:
    for objective in OBJECTIVES:
        model, features, loss = build(objective)
        result = train_embedding(model, (x_seen, y_seen), loss=loss, seed=seed, **recipe)
        recipes_used[objective, seed] = result.recipe
        test_embeddings[objective, seed] = models.embed(features, x_test)
        note = ""
        if objective != "triplet":
            predicted = models.embed(model, x_test[~unseen_at]).argmax(axis=1)
            note = f", accuracy on the seen digits' test images {np.mean(predicted == y_test[~unseen_at]):.3f}"
        print(f"seed {seed} {objective:>14}: {EPOCHS} epochs in {result.train_seconds:5.1f} s, "
              f"loss {result.history['loss'][0]:.3f} → {result.history['loss'][-1]:.3f}{note}")

# %% [markdown]
# `train_embedding` records the settings it was called with. Checked here: for every seed, the
# three runs differ only in the model and the loss, and the seeds differ only in the seed.

# %% tags=["nbval-check-output"]
def settings(objective, seed, drop=("model", "loss", "mining", "seed")):  # mining: the loss's
    return {k: v for k, v in recipes_used[objective, seed].items() if k not in drop}


assert all(settings(o, s) == settings("triplet", 0) for o in OBJECTIVES for s in SEEDS)
assert all(recipes_used[o, s]["seed"] == s for o in OBJECTIVES for s in SEEDS)
print("identical settings except model and loss:", True, "| runs:", len(recipes_used))
print("losses:", sorted({recipes_used[o, 0]["loss"] for o in OBJECTIVES}))

# %% [markdown]
# ## Retrieval scores over three seeds
#
# Five representations of the same test images: raw pixels (784-d, no training, so no seed), the
# softmax classifier's penultimate features raw and L2-normalised, the cosine-softmax features
# (normalised by construction) and the triplet embedding. Every query is searched leave-one-out
# among the other images of its group, with Euclidean distance — on unit vectors that ranks like
# cosine distance.

# %%
def unit(v):
    return v / np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-12)


def representations(seed):
    softmax = test_embeddings["softmax", seed]
    return {"softmax features": softmax,
            "softmax features (normalised)": unit(softmax),
            "cosine-softmax features": test_embeddings["cosine softmax", seed],
            "triplet embedding": test_embeddings["triplet", seed]}


def score(embeddings):
    """(unseen metrics, seen metrics averaged over the 35 groups) of one representation."""
    unseen = evaluation.retrieval_metrics(embeddings[unseen_at], y_test[unseen_at])
    seen = mean_over_groups([evaluation.retrieval_metrics(embeddings[g], y_test[g]) for g in group_at])
    return unseen, seen


# 16 × 36 small searches: one scikit-learn thread each is faster than many competing ones.
with threadpool_limits(limits=1):
    raw_unseen, raw_seen = score(x_test.reshape(len(x_test), -1))
    unseen_runs, seen_runs = {"raw pixels": [raw_unseen]}, {"raw pixels": [raw_seen]}
    for seed in SEEDS:
        for name, embeddings in representations(seed).items():
            unseen, seen = score(embeddings)
            unseen_runs.setdefault(name, []).append(unseen)
            seen_runs.setdefault(name, []).append(seen)
NAMES = list(unseen_runs)
COLUMNS = ("precision_at_1", "r_precision", "map_at_r", "seeds")
print(f"SEEN digits, mean over the 35 groups of 3 ({mnist.source} data, {PROFILE.name} profile, "
      f"mean ± sd over seeds):")
print(evaluation.metrics_table(spread_table(seen_runs), COLUMNS))
print(f"\nUNSEEN digits 7, 8, 9 ({unseen_at.sum()} queries):")
print(evaluation.metrics_table(spread_table(unseen_runs), COLUMNS))
print("\nchance level, both:", ", ".join(f"{evaluation.METRIC_NAMES[k]} {chance['unseen (7, 8, 9)'][k]:.3f}"
                                         for k in METRICS))

# %% [markdown]
# Precision@1 only asks whether the single nearest neighbour is of the same digit; R-precision
# and MAP@R ask whether *all* images of that digit come first — a much stricter test of an
# embedding's geometry. Precision@1 is forgiving on MNIST: many test digits have a near-copy in
# pixel space, so the raw-pixel row shows how far plain pixel matching gets without any training.
#
# Which differences are real? With three seeds, the 95 % interval of a difference of means is
# wide; `compare_seeds` calls a difference "beyond the noise" only when that interval excludes
# zero. Raw pixels have no seed, so their single score is compared as a constant. The verdicts
# below are computed in this run — they differ between the quick and the reader profile — and
# the prose of this chapter states only the claims that the `assert`s further down check.

# %%
def runs(name, table):
    # Raw pixels do not depend on a seed: the same score stands for every seed.
    return table[name] * len(SEEDS) if len(table[name]) == 1 else table[name]


PAIRS = [("triplet embedding", "softmax features (normalised)"),
         ("triplet embedding", "cosine-softmax features"),
         ("cosine-softmax features", "softmax features (normalised)"),
         ("triplet embedding", "raw pixels"),
         ("softmax features (normalised)", "raw pixels"),
         ("cosine-softmax features", "raw pixels")]
for key in ("map_at_r", "precision_at_1"):
    print(f"UNSEEN digits, {evaluation.METRIC_NAMES[key]}:")
    for a, b in PAIRS:
        print("  " + compare_seeds(runs(a, unseen_runs), runs(b, unseen_runs), key).describe(a, b))

# %%
for key in ("precision_at_1", "map_at_r"):
    means = {name: seed_summary(unseen_runs[name])[key][0] for name in NAMES}
    ranking = sorted(NAMES, key=means.get, reverse=True)
    verdict = compare_seeds(runs(ranking[0], unseen_runs), runs(ranking[1], unseen_runs), key)
    print(f"highest mean unseen {evaluation.METRIC_NAMES[key]}: {ranking[0]} ({means[ranking[0]]:.3f}); "
          f"next {ranking[1]} ({means[ranking[1]]:.3f}), difference {'beyond' if verdict.beyond_noise else 'within'} "
          f"the noise; raw pixels rank {ranking.index('raw pixels') + 1} of {len(NAMES)}")

# %% [markdown]
# ## From seen to unseen
#
# Now that both sides have three digits and the same chance levels, the change in MAP@R from the
# seen groups to the unseen digits measures how much of each representation's geometry carries
# over to new classes. Two cautions when reading it: a representation that scores higher on the
# seen digits has more to lose, so look at the unseen scores themselves as well; and the seen
# groups are the digits the networks were trained on, so even raw pixels — trained on nothing —
# show whether 7, 8 and 9 are simply harder to tell apart than the average group of seen digits.

# %%
drops = {}
for name in NAMES:
    drops[name] = [s["map_at_r"] - u["map_at_r"] for s, u in zip(seen_runs[name], unseen_runs[name])]
    seen_mean, unseen_mean = (seed_summary(t[name])["map_at_r"][0] for t in (seen_runs, unseen_runs))
    spread = np.std(drops[name], ddof=1) if len(drops[name]) > 1 else 0.0
    print(f"{name:>30}: MAP@R seen {seen_mean:.3f} → unseen {unseen_mean:.3f}, "
          f"loss {np.mean(drops[name]):.3f} ± {spread:.3f}")
loss_runs = {name: [{"MAP@R lost from seen to unseen": d} for d in values] for name, values in drops.items()}
for other in ("softmax features (normalised)", "cosine-softmax features"):
    print("  " + compare_seeds(loss_runs["triplet embedding"], loss_runs[other],
                               "MAP@R lost from seen to unseen").describe("triplet embedding", other))

# %% [markdown]
# The claims this chapter makes in prose are checked on every run by the `assert`s below (each
# held with a clear margin in both profiles when this chapter was written; an assertion error
# means the data or the recipe changed what the chapter may say):
#
# 1. on the seen digits every trained representation beats raw pixels in MAP@R, in every seed;
# 2. on the seen digits the triplet embedding has the highest MAP@R: its worst seed beats every
#    seed of every other representation;
# 3. on the unseen digits the triplet embedding beats raw pixels in MAP@R, on average over the
#    seeds (not necessarily in every seed of the quick profile);
# 4. on the unseen digits every representation stays far above chance, in every seed: precision@1
#    by more than 0.3, MAP@R by more than 0.1 for every trained one and more than 0.05 for raw
#    pixels (they come closest on a stand-in of shifted copies, where shifts scatter their
#    neighbours: 0.10 above chance in MAP@R in the reader profile);
# 5. every representation, raw pixels included, loses MAP@R going from the seen groups to the
#    unseen digits, in every seed: every trained one more than 0.1, raw pixels more than 0.05 (on
#    the offline subset they lose about 0.15, on the stand-in of shifted copies 0.07).
#
# Everything else — whether the triplet embedding beats the classifiers on unseen digits, which
# representation has the best unseen precision@1, who loses the most — is left to the printed
# verdicts, because it changes with the profile and the seeds.

# %%
trained = [name for name in NAMES if name != "raw pixels"]
seen_map = {name: [run["map_at_r"] for run in seen_runs[name]] for name in NAMES}
unseen_map = {name: [run["map_at_r"] for run in unseen_runs[name]] for name in NAMES}
assert all(value > raw_seen["map_at_r"] + 0.1 for name in trained for value in seen_map[name])
assert all(min(seen_map["triplet embedding"]) > max(seen_map[name]) + 0.01
           for name in NAMES if name != "triplet embedding")
assert np.mean(unseen_map["triplet embedding"]) > raw_unseen["map_at_r"] + 0.03
assert all(run[key] > chance["unseen (7, 8, 9)"][key] + margin for name in trained for run in unseen_runs[name]
           for key, margin in (("precision_at_1", 0.3), ("map_at_r", 0.1)))
assert all(run[key] > chance["unseen (7, 8, 9)"][key] + margin for run in unseen_runs["raw pixels"]
           for key, margin in (("precision_at_1", 0.3), ("map_at_r", 0.05)))
assert all(drop > 0.1 for name in trained for drop in drops[name])
assert all(drop > 0.05 for drop in drops["raw pixels"])
print("checked: 5 claims")

# %% [markdown]
# ## A picture of the unseen digits
#
# PCA of the unseen test images in each representation (seed 0), fitted on those images
# themselves. Colours are the course's digit colours; 7, 8 and 9 were never shown to any network.

# %%
pictured = {"raw pixels": x_test[unseen_at].reshape(unseen_at.sum(), -1),
            **{name: emb[unseen_at] for name, emb in representations(0).items() if name != "softmax features"}}
fig, axes = plt.subplots(1, 4, figsize=(17, 4.4))
for ax, (name, emb) in zip(axes, pictured.items()):
    points, pca = evaluation.pca_2d(emb)
    for digit in UNSEEN:
        at = y_test[unseen_at] == digit
        ax.scatter(points[at, 0], points[at, 1], s=8, alpha=0.7, color=plotting.class_color(digit),
                   label=str(digit))
    ax.set_title(f"{name}\nMAP@R {unseen_runs[name][0]['map_at_r']:.3f} (seed 0), "
                 f"{pca.explained_variance_ratio_.sum():.0%} of variance shown", fontsize=10)
    ax.set_xlabel("principal component 1")
    ax.set_ylabel("principal component 2")
axes[0].legend(title="digit", markerscale=2)
fig.suptitle(f"Digits 7, 8, 9 — never seen in training ({mnist.source} data, {PROFILE.name} profile)")
fig.tight_layout()
plt.show()

# %%
print(f"this chapter took {time.perf_counter() - chapter_start:.0f} s up to here "
      f"({PROFILE.name} profile, {len(SEEDS) * len(OBJECTIVES)} networks trained)")

# %% [markdown]
# ## What this says about FaceNet
#
# FaceNet was trained on millions of faces of about eight million identities and then used on
# people it had never seen: verification (same person or not — a threshold on the distance),
# recognition (nearest neighbour in a gallery) and clustering, all from one embedding. The triplet
# loss makes that natural: it never learns "which class", it learns "closer than", a relation that
# is not tied to the training classes.
#
# That does not make the triplet loss the only way. A classifier's penultimate features also
# transfer, and normalised-softmax classifiers — NormFace, CosFace, ArcFace, the family of our
# cosine softmax — are known to transfer well: Musgrave et al.'s *A Metric Learning Reality Check*
# (2020) trained every method with the same network, optimiser and tuning budget and found such
# classification losses on par with the best pair and triplet losses on held-out classes, and the
# improvements of a decade of new losses over the old contrastive and triplet losses marginal.
#
# This chapter is a tiny version of that fair comparison, and its verdicts are the printed ones
# above, not this paragraph's. Keep in mind how small it is: seven training classes (FaceNet had
# about eight million identities, and every objective learns more transferable features from
# more, and more varied, classes), a few epochs, three seeds, and 50–100 test images per digit.
# Part of every drop from seen to unseen is not about training at all: raw pixels lose too, so 7,
# 8 and 9 are harder to tell apart than the average trio of 0–6. And MNIST's digits share
# strokes, so features learned on 0–6 carry over to 7–9 in part whatever the loss. Rerun with full
# MNIST (`TRIPLET_COURSE_DATA=keras`) and more epochs to see how the numbers move.
#
# ## Summary
#
# - Metric learning is judged on **classes held out of training**: split by class, not by image.
# - Compare seen and unseen classes **on equal footing** — the same number of classes and of images
#   per class — or the chance levels differ and the "generalisation gap" is partly arithmetic.
# - Compare objectives **fairly**: the same network, optimiser, schedule, batches, augmentation and
#   epochs, several seeds, and differences judged against the seed-to-seed spread.
# - Read retrieval numbers against chance: precision@1 is forgiving (raw pixels score high on it),
#   R-precision and MAP@R test the geometry of the whole space.
# - Measured here (and asserted): on the seen digits every trained representation beats raw pixels
#   in MAP@R and the triplet embedding beats them all; on the unseen digits the triplet embedding
#   beats raw pixels on average, everything stays far above chance, and every representation loses
#   MAP@R on classes it never saw. How the three objectives rank on the unseen digits, and whether
#   raw pixels' precision@1 is matched, is in the printed verdicts — with three seeds and seven
#   training classes they may well be called noise.
#
# ## Where this leaves us
#
# The course has built the semi-hard triplet loss, trained with it and measured what it learns,
# on seen and unseen digits. What remains open: how these comparisons change with many more
# training classes than MNIST's seven, with margins on the cosine classifier (CosFace, ArcFace),
# with longer training and tuning on a validation split of held-out classes, and on data where
# near-copies in pixel space are rarer than in MNIST. A closing chapter will gather these threads.
#
# ## Exercises
#
# Write your answer in place of `None`, then run the cell: the check prints a pass, or a hint.
#
# **6.1** *A question.* Suppose every digit had 50 test images. What precision@1 does a *random*
# ranking score on average, searching leave-one-out (i) the seven seen digits all together, and
# (ii) the three unseen digits? Answer with two numbers, `(seen, unseen)`, to three decimals.

# %%
from helpers.exercises import check

chance_answer = None  # your answer: (seen, unseen)
check("6.1", chance_answer)

# %% [markdown]
# **6.2** *An experiment.* The next cell builds an embedding that is, by construction, **equally
# good on every digit**: ten clusters of 100 points, one per digit, equally spread and equally far
# apart. It scores MAP@R three ways: the seven "seen" digits searched all together, the seen digits
# three at a time (this chapter's 35 groups), and the three "unseen" digits. Run it, then answer:
# what does comparing the seven seen digits searched together with the three unseen ones say about
# this embedding? (a) it generalises worse to the unseen digits; (b) it generalises better to the
# unseen digits; (c) nothing about generalisation: fewer digits compete in the unseen search, which
# raises every score there, chance included; (d) it is a fair comparison, since every digit has
# the same number of images.

# %%
rng = np.random.default_rng(0)
equal_digits = np.repeat(np.arange(10), 100)
equal_points = 2.0 * np.eye(10)[equal_digits] + 0.7 * rng.normal(size=(len(equal_digits), 10))


def equal_map_at_r(digits):
    at = np.isin(equal_digits, digits)
    return evaluation.retrieval_metrics(equal_points[at], equal_digits[at])["map_at_r"]


with threadpool_limits(limits=1):
    equal_scores = {"seven seen digits together": equal_map_at_r(SEEN),
                    "seen digits three at a time": np.mean([equal_map_at_r(group) for group in GROUPS]),
                    "three unseen digits": equal_map_at_r(UNSEEN)}
print("MAP@R of an embedding equally good on every digit:",
      ", ".join(f"{name} {value:.3f}" for name, value in equal_scores.items()))

# %%
equal_answer = None  # your answer: "a", "b", "c" or "d"
check("6.2", equal_answer)

# %% [markdown]
# ## References
#
# - F. Schroff, D. Kalenichenko, J. Philbin, *FaceNet: A Unified Embedding for Face Recognition and
#   Clustering*, CVPR 2015, arXiv:1503.03832.
# - K. Musgrave, S. Belongie, S.-N. Lim, *A Metric Learning Reality Check*, ECCV 2020,
#   arXiv:2003.08505 — R-precision and MAP@R, fair comparisons, and why held-out classes matter.
# - H. O. Song, Y. Xiang, S. Jegelka, S. Savarese, *Deep Metric Learning via Lifted Structured
#   Feature Embedding*, CVPR 2016, arXiv:1511.06452 — the split-by-class evaluation protocol.
# - F. Wang, X. Xiang, J. Cheng, A. L. Yuille, *NormFace: L2 Hypersphere Embedding for Face
#   Verification*, ACM Multimedia 2017, arXiv:1704.06369 — the normalised (cosine) softmax.
# - H. Wang, Y. Wang, Z. Zhou, X. Ji, D. Gong, J. Zhou, Z. Li, W. Liu, *CosFace: Large Margin Cosine
#   Loss for Deep Face Recognition*, CVPR 2018, arXiv:1801.09414.
# - J. Deng, J. Guo, N. Xue, S. Zafeiriou, *ArcFace: Additive Angular Margin Loss for Deep Face
#   Recognition*, CVPR 2019, arXiv:1801.07698.
