"""Result objects of the inference layer.

Every public function of :mod:`lrstats.inference` returns one of these frozen
dataclasses (statsmodels style): the numbers are stored raw, ``to_frame()``
gives the tidy table, ``_repr_html_`` shows it in a notebook, and the drawing
and export methods import :mod:`lrstats.presentation` lazily (one explicit import
per method), so the inference layer never imports matplotlib.

What ``to_frame()`` means, per class:

- :class:`Summary`, :class:`Comparison`: the per-lr table, one row per lr;
- :class:`Selection`, :class:`UTestResult`: one row;
- :class:`ShapeFit`: the fitted curve (one row per curve point); its one-row
  ``summary_frame()`` holds the optimum and its interval;
- :class:`Selections`: one row per rule (the rows of :meth:`Selection.to_frame`);
- :class:`ByLevel`: the ``to_frame()`` of every level, stacked;
- :class:`LevelComparison`: one row per (factor level, lr), against the baseline level.

A result computed on one level of ``by=`` carries that level in ``level`` (a dict of
column → value), and its ``to_frame()`` starts with those columns.
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "ByLevel",
    "Comparison",
    "LevelComparison",
    "Selection",
    "Selections",
    "ShapeFit",
    "Summary",
    "UTestResult",
]


def with_level(frame: pd.DataFrame, level: Mapping[str, Any]) -> pd.DataFrame:
    """``frame`` with the level's columns first (the frame itself when there is no level)."""
    if not level:
        return frame
    out = frame.copy()
    for position, (column, value) in enumerate(level.items()):
        out.insert(position, column, [value] * len(out))
    return out


class _ResultMixin:
    """Shared behaviour: tables, HTML and lazy delegation to the presentation layer."""

    #: Title shown by ``_repr_html_``.
    _title: str = ""

    def to_frame(self) -> pd.DataFrame:  # pragma: no cover - overridden everywhere
        raise NotImplementedError

    def summary_frame(self) -> pd.DataFrame:
        """The main table of the result (the same as :meth:`to_frame` unless overridden)."""
        return self.to_frame()

    # -- display -----------------------------------------------------------------------------
    def _header(self) -> str:
        return self._title or type(self).__name__

    def _level_text(self) -> str:
        level = getattr(self, "level", None) or {}
        return "".join(f", {k}={v}" for k, v in level.items())

    def _repr_html_(self) -> str:
        frame = self.summary_frame()
        body = frame.to_html(index=False, float_format=lambda x: f"{x:.4g}", na_rep="NaN")
        return f"<div><strong>{self._header()}{self._level_text()}</strong>{body}</div>"

    # -- lazy delegation to lrstats.presentation.tables ---------------------------------------
    def to_latex(self, **kwargs: Any) -> str:
        """LaTeX table (``lrstats.presentation.tables.to_latex``)."""
        from lrstats.presentation.tables import to_latex

        return to_latex(self, **kwargs)

    def to_markdown(self, **kwargs: Any) -> str:
        """Markdown table (``lrstats.presentation.tables.to_markdown``)."""
        from lrstats.presentation.tables import to_markdown

        return to_markdown(self, **kwargs)

    def to_csv(self, path_or_buf: Any = None, **kwargs: Any) -> str | None:
        """CSV (``lrstats.presentation.tables.to_csv``); returns the text when no path is given."""
        from lrstats.presentation.tables import to_csv

        return to_csv(self, path_or_buf, **kwargs)

    def to_html(self, **kwargs: Any) -> str:
        """HTML table (``lrstats.presentation.tables.to_html``)."""
        from lrstats.presentation.tables import to_html

        return to_html(self, **kwargs)


