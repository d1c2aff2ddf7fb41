"""The layout's parameters, each checked where it is declared (as scikit-learn's ``_parameter_constraints``).

A bad value fails when :class:`LayoutParams` is built, with a message naming the field and its accepted range,
never later inside a background job. Values are normalised as they are checked (an integral float field holds a
float, so ``1`` and ``1.0`` give one cache key), and :meth:`LayoutParams.from_mapping` reads a JSON object
(``EPOCHSCOPE_LAYOUT``, ``--layout``) field by field, refusing unknown fields.
"""

from __future__ import annotations

import hashlib
import json
import math
import operator
from collections.abc import Mapping
from dataclasses import asdict, dataclass, fields
from numbers import Integral, Real
from typing import Any

from layout_engine.graph import METRICS

#: graphs a layout can be made of
GRAPHS = ("knn", "bipartite")

#: bump when a change in the engine changes its output: it is part of every layout cache key
ENGINE_VERSION = "13"


@dataclass(frozen=True)
class Choice:
    """One of a fixed set of strings."""

    options: tuple[str, ...]

    def describe(self) -> str:
        return "one of " + ", ".join(repr(o) for o in self.options)

    def check(self, value: Any) -> Any:
        if not isinstance(value, str) or value not in self.options:
            raise TypeError
        return value


@dataclass(frozen=True)
class Interval:
    """A whole number (``integral``) or a real number in ``low..high`` (closed; ``high`` None: unbounded);
    ``optional``: ``None`` is accepted too."""

    integral: bool
    low: float
    high: float | None
    optional: bool = False

    def describe(self) -> str:
        kind = "a whole number" if self.integral else "a number"
        show = (lambda v: str(int(v))) if self.integral else (lambda v: f"{v:g}")
        bound = f"in {show(self.low)}..{show(self.high)}" if self.high is not None else f">= {show(self.low)}"
        return f"{'None or ' if self.optional else ''}{kind} {bound}"

    def check(self, value: Any) -> Any:
        if value is None and self.optional:
            return None
        if isinstance(value, bool) or not isinstance(value, Integral if self.integral else Real):
            raise TypeError
        number = operator.index(value) if isinstance(value, Integral) and self.integral else float(value)
        if not math.isfinite(number) or number < self.low or (self.high is not None and number > self.high):
            raise TypeError
        return number


#: what each field of :class:`LayoutParams` accepts
CONSTRAINTS: dict[str, Choice | Interval] = {
    "graph": Choice(GRAPHS),
    "n_neighbors": Interval(True, 2, 200),
    "metric": Choice(METRICS),
    "top_k": Interval(True, 1, 1024),
    "quantile": Interval(False, 0.0, 1.0),
    "n_iter": Interval(True, 1, 10_000),
    "warm_n_iter": Interval(True, 1, 10_000),
    "learning_rate": Interval(False, 1e-6, 100.0),
    "warm_learning_rate": Interval(False, 1e-6, 100.0),
    "repulsion": Interval(False, 0.0, 100.0),
    "negative_sample_rate": Interval(True, 1, 100),
    "gravity": Interval(False, 0.0, 100.0),
    "anchor": Interval(False, 0.0, 100.0),
    "guard": Interval(False, 0.0, 1.0, optional=True),
    "random_state": Interval(True, 0, 2**32 - 1),
}


