"""Every figure drawn with Agg and checked for what it shows: labels, scales, artists, data."""

from __future__ import annotations

import math

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest
from matplotlib.collections import PathCollection, PolyCollection
from matplotlib.colors import to_hex
from matplotlib.patches import Rectangle
from presentation_helpers import legend_texts, lines, patches, with_gid

from lrstats import inference
from lrstats.presentation import plots

VERMILION = "#d55e00"


# --------------------------------------------------------------------------------------------
# plot_summary: the ΔL curve
# --------------------------------------------------------------------------------------------
def test_summary_curve_shows_mean_bands_zero_line_selections_and_divergence(frame, results):
    summary, bootstrap, selections = (
        results["summary"],
        results["bootstrap"],
        results["selections"],
    )
    fig, ax = plt.subplots()
    returned = plots.plot_summary(summary, ax, selections=selections, bootstrap=bootstrap)
    assert returned is ax
    assert ax.get_xscale() == "log"
    assert ax.get_xlabel() == "learning rate"
    assert ax.get_ylabel() == "mean \u0394L = post \u2212 pre"

    (mean,) = lines(ax, "mean")
    np.testing.assert_array_equal(mean.get_xdata(), summary.table["lr"])
    np.testing.assert_array_equal(mean.get_ydata(), summary.table["mean"])

    (band,) = with_gid(ax.collections, "interval")
    ys = band.get_paths()[0].vertices[:, 1]
    finite = summary.table.dropna(subset=["ci_low"])
    assert np.nanmin(ys) == pytest.approx(finite["ci_low"].min())
    assert np.nanmax(ys) == pytest.approx(finite["ci_high"].max())

    boot_low, boot_high = lines(ax, "bootstrap")
    np.testing.assert_array_equal(boot_low.get_ydata(), bootstrap.table["ci_low"])
    np.testing.assert_array_equal(boot_high.get_ydata(), bootstrap.table["ci_high"])

    (zero,) = lines(ax, "zero")
    assert list(zero.get_ydata()) == [0, 0]

    # One grey span covering exactly the diverging lrs (they are contiguous at the top).
    (span,) = patches(ax, "diverged")
    xs = np.array([span.get_x(), span.get_x() + span.get_width()])
    lrs = summary.table["lr"].to_numpy()
    diverging = summary.table["n_nonfinite"].to_numpy() > 0
    assert lrs[~diverging].max() < xs.min() < lrs[diverging].min()
    assert xs.max() > lrs.max()

    for selection in selections:
        (marker,) = lines(ax, f"selection:{selection.rule}")
        assert list(marker.get_xdata()) == [selection.lr]
        assert marker.get_ydata()[0] == pytest.approx(
            np.interp(np.log(selection.lr), np.log(lrs), summary.table["mean"])
        )
    texts = legend_texts(ax)
    assert f"ucb: {selections[1].lr:.3g}" in texts
    assert "95% t interval" in texts and "95% BCa bootstrap interval" in texts
    assert "diverged" in texts
    # Distinct marker shapes per rule.
    shapes = {lines(ax, f"selection:{s.rule}")[0].get_marker() for s in selections}
    assert len(shapes) == len(selections)


def test_log_tick_labels_are_plain_text_powers(results):
    ax = plots.plot_summary(results["summary"])
    ax.figure.canvas.draw()
    labels = [t.get_text() for t in ax.get_xticklabels() if t.get_text()]
    assert {"10\u207b\u2074", "10\u207b\u00b3", "10\u207b\u00b2", "10\u207b\u00b9"} <= set(labels)
    assert not any("$" in label for label in labels)  # no mathtext
    comparison = plots.plot_comparison(results["comparison"])
    comparison.figure.canvas.draw()
    ylabels = [t.get_text() for t in comparison.get_yticklabels() if t.get_text()]
    assert "0" in ylabels and not any("$" in label for label in ylabels)


