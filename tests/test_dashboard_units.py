"""Dashboard pieces without a browser: the URL's view, the inspector's sample, the figure builders."""

import json
import re
from dataclasses import replace
from pathlib import Path

import numpy as np
import plotly.graph_objects as go
import pytest

from analysis import stage
from dashboard import figures, service
from dashboard.inspection import N_NEIGHBOURS, sample_view
from dashboard.panels.url_state import parse
from dashboard.typed import decode
from frames import chains as frames_chains
from frames import compute as frames_compute
from frames import index as frames_index
from frames import prepare as frames_prepare
from frames.motion import MOTION
from frames.scores import SCORES
from layout_engine.params import LayoutParams

FAST = LayoutParams(n_iter=80, warm_n_iter=20)


def test_a_url_query_becomes_a_view_and_bad_fields_are_named():
    index = np.array([3, 8, 20])
    view = parse({"layer": "1", "epoch": "12", "colour": "sensitivity", "sample": "8"}, n_layers=4, last_epoch=30,
                 sample_index=index)
    assert (view.layer, view.epoch, view.colour, view.sample, view.problems) == (1, 12, "sensitivity", 8, ())
    bad = parse({"layer": "7", "epoch": "-1", "colour": "rainbow", "sample": "9"}, n_layers=4, last_epoch=30,
                sample_index=index)
    assert (bad.layer, bad.epoch, bad.colour, bad.sample) == (0, 0, "class", None)
    assert bad.problems == ("layer must be in 0..3, got 7", "epoch must be in 0..30, got -1",
                            "colour must be one of class, predicted, correct, sensitivity, scrambled, learned, "
                            "got 'rainbow'",
                            "sample 9 is not in the probe set")
    assert parse({"epoch": "1e9"}, n_layers=1, last_epoch=3, sample_index=None).problems == (
        "epoch must be a whole number, got '1e9'",)


def test_the_inspector_gathers_a_sample_and_its_nearest_neighbours(store_copy, tiny_config):
    probe = store_copy.probe(tiny_config.run_id)
    sample = int(probe["index"][5])
    view = sample_view(store_copy, tiny_config.run_id, 1, 3, sample)
    A = store_copy.activations(tiny_config.run_id, 3, 1)
    assert view.position == 5 and view.label == probe["y"][5] and view.activations.shape == (12,)
    assert len(view.neighbours) == N_NEIGHBOURS and 5 not in view.neighbours
    d = np.linalg.norm(A - A[5], axis=1)
    assert d[view.neighbours].max() <= np.sort(d)[N_NEIGHBOURS]  # really the nearest (self is at 0)
    np.testing.assert_array_equal(view.neighbour_index, probe["index"][view.neighbours])
    assert view.sensitivity is not None and 0 <= view.sensitivity_rank <= 1 and view.predicted is not None
    with pytest.raises(KeyError, match="not in the probe set"):
        sample_view(store_copy, tiny_config.run_id, 1, 3, -5)


def plotly_js(figure: dict) -> go.Figure:
    """``figure`` as plotly.py reads it, after checking it is what plotly.js reads too: plotly.py accepts
    shorthands (``marker_color``) that plotly.js ignores, so every key must survive plotly.py's own JSON."""
    fig = go.Figure(figure)
    for ours, theirs in zip(figure["data"], fig.to_plotly_json()["data"]):
        assert set(ours) <= set(theirs), set(ours) - set(theirs)
    assert set(figure["layout"]) <= set(fig.to_plotly_json()["layout"])
    return fig


