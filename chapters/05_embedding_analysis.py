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
#   precision@1, R-precision and MAP@R — with 95 % bootstrap intervals over the test queries and
#   paired differences, so that a gap is called a gap only when it is larger than the noise;
# - how positive-pair and negative-pair distances change during training (histograms);
# - how to read nearest-neighbour galleries, mistakes included;
# - what t-SNE adds to PCA, and why its pictures must not be over-read.
#
# **Prerequisites:** chapter 4 (it saves the model analysed here; this chapter retrains it if the
# file is missing); PCA at the level of "project on the directions of largest variance".
#
# **Run time:** about a minute on a 2-core CPU in the reader profile when chapter 4's model is on
# disk (measured: 30 s on an idle machine), about 2.5 minutes when it has to be
# retrained (measured: 150 s); about a minute in the quick profile (measured: 53 s). Measured with
# `python -m helpers.book refresh 05_embedding_analysis` (quick: `TRIPLET_COURSE_PROFILE=quick
# python -m helpers.book run 05_embedding_analysis`).

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
from helpers import data, evaluation, models, plotting, training, uncertainty
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
# Chapter 4 saved the network it chose on its validation split to `runs/chapter4/embedding.keras`,
# with its recipe and the data it was trained on beside it in `embedding.json`. We load it; if it is
# not there (chapter 4 never ran on this machine) or was trained on other data than this run loads
# (another profile or MNIST source), we train chapter 4's CNN row again — the same recipe, the same
# epochs — and save it where chapter 4 would have.

# %%
RUNS = Path("..") / "runs" / "chapter4"  # chapters run from chapters/, so this is the repo's runs/
model_path, info_path = RUNS / "embedding.keras", RUNS / "embedding.json"

info = json.loads(info_path.read_text()) if info_path.is_file() else {}
if model_path.is_file() and info.get("data") == mnist.description:
    trained = models.load_embedding(model_path)
    print(f"loaded {model_path.as_posix()} — chapter 4's {info['name']!r}")
else:
    why = "is missing" if not (model_path.is_file() and info) else \
        f"was trained on other data ({info.get('data', 'not recorded')})"
    print(f"{model_path.as_posix()} {why}: training chapter 4's CNN row again …")
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
if "chosen_on" in info:
    print("chosen on:", info["chosen_on"])
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
# layout for a different network: the one loaded above, chapter 4's choice, whose name and
# recipe (from `embedding.json`) are printed above and in the title. It need not be the 2018 MLP
# trained with the 2018 recipe: chapter 4 chooses among several networks and recipes on its
# validation split. "Before" is the same network with the weights its training started from.

# %%
fig = plotting.plot_pca_before_after(
    emb_before, emb_after, y_test, names=("untrained network", "after training"),
    title=f"The 2018 figure's layout, for chapter 4's {info['name']!r} ({recipe['model']}, "
          f"{recipe['epochs']} epochs)\nPCA of {len(y_test):,} test embeddings ({mnist.source} data)")
plt.show()

# %% [markdown]
# After training, the classes pull apart into clusters; before, they overlap in a cloud. A picture
# is easy to over-read, so here is one number per panel: the precision@1 of leave-one-out search
# *inside the 2-D map* — how often a point's nearest neighbour in the picture is the same digit —
# and the paired difference of the two maps with a 95 % bootstrap interval (explained in the next
# section).

# %%
in_pca_map = {name: evaluation.retrieval_metrics(evaluation.pca_2d(emb)[0], y_test, per_query=True)
              for name, emb in (("untrained", emb_before), ("trained", emb_after))}
print(f"P@1 inside the 2-D PCA map: untrained network {in_pca_map['untrained']['precision_at_1']:.3f}, "
      f"after training {in_pca_map['trained']['precision_at_1']:.3f}")
pca_gain = uncertainty.paired_bootstrap(in_pca_map["trained"], in_pca_map["untrained"], "precision_at_1")
print(pca_gain.describe("trained map", "untrained map"))
assert pca_gain.low > 0, "the trained network's PCA map should separate the digits better than the untrained one's"

# %% [markdown]
# But the panel titles also say how much of the variance the two axes hold — a fraction of the
# picture. Two classes that overlap in the projection may be well apart in the dimensions not
# shown, and two that look apart may still have mixed neighbours. The figure is an illustration;
# the measurement in the full embedding space comes next.
#
# ## The numbers behind the picture
#
# Leave-one-out retrieval within the test split, as in chapter 4: raw pixels, the untrained
# network and the trained one.

