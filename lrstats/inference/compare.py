"""Paired comparison of every lr with the best one."""

from __future__ import annotations

import warnings
from functools import partial
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from lrstats._validation import as_rng
from lrstats.inference._bootstrap import (
    bootstrap_interval,
    bootstrap_pvalue,
    mean_acceleration,
    resample_counts,
    resampled_means,
    warn_degenerate,
)
from lrstats.inference._frame import ReplicateMatrix
from lrstats.inference._reduce import IncompleteGridWarning, per_level
from lrstats.inference._results import Comparison
from lrstats.inference.summary import _check_common, column_statistics, finite_sd

__all__ = ["compare_to_best"]


def holm(pvalues: np.ndarray) -> np.ndarray:
    """Holm (1979) step-down adjusted p-values.

    The same numbers as ``statsmodels.stats.multitest.multipletests(p, method="holm")[1]``
    (checked in the tests), without the ``gc.collect()`` that call makes, which costs
    tens of milliseconds in a large process.
    """
    pvalues = np.asarray(pvalues, dtype=np.float64)
    m = pvalues.size
    order = np.argsort(pvalues, kind="stable")
    stepped = np.maximum.accumulate((m - np.arange(m)) * pvalues[order])
    adjusted = np.empty(m)
    adjusted[order] = np.minimum(stepped, 1.0)
    return adjusted


def best_index(mean: np.ndarray, diverging: np.ndarray, goal: str = "minimize") -> int:
    """Index of the best mean among non-diverging lrs (among all lrs if every lr diverges).

    The lowest mean for ``goal="minimize"``, the highest for ``"maximize"``.
    """
    if goal == "maximize":
        mean = -np.asarray(mean, dtype=np.float64)
    candidates = np.where(~diverging & np.isfinite(mean), mean, np.inf)
    if not np.isfinite(candidates).any():
        candidates = np.where(np.isfinite(mean), mean, np.inf)
    if not np.isfinite(candidates).any():
        raise ValueError("`frame` has no lr with a finite mean response; nothing to compare.")
    return int(np.argmin(candidates))


def compare_to_best(
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
) -> Comparison:
    """Compare every lr with the best one (best mean) on within-replicate differences.

    Parameters
    ----------
    frame : pandas.DataFrame
        Tidy frame (``lr``, ``replicate`` and the response; optionally a trajectory
        index and factor columns).
    response : str, default "delta"
        See :func:`response_values`.
    goal : {"minimize", "maximize"}, default "minimize"
        The best lr has the lowest mean (``"minimize"``) or the highest (``"maximize"``,
        e.g. for accuracy).
    at : {"final", "best"} or int, default "final"
        How a trajectory becomes one value per run (see :func:`reduce_frame`).
    by : str or list of str, optional
        Factor column(s): one comparison per level (a :class:`ByLevel`).
    confidence_level : float, default 0.95
        Level of the intervals; ``1 - confidence_level`` is the familywise error rate of
        the Holm-adjusted tests behind ``indistinguishable``.
    method : {"t", "percentile", "basic", "bca"}, default "t"
        ``"t"``: paired t interval and paired t test. Otherwise a replicate bootstrap of
        the mean difference, with the p-value that inverts the bootstrap interval.
    n_resamples : int, default 9999
        Bootstrap resamples (ignored for ``method="t"``).
    rng : seed or numpy.random.Generator, optional

    Returns
    -------
    Comparison or ByLevel
        ``table``: ``lr, diff, ci_low, ci_high, pvalue, pvalue_holm, indistinguishable``
        (plus ``n`` pairs, ``n_dropped`` and ``diverging``), one row per lr; ``best_lr``.

    Notes
    -----
    The best lr ``k*`` has the best mean response among the lrs without non-finite
    values. On an incomplete grid each lr is paired with the best over the replicates
    observed at both; ``n_dropped`` counts the replicates observed at only one of the
    two (an :class:`IncompleteGridWarning` says so), and nothing is imputed. For every other lr, ``d_r = y_{rk} - y_{rk*}`` over the replicates where both
    are finite; ``diff = d̄``; the paired t statistic is ``d̄ / (s_d / √n)`` with ``n - 1``
    degrees of freedom (two-sided p-value). The bootstrap resamples replicates, so the
    pairing is kept. The K − 1 p-values are adjusted by Holm's (1979) step-down method
    (the numbers of :func:`statsmodels.stats.multitest.multipletests`); an lr is ``indistinguishable``
    from the best when its adjusted p-value is at least ``1 - confidence_level``. A
    diverging lr is never indistinguishable.

    Pairing removes the replicate effect shared by all lrs (the batch's own difficulty),
    so these intervals are much narrower than the difference of two per-lr intervals.

    References
    ----------
    .. [1] Holm, S. (1979). A simple sequentially rejective multiple test procedure.
       *Scandinavian Journal of Statistics* 6(2), 65–70.
    .. [2] Efron, B. and Tibshirani, R. J. (1993). *An Introduction to the Bootstrap*.

    Examples
    --------
    >>> from lrstats.simulate import simulate_frame
    >>> frame = simulate_frame(replicates=20, rng=0)
    >>> comparison = compare_to_best(frame)
    >>> bool(comparison.table["indistinguishable"].any())
    True
    """
    confidence_level, method, n_resamples = _check_common(confidence_level, method, n_resamples)
    compute = partial(
        _compare,
        response=response,
        goal=goal,
        confidence_level=confidence_level,
        method=method,
        n_resamples=n_resamples,
    )
    return per_level(
        frame, compute, response=response, goal=goal, at=at, by=by, generator=as_rng(rng),
        min_lrs=2,
    )  # fmt: skip


