"""Training embedding networks with checkpoints and resume (introduced in chapter 4 "Training on MNIST").

``train_embedding`` fits a base network (``"mlp"``, ``"cnn"`` or any Keras model) with a triplet
loss and returns a ``TrainResult`` holding the trained base model, the loss history and the
measured throughput. Two wirings:

``wiring="labels"`` (modern)
    The labels are ``y_true`` and the base network is the whole model.
``wiring="concat"`` (2018)
    The labels enter as a second input and are concatenated in front of the embeddings
    (``helpers.models.build_concat_model``); ``helpers.losses.LabelConcatLoss`` splits them off.

With ``output_dir`` every epoch ends by saving the whole model — weights *and* optimizer state —
to ``output_dir/checkpoints/epoch_NNN.keras`` (written to a temporary name, then renamed, so an
interruption never leaves a half-written checkpoint) and appending a row to
``output_dir/history.csv``. Calling ``train_embedding`` again with the same ``output_dir``
resumes from the latest checkpoint with ``initial_epoch`` set, so an interruption costs at most
the epoch in progress.

Speed choices, each measured on two CPU cores (``benchmarks/training_throughput.py``, the 2018
MLP at batch 256, offline subset): the input is an endless prefetched ``tf.data`` pipeline
(``helpers.pipeline``) read by one iterator for the whole run (``steps_per_epoch`` = one pass:
no per-epoch set-up); 16 steps run per ``tf.function`` call (``steps_per_execution``); labels
are ``y_true`` (no concatenation and splitting). With the ``O(B^2)`` loss that is ~13.8x the
steady throughput of a plain Keras 3 port of the 2018 notebook (its ``O(B^3)`` loss, model.fit on
arrays) and ~1.55x the same port given our loss: the loss then takes ~6.7 of our ~10.3 ms per
step. No XLA: the sort-based loss does not compile (and sort-based XLA on CPU was slower).
"""

from __future__ import annotations

import csv
import json
import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import keras

from helpers.losses import LabelConcatLoss, SemiHardTripletLoss
from helpers.models import build_concat_model, build_model, embedding_model
from helpers.pipeline import training_batches

WIRINGS = ("labels", "concat")
CHECKPOINT_DIR = "checkpoints"
HISTORY_FILE = "history.csv"
STATE_FILE = "state.json"
_CHECKPOINT = re.compile(r"^epoch_(\d+)\.keras$")
#: Recipe entries that must match for a run to resume from an existing checkpoint.
_RESUME_KEYS = ("model", "wiring", "loss", "batch_size", "pk")

#: The recipe chosen for each model on a validation split, never on the test split:
#: ``benchmarks/recipe_selection.py`` trains every candidate on 3,200 of the offline subset's 4,000
#: training images with seeds 0, 1 and 2, scores leave-one-out retrieval on the other 800, and keeps
#: the candidate with the highest mean validation precision@1; ``benchmarks/embedding_quality.py``
#: then reports the chosen recipes on the test split, once (results in ``benchmarks/results/``).
#: ``python -m helpers train`` uses them as its defaults. Validation precision@1, mean ± sd over
#: the three seeds. MLP (100 epochs, P×K 10×25, Adam 1e-3 on a cosine, margin 0.5, L2-normalised):
#: shifts of 2 pixels 0.971 ± 0.003 (chosen; also the cheapest augmentation); with an elastic bend
#: of 1.5 pixels 0.970 ± 0.004; with rotation 8° and zoom 0.08 0.968 ± 0.004; margin 0.2 0.969 ±
#: 0.003; margin 1.0 0.970 ± 0.002; lr 2e-3 0.971 ± 0.001; lr 5e-4 0.964 ± 0.005; shuffled batches
#: of 256 0.969 ± 0.006 — all within the noise of the choice (Welch 95 % intervals) — and no
#: augmentation 0.944 ± 0.005, beyond it.
#: CNN (30 epochs, the same optimizer, margin and normalisation, shifts + rotation 10° + zoom 0.1):
#: with an elastic bend of 2 pixels and P×K 10×25 batches 0.991 ± 0.003 (chosen), the same with
#: shuffled batches of 256 0.990 ± 0.002, without the bend 0.989 ± 0.001. The CNN's margin and
#: learning rate were not searched separately; it shares the MLP's.
RECIPES = {
    "mlp": dict(epochs=100, pk=(10, 25), batch_size=250, learning_rate=1e-3, lr_schedule="cosine",
                margin=0.5, distance="squared_l2", wiring="labels", l2_normalize=True,
                augment={"shift": 2}, seed=0),
    "cnn": dict(epochs=30, pk=(10, 25), batch_size=250, learning_rate=1e-3, lr_schedule="cosine",
                margin=0.5, distance="squared_l2", wiring="labels", l2_normalize=True,
                augment={"shift": 2, "rotate": 10.0, "zoom": 0.1, "elastic": 2.0}, seed=0),
}


