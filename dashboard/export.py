"""Exports of what the map shows: the frame as CSV, its graph as GraphML (Gephi), the layer's epoch sequence as
a standalone HTML animation, and the map as PNG / SVG (the figure on the page, drawn by kaleido on the server)."""

from __future__ import annotations

import csv
import html as html_text
import io
import json
import math
import re
from numbers import Real
from pathlib import Path
from typing import Any
from xml.etree import ElementTree
from xml.sax.saxutils import escape

import kaleido
import numpy as np
import plotly.graph_objects as go
import scipy.sparse as sp
from kaleido.errors import ChromeNotFoundError
from plotly.offline import get_plotlyjs

from dashboard import service
from dashboard.figures import class_colour, class_name, plot_text
from dashboard.vocab import COLOUR_MODES
from frames.chains import cached_graph
from layout_engine.params import LayoutParams
from models.store import RunStore

#: the page's scripts (the animation export inlines some)
ASSETS = Path(__file__).resolve().parent.parent / "assets"


def _laid_out(store: RunStore, run_id: str, layer: int, epoch: int, params: LayoutParams,
              method: str = "ours") -> service.FrameView:
    """The frame's view as the map shows it (``params.graph``'s mode, ``method``); ``KeyError`` when it is not
    laid out yet."""
    view = service.frame_view(store, run_id, layer, epoch, params, method)
    if view is None:
        raise KeyError(f"layer {layer}, epoch {epoch} of run {run_id!r} is not laid out yet")
    return view


def frame_csv(store: RunStore, run_id: str, layer: int, epoch: int, params: LayoutParams,
              method: str = "ours") -> str:
    """One laid-out frame, as the map shows it (graph mode ``params.graph``, layout ``method``), as CSV: a row
    per probe sample with its display coordinates and metadata, then in the neuron x sample graph a row per
    neuron.

    Columns: ``node, sample, x, y, true_class, predicted_class, confidence, sensitivity, scrambled, layer,
    epoch``; ``node`` is ``sample`` or ``neuron <k>`` (a neuron's other columns empty), prediction columns empty
    for a model that does not classify. ``KeyError`` when the frame is not laid out.
    """
    view = _laid_out(store, run_id, layer, epoch, params, method)
    probe = store.probe(run_id)
    try:
        sens = store.extras(run_id, epoch, [f"sens{layer}"])[f"sens{layer}"]
    except KeyError:
        sens = None
    scrambled = probe.get("scrambled", np.zeros(len(view.labels), dtype=bool))
    name = store.run_info(run_id).layer_names[layer]
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["node", "sample", "x", "y", "true_class", "predicted_class", "confidence", "sensitivity",
                     "scrambled", "layer", "epoch"])
    n = len(view.labels)
    for i in range(n):
        writer.writerow(["sample", int(view.sample_index[i]), f"{view.coords[i, 0]:.6f}", f"{view.coords[i, 1]:.6f}",
                         int(view.labels[i]),
                         "" if view.predictions is None else int(view.predictions[i]),
                         "" if view.confidence is None else f"{view.confidence[i]:.4f}",
                         "" if sens is None else f"{sens[i]:.6g}", int(bool(scrambled[i])), name, epoch])
    for k, (x, y) in enumerate(view.coords[n:]):
        writer.writerow([f"neuron {k}", "", f"{x:.6f}", f"{y:.6f}", "", "", "", "", "", name, epoch])
    return out.getvalue()


