"""Lind & Mehlum's (2010) test of a U shape across the grid."""

from __future__ import annotations

from functools import partial

import numpy as np
import pandas as pd
from scipy import stats

from lrstats._validation import check_confidence_level, check_real
from lrstats.inference._frame import ReplicateMatrix
from lrstats.inference._reduce import paired_cases, per_level
from lrstats.inference._regression import cluster_ols
from lrstats.inference._results import UTestResult
from lrstats.inference.shape import grid_below_divergence, quadratic_vertex_fieller

__all__ = ["u_test"]


def u_test(
    frame: pd.DataFrame,
    *,
    response: str = "delta",
    goal: str = "minimize",
    at: str | int = "final",
    by: str | list[str] | None = None,
    lower: float | None = None,
    upper: float | None = None,
    confidence_level: float = 0.95,
) -> UTestResult:
    """Test whether the response is U-shaped in log10(lr) over ``[lower, upper]``.

    Parameters
    ----------
    frame : pandas.DataFrame
        Tidy frame (``lr``, ``replicate`` and the response), complete grid; the lrs below
        the first diverging lr are used (at least 3).
    response : str, default "delta"
        See :func:`response_values`.
    goal : {"minimize", "maximize"}, default "minimize"
        ``"maximize"`` tests an inverted U (the U test of the negated response; slopes
        and t statistics are reported for the negated response).
    at : {"final", "best"} or int, default "final"
        How a trajectory becomes one value per run (see :func:`reduce_frame`).
    by : str or list of str, optional
        Factor column(s): one test per level (a :class:`ByLevel`).
    lower, upper : float, optional
        Ends of the interval (lr units) where the slopes are tested; by default the
        smallest and largest lr used.
    confidence_level : float, default 0.95
        Level of the Fieller interval for the extremum.

    Returns
    -------
    UTestResult
        ``statistic``, ``pvalue``, ``extremum_lr`` with its Fieller interval
        ``ci_low``/``ci_high``, the slopes at both ends and their t statistics.

    Notes
    -----
    The model is the quadratic fit of :func:`fit_shape` (``kind="quadratic"``):
    ``y = β₀ + β₁ x + β₂ x² + ε``, ``x = log10(lr)``, with a CR1 cluster-robust covariance
    ``V`` by replicate. The slope at ``x`` is ``β₁ + 2β₂ x`` with variance
    ``V₁₁ + 4x V₁₂ + 4x² V₂₂``. A U shape on ``[x_L, x_H]`` means a negative slope at
    ``x_L`` and a positive one at ``x_H``. The null hypothesis is its negation (monotone
    or inverse U): ``β₁ + 2β₂x_L ≥ 0`` or ``β₁ + 2β₂x_H ≤ 0``. This is an
    intersection-union test (Sasabuchi 1980): reject when both one-sided tests reject, so
    the statistic is ``T = min(-t_L, t_H)`` and the p-value ``P(t_{G-1} > T)``.

    The reference distribution is Student's t with ``G - 1`` degrees of freedom (``G``
    replicates), the degrees of freedom statsmodels uses for cluster-robust inference
    (``df_resid_inference``). A standard normal reference, the large-sample limit, gives
    slightly smaller p-values; with few replicates the t reference is the safer choice.

    The extremum ``x* = -β₁ / (2β₂)`` gets a Fieller (1954) interval: the set of ``θ``
    with ``(β₁ + 2β₂θ)² ≤ t² Var(β₁ + 2β₂θ)``, unbounded (``0``/``inf`` in lr units)
    when ``β₂`` is not significantly non-zero.

    References
    ----------
    .. [1] Lind, J. T. and Mehlum, H. (2010). With or without U? The appropriate test for
       a U-shaped relationship. *Oxford Bulletin of Economics and Statistics* 72(1),
       109–118.
    .. [2] Sasabuchi, S. (1980). A test of a multivariate normal mean with composite
       hypotheses determined by linear inequalities. *Biometrika* 67(2), 429–439.
    .. [3] Fieller, E. C. (1954). Some problems in interval estimation. *JRSS B* 16(2),
       175–185.

    Examples
    --------
    >>> from lrstats.simulate import simulate_frame
    >>> result = u_test(simulate_frame(replicates=30, rng=0))
    >>> bool(result.pvalue < 0.05)
    True
    """
    confidence_level = check_confidence_level(confidence_level)
    if lower is not None:
        lower = check_real(lower, "lower", low=0.0, low_inclusive=False)
    if upper is not None:
        upper = check_real(upper, "upper", low=0.0, low_inclusive=False)
    if lower is not None and upper is not None and not lower < upper:
        raise ValueError(
            f"`lower` must be smaller than `upper`. Received: lower={lower!r}, upper={upper!r}"
        )
    compute = partial(
        _u_test,
        response=response,
        goal=goal,
        lower=lower,
        upper=upper,
        confidence_level=confidence_level,
    )
    return per_level(frame, compute, response=response, goal=goal, at=at, by=by, min_lrs=3)


def _u_test(
    matrix: ReplicateMatrix,
    *,
    response: str,
    goal: str,
    lower: float | None,
    upper: float | None,
    confidence_level: float,
    level: dict,
) -> UTestResult:
    matrix, n_dropped = paired_cases(matrix, "u_test")
    lrs, values = grid_below_divergence(matrix)
    if goal == "maximize":
        values = -values
    lower = float(lrs[0]) if lower is None else lower
    upper = float(lrs[-1]) if upper is None else upper
    if not lower < upper:
        raise ValueError(
            f"`lower` must be smaller than `upper`. Received: lower={lower!r}, upper={upper!r}"
        )

    x = np.log10(lrs)
    fit = cluster_ols(np.column_stack([np.ones_like(x), x, x * x]), values)
    beta, cov = fit.params, fit.cov

    def slope(at: float) -> tuple[float, float]:
        gradient = np.array([0.0, 1.0, 2.0 * at])
        value = float(gradient @ beta)
        se = float(np.sqrt(max(gradient @ cov @ gradient, 0.0)))
        return value, value / se

    slope_lower, t_lower = slope(np.log10(lower))
    slope_upper, t_upper = slope(np.log10(upper))
    statistic = min(-t_lower, t_upper)
    pvalue = float(stats.t.sf(statistic, fit.df))
    critical = float(stats.t.ppf(0.5 + confidence_level / 2.0, fit.df))
    with np.errstate(divide="ignore", invalid="ignore"):
        extremum = -beta[1] / (2.0 * beta[2])
    low, high = quadratic_vertex_fieller(beta, cov, critical)
    return UTestResult(
        statistic=float(statistic),
        pvalue=pvalue,
        extremum_lr=float(10.0**extremum),
        ci_low=float(10.0**low),
        ci_high=float(10.0**high),
        lower_lr=lower,
        upper_lr=upper,
        slope_lower=slope_lower,
        slope_upper=slope_upper,
        t_lower=t_lower,
        t_upper=t_upper,
        df=fit.df,
        confidence_level=confidence_level,
        response=response,
        n_replicates=matrix.n_replicates,
        goal=goal,
        n_dropped=n_dropped,
        level=dict(level),
    )
