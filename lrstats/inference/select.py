"""Selection rules for the learning rate, with their bootstrap uncertainty."""

from __future__ import annotations

import warnings
from functools import partial
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats
from scipy.special import ndtri as norm_ppf

from lrstats._validation import (
    as_rng,
    check_choice,
    check_confidence_level,
    check_int,
    check_real,
)
from lrstats.inference._bootstrap import (
    resample_counts,
    resampled_medians,
    resampled_moments,
    wilson_lower,
)
from lrstats.inference._frame import ReplicateMatrix, is_loss_change
from lrstats.inference._reduce import check_by, paired_cases, per_level
from lrstats.inference._results import Selection, Selections, by_levels

__all__ = ["RULES", "select_all", "select_lr"]

#: Selection rules, in the order of the documentation.
RULES = ("mean", "median", "penalized", "ucb", "one_se", "max_safe", "variance", "max")
_ARGMIN_RULES = ("mean", "median", "penalized", "ucb", "variance")
#: Rules on the sign of a loss change: they apply to ``delta``, ``relative`` and ``log_ratio`` only.
SIGN_RULES = ("max_safe", "max")


def max_safe_min_replicates(min_p_decrease: float, confidence_level: float) -> int:
    """The fewest replicates with which ``"max_safe"`` can select any lr.

    With ``M`` replicates that all decrease the loss the one-sided Wilson lower bound is
    ``M / (M + z²)`` (``z = Φ⁻¹(confidence_level)``), the largest it can be; it reaches
    ``q = min_p_decrease`` once ``M ≥ q z² / (1 − q)``. For ``q = 0.9`` at 95%: 25.
    """
    z = norm_ppf(confidence_level)
    return int(np.ceil(min_p_decrease * z**2 / (1.0 - min_p_decrease) - 1e-12))


class NoSelectionWarning(RuntimeWarning):
    """No lr of the grid satisfies the rule; the selection is NaN."""


_RULE_OPTIONS = {"penalty": ("penalized", 1.0), "min_p_decrease": ("max_safe", 0.9)}


def _rule_options(rule: str, **given: Any) -> dict[str, Any]:
    """The options of ``rule`` with their defaults; an option of another rule is refused."""
    params: dict[str, Any] = {}
    for name, (owner, default) in _RULE_OPTIONS.items():
        value = given[name]
        if owner != rule:
            if value is not None:
                raise TypeError(
                    f"`{name}` applies to rule {owner!r} only. Received: {name}={value!r} with "
                    f"rule={rule!r}"
                )
            continue
        value = default if value is None else value
        if name == "penalty":
            params[name] = check_real(value, name, low=0.0)
        else:
            params[name] = check_real(value, name, low=0.0, high=1.0, high_inclusive=False)
    return params


def check_sign_rule(rule: str, response: str, goal: str) -> None:
    """Refuse a sign rule on a response that is not a loss change (or with ``goal="maximize"``)."""
    if rule in SIGN_RULES and not is_loss_change(response):
        raise ValueError(
            f"Rule {rule!r} counts loss decreases (the sign of a loss change) and applies only "
            f"to the responses 'delta', 'relative' and 'log_ratio'. Received: rule={rule!r} "
            f"with response={response!r}"
        )
    if rule in SIGN_RULES and goal != "minimize":
        raise ValueError(
            f"Rule {rule!r} counts loss decreases and needs goal='minimize'. Received: "
            f"rule={rule!r} with goal={goal!r}"
        )


def _statistics(values: np.ndarray, counts: np.ndarray | None, rule: str) -> dict[str, np.ndarray]:
    """Per-lr statistics (R × K; R = 1 for the original data, B for resamples).

    ``values`` holds only finite columns (diverging lrs are removed before).
    """
    m = values.shape[0]
    if counts is None:
        counts = np.ones((1, m))
    out: dict[str, np.ndarray] = {}
    if rule in ("mean", "penalized", "ucb", "one_se", "variance"):
        n, mean, sd = resampled_moments(counts, values)
        out.update(n=n, mean=mean, sd=sd)
    if rule == "median":
        out["median"] = resampled_medians(counts, values)
    if rule == "max_safe":
        out["n_decrease"] = counts @ (values < 0).astype(np.float64)
    if rule == "max":
        out["n_increase"] = counts @ (values > 0).astype(np.float64)
    return out