def graphml(graph: sp.spmatrix, coords: np.ndarray, sample_index: np.ndarray, labels: np.ndarray,
            class_names: list[str] | tuple[str, ...]) -> str:
    """A frame's graph as GraphML, for Gephi: nodes with their position, class and colour, weighted edges.

    Parameters
    ----------
    graph : sparse matrix of shape (n, n)
        Symmetric weights; each edge is written once.
    coords : ndarray of shape (n, 2)
    sample_index, labels : ndarray of shape (n,), int
    class_names : sequence of str

    Nodes past the samples (``coords`` longer than ``labels``: the neurons of a neuron x sample graph) are
    written as neurons, black.
    """
    upper = sp.triu(sp.coo_matrix(graph), k=1)
    lines = ['<?xml version="1.0" encoding="UTF-8"?>',
             '<graphml xmlns="http://graphml.graphdrawing.org/xmlns">',
             '  <key id="x" for="node" attr.name="x" attr.type="double"/>',
             '  <key id="y" for="node" attr.name="y" attr.type="double"/>',
             '  <key id="label" for="node" attr.name="label" attr.type="string"/>',
             '  <key id="class" for="node" attr.name="class" attr.type="string"/>',
             '  <key id="colour" for="node" attr.name="colour" attr.type="string"/>',
             '  <key id="weight" for="edge" attr.name="weight" attr.type="double"/>',
             '  <graph id="frame" edgedefault="undirected">']
    for i, (index, label) in enumerate(zip(sample_index, labels)):
        name = escape(class_name(class_names, label))
        lines.append(f'    <node id="n{i}"><data key="x">{coords[i, 0]:.6f}</data><data key="y">{coords[i, 1]:.6f}'
                     f'</data><data key="label">{int(index)}</data><data key="class">{name}</data>'
                     f'<data key="colour">{class_colour(label)}</data></node>')
    for k in range(len(coords) - len(labels)):
        i = len(labels) + k
        lines.append(f'    <node id="n{i}"><data key="x">{coords[i, 0]:.6f}</data><data key="y">{coords[i, 1]:.6f}'
                     f'</data><data key="label">neuron {k}</data><data key="class">neuron</data>'
                     f'<data key="colour">#000000</data></node>')
    for i, j, w in zip(upper.row, upper.col, upper.data):
        lines.append(f'    <edge source="n{i}" target="n{j}"><data key="weight">{w:.6f}</data></edge>')
    lines += ["  </graph>", "</graphml>", ""]
    return "\n".join(lines)


def frame_graphml(store: RunStore, run_id: str, layer: int, epoch: int, params: LayoutParams,
                  class_names: tuple[str, ...], method: str = "ours") -> str:
    """:func:`graphml` of a laid-out frame as the map shows it: the graph of ``params.graph``'s mode (the
    samples' kNN graph, or the neuron x sample graph) at the positions laid out by ``method``; ``KeyError`` when
    the frame is not laid out."""
    view = _laid_out(store, run_id, layer, epoch, params, method)
    graph = cached_graph(store, store.activations(run_id, epoch, layer), params)
    return graphml(graph, view.coords, view.sample_index, view.labels, class_names)


#: the page's scripts the animation draws with, inlined in this order after plotly.js
ANIMATION_SCRIPTS = ("epochscope-frames.js", "epochscope-figure.js", "epochscope-animation.js")
#: milliseconds between two epochs while the animation plays
ANIMATION_INTERVAL_MS = 500


def _inline_json(value: object) -> str:
    """JSON for a ``<script type="application/json">`` element: no ``<`` that could close it early."""
    return json.dumps(value, separators=(",", ":")).replace("<", "\\u003c")


