"""A run's report: one self-contained HTML file (plotly.js and every figure's data inlined: no network needed)
that tells the run's story (:mod:`analysis.story`) with its timeline, small multiples of each layer at chosen
epochs, the training curves, CKA, the data map, when the samples were learned and when each class became
decodable; laid out to be read on screen and printed (each figure kept whole on a page).

From the page ("Download the run report") and the command line (``epochscope report RUN_ID``).
"""

from __future__ import annotations

import html
import json
import time
from collections.abc import Sequence

import numpy as np
from plotly.offline import get_plotlyjs

from analysis import stage
from analysis.cartography import REGIONS
from analysis.events import KINDS
from analysis.story import Story, run_story, summary
from dashboard import catalogue, figures, service, story_figures
from layout_engine.params import LayoutParams
from models.naming import slug
from models.store import RunStore

#: the small multiples' columns when none are asked for: epoch 0, a quarter, half, three quarters and the last
SNAPSHOTS = 5
#: the report's page style: readable on screen, each figure kept on one printed page
STYLE = """
body { font-family: system-ui, sans-serif; max-width: 1000px; margin: 24px auto; padding: 0 16px; color: #222; }
h1 { font-size: 1.5em; margin-bottom: 0; } h2 { font-size: 1.15em; margin-top: 1.8em; border-bottom: 1px solid #ddd; }
.muted { color: #666; } .fig { width: 100%; break-inside: avoid; page-break-inside: avoid; margin: 8px 0; }
table { border-collapse: collapse; width: 100%; font-size: 0.9em; } td, th { border-bottom: 1px solid #eee;
padding: 3px 6px; text-align: left; vertical-align: top; } th { background: #f6f6f6; }
@media print { body { max-width: none; margin: 0; } h2 { break-after: avoid; } tr { break-inside: avoid; } }
"""


def snapshot_epochs(n_epochs: int, count: int = SNAPSHOTS) -> list[int]:
    """``count`` epochs spread over 0 .. n_epochs - 1, first and last included, without repeats."""
    return sorted({int(round(v)) for v in np.linspace(0, n_epochs - 1, min(count, n_epochs))})


def _check_epochs(epochs: Sequence[int], n_epochs: int) -> list[int]:
    bad = [e for e in epochs if not (isinstance(e, int) and 0 <= e < n_epochs)]
    if bad or not epochs:
        raise ValueError(f"epochs must be 1 to 12 whole numbers in 0..{n_epochs - 1}, got {list(epochs)}")
    if len(epochs) > 12:
        raise ValueError(f"epochs must be 1 to 12 whole numbers in 0..{n_epochs - 1}, got {len(epochs)} of them")
    return sorted(set(epochs))


def report_figures(store: RunStore, run_id: str, story: Story, params: LayoutParams, epochs: Sequence[int]
                   ) -> list[tuple[str, str, dict]]:
    """The report's figures in order: (section, caption, Plotly JSON)."""
    info = store.run_info(run_id)
    metrics = store.metrics(run_id)
    steps = info.steps(metrics)
    last, n_layers = story.n_epochs - 1, len(story.layer_names)
    out = [("Timeline", "Every event at its epoch and layer; marker size grows with how far past its threshold.",
            story_figures.timeline_figure(story.events, story.n_epochs, story.layer_names, None, steps))]
    panels, labels = {}, store.probe(run_id)["y"]
    for layer in range(n_layers):
        for epoch in epochs:
            view = service.frame_view(store, run_id, layer, epoch, params)
            if view is not None:
                panels[(layer, epoch)] = view.coords[:len(labels)]
    caption = "Each hidden layer (rows) at the chosen epochs (columns), samples coloured by class."
    if len(panels) < n_layers * len(epochs):
        caption += f" {n_layers * len(epochs) - len(panels)} of these frames are not laid out yet and are blank."
    out.append(("Each layer over training", caption,
                story_figures.small_multiples_figure(panels, labels, story.layer_names, epochs, story.class_names)))
    top, name = n_layers - 1, story.layer_names[-1]  # the layer nearest the output: the others' probes are in CKA
    scores = {**service.scores(store, run_id, top, params), **stage.curves(store, run_id, top)}
    out.append(("Training curves", f"Loss, accuracy and the last hidden layer ({name})'s measures over training: "
                "each 2-D score of the map beside its raw-space twin, the linear probe, intrinsic dimension and "
                "the map's motion against the data's.",
                figures.training_figure(metrics, scores, last, name, None, steps)))
    cka = stage.run_cka(store, run_id)
    if cka is not None:
        out.append(("CKA", "Linear CKA between layers at the last epoch.",
                    figures.cka_layers_figure(cka["by_layer"], story.layer_names, n_layers - 1, last)))
        for layer, name in enumerate(story.layer_names):
            out.append(("CKA", f"Linear CKA between the epochs of {name}.",
                        figures.cka_figure(cka["by_epoch"][layer], [str(e) for e in range(story.n_epochs)], last,
                                           f"CKA between epochs · {name}", "epoch")))
    if np.isfinite(story.learned).any():
        out.append(("When each sample was learned", "The epoch from which each probe sample stays correctly "
                    "classified (as trained).", story_figures.learned_figure(story.learned, story.n_epochs)))
    out.append(("When each class became decodable", "Per layer and class, the epoch from which a linear probe's "
                "held-out recall of the class stays at or above 0.8.",
                story_figures.decodable_figure(story.decodable, story.layer_names, story.class_names,
                                               story.n_epochs)))
    found = stage.run_cartography(store, run_id)
    if found is not None:
        carto, members = found
        probe = store.probe(run_id)
        labels_ = stage.probe_labels(store, info)
        out.append(("Data map", "Each training sample by the mean and spread of the probability given to its label "
                    "over epochs (Swayamdipta et al. 2020).",
                    figures.cartography_figure(carto.variability, carto.confidence, carto.region,
                                               probe["index"][members],
                                               (labels_.trained != labels_.true)[members], REGIONS)))
    return out


