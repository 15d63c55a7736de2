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
# # Chapter 5 — PCA and embedding analysis
#
# *Draw the 2018 notebook's before-and-after PCA figure for chapter 4's best network, then look
# past it: retrieval numbers, distance histograms, nearest neighbours and t-SNE.*
#
# **You will learn**
# - what the 2018 figure shows — a PCA of test embeddings before and after training — and what it
#   cannot show;
# - how the trained embedding compares with raw pixels and with the same network untrained, in
#   precision@1, R-precision and MAP@R;
# - how positive-pair and negative-pair distances separate during training (histograms);
# - how to read nearest-neighbour galleries, mistakes included;
# - what t-SNE adds to PCA, and why its pictures must not be over-read.
#
# **Prerequisites:** chapter 4 (it saves the model analysed here; this chapter retrains it if the
# file is missing); PCA at the level of "project on the directions of largest variance".
#
# **Run time:** about 20 seconds on a 2-core CPU in the reader profile when chapter 4's model
# is on disk (measured: 21 s) (add about a minute when it has to be retrained); about 20 seconds in the quick profile.

# %%
import json
import time
from pathlib import Path

import keras
import matplotlib.pyplot as plt
import numpy as np
from sklearn.manifold import TSNE
from threadpoolctl import threadpool_limits

import helpers
from helpers import data, evaluation, models, plotting, training
from helpers.config import PROFILE

print(f"Keras {keras.__version__}, helpers {helpers.__version__} | run profile: {PROFILE.name}")

# %% [markdown]
# ## The data and the trained model
#
# The same data as chapter 4: the network never saw the test split that every number below comes
# from.

# %%
mnist = data.load_course_data("auto")
print(mnist.description)
x_test, y_test = mnist.x_test, mnist.y_test
print(f"test split: {len(y_test):,} images")

# %% [markdown]
# Chapter 4 saved its best embedding network to `runs/chapter4/embedding.keras`, with its recipe
# beside it in `embedding.json`. We load it; if it is not there (chapter 4 never ran on this machine),
# we train the chapter's CNN row again — the same recipe, the same epochs — and save it where chapter
# 4 would have.

# %%
RUNS = Path("..") / "runs" / "chapter4"  # chapters run from chapters/, so this is the repo's runs/
model_path, info_path = RUNS / "embedding.keras", RUNS / "embedding.json"

if model_path.is_file() and info_path.is_file():
    trained = models.load_embedding(model_path)
    info = json.loads(info_path.read_text())
    print(f"loaded {model_path.as_posix()} — chapter 4's {info['name']!r}")
else:
    print(f"{model_path.as_posix()} is missing: training chapter 4's CNN row again …")
    recipe = {**training.RECIPES["cnn"], "epochs": PROFILE.pick(reader=6, quick=2)}
    result = training.train_embedding("cnn", mnist, verbose=0, **recipe)
    trained = result.model
    info = {"name": "CNN, library recipe", "recipe": result.recipe, "data": mnist.description}
    model_path.parent.mkdir(parents=True, exist_ok=True)
    trained.save(model_path)
    info_path.write_text(json.dumps(info, indent=2))
    print(f"trained in {result.train_seconds:.0f} s and saved to {model_path.as_posix()}")
recipe = info["recipe"]
print("trained on:", info.get("data", "(not recorded)"))
print("recipe:", ", ".join(f"{k}={recipe[k]}" for k in
                           ("model", "epochs", "learning_rate", "margin", "distance", "l2_normalize")))

# %% [markdown]
# ## "Before training": the same network, untrained
#
# `keras.models.clone_model` rebuilds the saved model's architecture with freshly initialised
# weights. `train_embedding` seeds Keras and then builds the network, so seeding the same way first
# gives exactly the weights training started from.

# %%
keras.utils.set_random_seed(recipe["seed"])
untrained = keras.models.clone_model(trained)

emb_before = models.embed(untrained, x_test)
emb_after = models.embed(trained, x_test)
pixels = x_test.reshape(len(x_test), -1)

# %% tags=["nbval-check-output"]
print("same architecture:", [type(l).__name__ for l in untrained.layers] == [type(l).__name__ for l in trained.layers])
print("same weight shapes:", [w.shape for w in untrained.get_weights()] == [w.shape for w in trained.get_weights()])
print("different weights:", not all(np.array_equal(a, b) for a, b in zip(untrained.get_weights(), trained.get_weights())))
print("embedding size, before and after:", emb_before.shape[1], emb_after.shape[1], "| pixels:", pixels.shape[1])

# %% [markdown]
# ## The 2018 figure's layout, for chapter 4's best network
#
# The 2018 notebook ended with a picture of its MLP: the test embeddings projected on their first
# two principal components, before and after training, one colour per digit. We draw the same
# layout for a different network: the one loaded above, chapter 4's best by MAP@R, whose name and
# recipe (from `embedding.json`) are printed above and in the title. In chapter 4's committed run
# that is the small CNN trained with the library's recipe (L2-normalised, margin 0.5, P×K batches,
# augmentation) — not the 2018 MLP trained with the 2018 recipe. "Before" is the same network
# with the weights its training started from.

