"""Units over training (M-PHATE): the multislice graph, class selectivity, and the run's neuron map."""

import numpy as np
import pytest

from analysis import stage
from analysis.neurons import class_selectivity, multislice_graph, preference_grouping, zscore_units
from dashboard import figures


def test_zscore_puts_each_unit_on_one_scale_and_a_dead_one_at_zero():
    rng = np.random.default_rng(0)
    A = np.column_stack([rng.normal(5, 3, 200), np.zeros(200), rng.normal(0, 0.01, 200)])
    R = zscore_units(A)
    assert R.shape == (3, 200)
    np.testing.assert_allclose(R[[0, 2]].mean(axis=1), 0, atol=1e-5)
    np.testing.assert_allclose(R[[0, 2]].std(axis=1), 1, atol=1e-4)
    assert not R[1].any()


def test_the_multislice_graph_joins_units_within_an_epoch_and_each_unit_to_itself_across_epochs():
    rng = np.random.default_rng(1)
    first = zscore_units(rng.normal(size=(100, 12)))
    moved = first.copy()
    moved[5] = zscore_units(rng.normal(size=(100, 1)))[0]  # unit 5 changes completely, the others stay
    graph = multislice_graph([first, moved, moved], n_neighbors=3)
    assert graph.shape == (36, 36) and abs(graph - graph.T).max() < 1e-6
    dense = graph.toarray()
    # within an epoch only kNN edges, no edge between different units of different epochs
    assert (dense[:12, 12:24] == np.diag(np.diag(dense[:12, 12:24]))).all()
    assert dense[:12, 24:].max() == 0  # epochs 0 and 2 are not adjacent
    across = np.diag(dense[:12, 12:24])
    assert across[5] < 0.1 < across[[0, 1, 2]].min()  # the unit that changed holds least to itself
    np.testing.assert_allclose(np.diag(dense[12:24, 24:]), 1.0)  # nothing changed from epoch 1 to 2
    with pytest.raises(ValueError, match="same shape"):
        multislice_graph([first, first[:, :50]])


def test_class_selectivity_of_a_one_class_unit_a_uniform_unit_and_a_dead_unit():
    labels = np.repeat(np.arange(4), 25)
    A = np.column_stack([(labels == 2) * 3.0, np.ones(100), np.zeros(100)])
    selectivity, preferred = class_selectivity(A, labels, 4)
    assert selectivity[0] == pytest.approx(1.0) and preferred[0] == 2
    assert selectivity[1] == pytest.approx(0.0)
    assert np.isnan(selectivity[2])


def test_grouping_by_preferred_class_is_one_for_separate_groups_and_near_chance_for_mixed_ones():
    rng = np.random.default_rng(2)
    preferred = np.repeat(np.arange(3), 20)
    alive = np.ones(60, dtype=bool)
    grouped = np.array([[0, 0], [10, 0], [0, 10]])[preferred] + rng.normal(0, 0.1, (60, 2))
    purity, chance = preference_grouping(grouped, preferred, alive)
    assert purity == 1.0 and chance == pytest.approx(1 / 3)
    mixed, _ = preference_grouping(rng.normal(size=(60, 2)), preferred, alive)
    assert mixed < 0.6


def test_the_runs_neuron_map_groups_units_by_class_more_after_training(store_copy, tiny_config, monkeypatch):
    info = store_copy.run_info(tiny_config.run_id)
    data = stage.compute_neuron_map(store_copy, info)
    n_units, n_epochs = sum(tiny_config.hidden), tiny_config.epochs + 1
    assert data["coords"].shape == (n_units * n_epochs, 2) and np.isfinite(data["coords"]).all()
    assert data["selectivity"].shape == data["preferred"].shape == (n_epochs, n_units)
    assert data["layer"].tolist() == [0] * 24 + [1] * 12 and data["unit"].tolist() == [*range(24), *range(12)]
    # the claim of M-PHATE's figures, as numbers: after training, units sit beside units preferring their class
    assert data["grouping"][-1] > max(data["grouping"][0], 2 * data["grouping_chance"][-1])
    # a finished run's map is read back without its activations
    monkeypatch.setattr(store_copy, "arrays", lambda *a, **k: pytest.fail("activations read again"))
    again = stage.compute_neuron_map(store_copy, info)
    np.testing.assert_array_equal(again["coords"], data["coords"])
    figure = figures.neuron_map_figure(data["coords"], data["layer"], data["unit"], data["selectivity"],
                                       data["preferred"], ["h1", "h2"], [str(c) for c in range(10)], "class", 2)
    ring = next(t for t in figure["data"] if t["name"] == figures.NEURON_EPOCH)
    assert len(ring["x"]) == n_units and {c[2] for c in ring["customdata"]} == {2}
    assert sum(len(t["x"]) for t in figure["data"] if t["name"] != figures.NEURON_EPOCH) == n_units * n_epochs
