"""Figures of the inference results (matplotlib and seaborn; never TensorFlow).

Every function takes a result object (or a tidy frame), an optional ``ax`` to draw
into, and returns the :class:`~matplotlib.axes.Axes` it drew on. Without ``ax`` a new
one-column figure (3.5 in wide) is created. The functions never change global
matplotlib state; wrap them in :func:`lrstats.presentation.theme.theme` (or call
:func:`lrstats.set_theme` once) for the publication look.

The learning-rate axis is logarithmic everywhere. Learning rates at which some
replicate diverged (a non-finite response) are shaded grey.

Artists carry ``gid`` strings (``"mean"``, ``"interval"``, ``"bootstrap"``, ``"zero"``,
``"diverged"``, ``"selection:<rule>"``, …) so that code and tests can find them.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib as mpl
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.axes import Axes
from matplotlib.font_manager import FontProperties
from matplotlib.ticker import LogFormatterSciNotation
from matplotlib.transforms import ScaledTranslation

from lrstats._validation import as_rng, check_choice
from lrstats.presentation.theme import figure_size

__all__ = [
    "plot_levels",
    "plot_comparison",
    "plot_distribution",
    "plot_p_decrease",
    "plot_selection",
    "plot_shape",
    "plot_summary",
    "plot_utest",
]

_PALETTE = sns.color_palette("colorblind")
_BLUE, _ORANGE, _GREEN, _VERMILION = (_PALETTE[i] for i in range(4))
_SHADE = "0.88"
_RULE_MARKERS = ("o", "s", "^", "D", "v", "P", "X", "*", "<", ">")
_RULE_COLORS = [_PALETTE[i] for i in (3, 2, 4, 1, 5, 0, 7, 9, 8, 6)]
_SHAPE_COLORS = {
    "quadratic": _PALETTE[3],
    "local": _PALETTE[2],
    "unimodal": _PALETTE[4],
    "isotonic": _PALETTE[5],
}
_METHOD_NAMES = {
    "t": "t",
    "percentile": "percentile bootstrap",
    "basic": "basic bootstrap",
    "bca": "BCa bootstrap",
}
_RESPONSE_LABELS = {
    "delta": "\u0394L = post \u2212 pre",
    "relative": "relative change, post/pre \u2212 1",
    "log_ratio": "log(post/pre)",
}
_RESPONSE_SYMBOLS = {
    "delta": "\u0394L",
    "relative": "post/pre \u2212 1",
    "log_ratio": "log(post/pre)",
}
_YLIMS = ("focus", "full")


# --------------------------------------------------------------------------------------------
# Helpers
# --------------------------------------------------------------------------------------------
def _axes(ax: Any) -> Axes:
    if ax is None:
        _, ax = plt.subplots(figsize=figure_size(1))
        return ax
    if not isinstance(ax, Axes):
        raise TypeError(
            f"`ax` must be a matplotlib Axes or None. Received: ax of type {type(ax).__name__}"
        )
    return ax


def _require(result: Any, name: str, attributes: Sequence[str], kind: str) -> None:
    missing = [a for a in attributes if not hasattr(result, a)]
    if missing:
        raise TypeError(
            f"`{name}` must be a {kind} result. Received: an object of type {type(result).__name__}"
        )


def _response_label(response: str) -> str:
    return _RESPONSE_LABELS.get(response, str(response))


def _response_symbol(response: str) -> str:
    return _RESPONSE_SYMBOLS.get(response, str(response))


def _level(confidence_level: float) -> str:
    return f"{100 * confidence_level:g}%"


def _half_step_edges(lrs: np.ndarray) -> np.ndarray:
    """Cell edges on the log axis: geometric midpoints, half a step beyond the ends."""
    lrs = np.asarray(lrs, dtype=np.float64)
    if lrs.size == 1:
        return np.array([lrs[0] / 1.25, lrs[0] * 1.25])
    logs = np.log(lrs)
    middle = (logs[1:] + logs[:-1]) / 2
    first = logs[0] - (middle[0] - logs[0])
    last = logs[-1] + (logs[-1] - middle[-1])
    return np.exp(np.concatenate([[first], middle, [last]]))


_SUPERSCRIPT = str.maketrans(
    "0123456789-", "\u2070\u00b9\u00b2\u00b3\u2074\u2075\u2076\u2077\u2078\u2079\u207b"
)


class _PowerFormatter(LogFormatterSciNotation):
    """matplotlib's log tick labels (same choice of ticks) as plain text with superscripts.

    ``10⁻⁴`` and ``2×10⁻³`` render without mathtext: the same look, several times faster to
    draw, and plain text in SVG/PDF.
    """

    def __call__(self, x: float, pos: Any = None) -> str:
        return _plain_power(super().__call__(x, pos))


def _plain_power(label: str) -> str:
    match = re.fullmatch(r"\$\\mathdefault\{(.*)\}\$", label)
    if match is None:
        return label
    body = match.group(1).replace("\\times", "\u00d7")
    body = re.sub(r"\^\{([-0-9]+)\}", lambda m: m.group(1).translate(_SUPERSCRIPT), body)
    return body.replace("-", "\u2212") if body.startswith("-") else body


def _plain_log_labels(axis: Any) -> None:
    axis.set_major_formatter(_PowerFormatter())
    axis.set_minor_formatter(_PowerFormatter(labelOnlyBase=False, minor_thresholds=(2, 0.4)))


def _jitter_widths(lrs: np.ndarray) -> np.ndarray:
    """Per lr, the log-axis width points may spread over: the smaller gap to a neighbour,
    at most the grid's median gap (so an isolated lr of an irregular grid stays narrow)."""
    if lrs.size == 1:
        return np.array([math.log(1.25) * 2])
    gaps = np.diff(np.log(lrs))
    median = float(np.median(gaps))
    left = np.concatenate([[np.inf], gaps])
    right = np.concatenate([gaps, [np.inf]])
    return np.minimum(np.minimum(left, right), median)


