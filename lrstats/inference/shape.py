"""Shape fits across the grid: isotonic, unimodal, quadratic in log10(lr), local one-step model."""

from __future__ import annotations

import dataclasses
import warnings
from functools import partial
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats
from scipy.optimize import isotonic_regression
from statsmodels.nonparametric.smoothers_lowess import lowess as _statsmodels_lowess

from lrstats._validation import (
    as_rng,
    check_choice,
    check_confidence_level,
    check_int,
    check_real,
)
from lrstats.inference._bootstrap import (
    column_quantiles,
    resample_counts,
    resampled_means,
    resampled_moments,
)
from lrstats.inference._frame import (
    ReplicateMatrix,
    is_loss_change,
    replicate_matrix,
    response_values,
)
from lrstats.inference._reduce import paired_cases, per_level, reduce_frame
from lrstats.inference._regression import cluster_ols, delta_ratio_se, fieller_interval
from lrstats.inference._results import ShapeFit

__all__ = ["SHAPE_KINDS", "ShapeWarning", "fit_shape", "lowess"]

#: Kinds of :func:`fit_shape`.
SHAPE_KINDS = ("isotonic", "unimodal", "quadratic", "local")
_CURVE_POINTS = 200


class ShapeWarning(RuntimeWarning):
    """The fitted shape has no interior minimum, or its interval is unreliable."""


def grid_below_divergence(
    matrix: ReplicateMatrix, *, minimum: int = 3
) -> tuple[np.ndarray, np.ndarray]:
    """The lrs below the first diverging lr and their (finite) values; at least ``minimum`` lrs."""
    used = matrix.below_divergence()
    if used.sum() < minimum:
        first = matrix.lrs[~used][0] if (~used).any() else np.nan
        raise ValueError(
            f"`frame` must have at least {minimum} lrs below the first diverging lr for a shape "
            f"fit. Received: {int(used.sum())} lr(s) below lr={first!r}"
        )
    return matrix.lrs[used], matrix.values[:, used]


# ---------------------------------------------------------------------------------------------
# isotonic and unimodal


def _precision_weights(n: np.ndarray, sd: np.ndarray) -> np.ndarray:
    """``n / sd²`` per row (R × K); zero or undefined variances are floored, not infinite."""
    variance = sd**2
    with np.errstate(invalid="ignore"):
        scale = np.nanmax(np.where(variance > 0, variance, np.nan), axis=-1, keepdims=True)
    scale = np.where(np.isfinite(scale), scale, 1.0)
    floor = 1e-12 * scale
    variance = np.where(np.isfinite(variance) & (variance > floor), variance, floor)
    return n / variance


def _decreasing_prefix_sse(y: np.ndarray, w: np.ndarray) -> np.ndarray:
    """SSE of the weighted decreasing (antitonic) fit of every prefix ``y[:s+1]``.

    Pool adjacent violators run online: after adding element ``s`` the block stack is the
    fit of the prefix, and ``SSE = Σ w y² - Σ_blocks (Σ w y)² / Σ w``.
    """
    sums: list[float] = []
    weights: list[float] = []
    explained = 0.0
    total = 0.0
    out = np.empty(y.size)
    for i in range(y.size):
        s, v = float(w[i] * y[i]), float(w[i])
        total += s * y[i]
        while sums and sums[-1] / weights[-1] < s / v:
            ps, pv = sums.pop(), weights.pop()
            explained -= ps * ps / pv
            s, v = s + ps, v + pv
        sums.append(s)
        weights.append(v)
        explained += s * s / v
        out[i] = total - explained
    return out


def unimodal_split(y: np.ndarray, w: np.ndarray) -> int:
    """Split ``s`` (−1 … K−1) of the best decreasing ``y[:s+1]`` + increasing ``y[s+1:]`` fit."""
    prefix = np.concatenate([[0.0], _decreasing_prefix_sse(y, w)])  # prefix[s + 1]
    suffix = np.concatenate([_decreasing_prefix_sse(y[::-1], w[::-1])[::-1], [0.0]])
    sse = prefix + suffix  # index j = s + 1: left y[:j], right y[j:]
    return int(np.argmin(sse)) - 1


