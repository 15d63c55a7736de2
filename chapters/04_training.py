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
# # Chapter 4 — Training on MNIST
#
# *Train the 2018 recipe exactly as it was, then measure — on digits the network never saw — what
# each modern change buys.*
#
# **You will learn**
# - how to train an embedding network with `helpers.training.train_embedding`, and what the
#   2018 recipe (MLP, label concatenation, margin 1, squared L2, batch 256, Adam 1e-4) achieves;
# - how to measure an embedding the way Musgrave et al. (2020) recommend: precision@1,
#   R-precision and MAP@R on a held-out split, each test image searched against all the others;
# - which changes matter — learning rate, L2 normalisation, margin, P×K batches, a CNN — in one
#   table of measured numbers, and learning curves that show *when* a run stops improving;
# - how to checkpoint a run and resume it after an interruption, and how to save the embedding
#   model for later chapters.
#
# **Prerequisites:** chapters 2 (the semi-hard loss) and 3 (the two wirings); Keras' `fit`.
#
# **Run time:** about 1½ minutes on a 2-core CPU in the reader profile with the offline subset (measured: 85 s)
# (full MNIST has 15× as many training images, and training time grows with them); about 1 minute in
# the quick profile.

# %%
import json
from pathlib import Path

import keras
import matplotlib.pyplot as plt
import numpy as np
import tensorflow as tf

import helpers
from helpers import data, evaluation, models, plotting, training
from helpers.config import PROFILE

# This chapter trains many models one after the other; each gets its own freshly traced training
# step, and TensorFlow counts those expected traces as "retracing". Hide exactly that message.
tf.get_logger().addFilter(lambda record: "triggered tf.function retracing" not in record.getMessage())

print(f"TensorFlow {tf.__version__}, Keras {keras.__version__}, helpers {helpers.__version__} "
      f"| run profile: {PROFILE.name}")

# %% [markdown]
# ## The data
#
# Every number in this chapter is measured on the data the next cell loads — full MNIST when it is
# available, otherwise the offline subset of real MNIST digits (chapter 0). The networks train on
# the training split only; every metric comes from the test split.

# %%
mnist = data.load_course_data("auto")
print(mnist.description)
x_test, y_test = mnist.x_test, mnist.y_test
print(f"{PROFILE.name} profile: training on {len(mnist.y_train):,} images, "
      f"measuring on {len(y_test):,} held-out test images")

# %% [markdown]
# ## How we measure an embedding
#
# A triplet loss going down says the *training* batches got easier, not that the embedding is good.
# What we want is retrieval: given a digit the network never saw, are its nearest neighbours the
# same digit? Following Musgrave, Belongie & Lim (2020) we search the test split leave-one-out —
# each test image is a query, all *other* test images are the gallery — and report:
#
# - **precision@1 (P@1)** — how often the nearest neighbour has the query's class;
# - **R-precision** — with R the number of other images of the query's class, the fraction of
#   correct items among the R nearest;
# - **MAP@R** — like R-precision, but a correct item counts more when it ranks earlier (the mean
#   of the precision at each correct rank within the first R). It is the strictest of the three.
#
# `helpers.evaluation.retrieval_metrics` computes all three (and k-NN accuracy). Raw pixels are the
# baseline a trained embedding has to beat.

# %%
def held_out(model):
    """Retrieval metrics of ``model``'s embeddings of the test split (leave-one-out)."""
    return evaluation.retrieval_metrics(models.embed(model, x_test), y_test)


COLUMNS = ("precision_at_1", "r_precision", "map_at_r", "epochs", "train s")
table = {"raw pixels (no training)": evaluation.retrieval_metrics(x_test.reshape(len(x_test), -1), y_test)}
print(evaluation.metrics_table(table, COLUMNS))

# %% [markdown]
# To see *when* a run stops improving, a small Keras callback measures the held-out MAP@R after
# every epoch. It only watches; nothing is tuned on it.

# %%
class HeldOutCurve(keras.callbacks.Callback):
    """Record the test split's MAP@R after every epoch, in ``self.curve[epoch]``."""

    def __init__(self):
        super().__init__()
        self.curve = {}

    def on_epoch_end(self, epoch, logs=None):
        self.curve[epoch + 1] = held_out(self.model)["map_at_r"]  # a concat model works too

