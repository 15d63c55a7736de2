"""Run folders that cannot lie (helpers.runs via helpers.training.train_embedding).

Each test is named after the wrong result it prevents: a resume that silently trains another
recipe or other data, a NaN model published as a result, a file half written by a kill, a folder
that mixes two runs.
"""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import json  # noqa: E402
import shutil  # noqa: E402

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import tensorflow as tf  # noqa: E402

from helpers import runs  # noqa: E402
from helpers.losses import SemiHardTripletLoss  # noqa: E402
from helpers.runs import CHECKPOINT_DIR, HISTORY_FILE, STATE_FILE, RunFolderError  # noqa: E402
from helpers.training import TrainingDiverged, list_checkpoints, read_history, train_embedding  # noqa: E402

BASE = dict(epochs=2, batch_size=48, learning_rate=1e-3, margin=1.0, distance="squared_l2",
            lr_schedule="constant", seed=0, verbose=0)


@pytest.fixture(scope="module")
def finished(tiny, tmp_path_factory):
    """A run folder holding a finished 2-epoch run of BASE."""
    out = tmp_path_factory.mktemp("finished")
    train_embedding("mlp", tiny, output_dir=out, **BASE)
    return out


@pytest.fixture
def run_copy(finished, tmp_path):
    """A private copy of the finished run (tests change it)."""
    out = tmp_path / "run"
    shutil.copytree(finished, out)
    return out


# ----------------------------------------------------------------------------- resume refuses
@pytest.mark.parametrize("change, named", [
    (dict(epochs=3, margin=0.1), "margin: 1.0 then, 0.1 now"),
    (dict(distance="l2"), 'distance: "squared_l2" then, "l2" now'),
    (dict(learning_rate=5e-4), "learning_rate: 0.001 then, 0.0005 now"),
    (dict(lr_schedule="cosine"), 'lr_schedule: "constant" then, "cosine" now'),
    (dict(seed=1), "seed: 0 then, 1 now"),
    (dict(augment={"shift": 2}), 'augment: null then, {"shift": 2} now'),
    (dict(l2_normalize=True), "l2_normalize: null then, true now"),
    (dict(wiring="concat"), 'wiring: "labels" then, "concat" now'),
    (dict(pk=(6, 8)), "pk: null then, [6, 8] now"),
])
def test_resume_refuses_another_recipe_instead_of_recording_it_for_the_whole_run(tiny, run_copy,
                                                                                   change, named):
    before = (run_copy / CHECKPOINT_DIR / STATE_FILE).read_text()
    with pytest.raises(RunFolderError) as info:
        train_embedding("mlp", tiny, output_dir=run_copy, **{**BASE, **change})
    message = str(info.value)
    assert named in message and "--restart" in message and "another output folder" in message
    assert len(message.splitlines()) == 1 and named in info.value.differences
    assert (run_copy / CHECKPOINT_DIR / STATE_FILE).read_text() == before  # the run is untouched


def test_l2_normalize_change_names_the_architecture_too(tiny, run_copy):
    with pytest.raises(RunFolderError, match="architecture: .* then, .*L2Normalize"):
        train_embedding("mlp", tiny, output_dir=run_copy, **{**BASE, "l2_normalize": True})


def test_resume_refuses_another_loss_setting_of_a_given_loss(tiny, run_copy):
    loss = SemiHardTripletLoss(margin=1.0, method="tile")
    with pytest.raises(RunFolderError, match="loss_settings"):
        train_embedding("mlp", tiny, output_dir=run_copy, loss=loss, **BASE)


def test_resume_refuses_other_training_data(tiny, run_copy):
    x, y = tiny
    with pytest.raises(RunFolderError, match=r"data: 240 images \(sha256 \w+\) then, 200 images"):
        train_embedding("mlp", (x[:200], y[:200]), output_dir=run_copy, **{**BASE, "epochs": 3})
    changed = x.copy()
    changed[0, 0, 0, 0] = 1.0 - changed[0, 0, 0, 0]  # one pixel
    with pytest.raises(RunFolderError, match=r"data: 240 images .* then, 240 images"):
        train_embedding("mlp", (changed, y), output_dir=run_copy, **{**BASE, "epochs": 3})


def test_cosine_run_refuses_a_new_epoch_count_whose_schedule_would_already_be_over(tiny, tmp_path):
    cosine = {**BASE, "lr_schedule": "cosine"}
    train_embedding("mlp", tiny, output_dir=tmp_path, **cosine)
    with pytest.raises(RunFolderError, match="epochs: 2 then, 3 now .*cosine"):
        train_embedding("mlp", tiny, output_dir=tmp_path, **{**cosine, "epochs": 3})


