"""1cycle and other schedules for Keras 3, and builders from lrstats results.

``OneCycle`` is a ``keras.optimizers.schedules.LearningRateSchedule`` computing the
formula of :func:`lrstats.schedules.one_cycle` with ``keras.ops`` (serializable, so a
model saved to ``.keras`` keeps it); ``CycleMomentum`` is a callback cycling SGD's
``momentum`` or Adam's ``beta_1`` inversely to it. The builders turn a range-test result
or a ``Selection`` into a schedule.
"""

from __future__ import annotations

import math
from typing import Any

import keras
from keras import ops

from lrstats._validation import check_choice, check_int
from lrstats.schedules import (
    check_one_cycle,
    check_time_based_decay,
    interpolate,
    one_cycle_momentum,
    phase_ends,
)

__all__ = [
    "CycleMomentum",
    "OneCycle",
    "cosine_restarts_from_selection",
    "one_cycle_from_range_test",
    "one_cycle_from_selection",
    "time_based_decay_schedule",
]


@keras.saving.register_keras_serializable(package="lrstats")
class OneCycle(keras.optimizers.schedules.LearningRateSchedule):
    """Smith's 1cycle schedule: ``η0 → η_max → η0`` then annihilation far below ``η0``.

    Parameters
    ----------
    max_lr : float
    total_steps : int
    pct_start : float, default 0.45
        In ``(0, 1 - annihilation_pct)``.
    div_factor : float, default 25
        ``η0 = max_lr / div_factor``.
    final_div_factor : float, default 1e4
        Final lr ``η0 / final_div_factor``.
    annihilation_pct : float, default 0.1
    anneal : {"linear", "cos"}, default "linear"
    name : str, default "OneCycle"

    Notes
    -----
    The formula and its references are in :func:`lrstats.schedules.one_cycle`, which
    this schedule matches to float32 precision (tested). Steps past ``total_steps``
    stay at the final lr.

    Examples
    --------
    >>> schedule = OneCycle(0.1, total_steps=1000)  # doctest: +SKIP
    >>> model.compile(keras.optimizers.SGD(schedule, momentum=0.9), "mse")  # doctest: +SKIP
    """

    def __init__(
        self,
        max_lr: float,
        total_steps: int,
        *,
        pct_start: float = 0.45,
        div_factor: float = 25.0,
        final_div_factor: float = 1e4,
        annihilation_pct: float = 0.1,
        anneal: str = "linear",
        name: str = "OneCycle",
    ) -> None:
        super().__init__()
        (
            self.max_lr,
            self.total_steps,
            self.pct_start,
            self.div_factor,
            self.final_div_factor,
            self.annihilation_pct,
            self.anneal,
        ) = check_one_cycle(
            max_lr, total_steps, pct_start, div_factor, final_div_factor, annihilation_pct, anneal
        )
        self.name = name

    def _interpolate(self, start: float, end: float, fraction: Any) -> Any:
        return interpolate(start, end, fraction, self.anneal, cos=ops.cos)

    def __call__(self, step: Any) -> Any:
        dtype = keras.config.floatx()
        total = float(self.total_steps)
        t = ops.clip(ops.cast(step, dtype), 0.0, total)
        peak, cycle_end = phase_ends(total, self.pct_start, self.annihilation_pct)
        initial = self.max_lr / self.div_factor
        final_lr = initial / self.final_div_factor
        up = self._interpolate(initial, self.max_lr, t / peak)
        down = self._interpolate(self.max_lr, initial, (t - peak) / (cycle_end - peak))
        if total > cycle_end:
            last = self._interpolate(initial, final_lr, (t - cycle_end) / (total - cycle_end))
        else:
            last = ops.full_like(t, final_lr)
        return ops.where(t <= peak, up, ops.where(t <= cycle_end, down, last))

    def get_config(self) -> dict:
        return {
            "max_lr": self.max_lr,
            "total_steps": self.total_steps,
            "pct_start": self.pct_start,
            "div_factor": self.div_factor,
            "final_div_factor": self.final_div_factor,
            "annihilation_pct": self.annihilation_pct,
            "anneal": self.anneal,
            "name": self.name,
        }


class _Hyperparameter(keras.Variable):
    """A variable standing in for an optimizer's float hyperparameter during ``fit``.

    Optimizers compare it with Python numbers (SGD: ``if self.momentum != 0``); those
    comparisons use the lower bound of the cycle (never crossing 0), so the traced step
    takes the same branch as with a float, while ``ops.cast`` reads the live value.
    """

    _lrstats_reference: float = 1.0

    def __ne__(self, other: Any) -> Any:
        if isinstance(other, (int, float)):
            return self._lrstats_reference != other
        return super().__ne__(other)

    def __eq__(self, other: Any) -> Any:
        if isinstance(other, (int, float)):
            return self._lrstats_reference == other
        return super().__eq__(other)

    __hash__ = keras.Variable.__hash__


