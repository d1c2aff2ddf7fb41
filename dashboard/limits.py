"""What one client may start from the page: how many runs train at once on a server, how many betas a sweep
has, how much a run may record. Each refusal names its limit."""

from __future__ import annotations

from models.config import RunConfig
from models.data import MAX_PROBE, SIZED
from models.store import RunStore

#: runs training at once in one store (from the page, the command line or a recorder), beyond which the page
#: starts no other: each takes a core and its memory
MAX_TRAINING = 2
#: betas of one sweep started from the page
MAX_BETAS = 12
#: what one run may record, estimated: every epoch's activations and per-unit gradient x activation of every
#: probe sample (float32), the bulk of a run's record (a default MNIST-1D run at 50,000 probe samples: 3.6 GB)
MAX_RECORD_BYTES = 8 * 2**30
#: the largest built-in table (digits): the probe set when the data set's size is not in the config
LARGEST_TABLE = 1797


def record_bytes(config: RunConfig) -> int:
    """Estimated bytes the run of ``config`` records: probe samples x hidden units x recorded epochs x 2 arrays x
    4 bytes (the probe set's size is the config's, else its data set's as far as the config says it)."""
    if config.probe_size is not None:
        n_probe = config.probe_size
    elif config.dataset in SIZED:
        n_probe = min(config.n_samples, MAX_PROBE)
    elif config.data_path is not None:
        n_probe = MAX_PROBE
    else:
        n_probe = LARGEST_TABLE
    return n_probe * sum(config.layer_sizes) * (config.epochs + 1) * 2 * 4


def start_problems(store: RunStore, config: RunConfig, betas: tuple[float, ...]) -> dict[str, str]:
    """Why the page may not start ``config`` over ``betas`` now (field -> message naming the limit), or ``{}``."""
    problems = {}
    if len(betas) > MAX_BETAS:
        problems["beta"] = f"a sweep may have at most {MAX_BETAS} betas, got {len(betas)}"
    size = record_bytes(config) * len(betas)
    if size > MAX_RECORD_BYTES:
        problems["hidden"] = (f"this would record about {size / 2**30:.1f} GiB (probe samples x hidden units x "
                              f"epochs{' x betas' if len(betas) > 1 else ''}); at most "
                              f"{MAX_RECORD_BYTES / 2**30:.0f} GiB: use fewer units, epochs or probe samples")
    training = [info.run_id for info in store.list_runs() if info.state == "training"]
    if len(training) >= MAX_TRAINING:
        problems["model"] = (f"at most {MAX_TRAINING} runs train at once on this server, and {len(training)} do "
                             f"now ({', '.join(training)}): wait for one to finish, or cancel it")
    return problems
