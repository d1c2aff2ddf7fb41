"""Figures of a run's story (pure, Plotly JSON): the timeline of its events, when its samples were learned, when
each class became decodable in each layer, and each layer's map at chosen epochs (the report's small
multiples)."""

from __future__ import annotations

import textwrap
from collections.abc import Sequence

import numpy as np

from analysis.events import KINDS, Event
from dashboard.figures import class_colour, class_name, plot_text, plotly_json

#: each kind of event's marker: (symbol, colour); Paul Tol's "bright" and "muted" colours
KIND_STYLE = {"merged": ("triangle-down", "#CC3311"), "separated": ("triangle-up", "#228833"),
              "settled": ("square", "#4477AA"), "probe_jump": ("arrow-up", "#228833"),
              "probe_drop": ("arrow-down", "#CC3311"), "dimension": ("diamond", "#AA3377"),
              "loss_spike": ("x", "#EE6677"), "plateau": ("line-ew", "#666666"),
              "overfitting": ("star", "#EE7733"), "memorised": ("hexagram", "#EE7733"),
              "latent_collapse": ("circle-x", "#882255"), "unit_death": ("cross", "#555555")}
#: the timeline's row of events of the whole network
NETWORK_ROW = "network"


def _wrap(text: str, width: int = 70) -> str:
    return "<br>".join(textwrap.wrap(plot_text(text), width))


def timeline_rows(layer_names: Sequence[str]) -> list[str]:
    """The timeline's rows, top to bottom: the whole network's, then the layers from the input on."""
    return [NETWORK_ROW, *layer_names]


