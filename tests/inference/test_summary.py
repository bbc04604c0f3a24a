import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from statsmodels.stats.proportion import proportion_confint

from lrstats.inference import DegenerateDataWarning, summarize
from lrstats.inference._bootstrap import mean_acceleration, resample_counts, resampled_medians
from lrstats.simulate import expected_delta, simulate_frame

COLUMNS = [
    "lr", "n", "n_nonfinite", "mean", "sd", "se", "median", "ci_low", "ci_high",
    "p_decrease", "p_decrease_low", "p_decrease_high",
]  # fmt: skip


@pytest.fixture
def frame():
    return simulate_frame(replicates=25, lrs=np.logspace(-4, -1, 7), rng=0, noise="skewed")


def test_columns_and_point_statistics_match_pandas(frame):
    table = summarize(frame).to_frame()
    assert list(table.columns) == COLUMNS
    grouped = frame.assign(d=frame.post - frame.pre).groupby("lr")["d"]
    expected = pd.DataFrame(
        {
            "lr": grouped.mean().index.to_numpy(),
            "n": grouped.count().to_numpy(),
            "mean": grouped.mean().to_numpy(),
            "sd": grouped.std(ddof=1).to_numpy(),
            "median": grouped.median().to_numpy(),
            "p_decrease": grouped.apply(lambda d: (d < 0).mean()).to_numpy(),
        }
    )
    pd.testing.assert_frame_equal(table[expected.columns], expected, check_dtype=False)
    np.testing.assert_allclose(table["se"], table["sd"] / np.sqrt(table["n"]))


def test_t_interval_matches_scipy(frame):
    table = summarize(frame, confidence_level=0.9).table
    for _, row in table.iterrows():
        low, high = stats.t.interval(0.9, row["n"] - 1, loc=row["mean"], scale=row["se"])
        assert row["ci_low"] == pytest.approx(low, rel=1e-12)
        assert row["ci_high"] == pytest.approx(high, rel=1e-12)


