"""Direct tests of ``lrstats.keras._state``: bit-exact snapshots and the settable learning rate."""

import keras
import numpy as np
from sampler_reference import assert_same_state, snapshot

from lrstats.keras._state import StateSnapshot, settable_learning_rate


def _step(model, x, y):
    model.train_on_batch(x, y)


def test_restore_puts_back_every_variable_bit_for_bit(make_model, regression_data):
    x, y = regression_data
    model = make_model(optimizer="adam", seed=3, batchnorm=True)
    model.train_on_batch(x[:32], y[:32])  # slots, iterations and BN statistics non-trivial
    before = snapshot(model)
    state = StateSnapshot(model)
    for _ in range(2):
        _step(model, x[32:64], y[32:64])
    assert not all(np.array_equal(a, b) for a, b in zip(before, snapshot(model), strict=True))
    state.restore()
    assert_same_state(before, snapshot(model))
    state.restore()  # idempotent, and a no-op on an untouched model
    assert_same_state(before, snapshot(model))


def test_restore_keeps_nan_payloads(make_model):
    model = make_model(optimizer="sgd", seed=4)
    kernel = model.trainable_variables[0]
    value = kernel.numpy()
    value[0, 0] = np.nan
    kernel.assign(value)
    state = StateSnapshot(model)
    kernel.assign(np.zeros_like(value))
    state.restore()
    assert np.isnan(kernel.numpy()[0, 0])
    np.testing.assert_array_equal(kernel.numpy()[1:], value[1:])


def test_settable_learning_rate_is_the_lr_variable(make_model):
    model = make_model(optimizer="momentum", seed=5)
    with settable_learning_rate(model.optimizer) as rate:
        assert rate is model.optimizer._learning_rate
        rate.assign(0.5)
        assert float(model.optimizer.learning_rate) == 0.5


def test_a_schedule_is_replaced_for_the_duration_only(make_model, regression_data):
    x, y = regression_data
    model = make_model(optimizer="schedule", seed=6)
    schedule = model.optimizer._learning_rate
    n_variables = len(model.optimizer.variables)
    with settable_learning_rate(model.optimizer) as rate:
        rate.assign(0.125)
        assert float(model.optimizer.learning_rate) == 0.125
        assert len(model.optimizer.variables) == n_variables  # the stand-in is not tracked
    assert model.optimizer._learning_rate is schedule


def test_loss_scale_optimizer_sets_the_inner_rate():
    optimizer = keras.optimizers.LossScaleOptimizer(keras.optimizers.SGD(0.01))
    with settable_learning_rate(optimizer) as rate:
        rate.assign(0.25)
        assert float(optimizer.learning_rate) == 0.25  # what the step uses
    assert float(optimizer.inner_optimizer.learning_rate) == 0.25