@dataclass
class TrainResult:
    """What ``train_embedding`` returns.

    Attributes:
        model: the trained base network (images → embeddings).
        history: ``{"epoch": [...], "loss": [...], ...}`` for every epoch trained so far,
            earlier sessions of a resumed run included.
        train_seconds, samples_seen: wall-clock seconds of ``fit`` and images processed, summed
            over all sessions of the run.
        samples_per_second: ``samples_seen / train_seconds``.
        initial_epoch: the epoch this call started from (> 0 after a resume).
        epoch_seconds: seconds of each epoch trained by this call.
        recipe: the settings used (JSON-friendly).
        trained_model: the model that was fitted (the concat model for ``wiring="concat"``).
    """

    model: keras.Model
    history: dict
    train_seconds: float
    samples_seen: int
    samples_per_second: float
    initial_epoch: int = 0
    epoch_seconds: list = field(default_factory=list)
    recipe: dict = field(default_factory=dict)
    trained_model: keras.Model | None = None
    output_dir: Path | None = None

    @property
    def steady_samples_per_second(self) -> float:
        """Throughput of this call's epochs after the first (which includes tracing)."""
        later = self.epoch_seconds[1:]
        if not later or self.recipe.get("samples_per_epoch") is None:
            return float("nan")
        return self.recipe["samples_per_epoch"] * len(later) / sum(later)


def _split_data(data):
    if hasattr(data, "x_train") and hasattr(data, "y_train"):
        return data.x_train, data.y_train
    if isinstance(data, (tuple, list)) and len(data) == 2:
        return data
    raise ValueError("data must be an MnistData or an (images, labels) pair")


def _prepare(data):
    from helpers.models import as_images

    x, y = _split_data(data)
    x = as_images(x)
    y = np.asarray(y).reshape(-1)
    if len(x) != len(y):
        raise ValueError(f"{len(x)} images but {len(y)} labels")
    if len(y) < 2:
        raise ValueError("training needs at least two images")
    if x.size and (not np.isfinite(x).all() or x.min() < 0 or x.max() > 1):
        raise ValueError("images must be float pixels in [0, 1] (see helpers.data.load_mnist)")
    return x, y.astype(np.int64)


def _default_loss(margin, distance):
    return SemiHardTripletLoss(margin=margin, distance=distance)


def _loss_name(loss) -> str:
    return getattr(loss, "__name__", type(loss).__name__)


class _EpochCheckpoint(keras.callbacks.Callback):
    """Save the whole model atomically after every epoch and keep the last ``keep`` files."""

    def __init__(self, folder: Path, state: dict, samples_per_epoch: int, keep: int = 2):
        super().__init__()
        self.folder, self.state, self.keep = folder, state, keep
        self.samples_per_epoch = samples_per_epoch
        self.epoch_seconds: list[float] = []
        self._start = None

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        seconds = time.perf_counter() - self._start
        self.epoch_seconds.append(seconds)
        self.state["train_seconds"] += seconds
        self.state["samples_seen"] += self.samples_per_epoch
        self.state["epoch"] = epoch + 1
        if self.folder is None:
            return
        path = self.folder / f"epoch_{epoch + 1:03d}.keras"
        tmp = self.folder / f".epoch_{epoch + 1:03d}.tmp.keras"
        self.model.save(tmp)
        os.replace(tmp, path)
        _write_json(self.folder / STATE_FILE, self.state)
        for old in list_checkpoints(self.folder)[:-self.keep]:
            old[1].unlink(missing_ok=True)


def _write_json(path: Path, obj):
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(obj, indent=2))
    os.replace(tmp, path)


