"""Model kinds x optimizers against Keras' own training step (issue 12).

The rule: for a compiled model, ``pre`` equals the loss Keras reports on the rows and ``post``
equals that loss after one real ``train_on_batch`` step at the lr, on the same rows. Every case
here is *full batch* (``batch_size`` = all rows), so the rows are unambiguous: the reference
permutes the rows exactly as the replicate does and calls ``train_on_batch`` on them. Stochastic
layers (Dropout) draw from the replicate's seeds in both (the reference writes them into the
layers' seed generators before the step, as the contract of the sampler says they are used).

Tolerances, relative to the loss magnitude of the row (``max(|pre|, |post|)``):

- ``RTOL = 2e-5``: float32. The sampler's batched path computes the same operations as Keras
  but with per-replicate reductions stacked (a ``map_fn``/``vectorized_map`` and XLA), which
  round differently in the last bits; 2e-5 is ~100 float32 ulps of the loss, far below the
  smallest error issue 12 found (2.5 % for sparse steps, 43 % for Dropout masks).
- ``RTOL_RECURRENT = 1e-4``: LSTM/GRU and attention sum over time steps and heads; the kernel
  order of those sums differs between the fused graph and the reference.

The models are tiny (a few hundred weights, 16 rows) and compiled with ``run_eagerly=True``,
so the reference's ``train_on_batch`` traces nothing (the sampler ignores that setting).
"""

from __future__ import annotations

import warnings

import keras
import numpy as np
import pytest
from sampler_reference import assert_same_state, snapshot

from lrstats.keras import StepWarning, TrainStepWarning
from lrstats.keras._engine import seed_state_positions
from lrstats.keras._plan import replicate_draws

N = 16
LRS = np.array([1e-3, 1e-2, 1e-1])
SEED = 7
REPLICATES = 2
RTOL = 2e-5
RTOL_RECURRENT = 1e-4


# ----------------------------------------------------------------------------- models
def _init(seed):
    return keras.initializers.GlorotUniform(seed=seed)


def mlp(optimizer, *, seed=0, loss="mse", **layer_kwargs):
    model = keras.Sequential(
        [
            keras.Input((4,)),
            keras.layers.Dense(
                6, activation="tanh", kernel_initializer=_init(seed), **layer_kwargs
            ),
            keras.layers.Dense(1, kernel_initializer=_init(seed + 1)),
        ]
    )
    model.compile(optimizer=optimizer, loss=loss, run_eagerly=True)
    return model


def mlp_data():
    rng = np.random.default_rng(11)
    x = rng.normal(size=(N, 4)).astype("float32")
    y = (x @ rng.normal(size=(4, 1)) + 0.3 * np.sin(x[:, :1])).astype("float32")
    return x, y


def cnn(optimizer):
    inputs = keras.Input((6, 6, 1))
    h = keras.layers.Conv2D(3, 3, kernel_initializer=_init(1))(inputs)
    h = keras.layers.BatchNormalization()(h)
    h = keras.layers.Activation("relu")(h)
    h = keras.layers.Dropout(0.3)(h)
    h = keras.layers.Flatten()(h)
    outputs = keras.layers.Dense(3, activation="softmax", kernel_initializer=_init(2))(h)
    model = keras.Model(inputs, outputs)
    model.compile(optimizer=optimizer, loss="sparse_categorical_crossentropy", run_eagerly=True)
    return model


def cnn_data():
    rng = np.random.default_rng(12)
    return rng.normal(size=(N, 6, 6, 1)).astype("float32"), rng.integers(0, 3, size=(N, 1))


def recurrent(optimizer, cell="lstm"):
    layer = keras.layers.LSTM if cell == "lstm" else keras.layers.GRU
    model = keras.Sequential(
        [
            keras.Input((5,), dtype="int32"),
            keras.layers.Embedding(
                6, 3, embeddings_initializer=keras.initializers.RandomNormal(seed=3)
            ),
            layer(4, kernel_initializer=_init(4), recurrent_initializer=_init(5)),
            keras.layers.Dense(1, activation="sigmoid", kernel_initializer=_init(6)),
        ]
    )
    model.compile(optimizer=optimizer, loss="binary_crossentropy", run_eagerly=True)
    return model


