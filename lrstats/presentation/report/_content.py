"""What a report shows: its tables, figures and headline, read off an :class:`Analysis`.

Nothing here computes a statistic: tables are the results' own ``to_frame()`` (side by
side where the report joins two), figures call the plot functions on the results, and
the headline restates their numbers.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from lrstats.inference._results import with_level
from lrstats.presentation import classic_plots, plots, sweep_plots, tables
from lrstats.presentation.report._render import Figure, Table, fmt, interval

# Columns shown in the Markdown/HTML/LaTeX tables (the CSV keeps all of them).
_SUMMARY_DISPLAY = [
    "lr",
    "n",
    "n_nonfinite",
    "mean",
    "ci_low",
    "ci_high",
    "bca_ci_low",
    "bca_ci_high",
    "p_decrease",
]
_SELECTION_DISPLAY = ["rule", "lr", "ci_low", "ci_high", "stability"]
_SHAPE_DISPLAY = ["kind", "optimum_lr", "ci_low", "ci_high", "break_even_lr"]
_COMPARISON_DISPLAY = ["lr", "diff", "ci_low", "ci_high", "pvalue_holm", "indistinguishable"]
_LEVELS_DISPLAY = [
    "lr",
    "n",
    "diff",
    "ci_low",
    "ci_high",
    "pvalue",
    "better",
    "n_nonfinite",
    "n_missing",
]
_UTEST_DISPLAY = [
    "statistic",
    "pvalue",
    "extremum_lr",
    "ci_low",
    "ci_high",
    "lower_lr",
    "upper_lr",
]

Draw = Callable[[Any], Any]


def _level_pct(analysis: Any) -> str:
    return f"{100 * analysis.confidence_level:g}%"


def _prefixed(parts: Mapping[str, Any], prefix: str) -> list[Any]:
    """The results of one kind (``selection_*``, ``shape_*``) in the order they ran."""
    return [result for name, result in parts.items() if name.startswith(prefix)]


def _u_shape(goal: str) -> str:
    return "U" if goal == "minimize" else "inverted U"


def _symbol(analysis: Any) -> str:
    return "\u0394L" if analysis.response == "delta" else analysis.response


def _level_text(level: Mapping[str, Any]) -> str:
    return ", ".join(f"{k} = {v}" for k, v in level.items())


def _slug(level: Mapping[str, Any]) -> str:
    text = "-".join(f"{k}={v}" for k, v in level.items())
    return "".join(c if c.isalnum() or c in "=.-_" else "_" for c in text)


def _summary_with_bca(parts: Mapping[str, Any], level: Mapping[str, Any]) -> pd.DataFrame:
    summary_frame = parts["summary"].table.copy()
    bootstrap = parts.get("summary_bca")
    if bootstrap is not None:
        summary_frame.insert(
            summary_frame.columns.get_loc("ci_high") + 1,
            "bca_ci_low",
            bootstrap.table["ci_low"].to_numpy(),
        )
        summary_frame.insert(
            summary_frame.columns.get_loc("bca_ci_low") + 1,
            "bca_ci_high",
            bootstrap.table["ci_high"].to_numpy(),
        )
    return with_level(summary_frame, level)


def _stack(frames: list[pd.DataFrame]) -> pd.DataFrame:
    return pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]


def report_tables(analysis: Any) -> list[Table]:
    """The report's tables; with ``by=``, each table stacks the levels (level columns first)."""
    level_pct = _level_pct(analysis)
    levels = analysis.levels()
    by = list(analysis.by)
    n_resamples = analysis.n_resamples
    has = {name for _, parts in levels for name in parts}
    out: list[Table] = []
    if "summary" not in has:  # a range test or a training history: no lr-grid tables
        return classic_tables(analysis)
    summary_frame = _stack([_summary_with_bca(parts, level) for level, parts in levels])
    sign = (
        "; p_decrease is the share of replicates whose response decreased"
        if analysis.loss_change
        else ""
    )
    out.append(
        Table(
            "summary",
            "Per-lr summary",
            f"Mean {analysis.response} per lr with {level_pct} t intervals (ci_low, ci_high)"
            + (
                f" and BCa bootstrap intervals ({n_resamples} replicate resamples)"
                if "summary_bca" in has
                else ""
            )
            + sign
            + ". The CSV has every column (sd, se, median"
            + (", Wilson bounds)." if analysis.loss_change else ")."),
            summary_frame,
            by + [c for c in _SUMMARY_DISPLAY if c in summary_frame.columns],
        )
    )
    if any(n.startswith("selection_") for n in has):
        frame = _stack(
            [
                tables.selection_table(_prefixed(parts, "selection_"))
                for level, parts in levels
                if _prefixed(parts, "selection_")
            ]
        )
        out.append(
            Table(
                "selection",
                "Selected learning rates",
                f"Learning rate chosen by each rule ({analysis.goal}), with the {level_pct} "
                f"percentile interval of the lr the rule selects on {n_resamples} replicate "
                "resamples; stability is the share of resamples that select the same lr.",
                frame,
                by + _SELECTION_DISPLAY,
            )
        )
    if any(n.startswith("shape_") for n in has):
        frame = _stack(
            [
                with_level(
                    tables.shape_table(_prefixed(parts, "shape_")),
                    level,
                )
                for level, parts in levels
                if _prefixed(parts, "shape_")
            ]
        )
        out.append(
            Table(
                "shape",
                "Shape fits",
                f"Optimum lr of each fitted shape with its {level_pct} interval"
                + (
                    "; break_even_lr is where the local fit's expected change returns to zero."
                    if "local" in analysis.shapes
                    else "."
                ),
                frame,
                by + _SHAPE_DISPLAY,
            )
        )
    if "comparison" in has:
        frames = [parts["comparison"].to_frame() for _, parts in levels if "comparison" in parts]
        best = [parts["comparison"].best_lr for _, parts in levels if "comparison" in parts]
        out.append(
            Table(
                "comparison",
                "Paired comparison with the best lr",
                "Mean within-replicate difference from the best lr"
                + (f" ({fmt(best[0])})" if len(best) == 1 else "")
                + f" with {level_pct} paired t intervals and Holm-adjusted p-values.",
                _stack(frames),
                by + _COMPARISON_DISPLAY,
            )
        )
    if "utest" in has:
        shape = _u_shape(analysis.goal)
        out.append(
            Table(
                "utest",
                "U-shape test",
                f"Lind–Mehlum test of {'a' if shape == 'U' else 'an'} {shape} shape in "
                "log10(lr): statistic, one-sided p-value, extremum with its "
                f"{level_pct} Fieller interval, and the tested interval.",
                _stack([parts["utest"].to_frame() for _, parts in levels if "utest" in parts]),
                by + _UTEST_DISPLAY,
            )
        )
    comparison = analysis.get("level_comparison")
    if comparison is not None:
        direction = "below" if comparison.goal == "minimize" else "above"
        out.append(
            Table(
                "level_comparison",
                f"Paired differences of the {comparison.factor} levels",
                f"Per lr, the mean within-replicate difference of each {comparison.factor} "
                f"level from {comparison.baseline} (level − {comparison.baseline}) in "
                f"{comparison.response} (at: {comparison.at}) with {level_pct} paired t "
                f"intervals and two-sided p-values (not adjusted for multiplicity); better: "
                f"the interval lies {direction} zero. n_nonfinite: replicates left out "
                "because a run diverged; n_missing: replicates run at one level only.",
                comparison.to_frame(),
                [comparison.factor, *_LEVELS_DISPLAY],
            )
        )
    return out