# %%
TRAINED = f"trained ({info['name']})"
table = {
    "raw pixels": evaluation.retrieval_metrics(pixels, y_test, per_query=True),
    "untrained network": evaluation.retrieval_metrics(emb_before, y_test, per_query=True),
    TRAINED: evaluation.retrieval_metrics(emb_after, y_test, per_query=True),
}
print(f"{mnist.description}\nleave-one-out over the {len(y_test):,} test images:")
print(evaluation.metrics_table(table))

# %% [markdown]
# How sure are these numbers? Retraining with other seeds would measure the noise of training;
# this chapter does not retrain, but it can measure the noise of the test set itself. The test
# images are a sample: another set of test digits would give other means. The bootstrap (Efron,
# 1979) estimates that noise from the sample alone: draw the queries again with replacement,
# recompute the mean, 1,000 times; the middle 95 % of those means is the interval
# (`helpers.uncertainty.bootstrap`, from the per-query values `retrieval_metrics(...,
# per_query=True)` returns).

# %%
intervals = {name: {key: "{:.3f} [{:.3f}, {:.3f}]".format(m[key], *uncertainty.bootstrap(m, key))
                    for key in uncertainty.METRICS} for name, m in table.items()}
print(f"mean [95 % bootstrap interval] over the {len(y_test):,} test queries:")
print(evaluation.metrics_table(intervals, columns=uncertainty.METRICS))

# %% [markdown]
# Two rows measured on the *same* queries are best compared query by query: resampling the
# per-query differences (`paired_bootstrap`) cancels the noise both rows share (an easy query is
# easy for both), so the interval of a difference is narrower than the two rows' intervals
# suggest. A difference whose interval excludes 0 is "beyond the noise".

# %%
gains = {(baseline, key): uncertainty.paired_bootstrap(table[TRAINED], table[baseline], key)
         for baseline in ("raw pixels", "untrained network") for key in uncertainty.METRICS}
for (baseline, key), gain in gains.items():
    print(gain.describe("trained", baseline))
print()
untrained_vs_pixels = {key: uncertainty.paired_bootstrap(table["untrained network"], table["raw pixels"], key)
                       for key in uncertainty.METRICS}
for key, difference in untrained_vs_pixels.items():
    print(difference.describe("untrained network", "raw pixels"))

# %% [markdown]
# Training lifts R-precision and MAP@R far beyond the noise, against both baselines — the metrics
# that ask for *all* of a class's images near the top, not only the single nearest one. Its gain in
# P@1 is much smaller; over raw pixels it can even stay within the noise after short training
# (measured in the quick profile: chapter 4's 3-epoch MLP and this chapter's 2-epoch fallback CNN
# came within ±0.01 of raw pixels' P@1, within the noise). P@1 (and k-NN accuracy) are forgiving: a digit
# needs only one close look-alike, which is why raw pixels already score far higher on P@1 than on
# MAP@R.
#
# The untrained network is far from useless: random weights keep much of which images are close
# to each other. Whether it lands above or below raw pixels is printed just above; either way its
# MAP@R gap to raw pixels is less than half of what training adds. The cell below checks each of
# these sentences, so that a future run that breaks one fails loudly instead of leaving the prose
# wrong.

# %%
for baseline in ("raw pixels", "untrained network"):
    for key in ("r_precision", "map_at_r"):
        assert gains[baseline, key].low > 0, gains[baseline, key].describe("trained", baseline)
        assert gains[baseline, key].difference > gains[baseline, "precision_at_1"].difference, (baseline, key)
raw = table["raw pixels"]
assert raw["precision_at_1"] > 2 * raw["map_at_r"], raw  # P@1 forgives, MAP@R does not
assert abs(untrained_vs_pixels["map_at_r"].difference) < gains["untrained network", "map_at_r"].difference / 2
print("checked: the sentences above hold for these numbers")

# %% [markdown]
# ## Distances between pairs
#
# The triplet loss asks for every positive pair (same digit) to be closer than every negative pair
# (different digits) by a margin. Histograms of the two kinds of distance show how far the
# trained network got — the less they overlap, the better retrieval works. One number measures the
# overlap: the share of negative pairs closer than the median positive pair. The loss used squared
# L2 (the recipe above; the cell checks it), so we plot that, with a dashed line at the recipe's
# margin. The line marks the margin's size on the distance axis: a triplet costs nothing only
# when its negative pair is at least the margin farther than its positive pair, so a negative pair
# left of the line gives a loss even with a positive pair at distance 0.

