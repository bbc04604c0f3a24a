"""Statistical successive halving: the framework-free decisions behind ``recommend_lr``.

Every learning rate of a grid is trained for a short horizon from the same state, on
``R`` replicates whose minibatches are the same for every lr (paired). After each round
:func:`paired_elimination` drops

1. every lr with a non-finite loss in some replicate (divergence is data: a member that
   has diverged does not recover), and
2. every lr that a one-sided paired t test across replicates finds worse than the lr of
   lowest mean, Holm-adjusted over the comparisons of the round at familywise level
   ``alpha`` (dropped when the adjusted p-value is ``< alpha``),

and nothing else. :func:`successive_halving` then doubles the horizon (the survivors
train on from where they stopped, so the cumulative number of steps goes
``h, 2h, 4h, ...``) until one lr remains, or the next round would exceed the budget.
The training itself is a callback, so this module never imports TensorFlow and the
decision logic is tested against hand computations.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from lrstats._validation import check_int, check_real
from lrstats.inference._bootstrap import warn_degenerate
from lrstats.inference._results import _ResultMixin
from lrstats.inference.compare import holm

__all__ = [
    "EliminationRound",
    "GridEdgeWarning",
    "HalvingResult",
    "Recommendation",
    "extrapolate_optimum",
    "extrapolation_interval",
    "halving_cost",
    "paired_elimination",
    "round_optima",
    "rounds_at_grid_edge",
    "successive_halving",
]


@dataclass(frozen=True, eq=False)
class EliminationRound:
    """The decision of one round.

    Attributes
    ----------
    best : int
        Column of the lowest mean loss among the finite columns (the smallest such index
        on ties), or -1 if every column has a non-finite value.
    keep : numpy.ndarray
        Boolean per column: not diverged and not ruled out by the test.
    mean : numpy.ndarray
        Mean loss per column over replicates (NaN where a value is non-finite).
    pvalue, pvalue_holm : numpy.ndarray
        One-sided paired t test of "column worse than ``best``" and its Holm adjustment
        over the tested columns; NaN for ``best`` and for diverged columns.
    diverged : numpy.ndarray
        Boolean per column: some replicate's loss is non-finite.
    """

    best: int
    keep: np.ndarray
    mean: np.ndarray
    pvalue: np.ndarray
    pvalue_holm: np.ndarray
    diverged: np.ndarray


def _paired_greater_pvalue(d: np.ndarray) -> float:
    """One-sided paired t test of mean(d) > 0 (d: differences, at least 2 values)."""
    n = d.size
    mean = float(d.mean())
    sd = float(d.std(ddof=1))
    if sd == 0.0 or not math.isfinite(sd):
        # No spread: the sign of the (constant) difference decides with certainty.
        return 0.0 if mean > 0 else 1.0
    t = mean / (sd / math.sqrt(n))
    return float(stats.t.sf(t, df=n - 1))


def paired_elimination(
    losses: np.ndarray,
    *,
    alpha: float = 0.05,
    keep_fraction: float = 0.0,
    log: bool = True,
    halve: bool = False,
) -> EliminationRound:
    """Which lrs of one round survive: drop the diverged and those a paired test rules out.

    Parameters
    ----------
    losses : array_like, shape (R, K)
        Loss of replicate ``r`` (rows) at lr ``k`` (columns) after the round's horizon;
        lower is better. With ``R == 1`` there is no test (every p-value is NaN): only
        divergence, ``keep_fraction`` and ``halve`` decide.
    alpha : float, default 0.05
        Familywise level of the Holm-adjusted one-sided paired t tests.
    keep_fraction : float, default 0.0
        Drop no more ruled-out lrs than leave ``ceil(keep_fraction * n)`` of the ``n``
        finite lrs (the ruled-out ones of highest mean go first); 0.5 is successive
        halving's "at most half". Diverged lrs are always dropped.
    halve : bool, default False
        Successive halving proper: after the test, keep at most ``ceil(n / 2)`` of the
        ``n`` finite lrs (those of lowest mean) even if the test rules out fewer.
    log : bool, default True
        Test differences of ``log(loss)`` (relative differences: a loss far above the
        others is ruled out even when its spread is large) when every finite loss is
        > 0; differences of the losses otherwise.

    Returns
    -------
    EliminationRound

    Notes
    -----
    For each finite column ``k`` other than ``best``, ``d_r = L[r, k] - L[r, best]`` (of
    the logs, see ``log``) and
    the p-value is ``P(T_{R-1} >= mean(d) / (sd(d) / sqrt(R)))``; with ``sd(d) = 0`` it is
    0 if ``mean(d) > 0`` and 1 otherwise. The ``m`` p-values are Holm-adjusted together
    and a column is dropped when its adjusted p-value is ``< alpha``.

    Examples
    --------
    >>> import numpy as np
    >>> from lrstats.inference.halving import paired_elimination
    >>> losses = np.array([[1.0, 0.50, 0.52], [1.1, 0.60, 0.61], [0.9, 0.55, 0.57]])
    >>> paired_elimination(losses).keep.tolist()  # lr 2 is worse in every replicate
    [False, True, False]
    >>> paired_elimination(losses, keep_fraction=0.5).keep.tolist()
    [False, True, True]
    """
    losses = np.asarray(losses, dtype=np.float64)
    if losses.ndim != 2 or losses.shape[0] < 1 or losses.shape[1] < 1:
        raise ValueError(
            "`losses` must be a 2-D array with at least 1 replicate (row) and 1 lr "
            f"(column). Received: losses with shape {losses.shape}"
        )
    alpha = check_real(alpha, "alpha", low=0.0, high=1.0, low_inclusive=False)
    keep_fraction = check_real(keep_fraction, "keep_fraction", low=0.0, high=1.0)
    k = losses.shape[1]
    diverged = ~np.isfinite(losses).all(axis=0)
    mean = np.where(diverged, np.nan, np.where(diverged, 0.0, losses).mean(axis=0))
    pvalue = np.full(k, np.nan)
    adjusted = np.full(k, np.nan)
    if diverged.all():
        return EliminationRound(-1, np.zeros(k, bool), mean, pvalue, adjusted, diverged)
    best = int(np.argmin(np.where(diverged, np.inf, mean)))
    tested = np.flatnonzero(~diverged & (np.arange(k) != best))
    if losses.shape[0] < 2:  # one replicate: no spread, no test
        tested = tested[:0]
    finite = losses[:, ~diverged]
    scale = np.log if log and (finite > 0).all() else (lambda v: v)
    for j in tested:
        pvalue[j] = _paired_greater_pvalue(scale(losses[:, j]) - scale(losses[:, best]))
    if tested.size:
        adjusted[tested] = holm(pvalue[tested])
    keep = ~diverged & ~(adjusted < alpha)
    floor = math.ceil(keep_fraction * int((~diverged).sum()))
    if keep.sum() < floor:  # reprieve the ruled-out lrs of lowest mean
        ruled_out = np.flatnonzero(~diverged & ~keep)
        reprieved = ruled_out[np.argsort(mean[ruled_out], kind="stable")][: floor - keep.sum()]
        keep[reprieved] = True
    cap = math.ceil(int((~diverged).sum()) / 2)
    if halve and keep.sum() > cap:
        kept = np.flatnonzero(keep)
        keep[kept[np.argsort(mean[kept], kind="stable")][cap:]] = False
    return EliminationRound(best, keep, mean, pvalue, adjusted, diverged)


@dataclass(frozen=True, eq=False)
class HalvingResult:
    """Outcome of :func:`successive_halving`.

    Attributes
    ----------
    best : int
        Index into the grid of the lr of lowest mean loss in the last round (-1 if every
        lr diverged).
    survivors : numpy.ndarray
        Grid indices kept after the last round (not diverged, not ruled out).
    evidence : pandas.DataFrame
        One row per (round, lr, replicate): ``round, steps`` (cumulative horizon),
        ``lr_index, replicate, loss``, and per (round, lr) ``mean, pvalue, pvalue_holm,
        kept``.
    steps_spent : int
        Member-steps trained (sum over lrs and replicates).
    rounds : int
    stopped : str
        ``"one_left"``, ``"budget"`` or ``"all_diverged"``.
    """

    best: int
    survivors: np.ndarray
    evidence: pd.DataFrame
    steps_spent: int
    rounds: int
    stopped: str


TrainFn = Callable[[np.ndarray, int, int], np.ndarray]


def successive_halving(
    train: TrainFn,
    n_lrs: int,
    *,
    replicates: int,
    initial_steps: int,
    budget_steps: int,
    alpha: float = 0.05,
    keep_fraction: float = 0.0,
    halve: bool = False,
) -> HalvingResult:
    """Run rounds of training and :func:`paired_elimination` with doubling horizons.

    Parameters
    ----------
    train : callable
        ``train(active, start, stop)`` trains the members of the grid indices ``active``
        (every replicate) from cumulative step ``start`` to ``stop`` and returns their
        losses, shape ``(replicates, len(active))``.
    n_lrs : int
        Size of the grid (``>= 1``).
    replicates : int
        Replicates per lr (``>= 1``; with 1 there is no test, see
        :func:`paired_elimination`).
    initial_steps : int
        Horizon of the first round (``>= 1``); round ``i`` ends at ``initial_steps * 2**i``.
    budget_steps : int
        Most member-steps to spend. The first round always runs and must fit
        (``n_lrs * replicates * initial_steps <= budget_steps``); a later round runs only
        if it fits in what is left.
    alpha, keep_fraction, halve
        See :func:`paired_elimination`.

    Returns
    -------
    HalvingResult
    """
    n_lrs = check_int(n_lrs, "n_lrs", minimum=1)
    replicates = check_int(replicates, "replicates", minimum=1)
    initial_steps = check_int(initial_steps, "initial_steps", minimum=1)
    budget_steps = check_int(budget_steps, "budget_steps", minimum=1)
    alpha = check_real(alpha, "alpha", low=0.0, high=1.0, low_inclusive=False)
    first = n_lrs * replicates * initial_steps
    if first > budget_steps:
        raise ValueError(
            "`budget_steps` must cover the first round (n_lrs * replicates * initial_steps "
            f"= {first}). Received: budget_steps={budget_steps}"
        )
    active = np.arange(n_lrs)
    start, stop, spent, rounds = 0, initial_steps, 0, 0
    rows = []
    decision = None
    stopped = "budget"
    while True:
        losses = np.asarray(train(active.copy(), start, stop), dtype=np.float64)
        if losses.shape != (replicates, active.size):
            raise ValueError(
                f"`train` must return shape {(replicates, active.size)}. "
                f"Received: shape {losses.shape}"
            )
        spent += active.size * replicates * (stop - start)
        decision = paired_elimination(
            losses, alpha=alpha, keep_fraction=keep_fraction, halve=halve
        )
        for j, index in enumerate(active):
            for r in range(replicates):
                rows.append(
                    (rounds, stop, int(index), r, losses[r, j], decision.mean[j],
                     decision.pvalue[j], decision.pvalue_holm[j], bool(decision.keep[j]))
                )  # fmt: skip
        rounds += 1
        if decision.best < 0:
            stopped = "all_diverged"
            break
        best_index = int(active[decision.best])
        active = active[decision.keep]
        if active.size <= 1:
            stopped = "one_left"
            break
        start, stop = stop, 2 * stop
        if spent + active.size * replicates * (stop - start) > budget_steps:
            break
    evidence = pd.DataFrame(
        rows,
        columns=["round", "steps", "lr_index", "replicate", "loss", "mean", "pvalue",
                 "pvalue_holm", "kept"],
    )  # fmt: skip
    best = -1 if stopped == "all_diverged" else best_index
    survivors = np.array([], dtype=int) if stopped == "all_diverged" else active
    return HalvingResult(best, survivors, evidence, spent, rounds, stopped)


@dataclass(frozen=True, eq=False)
class Recommendation(_ResultMixin):
    """The lr recommended by :func:`lrstats.keras.recommend_lr`, with its evidence.

    Not a :class:`~lrstats.inference.Selection`: a selection's interval and frequencies
    come from replicate resamples of one frame, this interval from the tests of the last
    halving round, so the two are kept apart.

    Attributes
    ----------
    lr : float
        The grid lr of lowest mean validation loss in the last round (NaN if every lr
        diverged).
    ci_low, ci_high : float
        Without extrapolation: the smallest and largest lr the last round's
        Holm-adjusted paired tests did not rule out at level ``alpha`` (a confidence set
        for the best lr at that horizon, given as its range; with one replicate, the last
        round's survivors, often the one lr left: then ``ci_low == ci_high == lr`` and the
        display says there is no interval). With extrapolation (``epochs`` given): the ``1 - alpha``
        interval of the extrapolated optimum (:func:`extrapolation_interval`) when at
        least three rounds ran and their optima scatter about the line, else the last
        round's range widened to contain the extrapolated optimum. ``lr`` is the grid lr
        nearest the extrapolated optimum, so it may sit just outside a narrow interval.
        The interval is for the line's level at the planned length under the line's
        model, not for the lr that trains best: on the selection benchmark's later
        held-out cells it held the best grid lr in about two runs of three (see
        docs/selection_quality.md, "How precise a pick must be").
    evidence : pandas.DataFrame
        One row per (round, lr, replicate): ``round, steps, lr, replicate, loss`` and the
        round's ``mean, pvalue, pvalue_holm, kept`` of that lr.
    method : str
    alpha : float
    replicates, rounds, steps_spent, budget_steps : int
    stopped : str
        ``"one_left"``, ``"budget"`` or ``"all_diverged"``.
    params : dict
        Settings used (grid, batch size, horizons, seed, row counts, seconds).
    """

    lr: float
    ci_low: float
    ci_high: float
    evidence: pd.DataFrame
    method: str
    alpha: float
    replicates: int
    rounds: int
    steps_spent: int
    budget_steps: int
    stopped: str
    params: dict

    _title = "Recommended learning rate"

    def to_frame(self) -> pd.DataFrame:
        """The evidence (a copy): one row per round, lr and replicate."""
        return self.evidence.copy()

    def summary_frame(self) -> pd.DataFrame:
        """One row per (round, lr): ``round, steps, lr, mean, pvalue, pvalue_holm, kept``."""
        columns = ["round", "steps", "lr", "mean", "pvalue", "pvalue_holm", "kept"]
        return self.evidence.drop_duplicates(["round", "lr"])[columns].reset_index(drop=True)

    def plot(self, ax: Any = None, **kwargs: Any) -> Any:
        """The evidence (``lrstats.presentation.recommend_plots.plot_recommendation``)."""
        from lrstats.presentation.recommend_plots import plot_recommendation

        return plot_recommendation(self, ax=ax, **kwargs)

    def _header(self) -> str:
        run = f"by {self.method} ({self.rounds} rounds, stopped: {self.stopped})"
        if self.replicates == 1 and self.ci_low == self.ci_high:
            # one replicate and one survivor: no scatter to test, so no interval to show
            return (
                f"Recommended lr {self.lr:.4g} {run}; no interval: with one replicate the "
                "last round's single lr has nothing to be tested against (replicates >= 2 "
                "give a confidence set, epochs an extrapolation interval)"
            )
        return f"Recommended lr {self.lr:.4g} [{self.ci_low:.4g}, {self.ci_high:.4g}] {run}"


def halving_cost(n_lrs: int, keep_fraction: float = 0.5) -> int:
    """Member-steps per replicate, in units of the first horizon, of a full schedule.

    With at most ``ceil(keep_fraction * n)`` survivors per round and the horizon doubling
    (round ``i`` trains ``2**(i-1)`` first-horizons for ``i >= 1``), the schedule from
    ``n_lrs`` down to one lr costs ``sum_i n_i * max(1, 2**(i-1))``; e.g. 11 lrs halve
    as 11, 6, 3, 2 and cost ``11 + 6 + 3*2 + 2*4 = 31``.
    """
    n_lrs = check_int(n_lrs, "n_lrs", minimum=1)
    keep_fraction = check_real(
        keep_fraction, "keep_fraction", low=0.0, high=1.0, high_inclusive=False
    )
    n, i, cost = n_lrs, 0, 0
    while True:
        cost += n * max(1, 2 ** (i - 1))
        nxt = max(1, math.ceil(keep_fraction * n))
        if nxt <= 1 or nxt >= n:
            return cost
        n, i = nxt, i + 1


class GridEdgeWarning(UserWarning):
    """A round's best lr is the grid's smallest or largest: its optimum may lie outside."""


def rounds_at_grid_edge(optima: pd.DataFrame, lrs: np.ndarray) -> list[int]:
    """The rounds of ``optima`` (:func:`round_optima`) whose optimum is an end of ``lrs``.

    Such a round's optimum is censored: the loss was still falling at the grid's end, so
    the best lr of that horizon may lie beyond it, and a line through the optima is
    bounded by the grid there.
    """
    grid = np.log10(np.asarray(lrs, dtype=np.float64))
    ends = (grid.min(), grid.max())
    at_end = np.isclose(optima["log10_lr"].to_numpy(dtype=np.float64)[:, None], ends).any(axis=1)
    return [int(r) for r in optima["round"].to_numpy()[at_end]]


def round_optima(evidence: pd.DataFrame, lrs: np.ndarray) -> pd.DataFrame:
    """The optimum log10 lr of every round with at least two finite lrs.

    Within a round, the lr of lowest mean log loss (the mean loss if some loss is <= 0)
    and, where both its grid neighbours in that round are finite, the vertex of the
    parabola through the three points in log10 lr (clipped to the neighbours).

    Parameters
    ----------
    evidence : pandas.DataFrame
        :attr:`HalvingResult.evidence`.
    lrs : array_like
        The grid (``lr_index`` indexes it).

    Returns
    -------
    pandas.DataFrame
        ``round, steps, log10_lr`` (one row per qualifying round).
    """
    grid = np.log10(np.asarray(lrs, dtype=np.float64))
    rows = []
    for (round_, steps), frame in evidence.groupby(["round", "steps"], sort=True):
        loss = frame.pivot(index="replicate", columns="lr_index", values="loss")
        loss = loss.loc[:, np.isfinite(loss).all(axis=0)]
        if loss.shape[1] < 2:
            continue
        values = np.log(loss) if (loss.to_numpy() > 0).all() else loss
        mean = values.mean(axis=0).to_numpy()
        x = grid[loss.columns.to_numpy()]
        order = np.argsort(x)
        x, mean = x[order], mean[order]
        j = int(np.argmin(mean))
        best = x[j]
        if 0 < j < x.size - 1:
            a, b, _ = np.polyfit(x[j - 1 : j + 2], mean[j - 1 : j + 2], 2)
            if a > 0:
                best = float(np.clip(-b / (2 * a), x[j - 1], x[j + 1]))
        rows.append((int(round_), int(steps), float(best)))
    return pd.DataFrame(rows, columns=["round", "steps", "log10_lr"])


def _line(
    x: np.ndarray,
    y: np.ndarray,
    nonincreasing: bool,
    slope: float | None = None,
    fitted_slope_weight: float = 0.0,
) -> tuple[float, float, np.ndarray | None]:
    """``(slope, intercept, least_squares)`` of the line through the rounds.

    The least-squares line, or with ``nonincreasing`` and a rising fit the horizontal line
    through the mean (the least-squares line with slope 0). With a given ``slope``, only
    the intercept is fitted, ``mean(y - slope * x)``, after moving the slope
    ``fitted_slope_weight`` of the way to the least-squares slope (when the points have
    two distinct ``x``). ``least_squares`` is ``np.polyfit(x, y, 1)`` when the
    least-squares slope entered the line, else None.
    """
    if slope is not None:
        least_squares = None
        if fitted_slope_weight > 0 and x.size >= 2 and np.ptp(x) > 0:
            least_squares = np.polyfit(x, y, 1)
            slope = slope + fitted_slope_weight * (float(least_squares[0]) - slope)
        return float(slope), float(np.mean(y - slope * x)), least_squares
    least_squares = np.polyfit(x, y, 1)
    if nonincreasing and least_squares[0] > 0:
        return 0.0, float(y.mean()), None
    return float(least_squares[0]), float(least_squares[1]), least_squares


def _check_slope(slope: Any, fitted_slope_weight: Any) -> tuple[float | None, float]:
    weight = check_real(fitted_slope_weight, "fitted_slope_weight", low=0.0, high=1.0)
    if slope is None:
        if weight != 0:
            raise ValueError(
                "`fitted_slope_weight` moves a known `slope` towards the fitted one; "
                f"without `slope` it must be 0. Received: fitted_slope_weight={weight}"
            )
        return None, weight
    return check_real(slope, "slope"), weight


def extrapolate_optimum(
    optima: pd.DataFrame,
    target_steps: float,
    *,
    nonincreasing: bool = False,
    slope: float | None = None,
    fitted_slope_weight: float = 0.0,
    level_offset: float = 0.0,
) -> float:
    """The optimum log10 lr at ``target_steps``, by a line in log10(steps) through the rounds.

    Least squares of ``log10_lr`` on ``log10(steps)`` over the rows of ``optima``
    (:func:`round_optima`); with one row, that row's value. Returns NaN without rows.
    With ``nonincreasing=True`` the slope is constrained to be <= 0 (the optimum lr does
    not grow with the horizon): a rising fit is replaced by the mean of the optima.
    With ``slope`` given, the line has that slope and only its intercept is fitted
    (``nonincreasing`` is then moot): one round is enough to extrapolate, and the noise
    of a few grid-quantized optima no longer sets how far the optimum moves. With
    ``fitted_slope_weight`` w in (0, 1] as well, the line's slope is the known one moved w
    of the way to the least-squares slope of the optima, ``slope + w * (fitted - slope)``
    (a shrinkage estimate: the known slope as the prior, the rounds' own as the data;
    w = 1 is the least-squares line); with fewer than two distinct horizons it stays the
    known one. ``level_offset`` (decades of lr) is added to the line's level: a known bias
    of the line read at ``target_steps``.
    """
    slope, weight = _check_slope(slope, fitted_slope_weight)
    level_offset = check_real(level_offset, "level_offset")
    if optima.empty:
        return math.nan
    x = np.log10(optima["steps"].to_numpy(dtype=np.float64))
    y = optima["log10_lr"].to_numpy(dtype=np.float64)
    if slope is None and (x.size < 2 or np.ptp(x) == 0):
        return float(y[-1] + level_offset)
    fitted, intercept, _ = _line(x, y, nonincreasing, slope, weight)
    return float(intercept + fitted * math.log10(target_steps) + level_offset)


def extrapolation_interval(
    optima: pd.DataFrame,
    target_steps: float,
    *,
    level: float = 0.95,
    nonincreasing: bool = False,
    slope: float | None = None,
    fitted_slope_weight: float = 0.0,
    level_offset: float = 0.0,
) -> tuple[float, float]:
    """Confidence interval of the extrapolated optimum log10 lr at ``target_steps``.

    The ordinary least-squares line of :func:`extrapolate_optimum` (``log10_lr`` on
    ``log10(steps)``), its mean at ``x0 = log10(target_steps)`` with the t interval
    ``yhat ± t_{n-2, (1+level)/2} · s · sqrt(1/n + (x0 - xbar)² / Sxx)``, where ``s²`` is
    the residual variance with ``n - 2`` degrees of freedom. Needs at least three rounds
    with distinct horizons; returns ``(nan, nan)`` otherwise.

    Parameters
    ----------
    optima : pandas.DataFrame
        :func:`round_optima`'s rows.
    target_steps : float
        The planned training length in steps.
    level : float, default 0.95
    nonincreasing : bool, default False
        As in :func:`extrapolate_optimum`; when the slope is constrained to 0 the interval
        is the t interval of the mean of the optima (``n - 1`` degrees of freedom).
    slope : float, optional
        As in :func:`extrapolate_optimum`: the slope is taken as known, and the interval
        is the t interval of the fitted intercept, ``yhat ± t_{n-1, (1+level)/2} · s /
        sqrt(n)`` (``n - 1`` degrees of freedom; needs two rounds).
    fitted_slope_weight : float, default 0.0
        As in :func:`extrapolate_optimum`. With w > 0 the estimate is ``ybar + (slope + w
        (b - slope)) (x0 - xbar)`` with ``b`` the least-squares slope; ``ybar`` and ``b``
        are independent, so its standard error is ``s · sqrt(1/n + w² (x0 - xbar)² /
        Sxx)`` with ``s²`` the least-squares residual variance, and the interval uses
        ``t_{n-2}`` (needs three rounds at two horizons). It covers the estimate's own
        mean, which is the optimum when the known slope is right; w = 1 gives the
        least-squares interval.
    level_offset : float, default 0.0
        As in :func:`extrapolate_optimum`: the interval moves with the line's level.

    Returns
    -------
    tuple of float
        ``(low, high)`` in log10 lr.

    Notes
    -----
    The round optima come from nested horizons of the same members, so they are not
    independent; the interval states the uncertainty of the line through them, not of the
    trained optimum. Optima that lie exactly on the line (grid-quantized optima, all at one
    lr, say) have no scatter to measure it by: the interval is then ``(nan, nan)`` with a
    :class:`~lrstats.inference.DegenerateDataWarning`, not a zero-width one.
    """
    level = check_real(level, "level", low=0.0, high=1.0, low_inclusive=False,
                       high_inclusive=False)  # fmt: skip
    slope, weight = _check_slope(slope, fitted_slope_weight)
    level_offset = check_real(level_offset, "level_offset")
    x = np.log10(optima["steps"].to_numpy(dtype=np.float64))
    y = optima["log10_lr"].to_numpy(dtype=np.float64)
    n = x.size
    distinct = np.unique(x).size
    # a fitted line needs three rounds at two horizons; a known slope, two rounds
    if n < 2 or ((slope is None or weight > 0) and (n < 3 or distinct < 2)):
        return (math.nan, math.nan)
    used, intercept, least_squares = _line(x, y, nonincreasing, slope, weight)
    x0 = math.log10(target_steps)
    fitted = intercept + used * x0 + level_offset
    if least_squares is None:  # one parameter, the level: n - 1 degrees of freedom
        residual = y - (intercept + used * x)
        df, spread = n - 1, 1 / n
    else:  # the least-squares residuals: n - 2 degrees of freedom
        residual = y - np.polyval(least_squares, x)
        w = 1.0 if slope is None else weight
        sxx = float(((x - x.mean()) ** 2).sum())
        df, spread = n - 2, 1 / n + w**2 * (x0 - x.mean()) ** 2 / sxx
    s = math.sqrt(float(residual @ residual) / df)
    if not s > 1e-12 * max(1.0, float(np.abs(y).max())):
        warn_degenerate(
            f"The {n} round optima lie exactly on the extrapolation line (log10 lr "
            f"{np.round(y, 3).tolist()}): no scatter to measure its uncertainty by, so the "
            "interval is NaN."
        )
        return (math.nan, math.nan)
    half = stats.t.ppf((1 + level) / 2, df) * s * math.sqrt(spread)
    return (float(fitted - half), float(fitted + half))