def test_wilson_interval_matches_statsmodels(frame):
    table = summarize(frame).table
    count = np.rint(table["p_decrease"] * 25).astype(int)
    low, high = proportion_confint(count, 25, alpha=0.05, method="wilson")
    np.testing.assert_allclose(table["p_decrease_low"], low, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(table["p_decrease_high"], high, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("method", ["percentile", "basic", "bca"])
def test_same_stream_as_scipy_bootstrap(frame, method):
    # one lr: the counts come from the same rng.integers(0, M, (B, M)) draw as scipy's
    one = frame[frame.lr == frame.lr.unique()[3]]
    ours = summarize(one, method=method, n_resamples=2000, rng=123).table.iloc[0]
    x = (one.post - one.pre).to_numpy()
    ref = stats.bootstrap(
        (x,), np.mean, method=method, n_resamples=2000, rng=np.random.default_rng(123)
    ).confidence_interval
    assert ours["ci_low"] == pytest.approx(ref.low, rel=1e-10)
    assert ours["ci_high"] == pytest.approx(ref.high, rel=1e-10)


@pytest.mark.parametrize("method", ["percentile", "basic", "bca"])
def test_agrees_with_scipy_within_monte_carlo_error(frame, method):
    # independent streams: the end points differ by Monte Carlo error only; with 9999
    # resamples that error is ~0.03 sd of the bootstrap distribution per end point, ~1.5 %
    # of the half-width, so 10 % of the half-width is a > 5-sigma tolerance.
    table = summarize(frame, method=method, n_resamples=9999, rng=1).table
    for k, lr in enumerate(table["lr"]):
        x = (frame.post - frame.pre)[frame.lr == lr].to_numpy()
        ref = stats.bootstrap(
            (x,), np.mean, method=method, n_resamples=9999, rng=np.random.default_rng(2)
        ).confidence_interval
        half = (ref.high - ref.low) / 2
        assert abs(table["ci_low"][k] - ref.low) < 0.1 * half
        assert abs(table["ci_high"][k] - ref.high) < 0.1 * half


def test_mean_acceleration_is_the_jackknife_formula():
    rng = np.random.default_rng(4)
    x = rng.exponential(size=(15, 3))
    loo = np.stack([np.delete(x, i, axis=0).mean(axis=0) for i in range(15)])
    u = loo.mean(axis=0) - loo
    expected = (u**3).sum(axis=0) / (6 * ((u**2).sum(axis=0)) ** 1.5)
    np.testing.assert_allclose(mean_acceleration(x), expected, rtol=1e-10)


def test_resampled_medians_match_direct_resampling():
    rng = np.random.default_rng(5)
    for m in (7, 8):
        values = rng.normal(size=(m, 4))
        index = np.random.default_rng(6).integers(0, m, (50, m))
        counts = resample_counts(np.random.default_rng(6), m, 50)
        np.testing.assert_allclose(
            resampled_medians(counts, values), np.median(values[index], axis=1)
        )


def test_bootstrap_keeps_replicates_together(make_frame):
    # two identical lrs: every resample gives both the same mean, so identical intervals
    rng = np.random.default_rng(7)
    column = rng.normal(size=20)
    frame = make_frame(np.column_stack([column, column, rng.normal(size=20)]))
    table = summarize(frame, response="val", method="percentile", n_resamples=500, rng=0).table
    assert table["ci_low"][0] == table["ci_low"][1]
    assert table["ci_high"][0] == table["ci_high"][1]


def test_non_finite_values_flag_divergence_and_the_rest_is_summarized(make_frame):
    rng = np.random.default_rng(8)
    values = rng.normal(size=(12, 3))
    values[[0, 5], 2] = [np.inf, np.nan]
    # a loss change (delta column), so the table has p_decrease
    summary = summarize(make_frame(values, column="delta"))
    table = summary.table
    assert table["n_nonfinite"].tolist() == [0, 0, 2]
    assert table["n"].tolist() == [12, 12, 10]
    finite = np.delete(values[:, 2], [0, 5])
    assert table["mean"][2] == pytest.approx(finite.mean())
    assert table["sd"][2] == pytest.approx(finite.std(ddof=1))
    # divergence is never a decrease; the share is over all replicates
    assert table["p_decrease"][2] == pytest.approx((finite < 0).sum() / 12)
    np.testing.assert_array_equal(summary.diverging_lrs, [table["lr"][2]])
    boot = summarize(make_frame(values), response="val", method="bca", n_resamples=999, rng=0)
    assert np.isfinite(boot.table[["ci_low", "ci_high"]].to_numpy()).all()


@pytest.mark.parametrize("method", ["t", "percentile", "bca"])
def test_degenerate_lr_gives_nan_and_a_warning(make_frame, method):
    values = np.random.default_rng(9).normal(size=(10, 3))
    values[:, 1] = 0.5  # zero variance
    with pytest.warns(DegenerateDataWarning, match="1 lr"):
        table = summarize(
            make_frame(values), response="val", method=method, n_resamples=99, rng=0
        ).table
    assert np.isnan(table.loc[1, ["ci_low", "ci_high"]].to_numpy(dtype=float)).all()
    assert np.isfinite(table.loc[0, ["ci_low", "ci_high"]].to_numpy(dtype=float)).all()
    assert table["mean"][1] == 0.5 and table["sd"][1] == 0


@pytest.mark.parametrize("method", ["t", "bca"])
def test_diverging_lr_with_one_finite_value_is_nan_without_warning(make_frame, method):
    values = np.random.default_rng(9).normal(size=(10, 2))
    values[1:, 1] = np.inf
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        table = summarize(
            make_frame(values), response="val", method=method, n_resamples=99, rng=0
        ).table
    assert table["n"][1] == 1 and np.isnan(table["sd"][1])
    assert np.isnan(table.loc[1, ["ci_low", "ci_high"]].to_numpy(dtype=float)).all()


def test_rng_reproducible_and_result_fields(frame):
    a = summarize(frame, method="bca", n_resamples=300, rng=11)
    b = summarize(frame, method="bca", n_resamples=300, rng=np.random.default_rng(11))
    pd.testing.assert_frame_equal(a.table, b.table)
    assert (a.method, a.n_resamples, a.n_replicates, a.response) == ("bca", 300, 25, "delta")
    assert summarize(frame).n_resamples == 0
    assert "Per-lr summary" in a._repr_html_()


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"confidence_level": 1.0}, ValueError, r"`confidence_level` must be a finite number in \(0, 1\). Received: confidence_level=1.0"),
        ({"confidence_level": 0}, ValueError, r"Received: confidence_level=0"),
        ({"method": "BCa"}, ValueError, r"`method` must be one of 't', 'percentile', 'basic', 'bca'. Received: method='BCa'"),
        ({"n_resamples": 0}, ValueError, r"`n_resamples` must be an integer >= 1. Received: n_resamples=0"),
        ({"n_resamples": 10.0}, TypeError, r"`n_resamples` must be an integer"),
        ({"rng": "seed"}, TypeError, r"`rng` must be None, an int"),
        ({"response": "nope"}, ValueError, r"`response` must be one of"),
    ],
)  # fmt: skip
def test_bad_arguments(frame, kwargs, error, match):
    with pytest.raises(error, match=match):
        summarize(frame, **kwargs)