def test_summary_curve_without_extras(finite_frame):
    summary = inference.summarize(finite_frame)
    ax = plots.plot_summary(summary, shade_diverging=False, legend=False)
    assert ax.get_legend() is None
    assert lines(ax, "bootstrap") == []
    assert [line for line in ax.lines if (line.get_gid() or "").startswith("selection")] == []
    assert patches(ax, "diverged") == []
    assert ax.figure.get_size_inches() == pytest.approx((3.5, 2.45))


def test_summary_focus_caps_the_top_and_full_does_not(results):
    summary = results["summary"]
    finite = summary.table.dropna(subset=["ci_low", "ci_high"])
    fig, (focus, full) = plt.subplots(1, 2)
    plots.plot_summary(summary, focus)
    plots.plot_summary(summary, full, ylim="full")
    bottom, top = focus.get_ylim()
    assert bottom < finite["ci_low"].min()
    assert top == pytest.approx(-bottom, rel=0.05)  # the dip mirrored, not the huge rise
    assert top < finite["ci_high"].max()
    assert [t.get_text() for t in focus.texts] == [f"\u2191 up to {finite['ci_high'].max():.3g}"]
    assert full.get_ylim()[1] >= finite["ci_high"].max()
    assert len(full.texts) == 0
    fixed = plots.plot_summary(summary, ylim=(-1, 2))
    assert fixed.get_ylim() == (-1, 2)


def test_result_plot_method_delegates(results):
    ax = results["summary"].plot()
    assert len(lines(ax, "mean")) == 1
    ax = results["comparison"].plot()
    assert len(lines(ax, "best")) == 1
    ax = results["selections"][0].plot()
    assert with_gid(ax.patches, "frequency")
    ax = results["fits"][0].plot()
    assert len(lines(ax, f"fit:{results['fits'][0].kind}")) == 1
    ax = results["utest"].plot()
    assert len(lines(ax, "extremum")) == 1


@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda r: plots.plot_summary("x"), TypeError, "`summary` must be a Summary result"),
        (
            lambda r: plots.plot_summary(r["summary"], ax=1),
            TypeError,
            "`ax` must be a matplotlib Axes",
        ),
        (
            lambda r: plots.plot_summary(r["summary"], ylim="tight"),
            ValueError,
            "`ylim` must be one of",
        ),
        (lambda r: plots.plot_summary(r["summary"], ylim=3), ValueError, "`ylim` must be 'focus'"),
        (lambda r: plots.plot_summary(r["summary"], legend=1), TypeError, "`legend` must be True"),
        (
            lambda r: plots.plot_summary(r["summary"], selections=[3]),
            TypeError,
            "`selections` must be a Selection",
        ),
        (
            lambda r: plots.plot_summary(r["summary"], bootstrap=3),
            TypeError,
            "`bootstrap` must be a Summary",
        ),
        (
            lambda r: plots.plot_summary(r["summary"], shade_diverging=1),
            TypeError,
            "`shade_diverging` must be a bool",
        ),
    ],
)
def test_summary_validation(results, call, error, match):
    with pytest.raises(error, match=match):
        call(results)


def test_legend_inside_on_request(results):
    ax = plots.plot_summary(results["summary"], legend="upper left")
    assert ax.get_legend()._loc == 2  # matplotlib's code for "upper left"


# --------------------------------------------------------------------------------------------
# plot_p_decrease
# --------------------------------------------------------------------------------------------
def test_p_decrease(results):
    summary = results["summary"]
    ax = plots.plot_p_decrease(summary)
    assert ax.get_xscale() == "log"
    assert ax.get_ylabel() == "P(\u0394L < 0)"
    assert ax.get_ylim() == pytest.approx((-0.03, 1.03))
    (line,) = lines(ax, "p_decrease")
    np.testing.assert_array_equal(line.get_ydata(), summary.table["p_decrease"])
    (band,) = with_gid(ax.collections, "interval")
    ys = band.get_paths()[0].vertices[:, 1]
    assert ys.min() == pytest.approx(summary.table["p_decrease_low"].min())
    assert ys.max() == pytest.approx(summary.table["p_decrease_high"].max())
    (half,) = lines(ax, "zero")
    assert list(half.get_ydata()) == [0.5, 0.5]
    assert len(patches(ax, "diverged")) == 1
    assert "95% Wilson interval" in legend_texts(ax)