def _choose(
    rule: str, st: dict[str, np.ndarray], m: int, params: dict[str, Any], confidence_level: float
) -> tuple[np.ndarray, np.ndarray]:
    """Scores (R × K') and the chosen column per row (-1: none) over non-diverging columns."""
    if rule in _ARGMIN_RULES:
        if rule == "mean":
            scores = st["mean"]
        elif rule == "median":
            scores = st["median"]
        elif rule == "variance":
            scores = st["sd"]
        elif rule == "penalized":
            scores = st["mean"] + params["penalty"] * st["sd"]
        else:  # ucb: upper end of the two-sided t interval of the mean
            critical = stats.t.ppf(0.5 + confidence_level / 2.0, m - 1)
            scores = st["mean"] + critical * st["sd"] / np.sqrt(st["n"])
        usable = np.isfinite(scores)
        ranked = np.where(usable, scores, np.inf)
        chosen = np.argmin(ranked, axis=1)
        chosen = np.where(usable.any(axis=1), chosen, -1)
        return scores, chosen
    if rule == "one_se":
        mean, se = st["mean"], st["sd"] / np.sqrt(st["n"])
        best = np.argmin(np.where(np.isfinite(mean), mean, np.inf), axis=1)
        rows = np.arange(mean.shape[0])
        threshold = mean[rows, best] + se[rows, best]
        scores = mean
        eligible = mean <= threshold[:, None]
    elif rule == "max_safe":
        scores = wilson_lower(st["n_decrease"], m, confidence_level)
        eligible = scores >= params["min_p_decrease"]
    else:  # max: every value <= 0 (no replicate increased the loss)
        scores = st["n_increase"] / m
        eligible = st["n_increase"] == 0
    last = eligible.shape[1] - 1 - np.argmax(eligible[:, ::-1], axis=1)
    return scores, np.where(eligible.any(axis=1), last, -1)


