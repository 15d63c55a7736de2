"""Run folders that describe exactly one run (chapter 4 "Training on MNIST").

``helpers.training.train_embedding(..., output_dir=DIR)`` keeps a run in ``DIR``::

    DIR/checkpoints/epoch_NNN.keras   the whole model (weights + optimizer state) after epoch NNN
    DIR/checkpoints/state.json        the run's identity (recipe, architecture, data fingerprint)
                                      and its counters (epochs, seconds, images seen)
    DIR/history.csv                   one row per finished epoch
    DIR/embedding.keras, metrics.json the results ``python -m helpers train`` publishes

Every file is written under a temporary name and renamed (``os.replace`` is atomic), so a kill at
any moment leaves either the old file or the new one, never half of one. ``state.json`` is written
before the first epoch, so checkpoints without it do not belong to any run this module wrote.

A run resumes only if everything that shapes its result is the same: every recipe setting, the
architecture and the training data (a SHA-256 of its images and labels). The number of epochs may
grow under a constant learning rate (train longer); under the cosine schedule it sets the schedule,
so it must match. Anything else raises :class:`RunFolderError` naming each difference.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import math
import os
import re
from pathlib import Path

import numpy as np

CHECKPOINT_DIR = "checkpoints"
HISTORY_FILE = "history.csv"
STATE_FILE = "state.json"
MODEL_FILE = "embedding.keras"
METRICS_FILE = "metrics.json"
#: What a run publishes when it finishes; ``resume=False`` (``--restart``) removes them first.
RESULT_FILES = (MODEL_FILE, METRICS_FILE)
_CHECKPOINT = re.compile(r"^epoch_(\d+)\.keras$")
#: Recipe entries that do not change what is learned (derived or bookkeeping), never compared.
_NOT_COMPARED = ("epochs", "steps_per_execution", "samples_per_epoch", "train_images", "replicas",
                 "global_batch")  # under global mining the device count changes no number
#: What a run folder written before a setting existed did: an older folder resumes as before.
_ASSUMED = {"mining": "global"}
WAY_OUT = "start over with resume=False (command line: --restart) or use another output folder"


class RunFolderError(ValueError):
    """A run folder that cannot be resumed as asked: another recipe, other data, damaged files.

    ``differences`` lists each setting that differs (``"margin: 1.0 then, 0.1 now"``), if any."""

    def __init__(self, message: str, differences=()):
        super().__init__(message)
        self.differences = list(differences)


# ----------------------------------------------------------------------------- atomic files
def _replace_with(path: Path, write) -> Path:
    """Call ``write(temporary_path)``, then rename the result over ``path`` in one step."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp{path.suffix}")
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


def write_text_atomically(path, text: str) -> Path:
    """Write ``text`` to ``path`` so that a reader sees the old file or the new one, never a part."""
    return _replace_with(path, lambda tmp: tmp.write_text(text))


def write_json_atomically(path, obj) -> Path:
    return write_text_atomically(path, json.dumps(obj, indent=2) + "\n")


def save_model_atomically(model, path) -> Path:
    """``model.save(path)`` through a temporary ``.keras`` file and a rename."""
    return _replace_with(path, model.save)


def read_state(folder) -> dict:
    """A run's ``state.json`` (``{}`` if absent); a damaged one raises :class:`RunFolderError`."""
    path = Path(folder) / STATE_FILE
    if not path.is_file():
        return {}
    try:
        state = json.loads(path.read_text())
    except (ValueError, UnicodeDecodeError) as err:
        raise RunFolderError(f"{path} is damaged (not valid JSON: {err}); {WAY_OUT}") from None
    if not isinstance(state, dict) or not isinstance(state.get("recipe"), dict):
        raise RunFolderError(f"{path} is damaged (no recipe in it); {WAY_OUT}")
    return state


# ----------------------------------------------------------------------------- fingerprints
def data_fingerprint(x, y) -> dict:
    """How many images, and a SHA-256 of the images (as float32) and labels (as int64)."""
    digest = hashlib.sha256()
    digest.update(np.ascontiguousarray(x, dtype=np.float32).tobytes())
    digest.update(np.ascontiguousarray(y, dtype=np.int64).tobytes())
    return {"images": int(len(y)), "sha256": digest.hexdigest()}


def architecture(model) -> list:
    """The layers' kinds and weight shapes, input to output (independent of layer names)."""
    layers = []
    for layer in model.layers if hasattr(model, "layers") else []:
        shapes = [list(map(int, w.shape)) for w in layer.weights]
        layers.append([type(layer).__name__, shapes] if shapes else type(layer).__name__)
    return layers


def loss_settings(loss) -> dict:
    """A Keras loss's own settings (``get_config`` without its name), or its name."""
    try:
        config = dict(loss.get_config())
    except (AttributeError, NotImplementedError, TypeError):
        return {"name": getattr(loss, "__name__", type(loss).__name__)}
    config.pop("name", None)
    config.pop("reduction", None)
    return json.loads(json.dumps(config, default=str))


# ----------------------------------------------------------------------------- resume checks
def _shown(value) -> str:
    text = json.dumps(value, default=str)
    return text if len(text) <= 60 else text[:57] + "..."


