"""Divergence is data: non-finite post losses are kept, with exactly one DivergenceWarning."""

import re
import warnings

import numpy as np


def test_non_finite_losses_are_recorded_with_one_warning(
    sample_deltas, divergence_warning, sgd_model, regression_data
):
    x, y = regression_data
    lrs = [1e-3, 1e-2, 1e4, 1e12, 1e20, 1e30]
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        frame = sample_deltas(
            sgd_model, x, y, lrs=lrs, replicates=5, batch_size=32, seed=9, progress=False
        )
    ours = [w for w in caught if issubclass(w.category, divergence_warning)]
    assert len(ours) == 1, [str(w.message) for w in ours]
    assert issubclass(divergence_warning, RuntimeWarning)
    post = frame["post"].to_numpy()
    bad = ~np.isfinite(post)
    assert bad.any()
    # the warning counts the non-finite rows
    assert re.search(rf"\b{int(bad.sum())}\b", str(ours[0].message))
    # small lrs stay finite; pre is always finite; nothing was dropped
    assert np.isfinite(frame.loc[frame["lr"] <= 1e-2, "post"]).all()
    assert np.isfinite(frame["pre"]).all()
    assert len(frame) == 5 * len(lrs)
    assert frame.loc[frame["lr"] == 1e30, "post"].map(lambda v: not np.isfinite(v)).all()


def test_no_warning_when_everything_is_finite(
    sample_deltas, divergence_warning, sgd_model, regression_data
):
    x, y = regression_data
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        sample_deltas(
            sgd_model, x, y, lrs=[1e-3, 1e-2], replicates=3, batch_size=32, seed=9, progress=False
        )
    assert not [w for w in caught if issubclass(w.category, divergence_warning)]
