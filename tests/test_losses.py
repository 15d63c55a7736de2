"""Tests for helpers.losses (chapter 2): against the NumPy reference, by hand, and through Keras."""

import functools
import math
import os
import re

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import tensorflow as tf  # noqa: E402
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from helpers import losses as L  # noqa: E402
from helpers import reference as R  # noqa: E402
from helpers.distances import DISTANCES  # noqa: E402
from tests.keras_toys import clusters, embedder  # noqa: E402

MARGINS = (0.01, 0.1, 0.5, 1.0, 2.0)  # margins must be > 0 (issue 12, item 9)
_FUNCTIONS = {}


def _traced(kind, distance, option):
    """One tf.function per (loss, distance, option) with relaxed shapes: value and gradient."""
    key = (kind, distance, option)
    if key not in _FUNCTIONS:
        spec = [tf.TensorSpec([None], tf.int32), tf.TensorSpec([None, None], tf.float64),
                tf.TensorSpec([], tf.float64)]

        @tf.function(input_signature=spec)
        def fn(labels, x, margin):
            with tf.GradientTape() as tape:
                tape.watch(x)
                if kind == "semi":
                    value = L.semi_hard_triplet_loss(labels, x, margin, distance, option)
                elif kind == "hard":
                    value = L.hard_triplet_loss(labels, x, margin, option, distance)
                else:
                    value, fraction = L.batch_all_triplet_loss(labels, x, margin, distance)
            out = [value, tape.gradient(value, x)]
            return out + [fraction] if kind == "all" else out

        _FUNCTIONS[key] = fn
    return _FUNCTIONS[key]


def _call(kind, distance, option, labels, x, margin):
    out = _traced(kind, distance, option)(np.asarray(labels, np.int32), np.asarray(x, np.float64),
                                          np.float64(margin))
    return [t.numpy() for t in out]