def recurrent_data():
    rng = np.random.default_rng(13)  # 6 token ids in 5 positions: ids repeat within a row
    return rng.integers(0, 6, size=(N, 5)).astype("int32"), rng.integers(0, 2, size=(N, 1))


def transformer(optimizer):
    inputs = keras.Input((5, 4))
    attention = keras.layers.MultiHeadAttention(2, 3, kernel_initializer=_init(7))(inputs, inputs)
    h = keras.layers.LayerNormalization()(inputs + attention)
    h = keras.layers.Dense(4, activation="relu", kernel_initializer=_init(8))(h)
    h = keras.layers.GlobalAveragePooling1D()(h)
    outputs = keras.layers.Dense(1, kernel_initializer=_init(9))(h)
    model = keras.Model(inputs, outputs)
    model.compile(optimizer=optimizer, loss="mse", run_eagerly=True)
    return model


def transformer_data():
    rng = np.random.default_rng(14)
    return rng.normal(size=(N, 5, 4)).astype("float32"), rng.normal(size=(N, 1)).astype("float32")


def multi_io(optimizer):
    a = keras.Input((3,), name="a")
    b = keras.Input((2,), name="b")
    h = keras.layers.Dense(5, activation="relu", kernel_initializer=_init(10))(
        keras.layers.Concatenate()([a, b])
    )
    out_1 = keras.layers.Dense(1, name="reg", kernel_initializer=_init(11))(h)
    out_2 = keras.layers.Dense(2, activation="softmax", name="cls", kernel_initializer=_init(12))(
        h
    )
    model = keras.Model({"a": a, "b": b}, {"reg": out_1, "cls": out_2})
    model.compile(
        optimizer=optimizer,
        loss={"reg": "mse", "cls": "sparse_categorical_crossentropy"},
        loss_weights={"reg": 1.0, "cls": 0.5},
        run_eagerly=True,
    )
    return model


def multi_io_data():
    rng = np.random.default_rng(15)
    x = {
        "a": rng.normal(size=(N, 3)).astype("float32"),
        "b": rng.normal(size=(N, 2)).astype("float32"),
    }
    y = {"reg": rng.normal(size=(N, 1)).astype("float32"), "cls": rng.integers(0, 2, size=(N, 1))}
    return x, y


class PenalizedModel(keras.Model):
    """Subclassed: an activity regularizer and an ``add_loss`` in ``call``."""

    def __init__(self):
        super().__init__()
        self.hidden = keras.layers.Dense(
            5,
            activation="tanh",
            kernel_initializer=_init(16),
            activity_regularizer=keras.regularizers.L2(0.05),
        )
        self.out = keras.layers.Dense(1, kernel_initializer=_init(17))

    def call(self, inputs, training=False):
        h = self.hidden(inputs)
        self.add_loss(0.1 * keras.ops.mean(keras.ops.abs(h)))
        return self.out(h)


def subclassed(optimizer):
    model = PenalizedModel()
    model(np.zeros((1, 4), "float32"))
    model.compile(optimizer=optimizer, loss="mse", run_eagerly=True)
    return model


def spectral(optimizer):
    model = keras.Sequential(
        [
            keras.Input((4,)),
            keras.layers.SpectralNormalization(
                keras.layers.Dense(6, activation="tanh", kernel_initializer=_init(18))
            ),
            keras.layers.Dense(1, kernel_initializer=_init(19)),
        ]
    )
    model.compile(optimizer=optimizer, loss="mse", run_eagerly=True)
    return model


# ----------------------------------------------------------------------------- reference
def _set_learning_rate(optimizer, lr):
    """The lr of the next step; a schedule is replaced by the constant (the sampler's contract)."""
    inner = getattr(optimizer, "inner_optimizer", optimizer)
    if isinstance(inner._learning_rate, keras.optimizers.schedules.LearningRateSchedule):
        object.__setattr__(inner, "_learning_rate", keras.Variable(lr, dtype="float32"))
    else:
        inner.learning_rate = lr


