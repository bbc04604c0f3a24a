"""Figures of sensitivity sweeps (matplotlib and seaborn; never TensorFlow; no statistics).

``plot_best_lr_by_batch_size``
    The selected lr with its interval against the batch size, on log-log axes, with the
    linear-scaling line for reference.
``plot_level_differences``
    Paired differences of a factor's levels (e.g. schedules) against a baseline, per lr,
    with their intervals.

Like :mod:`lrstats.presentation.plots`, every function takes a table or a result, an
optional ``ax``, returns the :class:`~matplotlib.axes.Axes`, and tags its artists with
``gid`` strings (``"best_lr"``, ``"interval"``, ``"linear_scaling"``, ``"zero"``,
``"level:<level>"``).
"""

from __future__ import annotations

from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.axes import Axes

from lrstats._validation import check_dataframe
from lrstats.presentation.theme import figure_size

__all__ = ["plot_best_lr_by_batch_size", "plot_level_differences"]

_PALETTE = sns.color_palette("colorblind")


def _axes(ax: Any) -> Axes:
    if ax is None:
        _, ax = plt.subplots(figsize=figure_size())
        return ax
    if not isinstance(ax, Axes):
        raise TypeError(f"`ax` must be a matplotlib Axes or None. Received: ax={ax!r}")
    return ax


def plot_best_lr_by_batch_size(
    table: pd.DataFrame,
    *,
    by: str = "batch_size",
    reference: bool = True,
    ax: Any = None,
) -> Axes:
    """The best learning rate with its interval against the batch size, log-log.

    Parameters
    ----------
    table : pandas.DataFrame
        Columns ``by`` (e.g. ``batch_size``), ``lr``, ``ci_low``, ``ci_high``, one row
        per level: the per-level selections, e.g.
        ``lrstats.analyse(frame, response="val_loss", by="batch_size")["selection_mean"]
        .to_frame()`` or ``lrstats.select_lr(frame, ..., by="batch_size").to_frame()``.
        NaN lrs (no selection) are skipped.
    by : str, default "batch_size"
        The numeric factor on the x axis.
    reference : bool, default True
        Draw the linear-scaling line ``lr ∝ batch size`` through the geometric centre of
        the selected points (slope 1 on log-log axes): Goyal et al.'s rule, for reference
        ("smaller batch sizes are better suited to smaller learning rates").
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.axes.Axes

    References
    ----------
    .. [1] Goyal, P. et al. (2017). Accurate, large minibatch SGD: training ImageNet in
       1 hour. arXiv:1706.02677.
    .. [2] Smith, S. L., Kindermans, P.-J., Ying, C. and Le, Q. V. (2018). Don't decay the
       learning rate, increase the batch size. ICLR.

    Examples
    --------
    >>> import pandas as pd
    >>> table = pd.DataFrame({"batch_size": [32, 64, 128], "lr": [0.01, 0.02, 0.05],
    ...                       "ci_low": [0.005, 0.01, 0.02], "ci_high": [0.02, 0.05, 0.1]})
    >>> ax = plot_best_lr_by_batch_size(table)
    """
    check_dataframe(table, "table")
    missing = [c for c in (by, "lr", "ci_low", "ci_high") if c not in table.columns]
    if missing:
        raise ValueError(
            f"`table` must have columns {[by, 'lr', 'ci_low', 'ci_high']}. Received: table "
            f"missing {missing} (columns {list(table.columns)})"
        )
    ax = _axes(ax)
    rows = table.sort_values(by)
    rows = rows[np.isfinite(rows["lr"].to_numpy(dtype=float))]
    x = rows[by].to_numpy(dtype=float)
    lr = rows["lr"].to_numpy(dtype=float)
    low = rows["ci_low"].to_numpy(dtype=float)
    high = rows["ci_high"].to_numpy(dtype=float)
    if (x <= 0).any() or (lr <= 0).any():
        raise ValueError(f"`table` columns {by!r} and 'lr' must be > 0 for log axes.")
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    errorbar = ax.errorbar(
        x,
        lr,
        yerr=np.vstack([lr - low, high - lr]),
        fmt="o",
        color=_PALETTE[0],
        capsize=3,
        label="selected lr and interval",
    )
    errorbar.lines[0].set_gid("best_lr")
    for bar in errorbar.lines[2]:
        bar.set_gid("interval")
    if reference and x.size:
        centre_x, centre_lr = np.exp(np.log(x).mean()), np.exp(np.log(lr).mean())
        span = np.geomspace(x.min() / 1.3, x.max() * 1.3, 50)
        (line,) = ax.plot(
            span,
            centre_lr * span / centre_x,
            linestyle="--",
            color="0.4",
            linewidth=1.0,
            label="linear scaling (lr ∝ batch size)",
            gid="linear_scaling",
        )
    ax.set_xticks(np.unique(x))
    ax.set_xticklabels([f"{v:g}" for v in np.unique(x)])
    ax.set_xlabel(by.replace("_", " "))
    ax.set_ylabel("learning rate")
    ax.legend(frameon=False, fontsize="small")
    return ax


