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
# - how a triplet embedding compares, on unseen classes, with raw pixels and with the penultimate
#   features of a softmax classifier trained on the same seven digits;
# - how to read retrieval numbers (precision@1, R-precision, MAP@R) on an open set.
#
# **Prerequisites:** chapters 2 (the semi-hard loss), 4 (training) and 5 (retrieval metrics).
#
# **Run time:** about 1 minute in the reader's profile on a 2-core CPU with the offline data
# (measured: 54 s; two small CNNs are trained); about 40 seconds in the quick profile.

# %%
import matplotlib.pyplot as plt
import numpy as np
import keras

from helpers import data, evaluation, models, pipeline, plotting
from helpers.config import PROFILE
from helpers.training import RECIPES, train_embedding

keras.utils.set_random_seed(6)
mnist = data.load_course_data("auto")
print(mnist.description, "| profile:", PROFILE.name)

# %% [markdown]
# ## An open-set split
#
# A classifier answers "which of the classes I know is this?". FaceNet answers a different question:
# "are these two faces the same person?" — for people it never met. Its embedding must *generalise
# across classes*, not just across images. We test exactly that on MNIST:
#
# - **seen** digits 0–6: the training images of these classes are all the model ever sees;
# - **unseen** digits 7, 8, 9: held out completely. Every image of them — from the training split
#   *and* the test split, since no model trains on either — becomes a retrieval query.
#
# For comparison we also keep the *test* images of the seen digits, to measure the usual closed-set
# retrieval.

# %%
SEEN, UNSEEN = np.arange(7), np.array([7, 8, 9])
train_seen = np.isin(mnist.y_train, SEEN)
x_seen, y_seen = mnist.x_train[train_seen], mnist.y_train[train_seen]
x_unseen = np.concatenate([mnist.x_train[~train_seen], mnist.x_test[np.isin(mnist.y_test, UNSEEN)]])
y_unseen = np.concatenate([mnist.y_train[~train_seen], mnist.y_test[np.isin(mnist.y_test, UNSEEN)]])
test_seen = np.isin(mnist.y_test, SEEN)
x_seen_test, y_seen_test = mnist.x_test[test_seen], mnist.y_test[test_seen]
print(f"training on {len(y_seen):,} images of digits {SEEN.tolist()}")
print(f"unseen queries: {len(y_unseen):,} images of digits {UNSEEN.tolist()}; "
      f"seen test queries: {len(y_seen_test):,}")

# %% tags=["nbval-check-output"]
print("no unseen digit in training:", not np.isin(y_seen, UNSEEN).any())
print("unseen classes:", np.unique(y_unseen).tolist(), "| seen classes:", np.unique(y_seen).tolist())

# %% [markdown]
# ## Two models from the same network, two objectives
#
# Both start from the course's small CNN (`helpers.models.build_cnn`, a 64-dimensional output):
#
# 1. **Triplet**: the CNN with an L2-normalised output, trained with the semi-hard triplet loss —
#    the library's CNN recipe from chapter 4 (`helpers.training.RECIPES["cnn"]`) with fewer epochs
#    and plain shuffled batches of 256: its P×K batches draw 10 digits, and only 7 are seen here.
# 2. **Softmax**: the same CNN without normalisation, followed by a 7-way softmax layer, trained with
#    cross-entropy. Its 64-d penultimate layer is a popular "free" embedding.
#
# Both train for the same number of epochs on the same images, with the same random augmentation.

# %%
EPOCHS = PROFILE.pick(reader=10, quick=4)
recipe = {**RECIPES["cnn"], "epochs": EPOCHS, "seed": 6, "pk": None, "batch_size": 256}
print("triplet recipe:", recipe)
triplet = train_embedding("cnn", (x_seen, y_seen), verbose=0, **recipe)
print(f"triplet CNN: {EPOCHS} epochs in {triplet.train_seconds:.1f} s, "
      f"loss {triplet.history['loss'][0]:.3f} → {triplet.history['loss'][-1]:.3f}")

# %%
features = models.build_cnn(64, l2_normalize=False, name="softmax_features")
classifier = keras.Sequential([features, keras.layers.Dense(len(SEEN), activation="softmax")],
                              name="softmax_classifier")
classifier.compile(optimizer=keras.optimizers.Adam(1e-3), loss="sparse_categorical_crossentropy",
                   metrics=["accuracy"])
# The same augmented batches as the triplet model, so that only the objective differs.
batches, steps = pipeline.training_batches(x_seen, y_seen, recipe["batch_size"], seed=6,
                                           augment=recipe["augment"])
fit = classifier.fit(batches, steps_per_epoch=steps, epochs=EPOCHS, shuffle=False, verbose=0)
test_accuracy = classifier.evaluate(x_seen_test, y_seen_test, verbose=0)[1]
print(f"softmax CNN: train accuracy {fit.history['accuracy'][-1]:.3f}, "
      f"accuracy on the seen digits' test images {test_accuracy:.3f}")

# %% [markdown]
# ## Retrieval among the unseen digits
#
# Every unseen image is a query against all the other unseen images (leave-one-out). We compare
# three representations of the same images: raw pixels (784-d), the classifier's penultimate
# features (64-d) and the triplet embedding (64-d). Euclidean distance for all, with the classifier
# features L2-normalised first — cosine distance, the fairer choice for softmax features (we show the
# raw version too).

# %%
def unit(v):
    return v / np.maximum(np.linalg.norm(v, axis=1, keepdims=True), 1e-12)