# %%
fig = plotting.plot_pca_before_after(
    emb_before, emb_after, y_test, names=("untrained network", "after training"),
    title=f"The 2018 figure's layout, for chapter 4's {info['name']!r} ({recipe['model']}, "
          f"{recipe['epochs']} epochs)\nPCA of {len(y_test):,} test embeddings ({mnist.source} data)")
plt.show()

# %% [markdown]
# After training, the classes pull apart into clusters; before, they overlap in a cloud. But the
# panel titles also say how much of the variance the two axes hold — a fraction of the picture.
# Two classes that overlap in the projection may be well apart in the dimensions not shown, and two
# that look apart may still have mixed neighbours. The figure is an illustration; the
# measurement comes next.
#
# ## The numbers behind the picture
#
# Leave-one-out retrieval within the test split, as in chapter 4: raw pixels, the untrained
# network and the trained one.

# %%
table = {
    "raw pixels": evaluation.retrieval_metrics(pixels, y_test),
    "untrained network": evaluation.retrieval_metrics(emb_before, y_test),
    f"trained ({info['name']})": evaluation.retrieval_metrics(emb_after, y_test),
}
print(f"{mnist.description}\nleave-one-out over the {len(y_test):,} test images:")
print(evaluation.metrics_table(table))

# %% [markdown]
# The untrained network is far from useless: random weights roughly keep which images are close to
# each other, so its row is not far from the raw pixels' one. Training is what lifts R-precision and
# MAP@R — the metrics that ask for *all* of a class's images near the top, not only the single
# nearest one. P@1 (and k-NN accuracy) are forgiving: a digit needs only one close look-alike, which
# is why raw pixels already score well on them.
#
# ## Distances between pairs
#
# The triplet loss asks for every positive pair (same digit) to be closer than every negative pair
# (different digits) by a margin. Histograms of the two kinds of distance show how far the
# trained network got — the less they overlap, the better retrieval works. The loss used squared
# L2 (the recipe above; the cell checks it), so we plot that, with a dashed line at the recipe's
# margin. The line marks the margin's size on the distance axis: a triplet costs nothing only
# when its negative pair is at least the margin farther than its positive pair, so a negative pair
# left of the line gives a loss even with a positive pair at distance 0.

# %%
assert recipe["distance"] == "squared_l2", recipe["distance"]  # the margin is in squared L2 units
fig, axes = plt.subplots(1, 2, figsize=(11, 4), sharey=True)
for ax, emb, name in zip(axes, (emb_before, emb_after), ("untrained network", "after training")):
    plotting.plot_distance_histograms(emb, y_test, squared=True, margin=recipe["margin"], ax=ax, title=name)
    positive, negative = plotting.pair_distances(emb, y_test, squared=True)
    print(f"{name:>18}: median positive {np.median(positive):.3f}, median negative {np.median(negative):.3f}, "
          f"negative pairs closer than the median positive pair: {np.mean(negative < np.median(positive)):.1%}")
fig.suptitle(f"Squared L2 distances between test embeddings (dashed: the margin used in training, {recipe['margin']:g})")
fig.tight_layout()
plt.show()

# %% [markdown]
# ## Nearest neighbours, mistakes included
#
# For a few test queries, the eight nearest *other* test images, nearest first. A neighbour of
# another class gets a red frame. Half the queries are random; the other half are chosen among the
# queries whose nearest neighbour is wrong — the trained embedding's worst cases.

# %%
neighbours = evaluation.nearest_neighbours(emb_after, k=8)
wrong = np.flatnonzero(y_test[neighbours[:, 0]] != y_test)
print(f"{wrong.size} of {len(y_test):,} test images have a nearest neighbour of another class")

rng = np.random.default_rng(0)
hard = rng.choice(wrong, size=min(4, wrong.size), replace=False)
easy = rng.choice(np.setdiff1d(np.arange(len(y_test)), hard), size=8 - hard.size, replace=False)
queries = np.concatenate([easy, hard])
fig = plotting.plot_neighbour_gallery(x_test[queries], y_test[queries], x_test, y_test, neighbours[queries],
                                      max_queries=8, title="Trained embedding")
plt.show()

# %% [markdown]
# Look at the red frames: how many are digits a person might hesitate over too? The same queries,
# searched in raw pixel space, for comparison:

# %%
fig = plotting.plot_neighbour_gallery(x_test[queries], y_test[queries], x_test, y_test,
                                      evaluation.nearest_neighbours(pixels, k=8)[queries],
                                      max_queries=8, title="Raw pixels")
plt.show()

