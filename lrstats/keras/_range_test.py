"""Smith's LR range test for Keras 3 models, with exact state restoration and replicates.

``LRRangeTest`` is a callback for ``model.fit``; ``range_test`` runs it on a model from
its current state, once per replicate (different data orders), restores the model and
its optimizer bit for bit afterwards (also after an error or Ctrl-C) and returns a
:class:`lrstats.inference.range_test.RangeTestResult`.
"""

from __future__ import annotations

import contextlib
import math
import weakref
from collections.abc import Iterator
from typing import Any

import keras
import numpy as np
import pandas as pd

from lrstats._streams import check_seed, seed_sequence
from lrstats._validation import check_choice, check_confidence_level, check_int, check_real
from lrstats.grid import log_grid
from lrstats.inference.range_test import RangeTestResult, analyse_range_test
from lrstats.keras._data import DataPool, epoch_orders, prepare_data, take
from lrstats.keras._state import StateSnapshot, settable_learning_rate

__all__ = ["LRRangeTest", "lr_grid", "range_test"]

MODES = ("exp", "linear")


def _check_grid(start_lr: Any, end_lr: Any, num_steps: Any, mode: Any) -> tuple:
    num_steps = check_int(num_steps, "num_steps", minimum=2)
    start_lr = check_real(start_lr, "start_lr", low=0.0, low_inclusive=False)
    end_lr = check_real(end_lr, "end_lr", low=0.0, low_inclusive=False)
    if start_lr >= end_lr:
        raise ValueError(
            f"`start_lr` must be < `end_lr`. Received: start_lr={start_lr!r}, end_lr={end_lr!r}"
        )
    mode = check_choice(mode, "mode", MODES)
    return start_lr, end_lr, num_steps, mode


def lr_grid(
    start_lr: float = 1e-7, end_lr: float = 10.0, num_steps: int = 100, mode: str = "exp"
) -> np.ndarray:
    """The range test's learning rates: step ``i`` uses exactly the ``i``-th value.

    ``"exp"``: ``start_lr · (end_lr/start_lr)^(i/(num_steps-1))``, the sampler's grid
    (:func:`lrstats.log_grid`, ends exact);
    ``"linear"``: ``numpy.linspace(start_lr, end_lr, num_steps)``. Both end exactly at
    ``end_lr``.
    """
    start_lr, end_lr, num_steps, mode = _check_grid(start_lr, end_lr, num_steps, mode)
    if mode == "exp":
        return log_grid(start_lr, end_lr, num_steps)
    return np.linspace(start_lr, end_lr, num_steps)


