"""Figures, tables and reports built on the inference results (matplotlib/seaborn, never TensorFlow).

Presentation draws and writes; it computes no statistic. It depends on
:mod:`lrstats.inference`, never the reverse (result objects import their plot function
lazily).

``plots``
    ``plot_summary`` (the response curve), ``plot_distribution``, ``plot_p_decrease``
    (loss changes only), ``plot_shape``, ``plot_selection``, ``plot_comparison``,
    ``plot_utest``, ``plot_levels`` (the levels of a ``by=`` result).
``sweep_plots``
    ``plot_best_lr_by_batch_size`` (the per-level selections against the batch size),
    ``plot_level_differences`` (a :class:`~lrstats.inference.LevelComparison`).
``theme``
    ``set_theme``, ``theme`` (context manager), ``figure_size``, ``save_figure``.
``tables``
    ``to_latex``, ``to_markdown``, ``to_html``, ``to_csv``, ``format_frame``,
    ``selection_table``, ``shape_table``.
``recommend_plots``
    ``plot_recommendation``: the evidence of a ``Recommendation`` (``recommend_lr``).
``report``
    ``write_report``: every figure and table of an :class:`~lrstats.inference.Analysis`
    (from :func:`lrstats.analyse`), with ``index.md`` and a self-contained ``index.html``.
"""

from __future__ import annotations

import importlib
from typing import Any

from lrstats.presentation.plots import (
    plot_comparison,
    plot_distribution,
    plot_levels,
    plot_p_decrease,
    plot_selection,
    plot_shape,
    plot_summary,
    plot_utest,
)
from lrstats.presentation.sweep_plots import plot_best_lr_by_batch_size, plot_level_differences
from lrstats.presentation.tables import (
    format_frame,
    selection_table,
    shape_table,
    to_csv,
    to_html,
    to_latex,
    to_markdown,
)
from lrstats.presentation.theme import figure_size, save_figure, set_theme, theme

__all__ = [
    "figure_size",
    "format_frame",
    "plot_best_lr_by_batch_size",
    "plot_comparison",
    "plot_distribution",
    "plot_level_differences",
    "plot_levels",
    "plot_p_decrease",
    "plot_selection",
    "plot_shape",
    "plot_summary",
    "plot_utest",
    "save_figure",
    "selection_table",
    "set_theme",
    "shape_table",
    "theme",
    "to_csv",
    "to_html",
    "to_latex",
    "to_markdown",
    "write_report",
]


def __getattr__(name: str) -> Any:
    # The report imports the inference layer's analysis; load it only when asked for.
    if name == "write_report":
        value = getattr(importlib.import_module("lrstats.presentation.report"), name)
        globals()[name] = value
        return value
    if name in ("analyse", "Analysis"):  # their home is lrstats.inference; kept here by name
        value = getattr(importlib.import_module("lrstats.inference.analysis"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'lrstats.presentation' has no attribute {name!r}")