def timeline_figure(events: Sequence[Event], n_epochs: int, layer_names: Sequence[str], epoch: int | None = None,
                    steps: Sequence[int] | None = None, ids: Sequence[int] | None = None) -> dict:
    """Every event as a marker at (its epoch, its layer's row), one trace per kind (the legend filters by kind),
    marker size by salience; a click reads the event's position in ``events`` (or ``ids``) from ``customdata``.
    The epoch on show (``epoch``) is a vertical line."""
    rows = timeline_rows(layer_names)
    ids = list(range(len(events))) if ids is None else list(ids)
    data = []
    for kind, label in KINDS.items():
        picked = [(i, e) for i, e in zip(ids, events) if e.kind == kind]
        if not picked:
            continue
        symbol, colour = KIND_STYLE[kind]
        data.append({"type": "scatter", "mode": "markers", "name": label,
                     "x": [e.epoch for _, e in picked],
                     "y": [NETWORK_ROW if e.layer is None else layer_names[e.layer] for _, e in picked],
                     "customdata": [i for i, _ in picked],
                     "text": [_wrap(e.text) for _, e in picked], "hovertemplate": "%{text}<extra></extra>",
                     "marker": {"symbol": symbol, "color": colour, "line": {"width": 1, "color": colour},
                                "size": [8 + 1.6 * e.salience for _, e in picked], "opacity": 0.85}})
    shapes = []
    if epoch is not None:
        shapes.append({"type": "line", "x0": epoch, "x1": epoch, "y0": 0, "y1": 1, "yref": "paper",
                       "line": {"color": "#000", "width": 1, "dash": "dot"}})
    xaxis = {"title": {"text": "epoch" if steps is None else "epoch (step)"}, "range": [-0.5, max(n_epochs - 0.5, 0.5)],
             "zeroline": False}
    if steps is not None:
        every = max(1, n_epochs // 8)
        xaxis |= {"tickvals": list(range(0, n_epochs, every)),
                  "ticktext": [f"{e} ({steps[e]})" for e in range(0, n_epochs, every)]}
    return plotly_json(data, height=70 + 34 * len(rows), margin={"l": 70, "r": 10, "t": 10, "b": 40},
                   xaxis=xaxis, yaxis={"categoryorder": "array", "categoryarray": rows[::-1], "type": "category",
                                       "range": [-0.5, len(rows) - 0.5]},
                   shapes=shapes, legend={"orientation": "h", "y": -0.35, "font": {"size": 11}},
                   hovermode="closest", clickmode="event")


def learned_figure(learned: np.ndarray, n_epochs: int) -> dict:
    """How many probe samples were learned (for good) at each epoch, and how many not by the end."""
    finite = learned[np.isfinite(learned)].astype(int)
    counts = np.bincount(finite, minlength=n_epochs)[:n_epochs]
    never = int(np.isnan(learned).sum())
    data = [{"type": "bar", "x": list(range(n_epochs)), "y": counts.tolist(), "name": "learned at",
             "marker": {"color": "#4477AA"},
             "hovertemplate": "%{y} samples learned at epoch %{x}<extra></extra>"}]
    if never:
        data.append({"type": "bar", "x": [n_epochs + 1], "y": [never], "name": "not by the end",
                     "marker": {"color": "#BBBBBB"}, "hovertemplate": "%{y} samples not learned<extra></extra>"})
    return plotly_json(data, height=240, margin={"l": 50, "r": 10, "t": 36, "b": 40}, showlegend=False,
                   title={"text": "When each sample was learned (correct from then on)", "font": {"size": 13}},
                   xaxis={"title": {"text": "epoch"},
                          "tickvals": [*range(0, n_epochs, max(1, n_epochs // 6)), *([n_epochs + 1] if never else [])],
                          "ticktext": [*map(str, range(0, n_epochs, max(1, n_epochs // 6))),
                                       *(["never"] if never else [])]},
                   yaxis={"title": {"text": "samples"}}, bargap=0.1)


def decodable_figure(decodable: np.ndarray, layer_names: Sequence[str], class_names: Sequence[str],
                     n_epochs: int) -> dict:
    """Per layer (rows) and class (columns), the epoch from which the class is linearly decodable; blank where
    not by the end."""
    z = np.where(np.isfinite(decodable), decodable, np.nan)
    text = [["never" if not np.isfinite(v) else str(int(v)) for v in row] for row in decodable]
    names = [class_name(class_names, c) for c in range(decodable.shape[1])]
    return plotly_json([{"type": "heatmap", "z": [[None if not np.isfinite(v) else float(v) for v in row] for row in z],
                     "x": names, "y": list(layer_names), "text": text, "texttemplate": "%{text}",
                     "colorscale": "Viridis", "zmin": 0, "zmax": max(n_epochs - 1, 1),
                     "colorbar": {"title": {"text": "epoch"}, "thickness": 10},
                     "hovertemplate": "%{y}, class %{x}: decodable from epoch %{text}<extra></extra>"}],
                   height=80 + 32 * len(layer_names), margin={"l": 50, "r": 10, "t": 36, "b": 40},
                   title={"text": "When each class became linearly decodable (probe recall >= 0.8)",
                          "font": {"size": 13}},
                   xaxis={"title": {"text": "class"}, "type": "category"},
                   yaxis={"autorange": "reversed", "type": "category"})


def small_multiples_figure(panels: dict[tuple[int, int], np.ndarray], labels: np.ndarray, layer_names: Sequence[str],
                           epochs: Sequence[int], class_names: Sequence[str]) -> dict:
    """Each layer (rows) at each of ``epochs`` (columns): ``panels[(layer, epoch)]`` the frame's display
    coordinates (n, 2), samples coloured by ``labels`` (n,); a missing frame is left blank."""
    rows, cols = len(layer_names), len(epochs)
    data, layout = [], {}
    gap = 0.02
    for r in range(rows):
        for c, epoch in enumerate(epochs):
            k = r * cols + c + 1
            xa, ya = f"xaxis{k}", f"yaxis{k}"
            x0, y1 = c / cols, 1 - r / rows
            layout[xa] = {"domain": [x0 + gap, x0 + 1 / cols - gap], "visible": False, "anchor": f"y{k}"}
            layout[ya] = {"domain": [y1 - 1 / rows + gap, y1 - gap], "visible": False, "anchor": f"x{k}",
                          "scaleanchor": f"x{k}"}
            xy = panels.get((r, epoch))
            if xy is None:
                continue
            data.append({"type": "scatter", "mode": "markers", "x": np.round(xy[:, 0], 4).tolist(),
                         "y": np.round(xy[:, 1], 4).tolist(), "xaxis": f"x{k}", "yaxis": f"y{k}",
                         "marker": {"size": 3, "color": [class_colour(int(v)) for v in labels]},
                         "hoverinfo": "skip", "showlegend": False})
    annotations = [{"text": f"epoch {e}", "x": (c + 0.5) / len(epochs), "y": 1.0, "xref": "paper", "yref": "paper",
                    "showarrow": False, "yanchor": "bottom"} for c, e in enumerate(epochs)]
    annotations += [{"text": name, "x": 0, "y": 1 - (r + 0.5) / rows, "xref": "paper", "yref": "paper",
                     "showarrow": False, "xanchor": "right", "textangle": -90} for r, name in enumerate(layer_names)]
    legend = [{"type": "scatter", "mode": "markers", "x": [None], "y": [None], "name": class_name(class_names, c),
               "marker": {"color": class_colour(c), "size": 8}} for c in np.unique(labels)[:20]]
    return plotly_json(data + legend, height=170 * rows + 60, margin={"l": 30, "r": 10, "t": 30, "b": 10},
                   annotations=annotations, legend={"orientation": "h", "y": -0.02}, **layout)
