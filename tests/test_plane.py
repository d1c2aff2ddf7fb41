"""The input plane of a network on 2-D data: the grid, the MLP from its recorded weights, the surfaces."""

import base64

import numpy as np
import pytest
import torch

from analysis.epoch_stages import compute_planes, plane_weights, read_planes, read_unit_planes
from analysis.plane import mlp_forward, plane_grid
from dashboard.plane_service import plane_payload
from dashboard.uploads import save_uploaded
from models.config import RunConfig
from models.data import FILE
from models.mlp import MLP
from models.store import RunStore
from models.train import train

MOONS = RunConfig(dataset="moons", hidden=(8, 6), epochs=6, lr=0.05, n_samples=300, probe_size=120, seed=2)


def test_the_grid_covers_the_points_row_by_row():
    X = np.array([[0.0, -1.0], [2.0, 3.0]])
    xs, ys, points = plane_grid(X, size=5, margin=0.0)
    assert xs.tolist() == [0.0, 0.5, 1.0, 1.5, 2.0] and ys.tolist() == [-1.0, 0.0, 1.0, 2.0, 3.0]
    assert points[1 * 5 + 3].tolist() == [1.5, 0.0]  # row i is ys[i], column j is xs[j]
    with pytest.raises(ValueError, match="shape"):
        plane_grid(np.zeros((4, 3)))


def test_the_mlp_from_its_weights_is_torchs():
    torch.manual_seed(0)
    model = MLP(2, (5, 4), 3)
    X = np.random.default_rng(0).normal(size=(50, 2)).astype(np.float32)
    with torch.no_grad():
        logits, activations = model(torch.from_numpy(X))
    weights = [(layer.weight.detach().numpy(), layer.bias.detach().numpy()) for layer in [*model.hidden, model.head]]
    ours, probs = mlp_forward(weights, X)
    for a, b in zip(ours, activations):
        np.testing.assert_allclose(a, b.numpy(), atol=1e-5)
    np.testing.assert_allclose(probs, torch.softmax(logits, 1).numpy(), atol=1e-5)


def test_a_run_on_the_plane_records_its_weights_and_its_surfaces_agree_with_its_predictions(tmp_path):
    store = RunStore(tmp_path / "store")
    train(MOONS, store)
    run, probe, info = MOONS.run_id, store.probe(MOONS.run_id), store.run_info(MOONS.run_id)
    for epoch in (0, MOONS.epochs):
        activations, probs = mlp_forward(plane_weights(store, info, epoch), probe["X"])
        assert (probs.argmax(axis=1) == store.outputs(run, epoch)[0]).all()
        np.testing.assert_allclose(activations[1], store.activations(run, epoch, 1), atol=1e-5)
    # the page reads what the job derived, and computes nothing in a request
    assert plane_payload(store, run) is None and read_planes(store, info) is None
    assert compute_planes(store, info) == MOONS.epochs + 1
    planes = read_planes(store, info)
    assert planes["decision"].shape == planes["confidence"].shape == (MOONS.epochs + 1, 48 * 48)
    assert set(np.unique(planes["decision"][-1])) == {0, 1}  # both classes have ground on the plane
    unit = read_unit_planes(store, info, 1, 2)
    assert unit.shape == (MOONS.epochs + 1, 48 * 48)
    _, _, points = plane_grid(probe["X"])
    exact = mlp_forward(plane_weights(store, info, MOONS.epochs), points)[0][1][:, 2]
    np.testing.assert_allclose(unit[-1], exact, atol=exact.max() / 255 + 1e-6)  # stored in 1/255 of its largest
    with pytest.raises(KeyError, match="unit 6 is not in this run"):
        read_unit_planes(store, info, 1, 6)
    payload = plane_payload(store, run)
    assert payload["grid"] == 48 and len(payload["px"]) == 120 and payload["decision"]["dtype"] == "u1"
    store.close()


def test_a_run_on_an_uploaded_two_column_file_has_its_input_plane(tmp_path):
    """A user's own 2-D data (a CSV of two feature columns and named classes, uploaded as the page does, far
    from the origin) gets the plane too: surfaces over its extent that agree with the run's predictions."""
    angle = np.random.default_rng(0).uniform(0, 2 * np.pi, 160)
    radius = np.repeat([1.0, 3.0], 80)
    rows = [f"{300 + 40 * r * np.cos(a):.3f},{-50 + 40 * r * np.sin(a):.3f},{'inner' if r == 1 else 'outer'}"
            for a, r in zip(angle, radius)]
    encoded = base64.b64encode(("east,north,label\n" + "\n".join(rows) + "\n").encode()).decode()
    path = save_uploaded(tmp_path / "store", f"data:text/csv;base64,{encoded}", "rings.csv", None)
    config = RunConfig(dataset=FILE, data_path=str(path), hidden=(8, 6), epochs=8, lr=0.05, seed=1)
    store = RunStore(tmp_path / "store")
    train(config, store)
    run, probe, info = config.run_id, store.probe(config.run_id), store.run_info(config.run_id)
    assert info.class_names == ("inner", "outer")
    _, probs = mlp_forward(plane_weights(store, info, config.epochs), probe["X"])
    assert (probs.argmax(axis=1) == store.outputs(run, config.epochs)[0]).all()
    compute_planes(store, info)
    planes = read_planes(store, info)
    assert planes["decision"].shape == (config.epochs + 1, 48 * 48)
    assert set(np.unique(planes["decision"][-1])) == {0, 1}
    payload = plane_payload(store, run)
    assert payload["grid"] == 48 and len(payload["px"]) == len(probe["y"])
    xs, ys, _ = plane_grid(probe["X"])
    assert xs[0] < probe["X"][:, 0].min() and xs[-1] > probe["X"][:, 0].max()
    assert ys[0] < probe["X"][:, 1].min() and ys[-1] > probe["X"][:, 1].max()
    store.close()


def test_a_run_off_the_plane_has_no_surfaces(store_copy, tiny_config):
    assert compute_planes(store_copy, store_copy.run_info(tiny_config.run_id)) == 0
    assert plane_payload(store_copy, tiny_config.run_id) is None