def animation_html(store: RunStore, run_id: str, layer: int, params: LayoutParams, colour: str = "class",
                   method: str = "ours") -> str:
    """The layer's laid-out epochs, as the map shows them (``params.graph``'s mode, ``method``, coloured by
    ``colour``), as one standalone HTML file: play / pause and an epoch slider, drawn by the page's own figure
    code (``assets/epochscope-figure.js``: every colour mode the map has) from the frames' arrays embedded in
    the file, with plotly.js inlined (no network needed). ``KeyError`` when no frame is laid out; ``ValueError``
    naming the colour modes for an unknown ``colour``."""
    if colour not in COLOUR_MODES:
        raise ValueError(f"colour must be one of {', '.join(COLOUR_MODES)}, got {colour!r}")
    sequence = service.sequence_payload(store, run_id, layer, params, method=method)
    if sequence is None or not sequence["frames"]:
        raise KeyError(f"no frame of layer {layer} of run {run_id!r} is laid out yet")
    frames = {}
    for epoch in sequence["frames"]:
        arrays = service.frame_arrays(store, run_id, layer, int(epoch), params, method)
        if arrays is not None:
            frames[epoch] = arrays
    heading = f"{plot_text(sequence['label'])} · {sequence['name']} · {COLOUR_MODES[colour]}"
    data = {"sequence": sequence, "samples": service.sample_arrays(store, run_id), "frames": frames,
            "colour": colour, "title": heading, "interval_ms": ANIMATION_INTERVAL_MS}
    scripts = "\n".join(f"<script>{(ASSETS / name).read_text()}</script>" for name in ANIMATION_SCRIPTS)
    title = f"{html_text.escape(sequence['label'])} · {html_text.escape(sequence['name'])}"
    return ("<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\">"
            "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
            f"<title>{title}</title></head>\n"
            "<body style=\"font-family: system-ui, sans-serif; margin: 12px\">\n"
            "<div style=\"display: flex; gap: 12px; align-items: center\">"
            "<button id=\"play\" type=\"button\">Play</button>"
            "<input id=\"epoch\" type=\"range\" min=\"0\" value=\"0\" step=\"1\" style=\"flex: 1\" "
            "aria-label=\"epoch\"><span id=\"epoch-label\" style=\"min-width: 6em\"></span></div>\n"
            "<div id=\"map\" style=\"width: 100%; height: calc(100vh - 70px); min-height: 400px\"></div>\n"
            f"<script type=\"application/json\" id=\"epochscope-data\">{_inline_json(data)}</script>\n"
            f"<script>{get_plotlyjs()}</script>\n{scripts}\n</body></html>\n")


#: image formats of :func:`map_image`
IMAGE_FORMATS = ("png", "svg")
#: the largest figure accepted for an image, in points over all traces (the map holds samples + neurons + edges)
MAX_IMAGE_POINTS = 2_000_000
#: the most points an SVG is drawn with (one element each: 300,000 took two minutes)
MAX_SVG_POINTS = 60_000


#: colours a map image may name: hex, rgb() / rgba() of numbers, or a plain colour name (never a url())
_COLOUR = re.compile(r"^(#[0-9a-fA-F]{3,8}|rgba?\([0-9., ]{1,40}\)|[a-zA-Z]{3,20})$")
#: what else a map image may hold, by field: the page's map draws nothing else
_MODES = ("markers", "lines", "lines+markers")
_SYMBOLS = ("circle", "diamond", "square")
_SCALES = ("Viridis", "Greys", "Cividis")


def _text(value) -> str:
    """A label as plain text: any markup escaped once (shown as written, never parsed), at most 200 characters.
    The page's labels come escaped already (plotly.js reads some markup in them), so they are unescaped first:
    ``&lt;img&gt;`` and ``<img>`` are both drawn as ``<img>``."""
    return html_text.escape(html_text.unescape(str(value)), quote=True)[:200]


def _number(value) -> float | None:
    return float(value) if isinstance(value, Real) and not isinstance(value, bool) and math.isfinite(value) else None


def _numbers(values, field: str) -> list[float | None]:
    if not isinstance(values, list):
        raise ValueError(f"{field} must be a list of numbers")
    return [_number(v) for v in values]


def _colour(value, field: str):
    """A colour, a list of colours, or numbers (a colour scale's values)."""
    if isinstance(value, str) and _COLOUR.match(value):
        return value
    if isinstance(value, list) and all(isinstance(v, str) and _COLOUR.match(v) for v in value):
        return value
    if isinstance(value, list):
        return _numbers(value, field)
    raise ValueError(f"{field} must be a colour (#hex, rgb(), rgba() or a name) or a list of them")


