"""A full-size MNIST stand-in, built offline from the 5,000 real images (course tooling).

Full MNIST (60,000 training / 10,000 test images) cannot be downloaded everywhere the course is
tested, yet it is what an online learner's ``load_mnist("auto")`` returns. To run and time the
course at that size, :func:`write_standin` makes a data set of the same shape and file format
from the offline subset alone: every image of full size is a real offline image moved by a random
whole-pixel shift (−2…+2 in each direction) with a random brightness change (×0.8…1.0, rounded
to uint8). Training images come only from the offline training split and test images only from
its test split, so no test digit leaks into training. The four IDX files are written
uncompressed (loading them takes about a second), and the chapters read them with::

    TRIPLET_COURSE_DATA=<folder> make course

From a shell: ``python -m helpers.standin <folder> [--train 60000] [--test 10000] [--seed 0]``.
Nothing is downloaded. The result is a *stand-in* for timing and for testing that every chapter
runs at full size, not a substitute for MNIST: its 60,000 images hold only 4,000 distinct digits.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

FULL_TRAIN, FULL_TEST = 60_000, 10_000
MAX_SHIFT = 2


def jitter(images: np.ndarray, count: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """``count`` uint8 ``(28, 28)`` images, each a random source image of ``images`` (uint8
    ``(N, 28, 28)``) shifted and dimmed at random; returns them with their source indices."""
    images = np.asarray(images)
    if images.dtype != np.uint8 or images.ndim != 3 or images.shape[1:] != (28, 28) or not len(images):
        raise ValueError(f"jitter needs uint8 images of shape (N, 28, 28), N ≥ 1; got {images.dtype} "
                         f"{images.shape}")
    if count < 1:
        raise ValueError(f"count must be at least 1, got {count}")
    rng = np.random.default_rng(seed)
    # Every source image is used equally often (±1): whole random passes over them, the last cut.
    passes = -(-count // len(images))
    source = np.concatenate([rng.permutation(len(images)) for _ in range(passes)])[:count]
    shifts = rng.integers(-MAX_SHIFT, MAX_SHIFT + 1, size=(count, 2))
    gain = rng.uniform(0.8, 1.0, size=count)
    padded = np.pad(images, ((0, 0), (MAX_SHIFT, MAX_SHIFT), (MAX_SHIFT, MAX_SHIFT)))
    out = np.empty((count, 28, 28), dtype=np.uint8)
    rows = np.arange(28)
    for start in range(0, count, 8192):  # bounded memory: 8,192 images at a time
        part = slice(start, min(start + 8192, count))
        r = MAX_SHIFT - shifts[part, 0, None] + rows  # (n, 28) source rows of each output row
        c = MAX_SHIFT - shifts[part, 1, None] + rows
        moved = padded[source[part, None, None], r[:, :, None], c[:, None, :]]
        out[part] = np.clip(np.rint(moved * gain[part, None, None]), 0, 255).astype(np.uint8)
    return out, source


def write_standin(folder, *, train: int = FULL_TRAIN, test: int = FULL_TEST, seed: int = 0) -> Path:
    """Write the stand-in's four IDX files into ``folder`` (created if needed) and return it.

    The same arguments give byte-identical files. Labels are the source images' labels.
    """
    from helpers.data import IDX_FILES, load_offline, write_idx

    offline = load_offline()
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for split, count, offset in (("train", train, 0), ("test", test, 1)):
        x, y = getattr(offline, f"x_{split}"), getattr(offline, f"y_{split}")
        raw = np.rint(x[..., 0] * 255).astype(np.uint8)
        images, source = jitter(raw, count, seed * 2 + offset)
        write_idx(folder / IDX_FILES[f"x_{split}"], images)
        write_idx(folder / IDX_FILES[f"y_{split}"], y[source].astype(np.uint8))
    return folder


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m helpers.standin",
                                     description="Write a full-size MNIST stand-in (IDX files) made "
                                                 "from the offline subset; nothing is downloaded.")
    parser.add_argument("folder", help="where the four IDX files go")
    parser.add_argument("--train", type=int, default=FULL_TRAIN, help="training images (default 60000)")
    parser.add_argument("--test", type=int, default=FULL_TEST, help="test images (default 10000)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.train < 1 or args.test < 1:
        parser.error("--train and --test must be at least 1")
    folder = write_standin(args.folder, train=args.train, test=args.test, seed=args.seed)
    print(f"wrote a {args.train:,} / {args.test:,}-image MNIST stand-in to {folder} "
          f"(use it with TRIPLET_COURSE_DATA={folder})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
