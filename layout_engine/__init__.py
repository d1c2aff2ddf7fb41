"""Layouts of activations: kNN graph -> spectral start -> force-directed refinement -> temporal alignment.

Each stage is a pure function on numpy / scipy.sparse arrays and accepts the previous stage's output.
"""

from layout_engine.align import align_to, normalize
from layout_engine.force import optimize_layout
from layout_engine.graph import BipartiteGraph, bipartite_graph, knn_graph
from layout_engine.params import ENGINE_VERSION, LayoutParams
from layout_engine.pipeline import layout_frame, layout_graph, layout_sequence, next_frame
from layout_engine.spectral import spectral_init

__all__ = ["ENGINE_VERSION", "BipartiteGraph", "LayoutParams", "align_to", "bipartite_graph", "knn_graph",
           "layout_frame", "layout_graph", "layout_sequence", "next_frame", "normalize", "optimize_layout",
           "spectral_init"]
