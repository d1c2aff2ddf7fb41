"""Pure figure builders: data in, ``go.Figure`` out. No store, no Dash."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

#: Paul Tol's "muted" qualitative palette (colour-blind safe), grey for a tenth class
CLASS_COLOURS = ("#332288", "#88CCEE", "#44AA99", "#117733", "#999933",
                 "#DDCC77", "#CC6677", "#882255", "#AA4499", "#777777")

_AXIS = dict(visible=False, showgrid=False, zeroline=False)


def message_figure(message: str) -> go.Figure:
    """An empty, axis-free figure that says what is happening or what to do."""
    fig = go.Figure()
    fig.add_annotation(text=message, showarrow=False, font=dict(size=15, color="#555"),
                       xref="paper", yref="paper", x=0.5, y=0.5)
    fig.update_layout(template="plotly_white", xaxis=_AXIS, yaxis=_AXIS, margin=dict(l=10, r=10, t=40, b=10))
    return fig


def sample_figure(x: np.ndarray, image_shape: tuple[int, int] | None, context: np.ndarray | None = None,
                  context_labels: np.ndarray | None = None) -> go.Figure:
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
    if context is not None and x.size == 2:
        labels = np.zeros(len(context), int) if context_labels is None else np.asarray(context_labels)
        fig = go.Figure(go.Scattergl(x=context[:, 0], y=context[:, 1], mode="markers", hoverinfo="skip",
                                     marker=dict(size=4, opacity=0.5,
                                                 color=[CLASS_COLOURS[int(c) % len(CLASS_COLOURS)] for c in labels])))
        fig.add_trace(go.Scatter(x=[x[0]], y=[x[1]], mode="markers", hoverinfo="skip",
                                 marker=dict(size=14, color="rgba(0,0,0,0)", line=dict(width=2.5, color="#000"))))
        fig.update_layout(showlegend=False, xaxis=dict(_AXIS, scaleanchor="y", scaleratio=1), yaxis=_AXIS)
    elif image_shape is not None and int(np.prod(image_shape)) == x.size:
        fig = go.Figure(go.Heatmap(z=x.reshape(image_shape)[::-1], colorscale="Greys", zmin=0, zmax=1,
                                   showscale=False, hovertemplate="%{z:.2f}<extra></extra>"))
        fig.update_layout(xaxis=dict(_AXIS, scaleanchor="y", scaleratio=1), yaxis=_AXIS)
    else:
        fig = go.Figure(go.Bar(x=[f"x{i}" for i in range(x.size)], y=x, marker_color="#777777"))
        fig.update_layout(yaxis=dict(range=[0, 1], title="value"))
    fig.update_layout(template="plotly_white", margin=dict(l=4, r=4, t=4, b=4), height=150)
    return fig


def activation_figure(activations: np.ndarray, layer_name: str) -> go.Figure:
    """A sample's activations at one layer, one bar per unit; ``activations`` is (units,)."""
    fig = go.Figure(go.Bar(y=np.asarray(activations, dtype=float), marker_color=CLASS_COLOURS[0],
                           hovertemplate="unit %{x}: %{y:.3f}<extra></extra>"))
    fig.update_layout(template="plotly_white", margin=dict(l=30, r=4, t=24, b=20), height=130,
                      title=dict(text=f"activations at {layer_name}", font=dict(size=12), x=0.01),
                      xaxis=dict(showticklabels=False), bargap=0.1)
    return fig


