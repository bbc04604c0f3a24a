"""``sample_trajectories``: a few real training steps at every learning rate, on the device."""

from __future__ import annotations

import platform
import warnings
from dataclasses import dataclass
from typing import Any

import keras
import numpy as np
import pandas as pd
import tensorflow as tf

from lrstats._progress import progress_bar
from lrstats._streams import check_seed, seed_sequence
from lrstats._validation import check_int, check_lrs, check_real
from lrstats._version import __version__
from lrstats.keras._data import DataPool, leaves, prepare_data
from lrstats.keras._engine import UnsupportedOptimizer
from lrstats.keras._keras_private import overridden_train_step
from lrstats.keras._lookahead_engine import get_engine, live_loss
from lrstats.keras._plan import (
    activation_width,
    check_data_fits_model,
    check_lr_types,
    check_model,
    optimizer_config,
    replicate_ids,
)
from lrstats.keras._sampler import DivergenceWarning
from lrstats.keras._sampler import _prebuild_loss as prebuild_loss
from lrstats.keras._sampler import _to_tensors as pool_tensors
from lrstats.keras._state import StateSnapshot, settable_learning_rate
from lrstats.keras._verify import own_train_step, real_step, trajectory_matches_real

__all__ = ["sample_trajectories"]

# Working memory the automatic chunking aims for (stacked weights, slots, activations).
MEMORY_BUDGET_BYTES = 1 << 30
MAX_AUTO_CHUNK = 4096
# The batched path is checked against this many real steps (see _verified).
CHECK_STEPS = 3
# Agreement required between the batched clone and real steps of the real optimizer, after
# CHECK_STEPS steps: weights within CHECK_STEP_RTOL of the distance they moved plus
# CHECK_WEIGHT_RTOL of the largest starting weight (float32 rounding), losses within
# CHECK_LOSS_RTOL. Measured on the test optimizers (SGD, momentum, Nesterov, Adam, AdamW,
# RMSprop) the batched path agrees with real steps to ~1e-6 relative after 20 steps; an
# optimizer whose update mixes members (a norm over the stacked variable) misses by a
# large share of the step.
CHECK_STEP_RTOL = 0.01
CHECK_WEIGHT_RTOL = 1e-6
CHECK_LOSS_RTOL = 1e-4


@dataclass(frozen=True)
class _Plan:
    """The validated settings of one ``sample_trajectories`` call."""

    grid: np.ndarray
    replicate_ids: np.ndarray
    steps: int
    batch_size: int
    entropy: int
    eval_steps: np.ndarray  # steps after which val_loss is measured (1-based)
    validation: str  # "validation_data", "validation_split" or "none"
    chunk: int  # at most this many members per compiled chunk (see _chunk_shape)
    n_train: int
    n_val: int


# ----------------------------------------------------------------------------- validation
def _split_validation(
    pool: DataPool, validation_data: Any, validation_split: float, max_rows: int
) -> tuple[DataPool, DataPool | None, str]:
    """The training pool and the validation pool (or None) and where the latter came from."""
    if validation_data is not None:
        if validation_split:
            raise ValueError(
                "`validation_split` must be 0 when `validation_data` is given. "
                f"Received: validation_split={validation_split!r}"
            )
        if isinstance(validation_data, (tuple, list)) and len(validation_data) in (2, 3):
            parts = list(validation_data) + [None] * (3 - len(validation_data))
            val = prepare_data(parts[0], parts[1], parts[2], max_rows=max_rows)
        elif type(validation_data).__module__.startswith("tensorflow") and hasattr(
            validation_data, "element_spec"
        ):
            val = prepare_data(validation_data, None, None, max_rows=max_rows)
        else:
            raise TypeError(
                "`validation_data` must be a tuple (x_val, y_val), (x_val, y_val, "
                "sample_weight_val) or a tf.data.Dataset. Received: validation_data of type "
                f"{type(validation_data).__name__}"
            )
        return pool, val, "validation_data"
    if not validation_split:
        return pool, None, "none"
    n_val = int(pool.n_rows * validation_split)
    n_train = pool.n_rows - n_val
    if n_val < 1 or n_train < 1:
        raise ValueError(
            "`validation_split` must leave at least one row on each side of the split. "
            f"Received: validation_split={validation_split!r} with {pool.n_rows} rows"
        )

    def part(structure: Any, rows: slice) -> Any:
        if structure is None:
            return None
        return tf.nest.map_structure(lambda a: a[rows], structure)

    train = DataPool(
        x=part(pool.x, slice(0, n_train)),
        y=part(pool.y, slice(0, n_train)),
        sample_weight=None if pool.sample_weight is None else pool.sample_weight[:n_train],
        n_rows=n_train,
    )
    val = DataPool(
        x=part(pool.x, slice(n_train, None)),
        y=part(pool.y, slice(n_train, None)),
        sample_weight=None if pool.sample_weight is None else pool.sample_weight[n_train:],
        n_rows=n_val,
    )
    return train, val, "validation_split"