def test_nothing_to_do_rerun_with_fewer_epochs_is_refused_not_rebuilt(tiny, run_copy):
    with pytest.raises(RunFolderError, match="holds 2 trained epochs, more than the 1 asked for"):
        train_embedding("mlp", tiny, output_dir=run_copy, **{**BASE, "epochs": 1})


def test_constant_rate_run_may_train_longer(tiny, run_copy):
    result = train_embedding("mlp", tiny, output_dir=run_copy, **{**BASE, "epochs": 3})
    assert result.initial_epoch == 2 and result.history["epoch"] == [0, 1, 2]
    assert int(result.trained_model.optimizer.iterations) == 3 * 5
    assert json.loads((run_copy / CHECKPOINT_DIR / STATE_FILE).read_text())["recipe"]["epochs"] == 3


def test_checkpoints_without_state_json_are_refused(tiny, run_copy):
    (run_copy / CHECKPOINT_DIR / STATE_FILE).unlink()
    with pytest.raises(RunFolderError, match="no state.json"):
        train_embedding("mlp", tiny, output_dir=run_copy, **BASE)


def test_damaged_state_json_is_named_not_a_bare_json_error(tiny, run_copy):
    (run_copy / CHECKPOINT_DIR / STATE_FILE).write_text('{"epoch": 2, "reci')
    with pytest.raises(RunFolderError, match=r"state.json is damaged \(not valid JSON"):
        train_embedding("mlp", tiny, output_dir=run_copy, **BASE)


def test_state_json_of_an_older_version_is_refused_as_unverifiable(tiny, run_copy):
    path = run_copy / CHECKPOINT_DIR / STATE_FILE
    state = json.loads(path.read_text())
    del state["recipe"]["data"]
    path.write_text(json.dumps(state))
    with pytest.raises(RunFolderError, match="data: not recorded then"):
        train_embedding("mlp", tiny, output_dir=run_copy, **BASE)


def test_resume_with_a_mismatched_optimizer_step_count_is_refused(tiny, run_copy):
    # Two epochs of 5 steps; a state that claims 10 steps per epoch must not be believed.
    with pytest.raises(RunFolderError, match="made 10 optimizer updates, not the 2 × 10"):
        from helpers.training import _restore
        from helpers.models import build_mlp

        model = build_mlp()
        model.compile(optimizer=keras.optimizers.Adam(1e-3), loss=SemiHardTripletLoss())
        state = runs.read_state(run_copy / CHECKPOINT_DIR)
        _restore(model, run_copy / CHECKPOINT_DIR, state, state["recipe"], steps=10)


# ----------------------------------------------------------------------------- divergence
class _PoisonFrom(keras.callbacks.Callback):
    """Make the loss NaN from epoch ``epoch`` (0-based) on, through a flag the loss reads."""

    def __init__(self, flag, epoch):
        super().__init__()
        self.flag, self.epoch = flag, epoch

    def on_epoch_begin(self, epoch, logs=None):
        self.flag.assign(1.0 if epoch >= self.epoch else 0.0)


class _PoisonableLoss(keras.losses.Loss):
    def __init__(self, flag):
        super().__init__(name="poisonable")
        self.flag, self.inner = flag, SemiHardTripletLoss()

    def call(self, y_true, y_pred):
        value = self.inner.call(y_true, y_pred)
        return tf.where(self.flag > 0, tf.constant(float("nan")), value)


def test_divergence_stops_at_the_first_non_finite_epoch_and_keeps_no_nan_checkpoint(tiny, tmp_path):
    flag = tf.Variable(0.0, trainable=False)
    with pytest.raises(TrainingDiverged) as info:
        train_embedding("mlp", tiny, output_dir=tmp_path, loss=_PoisonableLoss(flag),
                        callbacks=[_PoisonFrom(flag, 1)], **{**BASE, "epochs": 4})
    message = str(info.value)
    assert "diverged in epoch 2" in message and "learning rate" in message and "keeps epoch 1" in message
    assert [e for e, _ in list_checkpoints(tmp_path / CHECKPOINT_DIR)] == [1]
    assert read_history(tmp_path / HISTORY_FILE)["epoch"] == [0]
    assert json.loads((tmp_path / CHECKPOINT_DIR / STATE_FILE).read_text())["epoch"] == 1


def test_a_huge_learning_rate_diverges_with_an_error_not_a_nan_model(tiny, tmp_path):
    with pytest.raises(TrainingDiverged, match="diverged in epoch 1: the loss became (nan|inf)"):
        train_embedding("mlp", tiny, output_dir=tmp_path, **{**BASE, "learning_rate": 1e30})
    assert list_checkpoints(tmp_path / CHECKPOINT_DIR) == []


