import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from layout_engine.graph import bipartite_graph, normalized_activations
from layout_engine.params import LayoutParams
from layout_engine.pipeline import layout_graph

activations = st.tuples(st.integers(1, 30), st.integers(1, 12)).flatmap(
    lambda shape: arrays(np.float32, shape, elements=st.floats(0, 50, width=32)))


@settings(max_examples=80, deadline=None)
@given(A=activations, top_k=st.one_of(st.none(), st.integers(1, 5)),
       quantile=st.one_of(st.none(), st.floats(0, 0.99)))
def test_edges_only_join_samples_to_neurons_with_normalized_weights(A, top_k, quantile):
    if top_k is None and quantile is None:
        quantile = 0.5
    g = bipartite_graph(A, top_k=top_k, quantile=quantile)
    n, m = A.shape
    adj = g.adjacency
    assert adj.shape == (n + m, n + m)
    assert abs(adj - adj.T).max() == 0
    assert adj[:n, :n].nnz == 0 and adj[n:, n:].nnz == 0  # no sample-sample, no neuron-neuron edges
    assert np.all(adj.data > 0) and np.all(adj.data <= 1)
    norm, dead = normalized_activations(A)
    block = adj[:n, n:].toarray()
    rows, cols = np.nonzero(block)
    np.testing.assert_allclose(block[rows, cols], norm[rows, cols], rtol=1e-6)
    assert adj[:, n + dead].nnz == 0  # dead neurons have no edges
    if top_k is not None:
        degree = np.diff(adj[:n, n:].tocsr().indptr)
        positive = (norm > 0).sum(axis=1)
        assert np.all(degree >= np.minimum(top_k, positive))


def test_top_k_alone_gives_each_sample_exactly_k_neurons():
    A = np.random.default_rng(0).uniform(0.1, 1.0, size=(50, 20))
    g = bipartite_graph(A, top_k=4, quantile=None)
    assert np.all(np.diff(g.adjacency[:50].tocsr().indptr) == 4)


def test_quantile_alone_links_each_neuron_to_its_most_responsive_samples():
    A = np.random.default_rng(1).uniform(0.0, 1.0, size=(100, 6))
    g = bipartite_graph(A, top_k=None, quantile=0.9)
    neuron_degree = np.diff(g.adjacency[100:].tocsr().indptr)
    assert np.all((neuron_degree >= 9) & (neuron_degree <= 11))


def test_dead_neurons_are_reported_and_laid_out_without_error():
    rng = np.random.default_rng(2)
    A = np.maximum(rng.normal(size=(120, 16)), 0)
    A[:, [3, 7]] = 0.0
    g = bipartite_graph(A)
    np.testing.assert_array_equal(g.dead, [3, 7])
    coords = layout_graph(g.adjacency, LayoutParams(n_iter=60, gravity=0.01))
    assert coords.shape == (136, 2) and np.all(np.isfinite(coords))


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"top_k": None, "quantile": None}, "needs top_k or quantile"),
    ({"top_k": 0}, "top_k must be an integer >= 1"),
    ({"quantile": 1.0}, "quantile must be in \\[0, 1\\)"),
])
def test_invalid_parameters_are_named(kwargs, message):
    with pytest.raises(ValueError, match=message):
        bipartite_graph(np.ones((4, 3)), **kwargs)


def test_non_finite_activations_are_rejected_by_name():
    A = np.ones((4, 3))
    A[2, 1] = np.inf
    with pytest.raises(ValueError, match="activations contains 1 NaN or infinite values"):
        bipartite_graph(A)


def test_a_bipartite_sequence_is_warm_started_and_aligned():
    from layout_engine.pipeline import layout_sequence

    rng = np.random.default_rng(3)
    base = np.maximum(rng.normal(size=(150, 20)), 0)
    frames = [base + np.maximum(rng.normal(scale=0.05, size=base.shape), 0) for _ in range(3)]
    out = list(layout_sequence(frames, LayoutParams(graph="bipartite", n_iter=80)))
    assert [f.raw.shape for f in out] == [(170, 2)] * 3  # 150 samples, then 20 neurons
    assert out[1].churn < 0.5 and np.all(np.isfinite(out[2].display))


def test_unknown_graph_kind_is_named():
    with pytest.raises(ValueError, match="graph must be one of 'knn', 'bipartite'"):
        LayoutParams(graph="radius")


def test_dead_units_are_set_aside_below_a_legible_graph(blobs):
    """A layer with dead units (h1 of the default run has 3-4): laid out with the rest, they sat in far corners
    and the display's unit radius shrank the 1,797 samples to one blob. They are set aside on a row below, and
    the samples keep the room."""
    from layout_engine.pipeline import layout_sequence

    X, labels = blobs
    rng = np.random.default_rng(1)
    A = np.maximum(X @ rng.normal(size=(10, 24)), 0)
    A[:, [3, 11, 17]] = 0.0  # dead: the same activation on every sample
    frame = next(iter(layout_sequence([A], LayoutParams(graph="bipartite"))))
    n = len(A)
    np.testing.assert_array_equal(frame.aside, n + np.array([3, 11, 17]))
    shown = np.delete(frame.display, frame.aside, axis=0)
    assert np.all(frame.display[frame.aside, 1] < shown[:, 1].min())
    # the samples fill the display (unit RMS radius over every node): not a blob beside far-off dead units
    samples = frame.display[:n]
    assert np.sqrt(np.mean(np.sum((samples - samples.mean(axis=0)) ** 2, axis=1))) > 0.6
    # and their classes are apart: each sample's nearest sample in the picture is of its class
    nearest = np.argsort(np.sum((samples[:, None] - samples[None]) ** 2, axis=2), axis=1)[:, 1]
    assert np.mean(labels[nearest] == labels) > 0.9
