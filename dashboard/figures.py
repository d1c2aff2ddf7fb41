"""Pure figure builders: data in, ``go.Figure`` out. No store, no Dash."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

#: Paul Tol's "muted" qualitative palette (colour-blind safe), grey for a tenth class
CLASS_COLOURS = ("#332288", "#88CCEE", "#44AA99", "#117733", "#999933",
                 "#DDCC77", "#CC6677", "#882255", "#AA4499", "#777777")

_AXIS = dict(visible=False, showgrid=False, zeroline=False)


def class_colour(label: int) -> str:
    return CLASS_COLOURS[int(label) % len(CLASS_COLOURS)]


def map_figure(coords: np.ndarray, labels: np.ndarray, predictions: np.ndarray | None, confidence: np.ndarray | None,
               sample_index: np.ndarray, class_names: Sequence[str], *, title: str = "",
               revision: str = "map") -> go.Figure:
    """Scatter map of probe samples coloured by true class, one WebGL trace per class.

    Parameters
    ----------
    coords : ndarray of shape (n, 2)
        Node positions.
    labels : ndarray of shape (n,), int
        True classes.
    predictions : ndarray of shape (n,), int, or None
        Predicted classes; ``None`` for a model that does not classify (a VAE).
    confidence : ndarray of shape (n,), or None
        Probability of the predicted class.
    sample_index : ndarray of shape (n,), int
        Data set index of each node; carried in ``customdata[:, 0]`` so a click names its sample.
    class_names : sequence of str
        Legend names by class.
    title : str
        Figure title.
    revision : str
        ``uirevision``: zoom and legend toggles survive redraws while it stays the same.
    """
    fig = go.Figure()
    classifies = predictions is not None
    if not classifies:
        predictions, confidence = np.full(len(labels), -1), np.full(len(labels), np.nan)
    predicted = "<br>predicted %{customdata[2]:d} (%{customdata[3]:.0%})" if classifies else ""
    for cls in np.unique(labels):
        members = np.flatnonzero(labels == cls)
        custom = np.stack([sample_index[members], labels[members], predictions[members],
                           confidence[members]], axis=1)
        fig.add_trace(go.Scattergl(
            x=coords[members, 0], y=coords[members, 1], mode="markers", name=class_names[int(cls)],
            marker=dict(size=6, color=class_colour(cls), line=dict(width=0.4, color="white")),
            customdata=custom,
            hovertemplate="sample %{customdata[0]:d}<br>true %{customdata[1]:d}" + predicted + "<extra></extra>"))
    lo, hi = (coords.min(axis=0), coords.max(axis=0)) if len(coords) else (np.full(2, -1.0), np.ones(2))
    pad = 0.04 * float(max(hi - lo)) + 1e-6
    fig.update_layout(
        title=dict(text=title, x=0.01, font=dict(size=14)), uirevision=revision, template="plotly_white",
        margin=dict(l=10, r=10, t=40, b=10), legend=dict(title="class", itemsizing="constant"),
        xaxis=dict(_AXIS, range=[lo[0] - pad, hi[0] + pad]),
        yaxis=dict(_AXIS, range=[lo[1] - pad, hi[1] + pad], scaleanchor="x", scaleratio=1))
    return fig


def message_figure(message: str) -> go.Figure:
    """An empty, axis-free figure that says what is happening or what to do."""
    fig = go.Figure()
    fig.add_annotation(text=message, showarrow=False, font=dict(size=15, color="#555"),
                       xref="paper", yref="paper", x=0.5, y=0.5)
    fig.update_layout(template="plotly_white", xaxis=_AXIS, yaxis=_AXIS, margin=dict(l=10, r=10, t=40, b=10))
    return fig