class CycleMomentum(keras.callbacks.Callback):
    """Cycle the optimizer's momentum (SGD ``momentum``, Adam-family ``beta_1``) every batch.

    Parameters
    ----------
    total_steps : int
        Same as the ``OneCycle`` schedule it accompanies.
    max_momentum, min_momentum : float, default 0.95, 0.85
        Bounds (Smith 2018: 0.95 → 0.85 → 0.95).
    pct_start, annihilation_pct, anneal
        Same as the lr schedule.
    attribute : {"auto", "momentum", "beta_1"}, default "auto"
        ``"auto"`` picks ``beta_1`` when the optimizer has it, else ``momentum``.

    Notes
    -----
    Keras optimizers read these hyperparameters as Python floats, fixed when the train
    step is traced. During ``fit`` the callback swaps the float for a variable (not
    tracked by the optimizer, so ``optimizer.variables`` and checkpoints are unchanged),
    retraces the train step once, assigns :func:`lrstats.schedules.one_cycle_momentum`
    at ``optimizer.iterations`` before every batch, and puts the original float and
    train function back at the end of training. SGD built with ``momentum=0`` has no
    momentum slots and cannot be cycled (an error says so).

    Examples
    --------
    >>> model.fit(x, y, callbacks=[CycleMomentum(total_steps=1000)])  # doctest: +SKIP
    """

    def __init__(
        self,
        total_steps: int,
        *,
        max_momentum: float = 0.95,
        min_momentum: float = 0.85,
        pct_start: float = 0.45,
        annihilation_pct: float = 0.1,
        anneal: str = "linear",
        attribute: str = "auto",
    ) -> None:
        super().__init__()
        self.schedule_kwargs = {
            "total_steps": total_steps,
            "max_momentum": max_momentum,
            "min_momentum": min_momentum,
            "pct_start": pct_start,
            "annihilation_pct": annihilation_pct,
            "anneal": anneal,
        }
        one_cycle_momentum(0, **self.schedule_kwargs)  # validates
        self.min_momentum = float(min_momentum)
        self.attribute = check_choice(attribute, "attribute", ("auto", "momentum", "beta_1"))
        self.history: list[float] = []
        self._original: Any = None
        self._variable: Any = None
        self._name = ""
        self._train_function: Any = None

    def _resolve(self, optimizer: Any) -> str:
        name = self.attribute
        if name == "auto":
            name = "beta_1" if hasattr(optimizer, "beta_1") else "momentum"
        value = getattr(optimizer, name, None)
        if not isinstance(value, (int, float)) or isinstance(value, bool):
            raise ValueError(
                f"`attribute` must name a float hyperparameter of the optimizer. Received: "
                f"attribute={name!r} on {type(optimizer).__name__} (value {value!r})"
            )
        if name == "momentum" and value == 0:
            raise ValueError(
                "`CycleMomentum` needs SGD built with momentum > 0 (it has no momentum slots "
                "otherwise). Received: momentum=0"
            )
        return name

    def on_train_begin(self, logs: dict | None = None) -> None:
        """Swap the optimizer's momentum float for a variable and retrace the train step."""
        optimizer = self.model.optimizer
        self._name = self._resolve(optimizer)
        self._original = getattr(optimizer, self._name)
        variable = _Hyperparameter(
            float(self._original), dtype="float32", trainable=False, name=f"lrstats_{self._name}"
        )
        variable._lrstats_reference = float(self._original)
        object.__setattr__(optimizer, self._name, variable)
        self._variable = variable
        self._train_function = self.model.train_function
        self.model.make_train_function(force=True)

    def on_train_batch_begin(self, batch: int, logs: dict | None = None) -> None:
        """Set the momentum of the optimizer's current iteration."""
        step = int(self.model.optimizer.iterations.numpy())
        value = float(one_cycle_momentum(step, **self.schedule_kwargs))
        self._variable.assign(value)
        self.history.append(value)

    def on_train_end(self, logs: dict | None = None) -> None:
        """Put the original momentum and train function back."""
        if self._variable is not None:
            object.__setattr__(self.model.optimizer, self._name, self._original)
            self.model.train_function = self._train_function
            self._variable = None


def _finite_positive(value: Any, name: str) -> float:
    value = float(value)
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"`{name}` must be a finite lr > 0. Received: {name}={value!r}")
    return value


def one_cycle_from_range_test(
    result: Any,
    total_steps: int,
    *,
    suggestion: str = "valley",
    div_factor: float = 25.0,
    **kwargs: Any,
) -> OneCycle:
    """A 1cycle whose peak is a range-test suggestion: ``η_max = suggestion``, ``η0 = η_max / div_factor``.

    Parameters
    ----------
    result : RangeTestResult
        From :func:`lrstats.keras.range_test`.
    total_steps : int
    suggestion : {"steep", "minimum", "valley"}, default "valley"
        Its median over replicates is used.
    div_factor : float, default 25
    **kwargs
        Other :class:`OneCycle` arguments.
    """
    lr = _finite_positive(result.suggestion(suggestion), "suggestion")
    return OneCycle(lr, total_steps, div_factor=div_factor, **kwargs)