@dataclass(frozen=True)
class LayoutParams:
    """Parameters of a layout; their JSON is part of the layout cache key. Every field is checked (and
    normalised) when built: ``ValueError`` naming the field and :data:`CONSTRAINTS`' range.

    Parameters
    ----------
    graph : {"knn", "bipartite"}
        Which graph to lay out: the samples' kNN graph, or the neuron x sample graph (samples first, then
        neurons; see :func:`layout_engine.graph.bipartite_graph`).
    n_neighbors : int
        k of the kNN graph, 2..200.
    metric : {"euclidean", "cosine"}
        Distance in activation space.
    top_k : int
        Bipartite graph: neurons per sample.
    quantile : float
        Bipartite graph: per-neuron activation quantile above which a sample is linked, 0..1.
    n_iter : int
        Force iterations from a spectral start; 200 (against 150) gains 0.0006 of trustworthiness on the default
        run's warm sequences (the guard's cold layouts are better, so it keeps better frames).
    warm_n_iter : int
        Force iterations from the previous frame's layout.
    learning_rate, warm_learning_rate : float
        Initial step sizes for a cold and a warm start. Small, because the spectral start already holds the
        layout's shape: at UMAP's 1, rounding in the weights grew into layouts 0.3 of the radius apart (the
        optimizer's steps are chaotic), at 0.03 they stay 0.001 apart, and trustworthiness is as good or better
        (digits 0.971 against 0.971, breast cancer 0.923 against 0.898). Cold iterations at 0.06 (and 100 warm at
        0.03) lay out as well as twice as many at 0.03 at half the cost. Warm steps of 0.045 moved a rotated
        sequence 0.025 of the radius from the original (0.02 allowed).
    repulsion : float
        Repulsion relative to attraction; 2 (against UMAP's 1) gains 0.001 of trustworthiness on digits at no
        cost; 3, 4 or 6 gain nothing (the clipped pushes of near nodes do not grow).
    negative_sample_rate : int
        Repulsion per unit of edge weight (UMAP's negatives per edge sample); a node draws
        :data:`~layout_engine.force.NEGATIVES_PER_RATE` x this many negatives per iteration. More negatives
        average out the sampling noise of the repulsion: trustworthiness median of the default run's warm
        sequences (k = 15, all frames of 4 layers) 0.9885 at 5, 0.9895 at 10, 0.9908 at 15 (0.9914 with 200 cold
        iterations), 0.9907 at 20; a negative costs about what an edge does.
    gravity : float
        Pull towards the origin.
    anchor : float
        Warm starts only: pull of each node towards its position in the previous frame, weakened as the
        frame's neighbour churn grows (a rebuilt frame is not held back) and as the node's own does (see
        :data:`layout_engine.pipeline.ANCHOR_CHURN_POWER`): what kept its neighbours holds still, what changed
        moves. On the default run's h3, epochs 20-29: 2-D neighbour churn 0.19 -> 0.13 per epoch against the
        raw space's 0.09, rank correlation of displacement with raw churn 0.09 -> 0.27, for trustworthiness
        0.9907 -> 0.9904 (at 30: 0.11, 0.38, 0.9901).
    guard : float or None
        Warm starts only: also lay the frame out cold (a spectral start) and keep the cold layout instead when
        its trustworthiness beats the warm one's by more than ``guard`` (estimated on
        :data:`layout_engine.pipeline.GUARD_POINTS` samples), so that following the sequence never costs a frame
        faithfulness (unchecked, the warm start's lag reached 0.007 on wine). A kept cold frame is
        Procrustes-aligned to the previous one, fitted to the nodes that kept their neighbours, and the sequence
        goes on warm from it. ``None`` turns the check off: about half the layout time on digits.
    random_state : int
        Seed of every random choice.
    """

    graph: str = "knn"
    n_neighbors: int = 15
    metric: str = "euclidean"
    top_k: int = 3
    quantile: float = 0.95
    n_iter: int = 200
    warm_n_iter: int = 100
    learning_rate: float = 0.06
    warm_learning_rate: float = 0.03
    repulsion: float = 2.0
    negative_sample_rate: int = 15
    gravity: float = 0.0
    anchor: float = 30.0
    guard: float | None = 0.003
    random_state: int = 0

    def __post_init__(self) -> None:
        for name, constraint in CONSTRAINTS.items():
            value = getattr(self, name)
            try:
                normalised = constraint.check(value)
            except TypeError:
                raise ValueError(f"{name} must be {constraint.describe()}, got {value!r}") from None
            object.__setattr__(self, name, normalised)

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> LayoutParams:
        """The parameters a JSON object names (the others at their defaults); ``ValueError`` naming an unknown
        field (and the known ones) or a bad value's field and range."""
        if not isinstance(values, Mapping):
            raise ValueError(f"layout parameters must be a JSON object of fields, got {type(values).__name__}")
        known = [f.name for f in fields(cls)]
        unknown = sorted(set(values) - set(known))
        if unknown:
            raise ValueError(f"unknown layout parameter {unknown[0]!r}; the fields are {', '.join(known)}")
        return cls(**values)

    @classmethod
    def from_json(cls, text: str) -> LayoutParams:
        """:meth:`from_mapping` of a JSON text; ``ValueError`` when it is not JSON."""
        try:
            values = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"layout parameters are not valid JSON: {exc}") from None
        return cls.from_mapping(values)

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    def digest(self) -> str:
        """Short hash of all parameters and :data:`ENGINE_VERSION`: what a layout depends on."""
        text = json.dumps({"engine": ENGINE_VERSION, **asdict(self)}, sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def graph_digest(self) -> str:
        """Short hash of the graph parameters and :data:`ENGINE_VERSION`: what a kNN graph depends on."""
        values = ({"n_neighbors": self.n_neighbors, "metric": self.metric} if self.graph == "knn"
                  else {"top_k": self.top_k, "quantile": self.quantile})
        text = json.dumps({"engine": ENGINE_VERSION, "graph": self.graph, **values}, sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:16]
