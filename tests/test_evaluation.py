"""Tests of helpers.evaluation: retrieval metrics on hand-computed cases, leave-one-out, errors."""

import numpy as np
import pytest

from helpers.evaluation import metrics_table, nearest_neighbours, pca_2d, retrieval_metrics

A, B = 0, 1


def brute_force(query, qlab, gallery, glab, leave_one_out, k):
    """Musgrave et al.'s definitions, one query at a time, for comparison."""
    p1, rp, mapr, knn = [], [], [], []
    for i, (q, label) in enumerate(zip(query, qlab)):
        d = np.linalg.norm(gallery - q, axis=1)
        order = [j for j in np.argsort(d, kind="stable") if not (leave_one_out and j == i)]
        hits = glab[order] == label
        r = int(hits.sum())
        p1.append(hits[0])
        votes = list(glab[order[:k]])
        knn.append(max(set(votes), key=lambda c: (votes.count(c), -votes.index(c))) == label)
        if r:
            rp.append(hits[:r].sum() / r)
            mapr.append(sum(hits[:i + 1].sum() / (i + 1) for i in range(r) if hits[i]) / r)
    return {"precision_at_1": np.mean(p1), "r_precision": np.mean(rp), "map_at_r": np.mean(mapr),
            "knn_accuracy": np.mean(knn)}


def test_gallery_mode_hand_computed():
    # Gallery on a line: 1 (A), 2 (B), 3 (A), 10 (B); every query has R = 2.
    gallery = np.array([[1.0], [2.0], [3.0], [10.0]])
    glab = np.array([A, B, A, B])
    query = np.array([[0.0], [2.2], [9.0]])
    qlab = np.array([A, A, B])
    # q=0:   A B A B -> P@1 1, R-prec 1/2, AP@R (1/2)(1)       = 1/2
    # q=2.2: B A A B -> P@1 0, R-prec 1/2, AP@R (1/2)(1/2)     = 1/4
    # q=9:   B A B A -> P@1 1, R-prec 1/2, AP@R (1/2)(1)       = 1/2
    m = retrieval_metrics(query, qlab, gallery, glab, k=3)
    assert m["precision_at_1"] == pytest.approx(2 / 3)
    assert m["r_precision"] == pytest.approx(1 / 2)
    assert m["map_at_r"] == pytest.approx((1 / 2 + 1 / 4 + 1 / 2) / 3)
    assert m["knn_accuracy"] == pytest.approx(1.0)  # votes A,B,A / B,A,A / B,A,B
    assert m["leave_one_out"] is False and m["num_gallery"] == 4 and m["num_queries"] == 3


def test_leave_one_out_hand_computed():
    # 0 (A), 1 (B), 2 (A), 3 (B), 4 (A): every nearest neighbour has the other label.
    # R is 2 for A (x=0: ranks B A -> r-prec 1/2, AP 1/4; x=2: B B -> 0; x=4: B A -> 1/2, 1/4)
    # and 1 for B (x=1: A first -> 0; x=3: A first -> 0).
    points = np.arange(5.0)[:, None]
    labels = np.array([A, B, A, B, A])
    m = retrieval_metrics(points, labels, k=1)
    assert m["precision_at_1"] == 0.0
    assert m["knn_accuracy"] == 0.0
    assert m["r_precision"] == pytest.approx((0.5 + 0 + 0 + 0 + 0.5) / 5)
    assert m["map_at_r"] == pytest.approx((0.25 + 0 + 0 + 0 + 0.25) / 5)
    assert m["leave_one_out"] is True


def test_perfect_clusters_score_one_and_r_excludes_the_query():
    points = np.array([[0.0, 0], [0.1, 0], [0, 0.1], [5, 5], [5.1, 5], [5, 5.1]])
    labels = np.array([A, A, A, B, B, B])
    m = retrieval_metrics(points, labels, k=3)  # 2 of the 3 nearest share the label
    assert m == {**m, "precision_at_1": 1.0, "r_precision": 1.0, "map_at_r": 1.0, "knn_accuracy": 1.0}


def test_exact_duplicates_never_match_themselves():
    # Twelve copies of one point: sklearn may rank any copy first, and the query itself may even
    # fall outside the first k + 1 results. It must never appear among its own neighbours.
    points = np.zeros((12, 3))
    idx = nearest_neighbours(points, k=4)
    assert idx.shape == (12, 4)
    assert not (idx == np.arange(12)[:, None]).any()
    # Same-class duplicates: R = 2 (not 3), so a perfect score stays exactly 1.
    dup = np.array([[0.0, 0.0]] * 3 + [[9.0, 9.0]] * 3)
    m = retrieval_metrics(dup, np.array([A, A, A, B, B, B]), k=2)
    assert (m["precision_at_1"], m["r_precision"], m["map_at_r"]) == (1.0, 1.0, 1.0)


def test_duplicate_of_another_class_is_not_hidden_by_self():
    # The query (label A) has two exact copies labelled B; its only other A is far away.
    points = np.array([[0.0], [0.0], [0.0], [50.0]])
    labels = np.array([A, B, B, A])
    idx = nearest_neighbours(points, k=2)
    assert set(idx[0]) == {1, 2}


