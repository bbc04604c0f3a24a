"""A complete report of an :class:`~lrstats.inference.Analysis`: every figure and table,
``index.md`` and ``index.html``.

The report draws and writes what the analysis holds; it computes no statistic (run
:func:`lrstats.analyse` first). It writes::

    OUT/index.html            self-contained: figures embedded, tables inline
    OUT/index.md              the same in Markdown, figures linked
    OUT/figures/<name>.png    (and .svg, .pdf as requested)
    OUT/tables/<name>.csv     raw values, full precision
    OUT/tables/<name>.md      display rounding
    OUT/tables/<name>.tex     booktabs

The data bundle (frame, provenance, results) is written once, by
:func:`lrstats.save_results`, beside the report; ``bundle=`` links it from the index.
Nothing carries a time stamp: the same analysis gives byte-identical CSV, Markdown and
LaTeX (and, with the same library versions, figures).

Modules: ``_content`` (which tables, figures and headline lines an analysis gives),
``_render`` (Markdown and HTML).
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from os import PathLike
from pathlib import Path
from typing import Any

import matplotlib.pyplot as plt

from lrstats._validation import check_real
from lrstats._version import __version__
from lrstats.inference.analysis import DEFAULT_RULES, DEFAULT_SHAPES, Analysis, analyse
from lrstats.presentation import tables
from lrstats.presentation.report._content import (
    check_extra,
    extra_figures,
    extra_headline,
    extra_tables,
    headline,
    report_figures,
    report_tables,
)
from lrstats.presentation.report._render import (
    flatten,
    fmt,
    markdown,
    render_png,
    to_html_page,
)
from lrstats.presentation.theme import COLUMN_WIDTHS, figure_size, save_figure, theme

__all__ = ["DEFAULT_RULES", "DEFAULT_SHAPES", "Analysis", "analyse", "write_report"]

_FORMATS = ("png", "svg", "pdf")


def _check_formats(values: Any) -> tuple[str, ...]:
    if isinstance(values, str) or not isinstance(values, (list, tuple)):
        raise TypeError(f"`formats` must be a list of names. Received: formats={values!r}")
    for value in values:
        if value not in _FORMATS:
            options = ", ".join(repr(a) for a in _FORMATS)
            raise ValueError(
                f"`formats` must contain only {options}. Received: formats={values!r}"
            )
    if len(set(values)) != len(values):
        raise ValueError(f"`formats` must not repeat names. Received: formats={values!r}")
    return tuple(values)


def write_report(
    analysis: Analysis,
    out_dir: str | PathLike[str],
    *,
    formats: Sequence[str] = ("png", "svg"),
    dpi: float = 200,
    title: str | None = None,
    bundle: str | None = None,
    extra: Mapping[str, Any] | None = None,
) -> Path:
    """Write every figure and table of an analysis with an HTML and Markdown index.

    Parameters
    ----------
    analysis : Analysis
        From :func:`lrstats.analyse`; the report shows exactly its results.
    out_dir : str or path-like
        Output directory (created; existing report files are overwritten).
    formats : sequence of {"png", "svg", "pdf"}, default ("png", "svg")
        Files written per figure. The HTML always embeds PNGs.
    dpi : float, default 200
        Resolution of the PNGs.
    title : str, optional
        Report title (default "lrstats report").
    bundle : str, optional
        Path of the data bundle (written by :func:`lrstats.save_results`) relative to
        ``out_dir``, linked from the index; None links nothing.
    extra : mapping of str to result, optional
        Results computed beside the analysis, each shown with its headline line, figure
        and table: today :class:`~lrstats.inference.halving.Recommendation` (from
        :func:`lrstats.keras.recommend_lr`, which trains copies of a model and so cannot
        be a section of :func:`lrstats.analyse`, whose input is a frame). The names are
        the figures' and tables' file names.

    Returns
    -------
    pathlib.Path
        The path of ``index.html``.

    Notes
    -----
    The report prints nothing. Warnings of the analysis are listed in the report, with
    those raised while drawing; analyses that could not run are listed as unavailable
    and their figures and tables left out. With ``by=``, each table stacks the levels
    (level columns first) and every figure is drawn once per level.

    Examples
    --------
    >>> import lrstats
    >>> from lrstats.simulate import simulate_frame
    >>> frame = simulate_frame(replicates=50, diverge_above=0.05, rng=0)
    >>> analysis = lrstats.analyse(frame, rng=0)
    >>> path = lrstats.write_report(analysis, "report")     # doctest: +SKIP
    """
    if not isinstance(analysis, Analysis):
        raise TypeError(
            "`analysis` must be an Analysis from `lrstats.analyse(frame, ...)`. Received: "
            f"analysis of type {type(analysis).__name__}"
        )
    if not isinstance(out_dir, (str, PathLike)):
        raise TypeError(f"`out_dir` must be a str or path-like. Received: out_dir={out_dir!r}")
    formats = _check_formats(formats)
    extra = check_extra(extra)
    dpi = check_real(dpi, "dpi", low=0.0, low_inclusive=False)
    for name, value in (("title", title), ("bundle", bundle)):
        if value is not None and not isinstance(value, str):
            raise TypeError(f"`{name}` must be a str or None. Received: {name}={value!r}")

    out = Path(out_dir)
    caught = list(analysis.warnings)
    table_list = report_tables(analysis)
    figure_specs = report_figures(analysis)
    taken = {t.name for t in table_list} | {f.name for f, _, _ in figure_specs}
    clash = sorted(taken.intersection(extra))
    if clash:
        raise ValueError(
            f"`extra` names must differ from the analysis' figures and tables. Received: {clash}"
        )
    table_list += extra_tables(extra)
    figure_specs += extra_figures(extra)

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
                figure.png = render_png(fig, dpi)
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

    data = analysis.data
    settings = {
        "lrstats version": __version__,
        "response": analysis.response,
        "goal": analysis.goal,
        "confidence level": f"{analysis.confidence_level:g}",
        "bootstrap resamples": str(analysis.n_resamples),
        "seed": analysis.seed,
    }
    if analysis.kind != "lr_grid":  # a range test or a training history: no response/goal
        settings = {
            "lrstats version": __version__,
            "experiment": analysis.kind.replace("_", " "),
            "confidence level": settings["confidence level"],
            "bootstrap resamples": settings["bootstrap resamples"],
            "seed": analysis.seed,
        }
        if analysis.kind == "training_curve":
            del settings["bootstrap resamples"]
    if "replicate" in data.columns:
        settings["replicates"] = str(data["replicate"].nunique())
    if "lr" in data.columns:
        lrs = sorted(data["lr"].unique())
        settings["learning rates"] = f"{len(lrs)} from {fmt(lrs[0])} to {fmt(lrs[-1])}"
    if analysis.kind == "lr_grid" and any(c in data.columns for c in ("step", "epoch")):
        settings["at"] = str(analysis.at)
    if analysis.by:
        settings["by"] = ", ".join(analysis.by)
    context = {
        "title": title or "lrstats report",
        "settings": settings,
        "provenance": flatten(analysis.attrs),
        "headline": headline(analysis) + extra_headline(extra),
        "figures": figure_list,
        "tables": table_list,
        "warnings": caught,
        "unavailable": list(analysis.unavailable),
        "n_resamples": None if analysis.kind == "training_curve" else analysis.n_resamples,
        "bundle": bundle,
    }
    (out / "index.md").write_text(markdown(context), encoding="utf-8", newline="\n")
    index = out / "index.html"
    index.write_text(to_html_page(context), encoding="utf-8", newline="\n")
    return index
