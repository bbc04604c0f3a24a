"""Input forms: numpy, pandas, dicts for multi-input/-output models, tf.data, sample weights,
losses given three ways, and stochastic layers seeded from ``seed``."""

import keras
import numpy as np
import pandas as pd
import pytest
import tensorflow as tf
from keras import ops
from sampler_reference import assert_deltas_close, reference_deltas

SEED = 4321
REPLICATES = 8
BATCH = 32
RTOL = 1e-5  # observed: <= 4e-7 of the loss magnitude (CPU, oneDNN)


def _run(sample_deltas, model, x, y=None, **kwargs):
    options = dict(
        lrs=np.geomspace(1e-3, 1.0, 7), replicates=REPLICATES, batch_size=BATCH, seed=SEED
    )
    options.update(kwargs)
    return sample_deltas(model, x, y, progress=False, **options)


def test_pandas_inputs_give_the_numpy_frame(sample_deltas, sgd_model, regression_data):
    x, y = regression_data
    expected = _run(sample_deltas, sgd_model, x, y)
    x_frame = pd.DataFrame(
        x, columns=[f"f{i}" for i in range(x.shape[1])], index=np.arange(1000, 1000 + len(x))
    )
    y_series = pd.Series(y[:, 0], index=x_frame.index, name="target")
    got = _run(sample_deltas, sgd_model, x_frame, y_series)
    pd.testing.assert_frame_equal(got, expected, check_exact=True)
    got = _run(sample_deltas, sgd_model, x_frame, pd.DataFrame(y, index=x_frame.index))
    pd.testing.assert_frame_equal(got, expected, check_exact=True)


def test_tf_data_dataset_gives_the_numpy_frame(sample_deltas, sgd_model, regression_data):
    x, y = regression_data
    expected = _run(sample_deltas, sgd_model, x, y)
    dataset = tf.data.Dataset.from_tensor_slices((x, y)).batch(50)  # last batch is short
    got = _run(sample_deltas, sgd_model, dataset)
    pd.testing.assert_frame_equal(got, expected, check_exact=True)
    assert got.attrs["n_rows"] == len(x)


def test_tf_data_dataset_is_cut_at_max_rows(sample_deltas, sgd_model, regression_data):
    x, y = regression_data
    expected = _run(sample_deltas, sgd_model, x[:120], y[:120])
    dataset = tf.data.Dataset.from_tensor_slices((x, y)).batch(50)
    got = _run(sample_deltas, sgd_model, dataset, max_rows=120)
    pd.testing.assert_frame_equal(got, expected, check_exact=True)
    assert got.attrs["n_rows"] == 120


def test_sample_weight_matches_reference(sample_deltas, sgd_model, regression_data):
    x, y = regression_data
    weights = np.random.default_rng(8).uniform(0.0, 3.0, size=len(x))
    got = _run(sample_deltas, sgd_model, x, y, sample_weight=weights)
    expected = reference_deltas(
        sgd_model,
        x,
        y,
        lrs=got["lr"].unique(),
        replicates=REPLICATES,
        batch_size=BATCH,
        seed=SEED,
        sample_weight=weights,
    )
    assert_deltas_close(got, expected, rtol=RTOL)
    unweighted = _run(sample_deltas, sgd_model, x, y)
    assert not np.allclose(got["post"], unweighted["post"], rtol=1e-3)


def test_sample_weight_from_dataset_equals_explicit_weights(
    sample_deltas, sgd_model, regression_data
):
    x, y = regression_data
    weights = np.random.default_rng(9).uniform(0.0, 3.0, size=len(x)).astype(np.float32)
    expected = _run(sample_deltas, sgd_model, x, y, sample_weight=weights)
    dataset = tf.data.Dataset.from_tensor_slices((x, y, weights)).batch(64)
    got = _run(sample_deltas, sgd_model, dataset)
    pd.testing.assert_frame_equal(got, expected, check_exact=True)


def _pseudo_huber(y_true, y_pred):
    error = y_pred - y_true
    return ops.mean(ops.sqrt(1.0 + ops.square(error)) - 1.0, axis=-1)


@pytest.mark.parametrize(
    "loss",
    ["mse", keras.losses.mean_squared_error, keras.losses.MeanSquaredError(), _pseudo_huber],
    ids=["string", "function", "loss-object", "custom-function"],
)
def test_loss_forms_match_reference(sample_deltas, make_model, regression_data, loss):
    x, y = regression_data
    model = make_model(optimizer="momentum", seed=31, loss=loss)
    got = _run(sample_deltas, model, x, y)
    expected = reference_deltas(
        model, x, y, lrs=got["lr"].unique(), replicates=REPLICATES, batch_size=BATCH, seed=SEED
    )
    assert_deltas_close(got, expected, rtol=RTOL)


