"""helpers.standin: a full-size MNIST stand-in, made offline from the 5,000 real images."""

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from helpers import data, standin
from helpers.config import get_profile

ROOT = Path(__file__).resolve().parents[1]


def test_every_jittered_image_is_its_source_shifted_and_dimmed():
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(7, 28, 28), dtype=np.uint8)
    out, source = standin.jitter(images, 50, seed=3)
    assert out.shape == (50, 28, 28) and out.dtype == np.uint8
    assert sorted(np.bincount(source, minlength=7)) == [7, 7, 7, 7, 7, 7, 8]  # sources used evenly
    for img, src in zip(out, source):
        matched = False
        for dy in range(-2, 3):
            for dx in range(-2, 3):
                moved = np.zeros((32, 32), np.float64)
                moved[2 + dy:30 + dy, 2 + dx:30 + dx] = images[src]
                moved = moved[2:30, 2:30]
                mask = moved > 0
                if not mask.any() or (img[~mask] != 0).any():
                    continue
                gain = img[mask] / moved[mask]
                if np.all(np.abs(img[mask] - np.rint(moved[mask] * np.median(gain))) <= 1) \
                        and 0.79 <= np.median(gain) <= 1.01:
                    matched = True
        assert matched, f"image from source {src} is not a whole-pixel shift of it, dimmed by 0.8–1.0"


def test_jitter_refuses_what_is_not_uint8_images():
    with pytest.raises(ValueError, match=r"uint8 images of shape \(N, 28, 28\)"):
        standin.jitter(np.zeros((3, 28, 28), np.float32), 5, seed=0)
    with pytest.raises(ValueError, match="count must be at least 1"):
        standin.jitter(np.zeros((3, 28, 28), np.uint8), 0, seed=0)


def test_standin_loads_as_mnist_with_balanced_labels_and_no_test_digit_in_training(tmp_path):
    folder = standin.write_standin(tmp_path / "a", train=8000, test=2000, seed=0)
    loaded = data.load_mnist(folder, verbose=False)
    assert loaded.x_train.shape == (8000, 28, 28, 1) and loaded.x_test.shape == (2000, 28, 28, 1)
    assert np.bincount(loaded.y_train).tolist() == [800] * 10  # whole passes over balanced splits
    assert np.bincount(loaded.y_test).tolist() == [200] * 10
    again = standin.write_standin(tmp_path / "b", train=8000, test=2000, seed=0)
    for name in data.IDX_FILES.values():
        assert (folder / name).read_bytes() == (again / name).read_bytes(), f"{name} is not reproducible"
    # Training images come from the offline training split only, test images from its test split.
    offline = data.load_offline()
    train_raw = np.rint(offline.x_train[..., 0] * 255).astype(np.uint8)
    test_raw = np.rint(offline.x_test[..., 0] * 255).astype(np.uint8)
    _, source = standin.jitter(train_raw, 8000, seed=0)
    assert np.array_equal(loaded.y_train, offline.y_train[source])
    _, source = standin.jitter(test_raw, 2000, seed=1)
    assert np.array_equal(loaded.y_test, offline.y_test[source])


def test_reader_profile_cuts_a_large_source_to_its_limits_and_says_so(tmp_path, capsys):
    folder = standin.write_standin(tmp_path, train=8000, test=2000, seed=0)
    reader = data.load_course_data(folder, get_profile("reader"))
    out = capsys.readouterr().out
    assert (len(reader.y_train), len(reader.y_test)) == (4000, 1000)
    assert np.bincount(reader.y_train).tolist() == [400] * 10
    assert "reader profile: using 4,000 of 8,000 training and 1,000 of 2,000 test images" in out
    assert "TRIPLET_COURSE_PROFILE=full" in reader.description
    full = data.load_course_data(folder, get_profile("full"), verbose=False)
    assert (len(full.y_train), len(full.y_test)) == (8000, 2000)
    offline = data.load_course_data("offline", get_profile("reader"), verbose=False)
    assert len(offline.y_train) == 4000 and "profile's limit" not in offline.description


def test_command_line_writes_the_folder_and_refuses_bad_counts(tmp_path):
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    run = subprocess.run([sys.executable, "-m", "helpers.standin", str(tmp_path / "s"), "--train", "200",
                          "--test", "40"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert run.returncode == 0, run.stderr
    assert "wrote a 200 / 40-image MNIST stand-in" in run.stdout
    assert len(data.load_mnist(tmp_path / "s", verbose=False).y_test) == 40
    bad = subprocess.run([sys.executable, "-m", "helpers.standin", str(tmp_path / "t"), "--train", "0"],
                         cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and "--train and --test must be at least 1" in bad.stderr


def test_course_runner_makes_a_relative_data_folder_absolute_for_the_chapters(tmp_path, monkeypatch):
    """Chapters run from chapters/: `TRIPLET_COURSE_DATA=_build/mnist_standin make course` must
    still find the folder the user named from the repository root."""
    from helpers import book

    (tmp_path / "_build" / "mnist_standin").mkdir(parents=True)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TRIPLET_COURSE_DATA", "_build/mnist_standin")
    book._absolute_data_path()
    assert os.environ["TRIPLET_COURSE_DATA"] == str(tmp_path / "_build" / "mnist_standin")
    for kept in ("offline", "keras", "auto", "no/such/folder"):
        monkeypatch.setenv("TRIPLET_COURSE_DATA", kept)
        book._absolute_data_path()
        assert os.environ["TRIPLET_COURSE_DATA"] == kept