class LRRangeTest(keras.callbacks.Callback):
    """A callback that raises the lr every batch and records each batch's own loss.

    Parameters
    ----------
    start_lr, end_lr : float
        First and last learning rate of the grid (``0 < start_lr < end_lr``).
    num_steps : int, default 100
        Batches (and grid points); training stops after them.
    mode : {"exp", "linear"}, default "exp"
    smoothing : float, default 0.98
        ``β`` of the bias-corrected moving average (:func:`lrstats.inference.range_test.smooth_losses`).
    diverge_factor : float, default 4.0
        Stop once the smoothed loss exceeds this multiple of its best, or is not finite.
    replicate : int, default 0
        Written to the ``replicate`` column.
    restore : bool, default True
        Put every weight and optimizer variable back at the end of training.

    Attributes
    ----------
    records : list of dict
        One ``{replicate, step, lr, loss, smoothed_loss}`` per batch trained.

    Notes
    -----
    Keras' ``logs["loss"]`` is the running mean of the epoch, which lags the per-batch
    loss and shifts every suggestion to larger lrs. This callback resets the model's
    metrics before each batch, so the loss reported at the end of batch ``i`` is that
    batch's loss at the weights before step ``i`` — what ``train_on_batch`` reports.
    (The progress bar and ``History`` of this fit therefore show per-batch values.)

    Restoration on ``on_train_end`` covers the normal end and an early stop; a Python
    exception inside ``fit`` skips Keras' ``on_train_end``, which is why
    :func:`range_test` wraps ``fit`` in ``try/finally``.

    Examples
    --------
    >>> finder = LRRangeTest(1e-6, 1.0, num_steps=50)  # doctest: +SKIP
    >>> model.fit(x, y, batch_size=32, epochs=1, callbacks=[finder])  # doctest: +SKIP
    >>> finder.result().suggestions  # doctest: +SKIP
    """

    def __init__(
        self,
        start_lr: float = 1e-7,
        end_lr: float = 10.0,
        *,
        num_steps: int = 100,
        mode: str = "exp",
        smoothing: float = 0.98,
        diverge_factor: float = 4.0,
        replicate: int = 0,
        restore: bool = True,
    ) -> None:
        super().__init__()
        self.lrs = lr_grid(start_lr, end_lr, num_steps, mode)
        self.mode = mode
        self.smoothing = check_real(
            smoothing, "smoothing", low=0.0, high=1.0, high_inclusive=False
        )
        self.diverge_factor = check_real(
            diverge_factor, "diverge_factor", low=1.0, low_inclusive=False
        )
        self.replicate = check_int(replicate, "replicate", minimum=0)
        self.restore = bool(restore)
        self.records: list[dict] = []
        self.stopped_at: int | None = None
        self._lr_variable: Any = None
        self._managed = False  # True when range_test drives this callback
        self._setup: Any = None
        self._snapshot: StateSnapshot | None = None
        self._step = 0
        self._average = 0.0
        self._best = math.inf

    # -- state --------------------------------------------------------------------------------
    def _begin(self, lr_variable: Any) -> None:
        self.records = []
        self.stopped_at = None
        self._lr_variable = lr_variable
        self._setup = None
        self._step = 0
        self._average = 0.0
        self._best = math.inf

    def on_train_begin(self, logs: dict | None = None) -> None:
        """Snapshot the model and optimizer (when used directly) and start recording."""
        if not self._managed:  # used directly in a user's fit
            optimizer = self.model.optimizer
            if not isinstance(optimizer.learning_rate, keras.Variable):
                raise TypeError(
                    "`LRRangeTest` in a plain fit needs an optimizer with a variable learning "
                    "rate, not a schedule; use lrstats.keras.range_test for that. Received: "
                    f"learning_rate of type {type(optimizer._learning_rate).__name__}"
                )
            _build_optimizer(self.model)
            self._snapshot = StateSnapshot(self.model) if self.restore else None
            self._begin(optimizer.learning_rate)

    def on_train_batch_begin(self, batch: int, logs: dict | None = None) -> None:
        """Set this step's lr from the grid, or stop after the last grid point."""
        if self._step >= self.lrs.size:
            self.model.stop_training = True
            return
        if self._setup is None:
            self._setup = _batch_setup(self.model, self._lr_variable, self.lrs)
        self._setup(self._step)

    def on_train_batch_end(self, batch: int, logs: dict | None = None) -> None:
        """Record the batch's loss and its smoothed value; stop at divergence."""
        if self._step >= self.lrs.size:
            return
        loss = float(np.asarray((logs or {})["loss"]))
        t = self._step + 1
        beta = self.smoothing
        self._average = beta * self._average + (1.0 - beta) * loss
        smoothed = self._average / (1.0 - beta**t)
        self.records.append(
            {
                "replicate": self.replicate,
                "step": self._step,
                "lr": float(self.lrs[self._step]),
                "loss": loss,
                "smoothed_loss": smoothed,
            }
        )
        diverged = not math.isfinite(smoothed) or (
            math.isfinite(self._best)
            and smoothed > self._best + (self.diverge_factor - 1.0) * abs(self._best)
        )
        self._best = min(self._best, smoothed) if math.isfinite(smoothed) else self._best
        self._step += 1
        if diverged:
            self.stopped_at = self._step - 1
            self.model.stop_training = True
        elif self._step >= self.lrs.size:
            self.model.stop_training = True

    def on_train_end(self, logs: dict | None = None) -> None:
        """Restore the snapshot taken in ``on_train_begin`` (when used directly)."""
        if self._snapshot is not None:
            self._snapshot.restore()
            self._snapshot = None

    # -- results ------------------------------------------------------------------------------
    def to_frame(self) -> pd.DataFrame:
        """The recorded steps: ``replicate, step, lr, loss, smoothed_loss``."""
        return pd.DataFrame(
            self.records, columns=["replicate", "step", "lr", "loss", "smoothed_loss"]
        ).astype({"replicate": np.int64, "step": np.int64})

    def result(self, *, n_resamples: int = 9999, rng: Any = None) -> RangeTestResult:
        """The suggestions of this run (one replicate: no intervals)."""
        return analyse_range_test(self.to_frame(), n_resamples=n_resamples, rng=rng)


