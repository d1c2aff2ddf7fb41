"""Pure figure builders: data in, a figure out (Plotly JSON, or a ``go.Figure`` where built rarely). No store, no
Dash."""

from __future__ import annotations

import functools
import html
import math
import textwrap
from collections.abc import Sequence
from typing import Any

import numpy as np
import plotly.graph_objects as go
import plotly.io as pio

from dashboard.vocab import CLASS_COLOURS


def class_colour(label: int) -> str:
    """The palette's colour of class ``label`` (cycling past ten classes)."""
    return CLASS_COLOURS[int(label) % len(CLASS_COLOURS)]


def class_name(class_names: Sequence[str], label: int) -> str:
    """The name of class ``label``, or the label itself when the run names fewer classes."""
    return class_names[int(label)] if 0 <= int(label) < len(class_names) else str(int(label))


def plot_text(text: str) -> str:
    """Text from a user's data (a class name from a CSV, a run's name) as Plotly shows it: Plotly reads a few HTML
    tags in labels, so markup is escaped and shown as written."""
    return html.escape(str(text), quote=False)


#: a dcc.Graph's config for small panels: no mode bar (Any: Dash types it as its own TypedDict)
NO_TOOLBAR: Any = {"displayModeBar": False}

_AXIS = dict(visible=False, showgrid=False, zeroline=False)
#: 0 white, 1 black (plotly.js's own "Greys" runs the other way round from plotly.py's)
GREYS = [[0.0, "#ffffff"], [1.0, "#000000"]]


@functools.cache
def _template() -> dict:
    """The ``plotly_white`` template as Plotly JSON, built once (plotly.py copies it into every figure)."""
    return pio.templates["plotly_white"].to_plotly_json()


def plotly_json(data: list[dict], **layout) -> dict:
    """A figure as Plotly JSON (what ``dcc.Graph`` sends to the browser), built without plotly.py's per-property
    validation, which costs ~10 ms a figure: these builders run on every slider step and click."""
    return {"data": data, "layout": {"template": _template(), **layout}}


def message_figure(message: str, width: int = 52) -> dict:
    """An empty, axis-free figure that says what is happening or what to do, in lines of at most ``width``
    characters (a narrow panel shows it whole)."""
    text = "<br>".join(textwrap.wrap(message, width)) or message
    return plotly_json([], xaxis=_AXIS, yaxis=_AXIS, margin=dict(l=10, r=10, t=40, b=10),
                   annotations=[dict(text=text, showarrow=False, font=dict(size=14, color="#555"),
                                     xref="paper", yref="paper", x=0.5, y=0.5)])


def _list(values) -> list[float]:
    return np.asarray(values, dtype=float).round(6).tolist()


def sample_figure(x: np.ndarray, image_shape: tuple[int, int] | None, context: np.ndarray | None = None,
                  context_labels: np.ndarray | None = None) -> dict:
    """One input: an image (grey levels, e.g. an 8 x 8 digit) when it has an image shape; a point of a 2-D data
    set shown on the data set (``context``, coloured by ``context_labels``); else its features as bars.

    Parameters
    ----------
    x : ndarray of shape (n_features,)
        Values in [0, 1].
    image_shape : tuple of int, optional
    context : ndarray of shape (n, 2), optional
        The other samples of a 2-D data set.
    context_labels : ndarray of shape (n,), optional
    """
    x = np.asarray(x, dtype=float)
    frame = dict(margin=dict(l=4, r=4, t=4, b=4), height=150)
    if context is not None and x.size == 2:
        labels = np.zeros(len(context), int) if context_labels is None else np.asarray(context_labels)
        return plotly_json([dict(type="scattergl", x=_list(context[:, 0]), y=_list(context[:, 1]), mode="markers",
                             hoverinfo="skip", marker=dict(size=4, opacity=0.5, color=[
                                 class_colour(c) for c in labels])),
                        dict(type="scatter", x=[float(x[0])], y=[float(x[1])], mode="markers", hoverinfo="skip",
                             marker=dict(size=14, color="rgba(0,0,0,0)", line=dict(width=2.5, color="#000")))],
                       showlegend=False, xaxis=dict(_AXIS, scaleanchor="y", scaleratio=1), yaxis=_AXIS, **frame)
    if image_shape is not None and int(np.prod(image_shape)) == x.size:
        return plotly_json([dict(type="heatmap", z=_list(x.reshape(image_shape)[::-1]), colorscale=GREYS, zmin=0,
                             zmax=1, showscale=False, hovertemplate="%{z:.2f}<extra></extra>")],
                       xaxis=dict(_AXIS, scaleanchor="y", scaleratio=1), yaxis=_AXIS, **frame)
    return plotly_json([dict(type="bar", x=[f"x{i}" for i in range(x.size)], y=_list(x), marker=dict(color="#777777"))],
                   yaxis=dict(range=[0, 1], title=dict(text="value")), **frame)


