"""EpochScope: see how a neural network's latent spaces form, layer by layer and epoch by epoch.

Two sides. The recorder (:mod:`epochscope.record`, numpy and torch only) writes a training run into a log
directory, from your own loop (``from epochscope import Recorder``) or a framework's callback
(:mod:`epochscope.callbacks`: PyTorch Lightning, Hugging Face, Keras). The app (:mod:`epochscope.app`, with the
``app`` extra installed) serves the page over a store, and over log directories (``epochscope serve --logdir
runs``); nothing on the recording side imports it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

__version__ = "0.2.0"

if TYPE_CHECKING:
    from epochscope.record.recorder import Recorder

__all__ = ["Recorder", "__version__"]


def __getattr__(name: str) -> object:
    """``Recorder`` imported on first use, so that ``import epochscope`` alone needs no torch."""
    if name == "Recorder":
        from epochscope.record.recorder import Recorder
        return Recorder
    raise AttributeError(f"module 'epochscope' has no attribute {name!r}")
