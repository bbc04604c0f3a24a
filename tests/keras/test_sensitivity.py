"""lrstats.keras.sensitivity: frame, seeding against Keras' own steps, factors, bad input."""

from __future__ import annotations

import functools
import json

import keras
import numpy as np
import pandas as pd
import pytest
from sweep_models import N_ROWS, build_dropout_mlp, build_mlp, sweep_data

from lrstats.io import load_results, save_results
from lrstats.keras import sensitivity
from lrstats.keras._sensitivity import _run_seeds

LRS = [0.01, 0.05]


@pytest.fixture(scope="module")
def data():
    return sweep_data()


@pytest.fixture(scope="module")
def sweep(data):
    x, y, validation = data
    return sensitivity(
        build_mlp,
        x,
        y,
        lrs=LRS[::-1],
        seeds=[3, 1],
        epochs=2,
        batch_size=16,
        validation_data=validation,
        progress=False,
    )


def test_frame_is_tidy_sorted_and_typed(sweep):
    assert list(sweep.columns) == [
        "lr",
        "replicate",
        "epoch",
        "loss",
        "val_loss",
        "mae",
        "val_mae",
    ]
    assert len(sweep) == 2 * 2 * 2
    assert sweep["lr"].tolist() == [0.01] * 4 + [0.05] * 4
    assert sweep["replicate"].tolist() == [1, 1, 3, 3] * 2
    assert sweep["epoch"].tolist() == [1, 2] * 4
    assert sweep.dtypes["replicate"] == np.int64 and sweep.dtypes["epoch"] == np.int64
    assert (sweep.dtypes[["lr", "loss", "val_loss", "mae", "val_mae"]] == np.float64).all()
    assert np.isfinite(sweep[["loss", "val_loss"]].to_numpy()).all()


def test_provenance_is_json_able_and_survives_a_bundle(sweep, tmp_path):
    attrs = sweep.attrs
    assert attrs["lrs"] == LRS and attrs["seeds"] == [1, 3]
    assert attrs["epochs"] == 2 and attrs["batch_size"] == 16 and attrs["factors"] == {}
    assert attrs["optimizer"] == "SGD" and attrs["n_parameters"] == 4 * 8 + 8 + 8 + 1
    json.dumps(attrs)  # plain JSON, no numpy types
    loaded = load_results(save_results(sweep, tmp_path / "sweep.parquet"))
    pd.testing.assert_frame_equal(loaded, sweep)
    assert loaded.attrs == sweep.attrs


def _reference_run(x, y, validation, lr, seed, epochs, batch_size):
    """The same run by hand: Keras' own train_on_batch over the run's permutations."""
    keras_seed, order = _run_seeds(seed)
    keras.utils.set_random_seed(keras_seed)
    model = build_mlp(lr, seed)
    rows = []
    for epoch in range(epochs):
        permutation = order.permutation(len(x))
        batch_losses = []
        for start in range(0, len(x), batch_size):
            batch = permutation[start : start + batch_size]
            model.reset_metrics()
            logs = model.train_on_batch(x[batch], y[batch], return_dict=True)
            batch_losses.append(logs["loss"])
        val = model.evaluate(*validation, batch_size=batch_size, verbose=0, return_dict=True)
        rows.append((epoch + 1, np.mean(batch_losses), val["loss"]))
    return rows


def test_every_number_equals_keras_own_training_steps(sweep, data):
    # 64 rows in batches of 16: the epoch's running-mean loss is the mean of 4 batch losses.
    x, y, validation = data
    for lr in LRS:
        for seed in (1, 3):
            expected = _reference_run(x, y, validation, lr, seed, epochs=2, batch_size=16)
            got = sweep[(sweep.lr == lr) & (sweep.replicate == seed)]
            np.testing.assert_allclose(got["loss"], [r[1] for r in expected], rtol=1e-5)
            np.testing.assert_allclose(got["val_loss"], [r[2] for r in expected], rtol=1e-5)


def test_a_run_is_the_same_in_any_sweep_and_seeds_are_paired(data):
    # Dropout draws from the run's seed too: the run (0.05, seed 3) computed alone equals
    # the same run inside a larger sweep, bit for bit.
    x, y, validation = data
    options = dict(epochs=2, batch_size=16, validation_data=validation, progress=False)
    big = sensitivity(build_dropout_mlp, x, y, lrs=LRS, seeds=[1, 3], **options)
    alone = sensitivity(build_dropout_mlp, x, y, lrs=[0.05], seeds=[3], **options)
    pd.testing.assert_frame_equal(
        big[(big.lr == 0.05) & (big.replicate == 3)].reset_index(drop=True), alone
    )
    # Different seeds give different runs.
    one = big[(big.lr == 0.05) & (big.replicate == 1)]["loss"].to_numpy()
    assert not np.array_equal(one, alone["loss"].to_numpy())


