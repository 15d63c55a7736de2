"""Tests for helpers.reference: hand-computed values for every branch of each definition."""

import math
import re

import numpy as np
import pytest

from helpers import reference as R

# 1-D points: a=0 (label 0), p=2 (label 0), n1=1 (label 1), n2=3 (label 1).
LINE_X = [[0.0], [2.0], [1.0], [3.0]]
LINE_Y = [0, 0, 1, 1]


def test_pairwise_distances_by_hand():
    d = R.pairwise_distances(LINE_X, "squared_l2")
    np.testing.assert_array_equal(d, [[0, 4, 1, 9], [4, 0, 1, 1], [1, 1, 0, 4], [9, 1, 4, 0]])
    np.testing.assert_array_equal(R.pairwise_distances(LINE_X, "l2"), np.sqrt(d))
    ang = R.pairwise_distances([[1.0, 0.0], [0.0, 2.0], [-3.0, 0.0], [0.0, 0.0]], "angular")
    np.testing.assert_allclose(ang, [[0, 1, 2, 1], [1, 0, 1, 1], [2, 1, 0, 1], [1, 1, 1, 0]])
    assert R.pairwise_distances(LINE_X).dtype == np.float64


def test_semi_hard_choice_each_branch():
    # squared distances: d(0,1)=4 d(0,2)=1 d(0,3)=9 | d(1,2)=1 d(1,3)=1 | d(2,3)=4
    choice = R.semi_hard_choice(LINE_Y, LINE_X, "squared_l2")
    assert list(choice) == [(0, 1), (1, 0), (2, 3), (3, 2)]
    assert choice[(0, 1)] == 3  # only n2 (9) is strictly beyond d_ap = 4
    assert choice[(1, 0)] == 2  # none beyond 4: farthest negative, tie 1 = 1 -> lowest index
    assert choice[(2, 3)] == 0  # none beyond 4: farthest (tie between 0 and 1) -> 0
    assert choice[(3, 2)] == 0  # d(3,0) = 9 > 4, d(3,1) = 1 is not beyond
    assert R.semi_hard_choice([5, 5, 5], [[0.0], [1.0], [3.0]]) == {
        (0, 1): -1, (0, 2): -1, (1, 0): -1, (1, 2): -1, (2, 0): -1, (2, 1): -1}


def test_semi_hard_choice_equal_distance_is_not_beyond():
    # anchor 0 at 0, positive at 2 (d=4), negative at -2 (d=4: a tie, not beyond), negative at 3
    x, y = [[0.0], [2.0], [-2.0], [3.0]], [0, 0, 1, 1]
    assert R.semi_hard_choice(y, x)[(0, 1)] == 3


def test_semi_hard_loss_by_hand():
    # margin 6: terms [6+4-9]+ = 1, [6+4-1]+ = 9, [6+4-1]+ = 9, [6+4-9]+ = 1 -> mean 5
    assert R.semi_hard_loss(LINE_Y, LINE_X, margin=6.0) == pytest.approx(5.0)
    # single class: chosen distance 0, loss = mean [margin + d_ap]+ over the 6 ordered pairs
    x = [[0.0], [1.0], [3.0]]
    assert R.semi_hard_loss([1, 1, 1], x, margin=1.0) == pytest.approx((2 + 10 + 5) / 3)
    # margin 1: terms [1+4-9]+ = 0, [1+4-1]+ = 4, 4, 0 -> the hinge clips two of the four
    assert R.semi_hard_loss(LINE_Y, LINE_X, margin=1.0) == pytest.approx(2.0)
    assert R.semi_hard_loss([0, 1, 2], x) == 0.0  # no positive pair


def test_hard_loss_by_hand():
    x, y = [[0.0], [2.0], [1.0], [5.0]], [0, 0, 1, 1]
    # l2: hp = 2, 2, 4, 4 ; hn = 1, 1, 1, 3 ; gaps 1, 1, 3, 1
    assert R.hard_loss(y, x, margin=0.5) == pytest.approx((1.5 + 1.5 + 3.5 + 1.5) / 4)
    softplus = lambda v: math.log1p(math.exp(v))  # noqa: E731
    assert R.hard_loss(y, x, soft=True) == pytest.approx((3 * softplus(1) + softplus(3)) / 4)
    # anchor 2 has no positive: hp = 0; hn = min(5, 3) = 3 -> [4 + 0 - 3]+ = 1
    assert R.hard_loss([0, 0, 1], [[0.0], [2.0], [5.0]], margin=4.0) == pytest.approx(5 / 3)
    # no negatives: hn = the row maximum, equal to hp here -> every anchor gives the margin
    assert R.hard_loss([0, 0, 0], [[0.0], [2.0], [5.0]], margin=0.7) == pytest.approx(0.7)


