"""Statistical successive halving: the decisions against hand computations (no TensorFlow)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from statsmodels.stats.multitest import multipletests

from lrstats.inference import DegenerateDataWarning
from lrstats.inference.halving import (
    extrapolate_optimum,
    extrapolation_interval,
    halving_cost,
    paired_elimination,
    round_optima,
    rounds_at_grid_edge,
    successive_halving,
)

# 4 replicates x 4 lrs; column 1 has the lowest mean
LOSSES = np.array(
    [
        [1.00, 0.50, 0.56, 0.90],
        [1.10, 0.60, 0.61, 1.30],
        [0.90, 0.55, 0.57, 0.70],
        [1.05, 0.52, 0.60, 1.60],
    ]
)


def _by_hand(losses, log=True):
    """One-sided paired t p-values against the best column, Holm-adjusted (scipy, statsmodels)."""
    values = np.log(losses) if log else losses
    best = int(np.argmin(losses.mean(axis=0)))
    others = [k for k in range(losses.shape[1]) if k != best]
    p = [
        stats.ttest_rel(values[:, k], values[:, best], alternative="greater").pvalue
        for k in others
    ]
    return best, others, np.array(p), multipletests(p, method="holm")[1]


@pytest.mark.parametrize("log", [True, False])
def test_pvalues_are_holm_adjusted_one_sided_paired_t_tests(log):
    best, others, p, adjusted = _by_hand(LOSSES, log)
    decision = paired_elimination(LOSSES, alpha=0.05, log=log)
    assert decision.best == best == 1
    np.testing.assert_allclose(decision.pvalue[others], p, rtol=1e-10)
    np.testing.assert_allclose(decision.pvalue_holm[others], adjusted, rtol=1e-10)
    assert math.isnan(decision.pvalue[best])
    # dropped exactly where the adjusted p-value is below alpha
    np.testing.assert_array_equal(decision.keep[others], ~(adjusted < 0.05))
    assert decision.keep[best]


def test_drops_exactly_the_ruled_out_at_the_stated_level():
    # by hand on log losses: column 0 and 3 vs column 1
    _, others, _, adjusted = _by_hand(LOSSES)
    for alpha in (0.01, 0.05, 0.2, 0.5):
        keep = paired_elimination(LOSSES, alpha=alpha).keep
        expected = np.ones(4, bool)
        expected[others] = adjusted >= alpha
        np.testing.assert_array_equal(keep, expected)
    # the hand computation separates the levels: some lr survives at 0.01 but not at 0.5
    assert (
        paired_elimination(LOSSES, alpha=0.01).keep.sum()
        > paired_elimination(LOSSES, alpha=0.5).keep.sum()
    )


def test_diverged_columns_are_always_dropped_and_never_tested():
    losses = LOSSES.copy()
    losses[2, 3] = np.inf
    decision = paired_elimination(losses, alpha=1e-9)
    assert decision.diverged.tolist() == [False, False, False, True]
    assert not decision.keep[3] and math.isnan(decision.pvalue[3])
    # the other three were tested among themselves only (2 comparisons for Holm)
    _, others, p, _ = _by_hand(LOSSES[:, :3])
    np.testing.assert_allclose(decision.pvalue[others], p, rtol=1e-10)
    np.testing.assert_allclose(
        decision.pvalue_holm[others], multipletests(p, method="holm")[1], rtol=1e-10
    )


def test_all_diverged_gives_no_best():
    decision = paired_elimination(np.full((3, 2), np.nan))
    assert decision.best == -1 and not decision.keep.any()


def test_zero_spread_differences_are_decided_by_their_sign():
    losses = np.array([[1.0, 2.0, 1.0], [1.5, 2.5, 1.5]])  # col 1 = col 0 + 1, col 2 = col 0
    decision = paired_elimination(losses, log=False)
    assert decision.pvalue[1] == 0.0 and decision.pvalue[2] == 1.0
    assert decision.keep.tolist() == [True, False, True]


def test_keep_fraction_reprieves_the_ruled_out_of_lowest_mean():
    decision = paired_elimination(LOSSES, alpha=0.5, keep_fraction=0.0)
    ruled_out = np.flatnonzero(~decision.keep)
    assert ruled_out.size >= 2  # precondition of the test
    kept = paired_elimination(LOSSES, alpha=0.5, keep_fraction=0.75).keep
    assert kept.sum() == math.ceil(0.75 * 4)
    # the reprieved one is the ruled-out lr of lowest mean; the test never adds a drop
    reprieved = ruled_out[np.argmin(LOSSES.mean(axis=0)[ruled_out])]
    assert kept[reprieved] and set(np.flatnonzero(kept)) >= set(np.flatnonzero(decision.keep))


def test_halving_cost_matches_the_schedule():
    assert halving_cost(11) == 11 + 6 + 3 * 2 + 2 * 4
    assert halving_cost(1) == 1
    assert halving_cost(2) == 2
    assert halving_cost(5) == 5 + 3 + 2 * 2


def test_successive_halving_schedule_budget_and_evidence():
    calls = []
    means = np.array([5.0, 3.0, 1.0, 2.0, 4.0])
    rng = np.random.default_rng(0)

    def train(active, start, stop):
        calls.append((active.tolist(), start, stop))
        return means[active] + 0.01 * rng.normal(size=(3, active.size))

    result = successive_halving(train, 5, replicates=3, initial_steps=2, budget_steps=10_000,
                                alpha=0.05, keep_fraction=0.5)  # fmt: skip
    # horizons double (2, 4, 8) and the survivors continue from where they stopped
    assert [(c[1], c[2]) for c in calls] == [(0, 2), (2, 4), (4, 8)]
    assert calls[0][0] == [0, 1, 2, 3, 4]
    assert calls[1][0] == [1, 2, 3]  # 3 = ceil(5/2) of lowest mean
    assert calls[2][0] == [2, 3]
    assert result.best == 2 and result.stopped == "one_left"
    assert result.steps_spent == 3 * (5 * 2 + 3 * 2 + 2 * 4)
    assert len(result.evidence) == 3 * (5 + 3 + 2)


def test_successive_halving_stops_when_the_next_round_does_not_fit():
    def train(active, start, stop):
        return np.ones((2, active.size)) + np.arange(2)[:, None] * 0.1  # all tied: no drops

    result = successive_halving(train, 4, replicates=2, initial_steps=1, budget_steps=20)
    # round 1: 4*2*1 = 8; round 2 would add 4*2*1 = 8 (16 <= 20); round 3 adds 16 > 20
    assert result.rounds == 2 and result.stopped == "budget" and result.steps_spent == 16
    assert result.best == 0 and result.survivors.tolist() == [0, 1, 2, 3]


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"replicates": 0}, "`replicates` must be an integer >= 1"),
        ({"initial_steps": 0}, "`initial_steps` must be an integer >= 1"),
        ({"budget_steps": 5}, "`budget_steps` must cover the first round"),
        ({"alpha": 0.0}, "`alpha` must be a finite number in (0, 1]"),
    ],
)
def test_successive_halving_validation(kwargs, message):
    arguments = {"replicates": 2, "initial_steps": 1, "budget_steps": 100, **kwargs}
    with pytest.raises((ValueError, TypeError), match=message.replace("(", r"\(").replace(
        "[", r"\[").replace("]", r"\]")):  # fmt: skip
        successive_halving(lambda a, s, t: np.ones((2, a.size)), 4, **arguments)


def test_paired_elimination_validation():
    with pytest.raises(ValueError, match="at least 1 replicate"):
        paired_elimination(np.ones((0, 3)))
    with pytest.raises(ValueError, match="`keep_fraction`"):
        paired_elimination(np.ones((2, 3)), keep_fraction=1.5)


def _evidence(rounds):
    """Evidence rows from {(round, steps): {lr_index: [losses per replicate]}}."""
    rows = []
    for (round_, steps), by_lr in rounds.items():
        for index, losses in by_lr.items():
            for r, loss in enumerate(losses):
                rows.append((round_, steps, index, r, loss))
    return pd.DataFrame(rows, columns=["round", "steps", "lr_index", "replicate", "loss"])


def test_round_optima_parabola_vertex_by_hand():
    grid = np.array([1e-3, 1e-2, 1e-1, 1.0])
    # mean log losses at log10 lr -3, -2, -1: 2, 1, 1.5 -> vertex of the parabola
    losses = {0: [np.exp(2.0)] * 2, 1: [np.exp(1.0)] * 2, 2: [np.exp(1.5)] * 2, 3: [np.inf, 1.0]}
    optima = round_optima(_evidence({(0, 4): losses}), grid)
    a, b, _ = np.polyfit([-3.0, -2.0, -1.0], [2.0, 1.0, 1.5], 2)
    assert optima["log10_lr"].tolist() == pytest.approx([-b / (2 * a)])
    assert optima["steps"].tolist() == [4]
    # at the edge of the round's lrs: the argmin itself
    edge = round_optima(_evidence({(1, 8): {1: [1.0, 1.1], 2: [2.0, 2.1]}}), grid)
    assert edge["log10_lr"].tolist() == [-2.0]


def test_extrapolate_optimum_is_the_least_squares_line_in_log_steps():
    optima = pd.DataFrame(
        {"round": [0, 1, 2], "steps": [10, 20, 40], "log10_lr": [-1.0, -1.2, -1.5]}
    )
    slope, intercept = np.polyfit(np.log10([10, 20, 40]), [-1.0, -1.2, -1.5], 1)
    assert extrapolate_optimum(optima, 800) == pytest.approx(intercept + slope * np.log10(800))
    assert extrapolate_optimum(optima.iloc[:1], 800) == -1.0
    assert np.isnan(extrapolate_optimum(optima.iloc[:0], 800))


def test_halve_keeps_at_most_half_by_mean_and_never_reprieves_the_ruled_out():
    rng = np.random.default_rng(1)
    losses = np.array([1.0, 1.01, 1.02, 1.03, 1.04]) + 0.2 * rng.normal(size=(3, 5))
    tested = paired_elimination(losses, alpha=0.05)
    halved = paired_elimination(losses, alpha=0.05, halve=True)
    assert tested.keep.sum() > 3  # precondition: the test alone keeps more than half
    order = np.argsort(halved.mean)
    assert np.flatnonzero(halved.keep).tolist() == sorted(order[:3].tolist())
    assert not (halved.keep & ~tested.keep).any()


# ---------------------------------------------------------------- one replicate, extrapolation
def test_one_replicate_has_no_test_only_divergence_and_halving():
    losses = np.array([[0.9, 0.5, np.inf, 0.7, 0.6]])
    plain = paired_elimination(losses)
    assert np.isnan(plain.pvalue).all() and np.isnan(plain.pvalue_holm).all()
    assert plain.keep.tolist() == [True, True, False, True, True]  # only the diverged go
    assert plain.best == 1
    halved = paired_elimination(losses, halve=True)
    # 4 finite lrs -> at most 2 survive, those of lowest loss (0.5 and 0.6)
    assert halved.keep.tolist() == [False, True, False, False, True]


def test_successive_halving_over_epochs_with_one_replicate():
    # loss of lr k after s steps: its own constant, so halving keeps the lowest each time
    level = np.array([5.0, 3.0, 1.0, 2.0, 4.0, 6.0])
    calls = []

    def train(active, start, stop):
        calls.append((active.tolist(), start, stop))
        return level[active][None, :] + 0.0

    result = successive_halving(train, 6, replicates=1, initial_steps=10, budget_steps=1000,
                                halve=True)  # fmt: skip
    # 6 -> 3 -> 2 -> 1; horizons 10, 20, 40 (cumulative); spent 6*10 + 3*10 + 2*20
    assert calls == [([0, 1, 2, 3, 4, 5], 0, 10), ([1, 2, 3], 10, 20), ([2, 3], 20, 40)]
    assert result.steps_spent == 60 + 30 + 40 and result.stopped == "one_left"
    assert result.best == 2 and result.survivors.tolist() == [2]


OPTIMA = pd.DataFrame(
    {"round": [0, 1, 2, 3], "steps": [10, 20, 40, 80], "log10_lr": [-1.0, -1.3, -1.4, -1.9]}
)


def test_extrapolation_interval_is_the_ols_mean_interval_of_statsmodels():
    import statsmodels.api as sm

    x = np.log10(OPTIMA["steps"].to_numpy(dtype=float))
    fit = sm.OLS(OPTIMA["log10_lr"].to_numpy(), sm.add_constant(x)).fit()
    target = 400.0
    prediction = fit.get_prediction(np.array([[1.0, np.log10(target)]]))
    low, high = prediction.conf_int(alpha=0.1)[0]
    got = extrapolation_interval(OPTIMA, target, level=0.9)
    assert got == pytest.approx((low, high), rel=1e-10)
    centre = extrapolate_optimum(OPTIMA, target)
    assert centre == pytest.approx(prediction.predicted_mean[0])
    assert got[0] < centre < got[1]
    # fewer than three rounds: no interval
    assert all(np.isnan(extrapolation_interval(OPTIMA.iloc[:2], target)))


def test_nonincreasing_extrapolation_replaces_a_rising_line_by_the_mean():
    rising = OPTIMA.assign(log10_lr=[-2.0, -1.8, -1.9, -1.5])
    assert extrapolate_optimum(rising, 400) > -1.5  # the free line rises beyond the data
    assert extrapolate_optimum(rising, 400, nonincreasing=True) == pytest.approx(-1.8)
    # its interval: the t interval of the mean of the optima (n - 1 degrees of freedom)
    values = rising["log10_lr"].to_numpy()
    expected = stats.t.interval(0.95, 3, loc=values.mean(), scale=stats.sem(values))
    got = extrapolation_interval(rising, 400, nonincreasing=True)
    assert got == pytest.approx(expected, rel=1e-10)
    # a falling line is left alone
    assert extrapolate_optimum(OPTIMA, 400, nonincreasing=True) == extrapolate_optimum(OPTIMA, 400)
    assert extrapolation_interval(OPTIMA, 400, nonincreasing=True) == extrapolation_interval(
        OPTIMA, 400
    )


def test_a_known_slope_fits_only_the_level_of_the_line():
    import statsmodels.api as sm

    slope, target = -0.7, 400.0
    x = np.log10(OPTIMA["steps"].to_numpy(dtype=float))
    y = OPTIMA["log10_lr"].to_numpy()
    # the line through the optima with that slope: an OLS of y - slope * x on a constant
    fit = sm.OLS(y - slope * x, np.ones_like(x)).fit()
    centre = extrapolate_optimum(OPTIMA, target, slope=slope)
    assert centre == pytest.approx(fit.params[0] + slope * np.log10(target))
    low, high = fit.conf_int(alpha=0.1)[0]
    got = extrapolation_interval(OPTIMA, target, level=0.9, slope=slope)
    assert got == pytest.approx((low + slope * np.log10(target), high + slope * np.log10(target)))
    # differs from the fitted line (slope -0.93 here), and nonincreasing is moot
    assert centre != pytest.approx(extrapolate_optimum(OPTIMA, target))
    assert extrapolate_optimum(OPTIMA, target, slope=slope, nonincreasing=True) == centre
    # one round is enough to extrapolate; its interval needs two
    one = OPTIMA.iloc[:1]
    assert extrapolate_optimum(one, target, slope=slope) == pytest.approx(
        -1.0 + slope * (np.log10(target) - 1.0)
    )
    assert all(np.isnan(extrapolation_interval(one, target, slope=slope)))
    assert all(np.isfinite(extrapolation_interval(OPTIMA.iloc[:2], target, slope=slope)))


@pytest.mark.parametrize(
    ("slope", "error"), [("-0.7", TypeError), (np.nan, ValueError), (True, TypeError)]
)
def test_a_known_slope_is_validated(slope, error):
    with pytest.raises(error, match="`slope`"):
        extrapolate_optimum(OPTIMA, 400, slope=slope)
    with pytest.raises(error, match="`slope`"):
        extrapolation_interval(OPTIMA, 400, slope=slope)


@pytest.mark.parametrize(
    "line",
    [{}, {"slope": -0.7, "fitted_slope_weight": 0.5}, {"slope": -0.5}],
    ids=["least squares", "shrunk", "known"],
)
def test_optima_exactly_on_the_line_give_no_interval(line):
    steps = np.array([100, 200, 400, 800])
    # all at one grid lr (the fitted lines' case) or exactly on the known slope's line
    log10_lr = np.full(4, -2.0) if line.get("slope") != -0.5 else -2.0 - 0.5 * np.log10(steps)
    optima = pd.DataFrame({"round": range(4), "steps": steps, "log10_lr": log10_lr})
    with pytest.warns(DegenerateDataWarning, match="lie exactly on the extrapolation line"):
        low, high = extrapolation_interval(optima, 4000, **line)
    assert math.isnan(low) and math.isnan(high)
    # the point is still there; with scatter, so is the interval
    assert math.isfinite(extrapolate_optimum(optima, 4000, **line))
    scattered = optima.assign(log10_lr=log10_lr + np.array([0.1, -0.1, 0.05, 0.0]))
    assert np.isfinite(extrapolation_interval(scattered, 4000, **line)).all()


def test_rounds_at_grid_edge_are_the_rounds_whose_optimum_is_an_end_of_the_grid():
    lrs = np.array([1e-4, 1e-3, 1e-2, 1e-1])
    optima = pd.DataFrame(
        {"round": [0, 1, 2, 3], "steps": [10, 20, 40, 80],
         "log10_lr": [-1.0, -1.5, -2.0, -4.0]}
    )  # fmt: skip
    assert rounds_at_grid_edge(optima, lrs) == [0, 3]
    assert rounds_at_grid_edge(optima.iloc[1:3], lrs) == []
    assert rounds_at_grid_edge(optima.iloc[:0], lrs) == []


def test_extrapolation_interval_validates_level():
    with pytest.raises(ValueError, match="`level`"):
        extrapolation_interval(OPTIMA, 400, level=1.0)


def test_a_shrunk_slope_moves_the_known_one_towards_the_least_squares_slope():
    import statsmodels.api as sm

    slope, target = -0.7, 400.0
    x = np.log10(OPTIMA["steps"].to_numpy(dtype=float))
    y = OPTIMA["log10_lr"].to_numpy()
    x0 = np.log10(target)
    ols = sm.OLS(y, sm.add_constant(x)).fit()
    fitted = ols.params[1]
    # weight 0 is the known slope, weight 1 the least-squares line (point and interval)
    assert extrapolate_optimum(OPTIMA, target, slope=slope, fitted_slope_weight=0.0) == (
        extrapolate_optimum(OPTIMA, target, slope=slope)
    )
    assert extrapolation_interval(OPTIMA, target, slope=slope, fitted_slope_weight=0.0) == (
        extrapolation_interval(OPTIMA, target, slope=slope)
    )
    prediction = ols.get_prediction(np.array([[1.0, x0]])).summary_frame(alpha=0.1)
    assert extrapolate_optimum(
        OPTIMA, target, slope=slope, fitted_slope_weight=1.0
    ) == pytest.approx(prediction["mean"].iloc[0])
    assert extrapolation_interval(
        OPTIMA, target, level=0.9, slope=slope, fitted_slope_weight=1.0
    ) == pytest.approx((prediction["mean_ci_lower"].iloc[0], prediction["mean_ci_upper"].iloc[0]))
    # in between: ybar + (slope + w (b - slope)) (x0 - xbar), its standard error
    # s * sqrt(1/n + w^2 (x0 - xbar)^2 / Sxx) with the OLS residual s, t with n - 2 df
    w = 0.3
    used = slope + w * (fitted - slope)
    centre = y.mean() + used * (x0 - x.mean())
    assert extrapolate_optimum(OPTIMA, target, slope=slope, fitted_slope_weight=w) == (
        pytest.approx(centre)
    )
    n, sxx = x.size, ((x - x.mean()) ** 2).sum()
    se = math.sqrt(ols.scale * (1 / n + w**2 * (x0 - x.mean()) ** 2 / sxx))
    half = stats.t.ppf(0.975, n - 2) * se
    got = extrapolation_interval(OPTIMA, target, slope=slope, fitted_slope_weight=w)
    assert got == pytest.approx((centre - half, centre + half))
    # one horizon: nothing to fit, the known slope; two rounds: no residual left, no interval
    one = OPTIMA.iloc[:1]
    assert extrapolate_optimum(one, target, slope=slope, fitted_slope_weight=w) == (
        extrapolate_optimum(one, target, slope=slope)
    )
    assert all(np.isnan(extrapolation_interval(OPTIMA.iloc[:2], target, slope=slope,
                                               fitted_slope_weight=w)))  # fmt: skip


@pytest.mark.parametrize(
    "line", [{}, {"slope": -0.7}, {"slope": -0.7, "fitted_slope_weight": 0.5}]
)
def test_the_level_offset_moves_the_point_and_its_interval_by_that_much(line):
    plain = extrapolate_optimum(OPTIMA, 400, **line)
    low, high = extrapolation_interval(OPTIMA, 400, **line)
    assert extrapolate_optimum(OPTIMA, 400, level_offset=-0.23, **line) == pytest.approx(
        plain - 0.23
    )
    assert extrapolation_interval(OPTIMA, 400, level_offset=-0.23, **line) == pytest.approx(
        (low - 0.23, high - 0.23)
    )
    # one round and no slope: the round's own optimum, moved as well
    one = OPTIMA.iloc[:1]
    assert extrapolate_optimum(one, 400, level_offset=0.5) == pytest.approx(
        float(one["log10_lr"].iloc[0]) + 0.5
    )
    with pytest.raises(ValueError, match="`level_offset` must be a finite number"):
        extrapolate_optimum(OPTIMA, 400, level_offset=math.inf, **line)
    with pytest.raises(TypeError, match="`level_offset` must be a real number"):
        extrapolation_interval(OPTIMA, 400, level_offset="low", **line)


def test_the_shrunk_slope_interval_covers_at_its_level_when_the_known_slope_is_right():
    # optima on a line of the known slope plus normal noise, at 4 doubling horizons: the
    # interval at 20 epochs covers the line's value in 90% of draws (binomial tolerance)
    rng = np.random.default_rng(20261201)
    slope, steps, target, level, draws = -0.7, np.array([50, 100, 200, 400]), 1000.0, 0.9, 2000
    x = np.log10(steps)
    truth = -2.0 + slope * math.log10(target)
    covered = 0
    for _ in range(draws):
        optima = pd.DataFrame(
            {"round": np.arange(4), "steps": steps,
             "log10_lr": -2.0 + slope * x + rng.normal(0.0, 0.2, 4)}
        )  # fmt: skip
        low, high = extrapolation_interval(
            optima, target, level=level, slope=slope, fitted_slope_weight=0.5
        )
        covered += low <= truth <= high
    assert stats.binomtest(covered, draws, level).pvalue > 0.001


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"slope": -0.7, "fitted_slope_weight": 1.5}, ValueError, "`fitted_slope_weight`"),
        ({"slope": -0.7, "fitted_slope_weight": "half"}, TypeError, "`fitted_slope_weight`"),
        ({"fitted_slope_weight": 0.5}, ValueError, "without `slope` it must be 0"),
    ],
)
def test_the_fitted_slope_weight_is_validated(kwargs, error, match):
    with pytest.raises(error, match=match):
        extrapolate_optimum(OPTIMA, 400, **kwargs)
    with pytest.raises(error, match=match):
        extrapolation_interval(OPTIMA, 400, **kwargs)
