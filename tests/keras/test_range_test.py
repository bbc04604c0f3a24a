"""LR range test on real Keras steps: per-batch losses, the grid, replicates, exact restoration."""

from __future__ import annotations

import numpy as np
import pytest

from lrstats._streams import seed_sequence
from lrstats.grid import log_grid
from lrstats.inference.range_test import smooth_losses
from lrstats.keras._range_test import LRRangeTest, lr_grid, range_test
from tests.keras.conftest import build_mlp, keras, tf, warm_up


def _state(model):
    """Every variable of the model and its optimizer, as numpy copies, with the lr object."""
    variables = list(model.variables) + list(model.optimizer.variables)
    return [np.array(v.numpy(), copy=True) for v in variables], model.optimizer._learning_rate


def _assert_same_state(model, before):
    values, lr_object = before
    after, lr_after = _state(model)
    assert len(after) == len(values)
    for a, b in zip(after, values, strict=True):
        assert a.tobytes() == b.tobytes()
    assert lr_after is lr_object


def test_each_recorded_loss_is_the_loss_train_on_batch_reports_at_that_lr(regression_data):
    x, y = regression_data
    model = build_mlp(seed=3, optimizer="momentum")
    warm_up(model, x, y)
    result = range_test(
        model,
        x,
        y,
        start_lr=1e-3,
        end_lr=0.3,
        num_steps=6,
        batch_size=32,
        seed=11,
        diverge_factor=1e6,
        n_resamples=9,
    )
    frame = result.frame
    # the same rows, from the documented stream of replicate 0
    order = np.random.default_rng(seed_sequence(11, "range_test", 0)).permutation(x.shape[0])
    # the range test left the model as it was, so real steps replay it
    for step in range(6):
        rows = order[step * 32 : (step + 1) * 32]
        model.optimizer.learning_rate.assign(frame["lr"].iloc[step])
        reported = model.train_on_batch(x[rows], y[rows], return_dict=True)["loss"]
        assert frame["loss"].iloc[step] == pytest.approx(float(reported), rel=1e-6, abs=0)
    # and the per-batch loss is not Keras' running mean (which lags it)
    running = np.cumsum(frame["loss"]) / np.arange(1, 7)
    assert not np.allclose(frame["loss"].to_numpy()[1:], running[1:], rtol=1e-3)


def test_the_lr_at_step_i_is_the_ith_grid_point_and_smoothing_is_bias_corrected(regression_data):
    x, y = regression_data
    model = build_mlp(seed=0, optimizer="sgd")
    result = range_test(
        model,
        x,
        y,
        start_lr=1e-4,
        end_lr=1e-1,
        num_steps=8,
        mode="linear",
        seed=0,
        smoothing=0.9,
        diverge_factor=1e6,
        n_resamples=9,
    )
    frame = result.frame
    np.testing.assert_array_equal(frame["lr"], np.linspace(1e-4, 1e-1, 8))
    loss = frame["loss"].to_numpy()
    assert frame["smoothed_loss"].iloc[0] == pytest.approx(loss[0], rel=1e-12)
    expected = (0.9 * 0.1 * loss[0] + 0.1 * loss[1]) / (1 - 0.9**2)
    assert frame["smoothed_loss"].iloc[1] == pytest.approx(expected, rel=1e-12)
    # the callback's running EMA is the inference layer's formula
    np.testing.assert_allclose(frame["smoothed_loss"], smooth_losses(loss, 0.9), rtol=1e-14)
    # the exponential grid is the sampler's log grid, ends exact
    grid = lr_grid(1e-7, 10, 100)
    np.testing.assert_array_equal(grid, log_grid(1e-7, 10, 100))
    assert (grid[0], grid[-1]) == (1e-7, 10.0)
    np.testing.assert_allclose(grid, np.geomspace(1e-7, 10, 100), rtol=1e-14)


@pytest.mark.parametrize("optimizer", ["momentum", "adam", "schedule"])
def test_weights_and_every_optimizer_variable_are_restored_exactly(regression_data, optimizer):
    x, y = regression_data
    model = build_mlp(seed=1, optimizer=optimizer)
    warm_up(model, x, y)
    model.fit(x[:32], y[:32], batch_size=32, epochs=1, shuffle=False, verbose=0)
    train_function = model.train_function
    before = _state(model)
    result = range_test(
        model,
        x,
        y,
        start_lr=1e-4,
        end_lr=1.0,
        num_steps=12,
        replicates=2,
        seed=5,
        n_resamples=9,
    )
    assert result.frame["replicate"].nunique() == 2
    _assert_same_state(model, before)
    assert model.train_function is train_function
    # and training continues as if nothing happened (the schedule is back in place)
    model.fit(x[:64], y[:64], batch_size=32, epochs=1, verbose=0)


def test_state_is_restored_after_keyboard_interrupt(regression_data, monkeypatch):
    x, y = regression_data
    model = build_mlp(seed=2, optimizer="momentum")
    warm_up(model, x, y)
    before = _state(model)
    original = LRRangeTest.on_train_batch_end

    def interrupt(self, batch, logs=None):
        original(self, batch, logs)
        if self._step == 3:
            raise KeyboardInterrupt

    monkeypatch.setattr(LRRangeTest, "on_train_batch_end", interrupt)
    with pytest.raises(KeyboardInterrupt):
        range_test(model, x, y, start_lr=1e-3, end_lr=1.0, num_steps=10, seed=0)
    _assert_same_state(model, before)