def test_figure_builders_draw_a_digit_features_activations_and_curves(store_copy, tiny_config):
    digit = plotly_js(figures.sample_figure(np.linspace(0, 1, 64), (8, 8)))  # valid Plotly JSON
    assert digit.data[0].type == "heatmap" and np.asarray(digit.data[0].z).shape == (8, 8)
    point = plotly_js(figures.sample_figure(np.array([0.2, 0.7, 0.1]), None))
    assert point.data[0].type == "bar" and list(point.data[0].y) == [0.2, 0.7, 0.1]
    on_set = plotly_js(figures.sample_figure(np.array([0.2, 0.7]), None, np.random.rand(50, 2), np.arange(50) % 2))
    assert len(on_set.data[0].x) == 50 and list(on_set.data[1].x) == [0.2]  # the point, ringed, on its data set
    assert len(plotly_js(figures.activation_figure(np.ones(12), "h2")).data[0].y) == 12
    assert plotly_js(figures.message_figure("Pick a run")).layout.annotations[0].text == "Pick a run"
    assert list(plotly_js(figures.class_means_figure(np.ones(3), ["a", "b", "c"])).data[0].x) == ["a", "b", "c"]
    assert list(plotly_js(figures.active_units_figure([0.0, 4.0], [2, 0], 4.0)).data[1].y) == [0]
    frames_prepare.prepare(store_copy, tiny_config, FAST)
    metrics = store_copy.metrics(tiny_config.run_id)
    scores = service.scores(store_copy, tiny_config.run_id, 0, FAST)
    assert all(len(v) == 4 for v in scores.values())
    assert all(s is not None for name in SCORES for s in scores[name])
    # the motion from each epoch to the next; the first epoch has none
    assert all(scores[name][0] is None and None not in scores[name][1:] for name in MOTION)
    assert all(0 <= c <= 1 for c in scores["real_churn"][1:] + scores["shown_churn"][1:])
    assert all(0.5 < t <= 1 for t in scores["trust"]) and all(0 < r < 1.5 for r in scores["ratio"])
    assert scores["ratio"][-1] < scores["ratio"][0]  # classes pull apart over training
    assert all(0 < h <= 1 for h in scores["nh"])
    curves = stage.curves(store_copy, tiny_config.run_id, 0)
    assert all(len(v) == 4 and all(s is not None for s in v) for v in curves.values())
    fig = plotly_js(figures.training_figure(metrics, {**scores, **curves}, 2, "h1"))
    names = [t.name for t in fig.data]
    assert names == ["train loss", "test loss", "train acc.", "test acc.", "silhouette (2-D)", "silhouette (raw)",
                     "kNN class purity (2-D)", "kNN class purity (raw)", "intra / inter distance (2-D)",
                     "intra / inter distance (raw)", "trustworthiness", "linear probe (raw)", "probe chance",
                     "TwoNN dimension", "neighbour churn on the map", "neighbour churn in the raw space",
                     "median displacement (of the radius)", "the map moves more than the data"]
    # every 2-D score has its raw-space twin, drawn in the same colour, dashed
    for flat, raw in ((4, 5), (6, 7), (8, 9)):
        assert fig.data[flat].line.color == fig.data[raw].line.color and fig.data[raw].line.dash == "dash"
    assert any(shape.x0 == 2 for shape in fig.layout.shapes)  # the current epoch is marked


def test_exports_write_the_frame_its_graph_and_the_animation_as_the_map_shows_them(store_copy, tiny_config):
    import csv
    import io
    import xml.etree.ElementTree as ET

    from dashboard.export import animation_html, frame_csv, frame_graphml

    run = tiny_config.run_id
    with pytest.raises(KeyError, match="not laid out yet"):
        frame_csv(store_copy, run, 0, 1, FAST)
    frames_prepare.prepare(store_copy, tiny_config, FAST)
    rows = list(csv.DictReader(io.StringIO(frame_csv(store_copy, run, 1, 2, FAST))))
    view = service.frame_view(store_copy, run, 1, 2, FAST)
    assert len(rows) == 240 and rows[0]["layer"] == "h2" and rows[0]["epoch"] == "2"
    assert [int(r["sample"]) for r in rows] == view.sample_index.tolist()
    np.testing.assert_allclose([float(r["x"]) for r in rows], view.coords[:, 0], atol=1e-5)
    assert {r["predicted_class"] for r in rows} <= {str(c) for c in range(10)} and rows[0]["sensitivity"] != ""

    ns = {"g": "http://graphml.graphdrawing.org/xmlns"}
    root = ET.fromstring(frame_graphml(store_copy, run, 1, 2, FAST, tuple(str(c) for c in range(10))))
    graph = frames_chains.cached_graph(store_copy, store_copy.activations(run, 2, 1), FAST)
    assert len(root.findall(".//g:node", ns)) == 240
    assert len(root.findall(".//g:edge", ns)) == graph.nnz // 2  # each undirected edge once

    page = animation_html(store_copy, run, 0, FAST)
    data = embedded_animation(page)
    assert page.startswith("<!DOCTYPE html>") and "h1 (24 units)" in page and "Plotly" in page
    assert sorted(data["frames"], key=int) == ["0", "1", "2", "3"] and data["colour"] == "class"
    assert data["sequence"]["layer"] == 0 and data["samples"]["run"] == run
    assert "mapFigure" in page and "<script src" not in page  # the page's figure code, inlined: no network

    # the exports follow what the map shows: the neuron x sample graph, a reference method
    names = tuple(str(c) for c in range(10))
    bipartite = replace(FAST, graph="bipartite")
    info = store_copy.run_info(run)
    frames_compute.compute_frames(store_copy, info, bipartite, layers=[1])
    rows = list(csv.DictReader(io.StringIO(frame_csv(store_copy, run, 1, 2, bipartite))))
    shown = service.frame_view(store_copy, run, 1, 2, bipartite).coords
    assert len(rows) == 240 + 12 and rows[-1]["node"] == "neuron 11" and rows[0]["node"] == "sample"
    np.testing.assert_allclose([float(r["x"]) for r in rows], shown[:, 0], atol=1e-5)
    assert not np.allclose(shown[:240, 0], view.coords[:, 0])  # not the kNN layout
    root = ET.fromstring(frame_graphml(store_copy, run, 1, 2, bipartite, names))
    graph = frames_chains.cached_graph(store_copy, store_copy.activations(run, 2, 1), bipartite)
    assert len(root.findall(".//g:node", ns)) == 252 and len(root.findall(".//g:edge", ns)) == graph.nnz // 2
    data = embedded_animation(animation_html(store_copy, run, 1, bipartite, "sensitivity"))
    assert data["sequence"]["graph"] == "bipartite" and data["sequence"]["n_nodes"] == 252
    assert data["colour"] == "sensitivity"
    with pytest.raises(ValueError, match="colour must be one of class, predicted"):
        animation_html(store_copy, run, 1, bipartite, "rainbow")
    frames_compute.compute_baseline_frames(store_copy, info, 1, "pca")
    pca = service.frame_view(store_copy, run, 1, 2, FAST, "pca").coords
    rows = list(csv.DictReader(io.StringIO(frame_csv(store_copy, run, 1, 2, FAST, "pca"))))
    np.testing.assert_allclose([float(r["y"]) for r in rows], pca[:, 1], atol=1e-5)