def test_runs_sharing_a_seed_share_initial_weights():
    weights = {}

    def recording(lr, seed):
        model = build_mlp(lr, seed)
        weights[(lr, seed)] = [w.copy() for w in model.get_weights()]
        return model

    x, y, _ = sweep_data()
    sensitivity(recording, x, y, lrs=LRS, seeds=2, epochs=1, batch_size=32, progress=False)
    for a, b in zip(weights[(0.01, 0)], weights[(0.05, 0)], strict=True):
        np.testing.assert_array_equal(a, b)
    assert not np.array_equal(weights[(0.01, 0)][0], weights[(0.01, 1)][0])


def test_the_caller_global_generators_are_left_as_they_were(data):
    import random

    x, y, _ = data
    np.random.seed(123)  # noqa: NPY002
    random.seed(456)
    expected = (np.random.random(), random.random())  # noqa: NPY002
    np.random.seed(123)  # noqa: NPY002
    random.seed(456)
    sensitivity(build_mlp, x, y, lrs=[0.01], seeds=1, epochs=1, batch_size=32, progress=False)
    assert (np.random.random(), random.random()) == expected  # noqa: NPY002


def test_divergence_is_data(data):
    x, y, validation = data
    frame = sensitivity(
        build_mlp,
        x * 1e3,
        y * 1e3,
        lrs=[10.0],
        seeds=1,
        epochs=3,
        batch_size=16,
        validation_data=validation,
        progress=False,
    )
    assert len(frame) == 3 and frame["epoch"].tolist() == [1, 2, 3]
    assert not np.isfinite(frame["loss"].iloc[-1])
    assert frame.attrs["epochs"] == 3


def test_batch_size_factor_is_crossed_with_the_grid_and_applied_by_the_sweep(data):
    x, y, validation = data
    received = []

    def spy(lr, seed, **levels):
        received.append(levels)
        return build_mlp(lr, seed)

    frame = sensitivity(
        spy,
        x,
        y,
        lrs=LRS,
        seeds=1,
        epochs=1,
        factors={"batch_size": [64, 16]},
        validation_data=validation,
        progress=False,
    )
    assert list(frame.columns[:4]) == ["lr", "replicate", "batch_size", "epoch"]
    assert frame["batch_size"].tolist() == [16, 16, 64, 64]
    assert frame["lr"].tolist() == [0.01, 0.05, 0.01, 0.05]
    assert all(levels == {} for levels in received)  # batch_size is the sweep's own
    assert frame.attrs["factors"] == {"batch_size": [64, 16]}
    assert frame.attrs["batch_size"] is None
    # A full batch (64 rows) takes one step per epoch, batches of 16 take four: different runs.
    by_batch = frame.set_index(["batch_size", "lr"])["loss"]
    assert by_batch[(16, 0.05)] != by_batch[(64, 0.05)]


