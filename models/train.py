"""Training loops for the MLP classifier and the beta-VAE, with a per-epoch recorder on the fixed probe set.

Epoch 0 is recorded before any update, then every epoch after training on it. Deterministic on the CPU for a
given seed; uses CUDA when asked for or, with ``device="auto"``, when present.

What an epoch records, for the probe set (see :class:`models.store.EpochRecord`):

- MLP: each hidden layer's activations; predictions and confidence; ``label_prob``, the probability given to
  the label trained on (dataset cartography, :mod:`analysis.cartography`); sensitivity (:mod:`models.sensitivity`)
  as ``sens{l}`` (gradient norm per sample) and ``gxa{l}`` (gradient x activation per sample and unit);
  train / test loss and accuracy.
- VAE: each encoder layer's activations and the posterior mean ``z`` (the last "layer"); ``logvar``;
  ``kl_dim`` (mean KL per latent dimension, nats); ``recon_loss`` per sample; ``reconstructions`` of the first
  :data:`N_SHOWN` probe samples and ``prior_samples`` decoded from :data:`N_PRIOR` fixed draws of the prior
  (Bernoulli means); train / test loss, ``recon``, ``kl``, ``active_units`` (:func:`models.vae.active_units`:
  variance of the posterior mean over the probe set > 0.01) and ``active_units_kl`` (mean KL_j > 0.01 nats).
"""

from __future__ import annotations

import io
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from models import vae
from models.config import RunConfig
from models.data import Dataset, load_dataset
from models.mlp import MLP
from models.progress import Reporter
from models.scramble import changed_fraction, scramble
from models.sensitivity import sensitivity
from models.store import EpochRecord, RunStore, lock_owner

logger = logging.getLogger(__name__)

#: the stage training reports (:data:`models.progress.Reporter`): epochs done of the config's epochs
TRAINING = "Training"

#: VAE: probe samples whose reconstructions are recorded, and prior draws decoded, each epoch
N_SHOWN, N_PRIOR = 8, 8
DEVICES = ("auto", "cpu", "cuda")


class TrainingDiverged(RuntimeError):
    """The loss became NaN or infinite; the epochs recorded before it are kept."""


def pick_device(name: str = "auto") -> torch.device:
    """``auto``: CUDA when present, else the CPU; ``cpu``; ``cuda`` (``ValueError`` when absent)."""
    if name not in DEVICES:
        raise ValueError(f"device must be one of {', '.join(DEVICES)}, got {name!r}")
    if name == "cuda" and not torch.cuda.is_available():
        raise ValueError("device 'cuda' asked for, but torch sees no CUDA device")
    return torch.device("cuda" if name == "cuda" or (name == "auto" and torch.cuda.is_available()) else "cpu")


@dataclass(frozen=True)
class TrainingData:
    """A run's data as trained on: the data set, and its scrambled inputs and labels.

    Attributes
    ----------
    dataset : Dataset
        Clean inputs and true labels, split and probe set.
    X : ndarray of shape (n_samples, n_features), float32
        Inputs as trained on.
    y : ndarray of shape (n_samples,), int64
        Labels as trained on.
    scrambled : ndarray of shape (n_samples,), bool
    """

    dataset: Dataset
    X: np.ndarray
    y: np.ndarray
    scrambled: np.ndarray


def training_data(config: RunConfig) -> TrainingData:
    """Load ``config``'s data set and scramble it as the config says (training and probe samples are used
    scrambled; the test samples are evaluated clean, with their true labels)."""
    data = load_dataset(config.dataset, seed=config.seed, probe_size=config.probe_size, n_samples=config.n_samples,
                        noise=config.noise, data_path=config.data_path, label_column=config.label_column)
    X, y, flags = scramble(data.X, data.y, config.scramble, config.scramble_fraction, n_classes=data.n_classes,
                           seed=config.seed)
    return TrainingData(dataset=data, X=X, y=y, scrambled=flags)


def build_model(config: RunConfig, n_features: int, n_classes: int) -> MLP | vae.BetaVAE:
    """The untrained network of ``config`` (seed torch first for a reproducible initialisation)."""
    if config.model == "vae":
        return vae.BetaVAE(n_features, config.hidden, config.latent)
    if config.model == "mlp":
        return MLP(n_features, config.hidden, n_classes)
    raise ValueError(f"model {config.model!r} is not trained by EpochScope (record it with epochscope.record.recorder)")


