"""Keras 3 on the torch backend: an MLP on the digits, recorded by EpochScope's callback at each epoch's end (or
every N batches).

    python examples/keras_digits.py [--epochs 10] [--every-n-steps N] [--logdir runs]
    epochscope serve --logdir runs
"""

from __future__ import annotations

import os

os.environ.setdefault("KERAS_BACKEND", "torch")  # before keras is imported

import argparse  # noqa: E402
import logging  # noqa: E402

import keras  # noqa: E402
import numpy as np  # noqa: E402
import torch.nn.functional as F  # noqa: E402
from sklearn.datasets import load_digits  # noqa: E402

from epochscope.callbacks.keras import EpochScopeCallback  # noqa: E402


def main(argv: list[str] | None = None) -> str:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--epochs", type=int, default=10, help="epochs, 1..200 (default %(default)s)")
    parser.add_argument("--every-n-steps", type=int, default=None, help="record every N batches instead of each epoch")
    parser.add_argument("--logdir", default="runs", help="log directory (default %(default)s)")
    args = parser.parse_args(argv)
    if not 1 <= args.epochs <= 200:
        parser.error(f"argument --epochs: must be in 1..200, got {args.epochs}")
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    keras.utils.set_random_seed(0)
    digits = load_digits()
    X, y = (digits.data / 16.0).astype(np.float32), digits.target.astype(np.int64)
    model = keras.Sequential([keras.Input(shape=(64,)), keras.layers.Dense(64, activation="relu", name="hidden1"),
                              keras.layers.Dense(32, activation="relu", name="hidden2"),
                              keras.layers.Dense(10, activation="softmax", name="out")])
    model.compile(optimizer=keras.optimizers.Adam(3e-3), loss="sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    # the model's log-probabilities are the logits the recorder hands loss_fn
    callback = EpochScopeCallback(args.logdir, ["hidden1", "hidden2"], X[:500], y[:500], name="keras-digits",
                                  every_n_steps=args.every_n_steps,
                                  loss_fn=lambda out, t: F.cross_entropy(out, t, reduction="none"))
    model.fit(X[500:], y[500:], epochs=args.epochs, batch_size=64, validation_data=(X[:500], y[:500]), verbose=0,
              callbacks=[callback])
    assert callback.recorder is not None
    print(callback.recorder.path)
    return str(callback.recorder.path)


if __name__ == "__main__":
    main()
