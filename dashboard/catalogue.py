"""The runs in the store as the page names them: one line per run or sweep, the run picker's options, which sweep
a run belongs to, which runs compare with which (same probe samples), and deleting a run."""

from __future__ import annotations

import time
from pathlib import Path

import numpy as np

from dashboard.context import SWEEP_PREFIX, AppContext
from dashboard.uploads import discard_unused
from models.config import RunConfig
from models.naming import default_name
from models.store import INTERRUPTED, UPLOADS, RunInfo, RunStore


def _date(seconds: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M", time.localtime(seconds))


def heading(store: RunStore, run_id: str, config: RunConfig) -> str:
    """The page's header for a run: its name, what it is when the name does not say it, and its id
    (``clean baseline · MLP 64-128-64-32 on digits · mlp-digits-1a2b...``)."""
    name, what = store.name(run_id, config), default_name(config)
    return " · ".join([name, *([what] if what != name else []), run_id])


def describe(info: RunInfo) -> str:
    """One line for a run: its name, epochs, date, state."""
    state = info.state
    if info.state == INTERRUPTED and info.config.model != "custom":  # a recorded run is resumed only by its script
        state = "interrupted: show it to resume"
    count = info.epochs_done - 1 if info.unit == "epoch" else info.epochs_done
    span = f"{count} {info.unit}{'' if count == 1 else 's'}" + (" recorded" if info.unit == "step" else "")
    if not info.epochs_done:  # interrupted before its first epoch
        span = f"no {info.unit} yet"
    return f"{info.name} · {span} · {_date(info.created)} · {state}"


def sweep_name(record: dict) -> str:
    """What the page calls a sweep: the name given in the form, else its model, data set and betas."""
    if record.get("name"):
        return str(record["name"])
    base = RunConfig.from_json(record["base"])
    sizes = "-".join(map(str, base.layer_sizes))
    return f"beta-VAE {sizes} on {base.dataset}, betas {', '.join(f'{b:g}' for b in sorted(record['betas']))}"


def describe_sweep(sweep_id: str, record: dict, infos: dict[str, RunInfo]) -> str:
    """One line for a sweep: its name, runs stored of all, epochs, date, state."""
    base = RunConfig.from_json(record["base"])
    stored = sum(run_id in infos for run_id in record["run_ids"])
    states = {infos[r].state for r in record["run_ids"] if r in infos}
    state = "complete" if stored == len(record["run_ids"]) and states == {"complete"} else "incomplete"
    return (f"Sweep: {sweep_name(record)} · {stored}/{len(record['run_ids'])} runs · {base.epochs} epochs · "
            f"{_date(record.get('created', 0))} · {state}")


def run_options(store: RunStore, default: AppContext) -> list[dict]:
    """Dropdown options: every stored sweep (choosing one shows its run of lowest beta, with the beta slider),
    then every stored run, newest first (a sweep's runs labelled with their sweep), and the app's own run even
    before it is trained."""
    infos = store.list_runs()
    by_id = {i.run_id: i for i in infos}
    records = {sid: store.sweep(sid) for sid in store.list_sweeps()}
    sweeps = {run_id: sweep_name(record) for record in records.values() for run_id in record["run_ids"]}
    options = [{"label": describe_sweep(sid, record, by_id), "value": SWEEP_PREFIX + sid}
               for sid, record in sorted(records.items(), key=lambda item: -item[1].get("created", 0))]
    options += [{"label": describe(i) + (f" · in sweep {sweeps[i.run_id]}" if i.run_id in sweeps else ""),
                 "value": i.run_id} for i in infos]
    starting = [c for c in store.list_planned() if c.run_id != default.run_id]
    if default.run_id not in by_id:
        starting.insert(0, default.config)
    return [{"label": f"{store.name(c.run_id, c)} · starting", "value": c.run_id} for c in starting] + options


def delete(store: RunStore, run_id: str) -> str:
    """Delete a stored run (and its frame indices); ``ValueError`` naming it when it is being trained or is
    not stored. Returns what was done, in words."""
    if not isinstance(run_id, str) or not store.has_run(run_id):
        raise ValueError(f"run {run_id!r} is not in the store")
    info = store.run_info(run_id)
    if info.state == "training":
        raise ValueError(f"run {run_id} is being trained: cancel its job first")
    store.delete_run(run_id)
    if info.config.data_path is not None and Path(info.config.data_path).parent.name == UPLOADS:
        discard_unused(store, Path(info.config.data_path))  # its upload, unless another run trains on it
    if info.config.model == "custom":  # a recorded run: not brought back from its log directory
        store.keep_out(run_id)
        return f"Deleted run {run_id} (its log directory's files are kept)."
    return f"Deleted run {run_id}."


def same_probe(store: RunStore, run_id: str, other: str) -> bool:
    """Whether two stored runs record the same probe samples (data-set indices and true classes), so that each
    node of one map is a node of the other."""
    mine, theirs = store.probe(run_id), store.probe(other)
    return np.array_equal(theirs["index"], mine["index"]) and np.array_equal(theirs["y"], mine["y"])


def comparable_runs(store: RunStore, run_id: str) -> list[dict]:
    """Dropdown options: the stored runs (other than ``run_id``) with ``run_id``'s probe samples
    (:func:`same_probe`)."""
    if not store.has_run(run_id):
        return []
    n_probe = store.run_info(run_id).n_probe
    return [{"label": describe(info), "value": info.run_id} for info in store.list_runs()
            if info.run_id != run_id and info.n_probe == n_probe and same_probe(store, run_id, info.run_id)]


def compare_problem(store: RunStore, run_id: str, other: str) -> str | None:
    """Why ``other`` cannot be shown beside ``run_id`` (``None``: it can); reads only the two runs' probe sets
    (it runs on every poll of the compared sequence)."""
    if not store.has_run(other):
        return f"compare: run {other!r} is not in the store"
    if other == run_id:
        return "compare: choose another run than the one on show"
    if not store.has_run(run_id) or not same_probe(store, run_id, other):
        return f"compare: run {other!r} does not have the same probe samples as {run_id!r}"
    return None
