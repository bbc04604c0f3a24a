"""Bad input raises before any work, names the parameter and the value, and leaves the model alone."""

import keras
import numpy as np
import pytest
from sampler_reference import assert_same_state, snapshot

GOOD = dict(lrs=[1e-3, 1e-2, 1e-1], replicates=4, batch_size=16, seed=0, progress=False)


@pytest.fixture(scope="module")
def model(make_model):
    # momentum optimizer never stepped: a call that builds it before failing would show up as
    # two extra optimizer variables in the state comparison
    return make_model(optimizer="momentum", seed=71)


def _x_with(value, regression_data):
    x, _ = regression_data
    x = x.copy()
    x[17, 3] = value
    return x


def _y_with(value, regression_data):
    _, y = regression_data
    y = y.copy()
    y[200, 0] = value
    return y


# (id, changes to the good call, exception type, regular expression)
CASES = [
    ("lrs-empty", dict(lrs=[]), ValueError, r"`lrs` must not be empty\. Received: lrs=\[\]"),
    (
        "lrs-negative",
        dict(lrs=[0.1, -0.5]),
        ValueError,
        r"`lrs` must be finite and > 0\. Received: lrs containing \[-0\.5\]",
    ),
    (
        "lrs-zero",
        dict(lrs=[0.0, 0.1]),
        ValueError,
        r"`lrs` must be finite and > 0\. Received: lrs containing \[0\.0\]",
    ),
    (
        "lrs-inf",
        dict(lrs=[0.1, np.inf]),
        ValueError,
        r"`lrs` must be finite and > 0\. Received: lrs containing \[inf\]",
    ),
    (
        "lrs-nan",
        dict(lrs=[np.nan, 0.1]),
        ValueError,
        r"`lrs` must be finite and > 0\. Received: lrs containing \[nan\]",
    ),
    (
        "lrs-duplicated",
        dict(lrs=[0.1, 0.2, 0.1]),
        ValueError,
        r"`lrs` must not contain duplicates\. Received: lrs repeating \[0\.1\]",
    ),
    (
        "replicates-one",
        dict(replicates=1),
        ValueError,
        r"`replicates`.*>= 2.*Received: replicates=1",
    ),
    (
        "replicates-empty-range",
        dict(replicates=range(3, 3)),
        ValueError,
        r"`replicates`.*Received: replicates=range\(3, 3\)",
    ),
    (
        "replicates-float",
        dict(replicates=4.0),
        TypeError,
        r"`replicates`.*Received: replicates=4\.0",
    ),
    (
        "batch-size-zero",
        dict(batch_size=0),
        ValueError,
        r"`batch_size` must be an integer >= 1\. Received: batch_size=0",
    ),
    (
        "batch-size-above-rows",
        dict(batch_size=257),
        ValueError,
        r"`batch_size`.*256.*Received: batch_size=257",
    ),
    (
        "chunk-size-zero",
        dict(chunk_size=0),
        ValueError,
        r"`chunk_size` must be an integer >= 1\. Received: chunk_size=0",
    ),
    (
        "max-rows-zero",
        dict(max_rows=0),
        ValueError,
        r"`max_rows` must be an integer >= 1\. Received: max_rows=0",
    ),
    ("seed-string", dict(seed="abc"), TypeError, r"`seed` .*Received: seed='abc'"),
    ("progress-string", dict(progress="yes"), TypeError, r"`progress` .*Received: progress='yes'"),
    (
        "sample-weight-length",
        dict(sample_weight=np.ones(255)),
        ValueError,
        r"`sample_weight` must be 1-D with one weight per row \(256\)\. Received: sample_weight with shape \(255,\)",
    ),
    (
        "sample-weight-negative",
        dict(sample_weight=np.r_[np.ones(255), -1.0]),
        ValueError,
        r"`sample_weight` must be finite and >= 0\. Received: sample_weight with 1 bad value",
    ),
    (
        "evaluate",
        dict(evaluate="other"),
        ValueError,
        r"`evaluate` must be one of 'same', 'fresh'\. Received: evaluate='other'",
    ),
    (
        "eval-mode",
        dict(eval_mode="train"),
        ValueError,
        r"`eval_mode` must be one of 'inference', 'training'\. Received: eval_mode='train'",
    ),
]