def _first_selection(analysis: Any) -> Any:
    """The per-level selection of the first rule that ran (``rules`` order), or None."""
    for rule in analysis.rules:
        result = analysis.get(f"selection_{rule}")
        if result is not None:
            return result
    return None


def report_figures(analysis: Any) -> list[tuple[Figure, Draw, int]]:
    """The report's figures as ``(figure, draw(ax), columns)``; one set per ``by=`` level."""
    if "range_test" in analysis or "diagnosis" in analysis:
        return classic_figures(analysis)
    level_pct = _level_pct(analysis)
    n_resamples = analysis.n_resamples
    jitter = np.random.default_rng(analysis.jitter_seed)
    symbol = _symbol(analysis)
    response = analysis.response
    specs: list[tuple[Figure, Draw, int]] = []
    for level, parts in analysis.levels():
        suffix = f"-{_slug(level)}" if level else ""
        where = f" ({_level_text(level)})" if level else ""
        summary = parts.get("summary")
        if summary is None:
            continue
        bootstrap = parts.get("summary_bca")
        selections = _prefixed(parts, "selection_")
        fits = _prefixed(parts, "shape_")
        comparison, utest = parts.get("comparison"), parts.get("utest")
        data = analysis.level_data(level)
        curve_name = "delta_curve" if analysis.loss_change else "curve"
        curve_title = (
            f"The {symbol} curve" if analysis.loss_change else f"Mean {symbol} per learning rate"
        )
        what = (
            "Mean one-step loss change"
            if analysis.loss_change
            else f"Mean {response} (goal: {analysis.goal}, at: {analysis.at})"
        )
        specs.append(
            (
                Figure(
                    curve_name + suffix,
                    curve_title + where,
                    f"{what} per learning rate (log axis) with its {level_pct} t interval (band)"
                    + (
                        f" and BCa bootstrap interval (dashed, {n_resamples} resamples)"
                        if bootstrap is not None
                        else ""
                    )
                    + "; markers: the lr chosen by each rule with its selection interval; grey: "
                    "learning rates at which some replicate diverged.",
                ),
                lambda ax, s=summary, sel=selections, b=bootstrap: plots.plot_summary(
                    s, ax, selections=sel, bootstrap=b
                ),
                2,
            )
        )
        specs.append(
            (
                Figure(
                    "distribution" + suffix,
                    "Replicates" + where,
                    "Every replicate's response per learning rate (jittered), with the mean.",
                ),
                lambda ax, d=data: plots.plot_distribution(d, ax, response=response, rng=jitter),
                1,
            )
        )
        if analysis.loss_change:
            specs.append(
                (
                    Figure(
                        "p_decrease" + suffix,
                        "Probability of decrease" + where,
                        f"Share of replicates whose loss decreased, with its {level_pct} Wilson "
                        "interval.",
                    ),
                    lambda ax, s=summary: plots.plot_p_decrease(s, ax),
                    1,
                )
            )
        if fits:
            specs.append(
                (
                    Figure(
                        "shape" + suffix,
                        "Shape fits" + where,
                        "Fitted shapes over the per-lr means; diamonds: each fit's optimum with "
                        "its interval.",
                    ),
                    lambda ax, f=fits, s=summary: plots.plot_shape(f, ax, summary=s),
                    1,
                )
            )
        if selections:
            specs.append(
                (
                    Figure(
                        "selection" + suffix,
                        "Selection stability" + where,
                        f"How often each lr is chosen by each rule over {n_resamples} replicate "
                        "resamples (dot area); ring: the lr chosen on the data; line: its "
                        "interval.",
                    ),
                    lambda ax, sel=selections: plots.plot_selection(sel, ax),
                    1,
                )
            )
        if comparison is not None:
            specs.append(
                (
                    Figure(
                        "comparison" + suffix,
                        "Paired differences from the best lr" + where,
                        f"Difference from the best lr with {level_pct} intervals (symmetric-log "
                        "axis); filled: not distinguishable from the best after Holm's "
                        "adjustment.",
                    ),
                    lambda ax, c=comparison: plots.plot_comparison(c, ax),
                    1,
                )
            )
        if utest is not None:
            specs.append(
                (
                    Figure(
                        "utest" + suffix,
                        "U-shape test" + where,
                        "Per-lr means with the tested interval's ends, the extremum of the "
                        "fitted quadratic in log10(lr) and its Fieller interval.",
                    ),
                    lambda ax, u=utest, s=summary: plots.plot_utest(u, ax, summary=s),
                    1,
                )
            )
    comparison = analysis.get("level_comparison")
    if comparison is not None:
        specs.append(
            (
                Figure(
                    "level_comparison",
                    f"{comparison.factor.replace('_', ' ').capitalize()} against "
                    f"{comparison.baseline}",
                    f"Paired difference of each {comparison.factor} level from "
                    f"{comparison.baseline} in {response} per learning rate (log axis), with "
                    f"{level_pct} paired t intervals; points are dodged horizontally; line: no "
                    "difference.",
                ),
                lambda ax, c=comparison: sweep_plots.plot_level_differences(c, ax=ax),
                1,
            )
        )
    selection = _first_selection(analysis) if analysis.by == ("batch_size",) else None
    if selection is not None:
        specs.append(
            (
                Figure(
                    "best_lr_by_batch_size",
                    "Best learning rate against batch size",
                    f"The lr chosen by the {next(iter(selection.values())).rule} rule at each "
                    f"batch size with its {level_pct} selection interval ({n_resamples} "
                    "replicate resamples), log-log axes; dashed: linear scaling (lr ∝ batch "
                    "size) through the points' geometric centre, for reference.",
                ),
                lambda ax, sel=selection: sweep_plots.plot_best_lr_by_batch_size(
                    sel.to_frame(), ax=ax
                ),
                1,
            )
        )
    return specs


