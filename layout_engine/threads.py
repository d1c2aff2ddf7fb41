"""BLAS on one thread while laying out.

The force kernel (:mod:`layout_engine.force`) runs on numba's threads, one per core. OpenBLAS's threads, after
each matrix product (the kNN search, the guard's distances, a frame's scores), spin for a while waiting for
more work, and on a machine with as many cores as kernel threads they took the cores from the kernel: on 2
cores the default run's 124 frames took 43 s with BLAS on two threads and 20 s on one (the kernel itself
21 s -> 10 s, the kNN graphs 7.6 s -> 4.1 s, the scores 8.0 s -> 2.4 s). The products of a layout are small or
chunked: on one thread the kNN search of 10,000 x 128 activations takes the same 0.4 s as on two.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from threadpoolctl import ThreadpoolController

_controller: ThreadpoolController | None = None


@contextmanager
def one_blas_thread() -> Iterator[None]:
    """Within it (or a function it decorates), BLAS runs on one thread; the count before is restored after.

    The count is the process's: where threads of one process lay out at once (a server's requests), one that
    leaves may restore two threads while another still lays out, or the last to leave one thread; either costs
    only speed."""
    global _controller
    if _controller is None:  # made at first use, when numpy's and scipy's BLAS are loaded
        _controller = ThreadpoolController()
    with _controller.limit(limits=1, user_api="blas"):
        yield