def select_lr(
    frame: pd.DataFrame,
    *,
    rule: str = "ucb",
    response: str = "delta",
    goal: str = "minimize",
    at: str | int = "final",
    by: str | list[str] | None = None,
    confidence_level: float = 0.95,
    n_resamples: int = 2000,
    rng: Any = None,
    penalty: float | None = None,
    min_p_decrease: float | None = None,
) -> Selection:
    """Select a learning rate from the grid by a rule, with a bootstrap interval.

    Parameters
    ----------
    frame : pandas.DataFrame
        Tidy frame (``lr``, ``replicate`` and the response; optionally a trajectory index
        and factor columns). On an incomplete grid the replicates observed at every lr are
        used (an :class:`IncompleteGridWarning` says how many were left out).
    rule : str, default "ucb"
        One of :data:`RULES` (see Notes).
    response : str, default "delta"
        See :func:`response_values`.
    goal : {"minimize", "maximize"}, default "minimize"
        Whether lower or higher is better. With ``"maximize"`` every argmin rule becomes
        the argmax of the mirrored score (``"ucb"``: the highest lower bound,
        ``"penalized"``: ``m_k - λ s_k``, ``"one_se"``: within one se *below* the best);
        ``"variance"`` is the same. The sign rules ``"max_safe"`` and ``"max"`` need a
        loss change and ``"minimize"``.
    at : {"final", "best"} or int, default "final"
        How a trajectory becomes one value per run (see :func:`reduce_frame`).
    by : str or list of str, optional
        Factor column(s): one selection per level (a :class:`ByLevel`).
    confidence_level : float, default 0.95
        Level of the interval for the selected lr, of ``"ucb"``'s bound and of
        ``"max_safe"``'s Wilson bound.
    n_resamples : int, default 2000
        Replicate resamples on which the rule is re-run. A selection is a discrete
        quantity, and the frequencies need less precision than interval end points, so
        the default is smaller than :func:`summarize`'s.
    rng : seed or numpy.random.Generator, optional
    penalty : float, optional
        λ ≥ 0 of ``"penalized"``; None means 1. Any other rule refuses it.
    min_p_decrease : float, optional
        The probability of decrease ``"max_safe"`` requires, in [0, 1); None means 0.9.
        Any other rule refuses it.

    Returns
    -------
    Selection
        ``lr`` (a grid value, NaN if no lr qualifies), ``ci_low``/``ci_high``,
        ``frequencies``, ``scores``, ``params``.

    Notes
    -----
    With per-lr mean ``m_k``, sd ``s_k``, standard error ``se_k = s_k / √M``, median
    ``med_k`` and ``M`` replicates:

    ``"mean"``: ``argmin m_k``. The best expected one-step decrease; right when the
    replicates are many and the noise is small, since it ignores the spread.

    ``"median"``: ``argmin med_k``. Robust to a few extreme replicates (heavy tails,
    occasional spikes).

    ``"penalized"``: ``argmin m_k + λ s_k``. Risk-averse: prefers a steady decrease over a
    lucky mean. Right when every run will see one batch (a single training), so the
    spread across batches matters as much as the average.

    ``"ucb"``: ``argmin m_k + t_{M-1,(1+level)/2} se_k`` (the upper end of the t interval
    of the mean, ``ci_high`` of :func:`summarize`). Picks the lr whose mean is *reliably*
    low; right by default, and when the grid is fine and means are noisy.

    ``"one_se"``: the largest lr with ``m_k ≤ m_{k*} + se_{k*}``, ``k* = argmin m_k``
    (Breiman et al.'s one-standard-error rule, tilted toward faster learning). Right when
    training longer favours larger lrs and differences within noise do not matter.

    ``"max_safe"``: the largest lr whose probability of decrease is at least ``q`` with
    confidence: one-sided Wilson lower bound ``L_k ≥ q`` (``q = min_p_decrease``) with
    ``z = Φ⁻¹(level)``.
    Right when the aim is the most aggressive lr that still decreases the loss on almost
    every batch. It needs enough replicates: with ``M`` all-decreasing replicates,
    ``L = M / (M + z²)``, so ``q = 0.9`` at 95 % needs ``M ≥ 25``.

    ``"variance"``: ``argmin s_k`` and ``"max"``: the largest lr whose values are all
    ≤ 0 — autolrtuner's rules, for comparison. ``"variance"`` favours tiny lrs (where
    nothing changes); ``"max"`` depends on ``M`` (more replicates, more chances of one
    positive value) and has no error control; prefer ``"max_safe"``.

    Diverging lrs (any non-finite value in the original frame) are never selected, and
    are excluded from every resample as well. Ties go to the smaller lr for argmin rules.

    Uncertainty: the rule is re-run on ``n_resamples`` resamples of whole replicates (the
    statistics of all resamples are computed at once from the counts matrix). The
    selected lrs form a distribution over the grid: ``frequencies`` are their shares,
    and ``ci_low``/``ci_high`` are its ``(1 ∓ level)/2`` quantiles (inverted-CDF, so grid
    values; taken in log-lr order, which is the grid order). Resamples in which no lr
    qualifies are counted in ``n_no_selection`` and left out of the frequencies.

    References
    ----------
    .. [1] Efron, B. and Tibshirani, R. J. (1993). *An Introduction to the Bootstrap*.
    .. [2] Wilson, E. B. (1927). Probable inference, the law of succession, and
       statistical inference. *JASA* 22(158), 209–212.
    .. [3] Breiman, L., Friedman, J., Olshen, R. and Stone, C. (1984). *Classification
       and Regression Trees*. Wadsworth.

    Examples
    --------
    >>> from lrstats.simulate import simulate_frame
    >>> frame = simulate_frame(replicates=30, rng=0)
    >>> selection = select_lr(frame, rule="ucb", n_resamples=500, rng=1)
    >>> bool(selection.ci_low <= selection.lr <= selection.ci_high)
    True
    """
    rule = check_choice(rule, "rule", RULES)
    confidence_level = check_confidence_level(confidence_level)
    n_resamples = check_int(n_resamples, "n_resamples", minimum=1)
    params = _rule_options(rule, penalty=penalty, min_p_decrease=min_p_decrease)
    if not isinstance(response, str):
        raise TypeError(f"`response` must be a string. Received: response={response!r}")
    check_sign_rule(rule, response, goal if isinstance(goal, str) else "")
    compute = partial(
        _select,
        rule=rule,
        response=response,
        goal=goal,
        confidence_level=confidence_level,
        n_resamples=n_resamples,
        params=params,
    )
    return per_level(
        frame, compute, response=response, goal=goal, at=at, by=by, generator=as_rng(rng)
    )


