"""A complete report of a tidy frame: every figure and table, ``index.md`` and ``index.html``.

The report runs the inference layer (summaries with t and BCa intervals, the paired
comparison with the best lr, the main selection rules, the shape fits and the U test),
draws every figure in the publication theme and writes::

    OUT/index.html            self-contained: figures embedded, tables inline
    OUT/index.md              the same in Markdown, figures linked
    OUT/figures/<name>.png    (and .svg, .pdf as requested)
    OUT/tables/<name>.csv     raw values, full precision
    OUT/tables/<name>.md      display rounding
    OUT/tables/<name>.tex     booktabs
    OUT/results.parquet       the frame, its provenance and every result table

Nothing carries a time stamp: the same frame and ``rng`` give byte-identical CSV,
Markdown and LaTeX (and, with the same library versions, figures).
"""

from __future__ import annotations

import base64
import html
import io
import math
import shlex
import sys
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from lrstats._validation import as_rng, check_confidence_level, check_int, check_real
from lrstats._version import __version__
from lrstats.presentation import plots, tables
from lrstats.presentation.theme import COLUMN_WIDTHS, figure_size, save_figure, theme

__all__ = ["DEFAULT_RULES", "DEFAULT_SHAPES", "Analysis", "analyse", "write_report"]

#: Selection rules the report runs by default (autolrtuner's "variance" and "max" are left out).
DEFAULT_RULES = ("mean", "median", "penalized", "ucb", "one_se", "max_safe")
#: Shape fits the report runs by default.
# No "quadratic" by default: on ΔL curves its vertex in log-lr is biased far below the
# optimum (see lrstats.fit_shape); pass shapes=(..., "quadratic") for e.g. val_loss sweeps.
DEFAULT_SHAPES = ("unimodal", "local")
_FORMATS = ("png", "svg", "pdf")

# Columns shown in the Markdown/HTML/LaTeX summary table (the CSV keeps all of them).
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
_UTEST_DISPLAY = [
    "statistic",
    "pvalue",
    "extremum_lr",
    "ci_low",
    "ci_high",
    "lower_lr",
    "upper_lr",
]

_CSS = """
body { font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; color: #222;
       max-width: 64rem; margin: 2rem auto; padding: 0 1rem; line-height: 1.45; }
h1 { font-size: 1.6rem; } h2 { font-size: 1.25rem; margin-top: 2.2rem;
     border-bottom: 1px solid #ddd; padding-bottom: .2rem; }
figure { margin: 1.2rem 0; } figcaption { font-size: .9rem; color: #444; max-width: 48rem; }
img { max-width: 100%; height: auto; }
table.lrstats-table { border-collapse: collapse; font-size: .85rem; margin: .6rem 0 1.2rem;
       font-variant-numeric: tabular-nums; }
table.lrstats-table caption { caption-side: top; text-align: left; font-weight: 600;
       padding-bottom: .3rem; }
table.lrstats-table th, table.lrstats-table td { padding: .15rem .6rem; }
table.lrstats-table thead tr { border-top: 2px solid #222; border-bottom: 1px solid #222; }
table.lrstats-table tbody tr:last-child { border-bottom: 2px solid #222; }
.scroll { max-height: 28rem; overflow: auto; display: inline-block; }
dl.provenance { display: grid; grid-template-columns: max-content auto; gap: .1rem 1rem;
       font-size: .9rem; } dl.provenance dt { font-weight: 600; }
dl.provenance dd { margin: 0; font-family: ui-monospace, monospace; white-space: pre-wrap; }
.note { font-size: .9rem; color: #444; } code { font-size: .9em; }
"""


@dataclass
class _Figure:
    name: str
    title: str
    caption: str
    png: bytes = b""
    width_in: float = 0.0
    files: list[str] = field(default_factory=list)


@dataclass
class _Table:
    name: str
    title: str
    caption: str
    frame: pd.DataFrame
    display_columns: list[str]
    files: list[str] = field(default_factory=list)


