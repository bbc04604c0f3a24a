"""autolrtuner and lrstats side by side on the same model.

When every autolrtuner subsample is the whole data set (``batch_size == n_rows``) its
subsamples are permutations of one batch, so with plain SGD (no optimizer state to leak)
its ΔL must equal lrstats' on the same rows, and the imported run must re-analyse to
the same numbers. With momentum autolrtuner's values drift from the one-step truth: its
optimizer keeps the momentum of earlier grid points.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest

autolrtuner = pytest.importorskip("autolrtuner")

import keras  # noqa: E402

import lrstats  # noqa: E402
import lrstats.inference  # noqa: E402
from lrstats.io import from_autolrtuner  # noqa: E402

N_ROWS = 48
GRID = np.linspace(0.01, 0.5, 5)


def _data():
    rng = np.random.default_rng(31)
    x = rng.standard_normal((N_ROWS, 6)).astype(np.float32)
    y = (x @ rng.standard_normal(6) + 0.1 * rng.standard_normal(N_ROWS)).astype(np.float32)
    return x, y[:, None]


def _model(optimizer):
    model = keras.Sequential(
        [
            keras.Input((6,)),
            keras.layers.Dense(
                8, activation="tanh", kernel_initializer=keras.initializers.GlorotUniform(seed=5)
            ),
            keras.layers.Dense(1, kernel_initializer=keras.initializers.GlorotUniform(seed=6)),
        ]
    )
    # autolrtuner needs the loss as a callable
    model.compile(optimizer=optimizer, loss=keras.losses.MeanSquaredError())
    return model


def _lrstats_deltas(sample_deltas, optimizer, x, y):
    """lrstats' ΔL, replicates × lrs, for two replicates of the whole data set."""
    frame = sample_deltas(
        _model(optimizer), x, y, lrs=GRID, replicates=2, batch_size=N_ROWS, seed=0, progress=False
    )
    return (frame["post"] - frame["pre"]).to_numpy().reshape(2, GRID.size)


def _tune(model, x, y, n_subsamples=3):
    tuner = autolrtuner.AutoLRTuner(model, seed=0)
    tuner.Tune(
        x,
        y,
        lr_space=(GRID[0], GRID[-1]),
        num_subsamples=n_subsamples,
        num_evals=GRID.size,
        batch_size=N_ROWS,
    )
    return tuner


def test_plain_sgd_agrees_with_autolrtuner_and_the_import_reanalyses(sample_deltas):
    x, y = _data()
    tuner = _tune(_model(keras.optimizers.SGD(0.1)), x, y)
    imported = from_autolrtuner(tuner)
    ours_delta = _lrstats_deltas(sample_deltas, keras.optimizers.SGD(0.1), x, y)
    theirs = imported.pivot(index="replicate", columns="lr", values="delta").to_numpy()
    np.testing.assert_allclose(imported["lr"].unique(), GRID, rtol=1e-12)
    # every subsample is the whole data set: all rows agree with each other and with lrstats
    for row in theirs:
        np.testing.assert_allclose(row, ours_delta[0], rtol=2e-4, atol=2e-6)
    # two permutations of the same rows: equal up to the order of float32 sums
    np.testing.assert_allclose(ours_delta[0], ours_delta[1], rtol=1e-5, atol=1e-6)
    with warnings.catch_warnings():
        # identical subsamples: the variance at an lr may be exactly zero
        warnings.simplefilter("ignore", lrstats.inference.DegenerateDataWarning)
        summary = lrstats.summarize(imported)
    np.testing.assert_allclose(
        summary.table["mean"], theirs.astype(np.float64).mean(axis=0), rtol=1e-12
    )


def test_momentum_leaks_state_in_autolrtuner_but_not_in_lrstats(sample_deltas):
    x, y = _data()
    optimizer = keras.optimizers.SGD(0.1, momentum=0.9)
    tuner = _tune(_model(optimizer), x, y, n_subsamples=2)
    theirs = from_autolrtuner(tuner).pivot(index="replicate", columns="lr", values="delta")
    ours_delta = _lrstats_deltas(sample_deltas, keras.optimizers.SGD(0.1, momentum=0.9), x, y)
    # fresh momentum: the first grid point is a true first step in both ...
    np.testing.assert_allclose(theirs.iloc[0, 0], ours_delta[0, 0], rtol=2e-4)
    # ... afterwards autolrtuner steps with the momentum of earlier grid points
    assert not np.allclose(theirs.to_numpy()[:, 1:], ours_delta[:, 1:], rtol=1e-2)
