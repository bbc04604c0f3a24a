"""Per-lr summaries: mean, spread, intervals and probability of decrease."""

from __future__ import annotations

from functools import partial
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from lrstats._validation import as_rng, check_choice, check_confidence_level, check_int
from lrstats.inference._bootstrap import (
    bootstrap_interval,
    mean_acceleration,
    resample_counts,
    resampled_means,
    warn_degenerate,
    wilson_interval,
)
from lrstats.inference._frame import ReplicateMatrix, is_loss_change
from lrstats.inference._reduce import per_level
from lrstats.inference._results import Summary

__all__ = ["METHODS", "summarize"]

#: Interval methods for the mean.
METHODS = ("t", "percentile", "basic", "bca")


def _check_common(confidence_level: Any, method: Any, n_resamples: Any) -> tuple[float, str, int]:
    confidence_level = check_confidence_level(confidence_level)
    method = check_choice(method, "method", METHODS)
    n_resamples = check_int(n_resamples, "n_resamples", minimum=1)
    return confidence_level, method, n_resamples


def finite_sd(
    values: np.ndarray, finite: np.ndarray, mean: np.ndarray, n: np.ndarray
) -> np.ndarray:
    """Column sd (ddof 1) over finite values; exactly 0 for constant columns, NaN if n < 2.

    Rounding in the mean would otherwise give constant columns a tiny positive sd and
    hide their degeneracy.
    """
    with np.errstate(invalid="ignore", divide="ignore"):
        squares = (np.where(finite, values - mean, 0.0) ** 2).sum(axis=0)
        sd = np.sqrt(squares / (n - 1))
    constant = np.where(finite, values, -np.inf).max(axis=0) == np.where(
        finite, values, np.inf
    ).min(axis=0)
    return np.where(n > 1, np.where(constant, 0.0, sd), np.nan)


def column_statistics(matrix: ReplicateMatrix) -> dict[str, np.ndarray]:
    """Point statistics of every lr over its finite values (no warnings; NaN where undefined)."""
    values, finite = matrix.values, matrix.finite
    n = finite.sum(axis=0)
    masked = np.where(finite, values, np.nan)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(finite, values, 0.0).sum(axis=0) / n
        sd = finite_sd(values, finite, mean, n)
        se = sd / np.sqrt(n)
    median = np.full(matrix.n_lrs, np.nan)
    some = n > 0
    if some.any():
        median[some] = np.nanmedian(masked[:, some], axis=0)
    mean = np.where(n > 0, mean, np.nan)
    return {
        "n": n,
        "n_nonfinite": matrix.n_observed - n,
        "mean": mean,
        "sd": sd,
        "se": se,
        "median": median,
        "n_decrease": (values < 0).sum(axis=0),
    }


def mean_interval(
    matrix: ReplicateMatrix,
    statistics: dict[str, np.ndarray],
    *,
    confidence_level: float,
    method: str,
    counts: np.ndarray | None,
) -> tuple[np.ndarray, np.ndarray]:
    """Interval for every lr's mean; NaN plus a warning for degenerate lrs."""
    n, mean, sd, se = (statistics[key] for key in ("n", "mean", "sd", "se"))
    degenerate = ~(n >= 2) | ~(sd > 0)
    if method == "t":
        with np.errstate(invalid="ignore"):
            critical = stats.t.ppf(0.5 + confidence_level / 2.0, np.where(n >= 2, n - 1, np.nan))
        low, high = mean - critical * se, mean + critical * se
    else:
        samples = resampled_means(counts, matrix.values, finite=matrix.finite)
        acceleration = mean_acceleration(matrix.values, matrix.finite) if method == "bca" else None
        low, high = bootstrap_interval(samples, mean, confidence_level, method, acceleration)
    surprising = degenerate & ~matrix.diverging  # divergence explains missing values
    if surprising.any():
        lrs = matrix.lrs[surprising]
        warn_degenerate(
            f"The interval for the mean is NaN at {surprising.sum()} lr(s) with fewer than 2 "
            f"values or zero variance: {np.round(lrs[:5], 12).tolist()}",
            stacklevel=4,
        )
    if degenerate.any():
        low = np.where(degenerate, np.nan, low)
        high = np.where(degenerate, np.nan, high)
    return low, high


