"""Tests of helpers.plotting: the chapter 5 figures build, are titled and labelled; the palettes
for kinds of negative, neighbour outcomes, kinds of pair and compared series stay apart, also
under simulated colour blindness, and away from the digit colours, which no chapter borrows."""

import re
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from helpers.evaluation import nearest_neighbours  # noqa: E402
from matplotlib.colors import to_rgb, to_rgba  # noqa: E402

from helpers.plotting import (  # noqa: E402
    CLASS_COLORS, HARDNESS_COLORS, HARDNESS_MARKERS, OUTCOME_COLORS, OUTCOME_FRAME_WIDTHS,
    PAIR_COLORS, SERIES_COLORS, pair_distances, plot_distance_histograms, plot_loss_curves,
    plot_neighbour_gallery, plot_pca_before_after, series_style,
)
from helpers.theory_plots import draw_mining_scene  # noqa: E402


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def blobs():
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(4), 15)
    centres = rng.normal(size=(4, 16)) * 4
    return rng.normal(size=(60, 16)) + centres[labels], labels, rng.random((60, 28, 28, 1))


def assert_labelled(ax):
    assert ax.get_title() and ax.get_xlabel() and ax.get_ylabel()


def test_pca_before_after(blobs):
    emb, labels, images = blobs
    fig = plot_pca_before_after(images, emb, labels, names=("raw pixels", "embeddings"))
    left, right = fig.axes[:2]
    assert_labelled(left)
    assert_labelled(right)
    assert fig._suptitle.get_text()
    assert "784-d" in left.get_title() and "16-d" in right.get_title()
    # Different spaces: separate axes. Classes coloured with the course's palette.
    assert left.get_xlim() != right.get_xlim()
    colours = [tuple(c.get_facecolor()[0][:3]) for c in right.collections]
    assert colours == [tuple(CLASS_COLORS[i][:3]) for i in range(4)]
    assert [t.get_text() for t in fig.legends[0].get_texts()] == ["0", "1", "2", "3"]


def test_pca_before_after_shares_axes_for_the_same_space(blobs):
    emb, labels, _ = blobs
    fig = plot_pca_before_after(emb * 0.1, emb, labels)
    assert fig.axes[0].get_xlim() == fig.axes[1].get_xlim()
    with pytest.raises(ValueError, match="labels"):
        plot_pca_before_after(emb, emb[:10], labels)


def test_loss_curves_from_dict_and_objects():
    history = {"epoch": [0, 1, 2], "loss": [0.9, 0.5, 0.3]}
    fig = plot_loss_curves(history)
    ax = fig.axes[0]
    assert_labelled(ax)
    np.testing.assert_array_equal(ax.lines[0].get_xdata(), [1, 2, 3])
    assert ax.get_ylabel() == "loss"

    class Result:
        pass

    result = Result()
    result.history = {"loss": [1.0, 0.5], "val_loss": [1.1, 0.7]}
    assert len(plot_loss_curves(result, log_scale=True).axes[0].lines) == 2
    # The series wear series_style, not matplotlib's default cycle (tab10: the digit colours).
    history = {f"metric {i}": [1.0, 0.5] for i in range(5)}
    lines = plot_loss_curves(history).axes[0].lines
    digits = {to_rgb(c) for c in CLASS_COLORS}
    for i, line in enumerate(lines):
        style = series_style(i)
        assert to_rgb(line.get_color()) == to_rgb(style["color"]) and to_rgb(line.get_color()) not in digits
        assert (line.get_marker(), line.get_linestyle()) == (style["marker"], style["linestyle"])
    with pytest.raises(ValueError):
        plot_loss_curves({})


def test_distance_histograms(blobs):
    emb, labels, _ = blobs
    positive, negative = pair_distances(emb, labels)
    assert positive.size == 4 * 15 * 14 // 2 and negative.size == 60 * 59 // 2 - positive.size
    assert positive.mean() < negative.mean()
    fig = plot_distance_histograms(emb, labels, squared=True, margin=1.0)
    ax = fig.axes[0]
    assert_labelled(ax)
    assert ax.get_xlabel() == "squared L2 distance"
    assert any("positive pairs" in t.get_text() for t in ax.get_legend().get_texts())
    # Pair colours, not digit 0's blue and digit 7's grey.
    fills = {tuple(patch.get_facecolor()[:3]) for patch in ax.patches}
    assert fills == {to_rgb(PAIR_COLORS["positive"]), to_rgb(PAIR_COLORS["negative"])}
    assert [tuple(line.get_xdata()) for line in ax.lines] == [(1.0, 1.0)]  # the margin line


def test_distance_histograms_into_given_axes(blobs):
    emb, labels, _ = blobs
    fig, (left, right) = plt.subplots(1, 2)
    assert plot_distance_histograms(emb, labels, ax=right, title="right panel") is fig
    assert len(fig.axes) == 2 and not left.patches and right.patches
    assert right.get_title() == "right panel" and right.get_xlabel() == "L2 distance"
    assert not right.lines  # no margin given, no line


