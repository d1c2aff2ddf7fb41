"""Command line: train a run (an interrupted one resumes), sweep beta over VAE runs, lay out and measure a stored
run's frames as the page would (so that it opens at once), write a run's report, list or delete stored runs,
serve the page.

    python -m epochscope train --model mlp --dataset digits --epochs 30
    python -m epochscope train --model vae --beta 4 --epochs 20
    python -m epochscope sweep --betas 0,0.5,1,2,4 --epochs 20
    python -m epochscope prepare mlp-digits-0123456789ab [--layout '{"guard": null}']
    python -m epochscope report mlp-digits-0123456789ab [--out report.html] [--epochs 0,5,30]
    python -m epochscope list [--logdir runs]
    python -m epochscope delete mlp-digits-0123456789ab
    python -m epochscope serve [--port 8050] [--run RUN_ID] [--logdir runs]        # as python app.py

Every option has a range; a value outside it names the option and the range. The store and the layout
parameters come from the options, else the environment (EPOCHSCOPE_HOME, EPOCHSCOPE_LAYOUT: see
epochscope.app.settings), so that a server started with the same settings finds what `prepare` laid out.
"""

from __future__ import annotations

import argparse
import logging
import sys
from dataclasses import replace
from pathlib import Path

from epochscope.app.settings import Settings, load_settings
from epochscope.record.logdir import list_runs
from layout_engine.baselines import BASELINES
from layout_engine.params import GRAPHS
from models.config import MODELS, SCRAMBLES, RunConfig
from models.data import DATASETS, FILE
from models.logdir_sync import log_config
from models.naming import NAME_MAX, check_name
from models.progress import TerminalProgress
from models.store import RunStore, StoreDamaged, default_store_dir
from models.sweep import DEFAULT_BETAS, check_betas, run_sweep, sweep_runs
from models.train import DEVICES, train

logger = logging.getLogger("epochscope")

#: option name -> RunConfig field, for the options that make the config
_FIELDS = {"model": "model", "dataset": "dataset", "hidden": "hidden", "epochs": "epochs", "lr": "lr",
           "batch_size": "batch_size", "seed": "seed", "probe_size": "probe_size", "beta": "beta",
           "latent": "latent", "scramble": "scramble", "scramble_fraction": "scramble_fraction",
           "n_samples": "n_samples", "noise": "noise", "data_file": "data_path", "label_column": "label_column"}


