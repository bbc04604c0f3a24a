"""State: after ``sample_trajectories`` every model, optimizer and metric variable is bit-identical
to before — after success, and after an error or a KeyboardInterrupt in the middle of the run
while the live model has been stepped (the check of the batched path, and the exact path)."""

import keras
import numpy as np
import pytest
from sampler_reference import assert_same_state, snapshot

import lrstats.keras.lookahead as lookahead_module
from lrstats.keras import sample_trajectories

RUN = dict(
    lrs=[1e-3, 1e-2, 1e-1], steps=4, batch_size=32, seed=5, validation_split=0.25, progress=False
)


class Boom(RuntimeError):
    pass


def _clipped(make_model, seed):
    """A model whose optimizer takes the exact path (real steps on the live model)."""
    model = make_model(seed=seed)
    model.compile(optimizer=keras.optimizers.Adam(1e-3, clipnorm=1.0), loss="mse")
    return model


@pytest.mark.parametrize("optimizer", ["momentum", "adam"])
def test_state_is_identical_after_success(make_warm_model, regression_data, optimizer):
    model = make_warm_model(optimizer, seed=111, batchnorm=optimizer == "momentum")
    before = snapshot(model)
    lr_variable = model.optimizer.learning_rate
    sample_trajectories(model, *regression_data, replicates=2, **RUN)
    assert_same_state(before, snapshot(model))
    assert model.optimizer.learning_rate is lr_variable
    assert int(model.optimizer.iterations.numpy()) == 3


@pytest.mark.parametrize(
    "error", [Boom("failure after a real step"), KeyboardInterrupt()], ids=["error", "interrupt"]
)
@pytest.mark.parametrize("path", ["batched", "exact"])
def test_state_is_identical_after_a_failure_right_after_a_real_step(
    make_warm_model, make_model, regression_data, monkeypatch, error, path
):
    # The batched path steps the live model only while it checks the clone against real steps
    # (a model it has not seen); the exact path does nothing else. Fail right after one.
    model = make_warm_model("adam", seed=113) if path == "batched" else _clipped(make_model, 115)
    model.optimizer.build(model.trainable_variables)
    before = snapshot(model)
    original = lookahead_module.real_step
    seen = {"state moved": None}

    def step_then_fail(model_, *args):
        original(model_, *args)
        seen["state moved"] = not all(
            np.array_equal(a, b) for a, b in zip(before, snapshot(model_), strict=True)
        )
        raise error

    monkeypatch.setattr(lookahead_module, "real_step", step_then_fail)
    if path == "exact":  # the exact path steps eagerly when it is not compiled
        monkeypatch.setattr(lookahead_module.tf, "function", lambda f, **kwargs: f)
    with pytest.raises(type(error)):
        sample_trajectories(model, *regression_data, replicates=2, **RUN)
    assert seen["state moved"] is True  # the failure came with the live state changed
    assert_same_state(before, snapshot(model))


@pytest.mark.parametrize(
    "error", [Boom("failure between members"), KeyboardInterrupt()], ids=["error", "interrupt"]
)
def test_state_is_identical_after_a_failure_between_members(
    make_model, regression_data, monkeypatch, error
):
    # On the exact path the first member has trained (compiled steps) when the progress bar
    # is updated; fail there, before the state is restored for the next member.
    model = _clipped(make_model, 117)
    model.optimizer.build(model.trainable_variables)
    before = snapshot(model)
    real_bar = lookahead_module.progress_bar
    seen = {"state moved": None}

    class FailingBar:
        def __init__(self, bar):
            self.bar = bar

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return self.bar.__exit__(*exc)

        def update(self, n):
            seen["state moved"] = not all(
                np.array_equal(a, b) for a, b in zip(before, snapshot(model), strict=True)
            )
            raise error

    monkeypatch.setattr(
        lookahead_module,
        "progress_bar",
        lambda *a, **k: FailingBar(real_bar(*a, **k).__enter__()),
    )
    with pytest.raises(type(error)):
        sample_trajectories(model, *regression_data, replicates=2, **RUN)
    assert seen["state moved"] is True
    assert_same_state(before, snapshot(model))


def test_unbuilt_optimizer_is_built_and_otherwise_fresh(make_model, regression_data):
    model = make_model(optimizer="adam", seed=119)
    twin = make_model(optimizer="adam", seed=119)
    weights_before = [v.numpy().copy() for v in model.variables]
    sample_trajectories(model, *regression_data, replicates=1, **RUN)
    assert model.optimizer.built
    twin.optimizer.build(twin.trainable_variables)
    assert_same_state(weights_before, [v.numpy() for v in model.variables])
    assert_same_state(
        [v.numpy() for v in twin.optimizer.variables],
        [v.numpy() for v in model.optimizer.variables],
    )


def test_learning_rate_schedule_is_replaced_by_each_lr_and_put_back(
    make_warm_model, regression_data
):
    model = make_warm_model("schedule", seed=121)
    schedule = model.optimizer._learning_rate
    before = snapshot(model)
    frame = sample_trajectories(model, *regression_data, replicates=1, **RUN)
    assert frame.attrs["path"] == "batched"
    assert np.isfinite(frame["loss"]).all()
    assert_same_state(before, snapshot(model))
    assert model.optimizer._learning_rate is schedule
