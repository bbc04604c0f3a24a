"""Exact snapshots of a model and its optimizer, and real optimizer steps at a chosen lr.

``StateSnapshot`` copies every variable (weights, non-trainable state, metric state,
optimizer slots, iteration count, learning rate) to host memory; ``restore`` writes the
copies back only where a value differs, so restoring an untouched model costs a compare.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import keras
import numpy as np

from lrstats.keras._keras_private import (
    inner_optimizer,
    learning_rate_slot,
    replace_learning_rate_slot,
)


def _all_variables(model: Any) -> list[Any]:
    seen: set[int] = set()
    variables = []
    groups = [model.variables, getattr(model, "metrics_variables", [])]
    if getattr(model, "optimizer", None) is not None:
        groups.append(model.optimizer.variables)
    for group in groups:
        for variable in group:
            if id(variable) not in seen:
                seen.add(id(variable))
                variables.append(variable)
    return variables


def _same_bits(a: np.ndarray, b: np.ndarray) -> bool:
    a, b = np.asarray(a), np.asarray(b)
    return a.shape == b.shape and a.dtype == b.dtype and a.tobytes() == b.tobytes()


class StateSnapshot:
    """Bit-exact copy of every variable of ``model`` and ``model.optimizer``."""

    def __init__(self, model: Any) -> None:
        self._variables = _all_variables(model)
        self._values = [np.array(v.numpy(), copy=True) for v in self._variables]

    def restore(self) -> None:
        """Write back every value that changed (bit-for-bit comparison)."""
        for variable, value in zip(self._variables, self._values, strict=True):
            if not _same_bits(variable.numpy(), value):
                variable.assign(value)


@contextlib.contextmanager
def settable_learning_rate(optimizer: Any) -> Iterator[Any]:
    """Yield a variable that sets the optimizer's lr for real steps.

    An optimizer built with a ``LearningRateSchedule`` has no lr variable; a temporary
    one stands in for the schedule and the schedule is put back on exit. For a
    ``LossScaleOptimizer`` the variable is the inner optimizer's, the one its step uses
    (its own learning rate is an unused 0).
    """
    optimizer = inner_optimizer(optimizer)
    schedule = learning_rate_slot(optimizer)
    if isinstance(schedule, keras.optimizers.schedules.LearningRateSchedule) or callable(schedule):
        stand_in = keras.Variable(
            1.0, dtype=keras.config.floatx(), trainable=False, name="lrstats_learning_rate"
        )
        replace_learning_rate_slot(optimizer, stand_in)
        try:
            yield stand_in
        finally:
            replace_learning_rate_slot(optimizer, schedule)
    else:
        yield schedule