def test_a_reference_method_lays_out_each_epoch_aligned_to_the_last(store_copy, tiny_config):
    run = tiny_config.run_id
    info = store_copy.run_info(run)
    assert frames_compute.compute_baseline_frames(store_copy, info, 1, "pca") == 4
    payload = service.sequence_payload(store_copy, run, 1, FAST, method="pca")
    assert payload["method"] == "pca" and sorted(payload["frames"]) == ["0", "1", "2", "3"]
    # the display frames are PCA, normalized and rotated onto the previous epoch: unit RMS radius
    frame = service.frame_arrays(store_copy, run, 1, 2, FAST, method="pca")
    x, y = decode(frame["x"]), decode(frame["y"])
    assert np.sqrt(np.mean(x ** 2 + y ** 2)) == pytest.approx(1.0, abs=1e-3)
    assert service.sequence_payload(store_copy, run, 1, FAST)["frames"] == {}  # ours is separate
    with pytest.raises(ValueError, match="method must be one of umap, tsne, pca"):
        frames_compute.compute_baseline_frames(store_copy, info, 1, "mds")
    view = parse({"graph": "bipartite", "method": "umap"}, n_layers=2, last_epoch=3, sample_index=None)
    assert (view.graph, view.method, view.problems) == ("bipartite", "umap", ())
    assert parse({"method": "mds"}, n_layers=2, last_epoch=3, sample_index=None).problems == (
        "method must be one of ours, umap, tsne, pca, got 'mds'",)


def test_the_polarised_regime_and_the_two_active_unit_criteria_are_said_in_words():
    from dashboard.panels.vae_panel import criteria_message, regime_message

    sweep = [(0.0, 0.42, 8), (0.5, 0.53, 5), (1.0, 0.51, 6), (2.0, float("nan"), 0)]
    said = regime_message(sweep, 8, 0.1)
    assert "0.53 at beta 0.5, 0.51 at beta 1;" in said and "beta 0," not in said and "beta 2" not in said
    assert regime_message(sweep[:1], 8, 0.1).startswith("No run of the sweep is in the polarised regime")
    assert criteria_message(5, 5).startswith("Active units: 5 by the variance") and "spend nats" not in \
        criteria_message(5, 5)
    assert "spend nats" in criteria_message(3, 4) and "by variance only" in criteria_message(4, 3)