def list_checkpoints(folder) -> list[tuple[int, Path]]:
    """``(epoch, path)`` of the checkpoints in ``folder``, oldest first."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    found = [(int(m.group(1)), p) for p in folder.iterdir() if (m := _CHECKPOINT.match(p.name))]
    return sorted(found)


def read_history(path) -> dict:
    """A ``history.csv`` as ``{column: [values]}`` (numbers as float, epoch as int)."""
    path = Path(path)
    if not path.is_file():
        return {}
    with open(path, newline="") as f:
        rows = list(csv.DictReader(f))
    history = {}
    for row in rows:
        for key, value in row.items():
            number = float("nan") if value in ("", "NA") else float(value)
            history.setdefault(key, []).append(int(number) if key == "epoch" else number)
    # CSVLogger adds empty val_* columns when there is no validation data: drop them.
    return {key: values for key, values in history.items() if not np.isnan(values).all()}


def _truncate_history(path: Path, epochs_kept: int):
    """Drop rows of epochs that have no checkpoint (they will be trained again)."""
    if not path.is_file():
        return
    with open(path, newline="") as f:
        rows = list(csv.reader(f))
    if not rows:
        return
    kept = [rows[0]] + [r for r in rows[1:] if r and int(r[0]) < epochs_kept]
    with open(path, "w", newline="") as f:
        csv.writer(f, lineterminator="\n").writerows(kept)


def _start_over(out: Path):
    for _, path in list_checkpoints(out / CHECKPOINT_DIR):
        path.unlink()
    for path in (out / CHECKPOINT_DIR / STATE_FILE, out / HISTORY_FILE):
        path.unlink(missing_ok=True)


def train_embedding(model_or_name="mlp", data=None, *, wiring: str = "labels", loss=None,
                    margin: float = 1.0, distance: str = "squared_l2", epochs: int = 25,
                    batch_size: int = 256, learning_rate: float = 1e-4, lr_schedule: str = "constant",
                    pk=None, augment: dict | None = None, l2_normalize: bool | None = None, output_dir=None,
                    resume: bool = True, verbose: int = 1, seed: int = 0,
                    steps_per_execution: int = 16, callbacks=(), keep_checkpoints: int = 2) -> TrainResult:
    """Train an embedding network with a triplet loss (default: semi-hard, margin 1, squared L2).

    Args:
        model_or_name: ``"mlp"`` (the 2018 network), ``"cnn"``, or a Keras base model.
        data: an ``MnistData`` (its training split is used) or an ``(images, labels)`` pair.
        wiring: ``"labels"`` (labels as ``y_true``) or ``"concat"`` (the 2018 wiring).
        loss: a Keras loss on ``(labels, embeddings)``; default ``SemiHardTripletLoss(margin,
            distance)``. With ``wiring="concat"`` it is wrapped in ``LabelConcatLoss``.
        lr_schedule: ``"constant"`` or ``"cosine"`` (decays to 0 over all ``epochs``).
        pk: ``None`` for shuffled batches of ``batch_size``, or ``(P, K)`` for class-balanced
            batches of P classes × K images (``helpers.data.pk_dataset``; ``batch_size`` is
            then ``P * K``).
        augment: random moves of the training images: options of ``helpers.pipeline.random_affine``,
            e.g. ``{"shift": 2, "rotate": 10, "zoom": 0.1}`` (``None``: no augmentation).
        l2_normalize: for a model built by name, end it with ``L2Normalize`` (default: the
            builder's default, off for the MLP, on for the CNN).
        output_dir: where checkpoints and ``history.csv`` go (``None``: nowhere, no resume).
        resume: continue from the latest checkpoint in ``output_dir``; ``False`` starts over
            and deletes the old checkpoints and history.
        verbose: Keras' progress output: 0 silent, 1 progress bar, 2 one line per epoch.
        seed: seeds Keras, NumPy, TensorFlow and the shuffling.
        steps_per_execution: training steps per ``tf.function`` call (capped to a divisor of
            the steps per epoch, so every epoch sees exactly one pass over the data).
        callbacks: extra Keras callbacks.
    """
    if wiring not in WIRINGS:
        raise ValueError(f"wiring must be one of {WIRINGS}, got {wiring!r}")
    if epochs < 1 or learning_rate <= 0:
        raise ValueError(f"epochs must be ≥ 1 and learning_rate > 0, got {epochs}, {learning_rate}")
    if lr_schedule not in ("constant", "cosine"):
        raise ValueError(f"lr_schedule must be 'constant' or 'cosine', got {lr_schedule!r}")
    x, y = _prepare(data)
    if pk is not None:
        batch_size = int(pk[0]) * int(pk[1])
    if batch_size < 2:
        raise ValueError(f"batch_size must be at least 2, got {batch_size}")
    keras.utils.set_random_seed(seed)

    if isinstance(model_or_name, str):
        kwargs = {} if l2_normalize is None else {"l2_normalize": l2_normalize}
        base, model_name = build_model(model_or_name, **kwargs), model_or_name
    else:
        base, model_name = model_or_name, model_or_name.name
    loss = loss if loss is not None else _default_loss(margin, distance)
    if wiring == "concat":
        trained, fit_loss = build_concat_model(base), LabelConcatLoss(loss)
    else:
        trained, fit_loss = base, loss
    steps = -(-len(y) // batch_size) if pk is None else max(len(y) // batch_size, 1)
    per_call = max(d for d in range(1, min(steps_per_execution, steps) + 1) if steps % d == 0)
    rate = learning_rate if lr_schedule == "constant" else \
        keras.optimizers.schedules.CosineDecay(learning_rate, decay_steps=epochs * steps)
    trained.compile(optimizer=keras.optimizers.Adam(rate), loss=fit_loss,
                    steps_per_execution=per_call, jit_compile=False)

    samples_per_epoch = len(y) if pk is None else steps * batch_size
    recipe = {"model": model_name, "wiring": wiring, "loss": _loss_name(loss), "margin": margin,
              "distance": distance, "epochs": epochs, "batch_size": batch_size,
              "learning_rate": learning_rate, "lr_schedule": lr_schedule,
              "pk": [int(v) for v in pk] if pk is not None else None,
              "augment": dict(augment) if augment else None,
              "l2_normalize": l2_normalize, "seed": seed,
              "steps_per_execution": per_call, "train_images": int(len(y)),
              "samples_per_epoch": samples_per_epoch}
    state = {"epoch": 0, "train_seconds": 0.0, "samples_seen": 0, "recipe": recipe}
    folder, initial_epoch, all_callbacks = None, 0, list(callbacks)
    if output_dir is not None:
        out = Path(output_dir)
        folder = out / CHECKPOINT_DIR
        folder.mkdir(parents=True, exist_ok=True)
        if not resume:
            _start_over(out)
        initial_epoch, state = _restore(trained, folder, state, recipe)
        _truncate_history(out / HISTORY_FILE, initial_epoch)
    # A resumed run shuffles with a new seed rather than replaying epoch 1's order.
    dataset, steps = training_batches(x, y, batch_size, pk=pk, seed=seed + initial_epoch,
                                      concat=wiring == "concat", augment=augment)
    # The history row is written before the checkpoint: a crash between the two leaves an extra
    # row, which the next resume removes (_truncate_history), never a checkpoint without a row.
    checkpoint = _EpochCheckpoint(folder, state, samples_per_epoch, keep_checkpoints)
    all_callbacks.insert(0, checkpoint)
    if output_dir is not None:
        all_callbacks.insert(0, keras.callbacks.CSVLogger(str(Path(output_dir) / HISTORY_FILE),
                                                          append=initial_epoch > 0))

    fit_history = {}
    if initial_epoch < epochs:
        fit = trained.fit(dataset, epochs=epochs, initial_epoch=initial_epoch, steps_per_epoch=steps,
                          verbose=verbose, shuffle=False, callbacks=all_callbacks)
        fit_history = {"epoch": list(fit.epoch),
                       **{key: [float(v) for v in values] for key, values in fit.history.items()}}
    elif verbose:
        print(f"already trained for {initial_epoch} epochs (of {epochs}); nothing to do")
    history = read_history(Path(output_dir) / HISTORY_FILE) if output_dir is not None else fit_history
    seconds, seen = state["train_seconds"], state["samples_seen"]
    return TrainResult(model=embedding_model(trained), history=history, train_seconds=seconds,
                       samples_seen=seen, samples_per_second=seen / seconds if seconds else float("nan"),
                       initial_epoch=initial_epoch, epoch_seconds=checkpoint.epoch_seconds,
                       recipe=recipe, trained_model=trained,
                       output_dir=Path(output_dir) if output_dir is not None else None)


def _restore(model, folder: Path, state: dict, recipe: dict):
    """Load the latest checkpoint's weights and optimizer state into ``model``; its epoch."""
    checkpoints = list_checkpoints(folder)
    if not checkpoints:
        return 0, state
    saved = json.loads((folder / STATE_FILE).read_text()) if (folder / STATE_FILE).is_file() else {}
    old = saved.get("recipe", {})
    clash = {key: (old.get(key), recipe[key]) for key in _RESUME_KEYS
             if key in old and old.get(key) != recipe[key]}
    if clash:
        details = ", ".join(f"{k}: {a!r} then, {b!r} now" for k, (a, b) in clash.items())
        raise ValueError(f"{folder} holds checkpoints of a different recipe ({details}); "
                         "use another output directory or resume=False")
    for stray in folder.glob(".epoch_*.tmp.keras"):  # a save cut short by an interruption
        stray.unlink(missing_ok=True)
    model.optimizer.build(model.trainable_variables)
    for epoch, path in reversed(checkpoints):
        try:
            model.load_weights(path)
            break
        except Exception as err:  # a damaged file: fall back to the one before
            print(f"warning: cannot load {path.name} ({type(err).__name__}); trying an older one")
    else:
        raise ValueError(f"none of the checkpoints in {folder} can be loaded; use resume=False")
    # Throughput totals as of the restored epoch (the state file may be an epoch ahead/behind).
    saved_epoch = int(saved.get("epoch", epoch))
    seen = int(saved.get("samples_seen", 0)) + (epoch - saved_epoch) * recipe["samples_per_epoch"]
    seconds = float(saved.get("train_seconds", 0.0)) * (epoch / saved_epoch if saved_epoch else 0.0)
    return epoch, {**state, "epoch": epoch, "samples_seen": max(seen, 0), "train_seconds": seconds}
