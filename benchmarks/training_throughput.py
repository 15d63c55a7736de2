"""Training throughput of the 2018 MLP: our trainer against a plain Keras 3 port of the 2018 notebook.

All runs train the same network (Flatten → Dense 128 → Dropout → Dense 128 → Dropout → Dense 64)
with TensorFlow's semi-hard triplet loss (margin 1, squared L2), batch size 256 and Adam 1e-4 on
the offline subset's 4,000 training images, in this one process, taking turns:

plain Keras 3 port of the 2018 notebook (the baseline)
    The 2018 code moved to Keras 3 and nothing more: labels enter as a second input and are
    concatenated in front of the embeddings, dummy zero targets, ``compile`` with its defaults,
    ``model.fit`` on NumPy arrays, and the loss computed the way the notebook's copy of
    TensorFlow's loss computed it — the ``O(B^3)`` tiled formulation (``method="tile"``).
ours
    ``helpers.training.train_embedding`` with its defaults: the ``O(B^2)`` sort-based loss, labels
    as ``y_true``, a prefetched ``tf.data`` pipeline gathering shuffled batches from in-memory
    tensors (one iterator for the whole run), 16 steps per ``tf.function`` call.
plain port with the course's O(B^2) loss
    The baseline given our loss: it separates what the loss algorithm gains from what the
    training loop gains.

Throughput is images per second of wall-clock ``fit`` time: "steady" over epochs 2..E, "total"
including the first epoch (graph tracing). Other processes sharing the CPU add noise, hence
several alternating rounds and medians. The ablation rows switch one of our choices back at a
time. The last section times both trainers with a trivial loss (the mean squared embedding) to
split each step into "training loop" and "loss", and prints how cheap the loss would have to be
for the loop alone to make ours 2x the port that shares our loss.

    python benchmarks/training_throughput.py [--rounds 3] [--epochs 8] [--no-ablation] [--json FILE]
    python benchmarks/training_throughput.py --json benchmarks/results/training_throughput.json

``--json FILE`` also writes every figure printed (and the data, CPU count, TensorFlow and Keras
versions) to ``FILE``; ``tests/test_readme.py`` checks the README's figures against it.
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
from _results import environment, write  # noqa: E402
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


class TrivialLoss(keras.losses.Loss):
    """The mean squared embedding: a loss that costs next to nothing, to time the loop alone."""

    def call(self, y_true, y_pred):
        return tf.reduce_mean(tf.square(y_pred))


def plain_port(x, y, epochs, *, method="tile", loss=None, steps_per_execution=1, jit_compile="auto",
               concat=True):
    """The 2018 notebook's training, written plainly in Keras 3. Returns seconds per epoch.

    ``method`` picks the semi-hard loss' formulation (``"tile"``: the 2018 one); ``loss``
    replaces the loss altogether. ``concat=False`` passes the labels as ``y_true`` instead.
    """
    keras.utils.set_random_seed(0)
    loss = loss if loss is not None else SemiHardTripletLoss(method=method)
    if concat:
        model, loss = build_concat_model(build_mlp()), LabelConcatLoss(loss)
        inputs, targets = [x, y], np.zeros((len(y), 1), np.float32)
    else:
        model, inputs, targets = build_mlp(), x, y
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


def ratio_line(label, steady, total, mine, base) -> dict:
    """Print ours / baseline (medians, and per round); return the same figures."""
    figures = {"steady": statistics.median(steady[mine]) / statistics.median(steady[base]),
               "including_tracing": statistics.median(total[mine]) / statistics.median(total[base]),
               "per_round": [a / b for a, b in zip(steady[mine], steady[base])]}
    per_round = ", ".join(f"{r:.2f}x" for r in figures["per_round"])
    print(f"{label}: {figures['steady']:.2f}x steady, {figures['including_tracing']:.2f}x including tracing "
          f"(per round: {per_round})")
    return figures


def loop_and_loss(x, y, data, n, epochs, rounds, steady) -> dict:
    """Split a step of each trainer into loop and loss by re-timing both with a trivial loss."""
    trivial = {"port": [], "ours": []}
    for _ in range(rounds):
        trivial["port"].append(rates(plain_port(x, y, epochs, loss=TrivialLoss()), n)[0])
        trivial["ours"].append(rates(ours(data, epochs, loss=TrivialLoss()), n)[0])
    ms = {name: BATCH * 1000 / statistics.median(values) for name, values in trivial.items()}
    real = {"port": BATCH * 1000 / statistics.median(steady[SAME_LOSS]),
            "ours": BATCH * 1000 / statistics.median(steady[OURS])}
    print("\nms per step of 256 (medians)      training loop (trivial loss)   semi-hard loss (the rest)")
    for name, label in (("port", "plain port, course's O(B^2) loss"), ("ours", "ours")):
        print(f"  {label:34s} {ms[name]:12.2f} {real[name] - ms[name]:24.2f}")
    loop_ratio, budget = ms["port"] / ms["ours"], max(ms["port"] - 2 * ms["ours"], 0)
    print(f"with a loss that cost nothing, ours would run {loop_ratio:.2f}x the port; "
          f"for 2x with the loss both share, the loss would have to cost under "
          f"{budget:.2f} ms per step")
    return {"epochs_per_run": epochs,
            "trivial_loss_steady_images_per_second": trivial,
            "step_ms": {name: {"loop": ms[name], "loss": real[name] - ms[name], "total": real[name]}
                        for name in ms},
            "loss_share_of_our_step": (real["ours"] - ms["ours"]) / real["ours"],
            "loop_only_speedup": loop_ratio,
            "loss_ms_budget_for_2x": budget}


OURS = "ours (train_embedding defaults)"
BASELINE = "plain Keras 3 port of the 2018 notebook"
SAME_LOSS = "plain port, course's O(B^2) loss"


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--epochs", type=int, default=8)
    parser.add_argument("--no-ablation", action="store_true")
    parser.add_argument("--json", type=Path, metavar="FILE",
                        help="also write the figures to FILE (benchmarks/results/training_throughput.json)")
    args = parser.parse_args(argv)
    started = time.perf_counter()

    data = load_mnist("offline", verbose=False)
    x, y, n = data.x_train, data.y_train, len(data.y_train)
    print(f"data: {data.description}")
    print(f"2018 MLP, batch {BATCH}, Adam {LR:g}, semi-hard loss (margin 1, squared L2); "
          f"{args.epochs} epochs per run, {args.rounds} alternating rounds; "
          f"{os.cpu_count()} CPUs, TensorFlow {tf.__version__}, Keras {keras.__version__}\n")
    record = {**environment("benchmarks/training_throughput.py", argv), "data": data.description,
              "model": "2018 MLP", "batch_size": BATCH, "learning_rate": LR,
              "loss": "semi-hard, margin 1, squared L2", "epochs_per_run": args.epochs,
              "rounds": args.rounds, "training_images": n,
              "measure": "images per second of wall-clock fit time; steady = epochs 2..E, "
                         "including_tracing = all epochs; medians over rounds"}

    configs = {BASELINE: lambda: plain_port(x, y, args.epochs, method="tile"),
               OURS: lambda: ours(data, args.epochs),
               SAME_LOSS: lambda: plain_port(x, y, args.epochs, method="sort")}
    if not args.no_ablation:
        configs.update({
            "  ours, 1 step per call": lambda: ours(data, args.epochs, steps_per_execution=1),
            "  ours, 2018 concat wiring": lambda: ours(data, args.epochs, wiring="concat"),
            "  port (O(B^2) loss) + 16 steps per call":
                lambda: plain_port(x, y, args.epochs, method="sort", steps_per_execution=16),
            "  port (O(B^2) loss), labels as y_true":
                lambda: plain_port(x, y, args.epochs, method="sort", concat=False),
        })
    steady = {name: [] for name in configs}
    total = {name: [] for name in configs}
    for round_ in range(args.rounds):
        for name, run in configs.items():
            s, t = rates(run(), n)
            steady[name].append(s)
            total[name].append(t)
        print(f"round {round_ + 1}: " + ", ".join(f"{name.strip()} {steady[name][-1]:,.0f}"
                                                  for name in list(configs)[:3]) + " images/s", flush=True)

    print(f"\n{'configuration':44s} {'steady images/s':>16s} {'incl. tracing':>14s}   (medians)")
    for name in configs:
        print(f"{name:44s} {statistics.median(steady[name]):16,.0f} {statistics.median(total[name]):14,.0f}")
    record["configurations"] = {
        name.strip(): {"ablation": name.startswith(" "),
                       "steady_images_per_second": statistics.median(steady[name]),
                       "including_tracing_images_per_second": statistics.median(total[name]),
                       "per_round_steady": steady[name], "per_round_including_tracing": total[name]}
        for name in configs}
    record["roles"] = {"ours": OURS, "baseline": BASELINE, "same_loss": SAME_LOSS}
    print()
    record["speedup"] = {
        "ours_over_baseline": ratio_line("speed-up ours / plain Keras 3 port of the 2018 notebook",
                                         steady, total, OURS, BASELINE),
        "ours_over_same_loss": ratio_line("speed-up ours / plain port given the course's O(B^2) loss",
                                          steady, total, OURS, SAME_LOSS)}

    if not args.no_ablation:
        record["loop_and_loss"] = loop_and_loss(x, y, data, n, max(args.epochs // 2, 3), args.rounds, steady)
        print("\none batch of 256, forward + backward, best of 20 x 10 calls:")
        one = record["one_batch_ms"] = {}
        one["sort_loss"] = loss_step_ms(semi_hard_triplet_loss)
        print(f"  semi_hard_triplet_loss (O(B^2) sort):  {one['sort_loss']:7.2f} ms")
        tiled = lambda labels, emb: semi_hard_triplet_loss(labels, emb, method="tile")  # noqa: E731
        one["tile_loss"] = loss_step_ms(tiled, repeats=30)
        print(f"  semi_hard_triplet_loss (2018 tiling):  {one['tile_loss']:7.2f} ms")
        one["trivial_loss"] = loss_step_ms(trivial_loss)
        print(f"  a trivial loss (mean squared norm):    {one['trivial_loss']:7.2f} ms  "
              "(tf.function call overhead)")
        one["mlp_adam_step"] = model_step_ms()
        print(f"  MLP + semi-hard loss + Adam step:      {one['mlp_adam_step']:7.2f} ms")
        try:
            xla = plain_port(x, y, 3, method="sort", jit_compile=True)
            record["xla"] = {"steady_images_per_second": rates(xla, n)[0]}
            print(f"\nplain port (O(B^2) loss) with XLA (jit_compile=True), steady: "
                  f"{rates(xla, n)[0]:,.0f} images/s")
        except Exception as err:  # the sort-based loss has data-dependent shapes
            lines = [line.strip() for line in str(err).splitlines() if line.strip()]
            reason = next((line for line in lines if "supported" in line or "Xla" in line), lines[-1])
            record["xla"] = {"error": f"{type(err).__name__}: {reason[:120]}"}
            print(f"\nplain port (O(B^2) loss) with XLA (jit_compile=True): does not compile "
                  f"({type(err).__name__}: {reason[:120]})")

    record["seconds"] = time.perf_counter() - started
    if args.json:
        write(record, args.json)


if __name__ == "__main__":
    main()
