"""``sensitivity``: full trainings over a grid of learning rates × seeds (× factors).

The grid search of the literature, made into a tidy, paired, resumable experiment: every
(lr, seed, factor levels) run trains a fresh model for ``epochs`` epochs and records the
epoch-end training and validation metrics. Runs are independent and fully seeded, so they
can run in this process or on a Dask cluster (:mod:`lrstats.execution`), and append to a
durable store (:mod:`lrstats.io.store`) as they finish.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import numbers
import random
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import keras
import numpy as np
import pandas as pd
import tensorflow as tf

from lrstats._progress import progress_bar
from lrstats._streams import seed_sequence
from lrstats._validation import check_int, check_lrs
from lrstats.execution import check_executor, describe_executor, map_runs
from lrstats.keras._data import epoch_orders
from lrstats.keras._plan import is_compiled, lacks_loss, optimizer_config, versions

__all__ = ["RESERVED_COLUMNS", "build_demo_model", "learning_rate_schedule", "sensitivity"]

#: Column names a factor may not take.
RESERVED_COLUMNS = ("lr", "replicate", "seed", "epoch", "loss")
#: Factors the sweep itself applies (not passed to ``build_model``).
SWEEP_FACTORS = ("batch_size",)
SCHEDULES = ("constant", "time_decay", "one_cycle")


# ----------------------------------------------------------------------------- validation
def _check_seeds(seeds: Any) -> tuple[int, ...]:
    if isinstance(seeds, numbers.Integral) and not isinstance(seeds, bool):
        count = check_int(seeds, "seeds", minimum=1)
        return tuple(range(count))
    if isinstance(seeds, (str, bytes)) or not isinstance(seeds, (Sequence, range, np.ndarray)):
        raise TypeError(
            "`seeds` must be a positive integer (seeds 0 … n-1) or a sequence of distinct "
            f"integers >= 0. Received: seeds={seeds!r}"
        )
    values = list(seeds)
    if not values:
        raise ValueError(f"`seeds` must not be empty. Received: seeds={seeds!r}")
    out = []
    for value in values:
        if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0:
            raise ValueError(
                f"`seeds` must hold integers >= 0. Received: seeds containing {value!r}"
            )
        out.append(int(value))
    if len(set(out)) != len(out):
        raise ValueError(f"`seeds` must not contain duplicates. Received: seeds={seeds!r}")
    return tuple(sorted(out))


def _check_level(name: str, level: Any) -> Any:
    if isinstance(level, np.generic):
        level = level.item()
    if isinstance(level, bool) or not isinstance(level, (str, numbers.Integral, numbers.Real)):
        raise TypeError(
            f"`factors` levels must be str, int or float. Received: factors[{name!r}] "
            f"containing {level!r}"
        )
    if isinstance(level, numbers.Real) and not isinstance(level, numbers.Integral):
        if not math.isfinite(level):
            raise ValueError(
                f"`factors` levels must be finite. Received: factors[{name!r}] containing {level!r}"
            )
        return float(level)
    return int(level) if isinstance(level, numbers.Integral) else level


def _check_factors(factors: Any, batch_size: Any) -> tuple[dict[str, tuple], int | None]:
    if factors is None:
        factors = {}
    if not isinstance(factors, Mapping):
        raise TypeError(
            "`factors` must be a mapping of factor names to lists of levels, e.g. "
            f"{{'batch_size': [32, 64]}}. Received: factors={factors!r}"
        )
    checked: dict[str, tuple] = {}
    for name, levels in factors.items():
        if not isinstance(name, str) or not name.isidentifier():
            raise ValueError(
                f"`factors` names must be identifiers (they become columns and keyword "
                f"arguments). Received: {name!r}"
            )
        if name in RESERVED_COLUMNS or name.startswith("val_"):
            raise ValueError(
                f"`factors` name {name!r} is reserved (the frame has that column). "
                f"Reserved: {list(RESERVED_COLUMNS)} and 'val_*'"
            )
        if isinstance(levels, (str, bytes)) or not isinstance(levels, (Sequence, np.ndarray)):
            raise TypeError(f"`factors[{name!r}]` must be a list of levels. Received: {levels!r}")
        values = tuple(_check_level(name, level) for level in levels)
        if not values:
            raise ValueError(f"`factors[{name!r}]` must not be empty. Received: {levels!r}")
        if len({(type(v), v) for v in values}) != len(values):
            raise ValueError(f"`factors[{name!r}]` must not repeat a level. Received: {levels!r}")
        if len({isinstance(v, str) for v in values}) > 1:
            raise TypeError(
                f"`factors[{name!r}]` levels must be all strings or all numbers. Received: {levels!r}"
            )
        if name == "batch_size":
            values = tuple(check_int(v, "factors['batch_size']", minimum=1) for v in values)
        checked[name] = values
    if "batch_size" in checked:
        if batch_size is not None:
            raise ValueError(
                "`batch_size` must be None when `factors` has a 'batch_size' factor (its "
                f"levels are the batch sizes). Received: batch_size={batch_size!r}, "
                f"factors['batch_size']={list(checked['batch_size'])}"
            )
        return checked, None
    if batch_size is None:
        raise ValueError(
            "`batch_size` must be an integer >= 1 (or give `factors={'batch_size': [...]}`). "
            "Received: batch_size=None"
        )
    return checked, check_int(batch_size, "batch_size", minimum=1)


def _leaves(data: Any, name: str) -> list[tuple[str, np.ndarray]]:
    """(path, array) of every array in a nested dict/list/tuple structure."""
    if data is None:
        return []
    if isinstance(data, Mapping):
        out = []
        for key in sorted(data, key=str):
            out += [(f"{key}/{p}", a) for p, a in _leaves(data[key], name)]
        return out
    if isinstance(data, (list, tuple)):
        out = []
        for i, item in enumerate(data):
            out += [(f"{i}/{p}", a) for p, a in _leaves(item, name)]
        return out
    if isinstance(data, (tf.data.Dataset, keras.utils.PyDataset)) or not hasattr(
        data, "__array__"
    ):
        raise TypeError(
            f"`{name}` must be array-like (NumPy, pandas) or a dict/list of arrays; datasets "
            "and generators are not supported (the sweep draws its own seeded data order). "
            f"Received: {name} of type {type(data).__name__}"
        )
    return [("", np.asarray(data))]


def _map_structure(function: Callable[[np.ndarray], np.ndarray], data: Any) -> Any:
    if data is None:
        return None
    if isinstance(data, Mapping):
        return {key: _map_structure(function, value) for key, value in data.items()}
    if isinstance(data, (list, tuple)):
        return type(data)(_map_structure(function, item) for item in data)
    return function(np.asarray(data))


def _as_arrays(data: Any) -> Any:
    return _map_structure(lambda a: a, data)


def _check_data(x: Any, y: Any, validation_data: Any) -> tuple[int, str]:
    """Number of training rows, and a fingerprint of all the data."""
    leaves = _leaves(x, "x") + _leaves(y, "y")
    if not _leaves(x, "x"):
        raise ValueError("`x` must not be None.")
    lengths = {a.shape[0] if a.ndim else None for _, a in leaves}
    if len(lengths) != 1 or None in lengths:
        raise ValueError(
            "`x` and `y` must be arrays with the same number of rows. Received: lengths "
            f"{sorted(lengths, key=str)}"
        )
    n_rows = lengths.pop()
    if n_rows < 1:
        raise ValueError("`x` must have at least one row. Received: 0 rows")
    val_leaves: list[tuple[str, np.ndarray]] = []
    if validation_data is not None:
        if not isinstance(validation_data, tuple) or len(validation_data) not in (2, 3):
            raise TypeError(
                "`validation_data` must be a tuple (x_val, y_val) or (x_val, y_val, "
                f"sample_weight_val). Received: validation_data of type {type(validation_data).__name__}"
            )
        val_leaves = _leaves(validation_data, "validation_data")
    digest = hashlib.sha256()
    for prefix, group in (("x", _leaves(x, "x")), ("y", _leaves(y, "y")), ("val", val_leaves)):
        for path, array in group:
            array = np.ascontiguousarray(array)
            if array.dtype.kind not in "biuf":
                raise TypeError(
                    f"`{prefix}` arrays must be numeric. Received: {prefix}{'/' + path if path else ''} "
                    f"of dtype {array.dtype}"
                )
            digest.update(f"{prefix}/{path}:{array.dtype.str}:{array.shape};".encode())
            digest.update(array.tobytes())
    return n_rows, digest.hexdigest()


def check_built_model(model: Any, lr: float, seed: int, levels: Mapping[str, Any]) -> None:
    """``build_model(lr, seed, **levels)`` must return a compiled model that uses ``lr``."""
    call = ", ".join([f"lr={lr!r}", f"seed={seed!r}", *(f"{k}={v!r}" for k, v in levels.items())])
    if not isinstance(model, keras.Model):
        raise TypeError(
            "`build_model` must return a compiled keras.Model. Received: "
            f"build_model({call}) returned {type(model).__name__}"
        )
    if not is_compiled(model):
        raise ValueError(
            "`build_model` must return a model compiled with an optimizer and a loss "
            f"(model.compile(optimizer=..., loss=...)). Received: build_model({call}) returned "
            f"model {model.name!r}, not compiled"
        )
    if lacks_loss(model):
        raise ValueError(
            "`build_model` must return a model compiled with a loss. Received: "
            f"build_model({call}) returned model {model.name!r} compiled without one"
        )
    rate = model.optimizer._learning_rate
    if isinstance(rate, keras.optimizers.schedules.LearningRateSchedule) or callable(rate):
        return  # a schedule built from lr: its peak or start is the builder's business
    value = float(np.asarray(rate.numpy() if hasattr(rate, "numpy") else rate))
    if not math.isclose(value, lr, rel_tol=1e-6):
        raise ValueError(
            "`build_model` must give the model's optimizer the learning rate it receives "
            f"(or a schedule built from it). Received: build_model({call}) returned an "
            f"optimizer with learning_rate={value!r}"
        )


def learning_rate_schedule(
    kind: str,
    lr: float,
    *,
    total_steps: int,
    final_fraction: float = 0.1,
    one_cycle: Callable[[float, int], Any] | None = None,
) -> Any:
    """The learning rate argument of an optimizer for a ``schedule`` factor level.

    Parameters
    ----------
    kind : {"constant", "time_decay", "one_cycle"}
        ``"constant"``: ``lr`` itself. ``"time_decay"``:
        ``keras.optimizers.schedules.InverseTimeDecay(lr, decay_steps=total_steps,
        decay_rate=1 / final_fraction - 1)``, i.e. ``lr / (1 + (1/f - 1) t / T)``, which
        falls smoothly from ``lr`` to ``final_fraction * lr`` at the last step.
        ``"one_cycle"``: ``one_cycle(lr, total_steps)``, with ``lr`` as the peak.
    lr : float
        The run's learning rate (the peak for 1cycle).
    total_steps : int
        Optimizer steps of the whole run (``epochs * ceil(n_rows / batch_size)``).
    final_fraction : float, default 0.1
        Time-based decay's last learning rate as a fraction of ``lr``.
    one_cycle : callable, optional
        ``one_cycle(max_lr, total_steps) -> LearningRateSchedule``. Default:
        ``lrstats.keras.OneCycle(max_lr, total_steps=total_steps)`` when that exists.

    Returns
    -------
    float or keras.optimizers.schedules.LearningRateSchedule

    Examples
    --------
    >>> def build_model(lr, seed, schedule):                       # doctest: +SKIP
    ...     rate = learning_rate_schedule(schedule, lr, total_steps=EPOCHS * STEPS)
    ...     model = make_model(seed)
    ...     model.compile(keras.optimizers.SGD(rate, momentum=0.9), loss="mse")
    ...     return model
    """
    if kind not in SCHEDULES:
        raise ValueError(f"`kind` must be one of {list(SCHEDULES)}. Received: kind={kind!r}")
    total_steps = check_int(total_steps, "total_steps", minimum=1)
    if kind == "constant":
        return float(lr)
    if kind == "time_decay":
        if not 0.0 < final_fraction <= 1.0:
            raise ValueError(
                f"`final_fraction` must be in (0, 1]. Received: final_fraction={final_fraction!r}"
            )
        return keras.optimizers.schedules.InverseTimeDecay(
            float(lr), decay_steps=total_steps, decay_rate=1.0 / final_fraction - 1.0
        )
    if one_cycle is None:
        import lrstats.keras as lk

        one_cycle_class = getattr(lk, "OneCycle", None)
        if one_cycle_class is None:
            raise ValueError(
                "`one_cycle` must be given (a callable (max_lr, total_steps) -> schedule): "
                "lrstats.keras.OneCycle is not available. Received: one_cycle=None"
            )
        return one_cycle_class(float(lr), total_steps=total_steps)
    if not callable(one_cycle):
        raise TypeError(f"`one_cycle` must be callable. Received: one_cycle={one_cycle!r}")
    return one_cycle(float(lr), total_steps)


def build_demo_model(lr: float, seed: int, *, n_features: int, momentum: float = 0.9) -> Any:
    """A ``build_model`` for sweeps: the demo MLP with ``SGD(lr, momentum)``.

    :func:`lrstats.keras.models.demo_model` (``n_features → 32 → 32 → 1``, ReLU, mse) with
    Glorot initializers seeded by ``seed``. Module-level, so Dask workers import it; bind
    ``n_features`` with :func:`functools.partial`.
    """
    from lrstats.keras.models import demo_model

    optimizer = keras.optimizers.SGD(learning_rate=float(lr), momentum=float(momentum))
    return demo_model(n_features, optimizer=optimizer, seed=int(seed))


# ----------------------------------------------------------------------------- one run
@dataclass(frozen=True)
class _Run:
    """One run: what distinguishes it from the others."""

    lr: float
    seed: int
    levels: tuple[tuple[str, Any], ...]  # factor levels, in the factors' order
    epochs: int
    batch_size: int

    @property
    def key(self) -> str:
        identity = {"lr": float(self.lr).hex(), "seed": self.seed, "levels": list(self.levels)}
        text = json.dumps(identity, sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:24]


@dataclass(frozen=True)
class _Shared:
    """What every run needs: sent once to each Dask worker."""

    build_model: Callable[..., Any]
    x: Any
    y: Any
    validation_data: Any
    n_rows: int
    verbose: bool = False


def _run_seeds(seed: int) -> tuple[int, np.random.Generator]:
    """The Keras global seed and the data-order generator of every run with ``seed``.

    They depend on the seed alone (not the lr nor the factor levels): runs that share a
    seed share their initial weights, their dropout masks' seeds and their data order.
    """
    weights_state = seed_sequence(seed, "sweep", 0).generate_state(1)[0]
    order = np.random.default_rng(seed_sequence(seed, "sweep", 1))
    return int(weights_state % (2**31 - 1)), order


class _ThreadLocalRandom:
    """Stands in for the ``random`` module inside Keras' seed generator module.

    Keras draws the seed of every unseeded initializer and ``SeedGenerator`` (dropout,
    noise layers) from Python's *process-global* ``random``. On a Dask worker other
    threads (the event loop, the comms) use that generator too, between our seeding and
    the model's construction, so the weights of a run would depend on what else the
    process did. While a run builds its model, this thread gets its own
    ``random.Random`` seeded from the run; every other thread, and every thread outside
    a run, sees the real ``random`` module.
    """

    def __init__(self, fallback: Any) -> None:
        self._fallback = fallback
        self._local = threading.local()

    def __getattr__(self, name: str) -> Any:
        generator = getattr(self._local, "generator", None)
        return getattr(self._fallback if generator is None else generator, name)


_INSTALL_LOCK = threading.Lock()


def _thread_random() -> _ThreadLocalRandom:
    """Install the stand-in once per process (Keras private attribute, see the class)."""
    from keras.src.random import seed_generator

    with _INSTALL_LOCK:
        current = seed_generator.python_random
        if not isinstance(current, _ThreadLocalRandom):
            current = _ThreadLocalRandom(current)
            seed_generator.python_random = current
    return current


@contextlib.contextmanager
def _run_randomness(keras_seed: int) -> Iterator[None]:
    """Seed everything a run's model draws from, in this thread only where possible."""
    stand_in = _thread_random()
    with _caller_generators_kept():
        keras.utils.set_random_seed(keras_seed)
        stand_in._local.generator = random.Random(keras_seed)
        try:
            yield
        finally:
            stand_in._local.generator = None