def _grid_stepper(lr_variable: Any, metric_variables: list[Any]) -> tuple[Any, Any, Any]:
    """``(advance, grid, step)``: ``advance()`` sets the lr to ``grid[step]`` and resets metrics.

    ``advance`` also counts the step; the metrics go back to the values ``reset_metrics``
    left (read now). Meant to be traced into the caller's ``tf.function``; ``grid`` and ``step`` are the
    variables :func:`_load_grid` fills before each range test.
    """
    import tensorflow as tf

    reset_values = [tf.constant(np.asarray(v.numpy())) for v in metric_variables]
    grid = tf.Variable(
        np.zeros(0), dtype=lr_variable.dtype, shape=tf.TensorShape([None]), trainable=False
    )
    step = tf.Variable(0, dtype=tf.int64, trainable=False)

    def advance() -> None:
        lr_variable.assign(tf.gather(grid, step))
        for variable, value in zip(metric_variables, reset_values, strict=True):
            variable.assign(value)
        step.assign_add(1)

    return advance, grid, step


def _load_grid(grid: Any, step: Any, lrs: np.ndarray) -> None:
    grid.assign(lrs.astype(grid.dtype.as_numpy_dtype))
    step.assign(0)


def _batch_setup(model: Any, lr_variable: Any, lrs: np.ndarray) -> Any:
    """One graph call per batch: set the lr to ``lrs[step]`` and reset every metric.

    Equivalent to ``lr_variable.assign(lrs[step]); model.reset_metrics()``, but as a
    single TensorFlow call: three eager assigns per batch cost about 16% of a plain
    fit of the demo MLP, this costs one op dispatch. The reset values are those
    ``reset_metrics`` itself leaves (read once).
    """
    import tensorflow as tf

    model.reset_metrics()
    metric_variables = list(getattr(model, "metrics_variables", []))
    key = (id(lr_variable), tuple(id(v) for v in metric_variables))
    cached = _SETUPS.get(model)
    if cached is not None and cached[0] == key:
        setup, grid, step = cached[1]
    else:
        advance, grid, step = _grid_stepper(lr_variable, metric_variables)
        setup = tf.function(advance, autograph=False)
        _SETUPS[model] = (key, (setup, grid, step))
    _load_grid(grid, step, lrs)

    expected = [0]

    def call(index: int) -> None:
        if index != expected[0]:
            step.assign(index)
        setup()
        expected[0] = index + 1

    return call


def _no_setup(index: int) -> None:
    """The fused train function sets the lr and resets the metrics itself."""


def _fused_train_function(model: Any, lr_variable: Any, lrs: np.ndarray) -> Any:
    """A train function whose step first sets the lr to ``grid[step]`` and resets the metrics.

    The per-batch work of :func:`_batch_setup` moves into the traced step itself (stateful
    ops run in program order inside a ``tf.function``), so a batch costs what it costs in
    ``fit``. Built with Keras' TensorFlow trainer's ``_make_function`` (private API, the
    one Keras uses for ``fit``); returns None where that is unavailable, and the range
    test then uses :func:`_batch_setup` from the callback instead. Traced once per model
    and lr variable, reused by later range tests. Returns ``(train_function, step)``.
    """

    make_function = getattr(model, "_make_function", None)
    if make_function is None or keras.backend.backend() != "tensorflow":
        return None
    model.reset_metrics()
    metric_variables = list(getattr(model, "metrics_variables", []))
    train_step = getattr(model.train_step, "__func__", model.train_step)
    key = (id(train_step), id(lr_variable), tuple(id(v) for v in metric_variables))
    cached = _FUSED.get(model)
    if cached is not None and cached[0] == key:
        function, grid, step = cached[1]
    else:
        advance, grid, step = _grid_stepper(lr_variable, metric_variables)
        train_step = model.train_step

        def step_function(data: Any) -> Any:
            advance()
            return train_step(data)

        function = make_function(step_function)
        _FUSED[model] = (key, (function, grid, step))
    _load_grid(grid, step, lrs)
    return function, step


#: Per model, the fused train function (traced once, reused by later range tests).
_FUSED: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()

