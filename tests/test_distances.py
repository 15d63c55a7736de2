"""Tests for helpers.distances (chapter 2)."""

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import pytest  # noqa: E402
import tensorflow as tf  # noqa: E402

from helpers import reference  # noqa: E402
from helpers.distances import DISTANCES, pairwise_distances  # noqa: E402


def test_distances_tuple():
    assert DISTANCES == ("squared_l2", "l2", "angular")


def test_hand_computed_values():
    x = np.array([[0.0, 0.0], [3.0, 4.0], [0.0, 2.0]], np.float32)
    sq = pairwise_distances(x, "squared_l2").numpy()
    np.testing.assert_allclose(sq, [[0, 25, 4], [25, 0, 13], [4, 13, 0]], atol=1e-5)
    l2 = pairwise_distances(x, "l2").numpy()
    np.testing.assert_allclose(l2, np.sqrt([[0, 25, 4], [25, 0, 13], [4, 13, 0]]), atol=1e-5)
    # angular: zero vector normalises to zero -> cos 0 -> distance 1; (3,4).(0,1)/5 = 0.8
    ang = pairwise_distances(x, "angular").numpy()
    np.testing.assert_allclose(ang, [[0, 1, 1], [1, 0, 0.2], [1, 0.2, 0]], atol=1e-6)


@pytest.mark.parametrize("distance", DISTANCES)
def test_matches_reference_and_properties(distance):
    rng = np.random.default_rng(7)
    for _ in range(20):
        b, k = int(rng.integers(1, 40)), int(rng.integers(1, 10))
        x = rng.normal(size=(b, k)) * rng.uniform(0.1, 10)
        d = pairwise_distances(x, distance).numpy()
        assert d.dtype == np.float64 and d.shape == (b, b)
        np.testing.assert_allclose(d, reference.pairwise_distances(x, distance),
                                   rtol=1e-9, atol=1e-12)
        assert np.all(np.diag(d) == 0.0)
        assert np.all(d >= 0.0)
        np.testing.assert_allclose(d, d.T, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("distance", DISTANCES)
def test_coincident_embeddings_are_exactly_zero_apart(distance):
    rng = np.random.default_rng(3)
    x = rng.normal(size=(50, 24)).astype(np.float32) * 5
    x[25:] = x[:25]  # every row duplicated
    d = pairwise_distances(x, distance).numpy()
    idx = np.arange(25)
    assert np.all(d[idx, idx + 25] == 0.0) and np.all(d[idx + 25, idx] == 0.0)
    off = ~np.eye(50, dtype=bool)
    off[idx, idx + 25] = off[idx + 25, idx] = False
    assert np.all(d[off] > 0.0)


@pytest.mark.parametrize("distance", DISTANCES)
def test_finite_gradient_when_embeddings_coincide(distance):
    x = tf.constant([[1.0, 2.0], [1.0, 2.0], [0.0, 0.0], [0.0, 0.0], [-1.0, 0.5]])
    with tf.GradientTape() as tape:
        tape.watch(x)
        total = tf.reduce_sum(pairwise_distances(x, distance))
    grad = tape.gradient(total, x).numpy()
    assert np.all(np.isfinite(grad))
    assert np.any(grad != 0.0)


def test_l2_gradient_is_the_unit_vector_sum():
    # d/dx_i sum_{j,k} ||x_j - x_k|| = 2 sum_j (x_i - x_j) / ||x_i - x_j|| over j with x_j != x_i
    x = np.array([[0.0, 0.0], [3.0, 4.0], [3.0, 4.0], [1.0, 0.0]])
    xt = tf.constant(x)
    with tf.GradientTape() as tape:
        tape.watch(xt)
        total = tf.reduce_sum(pairwise_distances(xt, "l2"))
    expected = np.zeros_like(x)
    for i in range(4):
        for j in range(4):
            diff = x[i] - x[j]
            if np.any(diff != 0):
                expected[i] += 2 * diff / np.linalg.norm(diff)
    np.testing.assert_allclose(tape.gradient(total, xt).numpy(), expected, atol=1e-9)


@pytest.mark.parametrize("dtype", [tf.float16, tf.bfloat16])
@pytest.mark.parametrize("distance", DISTANCES)
def test_low_precision_in_same_dtype_out(dtype, distance):
    rng = np.random.default_rng(0)
    x = tf.cast(rng.normal(size=(16, 8)), dtype)
    d = pairwise_distances(x, distance)
    assert d.dtype == dtype
    d32 = pairwise_distances(tf.cast(x, tf.float32), distance).numpy()
    np.testing.assert_allclose(tf.cast(d, tf.float32).numpy(), d32, rtol=1e-2, atol=1e-2)


def test_integer_input_becomes_float32():
    d = pairwise_distances([[0, 0], [1, 1]], "squared_l2")
    assert d.dtype == tf.float32 and float(d[0, 1]) == 2.0


def test_unknown_distance_lists_valid_names():
    with pytest.raises(ValueError, match="squared_l2, l2, angular"):
        pairwise_distances(np.zeros((3, 2)), "cosine")


@pytest.mark.parametrize("shape", [(5,), (2, 3, 4)])
def test_rank_must_be_two(shape):
    with pytest.raises(ValueError, match=r"\(" + ", ".join(map(str, shape))):
        pairwise_distances(np.zeros(shape, np.float32))


def test_inside_tf_function_with_unknown_batch():
    fn = tf.function(lambda x: pairwise_distances(x, "l2"),
                     input_signature=[tf.TensorSpec([None, 3], tf.float32)])
    x = np.array([[0, 0, 0], [1, 2, 2], [0, 0, 0]], np.float32)
    np.testing.assert_allclose(fn(x).numpy(), [[0, 3, 0], [3, 0, 3], [0, 3, 0]], atol=1e-6)


@pytest.mark.parametrize("distance", ["squared_l2", "l2"])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_overflowing_distance_stays_inf_instead_of_passing_for_zero(distance, dtype):
    # ||x_1||^2 overflows: the rounding tolerance 8 eps (||a||^2 + ||b||^2) overflows with it,
    # and inf <= inf would have made the point 0 away from everything
    huge = 1e20 if dtype == np.float32 else 1e160
    x = np.array([[0.0, 1.0], [huge, 0.0], [1.0, 1.0]], dtype)
    d = pairwise_distances(x, distance).numpy()
    assert np.all(d[1, [0, 2]] == np.inf) and np.all(d[[0, 2], 1] == np.inf)
    assert d[0, 2] == 1.0 and np.all(np.diag(d) == 0.0)
    if dtype == np.float64:  # the reference computes in float64, where 1e20 does not overflow
        np.testing.assert_array_equal(d, reference.pairwise_distances(x, distance))