def headline(analysis: Any) -> list[str]:
    """The report's opening lines, restating the results' numbers."""
    level_pct = _level_pct(analysis)
    lines: list[str] = classic_headline(analysis)
    for level, parts in analysis.levels():
        prefix = f"[{_level_text(level)}] " if level else ""
        for selection in _prefixed(parts, "selection_"):
            if not math.isfinite(float(selection.lr)):
                lines.append(f"{prefix}Rule {selection.rule}: no learning rate qualifies.")
                continue
            lines.append(
                f"{prefix}Rule {selection.rule}: lr = {fmt(selection.lr)}, {level_pct} selection "
                f"interval {interval(selection.ci_low, selection.ci_high)}, chosen in "
                f"{fmt(100 * selection.stability, 3)}% of resamples."
            )
        for fit in _prefixed(parts, "shape_"):
            lines.append(
                f"{prefix}{fit.kind.capitalize()} fit: optimum lr = {fmt(fit.optimum_lr)}, "
                f"{level_pct} interval {interval(fit.ci_low, fit.ci_high)}."
            )
        comparison = parts.get("comparison")
        if comparison is not None:
            others = [v for v in comparison.indistinguishable_lrs if v != comparison.best_lr]
            tail = (
                f"not distinguishable from it (Holm): {', '.join(fmt(v) for v in others)}."
                if others
                else "every other lr is significantly worse (Holm)."
            )
            lines.append(f"{prefix}Best mean at lr = {fmt(comparison.best_lr)}; {tail}")
        utest = parts.get("utest")
        if utest is not None:
            # The extremum (a quadratic's vertex) stays in the U-test section: on ΔL curves
            # it is biased low, and the headline lists the shape fits' optima instead.
            shape = _u_shape(analysis.goal)
            verdict = (
                f"a {shape} shape over the grid"
                if utest.pvalue < 0.05
                else f"no evidence of a {shape} shape"
            )
            lines.append(
                f"{prefix}U test (Lind–Mehlum, quadratic in log10 lr): statistic "
                f"{fmt(utest.statistic)}, p = {fmt(utest.pvalue, 2)}: {verdict} at the 5% level."
            )
        summary = parts.get("summary")
        if summary is not None and len(summary.diverging_lrs):
            diverging = summary.diverging_lrs
            what = "loss" if analysis.loss_change else "value"
            lines.append(
                f"{prefix}Divergence (non-finite {what}) at {len(diverging)} lr(s), from "
                f"{fmt(diverging.min())} up."
            )
    comparison = analysis.get("level_comparison")
    if comparison is not None:
        table = comparison.table
        word = "lower" if comparison.goal == "minimize" else "higher"
        for level in comparison.levels[1:]:
            better = table.loc[(table[comparison.factor] == level) & table["better"], "lr"]
            where = (
                f"{word} {comparison.response} at lr {', '.join(fmt(v) for v in better)}"
                if len(better)
                else f"not {word} at any lr"
            )
            lines.append(
                f"{comparison.factor} = {level} against {comparison.baseline}: {where} "
                f"({level_pct} paired t interval {'below' if word == 'lower' else 'above'} "
                "zero)."
            )
    return lines


