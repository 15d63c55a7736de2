"""Tests for helpers.contrastive (chapter 7) and helpers.losses.BatchAllTripletLoss: against the
NumPy references in helpers.reference, by hand, at the edge cases, and through Keras."""

import functools
import math
import os
import re

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import tensorflow as tf  # noqa: E402

from helpers import contrastive as C  # noqa: E402
from helpers import losses as L  # noqa: E402
from helpers import reference as R  # noqa: E402
from helpers.runs import loss_settings  # noqa: E402
from tests.keras_toys import clusters, embedder  # noqa: E402
from tests.test_losses import _unordered_after_length_check  # noqa: E402

MARGINS = (0.1, 0.5, 1.0, 2.0)
TEMPERATURES = (0.01, 0.05, 0.1, 0.5, 1.0)
# (kind, option): option is the distance of the contrastive loss; SupCon has none
KINDS = [("contrastive", "l2"), ("contrastive", "angular"), ("supcon", None)]


@functools.lru_cache(maxsize=None)
def _traced(kind, option, dtype):
    """One tf.function per loss, distance and dtype, batch size unknown: value and gradient."""
    spec = [tf.TensorSpec([None], tf.int32), tf.TensorSpec([None, None], dtype),
            tf.TensorSpec([], dtype)]

    @tf.function(input_signature=spec)
    def fn(labels, x, parameter):
        with tf.GradientTape() as tape:
            tape.watch(x)
            value = _loss(kind, option, labels, x, parameter)
        return value, tape.gradient(value, x, unconnected_gradients="zero")

    return fn


def _call(kind, option, labels, x, parameter, dtype=tf.float64):
    numpy_dtype = dtype.as_numpy_dtype
    out = _traced(kind, option, dtype)(np.asarray(labels, np.int32), np.asarray(x, numpy_dtype),
                                       numpy_dtype(parameter))
    return [t.numpy() for t in out]


def _eager(kind, option, labels, x, parameter):
    """Value and gradient without a tf.function (in the dtype of ``x``)."""
    x = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(x)
        value = _loss(kind, option, labels, x, parameter)
    return value.numpy(), tape.gradient(value, x, unconnected_gradients="zero").numpy()


def _loss(kind, option, labels, x, parameter):
    if kind == "contrastive":
        return C.contrastive_loss(labels, x, parameter, option)
    return C.supcon_loss(labels, x, parameter)


def _reference(kind, option, labels, x, parameter):
    if kind == "contrastive":
        return R.contrastive_loss(labels, x, parameter, option)
    return R.supcon_loss(labels, x, parameter)


