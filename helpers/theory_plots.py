"""Figures for the theory chapters (chapter 1 "FaceNet triplet theory", reused in chapters 2 and 3).

``draw_mining_scene``
    One anchor, one positive and their negatives in the plane: FaceNet's semi-hard band
    ``d(a, p) < d(a, n) < d(a, p) + margin`` drawn as a ring around the anchor, each negative
    coloured and shaped by its kind (``helpers.plotting.HARDNESS_COLORS`` and
    ``HARDNESS_MARKERS``), optional rings for chosen negatives.
``plot_toy_batch``
    A small labelled 2-D batch, every point numbered and coloured by its digit class.
``draw_model_graph``
    A functional Keras model's layer graph drawn with matplotlib — what ``keras.utils.plot_model``
    shows, for machines without pydot and graphviz.

Distances are those of :mod:`helpers.distances`; a distance ``d`` is drawn as a circle of radius
``sqrt(d)`` for ``"squared_l2"`` and ``d`` for ``"l2"``.
"""

from __future__ import annotations

import numpy as np
import matplotlib.pyplot as plt
from matplotlib.patches import Circle, FancyBboxPatch

from helpers.plotting import HARDNESS_COLORS, HARDNESS_MARKERS, class_color


def _radius(d: float, distance: str) -> float:
    if distance == "squared_l2":
        return float(np.sqrt(max(d, 0.0)))
    if distance == "l2":
        return float(d)
    raise ValueError(f"cannot draw distance {distance!r} as a radius; use squared_l2 or l2")


def draw_mining_scene(ax, anchor, positive, negatives, kinds, margin: float, *,
                      distance: str = "squared_l2", chosen: dict | None = None,
                      anchor_class: int = 0, title: str = "", legend: bool = True):
    """Draw anchor, positive, the margin band and the negatives coloured and shaped by kind.

    Args:
        ax: matplotlib axes.
        anchor, positive: 2-D points; negatives: ``(M, 2)`` points.
        kinds: ``M`` strings, keys of ``HARDNESS_COLORS``.
        margin: the margin, in the units of ``distance``.
        chosen: ``{legend label: (negative index, marker)}`` to ring the negatives a rule picks.
        anchor_class: the digit class whose colour the anchor and positive wear.
    """
    anchor, positive = np.asarray(anchor, float), np.asarray(positive, float)
    negatives = np.asarray(negatives, float).reshape(-1, 2)
    d_ap = float(np.sum((positive - anchor) ** 2))
    if distance == "l2":
        d_ap = float(np.sqrt(d_ap))
    inner, outer = _radius(d_ap, distance), _radius(d_ap + margin, distance)
    ax.add_patch(Circle(anchor, outer, color=HARDNESS_COLORS["semi-hard"], alpha=0.15, lw=0))
    ax.add_patch(Circle(anchor, inner, color="white", lw=0))
    ax.add_patch(Circle(anchor, inner, fill=False, ls="--", color="black", lw=1,
                        label="d(a, n) = d(a, p)"))
    ax.add_patch(Circle(anchor, outer, fill=False, ls=":", color="black", lw=1.2,
                        label="d(a, n) = d(a, p) + margin"))
    for kind, colour in HARDNESS_COLORS.items():
        mask = np.array([k == kind for k in kinds], dtype=bool)
        if mask.any():
            ax.scatter(*negatives[mask].T, s=40, color=colour, marker=HARDNESS_MARKERS[kind],
                       edgecolor="black", linewidth=0.5, label=f"{kind} negative", zorder=3)
    colour = class_color(anchor_class)
    ax.scatter(*anchor, s=160, marker="*", color=colour, edgecolor="black", zorder=4, label="anchor a")
    ax.scatter(*positive, s=80, marker="D", color=colour, edgecolor="black", zorder=4,
               label="positive p")
    for label, (index, marker) in (chosen or {}).items():
        ax.scatter(*negatives[index], s=260, marker=marker, facecolor="none", edgecolor="black",
                   linewidth=1.6, zorder=5, label=label)
    ax.set_aspect("equal")
    ax.set_xlabel("embedding coordinate 1")
    ax.set_ylabel("embedding coordinate 2")
    if title:
        ax.set_title(title)
    if legend:
        ax.legend(loc="upper left", bbox_to_anchor=(1.02, 1.0), fontsize=8, framealpha=0.9)
    return ax


