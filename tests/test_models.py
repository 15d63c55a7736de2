"""Tests of helpers.models: shapes, L2 normalisation, the cosine softmax head, save/load, both wirings."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from helpers.models import (  # noqa: E402
    CosineSoftmax, L2Normalize, build_cnn, build_concat_model, build_mlp, build_model, copy_weights_into, embed,
    embedding_model, is_concat_model, load_embedding, summary_text,
)


@pytest.fixture(scope="module")
def images():
    return np.random.default_rng(0).random((40, 28, 28, 1), dtype=np.float32)


def test_mlp_is_the_2018_network():
    model = build_mlp()
    kinds = [type(layer).__name__ for layer in model.layers]
    assert kinds == ["InputLayer", "Flatten", "Dense", "Dropout", "Dense", "Dropout", "Dense"]
    dense = [layer for layer in model.layers if isinstance(layer, keras.layers.Dense)]
    assert [d.units for d in dense] == [128, 128, 64]
    assert [d.activation.__name__ for d in dense] == ["relu", "relu", "linear"]
    assert [layer.rate for layer in model.layers if isinstance(layer, keras.layers.Dropout)] == [0.1, 0.1]
    assert model.input_shape == (None, 28, 28, 1)
    assert model.count_params() == 784 * 128 + 128 + 128 * 128 + 128 + 128 * 64 + 64


@pytest.mark.parametrize("builder, dim", [(build_mlp, 64), (build_cnn, 32)])
def test_embedding_shapes(builder, dim, images):
    out = embed(builder(dim), images)
    assert out.shape == (len(images), dim) and out.dtype == np.float32


@pytest.mark.parametrize("name, normalised", [("mlp", False), ("cnn", True)])
def test_l2_normalisation_defaults_and_option(name, normalised, images):
    norms = np.linalg.norm(embed(build_model(name), images), axis=1)
    assert np.allclose(norms, 1.0, atol=1e-5) == normalised
    flipped = build_model(name, l2_normalize=not normalised)
    assert np.allclose(np.linalg.norm(embed(flipped, images), axis=1), 1.0, atol=1e-5) != normalised


def test_l2_normalize_layer_handles_zero_vectors():
    out = keras.ops.convert_to_numpy(L2Normalize()(np.array([[0.0, 0.0], [3.0, 4.0]], np.float32)))
    assert np.all(np.isfinite(out))
    np.testing.assert_allclose(out, [[0.0, 0.0], [0.6, 0.8]], atol=1e-6)


def cosine_logits_numpy(x, kernel, scale):
    """scale · cos(x_i, w_j) from the definition: normalise rows of x and columns of the kernel."""
    x = x / np.linalg.norm(x, axis=1, keepdims=True)
    w = kernel / np.linalg.norm(kernel, axis=0, keepdims=True)
    return scale * x @ w


@pytest.mark.parametrize("scale", [1.0, 16.0, 30.0])
def test_cosine_softmax_is_scale_times_cosine(scale):
    rng = np.random.default_rng(1)
    x = rng.normal(size=(25, 8)).astype(np.float32) * rng.uniform(0.01, 50, size=(25, 1)).astype(np.float32)
    layer = CosineSoftmax(5, scale=scale)
    out = keras.ops.convert_to_numpy(layer(x))
    assert out.shape == (25, 5)
    kernel = keras.ops.convert_to_numpy(layer.kernel)
    np.testing.assert_allclose(out, cosine_logits_numpy(x.astype(np.float64), kernel.astype(np.float64), scale),
                               rtol=1e-5, atol=1e-5 * scale)
    # Rescaling an input or a class's weights leaves the logits unchanged: only angles count.
    np.testing.assert_allclose(keras.ops.convert_to_numpy(layer(7.0 * x)), out, rtol=1e-5, atol=1e-5 * scale)
    layer.kernel.assign(kernel * np.array([1, 2, 3, 0.5, 10], np.float32))
    np.testing.assert_allclose(keras.ops.convert_to_numpy(layer(x)), out, rtol=1e-5, atol=1e-5 * scale)


def test_cosine_softmax_logits_are_bounded_by_scale():
    rng = np.random.default_rng(2)
    x = rng.normal(size=(200, 16)).astype(np.float32) * 100
    layer = CosineSoftmax(7, scale=16.0)
    out = keras.ops.convert_to_numpy(layer(x))
    assert np.abs(out).max() <= 16.0 * (1 + 1e-6)
    # Every row is scale × a vector of cosines with unit-norm class directions, so it reaches the
    # bound exactly when x points along a class's weights.
    w = keras.ops.convert_to_numpy(layer.kernel)
    along = keras.ops.convert_to_numpy(layer(np.ascontiguousarray(w.T) * 3.0))
    np.testing.assert_allclose(np.diag(along), 16.0, rtol=1e-5)
    # A zero vector has no direction: zero logits, not NaN.
    zero = keras.ops.convert_to_numpy(layer(np.zeros((1, 16), np.float32)))
    np.testing.assert_array_equal(zero, np.zeros((1, 7), np.float32))


def test_cosine_softmax_save_and_load_round_trip(images, tmp_path):
    model = keras.Sequential([build_cnn(16, l2_normalize=False), CosineSoftmax(7, scale=12.5, name="head")])
    model.build((None, 28, 28, 1))
    model.save(tmp_path / "cosine.keras")
    loaded = load_embedding(tmp_path / "cosine.keras")
    head = loaded.get_layer("head")
    assert isinstance(head, CosineSoftmax) and head.num_classes == 7 and head.scale == 12.5
    np.testing.assert_array_equal(embed(loaded, images), embed(model, images))
    assert CosineSoftmax.from_config(head.get_config()).get_config() == head.get_config()


@pytest.mark.parametrize("kwargs, message", [
    ({"num_classes": 1}, "num_classes >= 2"),
    ({"num_classes": 0}, "num_classes >= 2"),
    ({"num_classes": 2.5}, "num_classes >= 2"),
    ({"num_classes": 3, "scale": 0.0}, "scale > 0"),
    ({"num_classes": 3, "scale": -4.0}, "scale > 0"),
    ({"num_classes": 3, "scale": float("inf")}, "scale > 0"),
])
def test_cosine_softmax_rejects_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        CosineSoftmax(**kwargs)


def test_embed_accepts_flat_and_2d_images(images):
    model = build_mlp()
    ref = embed(model, images)
    np.testing.assert_allclose(embed(model, images[..., 0]), ref, atol=1e-6)
    np.testing.assert_allclose(embed(model, images.reshape(len(images), -1), batch_size=7), ref, atol=1e-6)
    assert embed(model, images[:0]).shape == (0, 64)
    with pytest.raises(ValueError, match="28"):
        embed(model, np.zeros((3, 27, 27)))


def test_embed_is_deterministic_inference(images):
    model = build_mlp(dropout=0.5)
    np.testing.assert_array_equal(embed(model, images), embed(model, images))


@pytest.mark.parametrize("name", ["mlp", "cnn"])
def test_save_and_load_round_trip(name, images, tmp_path):
    model = build_model(name, l2_normalize=True)
    path = tmp_path / f"{name}.keras"
    model.save(path)
    loaded = load_embedding(path)
    assert any(isinstance(layer, L2Normalize) for layer in loaded.layers)
    np.testing.assert_array_equal(embed(loaded, images), embed(model, images))


def test_concat_model_wiring(images):
    base = build_mlp()
    model = build_concat_model(base)
    labels = np.arange(len(images)) % 10
    out = model.predict([images, labels], verbose=0)
    assert out.shape == (len(images), 65)
    np.testing.assert_array_equal(out[:, 0], labels.astype(np.float32))
    np.testing.assert_allclose(out[:, 1:], embed(base, images), atol=1e-6)
    assert is_concat_model(model) and not is_concat_model(base)
    assert embedding_model(model) is base
    assert embedding_model(base) is base


def test_concat_model_save_and_load(images, tmp_path):
    model = build_concat_model(build_mlp(l2_normalize=True))
    model.save(tmp_path / "concat.keras")
    loaded = load_embedding(tmp_path / "concat.keras")
    labels = np.arange(len(images)) % 10
    np.testing.assert_array_equal(loaded.predict([images, labels], verbose=0),
                                  model.predict([images, labels], verbose=0))


def test_copy_weights_gives_identical_embeddings(images):
    concat = build_concat_model(build_mlp())
    # Change the trained weights so a fresh base could not match them by accident.
    for layer in embedding_model(concat).layers:
        layer.set_weights([w + 0.01 * (i + 1) for i, w in enumerate(layer.get_weights())])
    fresh = build_mlp()
    assert not np.allclose(embed(fresh, images), embed(concat, images))
    returned = copy_weights_into(fresh, concat)
    assert returned is fresh
    np.testing.assert_array_equal(embed(fresh, images), embed(embedding_model(concat), images))


def test_copy_weights_refuses_a_different_network():
    with pytest.raises(ValueError, match="cannot copy"):
        copy_weights_into(build_mlp(32), build_concat_model(build_mlp(64)))
    with pytest.raises(ValueError, match="cannot copy"):
        copy_weights_into(build_cnn(), build_concat_model(build_mlp()))


def test_unknown_model_name():
    with pytest.raises(ValueError, match="unknown model"):
        build_model("resnet")


def test_summary_text_is_plain_ascii_with_every_layer():
    text = summary_text(build_concat_model(build_mlp()))
    assert text.isascii() and text.startswith('Model: "concat_model"')
    for layer in ("label (InputLayer)", "mlp_2018 (Functional)", "Total params: 125,248"):
        assert layer in text
