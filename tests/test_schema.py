"""The Python <-> JavaScript contract (dashboard/payload-schema.json): what the server really sends holds to it,
and so do the JavaScript tests' fixtures (tests/js/fixtures), whose shape is today's."""

import json

from analysis.epoch_stages import compute_planes
from dashboard import service
from dashboard.plane_service import plane_payload
from dashboard.vocab import CLASS_COLOURS, CUSTOMDATA
from frames.compute import compute_frames
from layout_engine.params import LayoutParams
from models.config import RunConfig
from models.store import RunStore
from models.train import train
from tests.js.make_fixtures import FIXTURE, messages
from tests.schema import problems

FAST = LayoutParams(n_iter=60, warm_n_iter=20)


def shape(value):
    """The keys of every object in ``value``, recursively (lists by their first item): what a reader relies on."""
    if isinstance(value, dict):
        return {key: shape(item) for key, item in value.items() if key not in ("frames",)} | (
            {"frames": shape(next(iter(value["frames"].values())))} if value.get("frames") else {})
    if isinstance(value, list):
        return [shape(value[0])] if value else []
    return type(value).__name__ if not isinstance(value, (int, float)) or isinstance(value, bool) else "number"


def test_the_servers_messages_hold_to_the_schema(store_copy, tiny_config):
    run = tiny_config.run_id
    info = store_copy.run_info(run)
    compute_frames(store_copy, info, FAST, layers=[1])
    sequence = service.sequence_payload(store_copy, run, 1, FAST)
    assert problems(json.loads(json.dumps(sequence)), "sequence") == []
    assert sequence["style"]["class_colours"] == list(CLASS_COLOURS) and sequence["customdata"] == list(CUSTOMDATA)
    assert problems(service.sample_arrays(store_copy, run), "samples") == []
    for epoch in (0, info.epochs_done - 1):
        assert problems(service.frame_arrays(store_copy, run, 1, epoch, FAST), "frame") == []
    # a message that breaks it is named, field by field
    broken = dict(sequence, layer="1", extra=1)
    del broken["style"]
    assert problems(broken, "sequence") == ["sequence: 'style' is missing", "sequence.layer: expected integer, got str",
                                            "sequence: 'extra' is not in the schema"]


def test_the_input_planes_message_holds_to_the_schema(tmp_path):
    config = RunConfig(dataset="moons", hidden=(4,), epochs=1, n_samples=40, probe_size=20)
    store = RunStore(tmp_path)
    train(config, store)
    compute_planes(store, store.run_info(config.run_id))
    assert problems(json.loads(json.dumps(plane_payload(store, config.run_id))), "plane") == []
    store.close()


def test_the_javascript_fixtures_are_real_messages_of_todays_shape(tmp_path):
    fixture = json.loads(FIXTURE.read_text())
    fresh = messages(tmp_path)
    assert shape(fixture) == shape(fresh), "regenerate with: python -m tests.js.make_fixtures"
    for found in (fixture, fresh):
        assert problems(found["samples"], "samples") == []
        for graph in ("knn", "bipartite"):
            assert problems(found[graph]["sequence"], "sequence") == []
            assert all(problems(frame, "frame") == [] for frame in found[graph]["frames"].values())