def unimodal_fit(y: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, int]:
    """Weighted decreasing-then-increasing least-squares fit and its split."""
    split = unimodal_split(y, w)
    fitted = np.empty_like(y)
    if split >= 0:
        fitted[: split + 1] = isotonic_regression(
            y[: split + 1], weights=w[: split + 1], increasing=False
        ).x
    if split < y.size - 1:
        fitted[split + 1 :] = isotonic_regression(
            y[split + 1 :], weights=w[split + 1 :], increasing=True
        ).x
    return fitted, split


def _monotone_fit(
    lrs: np.ndarray,
    values: np.ndarray,
    *,
    kind: str,
    increasing: bool | None,
    confidence_level: float,
    n_resamples: int,
    generator: np.random.Generator,
    response: str,
) -> ShapeFit:
    m = values.shape[0]
    n, mean, sd = resampled_moments(np.ones((1, m)), values)
    weights = _precision_weights(n, sd)[0]
    y = mean[0]

    def fit(y_: np.ndarray, w_: np.ndarray, direction: bool | None) -> np.ndarray:
        if kind == "unimodal":
            return unimodal_fit(y_, w_)[0]
        return isotonic_regression(y_, weights=w_, increasing=direction).x

    params: dict[str, Any] = {}
    if kind == "isotonic":
        if increasing is None:
            candidates = {d: fit(y, weights, d) for d in (False, True)}
            sse = {d: float((weights * (y - f) ** 2).sum()) for d, f in candidates.items()}
            increasing = sse[True] < sse[False]
        params["increasing"] = bool(increasing)
        fitted = fit(y, weights, increasing)
    else:
        fitted, split = unimodal_fit(y, weights)
        params["split_lr"] = float(lrs[split]) if split >= 0 else np.nan
    best = int(np.argmin(fitted))

    counts = resample_counts(generator, m, n_resamples)
    n_b, mean_b, sd_b = resampled_moments(counts, values)
    weights_b = _precision_weights(n_b, sd_b)
    fitted_b = np.empty_like(mean_b)
    for b in range(n_resamples):  # a fit per resample (PAVA is sequential)
        fitted_b[b] = fit(mean_b[b], weights_b[b], increasing)
    chosen = np.argmin(fitted_b, axis=1)
    alpha = (1.0 - confidence_level) / 2.0
    bounds = np.quantile(chosen, [alpha, 1.0 - alpha], method="inverted_cdf").astype(int)
    band = column_quantiles(fitted_b, np.array([alpha, 1.0 - alpha]))
    params["frequencies"] = pd.Series(
        np.bincount(chosen, minlength=lrs.size) / n_resamples,
        index=pd.Index(lrs, name="lr"),
        name="frequency",
    )
    params["weights"] = weights
    curve = pd.DataFrame({"lr": lrs, "fitted": fitted, "ci_low": band[0], "ci_high": band[1]})
    optimum = float(lrs[best])
    ci_low, ci_high = float(lrs[bounds[0]]), float(lrs[bounds[1]])
    intervals = pd.DataFrame(
        {
            "quantity": ["optimum_lr"],
            "method": ["bootstrap_percentile"],
            "estimate": [optimum],
            "ci_low": [ci_low],
            "ci_high": [ci_high],
        }
    )
    return ShapeFit(
        kind=kind,
        optimum_lr=optimum,
        ci_low=ci_low,
        ci_high=ci_high,
        curve=curve,
        params=params,
        response=response,
        confidence_level=confidence_level,
        intervals=intervals,
        n_resamples=n_resamples,
    )


# ---------------------------------------------------------------------------------------------
# quadratic in log10(lr)


def _fine_grid(lrs: np.ndarray) -> np.ndarray:
    return np.unique(
        np.concatenate([np.logspace(np.log10(lrs[0]), np.log10(lrs[-1]), _CURVE_POINTS), lrs])
    )


