"""The page's background work, run in a job's own process: prepare a run (train it or follow its training, lay
out every frame, measure), lay out one layer in another graph mode or by a reference method, or train what the
new-run form submitted. Each opens its own store and reports its progress to the page."""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from analysis.stage import count_measured
from dashboard import vocab
from dashboard.context import AppContext
from dashboard.form import check_form
from dashboard.limits import MAX_TRAINING, start_problems
from dashboard.progress import PageProgress
from dashboard.sequences import layout_params
from dashboard.uploads import UPLOADS
from frames.chains import LAYOUT, lay_out_outward
from frames.compute import compute_baseline_frames
from frames.index import count_ready
from frames.prepare import prepare as prepare_run
from frames.prepare import run_ready
from models.config import RunConfig
from models.progress import Reporter, TerminalProgress
from models.store import INTERRUPTED, DamagedEpoch, RunInfo, RunStore, StoreFull
from models.sweep import run_sweep, sweep_id, sweep_runs
from models.train import RunBusy, train


def job_logging() -> None:
    """Log to stderr (the server's terminal or log) from a job's own process, which starts with no logging set
    up (a no-op where logging is configured already)."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")


def run_job(ctx: AppContext, set_progress: Callable[[tuple], None], tag: dict | None = None) -> str:
    """Prepare the app's run, reporting ``(done, total, message, run version)`` (with ``tag``: ``(state,
    run version)``) to the page (:class:`~dashboard.progress.PageProgress`); returns the final message.

    Runs in a background process, so it opens its own store.
    """
    job_logging()
    store = ctx.open_store()
    terminal = TerminalProgress()
    claimed = needs_training(store, ctx.config)
    try:
        if claimed and (refusal := claim_training(store, ctx.run_id)):
            claimed = False
            return f"Not trained yet: {refusal}. Show the run again then."
        report = PageProgress(set_progress, terminal=terminal, version=True, tag=tag)
        info, ready = prepare_run(store, ctx.config, ctx.params, report, send=ctx.send_chains)
        return summary(store, info, ready, count_measured(store, info))
    except (StoreFull, RunBusy) as exc:
        return f"Cannot train {ctx.run_id}: {exc}"
    except DamagedEpoch as exc:
        return f"Cannot show all of {ctx.run_id}: {exc}"
    finally:
        if claimed:
            store.release_training(ctx.run_id)
        terminal.close()
        store.close()


def needs_training(store: RunStore, config: RunConfig) -> bool:
    """Whether preparing the run of ``config`` trains it (not stored yet, or interrupted); a recorded run is
    trained by its own script."""
    if config.model == "custom":
        return False
    return not store.has_run(config.run_id) or store.run_info(config.run_id).state == INTERRUPTED


def claim_training(store: RunStore, claim: str) -> str | None:
    """Take a training place for ``claim`` (:meth:`RunStore.claim_training`, at most :data:`MAX_TRAINING`);
    ``None`` when taken, else why not, naming the limit and what holds it."""
    holders = store.claim_training(claim, MAX_TRAINING)
    if not holders:
        return None
    return (f"at most {MAX_TRAINING} runs train at once on this server, and {len(holders)} do now "
            f"({', '.join(holders)}): wait for one to finish, or cancel it")


def summary(store: RunStore, info: RunInfo, ready: int, measured: int) -> str:
    """The job line of a run whose job is over: frames laid out and measured, and how training ended."""
    total = len(info.layer_sizes) * info.epochs_done
    if info.state == "diverged":
        return f"{info.message} · {ready}/{total} frames ready · {measured}/{total} measured"
    final = store.metrics(info.run_id)[-1] if info.epochs_done else {}
    score = (f"test accuracy {final['test_acc']:.1%}" if "test_acc" in final
             else f"test loss {final['test_loss']:.3f}" if "test_loss" in final else "recorded")
    unit = "steps recorded" if info.unit == "step" else "epochs"
    count = info.epochs_done if info.unit == "step" else info.epochs_done - 1
    return f"{ready}/{total} frames ready · {measured}/{total} measured · {score} after {count} {unit}"


def ready_summary(store: RunStore, ctx: AppContext) -> str | None:
    """The job line of a run that needs no job (finished, every frame laid out and measured), read from the
    store in the request; ``None`` when a job has work to do."""
    if not store.has_run(ctx.run_id):
        return None
    info = store.run_info(ctx.run_id)
    if info.state not in ("complete", "diverged"):
        return None
    total = len(info.layer_sizes) * info.epochs_done
    ready = count_ready(store, info, ctx.params)
    measured = count_measured(store, info) if ready == total else 0
    if ready < total or measured < total:
        return None
    return summary(store, info, ready, measured)


def run_graph_job(ctx: AppContext, graph: str, method: str, layer: int, epoch: int,
                  set_progress: Callable[[tuple], None]) -> str:
    """Lay out one layer's sequence in another graph mode (the neuron x sample graph) or by a reference method
    (UMAP, t-SNE, PCA) once the run is trained, from ``epoch`` (the one on show) outwards; returns the final
    message. Runs in a background process, so it opens its own store."""
    what = "neuron x sample graph" if method == "ours" else vocab.METHOD_LABELS.get(method, method)
    job_logging()
    store = ctx.open_store()
    try:
        if not run_ready(store, ctx.run_id):
            return f"The {what} is laid out once the run is trained: choose it again then."
        info = store.run_info(ctx.run_id)
        label = f"{what} of {info.layer_names[layer]}"
        report = PageProgress(set_progress, label=label, bar=False)
        if method == "ours":
            ready = 0
            for ready, _ in enumerate(lay_out_outward(store, info, layout_params(ctx, graph), layer, epoch), 1):
                if report(LAYOUT, ready, info.epochs_done):
                    break
        else:
            ready = compute_baseline_frames(store, info, layer, method, report, anchor=epoch)
    finally:
        store.close()
    return f"{label}: {ready}/{info.epochs_done} frames ready"


def prepare_sweep(ctx: AppContext, store: RunStore, sid: str, report: Reporter) -> None:
    """Lay out and measure each trained run of a sweep in beta order (the first is the one the page shows
    first), so that moving the beta slider shows a ready run at once instead of laying out each beta on
    arrival."""
    runs = [store.run_info(r) for _, r in sweep_runs(store, sid) if store.has_run(r)]
    for i, info in enumerate(runs, start=1):
        if info.state != "complete":
            continue
        prefix = f"Beta {info.config.beta:g} ({i}/{len(runs)}): "

        def named(stage: str, done: int, total: int, prefix: str = prefix) -> bool | None:
            return report(prefix + stage, done, total)

        prepare_run(store, info.config, ctx.params, named)


def train_job(ctx: AppContext, submit: dict, set_progress: Callable[[tuple], None]) -> tuple[str, str | None]:
    """Train the submitted run (or sweep) of the new-run form into the store; returns (message, run id to show,
    ``None``: none). The submission comes from the page, so it is the form's own values, checked again as the
    form checks them (:func:`~dashboard.form.check_form`: nothing else of a run's settings can be
    sent), its data file one the form kept in the store (:data:`dashboard.uploads.UPLOADS`), by name; the
    bounds are checked again."""
    try:
        model, dataset, hidden, epochs, beta, scramble, fraction, name = submit["form"]
        upload, label = submit.get("upload"), submit.get("label")
        data_path = None
        if upload is not None:
            data_path = ctx.store_dir / UPLOADS / str(upload)
            if Path(str(upload)).name != upload or not data_path.is_file():
                return "Not trained: the data file must be one uploaded through this form", None
        result = check_form(model, dataset, hidden, epochs, beta, scramble, fraction, data_path=data_path,
                            label_column=label if isinstance(label, str) else None, name=name)
    except (TypeError, KeyError, ValueError, AttributeError) as exc:
        return f"Not trained: the submission must be the form's fields ({type(exc).__name__})", None
    if result.config is None:
        return "Not trained: " + "; ".join(result.errors.values()), None
    config, betas, name = result.config, result.betas, result.name
    store = ctx.open_store()
    problems = start_problems(store, config, betas)
    claim = sweep_id(config, betas) if len(betas) > 1 else config.run_id
    refusal = None if problems else claim_training(store, claim)
    if problems or refusal:
        store.close()
        return "Not trained: " + "; ".join([*problems.values(), *([refusal] if refusal else [])]), None
    try:
        report = PageProgress(set_progress)
        if len(betas) > 1:
            sid = run_sweep(config, store, betas, progress=report, name=name)
            prepare_sweep(ctx, store, sid, report)
            return f"Sweep {sid} trained and laid out", store.sweep(sid)["run_ids"][0]
        run_id = train(config, store, progress=report)
        info = store.run_info(run_id)
        return f"{run_id}: {info.state} {info.message}".strip(), run_id
    except (StoreFull, RunBusy) as exc:
        return f"Not trained: {exc}", config.run_id if store.has_run(config.run_id) else None
    finally:
        store.release_training(claim)
        store.close()
