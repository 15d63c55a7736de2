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
to ``output_dir/checkpoints/epoch_NNN.keras`` and appending a row to ``output_dir/history.csv``,
each written to a temporary name and renamed, so an interruption never leaves half a file.
Calling ``train_embedding`` again with the same ``output_dir`` resumes from the latest checkpoint
with ``initial_epoch`` set, so an interruption costs at most the epoch in progress — but only if
the call would train the same run: the same recipe, architecture and training data
(``helpers.runs`` compares them and raises ``RunFolderError`` naming every difference).
A NaN or infinite loss stops training at the end of its epoch with ``TrainingDiverged``; the
diverged epoch leaves no checkpoint and no history row.

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

import contextlib
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import keras

from helpers import distributed, runs
from helpers.losses import LabelConcatLoss, SemiHardTripletLoss, _TripletLossBase
from helpers.models import build_concat_model, build_model, embedding_model
from helpers.pipeline import training_batches
from helpers.runs import (  # noqa: F401  (part of this module's interface since chapter 4)
    CHECKPOINT_DIR, HISTORY_FILE, STATE_FILE, RunFolderError, list_checkpoints, read_history,
)

WIRINGS = ("labels", "concat")

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
    """Images ``(N, 28, 28, 1)`` in [0, 1], the labels as given (int64) and as class indices
    0..C-1: the loss only compares labels, and small indices stay exact in float32, where Keras
    and the 2018 wiring carry them (labels above 2**24 would merge there)."""
    from helpers.models import as_images

    x, y = _split_data(data)
    x = as_images(x)
    y = np.asarray(y).reshape(-1)
    if len(x) != len(y):
        raise ValueError(f"{len(x)} images but {len(y)} labels")
    if len(y) < 2:
        raise ValueError(f"training needs at least two images, got {len(y)}")
    if x.size and (not np.isfinite(x).all() or x.min() < 0 or x.max() > 1):
        raise ValueError("images must be float pixels in [0, 1] (see helpers.data.load_mnist)")
    if y.dtype.kind not in "iuf" or (y.dtype.kind == "f" and not np.all(np.isfinite(y) & (y == np.round(y)))):
        raise ValueError(f"labels must be whole numbers (class ids), got dtype {y.dtype}")
    labels = y.astype(np.int64)
    classes, index = np.unique(labels, return_inverse=True)
    if len(classes) < 2:
        raise ValueError(f"training needs at least two classes (a triplet needs a negative); "
                         f"the labels hold only class {classes[0]}")
    return x, labels, index.astype(np.int64)


def _default_loss(margin, distance, mining="global"):
    return SemiHardTripletLoss(margin=margin, distance=distance, mining=mining)


def _loss_name(loss) -> str:
    return getattr(loss, "__name__", type(loss).__name__)


class TrainingDiverged(ArithmeticError):
    """The loss became NaN or infinite; no checkpoint or result of the diverged epoch was kept."""


class _RunLog(keras.callbacks.Callback):
    """At every epoch's end: stop on a non-finite loss, then append the epoch to ``history.csv``,
    save the checkpoint and the counters (each file atomically) and keep the last ``keep``
    checkpoints. The history row comes first: a crash before the checkpoint leaves a row that the
    next resume drops, never a checkpoint without its row."""

    def __init__(self, out: Path | None, state: dict, history: dict, samples_per_epoch: int, keep: int = 2):
        super().__init__()
        self.out, self.state, self.history, self.keep = out, state, history, keep
        self.samples_per_epoch = samples_per_epoch
        self.epoch_seconds: list[float] = []
        self._start = None

    def on_epoch_begin(self, epoch, logs=None):
        self._start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        seconds = time.perf_counter() - self._start
        values = runs.finite_logs(logs)
        bad = runs.first_non_finite(values)
        if bad is not None:
            self.model.stop_training = True
            kept = (f"; {self.out} keeps epoch {self.state['epoch']}, the last finite one"
                    if self.out is not None and self.state["epoch"] else "")
            rate = self.state["recipe"].get("learning_rate")
            raise TrainingDiverged(
                f"training diverged in epoch {epoch + 1}: the {bad} became {values[bad]} — the learning "
                f"rate ({rate:g}) is probably too high; lower it (--learning-rate){kept}")
        self.epoch_seconds.append(seconds)
        self.state["train_seconds"] += seconds
        self.state["samples_seen"] += self.samples_per_epoch
        self.state["epoch"] = epoch + 1
        self.history.setdefault("epoch", []).append(epoch)
        for key, value in values.items():
            self.history.setdefault(key, []).append(value)
        if self.out is None:
            return
        folder = self.out / CHECKPOINT_DIR
        runs.write_history(self.out / HISTORY_FILE, self.history)
        runs.save_model_atomically(self.model, folder / f"epoch_{epoch + 1:03d}.keras")
        runs.write_json_atomically(folder / STATE_FILE, self.state)
        for old in list_checkpoints(folder)[:-self.keep]:
            old[1].unlink(missing_ok=True)


