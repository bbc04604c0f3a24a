"""Figures of the classic tools: range test, 1cycle, diagnostics.

Every plot function takes a result object, an optional ``ax`` and returns the axes it
drew on; nothing here computes a statistic (the results carry them). Artists carry
``gid`` strings (``"raw:<replicate>"``, ``"smoothed:<replicate>"``,
``"suggestion:<name>"``, ``"interval:<name>"``, ``"loss"``, ``"val_loss"``,
``"verdict"``) so code and tests can find them.

The report (:func:`lrstats.write_report`) draws ``plot_range_test`` and
``plot_diagnosis`` in the sections of an analysis of a range-test frame or a training
history, with the results' own tables (``lrstats.presentation.report._content``).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from matplotlib.axes import Axes

from lrstats.presentation.plots import _PALETTE, _axes

__all__ = ["plot_diagnosis", "plot_one_cycle", "plot_range_test"]

_SUGGESTION_COLORS = {"steep": _PALETTE[3], "minimum": _PALETTE[2], "valley": _PALETTE[4]}


def plot_range_test(result: Any, ax: Axes | None = None, *, raw: bool = True) -> Axes:
    """Loss against lr (log axis): every replicate raw and smoothed, the suggestions.

    Parameters
    ----------
    result : RangeTestResult
    ax : matplotlib Axes, optional
    raw : bool, default True
        Also draw the per-batch losses (thin, transparent).

    Returns
    -------
    matplotlib.axes.Axes

    Notes
    -----
    Each suggestion is a vertical line at its median over replicates with its bootstrap
    interval shaded in the same colour (no shading with one replicate). The y axis is
    cut at the largest smoothed loss that did not trigger the stop, so the blow-up does
    not flatten the curve.
    """
    ax = _axes(ax)
    frame = result.frame
    for replicate, curve in frame.groupby("replicate"):
        if raw:
            ax.plot(
                curve["lr"],
                curve["loss"],
                color=_PALETTE[0],
                alpha=0.25,
                lw=0.6,
                gid=f"raw:{replicate}",
            )
        ax.plot(
            curve["lr"],
            curve["smoothed_loss"],
            color=_PALETTE[0],
            lw=1.2,
            gid=f"smoothed:{replicate}",
        )
    for name, row in result.suggestions.iterrows():
        color = _SUGGESTION_COLORS.get(name, "0.3")
        if np.isfinite(row["lr"]):
            ax.axvline(
                row["lr"],
                color=color,
                lw=1.0,
                ls="--",
                gid=f"suggestion:{name}",
                label=f"{name} {row['lr']:.2g}",
            )
        if np.isfinite(row["ci_low"]) and np.isfinite(row["ci_high"]):
            ax.axvspan(
                row["ci_low"],
                row["ci_high"],
                color=color,
                alpha=0.15,
                lw=0,
                gid=f"interval:{name}",
            )
    smoothed = frame["smoothed_loss"].to_numpy()
    finite = smoothed[np.isfinite(smoothed)]
    if finite.size:
        low, high = float(np.min(finite)), float(np.quantile(finite, 0.98))
        pad = 0.05 * (high - low if high > low else abs(high) or 1.0)
        ax.set_ylim(low - pad, high + pad)
    ax.set_xscale("log")
    ax.set_xlabel("learning rate")
    ax.set_ylabel("training loss")
    n = frame["replicate"].nunique()
    ax.set_title(f"LR range test ({n} replicate{'s' if n != 1 else ''})")
    ax.legend(frameon=False, fontsize="small")
    return ax


def plot_one_cycle(lrs: Any, momentum: Any = None, ax: Axes | None = None) -> Axes:
    """A schedule's lr per step (and its momentum on a twin axis).

    ``lrs`` and ``momentum`` are arrays of values per step, e.g. from
    :func:`lrstats.schedules.one_cycle` and :func:`lrstats.schedules.one_cycle_momentum`.
    """
    ax = _axes(ax)
    lrs = np.asarray(lrs, dtype=float)
    ax.plot(np.arange(lrs.size), lrs, color=_PALETTE[0], gid="lr")
    ax.set_xlabel("step")
    ax.set_ylabel("learning rate")
    if momentum is not None:
        twin = ax.twinx()
        twin.plot(
            np.arange(lrs.size),
            np.asarray(momentum, float),
            color=_PALETTE[1],
            ls="--",
            gid="momentum",
        )
        twin.set_ylabel("momentum")
    return ax


def plot_diagnosis(diagnosis: Any, ax: Axes | None = None) -> Axes:
    """Training (and validation) loss with the verdicts that hold written on the figure."""
    ax = _axes(ax)
    curves = diagnosis.curves
    unit = diagnosis.unit
    ax.plot(
        curves[unit],
        curves["loss"],
        color=_PALETTE[0],
        marker="o",
        ms=2.5,
        label="training",
        gid="loss",
    )
    if "val_loss" in curves:
        ax.plot(
            curves[unit],
            curves["val_loss"],
            color=_PALETTE[1],
            marker="s",
            ms=2.5,
            label="validation",
            gid="val_loss",
        )
    if diagnosis.scale == "log":
        ax.set_yscale("log")
    holding = diagnosis.verdicts.loc[diagnosis.verdicts["holds"]]
    lines = []
    for _, row in holding.iterrows():
        statistic = f"{row['statistic']:.3g}" if np.isfinite(row["statistic"]) else ""
        evidence = f" ({row['statistic_name']} {statistic}"
        evidence += f", p = {row['pvalue']:.2g})" if np.isfinite(row["pvalue"]) else ")"
        lines.append(row["verdict"] + (evidence if statistic else ""))
    ax.text(
        0.98,
        0.97,
        "\n".join(lines),
        transform=ax.transAxes,
        ha="right",
        va="top",
        fontsize="small",
        gid="verdict",
    )
    ax.set_xlabel(unit)
    ax.set_ylabel("loss")
    ax.legend(frameon=False, fontsize="small", loc="lower left")
    return ax