# --------------------------------------------------------------------------------------------
# Validation
# --------------------------------------------------------------------------------------------
def _check_names(values: Any, name: str, allowed: Sequence[str]) -> tuple[str, ...]:
    if isinstance(values, str) or not isinstance(values, (list, tuple)):
        raise TypeError(f"`{name}` must be a list of names. Received: {name}={values!r}")
    for value in values:
        if value not in allowed:
            options = ", ".join(repr(a) for a in allowed)
            raise ValueError(f"`{name}` must contain only {options}. Received: {name}={values!r}")
    if len(set(values)) != len(values):
        raise ValueError(f"`{name}` must not repeat names. Received: {name}={values!r}")
    return tuple(values)


# --------------------------------------------------------------------------------------------
# Rendering helpers
# --------------------------------------------------------------------------------------------
def _plain(value: Any) -> str:
    """A provenance value as short text."""
    if isinstance(value, float) or isinstance(value, np.floating):
        return repr(float(value)) if math.isfinite(float(value)) else str(float(value))
    if isinstance(value, np.generic):
        return str(value.item())
    if isinstance(value, np.ndarray):
        return str(value.tolist())
    return str(value)


def _flatten(mapping: Mapping[Any, Any], prefix: str = "") -> list[tuple[str, str]]:
    items: list[tuple[str, str]] = []
    for key, value in mapping.items():
        label = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            items.extend(_flatten(value, prefix=f"{label}."))
        else:
            items.append((label, _plain(value)))
    return items


def _md_code(text: str) -> str:
    text = text.replace("\n", " ")
    fence = "``" if "`" in text else "`"
    pad = " " if fence == "``" else ""
    return f"{fence}{pad}{text}{pad}{fence}"


def _fmt(value: float, digits: int = 3) -> str:
    value = float(value)
    if math.isnan(value):
        return "\u2014"
    if math.isinf(value):
        return "\u2212\u221e" if value < 0 else "\u221e"
    return f"{value:.{digits}g}"


def _interval(low: float, high: float) -> str:
    return f"[{_fmt(low)}, {_fmt(high)}]"


def _render_png(fig: Any, dpi: float) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi, metadata={}, bbox_inches="tight")
    return buffer.getvalue()


@dataclass(frozen=True)
class Analysis:
    """Every inference result a report shows, computed once by :func:`analyse`.

    The command line prints from it, saves it with the frame and hands it to
    :func:`write_report`, so what is printed, stored and drawn is one computation.

    Attributes
    ----------
    summary, bootstrap : Summary
        t-interval summary and BCa summary (``bootstrap`` is None if it could not run).
    comparison : Comparison or None
    selections : dict of str to Selection
        By rule, in the order asked for; rules that could not run are left out.
    fits : dict of str to ShapeFit
        By kind; kinds that could not run are left out.
    utest : UTestResult or None
    warnings, unavailable : tuple of str
        Warnings the analyses raised, and analyses that could not run, with reasons.
    response, confidence_level, n_resamples, seed
        The settings (``seed`` as displayed in the report).
    jitter_seed : numpy.random.SeedSequence
        Seed of the distribution plot's jitter (a fresh generator per drawing, so the
        same analysis always draws the same figure).
    """

    summary: Any
    bootstrap: Any
    comparison: Any
    selections: dict[str, Any]
    fits: dict[str, Any]
    utest: Any
    warnings: tuple[str, ...]
    unavailable: tuple[str, ...]
    response: str
    confidence_level: float
    n_resamples: int
    seed: str
    jitter_seed: np.random.SeedSequence

    def results(self) -> dict[str, Any]:
        """The results by name, as stored by :func:`lrstats.save_results`."""
        results: dict[str, Any] = {"summary": self.summary}
        if self.bootstrap is not None:
            results["summary_bca"] = self.bootstrap
        if self.comparison is not None:
            results["comparison"] = self.comparison
        results.update({f"selection_{rule}": s for rule, s in self.selections.items()})
        results.update({f"shape_{kind}": f for kind, f in self.fits.items()})
        if self.utest is not None:
            results["utest"] = self.utest
        return results


