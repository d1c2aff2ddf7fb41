"""A run's frames: every (layer, epoch) of a recorded run laid out as a map, scored, and indexed in the store.

The store-aware layout stage, shared by the page's jobs, the Celery workers, the benchmarks and the command line
(``python -m epochscope prepare RUN_ID``):

- :mod:`frames.index`: which sequences a layer can be shown as (graph mode x method) and what is laid out;
- :mod:`frames.scores`: each frame's scores (silhouette, trustworthiness, ...) and extent;
- :mod:`frames.chains`: one layer's epochs laid out in order, warm-started (a :class:`~frames.chains.Chain`), and
  a job's hold on a run's chains, spread over workers (:class:`~frames.chains.LayerChains`);
- :mod:`frames.compute`: a finished run's frames, in parallel processes at large n, and a reference tool's;
- :mod:`frames.prepare`: a run trained if needed, laid out while it trains, then measured.

A frame is a layout stored by its content's key (:func:`derived.keys.layout_key`), with its scores and
extent, and then indexed (:meth:`models.store.RunStore.index_frame`): an indexed frame is ready for the page.
"""
