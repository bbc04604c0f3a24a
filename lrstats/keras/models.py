"""Small reference models (seeded initializers, no global seeding)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import keras

from lrstats._validation import check_int


def demo_model(
    n_features: int,
    *,
    hidden: Sequence[int] = (32, 32),
    optimizer: Any = None,
    loss: Any = "mse",
    seed: int = 0,
) -> keras.Model:
    """A compiled MLP ``n_features → hidden… → 1`` (ReLU) for regression.

    Parameters
    ----------
    n_features : int
        Number of input features.
    hidden : sequence of int, default (32, 32)
        Widths of the hidden layers.
    optimizer : keras optimizer, optional
        Default ``keras.optimizers.SGD(learning_rate=0.01, momentum=0.9)``.
    loss : str or keras loss, default "mse"
    seed : int, default 0
        Seed of the Glorot-uniform initializers (layer ``i`` uses ``seed + i``).

    Returns
    -------
    keras.Model
        Built and compiled.
    """
    n_features = check_int(n_features, "n_features", minimum=1)
    seed = check_int(seed, "seed", minimum=0)
    layers = [keras.Input((n_features,))]
    for i, width in enumerate(hidden):
        width = check_int(width, "hidden", minimum=1)
        layers.append(
            keras.layers.Dense(
                width,
                activation="relu",
                kernel_initializer=keras.initializers.GlorotUniform(seed=seed + i),
            )
        )
    layers.append(
        keras.layers.Dense(
            1, kernel_initializer=keras.initializers.GlorotUniform(seed=seed + len(hidden))
        )
    )
    model = keras.Sequential(layers, name="lrstats_demo_mlp")
    model.compile(
        optimizer=optimizer or keras.optimizers.SGD(learning_rate=0.01, momentum=0.9), loss=loss
    )
    return model