def test_posterior_collapse_is_called_out_in_words():
    from dashboard.panels.vae_panel import collapse_message

    assert collapse_message(0, 8, 0.0, 16).startswith("Posterior collapse: no latent unit is active at beta 16")
    # an untrained VAE is not called collapsed, and "no collapse" is no warning
    from dashboard.panels.vae_panel import collapse_class

    assert collapse_message(0, 8, 0.0, 16, epoch=0).startswith("Before training, at beta 16: 0 of 8 latent")
    assert collapse_class(0, 8, 0) == collapse_class(8, 8, 5) == "collapse collapse-none"
    assert collapse_class(3, 8, 5) == "collapse"
    assert collapse_message(3, 8, 2.5, 1).startswith("Partial collapse: 3 of 8 latent units active at beta 1")
    assert collapse_message(8, 8, 190.0, 0).startswith("All 8 latent units active at beta 0")
    kl = plotly_js(figures.kl_figure(np.array([0.001, 0.5, 2.0]), np.array([False, True, True])))
    assert list(kl.data[0].marker.color)[0] == "#BBBBBB"  # an inactive unit is greyed
    images = figures.images_figure([("input", np.random.rand(3, 64)), ("prior", np.random.rand(3, 64))], (8, 8))
    assert len(images.data) == 6


@pytest.mark.parametrize(("values", "field", "message"), [
    (("mlp", "digits", "64,x", 10, "1", "none", 0), "hidden", "comma-separated whole numbers"),
    (("mlp", "digits", "", 10, "1", "none", 0), "hidden", "comma-separated whole numbers"),
    (("mlp", "digits", "64,5000", 10, "1", "none", 0), "hidden", "hidden must be 1 to 8 layer sizes, each 1..4096"),
    (("mlp", "digits", "64", 5000, "1", "none", 0), "epochs", "epochs must be an integer in 0..1000, got 5000"),
    (("mlp", "digits", "64", None, "1", "none", 0), "epochs", "epochs must be an integer in 0..1000"),
    (("vae", "digits", "64", 10, "1,-1", "none", 0), "beta", "each beta must be in 0..1000"),
    (("vae", "digits", "64", 10, "big", "none", 0), "beta", "beta must be numbers in 0..1000"),
    (("mlp", "digits", "64", 10, "0,4", "none", 0), "beta", "needs the beta-VAE model"),
    (("mlp", "digits", "64", 10, "1", "labels", 1.5), "fraction", "scramble_fraction must be a number in 0.0..1.0"),
])
def test_the_new_run_form_names_each_bad_field_and_its_range(values, field, message):
    from dashboard.form import check_form

    result = check_form(*values)
    assert result.config is None and message in result.errors[field]


def test_a_good_form_gives_a_run_or_a_sweep():
    from dashboard.form import check_form

    one = check_form("mlp", "moons", "16,8", 5.0, "1", "labels", 0.1)
    assert one.errors == {} and one.config.hidden == (16, 8) and one.config.epochs == 5
    assert one.config.scramble == "labels" and one.config.dataset == "moons"
    sweep = check_form("vae", "digits", "32", 3, "0,1,4", "none", None)
    assert sweep.errors == {} and sweep.betas == (0.0, 1.0, 4.0) and sweep.config.model == "vae"


def test_a_neurons_view_lists_its_top_samples_and_class_selectivity(store_copy, tiny_config):
    from dashboard.inspection import neuron_view

    run = tiny_config.run_id
    A = store_copy.activations(run, 3, 1)
    labels = store_copy.probe(run)["y"]
    unit = int(np.argmax(A.var(axis=0)))
    view = neuron_view(store_copy, run, 1, 3, unit)
    order = np.argsort(-A[:, unit], kind="stable")[:N_NEIGHBOURS]
    np.testing.assert_array_equal(view.top_index, store_copy.probe(run)["index"][order])
    assert view.class_means[labels[order[0]]] > 0 and 0 <= view.selectivity <= 1 and not view.dead
    with pytest.raises(KeyError, match="unit must be in 0..11"):
        neuron_view(store_copy, run, 1, 3, 12)
    # a dead unit (never active on the probe set) lists no samples: none activates it
    dead = np.flatnonzero(np.all(store_copy.activations(run, 3, 0) <= 0, axis=0))
    assert len(dead), "the tiny run's h1 has dead units at epoch 3"
    view = neuron_view(store_copy, run, 0, 3, int(dead[0]))
    assert view.dead and len(view.top_index) == 0 and len(view.top_labels) == 0


