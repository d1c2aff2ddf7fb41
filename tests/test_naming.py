"""Runs are told apart by name: the user's (from the form, or renamed), else a default saying what the run is
and what sets it apart from the runs before it; names are bounded where they enter."""

from __future__ import annotations

import pytest

from models.config import RunConfig
from models.naming import NAME_MAX, check_name, default_name, slug, unique_name
from models.store import RunStore
from models.sweep import run_sweep
from models.train import train


def test_default_names_say_data_scramble_beta_and_seed():
    assert default_name(RunConfig()) == "MLP 64-128-64-32 on digits"
    assert default_name(RunConfig(scramble="labels", scramble_fraction=0.2)) == \
        "MLP 64-128-64-32 on digits, labels 20%"
    assert default_name(RunConfig(model="vae", hidden=(32,), latent=4, beta=4, seed=2)) == \
        "beta-VAE 32-4, beta 4 on digits, seed 2"
    assert default_name(RunConfig(dataset="moons", hidden=(8,))) == "MLP 8 on moons"


def test_a_run_that_would_share_a_name_gets_what_sets_it_apart():
    base = RunConfig(hidden=(8,), epochs=3)
    assert unique_name(base, {}) == "MLP 8 on digits"
    taken = {"MLP 8 on digits": base}
    assert unique_name(RunConfig(hidden=(8,), epochs=5, lr=0.003), taken) == "MLP 8 on digits, 5 epochs, lr 0.003"
    assert unique_name(base, taken) == "MLP 8 on digits (2)"  # the same settings: numbered


@pytest.mark.parametrize(("value", "message"), [
    ("", "name must be 1..80 characters, got 0"),
    ("x" * (NAME_MAX + 1), "name must be 1..80 characters, got 81"),
    ("a\u202eb", "name must be printable text"),
    (3, "name must be text of 1..80 characters, got int"),
])
def test_a_bad_name_is_refused_with_the_field_and_its_range(value, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        check_name(value)


def test_names_are_kept_whitespace_folded_and_slugged_for_files():
    assert check_name("  clean\n baseline ") == "clean baseline"
    assert slug("Clean baseline: β=4 / seed 2", "run") == "clean-baseline-4-seed-2"
    assert slug("///", "mlp-digits-1") == "mlp-digits-1"


def test_the_store_names_runs_keeps_a_name_through_a_restart_and_forgets_it_on_delete(tmp_path):
    store = RunStore(tmp_path)
    clean = RunConfig(hidden=(8,), epochs=1, probe_size=60)
    twin = RunConfig(hidden=(8,), epochs=1, probe_size=60, scramble="labels", scramble_fraction=0.5)
    other = RunConfig(hidden=(8,), epochs=1, probe_size=60, lr=0.01)
    for config in (clean, twin, other):
        train(config, store)
    names = [store.run_info(c.run_id).name for c in (clean, twin, other)]
    assert names == ["MLP 8 on digits", "MLP 8 on digits, labels 50%", "MLP 8 on digits, lr 0.01"]
    assert store.set_name(clean.run_id, " my  baseline ") == "my baseline"
    store.create_run(clean, store.probe(clean.run_id), (8,))  # started again from scratch
    assert store.run_info(clean.run_id).name == "my baseline"
    with pytest.raises(ValueError, match="name must be 1..80"):
        store.set_name(clean.run_id, "")
    store.delete_run(clean.run_id)
    assert store.name(clean.run_id, clean) == "MLP 8 on digits"
    # a named sweep names its runs by their beta
    sweep_base = RunConfig(model="vae", hidden=(8,), latent=2, epochs=1, probe_size=50)
    sid = run_sweep(sweep_base, store, betas=(0.0, 2.0), name="collapse study")
    assert [store.run_info(r).name for r in store.sweep(sid)["run_ids"]] == ["collapse study, beta 0",
                                                                              "collapse study, beta 2"]
    assert run_sweep(sweep_base, store, betas=(0.0, 2.0)) == sid and store.sweep(sid)["name"] == "collapse study"
    store.close()