def _compare(
    matrix: ReplicateMatrix,
    *,
    response: str,
    goal: str,
    confidence_level: float,
    method: str,
    n_resamples: int,
    generator: np.random.Generator,
    level: dict[str, Any],
) -> Comparison:
    point = column_statistics(matrix)
    diverging = matrix.diverging
    best = best_index(point["mean"], diverging, goal)
    observed = matrix.observed
    n_dropped = (observed ^ observed[:, [best]]).sum(axis=0)
    if n_dropped.any():
        warnings.warn(
            f"compare_to_best: the grid is incomplete; pairs with the best lr leave out up to "
            f"{int(n_dropped.max())} of {matrix.n_replicates} replicates (see `n_dropped`; "
            "nothing is imputed).",
            IncompleteGridWarning,
            stacklevel=3,
        )

    with np.errstate(invalid="ignore"):
        differences = matrix.values - matrix.values[:, [best]]
    finite = np.isfinite(differences)
    n = finite.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        diff = np.where(finite, differences, 0.0).sum(axis=0) / n
        sd = finite_sd(differences, finite, diff, n)
        se = sd / np.sqrt(n)
        t_statistic = diff / se
    others = np.arange(matrix.n_lrs) != best
    degenerate = others & (~(n >= 2) | ~(sd > 0))

    if method == "t":
        df = np.where(n >= 2, n - 1, np.nan)
        with np.errstate(invalid="ignore"):
            critical = stats.t.ppf(0.5 + confidence_level / 2.0, df)
            pvalue = 2.0 * stats.t.sf(np.abs(t_statistic), df)
        low, high = diff - critical * se, diff + critical * se
    else:
        counts = resample_counts(generator, matrix.n_replicates, n_resamples)
        samples = resampled_means(counts, differences, finite=finite)
        acceleration = mean_acceleration(differences, finite) if method == "bca" else None
        with np.errstate(invalid="ignore", divide="ignore"):
            low, high = bootstrap_interval(samples, diff, confidence_level, method, acceleration)
            pvalue = bootstrap_pvalue(samples, diff, method, acceleration)
    surprising = degenerate & ~diverging  # a diverging lr is expected to lack finite pairs
    if surprising.any():
        warn_degenerate(
            f"Paired differences are degenerate (fewer than 2 finite pairs or zero variance) at "
            f"{surprising.sum()} lr(s): {np.round(matrix.lrs[surprising][:5], 12).tolist()}; "
            "their intervals and p-values are NaN.",
        )
    invalid = degenerate | ~others
    low = np.where(invalid, np.nan, low)
    high = np.where(invalid, np.nan, high)
    pvalue = np.where(invalid, np.nan, pvalue)
    diff = np.where(others, diff, 0.0)

    adjusted = np.full(matrix.n_lrs, np.nan)
    testable = ~np.isnan(pvalue)
    if testable.any():
        adjusted[testable] = holm(pvalue[testable])
    alpha = 1.0 - confidence_level
    indistinguishable = ~others | ((adjusted >= alpha) & ~diverging)

    table = pd.DataFrame(
        {
            "lr": matrix.lrs,
            "diff": diff,
            "ci_low": low,
            "ci_high": high,
            "pvalue": pvalue,
            "pvalue_holm": adjusted,
            "indistinguishable": indistinguishable,
            "n": n.astype(np.int64),
            "n_dropped": n_dropped.astype(np.int64),
            "diverging": diverging,
        }
    )
    return Comparison(
        table=table,
        best_lr=float(matrix.lrs[best]),
        response=response,
        method=method,
        confidence_level=confidence_level,
        n_resamples=0 if method == "t" else n_resamples,
        n_replicates=matrix.n_replicates,
        goal=goal,
        level=dict(level),
    )
