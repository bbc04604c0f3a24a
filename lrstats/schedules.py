"""Learning-rate and momentum schedules as plain numpy formulas (no TensorFlow).

The Keras objects in :mod:`lrstats.keras.schedules` evaluate the same formulas with
``keras.ops``; these functions are the reference they are tested against, and what a
figure or a table uses to show a schedule without building a model.

Functions
---------
one_cycle
    Smith's 1cycle: up, down, then annihilation far below the start.
one_cycle_momentum
    The momentum (or Adam's ``beta_1``) cycled inversely to :func:`one_cycle`.
time_based_decay
    ``η0 / (1 + decay · iteration)`` per batch, as Keras' legacy ``decay`` applied it.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from lrstats._validation import check_choice, check_int, check_real

__all__ = ["ANNEALING", "one_cycle", "one_cycle_momentum", "time_based_decay"]

#: Interpolation between the phases' end points.
ANNEALING = ("linear", "cos")


def check_one_cycle(
    max_lr: Any,
    total_steps: Any,
    pct_start: Any,
    div_factor: Any,
    final_div_factor: Any,
    annihilation_pct: Any,
    anneal: Any,
) -> tuple[float, int, float, float, float, float, str]:
    """Validate 1cycle parameters (shared with the Keras schedule)."""
    max_lr = check_real(max_lr, "max_lr", low=0.0, low_inclusive=False)
    total_steps = check_int(total_steps, "total_steps", minimum=2)
    pct_start = check_real(
        pct_start, "pct_start", low=0.0, high=1.0, low_inclusive=False, high_inclusive=False
    )
    div_factor = check_real(div_factor, "div_factor", low=1.0)
    final_div_factor = check_real(final_div_factor, "final_div_factor", low=1.0)
    annihilation_pct = check_real(
        annihilation_pct, "annihilation_pct", low=0.0, high=1.0, high_inclusive=False
    )
    if pct_start >= 1.0 - annihilation_pct:
        raise ValueError(
            "`pct_start` must be < 1 - `annihilation_pct` (the peak comes before the final "
            f"phase). Received: pct_start={pct_start!r}, annihilation_pct={annihilation_pct!r}"
        )
    anneal = check_choice(anneal, "anneal", ANNEALING)
    return max_lr, total_steps, pct_start, div_factor, final_div_factor, annihilation_pct, anneal


def check_time_based_decay(initial_lr: Any, decay: Any) -> tuple[float, float]:
    """Validate time-based decay parameters (shared with the Keras schedule)."""
    initial_lr = check_real(initial_lr, "initial_lr", low=0.0, low_inclusive=False)
    decay = check_real(decay, "decay", low=0.0)
    return initial_lr, decay


def interpolate(start: Any, end: Any, fraction: Any, anneal: str, *, cos: Any = np.cos) -> Any:
    """``start → end`` at ``fraction`` of a phase, linearly or along a half cosine.

    ``cos`` is the cosine of the array library (``keras.ops.cos`` for the Keras schedule).
    """
    if anneal == "cos":
        fraction = 0.5 * (1.0 - cos(np.pi * fraction))
    return start * (1.0 - fraction) + end * fraction


def phase_ends(total_steps: int, pct_start: float, annihilation_pct: float) -> tuple[float, float]:
    """Steps where the 1cycle peaks and where its annihilation starts (shared with Keras)."""
    return pct_start * total_steps, (1.0 - annihilation_pct) * total_steps


def _phases(
    step: Any, total_steps: int, pct_start: float, annihilation_pct: float
) -> tuple[np.ndarray, ...]:
    """Phase masks and the fraction of the way through each phase, per step."""
    t = np.clip(np.asarray(step, dtype=np.float64), 0.0, float(total_steps))
    peak, cycle_end = phase_ends(total_steps, pct_start, annihilation_pct)
    up = t <= peak
    down = ~up & (t <= cycle_end)
    final = ~up & ~down
    with np.errstate(divide="ignore", invalid="ignore"):
        f_up = t / peak
        f_down = (t - peak) / (cycle_end - peak)
        f_final = np.where(
            total_steps > cycle_end, (t - cycle_end) / max(total_steps - cycle_end, 1e-300), 1.0
        )
    return up, down, final, f_up, f_down, f_final


def one_cycle(
    step: Any,
    *,
    max_lr: float,
    total_steps: int,
    pct_start: float = 0.45,
    div_factor: float = 25.0,
    final_div_factor: float = 1e4,
    annihilation_pct: float = 0.1,
    anneal: str = "linear",
) -> np.ndarray:
    """Smith's 1cycle learning rate at ``step`` (0-based; steps past the end stay at the end).

    Parameters
    ----------
    step : int or array-like
        Optimizer iterations (batches).
    max_lr : float
        The peak ``η_max``.
    total_steps : int
        Length of the whole schedule in batches (>= 2).
    pct_start : float, default 0.45
        Share of the steps spent rising, in ``(0, 1 - annihilation_pct)``.
    div_factor : float, default 25
        ``η0 = max_lr / div_factor`` is where the cycle starts and ends.
    final_div_factor : float, default 1e4
        The last step reaches ``η0 / final_div_factor``.
    annihilation_pct : float, default 0.1
        Share of the steps spent annealing from ``η0`` to ``η0 / final_div_factor``.
    anneal : {"linear", "cos"}, default "linear"
        Interpolation within each phase: straight lines (Smith) or half cosines
        (fastai, PyTorch's ``OneCycleLR`` default).

    Returns
    -------
    numpy.ndarray
        float64, the shape of ``step``.

    Notes
    -----
    With ``T = total_steps``, ``p = pct_start · T`` and ``c = (1 - annihilation_pct) · T``,
    and ``I(a, b, f) = a + (b - a)·g(f)`` (``g(f) = f`` linear, ``(1 - cos πf)/2`` cos)::

        η(t) = I(η0, η_max, t/p)                     for t <= p
             = I(η_max, η0, (t - p)/(c - p))         for p < t <= c
             = I(η0, η0/final_div_factor, (t - c)/(T - c))  for c < t <= T

    The defaults make the cycle symmetric (45% up, 45% down) with a last 10% of
    annihilation, as Smith (2018, section 4.1) describes; ``div_factor = 25`` and
    ``final_div_factor = 1e4`` are PyTorch's ``OneCycleLR`` defaults.

    References
    ----------
    Smith, L. N. (2018). A disciplined approach to neural network hyper-parameters:
    Part 1 — learning rate, batch size, momentum, and weight decay. arXiv:1803.09820.
    Smith, L. N., & Topin, N. (2019). Super-convergence. SPIE 11006.

    Examples
    --------
    >>> one_cycle([0, 45, 90, 100], max_lr=1.0, total_steps=100, div_factor=10,
    ...           final_div_factor=100)
    array([0.1  , 1.   , 0.1  , 0.001])
    """
    (max_lr, total_steps, pct_start, div_factor, final_div_factor, annihilation_pct, anneal) = (
        check_one_cycle(
            max_lr, total_steps, pct_start, div_factor, final_div_factor, annihilation_pct, anneal
        )
    )
    initial = max_lr / div_factor
    final_lr = initial / final_div_factor
    up, down, final, f_up, f_down, f_final = _phases(
        step, total_steps, pct_start, annihilation_pct
    )
    return np.select(
        [up, down, final],
        [
            interpolate(initial, max_lr, f_up, anneal),
            interpolate(max_lr, initial, f_down, anneal),
            interpolate(initial, final_lr, f_final, anneal),
        ],
    )


def one_cycle_momentum(
    step: Any,
    *,
    total_steps: int,
    max_momentum: float = 0.95,
    min_momentum: float = 0.85,
    pct_start: float = 0.45,
    annihilation_pct: float = 0.1,
    anneal: str = "linear",
) -> np.ndarray:
    """Momentum cycled inversely to :func:`one_cycle`: high → low → high, then held high.

    Parameters
    ----------
    step : int or array-like
    total_steps, pct_start, annihilation_pct, anneal
        As in :func:`one_cycle` (use the same values as the lr schedule).
    max_momentum, min_momentum : float, default 0.95, 0.85
        The bounds, ``0 <= min_momentum <= max_momentum < 1``. Smith (2018, section 4.4)
        recommends 0.95 → 0.85 for SGD; for Adam the same bounds apply to ``beta_1``
        (fastai's defaults).

    Returns
    -------
    numpy.ndarray

    Notes
    -----
    While the lr rises the momentum falls from ``max_momentum`` to ``min_momentum``; while
    the lr falls back it rises to ``max_momentum``; during annihilation it stays there.

    Examples
    --------
    >>> one_cycle_momentum([0, 45, 90, 100], total_steps=100)
    array([0.95, 0.85, 0.95, 0.95])
    """
    total_steps = check_int(total_steps, "total_steps", minimum=2)
    max_momentum = check_real(
        max_momentum, "max_momentum", low=0.0, high=1.0, high_inclusive=False
    )
    min_momentum = check_real(min_momentum, "min_momentum", low=0.0, high=max_momentum)
    check_one_cycle(1.0, total_steps, pct_start, 1.0, 1.0, annihilation_pct, anneal)
    up, down, _, f_up, f_down, _ = _phases(step, total_steps, pct_start, annihilation_pct)
    return np.select(
        [up, down],
        [
            interpolate(max_momentum, min_momentum, f_up, anneal),
            interpolate(min_momentum, max_momentum, f_down, anneal),
        ],
        default=max_momentum,
    )


def time_based_decay(step: Any, *, initial_lr: float, decay: float) -> np.ndarray:
    """``initial_lr / (1 + decay · step)``, with ``step`` counted in batches.

    Keras 2's optimizer argument ``decay`` applied this formula at every optimizer
    iteration (not every epoch); Keras 3 dropped the argument, and
    ``keras.optimizers.schedules.InverseTimeDecay(initial_lr, decay_steps=1,
    decay_rate=decay)`` computes the same values.

    Examples
    --------
    >>> time_based_decay([0, 1, 9], initial_lr=0.1, decay=1.0)
    array([0.1 , 0.05, 0.01])
    """
    initial_lr, decay = check_time_based_decay(initial_lr, decay)
    return initial_lr / (1.0 + decay * np.asarray(step, dtype=np.float64))
