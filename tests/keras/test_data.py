"""Direct tests of ``lrstats.keras._data``: the pool of rows the sampler (and the range test and
sweeps) draw from."""

import numpy as np
import pandas as pd
import pytest
import tensorflow as tf

from lrstats.keras._data import DataPool, leaves, prepare_data


def test_arrays_pandas_and_dicts_become_one_pool():
    x = pd.DataFrame({"a": [1.0, 2.0, 3.0], "b": [4.0, 5.0, 6.0]})
    y = pd.Series([0.0, 1.0, 0.0])
    pool = prepare_data(x, y, [1, 2, 3], max_rows=10)
    assert isinstance(pool, DataPool)
    assert pool.n_rows == 3 and not pool.reshuffles
    np.testing.assert_array_equal(pool.x, x.to_numpy())
    np.testing.assert_array_equal(pool.y, y.to_numpy())
    assert pool.sample_weight.dtype == np.float64
    np.testing.assert_array_equal(pool.sample_weight, [1.0, 2.0, 3.0])

    multi = prepare_data(
        {"a": np.zeros((4, 2)), "b": [np.ones(4), np.ones((4, 3))]}, None, None, max_rows=10
    )
    assert multi.n_rows == 4 and multi.y is None
    assert [name for name, _ in leaves(multi.x)] == ["x['a']", "x['b'][0]", "x['b'][1]"]


def test_a_column_of_weights_is_flattened():
    pool = prepare_data(np.zeros((3, 2)), np.zeros(3), np.ones((3, 1)), max_rows=10)
    assert pool.sample_weight.shape == (3,)


@pytest.mark.parametrize(
    ("x", "y", "w", "error", "pattern"),
    [
        (None, None, None, TypeError, r"`x` must be array-like.*Received: x=None"),
        ({}, None, None, ValueError, r"`x` must not be an empty dict"),
        (np.float32(1.0), None, None, ValueError, r"`x` must have a leading axis of rows"),
        (
            np.array([object(), object()]),
            None,
            None,
            TypeError,
            r"`x` must hold numbers, not Python objects",
        ),
        ({"a": np.zeros(3), "b": np.zeros(4)}, None, None, ValueError, r"same number of rows"),
        (np.zeros(3), np.zeros(2), None, ValueError, r"x with 3 rows, y with 2 rows"),
        (np.array([0.0, np.inf]), None, None, ValueError, r"`x` must contain only finite values"),
        (
            np.zeros(2),
            np.zeros(2),
            np.array(["a", "b"]),
            TypeError,
            r"`sample_weight` must be an array of numbers",
        ),
        (
            np.zeros(2),
            np.zeros(2),
            np.array([1.0, -1.0]),
            ValueError,
            r"`sample_weight` must be finite and >= 0",
        ),
        (np.zeros(2), np.zeros(2), np.ones(3), ValueError, r"one weight per row \(2\)"),
    ],
)
def test_bad_inputs_name_the_argument(x, y, w, error, pattern):
    with pytest.raises(error, match=pattern):
        prepare_data(x, y, w, max_rows=10)


def test_dataset_is_materialized_up_to_max_rows():
    x = np.arange(20, dtype=np.float32).reshape(10, 2)
    y = np.arange(10, dtype=np.float32)
    w = np.linspace(0.1, 1.0, 10)
    dataset = tf.data.Dataset.from_tensor_slices((x, y, w)).batch(4)
    pool = prepare_data(dataset, None, None, max_rows=6)
    assert pool.n_rows == 6 and not pool.reshuffles
    np.testing.assert_array_equal(pool.x, x[:6])
    np.testing.assert_array_equal(pool.y, y[:6])
    np.testing.assert_allclose(pool.sample_weight, w[:6])


def test_dataset_errors():
    x = np.zeros((6, 2), np.float32)
    with pytest.raises(ValueError, match=r"`y` must be None when `x` is a tf\.data\.Dataset"):
        prepare_data(tf.data.Dataset.from_tensor_slices((x, x)).batch(2), x, None, max_rows=10)
    with pytest.raises(ValueError, match=r"`x` must be a batched tf\.data\.Dataset"):
        prepare_data(tf.data.Dataset.from_tensor_slices((x, x[:, 0])), None, None, max_rows=10)
    with pytest.raises(ValueError, match=r"empty tf\.data\.Dataset"):
        prepare_data(
            tf.data.Dataset.from_tensor_slices((x, x)).batch(2).take(0), None, None, max_rows=10
        )


def test_reshuffling_dataset_is_detected():
    x = np.arange(64, dtype=np.float32).reshape(32, 2)
    reshuffled = tf.data.Dataset.from_tensor_slices((x, x)).shuffle(32, seed=0).batch(8)
    fixed = (
        tf.data.Dataset.from_tensor_slices((x, x))
        .shuffle(32, seed=0, reshuffle_each_iteration=False)
        .batch(8)
    )
    assert prepare_data(reshuffled, None, None, max_rows=100).reshuffles
    assert not prepare_data(fixed, None, None, max_rows=100).reshuffles