@dataclass(frozen=True, eq=False)
class Summary(_ResultMixin):
    """Per-lr summary of a response: location, spread, intervals and probability of decrease.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per lr, sorted by lr, with columns ``lr, n, n_nonfinite, mean, sd, se,
        median, ci_low, ci_high, p_decrease, p_decrease_low, p_decrease_high``. ``n`` counts
        the finite values; ``ci_low``/``ci_high`` is the interval for the mean given by
        ``method``; ``p_decrease*`` is the share of replicates with a strictly negative
        response and its Wilson interval.
    response : str
        The analysed response (``"delta"``, ``"relative"``, ``"log_ratio"`` or a column name).
    method : str
        ``"t"``, ``"percentile"``, ``"basic"`` or ``"bca"``.
    confidence_level : float
    n_resamples : int
        Bootstrap resamples (0 for ``method="t"``).
    n_replicates : int
        Number of replicates in the frame.
    level : dict
        The ``by=`` level (column → value); empty without ``by``.

    Notes
    -----
    ``p_decrease*`` exist only for loss changes (``delta``, ``relative``,
    ``log_ratio``); the table of any other response has no such columns.
    """

    table: pd.DataFrame
    response: str
    method: str
    confidence_level: float
    n_resamples: int
    n_replicates: int
    level: dict = field(default_factory=dict)

    _title = "Per-lr summary"

    def plot(self, ax: Any = None, **kwargs: Any) -> Any:
        """The curve (``lrstats.presentation.plots.plot_summary``, imported lazily)."""
        from lrstats.presentation.plots import plot_summary

        return plot_summary(self, ax=ax, **kwargs)

    @property
    def lrs(self) -> np.ndarray:
        """The grid, ascending."""
        return self.table["lr"].to_numpy()

    @property
    def diverging_lrs(self) -> np.ndarray:
        """The lrs with at least one non-finite value (divergence)."""
        return self.table.loc[self.table["n_nonfinite"] > 0, "lr"].to_numpy()

    def to_frame(self) -> pd.DataFrame:
        """The per-lr table (a copy), after the ``by=`` level columns if any."""
        return with_level(self.table.copy(), self.level)

    def _header(self) -> str:
        return (
            f"Per-lr summary of {self.response!r}: {self.n_replicates} replicates, "
            f"{self.method} intervals at {self.confidence_level:g}"
        )


@dataclass(frozen=True, eq=False)
class Comparison(_ResultMixin):
    """Paired comparison of every lr with the best one (lowest mean).

    Attributes
    ----------
    table : pandas.DataFrame
        One row per lr, sorted by lr: ``lr, diff`` (mean within-replicate difference, lr
        minus best), ``ci_low, ci_high`` (interval for ``diff``), ``pvalue`` (paired,
        two-sided), ``pvalue_holm`` (Holm-adjusted over the other lrs) and
        ``indistinguishable`` (``pvalue_holm >= 1 - confidence_level``). The best lr's own
        row has ``diff = 0`` and NaN p-values, and is ``indistinguishable``.
        ``n`` counts the pairs used, ``n_dropped`` the replicates observed at only one
        of the two lrs (an incomplete grid; their pairs are left out, nothing is imputed).
    best_lr : float
        The lr with the best mean (lowest for ``goal="minimize"``, highest for
        ``"maximize"``) among the lrs without non-finite values.
    response, method : str
    confidence_level : float
    n_resamples, n_replicates : int
    goal : str
    level : dict
        The ``by=`` level (column → value); empty without ``by``.
    """

    table: pd.DataFrame
    best_lr: float
    response: str
    method: str
    confidence_level: float
    n_resamples: int
    n_replicates: int
    goal: str = "minimize"
    level: dict = field(default_factory=dict)

    def plot(self, ax: Any = None, **kwargs: Any) -> Any:
        """Differences from the best (``lrstats.presentation.plots.plot_comparison``)."""
        from lrstats.presentation.plots import plot_comparison

        return plot_comparison(self, ax=ax, **kwargs)

    @property
    def indistinguishable_lrs(self) -> np.ndarray:
        """The lrs not significantly worse than the best one (including it)."""
        return self.table.loc[self.table["indistinguishable"], "lr"].to_numpy()

    def to_frame(self) -> pd.DataFrame:
        """The per-lr comparison table (a copy), after the ``by=`` level columns if any."""
        return with_level(self.table.copy(), self.level)

    def _header(self) -> str:
        return (
            f"Paired comparison with the best lr ({self.best_lr:.4g}), "
            f"{self.method} intervals at {self.confidence_level:g}, Holm-adjusted p-values"
        )