def batch_loss(model: nn.Module, X: torch.Tensor, y: torch.Tensor, beta: float) -> torch.Tensor:
    """The training objective on a batch: the beta-VAE's (:func:`models.vae.loss`), or cross-entropy."""
    if isinstance(model, vae.BetaVAE):
        recon, mu, logvar, _ = model(X)
        return vae.loss(recon, X, mu, logvar, beta)[2]
    return F.cross_entropy(model(X)[0], y)


def train_epoch(model: nn.Module, optimizer: torch.optim.Optimizer, X: torch.Tensor, y: torch.Tensor,
                batch_size: int, generator: torch.Generator, beta: float = 1.0) -> float:
    """One pass over ``(X, y)`` in shuffled minibatches; returns the mean training loss."""
    model.train()
    order = torch.randperm(len(X), generator=generator).to(X.device)
    total = 0.0
    for start in range(0, len(X), batch_size):
        batch = order[start:start + batch_size]
        loss = batch_loss(model, X[batch], y[batch], beta)
        if not torch.isfinite(loss):
            raise TrainingDiverged(f"loss became {loss.item()} at batch starting at sample {start}")
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        total += float(loss.detach()) * len(batch)
    return total / len(X)


@torch.no_grad()
def evaluate(model: MLP, X: torch.Tensor, y: torch.Tensor) -> tuple[float, float]:
    """Mean cross-entropy and accuracy of ``model`` on ``(X, y)``."""
    model.eval()
    logits, _ = model(X)
    return float(F.cross_entropy(logits, y)), float((logits.argmax(1) == y).float().mean())


@torch.no_grad()
def evaluate_vae(model: vae.BetaVAE, X: torch.Tensor, beta: float) -> tuple[float, float, float]:
    """Reconstruction, KL and total loss of ``model`` on ``X``, decoding the posterior mean (deterministic)."""
    model.eval()
    recon, mu, logvar, _ = model(X)
    reconstruction, kl, total = (float(v) for v in vae.loss(recon, X, mu, logvar, beta))
    return reconstruction, kl, total


def record_classifier(model: MLP, epoch: int, X_probe: torch.Tensor, y_probe: torch.Tensor,
                      metrics: dict[str, float]) -> EpochRecord:
    """Activations, predictions and sensitivity of every hidden layer on the probe set (labels as trained on)."""
    model.eval()
    with torch.no_grad():
        logits, activations = model(X_probe)
        probs = torch.softmax(logits, dim=1)
        confidence, predictions = probs.max(dim=1)
        label_prob = probs.gather(1, y_probe[:, None])[:, 0]
    norms, gxa = sensitivity(model, X_probe, y_probe)
    extras = ({f"sens{i}": n for i, n in enumerate(norms)} | {f"gxa{i}": g for i, g in enumerate(gxa)}
              | {"label_prob": label_prob.cpu().numpy().astype(np.float32)})
    if X_probe.shape[1] == 2:  # a network on a plane: its weights, for its maps of the plane (analysis.plane)
        layers = [*model.hidden, model.head]
        extras |= {f"{kind}{i}": getattr(layer, name).detach().cpu().numpy().astype(np.float32)
                   for i, layer in enumerate(layers) for kind, name in (("w", "weight"), ("b", "bias"))}
    return EpochRecord(epoch=epoch, activations=[a.cpu().numpy().astype(np.float32) for a in activations],
                       predictions=predictions.cpu().numpy().astype(np.int64),
                       confidence=confidence.cpu().numpy().astype(np.float32), metrics=metrics, extras=extras)


