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
# # Chapter 3 — Keras label-concatenation wiring
#
# *Rebuild the 2018 notebook's trick for getting labels into a Keras loss, learn its pitfalls, and
# show that the modern wiring computes exactly the same thing.*
#
# **You will learn**
# - how the 2018 notebook got the labels into its Keras 2 loss — a label input concatenated in
#   front of the embedding, with dummy zero targets — and why Keras 2.1.6 did not require it;
# - the wiring's pitfalls: labels travelling as floats, the dummy targets, casting back to int;
# - the modern Keras 3 wiring (labels as `y_true`), with the same loss and the same gradients;
# - two ways to get the trained embedding network back, with identical embeddings;
# - that both wirings train the same way on MNIST.
#
# **Prerequisites:** chapter 2 (the semi-hard loss); the Keras functional API (`keras.Input`,
# `keras.Model`, `compile`, `fit`).
#
# **Run time:** about 20 seconds on a 2-core CPU in the reader profile (measured: 22 s with the
# offline data); the reader profile cuts full MNIST to the same 4,000 training images.

# %%
import importlib.util
import shutil
import tempfile
import time
from pathlib import Path

import keras
import matplotlib.pyplot as plt
import numpy as np
import tensorflow as tf
from IPython.display import Image, display

from helpers import data, evaluation, losses, models, theory_plots
from helpers.config import PROFILE
from helpers.plotting import CLASS_COLORS, SERIES_COLORS

print(f"TensorFlow {tf.__version__}, Keras {keras.__version__} | run profile: {PROFILE.name}")

# %% [markdown]
# ## How the 2018 notebook got the labels into the loss
#
# A Keras loss is a function `loss(y_true, y_pred)`: the targets you pass to `fit` and the
# model's output. The semi-hard loss needs the *labels* and the *embeddings* of the batch; the
# model's output is the embeddings, so the direct route is to pass the labels as the targets.
# Keras 2.1.6, the version the 2018 notebook used, allowed that. It fed the targets through a
# placeholder of the output's rank and dtype (so the labels would have arrived as floats, as they
# do through the concatenation), and it compared a target's shape with the output's only for its
# own losses: in `keras/engine/training.py`, `_standardize_user_data` checks target shapes only
# for the loss functions of `keras.losses`, and `_check_loss_and_target_compatibility` adds checks
# for mean squared error and the binary and categorical cross-entropies. A loss of your own skips
# both, so `(N, 1)` labels as `y_true` would have reached it in 2018 too.
#
# The 2018 notebook took another route — a workaround, not a necessity:
#
# 1. give the model a second input, the label;
# 2. output `Concatenate([label, embedding])`, so `y_pred` is a `(B, 1 + 64)` matrix whose first
#    column is the label;
# 3. pass dummy zero targets to `fit` (the loss ignores them);
# 4. in the loss, split `y_pred` back into labels (cast to int) and embeddings.
#
# `helpers.models.build_concat_model` rebuilds this on Keras 3 around the 2018 base network
# (`helpers.models.build_mlp`: Flatten → Dense 128 relu → Dropout 0.1 → Dense 128 relu →
# Dropout 0.1 → Dense 64), and `helpers.losses.LabelConcatLoss` does step 4.

# %%
keras.utils.set_random_seed(0)
base = models.build_mlp(embedding_dim=64)
concat_model = models.build_concat_model(base)
print(models.summary_text(concat_model))  # model.summary(), as plain text

# %% [markdown]
# The base network appears as one layer (`mlp_2018`, a `Functional` model inside the model) —
# the same object as `base`, sharing its weights. A drawing of the graph: `keras.utils.plot_model`
# needs the `pydot` package and Graphviz's `dot` program; without them this cell says so and draws
# the graph with matplotlib from the model's configuration instead.

# %%
if importlib.util.find_spec("pydot") and shutil.which("dot"):
    with tempfile.TemporaryDirectory() as tmp:
        target = Path(tmp) / "concat_model.png"
        keras.utils.plot_model(concat_model, to_file=str(target), show_shapes=True, show_layer_names=True)
        display(Image(filename=str(target)))
else:
    print("keras.utils.plot_model needs pydot (pip install pydot) and Graphviz's `dot` program "
          "(from your system's package manager); they are not installed here, so the graph is "
          "drawn with matplotlib instead.")
    theory_plots.draw_model_graph(concat_model, title="The 2018 wiring: [label | embedding] out")
    plt.show()