@pytest.mark.parametrize(
    ("changes", "error", "pattern"), [c[1:] for c in CASES], ids=[c[0] for c in CASES]
)
def test_bad_options_raise_and_leave_the_model_alone(
    sample_deltas, model, regression_data, changes, error, pattern
):
    x, y = regression_data
    before = snapshot(model)
    with pytest.raises(error, match=pattern):
        sample_deltas(model, x, y, **{**GOOD, **changes})
    assert_same_state(before, snapshot(model))


DATA_CASES = [
    (
        "x-y-lengths",
        lambda d: (d[0], d[1][:-1]),
        r"`x` and `y` must have the same number of rows\. Received: x with 256 rows, y with 255 rows",
    ),
    (
        "nan-in-x",
        lambda d: (_x_with(np.nan, d), d[1]),
        r"`x` must contain only finite values\. Received: x with 1 NaN or inf",
    ),
    (
        "inf-in-x",
        lambda d: (_x_with(-np.inf, d), d[1]),
        r"`x` must contain only finite values\. Received: x with 1 NaN or inf",
    ),
    (
        "nan-in-y",
        lambda d: (d[0], _y_with(np.nan, d)),
        r"`y` must contain only finite values\. Received: y with 1 NaN or inf",
    ),
    (
        "inf-in-y",
        lambda d: (d[0], _y_with(np.inf, d)),
        r"`y` must contain only finite values\. Received: y with 1 NaN or inf",
    ),
]


@pytest.mark.parametrize(
    ("make_data", "pattern"), [c[1:] for c in DATA_CASES], ids=[c[0] for c in DATA_CASES]
)
def test_bad_data_raises_and_leaves_the_model_alone(
    sample_deltas, model, regression_data, make_data, pattern
):
    x, y = make_data(regression_data)
    before = snapshot(model)
    with pytest.raises(ValueError, match=pattern):
        sample_deltas(model, x, y, **GOOD)
    assert_same_state(before, snapshot(model))


def test_unbuilt_model_is_rejected(sample_deltas, regression_data):
    x, y = regression_data
    model = keras.Sequential([keras.layers.Dense(4), keras.layers.Dense(1)])
    model.compile(keras.optimizers.SGD(0.1), "mse")
    with pytest.raises(ValueError, match=r"`model` must be built.*Received:"):
        sample_deltas(model, x, y, **GOOD)
    assert not model.built


def test_uncompiled_model_is_rejected(sample_deltas, regression_data):
    x, y = regression_data
    model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(1)])
    before = [v.numpy().copy() for v in model.variables]
    with pytest.raises(ValueError, match=r"`model` must be compiled.*Received:"):
        sample_deltas(model, x, y, **GOOD)
    assert all(np.array_equal(a, v.numpy()) for a, v in zip(before, model.variables, strict=True))
    assert getattr(model, "optimizer", None) is None


def test_dataset_with_separate_targets_is_rejected(sample_deltas, model, regression_data):
    import tensorflow as tf

    x, y = regression_data
    before = snapshot(model)
    dataset = tf.data.Dataset.from_tensor_slices((x, y)).batch(64)
    with pytest.raises(
        ValueError,
        match=r"`y` must be None when `x` is a tf\.data\.Dataset.*Received: y of type ndarray",
    ):
        sample_deltas(model, dataset, y, **GOOD)
    assert_same_state(before, snapshot(model))


