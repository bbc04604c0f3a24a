"""Diagnosing a learning rate from its training curves (numpy, scipy, statsmodels).

:func:`diagnose` reads per-epoch (or per-batch) training and validation losses and
returns a :class:`Diagnosis`: every verdict it considered, whether it holds, the
statistic behind it and a plain-language recommendation.
"""

from __future__ import annotations

import importlib
import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from lrstats._validation import check_real

__all__ = ["RECOMMENDATIONS", "VERDICTS", "Diagnosis", "diagnose", "turning_point_test"]

#: Verdicts in the order :meth:`Diagnosis.to_frame` lists them.
VERDICTS = ("diverging", "oscillating", "too_fast", "too_slow", "overfitting", "healthy")

RECOMMENDATIONS = {
    "diverging": "The loss grows or became non-finite: lower the learning rate about 10x "
    "(a range test shows where divergence starts), or clip gradients.",
    "oscillating": "The loss zigzags more than noise around a trend explains: lower the "
    "learning rate (about 3x), or use a larger batch.",
    "too_fast": "The loss fell at once and then stalled above its best value: lower the "
    "learning rate (about 3x) or add decay (1cycle, cosine) so training can settle.",
    "too_slow": "The loss is not falling, or falls at a steady rate without levelling off: "
    "raise the learning rate (about 3x) or run a range test.",
    "overfitting": "Validation loss rises while training loss falls: not a learning-rate "
    "problem - stop earlier, regularize, or decay the learning rate.",
    "healthy": "No problem detected: keep the learning rate.",
}


def turning_point_test(values: Any) -> tuple[int, float, float]:
    """One-sided test for more turning points than an i.i.d. sequence has.

    Parameters
    ----------
    values : array-like of float
        At least 3 values; ties between neighbours count as no turning point.

    Returns
    -------
    (turning_points, z, pvalue)
        ``pvalue = P(Z >= z)`` under the normal approximation.

    Notes
    -----
    A turning point is an interior value above both neighbours or below both. For
    ``n`` i.i.d. continuous values their number ``T`` has mean ``2(n-2)/3`` and variance
    ``(16n-29)/90`` (Kendall & Stuart; Brockwell & Davis 2016, section 1.6), and is
    asymptotically normal. A trend lowers ``T``; an oscillation (the lr overshooting back
    and forth) raises it. The test counts the sign changes of successive differences,
    i.e. it is a runs test on the signs of the differences ("runs up and down") with the
    null distribution that differences of i.i.d. noise really have.

    References
    ----------
    Brockwell, P. J., & Davis, R. A. (2016). *Introduction to Time Series and
    Forecasting* (3rd ed.). Springer.
    """
    x = np.asarray(values, dtype=np.float64)
    x = x[np.isfinite(x)]
    n = x.size
    if n < 3:
        return 0, math.nan, math.nan
    left, middle, right = x[:-2], x[1:-1], x[2:]
    turning = int(
        np.sum(((middle > left) & (middle > right)) | ((middle < left) & (middle < right)))
    )
    mean = 2.0 * (n - 2) / 3.0
    sd = math.sqrt((16.0 * n - 29.0) / 90.0)
    z = (turning - mean) / sd
    return turning, z, float(stats.norm.sf(z))


def _slope(y: np.ndarray, x: np.ndarray, level: float) -> dict:
    """OLS slope of ``y`` on ``x`` with its interval and one-sided p-values (statsmodels)."""
    import statsmodels.api as sm

    if y.size < 3 or np.ptp(x) == 0:
        return {
            "slope": math.nan,
            "ci_low": math.nan,
            "ci_high": math.nan,
            "p_down": math.nan,
            "p_up": math.nan,
        }
    fit = sm.OLS(y, sm.add_constant(x)).fit()
    low, high = fit.conf_int(alpha=1.0 - level)[1]
    t = (
        float(fit.tvalues[1])
        if np.isfinite(fit.tvalues[1])
        else math.copysign(math.inf, float(fit.params[1]) or 1.0)
    )
    return {
        "slope": float(fit.params[1]),
        "ci_low": float(low),
        "ci_high": float(high),
        "p_down": float(stats.t.cdf(t, fit.df_resid)),
        "p_up": float(stats.t.sf(t, fit.df_resid)),
    }


