"""Invariances of the inference layer (hypothesis)."""

import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from lrstats.inference import compare_to_best, fit_shape, select_lr, summarize


@st.composite
def frames(draw, min_lrs=2):
    m = draw(st.integers(2, 8))
    k = draw(st.integers(min_lrs, 5))
    # a 0.001 lattice in [-10, 10]: ties are frequent, and no value is so small that its
    # square underflows (that would be a floating-point artefact, not a property)
    values = draw(arrays(np.int64, (m, k), elements=st.integers(-10_000, 10_000))) / 1000.0
    lrs = np.logspace(-3, -1, k)
    frame = pd.DataFrame(
        {
            "lr": np.tile(lrs, m),
            "replicate": np.repeat(np.arange(m) * 3 + 1, k),
            "val": values.ravel(),
        }
    )
    permutation = draw(st.permutations(range(m * k)))
    return frame, frame.iloc[list(permutation)].reset_index(drop=True)


SETTINGS = settings(
    max_examples=40, deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow]
)


def quiet(function, *args, **kwargs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return function(*args, **kwargs)


@SETTINGS
@given(frames(), st.sampled_from(["t", "percentile", "basic", "bca"]))
def test_summary_does_not_depend_on_row_order(pair, method):
    frame, shuffled = pair
    a = quiet(summarize, frame, response="val", method=method, n_resamples=99, rng=1)
    b = quiet(summarize, shuffled, response="val", method=method, n_resamples=99, rng=1)
    pd.testing.assert_frame_equal(a.table, b.table)


@SETTINGS
@given(frames(), st.sampled_from(["mean", "median", "ucb", "max_safe", "one_se"]))
def test_comparison_and_selection_do_not_depend_on_row_order(pair, rule):
    frame, shuffled = pair
    a = quiet(compare_to_best, frame, response="val")
    b = quiet(compare_to_best, shuffled, response="val")
    pd.testing.assert_frame_equal(a.table, b.table)
    # the sign rule max_safe needs a loss change: the same values as a `delta` column
    frame, shuffled = frame.assign(delta=frame.val), shuffled.assign(delta=shuffled.val)
    response = "delta" if rule == "max_safe" else "val"
    s = quiet(select_lr, frame, rule=rule, response=response, n_resamples=50, rng=2)
    r = quiet(select_lr, shuffled, rule=rule, response=response, n_resamples=50, rng=2)
    assert s.lr == r.lr or (np.isnan(s.lr) and np.isnan(r.lr))
    pd.testing.assert_series_equal(s.frequencies, r.frequencies)


@SETTINGS
@given(frames(min_lrs=3))
def test_quadratic_fit_does_not_depend_on_row_order(pair):
    frame, shuffled = pair
    a = quiet(fit_shape, frame, kind="quadratic", response="val", n_resamples=20, rng=3)
    b = quiet(fit_shape, shuffled, kind="quadratic", response="val", n_resamples=20, rng=3)
    np.testing.assert_allclose(
        a.params["coefficients"].to_numpy(),
        b.params["coefficients"].to_numpy(),
        rtol=1e-9,
        atol=1e-12,
    )


SCALED = ["mean", "sd", "se", "median", "ci_low", "ci_high"]


@SETTINGS
@given(
    frames(),
    st.sampled_from(["percentile", "basic", "bca"]),
    st.sampled_from([0.25, 0.5, 2.0, 8.0]),
)
def test_scaling_the_response_scales_bootstrap_intervals(pair, method, scale):
    # powers of two scale every floating-point operation exactly, ties included
    frame, _ = pair
    frame = frame.rename(columns={"val": "delta"})  # a loss change, so p_decrease exists
    a = quiet(summarize, frame, response="delta", method=method, n_resamples=99, rng=4).table
    b = quiet(
        summarize,
        frame.assign(delta=scale * frame.delta),
        response="delta",
        method=method,
        n_resamples=99,
        rng=4,
    ).table
    np.testing.assert_allclose(
        b[SCALED].to_numpy(), scale * a[SCALED].to_numpy(), rtol=1e-12, atol=0
    )
    pd.testing.assert_series_equal(a["p_decrease"], b["p_decrease"])


@SETTINGS
@given(frames(), st.floats(0.01, 100))
def test_scaling_the_response_scales_t_intervals(pair, scale):
    frame, _ = pair
    a = quiet(summarize, frame, response="val").table
    b = quiet(summarize, frame.assign(val=scale * frame.val), response="val").table
    np.testing.assert_allclose(
        b[SCALED].to_numpy(), scale * a[SCALED].to_numpy(), rtol=1e-9, atol=1e-9 * scale
    )
    a = quiet(compare_to_best, frame, response="val").table
    b = quiet(compare_to_best, frame.assign(val=scale * frame.val), response="val").table
    cols = ["diff", "ci_low", "ci_high"]
    np.testing.assert_allclose(
        b[cols].to_numpy(), scale * a[cols].to_numpy(), rtol=1e-9, atol=1e-9 * scale
    )


@pytest.mark.parametrize("scale", [0.5, 3.0])
def test_scaling_leaves_the_selected_lr_unchanged(scale):
    from lrstats.simulate import simulate_frame

    frame = simulate_frame(replicates=30, rng=5)
    frame = frame.assign(delta=frame.post - frame.pre).drop(columns=["pre", "post"])
    for rule in ("mean", "penalized", "ucb", "one_se", "max_safe"):
        a = select_lr(frame, rule=rule, n_resamples=100, rng=6)
        b = select_lr(frame.assign(delta=scale * frame.delta), rule=rule, n_resamples=100, rng=6)
        assert (a.lr, a.ci_low, a.ci_high) == (b.lr, b.ci_low, b.ci_high)
