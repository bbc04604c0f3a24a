"""lrstats.inference.sweep: run reduction, paired level comparison, per-level selection."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from lrstats import select_lr
from lrstats.inference.sweep import compare_levels, reduce_runs, select_lr_by

LRS = [0.001, 0.01, 0.1]
SEEDS = range(8)
SCHEDULES = ["constant", "time_decay", "one_cycle"]


def sweep_frame(rng, *, factor="schedule", levels=SCHEDULES, epochs=3):
    """A synthetic sweep frame: a seed effect shared by every run of the seed (pairing)."""
    rows = []
    seed_effect = rng.normal(scale=0.5, size=len(SEEDS))
    for level_index, level in enumerate(levels):
        for lr in LRS:
            for seed in SEEDS:
                base = (np.log10(lr) + 2) ** 2 + seed_effect[seed] - 0.1 * level_index
                for epoch in range(1, epochs + 1):
                    value = base + 1.0 / epoch + rng.normal(scale=0.05)
                    rows.append((lr, seed, level, epoch, value + 0.2, value))
    frame = pd.DataFrame(rows, columns=["lr", "replicate", factor, "epoch", "loss", "val_loss"])
    frame.attrs["factors"] = {factor: list(levels)}
    return frame


@pytest.fixture
def frame():
    return sweep_frame(np.random.default_rng(20261130))


def test_reduce_runs_takes_the_last_or_the_best_epoch(frame):
    final = reduce_runs(frame, response="val_loss", at="final")
    expected = frame[frame.epoch == 3][["lr", "replicate", "schedule", "val_loss"]]
    expected = expected.sort_values(["lr", "replicate", "schedule"]).reset_index(drop=True)
    pd.testing.assert_frame_equal(final, expected, check_like=False)
    frame = frame.copy()
    frame.loc[(frame.epoch == 2) & (frame.lr == 0.1), "val_loss"] = np.inf  # divergence
    best = reduce_runs(frame, at="best")
    plain = (
        frame.assign(v=frame.val_loss.where(np.isfinite(frame.val_loss)))
        .groupby(["lr", "replicate", "schedule"])["v"]
        .min()
        .to_numpy()
    )
    np.testing.assert_array_equal(best["val_loss"].to_numpy(), plain)
    worst = reduce_runs(frame, at="best", goal="max")
    assert (worst["val_loss"] >= best["val_loss"]).all()


def test_compare_levels_equals_scipy_paired_t(frame):
    comparison = compare_levels(frame, factor="schedule", baseline="constant")
    table = comparison.to_frame()
    assert list(table["schedule"].unique()) == ["time_decay", "one_cycle"]
    runs = reduce_runs(frame)
    for row in table.itertuples():
        pick = runs[runs.lr == row.lr]
        level = pick[pick.schedule == row.schedule].sort_values("replicate")["val_loss"]
        base = pick[pick.schedule == "constant"].sort_values("replicate")["val_loss"]
        result = stats.ttest_rel(level.to_numpy(), base.to_numpy())
        interval = result.confidence_interval(0.95)
        np.testing.assert_allclose(row.diff, (level.to_numpy() - base.to_numpy()).mean())
        np.testing.assert_allclose(row.pvalue, result.pvalue, rtol=1e-10)
        np.testing.assert_allclose([row.ci_low, row.ci_high], interval, rtol=1e-10)
        assert row.n == len(SEEDS) and row.diverged == 0


def test_pairing_removes_the_seed_effect(frame):
    # The seed effect (sd 0.5) cancels in paired differences; unpaired it would not.
    table = compare_levels(frame, baseline="constant").to_frame()
    assert (table["ci_high"] - table["ci_low"]).max() < 0.2
    one_cycle = table[table.schedule == "one_cycle"]
    assert (one_cycle["ci_high"] < 0).all()  # built 0.2 better than constant


def test_compare_levels_defaults_and_errors(frame):
    assert compare_levels(frame).baseline == "constant"  # first declared level
    with pytest.raises(ValueError, match=r"`baseline` must be a level of 'schedule'"):
        compare_levels(frame, baseline="cosine")
    with pytest.raises(ValueError, match=r"`factor` must be a column of `frame`"):
        compare_levels(frame, factor="momentum")
    with pytest.raises(ValueError, match=r"`response` must be a column of `frame`"):
        compare_levels(frame, response="val_accuracy")
    with pytest.raises(ValueError, match=r"`at` must be one of"):
        reduce_runs(frame, at="last")


def test_select_lr_by_equals_select_lr_on_each_level():
    frame = sweep_frame(np.random.default_rng(5), factor="batch_size", levels=[32, 64, 128])
    table = select_lr_by(frame, "batch_size", rule="mean", rng=3, n_resamples=200)
    assert table["batch_size"].tolist() == [32, 64, 128]
    runs = reduce_runs(frame)
    for row in table.itertuples():
        group = runs[runs.batch_size == row.batch_size].drop(columns="batch_size")
        selection = select_lr(group, rule="mean", response="val_loss", rng=3, n_resamples=200)
        assert (row.lr, row.ci_low, row.ci_high) == (
            selection.lr,
            selection.ci_low,
            selection.ci_high,
        )