def _select(
    matrix: ReplicateMatrix,
    *,
    rule: str,
    response: str,
    goal: str,
    confidence_level: float,
    n_resamples: int,
    generator: np.random.Generator,
    params: dict[str, Any],
    level: dict[str, Any],
) -> Selection:
    full = matrix
    matrix, n_dropped = paired_cases(matrix, f"select_lr ({rule})")
    extra = {"goal": goal, "n_dropped": n_dropped, "level": dict(level)}
    # maximize = minimize the negated response; scores are reported in the response's
    # own direction (variance: the sd, which negation does not change)
    sign = -1.0 if goal == "maximize" else 1.0
    keep = ~matrix.diverging
    values = sign * matrix.values[:, keep] if sign < 0 else matrix.values[:, keep]
    lrs = matrix.lrs[keep]
    m = matrix.n_replicates
    scores = pd.Series(np.nan, index=pd.Index(full.lrs, name="lr"), name="score")
    frequencies = pd.Series(0.0, index=pd.Index(full.lrs, name="lr"), name="frequency")
    if not keep.any():
        warnings.warn(
            "Every lr diverges (has non-finite values); no lr can be selected.",
            NoSelectionWarning,
            stacklevel=3,
        )
        return Selection(
            rule=rule, lr=np.nan, ci_low=np.nan, ci_high=np.nan, frequencies=frequencies,
            scores=scores, confidence_level=confidence_level, n_resamples=n_resamples,
            response=response, params=params, n_no_selection=n_resamples, **extra,
        )  # fmt: skip

    with np.errstate(invalid="ignore", divide="ignore"):
        original_scores, original_choice = _choose(
            rule, _statistics(values, None, rule), m, params, confidence_level
        )
        counts = resample_counts(generator, m, n_resamples)
        _, chosen = _choose(rule, _statistics(values, counts, rule), m, params, confidence_level)
    mirrored = sign < 0 and rule not in ("variance",)
    scores[lrs] = -original_scores[0] if mirrored else original_scores[0]

    if original_choice[0] < 0:
        message = f"No lr satisfies rule {rule!r} with {params}; the selection is NaN."
        if rule == "max_safe":
            needed = max_safe_min_replicates(params["min_p_decrease"], confidence_level)
            if m < needed:
                message += (
                    f" With {m} replicates the Wilson lower bound of a probability of "
                    f"decrease cannot exceed {m / (m + norm_ppf(confidence_level) ** 2):.3f} "
                    f"(all {m} decreased), below min_p_decrease={params['min_p_decrease']}: "
                    f"at least {needed} replicates are needed at confidence_level="
                    f"{confidence_level}."
                )
        warnings.warn(message, NoSelectionWarning, stacklevel=3)
        lr = np.nan
    else:
        lr = float(lrs[original_choice[0]])
    selected = chosen[chosen >= 0]
    n_no_selection = int((chosen < 0).sum())
    # An interval for a selection the data do not make would describe nothing: when the
    # rule selects no lr on the data, the interval is NaN too (the resampled frequencies
    # are still reported).
    if selected.size:
        frequencies[lrs] = np.bincount(selected, minlength=lrs.size) / selected.size
    if selected.size and np.isfinite(lr):
        alpha = (1.0 - confidence_level) / 2.0
        bounds = np.quantile(selected, [alpha, 1.0 - alpha], method="inverted_cdf")
        ci_low, ci_high = float(lrs[int(bounds[0])]), float(lrs[int(bounds[1])])
    else:
        ci_low = ci_high = np.nan
    return Selection(
        rule=rule,
        lr=lr,
        ci_low=ci_low,
        ci_high=ci_high,
        frequencies=frequencies,
        scores=scores,
        confidence_level=confidence_level,
        n_resamples=n_resamples,
        response=response,
        params=params,
        n_no_selection=n_no_selection,
        **extra,
    )