def training_figure(metrics: list[dict[str, float]], scores: dict[str, list[float | None]], epoch: int,
                    layer_name: str) -> go.Figure:
    """Loss and accuracy over epochs (top) and the layer's class separation and the layout's faithfulness
    (bottom: class silhouette, intra / inter-class distance ratio, trustworthiness), the current epoch marked.

    Parameters
    ----------
    metrics : list of dict
        Per epoch, as recorded (``train_loss``, ``test_loss``, and ``train_acc``, ``test_acc`` when classifying).
    scores : dict of list of float or None
        ``silhouette``, ``ratio``, ``trust`` per epoch (None where not laid out yet), as
        :func:`dashboard.service.scores` gives them.
    epoch : int
        The epoch on the slider.
    layer_name : str
    """
    from plotly.subplots import make_subplots

    epochs = list(range(len(metrics)))
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.08, row_heights=[0.6, 0.4],
                        specs=[[{"secondary_y": True}], [{}]])
    for key, name, dash in (("train_loss", "train loss", "dot"), ("test_loss", "test loss", "solid")):
        fig.add_trace(go.Scatter(x=epochs, y=[m.get(key) for m in metrics], name=name, mode="lines+markers",
                                 line=dict(color="#CC6677", dash=dash), marker=dict(size=4)), row=1, col=1)
    if metrics and "test_acc" in metrics[0]:
        for key, name, dash in (("train_acc", "train acc.", "dot"), ("test_acc", "test acc.", "solid")):
            fig.add_trace(go.Scatter(x=epochs, y=[m.get(key) for m in metrics], name=name, mode="lines+markers",
                                     line=dict(color="#332288", dash=dash), marker=dict(size=4)),
                          row=1, col=1, secondary_y=True)
    for key, name, colour in (("silhouette", f"silhouette ({layer_name})", "#117733"),
                              ("ratio", "intra / inter distance", "#999933"),
                              ("trust", "trustworthiness", "#777777")):
        fig.add_trace(go.Scatter(x=epochs, y=scores.get(key, []), name=name, mode="lines+markers",
                                 line=dict(color=colour), marker=dict(size=4), connectgaps=False), row=2, col=1)
    fig.add_vline(x=epoch, line=dict(color="#555", width=1, dash="dash"))
    fig.update_layout(template="plotly_white", margin=dict(l=40, r=40, t=10, b=10), height=300,
                      legend=dict(orientation="h", y=-0.1, font=dict(size=10), entrywidth=0.33, entrywidthmode="fraction"),
                      clickmode="event", hovermode="x unified")
    fig.update_yaxes(range=[0, 1.02], tickvals=[0, 0.5, 1], tickformat=".0%", showgrid=False, row=1, col=1,
                     secondary_y=True)
    return fig


def kl_figure(kl_dim: np.ndarray, active: np.ndarray) -> go.Figure:
    """KL to the prior per latent dimension (nats) as bars, the active units coloured and the collapsed ones
    grey; ``kl_dim`` and ``active`` (bool) are (latent,)."""
    kl_dim = np.asarray(kl_dim, dtype=float)
    colours = [CLASS_COLOURS[0] if a else "#BBBBBB" for a in active]
    fig = go.Figure(go.Bar(x=[f"z{j}" for j in range(len(kl_dim))], y=kl_dim, marker_color=colours,
                           hovertemplate="%{x}: %{y:.3f} nats<extra></extra>"))
    fig.update_layout(template="plotly_white", margin=dict(l=40, r=4, t=24, b=24), height=150,
                      title=dict(text="KL per latent dimension (nats); grey: collapsed", font=dict(size=12), x=0.01),
                      yaxis=dict(type="log" if kl_dim.max(initial=0) > 100 * max(kl_dim.min(initial=1), 1e-3)
                                 else "linear"))
    return fig


def active_units_figure(betas: list[float], active: list[float], beta: float) -> go.Figure:
    """Active latent units against beta over a sweep, the run on show marked."""
    fig = go.Figure(go.Scatter(x=betas, y=active, mode="lines+markers", line=dict(color=CLASS_COLOURS[0]),
                               hovertemplate="beta %{x:g}: %{y:.0f} active<extra></extra>"))
    fig.add_trace(go.Scatter(x=[beta], y=[active[betas.index(beta)]] if beta in betas else [], mode="markers",
                             marker=dict(size=12, color="rgba(0,0,0,0)", line=dict(width=2, color="#000")),
                             hoverinfo="skip"))
    fig.update_layout(template="plotly_white", margin=dict(l=40, r=4, t=24, b=30), height=150, showlegend=False,
                      title=dict(text="active units against beta (last epoch)", font=dict(size=12), x=0.01),
                      xaxis=dict(type="category", title=None))
    return fig


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


def class_means_figure(means: np.ndarray, class_names: Sequence[str]) -> go.Figure:
    """A neuron's mean activation per class, bars in the class colours; ``means`` is (n_classes,)."""
    fig = go.Figure(go.Bar(x=list(class_names), y=np.asarray(means, dtype=float),
                           marker_color=[CLASS_COLOURS[c % len(CLASS_COLOURS)] for c in range(len(means))],
                           hovertemplate="class %{x}: %{y:.3f}<extra></extra>"))
    fig.update_layout(template="plotly_white", margin=dict(l=30, r=4, t=24, b=20), height=130,
                      title=dict(text="mean activation per class", font=dict(size=12), x=0.01), bargap=0.15)
    return fig
