import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from layout_engine.graph import knn_graph

points = st.integers(2, 40).flatmap(
    lambda n: arrays(np.float32, (n, 3), elements=st.floats(-100, 100, width=32)))


@settings(max_examples=60, deadline=None)
@given(X=points, k=st.integers(1, 12))
def test_graph_is_symmetric_without_self_loops_and_each_node_has_k_neighbours(X, k):
    graph = knn_graph(X, n_neighbors=k)
    n = X.shape[0]
    assert graph.shape == (n, n)
    assert abs(graph - graph.T).max() == 0
    assert graph.diagonal().max() == 0
    assert np.all(graph.data > 0) and np.all(graph.data <= 1)
    degree = np.diff(graph.indptr)
    assert degree.min() >= min(k, n - 1)


def test_duplicate_points_get_their_neighbours_and_full_weight():
    X = np.vstack([np.zeros((10, 4)), np.ones((10, 4))])
    graph = knn_graph(X, n_neighbors=5)
    assert np.diff(graph.indptr).min() >= 5
    assert graph[0, 1] == pytest.approx(1.0)  # identical points are as similar as can be
    assert graph[0, 15] == 0  # the two groups stay apart


def test_cosine_metric_links_points_on_the_same_ray():
    rng = np.random.default_rng(0)
    rays = np.repeat(np.eye(3), 10, axis=0) * rng.uniform(1, 100, size=(30, 1))
    graph = knn_graph(rays, n_neighbors=5, metric="cosine")
    rows, cols = graph.nonzero()
    assert np.all(rows // 10 == cols // 10)


@pytest.mark.parametrize("value", [np.nan, np.inf])
def test_non_finite_input_is_rejected_by_name(value):
    X = np.zeros((10, 2))
    X[3, 1] = value
    with pytest.raises(ValueError, match="NaN or infinite values \\(first in row 3\\)"):
        knn_graph(X)


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"n_neighbors": 0}, "n_neighbors must be an integer >= 1"),
    ({"n_neighbors": 2.5}, "n_neighbors must be an integer >= 1"),
    ({"metric": "manhattan"}, "metric must be one of euclidean, cosine"),
])
def test_invalid_parameters_are_named(kwargs, message):
    with pytest.raises(ValueError, match=message):
        knn_graph(np.zeros((5, 2)), **kwargs)


def test_single_point_has_an_empty_graph():
    assert knn_graph(np.zeros((1, 3))).nnz == 0


def test_the_approximate_index_finds_at_least_95_percent_of_the_exact_neighbours():
    from layout_engine.graph import nearest_neighbours
    from layout_engine.metrics import neighbour_recall
    from models.data import load_dataset

    # MNIST-1D signals through a random ReLU layer: a hidden layer's kind of activations, 4,000 samples
    X = load_dataset("mnist1d", n_samples=4000, seed=0).X
    hidden = np.maximum(X @ np.random.default_rng(0).normal(size=(40, 64)).astype(np.float32), 0)
    found, found_dist = nearest_neighbours(hidden, 15, approximate=True)
    exact, exact_dist = nearest_neighbours(hidden, 15, approximate=False)
    assert found.shape == exact.shape == (4000, 15) and found.dtype == np.int32
    assert not (found == np.arange(4000)[:, None]).any()  # never a sample's own neighbour
    assert np.all(np.diff(found_dist, axis=1) >= -1e-6)  # nearest first
    assert neighbour_recall(found, exact) >= 0.95
    assert neighbour_recall(exact, exact) == 1.0 and neighbour_recall(np.roll(exact, 1, axis=0), exact) < 0.1
