import numpy as np
import pytest
import scipy.sparse as sp

from layout_engine.graph import knn_graph
from layout_engine.metrics import (
    class_distance_ratio,
    class_silhouette,
    cross_class_edge_fraction,
    displacement,
    knn_recall,
    neighbour_churn,
    node_churn,
    trustworthiness,
)


def test_a_faithful_embedding_scores_high_and_a_shuffled_one_low(blobs):
    X, labels = blobs
    faithful = X[:, :2] * 10  # blobs are far apart in every coordinate
    shuffled = np.random.default_rng(0).permutation(faithful)
    assert trustworthiness(X, faithful) > trustworthiness(X, shuffled) + 0.3
    assert knn_recall(X, X) == pytest.approx(1.0)
    assert knn_recall(X, faithful) > knn_recall(X, shuffled) + 0.1


def test_class_separation_metrics_tell_separated_from_mixed(blobs):
    X, labels = blobs
    mixed = np.random.default_rng(0).permutation(labels)
    assert class_silhouette(X, labels) > 0.5 > class_silhouette(X, mixed)
    assert class_distance_ratio(X, labels) < 0.5 < class_distance_ratio(X, mixed)
    graph = knn_graph(X, n_neighbors=5)
    assert cross_class_edge_fraction(graph, labels) == 0.0
    assert cross_class_edge_fraction(graph, mixed) > 0.5


def test_churn_is_zero_for_the_same_graph_and_one_for_disjoint_neighbourhoods():
    ring = sp.csr_matrix(np.roll(np.eye(6), 1, axis=1) + np.roll(np.eye(6), -1, axis=1))
    other = sp.csr_matrix(np.roll(np.eye(6), 2, axis=1) + np.roll(np.eye(6), -2, axis=1))
    assert neighbour_churn(ring, ring) == 0.0
    assert neighbour_churn(ring, other) == 1.0


def test_node_churn_points_at_the_nodes_whose_neighbours_changed():
    ring = np.roll(np.eye(6), 1, axis=1) + np.roll(np.eye(6), -1, axis=1)
    rewired = ring.copy()
    rewired[0, 1] = rewired[1, 0] = 0  # node 0 swaps neighbour 1 for 3
    rewired[0, 3] = rewired[3, 0] = 1
    churn = node_churn(sp.csr_matrix(ring), sp.csr_matrix(rewired))
    # node 0: {1, 5} -> {3, 5}; node 1: {0, 2} -> {2}; node 3: {2, 4} -> {0, 2, 4}; the others keep theirs
    np.testing.assert_allclose(churn, [1 - 1 / 3, 1 - 1 / 2, 0, 1 - 2 / 3, 0, 0])
    assert neighbour_churn(sp.csr_matrix(ring), sp.csr_matrix(rewired)) == pytest.approx(churn.mean())


def test_displacement_ignores_rigid_motion_but_sees_change():
    rng = np.random.default_rng(0)
    frame = rng.normal(size=(100, 2))
    assert displacement(frame @ np.array([[0, -1], [1, 0]]) * 5 + 3, frame) < 1e-6
    assert displacement(rng.normal(size=(100, 2)), frame) > 0.5


def test_pca_baseline_keeps_separated_blobs_apart(blobs):
    from layout_engine.baselines import pca_layout

    X, labels = blobs
    coords = pca_layout(X)
    assert coords.shape == (180, 2) and class_silhouette(coords, labels) > 0.5


def test_subsampled_silhouette_estimates_the_exact_one(blobs):
    X, labels = blobs
    mixed = np.random.default_rng(0).permutation(labels)
    assert class_silhouette(X, labels, max_points=60) == pytest.approx(class_silhouette(X, labels), abs=0.05)
    assert class_silhouette(X, mixed, max_points=60) == pytest.approx(class_silhouette(X, mixed), abs=0.1)


def test_trustworthiness_of_several_layouts_ranks_the_raw_space_once_and_agrees_with_scikit_learn():
    from sklearn.manifold import trustworthiness as sk_trustworthiness

    from layout_engine.metrics import trustworthiness_of

    rng = np.random.default_rng(0)
    X = rng.normal(size=(300, 10))
    faithful, random = X[:, :2] + 0.1 * rng.normal(size=(300, 2)), rng.normal(size=(300, 2))
    both = trustworthiness_of(X, [faithful, random], n_neighbors=10)
    assert both == pytest.approx([sk_trustworthiness(X, faithful, n_neighbors=10),
                                  sk_trustworthiness(X, random, n_neighbors=10)], abs=1e-12)
    assert both[0] > both[1]
    assert trustworthiness(X, X[:, :2], n_neighbors=5) == pytest.approx(sk_trustworthiness(X, X[:, :2], n_neighbors=5),
                                                                        abs=1e-12)