@dataclass(frozen=True, eq=False)
class Selection(_ResultMixin):
    """A learning rate chosen by a rule, with its bootstrap uncertainty.

    Attributes
    ----------
    rule : str
    lr : float
        The selected lr (a grid value), or NaN if no lr qualifies.
    ci_low, ci_high : float
        Percentile interval (grid values) of the lr the rule selects on replicate
        resamples.
    frequencies : pandas.Series
        Indexed by lr (the whole grid), named ``"frequency"``: the share of resamples in
        which each lr was selected (sums to 1 over resamples where some lr qualified).
    scores : pandas.Series
        Indexed by lr, named ``"score"``: the rule's criterion on the original data (lower
        is better for argmin rules; for threshold rules, the quantity compared with the
        threshold). Diverging lrs have NaN.
    confidence_level : float
    n_resamples : int
    response : str
    params : dict
        Rule options actually used (``penalty`` for ``"penalized"``,
        ``min_p_decrease`` for ``"max_safe"``).
    n_no_selection : int
        Resamples in which no lr qualified (left out of ``frequencies``).
    goal : str
        ``"minimize"`` or ``"maximize"``: the direction the rule took as better.
    n_dropped : int
        Replicates left out because the frame lacks them at some lr (incomplete grid).
    level : dict
        The ``by=`` level (column → value); empty without ``by``.
    """

    rule: str
    lr: float
    ci_low: float
    ci_high: float
    frequencies: pd.Series
    scores: pd.Series
    confidence_level: float
    n_resamples: int
    response: str
    params: dict = field(default_factory=dict)
    n_no_selection: int = 0
    goal: str = "minimize"
    n_dropped: int = 0
    level: dict = field(default_factory=dict)

    def plot(self, ax: Any = None, **kwargs: Any) -> Any:
        """Selection frequencies (``lrstats.presentation.plots.plot_selection``)."""
        from lrstats.presentation.plots import plot_selection

        return plot_selection(self, ax=ax, **kwargs)

    @property
    def stability(self) -> float:
        """Share of resamples that select the same lr as the original data."""
        if math.isnan(self.lr):
            return math.nan
        return float(self.frequencies.get(self.lr, 0.0))

    def to_frame(self) -> pd.DataFrame:
        """One row: ``[*level], rule, lr, ci_low, ci_high, stability, confidence_level,
        n_resamples, response, goal, n_dropped``."""
        frame = pd.DataFrame(
            {
                "rule": [self.rule],
                "lr": [self.lr],
                "ci_low": [self.ci_low],
                "ci_high": [self.ci_high],
                "stability": [self.stability],
                "confidence_level": [self.confidence_level],
                "n_resamples": [self.n_resamples],
                "response": [self.response],
                "goal": [self.goal],
                "n_dropped": [self.n_dropped],
            }
        )
        return with_level(frame, self.level)

    def _header(self) -> str:
        return f"Selection by rule {self.rule!r}"


@dataclass(frozen=True, eq=False)
class ShapeFit(_ResultMixin):
    """A curve fitted across the grid, with the lr it puts at the optimum.

    Attributes
    ----------
    kind : str
        ``"isotonic"``, ``"unimodal"``, ``"quadratic"`` or ``"local"``.
    optimum_lr : float
        The lr minimizing the fitted curve (lr units).
    ci_low, ci_high : float
        Interval for ``optimum_lr`` (lr units): delta method for ``"quadratic"`` and
        ``"local"``, bootstrap over replicates for ``"isotonic"`` and ``"unimodal"``.
    curve : pandas.DataFrame
        ``lr, fitted`` and, where available, pointwise ``ci_low, ci_high``.
    params : dict
        Fitted parameters (coefficients, covariance, split point, …).
    response : str
    confidence_level : float
    intervals : pandas.DataFrame
        Every interval computed: ``quantity, method, estimate, ci_low, ci_high`` (lr units).
    break_even_lr, break_even_ci_low, break_even_ci_high : float
        ``kind="local"`` only (NaN otherwise): the lr where the expected change is zero again.
    n_resamples : int
    goal : str
        ``"minimize"``: ``optimum_lr`` minimizes the curve; ``"maximize"``: maximizes it.
    n_dropped : int
        Replicates left out because the frame lacks them at some lr (incomplete grid).
    level : dict
        The ``by=`` level (column → value); empty without ``by``.
    """

    kind: str
    optimum_lr: float
    ci_low: float
    ci_high: float
    curve: pd.DataFrame
    params: dict
    response: str
    confidence_level: float
    intervals: pd.DataFrame = field(default_factory=pd.DataFrame)
    break_even_lr: float = math.nan
    break_even_ci_low: float = math.nan
    break_even_ci_high: float = math.nan
    n_resamples: int = 0
    goal: str = "minimize"
    n_dropped: int = 0
    level: dict = field(default_factory=dict)

    def plot(self, ax: Any = None, **kwargs: Any) -> Any:
        """The fitted curve (``lrstats.presentation.plots.plot_shape``, imported lazily)."""
        from lrstats.presentation.plots import plot_shape

        return plot_shape(self, ax=ax, **kwargs)

    def to_frame(self) -> pd.DataFrame:
        """The fitted curve (``lr, fitted`` and pointwise ``ci_low, ci_high``; a copy)."""
        return with_level(self.curve.copy(), self.level)

    def summary_frame(self) -> pd.DataFrame:
        """One row: ``[*level], kind, optimum_lr, ci_low, ci_high, break_even_lr, ...``."""
        frame = pd.DataFrame(
            {
                "kind": [self.kind],
                "optimum_lr": [self.optimum_lr],
                "ci_low": [self.ci_low],
                "ci_high": [self.ci_high],
                "break_even_lr": [self.break_even_lr],
                "break_even_ci_low": [self.break_even_ci_low],
                "break_even_ci_high": [self.break_even_ci_high],
                "confidence_level": [self.confidence_level],
                "response": [self.response],
                "goal": [self.goal],
                "n_dropped": [self.n_dropped],
            }
        )
        return with_level(frame, self.level)

    def intervals_frame(self) -> pd.DataFrame:
        """Every interval computed (``quantity, method, estimate, ci_low, ci_high``)."""
        return with_level(self.intervals.copy(), self.level)

    def _header(self) -> str:
        return (
            f"{self.kind.capitalize()} fit: optimum lr {self.optimum_lr:.4g} "
            f"[{self.ci_low:.4g}, {self.ci_high:.4g}]"
        )