def test_the_run_picker_lists_every_run_and_names_a_sweeps_runs(tmp_path, tiny_config):
    from dashboard.catalogue import run_options
    from dashboard.context import AppContext
    from models.config import RunConfig
    from models.store import RunStore
    from models.sweep import run_sweep, sweep_of

    store = RunStore(tmp_path)
    ctx = AppContext(store_dir=tmp_path, config=tiny_config, params=FAST)
    assert run_options(store, ctx) == [{"label": "MLP 24-12 on digits, seed 1 · starting", "value": tiny_config.run_id}]
    sid = run_sweep(RunConfig(model="vae", hidden=(8,), latent=2, epochs=1, probe_size=50), store, betas=(0.0, 2.0))
    options = run_options(store, ctx)
    # the app's run (not trained yet), the sweep as its own entry, then its two runs, each naming the sweep
    assert [o["value"] for o in options[:2]] == [tiny_config.run_id, f"sweep:{sid}"] and len(options) == 4
    assert options[1]["label"].startswith("Sweep: beta-VAE 8-2 on digits, betas 0, 2 · 2/2 runs")
    assert options[1]["label"].endswith("complete")
    # each run of the sweep says its beta and its sweep, by name (not by the sweep's hash)
    assert [o["label"].split(" · ")[0] for o in options[2:]] == ["beta-VAE 8-2, beta 2 on digits",
                                                                   "beta-VAE 8-2, beta 0 on digits"]
    assert all(o["label"].endswith("in sweep beta-VAE 8-2 on digits, betas 0, 2") for o in options[2:])
    assert not any(sid in o["label"] for o in options)
    runs = store.sweep(sid)["run_ids"]
    assert sweep_of(store, runs[1]) == [(0.0, runs[0]), (2.0, runs[1])] and sweep_of(store, "nope") is None
    # choosing the sweep shows its run of lowest beta; an unknown sweep is named
    assert ctx.for_run(f"sweep:{sid}").run_id == runs[0]
    with pytest.raises(KeyError, match="sweep 'nope' is not in the store"):
        ctx.for_run("sweep:nope")
    store.delete_run(runs[1])  # a sweep missing a run says so
    label = run_options(store, ctx)[1]["label"]
    assert "1/2 runs" in label and label.endswith("incomplete")
    store.close()


def test_the_readiness_table_counts_each_sequences_frames_per_layer(store_copy, tiny_config):
    from dashboard.panels.map_panel import readiness_table

    run = tiny_config.run_id
    info = store_copy.run_info(run)
    ready = frames_index.readiness(store_copy, run, FAST)
    assert set(ready) == set(frames_index.SEQUENCES) and all(c == [0, 0] for c in ready.values())
    frames_compute.compute_baseline_frames(store_copy, info, 1, "pca")
    frames_compute.compute_frames(store_copy, info, FAST, layers=[0])
    ready = frames_index.readiness(store_copy, run, FAST)
    assert ready[("knn", "pca")] == [0, 4] and ready[("knn", "ours")] == [4, 0]
    assert ready[("bipartite", "ours")] == [0, 0]
    table = readiness_table(ready, 4, info.layer_names, ("knn", "pca", 1))
    cells = [[td.children for td in row.children[1:]] for row in table.children[1].children]
    assert cells[0] == ["✓", "–"] and cells[-1] == ["–", "✓"]
    assert [td.className for td in table.children[1].children[-1].children[1:]] == ["ready-none",
                                                                                    "ready-ready current"]


@pytest.mark.browser  # kaleido drives Chromium
def test_the_map_image_is_drawn_by_kaleido_and_bad_requests_are_named():
    from dashboard.export import MAX_IMAGE_POINTS, map_image

    figure = {"data": [{"type": "scattergl", "mode": "markers", "x": [0, 1, 2], "y": [2, 0, 1]}],
              "layout": {"xaxis": {"visible": False}}}
    svg = map_image(figure, "svg").decode()
    assert svg.startswith("<svg") and len(re.findall(r'class="point[ "]', svg)) == 3  # WebGL points become vector ones
    with pytest.raises(ValueError, match="format must be one of png, svg, got 'gif'"):
        map_image(figure, "gif")
    with pytest.raises(ValueError, match="figure must be a Plotly figure"):
        map_image({"data": "x"}, "png")
    with pytest.raises(ValueError, match=f"at most {MAX_IMAGE_POINTS} points"):
        map_image({"data": [{"type": "scatter", "x": [0] * (MAX_IMAGE_POINTS + 1)}]}, "png")
    with pytest.raises(ValueError, match=r"figure.data\[0\] must be a scatter trace"):
        map_image({"data": [{"type": "heatmap", "z": [[1]]}]}, "png")
    with pytest.raises(ValueError, match=r"figure.data\[0\].marker.color must be a colour"):
        map_image({"data": [{"type": "scatter", "x": [0], "y": [0], "marker": {"color": "url(/x)"}}]}, "png")


