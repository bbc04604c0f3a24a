"""Shared fixtures for the presentation tests: Agg backend, realistic frames and results."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest

from lrstats import inference
from lrstats.simulate import simulate_frame

# 21 lrs from 1e-4 to 1e-1 (0.15 decades apart), optimum 0.01, divergence above 0.05.
GRID = np.logspace(-4, -1, 21)
DIVERGE_ABOVE = 0.05


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="session")
def frame():
    return simulate_frame(GRID, 40, optimum_lr=0.01, diverge_above=DIVERGE_ABOVE, rng=20261123)


@pytest.fixture(scope="session")
def finite_frame():
    """No divergence: every lr has a finite mean and interval."""
    return simulate_frame(GRID[:15], 40, optimum_lr=0.01, rng=7)


@pytest.fixture(scope="session")
def results(frame):
    """Every result type computed once on ``frame`` (warnings about the diverging lrs ignored)."""
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        summary = inference.summarize(frame)
        bootstrap = inference.summarize(frame, method="bca", n_resamples=500, rng=1)
        comparison = inference.compare_to_best(frame)
        selections = [
            inference.select_lr(frame, rule=rule, n_resamples=300, rng=2)
            for rule in ("mean", "ucb", "one_se")
        ]
        fits = [
            inference.fit_shape(frame, kind=kind, n_resamples=200, rng=3)
            for kind in ("quadratic", "local", "unimodal")
        ]
        utest = inference.u_test(frame)
    return {
        "summary": summary,
        "bootstrap": bootstrap,
        "comparison": comparison,
        "selections": selections,
        "fits": fits,
        "utest": utest,
    }
