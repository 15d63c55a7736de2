"""Tests of the chapter 5 figures added to helpers.plotting: they build, are titled and labelled."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from helpers.evaluation import nearest_neighbours  # noqa: E402
from helpers.plotting import (  # noqa: E402
    CLASS_COLORS, MISTAKE_COLOR, pair_distances, plot_distance_histograms, plot_loss_curves,
    plot_neighbour_gallery, plot_pca_before_after,
)


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
    assert [tuple(line.get_xdata()) for line in ax.lines] == [(1.0, 1.0)]  # the margin line


def test_distance_histograms_into_given_axes(blobs):
    emb, labels, _ = blobs
    fig, (left, right) = plt.subplots(1, 2)
    assert plot_distance_histograms(emb, labels, ax=right, title="right panel") is fig
    assert len(fig.axes) == 2 and not left.patches and right.patches
    assert right.get_title() == "right panel" and right.get_xlabel() == "L2 distance"
    assert not right.lines  # no margin given, no line


def test_neighbour_gallery_marks_mistakes_red(blobs):
    emb, labels, images = blobs
    idx = nearest_neighbours(emb[:5], emb[5:], k=3)
    idx[0, 1] = np.flatnonzero(labels[5:] != labels[0])[0]  # force one mistake
    fig = plot_neighbour_gallery(images[:5], labels[:5], images[5:], labels[5:], idx)
    assert fig._suptitle.get_text() and fig._supxlabel.get_text() and fig._supylabel.get_text()
    red = [ax for ax in fig.axes if tuple(ax.spines["top"].get_edgecolor()) == MISTAKE_COLOR]
    wrong = int((labels[5:][idx] != labels[:5, None]).sum())
    assert len(red) == wrong >= 1
    assert f"{wrong} wrong" in fig._suptitle.get_text()
    with pytest.raises(ValueError, match="shapes"):
        plot_neighbour_gallery(images[:5], labels[:5], images[5:], labels[5:], idx[:3])