# --------------------------------------------------------------------------------------------
# plot_distribution
# --------------------------------------------------------------------------------------------
def test_distribution_strip_shows_every_finite_replicate(frame):
    delta = (frame["post"] - frame["pre"]).to_numpy()
    finite = np.isfinite(delta)
    ax = plots.plot_distribution(frame)
    assert ax.get_xscale() == "log"
    assert ax.get_ylabel() == "\u0394L = post \u2212 pre"
    (points,) = with_gid(ax.collections, "replicates")
    assert isinstance(points, PathCollection)
    assert points.get_rasterized()
    offsets = points.get_offsets()
    assert len(offsets) == finite.sum()
    np.testing.assert_array_equal(offsets[:, 1], delta[finite])
    # Jitter stays within 30 % of the lr's cell on the log axis.
    step = np.log(frame["lr"].unique()[1] / frame["lr"].unique()[0])
    jitter = np.log(offsets[:, 0] / frame["lr"].to_numpy()[finite])
    assert np.abs(jitter).max() <= 0.3 * step + 1e-12
    assert np.abs(jitter).max() > 0.2 * step
    (mean,) = lines(ax, "mean")
    expected = pd.Series(delta[finite]).groupby(frame["lr"].to_numpy()[finite]).mean()
    np.testing.assert_allclose(mean.get_ydata(), expected.to_numpy(), rtol=1e-12)
    assert len(patches(ax, "diverged")) == 1


def test_irregular_linear_grid_keeps_jitter_and_margins_narrow():
    # autolrtuner's grids are linear and start near zero: one isolated point far to the left.
    from lrstats.simulate import simulate_frame

    lrs = np.linspace(1e-8, 0.05, 11)
    frame = simulate_frame(lrs, 20, optimum_lr=0.02, rng=0)
    ax = plots.plot_distribution(frame)
    (points,) = with_gid(ax.collections, "replicates")
    x = points.get_offsets()[:, 0]
    gaps = np.diff(np.log(lrs))
    first = np.abs(np.log(x[frame["lr"].to_numpy() == lrs[0]] / lrs[0]))
    assert first.max() <= 0.3 * np.median(gaps) + 1e-12
    span = np.log(lrs[-1] / lrs[0])
    low, high = ax.get_xlim()
    assert np.log(lrs[0] / low) == pytest.approx(0.05 * span)
    assert np.log(high / lrs[-1]) <= 0.05 * span + 1e-12


def test_distribution_jitter_is_seeded(frame):
    first = with_gid(plots.plot_distribution(frame, rng=5).collections, "replicates")[0]
    again = with_gid(plots.plot_distribution(frame, rng=5).collections, "replicates")[0]
    other = with_gid(plots.plot_distribution(frame, rng=6).collections, "replicates")[0]
    np.testing.assert_array_equal(first.get_offsets(), again.get_offsets())
    assert not np.array_equal(first.get_offsets()[:, 0], other.get_offsets()[:, 0])


def test_distribution_violins_one_per_lr_with_data(frame):
    delta = frame["post"] - frame["pre"]
    n_drawable = frame.loc[np.isfinite(delta), "lr"].nunique()
    ax = plots.plot_distribution(frame, kind="violin", show_mean=False)
    violins = with_gid(ax.collections, "violin")
    assert len(violins) == n_drawable
    assert all(isinstance(v, PolyCollection) for v in violins)
    assert ax.get_xscale() == "log" and ax.get_xlabel() == "learning rate"
    assert lines(ax, "mean") == []


def test_distribution_other_response(frame):
    ax = plots.plot_distribution(frame, response="relative")
    assert ax.get_ylabel() == "relative change, post/pre \u2212 1"


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"kind": "box"}, ValueError, "`kind` must be one of 'strip', 'violin'"),
        ({"show_mean": "yes"}, TypeError, "`show_mean` must be a bool"),
        ({"response": "nope"}, ValueError, "`response` must be one of"),
    ],
)
def test_distribution_validation(frame, kwargs, error, match):
    with pytest.raises(error, match=match):
        plots.plot_distribution(frame, **kwargs)