def quadratic_vertex(params: np.ndarray, cov: np.ndarray) -> tuple[float, float]:
    """Vertex ``x* = -β1 / (2 β2)`` of ``β0 + β1 x + β2 x²`` and its delta-method se."""
    b1, b2 = params[1], params[2]
    vertex = -b1 / (2.0 * b2)
    gradient = np.array([0.0, -1.0 / (2.0 * b2), b1 / (2.0 * b2**2)])
    return float(vertex), float(np.sqrt(max(gradient @ cov @ gradient, 0.0)))


def quadratic_vertex_fieller(
    params: np.ndarray, cov: np.ndarray, critical: float
) -> tuple[float, float]:
    """Fieller interval for ``x* = (-β1) / (2 β2)``."""
    return fieller_interval(
        -params[1], 2.0 * params[2], cov[1, 1], 4.0 * cov[2, 2], -2.0 * cov[1, 2], critical
    )


def _quadratic_fit(
    lrs: np.ndarray,
    values: np.ndarray,
    *,
    confidence_level: float,
    n_resamples: int,
    generator: np.random.Generator,
    response: str,
) -> ShapeFit:
    x = np.log10(lrs)
    design = np.column_stack([np.ones_like(x), x, x * x])
    fit = cluster_ols(design, values)
    beta, cov = fit.params, fit.cov
    critical = float(stats.t.ppf(0.5 + confidence_level / 2.0, fit.df))
    alpha = (1.0 - confidence_level) / 2.0

    # bootstrap: OLS on a complete grid = OLS of the resampled per-lr means
    counts = resample_counts(generator, values.shape[0], n_resamples)
    beta_b = resampled_means(counts, values) @ np.linalg.pinv(design).T
    convex_b = beta_b[:, 2] > 0
    with np.errstate(invalid="ignore", divide="ignore"):
        vertex_b = np.where(convex_b, -beta_b[:, 1] / (2.0 * beta_b[:, 2]), np.nan)
    concave_share = float(1.0 - convex_b.mean())

    rows = []
    if beta[2] > 0:
        vertex, se = quadratic_vertex(beta, cov)
        fieller = quadratic_vertex_fieller(beta, cov, critical)
        boot = column_quantiles(vertex_b[:, None], np.array([alpha, 1.0 - alpha]))[:, 0]
        rows = [
            ("optimum_lr", "delta", vertex, vertex - critical * se, vertex + critical * se),
            ("optimum_lr", "fieller", vertex, *fieller),
            ("optimum_lr", "bootstrap_percentile", vertex, *boot),
        ]
        if concave_share > alpha:
            warnings.warn(
                f"{concave_share:.1%} of the bootstrap resamples give a concave quadratic (no "
                "minimum); the bootstrap interval of the optimum is conditional on convexity.",
                ShapeWarning,
                stacklevel=3,
            )
    else:
        vertex = se = np.nan
        warnings.warn(
            "The fitted quadratic in log10(lr) is not convex (curvature "
            f"{beta[2]:.3g} <= 0); it has no minimum and `optimum_lr` is NaN.",
            ShapeWarning,
            stacklevel=3,
        )
        rows = [("optimum_lr", method, np.nan, np.nan, np.nan) for method in ("delta", "fieller")]
    intervals = pd.DataFrame(
        rows, columns=["quantity", "method", "log10_estimate", "log10_low", "log10_high"]
    )
    intervals = pd.DataFrame(
        {
            "quantity": intervals["quantity"],
            "method": intervals["method"],
            "estimate": 10.0 ** intervals["log10_estimate"],
            "ci_low": 10.0 ** intervals["log10_low"],
            "ci_high": 10.0 ** intervals["log10_high"],
        }
    )

    grid = _fine_grid(lrs)
    xg = np.log10(grid)
    curve = _curve_with_band(
        grid, np.column_stack([np.ones_like(xg), xg, xg * xg]), beta, cov, critical
    )
    params = {
        "coefficients": pd.Series(beta, index=["intercept", "log10_lr", "log10_lr_squared"]),
        "cov": cov,
        "df": fit.df,
        "n_clusters": fit.n_clusters,
        "vertex_log10": vertex,
        "vertex_se_log10": se,
        "bootstrap_concave_share": concave_share,
    }
    return ShapeFit(
        kind="quadratic",
        optimum_lr=float(intervals["estimate"].iloc[0]),
        ci_low=float(intervals["ci_low"].iloc[0]),
        ci_high=float(intervals["ci_high"].iloc[0]),
        curve=curve,
        params=params,
        response=response,
        confidence_level=confidence_level,
        intervals=intervals,
        n_resamples=n_resamples,
    )