def analyse(
    frame: pd.DataFrame,
    *,
    rng: Any = 0,
    response: str = "delta",
    confidence_level: float = 0.95,
    n_resamples: int = 2000,
    rules: Sequence[str] = DEFAULT_RULES,
    shapes: Sequence[str] = DEFAULT_SHAPES,
) -> Analysis:
    """Run the report's analyses on a tidy frame (no files, no drawing).

    Parameters are those of :func:`write_report`. Each analysis gets its own child
    stream of ``rng`` (``Generator.spawn``) in a fixed order, so the same frame and
    seed give the same results. Warnings are collected, not raised; an analysis that
    cannot run on the frame is listed in ``unavailable``.

    Returns
    -------
    Analysis
    """
    from lrstats import inference

    if not isinstance(frame, pd.DataFrame):
        raise TypeError(
            f"`frame` must be a pandas DataFrame. Received: frame of type {type(frame).__name__}"
        )
    if not isinstance(response, str):
        raise TypeError(f"`response` must be a string. Received: response={response!r}")
    confidence_level = check_confidence_level(confidence_level)
    n_resamples = check_int(n_resamples, "n_resamples", minimum=1)
    rules = _check_names(rules, "rules", inference.RULES)
    shapes = _check_names(shapes, "shapes", inference.SHAPE_KINDS)
    generator = as_rng(rng)
    # Validates the frame and the response before any analysis runs.
    inference.response_values(frame, response)

    streams = iter(generator.spawn(3 + len(rules) + len(shapes)))
    caught: list[str] = []
    unavailable: list[str] = []
    common = {"response": response, "confidence_level": confidence_level}

    def run(label: str, function: Any, *args: Any, **kwargs: Any) -> Any:
        with warnings.catch_warnings(record=True) as records:
            warnings.simplefilter("always")
            try:
                result = function(*args, **kwargs)
            except (ValueError, np.linalg.LinAlgError) as error:
                unavailable.append(f"{label}: {error}")
                result = None
        for record in records:
            message = f"{label}: {record.category.__name__}: {record.message}"
            if message not in caught:
                caught.append(message)
        return result

    summary = run("summarize (t)", inference.summarize, frame, method="t", **common)
    if summary is None:
        raise ValueError(f"`frame` cannot be summarized: {unavailable[-1]}")
    bootstrap = run(
        "summarize (BCa)",
        inference.summarize,
        frame,
        method="bca",
        n_resamples=n_resamples,
        rng=next(streams),
        **common,
    )
    comparison = run("compare_to_best", inference.compare_to_best, frame, method="t", **common)
    selections = {}
    for rule in rules:
        selection = run(
            f"select_lr ({rule})",
            inference.select_lr,
            frame,
            rule=rule,
            n_resamples=n_resamples,
            rng=next(streams),
            **common,
        )
        if selection is not None:
            selections[rule] = selection
    fits = {}
    for kind in shapes:
        fit = run(
            f"fit_shape ({kind})",
            inference.fit_shape,
            frame,
            kind=kind,
            n_resamples=n_resamples,
            rng=next(streams),
            **common,
        )
        if fit is not None:
            fits[kind] = fit
    utest = run("u_test", inference.u_test, frame, **common)
    return Analysis(
        summary=summary,
        bootstrap=bootstrap,
        comparison=comparison,
        selections=selections,
        fits=fits,
        utest=utest,
        warnings=tuple(caught),
        unavailable=tuple(unavailable),
        response=response,
        confidence_level=confidence_level,
        n_resamples=n_resamples,
        seed=_plain(rng) if not isinstance(rng, np.random.Generator) else "a Generator",
        jitter_seed=next(streams).bit_generator.seed_seq,
    )


