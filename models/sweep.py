"""A beta sweep: one beta-VAE run per beta, everything else shared, grouped under a sweep id.

Each run is an ordinary cached run (its id hashes its config, beta included), so an interrupted sweep resumes
by training only the runs that are not complete.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Sequence
from typing import Any

from models.config import RunConfig
from models.naming import NAME_MAX, check_name
from models.progress import Reporter
from models.store import RunStore
from models.train import train

logger = logging.getLogger(__name__)

#: betas that cross the default VAE's transition on digits, from an autoencoder (0) to the collapsed end: measured
#: (30 epochs at batch 16; KL nats, active units by variance / by KL): 0: 222, 8/8; 0.1: 7.3, 8/8; 0.25: 5.1, 5/4;
#: 0.5: 3.0, 2/2; 1: 2.0, 2/2; 1.5: 0.60, 1/1; 2: 0.29, 1/1; 4: 0, 0/0: active units fall steadily (seeds 1 and 2:
#: once each, a latent trickles on one beta further before it dies). The seed's 0, 0.5, 1, 2, 4, 8, 16 spent four of
#: its seven runs on the collapsed end.
DEFAULT_BETAS = (0.0, 0.1, 0.25, 0.5, 1.0, 1.5, 2.0, 4.0)

def sweep_id(base: RunConfig, betas: Sequence[float]) -> str:
    """Stable id of the sweep of ``base`` over ``betas`` (``base``'s own beta does not matter)."""
    text = json.dumps({"base": base.with_beta(0.0).to_json(), "betas": [float(b) for b in betas]})
    return f"sweep-{base.dataset}-{hashlib.sha256(text.encode()).hexdigest()[:12]}"


def check_betas(betas: Sequence[float]) -> tuple[float, ...]:
    """The betas as floats, each in 0..1000, at least one, no repeats; ``ValueError`` naming the problem."""
    out = tuple(float(b) for b in betas)
    if not out:
        raise ValueError("betas must name at least one beta")
    if len(set(out)) != len(out):
        raise ValueError(f"betas must not repeat, got {list(out)}")
    bad = [b for b in out if not 0.0 <= b <= 1000.0]
    if bad:
        raise ValueError(f"each beta must be in 0..1000, got {bad}")
    return out


def run_sweep(base: RunConfig, store: RunStore, betas: Sequence[float] = DEFAULT_BETAS, *,
              progress: Reporter | None = None, device: str | None = None, name: str | None = None) -> str:
    """Train the runs of ``base`` (a VAE config) for each beta that is not complete yet; returns the sweep id.

    The sweep's record (base config, betas, run ids, and ``name`` if given) is stored first, so a sweep cut
    short shows which runs it still lacks; a later call with the same arguments trains only those. A named
    sweep names its runs ``"<name>, beta <beta>"``. ``progress`` counts epochs over the whole sweep, its stage
    naming the run (``"Training beta 0.5 (4/8)"``).
    """
    if base.model != "vae":
        raise ValueError(f"a beta sweep needs model 'vae', got {base.model!r}")
    betas = check_betas(betas)
    sid = sweep_id(base, betas)
    configs = [base.with_beta(b) for b in betas]
    record: dict[str, Any] = {"base": base.to_json(), "betas": list(betas), "run_ids": [c.run_id for c in configs],
              "created": time.time()}
    if name is None and sid in store.list_sweeps():  # run again: the sweep keeps its name
        name = store.sweep(sid).get("name")
    if name is not None:
        record["name"] = check_name(name)
        for config in configs:
            store.set_name(config.run_id, f"{record['name'][:NAME_MAX - 14]}, beta {config.beta:g}")
    store.put_sweep(sid, record)
    for i, config in enumerate(configs):
        if store.has_run(config.run_id) and store.run_info(config.run_id).state == "complete":
            logger.info("beta %g: run %s already complete", config.beta, config.run_id)
            continue
        stopped = False

        def report(_stage: str, done: int, total: int, i: int = i, beta: float = config.beta) -> bool:
            nonlocal stopped
            stopped = bool(progress(f"Training beta {beta:g} ({i + 1}/{len(configs)})", i * (total + 1) + done,
                                    len(configs) * (total + 1))) if progress else False
            return stopped

        train(config, store, progress=report, device=device)
        if stopped:
            logger.info("sweep %s stopped at beta %g", sid, config.beta)
            break
    return sid


def sweep_runs(store: RunStore, sid: str) -> list[tuple[float, str]]:
    """(beta, run id) of a stored sweep, in beta order."""
    record = store.sweep(sid)
    return sorted(zip(record["betas"], record["run_ids"]))


def sweep_of(store: RunStore, run_id: str) -> list[tuple[float, str]] | None:
    """(beta, run id) of the newest stored sweep holding ``run_id``, in beta order; ``None`` if none does."""
    for sid in reversed(store.list_sweeps()):
        record = store.sweep(sid)
        if run_id in record["run_ids"]:
            return sorted(zip(record["betas"], record["run_ids"]))
    return None