def test_neighbour_gallery_marks_mistakes(blobs):
    emb, labels, images = blobs
    idx = nearest_neighbours(emb[:5], emb[5:], k=3)
    idx[0, 1] = np.flatnonzero(labels[5:] != labels[0])[0]  # force one mistake
    fig = plot_neighbour_gallery(images[:5], labels[:5], images[5:], labels[5:], idx)
    assert fig._suptitle.get_text() and fig._supxlabel.get_text() and fig._supylabel.get_text()
    wrong_colour, right_colour = to_rgba(OUTCOME_COLORS["wrong"]), to_rgba(OUTCOME_COLORS["right"])
    framed = {"wrong": [], "right": []}
    for ax in fig.axes:
        for outcome, colour in (("wrong", wrong_colour), ("right", right_colour)):
            if tuple(ax.spines["top"].get_edgecolor()) == colour:
                framed[outcome].append(ax)
    wrong = int((labels[5:][idx] != labels[:5, None]).sum())
    assert len(framed["wrong"]) == wrong >= 1
    assert len(framed["right"]) == idx.size - wrong
    # Not by colour alone: a wrong neighbour's frame is thicker and its label carries a ✗.
    assert all(ax.spines["top"].get_linewidth() == OUTCOME_FRAME_WIDTHS["wrong"] for ax in framed["wrong"])
    assert all(ax.spines["top"].get_linewidth() == OUTCOME_FRAME_WIDTHS["right"] for ax in framed["right"])
    assert OUTCOME_FRAME_WIDTHS["wrong"] >= 2 * OUTCOME_FRAME_WIDTHS["right"]
    assert all(ax.get_title().endswith("✗") for ax in framed["wrong"])
    assert not any("✗" in ax.get_title() for ax in framed["right"])
    assert f"{wrong} wrong" in fig._suptitle.get_text()
    with pytest.raises(ValueError, match="shapes"):
        plot_neighbour_gallery(images[:5], labels[:5], images[5:], labels[5:], idx[:3])


def test_mining_scene_colours_and_shapes_negatives_by_kind():
    fig, ax = plt.subplots()
    negatives = np.array([[0.5, 0.0], [1.2, 0.0], [3.0, 0.0], [0.0, -3.0]])
    kinds = ["hard", "semi-hard", "easy", "easy"]
    draw_mining_scene(ax, (0, 0), (1, 0), negatives, kinds, margin=1.0, anchor_class=3)
    by_label = {c.get_label(): c for c in ax.collections}
    for kind in HARDNESS_COLORS:
        points = by_label[f"{kind} negative"]
        assert tuple(points.get_facecolor()[0]) == to_rgba(HARDNESS_COLORS[kind])
        assert len(points.get_offsets()) == kinds.count(kind)
    shapes = {kind: by_label[f"{kind} negative"].get_paths()[0].vertices.shape for kind in HARDNESS_COLORS}
    assert len(set(HARDNESS_MARKERS.values())) == 3 and len(set(shapes.values())) == 3  # three shapes


# ---------------------------------------------------------------- palettes under colour blindness
# Machado, Oliveira & Fernandes (2009), "A physiologically-based model for simulation of color
# vision deficiency", IEEE TVCG 15(6): the matrices for severity 1.0, applied to linear sRGB.
MACHADO_2009 = {
    "protanopia": np.array([[0.152286, 1.052583, -0.204868],
                            [0.114503, 0.786281, 0.099216],
                            [-0.003882, -0.048116, 1.051998]]),
    "deuteranopia": np.array([[0.367322, 0.860646, -0.227968],
                              [0.280085, 0.672501, 0.047413],
                              [-0.011820, 0.042940, 0.968881]]),
}
VISIONS = (None, "protanopia", "deuteranopia")
#: Two colours of one palette differ by at least this CIELAB distance (ΔE*ab, 1976; about 2.3 is
#: a just-noticeable difference) in normal vision and under each simulated deficiency.
MIN_WITHIN_PALETTE = 40.0
#: A meaning's colour differs from every digit colour by at least this much (normal vision).
MIN_FROM_DIGITS = 25.0


def _linear(rgb):
    rgb = np.asarray(rgb, dtype=float)
    return np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)


def lab(colour, vision=None):
    """CIELAB (D65) of a matplotlib colour as seen with ``vision`` (None: normal)."""
    rgb = _linear(to_rgb(colour))
    if vision is not None:
        rgb = np.clip(MACHADO_2009[vision] @ rgb, 0.0, 1.0)
    xyz = np.array([[0.4124564, 0.3575761, 0.1804375],
                    [0.2126729, 0.7151522, 0.0721750],
                    [0.0193339, 0.1191920, 0.9503041]]) @ rgb / np.array([0.95047, 1.0, 1.08883])
    f = np.where(xyz > (6 / 29) ** 3, np.cbrt(xyz), xyz / (3 * (6 / 29) ** 2) + 4 / 29)
    return np.array([116 * f[1] - 16, 500 * (f[0] - f[1]), 200 * (f[1] - f[2])])


