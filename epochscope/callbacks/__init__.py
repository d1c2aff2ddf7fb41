"""Record a run from a training framework's own loop: one callback per framework, each a thin adapter over
:class:`epochscope.record.recorder.Recorder` (:mod:`epochscope.callbacks.lightning`,
:mod:`epochscope.callbacks.huggingface`, :mod:`epochscope.callbacks.keras`). Each records once before training
and then at every epoch's end, or every ``every_n_steps`` training steps (the run's slider then shows steps), on
the main process only; the framework is imported only by its own module."""
