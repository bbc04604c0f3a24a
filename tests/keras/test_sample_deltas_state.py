"""State: every model, optimizer and metric variable is bit-identical after the call (success,
error mid-run, KeyboardInterrupt mid-run), including the learning rate and the iteration count."""

import keras
import numpy as np
import pytest
from sampler_reference import assert_same_state, snapshot

import lrstats.keras._sampler as sampler_module
import lrstats.keras._verify as verify_module

LRS = np.geomspace(1e-3, 1.0, 7)
# chunk_size=2 with 6 replicates: three chunks, so "after the first chunk" is mid-run
RUN = dict(lrs=LRS, replicates=6, batch_size=16, seed=5, chunk_size=2, progress=False)


class Boom(RuntimeError):
    pass


@pytest.fixture(scope="module", params=["momentum", "adam", "squared"])
def warm_model(request, make_warm_model):
    # "squared" (lr**2, not affine) exercises the exact path's real steps; the others the batched
    # one. Module-scoped: each test compares the state before and after its own call.
    return make_warm_model(request.param, seed=81, batchnorm=request.param == "momentum")


@pytest.fixture(scope="module", params=["momentum", "squared"])
def unchecked_model(request, make_warm_model):
    # A model the sampler has never seen: the first call checks its batched optimizer clone with
    # real steps on the live model (the sampler caches that check per model afterwards; a call
    # that fails inside the check leaves it unchecked, so both parametrizations of the test
    # below fail at a real step).
    return make_warm_model(request.param, seed=89)


def test_state_is_identical_after_success(sample_deltas, warm_model, regression_data):
    x, y = regression_data
    before = snapshot(warm_model)
    lr_before = warm_model.optimizer.learning_rate
    iterations_before = int(warm_model.optimizer.iterations.numpy())
    assert iterations_before == 3  # precondition: a non-fresh optimizer
    frame = sample_deltas(warm_model, x, y, **RUN)
    assert len(frame) == 6 * 7
    assert_same_state(before, snapshot(warm_model))
    # the learning rate is still the same variable with the same value, iterations unchanged
    assert warm_model.optimizer.learning_rate is lr_before
    assert int(warm_model.optimizer.iterations.numpy()) == iterations_before


def _count_draws(monkeypatch, *, fail_with=None):
    """Count ``_sampler.replicate_draws`` calls (one per replicate of a chunk, padded).

    With ``fail_with``, raise it as soon as the second chunk starts drawing its subsamples.
    """
    real_draws = sampler_module.replicate_draws
    calls = {"draws": 0}

    def counting_draws(*args, **kwargs):
        calls["draws"] += 1
        if fail_with is not None and calls["draws"] > RUN["chunk_size"]:
            raise fail_with
        return real_draws(*args, **kwargs)

    monkeypatch.setattr(sampler_module, "replicate_draws", counting_draws)
    return calls


@pytest.mark.parametrize(
    "error", [Boom("mid-run failure"), KeyboardInterrupt()], ids=["error", "interrupt"]
)
def test_state_is_identical_after_a_failure_between_chunks(
    sample_deltas, warm_model, regression_data, monkeypatch, error
):
    x, y = regression_data
    before = snapshot(warm_model)
    calls = _count_draws(monkeypatch, fail_with=error)
    with pytest.raises(type(error)):
        sample_deltas(warm_model, x, y, **RUN)
    assert calls["draws"] == RUN["chunk_size"] + 1
    assert_same_state(before, snapshot(warm_model))


@pytest.mark.parametrize(
    "error", [Boom("failure after a real step"), KeyboardInterrupt()], ids=["error", "interrupt"]
)
def test_state_is_identical_after_a_failure_right_after_the_first_real_step(
    sample_deltas, unchecked_model, regression_data, monkeypatch, error
):
    # Real optimizer steps on the live model (the check of the batched clone against the real
    # optimizer, or the exact path) are the moments the state is dirty; fail right after the
    # first one.
    x, y = regression_data
    warm_model = unchecked_model
    before = snapshot(warm_model)
    original = verify_module._real_step
    failed = {"state moved": None}

    def step_then_fail(model_, lr_variable, grads_one, lr):
        original(model_, lr_variable, grads_one, lr)
        moved = snapshot(model_)
        failed["state moved"] = not all(
            np.array_equal(a, b) for a, b in zip(before, moved, strict=True)
        )
        raise error

    monkeypatch.setattr(verify_module, "_real_step", step_then_fail)
    with pytest.raises(type(error)):
        sample_deltas(warm_model, x, y, **RUN)
    assert failed["state moved"] is True
    assert_same_state(before, snapshot(warm_model))


@pytest.mark.parametrize(
    "error", [Boom("failure after a real step"), KeyboardInterrupt()], ids=["error", "interrupt"]
)
def test_state_is_identical_after_a_failure_right_after_a_real_step(
    sample_deltas, make_warm_model, regression_data, monkeypatch, error
):
    # The exact path applies real optimizer steps to the live model; fail just after one, in the
    # second chunk, when weights, slots and iterations have all moved.
    x, y = regression_data
    model = make_warm_model("squared", seed=83)
    before = snapshot(model)
    calls = _count_draws(monkeypatch)
    original = verify_module._real_step
    failed = {"state moved": None}

    def step_then_fail(model_, lr_variable, grads_one, lr):
        weights = original(model_, lr_variable, grads_one, lr)
        if calls["draws"] > RUN["chunk_size"]:  # the second chunk is under way
            moved = snapshot(model_)
            failed["state moved"] = not all(
                np.array_equal(a, b) for a, b in zip(before, moved, strict=True)
            )
            raise error
        return weights

    monkeypatch.setattr(verify_module, "_real_step", step_then_fail)
    with pytest.raises(type(error)):
        sample_deltas(model, x, y, **RUN)
    assert failed["state moved"] is True  # the failure happened with the live state changed
    assert_same_state(before, snapshot(model))


def test_unbuilt_optimizer_is_built_and_otherwise_fresh(
    sample_deltas, make_model, regression_data
):
    x, y = regression_data
    model = make_model(optimizer="adam", seed=85)
    twin = make_model(optimizer="adam", seed=85)
    assert not model.optimizer.built
    model_before = [v.numpy().copy() for v in model.variables]
    sample_deltas(model, x, y, **RUN)
    assert model.optimizer.built
    twin.optimizer.build(twin.trainable_variables)
    # weights untouched; optimizer variables exactly those of a freshly built twin
    assert_same_state(model_before, [v.numpy() for v in model.variables])
    assert_same_state(
        [v.numpy() for v in twin.optimizer.variables],
        [v.numpy() for v in model.optimizer.variables],
    )
    assert int(model.optimizer.iterations.numpy()) == 0


def test_learning_rate_schedule_is_left_in_place(sample_deltas, make_warm_model, regression_data):
    x, y = regression_data
    model = make_warm_model("schedule", seed=87)
    schedule = model.optimizer._learning_rate
    assert isinstance(schedule, keras.optimizers.schedules.LearningRateSchedule)
    before = snapshot(model)
    config_before = model.optimizer.get_config()
    lr_before = float(model.optimizer.learning_rate)
    frame = sample_deltas(model, x, y, **RUN)
    assert np.isfinite(frame["post"]).all()
    assert_same_state(before, snapshot(model))
    assert model.optimizer._learning_rate is schedule
    assert model.optimizer.get_config() == config_before
    assert float(model.optimizer.learning_rate) == lr_before
