"""Result objects of the inference layer.

Every public function of :mod:`lrstats.inference` returns one of these frozen
dataclasses (statsmodels style): the numbers are stored raw, ``to_frame()``
gives the tidy table, ``_repr_html_`` shows it in a notebook, and the drawing
and export methods import :mod:`lrstats.presentation` lazily, so the
inference layer never imports matplotlib.
"""

from __future__ import annotations

import importlib
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

__all__ = [
    "Comparison",
    "Selection",
    "ShapeFit",
    "Summary",
    "UTestResult",
]


class _ResultMixin:
    """Shared behaviour: tables, HTML and lazy delegation to the presentation layer."""

    #: Suffix of the plot function in :mod:`lrstats.presentation.plots` (``plot_<kind>``).
    _plot_kind: str = ""
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

    def _repr_html_(self) -> str:
        frame = self.summary_frame()
        body = frame.to_html(index=False, float_format=lambda x: f"{x:.4g}", na_rep="NaN")
        return f"<div><strong>{self._header()}</strong>{body}</div>"

    # -- lazy delegation ---------------------------------------------------------------------
    def plot(self, ax: Any = None, **kwargs: Any) -> Any:
        """Draw the result with ``lrstats.presentation.plots.plot_<kind>`` (imported lazily)."""
        plots = importlib.import_module("lrstats.presentation.plots")
        return getattr(plots, f"plot_{self._plot_kind}")(self, ax=ax, **kwargs)

    def _table(self, function: str, *args: Any, **kwargs: Any) -> Any:
        tables = importlib.import_module("lrstats.presentation.tables")
        return getattr(tables, function)(self, *args, **kwargs)

    def to_latex(self, **kwargs: Any) -> str:
        """LaTeX table (``lrstats.presentation.tables.to_latex``)."""
        return self._table("to_latex", **kwargs)

    def to_markdown(self, **kwargs: Any) -> str:
        """Markdown table (``lrstats.presentation.tables.to_markdown``)."""
        return self._table("to_markdown", **kwargs)

    def to_csv(self, path_or_buf: Any = None, **kwargs: Any) -> str | None:
        """CSV (``lrstats.presentation.tables.to_csv``); returns the text when no path is given."""
        return self._table("to_csv", path_or_buf, **kwargs)

    def to_html(self, **kwargs: Any) -> str:
        """HTML table (``lrstats.presentation.tables.to_html``)."""
        return self._table("to_html", **kwargs)


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
    """

    table: pd.DataFrame
    response: str
    method: str
    confidence_level: float
    n_resamples: int
    n_replicates: int

    _plot_kind = "summary"
    _title = "Per-lr summary"

    @property
    def lrs(self) -> np.ndarray:
        """The grid, ascending."""
        return self.table["lr"].to_numpy()

    @property
    def diverging_lrs(self) -> np.ndarray:
        """The lrs with at least one non-finite value (divergence)."""
        return self.table.loc[self.table["n_nonfinite"] > 0, "lr"].to_numpy()

    def to_frame(self) -> pd.DataFrame:
        """The per-lr table (a copy)."""
        return self.table.copy()

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
    best_lr : float
    response, method : str
    confidence_level : float
    n_resamples, n_replicates : int
    """

    table: pd.DataFrame
    best_lr: float
    response: str
    method: str
    confidence_level: float
    n_resamples: int
    n_replicates: int

    _plot_kind = "comparison"

    @property
    def indistinguishable_lrs(self) -> np.ndarray:
        """The lrs not significantly worse than the best one (including it)."""
        return self.table.loc[self.table["indistinguishable"], "lr"].to_numpy()

    def to_frame(self) -> pd.DataFrame:
        """The comparison table (a copy)."""
        return self.table.copy()

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
        Rule options actually used (e.g. ``penalty``, ``q``).
    n_no_selection : int
        Resamples in which no lr qualified (left out of ``frequencies``).
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

    _plot_kind = "selection"

    @property
    def stability(self) -> float:
        """Share of resamples that select the same lr as the original data."""
        if math.isnan(self.lr):
            return math.nan
        return float(self.frequencies.get(self.lr, 0.0))

    def to_frame(self) -> pd.DataFrame:
        """One row: ``rule, lr, ci_low, ci_high, stability, confidence_level, n_resamples, response``."""
        return pd.DataFrame(
            {
                "rule": [self.rule],
                "lr": [self.lr],
                "ci_low": [self.ci_low],
                "ci_high": [self.ci_high],
                "stability": [self.stability],
                "confidence_level": [self.confidence_level],
                "n_resamples": [self.n_resamples],
                "response": [self.response],
            }
        )

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

    _plot_kind = "shape"

    def to_frame(self) -> pd.DataFrame:
        """The fitted curve (a copy)."""
        return self.curve.copy()

    def summary_frame(self) -> pd.DataFrame:
        """The intervals table (``quantity, method, estimate, ci_low, ci_high``)."""
        return self.intervals.copy()

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

    _plot_kind = "utest"
    _title = "Lind–Mehlum U test"

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
        ]
        return pd.DataFrame({name: [getattr(self, name)] for name in names})