@contextlib.contextmanager
def _caller_generators_kept() -> Iterator[None]:
    """``keras.utils.set_random_seed`` also seeds Python's and NumPy's global generators:
    put the caller's states back afterwards (the TensorFlow global seed stays set)."""
    python_state = random.getstate()
    numpy_state = np.random.get_state()  # noqa: NPY002 - restoring the caller's global state
    try:
        yield
    finally:
        random.setstate(python_state)
        np.random.set_state(numpy_state)  # noqa: NPY002


def _epoch_batches(shared: _Shared, permutations: np.ndarray, batch_size: int) -> Any:
    """A dataset of every epoch's batches, in the order of each epoch's permutation.

    Epoch ``e`` visits rows ``permutations[e]`` in consecutive batches of ``batch_size``
    (the last one partial), as ``fit(x[p], y[p], shuffle=False)`` would; one ``fit`` call
    then trains every epoch with one traced train step.
    """

    def constant(array: np.ndarray) -> Any:
        dtype = keras.config.floatx() if np.issubdtype(array.dtype, np.floating) else None
        return tf.constant(array, dtype=dtype)

    x = tf.nest.map_structure(constant, shared.x)
    y = None if shared.y is None else tf.nest.map_structure(constant, shared.y)
    indices = tf.data.Dataset.from_tensor_slices(permutations.astype(np.int64))
    batches = indices.flat_map(lambda p: tf.data.Dataset.from_tensor_slices(p).batch(batch_size))

    def gather(rows: Any) -> Any:
        taken_x = tf.nest.map_structure(lambda a: tf.gather(a, rows), x)
        if y is None:
            return (taken_x,)
        return taken_x, tf.nest.map_structure(lambda a: tf.gather(a, rows), y)

    return batches.map(gather).prefetch(2)


