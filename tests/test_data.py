"""helpers.data: the offline subset, file round trips, corrupt files, sources and PK batches."""

import gzip
import os

import numpy as np
import pytest

from helpers import data
from helpers.config import DATA_ENV, CACHE_ENV, get_profile


@pytest.fixture(scope="module")
def offline():
    return data.load_offline()


def test_offline_subset_shape_dtype_range_and_balance(offline):
    assert offline.x_train.shape == (4000, 28, 28, 1)
    assert offline.x_test.shape == (1000, 28, 28, 1)
    assert offline.x_train.dtype == np.float32 and offline.y_train.dtype == np.int64
    assert offline.x_train.min() == 0.0 and offline.x_train.max() == 1.0
    assert np.bincount(offline.y_train).tolist() == [400] * 10
    assert np.bincount(offline.y_test).tolist() == [100] * 10
    assert offline.source == "offline"


def test_offline_split_is_deterministic_and_disjoint(offline):
    again = data.load_offline()
    assert np.array_equal(again.x_train, offline.x_train)
    assert np.array_equal(again.y_test, offline.y_test)
    train = {img.tobytes() for img in offline.x_train}
    assert sum(img.tobytes() in train for img in offline.x_test) <= 2  # MNIST has a few exact repeats
    other = data.load_offline(seed=1)
    assert not np.array_equal(other.y_train, offline.y_train)


def test_offline_images_are_real_digits(offline):
    # Real MNIST digits: mostly background, a centred stroke of 100–200 lit pixels on average.
    lit = (offline.x_train > 0.5).sum(axis=(1, 2, 3))
    assert 80 < lit.mean() < 200
    assert offline.x_train[:, 0].max() == 0.0  # MNIST centres digits: the top row is always blank
    assert (offline.x_train[:, :2] > 0).mean() < 0.001


def test_limit_is_stratified_and_bounded(offline):
    small = offline.limit(train=250, test=33, seed=3)
    assert len(small.y_train) == 250 and len(small.y_test) == 33
    counts = np.bincount(small.y_train, minlength=10)
    assert counts.min() >= 24 and counts.max() <= 26
    assert offline.limit() is offline
    with pytest.raises(ValueError, match="at least one"):
        offline.limit(train=0)


@pytest.mark.parametrize("layout", ["npz", "idx"])
def test_file_round_trip(offline, tmp_path, layout):
    small = offline.limit(300, 100)
    target = data.save_mnist(small, tmp_path / ("mnist.npz" if layout == "npz" else "idx"), layout=layout)
    loaded = data.load_mnist(target, verbose=False)
    assert loaded.source == layout
    for name in ("x_train", "y_train", "x_test", "y_test"):
        assert np.array_equal(getattr(loaded, name), getattr(small, name)), name


def test_uncompressed_idx_folder(offline, tmp_path):
    small = offline.limit(50, 20)
    folder = data.save_mnist(small, tmp_path / "idx", layout="idx")
    for gz in folder.glob("*.gz"):
        (folder / gz.stem).write_bytes(gzip.decompress(gz.read_bytes()))
        gz.unlink()
    assert np.array_equal(data.load_mnist(folder, verbose=False).x_test, small.x_test)


def test_truncated_gzip_raises(offline, tmp_path):
    folder = data.save_mnist(offline.limit(50, 20), tmp_path / "idx", layout="idx")
    victim = folder / "train-images-idx3-ubyte.gz"
    victim.write_bytes(victim.read_bytes()[:200])
    with pytest.raises(data.DataError, match="truncated or corrupt"):
        data.load_mnist(folder)


def test_idx_length_mismatch_raises(tmp_path):
    path = data.write_idx(tmp_path / "x", np.zeros((3, 28, 28), np.uint8))
    path.write_bytes(path.read_bytes()[:-10])
    with pytest.raises(data.DataError, match="IDX header says"):
        data.read_idx(path)