# %%
assert recipe["distance"] == "squared_l2", recipe["distance"]  # the margin is in squared L2 units
fig, axes = plt.subplots(1, 2, figsize=(11, 4), sharey=True)
pairs = {}
for ax, emb, name in zip(axes, (emb_before, emb_after), ("untrained network", "after training")):
    plotting.plot_distance_histograms(emb, y_test, squared=True, margin=recipe["margin"], ax=ax, title=name)
    positive, negative = plotting.pair_distances(emb, y_test, squared=True)
    pairs[name] = {"positive": np.median(positive), "negative": np.median(negative),
                   "overlap": np.mean(negative < np.median(positive))}
    print(f"{name:>18}: median positive {pairs[name]['positive']:.3f}, median negative "
          f"{pairs[name]['negative']:.3f}, negative pairs closer than the median positive pair: "
          f"{pairs[name]['overlap']:.2%}")
fig.suptitle(f"Squared L2 distances between test embeddings (dashed: the margin used in training, {recipe['margin']:g})")
fig.tight_layout()
plt.show()

# %% [markdown]
# Which way did each kind of pair move? The printed medians say (and the cell below prints it as a
# sentence). The big move is on the negative side: their median more than doubles. The positive
# pairs move far less — and not necessarily closer (measured in the quick profile: after 2 epochs
# on 2,000 images, this chapter's fallback CNN moved their median *up*, from 0.26 to 0.37). Before
# training, even different digits sit near each other (the untrained medians above); the triplet
# loss is relative — it asks for a *gap* between positive and negative pairs, not for small
# positive distances — and most of the gap comes from pushing different digits apart. The overlap
# falls several-fold.

# %%
before, after = pairs["untrained network"], pairs["after training"]
for kind in ("positive", "negative"):
    print(f"median {kind}-pair distance: {before[kind]:.3f} -> {after[kind]:.3f} "
          f"({'down' if after[kind] < before[kind] else 'up'} {abs(after[kind] - before[kind]):.3f})")
print(f"negative pairs closer than the median positive pair: {before['overlap']:.2%} -> {after['overlap']:.2%}")
assert after["negative"] > 2 * before["negative"], (before, after)
assert abs(after["positive"] - before["positive"]) < (after["negative"] - before["negative"]) / 3, (before, after)
assert after["overlap"] < before["overlap"] / 4, (before, after)

# %% [markdown]
# ## Nearest neighbours, mistakes included
#
# For a few test queries, the eight nearest *other* test images, nearest first. A neighbour of
# another class gets a thick black frame and a ✗ after its label (a right one, a thin green frame).
# Half the queries are random; the other half are chosen among the
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
# Look at the black frames: how many are digits a person might hesitate over too? The same queries,
# searched in raw pixel space, for comparison (half of these queries were picked for the trained
# embedding's mistakes, so the count of black frames below is not a fair comparison — the table is):

# %%
pixel_neighbours = evaluation.nearest_neighbours(pixels, k=8)
fig = plotting.plot_neighbour_gallery(x_test[queries], y_test[queries], x_test, y_test, pixel_neighbours[queries],
                                      max_queries=8, title="Raw pixels")
plt.show()
for name, found in (("trained embedding", neighbours), ("raw pixels", pixel_neighbours)):
    print(f"black frames, {name}: {int((y_test[found[queries]] != y_test[queries, None]).sum())} "
          f"of {found[queries].size}")

# %% [markdown]
# ## An optional extra: t-SNE
#
# PCA is linear and keeps the large distances; t-SNE (van der Maaten & Hinton, 2008) bends the
# space to keep each point's *neighbourhood*. We run it on a random subset of the test split, for
# raw pixels and for the trained embedding, and then measure both kinds of map the same way as the
# PCA figure above: precision@1 inside the 2-D picture.
#
# Read t-SNE pictures with care: cluster sizes and the gaps between clusters mean little, and the
# layout changes with the perplexity and the seed.

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

# %%
in_map = {}
for name, points in (("raw pixels", pixels), ("trained embedding", emb_after)):
    for method, projected in (("PCA", evaluation.pca_2d(points[subset])[0]), ("t-SNE", maps[name])):
        in_map[name, method] = evaluation.retrieval_metrics(projected, y_test[subset], per_query=True)
        print(f"P@1 inside the 2-D {method:>5} map of {name}: {in_map[name, method]['precision_at_1']:.3f}")
for name in ("raw pixels", "trained embedding"):
    tsne_vs_pca = uncertainty.paired_bootstrap(in_map[name, "t-SNE"], in_map[name, "PCA"], "precision_at_1")
    print(tsne_vs_pca.describe("t-SNE", "PCA") + f" ({name})")
    assert tsne_vs_pca.low > 0, name
