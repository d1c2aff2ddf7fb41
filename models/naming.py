"""A run's name: the one the user gives it (in the new-run form, or renamed in the page), else a default that
says what the run is and what sets it apart from the runs stored before it. The page shows the same name in
its header, run picker, compared map's title, exports and URL.

Names are bounded where they enter (:func:`check_name`): at most :data:`NAME_MAX` characters, no control
characters, so a name can never swell a page or break a line of text.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping

from models.config import RunConfig

#: the longest name a run may have, in characters
NAME_MAX = 80


def check_name(value: object) -> str:
    """``value`` as a run's name (surrounding spaces dropped); ``ValueError`` naming the field and the accepted
    range for anything else."""
    if not isinstance(value, str):
        raise ValueError(f"name must be text of 1..{NAME_MAX} characters, got {type(value).__name__}")
    name = " ".join(value.split())  # no line breaks or runs of spaces
    if not 1 <= len(name) <= NAME_MAX:
        raise ValueError(f"name must be 1..{NAME_MAX} characters, got {len(name)}")
    if any(unicodedata.category(c) in ("Cc", "Cf", "Co", "Cs") for c in name):
        raise ValueError("name must be printable text (no control or format characters)")
    return name


def default_name(config: RunConfig) -> str:
    """What the run is, in words: model and sizes, data set, beta, scrambling and a seed other than 0
    (``MLP 64-128-64-32 on digits, labels 20%, seed 3``); a recorded run: its folder and layer sizes."""
    sizes = "-".join(map(str, config.layer_sizes))
    if config.model == "custom":
        return f"{config.dataset} ({sizes})"
    model = {"mlp": f"MLP {sizes}", "vae": f"beta-VAE {sizes}, beta {config.beta:g}"}[config.model]
    scrambled = f", {config.scramble} {config.scramble_fraction:.0%}" if config.scramble != "none" else ""
    seed = f", seed {config.seed}" if config.seed != RunConfig().seed else ""
    return f"{model} on {config.dataset}{scrambled}{seed}"


#: settings that may set two runs of one default name apart, as a name says them
_SETTINGS = (("epochs", "{} epochs"), ("lr", "lr {:g}"), ("batch_size", "batch {}"), ("probe_size", "probe {}"),
             ("n_samples", "{} samples"), ("noise", "noise {:g}"), ("latent", "latent {}"), ("seed", "seed {}"))


def differences(config: RunConfig, other: RunConfig) -> list[str]:
    """The settings of ``config`` that differ from ``other``'s, in words (``["lr 0.003", "batch 32"]``)."""
    return [text.format(getattr(config, name)) for name, text in _SETTINGS
            if hasattr(config, name) and getattr(config, name) != getattr(other, name)]


def unique_name(config: RunConfig, taken: Mapping[str, RunConfig]) -> str:
    """A default name for ``config`` that no run of ``taken`` (name -> config) has: :func:`default_name`, then
    what sets it apart from the run of that name, then a number."""
    name = default_name(config)
    if name in taken:
        apart = differences(config, taken[name])
        if apart:
            name = f"{name}, {', '.join(apart)}"
    base, n = name, 2
    while name in taken:
        name, n = f"{base} ({n})", n + 1
    return name[:NAME_MAX]


def slug(name: str, fallback: str) -> str:
    """``name`` as a file name's stem or a URL's word: ASCII letters, digits and ``-``, at most 60 characters
    (``fallback`` when nothing is left)."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    words = re.sub(r"[^A-Za-z0-9.]+", "-", ascii_name).strip("-.").lower()
    return words[:60].strip("-.") or fallback