@torch.no_grad()
def record_vae(model: vae.BetaVAE, epoch: int, X_probe: torch.Tensor, prior_z: torch.Tensor,
               metrics: dict[str, float]) -> EpochRecord:
    """Encoder activations, posterior, KL per dimension, reconstructions and prior samples (module doc)."""
    model.eval()
    recon, mu, logvar, activations = model(X_probe)
    recon_loss = F.binary_cross_entropy_with_logits(recon, X_probe, reduction="none").sum(dim=1)
    kl_dim = vae.kl_per_dim(mu, logvar).mean(dim=0)
    metrics = metrics | {"active_units": float(vae.active_units(mu)),
                         "active_units_kl": float((kl_dim > vae.ACTIVE_THRESHOLD).sum())}
    numpy = lambda t: t.cpu().numpy().astype(np.float32)  # noqa: E731
    extras = {"logvar": numpy(logvar), "kl_dim": numpy(kl_dim), "recon_loss": numpy(recon_loss),
              "reconstructions": numpy(torch.sigmoid(recon[:N_SHOWN])),
              "prior_samples": numpy(torch.sigmoid(model.decode(prior_z)))}
    # the decoder's weights, for its Jacobian and latent traversals at every epoch (analysis.decoder)
    extras |= {f"{kind}{i}": numpy(getattr(layer, name)) for i, layer in enumerate([*model.decoder, model.out])
               for kind, name in (("dw", "weight"), ("db", "bias"))}
    return EpochRecord(epoch=epoch, activations=[numpy(a) for a in (*activations, mu)], predictions=None,
                       confidence=None, metrics=metrics, extras=extras)


class RunBusy(RuntimeError):
    """Another live process is training this run."""


#: seconds the training lock outlives its holder's last epoch when the holder is on another machine
TRAIN_LOCK_TTL = 600.0


def resume_blob(model: nn.Module, optimizer: torch.optim.Optimizer, generator: torch.Generator, epoch: int) -> bytes:
    """What training needs to go on after ``epoch`` exactly as if never stopped: weights, optimizer state and
    both random generators (``torch.save`` bytes of tensors and plain containers, read back with
    ``weights_only=True``: nothing in them is unpickled as code)."""
    buffer = io.BytesIO()
    torch.save({"epoch": epoch, "model": model.state_dict(), "optimizer": optimizer.state_dict(),
                "generator": generator.get_state(), "torch_rng": torch.get_rng_state()}, buffer)
    return buffer.getvalue()


def _resume(blob: bytes, model: nn.Module, optimizer: torch.optim.Optimizer, generator: torch.Generator) -> int:
    """Load :func:`resume_blob` into the fresh ``model``, ``optimizer`` and ``generator``; returns its epoch."""
    state = torch.load(io.BytesIO(blob), weights_only=True)
    model.load_state_dict(state["model"])
    optimizer.load_state_dict(state["optimizer"])
    generator.set_state(state["generator"])
    torch.set_rng_state(state["torch_rng"])
    return int(state["epoch"])


def train(config: RunConfig, store: RunStore, *, progress: Reporter | None = None,
          device: torch.device | str | None = None) -> str:
    """Train ``config``, recording every epoch into ``store``; returns the run id.

    A run left unfinished (its process killed, or stopped by ``progress``: state ``interrupted``) is resumed
    after its last recorded epoch, with the weights, optimizer state and random generators it had there, so
    it ends as if never stopped; any other run is trained from scratch. A diverging run is marked ``diverged``
    with a message and keeps its recorded epochs. ``RunBusy`` when another live process trains the run.
    """
    owner = lock_owner()
    lock = f"train/{config.run_id}"
    if not store.try_lock(lock, owner, TRAIN_LOCK_TTL):
        raise RunBusy(f"run {config.run_id} is being trained by another process")
    threads = torch.get_num_threads()
    torch.set_num_threads(training_threads())
    try:
        return _train(config, store, progress, device, lambda: store.refresh_lock(lock, owner, TRAIN_LOCK_TTL))
    finally:
        torch.set_num_threads(threads)
        store.release_lock(lock, owner)