def _marker(marker: dict, field: str) -> dict:
    out: dict[str, Any] = {}
    if "size" in marker:
        out["size"] = (_numbers(marker["size"], f"{field}.size") if isinstance(marker["size"], list)
                       else _number(marker["size"]))
    if "color" in marker:
        out["color"] = _colour(marker["color"], f"{field}.color")
    if marker.get("colorscale") in _SCALES:
        out["colorscale"] = marker["colorscale"]
    if marker.get("symbol") in _SYMBOLS:
        out["symbol"] = marker["symbol"]
    if isinstance(marker.get("line"), dict):
        line = marker["line"]
        out["line"] = {"width": _number(line.get("width")) or 0,
                       **({"color": _colour(line["color"], f"{field}.line.color")} if "color" in line else {})}
    if isinstance(marker.get("colorbar"), dict):
        title = (marker["colorbar"].get("title") or {}) if isinstance(marker["colorbar"].get("title"), dict) else {}
        out["colorbar"] = {"title": {"text": _text(title.get("text", ""))}, "thickness": 12}
    return out


def _trace(trace, k: int) -> dict:
    """One trace of the page's map, rebuilt from the fields it may have (anything else is dropped)."""
    field = f"figure.data[{k}]"
    if not isinstance(trace, dict) or trace.get("type", "scatter") not in ("scatter", "scattergl"):
        raise ValueError(f"{field} must be a scatter trace")
    out: dict[str, Any] = {"type": "scatter", "mode": trace.get("mode") if trace.get("mode") in _MODES else "markers",
           "x": _numbers(trace.get("x", []), f"{field}.x"), "y": _numbers(trace.get("y", []), f"{field}.y"),
           "showlegend": trace.get("showlegend") is not False, "hoverinfo": "skip"}
    if "name" in trace:
        out["name"] = _text(trace["name"])
    if isinstance(trace.get("marker"), dict):
        out["marker"] = _marker(trace["marker"], f"{field}.marker")
    if isinstance(trace.get("line"), dict):
        out["line"] = {"width": _number(trace["line"].get("width")) or 1,
                       **({"color": _colour(trace["line"]["color"], f"{field}.line.color")}
                          if "color" in trace["line"] else {})}
    return out


def _axis(axis) -> dict:
    axis = axis if isinstance(axis, dict) else {}
    out: dict[str, Any] = {"visible": False, "showgrid": False, "zeroline": False}
    rng = axis.get("range")
    if isinstance(rng, list) and len(rng) == 2 and all(_number(v) is not None for v in rng):
        out |= {"range": [float(v) for v in rng], "autorange": False}
    if axis.get("scaleanchor") == "x":
        out |= {"scaleanchor": "x", "scaleratio": 1}
    return out


def titled(figure, name: str | None):
    """The page's ``figure`` with the run's ``name`` before its title (an exported image says which run it
    shows); anything that is not a figure with a layout is returned as it is, for :func:`safe_figure` to judge."""
    if name is None or not isinstance(figure, dict) or not isinstance(figure.get("layout"), dict):
        return figure
    title = figure["layout"].get("title")
    text = title.get("text", "") if isinstance(title, dict) else ""
    text = text if isinstance(text, str) else ""
    return {**figure, "layout": {**figure["layout"], "title": {"text": f"{name} · {text}" if text else name}}}


def trace_length(trace) -> int:
    """How many values a trace of the page's map holds: its longest array (``x``, ``y``, the marker's colours
    or sizes, its line's), so that no array escapes the bound by being another than ``x``."""
    if not isinstance(trace, dict):
        return 0
    arrays = [trace.get("x"), trace.get("y"), trace.get("customdata")]
    for part in ("marker", "line"):
        if isinstance(trace.get(part), dict):
            arrays += list(trace[part].values())
            if isinstance(trace[part].get("line"), dict):
                arrays += list(trace[part]["line"].values())
    return max((len(a) for a in arrays if isinstance(a, list)), default=0)


