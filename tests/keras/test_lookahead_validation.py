"""Bad input to ``sample_trajectories``: a clear error naming the parameter, raised before any
state changes (the optimizer of a fresh model is still unbuilt afterwards)."""

import keras
import numpy as np
import pytest

from lrstats.keras import sample_trajectories

GOOD = dict(lrs=[1e-3, 1e-2], replicates=2, steps=3, batch_size=16, seed=0, progress=False)


@pytest.fixture(scope="module")
def fresh_model(make_model):
    return make_model(optimizer="adam", seed=131)


@pytest.mark.parametrize(
    "change, error, message",
    [
        ({"steps": 0}, ValueError, r"`steps` must be an integer >= 1\. Received: steps=0"),
        ({"steps": 2.5}, TypeError, r"`steps` must be an integer"),
        ({"batch_size": 0}, ValueError, r"`batch_size` must be an integer >= 1"),
        ({"batch_size": 257}, ValueError, r"`batch_size` must be <= the number of training rows \(256\)"),
        ({"lrs": [1e-3, -1.0]}, ValueError, r"`lrs` must be finite and > 0"),
        ({"lrs": [1e-3, 1e-3]}, ValueError, r"`lrs` must not contain duplicates"),
        ({"replicates": 0}, ValueError, r"`replicates` must be an integer >= 1"),
        ({"replicates": range(3, 3)}, ValueError, r"`replicates` must not be an empty range"),
        ({"replicates": 2.0}, TypeError, r"`replicates` must be an integer >= 1 or a range"),
        ({"replicates": range(3, 0, -1)}, ValueError, r"`replicates` must be an ascending range"),
        ({"replicates": 10**9}, ValueError, r"`replicates` is too large: 1000000000 replicates x 2 lrs x 3 steps"),
        ({"lrs": [1e-3, True]}, TypeError, r"`lrs` must be real numbers, not booleans"),
        ({"eval_every": 0}, ValueError, r"`eval_every` must be an integer >= 1"),
        ({"validation_split": 1.0}, ValueError, r"`validation_split` must be a finite number in \[0, 1\)"),
        ({"validation_split": 0.001}, ValueError, r"`validation_split` must leave at least one row"),
        ({"seed": -1}, ValueError, r"`seed` must be None or an integer in \[0, 2\*\*128\)"),
        ({"progress": "yes"}, TypeError, r"`progress` must be True or False"),
        ({"chunk_size": 0}, ValueError, r"`chunk_size` must be an integer >= 1"),
        ({"validation_data": [1, 2, 3, 4]}, TypeError, r"`validation_data` must be a tuple"),
    ],
)  # fmt: skip
def test_bad_arguments(fresh_model, regression_data, change, error, message):
    with pytest.raises(error, match=message):
        sample_trajectories(fresh_model, *regression_data, **{**GOOD, **change})
    assert not fresh_model.optimizer.built  # nothing was touched


def test_validation_data_and_split_are_exclusive(fresh_model, regression_data):
    x, y = regression_data
    with pytest.raises(ValueError, match=r"`validation_split` must be 0 when `validation_data`"):
        sample_trajectories(
            fresh_model, x, y, validation_data=(x, y), validation_split=0.2, **GOOD
        )
    with pytest.raises(ValueError, match=r"`x` and `y` must have the same number of rows"):
        sample_trajectories(fresh_model, x, y, validation_data=(x, y[:10]), **GOOD)
    assert not fresh_model.optimizer.built


def test_models_it_cannot_match_are_refused(make_model, regression_data):
    # (An overridden train_step is no longer refused: the exact path runs it, checked against
    # train_on_batch in test_lookahead.py.)
    x, y = regression_data
    uncompiled = keras.Sequential([keras.Input((x.shape[1],)), keras.layers.Dense(1)])
    with pytest.raises(ValueError, match=r"`model` must be compiled"):
        sample_trajectories(uncompiled, x, y, **GOOD)
    with pytest.raises(TypeError, match=r"`model` must be a keras.Model"):
        sample_trajectories("model", x, y, **GOOD)
    with pytest.raises(ValueError, match=r"`x` must contain only finite values"):
        sample_trajectories(make_model(seed=133), np.full_like(x, np.nan), y, **GOOD)


def test_data_the_model_cannot_take_is_refused_up_front(fresh_model, regression_data):
    # the sampler's checks (lrstats.keras._plan), before anything changes
    x, y = regression_data
    with pytest.raises(ValueError, match=r"`y` must match the model's output: y has 3 columns"):
        sample_trajectories(fresh_model, x, np.repeat(y, 3, axis=1), **GOOD)
    with pytest.raises(ValueError, match=r"`y` must be given"):
        sample_trajectories(fresh_model, x, None, **GOOD)
    with pytest.raises(TypeError, match=r"`y` must hold numbers"):
        sample_trajectories(fresh_model, x, y.astype(str), **GOOD)
    assert not fresh_model.optimizer.built