def _sizes(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated integers such as 64,128,64, got {text!r}") from None


def _floats(text: str) -> tuple[float, ...]:
    try:
        return tuple(float(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated numbers such as 0,1,4, got {text!r}") from None


def _name(text: str) -> str:
    try:
        return check_name(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _add_run_options(parser: argparse.ArgumentParser, *, sweep: bool) -> None:
    d = RunConfig()
    if not sweep:
        parser.add_argument("--model", choices=[m for m in MODELS if m != "custom"], default=d.model,
                            help="mlp: classifier; vae: beta-VAE (default %(default)s)")
    parser.add_argument("--dataset", choices=DATASETS, default=d.dataset,
                        help=f"data set (default %(default)s); '{FILE}' reads --data-file")
    parser.add_argument("--hidden", type=_sizes, default=None, metavar="N,N,..",
                        help="hidden layer sizes, 1 to 8 of 1..4096 (default 64,128,64,32 for the MLP; "
                             "64,128,64 for the VAE's encoder, mirrored by its decoder)")
    parser.add_argument("--epochs", type=int, default=d.epochs, help="epochs, 0..1000 (default %(default)s)")
    parser.add_argument("--lr", type=float, default=d.lr, help="Adam learning rate, (0, 10] (default %(default)s)")
    parser.add_argument("--batch-size", type=int, default=None,
                        help="minibatch, 1..65536 (default 64 for the MLP, 16 for the VAE)")
    parser.add_argument("--seed", type=int, default=d.seed, help="seed of everything random (default %(default)s)")
    parser.add_argument("--probe-size", type=int, default=None,
                        help="probe samples recorded per epoch, 1..50000 and at most the data set's size "
                             "(default: all, or a stratified 50000 of a larger set)")
    if not sweep:
        parser.add_argument("--beta", type=float, default=d.beta, help="VAE: KL weight, 0..1000 (default %(default)s)")
    parser.add_argument("--latent", type=int, default=d.latent,
                        help="VAE: latent dimensions, 1..256 (default %(default)s)")
    parser.add_argument("--scramble", choices=SCRAMBLES, default=d.scramble,
                        help="scramble samples: labels (label noise), noise (Gaussian), permute (pixels)")
    parser.add_argument("--scramble-fraction", type=float, default=d.scramble_fraction,
                        help="share of samples scrambled, 0..1 (default %(default)s)")
    parser.add_argument("--n-samples", type=int, default=d.n_samples,
                        help="generated data sets (2-D ones, mnist1d): samples, 20..100000 (default %(default)s)")
    parser.add_argument("--noise", type=float, default=d.noise,
                        help="generated 2-D data sets: noise, 0..2 (default %(default)s)")
    parser.add_argument("--data-file", default=None, help=f"--dataset {FILE}: a .npz (X, y) or .csv file")
    parser.add_argument("--label-column", default=None, help="--data-file CSV: the label column (default 'label')")
    parser.add_argument("--device", choices=DEVICES, default="auto", help="training device (default %(default)s)")
    parser.add_argument("--name", type=_name, default=None,
                        help=f"what the page calls the run, 1..{NAME_MAX} characters (default: what the run is)"
                             + ("; each run of the sweep is '<name>, beta <beta>'" if sweep else ""))
    _add_store_option(parser)


def _add_store_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--store", default=None,
                        help=f"store directory (default $EPOCHSCOPE_HOME or {default_store_dir()})")


def _add_logdir_option(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument("--logdir", default=None, metavar="DIR",
                        help=f"a log directory written by epochscope.Recorder or its callbacks: {what} "
                             "(default $EPOCHSCOPE_LOGDIR)")


def _add_layout_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--layout", default=None, metavar="JSON",
                        help="layout parameters as a JSON object, e.g. '{\"guard\": null}' (default "
                             "$EPOCHSCOPE_LAYOUT or the defaults): a server finds these frames when it has the same")


def _add_serve_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="interface to bind (default 127.0.0.1, this machine only)")
    parser.add_argument("--port", type=int, default=8050, help="port, 1-65535 (default 8050)")
    _add_store_option(parser)
    parser.add_argument("--run", default=None,
                        help="a run id from the store (`list`; default $EPOCHSCOPE_RUN, else the newest run under "
                             "--logdir, else the built-in experiment)")
    _add_layout_option(parser)
    _add_logdir_option(parser, "show its runs, followed while they grow")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m epochscope", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug messages")
    commands = parser.add_subparsers(dest="command", required=True)
    _add_run_options(commands.add_parser("train", help="train one run and record every epoch (an interrupted run "
                                                       "resumes after its last epoch)"), sweep=False)
    sweep = commands.add_parser("sweep", help="train one beta-VAE run per beta (resumes an interrupted sweep)")
    sweep.add_argument("--betas", type=_floats, default=DEFAULT_BETAS, metavar="B,B,..",
                       help=f"betas, each 0..1000 (default {','.join(f'{b:g}' for b in DEFAULT_BETAS)})")
    _add_run_options(sweep, sweep=True)
    prepare = commands.add_parser("prepare", help="lay out every (layer, epoch) frame of a stored run and measure it, "
                                  "as the page's job does (training the run first if it is unfinished)")
    prepare.add_argument("run_id", help="a run id from `list`")
    prepare.add_argument("--graph", choices=GRAPHS, default=None,
                         help="knn: samples only; bipartite: neuron x sample graph (default: the layout's, knn)")
    prepare.add_argument("--method", choices=("ours", *BASELINES), default="ours",
                         help="our layout, or a reference tool's for comparison (default %(default)s)")
    _add_store_option(prepare)
    _add_layout_option(prepare)
    report = commands.add_parser("report", help="write a run's report: one self-contained HTML file with its "
                                 "story, timeline, small multiples, curves, CKA and data map (laying out and "
                                 "measuring what is missing first)")
    report.add_argument("run_id", help="a run id from `list`")
    report.add_argument("--out", default=None, help="the file to write (default: <run name>-report.html here)")
    report.add_argument("--epochs", type=_sizes, default=None, metavar="E,E,..",
                        help="the small multiples' epochs, 1 to 12 (default: 0, a quarter, half, three quarters, last)")
    _add_store_option(report)
    _add_layout_option(report)
    removal = commands.add_parser("delete", help="delete a stored run (its epochs and frame indices)")
    removal.add_argument("run_id", help="a run id from `list`")
    _add_store_option(removal)
    listing = commands.add_parser("list", help="list the stored runs and sweeps, or a log directory's runs")
    _add_store_option(listing)
    _add_logdir_option(listing, "list its runs instead")
    _add_serve_options(commands.add_parser("serve", help="serve the page (as python app.py)"))
    return parser


def config_from_args(args: argparse.Namespace, parser: argparse.ArgumentParser) -> RunConfig:
    """The run config the options describe; a bad value exits with the option's name and range."""
    values = {field: getattr(args, option) for option, field in _FIELDS.items() if hasattr(args, option)}
    if args.command == "sweep":
        values["model"] = "vae"
    try:
        return RunConfig(**values)
    except ValueError as exc:
        message = str(exc)
        field = message.split(" ", 1)[0]
        option = next((o for o, f in _FIELDS.items() if f == field), None)
        parser.error(f"argument --{option.replace('_', '-')}: {message}" if option else message)
        raise  # unreachable: parser.error exits


def _prepare(store: RunStore, settings: Settings, args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    """``prepare RUN_ID``: the run's frames laid out and measured into the store; prints what is ready."""
    from frames.compute import compute_baseline_frames  # the layout stage: only this command needs it
    from frames.prepare import prepare

    if not store.has_run(args.run_id):
        parser.error(f"run {args.run_id!r} is not in the store (see `list`)")
    params = replace(settings.layout, graph=args.graph or settings.layout.graph)
    info, bar = store.run_info(args.run_id), TerminalProgress()
    try:
        if args.method == "ours":
            info, ready = prepare(store, info.config, params, bar)
        else:
            ready = sum(compute_baseline_frames(store, info, layer, args.method, bar)
                        for layer in range(len(info.layer_sizes)))
    finally:
        bar.close()
    total = len(info.layer_sizes) * info.epochs_done
    print(f"{info.run_id}: {ready}/{total} frames ready ({params.graph}, {args.method})")
    return 0 if ready == total else 1


def _report(store: RunStore, settings: Settings, args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    """``report RUN_ID``: the run prepared as the page's job would (what is laid out and measured is kept), then
    its report written to ``--out``."""
    from dashboard.report import report_filename, run_report  # the page's figures: only this command needs them
    from frames.prepare import prepare

    if not store.has_run(args.run_id):
        parser.error(f"run {args.run_id!r} is not in the store (see `list`)")
    info, bar = store.run_info(args.run_id), TerminalProgress()
    try:
        prepare(store, info.config, settings.layout, bar)
    finally:
        bar.close()
    try:
        text = run_report(store, args.run_id, settings.layout, args.epochs)
    except ValueError as exc:
        parser.error(f"argument --epochs: {exc}" if args.epochs is not None else str(exc))
    out = Path(args.out) if args.out else Path(report_filename(store, args.run_id))
    out.write_text(text, encoding="utf-8")
    print(f"{out} ({len(text) / 1e6:.1f} MB)")
    return 0


def _serve(settings: Settings, args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    """``serve``: the page on ``args.host:args.port`` until stopped."""
    from dashboard.deploy import warm_up  # the page: only this command needs Dash
    from epochscope.app.http_worker import RequestHandler
    from epochscope.app.serve import build_app, log_to_terminal

    if not 1 <= args.port <= 65535:
        parser.error(f"--port must be in 1-65535, got {args.port}")
    log_to_terminal()
    try:
        app, _ = build_app(settings)
    except KeyError as exc:
        parser.error(f"--run: {exc.args[0]} (see python -m epochscope list --store ...)")
    except StoreDamaged as exc:
        parser.exit(2, f"epochscope: {exc}\n")
    warm_up(app)
    logger.info("EpochScope at http://%s:%d (store %s%s)", args.host, args.port, settings.store_dir,
                f", log directory {settings.logdir}" if settings.logdir else "")
    app.run(host=args.host, port=args.port, debug=False, request_handler=RequestHandler)
    return 0


def _list(store: RunStore, settings: Settings, args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    """``list``: every stored run (state, last epoch, a VAE's beta, name) and sweep; with a log directory, its runs
    (id, state, last epoch or step, folder)."""
    if settings.logdir is not None:
        if not settings.logdir.is_dir():
            parser.error(f"--logdir: {settings.logdir} is not a directory")
        for run in list_runs(settings.logdir):
            last = f"{run.header.unit}s {run.records - 1:>4}" if run.records else "no records yet"
            print(f"{log_config(run).run_id}  {run.state:<11} {last}  {run.path}")
        return 0
    for info in store.list_runs():
        beta = f"  beta {info.config.beta:g}" if info.config.model == "vae" else ""
        last = f"epochs {info.epochs_done - 1:>4}" if info.epochs_done else "no epoch yet"
        print(f"{info.run_id}  {info.state:<9} {last}{beta}  {info.name}")
    for sid in store.list_sweeps():
        print(f"{sid}  betas {', '.join(f'{b:g}' for b, _ in sweep_runs(store, sid))}")
    return 0


def _delete(store: RunStore, settings: Settings, args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    """``delete RUN_ID``: a stored run that no live process trains."""
    if not store.has_run(args.run_id):
        parser.error(f"run {args.run_id!r} is not in the store (see `list`)")
    if store.run_info(args.run_id).state == "training":
        parser.error(f"run {args.run_id} is being trained by a live process: stop it first")
    custom = store.run_info(args.run_id).config.model == "custom"
    store.delete_run(args.run_id)
    if custom:  # a recorded run: not brought back from its log directory
        store.keep_out(args.run_id)
    print(f"deleted {args.run_id}")
    return 0


def _train(store: RunStore, settings: Settings, args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    """``train``: one run, with a progress bar; 0 when it completes."""
    config = config_from_args(args, parser)
    if args.name is not None:
        store.set_name(config.run_id, args.name)
    bar = TerminalProgress()
    run_id = train(config, store, progress=bar, device=args.device)
    bar.close()
    info = store.run_info(run_id)
    print(f"{run_id} {info.state} {info.message}".strip())
    return 0 if info.state == "complete" else 1


def _sweep(store: RunStore, settings: Settings, args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    """``sweep``: one beta-VAE run per beta, then a line per run (active units, KL, reconstruction)."""
    config = config_from_args(args, parser)
    try:
        betas = check_betas(args.betas)
    except ValueError as exc:
        parser.error(f"argument --betas: {exc}")
    bar = TerminalProgress()
    sid = run_sweep(config, store, betas, progress=bar, device=args.device, name=args.name)
    bar.close()
    nan = float("nan")
    for beta, run_id in sweep_runs(store, sid):
        info = store.run_info(run_id)
        last = store.metrics(run_id)[-1] if info.epochs_done else {}
        print(f"beta {beta:>6g}  {run_id}  {info.state:<9} active units {last.get('active_units', nan):.0f} "
              f"(by KL: {last.get('active_units_kl', nan):.0f})  KL {last.get('kl', nan):.2f} nats  "
              f"reconstruction {last.get('recon', nan):.2f} nats")
    print(sid)
    return 0


#: the commands that work on the store, by name
_COMMANDS = {"list": _list, "delete": _delete, "prepare": _prepare, "report": _report, "train": _train,
             "sweep": _sweep}


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        settings = load_settings(store=args.store, run=getattr(args, "run", None), layout=getattr(args, "layout", None),
                                 logdir=getattr(args, "logdir", None))
    except ValueError as exc:
        parser.error(str(exc))
    if args.command == "serve":
        return _serve(settings, args, parser)
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.INFO, format="%(levelname)s %(message)s")
    try:
        store = RunStore(settings.store_dir)
    except StoreDamaged as exc:
        parser.exit(2, f"epochscope: {exc}\n")
    try:
        return _COMMANDS[args.command](store, settings, args, parser)
    finally:
        store.close()


if __name__ == "__main__":
    sys.exit(main())