def test_replicates_start_from_the_same_state_and_are_reproducible(regression_data):
    x, y = regression_data
    model = build_mlp(seed=4, optimizer="sgd")
    kwargs = dict(start_lr=1e-4, end_lr=0.1, num_steps=8, replicates=3, n_resamples=9)
    first = range_test(model, x, y, seed=7, **kwargs).frame
    again = range_test(model, x, y, seed=7, **kwargs).frame
    np.testing.assert_array_equal(first.to_numpy(), again.to_numpy())
    losses = first.pivot(index="step", columns="replicate", values="loss")
    # same starting weights, different first batches: different losses from step 0 on
    assert losses.iloc[0].nunique() == 3


def test_divergence_stops_the_test_and_is_kept_as_data(regression_data):
    x, y = regression_data
    model = build_mlp(seed=0, optimizer="sgd")
    result = range_test(
        model, x, y, start_lr=1e-3, end_lr=1e4, num_steps=60, seed=0, n_resamples=9
    )
    frame = result.frame
    assert frame.shape[0] < 60
    last = frame["smoothed_loss"].iloc[-1]
    best = frame["smoothed_loss"].iloc[:-1].min()
    assert not np.isfinite(last) or last > 4.0 * best
    assert frame.attrs["stopped_at"] == [int(frame["step"].iloc[-1])]


def test_callback_in_a_plain_fit_records_and_restores(regression_data):
    x, y = regression_data
    model = build_mlp(seed=5, optimizer="momentum")
    before = _state(model)
    finder = LRRangeTest(1e-4, 0.1, num_steps=5, diverge_factor=1e6)
    model.fit(x, y, batch_size=32, epochs=1, shuffle=False, verbose=0, callbacks=[finder])
    frame = finder.to_frame()
    assert frame.shape[0] == 5
    # the same callback object can run again (a second fit records afresh)
    model.fit(x, y, batch_size=32, epochs=1, shuffle=False, verbose=0, callbacks=[finder])
    np.testing.assert_array_equal(finder.to_frame()["loss"], frame["loss"])
    np.testing.assert_array_equal(frame["lr"], log_grid(1e-4, 0.1, 5))
    # optimizer slots were created (zeros) before the snapshot: compare values, slots included
    values, _ = _state(model)
    built = [np.array(v.numpy(), copy=True) for v in model.variables]
    np.testing.assert_array_equal(built[0], before[0][0])
    assert all(np.all(v == 0) for v in values[len(built) + 2 :])


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"num_steps": 1}, r"`num_steps` must be an integer >= 2\. Received: num_steps=1"),
        ({"start_lr": 1.0, "end_lr": 0.1}, r"`start_lr` must be < `end_lr`. Received: start_lr=1"),
        ({"start_lr": 0.0}, r"`start_lr` must be a finite number in \(0, inf\)"),
        ({"start_lr": -1e-3}, r"`start_lr` must be a finite number in \(0, inf\)"),
        ({"smoothing": 1.0}, r"`smoothing` must be a finite number in \[0, 1\)"),
        ({"smoothing": -0.1}, r"`smoothing` must be a finite number in \[0, 1\)"),
        ({"mode": "cosine"}, r"`mode` must be one of 'exp', 'linear'. Received: mode='cosine'"),
        ({"diverge_factor": 1.0}, r"`diverge_factor` must be a finite number in \(1, inf\)"),
        ({"replicates": 0}, r"`replicates` must be an integer >= 1"),
    ],
)
def test_bad_input_raises_before_anything_changes(regression_data, sgd_model, kwargs, match):
    x, y = regression_data
    before = _state(sgd_model)
    with pytest.raises(ValueError, match=match):
        range_test(sgd_model, x, y, **kwargs)
    _assert_same_state(sgd_model, before)


def test_bad_model_is_a_type_error(regression_data):
    x, y = regression_data
    with pytest.raises(TypeError, match=r"`model` must be a keras.Model. Received: model of type"):
        range_test("model", x, y)
    uncompiled = keras.Sequential([keras.Input((8,)), keras.layers.Dense(1)])
    with pytest.raises(ValueError, match=r"`model` must be compiled"):
        range_test(uncompiled, x, y)


def test_tf_data_and_sample_weight_inputs_give_the_array_results(regression_data):
    x, y = regression_data
    model = build_mlp(seed=6, optimizer="sgd")
    kwargs = dict(start_lr=1e-3, end_lr=0.1, num_steps=4, batch_size=32, seed=1, n_resamples=9)
    # a dataset contributes its first num_steps * batch_size rows, shuffled like arrays
    dataset = tf.data.Dataset.from_tensor_slices((x, y)).batch(64)
    from_dataset = range_test(model, dataset, **kwargs).frame
    from_arrays = range_test(model, x[:128], y[:128], **kwargs).frame
    np.testing.assert_array_equal(from_arrays["loss"], from_dataset["loss"])
    # weights 2 double the first loss (same weights, same batch) as train_on_batch does
    weighted = range_test(model, x[:128], y[:128], sample_weight=np.full(128, 2.0), **kwargs)
    assert weighted.frame["loss"].iloc[0] == pytest.approx(2 * from_arrays["loss"].iloc[0])


def test_steps_per_execution_and_schedule_in_a_plain_fit_are_refused(regression_data):
    x, y = regression_data
    model = build_mlp(seed=0, optimizer="sgd")
    model.compile(keras.optimizers.SGD(0.01), "mse", steps_per_execution=2)
    with pytest.raises(ValueError, match=r"steps_per_execution=1 .* Received: steps_per_exec"):
        range_test(model, x, y)
    scheduled = build_mlp(seed=0, optimizer="schedule")
    with pytest.raises(TypeError, match=r"`LRRangeTest` in a plain fit needs an optimizer"):
        scheduled.fit(x, y, epochs=1, verbose=0, callbacks=[LRRangeTest(num_steps=3)])