def test_resume_skips_a_checkpoint_with_nan_weights(tiny, run_copy, capsys):
    path = run_copy / CHECKPOINT_DIR / "epoch_002.keras"
    model = keras.saving.load_model(path, compile=True)
    model.set_weights([np.full_like(w, np.nan) for w in model.get_weights()])
    model.save(path)
    result = train_embedding("mlp", tiny, output_dir=run_copy, **BASE)
    assert "epoch_002.keras holds NaN or infinite weights" in capsys.readouterr().out
    assert result.initial_epoch == 1 and runs.weights_are_finite(result.model)


@pytest.mark.parametrize("rate", [float("inf"), float("nan"), 0.0, -1e-3])
def test_a_non_finite_or_non_positive_learning_rate_is_refused(tiny, rate):
    with pytest.raises(ValueError, match="learning_rate a finite number > 0"):
        train_embedding("mlp", tiny, **{**BASE, "learning_rate": rate})


# ----------------------------------------------------------------------------- publishing
def test_restart_removes_the_old_results_before_training(tiny, run_copy):
    for name in runs.RESULT_FILES:
        (run_copy / name).write_text("from the previous run")

    class Look(keras.callbacks.Callback):
        def on_train_begin(self, logs=None):
            self.left = [name for name in runs.RESULT_FILES if (run_copy / name).exists()]

    look = Look()
    train_embedding("mlp", tiny, output_dir=run_copy, resume=False, callbacks=[look], **BASE)
    assert look.left == []


def test_a_kill_while_publishing_leaves_the_old_file_whole(tmp_path, monkeypatch):
    path = tmp_path / "metrics.json"
    runs.write_json_atomically(path, {"run": "old"})

    def killed(*args):
        raise KeyboardInterrupt

    monkeypatch.setattr(runs.os, "replace", killed)
    with pytest.raises(KeyboardInterrupt):
        runs.write_json_atomically(path, {"run": "new"})
    monkeypatch.undo()
    assert json.loads(path.read_text()) == {"run": "old"}
    assert sorted(p.name for p in tmp_path.iterdir()) == ["metrics.json"]  # no temporary left


def test_model_is_saved_through_a_temporary_file(tmp_path, monkeypatch):
    from helpers.models import build_mlp

    seen = []
    real_replace = os.replace
    monkeypatch.setattr(runs.os, "replace", lambda a, b: (seen.append((a.name, b.name)), real_replace(a, b)))
    runs.save_model_atomically(build_mlp(), tmp_path / "embedding.keras")
    assert seen == [(".embedding.keras.tmp.keras", "embedding.keras")]


def test_history_csv_is_rewritten_whole_each_epoch(tiny, tmp_path, monkeypatch):
    written = []
    real = runs.write_text_atomically
    monkeypatch.setattr(runs, "write_text_atomically",
                        lambda path, text: (written.append(path.name), real(path, text))[1])
    train_embedding("mlp", tiny, output_dir=tmp_path, **BASE)
    assert written.count(HISTORY_FILE) == 1 + BASE["epochs"]  # at the start, then once per epoch
    assert read_history(tmp_path / HISTORY_FILE)["epoch"] == [0, 1]


# ----------------------------------------------------------------------------- inputs
def test_one_class_training_split_is_refused(tiny):
    x, y = tiny
    with pytest.raises(ValueError, match="at least two classes .* only class 3"):
        train_embedding("mlp", (x[y == 3], y[y == 3]), **BASE)


def test_a_batch_larger_than_the_data_is_refused_not_recorded(tiny):
    with pytest.raises(ValueError, match="batch_size 100000 is larger than the 240 training images"):
        train_embedding("mlp", tiny, **{**BASE, "batch_size": 100000})


def test_fractional_labels_are_refused_not_truncated(tiny):
    x, y = tiny
    with pytest.raises(ValueError, match="whole numbers"):
        train_embedding("mlp", (x, y + 0.5), **BASE)


@pytest.mark.parametrize("wiring", ["labels", "concat"])
def test_labels_above_2_to_24_train_exactly_like_small_ones(tiny, wiring):
    x, y = tiny
    small = train_embedding("mlp", (x, y), wiring=wiring, **{**BASE, "epochs": 1})
    large = train_embedding("mlp", (x, y + 100_000_001), wiring=wiring, **{**BASE, "epochs": 1})
    np.testing.assert_allclose(large.history["loss"], small.history["loss"], rtol=1e-6)
