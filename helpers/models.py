"""Embedding networks for MNIST (introduced in chapter 4 "Training on MNIST").

Two base networks map float32 images ``(N, 28, 28, 1)`` in [0, 1] to embeddings:

``build_mlp``
    The 2018 notebook's network, layer for layer: Flatten → Dense 128 relu → Dropout 0.1 →
    Dense 128 relu → Dropout 0.1 → Dense 64 (linear). ``l2_normalize=True`` adds a final
    ``L2Normalize`` layer that puts every embedding on the unit sphere.
``build_cnn``
    A small convolutional network that trains in minutes on two CPU cores; L2-normalised by
    default.

Chapter 3 "Keras label-concatenation wiring" uses the other half of this module. In 2018 Keras
losses could only see ``y_true`` and ``y_pred``, so the notebook fed the labels in as a second
input and concatenated them in front of the embeddings (``build_concat_model``); the loss split
them off again. Today the labels simply are ``y_true`` and the base network is the whole model.
After training a concat model, ``embedding_model`` pulls the shared base out of it (the simple
way) and ``copy_weights_into`` copies it layer by layer into a fresh base (the 2018 way); both
give identical embeddings.

Chapter 6 "Retrieving digits never seen in training" adds ``CosineSoftmax``, a normalised
softmax classifier head whose penultimate features it compares with a triplet embedding.

The custom layers are registered with Keras (package ``"helpers"``) when this module is
imported; Keras can only rebuild a saved model whose custom objects are registered.
``load_embedding(path)`` does both: it registers the course's layers and losses, then loads.
"""

from __future__ import annotations

import numpy as np
import keras
from keras import layers, ops

#: The shape of one MNIST image as every network here expects it.
IMAGE_SHAPE = (28, 28, 1)


def _unit(values, axis: int, epsilon: float):
    """``values`` divided by their L2 norms along ``axis`` (squared norms floored at ``epsilon``)."""
    squared_norm = ops.sum(ops.square(values), axis=axis, keepdims=True)
    return values * ops.rsqrt(ops.maximum(squared_norm, epsilon))


@keras.saving.register_keras_serializable(package="helpers")
class L2Normalize(layers.Layer):
    """Divide each vector by its L2 norm along ``axis`` (norms below ``sqrt(epsilon)`` are floored).

    Its outputs have unit length, so squared L2 distances between them lie in [0, 4].
    """

    def __init__(self, axis: int = -1, epsilon: float = 1e-12, **kwargs):
        super().__init__(**kwargs)
        self.axis = int(axis)
        self.epsilon = float(epsilon)

    def call(self, inputs):
        return _unit(inputs, self.axis, self.epsilon)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "axis": self.axis, "epsilon": self.epsilon}


@keras.saving.register_keras_serializable(package="helpers")
class CosineSoftmax(layers.Layer):
    """A normalised ("cosine") softmax classifier head: logits ``scale · cos(x, w_j)``.

    Both the input vector ``x`` and every class's weight column ``w_j`` are divided by their L2
    norms, so the logit of class ``j`` is ``scale`` times the cosine of the angle between them,
    bounded by ``±scale``. Train it with ``SparseCategoricalCrossentropy(from_logits=True)``: the
    classes are then separated by angle alone, the geometry of a cosine nearest-neighbour search.
    This is NormFace (Wang et al. 2017, arXiv:1704.06369); CosFace (arXiv:1801.09414) and ArcFace
    also subtract a margin from the true class's logit, which this layer does not.

    Args:
        num_classes: number of classes (at least 2).
        scale: the fixed factor ``s`` on the cosines (> 0). With few classes a moderate ``s``
            suffices; cosines alone (``s = 1``) cannot push the softmax near 0 or 1.
        epsilon: squared norms are floored at this value (a zero vector gives zero logits).
    """

    def __init__(self, num_classes: int, scale: float = 16.0, epsilon: float = 1e-12, **kwargs):
        super().__init__(**kwargs)
        if isinstance(num_classes, bool) or not isinstance(num_classes, (int, np.integer)) \
                or num_classes < 2:
            raise ValueError(f"CosineSoftmax needs an integer num_classes >= 2, got {num_classes!r}")
        if not isinstance(scale, (int, float, np.number)) or not np.isfinite(scale) or scale <= 0:
            raise ValueError(f"CosineSoftmax needs a finite scale > 0, got {scale!r}")
        self.num_classes = int(num_classes)
        self.scale = float(scale)
        self.epsilon = float(epsilon)

    def build(self, input_shape):
        self.kernel = self.add_weight(name="kernel", shape=(int(input_shape[-1]), self.num_classes),
                                      initializer="glorot_uniform", trainable=True)

    def call(self, inputs):
        return self.scale * ops.matmul(_unit(inputs, -1, self.epsilon), _unit(self.kernel, 0, self.epsilon))

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.num_classes)

    def get_config(self):
        return {**super().get_config(), "num_classes": self.num_classes, "scale": self.scale,
                "epsilon": self.epsilon}