tsne_gap = in_map["trained embedding", "t-SNE"]["precision_at_1"] - in_map["raw pixels", "t-SNE"]["precision_at_1"]
full_gap = gains["raw pixels", "map_at_r"].difference
print(f"trained embedding − raw pixels: {tsne_gap:+.3f} in P@1 inside the t-SNE maps, "
      f"{full_gap:+.3f} in MAP@R in the full space: the maps show {abs(tsne_gap) / full_gap:.0%} "
      f"of the full space's difference ({mnist.source} data, {PROFILE.name} profile)")
assert abs(tsne_gap) < full_gap  # the picture hides part of the difference, on any data

# %% [markdown]
# In two dimensions t-SNE keeps far more of each point's neighbourhood than PCA, for raw pixels and
# for the trained embedding alike (the intervals above exclude 0). It is so good at finding MNIST's
# classes that its map of raw pixels comes much closer to the trained embedding's than the full
# space does: the share printed above (on the offline subset a tenth or less of the full space's
# difference in the reader profile; on a stand-in of shifted copies, where shifts scatter raw
# pixels' neighbours, about half). The picture hides part of the difference on any data — which is
# exactly why the retrieval table, not the picture, is the evidence.

# %% [markdown]
# ## Summary
#
# - The 2018 figure's layout — a PCA of test embeddings before and after training, drawn here for
#   chapter 4's best network rather than the 2018 MLP — shows classes separating (nearest
#   neighbours inside the map agree more often after training), but two principal components hold
#   only part of the variance; it illustrates, it does not measure.
# - Measured leave-one-out on the test split, with 95 % bootstrap intervals over the queries, the
#   trained embedding beats both raw pixels and the same network untrained in R-precision and MAP@R
#   far beyond the noise; its gain in P@1 is much smaller. Raw pixels and the untrained network
#   differ in MAP@R by less than half of what training adds.
# - Training pushes negative pairs far apart; positive pairs move much less, not necessarily
#   closer — the loss asks for a gap, not for small distances. The remaining overlap of the two
#   histograms is where retrieval fails, and the galleries show what those failures look like.
# - In 2-D, t-SNE keeps neighbourhoods much better than PCA, even for raw pixels — so well that its
#   map of raw pixels comes far closer to the trained embedding's than the full space does: a
#   reason to trust the numbers over the pictures.
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
# **5.4** *Predict, then run.* The bootstrap interval of the mean precision@1 over 1,000 test queries
# has some width w. With 4,000 queries of the same kind, about how wide is it? (a) w/4; (b) w/2;
# (c) w — the bootstrap only reuses the queries it is given; (d) 2w. Write down your letter, then
# run the cell after it: it bootstraps simulated per-query values with
# `helpers.uncertainty.bootstrap`, and shows the measurement once you have predicted.

# %%
queries_prediction = None  # your prediction: "a", "b", "c" or "d"

# %%
rng = np.random.default_rng(0)
widths = {}
for n_queries in (1000, 4000):
    hits = (rng.random(n_queries) < 0.95).astype(float)  # each query's P@1: right 95 % of the time
    low, high = uncertainty.bootstrap({"per_query": {"precision_at_1": hits}}, "precision_at_1")
    widths[n_queries] = high - low
check("5.4", queries_prediction,
      measured=f"width {widths[1000]:.4f} with 1,000 queries, {widths[4000]:.4f} with 4,000 "
               f"({widths[4000] / widths[1000]:.2f} w)")

# %% [markdown]
# **5.5** *A question.* In the t-SNE section (offline subset), the map of raw pixels scored a
# precision@1 close to the trained embedding's map, although in the full space their MAP@R differ
# widely. What follows?
# (a) training adds little over raw pixels; (b) t-SNE fails on 784-dimensional pixels, so the score
# of their map means nothing; (c) a P@1 inside a t-SNE map rewards t-SNE's own care for
# neighbourhoods as much as the representation: judge the representation in its full space;
# (d) the PCA maps are the pictures to trust, since a linear projection distorts nothing.

# %%
tsne_answer = None  # your answer: "a", "b", "c" or "d"
check("5.5", tsne_answer)

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
# - B. Efron, *Bootstrap Methods: Another Look at the Jackknife*, The Annals of Statistics 7(1),
#   1–26, 1979 — the bootstrap.
# - scikit-learn, `sklearn.manifold.TSNE` and `sklearn.decomposition.PCA` —
#   https://scikit-learn.org/stable/modules/manifold.html#t-sne
