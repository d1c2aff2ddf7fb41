"""The recording side of EpochScope: numpy and torch only, no Dash. :class:`~epochscope.record.recorder.Recorder`
writes a run into a log directory (:mod:`epochscope.record.logdir`), which the app reads."""