def test_knn_tie_goes_to_the_nearest_class():
    gallery = np.array([[1.0], [2.0], [3.0], [4.0]])
    glab = np.array([B, A, B, A])
    m = retrieval_metrics(np.array([[0.0]]), np.array([B]), gallery, glab, k=2)  # votes B, A
    assert m["knn_accuracy"] == 1.0
    m = retrieval_metrics(np.array([[0.0]]), np.array([A]), gallery, glab, k=2)
    assert m["knn_accuracy"] == 0.0


@pytest.mark.parametrize("leave_one_out", [True, False])
def test_matches_brute_force_on_random_data(leave_one_out):
    rng = np.random.default_rng(1)
    query, qlab = rng.normal(size=(60, 4)), rng.integers(0, 4, 60)
    gallery, glab = (None, None) if leave_one_out else (rng.normal(size=(80, 4)), rng.integers(0, 4, 80))
    got = retrieval_metrics(query, qlab, gallery, glab, k=5)
    want = brute_force(query, qlab, query if leave_one_out else gallery,
                       qlab if leave_one_out else glab, leave_one_out, 5)
    for key, value in want.items():
        assert got[key] == pytest.approx(value), key


def test_queries_without_a_match_are_left_out_of_r_metrics():
    points = np.array([[0.0], [1.0], [5.0]])
    m = retrieval_metrics(points, np.array([A, A, B]), k=1)
    assert m["queries_without_match"] == 1
    assert m["r_precision"] == 1.0 and m["map_at_r"] == 1.0
    assert m["precision_at_1"] == pytest.approx(2 / 3)


def test_labels_may_be_a_column():
    points = np.arange(6.0)[:, None]
    labels = np.array([A, A, A, B, B, B])
    assert retrieval_metrics(points, labels[:, None]) == retrieval_metrics(points, labels)


@pytest.mark.parametrize("args, kwargs, message", [
    ((np.zeros((3, 2)), np.zeros(4)), {}, "3 embeddings but 4 labels"),
    ((np.zeros((0, 2)), np.zeros(0)), {}, "empty"),
    ((np.zeros(3), np.zeros(3)), {}, "2-D"),
    ((np.array([[0.0], [np.nan]]), np.zeros(2)), {}, "NaN"),
    ((np.array([[0.0], [np.inf]]), np.zeros(2)), {}, "NaN or infinity"),
    ((np.zeros((3, 2)), np.zeros(3), np.zeros((3, 3)), np.zeros(3)), {}, "dimensions"),
    ((np.zeros((3, 2)), np.zeros(3), np.zeros((3, 2))), {}, "both"),
    ((np.zeros((1, 2)), np.zeros(1)), {}, "at least two"),
    ((np.arange(4.0)[:, None], np.zeros(4)), {"k": 4}, "k must lie"),
    ((np.arange(4.0)[:, None], np.zeros(4)), {"k": 0}, "k must lie"),
    ((np.zeros((3, 2)), np.zeros((3, 2))), {}, "labels must be 1-D"),
])
def test_errors(args, kwargs, message):
    with pytest.raises(ValueError, match=message):
        retrieval_metrics(*args, **kwargs)


def test_pca_2d_projects_and_can_fit_elsewhere():
    rng = np.random.default_rng(0)
    train = rng.normal(size=(50, 5)) * np.array([10, 5, 1, 1, 1])
    proj, pca = pca_2d(train)
    assert proj.shape == (50, 2)
    assert pca.explained_variance_ratio_[0] > pca.explained_variance_ratio_[1]
    test = rng.normal(size=(7, 5))
    proj_test, pca_test = pca_2d(test, fit_on=train)
    np.testing.assert_allclose(proj_test, pca.transform(test))
    with pytest.raises(ValueError, match="dimensions"):
        pca_2d(test, fit_on=train[:, :3])
    with pytest.raises(ValueError, match="NaN"):
        pca_2d(np.full((4, 3), np.nan))


def test_metrics_table_formats_rows():
    table = metrics_table({"raw pixels": {"precision_at_1": 0.93456, "r_precision": 0.5},
                           "mlp": {"precision_at_1": 1.0, "r_precision": 0.25, "map_at_r": 0.125,
                                   "knn_accuracy": 0.75}})
    lines = table.splitlines()
    assert lines[0].split() == ["model", "P@1", "R-precision", "MAP@R", "kNN", "acc"]
    assert lines[2].split() == ["raw", "pixels", "0.9346", "0.5000", "-", "-"]
    assert lines[3].split() == ["mlp", "1.0000", "0.2500", "0.1250", "0.7500"]
    with pytest.raises(ValueError):
        metrics_table({})


