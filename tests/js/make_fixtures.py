"""Write tests/js/fixtures/map.json, real server messages for the JavaScript's tests: a tiny seeded MLP on moons
(24 probe samples, 3 epochs, one run scrambled a quarter of its labels), its first layer's sequence payload in
both graph modes, the samples and every epoch's arrays, exactly as the page's endpoints send them.

    python -m tests.js.make_fixtures      # then commit the file; tests/test_schema.py checks it is current
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "map.json"


def messages(store_dir: str | Path) -> dict:
    """The messages, from a fresh store in ``store_dir``."""
    from dashboard import service
    from frames.compute import compute_frames
    from layout_engine.params import LayoutParams
    from models.config import RunConfig
    from models.store import RunStore
    from models.train import train

    config = RunConfig(dataset="moons", hidden=(6, 4), epochs=2, n_samples=60, probe_size=24, seed=5, lr=0.05,
                       scramble="labels", scramble_fraction=0.25)
    store = RunStore(store_dir)
    try:
        train(config, store)
        info = store.run_info(config.run_id)
        out: dict = {"samples": service.sample_arrays(store, config.run_id)}
        for graph in ("knn", "bipartite"):
            params = LayoutParams(graph=graph, n_iter=60, warm_n_iter=20)
            compute_frames(store, info, params, layers=[0])
            out[graph] = {"sequence": service.sequence_payload(store, config.run_id, 0, params),
                          "frames": {str(e): service.frame_arrays(store, config.run_id, 0, e, params)
                                     for e in range(info.epochs_done)}}
        return json.loads(json.dumps(out))  # as the browser receives it
    finally:
        store.close()


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as directory:
        FIXTURE.write_text(json.dumps(messages(directory), indent=1, sort_keys=True) + "\n")
    print(f"wrote {FIXTURE}")
