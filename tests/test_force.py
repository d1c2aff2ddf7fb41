import numpy as np
import pytest
from sklearn.datasets import load_digits

from layout_engine.align import normalize
from layout_engine.force import optimize_layout
from layout_engine.graph import knn_graph
from layout_engine.metrics import class_silhouette, displacement, trustworthiness
from layout_engine.params import LayoutParams
from layout_engine.pipeline import layout_frame
from layout_engine.spectral import spectral_init


@pytest.fixture(scope="module")
def digits():
    data = load_digits()
    return data.data.astype(np.float32), data.target


def test_layout_of_digits_inputs_is_faithful_and_separates_classes(digits):
    X, y = digits
    coords = layout_frame(X)
    assert trustworthiness(X, coords, n_neighbors=15) >= 0.9
    assert class_silhouette(coords, y) > 0.4


def test_refinement_improves_on_the_spectral_start(digits):
    X, _ = digits
    graph = knn_graph(X)
    start = normalize(spectral_init(graph)) * 6
    refined = optimize_layout(start, graph, n_iter=100)
    assert trustworthiness(X, refined) > trustworthiness(X, start) + 0.02


def test_same_seed_same_layout_and_input_untouched(blobs):
    X, _ = blobs
    graph = knn_graph(X)
    start = normalize(spectral_init(graph)) * 6
    before = start.copy()
    np.testing.assert_array_equal(optimize_layout(start, graph, n_iter=50, random_state=3),
                                  optimize_layout(start, graph, n_iter=50, random_state=3))
    np.testing.assert_array_equal(start, before)


def test_callback_sees_every_iteration_and_can_stop():
    rng = np.random.default_rng(0)
    X = rng.normal(size=(100, 4))
    graph = knn_graph(X)
    seen = []
    optimize_layout(rng.normal(size=(100, 2)), graph, n_iter=40, callback=lambda it, emb: seen.append(it))
    assert seen == list(range(40))
    stopped = []
    optimize_layout(rng.normal(size=(100, 2)), graph, n_iter=40,
                    callback=lambda it, emb: stopped.append(it) or it == 4)
    assert stopped == [0, 1, 2, 3, 4]


def test_warm_start_keeps_the_layout_where_it_was(digits):
    X, _ = digits
    first = layout_frame(X)
    rng = np.random.default_rng(0)
    nudged = X + rng.normal(scale=0.3, size=X.shape).astype(np.float32)
    warm = layout_frame(nudged, init=first)
    cold = layout_frame(nudged, LayoutParams(random_state=7))
    assert displacement(warm, first) < 0.5 * displacement(cold, first)
    assert trustworthiness(nudged, warm) >= 0.9


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"n_iter": -1}, "n_iter must be >= 0"),
    ({"learning_rate": 0}, "learning_rate must be > 0"),
    ({"gravity": -1}, "must be >= 0"),
])
def test_invalid_parameters_are_named(kwargs, message):
    graph = knn_graph(np.random.default_rng(0).normal(size=(10, 2)), n_neighbors=3)
    with pytest.raises(ValueError, match=message):
        optimize_layout(np.zeros((10, 2)), graph, **kwargs)


def test_layout_is_the_same_on_one_thread_and_on_all(blobs):
    import numba

    X, _ = blobs
    graph = knn_graph(X)
    start = normalize(spectral_init(graph)) * 6
    threads = numba.get_num_threads()
    everywhere = optimize_layout(start, graph, n_iter=30)
    numba.set_num_threads(1)
    try:
        alone = optimize_layout(start, graph, n_iter=30)
    finally:
        numba.set_num_threads(threads)
    np.testing.assert_array_equal(everywhere, alone)


def test_anchor_holds_a_warm_start_closer_to_where_it_started(digits):
    X, _ = digits
    first = layout_frame(X)
    nudged = X + np.random.default_rng(1).normal(scale=0.5, size=X.shape).astype(np.float32)
    free = layout_frame(nudged, LayoutParams(warm_learning_rate=0.3, anchor=0.0), init=first)
    held = layout_frame(nudged, LayoutParams(warm_learning_rate=0.3, anchor=2.0), init=first)
    assert displacement(held, first) < 0.7 * displacement(free, first)
    assert trustworthiness(nudged, held) >= 0.9


def test_a_per_node_anchor_holds_only_the_nodes_it_is_given_for(digits):
    X, _ = digits
    graph = knn_graph(X)
    start = normalize(spectral_init(graph)) * 6  # far from equilibrium: every free node moves
    held = np.zeros(len(X))
    held[::2] = 50.0
    out = optimize_layout(start, graph, n_iter=40, learning_rate=0.5, anchor=held)
    moved = np.linalg.norm(out - start, axis=1)
    assert np.median(moved[::2]) < 0.1 * np.median(moved[1::2])
    with pytest.raises(ValueError, match="anchor must be a number or have shape"):
        optimize_layout(start, graph, n_iter=1, anchor=np.ones(3))
    with pytest.raises(ValueError, match="anchor"):
        optimize_layout(start, graph, n_iter=1, anchor=-1.0)