@keras.saving.register_keras_serializable(package="helpers")
class LabelAsFloat(layers.Layer):
    """Turn integer labels of shape ``(N,)`` or ``(N, 1)`` into a float32 column ``(N, 1)``."""

    def call(self, labels):
        return ops.reshape(ops.cast(labels, "float32"), (-1, 1))

    def compute_output_shape(self, input_shape):
        return (input_shape[0], 1)

    def compute_output_spec(self, labels):
        return keras.KerasTensor((labels.shape[0], 1), dtype="float32")


def _finish(x, inputs, embedding_dim: int, l2_normalize: bool, name: str):
    x = layers.Dense(embedding_dim, name="embedding")(x)
    if l2_normalize:
        x = L2Normalize(name="l2_normalize")(x)
    return keras.Model(inputs, x, name=name)


def build_mlp(embedding_dim: int = 64, *, l2_normalize: bool = False, dropout: float = 0.1,
              hidden: int = 128, name: str = "mlp_2018") -> keras.Model:
    """The 2018 notebook's base network: two hidden Dense layers with Dropout, linear output.

    Args:
        embedding_dim: size of the embedding (64 in 2018).
        l2_normalize: add a final ``L2Normalize`` layer (not in the 2018 notebook).
        dropout: dropout rate after each hidden layer (0.1 in 2018).
        hidden: units of each hidden layer (128 in 2018).
    """
    inputs = keras.Input(shape=IMAGE_SHAPE, name="image")
    x = layers.Flatten(name="flatten")(inputs)
    x = layers.Dense(hidden, activation="relu", name="dense_1")(x)
    x = layers.Dropout(dropout, name="dropout_1")(x)
    x = layers.Dense(hidden, activation="relu", name="dense_2")(x)
    x = layers.Dropout(dropout, name="dropout_2")(x)
    return _finish(x, inputs, embedding_dim, l2_normalize, name)


