"""``sample_deltas``: paired one-step loss changes over a grid of learning rates."""

from __future__ import annotations

import functools
import warnings
from collections.abc import Sequence
from typing import Any

import keras
import numpy as np
import pandas as pd
import tensorflow as tf

from lrstats._progress import progress_bar
from lrstats._streams import check_seed
from lrstats._validation import check_choice, check_int, check_lrs
from lrstats.keras._data import DataPool, leaves, prepare_data
from lrstats.keras._engine import _Worker, get_engine
from lrstats.keras._plan import (
    Plan,
    StepWarning,
    TrainStepWarning,
    auto_chunks,
    check_data_fits_model,
    check_lr_types,
    check_lrs_for,
    check_model,
    check_target_shapes,
    optimizer_config,
    replicate_draws,
    replicate_ids,
    versions,
    warn_about_model,
)
from lrstats.keras._state import StateSnapshot
from lrstats.keras._verify import clone_matches_real, close, exact_post

__all__ = ["DivergenceWarning", "StepWarning", "TrainStepWarning", "sample_deltas"]

EVALUATE_MODES = ("same", "fresh")
EVAL_MODES = ("inference", "training")


class DivergenceWarning(RuntimeWarning):
    """Some post-step losses were not finite: the step diverged at those learning rates."""