#: Per model, the compiled per-batch setup (traced once, reused by later range tests).
_SETUPS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def _build_optimizer(model: Any) -> None:
    """Create the optimizer's slots now, so the snapshot covers them (zeros, as Keras would)."""
    optimizer = model.optimizer
    if optimizer is None:
        raise ValueError(
            "`model` must be compiled with an optimizer. Received: model.optimizer=None"
        )
    if not optimizer.built:
        optimizer.build(model.trainable_variables)


@contextlib.contextmanager
def _restored(model: Any) -> Iterator[StateSnapshot]:
    """Snapshot the model; on exit (normal, error or KeyboardInterrupt) restore everything.

    Besides every variable, the attributes ``fit`` sets (``train_function``,
    ``stop_training``, ``history``) are put back, so the range test's own train function
    never outlives it.
    """
    snapshot = StateSnapshot(model)
    names = ("stop_training", "history", "_initial_epoch")
    attributes = {name: getattr(model, name, None) for name in names}
    train_function = model.train_function
    try:
        yield snapshot
    finally:
        snapshot.restore()
        for name, value in attributes.items():
            if hasattr(model, name) or value is not None:
                object.__setattr__(model, name, value)
        model.train_function = train_function


def _orders(pool: DataPool, seed: int, replicate: int, rows_needed: int) -> np.ndarray:
    """Row order of a replicate: concatenated permutations of the pool, from its own stream."""
    rng = np.random.default_rng(seed_sequence(seed, "range_test", replicate))
    return epoch_orders(rng, pool.n_rows, rows_needed)[:rows_needed]