def _rows(data, rows):
    if isinstance(data, dict):
        return {k: v[rows] for k, v in data.items()}
    return data[rows]


def _loss(model, x, y, *, training):
    y_pred = model(x, training=training)
    return float(model.compute_loss(x=x, y=y, y_pred=y_pred, training=training))


def train_on_batch_frame(model, x, y, *, eval_mode="inference"):
    """pre/post by ``train_on_batch`` at each lr; the model is left as found."""
    n_rows = len(next(iter(x.values()))) if isinstance(x, dict) else len(x)
    positions = seed_state_positions(model)
    training = eval_mode == "training"
    saved = snapshot(model)
    variables = [*model.variables, *model.optimizer.variables, *model.metrics_variables]
    inner = getattr(model.optimizer, "inner_optimizer", model.optimizer)
    schedule = inner._learning_rate
    rows_pre_post = []
    try:
        for replicate in range(REPLICATES):
            rows, _, seeds = replicate_draws(
                SEED, replicate, n_rows, n_rows, False, len(positions)
            )
            xr, yr = _rows(x, rows), _rows(y, rows)

            def set_seeds(seeds=seeds):
                for j, p in enumerate(positions):
                    model.non_trainable_variables[p].assign(seeds[j].astype("int64"))

            for v, value in zip(variables, saved, strict=True):
                v.assign(value)
            set_seeds()
            pre = _loss(model, xr, yr, training=training)
            for lr in LRS:
                for v, value in zip(variables, saved, strict=True):
                    v.assign(value)
                _set_learning_rate(model.optimizer, lr)
                set_seeds()
                model.train_on_batch(xr, yr)
                set_seeds()
                rows_pre_post.append((pre, _loss(model, xr, yr, training=training)))
    finally:
        object.__setattr__(inner, "_learning_rate", schedule)
        for v, value in zip(variables, saved, strict=True):
            v.assign(value)
    return np.array(rows_pre_post)


def check(sample_deltas, model, x, y, *, rtol=RTOL, eval_mode="inference", path=None):
    n_rows = len(next(iter(x.values()))) if isinstance(x, dict) else len(x)
    if not model.optimizer.built:
        model.optimizer.build(model.trainable_variables)
    before = snapshot(model)
    frame = sample_deltas(
        model, x, y, lrs=LRS, replicates=REPLICATES, batch_size=n_rows, seed=SEED,
        eval_mode=eval_mode, progress=False,
    )  # fmt: skip
    assert_same_state(before, snapshot(model))
    expected = train_on_batch_frame(model, x, y, eval_mode=eval_mode)
    got = frame[["pre", "post"]].to_numpy()
    scale = np.maximum(np.abs(expected).max(axis=1, keepdims=True), 1e-12)
    error = np.abs(got - expected) / scale
    assert error.max() <= rtol, (
        f"largest relative error {error.max():.3g} (path {frame.attrs['path']}): "
        f"got {got.tolist()}, train_on_batch {expected.tolist()}"
    )
    # the step moved the loss: the comparison is not between constants
    assert np.abs(expected[:, 1] - expected[:, 0]).max() > 1e-4 * scale.max()
    if path is not None:
        assert frame.attrs["path"] == path, frame.attrs
    return frame


