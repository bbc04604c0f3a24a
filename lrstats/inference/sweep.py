"""Statistics of sensitivity sweeps (numpy/scipy/pandas only).

A sweep frame (:func:`lrstats.keras.sensitivity`) has one row per (lr, replicate = seed,
factor levels, epoch). These helpers reduce each run to one value and compare factor
levels on paired runs, until ``lrstats.analyse(frame, at=..., by=...)`` does it all:

``reduce_runs``
    One row per run: the response at the final epoch, or the best over epochs.
``compare_levels``
    Paired differences of a factor's levels against a baseline level (e.g. 1cycle and
    time-based decay against a constant lr), per lr, with t intervals.
``select_lr_by``
    :func:`lrstats.select_lr` at every level of a factor (e.g. the best lr per batch size).
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from lrstats._validation import check_choice, check_confidence_level
from lrstats.inference._results import _ResultMixin

__all__ = ["AT", "LevelComparison", "compare_levels", "reduce_runs", "select_lr_by"]

AT = ("final", "best")
_KEYS = ("lr", "replicate", "epoch")


def _check_sweep(frame: Any, response: str) -> pd.DataFrame:
    if not isinstance(frame, pd.DataFrame):
        raise TypeError(
            f"`frame` must be a pandas DataFrame. Received: frame of type {type(frame).__name__}"
        )
    missing = [c for c in _KEYS if c not in frame.columns]
    if missing:
        raise ValueError(
            f"`frame` must be a sweep frame with columns {list(_KEYS)}. Received: frame "
            f"missing {missing} (columns {list(frame.columns)})"
        )
    if not isinstance(response, str) or response not in frame.columns:
        raise ValueError(
            f"`response` must be a column of `frame`. Received: response={response!r} "
            f"(columns {list(frame.columns)})"
        )
    return frame


def _factor_columns(frame: pd.DataFrame, extra: Any = None) -> list[str]:
    factors = frame.attrs.get("factors")
    names = [n for n in factors if n in frame.columns] if isinstance(factors, dict) else []
    for name in extra or ():
        if name not in frame.columns:
            raise ValueError(
                f"`factors` must name columns of `frame`. Received: {name!r} "
                f"(columns {list(frame.columns)})"
            )
        if name not in names:
            names.append(name)
    return names


def reduce_runs(
    frame: pd.DataFrame,
    *,
    response: str = "val_loss",
    at: str = "final",
    goal: str = "min",
    factors: Any = None,
) -> pd.DataFrame:
    """One row per run: the response at the final epoch or the best over epochs.

    Parameters
    ----------
    frame : pandas.DataFrame
        A sweep frame (``lr``, ``replicate``, factor columns, ``epoch``, metrics). The
        factor columns are those named in ``frame.attrs["factors"]``.
    response : str, default "val_loss"
        The metric column.
    at : {"final", "best"}, default "final"
        ``"final"``: the value after the last epoch (NaN for a run that diverged).
        ``"best"``: the best finite value over the epochs (NaN if none is finite).
    goal : {"min", "max"}, default "min"
        Whether lower (a loss) or higher (an accuracy) is better, for ``at="best"``.
    factors : sequence of str, optional
        Further factor columns, besides those named in ``frame.attrs["factors"]``.

    Returns
    -------
    pandas.DataFrame
        ``lr``, ``replicate``, the factor columns and ``response``, one row per run,
        sorted; ``attrs`` copied from ``frame``. The inference functions
        (:func:`lrstats.summarize`, :func:`lrstats.select_lr`, ...) read it directly.

    Examples
    --------
    >>> import pandas as pd
    >>> frame = pd.DataFrame({"lr": [0.1, 0.1], "replicate": [0, 0], "epoch": [1, 2],
    ...                       "val_loss": [2.0, 1.0]})
    >>> reduce_runs(frame)["val_loss"].tolist()
    [1.0]
    """
    frame = _check_sweep(frame, response)
    at = check_choice(at, "at", AT)
    goal = check_choice(goal, "goal", ("min", "max"))
    runs = ["lr", "replicate", *_factor_columns(frame, factors)]
    ordered = frame.sort_values([*runs, "epoch"], kind="stable")
    if at == "final":  # the last epoch's row of every run
        reduced = ordered.drop_duplicates(runs, keep="last")[[*runs, response]]
    else:
        finite = ordered[response].where(np.isfinite(ordered[response].astype(float)))
        best = finite.groupby([ordered[c] for c in runs], sort=True, dropna=False)
        values = best.min() if goal == "min" else best.max()
        reduced = values.rename(response).reset_index()
    reduced = reduced.sort_values(runs, kind="stable").reset_index(drop=True)
    reduced[response] = reduced[response].astype(np.float64)
    reduced.attrs = dict(frame.attrs)
    reduced.attrs["reduced"] = {"response": response, "at": at, "goal": goal}
    return reduced


@dataclass(frozen=True, eq=False)
class LevelComparison(_ResultMixin):
    """Paired differences of a factor's levels against a baseline level, per lr.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per (lr, level other than the baseline): ``lr``, ``factor`` level column,
        ``n`` (seeds where both runs are finite), ``diff`` (mean of level − baseline),
        ``sd``, ``se``, ``ci_low``, ``ci_high`` (paired t interval), ``pvalue`` (paired
        t test, two-sided), and ``diverged`` (seeds where either run is non-finite).
    factor, baseline, response, at : str
    confidence_level : float
    """

    table: pd.DataFrame
    factor: str
    baseline: Any
    response: str
    at: str
    confidence_level: float
    _title = "Paired differences against the baseline level"

    def to_frame(self) -> pd.DataFrame:
        return self.table.copy()

    def plot(self, ax: Any = None, **kwargs: Any) -> Any:
        """Draw with :func:`lrstats.presentation.sweep_plots.plot_level_differences`."""
        plots = importlib.import_module("lrstats.presentation.sweep_plots")
        return plots.plot_level_differences(self, ax=ax, **kwargs)


def compare_levels(
    frame: pd.DataFrame,
    *,
    factor: str = "schedule",
    baseline: Any = None,
    response: str = "val_loss",
    at: str = "final",
    goal: str = "min",
    confidence_level: float = 0.95,
) -> LevelComparison:
    """Paired comparison of every level of ``factor`` with ``baseline``, at every lr.

    Parameters
    ----------
    frame : pandas.DataFrame
        A sweep frame with the factor column (or one already reduced by
        :func:`reduce_runs`: one row per run, no ``epoch``).
    factor : str, default "schedule"
        The factor column whose levels are compared.
    baseline : optional
        The reference level. Default: the first level in ``frame.attrs["factors"]``
        (else the first level in sort order).
    response, at, goal
        As for :func:`reduce_runs`.
    confidence_level : float, default 0.95

    Returns
    -------
    LevelComparison

    Notes
    -----
    Runs that share a seed share initial weights and data order at every level, so the
    comparison is paired: for lr ``k``, level ``l`` and seed ``s``,
    ``d_s = y_{k,l,s} - y_{k,baseline,s}``; ``diff = d̄``, ``se = s_d / √n`` and the
    interval is ``d̄ ± t_{n-1,(1+level)/2} se`` over the ``n`` seeds where both values are
    finite (:func:`scipy.stats.ttest_rel`'s numbers). A negative ``diff`` favours the level
    when lower is better. Intervals are per lr and not adjusted for multiplicity.

    Examples
    --------
    >>> comparison = compare_levels(frame, factor="schedule", baseline="constant")  # doctest: +SKIP
    >>> comparison.to_frame()                                                       # doctest: +SKIP
    """
    confidence_level = check_confidence_level(confidence_level)
    if not isinstance(factor, str) or factor not in frame.columns:
        raise ValueError(
            f"`factor` must be a column of `frame`. Received: factor={factor!r} "
            f"(columns {list(frame.columns)})"
        )
    if "epoch" in frame.columns:
        runs = reduce_runs(frame, response=response, at=at, goal=goal, factors=[factor])
    else:
        _check_sweep(frame.assign(epoch=0), response)
        runs = frame
    declared = (
        frame.attrs.get("factors", {}).get(factor)
        if isinstance(frame.attrs.get("factors"), dict)
        else None
    )
    levels = list(declared) if declared else sorted(runs[factor].unique().tolist())
    if baseline is None:
        baseline = levels[0]
    if baseline not in levels:
        raise ValueError(
            f"`baseline` must be a level of {factor!r} ({levels}). Received: baseline={baseline!r}"
        )
    others = [c for c in runs.columns if c not in ("lr", "replicate", factor, response)]
    if others:
        raise ValueError(
            f"`frame` must have no factor besides {factor!r} (reduce or subset it first). "
            f"Received: further columns {others}"
        )
    wide = runs.pivot_table(
        index=["lr", "replicate"], columns=factor, values=response, aggfunc="first", dropna=False
    )
    rows = []
    for level in levels:
        if level == baseline:
            continue
        for lr, block in wide.groupby(level=0, sort=True):
            d = (block[level] - block[baseline]).to_numpy(dtype=np.float64)
            finite = np.isfinite(d)
            n = int(finite.sum())
            diff = float(d[finite].mean()) if n else np.nan
            sd = float(d[finite].std(ddof=1)) if n >= 2 else np.nan
            se = sd / np.sqrt(n) if n >= 2 else np.nan
            if n >= 2 and sd > 0:
                critical = stats.t.ppf(0.5 + confidence_level / 2.0, n - 1)
                low, high = diff - critical * se, diff + critical * se
                pvalue = float(2.0 * stats.t.sf(abs(diff / se), n - 1))
            else:
                low = high = pvalue = np.nan
            rows.append(
                {
                    "lr": float(lr),
                    factor: level,
                    "n": n,
                    "diff": diff,
                    "sd": sd,
                    "se": se,
                    "ci_low": low,
                    "ci_high": high,
                    "pvalue": pvalue,
                    "diverged": int((~finite).sum()),
                }
            )
    table = pd.DataFrame(rows)
    return LevelComparison(
        table=table,
        factor=factor,
        baseline=baseline,
        response=response,
        at=at,
        confidence_level=confidence_level,
    )


def select_lr_by(
    frame: pd.DataFrame,
    by: str,
    *,
    response: str = "val_loss",
    at: str = "final",
    rule: str = "mean",
    rng: Any = None,
    **options: Any,
) -> pd.DataFrame:
    """:func:`lrstats.select_lr` at every level of ``by``: the best lr per level.

    Parameters
    ----------
    frame : pandas.DataFrame
        A sweep frame with the ``by`` column.
    by : str
        The factor, e.g. ``"batch_size"``.
    response, at
        As for :func:`reduce_runs` (lower is better).
    rule : str, default "mean"
        The selection rule (:data:`lrstats.inference.RULES`).
    rng : int, optional
        Seed of the bootstrap of every level (each level's resamples are independent).
    **options
        Passed to :func:`lrstats.select_lr` (``confidence_level``, ``n_resamples``, ...).

    Returns
    -------
    pandas.DataFrame
        ``by``, ``lr``, ``ci_low``, ``ci_high``, one row per level, sorted by level: the
        table :func:`lrstats.presentation.sweep_plots.plot_best_lr_by_batch_size` draws.
    """
    from lrstats.inference.select import select_lr

    if not isinstance(by, str) or by not in frame.columns:
        raise ValueError(
            f"`by` must be a column of `frame`. Received: by={by!r} (columns {list(frame.columns)})"
        )
    runs = reduce_runs(frame, response=response, at=at, factors=[by])
    rows = []
    for level, group in runs.groupby(by, sort=True):
        selection = select_lr(
            group.drop(
                columns=[c for c in group.columns if c not in ("lr", "replicate", response)]
            ),
            rule=rule,
            response=response,
            rng=rng,
            **options,
        )
        rows.append(
            {
                by: level,
                "lr": selection.lr,
                "ci_low": selection.ci_low,
                "ci_high": selection.ci_high,
            }
        )
    return pd.DataFrame(rows)