def _curve_with_band(
    grid: np.ndarray,
    design: np.ndarray,
    coefficients: np.ndarray,
    cov: np.ndarray,
    critical: float,
) -> pd.DataFrame:
    """Fitted values ``design @ coefficients`` on ``grid`` with a pointwise band ± critical·se."""
    fitted = design @ coefficients
    se = np.sqrt(np.einsum("ij,jk,ik->i", design, cov, design))
    return pd.DataFrame(
        {
            "lr": grid,
            "fitted": fitted,
            "ci_low": fitted - critical * se,
            "ci_high": fitted + critical * se,
        }
    )


# ---------------------------------------------------------------------------------------------
# local one-step model  ΔL(η) ≈ -a η + b η²


def _local_fit(
    lrs: np.ndarray, values: np.ndarray, *, confidence_level: float, response: str
) -> ShapeFit:
    scale = float(lrs[-1])  # fit in u = η / scale for conditioning
    u = lrs / scale
    fit = cluster_ols(np.column_stack([u, u * u]), values)
    a_u, b_u = -fit.params[0], fit.params[1]
    v_aa, v_bb, v_ab = fit.cov[0, 0], fit.cov[1, 1], -fit.cov[0, 1]
    critical = float(stats.t.ppf(0.5 + confidence_level / 2.0, fit.df))
    a, b = a_u / scale, b_u / scale**2
    cov_ab = np.array([[v_aa / scale**2, v_ab / scale**3], [v_ab / scale**3, v_bb / scale**4]])

    if a_u > 0 and b_u > 0:
        ratio = a_u / b_u  # break-even η0 / scale
        se = delta_ratio_se(a_u, b_u, v_aa, v_bb, v_ab)
        low, high = fieller_interval(a_u, b_u, v_aa, v_bb, v_ab, critical)
        low = max(low, 0.0)
        rows = [
            ("optimum_lr", "fieller", ratio / 2, low / 2, high / 2),
            (
                "optimum_lr",
                "delta",
                ratio / 2,
                (ratio - critical * se) / 2,
                (ratio + critical * se) / 2,
            ),
            ("break_even_lr", "fieller", ratio, low, high),
            ("break_even_lr", "delta", ratio, ratio - critical * se, ratio + critical * se),
        ]
    else:
        warnings.warn(
            "The local model -a·lr + b·lr² needs a > 0 and b > 0 for an optimum; fitted "
            f"a={a:.3g}, b={b:.3g}. `optimum_lr` and `break_even_lr` are NaN.",
            ShapeWarning,
            stacklevel=3,
        )
        rows = [
            (quantity, method, np.nan, np.nan, np.nan)
            for quantity in ("optimum_lr", "break_even_lr")
            for method in ("fieller", "delta")
        ]
    intervals = pd.DataFrame(rows, columns=["quantity", "method", "estimate", "ci_low", "ci_high"])
    intervals[["estimate", "ci_low", "ci_high"]] *= scale

    grid = _fine_grid(lrs)
    curve = _curve_with_band(
        grid,
        np.column_stack([grid, grid * grid]),
        np.array([-a, b]),
        cov_ab * np.array([[1.0, -1.0], [-1.0, 1.0]]),  # covariance of (-a, b)
        critical,
    )
    optimum, breakeven = intervals.iloc[0], intervals.iloc[2]
    return ShapeFit(
        kind="local",
        optimum_lr=float(optimum["estimate"]),
        ci_low=float(optimum["ci_low"]),
        ci_high=float(optimum["ci_high"]),
        curve=curve,
        params={"a": a, "b": b, "cov_ab": cov_ab, "df": fit.df, "n_clusters": fit.n_clusters},
        response=response,
        confidence_level=confidence_level,
        intervals=intervals,
        break_even_lr=float(breakeven["estimate"]),
        break_even_ci_low=float(breakeven["ci_low"]),
        break_even_ci_high=float(breakeven["ci_high"]),
    )


