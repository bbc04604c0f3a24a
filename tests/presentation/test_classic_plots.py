"""Figures of the range test, 1cycle and the diagnostics (no TensorFlow)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from lrstats.inference.diagnostics import diagnose
from lrstats.inference.range_test import analyse_range_test
from lrstats.presentation.classic_plots import plot_one_cycle
from lrstats.schedules import one_cycle, one_cycle_momentum


def _result(n_replicates=3):
    lrs = np.geomspace(1e-6, 1.0, 61)
    rows = []
    for r in range(n_replicates):
        loss = 2.0 - np.tanh(2.0 * (np.log10(lrs) + 3 + 0.2 * r))
        rows.append(
            pd.DataFrame(
                {"replicate": r, "step": range(61), "lr": lrs, "loss": loss, "smoothed_loss": loss}
            )
        )
    frame = pd.concat(rows, ignore_index=True)
    frame.attrs.update({"num_steps": 61, "smoothing": 0.98})
    return analyse_range_test(frame, n_resamples=199, rng=0)


def _gids(ax):
    return {artist.get_gid() for artist in ax.get_children() if artist.get_gid()}


def test_range_test_plot_draws_every_replicate_and_each_suggestion_with_its_interval():
    result = _result()
    ax = result.plot()
    gids = _gids(ax)
    assert {f"smoothed:{r}" for r in range(3)} <= gids and {f"raw:{r}" for r in range(3)} <= gids
    for name in ("steep", "minimum", "valley"):
        assert f"suggestion:{name}" in gids and f"interval:{name}" in gids
        line = next(a for a in ax.get_children() if a.get_gid() == f"suggestion:{name}")
        assert line.get_xdata()[0] == pytest.approx(result.suggestions.loc[name, "lr"])
    assert ax.get_xscale() == "log"


def test_one_replicate_has_no_interval_shading():
    gids = _gids(_result(1).plot())
    assert not any(g.startswith("interval:") for g in gids)


def test_diagnosis_plot_names_the_verdicts():
    t = np.arange(20)
    diagnosis = diagnose({"loss": 1.0 - 0.002 * t, "val_loss": 1.1 - 0.002 * t})
    ax = diagnosis.plot()
    text = next(a for a in ax.get_children() if a.get_gid() == "verdict").get_text()
    assert text.startswith("too_slow")
    assert {"loss", "val_loss"} <= _gids(ax)


def test_one_cycle_plot():
    steps = np.arange(100)
    ax = plot_one_cycle(
        one_cycle(steps, max_lr=1.0, total_steps=100), one_cycle_momentum(steps, total_steps=100)
    )
    line = next(a for a in ax.get_children() if a.get_gid() == "lr")
    assert np.max(line.get_ydata()) == pytest.approx(1.0)