def _train(run: _Run, shared: _Shared) -> pd.DataFrame:
    """Train one fresh model and return its rows (one per epoch)."""
    levels = dict(run.levels)
    build_levels = {k: v for k, v in levels.items() if k not in SWEEP_FACTORS}
    keras_seed, order = _run_seeds(run.seed)
    n_rows = shared.n_rows
    permutations = epoch_orders(order, n_rows, run.epochs * n_rows).reshape(run.epochs, n_rows)
    steps = -(-shared.n_rows // run.batch_size)
    # set_random_seed seeds Python's and NumPy's global generators too: keep the caller's.
    with _run_randomness(keras_seed):
        model = shared.build_model(run.lr, run.seed, **build_levels)
        check_built_model(model, run.lr, run.seed, build_levels)
        history = model.fit(
            _epoch_batches(shared, permutations, run.batch_size),
            epochs=run.epochs,
            steps_per_epoch=steps,
            shuffle=False,
            validation_data=shared.validation_data,
            validation_batch_size=run.batch_size,
            callbacks=[keras.callbacks.TerminateOnNaN()],
            verbose=0,
        )
    # A diverged run stops (TerminateOnNaN); its remaining epochs are NaN.
    records = [
        {
            name: float(values[e]) if e < len(values) else math.nan
            for name, values in history.history.items()
        }
        for e in range(run.epochs)
    ]
    frame = pd.DataFrame(records)
    metrics = _ordered_metrics(list(frame.columns))
    out = pd.DataFrame(
        {
            "lr": np.full(run.epochs, run.lr, dtype=np.float64),
            "replicate": np.full(run.epochs, run.seed, dtype=np.int64),
        }
    )
    for name, level in run.levels:
        out[name] = [level] * run.epochs
    out["epoch"] = np.arange(1, run.epochs + 1, dtype=np.int64)
    for name in metrics:
        out[name] = frame[name].to_numpy(dtype=np.float64)
    return out


def _ordered_metrics(names: list[str]) -> list[str]:
    """``loss``, ``val_loss``, then the other training metrics and their ``val_`` twins."""
    training = [n for n in names if not n.startswith("val_")]
    ordered = ["loss"] if "loss" in names else []
    if "val_loss" in names:
        ordered.append("val_loss")
    for name in training:
        if name == "loss":
            continue
        ordered.append(name)
        if f"val_{name}" in names:
            ordered.append(f"val_{name}")
    ordered += [n for n in names if n not in ordered]
    return ordered


# ----------------------------------------------------------------------------- public API
def sensitivity(
    build_model: Callable[..., Any],
    x: Any,
    y: Any = None,
    *,
    lrs: Any,
    seeds: int | Sequence[int],
    epochs: int,
    batch_size: int | None = None,
    validation_data: tuple | None = None,
    factors: Mapping[str, Sequence[Any]] | None = None,
    executor: Any = None,
    store: Any = None,
    progress: bool = True,
) -> pd.DataFrame:
    """Train a fresh model for every (lr, seed[, factor levels]) and record every epoch.

    Parameters
    ----------
    build_model : callable
        ``build_model(lr, seed, **factor_levels) -> keras.Model``, compiled with an
        optimizer whose learning rate is ``lr`` (or a schedule built from ``lr``, see
        :func:`learning_rate_schedule`) and a loss. Called afresh for every run, after
        the run's Keras global seed is set, so unseeded initializers and dropout are
        reproducible too; use ``seed`` for explicit initializer seeds if you like. With
        Dask it must be picklable (a module-level function, or a ``functools.partial``
        of one).
    x : array-like or dict/list of arrays
        Training inputs (NumPy or pandas; several inputs as a dict or list).
    y : array-like or dict/list of arrays, optional
        Training targets.
    lrs : array_like
        Learning rates: finite, > 0, distinct (e.g. :func:`lrstats.log_grid`).
    seeds : int or sequence of int
        ``n`` gives seeds ``0 … n-1``; or the seeds themselves (distinct, >= 0). A seed is
        a replicate: runs with the same seed start from the same weights and see the
        data in the same order at every lr and every factor level (paired design).
    epochs : int
        Epochs per run, >= 1.
    batch_size : int, optional
        Rows per training step. Required unless ``factors`` has a ``"batch_size"``.
    validation_data : tuple, optional
        ``(x_val, y_val)`` evaluated at the end of every epoch (``val_*`` columns).
    factors : mapping of str to list, optional
        Further factors crossed with the grid, e.g. ``{"batch_size": [32, 64, 128]}`` or
        ``{"schedule": ["constant", "time_decay", "one_cycle"]}``. Every level of every
        factor is run with every lr and seed, and the frame gets one column per factor.
        ``"batch_size"`` is applied by the sweep (the batch size of ``fit``); every other
        factor is passed to ``build_model`` as a keyword argument. Levels are str, int or
        float.
    executor : None or dask.distributed.Client, optional
        ``None`` trains the runs one after another in this process; a Dask ``Client``
        submits them as tasks (the data and ``build_model`` are scattered to each worker
        once). The frame is the same either way.
    store : str or path-like, optional
        A directory to which each finished run is written as it completes (see
        :class:`lrstats.io.store.RunStore`). Calling again with the same store skips the
        finished runs, so an interrupted sweep resumes. A store made with another
        configuration (grid, seeds, epochs, batch size, factors, data) is refused.
    progress : bool, default True
        A progress bar over runs, showing the best final ``val_loss`` (or ``loss``) so far.

    Returns
    -------
    pandas.DataFrame
        One row per (lr, seed, factor levels, epoch), sorted by the factor columns (in
        the order the factors are given, levels ascending), ``lr``, ``replicate`` and
        ``epoch``. Columns: ``lr`` (float64),
        ``replicate`` (int64, the seed), one column per factor, ``epoch`` (int64, from 1;
        the metrics after that epoch), ``loss``, ``val_loss`` (with validation data),
        then every compiled metric and its ``val_`` twin (float64). ``loss`` is Keras'
        running mean over the epoch's batches; ``val_*`` are evaluated after the epoch.
        A run whose training loss becomes non-finite has diverged: that epoch's values
        are kept and the remaining epochs are NaN (not trained). ``attrs`` holds the
        provenance (JSON-able): the grid, seeds, epochs, batch size, factors, the data
        fingerprint, the first model's optimizer, loss and size, and versions.

    Raises
    ------
    TypeError, ValueError
        Bad arguments, or a ``build_model`` that does not return a compiled model using
        ``lr`` (checked on the first run, in this process, before anything is stored or
        submitted).

    Notes
    -----
    Seeding. Every run with seed ``s`` calls ``keras.utils.set_random_seed(k_s)`` before
    ``build_model`` and shuffles each epoch with a generator ``g_s``, where ``k_s`` and
    ``g_s`` come from the ``"sweep"`` stream of ``s`` (:mod:`lrstats._streams`). Both
    depend only on ``s``: a run gives the same numbers wherever it runs, and the frame is
    sorted, so it is the same whatever order the runs finish in. Python's and NumPy's
    global generators are restored after each run (``set_random_seed`` changes them);
    the TensorFlow global seed is left set.

    Keras draws the seeds of unseeded initializers and dropout layers from Python's
    process-global ``random``, which other threads of a Dask worker use too; while a run
    builds and trains its model, its thread draws from its own ``random.Random(k_s)``
    instead, so those seeds do not depend on what else the process does.

    Training is one ``model.fit`` call over a ``tf.data`` pipeline that visits each
    epoch's rows in the order of that epoch's permutation, in batches of ``batch_size``
    (the last one partial): the batches of ``fit(x[p], y[p], shuffle=False)`` epoch by
    epoch, with one traced train step. ``build_model`` is called once more, in this
    process, before any run, to check what it returns.

    Analysis: reduce to the final (or best) epoch and use the inference layer, e.g.
    ``lrstats.summarize(frame[frame.epoch == epochs], response="val_loss")``;
    with factors, analyse each level.

    Examples
    --------
    >>> import keras, lrstats
    >>> from lrstats.keras import sensitivity
    >>> def build_model(lr, seed):
    ...     model = keras.Sequential([keras.Input((8,)), keras.layers.Dense(1)])
    ...     model.compile(keras.optimizers.SGD(lr), loss="mse")
    ...     return model
    >>> frame = sensitivity(build_model, x, y, lrs=lrstats.log_grid(1e-3, 1e-1, 5),
    ...                     seeds=5, epochs=10, batch_size=32,
    ...                     validation_data=(x_val, y_val))  # doctest: +SKIP
    """
    # ---- validate everything before anything runs or is written
    if not callable(build_model):
        raise TypeError(
            f"`build_model` must be callable as build_model(lr, seed, **factor_levels). "
            f"Received: build_model={build_model!r}"
        )
    grid = np.sort(check_lrs(lrs))
    seed_values = _check_seeds(seeds)
    epochs = check_int(epochs, "epochs", minimum=1)
    checked_factors, batch_size = _check_factors(factors, batch_size)
    if not isinstance(progress, bool):
        raise TypeError(f"`progress` must be True or False. Received: progress={progress!r}")
    executor = check_executor(executor)
    n_rows, fingerprint = _check_data(x, y, validation_data)

    runs = []
    level_grid = _level_combinations(checked_factors)
    for levels in level_grid:
        run_batch = dict(levels).get("batch_size", batch_size)
        for lr in grid:
            for seed in seed_values:
                runs.append(_Run(float(lr), seed, levels, epochs, int(run_batch)))

    config = {
        "kind": "lrstats.keras.sensitivity",
        "lrs": [float(v) for v in grid],
        "seeds": list(seed_values),
        "epochs": epochs,
        "batch_size": batch_size,
        "factors": {name: list(levels) for name, levels in checked_factors.items()},
        "data": fingerprint,
        "n_rows": n_rows,
        "validation": validation_data is not None,
    }
    run_store = None
    if store is not None:
        from lrstats.io.store import RunStore

        run_store = RunStore(store, config, name="store")  # refuses before writing anything

    # ---- check build_model once here, before anything is stored or submitted
    first = runs[0]
    first_levels = {k: v for k, v in first.levels if k not in SWEEP_FACTORS}
    with _run_randomness(_run_seeds(first.seed)[0]):
        probe = build_model(first.lr, first.seed, **first_levels)
        check_built_model(probe, first.lr, first.seed, first_levels)
        model_info = _model_provenance(probe)
    del probe

    shared = _Shared(
        build_model=build_model,
        x=_as_arrays(x),
        y=_as_arrays(y),
        validation_data=None if validation_data is None else _as_arrays(validation_data),
        n_rows=n_rows,
    )
    done = run_store.finished() if run_store is not None else set()
    pending = [run for run in runs if run.key not in done]
    if run_store is not None:
        run_store.clean()

    frames = _execute(pending, shared, executor, run_store, progress, len(runs), len(done))
    if run_store is not None:
        frame = run_store.read()
        keys = {run.key for run in runs}
        if len(frame) != len(runs) * epochs:  # pragma: no cover - a store edited by hand
            raise ValueError(
                f"`store` holds {len(frame)} rows; expected {len(runs) * epochs} "
                f"({len(keys)} runs × {epochs} epochs)"
            )
    else:
        frame = pd.concat(frames, ignore_index=True)
    frame = _assemble(frame, list(checked_factors))
    frame.attrs.update(
        {
            "sweep": "lrstats.keras.sensitivity",
            **config,
            "response_columns": [
                c for c in frame.columns if c not in _key_columns(frame, list(checked_factors))
            ],
            **model_info,
            "versions": versions(),
        }
    )
    return frame


def _key_columns(frame: pd.DataFrame, factor_names: list[str]) -> list[str]:
    return ["lr", "replicate", *factor_names, "epoch"]


def _assemble(frame: pd.DataFrame, factor_names: list[str]) -> pd.DataFrame:
    """Sorted, typed, column-ordered: the same whatever the order the runs finished in."""
    keys = _key_columns(frame, factor_names)
    metrics = _ordered_metrics([c for c in frame.columns if c not in keys])
    frame = frame[[*keys, *metrics]]
    frame = frame.sort_values([*factor_names, "lr", "replicate", "epoch"], kind="stable")
    frame = frame.reset_index(drop=True)
    frame = frame.astype(
        {"lr": np.float64, "replicate": np.int64, "epoch": np.int64}
        | dict.fromkeys(metrics, np.float64)
    )
    return frame


def _level_combinations(factors: dict[str, tuple]) -> list[tuple[tuple[str, Any], ...]]:
    import itertools

    names = list(factors)
    return [
        tuple(zip(names, combination, strict=True))
        for combination in itertools.product(*(factors[n] for n in names))
    ]


def _model_provenance(model: Any) -> dict[str, Any]:
    optimizer = model.optimizer
    # Keras numbers names per process (sgd_7): not provenance
    config = optimizer_config(optimizer, drop=("name",))
    return {
        "optimizer": type(optimizer).__name__,
        "optimizer_config": config,
        "loss": repr(getattr(model, "loss", None)),
        "model": type(model).__name__,
        "n_parameters": int(sum(int(np.prod(v.shape)) for v in model.trainable_variables)),
    }


def _execute(
    pending: list[_Run],
    shared: _Shared,
    executor: Any,
    run_store: Any,
    progress: bool,
    n_runs: int,
    n_done: int,
) -> list[pd.DataFrame]:
    best: dict[str, Any] = {}
    description = "sweep" if executor is None else f"sweep on {describe_executor(executor)}"
    with progress_bar(
        progress, total=n_runs, initial=n_done, desc=description, unit="run", leave=True
    ) as bar:

        def on_result(index: int, frame: pd.DataFrame) -> None:
            run = pending[index]
            if run_store is not None:
                run_store.append(run.key, frame)
            response = "val_loss" if "val_loss" in frame.columns else "loss"
            value = float(frame[response].iloc[-1])
            if math.isfinite(value) and (not best or value < best["value"]):
                best.update(value=value, lr=run.lr, seed=run.seed, levels=run.levels)
                levels = "".join(f", {k}={v}" for k, v in run.levels)
                bar.set_postfix_str(
                    f"best final {response} {value:.4g} at lr={run.lr:.3g}{levels}"
                )
            bar.update(1)

        return map_runs(
            _train,
            pending,
            shared=shared,
            executor=executor,
            on_result=on_result,
            key_prefix="lrstats-sweep",
        )
