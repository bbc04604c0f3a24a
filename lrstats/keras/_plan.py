"""Validation and planning of one ``sample_deltas`` call: nothing here touches model state."""

from __future__ import annotations

import numbers
import platform
import warnings
from dataclasses import dataclass
from typing import Any

import keras
import numpy as np
import tensorflow as tf

from lrstats._streams import seed_sequence
from lrstats._validation import check_int
from lrstats._version import __version__
from lrstats.keras._data import DataPool, leaves
from lrstats.keras._keras_private import (
    all_layers,
    applied_steps,
    compiled_loss,
    inner_optimizer,
    overridden_train_step,
)

# Working memory the automatic chunking aims for (activations and stacked weights).
MEMORY_BUDGET_BYTES = 1 << 30
MAX_AUTO_CHUNK = 256
# Bound on the frame itself (lr, replicate, pre, post: 32 bytes a row): larger runs are
# refused up front and should be sharded with ``replicates=range(...)``.
MAX_FRAME_BYTES = 4 << 30


class TrainStepWarning(UserWarning):
    """The model overrides ``train_step``: lrstats measures Keras' standard step instead."""


class StepWarning(UserWarning):
    """The optimizer's next step is not a plain step (e.g. it only accumulates gradients)."""


@dataclass(frozen=True)
class Plan:
    """The validated settings of one ``sample_deltas`` call."""

    grid: np.ndarray  # sorted learning rates
    replicate_ids: np.ndarray
    batch_size: int
    entropy: int  # the seed actually used
    evaluate: str
    eval_mode: str
    chunk: int  # replicates per compiled call
    lr_chunk: int  # learning rates per inner batch


def versions() -> dict[str, str]:
    """Versions a Keras-side frame records in its provenance (``attrs["versions"]``)."""
    return {
        "lrstats": __version__,
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "numpy": np.__version__,
        "python": platform.python_version(),
    }


def optimizer_config(optimizer: Any, *, drop: tuple[str, ...] = ()) -> dict[str, Any]:
    """``optimizer.get_config()`` as provenance: plain values kept, anything else as its repr."""
    config = {}
    for key, value in optimizer.get_config().items():
        if key in drop:
            continue
        if isinstance(value, np.generic):
            value = value.item()
        if isinstance(value, (str, int, float, bool)) or value is None:
            config[key] = value
        else:
            config[key] = repr(value)
    return config


# ----------------------------------------------------------------------------- validation
def is_compiled(model: Any) -> bool:
    """``model.compile(optimizer=...)`` was called (the optimizer is set)."""
    return (
        bool(getattr(model, "compiled", False)) and getattr(model, "optimizer", None) is not None
    )


def lacks_loss(model: Any) -> bool:
    """Compiled without a loss and without an overridden ``compute_loss``: nothing to train."""
    return compiled_loss(model) is None and type(model).compute_loss is keras.Model.compute_loss


def check_model(model: Any) -> None:
    if not isinstance(model, keras.Model):
        raise TypeError(
            f"`model` must be a keras.Model. Received: model of type {type(model).__name__}"
        )
    if not model.built or not model.trainable_variables:
        raise ValueError(
            "`model` must be built (call it on data or give it an Input) and have trainable "
            f"weights. Received: model={model.name!r} (built={model.built})"
        )
    if not is_compiled(model):
        raise ValueError(
            "`model` must be compiled with an optimizer and a loss (model.compile(optimizer=..., "
            f"loss=...)). Received: model={model.name!r} with optimizer="
            f"{getattr(model, 'optimizer', None)!r}"
        )
    if lacks_loss(model):
        raise ValueError(
            f"`model` must be compiled with a loss. Received: model={model.name!r} compiled without one"
        )


def warn_about_model(model: Any) -> None:
    """Warnings about what a Keras training step would do differently (before any work)."""
    name = overridden_train_step(model)
    if name is not None:
        warnings.warn(
            f"`model` overrides train_step ({name}); lrstats ignores it and measures Keras' "
            "standard step: the gradient of model.compute_loss (compiled loss plus added "
            "losses) in training mode, applied by model.optimizer. Anything else that "
            f"{name} does (extra penalties, several optimizers, other gradients) is not in "
            "the frame.",
            TrainStepWarning,
            stacklevel=3,
        )
    optimizer = inner_optimizer(model.optimizer)
    steps = getattr(optimizer, "gradient_accumulation_steps", None)
    if steps and steps > 1:
        applied = applied_steps(optimizer)
        if (applied + 1) % steps != 0:
            warnings.warn(
                f"`model.optimizer` accumulates gradients (gradient_accumulation_steps={steps}) "
                f"and its next apply (call {applied + 1}) only accumulates: the weights "
                "do not move, so post == pre at every lr, as in a real training step.",
                StepWarning,
                stacklevel=3,
            )