# %% [markdown]
# ## The 2018 recipe — with an interruption half-way
#
# The 2018 notebook trained the MLP (Flatten → Dense 128 relu → Dropout 0.1 → Dense 128 relu →
# Dropout 0.1 → Dense 64) through the label-concatenation wiring, with TensorFlow's semi-hard loss
# (margin 1.0, squared L2, embeddings not normalised), batches of 256 and Adam at 1e-4, for 25 epochs.
# We train it exactly so — and use it to show checkpoints. With `output_dir`, `train_embedding`
# saves the whole model (weights *and* optimizer state) after every epoch and appends a row to
# `history.csv`. We stop after a few epochs, as if the kernel had died (`resume=False` makes a
# rerun of this chapter start from scratch).

# %%
RUNS = Path("..") / "runs" / "chapter4"  # chapters run from chapters/, so this is the repo's runs/
EPOCHS = PROFILE.pick(reader=25, quick=3)
STOP_AT = PROFILE.pick(reader=10, quick=1)
RECIPE_2018 = dict(wiring="concat", margin=1.0, distance="squared_l2", l2_normalize=False,
                   batch_size=256, learning_rate=1e-4)
out_2018 = RUNS / "recipe_2018"
curve_2018 = HeldOutCurve()
NAME_2018 = "2018 recipe (MLP, lr 1e-4, margin 1)"

first = training.train_embedding("mlp", mnist, **RECIPE_2018, epochs=STOP_AT, output_dir=out_2018,
                                 resume=False, verbose=0, callbacks=[curve_2018])
print(f"trained epochs 1–{STOP_AT} of {EPOCHS} in {first.train_seconds:.1f} s; files in {out_2018.as_posix()}:")
for path in sorted(out_2018.rglob("*")):
    if path.is_file():
        print("   ", path.relative_to(out_2018).as_posix())

# %% [markdown]
# Only the two newest checkpoints are kept. Each is written under a temporary name and then renamed,
# so an interruption can never leave a half-written one behind. Now the same call, asking for all
# the epochs: it finds the checkpoint, restores weights and optimizer state, and carries on.

# %%
run_2018 = training.train_embedding("mlp", mnist, **RECIPE_2018, epochs=EPOCHS, output_dir=out_2018,
                                    verbose=0, callbacks=[curve_2018])
print(f"this call started at epoch {run_2018.initial_epoch + 1} and trained {len(run_2018.epoch_seconds)} "
      f"more; the whole run: {run_2018.train_seconds:.1f} s of training (the first epoch of each call "
      f"includes tracing), {run_2018.steady_samples_per_second:,.0f} images/s after it")
history = training.read_history(out_2018 / training.HISTORY_FILE)
print("history.csv around the restart:")
for epoch, loss in list(zip(history["epoch"], history["loss"]))[max(STOP_AT - 2, 0):STOP_AT + 2]:
    print(f"    epoch {epoch + 1:>2}: loss {loss:.4f}")

# %% tags=["nbval-check-output"]
print("resumed from the checkpoint, not from scratch:", run_2018.initial_epoch == STOP_AT)
print("history.csv holds every epoch exactly once:", history["epoch"] == list(range(EPOCHS)))

# %% [markdown]
# The training loss and the held-out MAP@R run on across the restart without a jump — the
# optimizer's moment estimates came back with the weights. (A resumed run shuffles with a new seed,
# so it is not bit-for-bit the run that was never interrupted; it is an equally valid one.)

# %%
fig = plotting.plot_loss_curves(history, keys=["loss"],
                                title=f"The 2018 recipe, interrupted after epoch {STOP_AT} and resumed")
ax = fig.axes[0]
ax.plot(list(curve_2018.curve), list(curve_2018.curve.values()), marker="s", markersize=3,
        color="tab:green", label="held-out MAP@R")
ax.axvline(STOP_AT + 0.5, color="gray", linestyle=":", label="interrupted / resumed")
ax.set_ylabel("training loss  |  test MAP@R")
ax.xaxis.set_major_locator(plt.MaxNLocator(integer=True))
ax.legend()
plt.show()

# %%
table[NAME_2018] = {**held_out(run_2018.model), "epochs": EPOCHS, "train s": f"{run_2018.train_seconds:.0f}"}
print(evaluation.metrics_table(table, COLUMNS))