# --------------------------------------------------------------------------------------------
# The classic tools' sections: range test (``range_test``) and diagnosis (``diagnosis``)
# --------------------------------------------------------------------------------------------
_RANGE_TEST_DISPLAY = ["suggestion", "lr", "ci_low", "ci_high", "width_factor", "n_replicates"]
_DIAGNOSIS_DISPLAY = [
    "verdict",
    "holds",
    "statistic_name",
    "statistic",
    "ci_low",
    "ci_high",
    "pvalue",
]
_RANGE_TEST_SETTINGS = (
    "start_lr",
    "end_lr",
    "num_steps",
    "mode",
    "smoothing",
    "diverge_factor",
    "replicates",
    "batch_size",
)


def classic_tables(analysis: Any) -> list[Table]:
    """The range test's suggestions and the diagnosis's verdicts, as the results give them."""
    level_pct = _level_pct(analysis)
    out: list[Table] = []
    result = analysis.get("range_test")
    if result is not None:
        out.append(
            Table(
                "range_test",
                "LR range-test suggestions",
                "Each suggestion (steep: steepest fall of the smoothed loss in log lr; "
                "minimum: lr of the lowest smoothed loss / 10; valley: middle of the longest "
                "decreasing stretch) is the median of its per-replicate values, with the "
                f"{level_pct} percentile bootstrap interval of that median over "
                f"{result.n_resamples} replicate resamples (none with one replicate); "
                "width_factor = ci_high / ci_low.",
                result.to_frame(),
                _RANGE_TEST_DISPLAY,
            )
        )
        out.append(
            Table(
                "range_test_replicates",
                "Suggestions per replicate",
                "Every replicate's own suggestions (the medians above summarise them).",
                result.per_replicate,
                ["replicate", "suggestion", "lr"],
            )
        )
    diagnosis = analysis.get("diagnosis")
    if diagnosis is not None:
        out.append(
            Table(
                "diagnosis",
                "Training-curve diagnosis",
                f"Every verdict considered, whether it holds at alpha = {diagnosis.alpha:g}, "
                f"the statistic behind it (trends fitted to the {diagnosis.scale} loss against "
                f"the {diagnosis.unit} scaled to [0, 1]), its interval and p-value. The CSV "
                "has each verdict's recommendation.",
                diagnosis.to_frame(),
                _DIAGNOSIS_DISPLAY,
            )
        )
    return out