def _set_lr_axis(ax: Axes, lrs: np.ndarray, label: bool = True) -> None:
    ax.set_xscale("log")
    _plain_log_labels(ax.xaxis)
    lrs = np.sort(np.asarray(lrs, dtype=np.float64))
    edges = _half_step_edges(lrs)
    # Half a grid step beyond the ends, but at most 5 % of the range (irregular grids, such
    # as autolrtuner's linear ones starting near zero, would otherwise waste the axis).
    span = math.log(lrs[-1] / lrs[0]) if lrs.size > 1 else 0.0
    if span > 0:
        cap = math.exp(0.05 * span)
        edges[0] = max(edges[0], lrs[0] / cap)
        edges[-1] = min(edges[-1], lrs[-1] * cap)
    ax.set_xlim(edges[0], edges[-1])
    if label:
        ax.set_xlabel("learning rate")


def _shade_diverging(ax: Axes, lrs: np.ndarray, diverging: np.ndarray) -> int:
    """Grey spans over runs of diverging lrs; returns the number of spans."""
    lrs = np.asarray(lrs, dtype=np.float64)
    diverging = np.asarray(diverging, dtype=bool)
    if not diverging.any():
        return 0
    edges = _half_step_edges(lrs)
    spans = 0
    k = 0
    while k < lrs.size:
        if not diverging[k]:
            k += 1
            continue
        start = k
        while k + 1 < lrs.size and diverging[k + 1]:
            k += 1
        ax.axvspan(
            edges[start],
            edges[k + 1],
            color=_SHADE,
            lw=0,
            zorder=0,
            label="diverged" if spans == 0 else "_nolegend_",
            gid="diverged",
        )
        spans += 1
        k += 1
    return spans


def _zero_line(ax: Axes, y: float = 0.0) -> None:
    ax.axhline(y, color="0.3", lw=0.8, ls="--", zorder=1, gid="zero")


def _zero_line_for(ax: Axes, response: str) -> None:
    """The zero line of a loss change (no decrease); other responses have no special zero."""
    from lrstats.inference import is_loss_change

    if is_loss_change(response):
        _zero_line(ax)


def _focus_ylim(
    ax: Axes, low: np.ndarray, high: np.ndarray, ylim: Any, response: str | None = None
) -> None:
    """Apply ``ylim``: "full" (autoscale), "focus" (keep the decrease readable) or a pair.

    "focus" concerns loss changes only (a dip below zero and a blow-up above it); any other
    response is scaled to its own range.
    """
    if isinstance(ylim, str):
        ylim = check_choice(ylim, "ylim", _YLIMS)
    elif isinstance(ylim, (tuple, list)) and len(ylim) == 2:
        ax.set_ylim(float(ylim[0]), float(ylim[1]))
        return
    else:
        raise ValueError(
            f"`ylim` must be 'focus', 'full' or a (low, high) pair. Received: ylim={ylim!r}"
        )
    if ylim == "full":
        return
    if response is not None:
        from lrstats.inference import is_loss_change

        if not is_loss_change(response):
            return
    low = np.asarray(low, dtype=np.float64)
    high = np.asarray(high, dtype=np.float64)
    low = low[np.isfinite(low)]
    high = high[np.isfinite(high)]
    if low.size == 0 or high.size == 0:
        return
    bottom, top = float(low.min()), float(high.max())
    if bottom >= 0 or top <= -bottom:
        return
    # The curve rises far above zero at large lrs; cap the top at the depth of the dip.
    cap = -bottom
    pad = 0.06 * (cap - bottom)
    ax.set_ylim(bottom - pad, cap + pad)
    ax.annotate(
        f"\u2191 up to {top:.3g}",
        # top left: the large lrs that go off the scale are on the right
        xy=(0.01, 0.99),
        xycoords="axes fraction",
        ha="left",
        va="top",
        fontsize="x-small",
        color="0.35",
        bbox={"boxstyle": "square,pad=0.15", "fc": "white", "ec": "none", "alpha": 0.85},
        gid="off-scale",
    )


def _as_list(objects: Any, name: str) -> list[Any]:
    if objects is None:
        return []
    if isinstance(objects, Mapping):
        return list(objects.values())
    if isinstance(objects, (list, tuple)):
        return list(objects)
    return [objects]


def _points(size: Any) -> float:
    return float(FontProperties(size=size).get_size_in_points())


def _below_axes_offset() -> float:
    """Points from the bottom spine to below the x tick labels and the x label."""
    rc = mpl.rcParams
    ticks = max(float(rc["xtick.major.size"]), 0.0) + float(rc["xtick.major.pad"])
    return (
        ticks
        + 1.25 * _points(rc["xtick.labelsize"])
        + float(rc["axes.labelpad"])
        + 1.25 * _points(rc["axes.labelsize"])
        + 3.0
    )