# --------------------------------------------------------------------------------------------
# The report
# --------------------------------------------------------------------------------------------
def write_report(
    frame: pd.DataFrame,
    out_dir: str | PathLike[str],
    *,
    rng: Any = 0,
    response: str = "delta",
    confidence_level: float = 0.95,
    n_resamples: int = 2000,
    rules: Sequence[str] = DEFAULT_RULES,
    shapes: Sequence[str] = DEFAULT_SHAPES,
    formats: Sequence[str] = ("png", "svg"),
    dpi: float = 200,
    title: str | None = None,
    command: str | None = None,
    analysis: Analysis | None = None,
) -> Path:
    """Analyse a tidy frame and write every figure and table with an HTML and Markdown index.

    Parameters
    ----------
    frame : pandas.DataFrame
        Tidy frame (``lr``, ``replicate``, the response or ``pre``/``post``); its ``attrs``
        are listed as provenance.
    out_dir : str or path-like
        Output directory (created; existing report files are overwritten).
    rng : seed or numpy.random.Generator, default 0
        Source of every resample and of the jitter of the distribution plot; each
        analysis gets its own child stream (``Generator.spawn``), in a fixed order.
    response : str, default "delta"
        The analysed response (see :func:`lrstats.response_values`).
    confidence_level : float, default 0.95
    n_resamples : int, default 2000
        Bootstrap resamples for the BCa intervals, the selection frequencies and the
        bootstrap shape fits. 2000 keeps a 41-lr × 200-replicate report within a few
        seconds; use 9999 for final interval end points.
    rules : sequence of str, default ``DEFAULT_RULES``
        Selection rules to run (any of :data:`lrstats.inference.RULES`).
    shapes : sequence of str, default ``DEFAULT_SHAPES``
        Shape fits to run (any of :data:`lrstats.inference.SHAPE_KINDS`).
    formats : sequence of {"png", "svg", "pdf"}, default ("png", "svg")
        Files written per figure. The HTML always embeds PNGs.
    dpi : float, default 200
        Resolution of the PNGs.
    title : str, optional
        Report title (default "lrstats report").
    command : str, optional
        The command recorded in ``results.parquet`` (default: this process's command line).
    analysis : Analysis, optional
        Results already computed by :func:`analyse` (e.g. printed by the command line):
        the report draws and tabulates exactly these, and ``rng``, ``response``,
        ``confidence_level``, ``n_resamples``, ``rules`` and ``shapes`` are not used.

    Returns
    -------
    pathlib.Path
        The path of ``index.html``.

    Notes
    -----
    The report prints nothing. Warnings raised by the analyses (degenerate lrs, rules
    that select nothing, shapes without an interior minimum) are caught and listed in
    the report; an analysis that cannot run on the frame (e.g. too few lrs below the
    divergence for a shape fit) is listed as unavailable and its figure and table are
    left out.

    Examples
    --------
    >>> import lrstats
    >>> from lrstats.simulate import simulate_frame
    >>> frame = simulate_frame(replicates=50, diverge_above=0.05, rng=0)
    >>> path = lrstats.write_report(frame, "report")     # doctest: +SKIP
    """
    from lrstats.io import save_results

    if not isinstance(frame, pd.DataFrame):
        raise TypeError(
            f"`frame` must be a pandas DataFrame. Received: frame of type {type(frame).__name__}"
        )
    if not isinstance(out_dir, (str, PathLike)):
        raise TypeError(f"`out_dir` must be a str or path-like. Received: out_dir={out_dir!r}")
    formats = _check_names(formats, "formats", _FORMATS)
    dpi = check_real(dpi, "dpi", low=0.0, low_inclusive=False)
    for name, value in (("title", title), ("command", command)):
        if value is not None and not isinstance(value, str):
            raise TypeError(f"`{name}` must be a str or None. Received: {name}={value!r}")
    if analysis is None:
        analysis = analyse(
            frame,
            rng=rng,
            response=response,
            confidence_level=confidence_level,
            n_resamples=n_resamples,
            rules=rules,
            shapes=shapes,
        )
    elif not isinstance(analysis, Analysis):
        raise TypeError(
            f"`analysis` must be an Analysis from `analyse`. Received: analysis of type "
            f"{type(analysis).__name__}"
        )

    out = Path(out_dir)
    summary, bootstrap, comparison = analysis.summary, analysis.bootstrap, analysis.comparison
    selections, fits, utest = analysis.selections, analysis.fits, analysis.utest
    response, confidence_level = analysis.response, analysis.confidence_level
    n_resamples = analysis.n_resamples
    caught = list(analysis.warnings)
    unavailable = list(analysis.unavailable)
    jitter_stream = np.random.default_rng(analysis.jitter_seed)

    # ---- tables ---------------------------------------------------------------------------
    summary_frame = summary.to_frame()
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
    level = f"{100 * confidence_level:g}%"
    table_list = [
        _Table(
            "summary",
            "Per-lr summary",
            f"Mean response per lr with {level} t intervals (ci_low, ci_high)"
            + (
                f" and BCa bootstrap intervals ({n_resamples} replicate resamples)"
                if bootstrap is not None
                else ""
            )
            + "; p_decrease is the share of replicates whose response decreased. "
            "The CSV has every column (sd, se, median, Wilson bounds).",
            summary_frame,
            [c for c in _SUMMARY_DISPLAY if c in summary_frame.columns],
        )
    ]
    if selections:
        table_list.append(
            _Table(
                "selection",
                "Selected learning rates",
                f"Learning rate chosen by each rule, with the {level} percentile interval of the "
                f"lr the rule selects on {n_resamples} replicate resamples; stability is the "
                "share of resamples that select the same lr.",
                tables.selection_table(list(selections.values())),
                _SELECTION_DISPLAY,
            )
        )
    if fits:
        table_list.append(
            _Table(
                "shape",
                "Shape fits",
                f"Optimum lr of each fitted shape with its {level} interval; break_even_lr is "
                "where the local fit's expected change returns to zero.",
                tables.shape_table(list(fits.values())),
                _SHAPE_DISPLAY,
            )
        )
    if comparison is not None:
        table_list.append(
            _Table(
                "comparison",
                "Paired comparison with the best lr",
                f"Mean within-replicate difference from the best lr ({_fmt(comparison.best_lr)}) "
                f"with {level} paired t intervals and Holm-adjusted p-values.",
                comparison.to_frame(),
                _COMPARISON_DISPLAY,
            )
        )
    if utest is not None:
        table_list.append(
            _Table(
                "utest",
                "U-shape test",
                "Lind–Mehlum test of a U shape in log10(lr): statistic, one-sided p-value, "
                f"extremum with its {level} Fieller interval, and the tested interval.",
                utest.to_frame(),
                _UTEST_DISPLAY,
            )
        )

    # ---- figures --------------------------------------------------------------------------
    figure_specs: list[tuple[_Figure, Any, int]] = [
        (
            _Figure(
                "delta_curve",
                "The \u0394L curve",
                f"Mean one-step loss change per learning rate (log axis) with its {level} t "
                "interval (band)"
                + (
                    f" and BCa bootstrap interval (dashed, {n_resamples} resamples)"
                    if bootstrap is not None
                    else ""
                )
                + "; markers: the lr chosen by each rule with its selection interval; grey: "
                "learning rates at which some replicate diverged.",
            ),
            lambda ax: plots.plot_summary(
                summary, ax, selections=list(selections.values()), bootstrap=bootstrap
            ),
            2,
        ),
        (
            _Figure(
                "distribution",
                "Replicates",
                "Every replicate's response per learning rate (jittered), with the mean.",
            ),
            lambda ax: plots.plot_distribution(frame, ax, response=response, rng=jitter_stream),
            1,
        ),
        (
            _Figure(
                "p_decrease",
                "Probability of decrease",
                f"Share of replicates whose loss decreased, with its {level} Wilson interval.",
            ),
            lambda ax: plots.plot_p_decrease(summary, ax),
            1,
        ),
    ]
    if fits:
        figure_specs.append(
            (
                _Figure(
                    "shape",
                    "Shape fits",
                    "Fitted shapes over the per-lr means; diamonds: each fit's optimum with its "
                    "interval.",
                ),
                lambda ax: plots.plot_shape(list(fits.values()), ax, summary=summary),
                1,
            )
        )
    if selections:
        figure_specs.append(
            (
                _Figure(
                    "selection",
                    "Selection stability",
                    f"How often each lr is chosen by each rule over {n_resamples} replicate "
                    "resamples (dot area); ring: the lr chosen on the data; line: its interval.",
                ),
                lambda ax: plots.plot_selection(list(selections.values()), ax),
                1,
            )
        )
    if comparison is not None:
        figure_specs.append(
            (
                _Figure(
                    "comparison",
                    "Paired differences from the best lr",
                    f"Difference from the best lr with {level} intervals (symmetric-log axis); "
                    "filled: not distinguishable from the best after Holm's adjustment.",
                ),
                lambda ax: plots.plot_comparison(comparison, ax),
                1,
            )
        )
    if utest is not None:
        figure_specs.append(
            (
                _Figure(
                    "utest",
                    "U-shape test",
                    "Per-lr means with the tested interval's ends, the extremum of the fitted "
                    "quadratic in log10(lr) and its Fieller interval.",
                ),
                lambda ax: plots.plot_utest(utest, ax, summary=summary),
                1,
            )
        )

    figures_dir = out / "figures"
    tables_dir = out / "tables"
    figures_dir.mkdir(parents=True, exist_ok=True)
    tables_dir.mkdir(parents=True, exist_ok=True)

    figure_list = []
    with theme():
        for figure, draw, columns in figure_specs:
            size = figure_size(columns, aspect=0.85 if columns == 2 else 0.7)
            fig, ax = plt.subplots(figsize=size)
            try:
                with warnings.catch_warnings(record=True) as records:
                    warnings.simplefilter("always")
                    draw(ax)
                for record in records:
                    message = f"figure {figure.name}: {record.category.__name__}: {record.message}"
                    if message not in caught:
                        caught.append(message)
                figure.png = _render_png(fig, dpi)
                figure.width_in = COLUMN_WIDTHS[columns]
                for suffix in formats:
                    path = figures_dir / f"{figure.name}.{suffix}"
                    if suffix == "png":
                        path.write_bytes(figure.png)
                    else:
                        save_figure(fig, path, dpi=dpi)
                    figure.files.append(f"figures/{figure.name}.{suffix}")
            finally:
                plt.close(fig)
            figure_list.append(figure)

    for table in table_list:
        (tables_dir / f"{table.name}.csv").write_text(
            tables.to_csv(table.frame), encoding="utf-8", newline="\n"
        )
        (tables_dir / f"{table.name}.md").write_text(
            tables.to_markdown(table.frame, columns=table.display_columns),
            encoding="utf-8",
            newline="\n",
        )
        (tables_dir / f"{table.name}.tex").write_text(
            tables.to_latex(
                table.frame,
                columns=table.display_columns,
                caption=table.caption,
                label=f"tab:lrstats-{table.name}",
            ),
            encoding="utf-8",
            newline="\n",
        )
        table.files = [f"tables/{table.name}.{suffix}" for suffix in ("csv", "md", "tex")]

    save_results(
        frame,
        out / "results.parquet",
        results=analysis.results(),
        command=command if command is not None else shlex.join(sys.argv),
    )

    settings = {
        "lrstats version": __version__,
        "response": response,
        "confidence level": f"{confidence_level:g}",
        "bootstrap resamples": str(n_resamples),
        "seed": analysis.seed,
        "replicates": str(summary.n_replicates),
        "learning rates": f"{summary.table.shape[0]} from {_fmt(summary.table['lr'].iloc[0])} "
        f"to {_fmt(summary.table['lr'].iloc[-1])}",
    }
    provenance = _flatten(frame.attrs)
    headline = _headline(summary, selections, fits, comparison, utest, level)
    context = {
        "title": title or "lrstats report",
        "settings": settings,
        "provenance": provenance,
        "headline": headline,
        "figures": figure_list,
        "tables": table_list,
        "warnings": caught,
        "unavailable": unavailable,
        "n_resamples": n_resamples,
    }
    (out / "index.md").write_text(_markdown(context), encoding="utf-8", newline="\n")
    index = out / "index.html"
    index.write_text(_html(context), encoding="utf-8", newline="\n")
    return index