def test_schedule_factor_is_passed_to_build_model(data):
    x, y, validation = data
    steps = 2 * (N_ROWS // 16)
    frame = sensitivity(
        functools.partial(build_mlp, total_steps=steps),
        x,
        y,
        lrs=[0.05],
        seeds=1,
        epochs=2,
        batch_size=16,
        factors={"schedule": ["constant", "time_decay", "one_cycle"]},
        validation_data=validation,
        progress=False,
    )
    assert frame["schedule"].tolist() == ["constant"] * 2 + ["one_cycle"] * 2 + ["time_decay"] * 2
    final = frame[frame.epoch == 2].set_index("schedule")["loss"]
    assert final.nunique() == 3  # three different trainings from the same start


def test_learning_rate_schedule_values():
    from lrstats.keras import learning_rate_schedule

    assert learning_rate_schedule("constant", 0.1, total_steps=10) == 0.1
    decay = learning_rate_schedule("time_decay", 0.1, total_steps=10, final_fraction=0.1)
    np.testing.assert_allclose(float(decay(0)), 0.1, rtol=1e-6)
    np.testing.assert_allclose(float(decay(10)), 0.01, rtol=1e-6)
    np.testing.assert_allclose(float(decay(5)), 0.1 / (1 + 9 * 0.5), rtol=1e-6)
    cycle = learning_rate_schedule("one_cycle", 0.1, total_steps=10, one_cycle=lambda m, t: (m, t))
    assert cycle == (0.1, 10)
    with pytest.raises(ValueError, match="`kind` must be one of"):
        learning_rate_schedule("cosine", 0.1, total_steps=10)


# ----------------------------------------------------------------------------- bad input
def _not_a_model(lr, seed):
    return "model"


def _uncompiled(lr, seed):
    return keras.Sequential([keras.Input((4,)), keras.layers.Dense(1)])


def _ignores_lr(lr, seed):
    return build_mlp(0.123, seed)


@pytest.mark.parametrize(
    ("builder", "error", "match"),
    [
        (
            _not_a_model,
            TypeError,
            r"`build_model` must return a compiled keras.Model.*returned str",
        ),
        (_uncompiled, ValueError, r"`build_model` must return a model compiled"),
        (_ignores_lr, ValueError, r"`build_model` must give .*learning_rate=0.123"),
        ("build", TypeError, r"`build_model` must be callable"),
    ],
)
def test_bad_build_model_is_refused_before_anything_is_written(
    data, tmp_path, builder, error, match
):
    x, y, _ = data
    store = tmp_path / "store"
    with pytest.raises(error, match=match):
        sensitivity(
            builder, x, y, lrs=LRS, seeds=1, epochs=1, batch_size=16, store=store, progress=False
        )
    assert not store.exists()


@pytest.mark.parametrize(
    ("changes", "error", "match"),
    [
        ({"seeds": []}, ValueError, r"`seeds` must not be empty"),
        ({"seeds": 0}, ValueError, r"`seeds` must be an integer >= 1. Received: seeds=0"),
        ({"seeds": [1, 1]}, ValueError, r"`seeds` must not contain duplicates"),
        ({"seeds": [-1]}, ValueError, r"`seeds` must hold integers >= 0"),
        ({"epochs": 0}, ValueError, r"`epochs` must be an integer >= 1. Received: epochs=0"),
        ({"epochs": 1.5}, TypeError, r"`epochs` must be an integer"),
        ({"lrs": [0.1, -1.0]}, ValueError, r"`lrs` must be finite and > 0"),
        ({"lrs": []}, ValueError, r"`lrs` must not be empty"),
        ({"lrs": [0.1, 0.1]}, ValueError, r"`lrs` must not contain duplicates"),
        ({"batch_size": None}, ValueError, r"`batch_size` must be an integer >= 1"),
        ({"factors": {"batch_size": [8]}}, ValueError, r"`batch_size` must be None when"),
        ({"factors": {"lr": [1]}}, ValueError, r"`factors` name 'lr' is reserved"),
        ({"factors": {"momentum": []}}, ValueError, r"`factors\['momentum'\]` must not be empty"),
        ({"executor": "dask"}, TypeError, r"`executor` must be None .* or a dask.distributed"),
        ({"progress": 1}, TypeError, r"`progress` must be True or False"),
    ],
)
def test_bad_arguments_name_the_parameter(data, tmp_path, changes, error, match):
    x, y, _ = data
    arguments = dict(lrs=LRS, seeds=1, epochs=1, batch_size=16, progress=False)
    arguments.update(changes)
    store = tmp_path / "store"
    with pytest.raises(error, match=match):
        sensitivity(build_mlp, x, y, store=store, **arguments)
    assert not store.exists()


def test_mismatched_rows_are_refused(data):
    x, y, _ = data
    with pytest.raises(ValueError, match=r"`x` and `y` must be arrays with the same number"):
        sensitivity(build_mlp, x, y[:10], lrs=LRS, seeds=1, epochs=1, batch_size=16)


def test_progress_bar_counts_runs_and_shows_the_running_best(data, capsys):
    x, y, validation = data
    sensitivity(
        build_mlp,
        x,
        y,
        lrs=[0.01, 0.05],
        seeds=1,
        epochs=1,
        batch_size=32,
        validation_data=validation,
        progress=True,
    )
    err = capsys.readouterr().err
    assert "2/2" in err
    assert "best final val_loss" in err and "at lr=" in err


def test_the_frame_does_not_depend_on_the_order_runs_finish_in(sweep):
    from lrstats.keras._sensitivity import _assemble

    shuffled = sweep.sample(frac=1.0, random_state=np.random.default_rng(4))
    shuffled = shuffled[list(reversed(shuffled.columns))]
    pd.testing.assert_frame_equal(_assemble(shuffled.reset_index(drop=True), []), sweep)