def build_cnn(embedding_dim: int = 64, *, l2_normalize: bool = True, filters: tuple = (32, 64),
              padding: str = "same", batch_norm: bool = False, dense: int = 512,
              dropout: float = 0.3, name: str = "cnn") -> keras.Model:
    """A small CNN: per entry of ``filters`` a 3×3 conv (relu) and a 2×2 max-pool, then Dense.

    The defaults (28×28 → 28×28×32 → 14×14×32 → 14×14×64 → 7×7×64 → Dense 512 → Dropout 0.3 →
    Dense 64 → L2Normalize, 1.66 M weights) scored best among the variants measured on the
    offline subset (precision@1 on held-out images): unpadded convolutions train twice as fast
    but score ~0.3 points lower, Dense 128/256 and batch normalisation lower still, and a third
    block did not help. One epoch of 4,000 images takes ~5 CPU-seconds.

    Args:
        embedding_dim: size of the embedding.
        l2_normalize: end with an ``L2Normalize`` layer (the default).
        filters: channels of the convolution blocks.
        padding: ``"same"`` (the default) or ``"valid"`` (no padding: faster, a little worse).
        batch_norm: batch normalisation between each convolution and its relu.
        dense: units of the hidden Dense layer before the embedding.
        dropout: dropout rate before the embedding layer.
    """
    inputs = keras.Input(shape=IMAGE_SHAPE, name="image")
    x = inputs
    for block, channels in enumerate(filters, start=1):
        if batch_norm:
            x = layers.Conv2D(channels, 3, padding=padding, use_bias=False, name=f"conv{block}")(x)
            x = layers.BatchNormalization(name=f"bn{block}")(x)
            x = layers.Activation("relu", name=f"relu{block}")(x)
        else:
            x = layers.Conv2D(channels, 3, padding=padding, activation="relu", name=f"conv{block}")(x)
        x = layers.MaxPooling2D(2, name=f"pool{block}")(x)
    x = layers.Flatten(name="flatten")(x)
    x = layers.Dense(dense, activation="relu", name="dense")(x)
    x = layers.Dropout(dropout, name="dropout")(x)
    return _finish(x, inputs, embedding_dim, l2_normalize, name)


def build_model(name: str, embedding_dim: int = 64, **kwargs) -> keras.Model:
    """``build_mlp`` for ``"mlp"``, ``build_cnn`` for ``"cnn"``."""
    builders = {"mlp": build_mlp, "cnn": build_cnn}
    if name not in builders:
        raise ValueError(f"unknown model {name!r}; choose one of {', '.join(builders)}")
    return builders[name](embedding_dim, **kwargs)


def build_concat_model(base: keras.Model, *, name: str = "concat_model") -> keras.Model:
    """The 2018 wiring: ``[image, label] → Concatenate([float(label), base(image)])``.

    The output has ``1 + embedding_dim`` columns; column 0 is the label. Train it with
    ``helpers.losses.LabelConcatLoss`` and dummy zero targets.
    """
    image = keras.Input(shape=base.input_shape[1:], name="image")
    label = keras.Input(shape=(1,), dtype="int64", name="label")
    embeddings = base(image)
    outputs = layers.Concatenate(axis=-1, name="label_and_embedding")(
        [LabelAsFloat(name="label_as_float")(label), embeddings])
    return keras.Model([image, label], outputs, name=name)


def is_concat_model(model: keras.Model) -> bool:
    """True for a model built by ``build_concat_model`` (two inputs, a base model inside)."""
    return len(model.inputs) == 2 and any(isinstance(layer, keras.Model) for layer in model.layers)


def embedding_model(trained_model: keras.Model) -> keras.Model:
    """The base network inside a concat model (shared weights); a base model is returned as is."""
    if not is_concat_model(trained_model):
        return trained_model
    bases = [layer for layer in trained_model.layers if isinstance(layer, keras.Model)]
    if len(bases) != 1:
        raise ValueError(f"{trained_model.name} holds {len(bases)} sub-models, expected exactly one")
    return bases[0]


def copy_weights_into(base_fresh: keras.Model, concat_model: keras.Model) -> keras.Model:
    """The 2018 way: copy the trained base's weights layer by layer into ``base_fresh``.

    ``base_fresh`` must be built like the trained base (same layers in the same order); it is
    changed in place and returned.
    """
    trained = embedding_model(concat_model)
    if len(base_fresh.layers) != len(trained.layers):
        raise ValueError(f"cannot copy: {trained.name} has {len(trained.layers)} layers, "
                         f"{base_fresh.name} has {len(base_fresh.layers)}")
    for target, source in zip(base_fresh.layers, trained.layers):
        weights = source.get_weights()
        shapes = [w.shape for w in target.get_weights()]
        if shapes != [w.shape for w in weights]:
            raise ValueError(f"cannot copy layer {source.name} into {target.name}: weight shapes "
                             f"{[w.shape for w in weights]} vs {shapes}")
        target.set_weights(weights)
    return base_fresh


