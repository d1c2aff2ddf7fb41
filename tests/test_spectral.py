import numpy as np
import pytest
import scipy.sparse as sp
from scipy.sparse.linalg import ArpackNoConvergence

from layout_engine import spectral
from layout_engine.graph import knn_graph
from layout_engine.metrics import class_silhouette
from layout_engine.spectral import SpectralInitWarning, spectral_init


def test_spectral_start_is_identical_across_calls_with_fixed_signs(blobs):
    X, _ = blobs
    graph = knn_graph(X, n_neighbors=10)
    first, second = spectral_init(graph), spectral_init(graph)
    assert first.shape == (180, 2) and np.all(np.isfinite(first))
    np.testing.assert_array_equal(first, second)


def test_spectral_start_separates_connected_clusters():
    rng = np.random.default_rng(1)
    # three blobs joined by a few bridging points: one connected component
    X = np.vstack([rng.normal(c, 1.0, size=(50, 5)) for c in (0.0, 6.0, 12.0)])
    graph = knn_graph(X, n_neighbors=10)
    labels = np.repeat(np.arange(3), 50)
    assert class_silhouette(spectral_init(graph), labels) > 0.3


def test_disconnected_graph_lays_out_each_component_apart(blobs):
    X, labels = blobs
    graph = knn_graph(X, n_neighbors=5)  # blobs 10 sd apart: three components
    coords = spectral_init(graph)
    assert np.all(np.isfinite(coords))
    boxes = [(coords[labels == c].min(0), coords[labels == c].max(0)) for c in range(3)]
    for a in range(3):
        for b in range(a + 1, 3):
            (lo_a, hi_a), (lo_b, hi_b) = boxes[a], boxes[b]
            assert np.any(hi_a < lo_b) or np.any(hi_b < lo_a), "components overlap"


def test_isolated_points_get_positions():
    graph = sp.csr_matrix((4, 4))
    coords = spectral_init(graph)
    assert coords.shape == (4, 2) and len(np.unique(coords, axis=0)) == 4


def test_solver_failure_falls_back_loudly(blobs, monkeypatch):
    def failing_eigsh(*args, **kwargs):
        raise ArpackNoConvergence("no convergence", np.array([]), np.array([]))

    monkeypatch.setattr(spectral, "eigsh", failing_eigsh)
    graph = knn_graph(blobs[0], n_neighbors=10)
    with pytest.warns(SpectralInitWarning, match="Spectral initialisation failed"):
        coords = spectral_init(graph)
    assert coords.shape == (180, 2) and np.all(np.isfinite(coords))