def _finish_legend(ax: Axes, legend: Any, *, ncols: int = 4, **kwargs: Any) -> None:
    """``legend``: True puts it below the axes (never over the data), a str is a ``loc``
    inside the axes, False draws none."""
    if not isinstance(legend, (bool, str)):
        raise TypeError(
            f"`legend` must be True, False or a matplotlib legend location. Received: legend={legend!r}"
        )
    if legend is False:
        return
    handles, labels = ax.get_legend_handles_labels()
    if not handles:
        return
    options: dict[str, Any] = {"fontsize": "x-small", "handlelength": 1.6, **kwargs}
    if legend is True:
        # As many columns as fit under the axes (label width estimated from its length).
        size = _points(options["fontsize"])
        longest = max(len(label) for label in labels)
        column_in = (0.55 * size * longest + 2.8 * size) / 72.0
        axes_in = ax.get_position().width * ax.figure.get_figwidth()
        ncols = max(1, min(ncols, int((axes_in + 0.4) // column_in)))
        offset = ScaledTranslation(0, -_below_axes_offset() / 72.0, ax.figure.dpi_scale_trans)
        ax.legend(
            handles,
            labels,
            loc="upper center",
            bbox_to_anchor=(0.5, 0.0),
            bbox_transform=ax.transAxes + offset,
            ncols=min(ncols, len(handles)),
            columnspacing=1.2,
            borderaxespad=0.0,
            **options,
        )
    else:
        ax.legend(handles, labels, loc=legend, **options)


def _interp_log(x: float, xs: np.ndarray, ys: np.ndarray) -> float:
    """Linear interpolation on log x (NaN outside or where the curve is undefined)."""
    xs = np.asarray(xs, dtype=np.float64)
    ys = np.asarray(ys, dtype=np.float64)
    ok = np.isfinite(xs) & np.isfinite(ys) & (xs > 0)
    if not ok.any() or not math.isfinite(x) or x <= 0:
        return math.nan
    xs, ys = xs[ok], ys[ok]
    order = np.argsort(xs)
    xs, ys = xs[order], ys[order]
    if x < xs[0] or x > xs[-1]:
        return math.nan
    return float(np.interp(math.log(x), np.log(xs), ys))


def _xerr(center: float, low: float, high: float) -> np.ndarray | None:
    if not (math.isfinite(low) and math.isfinite(high)):
        return None
    return np.array([[max(center - low, 0.0)], [max(high - center, 0.0)]])


# --------------------------------------------------------------------------------------------
# The ΔL curve
# --------------------------------------------------------------------------------------------
def plot_summary(
    summary: Any,
    ax: Any = None,
    *,
    selections: Any = None,
    bootstrap: Any = None,
    shade_diverging: bool = True,
    ylim: Any = "focus",
    color: Any = None,
    legend: bool | str = True,
) -> Axes:
    """The mean response over the log-lr grid with its intervals: the ΔL curve.

    Parameters
    ----------
    summary : Summary
        From :func:`lrstats.summarize`; its interval (t or bootstrap) is the shaded band.
    ax : matplotlib Axes, optional
        Where to draw; default a new one-column figure.
    selections : Selection, list or mapping of Selection, optional
        Each rule's chosen lr is marked on the curve (one marker shape per rule) with a
        horizontal bar for its selection interval.
    bootstrap : Summary, optional
        A second summary of the same frame with a bootstrap ``method`` (e.g. ``"bca"``);
        its interval is drawn as dashed orange bounds over the band.
    shade_diverging : bool, default True
        Shade the lrs at which some replicate diverged.
    ylim : {"focus", "full"} or (low, high), default "focus"
        ``"focus"`` caps the top of the axis at the depth of the dip so that the
        decrease stays readable when the curve shoots up at large lrs (the maximum is
        written in the corner); ``"full"`` autoscales.
    color : matplotlib colour, optional
        Colour of the mean and its band (default the palette's blue).
    legend : bool or str, default True
        True: below the axes, so it never covers data; a matplotlib location such as
        ``"upper left"``: inside the axes; False: no legend.

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import lrstats
    >>> from lrstats.simulate import simulate_frame
    >>> frame = simulate_frame(replicates=50, rng=0)
    >>> summary = lrstats.summarize(frame)
    >>> ucb = lrstats.select_lr(frame, rule="ucb", rng=0)
    >>> ax = lrstats.presentation.plot_summary(summary, selections=[ucb])   # doctest: +SKIP
    """
    _require(summary, "summary", ("table", "method", "confidence_level", "response"), "Summary")
    if bootstrap is not None:
        _require(bootstrap, "bootstrap", ("table", "method", "confidence_level"), "Summary")
    if not isinstance(shade_diverging, bool):
        raise TypeError(
            f"`shade_diverging` must be a bool. Received: shade_diverging={shade_diverging!r}"
        )
    selections = _as_list(selections, "selections")
    for item in selections:
        _require(item, "selections", ("rule", "lr", "ci_low", "ci_high"), "Selection")
    ax = _axes(ax)
    color = _BLUE if color is None else color
    table = summary.table
    lrs = table["lr"].to_numpy(dtype=np.float64)
    mean = table["mean"].to_numpy(dtype=np.float64)
    low = table["ci_low"].to_numpy(dtype=np.float64)
    high = table["ci_high"].to_numpy(dtype=np.float64)

    _set_lr_axis(ax, lrs)
    if shade_diverging:
        _shade_diverging(ax, lrs, table["n_nonfinite"].to_numpy() > 0)
    _zero_line_for(ax, summary.response)
    band_label = f"{_level(summary.confidence_level)} {_METHOD_NAMES.get(summary.method, summary.method)} interval"
    ax.fill_between(
        lrs, low, high, color=color, alpha=0.25, lw=0, label=band_label, gid="interval", zorder=2
    )
    lows, highs = [low], [high]
    if bootstrap is not None:
        b_table = bootstrap.table
        b_lrs = b_table["lr"].to_numpy(dtype=np.float64)
        b_low = b_table["ci_low"].to_numpy(dtype=np.float64)
        b_high = b_table["ci_high"].to_numpy(dtype=np.float64)
        b_label = (
            f"{_level(bootstrap.confidence_level)} "
            f"{_METHOD_NAMES.get(bootstrap.method, bootstrap.method)} interval"
        )
        ax.plot(
            b_lrs,
            b_low,
            color=_ORANGE,
            lw=1.0,
            ls=(0, (3, 1.5)),
            label=b_label,
            gid="bootstrap",
            zorder=3,
        )
        ax.plot(
            b_lrs,
            b_high,
            color=_ORANGE,
            lw=1.0,
            ls=(0, (3, 1.5)),
            label="_nolegend_",
            gid="bootstrap",
            zorder=3,
        )
        lows.append(b_low)
        highs.append(b_high)
    ax.plot(lrs, mean, color=color, lw=1.4, marker="o", ms=2.2, label="mean", gid="mean", zorder=4)

    for position, selection in enumerate(selections):
        lr = float(selection.lr)
        if not math.isfinite(lr):
            continue
        y = _interp_log(lr, lrs, mean)
        marker = _RULE_MARKERS[position % len(_RULE_MARKERS)]
        rule_color = _RULE_COLORS[position % len(_RULE_COLORS)]
        container = ax.errorbar(
            [lr],
            [y],
            xerr=_xerr(lr, float(selection.ci_low), float(selection.ci_high)),
            fmt=marker,
            ms=5.5,
            mfc=rule_color,
            mec="white",
            mew=0.6,
            ecolor=rule_color,
            elinewidth=1.0,
            capsize=2.0,
            label=f"{selection.rule}: {lr:.3g}",
            zorder=6,
        )
        container[0].set_gid(f"selection:{selection.rule}")

    ax.set_ylabel(f"mean {_response_label(summary.response)}")
    _focus_ylim(
        ax, np.concatenate([mean, *lows]), np.concatenate([mean, *highs]), ylim, summary.response
    )
    _finish_legend(ax, legend)
    return ax


def plot_p_decrease(
    summary: Any,
    ax: Any = None,
    *,
    shade_diverging: bool = True,
    color: Any = None,
    legend: bool | str = True,
) -> Axes:
    """Probability that one step lowers the loss, per lr, with its Wilson band.

    Parameters
    ----------
    summary : Summary
        Uses ``p_decrease, p_decrease_low, p_decrease_high``.
    ax : matplotlib Axes, optional
    shade_diverging : bool, default True
    color : matplotlib colour, optional
    legend : bool or str, default True
        True: below the axes, so it never covers data; a matplotlib location such as
        ``"upper left"``: inside the axes; False: no legend.

    Returns
    -------
    matplotlib.axes.Axes

    Notes
    -----
    ``p_decrease`` is the share of all replicates whose response is below zero (a
    diverged replicate never counts as a decrease). A dashed line marks 1/2.

    Examples
    --------
    >>> import lrstats
    >>> from lrstats.simulate import simulate_frame
    >>> frame = simulate_frame(replicates=30, rng=0)
    >>> ax = lrstats.presentation.plot_p_decrease(lrstats.summarize(frame))
    >>> ax.get_xscale(), ax.get_ylabel()
    ('log', 'P(ΔL < 0)')
    """
    _require(summary, "summary", ("table", "confidence_level", "response"), "Summary")
    if "p_decrease" not in summary.table:
        raise ValueError(
            "`summary` must be of a loss change ('delta', 'relative', 'log_ratio') to have a "
            f"probability of decrease. Received: a summary of response={summary.response!r}"
        )
    ax = _axes(ax)
    color = _GREEN if color is None else color
    table = summary.table
    lrs = table["lr"].to_numpy(dtype=np.float64)
    _set_lr_axis(ax, lrs)
    if shade_diverging:
        _shade_diverging(ax, lrs, table["n_nonfinite"].to_numpy() > 0)
    _zero_line(ax, 0.5)
    ax.fill_between(
        lrs,
        table["p_decrease_low"].to_numpy(dtype=np.float64),
        table["p_decrease_high"].to_numpy(dtype=np.float64),
        color=color,
        alpha=0.25,
        lw=0,
        label=f"{_level(summary.confidence_level)} Wilson interval",
        gid="interval",
        zorder=2,
    )
    ax.plot(
        lrs,
        table["p_decrease"].to_numpy(dtype=np.float64),
        color=color,
        lw=1.4,
        marker="o",
        ms=2.2,
        label="share of replicates",
        gid="p_decrease",
        zorder=4,
    )
    ax.set_ylim(-0.03, 1.03)
    ax.set_ylabel(f"P({_response_symbol(summary.response)} < 0)")
    _finish_legend(ax, legend)
    return ax


# --------------------------------------------------------------------------------------------
# Replicate distributions
# --------------------------------------------------------------------------------------------
def plot_distribution(
    frame: pd.DataFrame,
    ax: Any = None,
    *,
    response: str = "delta",
    kind: str = "strip",
    show_mean: bool = True,
    shade_diverging: bool = True,
    ylim: Any = "focus",
    rng: Any = 0,
    legend: bool | str = True,
) -> Axes:
    """The replicate responses at every lr: jittered points or violins.

    Parameters
    ----------
    frame : pandas.DataFrame
        Tidy frame (``lr``, ``replicate`` and the response or ``pre``/``post``).
    ax : matplotlib Axes, optional
    response : str, default "delta"
        See :func:`lrstats.response_values`.
    kind : {"strip", "violin"}, default "strip"
        ``"strip"``: one point per replicate, jittered along the log-lr axis (drawn
        rasterized, so PDF/SVG files stay small); ``"violin"``: a kernel density per lr
        (:func:`seaborn.violinplot`, widths in log space, cut at the data).
    show_mean : bool, default True
        Overlay the per-lr mean of the finite values.
    shade_diverging : bool, default True
        Shade the lrs with non-finite responses (which cannot be drawn).
    ylim : {"focus", "full"} or (low, high), default "focus"
        As in :func:`plot_summary`, based on the 1–99 % quantiles per lr.
    rng : seed or Generator, default 0
        Source of the jitter (fixed by default so figures are reproducible).
    legend : bool or str, default True
        True: below the axes, so it never covers data; a matplotlib location such as
        ``"upper left"``: inside the axes; False: no legend.

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import lrstats
    >>> from lrstats.simulate import simulate_frame
    >>> frame = simulate_frame(replicates=30, rng=0)
    >>> ax = lrstats.presentation.plot_distribution(frame)
    >>> ax.get_xscale()
    'log'
    """
    from lrstats.inference import response_values

    kind = check_choice(kind, "kind", ("strip", "violin"))
    for name, value in (("show_mean", show_mean), ("shade_diverging", shade_diverging)):
        if not isinstance(value, bool):
            raise TypeError(f"`{name}` must be a bool. Received: {name}={value!r}")
    values = response_values(frame, response).to_numpy(dtype=np.float64)
    generator = as_rng(rng)
    ax = _axes(ax)
    lr = frame["lr"].to_numpy(dtype=np.float64)
    lrs, index = np.unique(lr, return_inverse=True)
    finite = np.isfinite(values)
    diverging = np.bincount(index[~finite], minlength=lrs.size) > 0
    _set_lr_axis(ax, lrs)
    if shade_diverging:
        _shade_diverging(ax, lrs, diverging)
    _zero_line_for(ax, response)
    data = pd.DataFrame({"lr": lr[finite], "value": values[finite]})
    if kind == "strip":
        log_width = _jitter_widths(lrs)[index[finite]]
        jitter = generator.uniform(-0.3, 0.3, size=data.shape[0]) * log_width
        ax.scatter(
            data["lr"].to_numpy() * np.exp(jitter),
            data["value"].to_numpy(),
            s=2.0,
            color=_BLUE,
            alpha=0.35,
            lw=0,
            rasterized=True,
            label="replicates",
            gid="replicates",
            zorder=2,
        )
    else:
        sns.violinplot(
            data=data,
            x="lr",
            y="value",
            native_scale=True,
            ax=ax,
            color=_BLUE,
            density_norm="width",
            inner=None,
            cut=0,
            linewidth=0.4,
            width=0.8,
            saturation=1.0,
        )
        for collection in ax.collections:
            if collection.get_gid() is None:
                collection.set_gid("violin")
                collection.set_alpha(0.55)
        ax.set_xlabel("learning rate")
        _set_lr_axis(ax, lrs)
    grouped = data.groupby("lr")["value"]
    if show_mean:
        means = grouped.mean()
        ax.plot(
            means.index.to_numpy(),
            means.to_numpy(),
            color="0.1",
            lw=1.0,
            marker="o",
            ms=2.0,
            label="mean",
            gid="mean",
            zorder=4,
        )
    ax.set_ylabel(_response_label(response))
    if data.shape[0]:
        _focus_ylim(
            ax,
            grouped.quantile(0.01).to_numpy(),
            grouped.quantile(0.99).to_numpy(),
            ylim,
            response,
        )
    _finish_legend(ax, legend, markerscale=2.0)
    return ax


# --------------------------------------------------------------------------------------------
# Shape fits
# --------------------------------------------------------------------------------------------
def plot_shape(
    fit_or_fits: Any,
    ax: Any = None,
    summary: Any = None,
    *,
    ylim: Any = "focus",
    legend: bool | str = True,
) -> Axes:
    """Fitted curves over the per-lr means, with each fit's optimum and its interval.

    Parameters
    ----------
    fit_or_fits : ShapeFit, list or mapping of ShapeFit
        From :func:`lrstats.fit_shape`; each curve is drawn with its pointwise band where
        the fit provides one, and its ``optimum_lr`` is marked on the curve with a
        horizontal bar for ``ci_low, ci_high``. A ``"local"`` fit's break-even lr is
        marked on the zero line.
    ax : matplotlib Axes, optional
    summary : Summary, optional
        The per-lr means and intervals, drawn as points with error bars under the curves.
    ylim : {"focus", "full"} or (low, high), default "focus"
    legend : bool or str, default True
        True: below the axes, so it never covers data; a matplotlib location such as
        ``"upper left"``: inside the axes; False: no legend.

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import lrstats
    >>> from lrstats.simulate import simulate_frame
    >>> frame = simulate_frame(replicates=30, rng=0)
    >>> fit = lrstats.fit_shape(frame, kind="unimodal", n_resamples=200, rng=0)
    >>> ax = lrstats.presentation.plot_shape(fit)
    >>> ax.get_xscale()
    'log'
    """
    fits = _as_list(fit_or_fits, "fit_or_fits")
    if not fits:
        raise ValueError("`fit_or_fits` must contain at least one ShapeFit. Received: []")
    for fit in fits:
        _require(
            fit, "fit_or_fits", ("kind", "optimum_lr", "ci_low", "ci_high", "curve"), "ShapeFit"
        )
    if summary is not None:
        _require(summary, "summary", ("table", "confidence_level"), "Summary")
    ax = _axes(ax)
    grid = [fit.curve["lr"].to_numpy(dtype=np.float64) for fit in fits]
    if summary is not None:
        grid.append(summary.table["lr"].to_numpy(dtype=np.float64))
    _set_lr_axis(ax, np.unique(np.concatenate(grid)))
    _zero_line_for(ax, fits[0].response)
    lows: list[np.ndarray] = []
    highs: list[np.ndarray] = []
    response = fits[0].response
    if summary is not None:
        table = summary.table
        _shade_diverging(
            ax, table["lr"].to_numpy(dtype=np.float64), table["n_nonfinite"].to_numpy() > 0
        )
        mean = table["mean"].to_numpy(dtype=np.float64)
        low = table["ci_low"].to_numpy(dtype=np.float64)
        high = table["ci_high"].to_numpy(dtype=np.float64)
        ok = np.isfinite(mean)
        ax.errorbar(
            table["lr"].to_numpy(dtype=np.float64)[ok],
            mean[ok],
            yerr=np.vstack(
                [np.nan_to_num(mean - low, nan=0.0)[ok], np.nan_to_num(high - mean, nan=0.0)[ok]]
            ),
            fmt="o",
            ms=2.5,
            color="0.25",
            ecolor="0.6",
            elinewidth=0.7,
            capsize=0,
            label=f"mean \u00b1 {_level(summary.confidence_level)} CI",
            zorder=3,
        )[0].set_gid("means")
        lows += [mean, low]
        highs += [mean, high]
    for position, fit in enumerate(fits):
        color = _SHAPE_COLORS.get(fit.kind, _RULE_COLORS[position % len(_RULE_COLORS)])
        curve = fit.curve
        x = curve["lr"].to_numpy(dtype=np.float64)
        y = curve["fitted"].to_numpy(dtype=np.float64)
        order = np.argsort(x)
        x, y = x[order], y[order]
        if "ci_low" in curve.columns and "ci_high" in curve.columns:
            band_low = curve["ci_low"].to_numpy(dtype=np.float64)[order]
            band_high = curve["ci_high"].to_numpy(dtype=np.float64)[order]
            ax.fill_between(
                x,
                band_low,
                band_high,
                color=color,
                alpha=0.18,
                lw=0,
                gid=f"band:{fit.kind}",
                zorder=2,
            )
        optimum = float(fit.optimum_lr)
        label = f"{fit.kind}: {optimum:.3g}"
        if math.isfinite(float(fit.ci_low)) and math.isfinite(float(fit.ci_high)):
            label += f" [{float(fit.ci_low):.3g}, {float(fit.ci_high):.3g}]"
        ax.plot(x, y, color=color, lw=1.3, label=label, gid=f"fit:{fit.kind}", zorder=4)
        lows.append(y)
        highs.append(y)
        if math.isfinite(optimum):
            y_opt = _interp_log(optimum, x, y)
            ax.errorbar(
                [optimum],
                [y_opt],
                xerr=_xerr(optimum, float(fit.ci_low), float(fit.ci_high)),
                fmt="D",
                ms=4.5,
                mfc=color,
                mec="white",
                mew=0.6,
                ecolor=color,
                elinewidth=1.0,
                capsize=2.0,
                label="_nolegend_",
                zorder=6,
            )[0].set_gid(f"optimum:{fit.kind}")
        break_even = float(getattr(fit, "break_even_lr", math.nan))
        if math.isfinite(break_even):
            ax.errorbar(
                [break_even],
                [0.0],
                xerr=_xerr(
                    break_even,
                    float(getattr(fit, "break_even_ci_low", math.nan)),
                    float(getattr(fit, "break_even_ci_high", math.nan)),
                ),
                fmt="|",
                ms=8,
                mew=1.5,
                color=color,
                elinewidth=1.0,
                capsize=2.0,
                label=f"{fit.kind} break-even: {break_even:.3g}",
                zorder=6,
            )[0].set_gid(f"break_even:{fit.kind}")
    ax.set_ylabel(f"mean {_response_label(response)}")
    _focus_ylim(ax, np.concatenate(lows), np.concatenate(highs), ylim, response)
    _finish_legend(ax, legend)
    return ax


# --------------------------------------------------------------------------------------------
# Selection stability
# --------------------------------------------------------------------------------------------
def _bar_edges(lrs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Left edges and widths of bars centred (in log space) on the lrs, 70 % of a cell wide."""
    edges = _half_step_edges(lrs)
    log_lrs = np.log(lrs)
    half = 0.35 * np.log(edges[1:] / edges[:-1])
    left = np.exp(log_lrs - half)
    right = np.exp(log_lrs + half)
    return left, right - left


def plot_selection(
    selection_or_selections: Any,
    ax: Any = None,
    *,
    zoom: bool = True,
    legend: bool | str = True,
) -> Axes:
    """How often each lr is chosen when the replicates are resampled.

    Parameters
    ----------
    selection_or_selections : Selection, list or mapping of Selection
        One selection: bars of ``frequencies`` over the grid, the chosen lr's bar
        highlighted, its selection interval as a bar above. Several: one row per rule,
        a dot per lr with area proportional to the frequency, the chosen lr ringed and
        the interval drawn as a line.
    ax : matplotlib Axes, optional
    zoom : bool, default True
        Limit the lr axis to the lrs ever selected (and the selection intervals), three
        grid steps either side; False shows the whole grid.
    legend : bool or str, default True
        True: below the axes, so it never covers data; a matplotlib location such as
        ``"upper left"``: inside the axes; False: no legend.

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import lrstats
    >>> from lrstats.simulate import simulate_frame
    >>> frame = simulate_frame(replicates=30, rng=0)
    >>> selection = lrstats.select_lr(frame, rule="ucb", n_resamples=200, rng=0)
    >>> ax = lrstats.presentation.plot_selection(selection)
    >>> ax.get_xscale()
    'log'
    """
    if not isinstance(zoom, bool):
        raise TypeError(f"`zoom` must be a bool. Received: zoom={zoom!r}")
    selections = _as_list(selection_or_selections, "selection_or_selections")
    if not selections:
        raise ValueError(
            "`selection_or_selections` must contain at least one Selection. Received: []"
        )
    for item in selections:
        _require(
            item,
            "selection_or_selections",
            ("rule", "lr", "frequencies", "ci_low", "ci_high"),
            "Selection",
        )
    ax = _axes(ax)
    if len(selections) == 1:
        _plot_one_selection(ax, selections[0], legend)
    else:
        _plot_selection_matrix(ax, selections, legend)
    if zoom:
        _zoom_to_selected(ax, selections)
    return ax


def _zoom_to_selected(ax: Axes, selections: list[Any], margin: int = 3) -> None:
    grid = np.unique(
        np.concatenate([s.frequencies.index.to_numpy(dtype=np.float64) for s in selections])
    )
    used = [grid[np.zeros(grid.size, dtype=bool)]]
    for selection in selections:
        frequencies = selection.frequencies
        used.append(frequencies.index.to_numpy(dtype=np.float64)[frequencies.to_numpy() > 0])
        used.append(
            np.array([float(selection.lr), float(selection.ci_low), float(selection.ci_high)])
        )
    values = np.concatenate(used)
    values = values[np.isfinite(values) & (values > 0)]
    if values.size == 0:
        return
    first = max(int(np.searchsorted(grid, values.min(), side="left")) - margin, 0)
    last = min(int(np.searchsorted(grid, values.max(), side="right")) - 1 + margin, grid.size - 1)
    edges = _half_step_edges(grid)
    ax.set_xlim(edges[first], edges[last + 1])


def _plot_one_selection(ax: Axes, selection: Any, legend: bool | str) -> None:
    frequencies = selection.frequencies.sort_index()
    lrs = frequencies.index.to_numpy(dtype=np.float64)
    share = frequencies.to_numpy(dtype=np.float64)
    _set_lr_axis(ax, lrs)
    left, width = _bar_edges(lrs)
    chosen = (
        np.isclose(lrs, float(selection.lr), rtol=1e-12, atol=0.0)
        if math.isfinite(float(selection.lr))
        else np.zeros(lrs.size, bool)
    )
    for mask, color, label in ((~chosen, _BLUE, "other lrs"), (chosen, _VERMILION, "chosen lr")):
        if mask.any():
            bars = ax.bar(
                left[mask],
                share[mask],
                width=width[mask],
                align="edge",
                color=color,
                lw=0,
                label=label,
                zorder=2,
            )
            for bar in bars:
                bar.set_gid("frequency")
    top = float(np.nanmax(share)) if share.size else 1.0
    if math.isfinite(float(selection.ci_low)) and math.isfinite(float(selection.ci_high)):
        y = 1.08 * top
        ax.errorbar(
            [float(selection.lr)],
            [y],
            xerr=_xerr(float(selection.lr), float(selection.ci_low), float(selection.ci_high)),
            fmt="v",
            ms=4.5,
            color=_VERMILION,
            elinewidth=1.0,
            capsize=2.5,
            label=(
                f"{selection.rule}: {float(selection.lr):.3g} "
                f"[{float(selection.ci_low):.3g}, {float(selection.ci_high):.3g}]"
            ),
            zorder=5,
        )[0].set_gid(f"selection:{selection.rule}")
        ax.set_ylim(0, 1.2 * top)
    else:
        ax.set_ylim(0, 1.1 * top if top > 0 else 1.0)
    n_resamples = getattr(selection, "n_resamples", None)
    ax.set_ylabel(f"share of {n_resamples} resamples" if n_resamples else "share of resamples")
    _finish_legend(ax, legend)


def _plot_selection_matrix(ax: Axes, selections: list[Any], legend: bool | str) -> None:
    grid = np.unique(
        np.concatenate([s.frequencies.index.to_numpy(dtype=np.float64) for s in selections])
    )
    _set_lr_axis(ax, grid)
    n = len(selections)
    for row, selection in enumerate(selections):
        y = n - 1 - row
        color = _RULE_COLORS[row % len(_RULE_COLORS)]
        frequencies = selection.frequencies.sort_index()
        lrs = frequencies.index.to_numpy(dtype=np.float64)
        share = frequencies.to_numpy(dtype=np.float64)
        if math.isfinite(float(selection.ci_low)) and math.isfinite(float(selection.ci_high)):
            ax.plot(
                [float(selection.ci_low), float(selection.ci_high)],
                [y, y],
                color=color,
                lw=1.0,
                alpha=0.8,
                solid_capstyle="butt",
                gid=f"interval:{selection.rule}",
                zorder=1,
            )
        keep = share > 0
        ax.scatter(
            lrs[keep],
            np.full(keep.sum(), y),
            s=120 * share[keep],
            color=color,
            alpha=0.75,
            lw=0,
            gid=f"frequency:{selection.rule}",
            zorder=2,
        )
        if math.isfinite(float(selection.lr)):
            ax.scatter(
                [float(selection.lr)],
                [y],
                s=60,
                facecolors="none",
                edgecolors="0.1",
                lw=0.9,
                gid=f"selection:{selection.rule}",
                zorder=3,
            )
    ax.set_yticks(range(n))
    ax.set_yticklabels([s.rule for s in reversed(selections)])
    ax.set_ylim(-0.6, n - 0.4)
    ax.set_ylabel("rule")
    ax.tick_params(axis="y", length=0)
    if legend is not False:
        for share_ in (0.1, 0.5, 1.0):
            ax.plot(
                [],
                [],
                ls="",
                marker="o",
                ms=math.sqrt(120 * share_),
                color="0.5",
                alpha=0.75,
                label=f"{share_:.0%}",
            )
        ax.plot([], [], ls="", marker="o", ms=7.7, mfc="none", mec="0.1", label="chosen")
    _finish_legend(
        ax,
        legend,
        title="share of resamples",
        title_fontsize="x-small",
    )


# --------------------------------------------------------------------------------------------
# Paired comparison with the best lr
# --------------------------------------------------------------------------------------------
def plot_comparison(
    comparison: Any,
    ax: Any = None,
    *,
    yscale: str = "symlog",
    ylim: Any = None,
    legend: bool | str = True,
) -> Axes:
    """Paired differences from the best lr with their intervals.

    Parameters
    ----------
    comparison : Comparison
        From :func:`lrstats.compare_to_best`. Filled markers: lrs not distinguishable
        from the best after Holm's adjustment; open markers: significantly worse. The
        best lr is a star on the zero line.
    ax : matplotlib Axes, optional
    yscale : {"symlog", "linear"}, default "symlog"
        ``"symlog"`` is linear within the largest interval half-width of the lrs
        indistinguishable from the best and logarithmic beyond, so the differences near
        zero and the large ones far from the best are readable on one axis.
    ylim : (low, high), optional
    legend : bool or str, default True
        True: below the axes, so it never covers data; a matplotlib location such as
        ``"upper left"``: inside the axes; False: no legend.

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import lrstats
    >>> from lrstats.simulate import simulate_frame
    >>> frame = simulate_frame(replicates=30, rng=0)
    >>> ax = lrstats.presentation.plot_comparison(lrstats.compare_to_best(frame))
    >>> ax.get_xscale()
    'log'
    """
    _require(
        comparison,
        "comparison",
        ("table", "best_lr", "confidence_level", "response"),
        "Comparison",
    )
    yscale = check_choice(yscale, "yscale", ("symlog", "linear"))
    if ylim is not None and not (isinstance(ylim, (tuple, list)) and len(ylim) == 2):
        raise ValueError(f"`ylim` must be None or a (low, high) pair. Received: ylim={ylim!r}")
    ax = _axes(ax)
    table = comparison.table
    lrs = table["lr"].to_numpy(dtype=np.float64)
    diff = table["diff"].to_numpy(dtype=np.float64)
    low = table["ci_low"].to_numpy(dtype=np.float64)
    high = table["ci_high"].to_numpy(dtype=np.float64)
    same = table["indistinguishable"].to_numpy(dtype=bool)
    best = np.isclose(lrs, float(comparison.best_lr), rtol=1e-12, atol=0.0)
    _set_lr_axis(ax, lrs)
    _shade_diverging(ax, lrs, ~np.isfinite(diff))
    _zero_line(ax)
    yerr = np.vstack([np.nan_to_num(diff - low, nan=0.0), np.nan_to_num(high - diff, nan=0.0)])
    for mask, filled, label, gid in (
        (same & ~best, True, "not distinguishable from best", "indistinguishable"),
        (~same & ~best, False, "worse than best (Holm)", "worse"),
    ):
        ok = mask & np.isfinite(diff)
        if not ok.any():
            continue
        ax.errorbar(
            lrs[ok],
            diff[ok],
            yerr=yerr[:, ok],
            fmt="o",
            ms=3.2,
            mfc=_BLUE if filled else "white",
            mec=_BLUE,
            mew=0.8,
            ecolor=_BLUE,
            elinewidth=0.8,
            capsize=0,
            label=label,
            zorder=4,
        )[0].set_gid(gid)
    ax.plot(
        [float(comparison.best_lr)],
        [0.0],
        ls="",
        marker="*",
        ms=9,
        color=_VERMILION,
        mec="white",
        mew=0.5,
        label=f"best lr: {float(comparison.best_lr):.3g}",
        gid="best",
        zorder=6,
    )
    ax.set_ylabel(
        f"{_response_symbol(comparison.response)}(lr) \u2212 {_response_symbol(comparison.response)}(best)"
    )
    if yscale == "symlog":
        half = (high - low) / 2
        usable = np.isfinite(half) & (half > 0)
        if usable.any():
            near = usable & same
            threshold = float(np.max(half[near])) if near.any() else float(np.median(half[usable]))
            ax.set_yscale("symlog", linthresh=threshold, linscale=0.8)
            ax.yaxis.set_minor_locator(mpl.ticker.NullLocator())
            ax.yaxis.set_major_formatter(_PowerFormatter(linthresh=threshold))
    if ylim is not None:
        ax.set_ylim(float(ylim[0]), float(ylim[1]))
    _finish_legend(ax, legend)
    return ax


# --------------------------------------------------------------------------------------------
# U test
# --------------------------------------------------------------------------------------------
def plot_utest(
    result: Any,
    ax: Any = None,
    *,
    summary: Any = None,
    ylim: Any = "focus",
    legend: bool | str = True,
) -> Axes:
    """The Lind–Mehlum U test: tested interval, extremum and its Fieller interval.

    Parameters
    ----------
    result : UTestResult
        From :func:`lrstats.u_test`.
    ax : matplotlib Axes, optional
    summary : Summary, optional
        Per-lr means drawn as points with error bars.
    ylim : {"focus", "full"} or (low, high), default "focus"
    legend : bool or str, default True
        True: below the axes, so it never covers data; a matplotlib location such as
        ``"upper left"``: inside the axes; False: no legend.

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import lrstats
    >>> from lrstats.simulate import simulate_frame
    >>> frame = simulate_frame(replicates=30, rng=0)
    >>> result = lrstats.u_test(frame)
    >>> ax = lrstats.presentation.plot_utest(result, summary=lrstats.summarize(frame))
    >>> ax.get_xscale()
    'log'
    """
    _require(
        result,
        "result",
        ("statistic", "pvalue", "extremum_lr", "lower_lr", "upper_lr"),
        "UTestResult",
    )
    ax = _axes(ax)
    lower, upper = float(result.lower_lr), float(result.upper_lr)
    if summary is not None:
        _require(summary, "summary", ("table", "confidence_level"), "Summary")
        table = summary.table
        lrs = table["lr"].to_numpy(dtype=np.float64)
        _set_lr_axis(ax, lrs)
        _shade_diverging(ax, lrs, table["n_nonfinite"].to_numpy() > 0)
        mean = table["mean"].to_numpy(dtype=np.float64)
        low = table["ci_low"].to_numpy(dtype=np.float64)
        high = table["ci_high"].to_numpy(dtype=np.float64)
        ok = np.isfinite(mean)
        ax.errorbar(
            lrs[ok],
            mean[ok],
            yerr=np.vstack(
                [np.nan_to_num(mean - low, nan=0.0)[ok], np.nan_to_num(high - mean, nan=0.0)[ok]]
            ),
            fmt="o",
            ms=2.5,
            color="0.25",
            ecolor="0.6",
            elinewidth=0.7,
            capsize=0,
            label=f"mean \u00b1 {_level(summary.confidence_level)} CI",
            zorder=3,
        )[0].set_gid("means")
        ax.set_ylabel(f"mean {_response_label(summary.response)}")
    else:
        _set_lr_axis(ax, np.array([lower, upper]))
        ax.set_ylabel(_response_label(result.response))
    _zero_line_for(ax, result.response)
    for position, bound in enumerate((lower, upper)):
        if math.isfinite(bound):
            ax.axvline(
                bound,
                color=_GREEN,
                lw=1.0,
                ls=":",
                zorder=2,
                gid="tested",
                label="ends of the tested interval" if position == 0 else "_nolegend_",
            )
    extremum = float(result.extremum_lr)
    if math.isfinite(extremum):
        ax.axvline(
            extremum,
            color=_VERMILION,
            lw=1.0,
            ls="--",
            zorder=4,
            gid="extremum",
            label=f"extremum: {extremum:.3g}",
        )
        ci_low, ci_high = float(result.ci_low), float(result.ci_high)
        xmin, xmax = ax.get_xlim()
        span_low = ci_low if math.isfinite(ci_low) else xmin
        span_high = ci_high if math.isfinite(ci_high) else xmax
        ax.axvspan(
            max(span_low, xmin),
            min(span_high, xmax),
            color=_VERMILION,
            alpha=0.12,
            lw=0,
            zorder=1,
            label=f"{_level(result.confidence_level)} Fieller interval",
            gid="fieller",
        )
    if summary is not None:
        _focus_ylim(
            ax, np.concatenate([mean, low]), np.concatenate([mean, high]), ylim, result.response
        )
    title = f"U test: t = {float(result.statistic):.3g}, p = {float(result.pvalue):.2g}"
    _finish_legend(ax, legend, title=title, title_fontsize="x-small")
    return ax


# --------------------------------------------------------------------------------------------
# Several levels of by=
# --------------------------------------------------------------------------------------------
def plot_levels(result: Any, ax: Any = None, *, legend: bool | str = True) -> Axes:
    """Every level of a ``by=`` result in one axes: the per-lr means of each level's summary.

    Parameters
    ----------
    result : ByLevel
        Of :class:`~lrstats.inference.Summary` results (from ``summarize(..., by=...)``);
        other kinds are drawn from their ``summary`` if they have none, so pass summaries.
    ax : matplotlib Axes, optional
    legend : bool or str, default True

    Returns
    -------
    matplotlib.axes.Axes

    Examples
    --------
    >>> import lrstats
    >>> from lrstats.simulate import simulate_sweep
    >>> sweep = simulate_sweep(batch_sizes=[32, 128], rng=0)
    >>> by_size = lrstats.summarize(sweep, response="val_loss", by="batch_size")
    >>> ax = lrstats.presentation.plot_levels(by_size)
    >>> ax.get_xscale()
    'log'
    """
    results = getattr(result, "results", None)
    if not isinstance(results, Mapping) or not results:
        raise TypeError(
            f"`result` must be a ByLevel result. Received: an object of type {type(result).__name__}"
        )
    parts = list(results.values())
    for part in parts:
        _require(part, "result", ("table", "confidence_level", "response"), "Summary")
    ax = _axes(ax)
    grid = np.unique(np.concatenate([p.table["lr"].to_numpy(dtype=np.float64) for p in parts]))
    _set_lr_axis(ax, grid)
    _zero_line_for(ax, parts[0].response)
    for position, part in enumerate(parts):
        color = _PALETTE[position % len(_PALETTE)]
        table = part.table
        label = ", ".join(f"{k}={v}" for k, v in part.level.items()) or "all"
        lrs = table["lr"].to_numpy(dtype=np.float64)
        ax.fill_between(
            lrs, table["ci_low"], table["ci_high"], color=color, alpha=0.18, lw=0, zorder=2
        )
        ax.plot(lrs, table["mean"], color=color, lw=1.3, marker="o", ms=2.0, label=label, zorder=3)
    ax.set_ylabel(f"mean {_response_label(parts[0].response)}")
    _finish_legend(ax, legend)
    return ax