def classic_figures(analysis: Any) -> list[tuple[Figure, Draw, int]]:
    """The range-test figure and the annotated training curves."""
    level_pct = _level_pct(analysis)
    specs: list[tuple[Figure, Draw, int]] = []
    result = analysis.get("range_test")
    if result is not None:
        specs.append(
            (
                Figure(
                    "range_test",
                    "LR range test",
                    "Training loss against the learning rate (log axis), every replicate: "
                    "per-batch (thin) and smoothed; dashed: each suggestion's median over "
                    f"replicates, shaded: its {level_pct} bootstrap interval.",
                ),
                lambda ax, r=result: classic_plots.plot_range_test(r, ax),
                2,
            )
        )
    diagnosis = analysis.get("diagnosis")
    if diagnosis is not None:
        specs.append(
            (
                Figure(
                    "diagnosis",
                    "Training curves",
                    f"Training (and validation) loss per {diagnosis.unit}, with the verdicts "
                    "that hold and their evidence.",
                ),
                lambda ax, d=diagnosis: classic_plots.plot_diagnosis(d, ax),
                2,
            )
        )
    return specs


def classic_headline(analysis: Any) -> list[str]:
    """Opening lines of a range test or a diagnosis, restating their numbers."""
    level_pct = _level_pct(analysis)
    lines: list[str] = []
    result = analysis.get("range_test")
    if result is not None:
        n = int(result.frame["replicate"].nunique())
        for name, row in result.suggestions.iterrows():
            if not math.isfinite(float(row["lr"])):
                lines.append(f"Range test, {name}: no suggestion.")
            elif n > 1:
                lines.append(
                    f"Range test, {name}: lr = {fmt(row['lr'])}, median of {n} replicates, "
                    f"{level_pct} interval {interval(row['ci_low'], row['ci_high'])} "
                    f"(a factor {fmt(row['width_factor'], 3)})."
                )
            else:
                lines.append(f"Range test, {name}: lr = {fmt(row['lr'])} (one replicate).")
        attrs = result.frame.attrs
        settings = [f"{key} = {attrs[key]}" for key in _RANGE_TEST_SETTINGS if key in attrs]
        if settings:
            lines.append("Range-test settings: " + ", ".join(settings) + ".")
    diagnosis = analysis.get("diagnosis")
    if diagnosis is not None:
        lines.append(f"Diagnosis: {', '.join(diagnosis.holds)}.")
        lines += diagnosis.recommendation.splitlines()
    return lines


