"""Keras schedules and the momentum callback against the numpy formulas and real steps."""

from __future__ import annotations

import numpy as np
import pytest

from lrstats.keras.schedules import (
    CycleMomentum,
    OneCycle,
    cosine_restarts_from_selection,
    one_cycle_from_range_test,
    one_cycle_from_selection,
    time_based_decay_schedule,
)
from lrstats.schedules import one_cycle, one_cycle_momentum, time_based_decay
from tests.keras.conftest import build_mlp, keras, tf


@pytest.mark.parametrize("anneal", ["linear", "cos"])
def test_one_cycle_matches_the_numpy_formula(anneal):
    kwargs = dict(
        total_steps=200,
        pct_start=0.3,
        div_factor=20.0,
        final_div_factor=1e3,
        annihilation_pct=0.15,
        anneal=anneal,
    )
    schedule = OneCycle(0.5, **kwargs)
    steps = np.arange(0, 230)
    got = keras.ops.convert_to_numpy(schedule(steps))
    # float32: a few ulps of the peak (the annealing phase subtracts numbers near η0)
    expected = one_cycle(steps, max_lr=0.5, **kwargs)
    np.testing.assert_allclose(got, expected, rtol=2e-6, atol=4 * np.finfo(np.float32).eps * 0.5)


def test_config_round_trip_and_saved_model(tmp_path, regression_data):
    schedule = OneCycle(0.05, 40, pct_start=0.4, anneal="cos", final_div_factor=100.0)
    clone = OneCycle.from_config(schedule.get_config())
    assert clone.get_config() == schedule.get_config()
    x, y = regression_data
    model = build_mlp(seed=0)
    model.compile(keras.optimizers.SGD(schedule, momentum=0.9), "mse")
    model.fit(x[:64], y[:64], batch_size=32, epochs=1, verbose=0)
    path = tmp_path / "model.keras"
    model.save(path)
    loaded = keras.saving.load_model(path)
    restored = loaded.optimizer._learning_rate
    assert isinstance(restored, OneCycle)
    assert restored.get_config() == schedule.get_config()
    assert float(loaded.optimizer.learning_rate) == pytest.approx(float(schedule(2)), rel=1e-6)


@pytest.mark.parametrize("optimizer", ["momentum", "adam"])
def test_cycle_momentum_sets_the_value_the_step_uses(regression_data, optimizer):
    x, y = regression_data
    model = build_mlp(seed=1, optimizer=optimizer)
    callback = CycleMomentum(total_steps=8, max_momentum=0.95, min_momentum=0.6)
    name = "beta_1" if optimizer == "adam" else "momentum"
    original = getattr(model.optimizer, name)
    model.fit(
        x[:128], y[:128], batch_size=32, epochs=2, shuffle=False, verbose=0, callbacks=[callback]
    )
    np.testing.assert_allclose(
        callback.history,
        one_cycle_momentum(np.arange(8), total_steps=8, min_momentum=0.6),
        rtol=1e-12,
    )
    assert getattr(model.optimizer, name) == original and isinstance(original, float)
    # the step really used the cycled value: replay with plain optimizers at fixed values
    reference = build_mlp(seed=1, optimizer=optimizer)
    for step, value in enumerate(callback.history):  # eager steps: no retracing
        setattr(reference.optimizer, name, value)
        rows = slice(32 * (step % 4), 32 * (step % 4 + 1))
        with tf.GradientTape() as tape:
            y_pred = reference(x[rows], training=True)
            loss = reference.compute_loss(x=x[rows], y=y[rows], y_pred=y_pred, training=True)
        gradients = tape.gradient(loss, reference.trainable_variables)
        reference.optimizer.apply_gradients(
            zip(gradients, reference.trainable_variables, strict=True)
        )
    for a, b in zip(model.trainable_variables, reference.trainable_variables, strict=True):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-5, atol=1e-7)
    setattr(reference.optimizer, name, original)


class _Selection:
    def __init__(self, lr, ci_low, ci_high):
        self.lr, self.ci_low, self.ci_high = lr, ci_low, ci_high


class _RangeTest:
    def suggestion(self, name):
        return {"valley": 3e-2}[name]


def test_builders():
    schedule = one_cycle_from_range_test(_RangeTest(), 100)
    assert schedule.max_lr == 3e-2 and schedule.div_factor == 25.0
    schedule = one_cycle_from_selection(_Selection(0.1, 0.02, 0.2), 100)
    assert schedule.max_lr == 0.1 and schedule.div_factor == pytest.approx(5.0)
    assert float(schedule(0)) == pytest.approx(0.02)
    restarts = cosine_restarts_from_selection(_Selection(0.1, 0.02, 0.2), 10)
    values = keras.ops.convert_to_numpy(restarts(np.array([0, 5, 10, 30])))
    # starts at the lr, decays towards alpha·lr = ci_low, restarts at step 10 (t_mul = 2)
    np.testing.assert_allclose(values, [0.1, 0.02 + 0.08 * 0.5, 0.1, 0.1], rtol=1e-6)
    decay = time_based_decay_schedule(0.2, 0.5)
    np.testing.assert_allclose(
        keras.ops.convert_to_numpy(decay(np.array([0, 1, 3, 99]))),
        time_based_decay([0, 1, 3, 99], initial_lr=0.2, decay=0.5),
        rtol=1e-6,
    )
    with pytest.raises(ValueError, match=r"`selection.lr` must be a finite lr > 0. Received"):
        one_cycle_from_selection(_Selection(float("nan"), 0.1, 0.2), 100)


def test_bad_schedule_and_callback_arguments(regression_data):
    with pytest.raises(ValueError, match=r"`pct_start` must be a finite number in \(0, 1\)"):
        OneCycle(0.1, 100, pct_start=1.5)
    with pytest.raises(ValueError, match=r"`attribute` must be one of"):
        CycleMomentum(10, attribute="beta_2x")
    x, y = regression_data
    model = build_mlp(seed=0, optimizer="sgd")  # momentum 0
    before = [v.numpy().copy() for v in model.variables]
    with pytest.raises(ValueError, match=r"`CycleMomentum` needs SGD built with momentum > 0"):
        model.fit(x[:32], y[:32], verbose=0, callbacks=[CycleMomentum(10)])
    for a, b in zip(model.variables, before, strict=True):
        np.testing.assert_array_equal(a.numpy(), b)
