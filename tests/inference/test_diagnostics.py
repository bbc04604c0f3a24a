"""Training-curve diagnostics on synthetic curves of each kind (no TensorFlow)."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from scipy.stats import binomtest

from lrstats.inference.diagnostics import VERDICTS, diagnose, turning_point_test

T = np.arange(30)


def _curves(seed):
    rng = np.random.default_rng(seed)
    noise = lambda sd, n=30: rng.normal(0.0, sd, n)  # noqa: E731
    return {
        "healthy": 0.3 + 0.7 * np.exp(-T / 5) + noise(0.005),
        "too_slow": 1.0 - 0.002 * T + noise(0.003),
        "too_fast": np.r_[1.0, 0.6, 0.55, 0.7 + noise(0.01, 27)],
        "oscillating": 0.3 + 0.7 * np.exp(-T / 5) + 0.05 * (-1.0) ** T + noise(0.005),
        "diverging": 0.5 * np.exp(T / 10) + noise(0.01),
    }


@pytest.mark.parametrize("seed", [0, 1, 2])
@pytest.mark.parametrize("kind", ["healthy", "too_slow", "too_fast", "oscillating", "diverging"])
def test_synthetic_curves_get_their_verdict(kind, seed):
    diagnosis = diagnose({"loss": _curves(seed)[kind]})
    assert diagnosis.holds == (kind,)


@pytest.mark.slow
def test_flat_noise_is_too_slow_and_other_verdicts_keep_their_level():
    rng = np.random.default_rng(5)
    n_sims = 400
    verdicts = [diagnose({"loss": 1.0 + rng.normal(0, 0.01, 20)}).holds for _ in range(n_sims)]
    assert sum("too_slow" in v for v in verdicts) / n_sims > 0.8
    # each test behind a false alarm runs at alpha = 0.05 (one-sided); none exceeds it
    for name in ("too_fast", "diverging", "oscillating"):
        flagged = sum(name in v for v in verdicts)
        assert binomtest(flagged, n_sims, 0.05, alternative="greater").pvalue > 0.001, name


def test_non_finite_is_diverging():
    frame = diagnose({"loss": [1.0, 0.8, 0.7, np.inf, np.nan]}).to_frame().set_index("verdict")
    assert frame.loc["diverging", "holds"] and frame.loc["diverging", "statistic"] == 3


def test_overfitting_needs_validation_rising_while_training_falls():
    rng = np.random.default_rng(4)
    train = 0.3 + 0.7 * np.exp(-T / 5)
    val = 0.5 + 0.5 * np.exp(-T / 3) + 0.004 * T + rng.normal(0, 0.002, 30)
    diagnosis = diagnose(pd.DataFrame({"epoch": T, "loss": train, "val_loss": val}))
    assert diagnosis.holds == ("overfitting",)
    row = diagnosis.to_frame().set_index("verdict").loc["overfitting"]
    assert row["ci_low"] > 0 and row["pvalue"] < 0.05
    # validation that keeps falling: no overfitting
    assert diagnose({"loss": train, "val_loss": train + 0.1}).holds == ("healthy",)


def test_frame_has_one_row_per_verdict_with_evidence():
    frame = diagnose({"loss": _curves(0)["too_slow"]}).to_frame()
    assert list(frame["verdict"]) == list(VERDICTS)
    assert list(frame.columns) == [
        "verdict",
        "holds",
        "statistic",
        "statistic_name",
        "ci_low",
        "ci_high",
        "pvalue",
        "recommendation",
    ]
    assert frame["recommendation"].str.len().gt(20).all()
    assert (
        "raise the learning rate" in frame.set_index("verdict").loc["too_slow", "recommendation"]
    )


def test_trend_interval_agrees_with_scipy_linregress():
    y = _curves(5)["too_slow"]
    row = diagnose({"loss": y}).to_frame().set_index("verdict").loc["diverging"]
    # diverging reports the second-half slope of log loss, x scaled to [0, 1] over the curve
    x = np.linspace(0, 1, 30)
    fit = stats.linregress(x[15:], np.log(y[15:]))
    half = stats.t.ppf(0.975, 13) * fit.stderr
    assert row["statistic"] == pytest.approx(fit.slope, rel=1e-9)
    assert (row["ci_low"], row["ci_high"]) == pytest.approx(
        (fit.slope - half, fit.slope + half), rel=1e-9
    )
    assert row["pvalue"] == pytest.approx(stats.t.sf(fit.slope / fit.stderr, 13), rel=1e-9)


def test_turning_point_moments_match_enumeration():
    # exact mean and variance over all orderings of n distinct values
    for n in (4, 5, 6):
        counts = [turning_point_test(p)[0] for p in itertools.permutations(range(n))]
        assert np.mean(counts) == pytest.approx(2 * (n - 2) / 3)
        assert np.var(counts) == pytest.approx((16 * n - 29) / 90)


def test_turning_point_test_holds_its_level_on_iid_noise():
    rng = np.random.default_rng(20261130)
    rejections = sum(turning_point_test(rng.normal(size=40))[2] < 0.05 for _ in range(2000))
    # normal approximation of a discrete count: the rejection rate stays near 0.05
    assert binomtest(rejections, 2000, 0.05).pvalue > 0.001


def test_keras_history_like_objects_are_read():
    class History:
        history = {"loss": list(_curves(0)["healthy"])}

    assert diagnose(History()).holds == ("healthy",)
    per_batch = pd.DataFrame({"step": T, "loss": _curves(0)["healthy"]})
    assert diagnose(per_batch).unit == "step"


@pytest.mark.parametrize(
    ("history", "kwargs", "error", "match"),
    [
        (
            {"val_loss": [1, 2, 3, 4]},
            {},
            ValueError,
            r"`history` must contain a 'loss' series .* Received: keys \['val_loss'\]",
        ),
        ([1.0, 0.9], {}, TypeError, r"`history` must be a keras History, a dict or a pandas"),
        ({"loss": [1.0, 0.9, 0.8]}, {}, ValueError, r"at least 4 values of 'loss'. Received: 3"),
        (
            {"loss": [1, 0.9, 0.8, 0.7], "val_loss": [1, 2]},
            {},
            ValueError,
            r"`history\['val_loss'\]` must have one value per 'loss' value",
        ),
        ({"loss": [1, 0.9, 0.8, 0.7]}, {"alpha": 1.5}, ValueError, r"`alpha` must be a finite"),
    ],
)
def test_bad_input(history, kwargs, error, match):
    with pytest.raises(error, match=match):
        diagnose(history, **kwargs)


def test_nan_statistics_without_validation():
    row = diagnose({"loss": _curves(0)["healthy"]}).to_frame().set_index("verdict")
    assert not row.loc["overfitting", "holds"] and math.isnan(row.loc["overfitting", "statistic"])
