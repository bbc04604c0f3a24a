"""Shared, session-scoped fixtures for the Keras layer's tests.

TensorFlow is imported once per session (here); without it the whole directory is skipped and the
framework-free part of the suite still runs. Models are tiny (8 features -> 16 -> 1, 256 rows) and
built from literal seeds, so any test can rebuild the same model; models whose state a test does
not change are shared across tests to save the sampler's first-call tracing.
"""

from __future__ import annotations

import os

import numpy as np
import pytest

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
tf = pytest.importorskip("tensorflow")
keras = pytest.importorskip("keras")

from keras import ops  # noqa: E402

N_ROWS = 256
N_FEATURES = 8
HIDDEN = 16


class SquaredRateSGD(keras.optimizers.SGD):
    """A deliberately non-affine optimizer: ``w <- w - lr**2 * g`` (no momentum)."""

    def update_step(self, gradient, variable, learning_rate):
        lr = ops.cast(learning_rate, variable.dtype)
        self.assign_sub(variable, ops.multiply(ops.multiply(lr, lr), gradient))


class CappedRateSGD(keras.optimizers.SGD):
    """Affine in lr up to 0.05, constant above: ``w <- w - min(lr, 0.05) * g`` (no momentum)."""

    def update_step(self, gradient, variable, learning_rate):
        lr = ops.minimum(ops.cast(learning_rate, variable.dtype), 0.05)
        self.assign_sub(variable, ops.multiply(lr, gradient))


def make_optimizer(name: str):
    """Optimizers by short name, with learning rates that are sensible for the tiny MLP."""
    factories = {
        "sgd": lambda: keras.optimizers.SGD(0.05),
        "momentum": lambda: keras.optimizers.SGD(0.05, momentum=0.9),
        "nesterov": lambda: keras.optimizers.SGD(0.05, momentum=0.9, nesterov=True),
        "adam": lambda: keras.optimizers.Adam(1e-3),
        "adamw": lambda: keras.optimizers.AdamW(1e-3, weight_decay=0.05),
        # Keras scales the loss by the factor and divides the gradients by it in the step
        "adam-scaled": lambda: keras.optimizers.Adam(1e-3, loss_scale_factor=128.0),
        "rmsprop": lambda: keras.optimizers.RMSprop(1e-3),
        "ftrl": lambda: keras.optimizers.Ftrl(0.05),
        # with l1/l2 strengths Ftrl's step is rational and piecewise in lr: not affine
        "ftrl-l1l2": lambda: keras.optimizers.Ftrl(
            0.05, l1_regularization_strength=0.01, l2_regularization_strength=0.5
        ),
        "squared": lambda: SquaredRateSGD(0.05),
        "capped": lambda: CappedRateSGD(0.05),
        "schedule": lambda: keras.optimizers.SGD(
            keras.optimizers.schedules.ExponentialDecay(0.05, decay_steps=2, decay_rate=0.5),
            momentum=0.9,
        ),
    }
    return factories[name]()


def build_mlp(
    *,
    seed: int = 0,
    optimizer: str = "sgd",
    loss="mse",
    dropout: float | None = None,
    batchnorm: bool = False,
    l2: float | None = None,
    n_features: int = N_FEATURES,
    hidden: int | None = HIDDEN,
):
    """A built and compiled MLP ``n_features -> hidden -> 1`` (``hidden=None``: a linear Dense(1))."""
    init = keras.initializers.GlorotUniform(seed=seed)
    regularizer = keras.regularizers.L2(l2) if l2 else None
    layers = [keras.Input((n_features,))]
    if hidden is not None:
        layers.append(
            keras.layers.Dense(
                hidden, activation="relu", kernel_initializer=init, kernel_regularizer=regularizer
            )
        )
        if batchnorm:
            layers.append(keras.layers.BatchNormalization())
        if dropout:
            layers.append(keras.layers.Dropout(dropout))
    layers.append(
        keras.layers.Dense(1, kernel_initializer=keras.initializers.GlorotUniform(seed=seed + 1))
    )
    model = keras.Sequential(layers)
    model.compile(optimizer=make_optimizer(optimizer), loss=loss)
    return model


def warm_up(model, x, y, steps: int = 3, batch_size: int = 32) -> None:
    """A few real optimizer steps (eager), so slots are non-zero and ``iterations > 0``."""
    for step in range(steps):
        rows = slice(step * batch_size, (step + 1) * batch_size)
        with tf.GradientTape() as tape:
            y_pred = model(x[rows], training=True)
            loss = model.compute_loss(x=x[rows], y=y[rows], y_pred=y_pred, training=True)
        grads = tape.gradient(loss, model.trainable_variables)
        model.optimizer.apply_gradients(zip(grads, model.trainable_variables, strict=True))


@pytest.fixture(scope="session")
def regression_data():
    """256 x 8 float32 features and a 256 x 1 float32 target (mildly non-linear, noisy)."""
    rng = np.random.default_rng(20261123)
    x = rng.normal(size=(N_ROWS, N_FEATURES)).astype(np.float32)
    weights = rng.normal(size=(N_FEATURES, 1))
    y = x @ weights + 0.5 * np.sin(2.0 * x[:, :1]) + 0.1 * rng.normal(size=(N_ROWS, 1))
    return x, y.astype(np.float32)


