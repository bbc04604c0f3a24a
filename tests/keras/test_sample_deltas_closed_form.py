"""Closed form: a linear model with MSE and plain SGD has an exactly quadratic ΔL(η).

With residual r = Xw + c - y on a batch of n rows, the gradient is g_w = (2/n) Xᵀr, g_c = (2/n) Σr,
the post-step residual on an evaluation batch E is r_E - η d_E with d_E = X_E g_w + g_c, so
pre = |r_E|²/n and post = |r_E - η d_E|²/n, i.e. ΔL(η) = -η (2/n) r_Eᵀd_E + η² (1/n) d_Eᵀd_E.
Everything here is computed in float64 from the model's float32 weights.
"""

import numpy as np
import pandas as pd
import pytest
from sampler_reference import assert_deltas_close, reference_deltas, subsample_indices

SEED = 1234
LRS = np.geomspace(1e-3, 2.0, 7)
REPLICATES = 8
BATCH = 32


def closed_form_frame(model, x, y, *, lrs, replicates, batch_size, seed, evaluate):
    kernel, bias = (v.numpy().astype(np.float64) for v in model.trainable_variables)
    x64 = x.astype(np.float64)
    y64 = y.astype(np.float64).reshape(-1)
    records = []
    for replicate in range(replicates):
        grad_rows, eval_rows = subsample_indices(seed, replicate, len(x), batch_size, evaluate)
        residual = x64[grad_rows] @ kernel[:, 0] + bias[0] - y64[grad_rows]
        g_w = 2.0 / batch_size * x64[grad_rows].T @ residual
        g_c = 2.0 / batch_size * residual.sum()
        r_eval = x64[eval_rows] @ kernel[:, 0] + bias[0] - y64[eval_rows]
        d_eval = x64[eval_rows] @ g_w + g_c
        pre = r_eval @ r_eval / batch_size
        for lr in lrs:
            post_residual = r_eval - lr * d_eval
            # the closed form of the differential itself, checked against the expansion below
            delta = -lr * 2.0 / batch_size * (r_eval @ d_eval) + lr**2 / batch_size * (
                d_eval @ d_eval
            )
            post = post_residual @ post_residual / batch_size
            assert np.isclose(post - pre, delta, rtol=1e-9, atol=1e-12 * pre)
            records.append((lr, replicate, pre, post))
    return pd.DataFrame.from_records(records, columns=["lr", "replicate", "pre", "post"])


@pytest.fixture(scope="module")
def linear_model(make_model):
    return make_model(hidden=None, optimizer="sgd", seed=7)


@pytest.mark.parametrize("evaluate", ["same", "fresh"])
def test_reference_loop_matches_closed_form(linear_model, regression_data, evaluate):
    # Validates the naive reference that the other tests trust.
    x, y = regression_data
    kwargs = dict(lrs=LRS, replicates=REPLICATES, batch_size=BATCH, seed=SEED, evaluate=evaluate)
    expected = closed_form_frame(linear_model, x, y, **kwargs)
    got = reference_deltas(linear_model, x, y, **kwargs)
    assert_deltas_close(got, expected, rtol=2e-6)


@pytest.mark.parametrize("evaluate", ["same", "fresh"])
def test_sampler_matches_closed_form(sample_deltas, linear_model, regression_data, evaluate):
    x, y = regression_data
    kwargs = dict(lrs=LRS, replicates=REPLICATES, batch_size=BATCH, seed=SEED, evaluate=evaluate)
    expected = closed_form_frame(linear_model, x, y, **kwargs)
    got = sample_deltas(linear_model, x, y, progress=False, **kwargs)
    assert_deltas_close(got, expected, rtol=1e-5)
    # the grid reaches well past the minimum of the parabola, so the comparison is not all near zero
    deltas = (got["post"] - got["pre"]).to_numpy()
    assert np.max(np.abs(deltas)) > 0.5 * got["pre"].max()
