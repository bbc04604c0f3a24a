"""Range-test smoothing, divergence and suggestions against hand-computed values (no TensorFlow)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy.stats import binomtest

from lrstats.inference._bootstrap import resample_counts
from lrstats.inference.range_test import (
    analyse_range_test,
    divergence_step,
    median_interval,
    smooth_losses,
    suggest,
)


def test_smoothing_matches_the_recursion_by_hand():
    # beta = 0.5: avg = 0.5, 1.25, 1.125; corrections 0.5, 0.75, 0.875
    out = smooth_losses([1.0, 2.0, 1.0], smoothing=0.5)
    np.testing.assert_allclose(out, [1.0, 1.25 / 0.75, 1.125 / 0.875], rtol=1e-15)
    np.testing.assert_array_equal(smooth_losses([3.0, 1.0], smoothing=0.0), [3.0, 1.0])
    assert smooth_losses(np.float32([1.0, 2.0])).dtype == np.float64


def test_a_non_finite_loss_makes_the_rest_non_finite_and_diverges():
    out = smooth_losses([1.0, np.inf, 1.0], smoothing=0.9)
    assert math.isfinite(out[0]) and not np.isfinite(out[1:]).any()
    assert divergence_step(out) == 1


def test_divergence_step_is_the_first_above_factor_times_best():
    assert divergence_step([4.0, 2.0, 3.0, 7.9, 8.1, 20.0], diverge_factor=4.0) == 4
    assert divergence_step([4.0, 2.0, 3.0], diverge_factor=4.0) is None
    # negative losses: best + (factor - 1)|best|
    assert divergence_step([-2.0, -1.0, 4.1], diverge_factor=4.0) == 2


def test_suggestions_on_a_curve_with_known_answers():
    lrs = np.geomspace(1e-5, 1.0, 51)  # ten points per decade
    x = np.log10(lrs)
    # falls fastest at 1e-3 (tanh's inflexion), minimum at 1e-1, rises after
    loss = 2.0 - np.tanh(2.0 * (x + 3.0)) + 2.0 * np.maximum(x + 1.0, 0.0) ** 2
    loss[x > -1.0] += 0.05 * (x[x > -1.0] + 1.0)
    out = suggest(lrs, loss, trim_start=0.0, trim_end=0)
    # the steepest segment is the one just left of 1e-3 (or starting at it)
    assert out["steep"] == pytest.approx(10**-3.1, rel=1e-9) or out["steep"] == pytest.approx(
        1e-3, rel=1e-9
    )
    assert out["minimum"] == pytest.approx(lrs[np.argmin(loss)] / 10, rel=1e-12)
    # the whole fall 1e-5 .. argmin is the longest decreasing stretch; valley = its middle
    end = int(np.argmin(loss))
    assert out["valley"] == pytest.approx(lrs[end // 2], rel=1e-12)


def test_valley_uses_the_longest_decreasing_subsequence_not_the_first_one():
    lrs = np.geomspace(1e-4, 1e-1, 12)
    loss = np.array([5.0, 4.0, 6.0, 5.9, 5.8, 5.7, 5.6, 5.5, 5.4, 5.3, 9.0, 9.5])
    # longest strictly decreasing subsequence: 6.0 .. 5.3 (indices 2..9); 5.0/4.0 can't precede 6.0
    # but 5.0 > 4.0 only gives length 2; and 6.0..5.3 has length 8
    out = suggest(lrs, loss, trim_start=0.0, trim_end=0)
    assert out["valley"] == pytest.approx(lrs[(2 + 9) // 2])


def test_trimming_drops_the_first_tenth_and_the_last_five():
    lrs = np.geomspace(1e-6, 1.0, 100)
    loss = np.linspace(3.0, 1.0, 100)
    loss[:10] = 0.0  # would be the minimum if not trimmed
    loss[-5:] = -1.0
    out = suggest(lrs, loss)
    assert out["minimum"] == pytest.approx(lrs[94] / 10)


def _frame(values_by_replicate):
    rows = []
    lrs = np.geomspace(1e-6, 1.0, 61)
    for replicate, centre in enumerate(values_by_replicate):
        loss = 2.0 - np.tanh(2.0 * (np.log10(lrs) - np.log10(centre)))
        rows.append(
            pd.DataFrame(
                {
                    "replicate": replicate,
                    "step": np.arange(61),
                    "lr": lrs,
                    "loss": loss,
                    "smoothed_loss": loss,
                }
            )
        )
    return pd.concat(rows, ignore_index=True)


def test_median_and_interval_over_replicates():
    centres = [1e-4, 10**-3.5, 1e-3, 10**-2.5, 1e-2]
    result = analyse_range_test(_frame(centres), n_resamples=999, rng=1)
    table = result.suggestions
    per = result.per_replicate.pivot(index="replicate", columns="suggestion", values="lr")
    for name in ("steep", "minimum", "valley"):
        assert table.loc[name, "lr"] == pytest.approx(np.median(per[name]))
        assert table.loc[name, "ci_low"] <= table.loc[name, "lr"] <= table.loc[name, "ci_high"]
        assert per[name].min() * (1 - 1e-12) <= table.loc[name, "ci_low"]
        assert table.loc[name, "ci_high"] <= per[name].max() * (1 + 1e-12)
    # the steep point tracks the curves' inflexion
    assert table.loc["steep", "lr"] == pytest.approx(1e-3, rel=0.3)
    assert result.lr == table.loc["valley", "lr"]
    again = analyse_range_test(_frame(centres), n_resamples=999, rng=1)
    pd.testing.assert_frame_equal(again.suggestions, table)


def test_one_replicate_has_no_interval():
    result = analyse_range_test(_frame([1e-3]), n_resamples=99, rng=0)
    assert result.suggestions["ci_low"].isna().all()
    assert result.suggestions["n_replicates"].eq(1).all()


def test_resampled_medians_match_a_direct_computation():
    values = np.array([3.0, 1.0, 4.0, 1.5, 9.0, 2.6])
    low, high = median_interval(values, np.random.default_rng(3), 0.9, 2000)
    # the replicate bootstrap of the inference layer, from the same stream
    counts = resample_counts(np.random.default_rng(3), 6, 2000).astype(int)
    assert (counts.sum(axis=1) == 6).all()
    direct = [np.median(np.repeat(np.sort(values), c)) for c in counts]
    expected = np.quantile(direct, [0.05, 0.95])
    assert (low, high) == pytest.approx((min(expected[0], 2.8), max(expected[1], 2.8)))


@pytest.mark.slow
def test_bootstrap_interval_of_the_median_covers_the_true_median():
    # log10 suggestions ~ N(-3, 0.3) over 15 replicates: the true median is -3
    rng = np.random.default_rng(20261130)
    n_sims = 1000
    hits = 0
    for _ in range(n_sims):
        low, high = median_interval(rng.normal(-3.0, 0.3, size=15), rng, 0.95, 999)
        hits += low <= -3.0 <= high
    # the percentile bootstrap of a median undercovers a little at small n (measured 0.93 at
    # n = 15 for a nominal 0.95, documented in median_interval): test the documented floor
    assert binomtest(hits, n_sims, 0.92, alternative="less").pvalue > 0.01
    assert binomtest(hits, n_sims, 0.95, alternative="greater").pvalue > 0.01


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda: smooth_losses([1.0], smoothing=1.0), ValueError, r"`smoothing` must be"),
        (lambda: divergence_step([1.0], diverge_factor=0.5), ValueError, r"`diverge_factor`"),
        (lambda: analyse_range_test([1, 2]), TypeError, r"`frame` must be a pandas DataFrame"),
        (
            lambda: analyse_range_test(pd.DataFrame({"lr": [1.0]})),
            ValueError,
            r"`frame` must have columns .* missing \['replicate', 'step', 'loss', 'smoothed_loss'\]",
        ),
        (
            lambda: analyse_range_test(_frame([1e-3]), confidence_level=1.0),
            ValueError,
            r"`confidence_level`",
        ),
        (
            lambda: analyse_range_test(_frame([1e-3])).suggestion("fast"),
            ValueError,
            r"`name` must be one of",
        ),
    ],
)
def test_bad_input(call, error, match):
    with pytest.raises(error, match=match):
        call()
