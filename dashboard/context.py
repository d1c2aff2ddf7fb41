"""What every panel needs to know: where the store is, which run, which layout parameters."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from layout_engine.params import LayoutParams
from models.config import RunConfig
from models.data import IMAGE_SHAPES
from models.store import RunInfo, RunStore

#: one store handle per directory per process (opening one costs ~5 ms, too much per slider step); diskcache
#: handles are thread-safe and reconnect in a forked child
_STORES: dict[Path, RunStore] = {}
#: the default of an argument not given (``None`` is a value the page can send)
_UNASKED = object()
#: a run picker value naming a sweep (``sweep:<id>``) stands for the sweep's run of lowest beta
SWEEP_PREFIX = "sweep:"


def forget_stores() -> None:
    """Drop this process's store handles without closing them: a forked child calls it so that it opens its
    own SQLite connections instead of using its parent's."""
    _STORES.clear()


@dataclass(frozen=True)
class AppContext:
    """Immutable settings of the app and of the run on show; :meth:`for_run` gives another run's.

    The store is opened from ``store_dir`` in each process that uses it.
    """

    store_dir: Path
    config: RunConfig
    params: LayoutParams
    class_names: tuple[str, ...] = tuple(str(c) for c in range(10))
    #: shape to show one input as an image (digits: 8 x 8), or None
    image_shape: tuple[int, int] | None = None
    #: the run's last epoch when its config does not say (a custom run: the last recorded)
    recorded_last_epoch: int | None = None
    #: what an epoch of the run stands for: ``epoch``, or ``step`` for a run recorded every N training steps
    unit: str = "epoch"
    #: sends layer chains to other workers (:data:`frames.chains.ChainSender`; with Celery), or None
    send_chains: Callable | None = field(default=None, compare=False, repr=False)

    @property
    def last_epoch(self) -> int:
        """The last epoch the run has, or will have once trained."""
        return self.config.epochs if self.recorded_last_epoch is None else self.recorded_last_epoch

    def steps(self) -> tuple[int, ...] | None:
        """For a run recorded by steps, each epoch's training step (the slider shows these), read from its
        metrics; ``None`` for a run by epochs (nothing read)."""
        if self.unit != "step":
            return None
        return tuple(self.store.run_info(self.run_id).steps(self.store.metrics(self.run_id)) or ())

    @property
    def run_id(self) -> str:
        return self.config.run_id

    def open_store(self) -> RunStore:
        """A new handle on the store, for a job that opens and closes its own."""
        return RunStore(self.store_dir)

    @property
    def store(self) -> RunStore:
        """This process's shared handle for callbacks."""
        if self.store_dir not in _STORES:
            _STORES[self.store_dir] = self.open_store()
        return _STORES[self.store_dir]

    def view(self, run_id: str | None, layer: object = _UNASKED, epoch: object = _UNASKED) -> RunView:
        """What a callback shows, resolved and checked once: the stored run the picker names (:meth:`for_run`),
        what the store knows of it now, and ``layer`` / ``epoch`` (when asked for) as numbers within the run's.

        Raises
        ------
        NotShown
            Naming the run when the store does not have it (not trained yet), or the field and its range.
        """
        try:
            run_ctx = self.for_run(run_id)
            info = run_ctx.store.run_info(run_ctx.run_id)
        except KeyError as exc:
            raise NotShown(str(exc.args[0])) from None
        return RunView(run_ctx, info, _within("layer", layer, len(info.layer_sizes) - 1),
                       _within("epoch", epoch, info.epochs_done - 1))

    def for_run(self, run_id: str | None) -> AppContext:
        """The context of the stored run ``run_id`` (this one when ``None`` or the same; ``sweep:<id>``: the
        sweep's run of lowest beta; a planned run: its config); ``KeyError`` naming the run or sweep when the store
        does not have it."""
        if not run_id or run_id == self.run_id:
            return self
        if not isinstance(run_id, str):
            raise KeyError(f"run must be a run id, got {run_id!r}")
        if run_id.startswith(SWEEP_PREFIX):
            record = self.store.sweep(run_id[len(SWEEP_PREFIX):])
            return self.for_run(min(zip(record["betas"], record["run_ids"]))[1])
        try:
            info = self.store.run_info(run_id)
        except KeyError:  # a run the page has started but not stored yet: shown once its first epoch is
            planned = self.store.planned(run_id)
            if planned is None:
                raise
            return replace(self, config=planned, image_shape=IMAGE_SHAPES.get(planned.dataset), unit="epoch",
                           recorded_last_epoch=None)
        return replace(self, config=info.config, class_names=info.class_names or self.class_names,
                       image_shape=info.image_shape, unit=info.unit,
                       recorded_last_epoch=info.epochs_done - 1 if info.config.model == "custom" else None)


class NotShown(ValueError):
    """What a callback was asked to show is not there (yet): the message names the run, or the field and its
    range, for the page to say."""


def _within(name: str, value: object, last: int) -> int | None:
    if value is _UNASKED:
        return None
    try:
        number = int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        raise NotShown(f"{name} must be a whole number, got {value!r}") from None
    if not 0 <= number <= last:
        raise NotShown(f"{name} must be in 0..{last}, got {number}")
    return number


@dataclass(frozen=True)
class RunView:
    """A run as one callback shows it (:meth:`AppContext.view`): its context, what the store knows of it, and the
    layer and epoch asked for."""

    ctx: AppContext
    info: RunInfo
    asked_layer: int | None = None
    asked_epoch: int | None = None

    @property
    def layer(self) -> int:
        if self.asked_layer is None:
            raise TypeError("this view was not asked for a layer")
        return self.asked_layer

    @property
    def epoch(self) -> int:
        if self.asked_epoch is None:
            raise TypeError("this view was not asked for an epoch")
        return self.asked_epoch

    @property
    def run_id(self) -> str:
        return self.ctx.run_id

    @property
    def store(self) -> RunStore:
        return self.ctx.store