# %% [markdown]
# ## An optional extra: t-SNE
#
# PCA is linear and keeps the large distances; t-SNE (van der Maaten & Hinton, 2008) bends the
# space to keep each point's *neighbourhood*, which usually gives far cleaner clusters. We run it on
# a random subset of the test split, for raw pixels and for the trained embedding.
#
# Read t-SNE pictures with care: cluster sizes and the gaps between clusters mean little, and the
# layout changes with the perplexity and the seed. Raw pixels already form clusters here — t-SNE is
# good at finding MNIST's classes — which is exactly why the retrieval table, not the picture, is
# the evidence.

# %%
n_points = min(PROFILE.pick(reader=1000, quick=500), len(y_test))
subset = np.random.default_rng(0).choice(len(y_test), size=n_points, replace=False)
start = time.perf_counter()
# Barnes–Hut t-SNE's OpenMP threads wait on each other at every iteration; on a busy 2-core
# machine one thread was several times faster than two (measured), so we use one.
with threadpool_limits(limits=1):
    maps = {name: TSNE(n_components=2, perplexity=30, init="pca", random_state=0).fit_transform(points[subset])
            for name, points in (("raw pixels", pixels), ("trained embedding", emb_after))}
print(f"t-SNE of {n_points:,} points, twice: {time.perf_counter() - start:.1f} s")

fig, axes = plt.subplots(1, 2, figsize=(11, 5))
for ax, (name, points) in zip(axes, maps.items()):
    for digit in range(10):
        mine = y_test[subset] == digit
        ax.scatter(points[mine, 0], points[mine, 1], s=6, color=plotting.CLASS_COLORS[digit],
                   label=str(digit), alpha=0.8, linewidths=0)
    ax.set(title=f"{name} ({points.shape[0]:,} test images)", xlabel="t-SNE 1", ylabel="t-SNE 2")
axes[1].legend(title="digit", loc="center left", bbox_to_anchor=(1.01, 0.5), markerscale=3)
fig.suptitle(f"t-SNE (perplexity 30) of test images — {mnist.source} data")
fig.tight_layout()
plt.show()

# %% [markdown]
# ## Summary
#
# - The 2018 figure's layout — a PCA of test embeddings before and after training, drawn here for
#   chapter 4's best network rather than the 2018 MLP — shows classes separating, but two principal
#   components hold only part of the variance; it illustrates, it does not measure.
# - Measured leave-one-out on the test split, the trained embedding beats both raw pixels and the
#   same network untrained, most clearly in R-precision and MAP@R (the table above).
# - Training pushes positive-pair distances down and negative-pair distances up; the overlap of
#   the two histograms is where retrieval fails, and the galleries show what those failures look like.
# - t-SNE draws cleaner clusters than PCA, even from raw pixels — a reason to trust the numbers over
#   the pictures.
#
# ## Exercises
#
# Write your answer in place of `None`, then run the cell: the check prints a pass, or a hint.
#
# **5.1** Write `pca2(x)` with NumPy only: the projections `(N, 2)` of the rows of `x` `(N, D)` on
# its first two principal components (an axis may come out with either sign).

# %%
from helpers.exercises import check

pca2 = None  # your function here
check("5.1", pca2)

# %% [markdown]
# **5.2** Write `nn_mistakes(embeddings, labels)`: the indices of the queries whose nearest
# neighbour among the *other* points (Euclidean distance) has a different label — the rows the
# gallery above samples its hard cases from.

# %%
nn_mistakes = None  # your function here
check("5.2", nn_mistakes)

# %% [markdown]
# **5.3** One number for the histograms: write `separation(embeddings, labels)`, the probability that
# a random positive pair is closer (Euclidean) than a random negative pair, over all pairs `i < j`;
# a tie counts one half. (1.0: the histograms do not overlap; 0.5: no better than chance.)

# %%
separation = None  # your function here
check("5.3", separation)

# %% [markdown]
# ## References
#
# - K. Pearson, *On lines and planes of closest fit to systems of points in space*, Philosophical
#   Magazine 2(11), 559–572, 1901 — principal component analysis.
# - L. van der Maaten, G. Hinton, *Visualizing Data using t-SNE*, Journal of Machine Learning
#   Research 9, 2579–2605, 2008.
# - M. Wattenberg, F. Viégas, I. Johnson, *How to Use t-SNE Effectively*, Distill, 2016 —
#   https://distill.pub/2016/misread-tsne/
# - F. Schroff, D. Kalenichenko, J. Philbin, *FaceNet: A Unified Embedding for Face Recognition and
#   Clustering*, CVPR 2015, arXiv:1503.03832.
# - A. Hermans, L. Beyer, B. Leibe, *In Defense of the Triplet Loss for Person Re-Identification*,
#   2017, arXiv:1703.07737.
# - K. Musgrave, S. Belongie, S.-N. Lim, *A Metric Learning Reality Check*, ECCV 2020,
#   arXiv:2003.08505 — precision@1, R-precision, MAP@R.
# - scikit-learn, `sklearn.manifold.TSNE` and `sklearn.decomposition.PCA` —
#   https://scikit-learn.org/stable/modules/manifold.html#t-sne
