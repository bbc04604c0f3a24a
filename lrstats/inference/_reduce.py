"""Frame reduction: the one place where a tidy frame becomes what the statistics analyse.

Every inference function (and :func:`lrstats.analyse`) goes through :func:`prepare`:

1. the response of every row (:func:`~lrstats.inference.response_values`);
2. ``at=``: a trajectory index (``step`` or ``epoch``) is reduced to one value per run,
   i.e. per ``(*by, lr, replicate)``: the final one, the best one (``goal`` says which
   direction is better) or the one at a given index;
3. ``by=``: one replicates × lrs matrix per level of the factor column(s).

A frame that still has several rows per run after that is refused, with a message that
names what to pass. Nothing is imputed: a run missing at some lr is a missing cell, and
paired methods use the replicates complete on the lrs they compare.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from lrstats._validation import check_choice
from lrstats.inference._frame import (
    ReplicateMatrix,
    _check_frame,
    replicate_matrix,
    response_values,
)

__all__ = [
    "GOALS",
    "IncompleteGridWarning",
    "TRAJECTORY_COLUMNS",
    "Level",
    "check_at",
    "check_by",
    "check_goal",
    "prepare",
    "reduce_frame",
]

#: Names of a trajectory index, in the order they are looked for.
TRAJECTORY_COLUMNS = ("step", "epoch")
#: What "best" means.
GOALS = ("minimize", "maximize")
_AT_NAMES = ("final", "best")
# Columns that are never factors (they are measurements of the run).
_MEASUREMENTS = ("pre", "post", "delta", "relative", "log_ratio")
# Columns with more distinct values are taken for measurements, not factors, in messages.
_MAX_LEVELS = 20


def check_goal(goal: Any) -> str:
    """``"minimize"`` or ``"maximize"``."""
    return check_choice(goal, "goal", GOALS)


def check_at(at: Any) -> str | int:
    """``"final"``, ``"best"`` or an integer index of the trajectory (None means ``"final"``)."""
    if at is None:
        return "final"
    if isinstance(at, str):
        return check_choice(at, "at", _AT_NAMES)
    if isinstance(at, numbers.Integral) and not isinstance(at, bool):
        return int(at)
    raise TypeError(f"`at` must be 'final', 'best' or an integer step. Received: at={at!r}")


def check_by(by: Any, frame: pd.DataFrame) -> tuple[str, ...]:
    """The factor column(s) of ``by=`` as a tuple (empty for None)."""
    if by is None:
        return ()
    columns = (by,) if isinstance(by, str) else by
    if not isinstance(columns, Sequence) or not all(isinstance(c, str) for c in columns):
        raise TypeError(f"`by` must be None, a column name or a list of them. Received: by={by!r}")
    columns = tuple(columns)
    if len(set(columns)) != len(columns):
        raise ValueError(f"`by` must not repeat a column. Received: by={by!r}")
    reserved = [c for c in columns if c in ("lr", "replicate", *TRAJECTORY_COLUMNS)]
    if reserved:
        raise ValueError(
            f"`by` must name factor columns, not 'lr', 'replicate' or a trajectory index. "
            f"Received: by={by!r}"
        )
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(
            f"`by` must name columns of the frame. Received: by={by!r}, missing {missing} "
            f"(columns {list(frame.columns)})"
        )
    return columns


def trajectory_column(frame: pd.DataFrame) -> str | None:
    """The trajectory index of the frame (``step`` or ``epoch``), or None."""
    found = [c for c in TRAJECTORY_COLUMNS if c in frame.columns]
    if len(found) > 1:
        raise ValueError(
            "`frame` must have at most one trajectory index. Received: columns "
            f"{found}; drop one of them"
        )
    return found[0] if found else None


def _ambiguity(frame: pd.DataFrame, keys: list[str], response: str, index: str | None) -> str:
    """The message for a frame with several rows per run: which argument resolves it."""
    skip = {*keys, response, *_MEASUREMENTS, *TRAJECTORY_COLUMNS}
    group = keys + ([index] if index else [])
    # a factor has few levels (measurements are continuous) and varies within a run's rows
    varying = [
        c
        for c in frame.columns
        if c not in skip
        and frame[c].nunique(dropna=False) <= _MAX_LEVELS
        and frame.groupby(group, dropna=False)[c].nunique(dropna=False).gt(1).any()
    ]
    where = f"({', '.join(keys)}{', ' + index if index else ''})"
    if varying:
        return (
            f"`frame` has several rows per {where}; pass `by=` with the factor column(s) that "
            f"tell them apart. Received: columns varying within a run: {varying}"
        )
    if index is None:
        return (
            f"`frame` has several rows per {where} and no trajectory index; name the index "
            f"'step' or 'epoch' and pass `at=` ('final', 'best' or a step), or pass `by=`. "
            f"Received: columns {list(frame.columns)}"
        )
    return f"`frame` has duplicated rows per {where}. Received: columns {list(frame.columns)}"


def reduce_frame(
    frame: pd.DataFrame,
    *,
    response: str = "delta",
    goal: str = "minimize",
    at: str | int = "final",
    by: str | Sequence[str] | None = None,
) -> pd.DataFrame:
    """One row per run: the frame reduced to ``(*by, lr, replicate, <response>)``.

    Parameters
    ----------
    frame : pandas.DataFrame
        Tidy frame with ``lr``, ``replicate``, the response (or ``pre``/``post``) and
        optionally a trajectory index (``step`` or ``epoch``) and factor columns.
    response : str, default "delta"
        See :func:`response_values`.
    goal : {"minimize", "maximize"}, default "minimize"
        Which direction is better (used by ``at="best"``).
    at : {"final", "best"} or int, default "final"
        How a trajectory becomes one value per run: the value at the run's last index,
        the best finite value over the run (the final value if none is finite), or the
        value at that index (runs that do not reach it are missing cells). Without a
        trajectory index only ``"final"`` applies (the frame has one row per run).
    by : str or list of str, optional
        Factor columns kept as keys.

    Returns
    -------
    pandas.DataFrame
        Columns ``*by, lr, replicate``, the trajectory index (when the frame has one: the
        index the value was taken at) and the response, sorted by the keys, one row per
        run, ``attrs`` copied from ``frame``.

    Raises
    ------
    ValueError
        Several rows per run that neither ``by=`` nor the trajectory index tell apart
        (the message names the argument to pass), ``at="best"`` or an integer ``at``
        without a trajectory index.

    Examples
    --------
    >>> import pandas as pd
    >>> frame = pd.DataFrame({"lr": [0.1, 0.1], "replicate": [0, 0], "epoch": [1, 2],
    ...                       "val_loss": [0.9, 0.7]})
    >>> reduce_frame(frame, response="val_loss")["val_loss"].tolist()
    [0.7]
    """
    frame = _check_frame(frame)
    goal = check_goal(goal)
    at = check_at(at)
    by = check_by(by, frame)
    if response in by:
        raise ValueError(
            f"`response` must not be a `by` column. Received: response={response!r}, by={by!r}"
        )
    values = response_values(frame, response)
    index = trajectory_column(frame)
    keys = [*by, "lr", "replicate"]
    work = frame[keys + ([index] if index else [])].copy()
    work[response] = values.to_numpy()
    if index is None:
        if at != "final":
            raise ValueError(
                f"`at`={at!r} needs a trajectory index column 'step' or 'epoch'. Received: "
                f"columns {list(frame.columns)}"
            )
        if work.duplicated(keys).any():
            raise ValueError(_ambiguity(frame, keys, response, None))
        reduced = work
    else:
        if work[index].isna().any():
            raise ValueError(f"`frame` column {index!r} must not contain missing values.")
        if work.duplicated([*keys, index]).any():
            raise ValueError(_ambiguity(frame, keys, response, index))
        work = work.sort_values([*keys, index], kind="stable")
        if at == "final":
            reduced = work.drop_duplicates(keys, keep="last")
        elif at == "best":
            reduced = _best(work, keys, response, goal)
        else:
            reduced = work[work[index] == at]
    reduced = reduced.sort_values(keys, kind="stable").reset_index(drop=True)
    reduced.attrs = dict(frame.attrs)
    return reduced


def _best(work: pd.DataFrame, keys: list[str], response: str, goal: str) -> pd.DataFrame:
    """Per run, the row with the best finite response (the last row if none is finite)."""
    finite = np.isfinite(work[response].to_numpy())
    score = work[response].where(finite)
    score = score if goal == "minimize" else -score
    ranked = work.assign(_score=score.to_numpy(), _finite=finite)
    # best finite first (ties: the earliest index), runs without a finite value keep their last
    ranked = ranked.sort_values([*keys, "_score"], kind="stable", na_position="last")
    best = ranked.drop_duplicates(keys, keep="first")
    none_finite = ~best["_finite"].to_numpy()
    if none_finite.any():
        last = work.drop_duplicates(keys, keep="last").set_index(keys)
        rows = best.loc[none_finite, keys]
        replacement = last.loc[pd.MultiIndex.from_frame(rows)].reset_index()
        best = pd.concat([best.loc[~none_finite], replacement], ignore_index=True)
    return best.drop(columns=["_score", "_finite"])


@dataclass(frozen=True, eq=False)
class Level:
    """One level of ``by=`` (the empty level without ``by``) and its matrix."""

    key: dict[str, Any]
    matrix: ReplicateMatrix


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def prepare(
    frame: pd.DataFrame,
    *,
    response: str = "delta",
    goal: str = "minimize",
    at: str | int = "final",
    by: str | Sequence[str] | None = None,
    min_replicates: int = 2,
    min_lrs: int = 1,
) -> list[Level]:
    """Reduce ``frame`` (:func:`reduce_frame`) and pivot every level to a replicates × lrs matrix."""
    reduced = reduce_frame(frame, response=response, goal=goal, at=at, by=by)
    columns = check_by(by, frame)
    if not columns:
        return [
            Level(
                {},
                replicate_matrix(
                    reduced, response, min_replicates=min_replicates, min_lrs=min_lrs
                ),
            )
        ]
    levels = []
    for key, part in reduced.groupby(list(columns), sort=True, dropna=False):
        key = key if isinstance(key, tuple) else (key,)
        level = {c: _plain(v) for c, v in zip(columns, key, strict=True)}
        try:
            matrix = replicate_matrix(
                part, response, min_replicates=min_replicates, min_lrs=min_lrs
            )
        except ValueError as error:
            raise ValueError(f"level {level}: {error}") from None
        levels.append(Level(level, matrix))
    return levels


def level_generators(generator: np.random.Generator, levels: list[Level]) -> list[Any]:
    """The generator of every level: ``generator`` itself without ``by``, else one child each.

    Without ``by`` the numbers are those of the function called on the reduced frame; with
    it, level ``i`` (in sorted level order) draws from ``generator.spawn(n_levels)[i]``.
    """
    if len(levels) == 1 and not levels[0].key:
        return [generator]
    return list(generator.spawn(len(levels)))


def per_level(
    frame: pd.DataFrame,
    compute: Any,
    *,
    response: str,
    goal: str,
    at: str | int,
    by: str | Sequence[str] | None,
    generator: np.random.Generator | None = None,
    min_lrs: int = 1,
) -> Any:
    """``compute(matrix, level=key, generator=g)`` on every level of ``frame``.

    The frame is reduced and pivoted by :func:`prepare`; level ``i`` draws from
    :func:`level_generators` (``generator`` itself without ``by``). With
    ``generator=None`` (a computation without randomness) ``compute`` is called without
    it. Returns the single result without ``by``, a :class:`~lrstats.inference.ByLevel`
    with it.
    """
    from lrstats.inference._results import by_levels

    levels = prepare(frame, response=response, goal=goal, at=at, by=by, min_lrs=min_lrs)
    if generator is None:
        results = [compute(level.matrix, level=level.key) for level in levels]
    else:
        streams = level_generators(generator, levels)
        results = [
            compute(level.matrix, level=level.key, generator=stream)
            for level, stream in zip(levels, streams, strict=True)
        ]
    return by_levels(check_by(by, frame), results)


def paired_cases(matrix: ReplicateMatrix, what: str) -> tuple[ReplicateMatrix, int]:
    """Complete cases of ``matrix`` with a warning that says how many replicates were dropped."""
    import warnings

    complete, dropped = matrix.complete_cases()
    if dropped:
        warnings.warn(
            f"{what}: the grid is incomplete; {dropped} of {matrix.n_replicates} replicates "
            "are missing at some lr and were left out (nothing is imputed).",
            IncompleteGridWarning,
            stacklevel=4,
        )
    return complete, dropped


class IncompleteGridWarning(UserWarning):
    """Some replicates are missing at some lr; a paired method left them out."""