def _headline(
    summary: Any,
    selections: Mapping[str, Any],
    fits: Mapping[str, Any],
    comparison: Any,
    utest: Any,
    level: str,
) -> list[str]:
    lines = []
    for rule, selection in selections.items():
        if not math.isfinite(float(selection.lr)):
            lines.append(f"Rule {rule}: no learning rate qualifies.")
            continue
        lines.append(
            f"Rule {rule}: lr = {_fmt(selection.lr)}, {level} selection interval "
            f"{_interval(selection.ci_low, selection.ci_high)}, chosen in "
            f"{_fmt(100 * selection.stability, 3)}% of resamples."
        )
    for kind, fit in fits.items():
        lines.append(
            f"{kind.capitalize()} fit: optimum lr = {_fmt(fit.optimum_lr)}, "
            f"{level} interval {_interval(fit.ci_low, fit.ci_high)}."
        )
    if comparison is not None:
        others = [v for v in comparison.indistinguishable_lrs if v != comparison.best_lr]
        tail = (
            f"not distinguishable from it (Holm): {', '.join(_fmt(v) for v in others)}."
            if others
            else "every other lr is significantly worse (Holm)."
        )
        lines.append(f"Best mean at lr = {_fmt(comparison.best_lr)}; {tail}")
    if utest is not None:
        # The extremum (a quadratic's vertex) stays in the U-test section: on ΔL curves it
        # is biased low, and the headline lists the shape fits' optima instead.
        verdict = "a U shape over the grid" if utest.pvalue < 0.05 else "no evidence of a U shape"
        lines.append(
            f"U test (Lind–Mehlum, quadratic in log10 lr): statistic {_fmt(utest.statistic)}, "
            f"p = {_fmt(utest.pvalue, 2)}: {verdict} at the 5% level."
        )
    diverging = summary.diverging_lrs
    if len(diverging):
        lines.append(
            f"Divergence (non-finite loss) at {len(diverging)} lr(s), from "
            f"{_fmt(diverging.min())} up."
        )
    return lines


