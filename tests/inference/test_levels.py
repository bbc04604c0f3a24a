"""compare_levels: paired differences of factor levels, through the shared reduction; and the
sweep frame through analyse(by=...): per-level selections and the ``levels`` section."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

import lrstats
from lrstats.inference import LevelComparison, compare_levels, reduce_frame, select_lr

LRS = [0.001, 0.01, 0.1]
SEEDS = range(8)
SCHEDULES = ["constant", "time_decay", "one_cycle"]


def sweep_frame(rng, *, factor="schedule", levels=SCHEDULES, epochs=3, effect=0.1):
    """A synthetic sweep frame: a seed effect shared by every run of the seed (pairing), level
    ``i`` lower by ``effect * i``, and an epoch trend so that final and best differ."""
    rows = []
    seed_effect = rng.normal(scale=0.5, size=len(SEEDS))
    for level_index, level in enumerate(levels):
        for lr in LRS:
            for seed in SEEDS:
                base = (np.log10(lr) + 2) ** 2 + seed_effect[seed] - effect * level_index
                for epoch in range(1, epochs + 1):
                    value = base + 1.0 / epoch + rng.normal(scale=0.05)
                    rows.append((lr, seed, level, epoch, value + 0.2, value))
    frame = pd.DataFrame(rows, columns=["lr", "replicate", factor, "epoch", "loss", "val_loss"])
    frame.attrs["factors"] = {factor: list(levels)}
    return frame


@pytest.fixture
def frame():
    return sweep_frame(np.random.default_rng(20261130))


def _scipy_check(comparison, runs, factor="schedule"):
    """Every row equals scipy.stats.ttest_rel on the reduced runs."""
    baseline = comparison.baseline
    for row in comparison.table.itertuples():
        pick = runs[runs.lr == row.lr]
        level = pick[pick[factor] == getattr(row, factor)].set_index("replicate")["val_loss"]
        base = pick[pick[factor] == baseline].set_index("replicate")["val_loss"]
        both = pd.concat([level, base], axis=1, join="inner").dropna()
        both = both[np.isfinite(both).all(axis=1)]
        a, b = both.iloc[:, 0].to_numpy(), both.iloc[:, 1].to_numpy()
        result = stats.ttest_rel(a, b)
        level_ci = comparison.confidence_level
        np.testing.assert_allclose(row.diff, (a - b).mean(), rtol=1e-12)
        np.testing.assert_allclose(row.se, (a - b).std(ddof=1) / np.sqrt(a.size), rtol=1e-12)
        np.testing.assert_allclose(row.pvalue, result.pvalue, rtol=1e-10)
        np.testing.assert_allclose(
            [row.ci_low, row.ci_high], result.confidence_interval(level_ci), rtol=1e-10
        )
        assert row.n == a.size


@pytest.mark.parametrize("at", ["final", "best", 2])
def test_compare_levels_equals_scipy_paired_t_on_the_shared_reduction(frame, at):
    comparison = compare_levels(frame, factor="schedule", response="val_loss", at=at)
    assert isinstance(comparison, LevelComparison)
    assert comparison.baseline == "constant" and comparison.at == at
    assert comparison.levels == ("constant", "time_decay", "one_cycle")
    table = comparison.to_frame()
    assert list(table["schedule"].unique()) == ["time_decay", "one_cycle"]
    assert list(table.columns[:2]) == ["schedule", "lr"] and len(table) == 2 * len(LRS)
    runs = reduce_frame(frame, response="val_loss", at=at, by="schedule")
    _scipy_check(comparison, runs)
    assert (table["n_nonfinite"] == 0).all() and (table["n_missing"] == 0).all()


def test_goal_says_which_epoch_is_best(frame):
    # The values fall over the epochs (1/epoch, noise sd 0.05): the lowest is the last
    # epoch's, so at="best" with goal="minimize" is at="final", and "maximize" the first.
    final = compare_levels(frame, factor="schedule", response="val_loss").table
    best = compare_levels(frame, factor="schedule", response="val_loss", at="best").table
    pd.testing.assert_frame_equal(final, best)
    first = compare_levels(frame, factor="schedule", response="val_loss", at=1).table
    assert not np.allclose(final["diff"], first["diff"])
    highest = compare_levels(
        frame, factor="schedule", response="val_loss", at="best", goal="maximize"
    )
    runs = reduce_frame(frame, response="val_loss", at="best", goal="maximize", by="schedule")
    # The values decrease over epochs: the best for "maximize" is the first epoch's.
    assert (runs["epoch"] == 1).all()
    _scipy_check(highest, runs)
    pd.testing.assert_frame_equal(
        highest.table.drop(columns="better"), first.drop(columns="better")
    )


def test_better_follows_goal_and_pairing_removes_the_seed_effect(frame):
    table = compare_levels(frame, factor="schedule", response="val_loss").to_frame()
    # The seed effect (sd 0.5) cancels in paired differences; the noise has sd 0.05.
    assert (table["ci_high"] - table["ci_low"]).max() < 0.2
    one_cycle = table[table.schedule == "one_cycle"]
    assert (one_cycle["ci_high"] < 0).all() and one_cycle["better"].all()  # built 0.2 lower
    flipped = compare_levels(frame, factor="schedule", response="val_loss", goal="maximize")
    assert not flipped.table["better"].any()  # lower is not better when maximizing
    # Against the best level as baseline, the others are worse.
    reverse = compare_levels(frame, factor="schedule", response="val_loss", baseline="one_cycle")
    assert (reverse.table["diff"] > 0).all() and not reverse.table["better"].any()


def test_divergence_and_missing_runs_are_counted_and_left_out(frame):
    frame = frame.copy()
    # Seed 0 diverges under one_cycle at lr 0.1 from epoch 2 (then NaN, as the sweep records it).
    diverged = (frame.schedule == "one_cycle") & (frame.lr == 0.1) & (frame.replicate == 0)
    frame.loc[diverged & (frame.epoch == 2), "val_loss"] = np.inf
    frame.loc[diverged & (frame.epoch == 3), "val_loss"] = np.nan
    # Seed 7 was never run under time_decay at lr 0.01.
    gone = (frame.schedule == "time_decay") & (frame.lr == 0.01) & (frame.replicate == 7)
    frame = frame[~gone]
    comparison = compare_levels(frame, factor="schedule", response="val_loss")
    table = comparison.table.set_index(["schedule", "lr"])
    assert table.loc[("one_cycle", 0.1), "n"] == 7
    assert table.loc[("one_cycle", 0.1), "n_nonfinite"] == 1
    assert table.loc[("time_decay", 0.01), "n"] == 7
    assert table.loc[("time_decay", 0.01), "n_missing"] == 1
    assert table.loc[("time_decay", 0.01), "n_nonfinite"] == 0
    _scipy_check(comparison, reduce_frame(frame, response="val_loss", by="schedule"))
    # at="best" keeps the diverged run's best finite epoch: nothing is left out.
    best = compare_levels(frame, factor="schedule", response="val_loss", at="best").table
    assert best.set_index(["schedule", "lr"]).loc[("one_cycle", 0.1), "n"] == 8


def test_levels_in_sort_order_without_declared_factors(frame):
    frame = frame.copy()
    frame.attrs = {}
    comparison = compare_levels(frame, factor="schedule", response="val_loss")
    assert comparison.levels == ("constant", "one_cycle", "time_decay")
    numeric = sweep_frame(np.random.default_rng(1), factor="batch_size", levels=[128, 32, 64])
    numeric.attrs = {}
    assert compare_levels(numeric, factor="batch_size", response="val_loss").baseline == 32


@pytest.mark.parametrize(
    "kwargs, error, match",
    [
        (
            {"factor": "schedule", "baseline": "cosine"},
            ValueError,
            r"`baseline` must be a level of 'schedule' .*Received: baseline='cosine'",
        ),
        ({"factor": "momentum"}, ValueError, r"`by` must name columns of the frame"),
        ({"factor": 3}, TypeError, r"`factor` must be a column name. Received: factor=3"),
        ({"factor": "schedule", "goal": "min"}, ValueError, r"`goal` must be one of"),
        ({"factor": "schedule", "at": "last"}, ValueError, r"`at` must be one of"),
        (
            {"factor": "schedule", "confidence_level": 1.5},
            ValueError,
            r"`confidence_level`",
        ),
        (
            {"factor": "schedule", "response": "val_accuracy"},
            ValueError,
            r"val_accuracy",
        ),
    ],
)
def test_bad_arguments(frame, kwargs, error, match):
    kwargs = {"response": "val_loss", **kwargs}
    with pytest.raises(error, match=match):
        compare_levels(frame, **kwargs)


def test_one_level_and_a_second_factor_are_refused(frame):
    with pytest.raises(ValueError, match=r"`factor` must have at least two levels"):
        compare_levels(frame[frame.schedule == "constant"], factor="schedule", response="val_loss")
    crossed = pd.concat([frame.assign(batch_size=32), frame.assign(batch_size=64)])
    with pytest.raises(ValueError, match=r"varying within a run: \['batch_size'\]"):
        compare_levels(crossed, factor="schedule", response="val_loss")


@pytest.mark.slow
def test_paired_t_interval_coverage_by_simulation():
    # Three levels, one lr, 6 seeds; true differences 0 and -0.3, normal noise plus a seed
    # effect. Coverage of both intervals over 300 simulations within a binomial tolerance.
    rng = np.random.default_rng(20261130)
    truth = {"b": 0.0, "c": -0.3}
    hits, trials = 0, 0
    for _ in range(300):
        seed_effect = rng.normal(scale=1.0, size=6)
        rows = [
            (0.1, s, level, shift + seed_effect[s] + rng.normal(scale=0.2))
            for level, shift in (("a", 0.0), ("b", 0.0), ("c", -0.3))
            for s in range(6)
        ]
        frame = pd.DataFrame(rows, columns=["lr", "replicate", "level", "y"])
        table = compare_levels(frame, factor="level", response="y", confidence_level=0.9).table
        for row in table.itertuples():
            hits += row.ci_low <= truth[row.level] <= row.ci_high
            trials += 1
    assert stats.binomtest(hits, trials, 0.9).pvalue > 0.001, hits / trials


# ------------------------------------------------------------------ the sweep through analyse
def test_analyse_by_a_factor_adds_the_level_comparison(frame):
    analysis = lrstats.analyse(
        frame, response="val_loss", at="best", by="schedule", n_resamples=100, rng=0
    )
    assert analysis.sections[-1] == "levels"
    comparison = analysis["level_comparison"]
    direct = compare_levels(frame, factor="schedule", response="val_loss", at="best")
    pd.testing.assert_frame_equal(comparison.table, direct.table)
    assert comparison.baseline == "constant" and comparison.at == "best"
    # Across levels, not in any level; printed after the levels.
    assert all("level_comparison" not in parts for _, parts in analysis.levels())
    assert [level for level, _ in analysis.levels()] == [
        {"schedule": s} for s in sorted(SCHEDULES)
    ]
    text = analysis.summary()
    assert "Paired differences of schedule against constant" in text
    # The section takes no random stream: the per-level results are those without it.
    without = lrstats.analyse(
        frame[frame.schedule == "constant"], response="val_loss", at="best", n_resamples=100
    )
    assert "levels" not in without.sections and "level_comparison" not in without
    # Without by= (one level per run) there is no level comparison either.
    plain = lrstats.analyse(
        frame[frame.schedule == "constant"], response="val_loss", n_resamples=50, rng=0
    )
    assert "level_comparison" not in plain


def test_per_level_selections_are_select_lr_by_level():
    # The table of the best-lr-by-batch-size figure: analyse(by=)'s selection, stacked.
    frame = sweep_frame(np.random.default_rng(5), factor="batch_size", levels=[32, 64, 128])
    analysis = lrstats.analyse(
        frame, response="val_loss", by="batch_size", rules=["mean"], n_resamples=200, rng=3
    )
    table = analysis["selection_mean"].to_frame()
    assert table["batch_size"].tolist() == [32, 64, 128]
    direct = select_lr(
        frame, response="val_loss", by="batch_size", rule="mean", n_resamples=200, rng=3
    )
    runs = reduce_frame(frame, response="val_loss", by="batch_size")
    streams = np.random.default_rng(3).spawn(3)
    for i, row in enumerate(table.itertuples()):
        group = runs[runs.batch_size == row.batch_size].drop(columns=["batch_size", "epoch"])
        alone = select_lr(group, rule="mean", response="val_loss", n_resamples=200, rng=streams[i])
        assert (row.lr, row.ci_low, row.ci_high) == (alone.lr, alone.ci_low, alone.ci_high)
        assert direct[row.batch_size].lr == row.lr