# ----------------------------------------------------------------------------- the matrix
# Every built-in optimizer class, and every option of the base optimizer, each at least once;
# options are combined with classes to keep the module fast (one traced engine per case).
OPTIMIZERS = {
    "sgd": lambda: keras.optimizers.SGD(0.05),
    "nesterov+clipvalue": lambda: keras.optimizers.SGD(
        0.05, momentum=0.9, nesterov=True, clipvalue=0.01
    ),
    "adam+amsgrad+clipnorm": lambda: keras.optimizers.Adam(1e-3, amsgrad=True, clipnorm=0.05),
    "adamw+ema": lambda: keras.optimizers.AdamW(
        1e-3, weight_decay=0.05, use_ema=True, ema_momentum=0.9
    ),
    "adamax": lambda: keras.optimizers.Adamax(1e-3),
    "adadelta": lambda: keras.optimizers.Adadelta(1.0),
    "adafactor": lambda: keras.optimizers.Adafactor(1e-2),
    "adagrad": lambda: keras.optimizers.Adagrad(1e-2),
    "ftrl": lambda: keras.optimizers.Ftrl(0.05),
    "lamb": lambda: keras.optimizers.Lamb(1e-3),
    "lion": lambda: keras.optimizers.Lion(1e-4),
    "nadam": lambda: keras.optimizers.Nadam(1e-3),
    "rmsprop+global_clipnorm": lambda: keras.optimizers.RMSprop(
        1e-3, momentum=0.5, centered=True, global_clipnorm=0.05
    ),
    "sgd+ema_overwrite": lambda: keras.optimizers.SGD(
        0.05, use_ema=True, ema_momentum=0.5, ema_overwrite_frequency=1
    ),
    # one warm-up step: iteration 1, so the next step (the one measured) applies the update
    "adam+accumulation": lambda: keras.optimizers.Adam(1e-3, gradient_accumulation_steps=2),
    "momentum+schedule": lambda: keras.optimizers.SGD(
        keras.optimizers.schedules.CosineDecay(0.05, decay_steps=10), momentum=0.9
    ),
    "adam+loss_scale_factor": lambda: keras.optimizers.Adam(1e-3, loss_scale_factor=128.0),
    "loss_scale_optimizer": lambda: keras.optimizers.LossScaleOptimizer(
        keras.optimizers.Adam(1e-3), initial_scale=1024.0
    ),
}
# used by other tests below, not in the optimizer matrix
EXTRA_OPTIMIZERS = {
    "adam": lambda: keras.optimizers.Adam(1e-3),
    "rmsprop": lambda: keras.optimizers.RMSprop(1e-3, momentum=0.5, centered=True),
    "rmsprop-plain": lambda: keras.optimizers.RMSprop(1e-3),
}


@pytest.fixture(scope="module")
def mlp_xy():
    return mlp_data()


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_every_builtin_optimizer_on_an_mlp(sample_deltas, mlp_xy, name):
    x, y = mlp_xy
    model = mlp(OPTIMIZERS[name]())
    # a real step first, so the slots (and EMA, accumulators, loss scale) are not at their start
    model.train_on_batch(x, y)
    frame = check(sample_deltas, model, x, y)
    if name == "loss_scale_optimizer":
        assert frame.attrs["path"] == "exact"
        assert "LossScaleOptimizer" in frame.attrs["exact_path_reason"]
        # issue 12: post did not depend on the lr at all
        assert (frame.groupby("replicate")["post"].nunique() == LRS.size).all()


def test_mixed_float16_with_loss_scaling(sample_deltas, mlp_xy):
    # float16 compute: a loss carries ~1e-3 relative rounding (10-bit mantissa); the exact path
    # runs Keras' own ops, pre comes from the batched pass, so allow 2e-3.
    x, y = mlp_xy
    model = keras.Sequential(
        [
            keras.Input((4,)),
            keras.layers.Dense(
                6, activation="tanh", kernel_initializer=_init(21), dtype="mixed_float16"
            ),
            keras.layers.Dense(1, kernel_initializer=_init(22), dtype="float32"),
        ]
    )
    model.compile(
        optimizer=keras.optimizers.LossScaleOptimizer(keras.optimizers.Adam(1e-2)),
        loss="mse",
        run_eagerly=True,
    )
    model.train_on_batch(x, y)
    frame = check(sample_deltas, model, x, y, rtol=2e-3, path="exact")
    assert (frame.groupby("replicate")["post"].nunique() == LRS.size).all()