# ------------------------------------------------------------------------------------------
# coverage by simulation


def _coverage(noise, method, repetitions, seed):
    lr = 0.01
    hits = 0
    for i in range(repetitions):
        frame = simulate_frame(
            lrs=[0.003, lr], replicates=30, noise=noise, noise_sd=0.05, slope_sd=0.2,
            curvature_sd=0.2, rng=[seed, i],
        )  # fmt: skip
        row = summarize(frame, method=method, n_resamples=999, rng=i).table.iloc[1]
        hits += row["ci_low"] <= expected_delta(lr, frame) <= row["ci_high"]
    return hits


@pytest.mark.slow
@pytest.mark.parametrize("noise", ["normal", "skewed"])
@pytest.mark.parametrize("method", ["t", "percentile", "basic", "bca"])
def test_coverage_of_the_mean(noise, method):
    # 30 replicates; "skewed" noise is a centred exponential with sd 0.05, which dominates
    # the replicate spread of ΔL at lr = 0.01 (skewness of ΔL about 1.7).
    repetitions = 300
    hits = _coverage(noise, method, repetitions, seed=2026)
    assert stats.binomtest(hits, repetitions, 0.95).pvalue > 0.001, hits / repetitions


@pytest.mark.slow
def test_paired_design_narrows_intervals_for_differences():
    from lrstats.inference import compare_to_best

    repetitions, hits, ratios = 200, 0, []
    for i in range(repetitions):
        frame = simulate_frame(
            lrs=[0.005, 0.01], replicates=20, noise_sd=0.01, slope_sd=0.3, rng=[77, i]
        )
        comparison = compare_to_best(frame)
        row = comparison.table[comparison.table.lr != comparison.best_lr].iloc[0]
        truth = expected_delta(row["lr"], frame) - expected_delta(comparison.best_lr, frame)
        hits += row["ci_low"] <= truth <= row["ci_high"]
        d = frame.assign(d=frame.post - frame.pre)
        unpaired = stats.ttest_ind(
            d.d[d.lr == row["lr"]], d.d[d.lr == comparison.best_lr]
        ).confidence_interval(0.95)
        ratios.append((row["ci_high"] - row["ci_low"]) / (unpaired.high - unpaired.low))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert stats.binomtest(hits, repetitions, 0.95).pvalue > 0.001
    # replicates share their slope, so lrs are positively correlated: pairing removes it
    assert np.median(ratios) < 0.6
    assert np.mean(np.array(ratios) < 1) > 0.95
