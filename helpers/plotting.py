"""The figures the chapters show (introduced in chapter 0; extended in chapters 4 and 5).

Every figure colours the ten digit classes the same way (``CLASS_COLORS``), has a title and
labelled axes, and returns the matplotlib ``Figure`` so a chapter can save or tweak it.

A colour means one thing in the whole course. Digits wear ``CLASS_COLORS``; the kinds of negative
(chapters 1 and 2) wear ``HARDNESS_COLORS``, the nearest-neighbour outcomes (chapter 5)
``OUTCOME_COLORS``, positive and negative pairs ``PAIR_COLORS``, and the lines of a comparison
(methods, recipes, training and validation) ``SERIES_COLORS`` through ``series_style``. All are
chosen from colour-blind-safe sets, away from every digit colour, and each is paired with a second
cue (a marker shape, a frame width and a ✗, a line style) or differs in lightness, so that no
meaning rests on hue alone. tests/test_plotting.py checks the distances, also under simulated
protanopia and deuteranopia.
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


#: The three kinds of negative of an anchor–positive pair (chapter 1's table), darkest the
#: hardest: Paul Tol's wine, Okabe–Ito's orange and Tol's pale grey. They differ in lightness as
#: well as hue, so they stay apart under any colour-vision deficiency; none is near a digit colour.
HARDNESS_COLORS = {"hard": "#882255", "semi-hard": "#E69F00", "easy": "#DDDDDD"}
#: The second cue for the kinds of negative: a marker shape each.
HARDNESS_MARKERS = {"hard": "X", "semi-hard": "o", "easy": "s"}
#: A retrieved neighbour of the query's class (right) or of another class (wrong): Okabe–Ito's
#: bluish green and black, not a red against a green; a wrong one also gets a thick frame and a ✗.
OUTCOME_COLORS = {"right": "#009E73", "wrong": "#000000"}
#: The second cue for the outcomes: the frame's line width (points) and a mark after the label.
OUTCOME_FRAME_WIDTHS = {"right": 1.0, "wrong": 4.0}
OUTCOME_MARKS = {"right": "", "wrong": " ✗"}
#: Pairs of images of the same digit (positive) and of different digits (negative), e.g. in the
#: distance histograms: Paul Tol's dark green (his "dark" scheme) and sand ("muted"), far apart in
#: lightness as well as hue.
PAIR_COLORS = {"positive": "#225522", "negative": "#DDCC77"}
#: The lines of a comparison named by its legend (methods, recipes, training and validation):
#: Tol's indigo ("muted"), dark yellow and light red ("medium contrast"). Only three: no other
#: colour of Tol's qualitative sets or Okabe–Ito's but black (the ink) is 25 ΔE from every digit
#: and 40 ΔE from these three under simulated colour blindness; ``series_style`` adds more cues.
SERIES_COLORS = ("#332288", "#997700", "#EE99AA")
#: The second cues of ``series_style``: a marker per series, a line style per round of colours.
SERIES_MARKERS = ("o", "s", "^", "D", "v", "P", "X", "h", "*")
SERIES_LINESTYLES = ("-", "--", ":")


def series_style(index: int) -> dict:
    """``color``, ``marker`` and ``linestyle`` of the ``index``-th line (from 0) of a comparison.

    The first three lines differ in colour and marker; from the fourth on the colours come round
    again with the next line style, so nine lines differ in (colour, line style) and in marker.
    Pass it to ``Axes.plot`` as ``**series_style(i)``.
    """
    index = int(index)
    return {"color": SERIES_COLORS[index % len(SERIES_COLORS)],
            "marker": SERIES_MARKERS[index % len(SERIES_MARKERS)],
            "linestyle": SERIES_LINESTYLES[index // len(SERIES_COLORS) % len(SERIES_LINESTYLES)]}


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
    ax.set_ylim(0, ax.get_ylim()[1] * 1.22)  # headroom so the legend covers no bar
    ax.legend(loc="upper center", ncol=len(splits), frameon=False)
    fig.tight_layout()
    return fig


# ----------------------------------------------------------------------------- chapter 5 figures
# Added in chapter 5 "PCA and embedding analysis" (and used for the training curves of chapter 4).

def _scatter_classes(ax, points, labels, *, size=6):
    for cls in np.unique(labels):
        pts = points[labels == cls]
        ax.scatter(pts[:, 0], pts[:, 1], s=size, color=class_color(cls), label=str(cls),
                   alpha=0.7, linewidths=0)


def _as_2d(points):
    from helpers.evaluation import pca_2d

    points = np.asarray(points, dtype=np.float64)
    if points.ndim > 2:
        points = points.reshape(len(points), -1)
    if points.ndim != 2:
        raise ValueError(f"expected points (N, D), got shape {points.shape}")
    if points.shape[1] == 2:
        return points, None
    projected, pca = pca_2d(points)
    return projected, pca


def plot_pca_before_after(before, after, labels, *, names=("before training", "after training"),
                          title: str = "PCA of the embeddings", share_axes: bool | None = None):
    """Two PCA scatter plots side by side, points coloured by class, one shared legend.

    Args:
        before, after: ``(N, D)`` arrays (images are flattened); arrays with ``D > 2`` are
            projected on their own first two principal components, ``D == 2`` is plotted as is.
        labels: ``(N,)`` class of every point.
        names: the two panels' titles.
        share_axes: use the same x and y limits in both panels; by default only when both
            inputs have the same dimension (e.g. a network's embeddings before and after).
    """
    labels = np.asarray(labels).reshape(-1)
    for name, points in zip(names, (before, after)):
        if len(np.asarray(points)) != len(labels):
            raise ValueError(f"{name}: {len(np.asarray(points))} points but {len(labels)} labels")
    dims = (np.asarray(before).reshape(len(labels), -1).shape[1],
            np.asarray(after).reshape(len(labels), -1).shape[1])
    if share_axes is None:
        share_axes = dims[0] == dims[1]
    fig, axes = plt.subplots(1, 2, figsize=(11, 5), sharex=share_axes, sharey=share_axes)
    for ax, points, name, dim in zip(axes, (before, after), names, dims):
        projected, pca = _as_2d(points)
        _scatter_classes(ax, projected, labels)
        shown = "" if pca is None else f", {pca.explained_variance_ratio_.sum():.0%} of variance"
        ax.set_title(f"{name} ({dim}-d{shown})")
        ax.set_xlabel("principal component 1" if pca is not None else "dimension 1")
        ax.set_ylabel("principal component 2" if pca is not None else "dimension 2")
    handles, names_ = axes[1].get_legend_handles_labels()
    fig.legend(handles, names_, title="digit", loc="center right", markerscale=3)
    fig.suptitle(title)
    fig.tight_layout(rect=(0, 0, 0.93, 1))
    return fig


def plot_loss_curves(history, *, title: str = "Training loss", keys=None, log_scale: bool = False):
    """Loss (and any other logged metric) per epoch from a ``history`` dict, a Keras
    ``History`` or a ``TrainResult``, one ``series_style`` per series (never a digit colour)."""
    history = getattr(history, "history", history)
    if not isinstance(history, dict) or not history:
        raise ValueError("history must be a non-empty dict of lists (or have a .history dict)")
    keys = keys or [k for k in history if k != "epoch"]
    if not keys:
        raise ValueError("history holds no series to plot")
    fig, ax = plt.subplots(figsize=(7, 4))
    for i, key in enumerate(keys):
        values = np.asarray(history[key], dtype=float)
        epochs = np.asarray(history.get("epoch", range(len(values))), dtype=int) + 1
        ax.plot(epochs, values, markersize=3, label=key, **series_style(i))
    ax.set_xlabel("epoch")
    ax.set_ylabel("loss" if len(keys) == 1 and "loss" in keys[0] else "value")
    if log_scale:
        ax.set_yscale("log")
    ax.set_title(title)
    ax.grid(alpha=0.3)
    ax.legend()
    fig.tight_layout()
    return fig


def pair_distances(embeddings, labels, *, squared: bool = False, max_points: int = 2000, seed: int = 0):
    """Distances of all positive pairs and all negative pairs (``i < j``) as two arrays.

    At most ``max_points`` points (a random subset) are used, so memory stays bounded.
    """
    emb = np.asarray(embeddings, dtype=np.float64)
    labels = np.asarray(labels).reshape(-1)
    if emb.ndim != 2 or len(emb) != len(labels) or len(emb) < 2:
        raise ValueError(f"expected embeddings (N ≥ 2, D) and labels (N,), got {emb.shape}, "
                         f"{labels.shape}")
    if len(emb) > max_points:
        keep = np.random.default_rng(seed).choice(len(emb), size=max_points, replace=False)
        emb, labels = emb[keep], labels[keep]
    sq = (emb ** 2).sum(axis=1)
    d = np.maximum(sq[:, None] - 2.0 * emb @ emb.T + sq[None, :], 0.0)
    d = d if squared else np.sqrt(d)
    i, j = np.triu_indices(len(emb), k=1)
    same = labels[i] == labels[j]
    return d[i, j][same], d[i, j][~same]


def plot_distance_histograms(embeddings, labels, *, squared: bool = False, margin: float | None = None,
                             bins: int = 60, title: str = "Distances between pairs of images", ax=None):
    """Histograms of positive-pair (same digit) and negative-pair (different digits) distances.

    The less the two overlap (in ``PAIR_COLORS``), the better nearest-neighbour search works.
    ``margin`` draws a vertical line (e.g. the triplet loss' margin, with ``squared=True`` for
    squared L2). With ``ax``, draw into those axes (e.g. one panel of a larger figure) and return
    their figure.
    """
    positive, negative = pair_distances(embeddings, labels, squared=squared)
    own_figure = ax is None
    fig, ax = plt.subplots(figsize=(7, 4)) if own_figure else (ax.figure, ax)
    edges = np.histogram_bin_edges(np.concatenate([positive, negative]), bins=bins)
    ax.hist(negative, bins=edges, density=True, alpha=0.55, color=PAIR_COLORS["negative"],
            label=f"negative pairs ({negative.size:,})")
    ax.hist(positive, bins=edges, density=True, alpha=0.55, color=PAIR_COLORS["positive"],
            label=f"positive pairs ({positive.size:,})")
    if margin is not None:
        ax.axvline(margin, color="black", linestyle="--", label=f"margin = {margin:g}")
    ax.set_xlabel("squared L2 distance" if squared else "L2 distance")
    ax.set_ylabel("density")
    ax.set_title(title)
    ax.legend()
    if own_figure:
        fig.tight_layout()
    return fig


def plot_neighbour_gallery(query_images, query_labels, gallery_images, gallery_labels, neighbour_idx,
                           *, max_queries: int = 8, title: str = "Nearest neighbours"):
    """One row per query: the query (framed in its digit's colour), then its neighbours nearest
    first, framed in ``OUTCOME_COLORS``: a wrong one (another class) thick and black, its label
    marked ✗; a right one thin and green.

    Args:
        query_images, gallery_images: ``(N, 28, 28[, 1])`` pixels in [0, 1].
        query_labels, gallery_labels: their classes.
        neighbour_idx: ``(Q, k)`` gallery indices of each query's neighbours, nearest first
            (``helpers.evaluation.nearest_neighbours``).
    """
    q_img, g_img = np.asarray(query_images), np.asarray(gallery_images)
    q_img = q_img[..., 0] if q_img.ndim == 4 else q_img
    g_img = g_img[..., 0] if g_img.ndim == 4 else g_img
    q_lab, g_lab = np.asarray(query_labels).reshape(-1), np.asarray(gallery_labels).reshape(-1)
    idx = np.asarray(neighbour_idx)
    if idx.ndim != 2 or len(idx) != len(q_lab) or len(q_img) != len(q_lab) or len(g_img) != len(g_lab):
        raise ValueError(f"shapes disagree: queries {q_img.shape}/{q_lab.shape}, gallery "
                         f"{g_img.shape}/{g_lab.shape}, neighbour_idx {idx.shape}")
    rows, k = min(max_queries, len(q_lab)), idx.shape[1]
    fig, axes = plt.subplots(rows, k + 1, figsize=((k + 1) * 1.05, rows * 1.2), squeeze=False)
    mistakes = 0
    for r in range(rows):
        cells = [(q_img[r], q_lab[r], None)] + [(g_img[j], g_lab[j], bool(g_lab[j] == q_lab[r]))
                                                 for j in idx[r]]
        for c, (image, label, correct) in enumerate(cells):
            ax = axes[r, c]
            ax.imshow(image, cmap="gray_r", vmin=0, vmax=1)
            ax.set_xticks([])
            ax.set_yticks([])
            outcome = None if correct is None else "right" if correct else "wrong"
            frame, width = (class_color(label), 2) if outcome is None else \
                (OUTCOME_COLORS[outcome], OUTCOME_FRAME_WIDTHS[outcome])
            mistakes += outcome == "wrong"
            for spine in ax.spines.values():
                spine.set_color(frame)
                spine.set_linewidth(width)
            ax.set_title(("query " if c == 0 else "") + str(label) + OUTCOME_MARKS.get(outcome, ""),
                         fontsize=8, color=class_color(label))
    fig.suptitle(f"{title} — {mistakes} wrong neighbour{'s' if mistakes != 1 else ''} "
                 f"(thick black frames, ✗)")
    fig.supxlabel("query, then its neighbours (nearest first)")
    fig.supylabel("queries")
    fig.tight_layout()
    return fig