def activation_figure(activations: np.ndarray, layer_name: str) -> dict:
    """A sample's activations at one layer, one bar per unit; ``activations`` is (units,)."""
    return plotly_json([dict(type="bar", y=_list(activations), marker=dict(color=CLASS_COLOURS[0]),
                         hovertemplate="unit %{x}: %{y:.3f}<extra></extra>")],
                   margin=dict(l=30, r=4, t=24, b=20), height=130, bargap=0.1, xaxis=dict(showticklabels=False),
                   title=dict(text=f"activations at {layer_name}", font=dict(size=12), x=0.01))


#: the name of the shape that marks the current epoch on the training curves (moved in the browser)
EPOCH_MARK = "epoch"


#: the curves of a layer's separation: (2-D score, raw-space twin, panel title, colour); the 2-D layout's score
#: solid, its raw-space twin dashed in the same colour, one small panel each
SCORE_TWINS = (("silhouette", "raw_silhouette", "silhouette", "#117733"),
               ("nh", "raw_purity", "kNN class purity", "#1F78B4"),
               ("ratio", "raw_ratio", "intra / inter distance", "#999933"))
LOSS_COLOUR, ACC_COLOUR = "#CC6677", "#332288"
#: the motion panel's churn curves (map solid, raw space dashed); frames where the map moves more than the data
#: are crossed in red
MOTION_COLOUR = "#44AA99"
#: the training panel's small multiples, top to bottom: their heights in pixels and the gap under each title
PANEL_PX, TITLE_PX, GAP_PX = 66, 30, 10


#: line styles of a kind's curves after the training one (dotted): the held-out one solid, then the others
_DASHES = ("solid", "dash", "dashdot", "longdash", "longdashdot")
#: how a line style reads in a panel's key
_DASH_MARKS = {"solid": "—", "dot": "···", "dash": "- -", "dashdot": "-·-",
               "longdash": "— —", "longdashdot": "—·"}


def metric_kinds(metrics: list[dict[str, float]]) -> tuple[list[tuple[str, str, str]], list[tuple[str, str, str]]]:
    """The recorded losses and accuracies to plot, each ``(key, name, dash)``: every metric whose name holds
    ``loss``, and every one that holds ``acc``, in the order first recorded (the built-in runs' ``train_loss``,
    ``test_loss``, ``train_acc``, ``test_acc``; a recorded run's own, e.g. ``loss``, ``val_accuracy``,
    ``probe_acc``); training ones dotted."""
    keys = list(dict.fromkeys(k for m in metrics for k in m))
    kinds: tuple[list[tuple[str, str, str]], list[tuple[str, str, str]]] = ([], [])
    for key in keys:
        kind = kinds[0] if "loss" in key else kinds[1] if "acc" in key else None
        if kind is None:
            continue
        name = key.replace("_", " ") + ("." if key.endswith("_acc") else "")
        others = sum(1 for k, _, _ in kind if "train" not in k)
        kind.append((key, name, "dot" if "train" in key else _DASHES[others % len(_DASHES)]))
    return kinds