def plot_toy_batch(ax, points, labels, *, title: str = "A toy batch"):
    """Scatter a 2-D batch, each point numbered by its batch index and coloured by its class."""
    points = np.asarray(points, float)
    labels = np.asarray(labels).reshape(-1)
    for cls in np.unique(labels):
        mask = labels == cls
        ax.scatter(*points[mask].T, s=160, color=class_color(cls), edgecolor="black",
                   label=f"class {cls}", zorder=3)
    for i, (x, y) in enumerate(points):
        ax.annotate(str(i), (x, y), ha="center", va="center", fontsize=8, color="white",
                    fontweight="bold", zorder=4)
    ax.set_aspect("equal")
    ax.margins(0.15)
    ax.grid(alpha=0.3)
    ax.set_xlabel("embedding coordinate 1")
    ax.set_ylabel("embedding coordinate 2")
    ax.set_title(title)
    ax.legend(fontsize=8, loc="best")
    return ax


def _sources(node_args) -> list[str]:
    """Names of the layers whose outputs feed a node (found in its serialised arguments)."""
    found = []
    if isinstance(node_args, dict):
        history = node_args.get("config", {}).get("keras_history") if "config" in node_args else None
        if node_args.get("class_name") == "__keras_tensor__" and history:
            return [history[0]]
        for value in node_args.values():
            found += _sources(value)
    elif isinstance(node_args, (list, tuple)):
        for value in node_args:
            found += _sources(value)
    return found


def model_graph(model) -> tuple[list[str], dict[str, list[str]], dict[str, str]]:
    """``(layer names, {layer: input layers}, {layer: class name})`` of a functional model."""
    layers = model.get_config()["layers"]
    names = [layer["name"] for layer in layers]
    parents = {layer["name"]: _sources(layer.get("inbound_nodes", [])) for layer in layers}
    kinds = {layer["name"]: layer["class_name"] for layer in layers}
    return names, parents, kinds


def draw_model_graph(model, ax=None, *, title: str | None = None):
    """Draw a functional model's layers as boxes (name, class, output shape), inputs at the top."""
    names, parents, kinds = model_graph(model)
    depth = {}
    for name in names:  # the config lists layers in an order where inputs come first
        depth[name] = 1 + max((depth[p] for p in parents[name]), default=-1)
    rows = {}
    for name in names:
        rows.setdefault(depth[name], []).append(name)
    width = max(len(r) for r in rows.values())
    if ax is None:
        _, ax = plt.subplots(figsize=(3.4 * width + 1, 1.25 * len(rows) + 0.6))
    position = {}
    for level, members in rows.items():
        for i, name in enumerate(members):
            position[name] = ((i - (len(members) - 1) / 2) * 3.4, -1.25 * level)
    shapes = {layer.name: getattr(layer, "output", None) for layer in model.layers}
    for name, (x, y) in position.items():
        for parent in parents[name]:
            px, py = position[parent]
            ax.annotate("", xy=(x, y + 0.32), xytext=(px, py - 0.32),
                        arrowprops=dict(arrowstyle="->", color="black", lw=1))
        shape = getattr(shapes.get(name), "shape", None)
        text = f"{name}\n{kinds[name]}" + (f"  {tuple(shape)}" if shape is not None else "")
        ax.add_patch(FancyBboxPatch((x - 1.5, y - 0.3), 3.0, 0.6, boxstyle="round,pad=0.02",
                                    facecolor="#e8f0fb" if kinds[name] != "InputLayer" else "#fdf2d0",
                                    edgecolor="black"))
        ax.text(x, y, text, ha="center", va="center", fontsize=8)
    xs = [p[0] for p in position.values()]
    ax.set_xlim(min(xs) - 1.7, max(xs) + 1.7)
    ax.set_ylim(-1.25 * (len(rows) - 1) - 0.5, 0.5)
    ax.set_axis_off()
    ax.set_title(title or f"The layer graph of '{model.name}' (drawn with matplotlib)")
    return ax