# %% [markdown]
# ## Pitfall 1: labels travel as floats
#
# `Concatenate` joins tensors of one dtype, so the integer label becomes a float32 column beside
# the float32 embedding. float32 has a 24-bit significand: every integer up to 2²⁴ = 16,777,216
# is exact, but 2²⁴ + 1 is not — it rounds to 2²⁴. Ten digit classes are safe; a face dataset
# whose identities are numbered past 2²⁴ would silently merge two people into one class. With a
# float16 output (mixed precision), the limit is 2¹¹ = 2048. Sending such labels through the
# model and back (checked in CI):

# %% tags=["nbval-check-output"]
labels = np.array([7, 2**11, 2**11 + 1, 2**24 - 1, 2**24, 2**24 + 1, 2**24 + 2], dtype=np.int64)
images = np.zeros((len(labels), 28, 28, 1), dtype=np.float32)
y_pred = concat_model([images, labels[:, None]], training=False)
back, _ = losses.split_label_concat(y_pred)
with np.errstate(over="ignore"):  # float16 tops out at 65,504: larger labels overflow to inf
    as_f16 = labels.astype(np.float16).astype(np.float64)
print(f"{'label':>10s} {'via float32':>12s} {'via float16':>12s}")
for label, f32, f16 in zip(labels, back.numpy(), as_f16):
    f16 = f"{int(f16):d}" if np.isfinite(f16) else "inf"
    print(f"{label:10d} {f32:12d}{' <- changed' if f32 != label else '':11s} {f16:>12s}"
          f"{' <- changed' if f16 != str(label) else ''}")

# %% [markdown]
# ## Pitfall 2: the dummy targets
#
# The loss ignores `y_true`, but Keras does not: `fit` needs targets with as many rows as the
# inputs, and Keras 3 refuses `None`. Their width does not matter to `LabelConcatLoss` — the same
# loss for a batch whatever the dummy's shape:

# %%
mnist = data.load_course_data("auto")
x_batch, y_batch = mnist.x_train[:256], mnist.y_train[:256]
concat_loss = losses.LabelConcatLoss(losses.SemiHardTripletLoss(margin=1.0))
out = concat_model([x_batch, y_batch[:, None]], training=False)
by_shape = {shape: float(concat_loss(np.zeros(shape, np.float32), out)) for shape in [(256, 1), (256, 65), (256,)]}
print({str(shape): round(value, 6) for shape, value in by_shape.items()})

concat_model.compile(optimizer="adam", loss=concat_loss)
try:
    concat_model.evaluate([x_batch, y_batch[:, None]], None, verbose=0)
except (ValueError, TypeError) as err:
    print("without targets ->", type(err).__name__ + ":", str(err).splitlines()[0])

# %% tags=["nbval-check-output"]
print("the dummy's shape changes nothing:", len(set(by_shape.values())) == 1)

# %% [markdown]
# ## Pitfall 3: back to integers — and nothing after the concatenation
#
# The loss must turn column 0 back into integer labels. `tf.cast` from float to int **truncates**,
# so a label that arrives as 2.9999998 becomes 2; rounding first is safe (`split_label_concat`
# rounds). And every layer after `Concatenate` transforms the label too: L2-normalising the
# model's *output* (instead of the base network's) would scale the label column along with the
# embedding.

# %% tags=["nbval-check-output"]
almost_three = tf.constant([2.9999998, 3.0000002], tf.float32)
print("tf.cast truncates:", tf.cast(almost_three, tf.int32).numpy(),
      "| round first:", tf.cast(tf.round(almost_three), tf.int32).numpy())

# %%
row = tf.constant([[3.0, 0.6, -0.8]])  # [label | a 2-d embedding]
label_column = float(tf.math.l2_normalize(row, axis=1)[0, 0])
assert abs(label_column - 3 / np.sqrt(10)) < 1e-6  # the row's length is √(9 + 0.36 + 0.64) = √10
print(f"label column after normalising the whole output: {label_column:.4f} (3/√10), no longer 3")

# %% [markdown]
# ## The modern wiring
#
# A Keras 3 loss still receives `(y_true, y_pred)`, and, as for a loss of your own in Keras
# 2.1.6, `y_true` need not be shaped like the output: the labels *are* the targets. The model is
# just the base network, the loss is `helpers.losses.SemiHardTripletLoss`, and
# `fit(images, labels)` does the rest.
#
# Do the two wirings compute the same thing? Give a second base network the same weights, and
# compare loss and gradients on the same batch (dropout off, so both run the same network):