def replicate_ids(
    replicates: Any, n_lrs: int, *, minimum: int = 2, rows_per_member: int = 1, row_bytes: int = 32
) -> np.ndarray:
    """The replicate ids asked for, refused up front when the frame would not fit in memory.

    ``minimum`` is the least count an integer may give (``sample_deltas`` needs 2 for its
    paired statistics; ``sample_trajectories`` accepts 1). Each (replicate, lr) member
    gives ``rows_per_member`` rows of ``row_bytes`` bytes (the lookahead frame has one
    row per step).
    """
    if isinstance(replicates, range):
        if len(replicates) < 1:
            raise ValueError(
                f"`replicates` must not be an empty range. Received: replicates={replicates!r}"
            )
        if replicates.step < 0:
            raise ValueError(
                "`replicates` must be an ascending range of replicate ids. "
                f"Received: replicates={replicates!r}"
            )
        if replicates.start < 0:
            raise ValueError(f"`replicates` ids must be >= 0. Received: replicates={replicates!r}")
        check_frame_size(len(replicates), n_lrs, rows_per_member, row_bytes)
        return np.asarray(replicates, dtype=np.int64)
    if isinstance(replicates, numbers.Integral) and not isinstance(replicates, bool):
        count = check_int(replicates, "replicates", minimum=minimum)
        check_frame_size(count, n_lrs, rows_per_member, row_bytes)
        return np.arange(count, dtype=np.int64)
    raise TypeError(
        f"`replicates` must be an integer >= {minimum} or a range of replicate ids. "
        f"Received: replicates={replicates!r}"
    )


def check_lr_types(lrs: Any) -> None:
    """Refuse booleans among the learning rates (NumPy would read True as 1.0)."""
    if isinstance(lrs, np.ndarray) and lrs.dtype == bool:
        raise TypeError(f"`lrs` must be real numbers, not booleans. Received: lrs={lrs!r}")
    if isinstance(lrs, (list, tuple)) and any(isinstance(v, (bool, np.bool_)) for v in lrs):
        raise TypeError(f"`lrs` must be real numbers, not booleans. Received: lrs={lrs!r}")


def check_frame_size(
    n_replicates: int, n_lrs: int, rows_per_member: int = 1, row_bytes: int = 32
) -> None:
    """Refuse a frame that would not fit in memory, before any work."""
    rows = n_replicates * n_lrs * rows_per_member
    per = f" x {rows_per_member} steps" if rows_per_member > 1 else ""
    if rows * row_bytes > MAX_FRAME_BYTES:
        raise ValueError(
            f"`replicates` is too large: {n_replicates} replicates x {n_lrs} lrs{per} = {rows} "
            f"rows ({rows * row_bytes / 2**30:.1f} GiB) exceed the {MAX_FRAME_BYTES / 2**30:.0f} GiB bound "
            "of one call. Run shards with replicates=range(start, stop) and concatenate them. "
            f"Received: replicates={n_replicates}"
        )


def check_data_fits_model(model: Any, pool: DataPool) -> None:
    """Refuse data that Keras would misread: strings where numbers are due, no targets."""
    for name, array in leaves(pool.y, "y"):
        if array.dtype.kind in "USO":
            raise TypeError(
                f"`{name}` must hold numbers. Received: {name} with dtype {array.dtype}"
            )
    input_dtypes = [str(getattr(t, "dtype", "")) for t in getattr(model, "inputs", None) or []]
    if input_dtypes and not any("string" in d for d in input_dtypes):
        for name, array in leaves(pool.x, "x"):
            if array.dtype.kind in "USO":
                raise TypeError(
                    f"`{name}` must hold numbers (the model's inputs are {input_dtypes}). "
                    f"Received: {name} with dtype {array.dtype}"
                )
    if pool.y is None and compiled_loss(model) is not None:
        raise ValueError(
            "`y` must be given: the model is compiled with a loss that compares predictions "
            f"with targets (loss={getattr(model, 'loss', None)!r}). Received: y=None"
        )