def safe_figure(figure) -> dict:
    """The map's figure as sent by the page, rebuilt from what the map draws: scatter traces of numbers, plain
    colours, escaped labels, axes ranges and a title; no image, link, font, template or anything else a forged
    figure could use to make the server's Chromium fetch a URL or a file, and no markup in any label (it is
    shown as written). ``ValueError`` naming the first field that is not what the map draws."""
    if not isinstance(figure, dict) or not isinstance(figure.get("data"), list):
        raise ValueError("figure must be a Plotly figure with a list of traces")
    points = sum(trace_length(t) for t in figure["data"])
    if points > MAX_IMAGE_POINTS:
        raise ValueError(f"figure must hold at most {MAX_IMAGE_POINTS} points, got {points}")
    data = [_trace(trace, k) for k, trace in enumerate(figure["data"])]
    layout: dict = figure["layout"] if isinstance(figure.get("layout"), dict) else {}
    title: dict = layout["title"] if isinstance(layout.get("title"), dict) else {}
    legend: dict = layout["legend"] if isinstance(layout.get("legend"), dict) else {}
    legend_title: dict = legend["title"] if isinstance(legend.get("title"), dict) else {}
    return {"data": data, "layout": {
        "template": "plotly_white", "title": {"text": _text(title.get("text", "")), "x": 0.01, "font": {"size": 14}},
        "xaxis": _axis(layout.get("xaxis")), "yaxis": _axis(layout.get("yaxis")),
        "legend": {"title": {"text": _text(legend_title.get("text", ""))}, "itemsizing": "constant"},
        "margin": {"l": 10, "r": 10, "t": 40, "b": 10}}}


#: a style's reference out of the file (``url(#clip)`` stays inside it)
_OUTSIDE_URL = re.compile(r"url\(\s*(?!['\"]?#)", re.IGNORECASE)


def svg_is_inert(svg: bytes) -> bool:
    """Whether an SVG holds nothing active: no script or foreign object, no event handler, no link or style
    reference out of the file (an ``href`` is ``#...`` or ``data:...``). Its text may say anything: it is text."""
    try:
        root = ElementTree.fromstring(svg)
    except ElementTree.ParseError:
        return False
    for element in root.iter():
        if str(element.tag).rsplit("}", 1)[-1].lower() in ("script", "foreignobject", "iframe"):
            return False
        for name, value in element.attrib.items():
            name = name.rsplit("}", 1)[-1].lower()
            if name.startswith("on") or (name in ("href", "src") and not value.startswith(("#", "data:"))):
                return False
            if _OUTSIDE_URL.search(value):
                return False
    return True


def map_image(figure: object, fmt: object, *, width: int = 1200, height: int = 900) -> bytes:
    """The map's figure (:func:`safe_figure` of what the page sends) as PNG or SVG, drawn by kaleido (headless
    Chromium).

    WebGL traces become SVG ones, so an SVG holds one vector element per point (editable in Inkscape or
    Illustrator) and a PNG needs no GPU. ``ValueError`` naming the field for a bad format or figure;
    ``RuntimeError`` when kaleido cannot start Chromium, or when an SVG came out with anything active in it.
    """
    if fmt not in IMAGE_FORMATS:
        raise ValueError(f"format must be one of {', '.join(IMAGE_FORMATS)}, got {fmt!r}")
    safe = safe_figure(figure)
    points = sum(trace_length(t) for t in safe["data"])
    if fmt == "svg" and points > MAX_SVG_POINTS:
        raise ValueError(f"an SVG holds at most {MAX_SVG_POINTS:,} points (one element each), this map has "
                         f"{points:,}: export it as PNG")
    fig = go.Figure(safe)
    try:
        # kaleido's page loads MathJax from a CDN unless told not to: the map has no formula, and the server's
        # Chromium looks nothing up
        image = kaleido.calc_fig_sync(fig.to_dict(), opts={"format": fmt, "width": width, "height": height,
                                                           "scale": 2 if fmt == "png" else 1},
                                      kopts={"mathjax": False})
    except ChromeNotFoundError as exc:
        raise RuntimeError("kaleido could not start Chromium: apt-get install chromium") from exc
    except Exception as exc:  # kaleido raises its own types when a drawing fails
        raise RuntimeError(f"kaleido could not draw the image ({type(exc).__name__})") from exc
    if fmt == "svg" and not svg_is_inert(image):
        raise RuntimeError("the SVG came out with a script, an event handler or an outside reference: refused")
    return image
