"""Second factors end to end: the best lr per batch size, and paired schedule differences."""

from __future__ import annotations

import functools

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest
from sweep_models import N_ROWS, build_mlp, sweep_data

import lrstats
from lrstats.inference import compare_levels
from lrstats.keras import sensitivity
from lrstats.presentation.sweep_plots import plot_best_lr_by_batch_size

pytestmark = pytest.mark.slow


def test_best_lr_per_batch_size_from_a_real_sweep():
    x, y, validation = sweep_data()
    frame = sensitivity(
        build_mlp,
        x,
        y,
        lrs=[0.003, 0.03, 0.3],
        seeds=3,
        epochs=1,
        factors={"batch_size": [8, 64]},
        validation_data=validation,
        progress=False,
    )
    # The figure's table: analyse(by=)'s per-level selections, stacked.
    analysis = lrstats.analyse(
        frame, response="val_loss", by="batch_size", rules=["mean"], n_resamples=200, rng=0
    )
    table = analysis["selection_mean"].to_frame()
    assert table["batch_size"].tolist() == [8, 64]
    assert table["lr"].isin([0.003, 0.03, 0.3]).all()
    # One epoch of 64 rows: a full batch takes 1 step, batches of 8 take 8; the full batch
    # needs the larger lr to get anywhere (the linear-scaling direction).
    assert (
        table.set_index("batch_size").loc[64, "lr"] >= table.set_index("batch_size").loc[8, "lr"]
    )
    ax = plot_best_lr_by_batch_size(table)
    assert ax.get_xscale() == "log"
    plt.close("all")


def test_schedule_comparison_is_paired_by_seed():
    x, y, validation = sweep_data()
    epochs, batch_size = 2, 16
    frame = sensitivity(
        functools.partial(build_mlp, total_steps=epochs * (N_ROWS // batch_size), momentum=0.9),
        x,
        y,
        lrs=[0.01, 0.1],
        seeds=3,
        epochs=epochs,
        batch_size=batch_size,
        factors={"schedule": ["constant", "time_decay", "one_cycle"]},
        validation_data=validation,
        progress=False,
    )
    comparison = compare_levels(frame, factor="schedule", response="val_loss")
    analysis = lrstats.analyse(frame, response="val_loss", by="schedule", n_resamples=50, rng=0)
    assert analysis["level_comparison"].table.equals(comparison.table)
    table = comparison.to_frame()
    assert comparison.baseline == "constant"
    assert len(table) == 2 * 2 and (table["n"] == 3).all()
    # By hand: final val_loss differences within each seed.
    final = frame[frame.epoch == epochs].set_index(["schedule", "lr", "replicate"])["val_loss"]
    for row in table.itertuples():
        d = (final.loc[row.schedule, row.lr] - final.loc["constant", row.lr]).to_numpy()
        np.testing.assert_allclose(row.diff, d.mean())
        assert row.ci_low <= row.diff <= row.ci_high
    comparison.plot()
    plt.close("all")