def _random_case(rng, i, kind):
    """Batch sizes 2-40, 1-8 classes, 2-6 dimensions; every third batch on a 1/4 grid with some
    rows copied onto others (coincident embeddings, within and across classes)."""
    b = int(rng.integers(2, 41))
    labels = rng.integers(0, int(rng.integers(1, 9)), size=b)
    x = rng.normal(size=(b, int(rng.integers(2, 7)))) * rng.uniform(0.2, 2.0)
    if i % 3 == 2:
        x = np.round(x * 4) / 4
        x[rng.integers(0, b, size=b // 3)] = x[rng.integers(0, b, size=b // 3)]
    parameter = MARGINS[i % len(MARGINS)] if kind == "contrastive" else \
        TEMPERATURES[i % len(TEMPERATURES)]
    return labels, x, float(parameter), f"case {i}: B={b} parameter={parameter}"


# ----------------------------------------------------------------------------- values and gradients
@pytest.mark.parametrize("kind, option", KINDS)
def test_values_match_reference_on_random_batches(kind, option):
    rng = np.random.default_rng(7)
    for i in range(40):
        labels, x, parameter, tag = _random_case(rng, i, kind)
        expected = _reference(kind, option, labels, x, parameter)
        value, grad = _call(kind, option, labels, x, parameter)
        assert value == pytest.approx(expected, rel=1e-9, abs=1e-12), tag
        assert np.all(np.isfinite(grad)), tag
        if i % 2:
            continue  # float32: eagerly (a second trace would cost more), every other batch
        x32 = x.astype(np.float32)
        value32, grad32 = _eager(kind, option, labels, x32, parameter)
        assert value32.dtype == np.float32
        assert value32 == pytest.approx(_reference(kind, option, labels, x32, parameter),
                                        rel=1e-5, abs=1e-7), tag  # abs: float32's 1 - cos ~ 0
        assert np.all(np.isfinite(grad32)), tag


def _central_differences(fn, x, step=1e-6):
    grad = np.zeros_like(x)
    for index in np.ndindex(*x.shape):
        up, down = x.copy(), x.copy()
        up[index] += step
        down[index] -= step
        grad[index] = (fn(up) - fn(down)) / (2 * step)
    return grad


@pytest.mark.parametrize("kind, option", KINDS)
def test_gradients_match_finite_differences_of_the_reference(kind, option):
    rng = np.random.default_rng(11)
    parameters = MARGINS if kind == "contrastive" else TEMPERATURES
    for i, parameter in enumerate(parameters):
        b = 6 + i
        labels = rng.integers(0, 3, size=b)
        x = rng.normal(size=(b, 3))
        _, grad = _call(kind, option, labels, x, parameter)
        numeric = _central_differences(
            lambda e, p=parameter: _reference(kind, option, labels, e, p), x)
        assert np.any(numeric != 0.0)
        scale = max(np.abs(numeric).max(), 1.0)
        np.testing.assert_allclose(grad, numeric, rtol=1e-5, atol=1e-6 * scale,
                                   err_msg=f"{kind} {option} {parameter}")


def test_values_by_hand():
    # points on a line: 0 and 2 (label 0), 1 and 3 (label 1); L2 distances, margin 1.5
    # positive pairs (0,1), (2,3): d = 2 -> 4 each; negative pairs (0,2) d=1, (0,3) d=3,
    # (1,2) d=1, (1,3) d=1 -> 0.25, 0, 0.25, 0.25 -> mean 0.1875
    x, y = [[0.0], [2.0], [1.0], [3.0]], [0, 0, 1, 1]
    assert R.contrastive_loss(y, x, margin=1.5) == pytest.approx(4.1875)
    assert float(C.contrastive_loss(y, x, margin=1.5)) == pytest.approx(4.1875)
    # angular: x = e1, e1, e2 -> only the positive pair is at 0; negatives at distance 1
    ang = [[1.0, 0.0], [3.0, 0.0], [0.0, 2.0]]
    assert float(C.contrastive_loss([0, 0, 1], ang, 1.5, "angular")) == pytest.approx(0.25)
    # SupCon, temperature 1: anchors 0 and 1 see s = 1 (positive) and 0 (the other class);
    # anchor 2 has no positive -> loss = log(e + 1) - 1
    expected = math.log(math.e + 1.0) - 1.0
    assert R.supcon_loss([0, 0, 1], ang, temperature=1.0) == pytest.approx(expected)
    assert float(C.supcon_loss([0, 0, 1], ang, temperature=1.0)) == pytest.approx(expected)
    # two positives each: anchor 0 sees logits 1 (pos), 1 (pos), 0 -> log(2e + 1) - 1
    three = [[1.0, 0.0], [2.0, 0.0], [5.0, 0.0], [0.0, 1.0]]
    assert float(C.supcon_loss([0, 0, 0, 1], three, 1.0)) == pytest.approx(
        math.log(2 * math.e + 1) - 1)


def test_references_follow_the_edge_case_rules():
    for reference in (R.contrastive_loss, R.supcon_loss):
        assert reference([], np.zeros((0, 3))) == 0.0
        for bad in (np.nan, np.inf, -np.inf):
            assert math.isnan(reference([0, 0, 1], [[1.0, 2.0], [bad, 0.0], [0.5, 1.0]]))
        with pytest.raises(ValueError, match="2 labels for 3 embeddings"):
            reference([0, 1], np.eye(3))
        with pytest.raises(ValueError, match="rank 2"):
            reference([0, 1], np.zeros(2))
    assert math.isnan(R.contrastive_loss([0, 1], [[1e200, 0.0], [0.0, 0.0]]))  # d^2 overflows
    assert R.supcon_loss([0, 0, 1], [[1e200, 0.0], [1e-200, 0.0], [0.0, 0.0]]) == pytest.approx(
        R.supcon_loss([0, 0, 1], [[1.0, 0.0], [1.0, 0.0], [0.0, 0.0]]))  # only directions count


def test_supcon_is_stable_at_small_temperatures_and_any_scale():
    rng = np.random.default_rng(3)
    y = rng.integers(0, 4, size=32)
    x = rng.normal(size=(32, 8))
    for temperature in (0.01, 0.001):
        value, grad = _eager("supcon", None, y, x.astype(np.float32), temperature)
        assert np.isfinite(value) and np.all(np.isfinite(grad))
        assert value == pytest.approx(R.supcon_loss(y, x.astype(np.float32), temperature),
                                      rel=1e-4)
    # the loss sees only directions: rows scaled by 1e-30 or 1e30 give the same value
    expected = float(C.supcon_loss(y, x.astype(np.float32)))
    for scale in (1e-30, 1e30):
        assert float(C.supcon_loss(y, (x * scale).astype(np.float32))) == pytest.approx(
            expected, rel=1e-5)


@pytest.mark.parametrize("kind, option", KINDS)
def test_finite_gradients_where_embeddings_coincide(kind, option):
    x = np.array([[1, 2], [1, 2], [1, 2], [0, 0], [0, 0], [-1, 0.5], [3, 3], [3, 3]], np.float32)
    y = [0, 0, 1, 1, 2, 2, 3, 3]
    for batch in (x, np.ones((8, 3), np.float32)):
        value, grad = _eager(kind, option, y, batch, 0.5)
        assert np.isfinite(value) and np.all(np.isfinite(grad))
        assert value == pytest.approx(_reference(kind, option, y, batch, 0.5), rel=1e-5)
    assert np.any(_eager(kind, option, y, x, 0.5)[1] != 0.0)


def test_batches_without_positives_or_negatives():
    x = np.array([[0.0, 1.0], [1.0, 0.0], [3.0, 1.0]])
    # no positive pair: contrastive is the negative mean alone; SupCon is 0 with zero gradients
    assert _call("contrastive", "l2", [0, 1, 2], x, 2.0)[0] == pytest.approx(
        R.contrastive_loss([0, 1, 2], x, 2.0))
    value, grad = _call("supcon", None, [0, 1, 2], x, 0.1)
    assert value == 0.0 and np.all(grad == 0.0)
    # a single class: contrastive is the positive mean alone (d^2 = 1, 9, 4 -> mean 14/3)
    assert _call("contrastive", "l2", [4, 4, 4], [[0.0], [1.0], [3.0]], 1.0)[0] == pytest.approx(
        (1 + 9 + 4) / 3)
    value, grad = _call("supcon", None, [4, 4, 4], x, 0.1)
    assert value == pytest.approx(R.supcon_loss([4, 4, 4], x, 0.1)) and value > 0
    for kind, option in KINDS:  # one embedding: no pair at all
        assert _call(kind, option, [1], [[2.0, 3.0]], 1.0)[0] == 0.0


# ----------------------------------------------------------------------------- edge cases
EVERY_LOSS = {
    "contrastive_l2": lambda y, x: C.contrastive_loss(y, x),
    "contrastive_angular": lambda y, x: C.contrastive_loss(y, x, 0.5, "angular"),
    "supcon": lambda y, x: C.supcon_loss(y, x),
    "keras_contrastive": lambda y, x: C.ContrastiveLoss()(y, x),
    "keras_supcon": lambda y, x: C.SupConLoss(temperature=0.05)(y, x),
    "keras_batch_all": lambda y, x: L.BatchAllTripletLoss()(y, x),
}


def _value_and_grad(y, x, names=tuple(EVERY_LOSS)):
    """``{name: (value, gradient)}`` for the losses ``names``."""
    out = {}
    for name in names:
        with tf.GradientTape() as tape:
            tape.watch(x)
            value = EVERY_LOSS[name](y, x)
        out[name] = (value, tape.gradient(value, x, unconnected_gradients="zero"))
    return out


# the functions in one graph with unknown batch size: one trace serves the edge-case tests (the
# classes call the same functions; fit runs them in a graph below)
_FUNCTIONS_TRACED = tf.function(
    functools.partial(_value_and_grad, names=("contrastive_l2", "contrastive_angular", "supcon")),
    input_signature=[tf.TensorSpec([None], tf.int32), tf.TensorSpec([None, None], tf.float32)])


def _every_loss_eager_and_traced(y, x):
    """``[(mode, name, value, gradient)]`` for every loss, eagerly and in a tf.function."""
    y, x = tf.constant(y, tf.int32), tf.constant(x, tf.float32)
    return [(mode, name, value.numpy(), grad.numpy())
            for mode, run in (("eager", _value_and_grad), ("traced", _FUNCTIONS_TRACED))
            for name, (value, grad) in run(y, x).items()]


def test_empty_batch_gives_zero_loss_and_zero_gradients():
    for k in (0, 1, 4):
        for mode, name, value, grad in _every_loss_eager_and_traced(np.zeros(0), np.zeros((0, k))):
            assert value == 0.0 and not np.signbit(value), (mode, name, k)
            assert grad.shape == (0, k), (mode, name, k)


def test_non_finite_embeddings_give_nan():
    base = np.random.default_rng(0).normal(size=(5, 3)).astype(np.float32)
    labels = np.array([0, 0, 1, 1, 2])
    cases = []
    for bad, (row, column) in ((np.nan, (1, 2)), (np.inf, (4, 0)), (-np.inf, (0, 1))):
        x = base.copy()
        x[row, column] = bad
        cases.append((labels, x, f"{bad} at {row, column}"))
    cases += [(labels[:1], np.array([[bad, 1.0]], np.float32), f"B=1 {bad}")
              for bad in (np.nan, np.inf)]
    for y, x, tag in cases:
        for mode, name, value, _ in _every_loss_eager_and_traced(y, x):
            assert np.isnan(value), (mode, name, tag, value)
    # a finite embedding whose L2 distances overflow float32 gives NaN too; SupCon needs only
    # directions and angular distances normalise first (as in helpers.losses): they stay finite
    overflow = base.copy()
    overflow[2, 1] = 1e20
    for mode, name, value, _ in _every_loss_eager_and_traced(labels, overflow):
        assert np.isnan(value) == (name in ("contrastive_l2", "keras_contrastive",
                                            "keras_batch_all")), (mode, name, value)


BAD_VALUES = [(0.0, "0.0"), (0, "0"), (-1.0, "-1.0"), (math.inf, "inf"), (-math.inf, "-inf"),
              (math.nan, "nan"), (np.float32(0.0), "0.0"), (tf.constant(-0.5, tf.float64), "-0.5"),
              (None, "None"), ("1", "1")]
PARAMETER_USERS = {
    "contrastive_loss": ("margin", lambda m: C.contrastive_loss([0, 0, 1], np.eye(3), m)),
    "ContrastiveLoss": ("margin", lambda m: C.ContrastiveLoss(margin=m)),
    "BatchAllTripletLoss": ("margin", lambda m: L.BatchAllTripletLoss(margin=m)),
    "supcon_loss": ("temperature", lambda t: C.supcon_loss([0, 0, 1], np.eye(3), t)),
    "SupConLoss": ("temperature", lambda t: C.SupConLoss(temperature=t)),
    "reference.contrastive_loss": ("margin", lambda m: R.contrastive_loss([0, 1], np.eye(2), m)),
    "reference.supcon_loss": ("temperature", lambda t: R.supcon_loss([0, 0], np.eye(2), t)),
}


@pytest.mark.parametrize("user", PARAMETER_USERS)
def test_margin_and_temperature_must_be_finite_and_positive(user):
    name, make = PARAMETER_USERS[user]
    for bad, shown in BAD_VALUES:
        if user.startswith("reference") and tf.is_tensor(bad):
            continue
        with pytest.raises(ValueError, match=rf"{name} must be a finite number > 0; got "
                                             rf"{name}={re.escape(shown)}"):
            make(bad)
    for good in (1e-6, 1, np.float32(0.5)):
        make(good)  # accepted


def test_constant_parameters_are_checked_while_tracing():
    x = tf.constant(np.eye(3), tf.float32)
    with pytest.raises(ValueError, match="got temperature=-1.0"):
        tf.function(lambda e: C.supcon_loss([0, 0, 1], e, tf.constant(-1.0)))(x)
    with pytest.raises(ValueError, match="got margin=0.0"):
        tf.function(lambda e: C.contrastive_loss([0, 0, 1], e, tf.constant(0.0)))(x)


def test_distances_the_contrastive_loss_takes():
    for make in (lambda d: C.contrastive_loss([0, 1], np.eye(2), distance=d),
                 lambda d: C.ContrastiveLoss(distance=d)):
        with pytest.raises(ValueError, match=r"squares the distance itself.*\|\|\^4"):
            make("squared_l2")
        with pytest.raises(ValueError, match="squared_l2, l2, angular"):
            make("euclidean")
    with pytest.raises(ValueError, match="'l2' or 'angular'"):
        R.contrastive_loss([0, 1], np.eye(2), distance="squared_l2")
    with pytest.raises(ValueError, match="squared_l2, l2, angular"):
        L.BatchAllTripletLoss(distance="cosine")


def test_bad_shapes_raise_value_error_naming_them():
    x = np.zeros((8, 4), np.float32)
    for fn in (C.contrastive_loss, C.supcon_loss):
        with pytest.raises(ValueError, match=r"\(8, 3\)"):
            fn(np.eye(8, 3), x)  # one-hot labels
        with pytest.raises(ValueError, match=r"\(7,\).*\(8, 4\)"):
            fn(np.zeros(7), x)
        with pytest.raises(ValueError, match=r"\(8,\)"):
            fn(np.zeros(8), np.zeros(8))


@pytest.mark.parametrize("kind, option", KINDS)
def test_runtime_length_check_runs_first(kind, option):
    for n_labels, n_embeddings in ((3, 4), (4, 3), (0, 2), (9, 1)):
        with pytest.raises(tf.errors.InvalidArgumentError, match="same batch size"):
            _call(kind, option, np.zeros(n_labels), np.zeros((n_embeddings, 2)), 1.0)
    # in the graph, no op reads labels or embeddings before the assertion has passed
    graph = _traced(kind, option, tf.float64).get_concrete_function().graph
    assert _unordered_after_length_check(graph, graph.inputs[:2]) == []


def test_label_forms_and_dtypes():
    rng = np.random.default_rng(1)
    y = rng.integers(0, 4, size=20)
    x = rng.normal(size=(20, 5))
    forms = [y.astype(np.int32), y.astype(np.int64), y.astype(np.float32), y.reshape(-1, 1),
             tf.constant(y.reshape(-1, 1), tf.float32)]
    for fn in (C.contrastive_loss, lambda lab, e: C.contrastive_loss(lab, e, 1.0, "angular"),
               C.supcon_loss):
        values = [float(fn(form, x.astype(np.float32))) for form in forms]
        assert values[0] > 0 and values == [values[0]] * len(values)
        full = fn(y, x)
        assert full.dtype == tf.float64
        for dtype in (tf.float16, tf.bfloat16):
            low = fn(y, tf.cast(x, dtype))
            same = fn(y, tf.cast(tf.cast(x, dtype), tf.float32))  # the rounded inputs, float32
            assert low.dtype == dtype
            assert float(low) == pytest.approx(float(same), rel=1e-2)


# ----------------------------------------------------------------------------- Keras classes
KERAS_LOSSES = {
    "contrastive": (lambda: C.ContrastiveLoss(margin=2.0, distance="angular"),
                    lambda y, e: C.contrastive_loss(y, e, 2.0, "angular")),
    "supcon": (lambda: C.SupConLoss(temperature=0.2), lambda y, e: C.supcon_loss(y, e, 0.2)),
    "batch_all": (lambda: L.BatchAllTripletLoss(margin=0.5, distance="l2"),
                  lambda y, e: L.batch_all_triplet_loss(y, e, 0.5, "l2")[0]),
}


@pytest.mark.parametrize("name", KERAS_LOSSES)
def test_keras_fit_lowers_the_loss_and_a_saved_model_loads_back(name, tmp_path):
    make_loss, function = KERAS_LOSSES[name]
    x, y = clusters(n=120)
    model, loss = embedder(), make_loss()
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss=loss)
    before = model.evaluate(x, y, batch_size=len(x), verbose=0)
    assert before == pytest.approx(float(function(y, model(x))), rel=1e-5)
    model.fit(x, y, batch_size=40, epochs=4, verbose=0)
    after = model.evaluate(x, y, batch_size=len(x), verbose=0)
    assert after < 0.9 * before, (before, after)
    model.save(tmp_path / "model.keras")
    loaded = keras.saving.load_model(tmp_path / "model.keras")
    assert type(loaded.loss) is type(loss) and loaded.compiled
    assert loaded.loss.get_config() == loss.get_config()
    assert float(loaded.loss(y, loaded(x))) == pytest.approx(after, rel=1e-5)


def test_keras_direct_call_and_sample_weight():
    rng = np.random.default_rng(6)
    y = np.array([0, 0, 1, 1, 2, 2], np.int32)
    x = rng.normal(size=(6, 3)).astype(np.float32)
    spec = [tf.TensorSpec([None]), tf.TensorSpec([None, None]), tf.TensorSpec([None])]
    weights = np.array([1.0, 3.0, 0.0, 2.0, 1.0, 1.0], np.float32)
    for make_loss, function in KERAS_LOSSES.values():
        loss = make_loss()
        plain = float(loss(y, x))
        assert plain > 0 and plain == pytest.approx(float(function(y, x)), rel=1e-6)
        assert float(loss(y, x, sample_weight=weights)) == pytest.approx(plain * weights.mean(),
                                                                         rel=1e-6)
        traced = tf.function(lambda t, p, w, loss=loss: loss(t, p, sample_weight=w),
                             input_signature=spec)
        for bad in ([1.0, -1.0, 1.0, 1.0, 1.0, 1.0], [np.nan] * 6):
            with pytest.raises(tf.errors.InvalidArgumentError, match="sample_weight must be >= 0"):
                loss(y, x, sample_weight=np.array(bad, np.float32))
            with pytest.raises(tf.errors.InvalidArgumentError, match="sample_weight must be >= 0"):
                traced(y.astype(np.float32), x, np.array(bad, np.float32))


def test_keras_losses_keep_labels_above_2_to_24_apart():
    rng = np.random.default_rng(3)
    small = rng.integers(0, 4, size=24)
    big = small.astype(np.int64) + 100_000_001
    assert len(np.unique(big.astype(np.float32))) == 1  # float32 would merge them
    x = rng.normal(size=(24, 5)).astype(np.float32)
    spec = [tf.TensorSpec([None], tf.int64), tf.TensorSpec([None, None], tf.float32)]
    for make_loss, function in KERAS_LOSSES.values():
        loss, expected = make_loss(), float(function(small, x))
        assert float(function(big.astype(np.float32), x)) != expected
        for labels in (big, big[:, None], tf.constant(big)):
            assert float(loss(labels, x)) == pytest.approx(expected, rel=1e-6)
        assert float(tf.function(loss, input_signature=spec)(big, x)) == pytest.approx(
            expected, rel=1e-6)
        with pytest.raises(tf.errors.InvalidArgumentError, match=r"below 2\*\*24"):
            loss(big.astype(np.float32), x)


def test_loss_settings_record_the_settings():
    assert loss_settings(C.ContrastiveLoss(margin=0.5, distance="angular")) == {
        "margin": 0.5, "distance": "angular", "mining": "global"}
    assert loss_settings(C.SupConLoss(temperature=0.07, mining="local")) == {
        "temperature": 0.07, "mining": "local"}
    assert loss_settings(L.BatchAllTripletLoss(margin=0.3, distance="l2")) == {
        "margin": 0.3, "distance": "l2", "mining": "global"}
    assert C.ContrastiveLoss().get_config()["name"] == "contrastive_loss"
    assert C.SupConLoss().get_config()["name"] == "supcon_loss"
    assert L.BatchAllTripletLoss().get_config()["distance"] == "squared_l2"
    assert "BatchAllTripletLoss" in L.__all__


def test_train_embedding_with_supcon(tiny, tmp_path):
    from helpers.training import train_embedding

    x, y = tiny
    result = train_embedding("mlp", (x, y), loss=C.SupConLoss(), epochs=1, batch_size=64,
                             verbose=0, output_dir=tmp_path)
    assert result.recipe["loss"] == "SupConLoss"
    assert result.recipe["loss_settings"] == {"temperature": 0.1, "mining": "global"}
    assert len(result.history["loss"]) == 1 and np.isfinite(result.history["loss"][0])
    assert result.model.predict(x[:3], verbose=0).shape[0] == 3