def _series(history: Any, loss: str, val_loss: str) -> tuple[pd.DataFrame, str]:
    """Normalize a History, dict or DataFrame into a tidy frame of losses."""
    unit = "epoch"
    if hasattr(history, "history") and isinstance(history.history, dict):
        data = history.history
    elif isinstance(history, pd.DataFrame):
        data = history
        if "step" in history.columns or "batch" in history.columns:
            unit = "step"
    elif isinstance(history, dict):
        data = history
    else:
        raise TypeError(
            "`history` must be a keras History, a dict or a pandas DataFrame of losses. "
            f"Received: history of type {type(history).__name__}"
        )
    keys = list(data.keys()) if isinstance(data, dict) else list(data.columns)
    if loss not in keys:
        raise ValueError(
            f"`history` must contain a {loss!r} series (set `loss=` to its name). "
            f"Received: keys {keys}"
        )
    frame = pd.DataFrame({"loss": np.asarray(data[loss], dtype=np.float64).ravel()})
    if val_loss in keys:
        values = np.asarray(data[val_loss], dtype=np.float64).ravel()
        if values.size != frame.shape[0]:
            raise ValueError(
                f"`history[{val_loss!r}]` must have one value per {loss!r} value. Received: "
                f"{values.size} and {frame.shape[0]}"
            )
        frame["val_loss"] = values
    if frame.shape[0] < 4:
        raise ValueError(
            f"`history` must hold at least 4 values of {loss!r}. Received: {frame.shape[0]}"
        )
    frame.insert(0, unit, np.arange(frame.shape[0]))
    return frame, unit


@dataclass(frozen=True, eq=False)
class Diagnosis:
    """Verdicts on a training curve, each with its evidence.

    Attributes
    ----------
    verdicts : pandas.DataFrame
        One row per verdict considered: ``verdict, holds, statistic, statistic_name,
        ci_low, ci_high, pvalue, recommendation``.
    curves : pandas.DataFrame
        ``epoch`` (or ``step``), ``loss`` and, when given, ``val_loss``.
    unit : str
        ``"epoch"`` or ``"step"``.
    scale : str
        ``"log"`` when trends were fitted to log losses (all positive), else ``"raw"``.
    alpha : float
        Significance level of every test.
    """

    verdicts: pd.DataFrame
    curves: pd.DataFrame
    unit: str
    scale: str
    alpha: float

    @property
    def holds(self) -> tuple[str, ...]:
        """The verdicts that hold (``("healthy",)`` when nothing else does)."""
        return tuple(self.verdicts.loc[self.verdicts["holds"], "verdict"])

    @property
    def recommendation(self) -> str:
        """The recommendations of the verdicts that hold, one per line."""
        rows = self.verdicts.loc[self.verdicts["holds"], "recommendation"]
        return "\n".join(rows)

    def to_frame(self) -> pd.DataFrame:
        """One row per verdict (a copy of :attr:`verdicts`)."""
        return self.verdicts.copy()

    def _repr_html_(self) -> str:
        body = self.verdicts.to_html(index=False, float_format=lambda x: f"{x:.4g}")
        return f"<div><strong>Diagnosis: {', '.join(self.holds)}</strong>{body}</div>"

    def plot(self, ax: Any = None, **kwargs: Any) -> Any:
        """The curves annotated with the verdicts that hold."""
        plots = importlib.import_module("lrstats.presentation.classic_plots")
        return plots.plot_diagnosis(self, ax=ax, **kwargs)