def test_idx_bad_magic_raises(tmp_path):
    path = tmp_path / "junk"
    path.write_bytes(b"hello world, not an idx file")
    with pytest.raises(data.DataError, match="magic"):
        data.read_idx(path)


def test_missing_idx_file_is_named(offline, tmp_path):
    folder = data.save_mnist(offline.limit(50, 20), tmp_path / "idx", layout="idx")
    (folder / "t10k-labels-idx1-ubyte.gz").unlink()
    with pytest.raises(data.DataError, match="t10k-labels-idx1-ubyte"):
        data.load_mnist(folder)


def test_corrupt_npz_raises(offline, tmp_path):
    path = data.save_mnist(offline.limit(50, 20), tmp_path / "mnist.npz")
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    with pytest.raises(data.DataError, match="truncated or corrupt"):
        data.load_mnist(path)


def test_npz_checksum_mismatch_raises(offline, tmp_path):
    path = data.save_mnist(offline.limit(50, 20), tmp_path / "mnist.npz")
    with pytest.raises(data.DataError, match="checksum mismatch"):
        data.load_npz(path, sha256="0" * 64)


def test_npz_wrong_layout_and_shapes(tmp_path):
    np.savez(tmp_path / "a.npz", images=np.zeros((2, 28, 28)))
    with pytest.raises(data.DataError, match="missing"):
        data.load_mnist(tmp_path / "a.npz")
    np.savez(tmp_path / "b.npz", x_train=np.zeros((2, 27, 28), np.uint8), y_train=np.zeros(2, np.uint8),
             x_test=np.zeros((1, 28, 28), np.uint8), y_test=np.zeros(1, np.uint8))
    with pytest.raises(data.DataError, match=r"\(2, 27, 28"):
        data.load_mnist(tmp_path / "b.npz")


def test_missing_path_is_named(tmp_path):
    with pytest.raises(data.DataError, match="no such file"):
        data.load_mnist(tmp_path / "nowhere.npz")
    with pytest.raises(data.DataError, match="no such file or folder"):
        data.load_mnist(tmp_path / "nowhere")


@pytest.mark.parametrize("images, labels, message", [
    (np.zeros((3, 28, 28)), np.zeros(4), r"labels must be \(3,\)"),
    (np.zeros((3, 32, 32)), np.zeros(3), r"\(3, 32, 32\)"),
    (np.zeros((3, 28, 28)), np.array([0, 1, 12]), "0–9"),
    (np.full((3, 28, 28), np.nan), np.zeros(3), "NaN"),
    (np.full((3, 28, 28), -1.0), np.zeros(3), r"\[0, 1\]"),
    (np.zeros((3, 28, 28), dtype=object), np.zeros(3), "dtype"),
])
def test_validate_arrays_rejects(images, labels, message):
    with pytest.raises(data.DataError, match=message):
        data.validate_arrays(images, labels)


def test_validate_arrays_accepts_flat_uint8():
    x, y = data.validate_arrays(np.full((2, 784), 255, np.uint8), np.array([[3], [4]]))
    assert x.shape == (2, 28, 28, 1) and x.dtype == np.float32 and x.max() == 1.0
    assert y.tolist() == [3, 4] and y.dtype == np.int64


def test_forced_offline_source(monkeypatch, capsys):
    monkeypatch.setenv(DATA_ENV, "offline")
    loaded = data.load_mnist("auto")
    assert loaded.source == "offline"
    assert DATA_ENV in capsys.readouterr().out


def test_auto_falls_back_quickly_without_network(monkeypatch, tmp_path, capsys):
    monkeypatch.delenv(DATA_ENV, raising=False)
    monkeypatch.setenv(CACHE_ENV, str(tmp_path))  # nothing cached here
    monkeypatch.setattr(data, "network_reachable", lambda **kw: (False, "no network in this test"))
    loaded = data.load_mnist("auto")
    assert loaded.source == "offline"
    assert "no network in this test" in capsys.readouterr().out


