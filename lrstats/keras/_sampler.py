"""``sample_deltas``: paired one-step loss changes over a grid of learning rates."""

from __future__ import annotations

import numbers
import platform
import warnings
from dataclasses import dataclass
from typing import Any

import keras
import numpy as np
import pandas as pd
import tensorflow as tf

from lrstats._streams import check_seed, seed_sequence
from lrstats._validation import check_choice, check_int, check_lrs
from lrstats._version import __version__
from lrstats.keras._data import DataPool, leaves, prepare_data
from lrstats.keras._engine import get_engine
from lrstats.keras._state import StateSnapshot, settable_learning_rate

EVALUATE_MODES = ("same", "fresh")
EVAL_MODES = ("inference", "training")
# Working memory the automatic chunking aims for (activations and stacked weights).
MEMORY_BUDGET_BYTES = 1 << 30
MAX_AUTO_CHUNK = 256


class DivergenceWarning(RuntimeWarning):
    """Some post-step losses were not finite: the step diverged at those learning rates."""


@dataclass(frozen=True)
class _Plan:
    """The validated settings of one ``sample_deltas`` call."""

    grid: np.ndarray  # sorted learning rates
    replicate_ids: np.ndarray
    batch_size: int
    entropy: int  # the seed actually used
    evaluate: str
    eval_mode: str
    chunk: int  # replicates per compiled call
    lr_chunk: int  # learning rates per inner batch


# ----------------------------------------------------------------------------- validation
def _check_model(model: Any) -> None:
    if not isinstance(model, keras.Model):
        raise TypeError(
            f"`model` must be a keras.Model. Received: model of type {type(model).__name__}"
        )
    if not model.built or not model.trainable_variables:
        raise ValueError(
            "`model` must be built (call it on data or give it an Input) and have trainable "
            f"weights. Received: model={model.name!r} (built={model.built})"
        )
    if not getattr(model, "compiled", False) or getattr(model, "optimizer", None) is None:
        raise ValueError(
            "`model` must be compiled with an optimizer and a loss (model.compile(optimizer=..., "
            f"loss=...)). Received: model={model.name!r} with optimizer="
            f"{getattr(model, 'optimizer', None)!r}"
        )
    if (
        getattr(model, "_compile_loss", None) is None
        and type(model).compute_loss is keras.Model.compute_loss
    ):
        raise ValueError(
            f"`model` must be compiled with a loss. Received: model={model.name!r} compiled without one"
        )


def _replicate_ids(replicates: Any) -> np.ndarray:
    if isinstance(replicates, range):
        if len(replicates) < 1:
            raise ValueError(
                f"`replicates` must not be an empty range. Received: replicates={replicates!r}"
            )
        if replicates.start < 0:
            raise ValueError(f"`replicates` ids must be >= 0. Received: replicates={replicates!r}")
        return np.asarray(replicates, dtype=np.int64)
    if isinstance(replicates, numbers.Integral) and not isinstance(replicates, bool):
        count = check_int(replicates, "replicates", minimum=2)
        return np.arange(count, dtype=np.int64)
    raise TypeError(
        "`replicates` must be an integer >= 2 or a range of replicate ids. "
        f"Received: replicates={replicates!r}"
    )


def _entropy(seed: Any) -> int:
    return check_seed(seed, "seed")


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
def _activation_width(model: Any) -> int:
    """Numbers of activations per input row (sum of layer outputs), estimated."""
    total = 0
    try:
        for layer in model._flatten_layers(include_self=False, recursive=True):
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