def diagnose(
    history: Any,
    *,
    loss: str = "loss",
    val_loss: str = "val_loss",
    alpha: float = 0.05,
    early_share: float = 0.2,
    plateau_excess: float = 0.1,
    levelling_ratio: float = 0.5,
) -> Diagnosis:
    """Verdicts on a learning rate from its training (and validation) loss curve.

    Parameters
    ----------
    history : keras History, dict or pandas.DataFrame
        Losses per epoch (``History.history``) or per batch (a frame with a ``step`` or
        ``batch`` column, e.g. a range-test-like record), in training order.
    loss, val_loss : str, default "loss", "val_loss"
        Names of the training and (optional) validation series.
    alpha : float, default 0.05
        Significance level of every test.
    early_share : float, default 0.2
        ``too_fast`` asks whether most of the fall happened within this first share.
    plateau_excess : float, default 0.1
        ``too_fast`` asks whether the second half's median sits more than this share of
        the total fall above the best value seen.
    levelling_ratio : float, default 0.5
        ``too_slow`` holds for a significant fall whose second-half slope is more than
        this share of its first-half slope (it does not level off).

    Returns
    -------
    Diagnosis

    Notes
    -----
    Trends are OLS slopes (statsmodels) of the log loss (of the loss itself when some
    value is <= 0) against the epoch, with ``1 - alpha`` intervals; the residuals of
    training curves are autocorrelated, so the intervals are indicative rather than
    exact. ``x`` is scaled to [0, 1], so a slope is the change over the whole window.

    - ``diverging``: a non-finite value, or a significantly positive slope over the
      second half with the last value above the first.
    - ``oscillating``: more turning points than i.i.d. noise has
      (:func:`turning_point_test`, one-sided ``p < alpha``). A trend only lowers the count,
      so trend plus noise does not trigger it.
    - ``too_fast``: a real fall (the first value above the one-sided ``1 - alpha``
      prediction bound of the second half's values) that happened early (``>= 80%`` of the fall from the first
      value to the best within the first ``early_share`` of the curve) and then stalled
      (second-half slope not significantly negative, or the best value seen in the
      first half and never reached again) high above the best (the second half's median
      more than ``plateau_excess`` × the fall above it). Statistic: that excess; p-value:
      the one-sided test of a falling second half.
    - ``too_slow``: no significant downward trend over the whole curve (statistic: its
      slope, with interval and one-sided p-value), or a significant one that does not
      level off: the second-half slope is more than ``levelling_ratio`` of the first-half
      slope (statistic: that ratio; the p-value stays the one of the fall). On smooth curves any deceleration is significant,
      so the rule is on the ratio, not on a test of it.
    - ``overfitting``: validation slope over the second half significantly > 0 while the
      training slope there is significantly < 0. Statistic: the validation slope.
    - ``healthy``: none of the above.

    References
    ----------
    Smith, L. N. (2018). A disciplined approach to neural network hyper-parameters:
    Part 1. arXiv:1803.09820 (section 3: reading the training and validation curves).

    Examples
    --------
    >>> curve = {"loss": [1.0, 0.6, 0.45, 0.38, 0.34, 0.32, 0.31, 0.305]}
    >>> diagnose(curve).holds
    ('healthy',)
    """
    alpha = check_real(
        alpha, "alpha", low=0.0, high=1.0, low_inclusive=False, high_inclusive=False
    )
    early_share = check_real(
        early_share, "early_share", low=0.0, high=1.0, low_inclusive=False, high_inclusive=False
    )
    plateau_excess = check_real(plateau_excess, "plateau_excess", low=0.0)
    levelling_ratio = check_real(levelling_ratio, "levelling_ratio", low=0.0, high=1.0)
    curves, unit = _series(history, loss, val_loss)
    level = 1.0 - alpha
    values = curves["loss"].to_numpy()
    finite = np.isfinite(values)
    first_bad = int(np.argmin(finite)) if not finite.all() else None
    y_all = values[: first_bad if first_bad is not None else values.size]
    positive = y_all.size > 0 and bool(np.all(y_all > 0))
    scale = "log" if positive else "raw"
    y = np.log(y_all) if positive else y_all
    n = y.size
    x = np.linspace(0.0, 1.0, n) if n > 1 else np.zeros(n)
    half = n // 2
    rows = []

    def row(verdict, holds, statistic, name, ci=(math.nan, math.nan), pvalue=math.nan):
        rows.append(
            {
                "verdict": verdict,
                "holds": bool(holds),
                "statistic": float(statistic),
                "statistic_name": name,
                "ci_low": float(ci[0]),
                "ci_high": float(ci[1]),
                "pvalue": float(pvalue),
                "recommendation": RECOMMENDATIONS[verdict],
            }
        )

    late = _slope(y[half:], x[half:], level)
    early = _slope(y[: half + 1], x[: half + 1], level)
    whole = _slope(y, x, level)

    # diverging
    if first_bad is not None:
        row("diverging", True, first_bad, f"first non-finite {unit}")
    else:
        grows = late["p_up"] < alpha and y[-1] > y[0]
        row(
            "diverging",
            grows,
            late["slope"],
            "second-half slope",
            (late["ci_low"], late["ci_high"]),
            late["p_up"],
        )

    # oscillating
    turning, z, p_turn = turning_point_test(y)
    row("oscillating", p_turn < alpha, turning, "turning points", pvalue=p_turn)

    # too fast: an early fall to a high plateau
    best = float(np.min(y)) if n else math.nan
    fall = float(y[0] - best) if n else math.nan
    excess = (float(np.median(y[half:])) - best) / fall if fall > 0 else math.nan
    cut = max(int(math.ceil(early_share * n)), 1)
    early_fall = (y[0] - np.min(y[: cut + 1])) / fall if fall > 0 else math.nan
    stalled = not late["p_down"] < alpha or int(np.argmin(y)) < half
    tail = y[half:]
    m = tail.size
    spread = float(np.std(tail, ddof=1)) * math.sqrt(1.0 + 1.0 / m) if m > 2 else math.nan
    # the first value lies above the one-sided 1 - alpha prediction bound of the second half
    fell = spread >= 0 and y[0] > np.mean(tail) + stats.t.ppf(1.0 - alpha, m - 1) * spread
    too_fast = bool(fell and stalled and early_fall >= 0.8 and excess > plateau_excess)
    row(
        "too_fast",
        too_fast,
        excess,
        "plateau excess over the best (share of the fall)",
        pvalue=late["p_down"],
    )

    # too slow: no significant fall, or a fall that does not level off
    falling = whole["p_down"] < alpha
    ratio = late["slope"] / early["slope"] if early["slope"] < 0 else math.nan
    steady = falling and math.isfinite(ratio) and ratio > levelling_ratio
    too_slow = bool(((not falling) or steady) and not rows[0]["holds"] and not too_fast)
    row(
        "too_slow",
        too_slow,
        ratio if falling else whole["slope"],
        "second-half / first-half slope" if falling else "slope over the whole curve",
        (math.nan, math.nan) if falling else (whole["ci_low"], whole["ci_high"]),
        whole["p_down"],
    )

    # overfitting
    if "val_loss" in curves:
        val = curves["val_loss"].to_numpy()[:n]
        ok = np.isfinite(val)
        if ok.all() and np.all(val > 0) and scale == "log":
            val = np.log(val)
        val_late = _slope(val[half:][ok[half:]], x[half:][ok[half:]], level)
        overfit = val_late["p_up"] < alpha and late["p_down"] < alpha
        row(
            "overfitting",
            overfit,
            val_late["slope"],
            "validation second-half slope",
            (val_late["ci_low"], val_late["ci_high"]),
            val_late["p_up"],
        )
    else:
        row("overfitting", False, math.nan, "no validation loss")

    healthy = not any(r["holds"] for r in rows)
    row("healthy", healthy, math.nan, "no other verdict holds")
    verdicts = pd.DataFrame(rows)
    verdicts["verdict"] = pd.Categorical(verdicts["verdict"], categories=VERDICTS, ordered=True)
    verdicts = verdicts.sort_values("verdict").reset_index(drop=True)
    verdicts["verdict"] = verdicts["verdict"].astype(str)
    return Diagnosis(verdicts=verdicts, curves=curves, unit=unit, scale=scale, alpha=alpha)