def _eval_steps(eval_every: Any, steps: int) -> np.ndarray:
    if eval_every is None:
        eval_every = max(1, steps // 10)
    eval_every = check_int(eval_every, "eval_every", minimum=1)
    return np.unique(np.append(np.arange(eval_every, steps + 1, eval_every), steps))


# ----------------------------------------------------------------------------- minibatches
def replicate_batches(entropy: int, replicate: int, n_rows: int, batch_size: int, steps: int):
    """Row indices (steps, batch_size) of replicate ``replicate``'s minibatches.

    Epochs of the training rows in an order drawn fresh each epoch; each step takes the next
    ``batch_size`` rows, and an epoch's last incomplete batch is skipped (every step sees a
    full batch). Drawn from the lookahead stream of ``(seed, replicate)`` alone
    (:func:`lrstats._streams.seed_sequence`): the same for every lr and wherever computed.
    """
    rng = np.random.default_rng(seed_sequence(entropy, "lookahead", replicate))
    per_epoch = n_rows // batch_size
    batches = []
    while len(batches) < steps:
        order = rng.permutation(n_rows)
        batches.extend(order[: per_epoch * batch_size].reshape(per_epoch, batch_size))
    return np.stack(batches[:steps]).astype(np.int32)


# ----------------------------------------------------------------------------- chunking
def _auto_chunk(model: Any, batch_size: int, n_val: int, row_width: int) -> int:
    """Members per chunk within the working-memory budget.

    Per member: stacked weights, gradients and up to four optimizer slots (6 copies of the
    parameters), the training forward and backward activations (3 per row) and the
    validation forward pass over every validation row.
    """
    n_params = sum(int(np.prod(v.shape)) for v in model.trainable_variables)
    width = activation_width(model)
    per_member = 4 * (6 * n_params + batch_size * (3 * width + row_width) + n_val * width)
    return int(min(MAX_AUTO_CHUNK, max(1, MEMORY_BUDGET_BYTES // per_member)))


def _chunk_shape(plan: _Plan) -> tuple[int, int]:
    """(replicates per chunk, lrs per replicate group) for ``plan.chunk`` members.

    The lr block depends on the grid and the budget only, never on the replicates, so a
    replicate is computed with the same shapes in a shard as in the whole run.
    """
    group_size = min(plan.grid.size, plan.chunk)
    most = max(1, plan.chunk // group_size)
    n_chunks = -(-plan.replicate_ids.size // most)
    return -(-plan.replicate_ids.size // n_chunks), group_size


def _batched_refusal(model: Any) -> str | None:
    """Why the batched clone cannot be trusted for the whole run (None: it can be tried).

    What acts across steps in ways a few checked steps may not reveal: a norm over the
    stacked variable would mix members once clipping starts; gradient accumulation and an
    overridden ``train_step`` change what a step is. What no optimizer clone can
    reproduce (a dynamic loss scale, constraints) is refused where the clone is built,
    for both engines (:func:`lrstats.keras._engine.clone_optimizer`); sparse gradients
    and forward passes that write weights are found by the check against real steps
    (:func:`lrstats.keras._verify.step_mismatch`).
    """
    name = overridden_train_step(model)
    if name is not None:
        return f"the model overrides train_step ({name}): its own step is run"
    optimizer = model.optimizer
    for name in ("clipnorm", "global_clipnorm", "gradient_accumulation_steps"):
        if getattr(optimizer, name, None):
            return f"{name}={getattr(optimizer, name)!r} acts across members or steps"
    return None


# ----------------------------------------------------------------------------- public API
def sample_trajectories(
    model: Any,
    x: Any,
    y: Any = None,
    *,
    lrs: Any,
    replicates: int | range,
    steps: int,
    batch_size: int,
    seed: int | None = None,
    validation_data: Any = None,
    validation_split: float = 0.0,
    eval_every: int | None = None,
    sample_weight: Any = None,
    chunk_size: int | None = None,
    max_rows: int = 100_000,
    progress: bool = True,
) -> pd.DataFrame:
    """Short training runs at every learning rate: loss per step, for paired replicates.

    From the model's current state, every *member* — a (replicate, lr) pair — takes
    ``steps`` real training steps of the model's own compiled optimizer at a constant
    learning rate, on minibatches of ``batch_size`` rows. Replicate ``r``'s minibatch
    sequence is the same for every lr (the design is paired). The model is left exactly
    as it was.

    Parameters
    ----------
    model : keras.Model
        A built model compiled with an optimizer and a loss, using Keras' own
        ``train_step``.
    x : array-like, dict of arrays, or tf.data.Dataset
        Training inputs (as for :func:`lrstats.keras.sample_deltas`).
    y : array-like or structure of arrays, optional
        Targets; omit when ``x`` is a dataset.
    lrs : array_like
        Learning rates: finite, > 0, distinct. Each is held constant for the run (a
        learning-rate schedule of the optimizer is replaced by it).
    replicates : int or range
        ``M`` gives ids ``0 … M-1``; a ``range`` computes just those ids, so shards
        concatenate into the single-run frame.
    steps : int
        Training steps per member (>= 1).
    batch_size : int
        Rows per minibatch, ``1 <= batch_size <=`` the number of training rows.
    seed : int, optional
        Seed of the minibatch order. ``None`` draws fresh entropy; the value used is
        stored in ``frame.attrs["seed"]``.
    validation_data : tuple or tf.data.Dataset, optional
        ``(x_val, y_val)`` or ``(x_val, y_val, sample_weight_val)``: ``val_loss`` is the
        loss on all of it.
    validation_split : float, default 0.0
        Without ``validation_data``: hold out the *last* ``validation_split`` fraction of
        the rows of ``x`` (before any shuffling, as ``keras.Model.fit`` does) for
        ``val_loss`` and train on the rest. ``0`` (and no ``validation_data``): no
        ``val_loss`` column.
    eval_every : int, optional
        Measure ``val_loss`` after every ``eval_every`` steps and after the last step.
        Default: ``max(1, steps // 10)``.
    sample_weight : array_like, optional
        One weight per row of ``x``, used in the training loss.
    chunk_size : int, optional
        Members per compiled chunk. Default: as many as fit a 1 GiB working-memory budget,
        balanced over the chunks. Changes speed and memory, not the trajectories beyond
        float32 rounding.
    max_rows : int, default 100000
        Bound on the rows materialized from a ``tf.data.Dataset``.
    progress : bool, default True
        Show a tqdm progress bar over steps.

    Returns
    -------
    pandas.DataFrame
        Long frame, one row per (replicate, lr, step), sorted in that order: ``lr``
        (float64), ``replicate`` (int64), ``step`` (int64, 1 … steps), ``loss`` (float64:
        the training loss of step ``step``'s minibatch at the weights before that step's
        update, what ``train_on_batch`` returns), and with validation data ``val_loss``
        (float64: the validation loss after ``step`` updates, in inference mode; NaN at
        steps not evaluated). Non-finite values record divergence. ``attrs`` holds the
        provenance: ``sampler``, ``seed``, ``steps``, ``batch_size``, ``eval_steps``,
        ``validation`` (``"validation_data"``, ``"validation_split"`` or ``"none"``),
        ``n_train_rows``, ``n_validation_rows``, ``initial_val_loss``, ``optimizer``,
        ``optimizer_config``, ``path``, ``exact_path_reason``, ``chunk_size``,
        ``versions``, ...

    Notes
    -----
    *Minibatches.* Replicate ``r`` draws, from the lookahead stream of ``(seed, r)``, a
    fresh order of the training rows each epoch and takes consecutive batches of
    ``batch_size`` rows; the last incomplete batch of an epoch is skipped.

    *Batched path.* All members of a chunk train at once in one compiled program:
    stacked copies of the weights, non-trainable state and optimizer slots, a
    ``tf.vectorized_map`` of ``model.stateless_call`` over the members, and a clone of the
    model's optimizer (same class and config) that applies each member's own learning
    rate. Before it is trusted, three steps at the grid's smallest and median lr and the
    first step at its largest (where unstable training amplifies rounding), on replicate
    0's minibatches whatever replicates the call holds, so every shard of a run takes the
    same path, are compared with real steps of the model's own optimizer on the live
    model (restored afterwards): weights must agree within 1% of
    the distance they moved (plus 1e-6 of the largest weight) and losses within 1e-4
    relative; the verdict is cached per compiled loss, optimizer configuration, set of
    variables and check data (seed, batch size, grid).
    The same real step detects sparse (``IndexedSlices``) gradients and forward passes that
    write weights (``SpectralNormalization``). Otherwise, and for what the batched program
    cannot reproduce (``LossScaleOptimizer`` / ``mixed_float16``, ``clipnorm``,
    ``global_clipnorm``, ``gradient_accumulation_steps``, ``loss_scale_factor``,
    variables with a ``constraint``, an overridden ``train_step``), the *exact path* runs:
    real steps, member after member, restoring the state between members; an overridden
    ``train_step`` is itself run, as ``train_on_batch`` runs it (its ``"loss"`` log is the
    ``loss`` column). ``attrs["path"]`` says which path ran and
    ``attrs["exact_path_reason"]`` why; ``docs/lookahead.md`` has the support table.

    A member whose loss diverges keeps going with inf/NaN values, which are data; the
    other members are unaffected (a :class:`DivergenceWarning` says how many). Afterwards
    every model and optimizer variable is bit-identical to before, also when the call
    raises or is interrupted; an optimizer that was never built is built.

    Examples
    --------
    >>> import lrstats
    >>> from lrstats.keras import sample_trajectories
    >>> frame = sample_trajectories(model, x, y, lrs=lrstats.log_grid(1e-4, 1, 11),
    ...                             replicates=4, steps=100, batch_size=64, seed=0,
    ...                             validation_split=0.2)  # doctest: +SKIP
    """
    # ---- validate everything before touching any state
    check_model(model)
    check_lr_types(lrs)
    grid = np.sort(check_lrs(lrs))
    steps = check_int(steps, "steps", minimum=1)
    # one frame row per (replicate, lr, step): lr, replicate, step, loss, val_loss
    ids = replicate_ids(replicates, grid.size, minimum=1, rows_per_member=steps, row_bytes=40)
    batch_size = check_int(batch_size, "batch_size", minimum=1)
    validation_split = check_real(
        validation_split, "validation_split", low=0.0, high=1.0, high_inclusive=False
    )
    eval_steps = _eval_steps(eval_every, steps)
    max_rows = check_int(max_rows, "max_rows", minimum=1)
    if chunk_size is not None:
        chunk_size = check_int(chunk_size, "chunk_size", minimum=1)
    if not isinstance(progress, bool):
        raise TypeError(f"`progress` must be True or False. Received: progress={progress!r}")
    entropy = check_seed(seed, "seed")
    pool = prepare_data(x, y, sample_weight, max_rows=max_rows)
    train, val, validation = _split_validation(pool, validation_data, validation_split, max_rows)
    if batch_size > train.n_rows:
        raise ValueError(
            f"`batch_size` must be <= the number of training rows ({train.n_rows}). "
            f"Received: batch_size={batch_size}"
        )
    check_data_fits_model(model, train)
    if val is not None:
        check_data_fits_model(model, val)
    train_t = _to_tensors(train)
    val_t = _to_tensors(val)
    # target shapes checked and the compiled loss built outside any trace (as the sampler does)
    prebuild_loss(model, train_t, batch_size, train.y)
    if val is not None:
        prebuild_loss(model, val_t, min(batch_size, val.n_rows), val.y)

    optimizer = model.optimizer
    if not optimizer.built:
        optimizer.build(model.trainable_variables)  # the one change allowed

    row_width = sum(int(np.prod(a.shape[1:])) for _, a in leaves(train.x))
    n_val = 0 if val is None else val.n_rows
    chunk = chunk_size or _auto_chunk(model, batch_size, n_val, row_width)
    plan = _Plan(
        grid=grid,
        replicate_ids=ids,
        steps=steps,
        batch_size=batch_size,
        entropy=entropy,
        eval_steps=eval_steps,
        validation=validation,
        chunk=chunk,
        n_train=train.n_rows,
        n_val=n_val,
    )
    snapshot = StateSnapshot(model)
    try:
        losses, val_losses, initial_val, path, reason = _run(
            model, train_t, val_t, plan, snapshot, progress
        )
    finally:
        snapshot.restore()

    n_bad = int((~np.isfinite(losses)).sum())
    if n_bad:
        bad_members = ~np.isfinite(losses).all(axis=-1)  # (R, K)
        bad_lrs = grid[bad_members.any(axis=0)]
        warnings.warn(
            f"{int(bad_members.sum())} of {bad_members.size} runs reached a non-finite loss "
            f"(divergence), at {bad_lrs.size} learning rate(s) from {bad_lrs.min():.3g} to "
            f"{bad_lrs.max():.3g}. They are kept in the frame as inf/NaN.",
            DivergenceWarning,
            stacklevel=2,
        )
    n_rep, n_lr = ids.size, grid.size
    columns = {
        "lr": np.tile(np.repeat(grid, steps), n_rep),
        "replicate": np.repeat(ids, n_lr * steps),
        "step": np.tile(np.arange(1, steps + 1, dtype=np.int64), n_rep * n_lr),
        "loss": losses.astype(np.float64).ravel(),
    }
    if val is not None:
        columns["val_loss"] = val_losses.astype(np.float64).ravel()
    frame = pd.DataFrame(columns)
    frame.attrs.update(_provenance(model, plan, path, reason, initial_val))
    return frame


def _provenance(
    model: Any, plan: _Plan, path: str, reason: str | None, initial_val: float | None
) -> dict:
    optimizer = model.optimizer
    return {
        "sampler": "lrstats.keras.sample_trajectories",
        "seed": plan.entropy,
        "steps": plan.steps,
        "batch_size": plan.batch_size,
        "eval_steps": [int(s) for s in plan.eval_steps] if plan.n_val else [],
        "validation": plan.validation,
        "n_train_rows": plan.n_train,
        "n_validation_rows": plan.n_val,
        "initial_val_loss": initial_val,
        "optimizer": type(optimizer).__name__,
        "optimizer_config": optimizer_config(optimizer),
        "optimizer_iterations": int(optimizer.iterations.numpy()),
        "loss": repr(getattr(model, "loss", None)),
        "model": model.name,
        "n_parameters": int(sum(int(np.prod(v.shape)) for v in model.trainable_variables)),
        "path": path,
        "exact_path_reason": reason,
        "chunk_size": int(np.prod(_chunk_shape(plan))),
        "versions": {
            "lrstats": __version__,
            "tensorflow": tf.__version__,
            "keras": keras.__version__,
            "numpy": np.__version__,
            "python": platform.python_version(),
        },
    }


# ----------------------------------------------------------------------------- the work
def _to_tensors(pool: DataPool | None):
    """The pool as ``(x, y, sample_weight)`` tensors, as the sampler converts it."""
    return (None, None, None) if pool is None else pool_tensors(pool)


def _run(model, train_t, val_t, plan: _Plan, snapshot: StateSnapshot, progress: bool):
    """Losses (R, K, S), validation losses (R, K, S) (NaN where not evaluated), the
    initial validation loss, the path taken and why the exact path was taken."""
    n_rep, n_lr, steps = plan.replicate_ids.size, plan.grid.size, plan.steps
    batches = {
        int(r): replicate_batches(plan.entropy, int(r), plan.n_train, plan.batch_size, steps)
        for r in plan.replicate_ids
    }
    losses = np.full((n_rep, n_lr, steps), np.nan)
    val_losses = np.full((n_rep, n_lr, steps), np.nan)
    initial_val = None
    if val_t[0] is not None:
        initial_val = float(live_loss(model, *val_t).numpy())

    reason = _batched_refusal(model)
    engine = None
    if reason is None:
        try:
            engine = get_engine(model, *_chunk_shape(plan))
        except UnsupportedOptimizer as error:
            reason = str(error)
    with progress_bar(progress, total=n_rep * n_lr * steps, desc="lrstats", unit="step") as bar:
        if engine is not None:
            reason = _batched(
                model, engine, train_t, val_t, plan, batches, snapshot, losses, val_losses, bar
            )
            if reason is None:
                return losses, val_losses, initial_val, "batched", None
            bar.reset()
        _exact(model, train_t, val_t, plan, batches, snapshot, losses, val_losses, bar)
    return losses, val_losses, initial_val, "exact", reason


def _batched(model, engine, train_t, val_t, plan, batches, snapshot, losses, val_losses, bar):
    """Every chunk on the batched path: ``None``, or why not (nothing kept) when the clone
    does not match real steps of the real optimizer."""
    reason = _verified(model, engine, plan, train_t, snapshot)
    if reason is not None:
        return reason
    grid, ids, steps = plan.grid, plan.replicate_ids, plan.steps
    n_groups, group_size = engine.n_groups, engine.group_size
    pool_x, pool_y, pool_w = train_t
    eval_set = set(int(s) for s in plan.eval_steps) if val_t[0] is not None else set()
    # the steps at which a block ends: evaluations, the end
    stops = sorted(eval_set | {steps})
    for r0 in range(0, ids.size, n_groups):
        reps = np.arange(r0, min(r0 + n_groups, ids.size))
        reps_padded = np.concatenate([reps, np.repeat(reps[-1:], n_groups - reps.size)])
        index = tf.constant(np.stack([batches[int(ids[r])] for r in reps_padded], axis=1))
        for k0 in range(0, grid.size, group_size):
            ks = np.arange(k0, min(k0 + group_size, grid.size))
            ks_padded = np.concatenate([ks, np.repeat(ks[-1:], group_size - ks.size)])
            # members: replicate-major; keep those that are neither padding replicate nor lr
            rep_pos = np.repeat(reps_padded, group_size)
            lr_pos = np.tile(ks_padded, n_groups)
            keep = np.zeros(rep_pos.size, dtype=bool)
            keep.reshape(n_groups, group_size)[: reps.size, : ks.size] = True
            engine.load(grid[lr_pos])
            start = 0
            for stop in stops:
                out = engine.run(
                    pool_x,
                    pool_y,
                    pool_w,
                    index,
                    tf.constant(start, tf.int32),
                    tf.constant(stop, tf.int32),
                ).numpy()
                losses[rep_pos[keep], lr_pos[keep], start:stop] = out[start:stop, keep].T
                if stop in eval_set:
                    values = engine.evaluate(*val_t).numpy()
                    val_losses[rep_pos[keep], lr_pos[keep], stop - 1] = values[keep]
                bar.update(int(keep.sum()) * (stop - start))
                start = stop
    return None


def _member_batch(train_t, rows):
    pool_x, pool_y, pool_w = train_t
    rows = tf.constant(rows)
    x = tf.nest.map_structure(lambda t: tf.gather(t, rows), pool_x)
    y = None if pool_y is None else tf.nest.map_structure(lambda t: tf.gather(t, rows), pool_y)
    w = None if pool_w is None else tf.gather(pool_w, rows)
    return x, y, w


def _verified(model, engine, plan, train_t, snapshot) -> str | None:
    """``None`` when the engine's batched clone matches real steps of the real optimizer,
    else why not; the verdict is kept on the engine for the data it was reached on.

    The check does not depend on which replicates a call holds: ``CHECK_STEPS`` steps on
    replicate 0's minibatches (its stream, keyed by the seed alone) at the grid's smallest
    and median lr, and the first of them at its largest lr (where training may be unstable
    and amplify float32 rounding within a few steps), members of a chunk loaded for the
    check only. So every shard of one run (the same seed, grid and batch size) takes the
    same path, and shards concatenate exactly also where a model sits near the check's
    tolerance.
    """
    n_check = min(CHECK_STEPS, plan.steps)
    grid = plan.grid
    check_lrs = tuple(dict.fromkeys(float(grid[i]) for i in (0, grid.size // 2, grid.size - 1)))
    key = (plan.entropy, plan.batch_size, plan.n_train, n_check, check_lrs)
    if engine.verified is not None and engine.verified_key == key:
        return None if engine.verified else engine.verified_reason
    rows = replicate_batches(plan.entropy, 0, plan.n_train, plan.batch_size, n_check)
    index = tf.constant(np.repeat(rows[:, None, :], engine.n_groups, axis=1))
    batches = [_member_batch(train_t, rows[t]) for t in range(n_check)]
    verdict = None
    with settable_learning_rate(model.optimizer) as lr_variable:
        try:
            for first in range(0, len(check_lrs), engine.n_members):
                lrs = check_lrs[first : first + engine.n_members]
                member_lrs = np.array(lrs + (lrs[-1],) * (engine.n_members - len(lrs)))
                engine.load(member_lrs)
                # the members' weights after the first step and after all n_check steps
                out = np.zeros((n_check, engine.n_members), np.float32)
                after, start = {}, 0
                for stop in sorted({1, n_check}):
                    step_range = (tf.constant(start, tf.int32), tf.constant(stop, tf.int32))
                    out[start:stop] = engine.run(*train_t, index, *step_range).numpy()[start:stop]
                    after[stop] = [np.array(v.numpy()) for v in engine.weights]
                    start = stop
                for j, lr in enumerate(lrs):
                    # the largest lr only over the first step: where training is unstable,
                    # later steps amplify float32 rounding past any tolerance (the several
                    # steps' dynamics are compared at the smaller lrs)
                    n = 1 if lr == check_lrs[-1] != check_lrs[0] else n_check
                    verdict = trajectory_matches_real(
                        model,
                        snapshot,
                        lr_variable,
                        lr,
                        batches[:n],
                        out[:n, j],
                        [stacked[j] for stacked in after[n]],
                        loss_rtol=CHECK_LOSS_RTOL,
                        step_rtol=CHECK_STEP_RTOL,
                        step=real_step,
                    )
                    if not verdict.matches:
                        break
                if not verdict.matches:
                    break
        finally:
            snapshot.restore()
    engine.verified, engine.verified_reason = verdict.matches, verdict.reason
    engine.verified_key = key
    return None if verdict.matches else verdict.reason


def _exact(model, train_t, val_t, plan, batches, snapshot, losses, val_losses, bar):
    """Real steps of the real optimizer, member after member, restoring the state between."""
    eval_set = set(int(s) for s in plan.eval_steps) if val_t[0] is not None else set()
    with settable_learning_rate(model.optimizer) as lr_variable:
        own = overridden_train_step(model) is not None
        if own:  # the model's own train_step, as train_on_batch runs it (metrics reset first)
            traced = tf.function(lambda x, y, w: own_train_step(model, x, y, w))

            def step(x, y, w):
                model.reset_metrics()
                return traced(x, y, w)
        else:
            step = tf.function(lambda x, y, w: real_step(model, x, y, w), autograph=False)
        evaluate = tf.function(lambda x, y, w: live_loss(model, x, y, w), autograph=False)
        try:
            for r, replicate in enumerate(plan.replicate_ids):
                rows = batches[int(replicate)]
                member_batches = [_member_batch(train_t, rows[t]) for t in range(plan.steps)]
                for k, lr in enumerate(plan.grid):
                    snapshot.restore()
                    lr_variable.assign(lr)
                    for t in range(plan.steps):
                        losses[r, k, t] = float(step(*member_batches[t]))
                        if t + 1 in eval_set:
                            val_losses[r, k, t] = float(evaluate(*val_t))
                    bar.update(plan.steps)
        finally:
            snapshot.restore()
