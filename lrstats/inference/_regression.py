"""Cluster-robust least squares over the grid and Fieller intervals for ratios."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import statsmodels.api as sm

__all__ = ["ClusterFit", "cluster_ols", "delta_ratio_se", "fieller_interval"]


@dataclass(frozen=True)
class ClusterFit:
    """OLS coefficients with a CR1 cluster-robust covariance (clusters = replicates)."""

    params: np.ndarray
    cov: np.ndarray
    df: int  # clusters - 1, the reference df for t statistics
    n_clusters: int
    n_obs: int


def cluster_ols(design: np.ndarray, values: np.ndarray) -> ClusterFit:
    """Regress every cell of ``values`` (M × K) on the K × p grid ``design``.

    Each replicate (row of ``values``) is a cluster: statsmodels' ``cov_type="cluster"``
    with its default CR1 correction ``G/(G-1) · (N-1)/(N-p)`` and ``G - 1`` degrees of
    freedom for inference.
    """
    m, k = values.shape
    exog = np.tile(design, (m, 1))
    groups = np.repeat(np.arange(m), k)
    result = sm.OLS(values.ravel(), exog).fit(
        cov_type="cluster", cov_kwds={"groups": groups}, use_t=True
    )
    return ClusterFit(
        params=np.asarray(result.params, dtype=np.float64),
        cov=np.asarray(result.cov_params(), dtype=np.float64),
        df=int(result.df_resid_inference),
        n_clusters=m,
        n_obs=m * k,
    )


def delta_ratio_se(
    numerator: float, denominator: float, v_nn: float, v_dd: float, v_nd: float
) -> float:
    """Delta-method standard error of ``numerator / denominator``."""
    gradient = np.array([1.0 / denominator, -numerator / denominator**2])
    cov = np.array([[v_nn, v_nd], [v_nd, v_dd]])
    return float(np.sqrt(max(gradient @ cov @ gradient, 0.0)))


def fieller_interval(
    numerator: float, denominator: float, v_nn: float, v_dd: float, v_nd: float, critical: float
) -> tuple[float, float]:
    """Fieller (1954) interval for the ratio ``θ = numerator / denominator``.

    The set ``{θ : (n - θ d)² ≤ c² (v_nn - 2θ v_nd + θ² v_dd)}`` is a bounded interval
    when the denominator is significantly different from zero
    (``d² > c² v_dd``); otherwise it is unbounded and ``(-inf, inf)`` is returned.
    """
    c2 = critical**2
    a = denominator**2 - c2 * v_dd
    b = numerator * denominator - c2 * v_nd
    c = numerator**2 - c2 * v_nn
    if not a > 0:
        return -np.inf, np.inf
    root = np.sqrt(max(b * b - a * c, 0.0))
    return (b - root) / a, (b + root) / a