def test_deleting_a_run_removes_it_and_its_frame_indices_but_not_one_being_trained(store_copy, tiny_config):
    from dashboard.catalogue import delete
    from models.store import process_owner

    run = tiny_config.run_id
    frames_compute.compute_frames(store_copy, store_copy.run_info(run), FAST, layers=[0])
    assert frames_index.readiness(store_copy, run, FAST)[("knn", "ours")] == [4, 0]
    meta = json.loads(store_copy.runs.get(f"run/{run}/meta"))
    store_copy.runs.set(f"run/{run}/meta", json.dumps(dict(meta, state="training", writer=process_owner())))
    with pytest.raises(ValueError, match="is being trained: cancel its job first"):
        delete(store_copy, run)
    store_copy.runs.set(f"run/{run}/meta", json.dumps(meta))
    assert delete(store_copy, run) == f"Deleted run {run}."
    assert not store_copy.has_run(run) and not any(k.startswith(f"frames/{run}/") for k in store_copy.derived)
    with pytest.raises(ValueError, match="is not in the store"):
        delete(store_copy, run)


def test_an_uploaded_data_set_is_checked_kept_by_its_hash_and_trained_only_from_the_store(tmp_path):
    import base64

    from dashboard.context import AppContext
    from dashboard.form import check_form
    from dashboard.uploads import UPLOADS, save_uploaded
    from dashboard.work import train_job
    from models.config import RunConfig
    from models.datafile import MAX_UPLOAD_BYTES, DataFileError

    rows = ["a,b,species"] + [f"{i % 7},{(i * 3) % 5},{'xy'[i % 2]}" for i in range(40)]
    csv = ("\n".join(rows) + "\n").encode()

    def upload(data: bytes) -> str:
        return "data:text/csv;base64," + base64.b64encode(data).decode()

    path = save_uploaded(tmp_path, upload(csv), "../../secret/plants.csv", "species")
    assert path.parent == tmp_path / UPLOADS and path.suffix == ".csv" and path.read_bytes() == csv
    for contents, name, label, message in [
        (upload(csv), "plants.pkl", "species", "file type must be one of .npz, .csv, got '.pkl'"),
        (upload(csv), "plants.csv", "colour", "label column 'colour' not in the header"),
        ("data:text/csv;base64,%%%", "plants.csv", "species", "not valid base64"),
        (upload(b"x" * (MAX_UPLOAD_BYTES + 1)), "big.csv", "species", "the upload limit is 16,777,216 bytes"),
        (None, None, "species", "choose a .npz or .csv file"),
    ]:
        with pytest.raises(DataFileError, match=re.escape(message)):
            save_uploaded(tmp_path, contents, name, label)
    assert sorted(p.name for p in (tmp_path / UPLOADS).iterdir()) == [path.name]  # nothing else kept

    form = check_form("mlp", "file", "8", 1, "1", "none", 0, data_path=path, label_column="species")
    assert form.errors == {} and form.config.data_path == str(path) and form.config.label_column == "species"
    ctx = AppContext(store_dir=tmp_path, config=RunConfig(), params=FAST)
    fields = ["mlp", "file", "8", 1, "1", "none", 0, None]
    message, shown = train_job(ctx, {"form": fields, "upload": path.name, "label": "species"}, lambda _: None)
    assert shown == form.config.run_id and "complete" in message
    # a forged submission naming a file outside the store's uploads is refused before the file is read
    for forged in ("/etc/passwd", "../../etc/passwd", "missing.csv"):
        message, _ = train_job(ctx, {"form": fields, "upload": forged, "label": "species"}, lambda _: None)
        assert message == "Not trained: the data file must be one uploaded through this form"
    # the submission is the form's fields, checked as the form checks them: no other setting can be sent
    for forged in ({"config": form.config.to_json(), "betas": [1.0]}, {"form": [*fields, 1]}):
        message, shown = train_job(ctx, forged, lambda _: None)
        assert shown is None and message.startswith("Not trained: the submission must be the form's fields")
    message, _ = train_job(ctx, {"form": ["mlp", "digits", "8", 5000, "1", "none", 0, None]}, lambda _: None)
    assert message == "Not trained: epochs must be an integer in 0..1000, got 5000"