def representations(images):
    return {
        "raw pixels": images.reshape(len(images), -1),
        "softmax features": models.embed(features, images),
        "softmax features (normalised)": unit(models.embed(features, images)),
        "triplet embedding": models.embed(triplet.model, images),
    }


unseen_reps = representations(x_unseen)
unseen = {name: evaluation.retrieval_metrics(emb, y_unseen) for name, emb in unseen_reps.items()}
print(f"UNSEEN digits {UNSEEN.tolist()} ({len(y_unseen):,} queries, {mnist.source} data):")
print(evaluation.metrics_table(unseen))

# %%
seen_reps = representations(x_seen_test)
seen = {name: evaluation.retrieval_metrics(emb, y_seen_test) for name, emb in seen_reps.items()}
print(f"SEEN digits' test images ({len(y_seen_test):,} queries, {mnist.source} data):")
print(evaluation.metrics_table(seen))

# %% [markdown]
# Read the two tables side by side. On the **seen** digits both trained models beat raw pixels
# clearly: they were trained for exactly these classes. On the **unseen** digits, the question
# is which representation keeps the new classes apart. Precision@1 only asks whether the single
# nearest neighbour is right; R-precision and MAP@R ask whether *all* of the same digit come
# first — a much stricter test of an embedding's geometry, and the one where a metric-learning
# objective should matter most. The numbers above are measured in this run; the summary below
# quotes none, so that it stays true when you rerun with other data.

# %%
gap = {name: unseen[name]["map_at_r"] - seen[name]["map_at_r"] for name in unseen}
for name, drop in gap.items():
    print(f"{name:>30}: MAP@R seen {seen[name]['map_at_r']:.3f} → unseen {unseen[name]['map_at_r']:.3f} "
          f"({drop:+.3f})")

# %% [markdown]
# ## A picture of the unseen digits
#
# PCA of the unseen images in each representation, fitted on the unseen images themselves. Colours
# are the course's digit colours; 7, 8 and 9 were never shown to either network.

# %%
shown = ["raw pixels", "softmax features (normalised)", "triplet embedding"]
fig, axes = plt.subplots(1, 3, figsize=(14, 4.4))
for ax, name in zip(axes, shown):
    points, pca = evaluation.pca_2d(unseen_reps[name])
    for digit in UNSEEN:
        at = y_unseen == digit
        ax.scatter(points[at, 0], points[at, 1], s=6, alpha=0.6, color=plotting.class_color(digit),
                   label=str(digit))
    ax.set_title(f"{name}\nMAP@R {unseen[name]['map_at_r']:.3f}, "
                 f"{pca.explained_variance_ratio_.sum():.0%} of variance shown")
    ax.set_xlabel("principal component 1")
    ax.set_ylabel("principal component 2")
axes[0].legend(title="digit", markerscale=3)
fig.suptitle(f"Digits 7, 8, 9 — never seen in training ({mnist.source} data, {PROFILE.name} profile)")
fig.tight_layout()
plt.show()

# %% [markdown]
# ## What this says about FaceNet
#
# FaceNet was trained on millions of faces of about eight million identities and then used on
# people it had never seen: verification (same person or not — a threshold on the distance),
# recognition (nearest neighbour in a gallery) and clustering, all from one embedding. Nothing in
# its training named the people it would later meet. The triplet loss makes that possible because it
# never learns "which class": it learns "closer than", a relation that can transfer to new classes.
# A softmax classifier is rewarded only for separating the classes it knows; its features keep
# whatever happens to help that, and new classes land wherever they fall.
#
# Two caveats keep this honest. MNIST's digits share strokes, so features learned on 0–6 transfer
# partly to 7–9 whatever the loss; and seven training classes are very few — FaceNet's advantage
# grows with the number of training identities. The tables above are the measurement; rerun with
# full MNIST (`TRIPLET_COURSE_DATA=keras`) and more epochs to see how they move.
#
# ## Summary
#
# - Metric learning is judged on **classes held out of training**: split by class, not by image.
# - On unseen digits, compare representations by retrieval: precision@1, R-precision and MAP@R,
#   leave-one-out within the unseen set.
# - The triplet objective shapes the geometry of the whole space ("closer than"), which is what
#   lets FaceNet-style embeddings serve identities they never saw.
#
# ## Exercises
#
# **6.1** Write `open_set_split(labels, unseen)` returning a boolean mask that is `True` for the
# images a model may train on when the classes in `unseen` must stay unseen.

# %%
from helpers.exercises import check

open_set_split = None  # your function here
check("6.1", open_set_split)

# %% [markdown]
# **6.2** Write `precision_at_1(embeddings, labels)`: for every point, is its nearest *other* point
# (Euclidean distance) of the same class? Return the fraction that is.

# %%
precision_at_1 = None  # your function here
check("6.2", precision_at_1)

# %% [markdown]
# ## References
#
# - F. Schroff, D. Kalenichenko, J. Philbin, *FaceNet: A Unified Embedding for Face Recognition and
#   Clustering*, CVPR 2015, arXiv:1503.03832.
# - K. Musgrave, S. Belongie, S.-N. Lim, *A Metric Learning Reality Check*, ECCV 2020,
#   arXiv:2003.08505 — R-precision and MAP@R, and why held-out classes matter.
# - H. O. Song, Y. Xiang, S. Jegelka, S. Savarese, *Deep Metric Learning via Lifted Structured
#   Feature Embedding*, CVPR 2016, arXiv:1511.06452 — the split-by-class evaluation protocol.