# %%
modern = models.build_mlp(embedding_dim=64)
modern.set_weights(base.get_weights())
semi_hard = losses.SemiHardTripletLoss(margin=1.0)

with tf.GradientTape(persistent=True) as tape:
    loss_concat = concat_loss(np.zeros((256, 1), np.float32),
                              concat_model([x_batch, y_batch[:, None]], training=False))
    loss_modern = semi_hard(y_batch, modern(x_batch, training=False))
grads_concat = tape.gradient(loss_concat, base.trainable_weights)
grads_modern = tape.gradient(loss_modern, modern.trainable_weights)
worst = max(float(tf.reduce_max(tf.abs(a - b))) for a, b in zip(grads_concat, grads_modern))
print(f"loss: concatenation wiring {float(loss_concat):.6f} | modern wiring {float(loss_modern):.6f}")
print(f"largest gradient difference over {len(grads_modern)} weight tensors: {worst:.3g}")

# %% tags=["nbval-check-output"]
print("same loss:", bool(np.isclose(float(loss_concat), float(loss_modern), rtol=1e-6, atol=0)))
print("same gradients:", worst <= 1e-6 * max(float(tf.reduce_max(tf.abs(g))) for g in grads_modern))

# %% [markdown]
# ## A short training run under both wirings
#
# Now train each wiring from the same initial weights, on the same shuffled batches with the same
# dropout masks (one seed before building, one before `fit`): the 2018 recipe — batch 256, margin
# 1.0, squared L2, no normalisation — with Adam at 10⁻³ (ten times the 2018 notebook's rate, so
# that a few epochs show a trend; chapter 4 trains properly).

# %%
EPOCHS, BATCH = PROFILE.pick(reader=5, quick=3), 256
x_train, y_train = mnist.x_train, mnist.y_train


def train(wiring):
    keras.utils.set_random_seed(2018)
    base_net = models.build_mlp(embedding_dim=64)
    if wiring == "concatenation (2018)":
        model = models.build_concat_model(base_net)
        loss, inputs, targets = concat_loss, [x_train, y_train[:, None]], np.zeros((len(y_train), 1), np.float32)
    else:
        model, loss, inputs, targets = base_net, semi_hard, x_train, y_train
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss=loss)
    keras.utils.set_random_seed(7)
    start = time.perf_counter()
    history = model.fit(inputs, targets, batch_size=BATCH, epochs=EPOCHS, verbose=0)
    print(f"{wiring:22s} {time.perf_counter() - start:5.1f} s | loss per epoch:",
          np.round(history.history["loss"], 4).tolist())
    return model, history.history["loss"]


print(f"{len(y_train)} training images ({mnist.source} data), {EPOCHS} epochs")
runs = {wiring: train(wiring) for wiring in ("concatenation (2018)", "labels as y_true")}

# %% [markdown]
# ## Getting the embedding network back
#
# After training, the concatenation model is not what we want to use: it needs a label to embed
# an image. The 2018 notebook built a fresh copy of the base network and copied the trained
# weights into it layer by layer (`helpers.models.copy_weights_into` does that). In Keras 3 the
# trained base network is simply *inside* the model, a layer we can take out
# (`helpers.models.embedding_model`) — it shares the trained weights, no copy needed.

# %%
trained_concat = runs["concatenation (2018)"][0]
copied = models.copy_weights_into(models.build_mlp(embedding_dim=64), trained_concat)
shared = models.embedding_model(trained_concat)
x_test, y_test = mnist.x_test, mnist.y_test
emb_copied, emb_shared = models.embed(copied, x_test), models.embed(shared, x_test)
emb_modern = models.embed(runs["labels as y_true"][0], x_test)

# %% tags=["nbval-check-output"]
print("the shared sub-model is a base network:", shared.name, "| input", shared.input_shape, "-> output", shared.output_shape)
print("copied weights and shared sub-model give identical embeddings:", np.array_equal(emb_copied, emb_shared))

# %%
gap = np.abs(emb_shared - emb_modern).max() / np.abs(emb_modern).max()
print(f"after training, concatenation vs modern wiring: largest embedding difference {gap:.2g} "
      "(relative to the largest coordinate)")

