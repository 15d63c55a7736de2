"""Training throughput of the 2018 MLP: our trainer against a plain Keras 3 port of the 2018 code.

Both train the same network (Flatten → Dense 128 → Dropout → Dense 128 → Dropout → Dense 64) with
the same loss (TensorFlow's semi-hard triplet loss, margin 1, squared L2), batch size 256 and
Adam 1e-4 on the offline subset's 4,000 training images, in this one process, taking turns:

plain port
    The 2018 wiring in Keras 3: labels enter as a second input and are concatenated in front of
    the embeddings, the loss is ``LabelConcatLoss(SemiHardTripletLoss())`` with dummy zero
    targets, ``compile`` with its defaults, ``model.fit`` on NumPy arrays. It already uses the
    course's O(B²) loss, so this comparison isolates the training loop.
plain port, 2018 loss
    The same, with the loss computed the way the 2018 notebook's copy of TensorFlow's loss did
    (``method="tile"``, the O(B³) formulation): the most faithful port of the 2018 code.
ours
    ``helpers.training.train_embedding`` with its defaults: the very same ``SemiHardTripletLoss``
    object type, labels as ``y_true``, a prefetched ``tf.data`` pipeline gathering shuffled
    batches from in-memory tensors (one iterator for the whole run), 16 steps per
    ``tf.function`` call.

Throughput is images per second of wall-clock ``fit`` time: "steady" over epochs 2..E, "total"
including the first epoch (graph tracing). The ablation rows switch one of our choices back at a
time, to show where the time goes. Other processes sharing the CPU add noise, hence several
alternating rounds and medians.

    python benchmarks/training_throughput.py [--rounds 3] [--epochs 8] [--no-ablation]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from helpers.data import load_mnist  # noqa: E402
from helpers.losses import LabelConcatLoss, SemiHardTripletLoss, semi_hard_triplet_loss  # noqa: E402
from helpers.models import build_concat_model, build_mlp  # noqa: E402
from helpers.training import train_embedding  # noqa: E402

BATCH, LR = 256, 1e-4


class EpochTimer(keras.callbacks.Callback):
    def __init__(self):
        super().__init__()
        self.seconds = []

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds.append(time.perf_counter() - self._start)


def plain_port(x, y, epochs, *, steps_per_execution=1, jit_compile="auto", concat=True, method="sort"):
    """The 2018 notebook's training, written plainly in Keras 3. Returns seconds per epoch.

    ``concat=False`` keeps everything plain but passes the labels as ``y_true`` instead.
    """
    keras.utils.set_random_seed(0)
    if concat:
        model = build_concat_model(build_mlp())
        loss = LabelConcatLoss(SemiHardTripletLoss(method=method))
        inputs, targets = [x, y], np.zeros((len(y), 1), np.float32)
    else:
        model, loss, inputs, targets = build_mlp(), SemiHardTripletLoss(), x, y
    model.compile(optimizer=keras.optimizers.Adam(LR), loss=loss,
                  steps_per_execution=steps_per_execution, jit_compile=jit_compile)
    timer = EpochTimer()
    model.fit(inputs, targets, batch_size=BATCH, epochs=epochs, verbose=0, callbacks=[timer])
    return timer.seconds


def ours(data, epochs, **overrides):
    result = train_embedding("mlp", data, epochs=epochs, batch_size=BATCH, learning_rate=LR,
                             margin=1.0, distance="squared_l2", verbose=0, **overrides)
    return result.epoch_seconds


def rates(seconds, n):
    return n * (len(seconds) - 1) / sum(seconds[1:]), n * len(seconds) / sum(seconds)


def best_of_ms(step, repeats):
    """Milliseconds per call of ``step``: the best mean over rounds of 10 calls, after a warm-up."""
    step()
    best = float("inf")
    for _ in range(repeats // 10):
        start = time.perf_counter()
        for _ in range(10):
            step()
        best = min(best, (time.perf_counter() - start) / 10)
    return best * 1000


def trivial_loss(labels, embeddings):
    return tf.reduce_mean(tf.square(embeddings))


def loss_step_ms(fn, repeats=200):
    """Best-of timing (ms) of one forward + backward pass of a loss on a batch of 256."""
    rng = np.random.default_rng(0)
    labels = tf.constant(rng.integers(0, 10, BATCH))
    emb = tf.constant(rng.normal(size=(BATCH, 64)).astype(np.float32))

    @tf.function
    def step():
        with tf.GradientTape() as tape:
            tape.watch(emb)
            loss = fn(labels, emb)
        return tape.gradient(loss, emb)

    return best_of_ms(step, repeats)


def model_step_ms(repeats=200):
    """Best-of timing (ms) of one whole training step of the MLP, outside Keras' fit loop."""
    rng = np.random.default_rng(0)
    images = tf.constant(rng.random((BATCH, 28, 28, 1), dtype=np.float32))
    labels = tf.constant(rng.integers(0, 10, BATCH))
    model, loss = build_mlp(), SemiHardTripletLoss()
    optimizer = keras.optimizers.Adam(LR)

    @tf.function
    def step():
        with tf.GradientTape() as tape:
            value = loss(labels, model(images, training=True))
        grads = tape.gradient(value, model.trainable_variables)
        optimizer.apply_gradients(zip(grads, model.trainable_variables))

    return best_of_ms(step, repeats)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--no-ablation", action="store_true")
    args = parser.parse_args()

    data = load_mnist("offline", verbose=False)
    x, y, n = data.x_train, data.y_train, len(data.y_train)
    print(f"data: {data.description}")
    print(f"2018 MLP, batch {BATCH}, Adam {LR:g}, semi-hard loss (margin 1, squared L2); "
          f"{args.epochs} epochs per run, {args.rounds} alternating rounds; "
          f"{os.cpu_count()} CPUs, TensorFlow {tf.__version__}, Keras {keras.__version__}\n")

    configs = {"plain Keras 3 port (2018 wiring)": lambda: plain_port(x, y, args.epochs),
               "ours (train_embedding defaults)": lambda: ours(data, args.epochs),
               "plain port, 2018 loss (tiled, O(B^3))": lambda: plain_port(x, y, args.epochs, method="tile")}
    if not args.no_ablation:
        configs.update({
            "  ours, 1 step per call": lambda: ours(data, args.epochs, steps_per_execution=1),
            "  ours, 2018 concat wiring": lambda: ours(data, args.epochs, wiring="concat"),
            "  plain port + 16 steps per call": lambda: plain_port(x, y, args.epochs, steps_per_execution=16),
            "  plain fit on arrays, labels as y_true": lambda: plain_port(x, y, args.epochs, concat=False),
        })
    steady = {name: [] for name in configs}
    total = {name: [] for name in configs}
    for round_ in range(args.rounds):
        for name, run in configs.items():
            s, t = rates(run(), n)
            steady[name].append(s)
            total[name].append(t)
        print(f"round {round_ + 1}: " + ", ".join(f"{name.strip().split(' (')[0]} {steady[name][-1]:,.0f}"
                                                  for name in list(configs)[:2]) + " images/s", flush=True)

    print(f"\n{'configuration':40s} {'steady images/s':>16s} {'incl. tracing':>14s}   (medians)")
    for name in configs:
        print(f"{name:40s} {statistics.median(steady[name]):16,.0f} {statistics.median(total[name]):14,.0f}")
    plain, mine = list(configs)[:2]
    ratio = statistics.median(steady[mine]) / statistics.median(steady[plain])
    ratio_total = statistics.median(total[mine]) / statistics.median(total[plain])
    per_round = [a / b for a, b in zip(steady[mine], steady[plain])]
    print(f"\nspeed-up ours / plain port: {ratio:.2f}x steady, {ratio_total:.2f}x including tracing "
          f"(per round: {', '.join(f'{r:.2f}x' for r in per_round)})")
    faithful = list(configs)[2]
    faithful_ratio = statistics.median(steady[mine]) / statistics.median(steady[faithful])
    per_round = [a / b for a, b in zip(steady[mine], steady[faithful])]
    print(f"speed-up ours / plain port with the 2018 loss: {faithful_ratio:.2f}x steady, "
          f"{statistics.median(total[mine]) / statistics.median(total[faithful]):.2f}x including tracing "
          f"(per round: {', '.join(f'{r:.2f}x' for r in per_round)})")

    if not args.no_ablation:
        print("\none batch of 256, forward + backward, best of 20 x 10 calls:")
        print(f"  semi_hard_triplet_loss alone:        {loss_step_ms(semi_hard_triplet_loss):6.2f} ms")
        print(f"  a trivial loss (mean squared norm):  {loss_step_ms(trivial_loss):6.2f} ms  "
              "(tf.function call overhead)")
        print(f"  MLP + semi-hard loss + Adam step:    {model_step_ms():6.2f} ms")
        try:
            xla = plain_port(x, y, 3, jit_compile=True)
            print(f"\nplain port with XLA (jit_compile=True), steady: {rates(xla, n)[0]:,.0f} images/s")
        except Exception as err:  # the sort-based loss has data-dependent shapes
            print(f"\nplain port with XLA (jit_compile=True): does not compile "
                  f"({type(err).__name__}: {str(err).strip().splitlines()[-1][:100]})")


if __name__ == "__main__":
    main()
