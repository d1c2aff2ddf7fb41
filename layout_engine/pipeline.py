"""The layout of one frame, and of a sequence of frames (a layer over epochs), from stage functions."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass

import numpy as np

from layout_engine.align import align_to, normalize
from layout_engine.force import IterationCallback, optimize_layout
from layout_engine.graph import knn_graph
from layout_engine.spectral import spectral_init
from layout_engine.validation import check_points

#: bump when a change in the engine changes its output: it is part of every layout cache key
ENGINE_VERSION = "1"

#: scale of a start layout handed to the optimizer (the forces assume layouts of this size)
_START_SCALE = 6.0


@dataclass(frozen=True)
class LayoutParams:
    """Parameters of a layout; their JSON is part of the layout cache key.

    Parameters
    ----------
    n_neighbors : int
        k of the kNN graph.
    metric : {"euclidean", "cosine"}
        Distance in activation space.
    n_iter : int
        Force iterations from a spectral start.
    warm_n_iter : int
        Force iterations from the previous frame's layout.
    learning_rate, warm_learning_rate : float
        Initial step sizes for a cold and a warm start.
    repulsion : float
        Repulsion relative to attraction.
    negative_sample_rate : int
        Repulsive samples per attractive sample.
    gravity : float
        Pull towards the origin.
    random_state : int
        Seed of every random choice.
    """

    n_neighbors: int = 15
    metric: str = "euclidean"
    n_iter: int = 200
    warm_n_iter: int = 40
    learning_rate: float = 1.0
    warm_learning_rate: float = 0.1
    repulsion: float = 1.0
    negative_sample_rate: int = 5
    gravity: float = 0.0
    random_state: int = 0

    def digest(self) -> str:
        """Short hash of the parameters and :data:`ENGINE_VERSION`."""
        text = json.dumps({"engine": ENGINE_VERSION, **asdict(self)}, sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:16]


def content_hash(X: np.ndarray) -> str:
    """Hash of an array's shape, dtype and bytes."""
    X = np.ascontiguousarray(X)
    h = hashlib.sha256(f"{X.shape}{X.dtype}".encode())
    h.update(X.data)
    return h.hexdigest()[:24]


def frame_key(X: np.ndarray, params: LayoutParams, previous_key: str | None) -> str:
    """Cache key of a frame: its input content, the parameters, the engine and the frame it started from."""
    start = hashlib.sha256(previous_key.encode()).hexdigest()[:16] if previous_key else "cold"
    return f"layout/{params.digest()}/{content_hash(X)}/{start}"


def layout_frame(X: np.ndarray, params: LayoutParams = LayoutParams(), *, init: np.ndarray | None = None,
                 callback: IterationCallback | None = None) -> np.ndarray:
    """Lay out one frame: kNN graph, then a spectral start (or ``init``), then force refinement.

    Parameters
    ----------
    X : ndarray of shape (n_samples, n_features)
        Activations of the probe samples.
    params : LayoutParams
    init : ndarray of shape (n_samples, 2), optional
        Warm start (the previous epoch's layout); uses ``warm_n_iter`` and ``warm_learning_rate``.
    callback : callable, optional
        Passed to :func:`layout_engine.force.optimize_layout`.

    Returns
    -------
    ndarray of shape (n_samples, 2), float32
        Raw layout, at the optimizer's scale (feed it back as the next frame's ``init``).
    """
    X = check_points(X)
    n = X.shape[0]
    if init is not None and np.shape(init) != (n, 2):
        raise ValueError(f"init must have shape ({n}, 2), got {np.shape(init)}")
    if n <= 2:
        return np.array([[-1.0, 0.0], [1.0, 0.0]][:n], dtype=np.float32) * _START_SCALE
    graph = knn_graph(X, n_neighbors=params.n_neighbors, metric=params.metric)
    if init is None:
        start = normalize(spectral_init(graph, random_state=params.random_state)) * _START_SCALE
        n_iter, lr = params.n_iter, params.learning_rate
    else:
        start = normalize(init) * _START_SCALE
        n_iter, lr = params.warm_n_iter, params.warm_learning_rate
    return optimize_layout(start, graph, n_iter=n_iter, learning_rate=lr, repulsion=params.repulsion,
                           negative_sample_rate=params.negative_sample_rate, gravity=params.gravity,
                           random_state=params.random_state, callback=callback)


@dataclass(frozen=True)
class Frame:
    """One laid-out frame of a sequence.

    Attributes
    ----------
    index : int
        Position in the sequence (the epoch).
    raw : ndarray of shape (n_samples, 2)
        Optimizer output, the next frame's warm start.
    display : ndarray of shape (n_samples, 2)
        Centred, unit RMS radius, Procrustes-aligned to the previous frame's display.
    """

    index: int
    raw: np.ndarray
    display: np.ndarray


def layout_sequence(frames: Iterable[np.ndarray], params: LayoutParams = LayoutParams(), *,
                    should_stop: Callable[[], bool] | None = None) -> Iterator[Frame]:
    """Lay out a sequence of frames in order, each warm-started from the previous one.

    Parameters
    ----------
    frames : iterable of ndarray, each (n_samples, n_features_t)
        Activations of the same samples at successive epochs (the feature count may change).
    params : LayoutParams
    should_stop : callable, optional
        Polled every iteration; when it returns True the sequence ends after the current frame.

    Yields
    ------
    Frame
    """
    callback = (lambda it, emb: bool(should_stop())) if should_stop else None
    previous: Frame | None = None
    for t, X in enumerate(frames):
        raw = layout_frame(X, params, init=None if previous is None else previous.raw, callback=callback)
        display = normalize(raw) if previous is None else align_to(raw, previous.display)
        previous = Frame(index=t, raw=raw, display=display)
        yield previous
        if should_stop is not None and should_stop():
            return
