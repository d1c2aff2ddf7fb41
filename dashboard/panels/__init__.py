"""The page's panels: views only. Each module is a ``layout()`` plus ``register(app, ctx)`` whose callbacks call the
page's services (:mod:`dashboard.service`, :mod:`dashboard.catalogue`, :mod:`dashboard.sequences`,
:mod:`dashboard.inspection`, :mod:`dashboard.export`, :mod:`dashboard.work`) and the pure figure builders
(:mod:`dashboard.figures`). A panel imports no other panel and not the store (``tests/test_imports.py``); what
a panel shows that must be computed is computed by the background job's stages and read back.
"""