def _two_input_model(seed):
    a = keras.Input((5,), name="a")
    b = keras.Input((3,), name="b")
    init = keras.initializers.GlorotUniform(seed=seed)
    hidden = keras.layers.Dense(16, activation="relu", kernel_initializer=init)(
        keras.layers.Concatenate()([a, b])
    )
    side = keras.layers.Dense(4, activation="tanh", kernel_initializer=init)(b)
    out = keras.layers.Dense(1, kernel_initializer=init)(
        keras.layers.Concatenate()([hidden, side])
    )
    model = keras.Model({"a": a, "b": b}, out)
    model.compile(keras.optimizers.Adam(1e-2), "mse")
    return model


def test_dict_inputs_for_a_two_input_model_match_reference(sample_deltas, regression_data):
    x, y = regression_data
    model = _two_input_model(41)
    inputs = {"a": x[:, :5], "b": x[:, 5:]}
    got = _run(sample_deltas, model, inputs, y)
    expected = reference_deltas(
        model,
        inputs,
        y,
        lrs=got["lr"].unique(),
        replicates=REPLICATES,
        batch_size=BATCH,
        seed=SEED,
    )
    assert_deltas_close(got, expected, rtol=RTOL)


def test_multi_output_model_matches_reference(sample_deltas, regression_data):
    x, y = regression_data
    inputs = keras.Input((x.shape[1],))
    init = keras.initializers.GlorotUniform(seed=43)
    hidden = keras.layers.Dense(16, activation="relu", kernel_initializer=init)(inputs)
    first = keras.layers.Dense(1, name="first", kernel_initializer=init)(hidden)
    second = keras.layers.Dense(1, name="second", kernel_initializer=init)(hidden)
    model = keras.Model(inputs, {"first": first, "second": second})
    model.compile(
        keras.optimizers.SGD(0.05, momentum=0.5),
        loss={"first": "mse", "second": "mae"},
        loss_weights={"first": 1.0, "second": 0.5},
    )
    targets = {"first": y, "second": np.tanh(y)}
    got = _run(sample_deltas, model, x, targets)
    expected = reference_deltas(
        model,
        x,
        targets,
        lrs=got["lr"].unique(),
        replicates=REPLICATES,
        batch_size=BATCH,
        seed=SEED,
    )
    assert_deltas_close(got, expected, rtol=RTOL)


@pytest.fixture(scope="module")
def dropout_model(make_model):
    return make_model(optimizer="sgd", seed=51, dropout=0.5)


@pytest.mark.parametrize("eval_mode", ["inference", "training"])
def test_dropout_is_reproducible_with_seed_and_differs_across_seeds(
    sample_deltas, dropout_model, regression_data, eval_mode
):
    x, y = regression_data
    first = _run(sample_deltas, dropout_model, x, y, eval_mode=eval_mode, seed=5)
    second = _run(sample_deltas, dropout_model, x, y, eval_mode=eval_mode, seed=5)
    pd.testing.assert_frame_equal(first, second, check_exact=True)
    other = _run(sample_deltas, dropout_model, x, y, eval_mode=eval_mode, seed=6)
    assert not np.allclose(first["post"], other["post"])


def test_dropout_acts_on_the_gradient_only_in_inference_mode(
    sample_deltas, dropout_model, make_model, regression_data
):
    # Same weights without the Dropout layer: pre (inference mode, same batch) must agree with the
    # no-dropout reference exactly, post must not (the gradient was taken with units dropped).
    x, y = regression_data
    plain = make_model(optimizer="sgd", seed=51)
    for a, b in zip(plain.weights, dropout_model.weights, strict=True):
        np.testing.assert_array_equal(a.numpy(), b.numpy())
    got = _run(sample_deltas, dropout_model, x, y, eval_mode="inference")
    expected = reference_deltas(
        plain, x, y, lrs=got["lr"].unique(), replicates=REPLICATES, batch_size=BATCH, seed=SEED
    )
    np.testing.assert_allclose(got["pre"], expected["pre"], rtol=1e-5)
    assert not np.allclose(got["post"], expected["post"], rtol=1e-3)


def test_target_rank_can_change_between_calls_on_one_model(
    sample_deltas, make_model, regression_data
):
    # A 1-D target (e.g. a pandas Series) after a 2-D one on the same model: both are valid
    # Keras targets for a (n, 1) output, and each call must give the frame of a fresh model.
    x, y = regression_data
    model = make_model(optimizer="sgd", seed=0)
    flat = _run(sample_deltas, make_model(optimizer="sgd", seed=0), x, y[:, 0])
    column = _run(sample_deltas, model, x, y)
    again = _run(sample_deltas, model, x, y[:, 0])
    pd.testing.assert_frame_equal(again, flat, check_exact=True)
    assert_deltas_close(column, flat, rtol=1e-6)