def training_threads() -> int:
    """The threads every training here runs on: half the cores, whoever trains (the command line, the page's
    job, a sweep), so that a run trained again or resumed anywhere on this machine is the same bit for bit (the
    order of a sum over threads moves the weights by 1e-7), and the layouts that follow a training have the
    other half (:class:`frames.prepare.LayoutFollower`). On the default run one thread trains as fast as two
    (2.5 s against 2.4 s on 2 cores)."""
    return max(1, (os.cpu_count() or 2) // 2)


def _train(config: RunConfig, store: RunStore, progress: Reporter | None,
           device: torch.device | str | None, alive: Callable[[], None]) -> str:
    device = device if isinstance(device, torch.device) else pick_device(device or "auto")
    prepared = training_data(config)
    data = prepared.dataset
    torch.manual_seed(config.seed)
    generator = torch.Generator().manual_seed(config.seed)
    model = build_model(config, data.n_features, data.n_classes).to(device)
    optimizer = torch.optim.Adam(model.parameters(), lr=config.lr)

    def tensors(X: np.ndarray, y: np.ndarray, idx: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
        return torch.from_numpy(X[idx]).to(device), torch.from_numpy(y[idx]).to(device)

    # trained and probed as scrambled; tested on the clean inputs and true labels
    X_train, y_train = tensors(prepared.X, prepared.y, data.train_idx)
    X_test, y_test = tensors(data.X, data.y, data.test_idx)
    X_probe, y_probe = tensors(prepared.X, prepared.y, data.probe_idx)
    prior_z = torch.randn(N_PRIOR, config.latent, generator=torch.Generator().manual_seed(config.seed)).to(device)
    probe = {"index": data.probe_idx, "X": prepared.X[data.probe_idx], "y": data.y[data.probe_idx],
             "y_train": prepared.y[data.probe_idx], "scrambled": prepared.scrambled[data.probe_idx],
             "in_train": np.isin(data.probe_idx, data.train_idx)}
    run_id = config.run_id
    blob = store.resume_state(run_id) if store.has_run(run_id) else None
    if blob is not None:
        start = _resume(blob, model, optimizer, generator) + 1
        logger.info("Resuming run %s after epoch %d (%d epochs) on %s", run_id, start - 1, config.epochs, device)
    else:
        start = 0
        changed = changed_fraction(data.X, data.y, prepared.X, prepared.y)
        store.create_run(config, probe, config.layer_sizes, data.class_names, facts={"scramble_changed": changed},
                         image_shape=data.image_shape)
        if config.scramble != "none":
            logger.info("Scrambling (%s) changed %.1f%% of the samples", config.scramble, 100 * changed)
        logger.info("Training run %s (%d epochs) on %s", run_id, config.epochs, device)

    def record(epoch: int) -> None:
        if isinstance(model, vae.BetaVAE):
            tr = evaluate_vae(model, X_train, config.beta)
            te = evaluate_vae(model, X_test, config.beta)
            metrics = {"train_loss": tr[2], "test_loss": te[2], "recon": te[0], "kl": te[1], "beta": config.beta}
        else:
            tr_loss, tr_acc = evaluate(model, X_train, y_train)
            te_loss, te_acc = evaluate(model, X_test, y_test)
            metrics = {"train_loss": tr_loss, "train_acc": tr_acc, "test_loss": te_loss, "test_acc": te_acc}
        if not np.isfinite([metrics["train_loss"], metrics["test_loss"]]).all():
            raise TrainingDiverged(f"evaluation loss is not finite after epoch {epoch}")
        entry = (record_vae(model, epoch, X_probe, prior_z, metrics) if isinstance(model, vae.BetaVAE)
                 else record_classifier(model, epoch, X_probe, y_probe, metrics))
        store.put_epoch(run_id, entry, resume=resume_blob(model, optimizer, generator, epoch))
        alive()

    try:
        if start == 0:
            record(0)
        for epoch in range(max(start, 1), config.epochs + 1):
            if progress is not None and progress(TRAINING, epoch - 1, config.epochs):
                logger.info("Training of %s stopped after epoch %d", run_id, epoch - 1)
                store.leave_run(run_id)
                return run_id
            train_epoch(model, optimizer, X_train, y_train, config.batch_size, generator, config.beta)
            record(epoch)
    except TrainingDiverged as exc:
        message = f"Training diverged in epoch {store.run_info(run_id).epochs_done}: {exc}. Lower the learning rate."
        logger.error("%s (run %s)", message, run_id)
        store.finish_run(run_id, "diverged", message)
        return run_id
    if progress is not None:
        progress(TRAINING, config.epochs, config.epochs)
    store.put_checkpoint(run_id, {k: v.detach().cpu().numpy() for k, v in model.state_dict().items()})
    store.finish_run(run_id, "complete")
    return run_id


def load_model(store: RunStore, run_id: str) -> MLP | vae.BetaVAE:
    """The trained network of a finished run, on the CPU, in eval mode."""
    info = store.run_info(run_id)
    data = training_data(info.config).dataset
    model = build_model(info.config, data.n_features, data.n_classes)
    model.load_state_dict({k: torch.from_numpy(v) for k, v in store.checkpoint(run_id).items()})
    return model.eval()