# --------------------------------------------------------------------------------------------
# plot_shape
# --------------------------------------------------------------------------------------------
def test_shape_fits_over_the_means(results):
    fits, summary = results["fits"], results["summary"]
    ax = plots.plot_shape(fits, summary=summary)
    assert ax.get_xscale() == "log"
    texts = legend_texts(ax)
    for fit in fits:
        (curve,) = lines(ax, f"fit:{fit.kind}")
        np.testing.assert_array_equal(curve.get_xdata(), np.sort(fit.curve["lr"].to_numpy()))
        (optimum,) = lines(ax, f"optimum:{fit.kind}")
        assert list(optimum.get_xdata()) == [fit.optimum_lr]
        assert any(t.startswith(f"{fit.kind}: {fit.optimum_lr:.3g}") for t in texts)
        if {"ci_low", "ci_high"} <= set(fit.curve.columns):
            assert len(with_gid(ax.collections, f"band:{fit.kind}")) == 1
    local = next(f for f in fits if f.kind == "local")
    (break_even,) = lines(ax, "break_even:local")
    assert list(break_even.get_xdata()) == [local.break_even_lr]
    assert list(break_even.get_ydata()) == [0.0]
    (means,) = lines(ax, "means")
    finite = summary.table["mean"].notna()
    np.testing.assert_array_equal(means.get_xdata(), summary.table.loc[finite, "lr"])


def test_shape_without_summary_and_single_fit(results):
    fit = results["fits"][0]
    ax = plots.plot_shape(fit)
    assert lines(ax, "means") == []
    assert len([line for line in ax.lines if (line.get_gid() or "").startswith("fit:")]) == 1
    with pytest.raises(ValueError, match="`fit_or_fits` must contain at least one ShapeFit"):
        plots.plot_shape([])
    with pytest.raises(TypeError, match="`fit_or_fits` must be a ShapeFit result"):
        plots.plot_shape([results["summary"]])


# --------------------------------------------------------------------------------------------
# plot_selection
# --------------------------------------------------------------------------------------------
def test_selection_bars(results):
    selection = results["selections"][1]
    frequencies = selection.frequencies.sort_index()
    ax = plots.plot_selection(selection, zoom=False)
    assert ax.get_xscale() == "log"
    assert ax.get_ylabel() == f"share of {selection.n_resamples} resamples"
    bars = with_gid(ax.patches, "frequency")
    assert len(bars) == len(frequencies)
    assert all(isinstance(b, Rectangle) for b in bars)
    centres = np.array([math.sqrt(b.get_x() * (b.get_x() + b.get_width())) for b in bars])
    heights = np.array([b.get_height() for b in bars])
    order = np.argsort(centres)
    np.testing.assert_allclose(centres[order], frequencies.index.to_numpy(), rtol=1e-12)
    np.testing.assert_array_equal(heights[order], frequencies.to_numpy())
    chosen = [b for b in bars if to_hex(b.get_facecolor()) == VERMILION]
    assert len(chosen) == 1
    assert math.sqrt(
        chosen[0].get_x() * (chosen[0].get_x() + chosen[0].get_width())
    ) == pytest.approx(selection.lr)
    (marker,) = lines(ax, f"selection:{selection.rule}")
    assert list(marker.get_xdata()) == [selection.lr]
    lrs = frequencies.index.to_numpy()
    assert ax.get_xlim()[0] < lrs.min() and ax.get_xlim()[1] > lrs.max()


def test_selection_zoom_keeps_every_selected_lr(results):
    selection = results["selections"][1]
    ax = plots.plot_selection(selection)
    low, high = ax.get_xlim()
    used = selection.frequencies[selection.frequencies > 0].index.to_numpy()
    assert low < min(used.min(), selection.ci_low) and high > max(used.max(), selection.ci_high)
    grid = selection.frequencies.index.to_numpy()
    assert low > grid.min() or high < grid.max()  # narrower than the whole grid