def differences(old: dict, new: dict) -> list[str]:
    """``"margin: 1.0 then, 0.1 now"`` for every recipe entry that differs (epochs aside)."""
    out = []
    for key in sorted(set(old) | set(new)):
        if key in _NOT_COMPARED:
            continue
        if key not in old and key in _ASSUMED and new[key] in (None, _ASSUMED[key]):
            continue
        if key not in old:
            out.append(f"{key}: not recorded then (an older version of helpers), {_shown(new[key])} now")
        elif key not in new:
            out.append(f"{key}: {_shown(old[key])} then, not given now")
        elif json.loads(json.dumps(old[key], default=str)) != json.loads(json.dumps(new[key], default=str)):
            if key == "loss_settings":
                out.extend(_loss_setting_changes(old, new))
            elif key == "architecture":
                out.append(_architecture_change(old[key], new[key]))
            elif key == "data":
                out.append(f"data: {old[key].get('images')} images (sha256 {str(old[key].get('sha256'))[:10]}) "
                           f"then, {new[key]['images']} images (sha256 {new[key]['sha256'][:10]}) now")
            else:
                out.append(f"{key}: {_shown(old[key])} then, {_shown(new[key])} now")
    return out


def _loss_setting_changes(old: dict, new: dict) -> list[str]:
    """``loss_settings.method: ...`` for each setting of the loss that differs, except those the
    recipe already reports (``margin`` and ``distance`` build the default loss)."""
    a, b = old.get("loss_settings") or {}, new.get("loss_settings") or {}
    a = {**{k: v for k, v in _ASSUMED.items() if k in b}, **a}
    changes = []
    for key in sorted(set(a) | set(b)):
        if a.get(key) == b.get(key) or (key in new and old.get(key) == a.get(key) and new[key] == b.get(key)):
            continue
        changes.append(f"loss_settings.{key}: {_shown(a.get(key))} then, {_shown(b.get(key))} now")
    return changes


def _architecture_change(old: list, new: list) -> str:
    """Where two layer lists part: ``architecture: 7 layers then, 8 now (layer 8: - then, L2Normalize now)``."""
    old, new = json.loads(json.dumps(old)), json.loads(json.dumps(new))
    at = next((i for i, (a, b) in enumerate(zip(old, new)) if a != b), min(len(old), len(new)))
    name = lambda layers: _shown(layers[at]) if at < len(layers) else "-"  # noqa: E731
    return (f"architecture: {len(old)} layers then, {len(new)} now (layer {at + 1}: {name(old)} then, "
            f"{name(new)} now)")


def check_resumable(folder, saved: dict, recipe: dict, epoch: int) -> None:
    """Raise :class:`RunFolderError` unless the run in ``folder`` can go on with ``recipe``."""
    problems = differences(saved.get("recipe", {}), recipe)
    old_epochs = saved.get("recipe", {}).get("epochs")
    if recipe.get("lr_schedule") == "cosine" and old_epochs != recipe["epochs"]:
        problems.append(f"epochs: {old_epochs} then, {recipe['epochs']} now (they set the cosine "
                        "schedule's length)")
    if epoch > recipe["epochs"]:
        problems.append(f"it holds {epoch} trained epochs, more than the {recipe['epochs']} asked for")
    if problems:
        raise RunFolderError(f"{folder} holds another run ({'; '.join(problems)}); {WAY_OUT}", problems)


# ----------------------------------------------------------------------------- checkpoints
def list_checkpoints(folder) -> list[tuple[int, Path]]:
    """``(epoch, path)`` of the checkpoints in ``folder``, oldest first."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    found = [(int(m.group(1)), p) for p in folder.iterdir() if (m := _CHECKPOINT.match(p.name))]
    return sorted(found)


def remove_stray_files(folder) -> None:
    """Temporary files of a save that an interruption cut short."""
    folder = Path(folder)
    if folder.is_dir():
        for stray in folder.glob(".*.tmp*"):
            stray.unlink(missing_ok=True)


def start_over(out) -> None:
    """Remove a run's checkpoints, state, history and published results."""
    out = Path(out)
    for _, path in list_checkpoints(out / CHECKPOINT_DIR):
        path.unlink()
    remove_stray_files(out / CHECKPOINT_DIR)
    remove_stray_files(out)
    for path in (out / CHECKPOINT_DIR / STATE_FILE, out / HISTORY_FILE,
                 *(out / name for name in RESULT_FILES)):
        path.unlink(missing_ok=True)


def weights_are_finite(model) -> bool:
    return all(np.isfinite(np.asarray(w)).all() for w in model.get_weights())


# ----------------------------------------------------------------------------- history.csv
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
            number = float("nan") if value in ("", "NA", None) else float(value)
            history.setdefault(key, []).append(int(number) if key == "epoch" else number)
    # Files written by Keras' CSVLogger hold empty val_* columns without validation data: drop them.
    return {key: values for key, values in history.items() if not np.isnan(values).all()}


def write_history(path, history: dict) -> None:
    """Write ``{column: [values]}`` (with an ``epoch`` column) to ``path`` atomically."""
    keys = ["epoch"] + sorted(k for k in history if k != "epoch")
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(keys)
    for i in range(len(history.get("epoch", []))):
        writer.writerow([history[k][i] if i < len(history[k]) else "" for k in keys])
    write_text_atomically(path, buffer.getvalue())


def history_before(path, epoch: int) -> dict:
    """The rows of ``history.csv`` for epochs before ``epoch`` (0-based epochs < ``epoch``)."""
    history = read_history(path)
    keep = [i for i, e in enumerate(history.get("epoch", [])) if e < epoch]
    return {key: [values[i] for i in keep] for key, values in history.items()}


def finite_logs(logs: dict) -> dict:
    """The numeric entries of Keras' epoch logs as floats."""
    out = {}
    for key, value in (logs or {}).items():
        try:
            out[key] = float(value)
        except (TypeError, ValueError):
            continue
    return out


def first_non_finite(logs: dict) -> str | None:
    """The name of the first log entry that is NaN or infinite, if any."""
    for key, value in logs.items():
        if not math.isfinite(value):
            return key
    return None