def range_test(
    model: Any,
    x: Any,
    y: Any = None,
    *,
    start_lr: float = 1e-7,
    end_lr: float = 10.0,
    num_steps: int = 100,
    mode: str = "exp",
    smoothing: float = 0.98,
    diverge_factor: float = 4.0,
    replicates: int = 1,
    batch_size: int = 32,
    sample_weight: Any = None,
    seed: int | None = None,
    trim_start: float = 0.1,
    trim_end: int = 5,
    confidence_level: float = 0.95,
    n_resamples: int = 9999,
) -> RangeTestResult:
    """Run Smith's LR range test on a compiled model from its current state.

    Parameters
    ----------
    model : keras.Model
        Built and compiled. Left exactly as it was: weights, every optimizer variable
        (slots, iteration count, learning rate) and the optimizer's schedule.
    x, y
        Training data: arrays, pandas objects, dicts/lists of arrays, or a
        ``tf.data.Dataset`` of ``(x, y[, sample_weight])`` batches as ``x`` (its first
        ``num_steps × batch_size`` rows are used).
    start_lr, end_lr : float, default 1e-7, 10
        The grid's ends; step ``i`` trains at exactly the ``i``-th grid value.
    num_steps : int, default 100
        Number of batches, one per lr (>= 2).
    mode : {"exp", "linear"}, default "exp"
    smoothing : float, default 0.98
        ``β`` of the bias-corrected moving average, in ``[0, 1)``.
    diverge_factor : float, default 4.0
        A replicate stops when its smoothed loss exceeds this multiple of its best, or
        turns non-finite; the diverging step is kept in the frame.
    replicates : int, default 1
        Independent runs from the same starting state with different data orders.
    batch_size : int, default 32
    sample_weight : array-like, optional
    seed : int, optional
        Replicate ``r`` orders the rows with ``seed_sequence(seed, "range_test", r)``;
        the bootstrap over replicates draws from the ``"analysis"`` stream of ``seed``.
    trim_start, trim_end, confidence_level, n_resamples
        Passed to :func:`lrstats.inference.range_test.analyse_range_test`.

    Returns
    -------
    RangeTestResult
        ``.frame`` (``replicate, step, lr, loss, smoothed_loss`` with provenance in
        ``attrs``), ``.suggestions`` (median and interval per suggestion),
        ``.per_replicate``, ``.plot()``.

    Notes
    -----
    Every batch runs through ``fit`` and the model's own ``train_step`` (so custom
    steps, regularization losses and loss scaling behave as in training;
    ``steps_per_execution`` must be 1). Inside the traced step, before the model's
    step, the lr is set to the grid value and the loss tracker reset, so the loss
    recorded is the batch's own (see :class:`LRRangeTest`); this fused train function
    is traced once per model and the model's own train function is put back afterwards.
    With a ``LearningRateSchedule`` a temporary lr variable stands in for the schedule
    (and the fused function is traced for it).

    References
    ----------
    Smith, L. N. (2017). Cyclical learning rates for training neural networks. WACV.

    Examples
    --------
    >>> from lrstats.keras import range_test  # doctest: +SKIP
    >>> result = range_test(model, x, y, replicates=5, seed=0)  # doctest: +SKIP
    >>> result.suggestions  # doctest: +SKIP
    """
    # -- validate everything before touching the model --------------------------------------
    lrs = lr_grid(start_lr, end_lr, num_steps, mode)
    smoothing = check_real(smoothing, "smoothing", low=0.0, high=1.0, high_inclusive=False)
    diverge_factor = check_real(diverge_factor, "diverge_factor", low=1.0, low_inclusive=False)
    replicates = check_int(replicates, "replicates", minimum=1)
    batch_size = check_int(batch_size, "batch_size", minimum=1)
    seed = check_seed(seed)
    if not isinstance(model, keras.Model):
        raise TypeError(
            f"`model` must be a keras.Model. Received: model of type {type(model).__name__}"
        )
    if getattr(model, "optimizer", None) is None or not getattr(model, "compiled", False):
        raise ValueError("`model` must be compiled. Received: a model without an optimizer")
    if int(getattr(model, "steps_per_execution", 1) or 1) != 1:
        raise ValueError(
            "`model` must be compiled with steps_per_execution=1 (callbacks, and so the lr "
            "changes, run once per execution). Received: "
            f"steps_per_execution={model.steps_per_execution!r}"
        )
    rows_needed = num_steps * batch_size
    pool = prepare_data(x, y, sample_weight, max_rows=rows_needed)
    check_real(trim_start, "trim_start", low=0.0, high=1.0, high_inclusive=False)
    check_int(trim_end, "trim_end", minimum=0)
    check_confidence_level(confidence_level)
    check_int(n_resamples, "n_resamples", minimum=1)

    _build_optimizer(model)
    optimizer = model.optimizer
    frames = []
    with (
        _restored(model) as snapshot,
        settable_learning_rate(optimizer) as lr_variable,
    ):
        fused = _fused_train_function(model, lr_variable, lrs)
        setup = _batch_setup(model, lr_variable, lrs) if fused is None else None
        for replicate in range(replicates):
            order = _orders(pool, seed, replicate, rows_needed)
            callback = LRRangeTest(
                float(lrs[0]),
                float(lrs[-1]),
                num_steps=num_steps,
                mode=mode,
                smoothing=smoothing,
                diverge_factor=diverge_factor,
                replicate=replicate,
                restore=False,
            )
            callback.lrs = lrs
            callback._managed = True
            callback._begin(lr_variable)
            if fused is None:
                callback._setup = setup
            else:
                model.train_function, step_variable = fused
                step_variable.assign(0)
                callback._setup = _no_setup
            if replicate > 0:
                snapshot.restore()
            model.fit(
                take(pool.x, order),
                take(pool.y, order),
                sample_weight=None if pool.sample_weight is None else pool.sample_weight[order],
                batch_size=batch_size,
                epochs=1,
                shuffle=False,
                verbose=0,
                callbacks=[callback],
            )
            frames.append(callback.to_frame())
    frame = pd.concat(frames, ignore_index=True)
    frame.attrs.update(
        {
            "experiment": "range_test",
            "start_lr": float(lrs[0]),
            "end_lr": float(lrs[-1]),
            "num_steps": int(num_steps),
            "mode": mode,
            "smoothing": smoothing,
            "diverge_factor": diverge_factor,
            "replicates": int(replicates),
            "batch_size": int(batch_size),
            "seed": str(seed),
            "n_rows": int(pool.n_rows),
            "stopped_at": [
                int(g["step"].max()) if g.shape[0] < num_steps else -1
                for _, g in frame.groupby("replicate")
            ],
            "optimizer": type(optimizer).__name__,
            "optimizer_config": repr(optimizer.get_config()),
            "keras_version": keras.__version__,
        }
    )
    return analyse_range_test(
        frame,
        trim_start=trim_start,
        trim_end=trim_end,
        confidence_level=confidence_level,
        n_resamples=n_resamples,
        rng=seed,
    )