def test_cnn_batchnorm_dropout(sample_deltas):
    x, y = cnn_data()
    model = cnn(keras.optimizers.SGD(0.05, momentum=0.9))
    # post uses the BatchNormalization statistics the step left, as evaluate after it does
    check(sample_deltas, model, x, y, path="affine")
    # pre is what Keras' evaluate reports on the same rows
    frame = sample_deltas(
        model, x, y, lrs=LRS, replicates=2, batch_size=N, seed=SEED, progress=False
    )
    assert frame["pre"].iloc[0] == pytest.approx(
        model.evaluate(x, y, batch_size=N, verbose=0), rel=1e-5
    )


def test_cnn_dropout_in_training_mode_uses_one_mask_per_replicate(sample_deltas):
    x, y = cnn_data()
    model = cnn(keras.optimizers.Adam(1e-3))
    check(sample_deltas, model, x, y, eval_mode="training")
    # at a negligible lr, post is pre: the same masks for pre and every lr
    frame = sample_deltas(
        model, x, y, lrs=[1e-12, 1e-11], replicates=3, batch_size=8, seed=3,
        eval_mode="training", progress=False,
    )  # fmt: skip
    np.testing.assert_allclose(frame["post"], frame["pre"], rtol=1e-5)


@pytest.mark.parametrize(
    "cell, optimizer", [("lstm", "adam"), ("gru", "rmsprop-plain"), ("lstm", "sgd")]
)
def test_recurrent_text_classifier(sample_deltas, cell, optimizer):
    # Embedding gradients are sparse (IndexedSlices) and token ids repeat: Keras' sparse step
    # differs from the dense one for Adam/RMSprop/Adagrad/Nadam, so this takes the exact path.
    x, y = recurrent_data()
    model = recurrent({**OPTIMIZERS, **EXTRA_OPTIMIZERS}[optimizer](), cell)
    model.train_on_batch(x, y)
    frame = check(sample_deltas, model, x, y, rtol=RTOL_RECURRENT, path="exact")
    assert "IndexedSlices" in frame.attrs["exact_path_reason"]


def test_transformer_block(sample_deltas):
    x, y = transformer_data()
    model = transformer(keras.optimizers.AdamW(1e-3, weight_decay=0.01))
    model.train_on_batch(x, y)
    check(sample_deltas, model, x, y, rtol=RTOL_RECURRENT, path="affine")


def test_multi_input_multi_output_with_loss_weights(sample_deltas):
    x, y = multi_io_data()
    model = multi_io(keras.optimizers.Nadam(1e-3))
    model.train_on_batch(x, y)
    check(sample_deltas, model, x, y, path="affine")


def test_subclassed_model_with_losses_added_in_call(sample_deltas, mlp_xy):
    x, y = mlp_xy
    model = subclassed(keras.optimizers.Adagrad(1e-2))
    frame = check(sample_deltas, model, x, y, path="affine")
    # the added losses are in pre: without them the loss would be smaller
    y_pred = model(x[:N], training=False)
    bare = float(model._compile_loss(y[:N], y_pred))
    assert frame["pre"].iloc[0] > bare + 1e-3


def test_spectral_normalization(sample_deltas, mlp_xy):
    # The training forward pass writes the normalized kernel into the variable, and the step
    # starts from it: the batched clone cannot know, the check sends it to the exact path.
    x, y = mlp_xy
    model = spectral(keras.optimizers.Nadam(1e-3))
    frame = check(sample_deltas, model, x, y, path="exact")
    assert "writes trainable weights" in frame.attrs["exact_path_reason"]


# ----------------------------------------------------------------------------- caches
def test_recompiling_with_the_same_optimizer_uses_the_new_loss(sample_deltas, mlp_xy):
    x, y = mlp_xy
    optimizer = keras.optimizers.SGD(0.05, momentum=0.9)
    model = mlp(optimizer)
    check(sample_deltas, model, x, y)
    model.compile(optimizer=optimizer, loss="mae", run_eagerly=True)
    check(sample_deltas, model, x, y)
    model.layers[0].trainable = False  # freeze a layer and recompile: another trainable set
    model.compile(optimizer=optimizer, loss="mae", run_eagerly=True)
    check(sample_deltas, model, x, y)


