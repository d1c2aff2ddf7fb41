import numpy as np
import pytest

from derived.keys import layout_key
from layout_engine.align import align_to, normalize
from layout_engine.metrics import displacement, trustworthiness
from layout_engine.params import LayoutParams
from layout_engine.pipeline import layout_frame, layout_sequence, next_frame


def test_alignment_undoes_rotation_reflection_shift_and_scale():
    rng = np.random.default_rng(0)
    ref = rng.normal(size=(50, 2))
    theta = 1.1
    rot = np.array([[np.cos(theta), -np.sin(theta)], [np.sin(theta), np.cos(theta)]]) @ np.diag([1, -1])
    moved = 3.0 * ref @ rot + np.array([5.0, -2.0])
    np.testing.assert_allclose(align_to(moved, ref), normalize(ref), atol=1e-5)
    assert displacement(moved, ref) < 1e-5


def test_sequence_is_warm_started_and_aligned(blobs):
    X, _ = blobs
    rng = np.random.default_rng(0)
    frames = [X + rng.normal(scale=0.05, size=X.shape).astype(np.float32) for _ in range(3)]
    out = list(layout_sequence(frames))
    assert [f.index for f in out] == [0, 1, 2]
    cold = [layout_frame(x, LayoutParams(random_state=i)) for i, x in enumerate(frames)]
    for t in (1, 2):
        # display frames are aligned to their predecessor and move far less than independent layouts do
        moved = np.median(np.linalg.norm(out[t].display - out[t - 1].display, axis=1))
        assert moved < 0.75 * displacement(cold[t], cold[t - 1])
        assert np.sqrt((out[t].display ** 2).sum(1).mean()) == pytest.approx(1.0, rel=1e-4)


def test_what_the_network_did_not_change_holds_still_and_what_it_changed_moves(blobs):
    X, _ = blobs
    moved_part = X.copy()
    moved_part[:10] = X[60:70] + 0.01  # ten samples of blob 0 jump into blob 1
    first, graph = next_frame(X, LayoutParams())
    independent = displacement(layout_frame(X, LayoutParams(random_state=1)), first.raw)
    for anchor in (0.0, 3.0):
        params = LayoutParams(anchor=anchor, guard=None)  # the warm start itself (the guard may restart it)
        same, _ = next_frame(X, params, first, previous_graph=graph)
        jumped, _ = next_frame(moved_part, params, first, previous_graph=graph)
        # an unchanged epoch: the warm start is at equilibrium and sampling noise repeats (common random
        # numbers); the anchor holds still what did not change
        assert displacement(same.raw, first.raw) < (0.1 if anchor == 0 else 0.05) * independent
        step = np.linalg.norm(jumped.display - first.display, axis=1)
        assert np.median(step[:10]) > 8 * np.median(step[70:])


def test_a_warm_frame_never_loses_more_than_the_guard_to_a_cold_layout_of_the_same_frame(blobs):
    X, _ = blobs
    drifted = X.copy()
    drifted[:40] = X[60:100] + 0.01  # a third of the samples change blob: the warm start lags
    first, graph = next_frame(X, LayoutParams())
    for guard in (0.0, 0.002):
        frame, _ = next_frame(drifted, LayoutParams(guard=guard), first, previous_graph=graph)
        cold = layout_frame(drifted, LayoutParams())
        assert trustworthiness(drifted, frame.raw) >= trustworthiness(drifted, cold) - guard - 1e-9
        if frame.restarted:  # the cold layout, aligned to the previous frame for display
            np.testing.assert_allclose(frame.raw, cold)
    unchecked, _ = next_frame(drifted, LayoutParams(guard=None), first, previous_graph=graph)
    assert not unchecked.restarted
    with pytest.raises(ValueError, match="guard"):
        LayoutParams(guard=2.0)


def test_sequence_stops_when_asked(blobs):
    X, _ = blobs
    assert len(list(layout_sequence([X, X, X], should_stop=lambda: True))) == 1


@pytest.mark.parametrize("n", [1, 2, 3])
def test_tiny_inputs_lay_out(n):
    coords = layout_frame(np.random.default_rng(0).normal(size=(n, 4)))
    assert coords.shape == (n, 2) and np.all(np.isfinite(coords))


def test_constant_dead_layer_lays_out_without_error():
    coords = layout_frame(np.zeros((40, 8)))
    assert coords.shape == (40, 2) and np.all(np.isfinite(coords))


def test_non_finite_activations_are_rejected():
    X = np.ones((20, 3))
    X[0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN or infinite"):
        layout_frame(X)


def test_wrong_init_shape_is_rejected(blobs):
    with pytest.raises(ValueError, match="init must have shape \\(180, 2\\)"):
        layout_frame(blobs[0], init=np.zeros((10, 2)))


def test_frame_key_depends_on_content_parameters_and_history(blobs):
    X, _ = blobs
    def frame_key(X, params, previous):
        return layout_key(X, params.digest(), previous)

    base = frame_key(X, LayoutParams(), None)
    assert frame_key(X.copy(), LayoutParams(), None) == base
    assert frame_key(X + 1, LayoutParams(), None) != base
    assert frame_key(X, LayoutParams(repulsion=1.5), None) != base
    assert frame_key(X, LayoutParams(), base) != base
