"""Sweep figures: best lr against batch size (log-log, linear-scaling line), level differences."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from lrstats.inference import compare_levels
from lrstats.presentation.sweep_plots import plot_best_lr_by_batch_size, plot_level_differences

TABLE = pd.DataFrame(
    {
        "batch_size": [128, 32, 64],
        "lr": [0.04, 0.01, 0.03],
        "ci_low": [0.02, 0.005, 0.01],
        "ci_high": [0.08, 0.02, 0.05],
    }
)


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


def _by_gid(ax, gid):
    return [a for a in ax.get_children() if a.get_gid() == gid]


def test_best_lr_figure_draws_the_table_on_log_axes_with_a_slope_one_line():
    ax = plot_best_lr_by_batch_size(TABLE)
    assert ax.get_xscale() == "log" and ax.get_yscale() == "log"
    (points,) = _by_gid(ax, "best_lr")
    np.testing.assert_array_equal(points.get_xdata(), [32, 64, 128])
    np.testing.assert_array_equal(points.get_ydata(), [0.01, 0.03, 0.04])
    bars = _by_gid(ax, "interval")
    segments = np.asarray(bars[0].get_segments())
    np.testing.assert_allclose(segments[:, :, 1], [[0.005, 0.02], [0.01, 0.05], [0.02, 0.08]])
    (line,) = _by_gid(ax, "linear_scaling")
    x, y = line.get_xdata(), line.get_ydata()
    slope = np.polyfit(np.log(x), np.log(y), 1)[0]
    np.testing.assert_allclose(slope, 1.0)
    # Through the geometric centre of the points.
    centre = np.exp(np.log([32, 64, 128]).mean())
    np.testing.assert_allclose(
        np.interp(np.log(centre), np.log(x), np.log(y)), np.log([0.01, 0.03, 0.04]).mean()
    )


def test_best_lr_figure_without_reference_and_bad_tables():
    ax = plot_best_lr_by_batch_size(TABLE, reference=False)
    assert not _by_gid(ax, "linear_scaling")
    with pytest.raises(ValueError, match=r"`table` must have columns"):
        plot_best_lr_by_batch_size(TABLE.drop(columns="ci_low"))
    with pytest.raises(TypeError, match=r"`table` must be a pandas DataFrame"):
        plot_best_lr_by_batch_size(TABLE.to_dict())


def test_level_differences_figure_draws_every_level():
    rng = np.random.default_rng(0)
    rows = [
        (lr, seed, level, 1, rng.normal() + i)
        for i, level in enumerate(["constant", "time_decay", "one_cycle"])
        for lr in (0.01, 0.1)
        for seed in range(5)
    ]
    frame = pd.DataFrame(rows, columns=["lr", "replicate", "schedule", "epoch", "val_loss"])
    comparison = compare_levels(frame, factor="schedule", response="val_loss")
    ax = comparison.plot()
    assert ax.get_xscale() == "log"
    for level in ("time_decay", "one_cycle"):
        (line,) = _by_gid(ax, f"level:{level}")
        expected = comparison.table[comparison.table.schedule == level]["diff"].to_numpy()
        np.testing.assert_allclose(line.get_ydata(), expected)
    assert _by_gid(ax, "zero")
    with pytest.raises(TypeError, match=r"`comparison` must be a LevelComparison"):
        plot_level_differences(comparison.table)