def check_target_shapes(y: Any, y_pred: Any) -> None:
    """Refuse targets whose width Keras would silently broadcast against the output."""
    if isinstance(y, dict) and isinstance(y_pred, dict):  # matched by output name
        pairs = [(f"y[{k!r}]", np.asarray(y[k]), y_pred[k]) for k in y if k in y_pred]
    else:
        targets = leaves(y, "y")
        outputs = tf.nest.flatten(y_pred)
        if len(targets) != len(outputs) or isinstance(y, dict) or isinstance(y_pred, dict):
            return
        pairs = [(name, array, out) for (name, array), out in zip(targets, outputs, strict=True)]
    for name, array, output in pairs:
        shape = tuple(output.shape)
        if array.ndim == len(shape) and array.ndim >= 2:
            width, out_width = array.shape[-1], shape[-1]
            if out_width is not None and width not in (1, out_width):
                raise ValueError(
                    f"`{name}` must match the model's output: {name} has {width} columns, the "
                    f"output has {out_width} (Keras would broadcast one against the other). "
                    f"Received: {name} with shape {array.shape}"
                )


# ----------------------------------------------------------------------------- subsamples
def replicate_draws(
    entropy: int, replicate: int, n_rows: int, batch_size: int, fresh: bool, n_seed_streams: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Gradient rows, evaluation rows and layer seeds of one replicate.

    Everything comes from the sampling stream of ``replicate`` alone
    (:func:`lrstats._streams.seed_sequence`), so a replicate is the same wherever and with
    whatever other replicates it is computed, and shares no bits with an analysis seeded
    with the same integer.
    """
    rng = np.random.default_rng(seed_sequence(entropy, "sampling", replicate))
    grad_rows = rng.choice(n_rows, size=batch_size, replace=False)
    eval_rows = rng.choice(n_rows, size=batch_size, replace=False) if fresh else grad_rows
    seeds = np.zeros((max(n_seed_streams, 1), 2), dtype=np.int64)
    seeds[:, 0] = rng.integers(0, 2**31 - 1, size=seeds.shape[0])
    return grad_rows, eval_rows, seeds


# ----------------------------------------------------------------------------- chunking
def activation_width(model: Any) -> int:
    """Numbers of activations per input row (sum of layer outputs), estimated."""
    total = 0
    try:
        for layer in all_layers(model)[1:]:
            output = getattr(layer, "output", None)
            if output is None:
                continue
            for tensor in tf.nest.flatten(output):
                total += int(np.prod([d or 1 for d in tensor.shape[1:]]))
    except Exception:
        total = 0
    if total == 0:
        total = max(sum(int(np.prod(v.shape)) for v in model.trainable_variables) // 20, 256)
    return total


def auto_chunks(
    model: Any, n_lrs: int, batch_size: int, n_replicates: int, row_width: int
) -> tuple[int, int]:
    """(replicates per chunk, lrs per inner batch) within the working-memory budget.

    Half the budget goes to the per-replicate forward pass over a block of lrs (stacked
    weights and activations), half to the chunk's state (gradients, two stepped weight
    sets, optimizer slots and the gathered rows). Chunks are balanced so the last one
    is not mostly padding. Chunking never changes the values: each replicate is
    computed with the same shapes whatever the chunk.
    """
    n_params = sum(int(np.prod(v.shape)) for v in model.trainable_variables)
    per_lr = 4 * (3 * n_params + 3 * batch_size * activation_width(model))
    lr_chunk = int(min(n_lrs, max(1, (MEMORY_BUDGET_BYTES // 2) // per_lr)))
    per_replicate = 4 * (10 * n_params + 2 * batch_size * row_width)
    most = int(min(MAX_AUTO_CHUNK, max(1, (MEMORY_BUDGET_BYTES // 2) // per_replicate)))
    n_chunks = -(-n_replicates // most)
    return -(-n_replicates // n_chunks), lr_chunk


def check_lrs_for(grid: np.ndarray) -> np.ndarray:
    """Interior learning rates at which affinity is checked (the grid's thirds)."""
    if grid.size >= 4:
        picks = np.unique(np.round(np.array([1, 2]) * (grid.size - 1) / 3).astype(int))
        return grid[picks]
    if grid.size == 3:
        return grid[1:2]
    return np.array([np.sqrt(grid[0] * (grid[-1] if grid.size > 1 else 2.0 * grid[0]))])
