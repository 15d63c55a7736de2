"""Tests of helpers.pipeline and helpers.training: batches, augmentation, training, resume."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import json  # noqa: E402

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import tensorflow as tf  # noqa: E402

import helpers  # noqa: E402,F401
from helpers.losses import LabelConcatLoss, SemiHardTripletLoss  # noqa: E402
from helpers.models import build_mlp, embed  # noqa: E402
from helpers.pipeline import elastic_warp, random_affine, shuffled_batches  # noqa: E402
from helpers.training import (  # noqa: E402
    CHECKPOINT_DIR, HISTORY_FILE, list_checkpoints, read_history, train_embedding,
)


# ----------------------------------------------------------------------------- the pipeline
def test_shuffled_batches_cover_every_image_once_per_pass(tiny):
    x, y = tiny
    ids = np.arange(len(y), dtype=np.float32)[:, None, None, None] * np.ones((1, 28, 28, 1), np.float32)
    batches = list(shuffled_batches(ids, y, 64, seed=3).as_numpy_iterator())
    assert [len(b[1]) for b in batches] == [64, 64, 64, 48]
    seen = np.concatenate([b[0][:, 0, 0, 0] for b in batches]).astype(int)
    assert sorted(seen) == list(range(len(y)))
    np.testing.assert_array_equal(np.concatenate([b[1] for b in batches]), y[seen])
    (images, labels), zeros = next(iter(shuffled_batches(x, y, 16, concat=True)))
    assert images.shape == (16, 28, 28, 1) and labels.shape == (16, 1) and zeros.shape == (16, 1)


def test_random_affine_shifts_by_whole_pixels():
    image = np.zeros((200, 28, 28, 1), np.float32)
    image[:, 14, 14, 0] = 1.0
    out = random_affine(tf.constant(image), shift=2, seed=(0, 0)).numpy()
    assert np.all(out.sum(axis=(1, 2, 3)) == 1.0)  # the pixel survives, nothing smears
    rows, cols = np.nonzero(out[..., 0])[1:]
    assert set(rows - 14) == set(cols - 14) == {-2, -1, 0, 1, 2}


def test_random_affine_rotates_and_zooms_about_the_centre():
    image = np.zeros((50, 29, 29, 1), np.float32)
    image[:, 14, 4:25, 0] = 1.0  # a horizontal bar through the centre
    for kwargs in ({"rotate": 90.0}, {"zoom": 0.5}):
        out = random_affine(tf.constant(image), seed=(3, 0), **kwargs).numpy()[..., 0]
        np.testing.assert_allclose(out[:, 14, 14], 1.0, atol=1e-5)  # the centre stays put
        assert out.min() >= 0 and out.max() <= 1 + 1e-5
        rows_spread = [np.ptp(np.argwhere(o > 0.5)[:, 0]) for o in out]
        cols_spread = [np.ptp(np.argwhere(o > 0.5)[:, 1]) for o in out]
        if "rotate" in kwargs:
            assert np.mean(np.array(rows_spread) > 2) > 0.5  # most bars are no longer horizontal
        else:
            assert max(rows_spread) <= 1 and len(set(cols_spread)) > 3  # longer or shorter bars


def test_elastic_warp_is_smooth_and_keeps_the_ink():
    images = tf.zeros((8, 28, 28, 1))  # blank ...
    images = tf.tensor_scatter_nd_update(images, [[i, 10 + j, 8 + k, 0] for i in range(8)
                                                  for j in range(8) for k in range(12)], [1.0] * 768)
    seed = tf.constant([1, 2], tf.int64)
    np.testing.assert_array_equal(elastic_warp(images, 0.0, seed).numpy(), images.numpy())
    bent = elastic_warp(images, 2.0, seed).numpy()
    assert not np.allclose(bent, images.numpy())
    assert bent.min() >= 0 and bent.max() <= 1 + 1e-6
    ink = bent.sum(axis=(1, 2, 3))  # ... with a block of 96 pixels of ink: bent, not lost
    assert np.all((ink > 48) & (ink < 144)) and abs(ink.mean() - 96) < 20


# ----------------------------------------------------------------------------- training
def test_tiny_run_lowers_the_loss(tiny):
    x, y = tiny
    model = build_mlp(16, l2_normalize=True)
    loss = SemiHardTripletLoss(margin=0.5)
    before = float(loss(y, embed(model, x)))
    result = train_embedding(model, (x, y), epochs=3, batch_size=60, learning_rate=3e-3, margin=0.5,
                             verbose=0)
    after = float(loss(y, embed(result.model, x)))
    assert after < 0.7 * before
    assert result.model is model
    assert len(result.history["loss"]) == 3 and result.initial_epoch == 0
    assert result.samples_seen == 3 * len(y)
    assert result.samples_per_second == pytest.approx(result.samples_seen / result.train_seconds)
    assert result.recipe["steps_per_execution"] == 4
    assert type(result.trained_model.loss) is SemiHardTripletLoss
    assert result.trained_model.loss.margin == 0.5 and result.trained_model.loss.distance == "squared_l2"


def test_recipe_names_no_margin_for_a_loss_passed_in(tiny):
    """``margin`` / ``distance`` set the default loss only; a loss passed in (SupCon, a classifier's
    cross-entropy) has its own settings, so the recipe must not claim the default margin 1.0."""
    x, y = tiny
    own = train_embedding(build_mlp(8), (x, y), epochs=1, batch_size=60, margin=0.5, verbose=0)
    assert (own.recipe["margin"], own.recipe["distance"]) == (0.5, "squared_l2")
    given = train_embedding(build_mlp(8), (x, y), epochs=1, batch_size=60, verbose=0,
                            loss=SemiHardTripletLoss(margin=0.2, distance="l2"))
    assert (given.recipe["margin"], given.recipe["distance"]) == (None, None)
    assert given.recipe["loss"] == "SemiHardTripletLoss"


def test_concat_wiring_and_pk_batches(tiny):
    x, y = tiny
    result = train_embedding("mlp", (x, y), wiring="concat", pk=(3, 8), epochs=1, verbose=0,
                             learning_rate=1e-3)
    assert len(result.trained_model.inputs) == 2
    assert isinstance(result.trained_model.loss, LabelConcatLoss)
    assert len(result.model.inputs) == 1 and result.model.output_shape == (None, 64)
    assert result.recipe["batch_size"] == 24
    assert result.samples_seen == (len(y) // 24) * 24
    out = result.trained_model.predict([x[:5], y[:5]], verbose=0)
    np.testing.assert_allclose(out[:, 1:], embed(result.model, x[:5]), atol=1e-5)


class Interrupt(Exception):
    pass


class InterruptAfter(keras.callbacks.Callback):
    """Simulates a crash (or Ctrl-C) at the end of epoch ``stop`` (1-based), after the checkpoint."""

    def __init__(self, stop):
        super().__init__()
        self.stop = stop

    def on_epoch_end(self, epoch, logs=None):
        if epoch + 1 == self.stop:
            raise Interrupt


class RecordStart(keras.callbacks.Callback):
    def on_train_begin(self, logs=None):
        self.weights = [w.copy() for w in self.model.get_weights()]
        self.iterations = int(self.model.optimizer.iterations)


def test_resume_continues_from_the_last_checkpoint(tiny, tmp_path):
    x, y = tiny
    kw = dict(epochs=4, batch_size=48, learning_rate=1e-3, output_dir=tmp_path, verbose=0)
    with pytest.raises(Interrupt):
        train_embedding("mlp", (x, y), callbacks=[InterruptAfter(2)], **kw)
    checkpoints = list_checkpoints(tmp_path / CHECKPOINT_DIR)
    assert [epoch for epoch, _ in checkpoints] == [1, 2]
    assert read_history(tmp_path / HISTORY_FILE)["epoch"] == [0, 1]
    saved = keras.saving.load_model(checkpoints[-1][1], compile=False)
    # A half-written checkpoint of epoch 3 from the crash must be ignored.
    (tmp_path / CHECKPOINT_DIR / ".epoch_003.tmp.keras").write_bytes(b"partial")

    start = RecordStart()
    result = train_embedding("mlp", (x, y), callbacks=[start], **kw)
    assert result.initial_epoch == 2
    assert start.iterations == 2 * 5  # optimizer state restored: 5 steps per epoch
    for got, want in zip(start.weights, saved.get_weights()):
        np.testing.assert_array_equal(got, want)
    assert result.history["epoch"] == [0, 1, 2, 3]
    assert len(result.epoch_seconds) == 2  # only two epochs trained this time
    assert int(result.trained_model.optimizer.iterations) == 4 * 5
    assert result.samples_seen == 4 * len(y)
    assert [e for e, _ in list_checkpoints(tmp_path / CHECKPOINT_DIR)] == [3, 4]  # keeps the last 2
    state = json.loads((tmp_path / CHECKPOINT_DIR / "state.json").read_text())
    assert state["epoch"] == 4 and state["samples_seen"] == 4 * len(y)

    again = train_embedding("mlp", (x, y), **kw)  # already complete: nothing to train
    assert again.initial_epoch == 4 and again.epoch_seconds == []
    np.testing.assert_array_equal(embed(again.model, x[:8]), embed(result.model, x[:8]))

    with pytest.raises(ValueError, match=r"holds another run \(batch_size: 48 then, 40 now\)"):
        train_embedding("mlp", (x, y), **{**kw, "batch_size": 40})
    fresh = train_embedding("mlp", (x, y), **{**kw, "batch_size": 80, "epochs": 1}, resume=False)
    assert fresh.initial_epoch == 0 and fresh.history["epoch"] == [0]
    assert [e for e, _ in list_checkpoints(tmp_path / CHECKPOINT_DIR)] == [1]


@pytest.mark.parametrize("kwargs, message", [
    (dict(wiring="sideways"), "wiring"),
    (dict(epochs=0), "epochs"),
    (dict(lr_schedule="step"), "lr_schedule"),
    (dict(batch_size=1), "batch_size"),
])
def test_bad_arguments(tiny, kwargs, message):
    with pytest.raises(ValueError, match=message):
        train_embedding("mlp", tiny, verbose=0, **kwargs)


def test_bad_data(tiny):
    x, y = tiny
    with pytest.raises(ValueError, match="labels"):
        train_embedding("mlp", (x, y[:-1]), verbose=0)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        train_embedding("mlp", (x * 255, y), verbose=0)
    with pytest.raises(ValueError, match="MnistData"):
        train_embedding("mlp", x, verbose=0)


def test_restore_skips_a_damaged_checkpoint(tmp_path, capsys):
    from helpers.training import _restore

    model = build_mlp(8)
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss=SemiHardTripletLoss())
    model.optimizer.build(model.trainable_variables)
    model.save(tmp_path / "epoch_001.keras")
    (tmp_path / "epoch_002.keras").write_bytes(b"cut short")
    (tmp_path / ".epoch_003.tmp.keras").write_bytes(b"partial")
    fresh = build_mlp(8)
    fresh.compile(optimizer=keras.optimizers.Adam(1e-3), loss=SemiHardTripletLoss())
    recipe = {"samples_per_epoch": 100, "epochs": 3}
    (tmp_path / "state.json").write_text(json.dumps({"epoch": 1, "recipe": recipe}))
    epoch, state = _restore(fresh, tmp_path, {"recipe": recipe}, recipe, steps=0)
    assert epoch == 1 and state["samples_seen"] == 0
    assert "cannot load epoch_002.keras" in capsys.readouterr().out
    assert not (tmp_path / ".epoch_003.tmp.keras").exists()
    for got, want in zip(fresh.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(got, want)
