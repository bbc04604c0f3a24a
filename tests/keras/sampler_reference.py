"""A naive reference for ``lrstats.keras.sample_deltas``: one real optimizer step per (replicate, lr).

It is deliberately slow and obvious. For every replicate it draws the subsample exactly as the
sampler's contract says, computes the gradient in training mode with a ``GradientTape``, and then,
for every learning rate, from the state the training forward pass left (BatchNormalization
moving statistics), assigns the rate to the optimizer, takes one real
``optimizer.apply_gradients`` step, evaluates the compiled loss (``model.compute_loss``) on the
evaluation batch, and restores every model and optimizer variable from a snapshot.

Nothing here is shared with the sampler's implementation; only the contract is.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import tensorflow as tf

from lrstats._streams import NAMESPACES


def replicate_generator(seed: int, replicate: int) -> np.random.Generator:
    """The generator the contract assigns to replicate ``replicate`` of a run seeded ``seed``.

    The "sampling" namespace of :mod:`lrstats._streams` (its first spawn-key word is
    ``NAMESPACES["sampling"]``), keyed by the replicate id.
    """
    return np.random.default_rng(
        np.random.SeedSequence(seed, spawn_key=(NAMESPACES["sampling"], replicate))
    )


def subsample_indices(
    seed: int, replicate: int, n_rows: int, batch_size: int, evaluate: str = "same"
) -> tuple[np.ndarray, np.ndarray]:
    """Row indices of the gradient batch and of the evaluation batch of one replicate."""
    rng = replicate_generator(seed, replicate)
    gradient_rows = rng.choice(n_rows, size=batch_size, replace=False)
    if evaluate == "fresh":
        evaluation_rows = rng.choice(n_rows, size=batch_size, replace=False)
    else:
        evaluation_rows = gradient_rows
    return gradient_rows, evaluation_rows


def take(data: Any, rows: np.ndarray) -> Any:
    """Rows ``rows`` of an array, a pandas object, a dict or a list/tuple of arrays (or None)."""
    if data is None:
        return None
    if isinstance(data, Mapping):
        return {key: take(value, rows) for key, value in data.items()}
    if isinstance(data, (list, tuple)):
        return type(data)(take(value, rows) for value in data)
    if isinstance(data, (pd.DataFrame, pd.Series)):
        return data.to_numpy()[rows]
    return np.asarray(data)[rows]


def snapshot(model) -> list[np.ndarray]:
    """Copies of every variable of :func:`state_variables`, in that order."""
    return [np.array(v.numpy(), copy=True) for v in state_variables(model)]


def state_variables(model) -> list:
    """Model variables (trainable and not), optimizer variables (iterations, lr, slots), metrics."""
    return [*model.variables, *model.optimizer.variables, *model.metrics_variables]


def restore(model, values: Sequence[np.ndarray]) -> None:
    variables = state_variables(model)
    if len(variables) != len(values):
        raise RuntimeError("the set of variables changed while the reference ran")
    for variable, value in zip(variables, values, strict=True):
        variable.assign(value)


def states_equal(before: Sequence[np.ndarray], after: Sequence[np.ndarray]) -> bool:
    """Bit-identical comparison of two snapshots (NaN payloads compared as equal)."""
    if len(before) != len(after):
        return False
    return all(
        a.dtype == b.dtype
        and a.shape == b.shape
        and np.array_equal(a, b, equal_nan=a.dtype.kind == "f")
        for a, b in zip(before, after, strict=True)
    )


def assert_same_state(before: Sequence[np.ndarray], after: Sequence[np.ndarray]) -> None:
    """Like :func:`states_equal`, but says which variable differs and by how much."""
    assert len(before) == len(after), f"{len(before)} variables before, {len(after)} after"
    for i, (a, b) in enumerate(zip(before, after, strict=True)):
        assert a.dtype == b.dtype and a.shape == b.shape, (
            f"variable {i}: {a.dtype}{a.shape} before, {b.dtype}{b.shape} after"
        )
        assert np.array_equal(a, b, equal_nan=a.dtype.kind == "f"), (
            f"variable {i} changed: max |diff| {np.nanmax(np.abs(a.astype(float) - b.astype(float)))}"
        )


def compiled_loss(model, x, y, sample_weight, *, training: bool) -> float:
    """``model.compute_loss`` at the current weights, with the forward pass in the given mode."""
    y_pred = model(x, training=training)
    loss = model.compute_loss(
        x=x, y=y, y_pred=y_pred, sample_weight=sample_weight, training=training
    )
    return float(loss.numpy())


def gradients(model, x, y, sample_weight) -> list:
    with tf.GradientTape() as tape:
        y_pred = model(x, training=True)
        loss = model.compute_loss(
            x=x, y=y, y_pred=y_pred, sample_weight=sample_weight, training=True
        )
    return tape.gradient(loss, model.trainable_variables)


def reference_deltas(
    model,
    x,
    y=None,
    *,
    lrs: Iterable[float],
    replicates: int | range,
    batch_size: int,
    seed: int,
    evaluate: str = "same",
    eval_mode: str = "inference",
    sample_weight=None,
) -> pd.DataFrame:
    """The ``lr, replicate, pre, post`` frame computed by the naive loop (sorted like the sampler's).

    ``x``/``y``/``sample_weight`` must already be indexable by row (arrays, pandas objects, or a
    dict/list of arrays for multi-input or multi-output models).
    """
    lrs = np.asarray(list(lrs), dtype=np.float64)
    replicate_ids = range(replicates) if isinstance(replicates, int) else replicates
    first = next(iter(x.values())) if isinstance(x, Mapping) else x
    if isinstance(first, (list, tuple)):
        first = first[0]
    n_rows = len(first)
    optimizer = model.optimizer
    if not optimizer.built:
        optimizer.build(model.trainable_variables)
    saved = snapshot(model)
    evaluation_training = eval_mode == "training"
    records = []
    try:
        for replicate in replicate_ids:
            gradient_rows, evaluation_rows = subsample_indices(
                seed, replicate, n_rows, batch_size, evaluate
            )
            grads = gradients(
                model,
                take(x, gradient_rows),
                take(y, gradient_rows),
                take(sample_weight, gradient_rows),
            )
            # The training-mode pass may update non-trainable state (BatchNorm moving
            # statistics); a real training step steps from that state, pre is measured before.
            after_forward = snapshot(model)
            restore(model, saved)
            x_eval = take(x, evaluation_rows)
            y_eval = take(y, evaluation_rows)
            w_eval = take(sample_weight, evaluation_rows)
            pre = compiled_loss(model, x_eval, y_eval, w_eval, training=evaluation_training)
            for lr in lrs:
                restore(model, after_forward)
                optimizer.learning_rate.assign(lr)
                optimizer.apply_gradients(zip(grads, model.trainable_variables, strict=True))
                post = compiled_loss(model, x_eval, y_eval, w_eval, training=evaluation_training)
                records.append((float(lr), int(replicate), pre, post))
            restore(model, saved)
    finally:
        restore(model, saved)
    frame = pd.DataFrame.from_records(records, columns=["lr", "replicate", "pre", "post"])
    frame = frame.astype(
        {"lr": "float64", "replicate": "int64", "pre": "float64", "post": "float64"}
    )
    return frame.sort_values(["replicate", "lr"], ignore_index=True)


def assert_deltas_close(got: pd.DataFrame, expected: pd.DataFrame, *, rtol: float = 1e-5) -> None:
    """``lr``/``replicate`` identical; ``pre``, ``post`` and ``post - pre`` equal to float32 accuracy.

    The tolerance is relative to the loss magnitude of the row (``max(|pre|, |post|)`` of the
    expected frame), so that tiny differentials at small learning rates are still checked against
    the loss they are a difference of, and large losses at big learning rates relative to themselves.
    """
    assert list(got.columns[:4]) == ["lr", "replicate", "pre", "post"], list(got.columns)
    assert len(got) == len(expected), (len(got), len(expected))
    np.testing.assert_array_equal(got["replicate"].to_numpy(), expected["replicate"].to_numpy())
    np.testing.assert_array_equal(got["lr"].to_numpy(), expected["lr"].to_numpy())
    exp_pre = expected["pre"].to_numpy()
    exp_post = expected["post"].to_numpy()
    scale = np.maximum(np.abs(exp_pre), np.abs(exp_post))
    for column, want in (
        ("pre", exp_pre),
        ("post", exp_post),
        ("delta", exp_post - exp_pre),
    ):
        have = (
            got["post"].to_numpy() - got["pre"].to_numpy()
            if column == "delta"
            else got[column].to_numpy()
        )
        error = np.abs(have - want)
        bad = ~(error <= rtol * scale)
        if bad.any():
            worst = int(np.argmax(np.where(bad, error / scale, -np.inf)))
            raise AssertionError(
                f"{column}: {int(bad.sum())} of {len(bad)} rows differ by more than rtol={rtol:g} of the "
                f"loss magnitude; worst at lr={float(expected['lr'].iloc[worst])!r}, "
                f"replicate={expected['replicate'].iloc[worst]}: got {float(have[worst])!r}, "
                f"expected {float(want[worst])!r} (relative error {error[worst] / scale[worst]:.3g})"
            )