def _markdown(context: Mapping[str, Any]) -> str:
    out = [f"# {context['title']}", ""]
    out += ["## Results", ""]
    out += [f"- {line}" for line in context["headline"]]
    out += [""]
    for figure in context["figures"]:
        out += [f"## {figure.title}", ""]
        out += [f"![{figure.title}]({figure.files[0]})" if figure.files else "", ""]
        out += [figure.caption, ""]
        if figure.files:
            out += [
                "Files: " + ", ".join(f"[{f.rsplit('.', 1)[1]}]({f})" for f in figure.files),
                "",
            ]
    for table in context["tables"]:
        out += [f"## Table: {table.title}", "", table.caption, ""]
        out += [tables.to_markdown(table.frame, columns=table.display_columns)]
        out += ["Files: " + ", ".join(f"[{f.rsplit('.', 1)[1]}]({f})" for f in table.files), ""]
    out += ["## Settings", ""]
    out += [f"- {key}: {_md_code(value)}" for key, value in context["settings"].items()]
    out += [
        "",
        f"Bootstrap intervals and selection frequencies use {context['n_resamples']} replicate "
        "resamples (whole replicates are resampled, keeping the design paired).",
        "",
        "## Provenance",
        "",
    ]
    if context["provenance"]:
        out += [f"- {key}: {_md_code(value)}" for key, value in context["provenance"]]
    else:
        out += ["The frame carries no provenance (`frame.attrs` is empty)."]
    out += [""]
    if context["warnings"] or context["unavailable"]:
        out += ["## Warnings", ""]
        out += [f"- Not available: {line}" for line in context["unavailable"]]
        out += [f"- {line}" for line in context["warnings"]]
        out += [""]
    out += ["The same data bundle (frame, provenance, result tables): `results.parquet`.", ""]
    return "\n".join(out)