def test_clipping_checked_on_every_call(sample_deltas, mlp_xy):
    # First call: gradients far below clipnorm (no clipping); second call: clipping acts. Both
    # must equal real steps (the check of the clone is not carried over from the first call).
    x, y = mlp_xy
    model = mlp(keras.optimizers.SGD(0.05, global_clipnorm=1.0))
    noise = np.random.default_rng(3).normal(scale=1e-2, size=y.shape).astype("float32")
    check(sample_deltas, model, x, model.predict(x, verbose=0) + noise)  # tiny residuals
    check(sample_deltas, model, x, y + 50.0)


# ----------------------------------------------------------------------------- warnings
class PenaltyStepModel(keras.Model):
    def __init__(self):
        super().__init__()
        self.dense = keras.layers.Dense(1, kernel_initializer=_init(20))

    def call(self, inputs):
        return self.dense(inputs)

    def train_step(self, data):  # a custom step lrstats cannot see into
        return super().train_step(data)


def test_overridden_train_step_is_named_in_a_warning(sample_deltas, mlp_xy):
    x, y = mlp_xy
    model = PenaltyStepModel()
    model(np.zeros((1, 4), "float32"))
    model.compile(optimizer="sgd", loss="mse")
    with pytest.warns(TrainStepWarning, match=r"PenaltyStepModel\.train_step.*compute_loss"):
        sample_deltas(model, x, y, lrs=LRS, replicates=2, batch_size=8, seed=0, progress=False)


def test_accumulating_step_is_warned_and_equals_keras(sample_deltas, mlp_xy):
    x, y = mlp_xy
    model = mlp(keras.optimizers.SGD(0.05, gradient_accumulation_steps=2))
    with pytest.warns(StepWarning, match="only accumulates"):
        frame = sample_deltas(
            model, x, y, lrs=LRS, replicates=2, batch_size=N, seed=SEED, progress=False
        )
    # as Keras: the weights stay (pre and post come from two compiled passes: 1 ulp apart)
    np.testing.assert_allclose(frame["post"], frame["pre"], rtol=1e-6)
    model.train_on_batch(x, y)  # iteration 1: the next step is a real one
    with warnings.catch_warnings():
        warnings.simplefilter("error", StepWarning)
        check(sample_deltas, model, x, y)


def test_a_step_keras_cannot_take_raises_and_leaves_the_model_alone(sample_deltas):
    # Keras 3.15.1's sparse RMSprop (centered, momentum) fails on repeated ids from its second
    # step on; lrstats takes the same real step, so it raises the same error, state intact.
    import tensorflow as tf

    x, y = recurrent_data()
    model = recurrent(EXTRA_OPTIMIZERS["rmsprop"](), "gru")
    model.train_on_batch(x, y)
    before = snapshot(model)
    with pytest.raises(tf.errors.InvalidArgumentError):
        sample_deltas(model, x, y, lrs=LRS, replicates=2, batch_size=N, seed=SEED, progress=False)
    assert_same_state(before, snapshot(model))
    with pytest.raises(tf.errors.InvalidArgumentError):
        model.train_on_batch(x, y)


def test_wide_target_of_one_output_is_refused_by_name(sample_deltas):
    # targets are matched to outputs by name (dict order is not the outputs' order)
    x, y = multi_io_data()
    model = multi_io(keras.optimizers.SGD(0.01))
    wide = {"reg": np.repeat(y["reg"], 3, axis=1), "cls": y["cls"]}
    before = snapshot(model)
    with pytest.raises(ValueError, match=r"`y\['reg'\]` must match the model's output: .* 3 col"):
        sample_deltas(model, x, wide, lrs=LRS, replicates=2, batch_size=8, seed=0, progress=False)
    assert_same_state(before, snapshot(model))
