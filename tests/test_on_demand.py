"""Sequences laid out on demand (the neuron x sample graph, a reference tool) start at the epoch on show and
go outwards from it, so the frame a user looks at comes first and those near it next."""

from __future__ import annotations

import numpy as np
import pytest

from derived.keys import layout_key
from frames.chains import lay_out_outward, outward
from frames.compute import compute_baseline_frames
from frames.index import sequence_id
from layout_engine.params import LayoutParams

BIPARTITE = LayoutParams(graph="bipartite", n_iter=80, warm_n_iter=20)


@pytest.mark.parametrize(("anchor", "last", "order"), [
    (0, 3, [0, 1, 2, 3]),
    (3, 3, [3, 2, 1, 0]),
    (2, 5, [2, 3, 1, 4, 0, 5]),
    (9, 2, [2, 1, 0]),  # clipped to the run
    (0, 0, [0]),
])
def test_outward_starts_at_the_anchor_and_alternates(anchor, last, order):
    assert outward(anchor, last) == order


def test_the_neuron_graph_lays_out_the_epoch_on_show_first_then_outwards(store_copy, tiny_config):
    run, info = tiny_config.run_id, store_copy.run_info(tiny_config.run_id)
    sequence = sequence_id(BIPARTITE)
    steps = lay_out_outward(store_copy, info, BIPARTITE, 1, anchor=2)
    assert next(steps) == 2
    # a stop after the first frame leaves the epoch on show, and only it, ready
    assert [store_copy.indexed_frame(run, sequence, 1, e) is not None for e in range(4)] == [False, False, True, False]
    # the epoch on show is a cold layout of its own activations, as a chain's first frame
    X2 = store_copy.activations(run, 2, 1)
    assert store_copy.indexed_frame(run, sequence, 1, 2) == layout_key(X2, BIPARTITE.digest(), None)
    assert list(steps) == [3, 1, 0]
    keys = [store_copy.indexed_frame(run, sequence, 1, e) for e in range(4)]
    assert all(keys)
    # the frames either side of the anchor are warm-started and aligned to it: a steady sequence
    display = [store_copy.get_derived(k)["display"] for k in keys]
    # (unit RMS radius each: unaligned frames differ by about 2; epoch 0 -> 1 is this run's big step, 1.0-1.3
    # both ways)
    for a, b in [(1, 2), (2, 3)]:
        assert np.mean(np.sum((display[a] - display[b]) ** 2, axis=1)) < 0.5
    # asked again from another epoch: everything is cached, nothing is laid out again
    assert list(lay_out_outward(store_copy, store_copy.run_info(run), BIPARTITE, 1, anchor=0)) == [0, 1, 2, 3]
    assert [store_copy.indexed_frame(run, sequence, 1, e) for e in range(4)] == keys


def test_a_reference_tool_lays_out_the_epoch_on_show_first(store_copy, tiny_config):
    run, info = tiny_config.run_id, store_copy.run_info(tiny_config.run_id)
    sequence = sequence_id(LayoutParams(), "pca")
    assert compute_baseline_frames(store_copy, info, 1, "pca", lambda *_: True, anchor=3) == 1
    assert [store_copy.indexed_frame(run, sequence, 1, e) is not None for e in range(4)] == [False, False, False, True]
    assert compute_baseline_frames(store_copy, info, 1, "pca", anchor=3) == 4
    display = [store_copy.get_derived(store_copy.indexed_frame(run, sequence, 1, e))["display"] for e in range(4)]
    # each epoch is rotated onto its neighbour towards the anchor: consecutive frames agree in orientation
    for a in range(3):
        assert np.sum((display[a] - display[a + 1]) ** 2) <= np.sum((display[a] + display[a + 1]) ** 2)