def test_batch_all_loss_by_hand():
    x, y = [[0.0], [2.0], [1.0], [5.0]], [0, 0, 1, 1]
    # l2, margin 0.5: 1.5 -2.5 | 1.5 -0.5 | 3.5 3.5 | -0.5 1.5 -> 5 active of 8, sum 11.5
    loss, fraction = R.batch_all_loss(y, x, margin=0.5, distance="l2")
    assert loss == pytest.approx(11.5 / 5) and fraction == pytest.approx(5 / 8)
    # classes 10 apart, spread 0.1: every triplet is inactive
    far = [[0.0], [0.1], [10.0], [10.1]]
    assert R.batch_all_loss(y, far, margin=0.5, distance="l2") == (0.0, 0.0)
    assert R.batch_all_loss([0, 0, 0, 0], x, distance="l2") == (0.0, 0.0)


def test_reference_validation():
    with pytest.raises(ValueError, match="cosine"):
        R.pairwise_distances(LINE_X, "cosine")
    with pytest.raises(ValueError, match=r"\(4,\)"):
        R.pairwise_distances([0.0, 1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="3 labels for 4"):
        R.semi_hard_loss([0, 0, 1], LINE_X)


# ----------------------------------------------------------------------------- edge-case rules
def test_reference_empty_batch_is_zero_not_nan():
    for k in (0, 1, 3):
        x = np.zeros((0, k))
        for distance in ("squared_l2", "l2", "angular"):
            assert R.pairwise_distances(x, distance).shape == (0, 0)
            assert R.semi_hard_loss([], x, distance=distance) == 0.0
            assert R.hard_loss([], x, distance=distance) == 0.0
            assert R.hard_loss([], x, soft=True, distance=distance) == 0.0
            assert R.batch_all_loss([], x, distance=distance) == (0.0, 0.0)


@pytest.mark.parametrize("value", [math.nan, math.inf, -math.inf])
def test_reference_non_finite_embedding_gives_nan_not_a_number(value):
    for x, y in [(np.array(LINE_X), LINE_Y), (np.array([[1.0, 2.0]]), [0])]:  # B = 4 and B = 1
        x = x.copy()
        x[-1, 0] = value
        for distance in ("squared_l2", "l2", "angular"):
            assert math.isnan(R.semi_hard_loss(y, x, distance=distance))
            assert math.isnan(R.hard_loss(y, x, distance=distance))
            assert math.isnan(R.hard_loss(y, x, soft=True, distance=distance))
            assert all(math.isnan(v) for v in R.batch_all_loss(y, x, distance=distance))


def test_reference_overflowing_distance_stays_inf_and_gives_nan():
    x = np.array([[0.0], [1e200], [1.0], [2.0]])  # finite, but (1e200)^2 overflows float64
    d = R.pairwise_distances(x, "squared_l2")
    assert d[0, 1] == np.inf and d[1, 0] == np.inf  # not taken for rounding noise (-> 0)
    assert math.isnan(R.semi_hard_loss(LINE_Y, x))
    assert math.isnan(R.hard_loss(LINE_Y, x, distance="squared_l2"))
    assert math.isnan(R.batch_all_loss(LINE_Y, x)[0])


@pytest.mark.parametrize("margin, shown", [(0.0, "0.0"), (0, "0"), (-1.0, "-1.0"),
                                           (math.inf, "inf"), (math.nan, "nan"),
                                           (np.float32(-0.5), "-0.5"), (None, "None"),
                                           ("1", "1")])
def test_reference_rejects_margin_that_is_not_finite_and_positive(margin, shown):
    message = "margin must be a finite number > 0; got margin=" + re.escape(shown)
    with pytest.raises(ValueError, match=message):
        R.semi_hard_loss(LINE_Y, LINE_X, margin=margin)
    for soft in (False, True):  # checked even where unused
        with pytest.raises(ValueError, match=message):
            R.hard_loss(LINE_Y, LINE_X, margin=margin, soft=soft)
    with pytest.raises(ValueError, match=message):
        R.batch_all_loss(LINE_Y, LINE_X, margin=margin)
