"""The figures the chapters show (introduced in chapter 0; extended in chapters 4 and 5).

Every figure colours the ten digit classes the same way (``CLASS_COLORS``), has a title and
labelled axes, and returns the matplotlib ``Figure`` so a chapter can save or tweak it.
"""

from __future__ import annotations

import numpy as np
import matplotlib.pyplot as plt
from matplotlib import colormaps

#: One colour per digit 0–9, shared by every chapter (matplotlib's tab10 palette).
CLASS_COLORS = tuple(colormaps["tab10"](i) for i in range(10))


def class_color(label: int):
    """The colour of digit ``label`` in every figure of the course."""
    return CLASS_COLORS[int(label) % len(CLASS_COLORS)]


def plot_digit_grid(images, labels, *, per_class: int = 8, title: str = "MNIST digits",
                    seed: int = 0):
    """A grid with one row per class present in ``labels`` and ``per_class`` random examples.

    Args:
        images: ``(N, 28, 28)`` or ``(N, 28, 28, 1)`` array of pixels in [0, 1].
        labels: ``(N,)`` integer labels.
    """
    images = np.asarray(images)
    labels = np.asarray(labels).reshape(-1)
    if images.ndim == 4:
        images = images[..., 0]
    if images.ndim != 3 or images.shape[0] != labels.shape[0]:
        raise ValueError(
            f"expected images (N, 28, 28[, 1]) and labels (N,), got {images.shape} and {labels.shape}"
        )
    classes = np.unique(labels)
    rng = np.random.default_rng(seed)
    fig, axes = plt.subplots(len(classes), per_class, figsize=(per_class * 0.9, len(classes) * 0.95),
                             squeeze=False)
    for row, cls in enumerate(classes):
        idx = np.flatnonzero(labels == cls)
        chosen = rng.choice(idx, size=min(per_class, idx.size), replace=False)
        for col in range(per_class):
            ax = axes[row, col]
            ax.set_xticks([])
            ax.set_yticks([])
            for spine in ax.spines.values():
                spine.set_color(class_color(cls))
                spine.set_linewidth(2)
            if col < chosen.size:
                ax.imshow(images[chosen[col]], cmap="gray_r", vmin=0, vmax=1)
        axes[row, 0].set_ylabel(str(cls), rotation=0, labelpad=12, fontsize=11,
                                color=class_color(cls), fontweight="bold")
    fig.suptitle(title)
    fig.supxlabel("random examples")
    fig.supylabel("digit class")
    fig.tight_layout()
    return fig


def plot_class_counts(splits: dict, *, title: str = "Images per class"):
    """Grouped bars: how many images of each digit every split (``{"train": labels, ...}``) has."""
    fig, ax = plt.subplots(figsize=(7, 3.2))
    width = 0.8 / max(len(splits), 1)
    for i, (name, labels) in enumerate(splits.items()):
        counts = np.bincount(np.asarray(labels).reshape(-1).astype(int), minlength=10)
        xs = np.arange(10) + (i - (len(splits) - 1) / 2) * width
        ax.bar(xs, counts, width=width, label=f"{name} ({counts.sum():,})",
               color=CLASS_COLORS, alpha=1.0 - 0.45 * i, edgecolor="black", linewidth=0.5)
    ax.set_xticks(range(10))
    ax.set_xlabel("digit class")
    ax.set_ylabel("number of images")
    ax.set_title(title)
    ax.legend()
    fig.tight_layout()
    return fig