@dataclass(frozen=True, eq=False)
class UTestResult(_ResultMixin):
    """Lind & Mehlum's test of a U shape (decrease then increase) over ``[lower_lr, upper_lr]``.

    Attributes
    ----------
    statistic : float
        Sasabuchi statistic ``min(-t_lower, t_upper)``.
    pvalue : float
        One-sided p-value of H0 "monotone or inverse U" against H1 "U shape".
    extremum_lr : float
        Vertex of the fitted quadratic in log10(lr), in lr units.
    ci_low, ci_high : float
        Fieller interval for the extremum (lr units; may be infinite).
    lower_lr, upper_lr : float
        Ends of the interval where the slopes are tested.
    slope_lower, slope_upper : float
        Slopes of the fitted quadratic (per unit log10 lr) at the ends.
    t_lower, t_upper : float
        Their t statistics (cluster-robust standard errors).
    df : int
        Degrees of freedom of the reference t distribution (clusters − 1).
    confidence_level : float
    response : str
    n_replicates : int
    goal : str
        ``"minimize"`` tests a U shape, ``"maximize"`` an inverted U (slopes and t
        statistics are then those of the negated response).
    n_dropped : int
        Replicates left out because the frame lacks them at some lr (incomplete grid).
    level : dict
        The ``by=`` level (column → value); empty without ``by``.
    """

    statistic: float
    pvalue: float
    extremum_lr: float
    ci_low: float
    ci_high: float
    lower_lr: float
    upper_lr: float
    slope_lower: float
    slope_upper: float
    t_lower: float
    t_upper: float
    df: int
    confidence_level: float
    response: str
    n_replicates: int
    goal: str = "minimize"
    n_dropped: int = 0
    level: dict = field(default_factory=dict)

    _title = "Lind–Mehlum U test"

    def plot(self, ax: Any = None, **kwargs: Any) -> Any:
        """The fitted quadratic (``lrstats.presentation.plots.plot_utest``, imported lazily)."""
        from lrstats.presentation.plots import plot_utest

        return plot_utest(self, ax=ax, **kwargs)

    def to_frame(self) -> pd.DataFrame:
        """One row with every field."""
        names = [
            "statistic",
            "pvalue",
            "extremum_lr",
            "ci_low",
            "ci_high",
            "lower_lr",
            "upper_lr",
            "slope_lower",
            "slope_upper",
            "t_lower",
            "t_upper",
            "df",
            "confidence_level",
            "response",
            "n_replicates",
            "goal",
            "n_dropped",
        ]
        return with_level(
            pd.DataFrame({name: [getattr(self, name)] for name in names}), self.level
        )


@dataclass(frozen=True, eq=False)
class Selections(_ResultMixin):
    """Several selection rules run on the same frame (:func:`lrstats.select_all`).

    Attributes
    ----------
    selections : dict of str to Selection
        By rule, in the order asked for.
    level : dict
        The ``by=`` level (column → value); empty without ``by``.

    ``to_frame()`` has one row per rule (the rows of :meth:`Selection.to_frame`);
    ``selections["ucb"]`` (or ``result["ucb"]``) is one rule's full result.
    """

    selections: dict
    level: dict = field(default_factory=dict)

    _title = "Selected learning rates"

    def __getitem__(self, rule: str) -> Selection:
        return self.selections[rule]

    def __iter__(self) -> Iterator[str]:
        return iter(self.selections)

    def __len__(self) -> int:
        return len(self.selections)

    def to_frame(self) -> pd.DataFrame:
        """One row per rule."""
        return pd.concat([s.to_frame() for s in self.selections.values()], ignore_index=True)

    def plot(self, ax: Any = None, **kwargs: Any) -> Any:
        """Every rule's frequencies (``lrstats.presentation.plots.plot_selection``)."""
        from lrstats.presentation.plots import plot_selection

        return plot_selection(list(self.selections.values()), ax=ax, **kwargs)