def test_only_runs_on_the_same_probe_samples_compare(store_copy, tiny_config):
    from dataclasses import replace

    from dashboard.catalogue import comparable_runs, compare_problem
    from models.train import train

    run = tiny_config.run_id
    twin = replace(tiny_config, scramble="labels", scramble_fraction=0.5)  # same probe samples, other labels
    other = replace(tiny_config, probe_size=200)  # other probe samples
    train(twin, store_copy)
    train(other, store_copy)
    assert [o["value"] for o in comparable_runs(store_copy, run)] == [twin.run_id]
    assert compare_problem(store_copy, run, twin.run_id) is None
    assert "does not have the same probe samples" in compare_problem(store_copy, run, other.run_id)
    assert "choose another run" in compare_problem(store_copy, run, run)
    assert "is not in the store" in compare_problem(store_copy, run, "../../etc/passwd")
    # the compared run's loss and accuracy are overlaid on the curves, long-dashed
    figure = figures.training_figure(store_copy.metrics(run), {}, 0, "h1",
                                     compare=(twin.run_id, store_copy.metrics(twin.run_id)))
    overlaid = [t for t in figure["data"] if t["name"].startswith(twin.run_id)]
    assert [t["name"] for t in overlaid] == [f"{twin.run_id}: test loss", f"{twin.run_id}: test acc."]
    assert all(t["line"]["dash"] == "longdash" and len(t["y"]) == 4 for t in overlaid)


def embedded_animation(page: str) -> dict:
    """The data an HTML animation export draws from (its ``epochscope-data`` script element)."""
    start = page.index('<script type="application/json" id="epochscope-data">')
    body = page[page.index(">", start) + 1:page.index("</script>", start)]
    assert "<" not in body  # nothing in the data can close its element early
    return json.loads(body)


def test_the_page_offers_every_layout_method_the_frames_stage_has():
    from dashboard import vocab
    from frames.index import METHODS

    assert tuple(vocab.METHOD_LABELS) == METHODS


def test_the_browser_ids_are_generated_from_the_vocabulary():
    from dashboard import vocab

    generated = Path(__file__).resolve().parent.parent / "assets" / "epochscope-ids.js"
    assert generated.read_text() == vocab.browser_ids_script(), "run: python -m dashboard.vocab"


def test_the_browser_draws_every_colour_mode_the_page_offers():
    """The page's colour choices (vocab) and the figure code's registry name the same modes, so the map, the
    compared map and the animation export all draw each one."""
    import subprocess

    from dashboard import vocab

    root = Path(__file__).resolve().parent.parent
    script = "console.log(JSON.stringify(Object.keys(require('./assets/epochscope-figure.js').COLOUR_MODES)))"
    out = subprocess.run(["node", "-e", script], cwd=root, capture_output=True, text=True, timeout=60, check=True)
    assert json.loads(out.stdout) == list(vocab.COLOUR_MODES)


def test_a_callback_view_names_what_is_missing(store_copy, tiny_config):
    """AppContext.view resolves the run once and checks the layer and epoch against it, or says what is not there."""
    from dashboard.context import AppContext, NotShown

    ctx = AppContext(store_dir=Path(store_copy.directory), config=tiny_config, params=FAST)
    view = ctx.view(tiny_config.run_id, "1", 3)
    assert (view.layer, view.epoch, view.run_id) == (1, 3, tiny_config.run_id)
    assert view.info.epochs_done == 4 and view.store.has_run(view.run_id)
    for args, message in ((("mlp-nope",), "run 'mlp-nope' is not in the store"),
                          ((tiny_config.run_id, 2), "layer must be in 0..1, got 2"),
                          ((tiny_config.run_id, "h1"), "layer must be a whole number, got 'h1'"),
                          ((tiny_config.run_id, 0, None), "epoch must be a whole number, got None"),
                          ((tiny_config.run_id, 0, 4), "epoch must be in 0..3, got 4")):
        with pytest.raises(NotShown, match=re.escape(message)):
            ctx.view(*args)


def test_the_epoch_sliders_marks_never_crowd_whatever_the_runs_length():
    """At most about ten marks, the first and the last always there, none closer than most of a step to the next
    (the '24 25' a growing run used to show)."""
    from dashboard.panels.controls import epoch_marks

    for last in range(0, 1001):
        marks = sorted(epoch_marks(last))
        assert marks[0] == 0 and marks[-1] == last and len(marks) <= 12, (last, marks)
        gaps = [b - a for a, b in zip(marks, marks[1:])]
        assert not gaps or min(gaps) >= 0.75 * max(gaps[:-1] or gaps), (last, marks)