def fit_shape(
    frame: pd.DataFrame,
    *,
    kind: str = "unimodal",
    response: str = "delta",
    goal: str = "minimize",
    at: str | int = "final",
    by: str | list[str] | None = None,
    confidence_level: float = 0.95,
    n_resamples: int = 999,
    rng: Any = None,
    increasing: bool | None = None,
) -> ShapeFit:
    """Fit a shape to the response across the grid and locate its optimum.

    Parameters
    ----------
    frame : pandas.DataFrame
        Tidy frame (``lr``, ``replicate`` and the response), complete grid. Only the lrs
        below the first diverging lr are used; at least 3 are needed.
    kind : {"isotonic", "unimodal", "quadratic", "local"}, default "unimodal"
        The default makes no parametric assumption, so it suits ΔL frames and any
        other response (see "When to use which" below).
    response : str, default "delta"
        See :func:`response_values`.
    goal : {"minimize", "maximize"}, default "minimize"
        ``"maximize"`` fits the mirrored shapes (a unimodal fit increasing then
        decreasing, a concave quadratic) and ``optimum_lr`` maximizes the curve: the fit
        is that of the negated response, with the curve negated back.
    at : {"final", "best"} or int, default "final"
        How a trajectory becomes one value per run (see :func:`reduce_frame`).
    by : str or list of str, optional
        Factor column(s): one fit per level (a :class:`ByLevel`).
    confidence_level : float, default 0.95
    n_resamples : int, default 999
        Replicate resamples for the bootstrap intervals (``"isotonic"``, ``"unimodal"``,
        and the bootstrap interval of ``"quadratic"``; ``"local"`` does not resample).
        The monotone fits run one PAVA per resample, hence the smaller default.
    rng : seed or numpy.random.Generator, optional
    increasing : bool, optional
        ``kind="isotonic"`` only: the direction; by default the direction with the smaller
        weighted sum of squares.

    Raises
    ------
    ValueError
        ``kind="local"`` on a response that is not a loss change (the one-step model
        ``-a η + b η²`` describes ΔL only), or with ``goal="maximize"``.

    Returns
    -------
    ShapeFit
        ``optimum_lr``, ``ci_low``, ``ci_high`` (lr units), ``curve`` (``to_frame()``),
        ``intervals`` (every interval computed), ``params``; for ``"local"`` also
        ``break_even_lr`` and its interval.

    Notes
    -----
    ``"isotonic"``: the weighted monotone least-squares fit of the per-lr means
    (:func:`scipy.optimize.isotonic_regression`, weights ``n_k / s_k²``, the precision of
    each mean). The optimum is the smallest lr where the fit reaches its minimum.

    ``"unimodal"``: decreasing on ``lr_1 … lr_s`` and increasing on ``lr_{s+1} … lr_K``,
    with the split ``s`` minimizing the weighted sum of squares (all splits are scored at
    once by running pool-adjacent-violators online over prefixes and suffixes).

    For both, ``ci_low``/``ci_high`` are percentile bounds (grid values) of the optimum
    re-estimated on replicate resamples, and ``curve`` carries pointwise percentile bands.

    ``"quadratic"``: OLS of every cell on ``[1, x, x²]``, ``x = log10(lr)``, with a
    cluster-robust (CR1) covariance by replicate and ``G - 1`` degrees of freedom
    (statsmodels ``cov_type="cluster"``). The vertex is ``x* = -β₁ / (2β₂)`` (needs
    ``β₂ > 0``). ``ci_low``/``ci_high`` is the delta-method interval
    ``x* ± t se(x*)``, with ``∇x* = (0, -1/(2β₂), β₁/(2β₂²))``, mapped to ``10^x``;
    ``intervals`` also holds the Fieller (1954) interval and a replicate-bootstrap
    percentile interval (on a complete grid the OLS fit of a resample is the fit of its
    per-lr means, so all resamples are one matrix product).

    ``"local"``: the one-step model ``ΔL(η) ≈ -a η + b η²`` (no intercept), fitted by OLS
    with the same cluster-robust covariance. For a quadratic loss with gradient ``g`` and
    Hessian ``H`` it is exact, with ``a = gᵀg`` and ``b = gᵀHg / 2``, so the optimum
    ``η* = a / (2b) = gᵀg / gᵀHg`` and the break-even ``η₀ = a / b`` (the loss is back
    where it started). Their intervals are Fieller's (primary, exact under normal
    estimates; a ratio's delta-method interval is also in ``intervals``).

    When to use which: ``"quadratic"`` when the curve is close to a parabola in log-lr
    over the grid. The one-step ΔL curve ``-aη + bη²`` is *not*: in log-lr it is flat
    below the optimum and steep above it, so the parabola's vertex falls below the true
    optimum (on ``simulate_frame``'s default grid, 0.01/100 … 0.01·10, the vertex lands
    near 0.0012 and its intervals essentially never cover 0.01); use ``"local"`` or
    ``"unimodal"`` for ΔL frames, and ``"quadratic"`` for e.g. validation losses of a
    sensitivity sweep; ``"local"`` when the grid reaches from tiny lrs to about
    the break-even point (it extrapolates physics, not shape); ``"unimodal"`` when the
    curve is U-shaped but not parabolic; ``"isotonic"`` when the grid covers only one
    side of the optimum.

    References
    ----------
    .. [1] Fieller, E. C. (1954). Some problems in interval estimation. *JRSS B* 16(2),
       175–185.
    .. [2] Efron, B. and Tibshirani, R. J. (1993). *An Introduction to the Bootstrap*.
    .. [3] Cameron, A. C. and Miller, D. L. (2015). A practitioner's guide to
       cluster-robust inference. *Journal of Human Resources* 50(2), 317–372.

    Examples
    --------
    >>> from lrstats.simulate import simulate_frame
    >>> frame = simulate_frame(replicates=30, optimum_lr=0.01, rng=0)
    >>> fit = fit_shape(frame, kind="local")
    >>> bool(fit.ci_low < 0.01 < fit.ci_high)
    True
    """
    kind = check_choice(kind, "kind", SHAPE_KINDS)
    confidence_level = check_confidence_level(confidence_level)
    n_resamples = check_int(n_resamples, "n_resamples", minimum=1)
    if increasing is not None:
        if kind != "isotonic":
            raise ValueError(
                f"`increasing` applies to kind='isotonic' only. Received: increasing={increasing!r} "
                f"with kind={kind!r}"
            )
        if not isinstance(increasing, (bool, np.bool_)):
            raise TypeError(
                f"`increasing` must be None or a bool. Received: increasing={increasing!r}"
            )
    if not isinstance(response, str):
        raise TypeError(f"`response` must be a string. Received: response={response!r}")
    if kind == "local" and not is_loss_change(response):
        raise ValueError(
            "kind='local' is the one-step model of a loss change (-a·lr + b·lr²) and applies "
            "only to the responses 'delta', 'relative' and 'log_ratio'. Received: "
            f"kind='local' with response={response!r}"
        )
    if kind == "local" and goal == "maximize":
        raise ValueError(
            f"kind='local' needs goal='minimize'. Received: kind='local' with goal={goal!r}"
        )
    compute = partial(
        _fit,
        kind=kind,
        response=response,
        goal=goal,
        increasing=increasing,
        confidence_level=confidence_level,
        n_resamples=n_resamples,
    )
    return per_level(
        frame, compute, response=response, goal=goal, at=at, by=by, generator=as_rng(rng),
        min_lrs=3,
    )  # fmt: skip