# %% [markdown]
# Compare the 2018 row with raw pixels in the table. The learning curve above is still climbing at
# the last epoch: with a learning rate of 1e-4 Adam takes small steps, and an epoch over a few
# thousand images is only a handful of batches of 256. The recipe under-trains.
#
# ## What improves it, one change at a time
#
# Each row below keeps everything of the row above and changes one thing; all train for the same
# number of epochs and are measured on the same test split.
#
# 1. **Learning rate 1e-3** — ten times larger steps. We also switch to the modern wiring (labels
#    as `y_true`): chapter 3 showed it computes the same loss and gradients, so it changes no number.
# 2. **L2-normalised embeddings** — every embedding on the unit sphere. The loss can no longer
#    shrink distances by shrinking the whole embedding, and squared distances lie in [0, 4].
# 3. **Margin** — on the unit sphere, a margin of 1 is a quarter of the largest possible squared
#    distance; we take the margin of the library's measured recipe (`helpers.training.RECIPES`).
# 4. **P×K batches** — 8 classes × 32 images instead of 256 random images, so every anchor has
#    many positives (chapter 0).

# %%
curves = {NAME_2018: curve_2018.curve}
trained = {}


def experiment(name, model="mlp", **recipe):
    """Train one variant, measure it on the test split, add it to the table."""
    curve = HeldOutCurve()
    result = training.train_embedding(model, mnist, verbose=0, callbacks=[curve], **recipe)
    trained[name], curves[name] = result, curve.curve
    table[name] = {**held_out(result.model), "epochs": recipe["epochs"],
                   "train s": f"{result.train_seconds:.0f}"}
    print(f"{name:<40} trained in {result.train_seconds:5.1f} s")


MLP_RECIPE = training.RECIPES["mlp"]
changes = [
    ("+ Adam lr 1e-3 (labels wiring)", dict(wiring="labels", learning_rate=1e-3)),
    ("+ L2-normalised embeddings", dict(l2_normalize=True)),
    (f"+ margin {MLP_RECIPE['margin']:g}", dict(margin=MLP_RECIPE["margin"])),
    ("+ P×K batches (8 × 32)", dict(pk=(8, 32))),
]
recipe = dict(RECIPE_2018, epochs=EPOCHS)
for name, change in changes:
    recipe.update(change)
    experiment(name, **recipe)

# %% [markdown]
# ## A CNN, with the library's recipe
#
# `helpers.training.RECIPES` holds the best recipe measured for each network; the command line
# `python -m helpers train` uses it. For the small CNN — two convolution blocks, L2-normalised — it
# keeps the learning rate and margin above, draws P×K batches (10 digits × 25 images), decays the
# learning rate along a cosine, and moves the training images a little at random (augmentation:
# the `augment` entry printed below). It was measured over many more epochs than we can afford here: each CNN
# epoch costs far more on a CPU than an MLP epoch, so we train it for only a few.

# %%
CNN_RECIPE = training.RECIPES["cnn"]
print("RECIPES['cnn']:", ", ".join(f"{k}={v}" for k, v in CNN_RECIPE.items()))
CNN_EPOCHS = PROFILE.pick(reader=6, quick=2)
experiment("CNN, library recipe", "cnn", **{**CNN_RECIPE, "epochs": CNN_EPOCHS})
print()
print(mnist.description)
print(f"test split, leave-one-out over {len(y_test):,} images:")
print(evaluation.metrics_table(table, COLUMNS))

# %% [markdown]
# Read the table from top to bottom. Which single change buys the most for the MLP? How far is the
# best MLP row from the CNN, which trained for fewer epochs? (The CNN row changes several things at
# once — the network, the schedule, the augmentation — so it says what the recipe is worth, not
# which of its parts matters.) Keep in mind how small the differences between neighbouring rows
# are next to the noise: the test split is small (its size is printed above), and each row is one
# run with one seed. A change that moves MAP@R by a hair may be luck; Musgrave et al. (2020) show
# that many published improvements in metric learning shrink once such noise, and a fair comparison
# of training budgets, are accounted for.
#
# ## Learning curves
#
# The held-out MAP@R after every epoch, for every run. Curves that are still rising at their last
# epoch would gain from more training; flat ones would not.

# %%
fig, ax = plt.subplots(figsize=(10, 4.5))
for name, curve in curves.items():
    style = "--" if name == NAME_2018 else "-"
    ax.plot(list(curve), list(curve.values()), style, marker="o", markersize=3, label=name)
ax.set_xlabel("epoch")
ax.set_ylabel("MAP@R on the test split")
ax.xaxis.set_major_locator(plt.MaxNLocator(integer=True))
ax.set_title(f"Held-out MAP@R during training ({mnist.source} data, {PROFILE.name} profile)")
ax.grid(alpha=0.3)
ax.legend(fontsize=8, loc="center left", bbox_to_anchor=(1.01, 0.5))
fig.tight_layout()
plt.show()