def delta_e(a, b, vision=None) -> float:
    return float(np.linalg.norm(lab(a, vision) - lab(b, vision)))


def test_the_simulation_reproduces_known_facts():
    """White stays white; black, white and greys are unchanged; tab10's red and green, far apart
    in normal vision, nearly merge for a deuteranope and come much closer for a protanope."""
    for vision in VISIONS:
        for grey in ("#000000", "#777777", "#ffffff"):
            assert delta_e(grey, grey, vision) == 0 and np.allclose(lab(grey, vision), lab(grey), atol=1e-3)
    red, green = CLASS_COLORS[3], CLASS_COLORS[2]
    assert delta_e(red, green) > 100
    assert delta_e(red, green, "deuteranopia") < 10
    assert delta_e(red, green, "protanopia") < 40
    assert np.allclose(lab("#ffffff"), [100, 0, 0], atol=1e-3)


SERIES_BY_INDEX = dict(enumerate(SERIES_COLORS))


@pytest.mark.parametrize("palette", [HARDNESS_COLORS, OUTCOME_COLORS, PAIR_COLORS, SERIES_BY_INDEX],
                         ids=["hardness", "outcome", "pair", "series"])
@pytest.mark.parametrize("vision", VISIONS, ids=["normal", "protanopia", "deuteranopia"])
def test_palette_stays_distinguishable(palette, vision):
    names = list(palette)
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            distance = delta_e(palette[a], palette[b], vision)
            assert distance >= MIN_WITHIN_PALETTE, f"{a} vs {b} ({vision or 'normal'}): ΔE {distance:.1f}"


def test_meanings_have_their_own_colours():
    """'wrong' is no digit colour (for any reader: the gallery frames queries in their digit's
    colour); no hardness, outcome, pair or series colour is near a digit colour; no colour means
    two things."""
    for vision in VISIONS:
        nearest = min(delta_e(OUTCOME_COLORS["wrong"], digit, vision) for digit in CLASS_COLORS)
        assert nearest >= MIN_FROM_DIGITS, (vision, nearest)
    assert to_rgb(OUTCOME_COLORS["wrong"]) not in {to_rgb(c) for c in CLASS_COLORS}
    meanings = {**{f"{k} negative": c for k, c in HARDNESS_COLORS.items()},
                **{f"{k} neighbour": c for k, c in OUTCOME_COLORS.items()},
                **{f"{k} pair": c for k, c in PAIR_COLORS.items()},
                **{f"series {i}": c for i, c in SERIES_BY_INDEX.items()}}
    for name, colour in meanings.items():
        nearest = min(delta_e(colour, digit) for digit in CLASS_COLORS)
        assert nearest >= MIN_FROM_DIGITS, f"{name} {colour}: ΔE {nearest:.1f} from a digit colour"
    names = list(meanings)
    for i, a in enumerate(names):
        for b in names[i + 1:]:
            assert delta_e(meanings[a], meanings[b]) >= MIN_FROM_DIGITS, (a, b)


def test_series_style_gives_every_line_its_own_cues():
    """Up to three series differ in colour and marker; up to nine in (colour, line style) and in
    marker, so figures with more lines than colours stay readable."""
    styles = [series_style(i) for i in range(9)]
    assert len({s["color"] for s in styles[:3]}) == len({s["marker"] for s in styles[:3]}) == 3
    assert len({(s["color"], s["linestyle"]) for s in styles}) == 9
    assert len({s["marker"] for s in styles}) == 9
    assert {s["color"] for s in styles} == set(SERIES_COLORS)


#: How a chapter or helper would borrow a digit colour for something else: tab10 by name, the
#: default cycle by index, one fixed digit's colour, the palette zipped with a list of series, and
#: matplotlib's grey (= digit 7's).
BORROWED_DIGIT_COLOUR = re.compile(
    r"""["']tab:\w+["']|color\s*=\s*["']C\d["']|CLASS_COLORS\[\d\]|zip\(.*CLASS_COLORS\)"""
    r"""|colou?r\s*=\s*["']gr[ae]y["']""")


def test_no_chapter_or_helper_borrows_a_digit_colour():
    root = Path(__file__).resolve().parents[1]
    sources = sorted((root / "chapters").glob("*.py")) + sorted((root / "helpers").rglob("*.py"))
    found = [f"{path.relative_to(root)}:{number}: {line.strip()}"
             for path in sources
             for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
             if BORROWED_DIGIT_COLOUR.search(line)]
    assert not found, "digit colours used for something else:\n" + "\n".join(found)
