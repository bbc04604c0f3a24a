"""Vectorized replicate bootstrap (numpy/scipy only).

A resample of replicates is stored as a row of *counts* (how often each replicate was
drawn), so the resampled sums of every lr are one matrix product: for counts
``C`` (B × M) and data ``X`` (M × K), ``C @ X`` holds the B × K resampled sums. Whole
replicates are drawn, so every lr of a resample uses the same replicates (pairing is
kept), and no Python loop runs over resamples.

Interval conventions follow :func:`scipy.stats.bootstrap`: the indices are drawn as
``rng.integers(0, M, (B, M))`` (the same stream as scipy for the same generator),
quantiles are linear (type 7), ``z0`` uses the "mean" percentile of score, and the BCa
acceleration is the jackknife estimate.
"""

from __future__ import annotations

import warnings

import numpy as np
from scipy.special import ndtr, ndtri

__all__ = [
    "BOOTSTRAP_METHODS",
    "DegenerateDataWarning",
    "bootstrap_interval",
    "bootstrap_pvalue",
    "column_quantiles",
    "mean_acceleration",
    "resample_counts",
    "resampled_means",
    "resampled_medians",
    "resampled_moments",
    "wilson_interval",
    "wilson_lower",
]

BOOTSTRAP_METHODS = ("percentile", "basic", "bca")

#: Largest number of counts-matrix entries drawn at once (keeps memory below ~64 MB).
_MAX_BLOCK = 1 << 23


class DegenerateDataWarning(RuntimeWarning):
    """Some statistic could not be computed (too few finite values, zero variance); it is NaN."""


def warn_degenerate(message: str, stacklevel: int = 3) -> None:
    warnings.warn(message, DegenerateDataWarning, stacklevel=stacklevel)