def _events_table(story: Story) -> str:
    rows = "".join(
        f"<tr><td>{e.epoch}</td><td>{html.escape('network' if e.layer is None else story.layer_names[e.layer])}</td>"
        f"<td>{html.escape(KINDS[e.kind])}</td><td>{html.escape(e.text)}</td></tr>"
        for e in sorted(story.events, key=lambda e: (e.epoch, -1 if e.layer is None else e.layer)))
    return ("<table><thead><tr><th>epoch</th><th>layer</th><th>event</th><th>what, by how much, against which "
            f"threshold</th></tr></thead><tbody>{rows}</tbody></table>" if rows else
            "<p class=\"muted\">No event cleared its threshold.</p>")


def run_report(store: RunStore, run_id: str, params: LayoutParams = LayoutParams(),
               epochs: Sequence[int] | None = None) -> str:
    """The run's report as one HTML document.

    Parameters
    ----------
    store : RunStore
    run_id : str
    params : LayoutParams
        The layouts shown in the small multiples (those the page shows).
    epochs : sequence of int, optional
        The small multiples' epochs (1 to 12 of the run's); default :func:`snapshot_epochs`.

    Raises
    ------
    KeyError
        The run is not in the store.
    ValueError
        The run is not measured yet (its story waits for every frame), or ``epochs`` is out of range.
    """
    info = store.run_info(run_id)
    story = run_story(store, run_id)
    if story is None:
        raise ValueError(f"run {run_id!r} is not measured yet: its report is written once every frame is measured "
                         "(open it in the page, or run `epochscope prepare` first)")
    epochs = snapshot_epochs(story.n_epochs) if epochs is None else _check_epochs(list(epochs), story.n_epochs)
    heading = catalogue.heading(store, run_id, info.config)
    parts, specs, section = [], [], None
    for i, (where, caption, figure) in enumerate(report_figures(store, run_id, story, params, epochs)):
        if where != section:
            parts.append(f"<h2>{html.escape(where)}</h2>")
            section = where
        parts.append(f"<div class=\"fig\" id=\"fig{i}\"></div><p class=\"muted\">{html.escape(caption)}</p>")
        specs.append({"id": f"fig{i}", "section": where, "figure": figure})
    lines = "".join(f"<li>{html.escape(line)}</li>" for line in summary(story, top=10))
    data = json.dumps(specs, separators=(",", ":"), default=_json_default).replace("<", "\\u003c")
    return ("<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>{html.escape(heading)} · report</title><style>{STYLE}</style></head>\n<body>\n"
            f"<h1>{html.escape(heading)}</h1>\n<p class=\"muted\">{html.escape(catalogue.describe(info))} · "
            f"report written {time.strftime('%Y-%m-%d %H:%M')} by EpochScope</p>\n"
            f"<h2>The story</h2>\n<ul>{lines}</ul>\n<h2>Every event</h2>\n{_events_table(story)}\n"
            + "\n".join(parts) +
            f"\n<script type=\"application/json\" id=\"figures\">{data}</script>\n"
            f"<script>{get_plotlyjs()}</script>\n"
            "<script>for (const s of JSON.parse(document.getElementById('figures').textContent)) {"
            "Plotly.newPlot(s.id, s.figure.data, s.figure.layout, {displayModeBar: false, responsive: true});}"
            "</script>\n</body></html>\n")


def _json_default(value):
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"{type(value).__name__} is not JSON")


def report_filename(store: RunStore, run_id: str) -> str:
    """The report's file name: the run's name as a slug."""
    return f"{slug(store.run_info(run_id).name, run_id)}-report.html"
