import logging
import shutil

import numpy as np
import pytest

from models.config import RunConfig
from models.store import EpochRecord, RunStore

CONFIG = RunConfig(hidden=(4, 3), epochs=2, probe_size=12)


def _record(epoch: int) -> EpochRecord:
    rng = np.random.default_rng(epoch)
    return EpochRecord(epoch=epoch, activations=[rng.normal(size=(5, 4)), rng.normal(size=(5, 3))],
                       predictions=np.arange(5), confidence=np.full(5, 0.5),
                       metrics={"train_loss": 1.0, "train_acc": 0.5, "test_loss": 1.0, "test_acc": 0.5})


@pytest.fixture()
def store(tmp_path):
    s = RunStore(tmp_path / "store")
    yield s
    s.close()


def _probe():
    return {"index": np.arange(5), "X": np.zeros((5, 64)), "y": np.arange(5)}


def test_epochs_become_visible_in_order_and_survive_reopening(store, tmp_path):
    run_id = store.create_run(CONFIG, _probe(), (4, 3))
    assert store.run_info(run_id).epochs_done == 0
    with pytest.raises(KeyError, match="epoch 0 .* is not recorded"):
        store.epoch(run_id, 0)
    store.put_epoch(run_id, _record(0))
    with pytest.raises(ValueError, match="epoch 2 out of order"):
        store.put_epoch(run_id, _record(2))
    store.put_epoch(run_id, _record(1))
    store.finish_run(run_id, "complete")
    store.close()

    reopened = RunStore(tmp_path / "store")
    info = reopened.run_info(run_id)
    assert (info.state, info.epochs_done, info.layer_sizes) == ("complete", 2, (4, 3))
    record = reopened.epoch(run_id, 1)
    assert record.activations[0].dtype == np.float32
    np.testing.assert_allclose(record.activations[1], _record(1).activations[1], rtol=1e-6)
    assert [r.run_id for r in reopened.list_runs()] == [run_id]
    reopened.close()


def test_restarting_a_run_discards_its_old_epochs_and_delete_removes_it(store):
    run_id = store.create_run(CONFIG, _probe(), (4, 3))
    store.put_epoch(run_id, _record(0))
    store.create_run(CONFIG, _probe(), (4, 3))
    assert store.run_info(run_id).epochs_done == 0
    with pytest.raises(KeyError):
        store.epoch(run_id, 0)
    store.delete_run(run_id)
    assert not store.has_run(run_id)
    with pytest.raises(KeyError, match="is not in the store"):
        store.run_info(run_id)


def test_corrupted_derived_entry_is_discarded_with_a_warning(store, caplog):
    store.put_derived("layout/x", {"coords": np.ones((3, 2))})
    np.testing.assert_array_equal(store.get_derived("layout/x")["coords"], np.ones((3, 2)))
    store.derived.set("layout/x", b"PK\x03\x04 truncated")
    with caplog.at_level(logging.WARNING):
        assert store.get_derived("layout/x") is None
    assert "Discarding corrupted cache entry layout/x" in caplog.text
    assert "layout/x" not in store.derived


def test_locks_exclude_other_owners_until_released(store):
    assert store.try_lock("job", "a", ttl=30)
    assert not store.try_lock("job", "b", ttl=30)
    store.release_lock("job", "b")  # not b's to release
    assert not store.try_lock("job", "b", ttl=30)
    store.release_lock("job", "a")
    assert store.try_lock("job", "b", ttl=30)


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"epochs": -1}, "epochs must be an integer in 0..1000"),
    ({"hidden": ()}, "hidden must be 1 to 8 layer sizes"),
    ({"lr": 0}, "lr must be in \\(0, 10\\]"),
    ({"dataset": "mnist"}, "dataset must be one of digits"),
    ({"batch_size": 0}, "batch_size must be an integer in 1..65536"),
])
def test_invalid_run_config_names_the_field(kwargs, message):
    with pytest.raises(ValueError, match=message):
        RunConfig(**kwargs)


def test_run_config_round_trips_through_json_and_hashes_stably():
    config = RunConfig(hidden=(8, 4), epochs=5)
    assert RunConfig.from_json(config.to_json()) == config
    assert RunConfig.from_json(config.to_json()).run_id == config.run_id
    assert RunConfig(hidden=(8, 4), epochs=6).run_id != config.run_id


def test_one_layer_or_the_outputs_read_alone_match_the_whole_epoch(store):
    run_id = store.create_run(CONFIG, _probe(), (4, 3))
    store.put_epoch(run_id, _record(0))
    whole = store.epoch(run_id, 0)
    np.testing.assert_array_equal(store.activations(run_id, 0, 1), whole.activations[1])
    predictions, confidence, metrics = store.outputs(run_id, 0)
    np.testing.assert_array_equal(predictions, whole.predictions)
    np.testing.assert_array_equal(confidence, whole.confidence)
    assert metrics == whole.metrics
    with pytest.raises(KeyError, match="layer 2 .* does not exist \\(layers: 0..1\\)"):
        store.activations(run_id, 0, 2)
    with pytest.raises(KeyError, match="epoch 1 .* is not recorded"):
        store.outputs(run_id, 1)


def test_the_size_limit_evicts_layouts_and_never_runs(tmp_path, tiny_config, trained_store_dir):
    from models.store import MIN_DERIVED_BYTES, StoreFull

    shutil.copytree(trained_store_dir, tmp_path / "s")
    runs = RunStore(tmp_path / "s").runs.volume()
    store = RunStore(tmp_path / "s", size_limit=runs + MIN_DERIVED_BYTES + 2**20)
    blob = np.random.default_rng(0).normal(size=(250_000,)).astype(np.float32)  # 1 MB each
    for i in range(40):
        store.put_derived(f"layout/{i}", {"coords": blob + i})
    assert store.derived.volume() <= MIN_DERIVED_BYTES + 2**20 + 2**20  # within what the runs leave
    assert store.get_derived("layout/0") is None and store.get_derived("layout/39") is not None  # oldest out
    info = store.run_info(tiny_config.run_id)
    for epoch in range(info.epochs_done):  # every run's epochs still there
        store.epoch(tiny_config.run_id, epoch)
    # once the runs alone fill the store, a new run is refused with what to do
    full = RunStore(tmp_path / "s", size_limit=MIN_DERIVED_BYTES + runs // 2)
    with pytest.raises(StoreFull, match="delete runs .python -m epochscope delete. or raise EPOCHSCOPE_STORE_LIMIT"):
        full.create_run(RunConfig(hidden=(4,), epochs=1), {"index": np.arange(3)}, (4,))
    full.close()
    store.close()


@pytest.mark.parametrize(("value", "message"), [("lots", "must be a size such as 500M or 20G, got 'lots'"),
                                                 ("1K", "must be between 16M and 1024T")])
def test_a_bad_size_limit_names_the_variable(monkeypatch, value, message):
    from models.store import default_size_limit

    monkeypatch.setenv("EPOCHSCOPE_STORE_LIMIT", value)
    with pytest.raises(ValueError, match=f"EPOCHSCOPE_STORE_LIMIT {message}"):
        default_size_limit()
    monkeypatch.setenv("EPOCHSCOPE_STORE_LIMIT", "2G")
    assert default_size_limit() == 2 * 2**30
