"""The figure of a :class:`~lrstats.inference.halving.Recommendation`: its evidence.

Kept apart from :mod:`lrstats.presentation.plots` (the figures of the frame-based
results); it draws only what the recommendation carries and computes no statistic.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import seaborn as sns
from matplotlib.axes import Axes

from lrstats.presentation.plots import _axes, _require, _set_lr_axis

__all__ = ["plot_recommendation"]


def _horizon_label(steps: int, steps_per_epoch: Any) -> str:
    if steps_per_epoch:
        return f"{steps / float(steps_per_epoch):.3g} ep"
    return f"{int(steps)} steps"


def plot_recommendation(
    recommendation: Any, ax: Any = None, *, replicates: bool = True, legend: bool = True
) -> Axes:
    """Validation loss per lr after every halving round, the recommended lr and its interval.

    Parameters
    ----------
    recommendation : Recommendation
        From :func:`lrstats.keras.recommend_lr`.
    ax : matplotlib.axes.Axes, optional
        Axes to draw into; a new one-column figure without it.
    replicates : bool, default True
        Also draw every replicate's loss (small points).
    legend : bool, default True

    Returns
    -------
    matplotlib.axes.Axes

    Notes
    -----
    One line per round (darker = longer horizon, labelled in epochs of the training rows
    when known): the mean validation loss of the lrs that round trained; filled markers
    for the lrs it kept, open ones for those it dropped. Non-finite losses (divergence)
    are left out of the lines. The recommended lr is a vertical line (``gid``
    ``"recommended"``), its interval a shaded band (``"interval"``) and, when the
    optimum was extrapolated to the planned length, that optimum a dashed line
    (``"extrapolated"``). The y axis is logarithmic when every finite loss is positive.

    Examples
    --------
    >>> rec = recommend_lr(model, x, y, seed=0)  # doctest: +SKIP
    >>> ax = rec.plot()  # doctest: +SKIP
    """
    _require(recommendation, "recommendation", ("evidence", "lr", "ci_low", "ci_high"),
             "Recommendation")  # fmt: skip
    ax = _axes(ax)
    evidence = recommendation.evidence
    params = getattr(recommendation, "params", {}) or {}
    per_epoch = params.get("steps_per_epoch")
    rounds = sorted(evidence["round"].unique())
    colors = sns.color_palette("crest", max(len(rounds), 1))
    finite = evidence["loss"].to_numpy(dtype=np.float64)
    finite = finite[np.isfinite(finite)]
    for color, round_ in zip(colors, rounds, strict=False):
        frame = evidence[evidence["round"] == round_]
        label = f"round {int(round_) + 1}: " + _horizon_label(
            int(frame["steps"].iloc[0]), per_epoch
        )
        means = frame.drop_duplicates("lr").sort_values("lr")
        ok = np.isfinite(means["mean"].to_numpy(dtype=np.float64))
        ax.plot(means["lr"][ok], means["mean"][ok], "-", color=color, lw=1.2, label=label,
                gid=f"round:{int(round_)}")  # fmt: skip
        kept = means["kept"].to_numpy(dtype=bool) & ok
        ax.plot(means["lr"][kept], means["mean"][kept], "o", color=color, ms=4,
                gid=f"kept:{int(round_)}")  # fmt: skip
        ax.plot(means["lr"][~kept & ok], means["mean"][~kept & ok], "o", mfc="none",
                color=color, ms=4, gid=f"dropped:{int(round_)}")  # fmt: skip
        if replicates:
            points = frame[np.isfinite(frame["loss"].to_numpy(dtype=np.float64))]
            ax.plot(points["lr"], points["loss"], ".", color=color, ms=2, alpha=0.5,
                    gid=f"replicates:{int(round_)}")  # fmt: skip
    lrs = np.asarray(params.get("lrs", sorted(evidence["lr"].unique())), dtype=np.float64)
    _set_lr_axis(ax, lrs)
    if finite.size and (finite > 0).all():
        ax.set_yscale("log")
    if math.isfinite(recommendation.lr):
        low, high = recommendation.ci_low, recommendation.ci_high
        if math.isfinite(low) and math.isfinite(high) and high > low:  # none: one lr left
            ax.axvspan(low, high, color="0.88", zorder=0, gid="interval",
                       label=f"interval [{low:.3g}, {high:.3g}]")  # fmt: skip
        ax.axvline(recommendation.lr, color="black", lw=1.2, gid="recommended",
                   label=f"recommended lr {recommendation.lr:.3g}")  # fmt: skip
    target = params.get("extrapolated_log10_lr")
    if target is not None and math.isfinite(float(target)):
        ax.axvline(10.0 ** float(target), color="black", ls="--", lw=0.9, gid="extrapolated",
                   label=f"optimum extrapolated to {params.get('epochs'):g} ep")  # fmt: skip
    ax.set_ylabel("validation loss")
    if legend:
        ax.legend(fontsize="x-small", frameon=False, loc="upper left", bbox_to_anchor=(1.02, 1))
    return ax
