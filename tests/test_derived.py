"""Derived data: one kNN table per activation matrix, shared by the layout and the measures at any k; a stage's
version invalidates that stage's entries and no other."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from derived import keys
from derived.neighbours import neighbour_table
from frames import prepare as frames_prepare
from layout_engine.graph import nearest_neighbours
from layout_engine.metrics import NEIGHBOURHOOD_K
from layout_engine.params import LayoutParams
from models.store import RunStore

FAST = LayoutParams(n_iter=80, warm_n_iter=20)


def knn_entries(store: RunStore) -> list[str]:
    return [k for k in store.derived.iterkeys() if isinstance(k, str) and k.startswith("knn/")]


def test_one_table_serves_every_k_up_to_its_width(tmp_path):
    X = np.random.default_rng(0).normal(size=(300, 12)).astype(np.float32)
    store = RunStore(tmp_path)
    idx10, dist10 = neighbour_table(store, X, 10)  # a layout at k = 10 asks first: stored at the measures' k
    assert len(knn_entries(store)) == 1
    assert store.get_derived(knn_entries(store)[0])["indices"].shape == (300, NEIGHBOURHOOD_K)
    idx15, dist15 = neighbour_table(store, X, NEIGHBOURHOOD_K)
    exact_idx, exact_dist = nearest_neighbours(X, NEIGHBOURHOOD_K)
    np.testing.assert_array_equal(idx15, exact_idx)
    np.testing.assert_allclose(dist15, exact_dist, rtol=1e-6)
    np.testing.assert_array_equal(idx10, exact_idx[:, :10])
    wide, _ = neighbour_table(store, X, 30)  # wider than stored: found again, still one entry
    assert len(knn_entries(store)) == 1 and wide.shape == (300, 30)
    np.testing.assert_array_equal(wide[:, :NEIGHBOURHOOD_K], exact_idx)
    other, _ = neighbour_table(store, X, 10, "cosine")  # another metric is another table
    assert len(knn_entries(store)) == 2 and other.shape == (300, 10)
    store.close()


def test_a_layout_at_another_k_shares_its_table_with_the_measures(store_copy, tiny_config):
    """A run laid out at n_neighbors = 10 and measured at the measures' k reads one table per frame."""
    params = replace(FAST, n_neighbors=10)
    info, ready = frames_prepare.prepare(store_copy, tiny_config, params)
    frames = len(info.layer_sizes) * info.epochs_done
    assert ready == frames
    distinct = {keys.content_hash(store_copy.activations(info.run_id, e, layer))
                for layer in range(len(info.layer_sizes)) for e in range(info.epochs_done)}
    assert len(knn_entries(store_copy)) == len(distinct)


def test_a_stage_version_changes_that_stage_keys_only(monkeypatch):
    X = np.arange(12, dtype=np.float32).reshape(4, 3)
    params = LayoutParams()
    before = (keys.measures_key(X, b"labels"), keys.layout_key(X, params.digest(), None),
              keys.scores_key("layout/x", np.arange(4)))
    monkeypatch.setattr(keys, "MEASURES_VERSION", "999")
    after = (keys.measures_key(X, b"labels"), keys.layout_key(X, params.digest(), None),
             keys.scores_key("layout/x", np.arange(4)))
    assert after[0] != before[0] and after[1:] == before[1:]
    assert keys.layout_key(X, LayoutParams(n_iter=100).digest(), None) != before[1]
    assert keys.recording_key("plane", "1", "run-a", 1.5, 3).startswith("recorded/run-a/")