def as_images(images) -> np.ndarray:
    """float32 ``(N, 28, 28, 1)`` from ``(N, 28, 28, 1)``, ``(N, 28, 28)`` or ``(N, 784)``."""
    images = np.asarray(images, dtype=np.float32)
    if images.ndim == 2 and images.shape[1] == 784:
        images = images.reshape(-1, 28, 28)
    if images.ndim == 3:
        images = images[..., None]
    if images.ndim != 4 or images.shape[1:] != IMAGE_SHAPE:
        raise ValueError(f"expected images (N, 28, 28[, 1]) or (N, 784), got {images.shape}")
    return images


def embed(model: keras.Model, images, *, batch_size: int = 1024) -> np.ndarray:
    """Embeddings ``(N, D)`` as a float32 numpy array (inference mode: dropout off).

    A concat model is replaced by its base network first.
    """
    model = embedding_model(model)
    images = as_images(images)
    if batch_size < 1:
        raise ValueError(f"batch_size must be positive, got {batch_size}")
    if len(images) == 0:
        return np.zeros((0, model.output_shape[-1]), dtype=np.float32)
    parts = [ops.convert_to_numpy(model(images[start:start + batch_size], training=False))
             for start in range(0, len(images), batch_size)]
    return np.concatenate(parts).astype(np.float32, copy=False)


def load_embedding(path) -> keras.Model:
    """Load a model the course saved (``.keras``), e.g. ``python -m helpers train``'s
    ``embedding.keras``, ready for ``embed`` (not compiled: no optimizer or loss restored).

    It registers the course's custom Keras objects first (this module's layers and
    ``helpers.losses``' losses), which a bare ``keras.saving.load_model`` would not know.

    Raises:
        FileNotFoundError: ``path`` is not a file.
        ValueError: the file is not a Keras model that this Keras can load.
    """
    import os

    import helpers.losses  # noqa: F401  (registers the losses a saved model may name)

    import zipfile

    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"no such model file: {path}")
    try:
        open(path, "rb").close()
    except PermissionError:
        raise PermissionError(f"{path}: permission denied (cannot read the model file)") from None
    if path.endswith(".keras") and not zipfile.is_zipfile(path):
        size = os.path.getsize(path)
        raise ValueError(f"{path} is not a complete .keras file ({size:,} bytes, not a zip archive): "
                         "it was cut short or damaged; train or save it again")
    try:
        return keras.saving.load_model(path, compile=False)
    except Exception as err:  # a zip that is no model, a layer of another project, ...
        first = str(err).strip().splitlines()[0] if str(err).strip() else ""
        raise ValueError(f"cannot load {path} as a Keras model: {type(err).__name__}: {first}") from err


#: Keras draws its summary with rich's box-drawing characters, which many fonts and line heights
#: break into dashes and gaps; plain ASCII reads the same everywhere.
_BOX_TO_ASCII = str.maketrans("┏┓┗┛┡┩└┘┳┻╇┴┬┼├┤┃│━─", "++++++++++++++++||=-")


def summary_text(model: keras.Model, *, line_length: int = 92) -> str:
    """``model.summary()`` as plain ASCII text, to print (chapter 3).

    Inside a notebook, rich (which Keras draws the summary with) also emits an empty HTML output
    when its capture ends; that is swallowed here, so the notebook shows one clean table.
    """
    import contextlib

    try:
        from IPython.utils.capture import capture_output
    except ImportError:  # no IPython: no notebook output to swallow
        capture_output = contextlib.nullcontext
    parts: list[str] = []
    with capture_output():
        model.summary(line_length=line_length, print_fn=lambda text, **_: parts.append(text))
    return "".join(parts).translate(_BOX_TO_ASCII).rstrip()