def resample_counts(rng: np.random.Generator, n_replicates: int, n_resamples: int) -> np.ndarray:
    """Counts matrix (n_resamples × n_replicates, float64) of a replicate bootstrap.

    Row ``b`` counts how often each replicate is drawn in resample ``b``; rows sum to
    ``n_replicates``. The draws are ``rng.integers(0, M, (B, M))`` as in scipy.
    """
    m = n_replicates
    block = max(1, _MAX_BLOCK // max(m, 1))
    out = np.empty((n_resamples, m), dtype=np.float64)
    for start in range(0, n_resamples, block):
        stop = min(start + block, n_resamples)
        index = rng.integers(0, m, size=(stop - start, m))
        index += (m * np.arange(stop - start))[:, None]
        out[start:stop] = np.bincount(index.ravel(), minlength=(stop - start) * m).reshape(
            stop - start, m
        )
    return out


def _column_centre(values: np.ndarray, finite: np.ndarray) -> np.ndarray:
    n = finite.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        centre = np.where(finite, values, 0.0).sum(axis=0) / n
    return np.where(np.isfinite(centre), centre, 0.0)


def resampled_moments(
    counts: np.ndarray, values: np.ndarray, *, finite: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Resampled ``n``, mean and sd (ddof 1) over the finite values of every column.

    Returns three B × K arrays. The data are centred per column first, so the
    sum-of-squares formula does not lose precision.
    """
    if finite is None:
        finite = np.isfinite(values)
    centre = _column_centre(values, finite)
    centred = np.where(finite, values - centre, 0.0)
    if finite.all():
        n = np.full((counts.shape[0], values.shape[1]), float(values.shape[0]))
    else:
        n = counts @ finite.astype(np.float64)
    s1 = counts @ centred
    s2 = counts @ (centred * centred)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_c = s1 / n
        var = (s2 - s1 * mean_c) / (n - 1.0)
    var = np.where(n > 1, np.maximum(var, 0.0), np.nan)
    return n, centre + mean_c, np.sqrt(var)


def resampled_means(
    counts: np.ndarray, values: np.ndarray, *, finite: np.ndarray | None = None
) -> np.ndarray:
    """Resampled means (B × K) over the finite values of every column (NaN if none)."""
    if finite is None:
        finite = np.isfinite(values)
    centre = _column_centre(values, finite)
    centred = np.where(finite, values - centre, 0.0)
    if finite.all():
        return centre + (counts @ centred) / values.shape[0]
    n = counts @ finite.astype(np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        return centre + (counts @ centred) / n


def resampled_medians(counts: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Resampled medians (B × K) of *finite* columns, from the counts.

    Each column is sorted once; the order statistics of a resample are found from the
    cumulative counts in sorted order. The loop runs over columns, not resamples.
    """
    n_resamples, m = counts.shape
    small = np.int16 if m < np.iinfo(np.int16).max else np.int64
    integer_counts = counts.astype(small)
    orders = np.argsort(values, axis=0, kind="stable")
    low_rank = (m + 1) // 2  # 1-based ranks of the two middle order statistics
    high_rank = m // 2 + 1
    out = np.empty((n_resamples, values.shape[1]))
    for k in range(values.shape[1]):
        order = orders[:, k]
        sorted_values = values[order, k]
        cumulative = np.cumsum(integer_counts[:, order], axis=1, dtype=small)
        low = np.argmax(cumulative >= low_rank, axis=1)
        high = np.argmax(cumulative >= high_rank, axis=1)
        out[:, k] = 0.5 * (sorted_values[low] + sorted_values[high])
    return out


def column_quantiles(samples: np.ndarray, probabilities: np.ndarray) -> np.ndarray:
    """Linear (type 7) quantiles of every column of ``samples``, ignoring NaN.

    ``samples`` is B × K; ``probabilities`` is P or P × K (a level per column). Returns
    P × K; a column without any non-NaN value gives NaN.
    """
    samples = np.sort(samples, axis=0)  # NaN sorts last
    n_valid = (~np.isnan(samples)).sum(axis=0)
    probabilities = np.asarray(probabilities, dtype=np.float64)
    if probabilities.ndim == 1:
        probabilities = np.broadcast_to(
            probabilities[:, None], (probabilities.size, samples.shape[1])
        )
    with np.errstate(invalid="ignore"):
        position = (n_valid - 1) * probabilities
    valid = np.isfinite(position) & (n_valid > 0)
    position = np.where(valid, position, 0.0)
    low = np.floor(position).astype(np.intp)
    high = np.minimum(low + 1, np.maximum(n_valid - 1, 0))
    weight = position - low
    columns = np.arange(samples.shape[1])
    lower_values = samples[low, columns]
    upper_values = samples[high, columns]
    with np.errstate(invalid="ignore"):
        result = lower_values + weight * (upper_values - lower_values)
    # exact order statistics where the weight is zero (also keeps infinities intact)
    result = np.where(weight == 0, lower_values, result)
    return np.where(valid, result, np.nan)


def _percentile_of_score(samples: np.ndarray, score: np.ndarray) -> np.ndarray:
    """Share of each column below ``score`` ("mean" kind: ties count half), ignoring NaN."""
    valid = ~np.isnan(samples)
    below = ((samples < score) & valid).sum(axis=0)
    below_or_equal = ((samples <= score) & valid).sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (below + below_or_equal) / (2.0 * valid.sum(axis=0))


def mean_acceleration(values: np.ndarray, finite: np.ndarray | None = None) -> np.ndarray:
    """Jackknife acceleration of the mean, per column, over the finite values.

    For the mean the leave-one-out values are ``(S - x_i) / (n - 1)`` and the jackknife
    influence values reduce to ``x_i - x̄``, so
    ``a = Σ d³ / (6 (Σ d²)^{3/2})`` with ``d = x - x̄`` (Efron & Tibshirani 1993, 14.15).
    """
    if finite is None:
        finite = np.isfinite(values)
    n = finite.sum(axis=0)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(finite, values, 0.0).sum(axis=0) / n
        d = np.where(finite, values - mean, 0.0)
        return (d**3).sum(axis=0) / (6.0 * ((d**2).sum(axis=0)) ** 1.5)


def bootstrap_interval(
    samples: np.ndarray,
    estimate: np.ndarray,
    confidence_level: float,
    method: str,
    acceleration: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Two-sided bootstrap interval per column.

    Parameters
    ----------
    samples : (B, K) array
        Bootstrap distribution of the statistic (NaN entries are ignored).
    estimate : (K,) array
        The statistic on the original data.
    confidence_level : float
    method : {"percentile", "basic", "bca"}
    acceleration : (K,) array, optional
        Jackknife acceleration (required for ``"bca"``).

    Notes
    -----
    With ``q(p)`` the p-quantile of the bootstrap distribution and ``α = 1 - level``:
    percentile ``[q(α/2), q(1-α/2)]``; basic ``[2θ̂ - q(1-α/2), 2θ̂ - q(α/2)]``; BCa
    ``[q(α₁), q(α₂)]`` with ``α_i = Φ(z₀ + (z₀ + z_i)/(1 - a (z₀ + z_i)))``,
    ``z₀ = Φ⁻¹(#{θ* < θ̂} + #{θ* ≤ θ̂}) / 2B``.
    """
    alpha = (1.0 - confidence_level) / 2.0
    if method == "bca":
        z0 = ndtri(_percentile_of_score(samples, estimate))
        z = ndtri(np.array([alpha, 1.0 - alpha]))[:, None]
        with np.errstate(invalid="ignore", divide="ignore"):
            shifted = z0 + z
            levels = ndtr(z0 + shifted / (1.0 - acceleration * shifted))
        quantiles = column_quantiles(samples, levels)
        return quantiles[0], quantiles[1]
    quantiles = column_quantiles(samples, np.array([alpha, 1.0 - alpha]))
    if method == "basic":
        return 2.0 * estimate - quantiles[1], 2.0 * estimate - quantiles[0]
    return quantiles[0], quantiles[1]


def bootstrap_pvalue(
    samples: np.ndarray,
    estimate: np.ndarray,
    method: str,
    acceleration: np.ndarray | None = None,
    null: float = 0.0,
) -> np.ndarray:
    """Two-sided p-value for ``θ = null`` that inverts the bootstrap interval of ``method``.

    The p-value is the smallest ``1 - level`` at which the interval of ``method`` just
    reaches ``null``: percentile ``2 min(F(null), 1 - F(null))`` with ``F`` the bootstrap
    distribution function; basic the same at ``2θ̂ - null``; BCa maps ``F(null)`` back
    through the BCa level adjustment. ``F`` is clipped to ``[1/2B, 1 - 1/2B]``.
    """
    n_valid = (~np.isnan(samples)).sum(axis=0)
    if method == "basic":
        share = _percentile_of_score(samples, 2.0 * estimate - null)
    else:
        share = _percentile_of_score(samples, np.full_like(estimate, null))
    with np.errstate(invalid="ignore", divide="ignore"):
        floor = 0.5 / n_valid
        share = np.clip(share, floor, 1.0 - floor)
        if method == "bca":
            z0 = ndtri(_percentile_of_score(samples, estimate))
            w = ndtri(share) - z0
            share = ndtr(w / (1.0 + acceleration * w) - z0)
        return np.minimum(1.0, 2.0 * np.minimum(share, 1.0 - share))


def wilson_interval(
    successes: np.ndarray, n: np.ndarray | int, confidence_level: float
) -> tuple[np.ndarray, np.ndarray]:
    """Two-sided Wilson (1927) score interval for a binomial proportion."""
    z = ndtri(0.5 + confidence_level / 2.0)
    return _wilson(successes, n, z)


def wilson_lower(
    successes: np.ndarray, n: np.ndarray | int, confidence_level: float
) -> np.ndarray:
    """One-sided Wilson lower bound at ``confidence_level`` (``z = Φ⁻¹(level)``)."""
    return _wilson(successes, n, ndtri(confidence_level))[0]


def _wilson(successes: np.ndarray, n: np.ndarray | int, z: float) -> tuple[np.ndarray, np.ndarray]:
    successes = np.asarray(successes, dtype=np.float64)
    n = np.asarray(n, dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        p = successes / n
        denominator = 1.0 + z**2 / n
        centre = (p + z**2 / (2.0 * n)) / denominator
        half = z / denominator * np.sqrt(p * (1.0 - p) / n + z**2 / (4.0 * n**2))
    return np.clip(centre - half, 0.0, 1.0), np.clip(centre + half, 0.0, 1.0)