def test_selection_matrix_for_several_rules(results):
    selections = results["selections"]
    ax = plots.plot_selection(selections)
    assert [t.get_text() for t in ax.get_yticklabels()] == [s.rule for s in reversed(selections)]
    for row, selection in enumerate(selections):
        (dots,) = with_gid(ax.collections, f"frequency:{selection.rule}")
        shares = selection.frequencies.sort_index()
        shares = shares[shares > 0]
        np.testing.assert_allclose(dots.get_offsets()[:, 0], shares.index.to_numpy())
        np.testing.assert_allclose(dots.get_sizes(), 120 * shares.to_numpy())
        assert set(dots.get_offsets()[:, 1]) == {len(selections) - 1 - row}
        (ring,) = with_gid(ax.collections, f"selection:{selection.rule}")
        assert ring.get_offsets()[0, 0] == selection.lr
    assert ax.get_legend().get_title().get_text() == "share of resamples"


def test_selection_validation(results):
    with pytest.raises(ValueError, match="must contain at least one Selection"):
        plots.plot_selection([])
    with pytest.raises(TypeError, match="`selection_or_selections` must be a Selection result"):
        plots.plot_selection(results["summary"])
    with pytest.raises(TypeError, match="`zoom` must be a bool"):
        plots.plot_selection(results["selections"][0], zoom="no")


# --------------------------------------------------------------------------------------------
# plot_comparison
# --------------------------------------------------------------------------------------------
def test_comparison_marks_best_and_indistinguishable(results):
    comparison = results["comparison"]
    table = comparison.table
    ax = plots.plot_comparison(comparison)
    assert ax.get_xscale() == "log"
    assert ax.get_yscale() == "symlog"
    assert ax.get_ylabel() == "\u0394L(lr) \u2212 \u0394L(best)"
    (best,) = lines(ax, "best")
    assert list(best.get_xdata()) == [comparison.best_lr] and list(best.get_ydata()) == [0.0]
    not_best = ~np.isclose(table["lr"], comparison.best_lr) & table["diff"].notna()
    same = with_gid(ax.lines, "indistinguishable")
    worse = with_gid(ax.lines, "worse")
    n_same = int((not_best & table["indistinguishable"]).sum())
    n_worse = int((not_best & ~table["indistinguishable"]).sum())
    assert sum(len(line.get_xdata()) for line in same) == n_same
    assert sum(len(line.get_xdata()) for line in worse) == n_worse
    assert n_worse > 0
    (worse_line,) = worse
    assert worse_line.get_markerfacecolor() == "white"
    np.testing.assert_array_equal(
        worse_line.get_ydata(), table.loc[not_best & ~table["indistinguishable"], "diff"]
    )
    assert f"best lr: {comparison.best_lr:.3g}" in legend_texts(ax)
    linear = plots.plot_comparison(comparison, yscale="linear", ylim=(-0.1, 0.5))
    assert linear.get_yscale() == "linear" and linear.get_ylim() == (-0.1, 0.5)
    with pytest.raises(ValueError, match="`yscale` must be one of 'symlog', 'linear'"):
        plots.plot_comparison(comparison, yscale="log")
    with pytest.raises(ValueError, match="`ylim` must be None or a"):
        plots.plot_comparison(comparison, ylim="focus")


# --------------------------------------------------------------------------------------------
# plot_utest
# --------------------------------------------------------------------------------------------
def test_utest_figure(results):
    utest, summary = results["utest"], results["summary"]
    ax = plots.plot_utest(utest, summary=summary)
    assert ax.get_xscale() == "log"
    (extremum,) = lines(ax, "extremum")
    assert list(extremum.get_xdata()) == [utest.extremum_lr] * 2
    ends = lines(ax, "tested")
    assert sorted(line.get_xdata()[0] for line in ends) == [utest.lower_lr, utest.upper_lr]
    assert len(patches(ax, "fieller")) == 1
    title = ax.get_legend().get_title().get_text()
    assert title == f"U test: t = {utest.statistic:.3g}, p = {utest.pvalue:.2g}"
    assert len(lines(ax, "means")) == 1
    bare = plots.plot_utest(utest)
    assert lines(bare, "means") == []
    assert bare.get_xlim()[0] < utest.lower_lr and bare.get_xlim()[1] > utest.upper_lr