def summarize(
    frame: pd.DataFrame,
    *,
    response: str = "delta",
    goal: str = "minimize",
    at: str | int = "final",
    by: str | list[str] | None = None,
    confidence_level: float = 0.95,
    method: str = "t",
    n_resamples: int = 9999,
    rng: Any = None,
) -> Summary:
    """Summarize the response at every learning rate of the grid.

    Parameters
    ----------
    frame : pandas.DataFrame
        Tidy frame with columns ``lr``, ``replicate`` and the response (or ``pre``/``post``),
        optionally a trajectory index (``step``/``epoch``) and factor columns. A run
        missing at some lr (an incomplete grid) just has fewer values there.
    response : str, default "delta"
        ``"delta"`` (``post - pre``), ``"relative"``, ``"log_ratio"`` or a numeric column
        (see :func:`response_values`).
    goal : {"minimize", "maximize"}, default "minimize"
        Which direction is better; used here only by ``at="best"``.
    at : {"final", "best"} or int, default "final"
        How a trajectory becomes one value per run (see :func:`reduce_frame`).
    by : str or list of str, optional
        Factor column(s): one summary per level, returned as a :class:`ByLevel` whose
        ``to_frame()`` starts with the level columns.
    confidence_level : float, default 0.95
        Level of the interval for the mean and of the Wilson interval for ``p_decrease``.
    method : {"t", "percentile", "basic", "bca"}, default "t"
        Interval for the mean: Student t, or a replicate bootstrap (percentile, basic or
        bias-corrected and accelerated).
    n_resamples : int, default 9999
        Bootstrap resamples (ignored for ``method="t"``).
    rng : seed or numpy.random.Generator, optional
        Anything :func:`numpy.random.default_rng` accepts.

    Returns
    -------
    Summary or ByLevel
        ``summary.table`` has one row per lr with ``lr, n, n_nonfinite, mean, sd, se,
        median, ci_low, ci_high`` and, for loss changes only, ``p_decrease,
        p_decrease_low, p_decrease_high``.

    Notes
    -----
    Per lr ``k`` with finite values ``x_1 … x_n`` (``n`` of the ``M`` replicates):
    ``mean = x̄``, ``sd = sqrt(Σ (x_i - x̄)² / (n - 1))``, ``se = sd / sqrt(n)``; the t
    interval is ``x̄ ± t_{n-1, (1+level)/2} se``.

    The bootstrap draws *replicates* with replacement, ``n_resamples`` times, and
    recomputes all lrs' means from the same draws (so the pairing between lrs is kept),
    as one matrix product of the B × M counts matrix with the M × K data. Per lr the
    interval is the ordinary bootstrap interval of that lr's mean, with the conventions of
    :func:`scipy.stats.bootstrap` (linear quantiles; BCa with the jackknife acceleration,
    Efron & Tibshirani 1993, ch. 14).

    Measured coverage of nominal 95 % intervals for the mean (1,000 simulated frames per
    cell, ``n_resamples=999``): with 30 replicates, t 0.948/0.952 (normal/skewed ΔL),
    percentile 0.939/0.940, basic 0.935/0.934, BCa 0.937/0.938; with 10 replicates and
    skewed ΔL, t 0.952 but percentile 0.901, basic 0.905, BCa 0.893. Bootstrap intervals
    are too narrow with few replicates; prefer ``"t"`` below about 20 replicates.

    ``p_decrease`` (loss changes only) is the share of *all* ``M`` replicates observed at
    the lr whose response is strictly negative (a non-finite value, i.e. divergence, never counts as a decrease), with the
    Wilson (1927) score interval.

    Non-finite values mark divergence: ``n_nonfinite`` counts them, the other statistics
    use the finite values of that lr. An lr with fewer than two finite values or zero
    variance gets a NaN interval; a :class:`DegenerateDataWarning` is issued unless the lr
    diverges (then ``n_nonfinite`` already says why).

    References
    ----------
    .. [1] Efron, B. and Tibshirani, R. J. (1993). *An Introduction to the Bootstrap*.
       Chapman & Hall.
    .. [2] Wilson, E. B. (1927). Probable inference, the law of succession, and
       statistical inference. *JASA* 22(158), 209–212.

    Examples
    --------
    >>> from lrstats.simulate import simulate_frame
    >>> frame = simulate_frame(replicates=20, rng=0)
    >>> summary = summarize(frame, method="bca", n_resamples=999, rng=1)
    >>> list(summary.to_frame().columns[:4])
    ['lr', 'n', 'n_nonfinite', 'mean']
    """
    confidence_level, method, n_resamples = _check_common(confidence_level, method, n_resamples)
    compute = partial(
        _summarize,
        response=response,
        confidence_level=confidence_level,
        method=method,
        n_resamples=n_resamples,
    )
    return per_level(
        frame, compute, response=response, goal=goal, at=at, by=by, generator=as_rng(rng)
    )


def _summarize(
    matrix: ReplicateMatrix,
    *,
    response: str,
    confidence_level: float,
    method: str,
    n_resamples: int,
    generator: np.random.Generator,
    level: dict[str, Any],
) -> Summary:
    statistics = column_statistics(matrix)
    counts = (
        None if method == "t" else resample_counts(generator, matrix.n_replicates, n_resamples)
    )
    low, high = mean_interval(
        matrix, statistics, confidence_level=confidence_level, method=method, counts=counts
    )
    table = pd.DataFrame(
        {
            "lr": matrix.lrs,
            "n": statistics["n"].astype(np.int64),
            "n_nonfinite": statistics["n_nonfinite"].astype(np.int64),
            "mean": statistics["mean"],
            "sd": statistics["sd"],
            "se": statistics["se"],
            "median": statistics["median"],
            "ci_low": low,
            "ci_high": high,
        }
    )
    if is_loss_change(response):
        observed = matrix.n_observed
        p_low, p_high = wilson_interval(statistics["n_decrease"], observed, confidence_level)
        table["p_decrease"] = statistics["n_decrease"] / observed
        table["p_decrease_low"] = p_low
        table["p_decrease_high"] = p_high
    return Summary(
        table=table,
        response=response,
        method=method,
        confidence_level=confidence_level,
        n_resamples=0 if method == "t" else n_resamples,
        n_replicates=matrix.n_replicates,
        level=dict(level),
    )