def _fit(
    matrix: ReplicateMatrix,
    *,
    kind: str,
    response: str,
    goal: str,
    increasing: bool | None,
    confidence_level: float,
    n_resamples: int,
    generator: np.random.Generator,
    level: dict[str, Any],
) -> ShapeFit:
    matrix, n_dropped = paired_cases(matrix, f"fit_shape ({kind})")
    lrs, values = grid_below_divergence(matrix)
    mirrored = goal == "maximize"
    if mirrored:
        values = -values
        increasing = None if increasing is None else not increasing
    if kind in ("isotonic", "unimodal"):
        fit = _monotone_fit(
            lrs, values, kind=kind, increasing=increasing, confidence_level=confidence_level,
            n_resamples=n_resamples, generator=generator, response=response,
        )  # fmt: skip
    elif kind == "quadratic":
        fit = _quadratic_fit(
            lrs, values, confidence_level=confidence_level, n_resamples=n_resamples,
            generator=generator, response=response,
        )  # fmt: skip
    else:
        fit = _local_fit(lrs, values, confidence_level=confidence_level, response=response)
    changes: dict[str, Any] = {"goal": goal, "n_dropped": n_dropped, "level": dict(level)}
    if mirrored:
        changes.update(_unmirror(fit))
    return dataclasses.replace(fit, **changes)