@dataclass(frozen=True, eq=False)
class ByLevel(_ResultMixin):
    """One result per level of ``by=``: what every inference function returns with ``by``.

    Attributes
    ----------
    by : tuple of str
        The factor columns.
    results : dict
        Level (a tuple of values, in the order of ``by``) → the result on that level,
        whose ``level`` attribute holds the same values by column.

    ``to_frame()`` stacks the levels' ``to_frame()`` (each starts with the ``by``
    columns); ``summary_frame()`` stacks their ``summary_frame()``. ``result[level]``
    (a tuple, or a plain value with one ``by`` column) is one level's result.
    """

    by: tuple
    results: dict

    def __getitem__(self, level: Any) -> Any:
        key = level if isinstance(level, tuple) else (level,)
        return self.results[key]

    def __iter__(self) -> Iterator[tuple]:
        return iter(self.results)

    def __len__(self) -> int:
        return len(self.results)

    def items(self) -> Any:
        return self.results.items()

    def values(self) -> Any:
        return self.results.values()

    @property
    def kind(self) -> str:
        """The class name of the per-level results."""
        first = next(iter(self.results.values()), None)
        return type(first).__name__ if first is not None else ""

    def to_frame(self) -> pd.DataFrame:
        """Every level's ``to_frame()``, stacked (the ``by`` columns first)."""
        return pd.concat([r.to_frame() for r in self.results.values()], ignore_index=True)

    def summary_frame(self) -> pd.DataFrame:
        """Every level's ``summary_frame()``, stacked."""
        return pd.concat([r.summary_frame() for r in self.results.values()], ignore_index=True)

    def _header(self) -> str:
        return f"{self.kind} by {', '.join(self.by)} ({len(self.results)} levels)"

    def plot(self, ax: Any = None, **kwargs: Any) -> Any:
        """Every level's result in one axes (``lrstats.presentation.plots.plot_levels``)."""
        from lrstats.presentation.plots import plot_levels

        return plot_levels(self, ax=ax, **kwargs)


def by_levels(by: tuple[str, ...], results: list[Any]) -> Any:
    """The single result without ``by``, a :class:`ByLevel` with it."""
    if not by:
        return results[0]
    return ByLevel(
        by=tuple(by),
        results={tuple(r.level[c] for c in by): r for r in results},
    )


@dataclass(frozen=True, eq=False)
class LevelComparison(_ResultMixin):
    """Paired differences of a factor's levels against a baseline level, per lr.

    Returned by :func:`lrstats.inference.compare_levels` (and by :func:`lrstats.analyse`
    as ``level_comparison`` when the frame is analysed ``by=`` one factor).

    Attributes
    ----------
    table : pandas.DataFrame
        One row per (level other than the baseline, lr), levels in their declared order:
        the factor column, ``lr``, ``n`` (replicates where both runs are finite), ``diff``
        (mean of level − baseline), ``sd``, ``se``, ``ci_low``, ``ci_high`` (paired t
        interval), ``pvalue`` (paired t test, two-sided), ``better`` (the interval lies
        entirely on the side of ``goal``: below zero when minimizing, above when
        maximizing), ``n_nonfinite`` (replicates present at both levels where either value
        is non-finite: divergence) and ``n_missing`` (replicates run at only one of the two
        levels).
    factor : str
        The factor column.
    baseline : str, int or float
        The reference level.
    levels : tuple
        Every level, the baseline first.
    response, goal : str
    at : str or int
        How each run's trajectory was reduced (:func:`lrstats.inference.reduce_frame`).
    confidence_level : float
    """

    table: pd.DataFrame
    factor: str
    baseline: Any
    levels: tuple
    response: str
    goal: str
    at: str | int
    confidence_level: float
    _title = "Paired differences against the baseline level"

    def _header(self) -> str:
        return f"{self.factor}: paired differences against {self.baseline} ({self.response})"

    def to_frame(self) -> pd.DataFrame:
        """The per-(level, lr) table (a copy of :attr:`table`)."""
        return self.table.copy()

    def plot(self, ax: Any = None, **kwargs: Any) -> Any:
        """Draw with :func:`lrstats.presentation.sweep_plots.plot_level_differences`."""
        from lrstats.presentation.sweep_plots import plot_level_differences

        return plot_level_differences(self, ax=ax, **kwargs)
