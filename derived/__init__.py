"""Derived data over the store: what is cached, under which key, invalidated by what.

:mod:`derived.keys` names every entry of the store's derived cache and the version of each stage that makes one;
:mod:`derived.neighbours` is the one kNN table per activation matrix that the layout's graph and the measures
share. Below :mod:`frames`, :mod:`analysis` and the page; above :mod:`models` (the store) and
:mod:`layout_engine` (pure arrays).
"""
