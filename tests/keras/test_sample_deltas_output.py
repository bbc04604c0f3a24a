"""The output contract: columns, dtypes, sort order, one row per (replicate, lr), provenance."""

import json

import numpy as np
import pytest

ATTRS = {
    "seed",
    "batch_size",
    "evaluate",
    "eval_mode",
    "optimizer",
    "optimizer_config",
    "n_parameters",
    "n_rows",
    "path",
    "versions",
    "sampler",
}


@pytest.fixture(scope="module")
def frame(sample_deltas, sgd_model, regression_data):
    x, y = regression_data
    # lrs deliberately unsorted: the frame is sorted by replicate then lr anyway
    lrs = [0.1, 1e-3, 0.5, 0.01, 3e-3, 0.03, 1.0]
    return sample_deltas(
        sgd_model, x, y, lrs=lrs, replicates=9, batch_size=24, seed=3, progress=False
    )


def test_columns_and_dtypes(frame):
    assert list(frame.columns) == ["lr", "replicate", "pre", "post"]
    assert frame["lr"].dtype == np.float64
    assert frame["replicate"].dtype == np.int64
    assert frame["pre"].dtype == np.float64
    assert frame["post"].dtype == np.float64


def test_one_row_per_replicate_and_lr_sorted(frame):
    lrs = np.sort([0.1, 1e-3, 0.5, 0.01, 3e-3, 0.03, 1.0])
    assert len(frame) == 9 * 7
    np.testing.assert_array_equal(frame["replicate"].to_numpy(), np.repeat(np.arange(9), 7))
    np.testing.assert_array_equal(frame["lr"].to_numpy(), np.tile(lrs, 9))
    np.testing.assert_array_equal(frame.index.to_numpy(), np.arange(len(frame)))
    # pre depends on the replicate only (paired design: same subsample for every lr)
    assert (frame.groupby("replicate")["pre"].nunique() == 1).all()
    assert np.isfinite(frame[["pre", "post"]].to_numpy()).all()


def test_attrs_provenance(frame, sgd_model):
    assert ATTRS <= set(frame.attrs)
    attrs = frame.attrs
    assert attrs["seed"] == 3
    assert attrs["batch_size"] == 24
    assert attrs["evaluate"] == "same"
    assert attrs["eval_mode"] == "inference"
    assert attrs["optimizer"] == "SGD"
    assert attrs["optimizer_config"]["momentum"] == 0.0
    assert attrs["n_parameters"] == sgd_model.count_params() == 8 * 16 + 16 + 16 + 1
    assert attrs["n_rows"] == 256
    assert attrs["path"] == "affine"
    assert attrs["sampler"] == "lrstats.keras.sample_deltas"
    assert {"tensorflow", "keras", "numpy"} <= set(attrs["versions"])
    # provenance is written to Parquet with the frame: it must be JSON-serializable
    json.dumps(attrs)


def test_replicate_range_gives_those_ids(sample_deltas, sgd_model, regression_data):
    x, y = regression_data
    out = sample_deltas(
        sgd_model,
        x,
        y,
        lrs=[0.01, 0.1],
        replicates=range(5, 8),
        batch_size=24,
        seed=3,
        progress=False,
    )
    np.testing.assert_array_equal(out["replicate"].to_numpy(), [5, 5, 6, 6, 7, 7])
    assert out["replicate"].dtype == np.int64


def test_batch_size_equal_to_rows_is_allowed(sample_deltas, sgd_model, regression_data):
    x, y = regression_data
    out = sample_deltas(
        sgd_model,
        x[:40],
        y[:40],
        lrs=[0.01, 0.1],
        replicates=2,
        batch_size=40,
        seed=3,
        progress=False,
    )
    # the full pool in every replicate: every replicate sees the same rows (in another order)
    np.testing.assert_allclose(out["pre"], out["pre"].iloc[0], rtol=1e-6)
    np.testing.assert_allclose(
        out.loc[out["replicate"] == 0, "post"], out.loc[out["replicate"] == 1, "post"], rtol=1e-6
    )
