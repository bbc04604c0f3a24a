"""``batch_size=[...]``: one frame with a ``batch_size`` column, each part the single-size frame."""

import numpy as np
import pandas as pd
import pytest
from sampler_reference import assert_same_state, snapshot

RUN = dict(lrs=[1e-3, 1e-2, 1e-1], replicates=3, seed=17, progress=False)


def test_each_size_is_the_frame_of_that_size_alone(sample_deltas, sgd_model, regression_data):
    x, y = regression_data
    frame = sample_deltas(sgd_model, x, y, batch_size=[16, 8], **RUN)
    assert list(frame.columns) == ["lr", "replicate", "pre", "post", "batch_size"]
    assert frame["batch_size"].tolist() == [8] * 9 + [16] * 9
    assert frame.attrs["batch_size"] == [8, 16]
    for size in (8, 16):
        alone = sample_deltas(sgd_model, x, y, batch_size=size, **RUN)
        part = frame[frame["batch_size"] == size].drop(columns="batch_size")
        pd.testing.assert_frame_equal(part.reset_index(drop=True), alone)
    # shards over replicates still concatenate exactly
    first = sample_deltas(
        sgd_model, x, y, batch_size=[8, 16], **{**RUN, "replicates": range(0, 2)}
    )
    second = sample_deltas(
        sgd_model, x, y, batch_size=[8, 16], **{**RUN, "replicates": range(2, 3)}
    )
    joined = pd.concat([first, second]).sort_values(["batch_size", "replicate", "lr"])
    pd.testing.assert_frame_equal(joined.reset_index(drop=True), frame)


@pytest.mark.parametrize(
    ("sizes", "error", "pattern"),
    [
        ([], ValueError, r"`batch_size` must not be empty"),
        (
            [8, 8],
            ValueError,
            r"`batch_size` must not repeat a size\. Received: batch_size=\[8, 8\]",
        ),
        ([8, 2.5], TypeError, r"`batch_size` must be an integer\. Received: batch_size=2\.5"),
        ([8, 257], ValueError, r"`batch_size` must be <= the number of rows \(256\)"),
    ],
)
def test_bad_sizes_are_refused_before_any_work(
    sample_deltas, sgd_model, regression_data, sizes, error, pattern
):
    x, y = regression_data
    before = snapshot(sgd_model)
    with pytest.raises(error, match=pattern):
        sample_deltas(sgd_model, x, y, batch_size=sizes, **RUN)
    assert_same_state(before, snapshot(sgd_model))
    assert np.isfinite(before[0]).all()