@pytest.fixture(scope="session")
def make_model():
    """The model factory :func:`build_mlp` (a fresh model per call)."""
    return build_mlp


@pytest.fixture(scope="session")
def make_warm_model(regression_data):
    """A factory for models whose optimizer has taken three real steps (non-fresh state)."""
    x, y = regression_data

    def factory(optimizer: str, **kwargs):
        model = build_mlp(optimizer=optimizer, **kwargs)
        warm_up(model, x, y)
        return model

    return factory


@pytest.fixture(scope="session")
def sgd_model():
    """A shared MLP with plain SGD. Tests using it must leave its state as they found it."""
    return build_mlp(seed=0, optimizer="sgd")


@pytest.fixture(scope="session")
def small_grid():
    """Seven learning rates on a log grid, 1e-3 .. 1."""
    return np.geomspace(1e-3, 1.0, 7)


@pytest.fixture(scope="session")
def sample_deltas():
    """``lrstats.keras.sample_deltas`` (imported lazily so a broken sampler fails tests, not collection)."""
    from lrstats.keras import sample_deltas

    return sample_deltas


@pytest.fixture(scope="session")
def divergence_warning():
    from lrstats.keras import DivergenceWarning

    return DivergenceWarning


class PenalizedStep(keras.Sequential):
    """A model whose ``train_step`` adds an L1 penalty on the weights to the loss it trains on
    (and reports): Keras' ``train_on_batch`` runs it, the standard step would not."""

    def train_step(self, data):
        x, y, sample_weight = keras.utils.unpack_x_y_sample_weight(data)
        with tf.GradientTape() as tape:
            y_pred = self(x, training=True)
            loss = self.compute_loss(x=x, y=y, y_pred=y_pred, sample_weight=sample_weight)
            loss = loss + 0.05 * tf.add_n(
                [tf.reduce_sum(tf.abs(w)) for w in self.trainable_weights]
            )
        grads = tape.gradient(loss, self.trainable_weights)
        self.optimizer.apply_gradients(zip(grads, self.trainable_weights, strict=True))
        return {"loss": loss}


def build_kind(kind: str, *, seed: int = 0):
    """Tiny compiled models (8 features -> 16 -> 1) of the kinds a real training step treats
    specially, for the checks against ``train_on_batch`` loops:

    - ``"spectral"``: a ``SpectralNormalization`` Dense (its training forward pass writes the
      kernel), Adam;
    - ``"loss_scale"``: momentum SGD wrapped in a ``LossScaleOptimizer`` (dynamic scale);
    - ``"constraint"``: a ``MaxNorm`` kernel constraint (applied after every step), SGD;
    - ``"accumulation"``: Adam with ``gradient_accumulation_steps=2`` (weights move every
      second step);
    - ``"train_step"``: :class:`PenalizedStep`, momentum SGD;
    - ``"activity"``: an ``activity_regularizer`` (a loss added in ``call``), Adam;
    - ``"bn_dropout"``: Dense -> BatchNormalization -> Dropout(0.5), Adam.
    """
    init = keras.initializers.GlorotUniform(seed=seed)
    out = keras.layers.Dense(1, kernel_initializer=keras.initializers.GlorotUniform(seed=seed + 1))
    hidden = {"kernel_initializer": init, "activation": "relu"}
    if kind == "spectral":
        body = [keras.layers.SpectralNormalization(keras.layers.Dense(HIDDEN, **hidden))]
        optimizer = keras.optimizers.Adam(1e-3)
    elif kind == "loss_scale":
        body = [keras.layers.Dense(HIDDEN, **hidden)]
        optimizer = keras.optimizers.LossScaleOptimizer(keras.optimizers.SGD(0.05, momentum=0.9))
    elif kind == "constraint":
        body = [
            keras.layers.Dense(HIDDEN, kernel_constraint=keras.constraints.MaxNorm(0.6), **hidden)
        ]
        optimizer = keras.optimizers.SGD(0.05)
    elif kind == "accumulation":
        body = [keras.layers.Dense(HIDDEN, **hidden)]
        optimizer = keras.optimizers.Adam(1e-3, gradient_accumulation_steps=2)
    elif kind == "train_step":
        body = [keras.layers.Dense(HIDDEN, **hidden)]
        optimizer = keras.optimizers.SGD(0.05, momentum=0.9)
    elif kind == "activity":
        body = [
            keras.layers.Dense(HIDDEN, activity_regularizer=keras.regularizers.L2(0.05), **hidden)
        ]
        optimizer = keras.optimizers.Adam(1e-3)
    elif kind == "bn_dropout":
        body = [
            keras.layers.Dense(HIDDEN, **hidden),
            keras.layers.BatchNormalization(),
            keras.layers.Dropout(0.5, seed=seed),
        ]
        optimizer = keras.optimizers.Adam(1e-3)
    else:
        raise ValueError(f"unknown kind {kind!r}")
    layers = [keras.Input((N_FEATURES,)), *body, out]
    model = PenalizedStep(layers) if kind == "train_step" else keras.Sequential(layers)
    model.compile(optimizer=optimizer, loss="mse")
    return model


@pytest.fixture(scope="session")
def make_kind():
    """The factory :func:`build_kind` (a fresh model per call)."""
    return build_kind
