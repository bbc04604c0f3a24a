"""Figures, tables and reports built on the inference results (matplotlib/seaborn, never TensorFlow).

``plots``
    ``plot_summary`` (the ΔL curve), ``plot_distribution``, ``plot_p_decrease``,
    ``plot_shape``, ``plot_selection``, ``plot_comparison``, ``plot_utest``.
``theme``
    ``set_theme``, ``theme`` (context manager), ``figure_size``, ``save_figure``.
``tables``
    ``to_latex``, ``to_markdown``, ``to_html``, ``to_csv``, ``format_frame``,
    ``selection_table``, ``shape_table``.
``report``
    ``write_report``: every figure and table of a frame, with ``index.md`` and a
    self-contained ``index.html``; ``analyse`` runs its analyses once (an ``Analysis``
    that the report, the command line and ``save_results`` share).
"""

from __future__ import annotations

import importlib
from typing import Any

from lrstats.presentation.plots import (
    plot_comparison,
    plot_distribution,
    plot_p_decrease,
    plot_selection,
    plot_shape,
    plot_summary,
    plot_utest,
)
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
    "plot_comparison",
    "plot_distribution",
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
    "analyse",
    "Analysis",
]


def __getattr__(name: str) -> Any:
    # The report imports the inference functions; load it only when asked for.
    if name in ("write_report", "analyse", "Analysis"):
        value = getattr(importlib.import_module("lrstats.presentation.report"), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'lrstats.presentation' has no attribute {name!r}")
