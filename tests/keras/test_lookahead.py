"""``sample_trajectories`` against a plain Keras loop: ``train_on_batch`` per member, every model
and optimizer variable restored between members, the same minibatches.

The reference below shares no code with the implementation, only the documented contract:
replicate ``r`` draws from ``SeedSequence(seed, spawn_key=(0x100C, r))`` a fresh permutation of
the training rows each epoch and takes consecutive full batches; ``loss`` is what
``train_on_batch`` returns; ``val_loss`` is ``test_on_batch`` on all validation rows (``evaluate`` in one batch) after the step.
"""

import numpy as np
import pandas as pd
import pytest
from sampler_reference import restore, snapshot

from lrstats.keras import DivergenceWarning, sample_trajectories

LOOKAHEAD_NAMESPACE = 0x100C
LRS = np.array([1e-3, 1e-2, 1e-1])
STEPS = 6
BATCH = 32
# Relative agreement with train_on_batch (float32; different kernels and reduction orders). The
# batched path agrees to about 1e-6 after 20 steps on these models; 1e-4 leaves a margin and is
# still far below the differences between learning rates (> 1e-2 relative after one step).
RTOL = 1e-4


def reference_batches(seed, replicate, n_rows, batch_size, steps):
    rng = np.random.default_rng(
        np.random.SeedSequence(seed, spawn_key=(LOOKAHEAD_NAMESPACE, replicate))
    )
    out = []
    while len(out) < steps:
        order = rng.permutation(n_rows)
        for b in range(n_rows // batch_size):
            out.append(order[b * batch_size : (b + 1) * batch_size])
    return out[:steps]


def reference_trajectories(model, x, y, *, lrs, replicates, steps, batch_size, seed, x_val, y_val):
    """The plain Keras loop: a long frame like sample_trajectories' (val_loss at every step)."""
    if not model.optimizer.built:
        model.optimizer.build(model.trainable_variables)
    saved = snapshot(model)
    records = []
    try:
        for replicate in replicates:
            batches = reference_batches(seed, replicate, len(x), batch_size, steps)
            for lr in lrs:
                restore(model, saved)
                model.optimizer.learning_rate.assign(lr)
                for step, rows in enumerate(batches, start=1):
                    loss = float(model.train_on_batch(x[rows], y[rows]))
                    val = float(model.test_on_batch(x_val, y_val))
                    records.append((float(lr), replicate, step, loss, val))
    finally:
        restore(model, saved)
    return pd.DataFrame.from_records(
        records, columns=["lr", "replicate", "step", "loss", "val_loss"]
    )


def assert_close_to_reference(got, expected, columns=("loss", "val_loss")):
    np.testing.assert_array_equal(got["lr"].to_numpy(), expected["lr"].to_numpy())
    np.testing.assert_array_equal(got["replicate"].to_numpy(), expected["replicate"].to_numpy())
    np.testing.assert_array_equal(got["step"].to_numpy(), expected["step"].to_numpy())
    for column in columns:
        have, want = got[column].to_numpy(), expected[column].to_numpy()
        evaluated = ~np.isnan(have) if column == "val_loss" else np.ones(have.size, bool)
        np.testing.assert_allclose(have[evaluated], want[evaluated], rtol=RTOL, err_msg=column)


@pytest.fixture(scope="module")
def data(regression_data):
    x, y = regression_data
    return x[:192], y[:192], x[192:], y[192:]  # the last quarter: what validation_split=0.25 holds


@pytest.mark.parametrize("optimizer", ["sgd", "momentum", "adam", "adamw", "adam-scaled"])
def test_equals_a_plain_keras_loop(make_warm_model, data, regression_data, optimizer):
    x, y, x_val, y_val = data
    model = make_warm_model(optimizer, seed=101)  # non-fresh slots, iterations = 3
    frame = sample_trajectories(
        model,
        *regression_data,
        lrs=LRS,
        replicates=2,
        steps=STEPS,
        batch_size=BATCH,
        seed=7,
        validation_split=0.25,
        eval_every=2,
        progress=False,
    )
    assert frame.attrs["path"] == "batched"
    assert frame.attrs["validation"] == "validation_split"
    assert frame.attrs["eval_steps"] == [2, 4, 6]
    expected = reference_trajectories(
        model, x, y, lrs=LRS, replicates=range(2), steps=STEPS, batch_size=BATCH, seed=7,
        x_val=x_val, y_val=y_val,
    )  # fmt: skip
    assert_close_to_reference(frame, expected)
    # val_loss exactly where documented, NaN elsewhere
    evaluated = frame["step"].isin([2, 4, 6]).to_numpy()
    assert np.isfinite(frame["val_loss"].to_numpy()[evaluated]).all()
    assert np.isnan(frame["val_loss"].to_numpy()[~evaluated]).all()
    # the learning rates really differ in effect: the comparison is not vacuous
    last = frame[frame["step"] == STEPS].groupby("lr")["loss"].mean()
    assert last.max() - last.min() > 100 * RTOL * last.mean()


def test_exact_path_equals_a_plain_keras_loop(make_model, data, regression_data):
    # clipnorm takes the norm of a whole variable: across stacked members it would mix them,
    # so the batched path is refused and every member runs real steps.
    import keras

    x, y, x_val, y_val = data
    model = make_model(seed=103)
    model.compile(optimizer=keras.optimizers.SGD(0.05, momentum=0.9, clipnorm=0.5), loss="mse")
    frame = sample_trajectories(
        model,
        x,
        y,
        lrs=LRS,
        replicates=range(1, 3),
        steps=4,
        batch_size=BATCH,
        seed=3,
        validation_data=(x_val, y_val),
        eval_every=1,
        progress=False,
    )
    assert frame.attrs["path"] == "exact"
    assert frame.attrs["validation"] == "validation_data"
    expected = reference_trajectories(
        model, x, y, lrs=LRS, replicates=range(1, 3), steps=4, batch_size=BATCH, seed=3,
        x_val=x_val, y_val=y_val,
    )  # fmt: skip
    assert_close_to_reference(frame, expected)


@pytest.fixture(scope="module")
def shared_model(make_warm_model):
    """A momentum-SGD model shared by the tests below (each leaves its state as it was)."""
    return make_warm_model("momentum", seed=107)


RUN = dict(lrs=LRS, steps=5, batch_size=BATCH, seed=11, validation_split=0.25, progress=False)


def test_frame_layout_and_provenance(shared_model, regression_data):
    frame = sample_trajectories(shared_model, *regression_data, replicates=3, **RUN)
    assert list(frame.columns) == ["lr", "replicate", "step", "loss", "val_loss"]
    assert [str(t) for t in frame.dtypes] == ["float64", "int64", "int64", "float64", "float64"]
    assert len(frame) == 3 * LRS.size * 5
    assert frame.equals(frame.sort_values(["replicate", "lr", "step"], ignore_index=True))
    attrs = frame.attrs
    assert attrs["sampler"] == "lrstats.keras.sample_trajectories"
    assert (attrs["seed"], attrs["steps"], attrs["batch_size"]) == (11, 5, BATCH)
    assert (attrs["n_train_rows"], attrs["n_validation_rows"]) == (192, 64)
    assert attrs["eval_steps"] == [1, 2, 3, 4, 5]  # default eval_every: max(1, steps // 10)
    assert attrs["optimizer"] == "SGD" and attrs["optimizer_config"]["momentum"] == 0.9
    assert np.isfinite(attrs["initial_val_loss"])


def test_default_eval_every_and_no_validation(shared_model, regression_data):
    run = {**RUN, "validation_split": 0.0, "steps": 20}
    frame = sample_trajectories(shared_model, *regression_data, replicates=1, **run)
    assert "val_loss" not in frame.columns
    assert frame.attrs["validation"] == "none" and frame.attrs["initial_val_loss"] is None
    with_val = sample_trajectories(
        shared_model, *regression_data, replicates=1, **{**run, "validation_split": 0.5}
    )
    assert with_val.attrs["eval_steps"] == [2, 4, 6, 8, 10, 12, 14, 16, 18, 20]


def test_paired_design_and_reproducibility(shared_model, regression_data):
    frame = sample_trajectories(shared_model, *regression_data, replicates=3, **RUN)
    again = sample_trajectories(shared_model, *regression_data, replicates=3, **RUN)
    pd.testing.assert_frame_equal(frame, again)
    # step 1's loss is measured before any update: the same minibatch gives the same loss at
    # every lr (paired), and replicates draw different minibatches
    first = frame[frame["step"] == 1].pivot(index="replicate", columns="lr", values="loss")
    assert (first.nunique(axis=1) == 1).all()
    assert first.iloc[:, 0].nunique() == 3
    other_seed = sample_trajectories(
        shared_model, *regression_data, replicates=3, **RUN | {"seed": 12}
    )
    assert not np.allclose(other_seed["loss"], frame["loss"])


def test_shards_concatenate_exactly(shared_model, regression_data):
    whole = sample_trajectories(shared_model, *regression_data, replicates=4, **RUN)
    shards = [
        sample_trajectories(shared_model, *regression_data, replicates=part, **RUN)
        for part in (range(0, 1), range(1, 4))
    ]
    pd.testing.assert_frame_equal(pd.concat(shards, ignore_index=True), whole, check_exact=True)
    # and with a chunk size that splits the replicates into several compiled chunks
    chunked = sample_trajectories(
        shared_model, *regression_data, replicates=4, chunk_size=2 * LRS.size, **RUN
    )
    pd.testing.assert_frame_equal(chunked, whole, check_exact=True)
    # a chunk smaller than the grid splits it into lr blocks (the last one padded): the same
    # trajectories, to float32 rounding (the vectorized group is smaller)
    blocked = sample_trajectories(
        shared_model, *regression_data, replicates=4, chunk_size=2, **RUN
    )
    assert blocked.attrs["chunk_size"] == 2
    pd.testing.assert_frame_equal(blocked, whole, check_exact=False, rtol=RTOL)


def test_every_shard_is_checked_on_the_same_data(make_model, regression_data, monkeypatch):
    # The check of the batched clone decides the path; made on each shard's own first
    # replicate, a model near the tolerance took the batched path in one shard and the
    # exact path in another, and the shards no longer concatenated exactly. The check must
    # see the same minibatches and lrs whichever replicates a call holds.
    import lrstats.keras.lookahead as lookahead_module

    real = lookahead_module.trajectory_matches_real
    seen = []

    def recording(model, snapshot, lr_variable, lr, batches, *args, **kwargs):
        seen.append((lr, [np.asarray(b[0]) for b in batches]))
        return real(model, snapshot, lr_variable, lr, batches, *args, **kwargs)

    monkeypatch.setattr(lookahead_module, "trajectory_matches_real", recording)
    lrs = np.geomspace(1e-3, 1e-1, 5)
    checks = []
    for part in (range(0, 2), range(2, 5)):
        seen.clear()
        frame = sample_trajectories(
            make_model(optimizer="adam", seed=131), *regression_data,
            **RUN | {"lrs": lrs, "replicates": part, "validation_split": 0.0},
        )  # fmt: skip
        assert frame.attrs["path"] == "batched"
        checks.append(list(seen))
    first, second = checks
    # the grid's smallest, median and largest lr, for every shard; the largest over its
    # first step only, the others over three
    assert [lr for lr, _ in first] == [lr for lr, _ in second] == [lrs[0], lrs[2], lrs[4]]
    assert [len(rows) for _, rows in first] == [len(rows) for _, rows in second] == [3, 3, 1]
    for (_, rows_a), (_, rows_b) in zip(first, second, strict=True):
        for a, b in zip(rows_a, rows_b, strict=True):
            np.testing.assert_array_equal(a, b)
    # and those are replicate 0's minibatches (its stream, keyed by the seed alone)
    x = regression_data[0]
    expected = reference_batches(RUN["seed"], 0, len(x), BATCH, 3)
    for got, rows in zip(first[0][1], expected, strict=True):
        np.testing.assert_array_equal(got, x[rows])


def test_an_unstable_largest_lr_does_not_send_a_correct_clone_to_the_exact_path(monkeypatch):
    # At lr = 1 this MLP's training is unstable (it diverges in some replicates): float32
    # rounding that differs between the batched program and a real step grows past the
    # check's tolerance within three steps (seen on a 2-core AMD EPYC), though the first
    # step agrees. The clone is right, so
    # the batched path runs, and its trajectories at the stable lrs match the exact path's.
    import keras

    import lrstats.keras.lookahead as lookahead_module

    rng = np.random.default_rng(0)
    x = rng.normal(size=(4000, 30)).astype("float32")
    y = (x[:, :5].sum(1, keepdims=True) + rng.normal(size=(4000, 1))).astype("float32")

    def build():
        keras.utils.set_random_seed(1)
        model = keras.Sequential(
            [
                keras.Input((30,)),
                keras.layers.Dense(64, activation="relu"),
                keras.layers.Dense(64, activation="tanh"),
                keras.layers.Dense(1),
            ]
        )
        model.compile(optimizer=keras.optimizers.SGD(0.01, momentum=0.9), loss="mse")
        return model

    run = dict(lrs=np.geomspace(1e-4, 1, 9), replicates=2, steps=20, batch_size=32, seed=3,
               progress=False)  # fmt: skip
    with pytest.warns(DivergenceWarning):  # the largest lrs diverge in some replicates
        frame = sample_trajectories(build(), x, y, **run)
    assert frame.attrs["path"] == "batched", frame.attrs["exact_path_reason"]
    monkeypatch.setattr(lookahead_module, "_batched_refusal", lambda model: "forced")
    with pytest.warns(DivergenceWarning):
        exact = sample_trajectories(build(), x, y, **run)
    assert exact.attrs["path"] == "exact"
    stable = frame["lr"] <= 1e-2
    np.testing.assert_allclose(frame.loc[stable, "loss"], exact.loc[stable, "loss"], rtol=RTOL)


def test_a_diverging_member_is_data_and_leaves_the_others_alone(shared_model, regression_data):
    lrs = np.array([1e-2, 1e-1, 1e4])
    run = {**RUN, "lrs": lrs, "steps": 8}
    with pytest.warns(DivergenceWarning, match="non-finite"):
        frame = sample_trajectories(shared_model, *regression_data, replicates=2, **run)
    huge = frame[frame["lr"] == 1e4]
    assert not np.isfinite(huge["loss"]).all()
    assert not np.isfinite(huge["val_loss"].dropna()).all()
    calm = frame[frame["lr"] < 1e4].reset_index(drop=True)
    assert np.isfinite(calm["loss"]).all()
    alone = sample_trajectories(
        shared_model, *regression_data, replicates=2, **{**run, "lrs": lrs[:2]}
    )
    np.testing.assert_allclose(calm["loss"], alone["loss"], rtol=RTOL)
    np.testing.assert_allclose(calm["val_loss"], alone["val_loss"], rtol=RTOL)


@pytest.mark.parametrize("layer", ["batchnorm", "dropout"])
def test_stateful_layers_equal_a_plain_keras_loop(make_model, data, regression_data, layer):
    # BatchNormalization's moving statistics and Dropout's seed state change at every training
    # step: each member carries its own copy, as each member of the plain loop does.
    x, y, x_val, y_val = data
    kwargs = {"batchnorm": True} if layer == "batchnorm" else {"dropout": 0.3}
    model = make_model(optimizer="momentum", seed=109, **kwargs)
    frame = sample_trajectories(
        model, *regression_data, lrs=LRS, replicates=2, steps=4, batch_size=BATCH, seed=9,
        validation_split=0.25, eval_every=2, progress=False,
    )  # fmt: skip
    expected = reference_trajectories(
        model, x, y, lrs=LRS, replicates=range(2), steps=4, batch_size=BATCH, seed=9,
        x_val=x_val, y_val=y_val,
    )  # fmt: skip
    assert_close_to_reference(frame, expected)
    assert frame.attrs["path"] == "batched"


def test_a_failed_check_takes_the_exact_path(make_model, regression_data, monkeypatch):
    # With a tolerance nothing can meet, the check of the batched clone against real steps
    # fails: the exact path runs, and gives the same trajectories as the batched path.
    import lrstats.keras.lookahead as lookahead_module

    run = dict(lrs=LRS, replicates=2, steps=4, batch_size=BATCH, seed=13, progress=False)
    batched = sample_trajectories(make_model(optimizer="adam", seed=127), *regression_data, **run)
    monkeypatch.setattr(lookahead_module, "CHECK_LOSS_RTOL", -1.0)
    exact = sample_trajectories(make_model(optimizer="adam", seed=127), *regression_data, **run)
    assert (batched.attrs["path"], exact.attrs["path"]) == ("batched", "exact")
    np.testing.assert_allclose(exact["loss"], batched["loss"], rtol=RTOL)


def test_an_optimizer_with_its_own_update_rule_is_batched_per_member(
    make_model, data, regression_data
):
    # w <- w - lr**2 g: the per-member lr reaches the optimizer's own update_step, so a rule
    # that is not linear in lr is reproduced member by member.
    x, y, x_val, y_val = data
    model = make_model(optimizer="squared", seed=129)
    lrs = np.array([0.1, 0.3, 1.0])
    frame = sample_trajectories(
        model, *regression_data, lrs=lrs, replicates=1, steps=4, batch_size=BATCH, seed=5,
        validation_split=0.25, eval_every=2, progress=False,
    )  # fmt: skip
    assert frame.attrs["path"] == "batched"
    expected = reference_trajectories(
        model, x, y, lrs=lrs, replicates=range(1), steps=4, batch_size=BATCH, seed=5,
        x_val=x_val, y_val=y_val,
    )  # fmt: skip
    assert_close_to_reference(frame, expected)


# Model kinds a real training step treats specially (issue 12), each against the plain
# train_on_batch loop: the batched path where it reproduces them, the exact path (and why) where
# it cannot. The reasons are those of docs/lookahead.md's support table.
KINDS = [
    ("bn_dropout", "batched", None),  # moving statistics and Dropout masks, training mode
    ("activity", "batched", None),  # a loss added in call()
    ("spectral", "exact", "writes trainable weights"),  # found by the real-step check
    ("loss_scale", "exact", "LossScaleOptimizer"),
    ("constraint", "exact", "constraint"),
    ("accumulation", "exact", "gradient_accumulation_steps=2"),
    ("train_step", "exact", "overrides train_step (PenalizedStep.train_step)"),
]


@pytest.mark.parametrize("kind, path, reason", KINDS, ids=[k[0] for k in KINDS])
def test_model_kinds_equal_a_plain_keras_loop(
    make_kind, data, regression_data, kind, path, reason
):
    x, y, x_val, y_val = data
    model = make_kind(kind, seed=137)
    frame = sample_trajectories(
        model, *regression_data, lrs=LRS, replicates=2, steps=4, batch_size=BATCH, seed=17,
        validation_split=0.25, eval_every=2, progress=False,
    )  # fmt: skip
    assert frame.attrs["path"] == path
    if reason is None:
        assert frame.attrs["exact_path_reason"] is None
    else:
        assert reason in frame.attrs["exact_path_reason"]
    expected = reference_trajectories(
        model, x, y, lrs=LRS, replicates=range(2), steps=4, batch_size=BATCH, seed=17,
        x_val=x_val, y_val=y_val,
    )  # fmt: skip
    assert_close_to_reference(frame, expected)
    last = frame[frame["step"] == 4].groupby("lr")["loss"].mean()
    assert last.max() - last.min() > 100 * RTOL * last.mean()  # the lrs differ in effect


def test_an_overridden_train_step_is_what_runs(make_kind, regression_data):
    # The loss column is what the override reports: the compiled loss plus its L1 penalty
    # (0.05 sum |w|), not the standard step's loss. Step 1 is before any update.
    import keras

    x, y = regression_data
    model = make_kind("train_step", seed=139)
    frame = sample_trajectories(
        model, x, y, lrs=LRS[:1], replicates=1, steps=1, batch_size=BATCH, seed=19,
        progress=False,
    )  # fmt: skip
    rows = reference_batches(19, 0, len(x), BATCH, 1)[0]
    mse = float(keras.losses.mean_squared_error(y[rows], model(x[rows])).numpy().mean())
    penalty = 0.05 * sum(float(np.abs(w.numpy()).sum()) for w in model.trainable_weights)
    assert penalty > 100 * RTOL * mse
    np.testing.assert_allclose(frame["loss"].iloc[0], mse + penalty, rtol=RTOL)