def _step_ticks(steps: list[int] | None) -> dict:
    """Axis ticks at about ten epochs, labelled by their training steps (none for a run by epochs)."""
    if not steps:
        return {}
    at = list(range(0, len(steps), max(1, len(steps) // 10)))
    return {"tickvals": at, "ticktext": [str(steps[e]) for e in at]}


def _span(values: list, lo: float | None = None, hi: float | None = None) -> list[float] | None:
    """A y range for ``values`` that reads from the first epoch on: padded by 8% of their spread or of their size
    (one value, or a flat curve, is not blown up into noise), within ``lo`` .. ``hi`` when given."""
    found = [float(v) for v in values if v is not None and math.isfinite(float(v))]
    if not found:
        return [lo if lo is not None else 0.0, hi if hi is not None else 1.0]
    top, bottom = max(found), min(found)
    pad = 0.08 * max(top - bottom, abs(top), abs(bottom), 1e-6)
    low, high = bottom - pad, top + pad
    return [max(low, lo) if lo is not None else low, min(high, hi) if hi is not None else high]


def _key(entries: list[tuple[str, str, str]]) -> str:
    """A panel's key, for its title: each curve's line style and name in its colour."""
    return "  ".join(f"<span style='color:{colour}'>{_DASH_MARKS.get(dash, dash)} {name}</span>"
                     for name, colour, dash in entries)


def training_figure(metrics: list[dict[str, float]], scores: dict[str, list[float | None]], epoch: int,
                    layer_name: str, compare: tuple[str, list[dict[str, float]]] | None = None,
                    steps: list[int] | None = None) -> dict:
    """Small multiples over epochs, one measure each, titled with its key and with its own y axis: the run's
    losses; its accuracies; then, for the layer on show, each 2-D class-separation score of its layout (solid)
    beside its raw-space twin (dashed): silhouette, kNN class purity, intra / inter-class distance ratio; the
    held-out linear probe's accuracy with its chance level and the layout's trustworthiness; the intrinsic
    dimension (TwoNN); the motion from the previous epoch, neighbour churn on the map beside that of the raw
    space and the median displacement, frames where the map moves more than the data crossed. The epochs share
    one axis, labelled at the bottom; the current epoch is marked by the shape named :data:`EPOCH_MARK`. Axes
    are set from the values (padded), so one epoch already reads.

    Parameters
    ----------
    metrics : list of dict
        Per epoch, as recorded (``train_loss``, ``test_loss``, and ``train_acc``, ``test_acc`` when classifying;
        a recorded run's own losses and accuracies).
    scores : dict of list of float or None
        Per epoch (None where not computed yet): the layout's ``silhouette``, ``nh``, ``ratio``, ``trust``
        (:func:`dashboard.service.scores`), the motion (``shown_churn``, ``real_churn``, ``shown``,
        ``moves_more``; :data:`frames.motion.MOTION`) and the raw space's measures (:func:`analysis.stage.curves`:
        ``raw_silhouette``, ``raw_purity``, ``raw_ratio``, ``probe_acc``, ``probe_chance``, ``twonn``).
    epoch : int
        The epoch on the slider.
    layer_name : str
    compare : (str, list of dict), optional
        Another run's name and metrics, overlaid (long dashes) on the loss and accuracy: the side-by-side view.
    steps : list of int, optional
        For a run recorded by steps, each epoch's training step: the axis is labelled by them.
    """
    n_epochs = max(len(metrics), len(compare[1]) if compare else 0, 1)
    epochs = list(range(n_epochs))
    panels: list[tuple[str, list[tuple[str, str, str]], list[float] | None, dict]] = []  # title, key, range, axis
    data: list[dict] = []

    def curve(values, name, colour, dash="solid", **extra) -> None:
        row = len(panels) + 1
        data.append(dict(type="scatter", x=epochs, y=list(values), name=name, mode="lines+markers",
                         line=dict(color=colour, dash=dash, width=1.6), marker=dict(size=3),
                         xaxis=f"x{row if row > 1 else ''}", yaxis=f"y{row if row > 1 else ''}",
                         connectgaps=False, showlegend=False, **extra))

    def panel(title: str, entries: list[tuple[str, str, str]], span: list[float] | None, **axis) -> None:
        panels.append((title, entries, span, axis))

    losses, accuracies = metric_kinds(metrics)
    other_name, other_metrics = compare if compare is not None else ("", [])
    for kind, colour, title, key, unit in ((losses, LOSS_COLOUR, "loss", "test_loss", {}),
                                          (accuracies, ACC_COLOUR, "accuracy", "test_acc",
                                           {"tickformat": ".0%"})):
        if not kind:
            continue
        entries = []
        values: list = []
        for k, name, dash in kind:
            column = [m.get(k) for m in metrics]
            curve(column, name, colour, dash)
            entries.append((name, colour, dash))
            values += column
        if compare is not None and any(key in m for m in other_metrics):
            column = [m.get(key) for m in other_metrics]
            curve(column, f"{other_name}: {key.replace('_', ' ')}" + ("." if key.endswith("acc") else ""), colour,
                  "longdash")
            entries.append((f"{key.split('_')[0]} of the compared run", colour, "longdash"))
            values += column
        panel(title, entries, [0, 1.02] if title == "accuracy" else _span(values, lo=0.0), **unit)
    for flat, raw, name, colour in SCORE_TWINS:
        curve(scores.get(flat, []), f"{name} (2-D)", colour, legendgroup=name)
        curve(scores.get(raw, []), f"{name} (raw)", colour, "dash", legendgroup=name)
        both = list(scores.get(flat, [])) + list(scores.get(raw, []))
        panel(f"{name} of {layer_name}", [("2-D layout", colour, "solid"), ("raw space", colour, "dash")],
              _span(both, lo=-1.0 if flat == "silhouette" else 0.0, hi=1.02 if flat != "ratio" else None))
    curve(scores.get("trust", []), "trustworthiness", "#777777")
    curve(scores.get("probe_acc", []), "linear probe (raw)", "#882255", "dashdot")
    curve(scores.get("probe_chance", []), "probe chance", "#BBBBBB", "dot", hoverinfo="skip")
    panel(f"linear probe of {layer_name}, layout's trust", [("layout trustworthiness", "#777777", "solid"),
                                                             ("linear probe (held out)", "#882255", "dashdot"),
                                                             ("chance", "#999999", "dot")], [0, 1.02],
          tickformat=".0%")
    curve(scores.get("twonn", []), "TwoNN dimension", "#AA4499")
    panel(f"intrinsic dimension of {layer_name} (TwoNN)", [], _span(scores.get("twonn", []), lo=0.0))
    shown, real = list(scores.get("shown_churn", [])), list(scores.get("real_churn", []))
    curve(shown, "neighbour churn on the map", MOTION_COLOUR)
    curve(real, "neighbour churn in the raw space", MOTION_COLOUR, "dash")
    curve(scores.get("shown", []), "median displacement (of the radius)", "#888888", "dot")
    row = len(panels) + 1
    flags = [value if flag else None for value, flag in zip(shown, scores.get("moves_more", []))]
    data.append(dict(type="scatter", x=epochs, y=flags, name="the map moves more than the data", mode="markers",
                     marker=dict(symbol="x", size=9, color="#CC3311"), xaxis=f"x{row}", yaxis=f"y{row}",
                     showlegend=False))
    panel(f"motion of {layer_name}: the map against the data", [("on the map", MOTION_COLOUR, "solid"),
                                                                 ("raw space", MOTION_COLOUR, "dash"),
                                                                 ("displacement", "#888888", "dot")],
          _span(shown + real + list(scores.get("shown", [])), lo=0.0))
    return _stack_panels(data, panels, epoch, n_epochs, steps)


def _stack_panels(data: list[dict], panels: list, epoch: int, n_epochs: int, steps: list[int] | None) -> dict:
    """The training figure's layout: ``panels`` (title, key, y range, axis options) stacked top to bottom, the
    x axes shared and labelled at the bottom only."""
    height = len(panels) * (PANEL_PX + TITLE_PX + GAP_PX) + 40
    layout: dict = {}
    annotations = []
    top = 1.0
    x_range = [-0.3, max(n_epochs - 1, 1) + 0.3]
    for i, (title, entries, span, axis) in enumerate(panels, start=1):
        title_top = top
        plot_top = top - (TITLE_PX if entries else TITLE_PX / 2) / height
        bottom = plot_top - PANEL_PX / height
        top = bottom - GAP_PX / height
        suffix = str(i) if i > 1 else ""
        last = i == len(panels)
        layout[f"xaxis{suffix}"] = dict(anchor=f"y{suffix}", domain=[0, 1], range=x_range, showticklabels=last,
                                        **({} if i == 1 else {"matches": "x"}),
                                        **(dict(title=dict(text="step" if steps else "epoch", font=dict(size=10)),
                                                **_step_ticks(steps)) if last else {}))
        layout[f"yaxis{suffix}"] = dict(anchor=f"x{suffix}", domain=[max(bottom, 0), plot_top], range=span,
                                        nticks=4, tickfont=dict(size=9), **axis)
        # the title, and under it the key: one line each, so that nothing overlaps however narrow the panel
        text = f"<b>{title}</b>" + (f"<br><span style='font-size:9px'>{_key(entries)}</span>" if entries else "")
        annotations.append(dict(text=text, xref="paper", yref="paper", x=0, y=title_top, xanchor="left",
                                yanchor="top", showarrow=False, align="left", font=dict(size=11, color="#333")))
    return plotly_json(
        data, margin=dict(l=44, r=8, t=6, b=36), height=height, clickmode="event", hovermode="x unified",
        showlegend=False, annotations=annotations, **layout,
        shapes=[dict(type="line", name=EPOCH_MARK, xref="x", yref="paper", x0=epoch, x1=epoch, y0=0, y1=1,
                     line=dict(color="#555", width=1, dash="dash"))])


#: the names (plus ``-col`` / ``-row``) of the shapes that outline the current cell of a CKA map (moved in the browser)
CKA_MARK = "current"


def cka_floor(*matrices: np.ndarray) -> float:
    """Where a CKA colour scale starts: the lowest finite value off the diagonals, rounded down to 0.05 (at most
    0.95), so that a matrix of 0.9-1.0 is not all one colour."""
    values = [v for matrix in matrices for v in np.asarray(matrix)[~np.eye(len(matrix), dtype=bool)].ravel()
              if np.isfinite(v)]
    return float(min(0.95, max(0.0, np.floor(min(values, default=0.0) * 20) / 20)))


def cka_figure(matrix: np.ndarray, names: Sequence[str], current: int, title: str, axis: str,
               zmin: float | None = None) -> dict:
    """A linear-CKA heat map (``matrix`` (m, m), values in [0, 1]) over ``names`` (m,), coloured from ``zmin``
    (default :func:`cka_floor` of the matrix) to 1, the row and column of ``current`` outlined (shapes named
    :data:`CKA_MARK`); a click on a cell gives its column's index as the point's ``x``."""
    m = len(names)
    zmin = cka_floor(matrix) if zmin is None else zmin
    z = np.where(np.isfinite(matrix), matrix, np.nan).round(3)
    ticks = list(range(0, m, max(1, round(m / 8))))  # about eight labels, whatever the size
    return plotly_json([dict(type="heatmap", z=[[None if np.isnan(v) else float(v) for v in row] for row in z],
                         x=list(range(m)), y=list(range(m)), zmin=zmin, zmax=1, colorscale="Viridis",
                         colorbar=dict(thickness=8, len=0.9, title=dict(text="CKA", font=dict(size=10))),
                         hovertemplate=f"{axis} %{{y}} vs %{{x}}: CKA %{{z:.2f}}<extra></extra>")],
                   margin=dict(l=40, r=10, t=24, b=30), height=230,
                   title=dict(text=title, font=dict(size=12), x=0.01),
                   xaxis=dict(tickvals=ticks, ticktext=[names[i] for i in ticks], constrain="domain", showgrid=False),
                   yaxis=dict(tickvals=ticks, ticktext=[names[i] for i in ticks], scaleanchor="x",
                              autorange="reversed", showgrid=False),
                   shapes=[dict(type="rect", name=CKA_MARK + "-col", xref="x", yref="y", x0=current - 0.5,
                                x1=current + 0.5, y0=-0.5, y1=m - 0.5, line=dict(color="#CC3311", width=1.5)),
                           dict(type="rect", name=CKA_MARK + "-row", xref="x", yref="y", x0=-0.5, x1=m - 0.5,
                                y0=current - 0.5, y1=current + 0.5, line=dict(color="#CC3311", width=1.5))])


def cka_layers_figure(by_layer: np.ndarray, names: Sequence[str], layer: int, epoch: int) -> dict:
    """CKA between the layers (``by_layer`` (epochs, layers, layers)) at ``epoch``, ``layer`` outlined. Every
    epoch's matrix rides along in ``layout.meta.cka`` so the browser swaps them as the epoch moves
    (``assets/epochscope.js`` ``restEpoch``), and the epoch's title with them."""
    figure = cka_figure(by_layer[epoch], names, layer, f"CKA between layers · epoch {epoch}", "layer",
                        zmin=cka_floor(*by_layer))  # one scale for every epoch the browser swaps in
    figure["layout"]["meta"] = {"cka": [[[None if not np.isfinite(v) else round(float(v), 3) for v in row]
                                          for row in matrix] for matrix in by_layer]}
    return figure


#: the regions of a data map and their colours (easy, ambiguous, hard to learn)
REGION_COLOURS = {"easy": "#44AA99", "ambiguous": "#DDCC77", "hard": "#CC6677"}


def cartography_figure(variability: np.ndarray, confidence: np.ndarray, region: np.ndarray,
                       sample_index: np.ndarray, scrambled: np.ndarray, regions: Sequence[str]) -> dict:
    """The data map (Swayamdipta et al. 2020): each training sample at (variability, mean confidence in its
    label), coloured by region; scrambled samples drawn as crosses. All arrays are (n,); ``customdata[0]`` of a
    point is its sample index (a click selects it)."""
    traces = []
    for r, name in enumerate(regions):
        for flagged in (False, True):
            members = np.flatnonzero((region == r) & (np.asarray(scrambled, bool) == flagged))
            if not len(members):
                continue
            traces.append(dict(
                type="scattergl", mode="markers", x=_list(variability[members]), y=_list(confidence[members]),
                name=f"{name}{' · scrambled' if flagged else ''} ({len(members)})",
                customdata=[[int(sample_index[i])] for i in members],
                marker=dict(size=7 if flagged else 5, color=REGION_COLOURS[name],
                            symbol="x" if flagged else "circle", opacity=0.8, line=dict(width=0)),
                hovertemplate="sample %{customdata[0]}<br>confidence %{y:.2f}<br>variability %{x:.2f}<extra></extra>"))
    return plotly_json(traces, margin=dict(l=40, r=10, t=24, b=34), height=260,
                   title=dict(text="data map: training samples over epochs", font=dict(size=12), x=0.01),
                   xaxis=dict(title=dict(text="variability", font=dict(size=11)), range=[0, 0.5]),
                   yaxis=dict(title=dict(text="confidence", font=dict(size=11)), range=[0, 1.02]),
                   legend=dict(font=dict(size=10)))


def kl_figure(kl_dim: np.ndarray, active: np.ndarray) -> dict:
    """KL to the prior per latent dimension (nats) as bars, the active units coloured and the collapsed ones
    grey; ``kl_dim`` and ``active`` (bool) are (latent,)."""
    kl_dim = np.asarray(kl_dim, dtype=float)
    colours = [CLASS_COLOURS[0] if a else "#BBBBBB" for a in active]
    log = kl_dim.max(initial=0) > 100 * max(kl_dim.min(initial=1), 1e-3)
    return plotly_json([dict(type="bar", x=[f"z{j}" for j in range(len(kl_dim))], y=_list(kl_dim),
                         marker=dict(color=colours),
                         hovertemplate="%{x}: %{y:.3f} nats<extra></extra>")],
                   margin=dict(l=40, r=4, t=24, b=24), height=150, yaxis=dict(type="log" if log else "linear"),
                   title=dict(text="KL per latent dimension (nats); grey: collapsed", font=dict(size=12), x=0.01))


def active_units_figure(betas: list[float], active: list[float], beta: float) -> dict:
    """Active latent units against beta over a sweep, the run on show marked."""
    return plotly_json([dict(type="scatter", x=list(betas), y=list(active), mode="lines+markers",
                         line=dict(color=CLASS_COLOURS[0]),
                         hovertemplate="beta %{x:g}: %{y:.0f} active<extra></extra>"),
                    dict(type="scatter", x=[beta], y=[active[betas.index(beta)]] if beta in betas else [],
                         mode="markers", hoverinfo="skip",
                         marker=dict(size=12, color="rgba(0,0,0,0)", line=dict(width=2, color="#000")))],
                   margin=dict(l=40, r=4, t=24, b=30), height=150, showlegend=False, xaxis=dict(type="category"),
                   title=dict(text="active units against beta (last epoch)", font=dict(size=12), x=0.01))


def images_figure(rows: list[tuple[str, np.ndarray]], image_shape: tuple[int, int]) -> go.Figure:
    """Rows of small images (e.g. inputs, their reconstructions, prior samples): each ``(title, (k, n_pixels))``
    with values in [0, 1]."""
    from plotly.subplots import make_subplots

    k = max(len(images) for _, images in rows)
    fig = make_subplots(rows=len(rows), cols=k, horizontal_spacing=0.01, vertical_spacing=0.08,
                        row_titles=[title for title, _ in rows])
    for r, (_, images) in enumerate(rows, start=1):
        for c, image in enumerate(images, start=1):
            fig.add_trace(go.Heatmap(z=np.asarray(image, dtype=float).reshape(image_shape)[::-1], zmin=0, zmax=1,
                                     colorscale="Greys", showscale=False, hoverinfo="skip"), row=r, col=c)
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    fig.update_layout(template="plotly_white", margin=dict(l=4, r=70, t=4, b=4), height=60 * len(rows) + 20)
    fig.for_each_annotation(lambda a: a.update(font=dict(size=11)))
    return fig


def class_means_figure(means: np.ndarray, class_names: Sequence[str]) -> dict:
    """A neuron's mean activation per class, bars in the class colours; ``means`` is (n_classes,)."""
    return plotly_json([dict(type="bar", x=[plot_text(n) for n in class_names], y=_list(means),
                         marker=dict(color=[class_colour(c) for c in range(len(means))]),
                         hovertemplate="class %{x}: %{y:.3f}<extra></extra>")],
                   margin=dict(l=30, r=4, t=24, b=20), height=130, bargap=0.15,
                   title=dict(text="mean activation per class", font=dict(size=12), x=0.01))


#: the neuron map's ways to colour its nodes
NEURON_COLOURS = ("epoch", "layer", "class")
#: the neuron map's trace of the epoch on show (moved in the browser: ``assets/epochscope.js`` markNeuronEpoch)
NEURON_EPOCH = "epoch on show"
LAYER_COLOURS = ("#4477AA", "#EE6677", "#228833", "#CCBB44", "#66CCEE", "#AA3377", "#BBBBBB", "#000000")


def neuron_map_figure(coords: np.ndarray, layer: np.ndarray, unit: np.ndarray, selectivity: np.ndarray,
                      preferred: np.ndarray, layer_names: Sequence[str], class_names: Sequence[str], colour: str,
                      epoch: int, version: str = "") -> dict:
    """The run's hidden units over its epochs (:func:`analysis.stage.compute_neuron_map`), one node per unit and
    epoch, coloured by ``colour`` (one of :data:`NEURON_COLOURS`; ``class``: the class the unit prefers at that
    epoch, grey where it is dead), the units of ``epoch`` ringed (the trace :data:`NEURON_EPOCH`).

    Parameters
    ----------
    coords : ndarray of shape (n_epochs * n_units, 2)
        Node ``e * n_units + u`` is unit ``u`` at epoch ``e``.
    layer, unit : ndarray of shape (n_units,), int
        Each unit's layer and index in it.
    selectivity : ndarray of shape (n_epochs, n_units)
        Class selectivity (NaN: dead).
    preferred : ndarray of shape (n_epochs, n_units), int
    layer_names, class_names : sequence of str
    colour : str
    epoch : int
    version : str
        Kept as ``layout.meta.version``: what the figure shows, so that it is not sent again unchanged.
    """
    n_epochs, n_units = selectivity.shape
    epochs = np.repeat(np.arange(n_epochs), n_units)
    layers, units = np.tile(layer, n_epochs), np.tile(unit, n_epochs)
    sel, pref = selectivity.ravel(), preferred.ravel().astype(int)
    # what a click reads (layer, unit, epoch), and the hover's text
    custom = [[int(k), int(u), int(e), f"{layer_names[k]} unit {u} · epoch {e}<br>" +
               ("dead: never active" if np.isnan(v) else
                f"prefers {plot_text(class_name(class_names, c))} · class selectivity {v:.2f}")]
              for k, u, e, v, c in zip(layers, units, epochs, sel, pref)]

    def trace(members: np.ndarray, name: str, marker: dict, showlegend: bool = True) -> dict:
        return {"type": "scattergl", "mode": "markers", "name": name, "x": _list(coords[members, 0]),
                "y": _list(coords[members, 1]), "customdata": [custom[i] for i in members],
                "hovertemplate": "%{customdata[3]}<extra></extra>",
                "marker": {"size": 5, "opacity": 0.55, **marker}, "showlegend": showlegend}

    everyone = np.arange(len(coords))
    if colour == "epoch":
        data = [trace(everyone, "units", {"color": epochs.tolist(), "colorscale": "Viridis",
                                          "colorbar": {"title": {"text": "epoch"}, "thickness": 12}}, False)]
    elif colour == "layer":
        data = [trace(np.flatnonzero(layers == k), name, {"color": LAYER_COLOURS[k % len(LAYER_COLOURS)]})
                for k, name in enumerate(layer_names)]
    else:
        dead = np.isnan(sel)
        data = [trace(np.flatnonzero((pref == c) & ~dead), f"prefers {plot_text(class_name(class_names, c))}",
                      {"color": class_colour(c)}) for c in np.unique(pref[~dead])]
        if dead.any():
            data.append(trace(np.flatnonzero(dead), "dead", {"color": "#DDDDDD"}))
    shown = np.flatnonzero(epochs == epoch)
    # the epoch on show: its units as small filled dots with white rims on top (hundreds of black rings merged
    # into one blob)
    data.append({**trace(shown, NEURON_EPOCH, {"color": "rgba(204,51,17,0.9)", "size": 5, "opacity": 1,
                                               "line": {"width": 0.6, "color": "white"}}), "hoverinfo": "skip",
                 "hovertemplate": None})
    return plotly_json(data, xaxis=_AXIS, yaxis={**_AXIS, "scaleanchor": "x", "scaleratio": 1},
                   margin=dict(l=10, r=10, t=40, b=10), uirevision="neurons", meta=dict(version=version),
                   title=dict(text=f"Units over training · epoch {epoch} in red", x=0.01, font=dict(size=13)),
                   # beside the epoch's colour bar the legend goes under the map, off the bar's title
                   legend=dict(itemsizing="constant", **(dict(orientation="h", x=0, y=0, yanchor="bottom")
                                                         if colour == "epoch" else {})))


def selectivity_figure(by_layer: np.ndarray, layer_names: Sequence[str], grouping: np.ndarray, chance: np.ndarray,
                       epoch: int) -> dict:
    """Per epoch, each layer's mean class selectivity over its live units (``by_layer``, (n_epochs, n_layers),
    NaN where none is live), and how much the neuron map groups units by preferred class (share of a unit's 5
    nearest units preferring its class, dotted: chance); the epoch on show marked by the shape named
    :data:`EPOCH_MARK`."""
    epochs = list(range(by_layer.shape[0]))
    data = []
    for k, name in enumerate(layer_names):
        means = by_layer[:, k]
        data.append({"type": "scatter", "mode": "lines", "name": f"{name} selectivity", "x": epochs,
                     "y": [None if np.isnan(v) else round(float(v), 4) for v in means],
                     "line": {"color": LAYER_COLOURS[k % len(LAYER_COLOURS)]}})
    data.append({"type": "scatter", "mode": "lines", "name": "grouped by class in the map", "x": epochs,
                 "y": _list(grouping), "line": {"color": "#000", "width": 2}})
    data.append({"type": "scatter", "mode": "lines", "name": "chance", "x": epochs, "y": _list(chance),
                 "line": {"color": "#000", "dash": "dot", "width": 1}})
    return plotly_json(data, margin=dict(l=40, r=10, t=30, b=30), yaxis=dict(range=[0, 1]),
                   xaxis=dict(title=dict(text="epoch")), legend=dict(font=dict(size=10)),
                   title=dict(text="Class selectivity of units", x=0.01, font=dict(size=13)),
                   shapes=[dict(type="line", name=EPOCH_MARK, x0=epoch, x1=epoch, yref="paper", y0=0, y1=1,
                                line=dict(color="#999", dash="dot"))])


def coherence_figure(curve: np.ndarray, random_level: float, epoch: int,
                     over_sweep: list[tuple[float, float, float]], beta: float) -> dict:
    """How orthogonal the decoder Jacobian's active columns are (mean absolute cosine between them; 0:
    orthogonal), over this run's epochs (left; dotted: two random directions) and, for a sweep, at the last epoch
    against beta (right; each point labelled with its active latents, by KL). The epoch on show is marked by the
    shape named :data:`EPOCH_MARK`."""
    data = [dict(type="scatter", mode="lines", x=list(range(len(curve))),
                 y=[None if not np.isfinite(v) else round(float(v), 4) for v in curve],
                 name="this run", line=dict(color=CLASS_COLOURS[0])),
            dict(type="scatter", mode="lines", x=[0, max(len(curve) - 1, 1)], y=[random_level] * 2,
                 name="random directions", line=dict(color="#999", dash="dot"))]
    layout = dict(margin=dict(l=40, r=6, t=28, b=28), height=190, showlegend=False,
                  title=dict(text="Decoder Jacobian: mean |cos| between active columns", font=dict(size=12), x=0.01),
                  xaxis=dict(title=dict(text="epoch"), domain=[0, 0.55 if over_sweep else 1]),
                  yaxis=dict(rangemode="tozero"),
                  shapes=[dict(type="line", name=EPOCH_MARK, x0=epoch, x1=epoch, yref="paper", y0=0, y1=1,
                               line=dict(color="#999", dash="dot"))])
    if over_sweep:
        betas, values, active = zip(*over_sweep)
        data.append(dict(type="scatter", mode="lines+markers+text", x=[f"{b:g}" for b in betas],
                         y=[None if not np.isfinite(v) else round(v, 4) for v in values], xaxis="x2", yaxis="y2",
                         text=[f"{int(a)}" for a in active], textposition="top center", textfont=dict(size=9),
                         marker=dict(color=["#CC3311" if b == beta else CLASS_COLOURS[0] for b in betas]),
                         hovertemplate="beta %{x}: %{y:.3f} (%{text} active)<extra></extra>"))
        layout |= dict(xaxis2=dict(domain=[0.65, 1], title=dict(text="beta (last epoch)"), type="category"),
                       yaxis2=dict(anchor="x2", rangemode="tozero"))
    return plotly_json(data, **layout)