def one_cycle_from_selection(selection: Any, total_steps: int, **kwargs: Any) -> OneCycle:
    """A 1cycle from a ``Selection`` (:func:`lrstats.inference.select_lr`).

    ``η_max`` is the selected lr. Unless ``div_factor`` is given, ``η0`` is the lower end
    of the selection's interval (``div_factor = lr / ci_low``, at least 1), so the cycle
    sweeps the lrs the data could not tell apart from the selected one; with no usable
    interval the default 25 applies.

    Examples
    --------
    >>> import lrstats
    >>> from lrstats.simulate import simulate_frame
    >>> frame = simulate_frame(replicates=30, rng=0)
    >>> from lrstats.keras.schedules import one_cycle_from_selection
    >>> selection = lrstats.select_lr(frame, rule="mean", n_resamples=200, rng=0)
    >>> schedule = one_cycle_from_selection(selection, total_steps=1000)
    >>> lr, low = selection.lr, selection.ci_low
    >>> round(low / lr, 3)   # the interval's low end, where the cycle starts
    0.794
    >>> round(float(schedule(0)) / low, 5), round(float(schedule(450)) / lr, 5)
    (1.0, 1.0)
    """
    lr = _finite_positive(selection.lr, "selection.lr")
    if "div_factor" not in kwargs:
        low = float(getattr(selection, "ci_low", math.nan))
        kwargs["div_factor"] = max(lr / low, 1.0) if math.isfinite(low) and low > 0 else 25.0
    return OneCycle(lr, total_steps, **kwargs)


def cosine_restarts_from_selection(
    selection: Any,
    first_decay_steps: int,
    *,
    t_mul: float = 2.0,
    m_mul: float = 1.0,
) -> keras.optimizers.schedules.CosineDecayRestarts:
    """Keras' ``CosineDecayRestarts`` between a selection's lr and the low end of its interval.

    Each cycle starts at the selected lr and decays by a cosine to ``alpha · lr`` with
    ``alpha = ci_low / lr`` (0 when there is no interval), then restarts; cycle ``i`` is
    ``t_mul^i`` times longer and starts ``m_mul^i`` times lower (Loshchilov & Hutter 2017,
    SGDR). This is what autolrtuner's ``GetCyclicLRCallback`` offers, as a schedule.

    Examples
    --------
    >>> import lrstats
    >>> from lrstats.simulate import simulate_frame
    >>> frame = simulate_frame(replicates=30, rng=0)
    >>> from lrstats.keras.schedules import cosine_restarts_from_selection
    >>> selection = lrstats.select_lr(frame, rule="mean", n_resamples=200, rng=0)
    >>> schedule = cosine_restarts_from_selection(selection, first_decay_steps=500)
    >>> lr, low = selection.lr, selection.ci_low
    >>> round(low / lr, 3)   # each cycle decays from lr to the interval's low end
    0.794
    >>> round(float(schedule(0)) / lr, 5), round(float(schedule(499)) / low, 2)
    (1.0, 1.0)
    """
    lr = _finite_positive(selection.lr, "selection.lr")
    first_decay_steps = check_int(first_decay_steps, "first_decay_steps", minimum=1)
    low = float(getattr(selection, "ci_low", math.nan))
    alpha = min(low / lr, 1.0) if math.isfinite(low) and low > 0 else 0.0
    return keras.optimizers.schedules.CosineDecayRestarts(
        lr, first_decay_steps, t_mul=float(t_mul), m_mul=float(m_mul), alpha=alpha
    )


def time_based_decay_schedule(
    initial_lr: float, decay: float
) -> keras.optimizers.schedules.InverseTimeDecay:
    """``η0 / (1 + decay · iteration)`` per batch, as Keras 2's ``decay=`` argument applied it.

    Returns ``InverseTimeDecay(initial_lr, decay_steps=1, decay_rate=decay)``; the
    formula is :func:`lrstats.schedules.time_based_decay`.

    Examples
    --------
    >>> from lrstats.keras.schedules import time_based_decay_schedule
    >>> schedule = time_based_decay_schedule(0.1, decay=0.01)
    >>> round(float(schedule(0)), 6), round(float(schedule(100)), 6)   # 0.1 / (1 + 0.01 * 100)
    (0.1, 0.05)
    """
    initial_lr, decay = check_time_based_decay(initial_lr, decay)
    return keras.optimizers.schedules.InverseTimeDecay(initial_lr, decay_steps=1, decay_rate=decay)
