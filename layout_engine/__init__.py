"""Layouts of activations: kNN graph -> spectral start -> force-directed refinement -> temporal alignment.

Each stage is a pure function on numpy / scipy.sparse arrays and accepts the previous stage's output.
"""

from layout_engine.align import align_to, normalize
from layout_engine.force import optimize_layout
from layout_engine.graph import knn_graph
from layout_engine.pipeline import ENGINE_VERSION, LayoutParams, layout_frame, layout_sequence
from layout_engine.spectral import spectral_init

__all__ = ["ENGINE_VERSION", "LayoutParams", "align_to", "knn_graph", "layout_frame", "layout_sequence",
           "normalize", "optimize_layout", "spectral_init"]
