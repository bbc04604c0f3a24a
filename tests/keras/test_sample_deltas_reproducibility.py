"""Reproducibility: all randomness comes from ``seed``; shards concatenate bit for bit."""

import numpy as np
import pandas as pd
import pytest

LRS = np.geomspace(1e-3, 1.0, 7)


@pytest.fixture(scope="module")
def momentum_model(make_warm_model):
    return make_warm_model("momentum", seed=61)


def _run(sample_deltas, model, data, **kwargs):
    x, y = data
    options = dict(lrs=LRS, batch_size=16, seed=777, progress=False)
    options.update(kwargs)
    return sample_deltas(model, x, y, **options)


def test_same_seed_gives_an_identical_frame(sample_deltas, momentum_model, regression_data):
    first = _run(sample_deltas, momentum_model, regression_data, replicates=12)
    second = _run(sample_deltas, momentum_model, regression_data, replicates=12)
    pd.testing.assert_frame_equal(first, second, check_exact=True)
    assert first.attrs == second.attrs


def test_shards_concatenate_into_the_full_run(sample_deltas, momentum_model, regression_data):
    full = _run(sample_deltas, momentum_model, regression_data, replicates=100)
    low = _run(sample_deltas, momentum_model, regression_data, replicates=range(0, 50))
    high = _run(sample_deltas, momentum_model, regression_data, replicates=range(50, 100))
    assert set(low["replicate"]) == set(range(50))
    assert set(high["replicate"]) == set(range(50, 100))
    joined = pd.concat([low, high], ignore_index=True)
    pd.testing.assert_frame_equal(joined, full, check_exact=True)
    # a shard that starts in the middle of a chunk is the same rows too
    middle = _run(sample_deltas, momentum_model, regression_data, replicates=range(37, 41))
    pd.testing.assert_frame_equal(
        middle, full[full["replicate"].between(37, 40)].reset_index(drop=True), check_exact=True
    )


def test_chunk_size_does_not_change_the_frame(sample_deltas, momentum_model, regression_data):
    whole = _run(sample_deltas, momentum_model, regression_data, replicates=10)
    chunked = _run(sample_deltas, momentum_model, regression_data, replicates=10, chunk_size=3)
    pd.testing.assert_frame_equal(chunked, whole, check_exact=False, rtol=1e-6, atol=0)


def test_different_seeds_give_different_frames(sample_deltas, momentum_model, regression_data):
    first = _run(sample_deltas, momentum_model, regression_data, replicates=6, seed=1)
    second = _run(sample_deltas, momentum_model, regression_data, replicates=6, seed=2)
    np.testing.assert_array_equal(first["lr"], second["lr"])
    # different subsamples: the pre losses of every replicate differ
    assert not np.any(
        first.groupby("replicate")["pre"].first().to_numpy()
        == second.groupby("replicate")["pre"].first().to_numpy()
    )


def test_seed_none_records_the_entropy_that_reproduces_the_frame(
    sample_deltas, momentum_model, regression_data
):
    first = _run(sample_deltas, momentum_model, regression_data, replicates=4, seed=None)
    seed = first.attrs["seed"]
    assert isinstance(seed, int) and not isinstance(seed, bool)
    again = _run(sample_deltas, momentum_model, regression_data, replicates=4, seed=seed)
    pd.testing.assert_frame_equal(first, again, check_exact=True)
    other = _run(sample_deltas, momentum_model, regression_data, replicates=4, seed=None)
    assert other.attrs["seed"] != seed