@pytest.mark.parametrize("leave_one_out", [True, False])
def test_per_query_values_average_to_the_metrics(leave_one_out):
    rng = np.random.default_rng(4)
    query, qlab = rng.normal(size=(70, 3)), rng.integers(0, 5, 70)
    gallery, glab = (None, None) if leave_one_out else (rng.normal(size=(90, 3)), rng.integers(0, 5, 90))
    m = retrieval_metrics(query, qlab, gallery, glab, k=3, per_query=True)
    assert set(m["per_query"]) == {"precision_at_1", "r_precision", "map_at_r"}
    for key, values in m["per_query"].items():
        assert values.shape == (70,) and values.dtype == np.float64, key
        assert np.isfinite(values).all(), key  # every class has other members here
        assert values.mean() == pytest.approx(m[key]), key
        assert ((values >= 0) & (values <= 1)).all(), key
    assert set(np.unique(m["per_query"]["precision_at_1"])) <= {0.0, 1.0}
    without = retrieval_metrics(query, qlab, gallery, glab, k=3)
    assert "per_query" not in without
    assert {k: v for k, v in m.items() if k != "per_query"} == without


def test_per_query_hand_computed_and_nan_without_a_match():
    # Leave-one-out on 0 (A), 1 (B), 2 (A), 3 (B), 4 (A), 10 (C): as in the hand-computed case
    # above, plus a lone C whose R = 0 (its R-based values are NaN, its P@1 is 0).
    points = np.array([[0.0], [1.0], [2.0], [3.0], [4.0], [10.0]])
    labels = np.array([A, B, A, B, A, 2])
    m = retrieval_metrics(points, labels, k=1, per_query=True)
    per = m["per_query"]
    assert per["precision_at_1"].tolist() == [0.0, 0.0, 0.0, 0.0, 0.0, 0.0]
    np.testing.assert_array_equal(per["r_precision"], [0.5, 0.0, 0.0, 0.0, 0.5, np.nan])
    np.testing.assert_array_equal(per["map_at_r"], [0.25, 0.0, 0.0, 0.0, 0.25, np.nan])
    assert m["queries_without_match"] == 1
    assert np.nanmean(per["r_precision"]) == pytest.approx(m["r_precision"])
    assert np.nanmean(per["map_at_r"]) == pytest.approx(m["map_at_r"])
    assert per["precision_at_1"].mean() == pytest.approx(m["precision_at_1"])


def test_per_query_matches_brute_force_query_by_query():
    rng = np.random.default_rng(5)
    query, qlab = rng.normal(size=(40, 4)), rng.integers(0, 3, 40)
    m = retrieval_metrics(query, qlab, per_query=True)
    for i in range(40):
        # Query i against all the other points: leave-one-out by hand.
        want = brute_force(query[i:i + 1], qlab[i:i + 1], np.delete(query, i, 0), np.delete(qlab, i), False, 1)
        for key in ("precision_at_1", "r_precision", "map_at_r"):
            assert m["per_query"][key][i] == pytest.approx(want[key]), (i, key)


def test_fast_euclidean_neighbours_equal_scikit_learn_on_continuous_data():
    """The course's own squared-L2 ranking (float64, blocked) picks exactly scikit-learn's
    neighbours when no two distances tie, leave-one-out and with a gallery, across block edges."""
    from sklearn.neighbors import NearestNeighbors

    from helpers.evaluation import _euclidean_neighbours

    rng = np.random.default_rng(5)
    query, gallery = rng.normal(size=(1100, 7)), rng.normal(size=(300, 7))
    for q, g, n, loo in ((query, gallery, 40, False), (query, query, 90, True), (gallery, gallery, 299, True)):
        ours = _euclidean_neighbours(q, g, n, loo)
        index = NearestNeighbors(algorithm="brute").fit(g)
        theirs = index.kneighbors(q, n_neighbors=n + loo, return_distance=False)
        if loo:
            theirs = theirs[:, 1:]  # continuous data: the query itself is its own nearest
        assert np.array_equal(ours, theirs)


def test_ties_are_broken_by_gallery_order_and_the_query_never_finds_itself():
    from helpers.evaluation import _euclidean_neighbours

    points = np.array([[0.0], [1.0], [1.0], [-1.0], [0.0], [1.0]])
    # query 0: itself excluded; its duplicate 4 first, then the three at distance 1 in gallery order.
    assert _euclidean_neighbours(points, points, 4, True)[0].tolist() == [4, 1, 2, 3]
    # with the cut inside a tie (n = 2 of the equidistant 1, 2, 3, 5 from 4's twin) order decides.
    assert _euclidean_neighbours(points[:1], points[1:4], 2, False)[0].tolist() == [0, 1]


def test_knn_vote_matches_the_rule_on_random_votes():
    """Most votes win; a tie goes to the tied class whose nearest member ranks first."""
    rng = np.random.default_rng(3)
    labels = rng.integers(0, 4, size=60)
    emb = rng.normal(size=(60, 3))
    result = retrieval_metrics(emb, labels, k=6)
    from helpers.evaluation import _neighbours

    idx = _neighbours(emb.astype(np.float64), emb.astype(np.float64), 59, "euclidean", True)
    expected = []
    for row in labels[idx[:, :6]]:
        values, first, counts = np.unique(row, return_index=True, return_counts=True)
        tied = counts == counts.max()
        expected.append(values[tied][np.argmin(first[tied])])
    assert result["knn_accuracy"] == pytest.approx(np.mean(np.array(expected) == labels))
