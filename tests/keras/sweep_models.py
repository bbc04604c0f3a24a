"""Model builders for the sweep tests: module-level, so Dask workers can import them."""

from __future__ import annotations

import keras
import numpy as np

N_ROWS = 64
N_FEATURES = 4
# Eager steps: these tiny runs take a few steps each, and tracing a train step per fresh
# model costs more than the steps themselves.
EAGER = True


def sweep_data(seed: int = 20261130):
    """64 × 4 training rows and 32 validation rows (float32), a noisy linear target."""
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(N_ROWS + 32, N_FEATURES)).astype(np.float32)
    y = x @ rng.normal(size=(N_FEATURES, 1)) + 0.1 * rng.normal(size=(N_ROWS + 32, 1))
    y = y.astype(np.float32)
    return x[:N_ROWS], y[:N_ROWS], (x[N_ROWS:], y[N_ROWS:])


def build_mlp(lr, seed, *, dropout=0.0, momentum=0.0, schedule=None, total_steps=None):
    """A 4 → 8 → 1 MLP with unseeded initializers (the sweep's global seed makes them
    reproducible), optional dropout, SGD with the run's lr, mse loss and an mae metric."""
    layers = [keras.Input((N_FEATURES,)), keras.layers.Dense(8, activation="relu")]
    if dropout:
        layers.append(keras.layers.Dropout(dropout))
    layers.append(keras.layers.Dense(1))
    model = keras.Sequential(layers)
    rate = lr
    if schedule is not None:
        from lrstats.keras import learning_rate_schedule

        rate = learning_rate_schedule(
            schedule, lr, total_steps=total_steps, one_cycle=TriangleOneCycle
        )
    model.compile(
        keras.optimizers.SGD(rate, momentum=momentum),
        loss="mse",
        metrics=["mae"],
        run_eagerly=EAGER,
    )
    return model


def build_dropout_mlp(lr, seed):
    return build_mlp(lr, seed, dropout=0.25)


class TriangleOneCycle(keras.optimizers.schedules.LearningRateSchedule):
    """A minimal 1cycle stand-in: linear up from max_lr/10 to max_lr, then down to max_lr/100."""

    def __init__(self, max_lr, total_steps):
        self.max_lr = float(max_lr)
        self.total_steps = int(total_steps)

    def __call__(self, step):
        step = keras.ops.cast(step, "float32")
        half = self.total_steps / 2.0
        up = self.max_lr / 10.0 + (self.max_lr - self.max_lr / 10.0) * step / half
        down = self.max_lr - (self.max_lr - self.max_lr / 100.0) * (step - half) / half
        return keras.ops.where(step < half, up, keras.ops.maximum(down, self.max_lr / 100.0))

    def get_config(self):
        return {"max_lr": self.max_lr, "total_steps": self.total_steps}