def train_embedding(model_or_name="mlp", data=None, *, wiring: str = "labels", loss=None,
                    margin: float = 1.0, distance: str = "squared_l2", epochs: int = 25,
                    batch_size: int = 256, learning_rate: float = 1e-4, lr_schedule: str = "constant",
                    pk=None, augment: dict | None = None, l2_normalize: bool | None = None, output_dir=None,
                    resume: bool = True, verbose: int = 1, seed: int = 0,
                    steps_per_execution: int = 16, callbacks=(), keep_checkpoints: int = 2,
                    devices: int = 1, mining: str | None = None) -> TrainResult:
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
        resume: continue from the latest checkpoint in ``output_dir`` (the same recipe, model and
            data, else ``RunFolderError``; ``epochs`` may grow under a constant learning rate);
            ``False`` starts over and first deletes the old checkpoints, history and results.
        verbose: Keras' progress output: 0 silent, 1 progress bar, 2 one line per epoch.
        seed: seeds Keras, NumPy, TensorFlow and the shuffling.
        steps_per_execution: training steps per ``tf.function`` call (capped to a divisor of
            the steps per epoch, so every epoch sees exactly one pass over the data); 1 when
            ``devices > 1``: Keras 3.15 cannot run several under a strategy (keras-team/keras
            issue 19246, "You must feed a value for placeholder tensor").
        callbacks: extra Keras callbacks.
        devices: train under ``tf.distribute.MirroredStrategy`` over this many GPUs, or logical
            CPU devices where there are fewer GPUs (``helpers.distributed.strategy_for``);
            ``TrainResult.model`` is then a one-device copy of the trained embedding network.
            Several machines (a ``TF_CONFIG`` cluster) are refused: Keras 3.15's ``fit`` cannot
            train under ``MultiWorkerMirroredStrategy`` (``helpers.distributed``).
            ``batch_size`` (or P×K) stays the *global* batch, split among the replicas.
        mining: ``"global"`` (default: mine over the whole global batch, the same loss and
            gradients as one device) or ``"local"`` (within each replica's shard); it sets the
            default loss's ``mining``; a course loss passed in keeps its own (they must agree).
    """
    if wiring not in WIRINGS:
        raise ValueError(f"wiring must be one of {WIRINGS}, got {wiring!r}")
    if epochs < 1 or not 0 < learning_rate < float("inf"):
        raise ValueError(f"epochs must be ≥ 1 and learning_rate a finite number > 0, got {epochs}, "
                         f"{learning_rate}")
    if not 0 < margin < float("inf"):
        raise ValueError(f"margin must be a finite number > 0, got {margin}")
    if lr_schedule not in ("constant", "cosine"):
        raise ValueError(f"lr_schedule must be 'constant' or 'cosine', got {lr_schedule!r}")
    x, labels, y = _prepare(data)
    if distributed.cluster()[0] > 1:
        raise distributed.ClusterNotSupported(distributed.NO_MULTI_WORKER_FIT)
    strategy = distributed.strategy_for(devices)  # None for one device
    mining = _check_loss_mining(loss, mining, strategy is not None)
    if pk is not None:
        batch_size = int(pk[0]) * int(pk[1])
    if batch_size < 2:
        raise ValueError(f"batch_size must be at least 2, got {batch_size}")
    if pk is None and batch_size > len(y):
        raise ValueError(f"batch_size {batch_size} is larger than the {len(y)} training images; "
                         f"use at most {len(y)}")
    keras.utils.set_random_seed(seed)
    scope = strategy.scope() if strategy is not None else contextlib.nullcontext()
    with scope:  # the model, its optimizer and their variables live on every replica
        result = _train(model_or_name, x, labels, y, wiring, loss, margin, distance, epochs,
                        batch_size, learning_rate, lr_schedule, pk, augment, l2_normalize,
                        output_dir, resume, verbose, seed, steps_per_execution, callbacks,
                        keep_checkpoints, strategy is not None, mining)
    if strategy is not None:  # the embedding network, for use on one device
        result.model = distributed.one_device_copy(result.model)
    return result


def _check_loss_mining(loss, mining, replicated):
    """The mining the run uses; a loss passed in must be one that scales itself per replica."""
    if mining is not None:
        distributed.check_mining(mining)
    if loss is None:
        return mining or "global"
    own = getattr(loss, "mining", None)
    if replicated and not isinstance(loss, _TripletLossBase):
        raise ValueError("training on several devices needs one of the course's Keras losses (helpers.losses, "
                         f"helpers.contrastive), which mine and scale per replica; got {_loss_name(loss)}")
    if mining is not None and own is not None and mining != own:
        raise ValueError(f"mining={mining!r} but the loss passed in mines {own!r}; give the loss "
                         "the mining you want")
    return own or mining


def _train(model_or_name, x, labels, y, wiring, loss, margin, distance, epochs, batch_size,
           learning_rate, lr_schedule, pk, augment, l2_normalize, output_dir, resume, verbose, seed,
           steps_per_execution, callbacks, keep_checkpoints, replicated, mining) -> TrainResult:
    """``train_embedding`` after its checks, inside the strategy's scope when there is one."""
    if isinstance(model_or_name, str):
        kwargs = {} if l2_normalize is None else {"l2_normalize": l2_normalize}
        base, model_name = build_model(model_or_name, **kwargs), model_or_name
    else:
        base, model_name = model_or_name, model_or_name.name
        if replicated:  # its variables must be created under the strategy: a copy is
            base = keras.models.clone_model(model_or_name)
            base.set_weights(model_or_name.get_weights())
    custom_loss = loss
    loss = loss if loss is not None else _default_loss(margin, distance, mining)
    if wiring == "concat":
        trained, fit_loss = build_concat_model(base), LabelConcatLoss(loss)
    else:
        trained, fit_loss = base, loss
    steps = -(-len(y) // batch_size) if pk is None else max(len(y) // batch_size, 1)
    per_call = max(d for d in range(1, min(steps_per_execution, steps) + 1) if steps % d == 0)
    if replicated:  # Keras 3.15 fails on several steps per call under a strategy (keras#19246:
        per_call = 1  # "You must feed a value for placeholder tensor 'while/cond/...'")
    rate = learning_rate if lr_schedule == "constant" else \
        keras.optimizers.schedules.CosineDecay(learning_rate, decay_steps=epochs * steps)
    trained.compile(optimizer=keras.optimizers.Adam(rate), loss=fit_loss,
                    steps_per_execution=per_call, jit_compile=False)

    samples_per_epoch = len(y) if pk is None else steps * batch_size
    # ``margin`` and ``distance`` configure the default loss only: for a loss passed in they would
    # be misleading (its own settings go to ``loss_settings``), so the recipe records None.
    own = custom_loss is None
    recipe = {"model": model_name, "wiring": wiring, "loss": _loss_name(loss),
              "margin": margin if own else None, "distance": distance if own else None, "epochs": epochs, "batch_size": batch_size,
              "learning_rate": learning_rate, "lr_schedule": lr_schedule,
              "pk": [int(v) for v in pk] if pk is not None else None,
              "augment": dict(augment) if augment else None,
              "l2_normalize": l2_normalize, "seed": seed,
              "steps_per_execution": per_call, "train_images": int(len(y)),
              "samples_per_epoch": samples_per_epoch,
              "replicas": trained.distribute_strategy.num_replicas_in_sync, "mining": mining,
              "global_batch": batch_size}
    state = {"epoch": 0, "train_seconds": 0.0, "samples_seen": 0, "recipe": recipe}
    out, initial_epoch, history = None, 0, {}
    if output_dir is not None:
        out = Path(output_dir)
        # What a run folder must agree on before it resumes (not needed without one: hashing costs).
        recipe.update(loss_settings=runs.loss_settings(loss), architecture=runs.architecture(trained),
                      data=runs.data_fingerprint(x, labels))
        (out / CHECKPOINT_DIR).mkdir(parents=True, exist_ok=True)
        if not resume:
            runs.start_over(out)
        initial_epoch, state = _restore(trained, out / CHECKPOINT_DIR, state, recipe, steps)
        history = runs.history_before(out / HISTORY_FILE, initial_epoch)
        runs.write_history(out / HISTORY_FILE, history)
        runs.write_json_atomically(out / CHECKPOINT_DIR / STATE_FILE, state)
    # A resumed run shuffles with a new seed rather than replaying epoch 1's order.
    dataset, steps = training_batches(x, y, batch_size, pk=pk, seed=seed + initial_epoch,
                                      concat=wiring == "concat", augment=augment)
    log = _RunLog(out, state, history, samples_per_epoch, keep_checkpoints)
    if initial_epoch < epochs:
        trained.fit(dataset, epochs=epochs, initial_epoch=initial_epoch, steps_per_epoch=steps,
                    verbose=verbose, shuffle=False, callbacks=[log, *callbacks])
    elif verbose:
        print(f"already trained for {initial_epoch} epochs (of {epochs}); nothing to do")
    seconds, seen = state["train_seconds"], state["samples_seen"]
    return TrainResult(model=embedding_model(trained), history=history, train_seconds=seconds,
                       samples_seen=seen, samples_per_second=seen / seconds if seconds else float("nan"),
                       initial_epoch=initial_epoch, epoch_seconds=log.epoch_seconds,
                       recipe=recipe, trained_model=trained, output_dir=out)


def _restore(model, folder: Path, state: dict, recipe: dict, steps: int):
    """Load the latest finite checkpoint (weights and optimizer state) into ``model`` after
    checking that the run in ``folder`` is this run; return its epoch and the counters."""
    checkpoints = list_checkpoints(folder)
    if not checkpoints:
        return 0, state
    saved = runs.read_state(folder)
    if not saved:
        raise RunFolderError(f"{folder} holds checkpoints but no {STATE_FILE}, so nothing says which run "
                             f"made them; {runs.WAY_OUT}")
    runs.check_resumable(folder.parent, saved, recipe, checkpoints[-1][0])
    runs.remove_stray_files(folder)  # a save cut short by an interruption
    model.optimizer.build(model.trainable_variables)
    for epoch, path in reversed(checkpoints):
        try:
            model.load_weights(path)
        except Exception as err:  # a damaged file: fall back to the one before
            print(f"warning: cannot load {path.name} ({type(err).__name__}); trying an older one")
            continue
        if runs.weights_are_finite(model):
            break
        print(f"warning: {path.name} holds NaN or infinite weights; trying an older one")
    else:
        raise RunFolderError(f"none of the checkpoints in {folder} can be loaded; {runs.WAY_OUT}")
    updates = int(model.optimizer.iterations.numpy())
    if updates != epoch * steps:
        raise RunFolderError(f"{path} made {updates} optimizer updates, not the {epoch} × {steps} this "
                             f"recipe makes in {epoch} epochs; {runs.WAY_OUT}")
    # Throughput totals as of the restored epoch (the state file may be an epoch ahead/behind).
    saved_epoch = int(saved.get("epoch", epoch))
    seen = int(saved.get("samples_seen", 0)) + (epoch - saved_epoch) * recipe["samples_per_epoch"]
    seconds = float(saved.get("train_seconds", 0.0)) * (epoch / saved_epoch if saved_epoch else 0.0)
    return epoch, {**state, "epoch": epoch, "samples_seen": max(seen, 0), "train_seconds": seconds}
