"""The new-run form's values checked: a run's config (or a sweep's), its name, and a message per wrong field
naming the field and its accepted range. Pure: the panel and the training job both check with it."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from models.config import RunConfig
from models.data import FILE
from models.naming import check_name
from models.sweep import check_betas

#: the form's fields, in order: id suffix -> label
FIELDS = {"model": "model", "dataset": "data set", "hidden": "hidden sizes", "epochs": "epochs", "beta": "beta",
          "scramble": "scramble", "fraction": "fraction", "name": "name"}


@dataclass(frozen=True)
class FormResult:
    """A checked form: the config to train (``None`` when a field is wrong), its betas (a sweep when more than
    one), its name (``None``: the default) and a message per wrong field."""

    config: RunConfig | None
    betas: tuple[float, ...] = ()
    errors: dict[str, str] = field(default_factory=dict)
    name: str | None = None


def check_form(model, dataset, hidden, epochs, beta, scramble, fraction, data_path: Path | None = None,
               label_column: str | None = None, name: str | None = None) -> FormResult:
    """Check the form's raw values (strings and numbers as the browser sends them; for the data set ``file``,
    the kept upload's path; an empty name for the default); each problem names the field and its accepted
    range."""
    errors: dict[str, str] = {}
    if name is not None and str(name).strip():
        try:
            name = check_name(name)
        except ValueError as exc:
            errors["name"] = str(exc)
    else:
        name = None
    sizes: tuple[int, ...] = ()
    try:
        sizes = tuple(int(v) for v in str(hidden or "").split(","))
    except ValueError:
        errors["hidden"] = f"hidden sizes must be comma-separated whole numbers such as 64,128,64, got {hidden!r}"
    betas: tuple[float, ...] = (1.0,)
    try:
        betas = check_betas([float(v) for v in str(1 if beta in (None, "") else beta).split(",")])
    except ValueError as exc:
        errors["beta"] = (str(exc) if "beta" in str(exc)
                          else f"beta must be numbers in 0..1000 such as 4 or 0,1,4, got {beta!r}")
    if model == "mlp" and len(betas) > 1:
        errors["beta"] = "a list of betas (a sweep) needs the beta-VAE model"
    if isinstance(epochs, float) and epochs.is_integer():
        epochs = int(epochs)
    if epochs is None:
        errors["epochs"] = "epochs must be an integer in 0..1000"
    config = None
    if not errors:
        try:
            files: dict[str, Any] = ({"data_path": str(data_path), "label_column": label_column} if dataset == FILE
                                     else {})
            config = RunConfig(model=model, dataset=dataset, hidden=sizes, epochs=epochs, beta=betas[0],
                               scramble=scramble, scramble_fraction=float(fraction or 0.0), **files)
        except (ValueError, TypeError) as exc:
            name = str(exc).split(" ", 1)[0]
            errors[{"scramble_fraction": "fraction"}.get(name, name if name in FIELDS else "model")] = str(exc)
    return FormResult(config=config if not errors else None, betas=betas, errors=errors, name=name)
