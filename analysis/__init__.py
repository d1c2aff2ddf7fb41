"""What the pictures mean, in numbers: representation dynamics per (layer, epoch), dataset cartography, and
observations written from those numbers.

- :mod:`analysis.representation`: pure measures of one layer's activations (linear probe, intrinsic dimension,
  linear CKA, raw-space kNN class purity, class overlap, neighbourhood change).
- :mod:`analysis.cartography`: per-sample confidence and variability over epochs (Swayamdipta et al. 2020).
- :mod:`analysis.observations`: one short paragraph per frame, each sentence naming its number and written
  only above a stated threshold.
- :mod:`analysis.stage`: the store-aware stage that computes and caches them, and reads them back for the page.
"""