def test_a_run_started_from_the_form_is_shown_before_its_first_epoch(tmp_path):
    """Train in the form plans the run: the page resolves it and the picker lists it at once, and once training
    has stored it, it is an ordinary run."""
    from dashboard.catalogue import run_options
    from dashboard.context import AppContext
    from models.config import RunConfig
    from models.store import RunStore
    from models.train import train

    store = RunStore(tmp_path)
    ctx = AppContext(store_dir=tmp_path, config=RunConfig(), params=LayoutParams())
    config = RunConfig(hidden=(8,), epochs=1, probe_size=100, seed=9)
    with pytest.raises(KeyError):
        ctx.for_run(config.run_id)
    assert store.plan_run(config) == config.run_id
    assert ctx.for_run(config.run_id).config == config and ctx.for_run(config.run_id).last_epoch == 1
    assert {"label": "MLP 8 on digits, seed 9 · starting", "value": config.run_id} in run_options(store, ctx)
    train(config, store)
    assert store.planned(config.run_id) is None
    labels = [o["label"] for o in run_options(store, ctx) if o["value"] == config.run_id]
    assert len(labels) == 1 and labels[0].startswith("MLP 8 on digits, seed 9 · 1 epoch ·") and "complete" in labels[0]
    store.close()


def test_the_cka_colour_scale_starts_where_the_values_do():
    """A matrix of 0.9-1.0 spans the scale instead of being one yellow; the diagonal (always 1) is left out."""
    m = np.array([[1.0, 0.93, 0.91], [0.93, 1.0, 0.97], [0.91, 0.97, 1.0]])
    assert figures.cka_floor(m) == 0.9
    assert figures.cka_figure(m, ["a", "b", "c"], 0, "t", "layer")["data"][0]["zmin"] == 0.9
    assert figures.cka_floor(np.array([[1.0, 0.2], [0.2, 1.0]])) == 0.2
    assert figures.cka_floor(np.full((2, 2), np.nan)) == 0.0
    by_epoch = np.stack([m, np.array([[1.0, 0.5, 0.6], [0.5, 1.0, 0.7], [0.6, 0.7, 1.0]])])
    assert figures.cka_layers_figure(by_epoch, ["a", "b", "c"], 0, 0)["data"][0]["zmin"] == 0.5  # one for all


def test_the_progress_line_estimates_the_time_left_from_the_stages_pace():
    from dashboard.progress import PageProgress, remaining

    assert remaining(("Laying out", 0, 0.0), 5, 20, now=10.0) == " · about 30 s left"
    assert remaining(("Laying out", 0, 0.0), 5, 200, now=10.0) == " · about 6 min left"
    assert remaining(("Laying out", 0, 0.0), 1, 20, now=10.0) == ""  # one step is too few to go by
    assert remaining(("Laying out", 0, 0.0), 20, 20, now=10.0) == ""  # done
    sent = []
    report = PageProgress(sent.append)
    report("Training", 0, 30)
    assert sent[-1][2] == "Training: 0/30"


def test_a_sweep_from_the_form_leaves_every_beta_ready_to_show(tmp_path):
    """Moving the beta slider over a sweep trained from the page shows each beta's run at once: the sweep's job
    lays out and measures every run after training it (no job is left for a run of the sweep)."""
    from dashboard import work
    from dashboard.context import AppContext
    from dashboard.form import check_form
    from models.store import RunStore

    fields = ["vae", "digits", "8", 1, "0,2", "none", 0, "tiny sweep"]
    base = check_form(*fields[:-1], name=fields[-1]).config
    ctx = AppContext(store_dir=tmp_path, config=base, params=FAST)
    stages: list[str] = []
    message, shown = work.train_job(ctx, {"form": fields}, lambda values: stages.append(values[2]))
    assert message.endswith("trained and laid out")
    store = RunStore(tmp_path)
    runs = [base.with_beta(b).run_id for b in (0.0, 2.0)]
    assert [store.run_info(r).name for r in runs] == ["tiny sweep, beta 0", "tiny sweep, beta 2"]
    assert shown == runs[0]
    assert all(work.ready_summary(store, ctx.for_run(r)) for r in runs)
    assert any(s.startswith("Beta 2 (2/2): Laying out frames") for s in stages)
    store.close()
