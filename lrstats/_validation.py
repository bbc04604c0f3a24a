"""Argument validation shared by every layer (numpy; pandas only inside :func:`check_dataframe`).

Messages follow one pattern: the parameter in backticks, what was wrong, and the
value received, e.g. ``"`n_resamples` must be an integer >= 1. Received: n_resamples=0"``.
"""

from __future__ import annotations

import numbers
from collections.abc import Iterable
from typing import Any

import numpy as np


def check_int(value: Any, name: str, *, minimum: int | None = None) -> int:
    """Return ``value`` as an ``int``; reject bools, floats and values below ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"`{name}` must be an integer. Received: {name}={value!r}")
    value = int(value)
    if minimum is not None and value < minimum:
        raise ValueError(f"`{name}` must be an integer >= {minimum}. Received: {name}={value!r}")
    return value


def check_real(
    value: Any,
    name: str,
    *,
    low: float | None = None,
    high: float | None = None,
    low_inclusive: bool = True,
    high_inclusive: bool = True,
) -> float:
    """Return ``value`` as a finite ``float`` within the given bounds."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"`{name}` must be a real number. Received: {name}={value!r}")
    value = float(value)
    ok = np.isfinite(value)
    if ok and low is not None:
        ok = value >= low if low_inclusive else value > low
    if ok and high is not None:
        ok = value <= high if high_inclusive else value < high
    if not ok:
        lo = "-inf" if low is None else f"{low:g}"
        hi = "inf" if high is None else f"{high:g}"
        interval = f"{'[' if low_inclusive and low is not None else '('}{lo}, {hi}{']' if high_inclusive and high is not None else ')'}"
        raise ValueError(
            f"`{name}` must be a finite number in {interval}. Received: {name}={value!r}"
        )
    return value


def check_dataframe(value: Any, name: str = "frame") -> Any:
    """A pandas DataFrame (returned unchanged)."""
    import pandas as pd

    if not isinstance(value, pd.DataFrame):
        raise TypeError(
            f"`{name}` must be a pandas DataFrame. Received: {name} of type {type(value).__name__}"
        )
    return value


def check_confidence_level(value: Any, name: str = "confidence_level") -> float:
    """A confidence level strictly between 0 and 1."""
    return check_real(value, name, low=0.0, high=1.0, low_inclusive=False, high_inclusive=False)


def check_choice(value: Any, name: str, choices: Iterable[str]) -> str:
    """One of a fixed set of strings (case-sensitive)."""
    choices = tuple(choices)
    if not isinstance(value, str) or value not in choices:
        options = ", ".join(repr(c) for c in choices)
        raise ValueError(f"`{name}` must be one of {options}. Received: {name}={value!r}")
    return value


def check_lrs(lrs: Any, name: str = "lrs") -> np.ndarray:
    """A non-empty 1-D float64 array of distinct, finite, positive learning rates."""
    if isinstance(lrs, (str, bytes)) or lrs is None:
        raise TypeError(
            f"`{name}` must be a 1-D sequence of learning rates. Received: {name}={lrs!r}"
        )
    try:
        array = np.asarray(lrs, dtype=np.float64)
    except (TypeError, ValueError):
        raise TypeError(
            f"`{name}` must be a 1-D sequence of real numbers. Received: {name}={lrs!r}"
        ) from None
    if array.ndim == 0:
        array = array.reshape(1)
    if array.ndim != 1:
        raise ValueError(f"`{name}` must be 1-D. Received: {name} with shape {array.shape}")
    if array.size == 0:
        raise ValueError(f"`{name}` must not be empty. Received: {name}={lrs!r}")
    bad = ~np.isfinite(array) | (array <= 0)
    if bad.any():
        raise ValueError(
            f"`{name}` must be finite and > 0. Received: {name} containing {array[bad][:5].tolist()}"
        )
    unique, counts = np.unique(array, return_counts=True)
    if (counts > 1).any():
        raise ValueError(
            f"`{name}` must not contain duplicates. Received: {name} repeating {unique[counts > 1][:5].tolist()}"
        )
    return array


def as_rng(rng: Any, name: str = "rng") -> np.random.Generator:
    """``numpy.random.default_rng(rng)`` with an error that names the parameter."""
    try:
        return np.random.default_rng(rng)
    except (TypeError, ValueError):
        raise TypeError(
            f"`{name}` must be None, an int, a SeedSequence or a Generator. Received: {name}={rng!r}"
        ) from None