def test_auto_uses_a_cached_full_mnist(monkeypatch, tmp_path, offline):
    monkeypatch.delenv(DATA_ENV, raising=False)
    monkeypatch.setenv(CACHE_ENV, str(tmp_path))
    cached = data.keras_cache_path()
    cached.parent.mkdir(parents=True)
    data.save_mnist(offline.limit(100, 50), cached)
    digest = data._sha256(cached)
    monkeypatch.setattr(data, "KERAS_MNIST_SHA256", digest)
    monkeypatch.setattr(data, "network_reachable", lambda **kw: pytest.fail("must not touch the network"))
    loaded = data.load_mnist("auto", verbose=False)
    assert loaded.source == "keras" and len(loaded.y_train) == 100


def test_cached_file_with_wrong_checksum_is_refused(monkeypatch, tmp_path, offline):
    monkeypatch.setenv(CACHE_ENV, str(tmp_path))
    cached = data.keras_cache_path()
    cached.parent.mkdir(parents=True)
    data.save_mnist(offline.limit(100, 50), cached)
    with pytest.raises(data.DataError, match="checksum mismatch"):
        data.load_mnist("keras")


def test_network_probe_gives_up_in_time():
    import time

    start = time.perf_counter()
    ok, why = data.network_reachable("https://unreachable.invalid/x", timeout=1.0)
    assert not ok and why
    assert time.perf_counter() - start < 3.0


def test_course_data_follows_the_profile():
    quick = data.load_course_data("offline", get_profile("quick"), verbose=False)
    reader = data.load_course_data("offline", get_profile("reader"), verbose=False)
    assert len(quick.y_train) == 2000 and len(quick.y_test) == 500
    assert len(reader.y_train) == 4000


def test_profiles():
    assert get_profile("quick").quick and not get_profile("reader").quick
    assert get_profile("quick").pick(reader=25, quick=2) == 2
    with pytest.raises(ValueError, match="not a profile"):
        get_profile("fast")


def test_pk_batches_are_balanced_and_cover_every_image():
    labels = np.repeat(np.arange(5), 12)
    batches = data.pk_batch_indices(labels, p=5, k=4, seed=0)
    seen = []
    for _ in range(3):  # 3 batches × 4 images of each of the 5 classes = all 60 images once
        batch = next(batches)
        classes, counts = np.unique(labels[batch], return_counts=True)
        assert classes.tolist() == [0, 1, 2, 3, 4] and counts.tolist() == [4] * 5
        seen.extend(batch.tolist())
    assert sorted(seen) == list(range(60))


def test_pk_small_class_and_errors():
    labels = np.array([0] * 10 + [1] * 2)
    batch = next(data.pk_batch_indices(labels, p=2, k=3, seed=1))
    assert np.bincount(labels[batch]).tolist() == [3, 3]
    with pytest.raises(ValueError, match="only 2 classes"):
        next(data.pk_batch_indices(labels, p=3, k=2))
    with pytest.raises(ValueError, match="positive"):
        next(data.pk_batch_indices(labels, p=0, k=2))


def test_pk_dataset_yields_images_and_new_batches_each_pass(offline):
    ds = data.pk_dataset(offline.x_train, offline.y_train, p=4, k=3, seed=0, steps=2)
    first = [y.numpy().tolist() for _, y in ds]
    second = [y.numpy().tolist() for _, y in ds]
    assert len(first) == 2 and first != second
    x, y = next(iter(ds))
    assert x.shape == (12, 28, 28, 1) and x.dtype.name == "float32"
    assert sorted(np.bincount(y.numpy()).tolist())[-4:] == [3, 3, 3, 3]


def test_pk_errors_are_raised_before_training(offline):
    from helpers.training import train_embedding

    with pytest.raises(ValueError, match="P=11 classes per batch"):
        data.pk_dataset(offline.x_train, offline.y_train, p=11, k=2)
    small = offline.limit(100, 10)
    with pytest.raises(ValueError, match="P=11 classes per batch"):
        train_embedding("mlp", small, pk=(11, 2), epochs=1, verbose=0)