def _random_case(rng, i):
    """Batch sizes 2-64, 1-10 classes, margins from MARGINS, the three distances; embeddings:

    * ``gauss``: continuous values (no ties);
    * ``grid``: small integers, so distances are exact and d(a, n) == d(a, p) happens often
      (angular: signed unit vectors +-e_i, whose distances are exactly 0, 1 or 2);
    * ``dup``: values on a 1/8 grid with half of the rows copied onto others (coincident
      embeddings); angular: +-e_i times random powers of two (parallel, not equal, vectors).

    Exactness matters: a matrix product may round the same dot product differently at two
    positions, so *continuous* duplicates would create ulp-level near-ties that TF and the
    float64 reference may break differently — not a disagreement about the rule.
    """
    b = int(rng.integers(2, 65))
    labels = rng.integers(0, int(rng.integers(1, 11)), size=b)
    distance = DISTANCES[i % 3]
    kind = ("gauss", "grid", "dup")[i % 5 % 3]
    # (with k = 1 every angular distance is 0 or 2 up to rounding: nothing but near-ties)
    k = int(rng.integers(2 if distance == "angular" else 1, 9))
    if kind != "gauss" and distance == "angular":
        x = np.eye(k)[rng.integers(0, k, size=b)] * rng.choice([-1.0, 1.0], size=(b, 1))
        if kind == "dup":
            x *= 2.0 ** rng.integers(-3, 4, size=(b, 1))
    elif kind == "grid":
        x = rng.integers(-2, 3, size=(b, k)).astype(np.float64)
    else:
        x = rng.normal(size=(b, k)) * rng.uniform(0.2, 3.0)
        if kind == "dup":
            x = np.round(x * 8) / 8
            x[rng.integers(0, b, size=b // 2)] = x[rng.integers(0, b, size=b // 2)]
    return labels, x, distance, float(MARGINS[i % len(MARGINS)]), f"case {i}: B={b} {kind}"


def test_semi_hard_matches_reference_on_random_batches():
    rng = np.random.default_rng(2024)
    for i in range(200):
        labels, x, distance, margin, tag = _random_case(rng, i)
        expected = R.semi_hard_loss(labels, x, margin, distance)
        tile_v, tile_g = _call("semi", distance, "tile", labels, x, margin)
        sort_v, sort_g = _call("semi", distance, "sort", labels, x, margin)
        assert tile_v == pytest.approx(expected, rel=1e-9, abs=1e-12), tag
        assert sort_v == pytest.approx(expected, rel=1e-9, abs=1e-12), tag
        assert np.all(np.isfinite(sort_g)), tag
        np.testing.assert_allclose(sort_g, tile_g, rtol=1e-7, atol=1e-9, err_msg=tag)


def test_hard_and_batch_all_match_reference_on_random_batches():
    rng = np.random.default_rng(99)
    for i in range(120):
        labels, x, distance, margin, tag = _random_case(rng, i)
        soft = i % 4 == 0
        value, grad = _call("hard", distance, soft, labels, x, margin)
        assert value == pytest.approx(R.hard_loss(labels, x, margin, soft, distance),
                                      rel=1e-9, abs=1e-12), tag
        assert np.all(np.isfinite(grad)), tag
        value, grad, fraction = _call("all", distance, None, labels, x, margin)
        ref_loss, ref_fraction = R.batch_all_loss(labels, x, margin, distance)
        assert value == pytest.approx(ref_loss, rel=1e-9, abs=1e-12), tag
        assert fraction == pytest.approx(ref_fraction, rel=1e-12), tag
        assert np.all(np.isfinite(grad)), tag


def _value_and_grad(fn, x):
    x = tf.convert_to_tensor(x)
    with tf.GradientTape() as tape:
        tape.watch(x)
        value = fn(x)
    return value.numpy(), tape.gradient(value, x).numpy()


@pytest.mark.parametrize("grid", [False, True])
def test_tile_and_sort_agree_in_float32(grid):
    rng = np.random.default_rng(5)
    for i in range(30):
        b = int(rng.integers(2, 48))
        labels = rng.integers(0, int(rng.integers(1, 6)), size=b)
        shape = (b, int(rng.integers(1, 6)))
        x = rng.integers(-2, 3, size=shape) if grid else rng.normal(size=shape)
        x = x.astype(np.float32)
        distance = DISTANCES[i % 2] if grid else DISTANCES[i % 3]
        results = [_value_and_grad(
            lambda e, m=method: L.semi_hard_triplet_loss(labels, e, 1.0, distance, m), x)
            for method in ("tile", "sort")]
        (tv, tg), (sv, sg) = results
        assert abs(tv - sv) <= 1e-5 * max(1.0, abs(tv)), (i, tv, sv)
        np.testing.assert_allclose(sg, tg, atol=1e-5, err_msg=str(i))


def test_semi_hard_hand_built_branches():
    # points on a line: a=0 (0), p=2 (0), n1=1 (1), n2=3 (1); squared distances
    # (0,1): d_ap=4, negatives 1 and 9 -> 9 is the only one beyond        -> [6 + 4 - 9]+ = 1
    # (1,0): d_ap=4, negatives at 1 and 1 -> none beyond, farthest = 1     -> [6 + 4 - 1]+ = 9
    # (2,3): d_ap=4, negatives at 1 and 1 -> farthest = 1                 -> 9
    # (3,2): d_ap=4, negatives at 9 and 1 -> 9                            -> 1
    x = np.array([[0.0], [2.0], [1.0], [3.0]], np.float32)
    for method in L.SEMI_HARD_METHODS:
        value = L.semi_hard_triplet_loss([0, 0, 1, 1], x, margin=6.0, method=method)
        assert float(value) == pytest.approx(5.0), method
        # a negative exactly as far as the positive (d = 4) is not "beyond": the one at 9 is used
        tie = L.semi_hard_triplet_loss([0, 0, 1, 1], [[0.0], [2.0], [-2.0], [3.0]],
                                       margin=6.0, method=method)
        # (0,1): 6+4-9 = 1; (1,0): d_ap 4, negatives 16, 1 -> 16 -> 0; (2,3): d_ap 25,
        # negatives 4, 16 -> farthest 16 -> 15; (3,2): d_ap 25, negatives 9, 1 -> 9 -> 22
        assert float(tie) == pytest.approx((1 + 0 + 15 + 22) / 4), method


def test_single_class_and_no_positive_batches():
    x = tf.constant([[0.0], [1.0], [3.0]])
    for method in L.SEMI_HARD_METHODS:
        # no negative anywhere: chosen distance 0 -> mean over pairs of [1 + d_ap]+
        single = L.semi_hard_triplet_loss([4, 4, 4], x, method=method)
        assert float(single) == pytest.approx((2 + 10 + 5) / 3), method
    losses = [lambda e, m=m: L.semi_hard_triplet_loss([0, 1, 2], e, method=m)
              for m in L.SEMI_HARD_METHODS]
    losses += [lambda e: L.hard_triplet_loss([0, 1, 2], e) * 0.0,
               lambda e: L.batch_all_triplet_loss([0, 1, 2], e)[0]]
    for fn in losses:
        value, grad = _value_and_grad(fn, x)
        assert value == 0.0
        assert np.all(grad == 0.0)


@pytest.mark.parametrize("distance", DISTANCES)
def test_finite_gradients_at_zero_distance(distance):
    # coincident pairs (across and within classes), a zero vector, a fully collapsed class
    x = np.array([[1, 2], [1, 2], [1, 2], [0, 0], [0, 0], [-1, 0.5], [3, 3], [3, 3]], np.float32)
    y = [0, 0, 1, 1, 2, 2, 3, 3]
    fns = [lambda e, m=m: L.semi_hard_triplet_loss(y, e, 10.0, distance, m)
           for m in L.SEMI_HARD_METHODS]
    fns += [lambda e, s=s: L.hard_triplet_loss(y, e, 10.0, s, distance) for s in (False, True)]
    fns += [lambda e: L.batch_all_triplet_loss(y, e, 10.0, distance)[0]]
    for fn in fns:
        value, grad = _value_and_grad(fn, x)
        assert np.isfinite(value) and np.all(np.isfinite(grad))
        assert np.any(grad != 0.0)
    x_all_same = np.ones((8, 3), np.float32)
    for fn in fns:
        value, grad = _value_and_grad(fn, x_all_same)
        assert np.isfinite(value) and np.all(np.isfinite(grad))


LABEL_FORMS = [
    lambda y: y.astype(np.int32), lambda y: y.astype(np.int64), lambda y: y.astype(np.float32),
    lambda y: y.reshape(-1, 1).astype(np.int32), lambda y: y.reshape(-1, 1).astype(np.float32),
    lambda y: tf.constant(y, tf.int64), lambda y: tf.constant(y.reshape(-1, 1), tf.float32),
]


def test_every_label_form_gives_identical_results():
    rng = np.random.default_rng(1)
    y = rng.integers(0, 4, size=20)
    x = rng.normal(size=(20, 5)).astype(np.float32)
    fns = [lambda lab: L.semi_hard_triplet_loss(lab, x),
           lambda lab: L.semi_hard_triplet_loss(lab, x, method="tile"),
           lambda lab: L.hard_triplet_loss(lab, x),
           lambda lab: L.batch_all_triplet_loss(lab, x)[0]]
    for fn in fns:
        values = [float(fn(form(y))) for form in LABEL_FORMS]
        assert values[0] > 0.0
        assert values == [values[0]] * len(values)


@pytest.mark.parametrize("dtype", [tf.float16, tf.bfloat16])
def test_low_precision_embeddings(dtype):
    rng = np.random.default_rng(4)
    y = rng.integers(0, 3, size=24)
    x = tf.cast(rng.normal(size=(24, 6)), dtype)
    x32 = tf.cast(x, tf.float32)  # the same (rounded) numbers in float32
    calls = [lambda e: L.semi_hard_triplet_loss(y, e), lambda e: L.hard_triplet_loss(y, e),
             lambda e: L.batch_all_triplet_loss(y, e)[0],
             lambda e: L.batch_all_triplet_loss(y, e)[1]]
    for fn in calls:
        low, full = fn(x), fn(x32)
        assert low.dtype == dtype and full.dtype == tf.float32
        assert float(low) == pytest.approx(float(full), rel=1e-2)
        assert float(full) > 0


@settings(max_examples=25, deadline=None)
@given(data=st.data(), size=st.integers(2, 24), classes=st.integers(1, 5),
       distance=st.sampled_from(DISTANCES), grid=st.booleans())
def test_invariant_to_permutation_and_relabelling(data, size, classes, distance, grid):
    labels = np.array(data.draw(st.lists(st.integers(0, classes - 1), min_size=size,
                                         max_size=size)))
    values = st.integers(-2, 2) if grid else st.floats(-3, 3, allow_nan=False, width=32)
    x = np.array(data.draw(st.lists(st.lists(values, min_size=3, max_size=3),
                                    min_size=size, max_size=size)), np.float64)
    order = np.array(data.draw(st.permutations(range(size))))
    new_names = np.array(data.draw(st.permutations(range(classes)))) * 7 - 3
    for kind, option in (("semi", "sort"), ("semi", "tile"), ("hard", False), ("all", None)):
        before = _call(kind, distance, option, labels, x, 1.0)
        after = _call(kind, distance, option, new_names[labels[order]], x[order], 1.0)
        assert after[0] == pytest.approx(before[0], rel=1e-9, abs=1e-12), kind
        np.testing.assert_allclose(after[1], before[1][order], rtol=1e-7, atol=1e-9)


def test_bad_inputs_raise_value_error_with_shapes():
    x = np.zeros((8, 4), np.float32)
    for fn in (L.semi_hard_triplet_loss, L.hard_triplet_loss, L.batch_all_triplet_loss):
        with pytest.raises(ValueError, match=r"\(8, 3\)"):
            fn(np.eye(8, 3), x)  # one-hot labels
        with pytest.raises(ValueError, match=r"\(8, 1, 1\)"):
            fn(np.zeros((8, 1, 1)), x)
        with pytest.raises(ValueError, match=r"\(7,\).*\(8, 4\)"):
            fn(np.zeros(7), x)
        with pytest.raises(ValueError, match=r"\(8,\)"):
            fn(np.zeros(8), np.zeros(8))
        with pytest.raises(ValueError, match=r"\(2, 4, 4\)"):
            fn(np.zeros(2), np.zeros((2, 4, 4)))
        with pytest.raises(ValueError, match="squared_l2, l2, angular"):
            fn(np.zeros(8), x, distance="euclidean")
    with pytest.raises(ValueError, match="sort, tile"):
        L.semi_hard_triplet_loss(np.zeros(8), x, method="loop")
    with pytest.raises(ValueError, match="tile"):
        L.SemiHardTripletLoss(method="fast")
    traced = tf.function(lambda lab, e: L.semi_hard_triplet_loss(lab, e))  # static shapes
    with pytest.raises(ValueError, match=r"\(8, 3\)"):
        traced(tf.constant(np.eye(8, 3)), tf.constant(x))


def test_runtime_length_check_with_unknown_batch():
    fn = _traced("semi", "squared_l2", "sort")
    with pytest.raises(tf.errors.InvalidArgumentError, match="same batch size"):
        fn(np.zeros(3, np.int32), np.zeros((4, 2)), np.float64(1.0))


# ----------------------------------------------------------------------------- Keras
def test_keras_fit_lowers_the_loss_and_evaluate_equals_the_function():
    x, y = clusters()
    model = embedder()
    loss = L.SemiHardTripletLoss(margin=1.0)
    model.compile(optimizer=keras.optimizers.Adam(0.01), loss=loss)
    before = model.evaluate(x, y, batch_size=len(x), verbose=0)
    direct = float(L.semi_hard_triplet_loss(y, model.predict(x, verbose=0)))
    assert before == pytest.approx(direct, rel=1e-5)
    model.fit(x, y, batch_size=60, epochs=8, verbose=0)
    after = model.evaluate(x, y, batch_size=len(x), verbose=0)
    assert after < 0.7 * before, (before, after)


def _label_concat_model(dim=8):
    keras.utils.set_random_seed(0)
    image, label = keras.Input((dim,)), keras.Input((1,))
    embedding = keras.layers.Dense(4)(image)
    return keras.Model([image, label], keras.layers.Concatenate()([label, embedding]))


@pytest.mark.parametrize("make_loss", [
    lambda: L.SemiHardTripletLoss(margin=0.7, distance="l2", method="tile"),
    lambda: L.HardTripletLoss(margin=0.3, soft=True, distance="angular"),
    lambda: L.LabelConcatLoss(L.SemiHardTripletLoss(margin=0.5, distance="angular")),
], ids=["semi_hard", "hard", "label_concat"])
def test_keras_save_load_round_trip(make_loss, tmp_path):
    x, y = clusters(n=64)
    loss = make_loss()
    if isinstance(loss, L.LabelConcatLoss):
        model, inputs, targets = _label_concat_model(), [x, y[:, None].astype(np.float32)], y * 0
    else:
        model, inputs, targets = embedder(), x, y
    model.compile(optimizer="adam", loss=loss)
    model.fit(inputs, targets, batch_size=32, epochs=1, verbose=0)
    value = model.evaluate(inputs, targets, batch_size=64, verbose=0)
    assert value > 0
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert type(loaded.loss) is type(loss)
    assert loaded.loss.get_config() == loss.get_config()
    assert loaded.evaluate(inputs, targets, batch_size=64, verbose=0) == pytest.approx(value,
                                                                                     rel=1e-6)


def test_loss_configs():
    config = L.SemiHardTripletLoss(margin=0.2, distance="l2", method="tile").get_config()
    assert config["margin"] == 0.2 and config["distance"] == "l2" and config["method"] == "tile"
    assert config["name"] == "semi_hard_triplet_loss"
    config = L.HardTripletLoss(soft=True).get_config()
    assert config["soft"] is True and config["distance"] == "l2"
    inner = L.SemiHardTripletLoss(margin=0.4)
    restored = L.LabelConcatLoss.from_config(L.LabelConcatLoss(inner).get_config())
    assert restored.inner.get_config() == inner.get_config()


def test_label_concat_adapter_equals_direct_call():
    rng = np.random.default_rng(8)
    y = rng.integers(0, 5, size=30)
    emb = rng.normal(size=(30, 6)).astype(np.float32)
    packed = np.concatenate([y[:, None].astype(np.float32), emb], axis=1)
    dummy = np.zeros(30, np.float32)
    cases = [(L.semi_hard_triplet_loss, {"margin": 0.5}),
             (L.hard_triplet_loss, {"soft": True}),
             (lambda lab, e, **kw: L.batch_all_triplet_loss(lab, e, **kw)[0],
              {"distance": "angular"})]
    for fn, kwargs in cases:
        adapted = L.label_concat_adapter(fn, **kwargs)
        direct = float(fn(y, emb, **kwargs))
        assert direct > 0 and float(adapted(dummy, packed)) == pytest.approx(direct, rel=1e-6)
    wrapped = L.LabelConcatLoss(L.SemiHardTripletLoss(margin=0.5))
    assert float(wrapped(dummy, packed)) == pytest.approx(
        float(L.semi_hard_triplet_loss(y, emb, margin=0.5)), rel=1e-6)
    with pytest.raises(ValueError, match=r"\(30, 1\)"):
        wrapped(dummy, packed[:, :1])


# ----------------------------------------------------------------------------- dynamic batch sizes
def _unordered_after_length_check(graph, inputs):
    """Ops of ``graph`` that read one of ``inputs`` without waiting for the batch-size assertion
    (neither computing it nor depending on it, through data or control edges)."""
    ops = graph.get_operations()  # in creation order: every op after its inputs
    (check,) = [op for op in ops if op.type == "Assert"]
    feeds_check, stack = set(), [check]
    while stack:
        op = stack.pop()
        for source in [t.op for t in op.inputs] + list(op.control_inputs):
            if source not in feeds_check:
                feeds_check.add(source)
                stack.append(source)
    reads, waits = {t.op for t in inputs}, {check}
    for op in ops:
        sources = [t.op for t in op.inputs] + list(op.control_inputs)
        if any(s in reads for s in sources):
            reads.add(op)
        if any(s in waits for s in sources):
            waits.add(op)
    return [op.name for op in ops if op in reads and op not in waits | feeds_check | {check}]


@pytest.mark.parametrize("kind, option", [("semi", "sort"), ("semi", "tile"), ("hard", False),
                                          ("hard", True), ("all", None)])
def test_length_check_runs_before_any_op_reads_the_batch(kind, option):
    # The flaky "condition [3,3], then [4,4] must be broadcastable" of
    # test_runtime_length_check_with_unknown_batch: in a tf.function an assertion is sure to run
    # but not to run first, so a SelectV2 fed 3 labels and 4 embeddings could fail before it
    # (0.2-7 % of calls, depending on scheduling). Checked on the graph, so it cannot be lucky.
    graph = _traced(kind, "squared_l2", option).get_concrete_function().graph
    labels, embeddings = graph.inputs[:2]
    assert _unordered_after_length_check(graph, [labels, embeddings]) == []


def test_runtime_length_check_for_every_loss_with_unknown_batch():
    for kind, option in (("semi", "sort"), ("semi", "tile"), ("hard", False), ("all", None)):
        for n_labels, n_embeddings in ((3, 4), (4, 3), (0, 2), (9, 1)):
            with pytest.raises(tf.errors.InvalidArgumentError, match="same batch size"):
                _call(kind, "squared_l2", option, np.zeros(n_labels), np.zeros((n_embeddings, 2)),
                      1.0)


def test_one_trace_serves_every_batch_size_in_any_order():
    # one tf.function trace with a None batch dimension, batch sizes 0..12 in shuffled order
    rng = np.random.default_rng(12)
    sizes = np.concatenate([rng.permutation(13) for _ in range(3)])
    for i, b in enumerate(sizes):
        distance = DISTANCES[i % 3]
        labels = rng.integers(0, int(rng.integers(1, 5)), size=b)
        x = rng.normal(size=(b, 3))
        tag, margin = f"call {i}: B={b} {distance}", float(MARGINS[i % len(MARGINS)])
        expected = R.semi_hard_loss(labels, x, margin, distance)
        tile_v, tile_g = _call("semi", distance, "tile", labels, x, margin)
        sort_v, sort_g = _call("semi", distance, "sort", labels, x, margin)
        assert tile_v == pytest.approx(expected, rel=1e-9, abs=1e-12), tag
        assert sort_v == pytest.approx(expected, rel=1e-9, abs=1e-12), tag
        np.testing.assert_allclose(sort_g, tile_g, rtol=1e-7, atol=1e-9, err_msg=tag)
        value, grad = _call("hard", distance, False, labels, x, margin)
        assert value == pytest.approx(R.hard_loss(labels, x, margin, False, distance),
                                      rel=1e-9, abs=1e-12), tag
        value, grad, fraction = _call("all", distance, None, labels, x, margin)
        assert (value, fraction) == pytest.approx(R.batch_all_loss(labels, x, margin, distance),
                                                  rel=1e-9, abs=1e-12), tag
        assert grad.shape == (b, 3), tag
    for kind, option in (("semi", "sort"), ("semi", "tile"), ("hard", False), ("all", None)):
        for distance in DISTANCES:
            assert _traced(kind, distance, option).experimental_get_tracing_count() == 1


# ----------------------------------------------------------------------------- edge cases
def _concat_call(y, x, distance):
    packed = tf.concat([tf.cast(tf.reshape(y, [-1, 1]), x.dtype), x], axis=1)
    return L.LabelConcatLoss(L.SemiHardTripletLoss(distance=distance))(tf.zeros_like(y), packed)


EVERY_LOSS = {
    "semi_hard_sort": lambda y, x, dist: L.semi_hard_triplet_loss(y, x, 1.0, dist, "sort"),
    "semi_hard_tile": lambda y, x, dist: L.semi_hard_triplet_loss(y, x, 1.0, dist, "tile"),
    "hard": lambda y, x, dist: L.hard_triplet_loss(y, x, 1.0, False, dist),
    "hard_soft": lambda y, x, dist: L.hard_triplet_loss(y, x, 1.0, True, dist),
    "batch_all": lambda y, x, dist: L.batch_all_triplet_loss(y, x, 1.0, dist)[0],
    "batch_all_fraction": lambda y, x, dist: L.batch_all_triplet_loss(y, x, 1.0, dist)[1],
    "keras_semi_hard_sort": lambda y, x, dist: L.SemiHardTripletLoss(distance=dist)(y, x),
    "keras_semi_hard_tile": lambda y, x, dist: L.SemiHardTripletLoss(distance=dist,
                                                                     method="tile")(y, x),
    "keras_hard": lambda y, x, dist: L.HardTripletLoss(distance=dist)(y, x),
    "keras_hard_soft": lambda y, x, dist: L.HardTripletLoss(soft=True, distance=dist)(y, x),
    "keras_label_concat": _concat_call,
}


@functools.lru_cache(maxsize=None)
def _eager_and_traced(name, distance):
    """``EVERY_LOSS[name](labels, x, distance)`` eagerly for every distance and in a tf.function
    with unknown shapes (one trace, shared by the tests) for one distance per loss, in turn (a
    trace costs about as much as ten eager calls); ``(mode, run)`` pairs, ``run`` returning
    ``(value, gradient)`` as NumPy."""
    fn = EVERY_LOSS[name]

    def value_and_grad(y, x):
        with tf.GradientTape() as tape:
            tape.watch(x)
            value = fn(y, x, distance)
        return value, tape.gradient(value, x, unconnected_gradients="zero")

    spec = [tf.TensorSpec([None], tf.int32), tf.TensorSpec([None, None], tf.float32)]
    traced = tf.function(value_and_grad, input_signature=spec)
    traced_distance = DISTANCES[list(EVERY_LOSS).index(name) % len(DISTANCES)]
    runs = [("eager", value_and_grad)] + [("traced", traced)] * (distance == traced_distance)
    return [(mode, lambda y, x, run=run: [t.numpy() for t in run(tf.constant(y, tf.int32),
                                                                  tf.constant(x, tf.float32))])
            for mode, run in runs]


@pytest.mark.parametrize("name", EVERY_LOSS)
def test_non_finite_embeddings_give_nan_for_every_loss(name):
    # Before: the methods disagreed on an inf (finite with NaN gradients under sort, NaN under
    # tile, issue 12); a single inf embedding gave 0 or 1 (its distance matrix is [[0]]); an
    # overflowing squared distance passed for rounding noise and became 0.
    base = np.random.default_rng(0).normal(size=(5, 3)).astype(np.float32)
    labels = np.array([0, 0, 1, 1, 2])
    cases = []
    for value, (row, column) in ((np.nan, (1, 2)), (np.inf, (4, 0)), (-np.inf, (0, 1))):
        x = base.copy()
        x[row, column] = value
        cases.append((labels, x, DISTANCES, f"{value} at {row, column}"))
    for value in (np.nan, np.inf):
        cases.append((labels[:1], np.array([[value, 1.0]], np.float32), DISTANCES,
                      f"B=1 {value}"))
    overflow = base.copy()
    overflow[2, 1] = 1e20  # finite, but its squared norm overflows float32
    cases.append((labels, overflow, ("squared_l2", "l2"), "overflow"))
    for distance in DISTANCES:
        for mode, run in _eager_and_traced(name, distance):
            for y, x, distances, tag in cases:
                if distance in distances:
                    value, _ = run(y, x)
                    assert np.isnan(value), (mode, distance, tag, value)


@pytest.mark.parametrize("name", EVERY_LOSS)
def test_empty_batch_gives_zero_loss_and_zero_gradients(name):
    # Before: sort raised TF's raw InvalidArgumentError, tile gave 0, batch-hard NaN
    for distance in DISTANCES:
        for mode, run in _eager_and_traced(name, distance):
            for k in (1, 4) if name == "keras_label_concat" else (0, 1, 4):  # concat: k >= 1
                value, grad = run(np.zeros(0), np.zeros((0, k)))
                assert value == 0.0 and not np.signbit(value), (mode, distance, k)
                assert grad.shape == (0, k), (mode, distance, k)


BAD_MARGINS = [(0.0, "0.0"), (0, "0"), (-1.0, "-1.0"), (math.inf, "inf"), (-math.inf, "-inf"),
               (math.nan, "nan"), (np.float32(0.0), "0.0"), (np.float64(-0.5), "-0.5"),
               (tf.constant(0.0), "0.0"), (tf.constant(math.inf, tf.float64), "inf"),
               (None, "None"), ("1", "1")]
MARGIN_USERS = {
    "semi_hard_sort": lambda m: L.semi_hard_triplet_loss([0, 0, 1], np.eye(3), m),
    "semi_hard_tile": lambda m: L.semi_hard_triplet_loss([0, 0, 1], np.eye(3), m, method="tile"),
    "hard": lambda m: L.hard_triplet_loss([0, 0, 1], np.eye(3), m),
    "hard_soft": lambda m: L.hard_triplet_loss([0, 0, 1], np.eye(3), m, soft=True),  # unused
    "batch_all": lambda m: L.batch_all_triplet_loss([0, 0, 1], np.eye(3), m),
    "SemiHardTripletLoss": lambda m: L.SemiHardTripletLoss(margin=m),
    "HardTripletLoss": lambda m: L.HardTripletLoss(margin=m),
    "HardTripletLoss_soft": lambda m: L.HardTripletLoss(margin=m, soft=True),
}


@pytest.mark.parametrize("user", MARGIN_USERS)
def test_margin_that_is_not_finite_and_positive_raises_value_error(user):
    # Before: margin <= 0 was accepted silently and margin=inf gave inf (sort) or NaN (tile)
    for margin, shown in BAD_MARGINS:
        with pytest.raises(ValueError, match=r"finite number > 0; got margin=" + re.escape(shown)):
            MARGIN_USERS[user](margin)
    for margin in (1e-6, 1, np.float32(0.5), tf.constant(2.0, tf.float64)):
        MARGIN_USERS[user](margin)  # accepted


def test_margin_constant_in_a_tf_function_is_checked_while_tracing():
    x = tf.constant(np.eye(3), tf.float32)
    traced = tf.function(lambda e: L.semi_hard_triplet_loss([0, 0, 1], e, tf.constant(-1.0)))
    with pytest.raises(ValueError, match="got margin=-1.0"):
        traced(x)
    symbolic = tf.function(lambda e, m: L.semi_hard_triplet_loss([0, 0, 1], e, m))
    assert float(symbolic(x, tf.constant(1.0))) > 0  # an argument cannot be checked: accepted


def _keras_losses():
    return [L.SemiHardTripletLoss(), L.SemiHardTripletLoss(method="tile"),
            L.HardTripletLoss(), L.HardTripletLoss(soft=True)]


def test_keras_losses_refuse_negative_sample_weight():
    rng = np.random.default_rng(6)
    y = np.array([0, 0, 1, 1, 2, 2], np.int32)
    x = rng.normal(size=(6, 3)).astype(np.float32)
    packed = np.concatenate([y[:, None].astype(np.float32), x], axis=1)
    cases = [(loss, y, x) for loss in _keras_losses()]
    cases.append((L.LabelConcatLoss(L.SemiHardTripletLoss()), np.zeros(6, np.float32), packed))
    spec = [tf.TensorSpec([None]), tf.TensorSpec([None, None]), tf.TensorSpec([None])]
    for loss, y_true, y_pred in cases:
        plain = float(loss(y_true, y_pred))
        weights = np.array([1.0, 3.0, 0.0, 2.0, 1.0, 1.0], np.float32)
        assert float(loss(y_true, y_pred, sample_weight=weights)) == pytest.approx(
            plain * weights.mean(), rel=1e-6)  # Keras: the scalar times the mean weight
        traced = tf.function(lambda t, p, w, loss=loss: loss(t, p, sample_weight=w),
                             input_signature=spec)
        for bad in ([1.0, -1.0, 1.0, 1.0, 1.0, 1.0], [np.nan] * 6):
            with pytest.raises(tf.errors.InvalidArgumentError, match="sample_weight must be >= 0"):
                loss(y_true, y_pred, sample_weight=np.array(bad, np.float32))
            with pytest.raises(tf.errors.InvalidArgumentError, match="sample_weight must be >= 0"):
                traced(y_true.astype(np.float32), y_pred, np.array(bad, np.float32))
    x_fit, y_fit = clusters(n=64)
    model = embedder()
    model.compile(optimizer="adam", loss=L.SemiHardTripletLoss())
    with pytest.raises(tf.errors.InvalidArgumentError, match="sample_weight must be >= 0"):
        model.fit(x_fit, y_fit, sample_weight=-np.ones(64), batch_size=32, epochs=1, verbose=0)


# ----------------------------------------------------------------------------- labels >= 2**24
def _big_label_case(seed=3, n=24):
    rng = np.random.default_rng(seed)
    small = rng.integers(0, 4, size=n)
    big = small.astype(np.int64) + 100_000_001  # 100000001 .. 100000004
    assert len(np.unique(big.astype(np.float32))) == 1  # float32 merges them into one class
    return small, big, rng.normal(size=(n, 5)).astype(np.float32)


def test_keras_loss_keeps_labels_above_2_to_24_apart():
    small, big, x = _big_label_case()
    functions = [lambda lab: L.semi_hard_triplet_loss(lab, x),
                 lambda lab: L.semi_hard_triplet_loss(lab, x, method="tile"),
                 lambda lab: L.hard_triplet_loss(lab, x),
                 lambda lab: L.hard_triplet_loss(lab, x, soft=True)]
    spec = [tf.TensorSpec([None], tf.int64), tf.TensorSpec([None, None], tf.float32)]
    for loss, fn in zip(_keras_losses(), functions):
        expected = float(fn(small))
        assert float(fn(big)) == expected != float(fn(big.astype(np.float32)))
        for labels in (big, big[:, None], tf.constant(big), big.tolist()):
            assert float(loss(labels, x)) == expected
        assert float(tf.function(loss, input_signature=spec)(big, x)) == expected


def test_keras_fit_and_evaluate_keep_labels_above_2_to_24_apart():
    x, y = clusters(n=96)
    big = y.astype(np.int64) + 100_000_001
    for make_loss in (L.SemiHardTripletLoss, L.HardTripletLoss):
        runs = []
        for labels in (y, big):
            model = embedder()
            model.compile(optimizer=keras.optimizers.SGD(0.05), loss=make_loss())
            history = model.fit(x, labels, batch_size=32, epochs=1, shuffle=False, verbose=0)
            runs.append(history.history["loss"] + [model.evaluate(x, labels, batch_size=96,
                                                                  verbose=0)])
        np.testing.assert_allclose(runs[1], runs[0], rtol=1e-6, err_msg=make_loss.__name__)


def test_keras_loss_refuses_float32_labels_it_cannot_tell_apart():
    small, big, x = _big_label_case()
    spec = [tf.TensorSpec([None], tf.float32), tf.TensorSpec([None, None], tf.float32)]
    for loss in _keras_losses():
        expected = float(loss(small, x))
        assert float(loss(tf.constant(big, tf.float64), x)) == expected  # float64: exact
        assert float(loss((small + 2**24 - 8).astype(np.float32), x)) == expected  # below: exact
        for labels in (big.astype(np.float32), np.float32([2**24] * 24), np.float32([np.nan] * 24)):
            with pytest.raises(tf.errors.InvalidArgumentError, match=r"below 2\*\*24 = 16777216"):
                loss(labels, x)
            with pytest.raises(tf.errors.InvalidArgumentError, match=r"below 2\*\*24"):
                tf.function(loss, input_signature=spec)(labels, x)
        with pytest.raises(tf.errors.InvalidArgumentError, match=r"float16 labels .* 2\*\*11"):
            loss(np.float16(small + 2048), x)
        with pytest.raises(tf.errors.InvalidArgumentError, match=r"float64 labels .* 2\*\*53"):
            loss(np.where(small == 0, np.nan, small), x)  # NaN is no class
    model = embedder(dim=5)
    model.compile(optimizer="adam", loss=L.SemiHardTripletLoss())
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"below 2\*\*24"):
        model.evaluate(x, big.astype(np.float64), verbose=0)  # Keras makes float64 targets float32


def test_label_concat_refuses_labels_it_cannot_carry():
    small, big, emb = _big_label_case()
    dummy = np.zeros(len(small), np.float32)
    losses = [L.LabelConcatLoss(L.SemiHardTripletLoss()),
              L.label_concat_adapter(L.semi_hard_triplet_loss)]
    for labels in (big, np.full(len(small), -2**24)):
        packed = np.concatenate([labels[:, None].astype(np.float32), emb], axis=1)
        for loss in losses:
            with pytest.raises(tf.errors.InvalidArgumentError, match=r"below 2\*\*24"):
                loss(dummy, packed)
            with pytest.raises(tf.errors.InvalidArgumentError, match=r"below 2\*\*24"):
                tf.function(loss)(dummy, tf.constant(packed))
        with pytest.raises(tf.errors.InvalidArgumentError, match=r"below 2\*\*24"):
            L.split_label_concat(packed, strict=True)
    # without strict, the split shows what float32 made of the labels (chapter 3 prints it)
    packed = np.concatenate([big[:, None].astype(np.float32), emb], axis=1)
    assert set(L.split_label_concat(packed)[0].numpy()) == {100_000_000}
    exact = np.concatenate([(small + 2**24 - 8)[:, None].astype(np.float32), emb], axis=1)
    expected = float(L.semi_hard_triplet_loss(small, emb))
    for loss in losses:
        assert float(loss(dummy, exact)) == pytest.approx(expected, rel=1e-6)


def test_split_label_concat_keeps_float64_labels_beyond_int32():
    labels = np.array([2**40 + 1, 2**40 + 2, 3], np.int64)
    packed = np.concatenate([labels[:, None].astype(np.float64), np.ones((3, 2))], axis=1)
    back, emb = L.split_label_concat(packed, strict=True)
    assert back.dtype == tf.int64 and back.numpy().tolist() == labels.tolist()
    assert emb.shape == (3, 2)


def test_keras_loss_keeps_compiling_with_xla():
    # tf.unique would keep big labels apart too, but XLA then cannot bound the sort method's
    # shapes (jit_compile=True, Keras' default on a GPU): "Range must be a compile-time constant"
    small, big, x = _big_label_case(n=32)
    loss = L.SemiHardTripletLoss()

    @tf.function(jit_compile=True)
    def value_and_grad(labels, embeddings):
        with tf.GradientTape() as tape:
            tape.watch(embeddings)
            value = loss(labels, embeddings)
        return value, tape.gradient(value, embeddings)

    value, grad = value_and_grad(tf.constant(big), tf.constant(x))
    assert float(value) == pytest.approx(float(L.semi_hard_triplet_loss(small, x)), rel=1e-5)
    assert np.all(np.isfinite(grad.numpy()))