def select_all(
    frame: pd.DataFrame,
    rules: Any = RULES,
    *,
    response: str = "delta",
    goal: str = "minimize",
    at: str | int = "final",
    by: str | list[str] | None = None,
    confidence_level: float = 0.95,
    n_resamples: int = 2000,
    rng: Any = None,
    penalty: float | None = None,
    min_p_decrease: float | None = None,
) -> Selections:
    """Run several rules on the same frame.

    Parameters
    ----------
    frame : pandas.DataFrame
        As in :func:`select_lr`.
    rules : sequence of str, default :data:`RULES`
        With a response that is not a loss change (or ``goal="maximize"``) the sign rules
        ``"max_safe"`` and ``"max"`` must be left out (they raise).
    response, goal, at, by, confidence_level, n_resamples
        As in :func:`select_lr`.
    penalty, min_p_decrease : float, optional
        As in :func:`select_lr`, passed to their own rule only.
    rng : seed or numpy.random.Generator, optional
        Rule ``i`` (in the order given) draws from ``default_rng(rng).spawn(len(rules))[i]``.

    Returns
    -------
    Selections or ByLevel
        ``to_frame()``: one row per rule (:meth:`Selection.to_frame`); ``result["ucb"]``:
        one rule's :class:`Selection`. With ``by``, a :class:`ByLevel` of
        :class:`Selections`.

    Examples
    --------
    >>> from lrstats.simulate import simulate_frame
    >>> frame = simulate_frame(replicates=30, rng=0)
    >>> result = select_all(frame, ["mean", "ucb"], n_resamples=200, rng=1)
    >>> result.to_frame()["rule"].tolist()
    ['mean', 'ucb']
    """
    if isinstance(rules, str):
        rules = (rules,)
    rules = tuple(check_choice(rule, "rules", RULES) for rule in rules)
    if not isinstance(response, str):
        raise TypeError(f"`response` must be a string. Received: response={response!r}")
    for rule in rules:
        check_sign_rule(rule, response, goal if isinstance(goal, str) else "")
    generators = as_rng(rng).spawn(len(rules))
    common = {
        "response": response, "goal": goal, "at": at, "by": by,
        "confidence_level": confidence_level, "n_resamples": n_resamples,
    }  # fmt: skip
    own = {"penalized": {"penalty": penalty}, "max_safe": {"min_p_decrease": min_p_decrease}}
    results = {
        rule: select_lr(frame, rule=rule, rng=generator, **common, **own.get(rule, {}))
        for rule, generator in zip(rules, generators, strict=True)
    }
    by_columns = check_by(by, frame)
    if not by_columns:
        return Selections(selections=results)
    first = next(iter(results.values()))
    return by_levels(
        by_columns,
        [
            _level_selections(key, {rule: r[key] for rule, r in results.items()}, by_columns)
            for key in first
        ],
    )


def _level_selections(key: tuple, selections: dict, by: tuple[str, ...]) -> Selections:
    return Selections(selections=selections, level=dict(zip(by, key, strict=True)))