# %%
fig, (curve, pca_ax) = plt.subplots(1, 2, figsize=(12, 4.4))
for (wiring, (_, loss_per_epoch)), style, colour in zip(runs.items(), ("-o", "--s"), SERIES_COLORS):
    curve.plot(range(1, EPOCHS + 1), loss_per_epoch, style, color=colour, ms=7 if style == "-o" else 4,
               label=wiring)
curve.set(title="Training loss under both wirings", xlabel="epoch", ylabel="semi-hard triplet loss",
          xticks=range(1, EPOCHS + 1))
curve.legend()
projected, pca = evaluation.pca_2d(emb_shared)
for digit in range(10):
    on = y_test == digit
    pca_ax.scatter(*projected[on].T, s=5, color=CLASS_COLORS[digit], label=str(digit))
pca_ax.set(title=f"Test embeddings after {EPOCHS} epochs, PCA", xlabel="principal component 1",
           ylabel="principal component 2")
pca_ax.legend(title="digit", markerscale=3, fontsize=8, loc="center left", bbox_to_anchor=(1.0, 0.5))
fig.suptitle(f"The 2018 MLP on {len(y_train)} {mnist.source} training images ({PROFILE.name} profile)")
fig.tight_layout()
plt.show()

# %% [markdown]
# The two loss curves fall together and lie on top of each other (the printed losses per
# epoch): same data, same dropout, same loss, same gradients — the wiring changes nothing but the
# plumbing, and the trained embeddings agree too (the printed difference). A few epochs already
# start to separate the digits in the PCA; chapter 4 trains for real and measures retrieval
# quality.
#
# ## Summary
#
# - Keras 2 losses saw only `(y_true, y_pred)`. The 2018 notebook fed labels in as a second input
#   and concatenated them in front of the embedding, with dummy zero targets — a workaround: Keras
#   2.1.6 checked target shapes only for its own losses, so the labels could have been `y_true`.
# - Pitfalls: labels become floats (exact below 2²⁴ in float32, 2¹¹ in float16); the dummy targets
#   must exist and have as many rows as the inputs; cast back by rounding, never by truncation;
#   nothing may transform the output after the concatenation.
# - Keras 3 passes labels as `y_true` with any shape: the base network plus
#   `SemiHardTripletLoss` gives the same loss and gradients, and trains identically.
# - The trained embedding network is the sub-model inside the concatenation model; copying its
#   weights into a fresh copy, the 2018 way, gives identical embeddings.
#
# ## Exercises
#
# Write your answer in place of `None`, then run the cell: the check prints a pass, or a hint.
#
# **3.1** Write `largest_exact_integer(dtype)`: the largest N such that *every* integer 0, 1, …, N
# is exactly representable in the NumPy floating dtype `dtype` (e.g. `np.float32`). Hint:
# `np.finfo`.

# %%
from helpers.exercises import check

largest_exact_integer = None  # your function here
check("3.1", largest_exact_integer)

# %% [markdown]
# **3.2** *Predict, then run.* A face dataset numbers its 20,000,000 identities 0, 1, …,
# 19,999,999 and trains through the 2018 wiring, so every label travels as a float32. How many
# distinct classes does the loss see? Write down a number (within 1 % counts as right), then run
# the cell after it: it measures, and shows the measurement once you have predicted.

# %%
classes_prediction = None  # your prediction: a number

# %%
identities = np.arange(20_000_000)
classes_seen = np.unique(identities.astype(np.float32)).size
check("3.2", classes_prediction,
      measured=f"{len(identities):,} identities reach the loss as {classes_seen:,} distinct float32 labels")
del identities

# %% [markdown]
# ## References
#
# - F. Schroff, D. Kalenichenko, J. Philbin, *FaceNet: A Unified Embedding for Face Recognition
#   and Clustering*, CVPR 2015, arXiv:1503.03832.
# - Keras, *The Functional API* — https://keras.io/guides/functional_api/ ; `keras.utils.plot_model`
#   — https://keras.io/api/utils/model_plotting_utils/ ; losses — https://keras.io/api/losses/
# - IEEE 754-2019, *IEEE Standard for Floating-Point Arithmetic* — binary32 has a 24-bit
#   significand, binary16 an 11-bit one.
# - P. Micikevicius et al., *Mixed Precision Training*, ICLR 2018, arXiv:1710.03740 — float16
#   activations.
