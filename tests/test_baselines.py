"""The reference layouts answer through the same interface as ours and agree with it on easy data."""

import numpy as np
import pytest

from layout_engine.baselines import BASELINES, aligned_umap_layouts
from layout_engine.metrics import class_silhouette


@pytest.mark.parametrize("name", sorted(BASELINES))
def test_each_baseline_separates_well_separated_blobs(name, blobs):
    X, labels = blobs
    coords = BASELINES[name](X, random_state=0)
    assert coords.shape == (180, 2) and coords.dtype == np.float32
    assert class_silhouette(coords, labels) > 0.5


def test_aligned_umap_gives_one_layout_per_frame(blobs):
    X, _ = blobs
    out = aligned_umap_layouts([X, X + 0.01], random_state=0)
    assert [e.shape for e in out] == [(180, 2), (180, 2)]