def plot_level_differences(comparison: Any, *, ax: Any = None) -> Axes:
    """Paired differences of each level against the baseline, per lr, with intervals.

    Parameters
    ----------
    comparison : LevelComparison
        :func:`lrstats.inference.compare_levels`' result.
    ax : matplotlib Axes, optional

    Returns
    -------
    matplotlib.axes.Axes
        Log lr on x; one series per level, dodged slightly so intervals do not overlap;
        a zero line (no difference from the baseline).

    Examples
    --------
    >>> import lrstats
    >>> from lrstats.simulate import simulate_sweep
    >>> sweep = simulate_sweep(batch_sizes=[32, 128], rng=0)
    >>> comparison = lrstats.compare_levels(sweep, factor="batch_size", response="val_loss")
    >>> ax = lrstats.presentation.plot_level_differences(comparison)
    >>> ax.get_xscale()
    'log'
    """
    table = getattr(comparison, "table", None)
    factor = getattr(comparison, "factor", None)
    if not isinstance(table, pd.DataFrame) or factor is None:
        raise TypeError(
            "`comparison` must be a LevelComparison (lrstats.inference.compare_levels). "
            f"Received: comparison of type {type(comparison).__name__}"
        )
    ax = _axes(ax)
    levels = list(dict.fromkeys(table[factor].tolist()))
    ratio = 1.0
    lrs = np.unique(table["lr"].to_numpy(dtype=float))
    if lrs.size > 1:
        ratio = float(np.exp(np.min(np.diff(np.log(lrs))) * 0.12))
    ax.set_xscale("log")
    for i, level in enumerate(levels):
        rows = table[table[factor] == level].sort_values("lr")
        offset = ratio ** (i - (len(levels) - 1) / 2)
        x = rows["lr"].to_numpy(dtype=float) * offset
        diff = rows["diff"].to_numpy(dtype=float)
        container = ax.errorbar(
            x,
            diff,
            yerr=np.vstack(
                [
                    diff - rows["ci_low"].to_numpy(dtype=float),
                    rows["ci_high"].to_numpy(dtype=float) - diff,
                ]
            ),
            fmt="o-",
            color=_PALETTE[(i + 1) % len(_PALETTE)],
            capsize=2,
            linewidth=1.0,
            markersize=4,
            label=f"{level} − {comparison.baseline}",
        )
        container.lines[0].set_gid(f"level:{level}")
    ax.axhline(0.0, color="0.3", linewidth=0.8, gid="zero")
    ax.set_xlabel("learning rate")
    response = getattr(comparison, "response", "response")
    at = getattr(comparison, "at", "final")
    level = getattr(comparison, "confidence_level", 0.95)
    ax.set_ylabel(f"paired difference in {response} (at: {at})")
    ax.set_title(
        f"{factor.replace('_', ' ')} against {comparison.baseline} ({level:.0%} t intervals)",
        fontsize="medium",
    )
    ax.legend(frameon=False, fontsize="small")
    return ax
