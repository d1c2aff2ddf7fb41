"""Pure representation measures against known answers: CKA invariances, TwoNN on known manifolds, the linear
probe, class purity, overlap and neighbourhood change."""

import numpy as np
import pytest
from sklearn.datasets import make_swiss_roll
from sklearn.metrics import silhouette_score

from analysis.representation import (
    chance_accuracy,
    cka_matrix,
    class_overlap,
    class_separation,
    knn_class_purity,
    linear_cka,
    linear_probe,
    neighbourhood_change,
    twonn_dimension,
)
from layout_engine.graph import nearest_neighbours
from layout_engine.metrics import class_distance_ratio


@pytest.fixture(scope="module")
def rng():
    return np.random.default_rng(0)


def test_linear_cka_of_a_layer_with_itself_and_with_a_rotation_of_itself_is_one(rng):
    X = rng.normal(size=(400, 30)) @ rng.normal(size=(30, 30))  # correlated units
    Q, _ = np.linalg.qr(rng.normal(size=(30, 30)))
    assert linear_cka(X, X) == pytest.approx(1.0, abs=1e-9)
    assert linear_cka(X, X @ Q) == pytest.approx(1.0, abs=1e-9)  # invariant to orthogonal transforms
    assert linear_cka(X, 5.0 * X @ Q + 3.0) == pytest.approx(1.0, abs=1e-9)  # ... to scale and offset
    assert linear_cka(X, rng.normal(size=(400, 10))) < 0.15  # unrelated: near 0
    # not invariant to an arbitrary invertible map (what distinguishes it from CCA)
    assert linear_cka(X, X @ np.diag(np.geomspace(1, 100, 30))) < 0.99


def test_cka_matrix_is_symmetric_with_ones_on_the_diagonal(rng):
    base = rng.normal(size=(200, 8))
    reps = [base, base @ rng.normal(size=(8, 5)), rng.normal(size=(200, 6))]
    M = cka_matrix(reps)
    np.testing.assert_allclose(M, M.T)
    np.testing.assert_allclose(np.diag(M), 1.0)
    assert M[0, 1] > M[0, 2]  # a linear map of the same features is closer than noise
    with pytest.raises(ValueError, match="same samples"):
        cka_matrix([base, base[:10]])


@pytest.mark.parametrize("dim", [2, 5, 8])
def test_twonn_recovers_the_dimension_of_a_linearly_embedded_gaussian_within_ten_percent(rng, dim):
    Z = rng.normal(size=(2500, dim))
    E, _ = np.linalg.qr(rng.normal(size=(40, dim)))
    _, dist = nearest_neighbours((Z @ E.T).astype(np.float32), 2)
    assert twonn_dimension(dist) == pytest.approx(dim, rel=0.1)


def test_twonn_finds_a_swiss_roll_two_dimensional_and_skips_duplicates():
    X, _ = make_swiss_roll(3000, random_state=0)
    X = np.vstack([X, X[:200]])  # duplicates have r1 = 0: no scale, left out
    _, dist = nearest_neighbours(X.astype(np.float32), 2)
    assert twonn_dimension(dist) == pytest.approx(2.0, rel=0.1)
    assert np.isnan(twonn_dimension(np.zeros((50, 2))))


def test_the_linear_probe_reads_separable_labels_and_not_shuffled_ones(rng):
    y = rng.integers(0, 4, 1200)
    centres = rng.normal(scale=3.0, size=(4, 16))
    X = centres[y] + rng.normal(size=(1200, 16))
    fit, held = slice(0, 900), slice(900, None)
    acc, W, _ = linear_probe(X[fit], y[fit], X[held], y[held], n_classes=4)
    assert acc > 0.95 and W.shape == (17, 4)
    again, _, _ = linear_probe(X[fit], y[fit], X[held], y[held], n_classes=4, init=W)
    assert again == acc  # a warm start reaches the same optimum
    shuffled = rng.permutation(y)
    noise, _, _ = linear_probe(X[fit], shuffled[fit], X[held], shuffled[held], n_classes=4)
    assert abs(noise - chance_accuracy(shuffled[fit], shuffled[held])) < 0.08


def test_class_separation_matches_scikit_learn_and_the_distance_ratio(rng):
    y = rng.integers(0, 3, 300)
    X = rng.normal(size=(300, 5)) + y[:, None]
    silhouette, ratio = class_separation(X, y)
    assert silhouette == pytest.approx(silhouette_score(X, y), abs=1e-9)
    assert ratio == pytest.approx(class_distance_ratio(X, y), abs=1e-9)
    assert all(np.isnan(v) for v in class_separation(X, np.zeros(300, int)))


def test_purity_overlap_and_change_of_neighbour_tables():
    labels = np.array([0, 0, 0, 1, 1, 1])
    idx = np.array([[1, 2], [0, 2], [0, 3], [4, 5], [3, 5], [3, 2]])
    np.testing.assert_allclose(knn_class_purity(idx, labels), [1, 1, 0.5, 1, 1, 0.5])
    O = class_overlap(idx, labels, 2)
    np.testing.assert_allclose(O, O.T)
    assert O[0, 1] == pytest.approx(1 / 6)  # one of class 0's six slots and one of class 1's six are the other's
    moved = idx.copy()
    moved[2] = [4, 5]
    change = neighbourhood_change(idx, moved)
    np.testing.assert_allclose(change, [0, 0, 1, 0, 0, 0])
    with pytest.raises(ValueError, match="shape"):
        neighbourhood_change(idx, idx[:3])