# ------------------------------------------------------------------ results beside the analysis
_RECOMMENDATION_DISPLAY = ["round", "steps", "lr", "mean", "pvalue_holm", "kept"]


def check_extra(extra: Any) -> dict[str, Any]:
    """``write_report``'s ``extra``: a mapping of names to results the report can show."""
    from lrstats.inference.halving import Recommendation

    if extra is None:
        return {}
    if not isinstance(extra, Mapping):
        raise TypeError(
            "`extra` must be a mapping of names to results (e.g. {'recommendation': "
            f"recommend_lr(...)}}). Received: extra of type {type(extra).__name__}"
        )
    for name, result in extra.items():
        if (
            not isinstance(name, str)
            or not name
            or not all(c.isalnum() or c in "_-" for c in name)
        ):
            raise ValueError(
                "`extra` names must be non-empty strings of letters, digits, '_' or '-'. "
                f"Received: {name!r}"
            )
        if not isinstance(result, Recommendation):
            raise TypeError(
                "`extra` values must be Recommendation results (from "
                f"`lrstats.keras.recommend_lr`). Received: extra[{name!r}] of type "
                f"{type(result).__name__}"
            )
    return dict(extra)


def _describe(recommendation: Any) -> str:
    params = recommendation.params or {}
    epochs = params.get("epochs")
    told = ""
    if epochs is not None:
        slope, weight = params.get("horizon_slope"), params.get("fitted_slope_weight") or 0
        along = f"a slope of {fmt(slope)}" if slope is not None else "a fitted slope"
        if slope is not None and weight > 0:
            along += f" moved {fmt(weight)} of the way to the rounds' fitted slope"
        offset = params.get("level_offset") or 0
        if offset:
            along += f", the line moved {fmt(offset)} decades"
        told = f", extrapolated to {fmt(epochs)} epochs along {along}"
    return (
        f"{recommendation.method} over {len(params.get('lrs', []))} lrs, "
        f"{recommendation.replicates} replicate(s), {recommendation.rounds} rounds{told}"
    )


def extra_headline(extra: Mapping[str, Any]) -> list[str]:
    """Headline lines of the results beside the analysis."""
    lines = []
    for name, rec in extra.items():
        if not math.isfinite(float(rec.lr)):
            lines.append(f"Recommendation ({name}): every lr diverged; no recommendation.")
            continue
        lines.append(
            f"Recommendation ({name}): lr = {fmt(rec.lr)}, interval "
            f"{interval(rec.ci_low, rec.ci_high)} ({_describe(rec)}; stopped: {rec.stopped})."
        )
    return lines


def extra_tables(extra: Mapping[str, Any]) -> list[Table]:
    """One table per recommendation: its rounds (``summary_frame``)."""
    out = []
    for name, rec in extra.items():
        frame = rec.summary_frame()
        out.append(
            Table(
                name,
                f"Recommendation ({name}): successive-halving rounds",
                f"Mean validation loss per lr after each round (steps: cumulative horizon), "
                f"the Holm-adjusted one-sided paired test against the round's best "
                f"(NaN with one replicate) and whether the lr went on. {_describe(rec)}.",
                frame,
                [c for c in _RECOMMENDATION_DISPLAY if c in frame.columns],
            )
        )
    return out


def extra_figures(extra: Mapping[str, Any]) -> list[tuple[Figure, Draw, int]]:
    """One figure per recommendation: its evidence (``plot_recommendation``)."""
    from lrstats.presentation.recommend_plots import plot_recommendation

    specs: list[tuple[Figure, Draw, int]] = []
    for name, rec in extra.items():
        specs.append(
            (
                Figure(
                    name,
                    f"Recommendation ({name})",
                    "Validation loss per lr after each successive-halving round (darker: "
                    "longer horizon; open markers: dropped), the recommended lr (line) and "
                    f"its interval (band). {_describe(rec)}.",
                ),
                lambda ax, r=rec: plot_recommendation(r, ax),
                1,
            )
        )
    return specs