def test_validation_split_is_stratified_and_carved_from_the_training_split(offline):
    split = offline.validation_split()
    assert split.held_out == "validation" and offline.held_out == "test"
    assert data.VALIDATION_FRACTION == 0.2
    # 20 % of 4,000 balanced training images: 800 validation images, 80 of each digit.
    assert len(split.y_test) == 800 and len(split.y_train) == 3200
    assert np.bincount(split.y_test).tolist() == [80] * 10
    assert np.bincount(split.y_train).tolist() == [320] * 10
    assert split.x_train.shape[1:] == split.x_test.shape[1:] == (28, 28, 1)
    assert "validation protocol" in split.description and "3,200 train / 800 validation" in split.description
    # Disjoint, and together exactly the training split: find each image's index in x_train.
    index = {img.tobytes(): i for i, img in enumerate(offline.x_train)}
    assert len(index) == 4000  # no exact repeats inside this training split, so indices are unique
    fit = [index[img.tobytes()] for img in split.x_train]
    val = [index[img.tobytes()] for img in split.x_test]
    assert not set(fit) & set(val)
    assert sorted(fit + val) == list(range(4000))
    assert np.array_equal(offline.y_train[fit], split.y_train)
    assert np.array_equal(offline.y_train[val], split.y_test)
    # The test split is never used: its images appear only where they repeat a training image.
    # (Every image of the split is a training image, found above; a test image can only appear
    # where MNIST repeats it exactly in the training split — at most 2 here, as above.)
    assert sum(img.tobytes() in index for img in offline.x_test) <= 2


def test_validation_split_is_deterministic_and_follows_the_seed(offline):
    a, b = offline.validation_split(), offline.validation_split()
    assert np.array_equal(a.x_test, b.x_test) and np.array_equal(a.y_train, b.y_train)
    assert a.x_test.tobytes() == offline.validation_split(0.2, data.VALIDATION_SEED).x_test.tobytes()
    other = offline.validation_split(seed=data.VALIDATION_SEED + 1)
    assert not np.array_equal(other.x_test, a.x_test)
    assert np.bincount(other.y_test).tolist() == [80] * 10


def test_validation_split_of_an_unbalanced_subset_keeps_the_proportions():
    y = np.repeat(np.arange(3), [50, 30, 20])
    x = np.arange(100, dtype=np.float32).reshape(100, 1, 1, 1) * np.ones((1, 28, 28, 1), np.float32)
    mnist = data.MnistData(x, y, x[:5], y[:5], source="test", description="toy")
    split = mnist.validation_split(fraction=0.3, seed=4)
    assert np.bincount(split.y_test).tolist() == [15, 9, 6]
    assert np.bincount(split.y_train).tolist() == [35, 21, 14]
    ids = np.concatenate([split.x_train[:, 0, 0, 0], split.x_test[:, 0, 0, 0]])
    assert sorted(ids.tolist()) == list(range(100))


@pytest.mark.parametrize("fraction", [0.0, 1.0, -0.1, 1.5])
def test_validation_split_rejects_fractions_outside_the_open_interval(offline, fraction):
    with pytest.raises(ValueError, match="strictly between 0 and 1"):
        offline.validation_split(fraction)


def test_validation_split_rejects_a_share_that_empties_one_side(offline):
    tiny = offline.limit(train=10, test=10)
    with pytest.raises(ValueError, match="leaves no images"):
        tiny.validation_split(0.01)  # 0.1 of an image rounds to none
    with pytest.raises(ValueError, match="leaves no images"):
        tiny.validation_split(0.99)


def test_validation_split_cannot_be_split_again(offline):
    with pytest.raises(ValueError, match="already is a validation split"):
        offline.validation_split().validation_split()
