"""Paired comparison of a factor's levels against a baseline level, at every lr.

A sweep with a second factor (``schedule``: constant, time-based decay, 1cycle; or
``momentum``, ``batch_size``) runs every level with the same seeds, and runs that share a
seed share their initial weights and data order. So the levels are compared within each
(lr, replicate): :func:`compare_levels` gives the paired differences of every level from
the baseline with t intervals. The frame is reduced by
:func:`lrstats.inference.reduce_frame` (``at=``, ``goal=``) like everywhere else.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from lrstats._validation import check_confidence_level
from lrstats.inference._frame import _check_frame
from lrstats.inference._reduce import check_at, check_by, check_goal, reduce_frame
from lrstats.inference._results import LevelComparison

__all__ = ["compare_levels"]


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def _levels(frame: pd.DataFrame, reduced: pd.DataFrame, factor: str) -> list[Any]:
    """The levels in declared order (``frame.attrs["factors"]``), else sorted."""
    present = [_plain(v) for v in pd.unique(reduced[factor])]
    factors = frame.attrs.get("factors")
    declared = factors.get(factor) if isinstance(factors, dict) else None
    if isinstance(declared, (list, tuple)):
        ordered = [v for v in declared if v in present]
        return ordered + sorted(v for v in present if v not in ordered)
    return sorted(present)


def compare_levels(
    frame: pd.DataFrame,
    *,
    factor: str,
    baseline: Any = None,
    response: str = "delta",
    goal: str = "minimize",
    at: str | int = "final",
    confidence_level: float = 0.95,
) -> LevelComparison:
    """Paired comparison of every level of ``factor`` with ``baseline``, at every lr.

    Parameters
    ----------
    frame : pandas.DataFrame
        Tidy frame with ``lr``, ``replicate``, the ``factor`` column and the response,
        optionally a trajectory index (``step``/``epoch``), e.g. a sweep frame from
        :func:`lrstats.keras.sensitivity` with ``factors={"schedule": [...]}``. Further
        factor columns are refused (subset the frame first).
    factor : str
        The factor column whose levels are compared, e.g. ``"schedule"``.
    baseline : str, int or float, optional
        The reference level. Default: the first level declared in
        ``frame.attrs["factors"][factor]`` (the order given to the sweep), else the first
        in sort order.
    response : str, default "delta"
        See :func:`lrstats.response_values`; ``"val_loss"`` for a sweep.
    goal : {"minimize", "maximize"}, default "minimize"
        Which direction is better: used by ``at="best"`` and the ``better`` column.
    at : {"final", "best"} or int, default "final"
        How each run's trajectory becomes one value (:func:`lrstats.inference.reduce_frame`).
    confidence_level : float, default 0.95

    Returns
    -------
    LevelComparison
        The per-(level, lr) table of paired differences against ``baseline``.

    Raises
    ------
    ValueError
        ``factor`` not a column or with one level only, ``baseline`` not a level, an
        ambiguous frame (several rows per run), a bad ``goal``/``at``/``confidence_level``.

    Notes
    -----
    For lr ``k``, level ``l`` and replicate (seed) ``s`` with both values finite,
    ``d_s = y_{k,l,s} − y_{k,b,s}`` with ``b`` the baseline; over those ``n`` replicates,
    ``diff = d̄``, ``se = s_d / √n`` and the interval is ``d̄ ± t_{n−1,(1+c)/2} · se``,
    the numbers of :func:`scipy.stats.ttest_rel`. Pairing removes the seed-to-seed
    spread shared by both levels. Replicates where either value is non-finite
    (divergence) are counted in ``n_nonfinite`` and left out; nothing is imputed.
    Intervals are per (level, lr) and not adjusted for multiplicity. With fewer than two
    pairs, or identical differences, the interval and p-value are NaN.

    Examples
    --------
    >>> import pandas as pd
    >>> frame = pd.DataFrame({
    ...     "lr": [0.1] * 6, "replicate": [0, 1, 2] * 2,
    ...     "schedule": ["constant"] * 3 + ["one_cycle"] * 3,
    ...     "val_loss": [1.0, 1.2, 0.9, 0.8, 1.1, 0.6]})
    >>> comparison = compare_levels(frame, factor="schedule", response="val_loss")
    >>> round(float(comparison.table["diff"].iloc[0]), 3)
    -0.2
    """
    frame = _check_frame(frame)
    goal = check_goal(goal)
    at = check_at(at)
    confidence_level = check_confidence_level(confidence_level)
    if not isinstance(factor, str):
        raise TypeError(f"`factor` must be a column name. Received: factor={factor!r}")
    (factor,) = check_by(factor, frame)
    reduced = reduce_frame(frame, response=response, goal=goal, at=at, by=factor)
    levels = _levels(frame, reduced, factor)
    if len(levels) < 2:
        raise ValueError(
            f"`factor` must have at least two levels to compare. Received: factor={factor!r} "
            f"with levels {levels}"
        )
    if baseline is None:
        baseline = levels[0]
    elif baseline not in levels:
        raise ValueError(
            f"`baseline` must be a level of {factor!r} ({levels}). Received: baseline={baseline!r}"
        )
    baseline = _plain(baseline)
    # Values (NaN for a diverged run) and which runs exist (a run absent is not a NaN).
    wide = reduced.pivot_table(
        index=["lr", "replicate"], columns=factor, values=response, aggfunc="first", dropna=False
    )
    ran = (
        reduced.assign(_ran=1.0)
        .pivot_table(index=["lr", "replicate"], columns=factor, values="_ran", aggfunc="first")
        .reindex(index=wide.index, columns=wide.columns)
        .notna()
    )
    rows = []
    for level in [v for v in levels if v != baseline]:
        for lr, block in wide.groupby(level=0, sort=True):
            pair = block[[level, baseline]]
            runs = ran.loc[block.index, [level, baseline]]
            present = runs.all(axis=1).to_numpy()
            one_only = runs.sum(axis=1).eq(1).to_numpy()
            d = (pair[level] - pair[baseline]).to_numpy(dtype=np.float64)[present]
            finite = np.isfinite(d)
            d = d[finite]
            n = int(d.size)
            diff = float(d.mean()) if n else np.nan
            sd = float(d.std(ddof=1)) if n >= 2 else np.nan
            se = sd / np.sqrt(n) if n >= 2 else np.nan
            if n >= 2 and sd > 0:
                critical = float(stats.t.ppf(0.5 + confidence_level / 2.0, n - 1))
                low, high = diff - critical * se, diff + critical * se
                pvalue = float(2.0 * stats.t.sf(abs(diff / se), n - 1))
            else:
                low = high = pvalue = np.nan
            better = bool(high < 0) if goal == "minimize" else bool(low > 0)
            rows.append(
                {
                    factor: level,
                    "lr": float(lr),
                    "n": n,
                    "diff": diff,
                    "sd": sd,
                    "se": se,
                    "ci_low": low,
                    "ci_high": high,
                    "pvalue": pvalue,
                    "better": better,
                    "n_nonfinite": int((~finite).sum()),
                    "n_missing": int(one_only.sum()),
                }
            )
    return LevelComparison(
        table=pd.DataFrame(rows),
        factor=factor,
        baseline=baseline,
        levels=(baseline, *[v for v in levels if v != baseline]),
        response=response,
        goal=goal,
        at=at,
        confidence_level=confidence_level,
    )