# Bad inputs of issue 12: each raises before any work, with the parameter and the value received.
MORE_CASES = [
    ("lrs-bool", dict(lrs=[1e-3, True]), TypeError, r"`lrs` must be real numbers, not booleans"),
    (
        "replicates-descending",
        dict(replicates=range(5, 0, -1)),
        ValueError,
        r"`replicates` must be an ascending range.*Received: replicates=range\(5, 0, -1\)",
    ),
    (
        "seed-huge",
        dict(seed=2**200),
        ValueError,
        r"`seed` must be None or an integer in \[0, 2\*\*128\)",
    ),
    (
        "replicates-huge",
        dict(replicates=10**9),
        ValueError,
        r"`replicates` is too large: 1000000000 replicates x 3 lrs.*range\(start, stop\).*Received",
    ),
    (
        "sample-weight-strings",
        dict(sample_weight=np.array(["1.0"] * 256)),
        TypeError,
        r"`sample_weight` must be an array of numbers.*dtype <U3",
    ),
]


@pytest.mark.parametrize(
    ("changes", "error", "pattern"), [c[1:] for c in MORE_CASES], ids=[c[0] for c in MORE_CASES]
)
def test_more_bad_options_raise_up_front(
    sample_deltas, model, regression_data, changes, error, pattern
):
    import time

    x, y = regression_data
    before = snapshot(model)
    started = time.perf_counter()
    with pytest.raises(error, match=pattern):
        sample_deltas(model, x, y, **{**GOOD, **changes})
    assert time.perf_counter() - started < 2.0  # refused up front, not after running out of memory
    assert_same_state(before, snapshot(model))


MORE_DATA_CASES = [
    (
        "y-too-wide",
        lambda d: (d[0], np.repeat(d[1], 3, axis=1)),
        ValueError,
        r"`y` must match the model's output: y has 3 columns, the output has 1.*\(256, 3\)",
    ),
    (
        "x-strings",
        lambda d: (d[0].astype(str), d[1]),
        TypeError,
        r"`x` must hold numbers.*Received: x with dtype <U",
    ),
    (
        "y-strings",
        lambda d: (d[0], d[1].astype(str)),
        TypeError,
        r"`y` must hold numbers\. Received: y with dtype <U",
    ),
    ("y-none", lambda d: (d[0], None), ValueError, r"`y` must be given.*Received: y=None"),
    (
        "x-wrong-features",
        lambda d: (d[0][:, :5], d[1]),
        ValueError,
        r"`x` and `y` must fit `model`.*batch of 16 rows.*x with shape \(256, 5\)",
    ),
]


@pytest.mark.parametrize(
    ("make_data", "error", "pattern"),
    [c[1:] for c in MORE_DATA_CASES],
    ids=[c[0] for c in MORE_DATA_CASES],
)
def test_more_bad_data_raises_and_leaves_the_model_alone(
    sample_deltas, model, regression_data, make_data, error, pattern
):
    x, y = make_data(regression_data)
    before = snapshot(model)
    with pytest.raises(error, match=pattern):
        sample_deltas(model, x, y, **GOOD)
    assert_same_state(before, snapshot(model))


def test_unbatched_dataset_is_refused(sample_deltas, model, regression_data):
    import tensorflow as tf

    x, y = regression_data
    before = snapshot(model)
    dataset = tf.data.Dataset.from_tensor_slices((x, y[:, 0]))  # forgot .batch(n)
    with pytest.raises(ValueError, match=r"`x` must be a batched tf\.data\.Dataset.*\.batch"):
        sample_deltas(model, dataset, **GOOD)
    assert_same_state(before, snapshot(model))


def test_reshuffling_dataset_is_warned_and_recorded(sample_deltas, model, regression_data):
    import tensorflow as tf

    x, y = regression_data
    dataset = tf.data.Dataset.from_tensor_slices((x, y)).shuffle(256, seed=1).batch(64)
    with pytest.warns(UserWarning, match="reshuffles on each iteration"):
        frame = sample_deltas(model, dataset, **GOOD)
    assert frame.attrs["data_reshuffles"] is True
    fixed = tf.data.Dataset.from_tensor_slices((x, y)).batch(64)
    assert sample_deltas(model, fixed, **GOOD).attrs["data_reshuffles"] is False