def _unmirror(fit: ShapeFit) -> dict[str, Any]:
    """The curve and parameters of a fit to the negated response, in the response's direction."""
    curve = fit.curve.copy()
    curve["fitted"] = -curve["fitted"]
    if "ci_low" in curve:
        curve["ci_low"], curve["ci_high"] = -fit.curve["ci_high"], -fit.curve["ci_low"]
    params = dict(fit.params)
    if "increasing" in params:
        params["increasing"] = not params["increasing"]
    if "coefficients" in params:
        params["coefficients"] = -params["coefficients"]
    return {"curve": curve, "params": params}


def lowess(
    frame: pd.DataFrame,
    *,
    response: str = "delta",
    goal: str = "minimize",
    at: str | int = "final",
    frac: float = 0.3,
    it: int = 3,
) -> pd.DataFrame:
    """LOWESS smoother of the response over log10(lr), for display.

    Parameters
    ----------
    frame : pandas.DataFrame
        Tidy frame (``lr``, ``replicate`` and the response).
    response : str, default "delta"
    goal, at
        How a trajectory becomes one value per run (see :func:`reduce_frame`).
    frac : float, default 0.3
        Share of the points in each local regression (statsmodels' ``frac``); smaller than
        statsmodels' 2/3 because ΔL curves bend sharply near the optimum.
    it : int, default 3
        Robustifying iterations.

    Returns
    -------
    pandas.DataFrame
        Columns ``lr, smoothed``: one row per lr of the grid (NaN where an lr has no finite
        value). All finite cells enter the smoother.

    Examples
    --------
    >>> from lrstats.simulate import simulate_frame
    >>> list(lowess(simulate_frame(replicates=5, rng=0)).columns)
    ['lr', 'smoothed']
    """
    frac = check_real(frac, "frac", low=0.0, high=1.0, low_inclusive=False)
    it = check_int(it, "it", minimum=0)
    frame = reduce_frame(frame, response=response, goal=goal, at=at)
    matrix = replicate_matrix(frame, response, min_replicates=1)
    y = response_values(frame, response).to_numpy()
    x = np.log10(frame["lr"].to_numpy(dtype=np.float64))
    finite = np.isfinite(y)
    smoothed = _statsmodels_lowess(
        y[finite], x[finite], frac=frac, it=it, xvals=np.log10(matrix.lrs)
    )
    smoothed = np.where(matrix.finite.any(axis=0), smoothed, np.nan)
    return pd.DataFrame({"lr": matrix.lrs, "smoothed": smoothed})