# ----------------------------------------------------------------------------- public API
def sample_deltas(
    model: Any,
    x: Any,
    y: Any = None,
    *,
    lrs: Any,
    replicates: int | range,
    batch_size: int | Sequence[int],
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
    batch_size : int or sequence of int
        Rows per replicate subsample, ``1 <= batch_size <= n_rows``. A sequence of
        distinct sizes (e.g. ``[32, 64, 128]``) gives one frame with a ``batch_size``
        column: the rows of size ``b`` are exactly the frame of ``batch_size=b`` alone
        (replicate ``r`` draws from the same stream whatever the size, so the sizes are
        compared on common random numbers, and shards still concatenate exactly).
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
        one row per (replicate, lr), sorted by replicate then lr (with a list of batch
        sizes, a ``batch_size`` column too, sorted by it first). Non-finite ``post``
        values record divergence. ``attrs`` holds the provenance: ``seed``,
        ``batch_size``, ``evaluate``, ``eval_mode``, ``optimizer``,
        ``optimizer_config``, ``n_parameters``, ``n_rows``, ``data_reshuffles``,
        ``path``, ``exact_path_reason``, ``versions``.

    Warns
    -----
    DivergenceWarning
        Some ``post`` values are not finite.
    TrainStepWarning
        The model overrides ``train_step``; the frame measures Keras' standard step.
    StepWarning
        The optimizer's next ``apply`` only accumulates gradients (post == pre).
    UserWarning
        ``x`` is a dataset that reshuffles on each iteration.

    Notes
    -----
    ``pre`` is the loss Keras reports on the evaluation rows (``evaluate``,
    ``compute_loss``: compiled loss plus every added loss) and ``post`` the loss after
    one real training step (``train_on_batch``) at the lr on the gradient rows, from the
    current state, with the non-trainable state that step leaves (BatchNormalization
    moving statistics).

    One step of every Keras 3 optimizer is affine in the learning rate given its state:
    ``w1(lr) = a + lr * b``. Per chunk of replicates, two steps of a clone of the
    optimizer on batched variables (clipping per replicate) give ``w1`` at two learning
    rates, hence ``a`` and ``b``, and all ``post`` losses are one batched forward pass.
    The clone is checked against a real training step of the real model and optimizer
    on the first chunk of every call, and on every chunk clone steps at the grid's
    interior thirds must match the affine prediction for every replicate. What fails
    either check (loss scaling, sparse Embedding gradients, a forward pass that writes
    weights such as ``SpectralNormalization``, constraints, a step not affine in lr)
    takes the exact path: a real training step per (replicate, lr), restoring the state
    after each. ``attrs["path"]`` records ``"affine"``, ``"exact"`` or ``"mixed"``
    (chunks differed) and ``attrs["exact_path_reason"]`` why. ``docs/sampler.md`` has
    the table of what is supported on which path.

    Afterwards every model and optimizer variable is bit-identical to before, also when
    the call raises or is interrupted; an optimizer that was never built is built.

    Examples
    --------
    >>> import lrstats
    >>> from lrstats.keras import sample_deltas
    >>> frame = sample_deltas(model, x, y, lrs=lrstats.log_grid(1e-4, 1, 21),
    ...                       replicates=100, batch_size=64, seed=0)  # doctest: +SKIP
    """
    if isinstance(batch_size, (list, tuple, np.ndarray, range)):
        sizes = _batch_sizes(batch_size)
        entropy = check_seed(seed, "seed")  # one seed for every size, also when None
        options = dict(
            lrs=lrs, replicates=replicates, seed=entropy, evaluate=evaluate,
            eval_mode=eval_mode, sample_weight=sample_weight, chunk_size=chunk_size,
            max_rows=max_rows, progress=progress,
        )  # fmt: skip
        # the largest first: a size beyond the rows is refused before any other work
        frames = {b: sample_deltas(model, x, y, batch_size=b, **options) for b in sizes[::-1]}
        frame = pd.concat([frames[b] for b in sizes], ignore_index=True)
        frame["batch_size"] = np.repeat(
            np.array(sizes, dtype=np.int64), [len(frames[b]) for b in sizes]
        )
        paths = {frames[b].attrs["path"] for b in sizes}
        frame.attrs = {
            **frames[sizes[0]].attrs,
            "batch_size": list(sizes),
            "path": paths.pop() if len(paths) == 1 else "mixed",
            "chunk_size": {b: frames[b].attrs["chunk_size"] for b in sizes},
            "exact_path_reason": "; ".join(
                sorted({r for b in sizes if (r := frames[b].attrs["exact_path_reason"])})
            )
            or None,
        }
        return frame

    # ---- validate everything before touching any state
    check_model(model)
    check_lr_types(lrs)
    grid = np.sort(check_lrs(lrs))
    ids = replicate_ids(replicates, grid.size)
    batch_size = check_int(batch_size, "batch_size", minimum=1)
    evaluate = check_choice(evaluate, "evaluate", EVALUATE_MODES)
    eval_mode = check_choice(eval_mode, "eval_mode", EVAL_MODES)
    max_rows = check_int(max_rows, "max_rows", minimum=1)
    if chunk_size is not None:
        chunk_size = check_int(chunk_size, "chunk_size", minimum=1)
    if not isinstance(progress, bool):
        raise TypeError(f"`progress` must be True or False. Received: progress={progress!r}")
    entropy = check_seed(seed, "seed")
    pool = prepare_data(x, y, sample_weight, max_rows=max_rows)
    if batch_size > pool.n_rows:
        raise ValueError(
            f"`batch_size` must be <= the number of rows ({pool.n_rows}). Received: batch_size={batch_size}"
        )
    check_data_fits_model(model, pool)
    tensors = _to_tensors(pool)
    _prebuild_loss(model, tensors, batch_size, pool.y)
    warn_about_model(model)
    if pool.reshuffles:
        warnings.warn(
            "`x` is a tf.data.Dataset that reshuffles on each iteration: the pool of rows, "
            "hence the frame, differs from call to call for the same seed (recorded in "
            "frame.attrs['data_reshuffles']). Shuffle with reshuffle_each_iteration=False "
            "or pass arrays for a reproducible frame.",
            UserWarning,
            stacklevel=2,
        )

    optimizer = model.optimizer
    if not optimizer.built:
        optimizer.build(model.trainable_variables)  # the one change allowed

    row_width = sum(int(np.prod(a.shape[1:])) for _, a in leaves(pool.x))
    auto_chunk, lr_chunk = auto_chunks(model, grid.size, batch_size, ids.size, row_width)
    plan = Plan(
        grid=grid,
        replicate_ids=ids,
        batch_size=batch_size,
        entropy=entropy,
        evaluate=evaluate,
        eval_mode=eval_mode,
        chunk=min(chunk_size or auto_chunk, ids.size),
        lr_chunk=lr_chunk,
    )
    snapshot = StateSnapshot(model)
    try:
        pre, post, path, reason = _run(model, pool, tensors, plan, snapshot, progress)
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
            "lr": np.tile(grid, ids.size),
            "replicate": np.repeat(ids, grid.size),
            "pre": np.repeat(pre.astype(np.float64), grid.size),
            "post": post.astype(np.float64).ravel(),
        }
    )
    frame.attrs.update(_provenance(model, plan, pool, path, reason))
    return frame


def _batch_sizes(batch_size: Any) -> list[int]:
    """Distinct batch sizes, ascending, each an integer >= 1."""
    values = list(batch_size)
    if not values:
        raise ValueError(f"`batch_size` must not be empty. Received: batch_size={batch_size!r}")
    sizes = [check_int(b, "batch_size", minimum=1) for b in values]
    if len(set(sizes)) != len(sizes):
        raise ValueError(
            f"`batch_size` must not repeat a size. Received: batch_size={batch_size!r}"
        )
    return sorted(sizes)


def _provenance(model: Any, plan: Plan, pool: DataPool, path: str, reason: str | None) -> dict:
    optimizer = model.optimizer
    config = optimizer_config(optimizer)
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
        "data_reshuffles": bool(pool.reshuffles),
        "path": path,
        "exact_path_reason": reason,
        "chunk_size": plan.chunk,
        "versions": versions(),
    }


# ----------------------------------------------------------------------------- the work
def _to_tensors(pool: DataPool) -> tuple:
    """The pool as one ``(x, y, sample_weight)`` structure of tensors."""

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


def _prebuild_loss(model: Any, tensors: tuple, batch_size: int, targets: Any) -> None:
    """Check the targets' shapes, then build the compiled loss outside any trace.

    Runs on the first ``batch_size`` rows, so a shape error Keras raises quotes the
    user's batch size. The targets are checked against the predictions before the loss
    is built, so a refusal leaves even the compiled loss's lazily created trackers alone.
    """
    pool_x, pool_y, pool_w = tensors
    take = lambda t: t[:batch_size]  # noqa: E731
    x = tf.nest.map_structure(take, pool_x)
    y = None if pool_y is None else tf.nest.map_structure(take, pool_y)
    w = None if pool_w is None else pool_w[:batch_size]
    mapping = [(v, v.value) for v in [*model.variables, *model.metrics_variables]]

    def keras_failed(error: Exception) -> ValueError:
        message = str(getattr(error, "message", error)).strip().splitlines()
        return ValueError(
            f"`x` and `y` must fit `model` ({model.name!r}): Keras failed on a batch of "
            f"{batch_size} rows. Received: x {_shapes(pool_x)}, y {_shapes(pool_y)}. "
            f"Keras said: {' '.join(message)[:600]}"
        )

    try:
        with keras.StatelessScope(state_mapping=mapping):
            y_pred = model(x, training=False)
    except (ValueError, TypeError, tf.errors.OpError) as error:
        raise keras_failed(error) from error
    check_target_shapes(targets, y_pred)
    try:
        with keras.StatelessScope(state_mapping=mapping):
            model.compute_loss(x=x, y=y, y_pred=y_pred, sample_weight=w, training=False)
    except (ValueError, TypeError, tf.errors.OpError) as error:
        raise keras_failed(error) from error


def _shapes(structure: Any) -> str:
    if structure is None:
        return "None"
    shapes = [tuple(t.shape) for t in tf.nest.flatten(structure)]
    return "with shape " + (str(shapes[0]) if len(shapes) == 1 else str(shapes))


def _run(
    model: Any, pool: DataPool, tensors: tuple, plan: Plan, snapshot: StateSnapshot, progress
):
    """``pre`` (M,), ``post`` (M, K), the path taken and why the exact path was taken."""
    engine = get_engine(
        model, plan.chunk, eval_training=plan.eval_mode == "training", jit_compile=True
    )
    try:
        return _run_chunks(model, pool, tensors, plan, snapshot, engine, progress)
    finally:
        engine.finish_warming()


def _run_chunks(model, pool, tensors, plan, snapshot, engine, progress):
    """The chunks of :func:`_run`, on the engine it chose."""
    grid, ids, chunk, lr_chunk = plan.grid, plan.replicate_ids, plan.chunk, plan.lr_chunk
    n_streams = len(engine.seed_positions)
    fresh = plan.evaluate == "fresh"
    n_rep, n_lr = ids.size, grid.size
    pre = np.empty(n_rep, dtype=np.float64)
    post = np.empty((n_rep, n_lr), dtype=np.float64)
    lr1 = np.float32(grid[0])
    lr2 = np.float32(grid[-1] if n_lr > 1 else 2.0 * grid[0])
    affinity_lrs = check_lrs_for(grid)
    paths = set()
    reasons = []
    n_chunks = -(-n_rep // chunk)
    with progress_bar(progress, total=n_chunks, desc="lrstats", unit="chunk") as bar:
        for start in range(0, n_rep, chunk):
            chunk_ids = ids[start : start + chunk]
            real = chunk_ids.size
            padded = np.concatenate([chunk_ids, np.repeat(chunk_ids[-1:], chunk - real)])
            draws = [
                replicate_draws(plan.entropy, r, pool.n_rows, plan.batch_size, fresh, n_streams)
                for r in padded
            ]
            grad_index = tf.constant(np.stack([d[0] for d in draws]), dtype=tf.int32)
            eval_index = tf.constant(np.stack([d[1] for d in draws]), dtype=tf.int32)
            seeds = tf.constant(np.stack([d[2] for d in draws]), dtype=tf.int64)
            if start == 0 and engine.verified is not False:
                grads, chunk_pre, after = engine.first_gradients(
                    tensors, grad_index, eval_index, seeds, lr_chunk=lr_chunk
                )
            else:
                grads, chunk_pre, after = engine.gradients(tensors, grad_index, eval_index, seeds)
            pre[start : start + real] = chunk_pre.numpy()[:real]
            losses = functools.partial(
                _post_losses, engine, grid, lr_chunk, lr1, tensors, eval_index, seeds, after
            )
            workers = []  # the post pass started during the clone's check (_affine_terms)

            def start_losses(base, slope, losses=losses, workers=workers):
                workers.append(_Worker(losses, (base, slope), "lrstats-post", base[0].device))

            try:
                terms, reason = _affine_terms(
                    model, engine, snapshot, tensors, grad_index, eval_index, seeds, grads,
                    chunk_pre.numpy(), after, real, lr1, lr2, affinity_lrs, start_losses,
                )  # fmt: skip
            finally:
                for worker in workers:
                    worker.join()  # whatever the verdict or error: nothing is left running
            if terms is not None:
                values = workers[0].wait() if workers else losses(*terms)
                post[start : start + real] = values[:real]
                paths.add("affine")
            else:
                post[start : start + real] = exact_post(
                    model, engine, snapshot, tensors, grad_index, eval_index, seeds, grid, real
                )
                paths.add("exact")
                if reason not in reasons:
                    reasons.append(reason)
            bar.update(1)
    path = paths.pop() if len(paths) == 1 else "mixed"
    return pre, post, path, "; ".join(r for r in reasons if r) or None


def _post_losses(engine, grid, lr_chunk, lr1, tensors, eval_index, seeds, after, base, slope):
    """The chunk's post-step losses at every lr of ``grid``, (chunk, n_lr), in lr chunks."""
    out = np.empty((int(eval_index.shape[0]), grid.size))
    for k0 in range(0, grid.size, lr_chunk):
        lr_part = grid[k0 : k0 + lr_chunk]
        padded_lrs = np.concatenate([lr_part, np.repeat(lr_part[-1:], lr_chunk - lr_part.size)])
        values = engine.post(
            base,
            slope,
            tf.constant(lr1, tf.float32),
            tf.constant(padded_lrs, tf.float32),
            after,
            tensors,
            eval_index,
            seeds,
        )
        out[:, k0 : k0 + lr_part.size] = values.numpy()[:, : lr_part.size]
    return out


def _affine_terms(
    model, engine, snapshot, tensors, grad_index, eval_index, seeds, grads, pre, after, real,
    lr1, lr2, check_lrs, start_losses=None,
):  # fmt: skip
    """``((w1(lr1), slope), None)`` of the chunk's affine step, or ``(None, reason)``.

    Two steps of the batched clone give the terms. The clone is trusted only after
    (a) on the first chunk of every call, a real training step of the real optimizer,
    at the largest lr, on the replicate with the largest gradient, agrees with it (see
    :func:`lrstats.keras._verify.clone_matches_real`; never cached across calls, since
    whether clipping acts depends on the gradients), and (b) on every chunk, clone steps
    at the grid's interior thirds agree with the affine prediction for every replicate.
    When (a) is to run, ``start_losses(base, slope)`` starts the post pass on a worker
    thread first. The check is a real step in eager Keras, Python on this thread; the pass
    is compiled C++ and a function of its inputs alone (the weights ``base + (lr - lr1)
    slope``, the non-trainable state the training forward pass left), so the real step the
    check takes and undoes meanwhile cannot change it, and the two overlap (a cold first
    call about a tenth faster on the sampler benchmark; docs/benchmarks.md). The caller
    discards the losses if the check rejects the clone.
    """
    if engine.clone is None:
        return None, engine.unsupported_reason
    if engine.verified is False:
        return None, engine.verified_reason
    base = engine.step(grads, tf.constant(lr1, tf.float32))
    top = engine.step(grads, tf.constant(lr2, tf.float32))
    slope = [(t - b) / (lr2 - lr1) for t, b in zip(top, base, strict=True)]
    weights = [v.numpy() for v in model.trainable_variables]
    if engine.verified is None:
        if start_losses is not None:
            start_losses(base, slope)
        verdict = clone_matches_real(
            model, engine, snapshot, tensors, grad_index, eval_index, seeds, grads, pre, after,
            top, real, lr2,
        )  # fmt: skip
        if verdict is not None:
            engine.verified = verdict.matches
            engine.verified_reason = verdict.reason
            if not verdict.matches:
                return None, verdict.reason
    for lr in check_lrs:
        stepped = engine.step(grads, tf.constant(lr, tf.float32))
        for w, b, s, w0 in zip(stepped, base, slope, weights, strict=True):
            predicted = np.asarray(b)[:real] + np.float32(lr - lr1) * np.asarray(s)[:real]
            if not close(np.asarray(w)[:real], predicted, w0[None]):
                return None, f"the step is not affine in the lr over this grid (at lr={lr:.3g})"
    return (base, slope), None