def _auto_chunks(
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
    per_lr = 4 * (3 * n_params + 3 * batch_size * _activation_width(model))
    lr_chunk = int(min(n_lrs, max(1, (MEMORY_BUDGET_BYTES // 2) // per_lr)))
    per_replicate = 4 * (10 * n_params + 2 * batch_size * row_width)
    most = int(min(MAX_AUTO_CHUNK, max(1, (MEMORY_BUDGET_BYTES // 2) // per_replicate)))
    n_chunks = -(-n_replicates // most)
    return -(-n_replicates // n_chunks), lr_chunk


# ----------------------------------------------------------------------------- public API
def sample_deltas(
    model: Any,
    x: Any,
    y: Any = None,
    *,
    lrs: Any,
    replicates: int | range,
    batch_size: int,
    seed: int | None = None,
    evaluate: str = "same",
    eval_mode: str = "inference",
    sample_weight: Any = None,
    chunk_size: int | None = None,
    max_rows: int = 100_000,
    progress: bool = True,
) -> pd.DataFrame:
    """Loss before and after one optimizer step, for every (replicate, learning rate).

    Each replicate draws ``batch_size`` rows; the gradient is taken on them in training
    mode, and the loss is measured on the evaluation batch before (``pre``) and after
    (``post``) one step of the model's own compiled optimizer, from its current state,
    at each learning rate. The same replicate uses the same rows for every lr: the
    design is paired.

    Parameters
    ----------
    model : keras.Model
        A built model compiled with an optimizer and a loss (any Keras 3 loss: string,
        function or ``Loss`` object; regularization losses included).
    x : array-like, dict of arrays, or tf.data.Dataset
        Inputs (NumPy, pandas, dicts or lists of arrays for several inputs), or a
        ``tf.data.Dataset`` of ``(x, y)`` / ``(x, y, sample_weight)`` batches, of which
        the first ``max_rows`` rows are materialized as the pool to draw from (shuffle
        the dataset first for a random pool).
    y : array-like or structure of arrays, optional
        Targets; omit when ``x`` is a dataset.
    lrs : array_like
        Learning rates: finite, > 0, distinct (e.g. :func:`lrstats.log_grid`).
    replicates : int or range
        ``M`` gives ids ``0 … M-1`` (M >= 2); a ``range`` computes just those ids, so
        shards run elsewhere concatenate into the single-run frame.
    batch_size : int
        Rows per replicate subsample, ``1 <= batch_size <= n_rows``.
    seed : int, optional
        Seed of every random draw (subsamples and stochastic layers). ``None`` draws
        fresh entropy; the value used is stored in ``frame.attrs["seed"]``.
    evaluate : {"same", "fresh"}
        Measure ``pre``/``post`` on the gradient subsample (``"same"``) or on an
        independent subsample of the same size (``"fresh"``: does the step generalize?).
    eval_mode : {"inference", "training"}
        Mode of the forward passes that measure ``pre``/``post`` (gradients are always
        taken in training mode). In ``"training"`` mode the stochastic layers use the
        replicate's seeds, the same for ``pre`` and every lr.
    sample_weight : array_like, optional
        One weight per row, subsampled with the rows.
    chunk_size : int, optional
        Replicates per compiled batch. Default: as many as fit a 1 GiB working-memory
        budget (at most 256), balanced over the replicates. Chunking changes speed and
        memory only, never the values.
    max_rows : int, default 100000
        Bound on the rows materialized from a ``tf.data.Dataset``.
    progress : bool, default True
        Show a tqdm progress bar over chunks.

    Returns
    -------
    pandas.DataFrame
        Columns ``lr`` (float64), ``replicate`` (int64), ``pre``, ``post`` (float64),
        one row per (replicate, lr), sorted by replicate then lr. Non-finite ``post``
        values record divergence. ``attrs`` holds the provenance: ``seed``,
        ``batch_size``, ``evaluate``, ``eval_mode``, ``optimizer``,
        ``optimizer_config``, ``n_parameters``, ``n_rows``, ``path``, ``versions``.

    Notes
    -----
    One step of every Keras 3 optimizer is affine in the learning rate given its state:
    ``w1(lr) = a + lr * b``. Per chunk of replicates, two steps of a clone of the
    optimizer on batched variables give ``w1`` at two learning rates, hence ``a`` and
    ``b``, and all ``post`` losses are one batched forward pass. The clone is checked
    against a real step of the real optimizer (once per model and optimizer config:
    that the update is elementwise does not depend on the grid), and on every chunk
    clone steps at the grid's interior thirds must match the affine prediction for
    every replicate. An optimizer that fails either check (not elementwise, e.g.
    ``global_clipnorm``; or not affine in lr over this grid) takes the exact path: a
    real step per (replicate, lr), restoring the state after each.
    ``attrs["path"]`` records ``"affine"``, ``"exact"`` or ``"mixed"`` (chunks differed).

    Afterwards every model and optimizer variable is bit-identical to before, also when
    the call raises or is interrupted; an optimizer that was never built is built.
    Non-trainable variables (e.g. BatchNormalization statistics) are not updated by the
    step.

    Examples
    --------
    >>> import lrstats
    >>> from lrstats.keras import sample_deltas
    >>> frame = sample_deltas(model, x, y, lrs=lrstats.log_grid(1e-4, 1, 21),
    ...                       replicates=100, batch_size=64, seed=0)  # doctest: +SKIP
    """
    # ---- validate everything before touching any state
    _check_model(model)
    grid = np.sort(check_lrs(lrs))
    replicate_ids = _replicate_ids(replicates)
    batch_size = check_int(batch_size, "batch_size", minimum=1)
    evaluate = check_choice(evaluate, "evaluate", EVALUATE_MODES)
    eval_mode = check_choice(eval_mode, "eval_mode", EVAL_MODES)
    max_rows = check_int(max_rows, "max_rows", minimum=1)
    if chunk_size is not None:
        chunk_size = check_int(chunk_size, "chunk_size", minimum=1)
    if not isinstance(progress, bool):
        raise TypeError(f"`progress` must be True or False. Received: progress={progress!r}")
    entropy = _entropy(seed)
    pool = prepare_data(x, y, sample_weight, max_rows=max_rows)
    if batch_size > pool.n_rows:
        raise ValueError(
            f"`batch_size` must be <= the number of rows ({pool.n_rows}). Received: batch_size={batch_size}"
        )

    optimizer = model.optimizer
    if not optimizer.built:
        optimizer.build(model.trainable_variables)  # the one change allowed

    row_width = sum(int(np.prod(a.shape[1:])) for _, a in leaves(pool.x))
    auto_chunk, lr_chunk = _auto_chunks(
        model, grid.size, batch_size, replicate_ids.size, row_width
    )
    plan = _Plan(
        grid=grid,
        replicate_ids=replicate_ids,
        batch_size=batch_size,
        entropy=entropy,
        evaluate=evaluate,
        eval_mode=eval_mode,
        chunk=min(chunk_size or auto_chunk, replicate_ids.size),
        lr_chunk=lr_chunk,
    )
    snapshot = StateSnapshot(model)
    try:
        pre, post, path = _run(model, pool, plan, snapshot, progress)
    finally:
        snapshot.restore()

    n_bad = int((~np.isfinite(post)).sum())
    if n_bad:
        bad_lrs = grid[(~np.isfinite(post)).any(axis=0)]
        warnings.warn(
            f"{n_bad} of {post.size} post-step losses are not finite (divergence), at "
            f"{bad_lrs.size} learning rate(s) from {bad_lrs.min():.3g} to {bad_lrs.max():.3g}. "
            "They are kept in the frame as inf/NaN.",
            DivergenceWarning,
            stacklevel=2,
        )
    frame = pd.DataFrame(
        {
            "lr": np.tile(grid, replicate_ids.size),
            "replicate": np.repeat(replicate_ids, grid.size),
            "pre": np.repeat(pre.astype(np.float64), grid.size),
            "post": post.astype(np.float64).ravel(),
        }
    )
    frame.attrs.update(_provenance(model, plan, pool, path))
    return frame


def _provenance(model: Any, plan: _Plan, pool: DataPool, path: str) -> dict:
    optimizer = model.optimizer
    config = {}
    for key, value in optimizer.get_config().items():
        if isinstance(value, (np.generic,)):
            value = value.item()
        if isinstance(value, (str, int, float, bool)) or value is None:
            config[key] = value
        else:
            config[key] = repr(value)
    return {
        "sampler": "lrstats.keras.sample_deltas",
        "seed": plan.entropy,
        "batch_size": plan.batch_size,
        "evaluate": plan.evaluate,
        "eval_mode": plan.eval_mode,
        "optimizer": type(optimizer).__name__,
        "optimizer_config": config,
        "optimizer_iterations": int(optimizer.iterations.numpy()),
        "loss": repr(getattr(model, "loss", None)),
        "model": model.name,
        "n_parameters": int(sum(int(np.prod(v.shape)) for v in model.trainable_variables)),
        "n_rows": pool.n_rows,
        "path": path,
        "chunk_size": plan.chunk,
        "versions": {
            "lrstats": __version__,
            "tensorflow": tf.__version__,
            "keras": keras.__version__,
            "numpy": np.__version__,
            "python": platform.python_version(),
        },
    }


# ----------------------------------------------------------------------------- the work
def _to_tensors(pool: DataPool):
    def convert(array):
        dtype = keras.config.floatx() if np.issubdtype(array.dtype, np.floating) else None
        return tf.convert_to_tensor(array, dtype=dtype)

    x = tf.nest.map_structure(convert, pool.x)
    y = None if pool.y is None else tf.nest.map_structure(convert, pool.y)
    w = (
        None
        if pool.sample_weight is None
        else tf.convert_to_tensor(pool.sample_weight, keras.config.floatx())
    )
    return x, y, w


def _prebuild_loss(model: Any, pool_x, pool_y, pool_w) -> None:
    """Build the compiled loss outside any trace, without changing any state."""
    take = lambda t: t[:2]  # noqa: E731
    x = tf.nest.map_structure(take, pool_x)
    y = None if pool_y is None else tf.nest.map_structure(take, pool_y)
    w = None if pool_w is None else pool_w[:2]
    mapping = [(v, v.value) for v in [*model.variables, *model.metrics_variables]]
    with keras.StatelessScope(state_mapping=mapping):
        y_pred = model(x, training=False)
        model.compute_loss(x=x, y=y, y_pred=y_pred, sample_weight=w, training=False)


def _check_lrs_for(grid: np.ndarray) -> np.ndarray:
    """Interior learning rates at which affinity is checked (the grid's thirds)."""
    if grid.size >= 4:
        picks = np.unique(np.round(np.array([1, 2]) * (grid.size - 1) / 3).astype(int))
        return grid[picks]
    if grid.size == 3:
        return grid[1:2]
    return np.array([np.sqrt(grid[0] * (grid[-1] if grid.size > 1 else 2.0 * grid[0]))])


def _run(model: Any, pool: DataPool, plan: _Plan, snapshot: StateSnapshot, progress: bool):
    """``pre`` (M,) and ``post`` (M, K) for every replicate and lr, and the path taken."""
    if progress:
        from tqdm.auto import tqdm
    else:  # no import: tqdm.auto warns in notebooks without ipywidgets even when disabled
        from tqdm.std import tqdm

    grid, replicate_ids, chunk, lr_chunk = plan.grid, plan.replicate_ids, plan.chunk, plan.lr_chunk
    pool_x, pool_y, pool_w = _to_tensors(pool)
    _prebuild_loss(model, pool_x, pool_y, pool_w)
    engine = get_engine(model, chunk, eval_training=plan.eval_mode == "training", jit_compile=True)
    n_streams = len(engine.seed_positions)
    fresh = plan.evaluate == "fresh"

    n_rep, n_lr = replicate_ids.size, grid.size
    pre = np.empty(n_rep, dtype=np.float64)
    post = np.empty((n_rep, n_lr), dtype=np.float64)
    lr1 = np.float32(grid[0])
    lr2 = np.float32(grid[-1] if n_lr > 1 else 2.0 * grid[0])
    check_lrs = _check_lrs_for(grid)
    paths = set()
    n_chunks = -(-n_rep // chunk)
    with tqdm(
        total=n_chunks, disable=not progress, desc="lrstats", unit="chunk", leave=False
    ) as bar:
        for start in range(0, n_rep, chunk):
            ids = replicate_ids[start : start + chunk]
            real = ids.size
            padded = np.concatenate([ids, np.repeat(ids[-1:], chunk - real)])
            draws = [
                replicate_draws(plan.entropy, r, pool.n_rows, plan.batch_size, fresh, n_streams)
                for r in padded
            ]
            grad_index = tf.constant(np.stack([d[0] for d in draws]), dtype=tf.int32)
            eval_index = tf.constant(np.stack([d[1] for d in draws]), dtype=tf.int32)
            seeds = tf.constant(np.stack([d[2] for d in draws]), dtype=tf.int64)
            grads, chunk_pre = engine.gradients(
                pool_x, pool_y, pool_w, grad_index, eval_index, seeds
            )
            pre[start : start + real] = chunk_pre.numpy()[:real]
            terms = _affine_terms(model, engine, snapshot, grads, real, lr1, lr2, check_lrs)
            if terms is not None:
                base, slope = terms
                for k0 in range(0, n_lr, lr_chunk):
                    lr_part = grid[k0 : k0 + lr_chunk]
                    padded_lrs = np.concatenate(
                        [lr_part, np.repeat(lr_part[-1:], lr_chunk - lr_part.size)]
                    )
                    values = engine.post(
                        base,
                        slope,
                        tf.constant(lr1, tf.float32),
                        tf.constant(padded_lrs, tf.float32),
                        pool_x,
                        pool_y,
                        pool_w,
                        eval_index,
                        seeds,
                    )
                    post[start : start + real, k0 : k0 + lr_part.size] = values.numpy()[
                        :real, : lr_part.size
                    ]
                paths.add("affine")
            else:
                post[start : start + real] = _exact_post(
                    model,
                    engine,
                    snapshot,
                    grads,
                    grid,
                    real,
                    pool_x,
                    pool_y,
                    pool_w,
                    eval_index,
                    seeds,
                )
                paths.add("exact")
            bar.update(1)
    path = paths.pop() if len(paths) == 1 else "mixed"
    return pre, post, path


def _real_step(model, lr_variable, grads_one, lr) -> list[np.ndarray]:
    """Weights after one real step of the real optimizer (state restored by the caller)."""
    lr_variable.assign(lr)
    model.optimizer.apply([tf.convert_to_tensor(g) for g in grads_one], model.trainable_variables)
    return [v.numpy() for v in model.trainable_variables]


# How closely the batched clone must agree, measured against the *step* w1 - w0 (what ΔL
# depends on), with a floor for float32 rounding of the weights themselves. Measured on
# the test optimizers over grids 1e-6..1e-2 and 1e-3..1: affine optimizers (SGD, momentum,
# Adam, RMSprop, Ftrl) disagree with their affine prediction by at most 2.8e-3 of the step
# (rounding, largest at tiny steps); non-affine ones (lr², min(lr, c), Ftrl with l1/l2)
# by 0.67 of the step or more. A clone whose global_clipnorm mixes replicates misses the
# real step by a large share of the step wherever clipping acts.
CHECK_STEP_RTOL = 0.05
CHECK_WEIGHT_RTOL = 1e-6


def _close(got: np.ndarray, expected: np.ndarray, start: np.ndarray) -> bool:
    """``got`` matches ``expected`` (weights after a step from ``start``), ignoring non-finite.

    Elementwise: ``|got - expected| <= CHECK_STEP_RTOL |expected - start| +
    CHECK_WEIGHT_RTOL max|start|``.
    """
    got, expected = np.asarray(got), np.asarray(expected)
    start = np.broadcast_to(np.asarray(start), expected.shape)
    finite = np.isfinite(got) & np.isfinite(expected)
    tolerance = (
        CHECK_STEP_RTOL * np.abs(expected - start)
        + CHECK_WEIGHT_RTOL * float(np.max(np.abs(start), initial=0.0))
        + 1e-30
    )
    return bool(np.all(np.abs(got - expected)[finite] <= tolerance[finite]))


def _affine_terms(model, engine, snapshot, grads, real, lr1, lr2, check_lrs):
    """``(w1(lr1), slope)`` of the chunk's affine step, or ``None`` to take the exact path.

    Two steps of the batched clone give the terms. The clone is trusted only after
    (a) one real step of the real optimizer, at the largest lr, agrees with it (once per
    engine: that the optimizer is elementwise does not depend on the grid) and (b) on
    this chunk, clone steps at the grid's interior thirds agree with the affine
    prediction for every replicate (affinity can depend on the lr range, so it is
    checked on every call).
    """
    if engine.clone is None or engine.verified is False:
        return None
    base = engine.step(grads, tf.constant(lr1, tf.float32))
    top = engine.step(grads, tf.constant(lr2, tf.float32))
    slope = [(t - b) / (lr2 - lr1) for t, b in zip(top, base, strict=True)]
    weights = [v.numpy() for v in model.trainable_variables]
    if engine.verified is None:
        engine.verified = _clone_matches_real(model, snapshot, grads, top, weights, real, lr2)
        if engine.verified is False:
            return None
    for lr in check_lrs:
        stepped = engine.step(grads, tf.constant(lr, tf.float32))
        for w, b, s, w0 in zip(stepped, base, slope, weights, strict=True):
            predicted = np.asarray(b)[:real] + np.float32(lr - lr1) * np.asarray(s)[:real]
            if not _close(np.asarray(w)[:real], predicted, w0[None]):
                return None
    return base, slope


def _clone_matches_real(model, snapshot, grads, top, weights, real, lr2) -> bool | None:
    """One real step of the real optimizer, at the largest lr, against the batched clone.

    The largest lr makes the largest step, so a clone that mixes replicates (a norm over
    the batch, as with ``global_clipnorm``) shows most; it also avoids small lrs, where
    some updates (Ftrl divides by lr) are ill-conditioned. Uses the first replicate with
    a finite gradient; ``None`` when there is none.
    """
    finite = np.ones(real, dtype=bool)
    for g in grads:
        finite &= np.isfinite(g.numpy()[:real].reshape(real, -1)).all(axis=1)
    if not finite.any():
        return None
    i = int(np.argmax(finite))
    with settable_learning_rate(model.optimizer) as lr_variable:
        try:
            stepped = _real_step(model, lr_variable, [g[i] for g in grads], lr2)
        finally:
            snapshot.restore()
    return all(_close(t[i].numpy(), w, w0) for w, t, w0 in zip(stepped, top, weights, strict=True))


def _exact_post(
    model, engine, snapshot, grads, grid, real, pool_x, pool_y, pool_w, eval_index, seeds
):
    """A real optimizer step per (replicate, lr), restoring the state after each."""
    out = np.empty((real, grid.size), dtype=np.float64)
    with settable_learning_rate(model.optimizer) as lr_variable:
        try:
            for i in range(real):
                x = engine._batch(pool_x, eval_index[i])
                y = None if pool_y is None else engine._batch(pool_y, eval_index[i])
                w = None if pool_w is None else tf.gather(pool_w, eval_index[i])
                grads_one = [g[i] for g in grads]
                for k, lr in enumerate(grid):
                    _real_step(model, lr_variable, grads_one, lr)
                    out[i, k] = float(engine.loss_now(x, y, w, seeds[i]))
                    snapshot.restore()
        finally:
            snapshot.restore()
    return out