# %% [markdown]
# ## Saving the embedding model
#
# Chapter 5 analyses the best of these networks. We pick the row with the highest MAP@R and save
# its embedding network — images in, embeddings out — as one `.keras` file, together with its
# recipe (so that chapter 5 can rebuild the same architecture, untrained, from the same seed).
# Strictly, choosing a model by its *test* score makes that score slightly optimistic; a careful
# study would choose on a validation split carved out of the training data (Musgrave et al., 2020).

# %%
best = max(trained, key=lambda name: table[name]["map_at_r"])
model_path = RUNS / "embedding.keras"
trained[best].model.save(model_path)
info = {"name": best, "recipe": trained[best].recipe, "data": mnist.description}
(RUNS / "embedding.json").write_text(json.dumps(info, indent=2))
print(f"best by MAP@R: {best!r}; saved to {model_path.as_posix()} (recipe in embedding.json)")

reloaded = models.load_embedding(model_path)
same = np.allclose(models.embed(reloaded, x_test[:256]), models.embed(trained[best].model, x_test[:256]), atol=1e-6)

# %% tags=["nbval-check-output"]
print("the saved model gives the same embeddings:", same)
print("embedding shape per image:", reloaded.output_shape[1:])

# %% [markdown]
# The same training is one command away outside a notebook —
# `python -m helpers train --model cnn --output runs/cnn` — and running it again after an
# interruption resumes from the last checkpoint.
#
# ## Summary
#
# - `helpers.training.train_embedding` trains an embedding network with the semi-hard triplet loss
#   under either wiring; with `output_dir` it checkpoints every epoch (weights and optimizer state,
#   written atomically) and keeps `history.csv`, and the same call resumes after an interruption.
# - Measure an embedding by retrieval on held-out data — P@1, R-precision, MAP@R, leave-one-out —
#   never by the training loss. MAP@R is the strictest.
# - The 2018 recipe under-trains: its learning curve is still rising when it stops. The table
#   above shows what a larger learning rate, L2 normalisation, a smaller margin, P×K batches and a
#   CNN each changed in this run.
# - The best network by MAP@R is saved to `runs/chapter4/embedding.keras` (its recipe beside it in
#   `embedding.json`); chapter 5 looks inside it.
#
# ## Exercises
#
# Write your answer in place of `None`, then run the cell: the check prints a pass, or a hint.
#
# **4.1** Write `map_at_r(embeddings, labels)`: MAP@R of leave-one-out retrieval with Euclidean
# distance, as a float. For each query, R is the number of *other* points of its class; queries
# with R = 0 are left out. Check yourself against `helpers.evaluation.retrieval_metrics` — but
# write it with NumPy only.

# %%
from helpers.exercises import check

map_at_r = None  # your function here
check("4.1", map_at_r)

# %% [markdown]
# **4.2** Write `resume_epoch(file_names)`: given the names of the files in a run's
# `checkpoints/` folder, return the epoch training should resume from — the highest `N` among
# complete checkpoints named `epoch_N.keras` (`N` zero-padded to at least three digits) — or 0
# when there is none. Temporary files (a checkpoint being written) and other files must be ignored.

# %%
resume_epoch = None  # your function here
check("4.2", resume_epoch)

# %% [markdown]
# ## References
#
# - F. Schroff, D. Kalenichenko, J. Philbin, *FaceNet: A Unified Embedding for Face Recognition and
#   Clustering*, CVPR 2015, arXiv:1503.03832 — the triplet loss, semi-hard negatives, embeddings on
#   the unit sphere, margin 0.2.
# - A. Hermans, L. Beyer, B. Leibe, *In Defense of the Triplet Loss for Person Re-Identification*,
#   2017, arXiv:1703.07737 — P×K batches, batch-hard mining.
# - K. Musgrave, S. Belongie, S.-N. Lim, *A Metric Learning Reality Check*, ECCV 2020,
#   arXiv:2003.08505 — MAP@R, R-precision, and fair comparisons.
# - D. P. Kingma, J. Ba, *Adam: A Method for Stochastic Optimization*, ICLR 2015, arXiv:1412.6980.
# - I. Loshchilov, F. Hutter, *SGDR: Stochastic Gradient Descent with Warm Restarts*, ICLR 2017,
#   arXiv:1608.03983 — cosine learning-rate decay.
# - Keras, *Model training APIs* (`fit`, callbacks) — https://keras.io/api/models/model_training_apis/