def _html(context: Mapping[str, Any]) -> str:
    esc = html.escape
    out = [
        "<!DOCTYPE html>",
        '<html lang="en">',
        "<head>",
        '<meta charset="utf-8">',
        f"<title>{esc(context['title'])}</title>",
        f"<style>{_CSS}</style>",
        "</head>",
        "<body>",
        f"<h1>{esc(context['title'])}</h1>",
        "<h2>Results</h2>",
        "<ul>",
    ]
    out += [f"<li>{esc(line)}</li>" for line in context["headline"]]
    out += ["</ul>"]
    for figure in context["figures"]:
        encoded = base64.b64encode(figure.png).decode("ascii")
        width = int(round(figure.width_in * 150))
        links = " ".join(
            f'<a href="{esc(f)}">{esc(f.rsplit(".", 1)[1])}</a>' for f in figure.files
        )
        out += [
            f'<h2 id="{esc(figure.name)}">{esc(figure.title)}</h2>',
            "<figure>",
            f'<img src="data:image/png;base64,{encoded}" alt="{esc(figure.title)}" '
            f'style="width: {width}px">',
            f"<figcaption>{esc(figure.caption)}"
            + (f" <span class='note'>Files: {links}</span>" if links else "")
            + "</figcaption>",
            "</figure>",
        ]
    for table in context["tables"]:
        links = " ".join(f'<a href="{esc(f)}">{esc(f.rsplit(".", 1)[1])}</a>' for f in table.files)
        out += [
            f'<h2 id="table-{esc(table.name)}">Table: {esc(table.title)}</h2>',
            f"<p class='note'>{esc(table.caption)} Files: {links}</p>",
            '<div class="scroll">',
            tables.to_html(table.frame, columns=table.display_columns).rstrip("\n"),
            "</div>",
        ]
    out += ["<h2>Settings</h2>", '<dl class="provenance">']
    for key, value in context["settings"].items():
        out.append(f"<dt>{esc(key)}</dt><dd>{esc(value)}</dd>")
    out += [
        "</dl>",
        f"<p class='note'>Bootstrap intervals and selection frequencies use "
        f"{context['n_resamples']} replicate resamples (whole replicates are resampled, "
        "keeping the design paired).</p>",
        "<h2>Provenance</h2>",
    ]
    if context["provenance"]:
        out.append('<dl class="provenance">')
        out += [f"<dt>{esc(k)}</dt><dd>{esc(v)}</dd>" for k, v in context["provenance"]]
        out.append("</dl>")
    else:
        out.append("<p>The frame carries no provenance (<code>frame.attrs</code> is empty).</p>")
    if context["warnings"] or context["unavailable"]:
        out += ["<h2>Warnings</h2>", "<ul>"]
        out += [f"<li>Not available: {esc(line)}</li>" for line in context["unavailable"]]
        out += [f"<li>{esc(line)}</li>" for line in context["warnings"]]
        out.append("</ul>")
    out += [
        "<p class='note'>The same data bundle (frame, provenance, result tables): "
        '<a href="results.parquet">results.parquet</a>.</p>',
        "</body>",
        "</html>",
        "",
    ]
    return "\n".join(out)
