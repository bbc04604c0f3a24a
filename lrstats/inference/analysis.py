"""``analyse``: every analysis of a frame, computed once, as one frozen result.

The command line prints an :class:`Analysis`, saves it with the frame
(:func:`lrstats.save_results`) and hands it to :func:`lrstats.write_report`, which only
draws and writes what it holds: what is printed, stored and shown is one computation.
This module imports neither matplotlib nor seaborn.

Sections
--------
An analysis is made of *sections*, run in the fixed order of :data:`SECTIONS`. Each
section says whether it applies to the frame (``applies``), how many random streams it
takes (``n_streams``) and computes its named results (``run``). The lr-grid sections are

==============  =====================================  =======================
section         results                                streams
==============  =====================================  =======================
``summary``     ``summary`` (t), ``summary_bca``       1 (the BCa bootstrap)
``comparison``  ``comparison``                         0
``selection``   ``selection_<rule>`` per rule          1 per rule, in order
``shape``       ``shape_<kind>`` per kind              1 per kind, in order
``utest``       ``utest``                              0
``levels``      ``level_comparison``                   0
==============  =====================================  =======================

``levels`` runs when the frame is analysed ``by=`` one factor with at least two levels:
the paired differences of every level from the baseline level at every lr
(:func:`~lrstats.inference.compare_levels`; the baseline is the first level declared in
``frame.attrs["factors"]``, e.g. the first schedule given to the sweep, else the first in
sort order). It is one result across the levels, not one per level.

One last stream seeds the jitter of the distribution figure. To add an experiment
kind (range-test repeats, training-curve diagnostics, ...), append a :class:`Section`
whose ``applies`` recognises its frames: the sections before it keep their streams, so
existing analyses keep their numbers.

Experiment kinds
----------------
:func:`frame_kind` tells the frames apart before anything is reduced:

=================  ===============================================  ===============  =======
kind               frame                                            section/result   streams
=================  ===============================================  ===============  =======
``lr_grid``        ``lr, replicate`` + response (the sections       above            above
                   above)
``range_test``     ``replicate, step, lr, loss, smoothed_loss``     ``range_test``   1
                   (:func:`lrstats.keras.range_test`)
``training_curve`` ``epoch`` (or ``step``), ``loss`` [, ``val_loss``]  ``diagnosis``  0
                   and no ``lr`` column: one training history
=================  ===============================================  ===============  =======

A range-test frame is analysed by :func:`~lrstats.inference.range_test.analyse_range_test`
(per-replicate suggestions, their medians and bootstrap intervals, with this analysis's
``confidence_level`` and ``n_resamples``); a training history by
:func:`~lrstats.inference.diagnostics.diagnose` with ``alpha = 1 - confidence_level``.
``response``, ``goal``, ``at``, ``rules`` and ``shapes`` concern lr grids only; ``by``
is refused for the other kinds. A Keras ``History`` becomes a training-history frame
with ``pd.DataFrame(history.history).rename_axis("epoch").reset_index()``.

Random streams
--------------
``rng`` is keyed into the ``"analysis"`` namespace of :mod:`lrstats._streams`
(``SeedSequence(rng, spawn_key=(0xA7A1,))`` for an integer), and that generator is
``spawn``-ed once into the streams of the sections, in the order above. So
``analyse(frame, rng=0)`` never reuses the bits of ``sample_deltas(..., seed=0)``, whose
replicate ``r`` draws from ``SeedSequence(0, spawn_key=(0x5A4D, r))``. A ``Generator``
passed as ``rng`` is spawned as it is.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from lrstats import _streams
from lrstats._validation import check_confidence_level, check_int
from lrstats.inference._frame import _check_frame, is_loss_change
from lrstats.inference._reduce import check_at, check_by, check_goal, reduce_frame
from lrstats.inference._results import ByLevel
from lrstats.inference.compare import compare_to_best
from lrstats.inference.diagnostics import diagnose
from lrstats.inference.levels import compare_levels
from lrstats.inference.range_test import FRAME_COLUMNS as RANGE_TEST_COLUMNS
from lrstats.inference.range_test import analyse_range_test
from lrstats.inference.select import RULES, SIGN_RULES, check_sign_rule, select_lr
from lrstats.inference.shape import SHAPE_KINDS, fit_shape
from lrstats.inference.summary import summarize
from lrstats.inference.utest import u_test

__all__ = [
    "DEFAULT_RULES",
    "DEFAULT_SHAPES",
    "SECTIONS",
    "Analysis",
    "Section",
    "analyse",
    "default_rules",
    "default_shapes",
    "frame_kind",
]

#: Selection rules run by default on a loss change (autolrtuner's "variance" and "max" left out).
DEFAULT_RULES = ("mean", "median", "penalized", "ucb", "one_se", "max_safe")
#: Shape fits run by default on a loss change. No "quadratic": on ΔL curves its vertex in
#: log-lr is biased far below the optimum (see :func:`lrstats.fit_shape`).
DEFAULT_SHAPES = ("unimodal", "local")


def default_rules(response: str) -> tuple[str, ...]:
    """:data:`DEFAULT_RULES` for a loss change; without the sign rules otherwise."""
    if is_loss_change(response):
        return DEFAULT_RULES
    return tuple(rule for rule in DEFAULT_RULES if rule not in SIGN_RULES)


def default_shapes(response: str) -> tuple[str, ...]:
    """``("unimodal", "local")`` for a loss change, ``("unimodal", "quadratic")`` otherwise.

    A metric of a trained network (validation loss, accuracy) is close to a parabola in
    log-lr around its optimum, and the one-step ``local`` model does not describe it.
    """
    return DEFAULT_SHAPES if is_loss_change(response) else ("unimodal", "quadratic")


# --------------------------------------------------------------------------------------------
# Sections
# --------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Plan:
    """What a section sees: the reduced frame and the settings of :func:`analyse`."""

    data: pd.DataFrame
    response: str
    goal: str
    by: tuple[str, ...]
    confidence_level: float
    n_resamples: int
    rules: tuple[str, ...]
    shapes: tuple[str, ...]
    at: str | int = "final"
    kind: str = "lr_grid"

    @property
    def common(self) -> dict[str, Any]:
        """Keywords every inference function takes."""
        return {
            "response": self.response,
            "goal": self.goal,
            "by": list(self.by) or None,
            "confidence_level": self.confidence_level,
        }


Runner = Callable[..., Any]


@dataclass(frozen=True)
class Section:
    """One part of an analysis.

    Attributes
    ----------
    name : str
    applies : callable
        ``applies(plan) -> bool``: whether the section runs on this frame.
    n_streams : callable
        ``n_streams(plan) -> int``: random streams it takes (spawned in section order).
    run : callable
        ``run(plan, streams, runner) -> dict``: its results by name. ``runner(label,
        function, *args, **kwargs)`` calls an inference function, records its warnings
        and returns None (listing the reason as unavailable) if it cannot run.
    """

    name: str
    applies: Callable[[Plan], bool]
    n_streams: Callable[[Plan], int]
    run: Callable[[Plan, list[np.random.Generator], Runner], dict[str, Any]]


def frame_kind(frame: pd.DataFrame) -> str:
    """The experiment a frame records: ``"range_test"``, ``"training_curve"`` or ``"lr_grid"``.

    A range-test frame has every column ``replicate, step, lr, loss, smoothed_loss``; a
    training history has ``loss``, an ``epoch`` or ``step`` column and no ``lr``; every
    other frame is an lr grid (and must then have ``lr`` and ``replicate``).
    """
    columns = set(frame.columns)
    if columns.issuperset(RANGE_TEST_COLUMNS):
        return "range_test"
    if "lr" not in columns and "loss" in columns and columns & {"epoch", "step"}:
        return "training_curve"
    return "lr_grid"


def _is_lr_grid(plan: Plan) -> bool:
    return plan.kind == "lr_grid"


def _run_summary(plan: Plan, streams: list[Any], runner: Runner) -> dict[str, Any]:
    out = {"summary": runner("summarize (t)", summarize, plan.data, method="t", **plan.common)}
    if out["summary"] is None:
        raise ValueError("`frame` cannot be summarized: see the reason above")
    out["summary_bca"] = runner(
        "summarize (BCa)",
        summarize,
        plan.data,
        method="bca",
        n_resamples=plan.n_resamples,
        rng=streams[0],
        **plan.common,
    )
    return out


def _run_comparison(plan: Plan, streams: list[Any], runner: Runner) -> dict[str, Any]:
    return {
        "comparison": runner(
            "compare_to_best", compare_to_best, plan.data, method="t", **plan.common
        )
    }


def _run_each(
    plan: Plan,
    streams: list[Any],
    runner: Runner,
    function: Callable[..., Any],
    option: str,
    values: Sequence[str],
    prefix: str,
) -> dict[str, Any]:
    """``function`` once per value of its ``option`` (each with its own stream)."""
    return {
        f"{prefix}_{value}": runner(
            f"{function.__name__} ({value})",
            function,
            plan.data,
            **{option: value},
            n_resamples=plan.n_resamples,
            rng=stream,
            **plan.common,
        )
        for value, stream in zip(values, streams, strict=True)
    }


def _run_selection(plan: Plan, streams: list[Any], runner: Runner) -> dict[str, Any]:
    return _run_each(plan, streams, runner, select_lr, "rule", plan.rules, "selection")


def _run_shape(plan: Plan, streams: list[Any], runner: Runner) -> dict[str, Any]:
    return _run_each(plan, streams, runner, fit_shape, "kind", plan.shapes, "shape")


def _run_utest(plan: Plan, streams: list[Any], runner: Runner) -> dict[str, Any]:
    return {"utest": runner("u_test", u_test, plan.data, **plan.common)}


def _has_factor_levels(plan: Plan) -> bool:
    return (
        _is_lr_grid(plan)
        and len(plan.by) == 1
        and plan.data[plan.by[0]].nunique(dropna=False) >= 2
    )


def _run_levels(plan: Plan, streams: list[Any], runner: Runner) -> dict[str, Any]:
    # plan.data is already reduced (one row per run): `at` picks that row again.
    return {
        "level_comparison": runner(
            "compare_levels",
            compare_levels,
            plan.data,
            factor=plan.by[0],
            response=plan.response,
            goal=plan.goal,
            at=plan.at,
            confidence_level=plan.confidence_level,
        )
    }


def _run_range_test(plan: Plan, streams: list[Any], runner: Runner) -> dict[str, Any]:
    result = runner(
        "analyse_range_test",
        analyse_range_test,
        plan.data,
        confidence_level=plan.confidence_level,
        n_resamples=plan.n_resamples,
        rng=streams[0],
    )
    if result is None:
        raise ValueError("`frame` cannot be analysed as a range test: see the reason above")
    return {"range_test": result}


def _run_diagnosis(plan: Plan, streams: list[Any], runner: Runner) -> dict[str, Any]:
    result = runner("diagnose", diagnose, plan.data, alpha=1.0 - plan.confidence_level)
    if result is None:
        raise ValueError("`frame` cannot be diagnosed: see the reason above")
    return {"diagnosis": result}


#: The sections of an analysis, in the order they run and take their random streams.
SECTIONS: tuple[Section, ...] = (
    Section("summary", _is_lr_grid, lambda plan: 1, _run_summary),
    Section("comparison", _is_lr_grid, lambda plan: 0, _run_comparison),
    Section("selection", _is_lr_grid, lambda plan: len(plan.rules), _run_selection),
    Section("shape", _is_lr_grid, lambda plan: len(plan.shapes), _run_shape),
    Section("utest", _is_lr_grid, lambda plan: 0, _run_utest),
    Section("levels", _has_factor_levels, lambda plan: 0, _run_levels),
    Section("range_test", lambda plan: plan.kind == "range_test", lambda plan: 1, _run_range_test),
    Section(
        "diagnosis", lambda plan: plan.kind == "training_curve", lambda plan: 0, _run_diagnosis
    ),
)

#: Results computed across the levels of ``by=`` (not one per level).
ACROSS_LEVELS = ("level_comparison",)


# --------------------------------------------------------------------------------------------
# The result
# --------------------------------------------------------------------------------------------
def levels_of(result: Any) -> list[tuple[dict[str, Any], Any]]:
    """``[(level, result)]``: the levels of a :class:`ByLevel`, or ``[({}, result)]``."""
    if isinstance(result, ByLevel):
        return [(dict(r.level), r) for r in result.results.values()]
    return [({}, result)]


def _fmt(value: float, digits: int = 4, sign: bool = False) -> str:
    value = float(value)
    if math.isnan(value):
        return "NaN"
    return f"{value:+.{digits}g}" if sign else f"{value:.{digits}g}"


@dataclass(frozen=True, eq=False)
class Analysis:
    """Every result of :func:`analyse`, by name.

    Attributes
    ----------
    results : dict
        Name → result, in section order: ``summary`` and ``summary_bca``
        (:class:`Summary`), ``comparison`` (:class:`Comparison`), ``selection_<rule>``
        (:class:`Selection`), ``shape_<kind>`` (:class:`ShapeFit`), ``utest``
        (:class:`UTestResult`); with ``by``, each is a :class:`ByLevel` of them, and
        ``level_comparison`` (:class:`LevelComparison`, with ``by=`` one factor) compares
        the levels with each other. A range-test frame gives ``range_test``
        (:class:`RangeTestResult`), a training history ``diagnosis`` (:class:`Diagnosis`). Results
        that could not run are left out (their reason is in ``unavailable``).
        ``analysis["comparison"]`` is the same as ``analysis.results["comparison"]``.
    sections : tuple of str
        The sections that ran (see :data:`SECTIONS`).
    data : pandas.DataFrame
        The analysed frame: one row per run, ``*by, lr, replicate``, the trajectory index
        (if any) and the response (:func:`lrstats.inference.reduce_frame`).
    attrs : dict
        The provenance of the original frame (its ``attrs``).
    response, goal : str
    at : str or int
    by : tuple of str
    confidence_level : float
    n_resamples : int
    rules, shapes : tuple of str
        The selection rules and shape fits asked for.
    seed : str
        ``rng`` as shown in a report.
    warnings, unavailable : tuple of str
        Warnings the analyses raised, and analyses that could not run, with reasons.
    jitter_seed : numpy.random.SeedSequence
        Seed of the distribution figure's jitter (the last analysis stream).
    kind : str
        The experiment the frame records (:func:`frame_kind`): ``"lr_grid"``,
        ``"range_test"`` or ``"training_curve"``.
    """

    results: dict[str, Any]
    sections: tuple[str, ...]
    data: pd.DataFrame
    attrs: dict[str, Any]
    response: str
    goal: str
    at: str | int
    by: tuple[str, ...]
    confidence_level: float
    n_resamples: int
    rules: tuple[str, ...]
    shapes: tuple[str, ...]
    seed: str
    warnings: tuple[str, ...] = ()
    unavailable: tuple[str, ...] = ()
    jitter_seed: np.random.SeedSequence = field(default_factory=np.random.SeedSequence)
    kind: str = "lr_grid"

    # -- access ------------------------------------------------------------------------------
    def __getitem__(self, name: str) -> Any:
        return self.results[name]

    def __contains__(self, name: object) -> bool:
        return name in self.results

    def __iter__(self) -> Iterator[str]:
        return iter(self.results)

    def get(self, name: str, default: Any = None) -> Any:
        """The result called ``name``, or ``default``."""
        return self.results.get(name, default)

    @property
    def loss_change(self) -> bool:
        """Whether the response is a loss change (ΔL-only parts apply)."""
        return is_loss_change(self.response)

    @property
    def selections(self) -> dict[str, Any]:
        """``rule → Selection`` (or :class:`ByLevel`), in the order of ``rules``."""
        return {
            n.removeprefix("selection_"): r
            for n, r in self.results.items()
            if n.startswith("selection_")
        }

    @property
    def fits(self) -> dict[str, Any]:
        """``kind → ShapeFit`` (or :class:`ByLevel`), in the order of ``shapes``."""
        return {
            n.removeprefix("shape_"): r for n, r in self.results.items() if n.startswith("shape_")
        }

    def levels(self) -> list[tuple[dict[str, Any], dict[str, Any]]]:
        """``[(level, {name: result on that level})]``; one empty level without ``by``.

        Results across the levels (``level_comparison``) are not in any level.
        """
        keyed: dict[tuple, tuple[dict[str, Any], dict[str, Any]]] = {}
        for name, result in self.results.items():
            if name in ACROSS_LEVELS:
                continue
            for level, part in levels_of(result):
                key = tuple(level.get(c) for c in self.by)
                keyed.setdefault(key, (level, {}))[1][name] = part
        return list(keyed.values())

    def level_data(self, level: Mapping[str, Any]) -> pd.DataFrame:
        """The rows of :attr:`data` on one level."""
        data = self.data
        for column, value in level.items():
            data = data[data[column] == value]
        return data

    # -- tables --------------------------------------------------------------------------------
    def to_frame(self) -> pd.DataFrame:
        """The recommendations: one row per (level, method).

        Columns ``*by, section, method, lr, ci_low, ci_high``: every selection rule (the
        selected lr and its selection interval), every shape fit (its optimum and
        interval) and the comparison's best mean (no interval); for a range test, every
        suggestion (its median over replicates and bootstrap interval). A diagnosis
        recommends no lr and gives no row.
        """
        rows = []
        for level, parts in self.levels():
            for name, result in parts.items():
                if name.startswith("selection_"):
                    row = ("selection", result.rule, result.lr, result.ci_low, result.ci_high)
                elif name.startswith("shape_"):
                    row = ("shape", result.kind, result.optimum_lr, result.ci_low, result.ci_high)
                elif name == "comparison":
                    row = ("comparison", "best_mean", result.best_lr, math.nan, math.nan)
                elif name == "range_test":
                    for suggestion, values in result.suggestions.iterrows():
                        row = ("range_test", suggestion, values["lr"])
                        row += (values["ci_low"], values["ci_high"])
                        rows.append({**level, **dict(zip(_TO_FRAME, row, strict=True))})
                    continue
                else:
                    continue
                rows.append({**level, **dict(zip(_TO_FRAME, row, strict=True))})
        columns = [*self.by, *_TO_FRAME]
        return pd.DataFrame(rows, columns=columns)

    # -- text ------------------------------------------------------------------------------------
    def summary(self) -> str:
        """The printed summary: per-lr table, best mean, selections, what could not run."""
        lines: list[str] = []
        level_pct = f"{100 * self.confidence_level:g}%"
        for level, parts in self.levels():
            if level:
                lines.append("== " + ", ".join(f"{k} = {v}" for k, v in level.items()) + " ==")
            lines += self._level_summary(parts, level_pct)
            lines.append("")
        comparison = self.results.get("level_comparison")
        if comparison is not None:
            lines += _level_comparison_lines(comparison, level_pct)
            lines.append("")
        for reason in self.unavailable:
            lines.append(f"  not available: {reason}")
        return "\n".join(lines).rstrip("\n")

    def _level_summary(self, parts: Mapping[str, Any], level: str) -> list[str]:
        if "range_test" in parts:
            return _range_test_lines(parts["range_test"], level)
        if "diagnosis" in parts:
            return _diagnosis_lines(parts["diagnosis"])
        summary = parts.get("summary")
        if summary is None:
            return ["(no summary)"]
        t_table = summary.to_frame()
        bca = parts.get("summary_bca")
        bca_table = (
            bca.to_frame() if bca is not None else t_table.assign(ci_low=np.nan, ci_high=np.nan)
        )
        symbol = "ΔL" if self.response == "delta" else self.response

        def interval(low: pd.Series, high: pd.Series) -> list[str]:
            return [f"[{lo:+.4g}, {hi:+.4g}]" for lo, hi in zip(low, high, strict=True)]

        shown = {
            "lr": [f"{lr:.3g}" for lr in t_table["lr"]],
            "n": t_table["n"],
            "non-finite": t_table["n_nonfinite"],
            f"mean {symbol}": [f"{m:+.4g}" for m in t_table["mean"]],
            f"{level} t interval": interval(t_table["ci_low"], t_table["ci_high"]),
            f"{level} BCa interval": interval(bca_table["ci_low"], bca_table["ci_high"]),
        }
        if "p_decrease" in t_table:
            shown[f"P({symbol}<0)"] = [f"{p:.2f}" for p in t_table["p_decrease"]]
        if self.response == "delta":
            title = "Change of loss after one step, ΔL = post − pre, per learning rate"
        elif self.loss_change:
            title = f"Change of loss after one step, {self.response}, per learning rate"
        else:
            title = f"Mean {self.response} per learning rate (goal: {self.goal}, at: {self.at})"
        out = [f"{title} (BCa: {self.n_resamples} replicate resamples):"]
        out.append(pd.DataFrame(shown).to_string(index=False))
        finite = t_table[t_table["n_nonfinite"] == 0]
        if len(finite):
            best = finite.loc[
                finite["mean"].idxmin() if self.goal == "minimize" else finite["mean"].idxmax()
            ]
            word = "Lowest" if self.goal == "minimize" else "Highest"
            out.append(
                f"\n{word} mean {symbol}: lr = {best['lr']:.4g} (mean {best['mean']:+.4g}, "
                f"{level} t interval [{best['ci_low']:+.4g}, {best['ci_high']:+.4g}])"
            )
        diverging = t_table.loc[t_table["n_nonfinite"] > 0, "lr"]
        if len(diverging):
            what = "losses" if self.loss_change else "values"
            out.append(f"Diverging (non-finite {what}) from lr = {diverging.min():.3g}")
        selections = {n: r for n, r in parts.items() if n.startswith("selection_")}
        if selections:
            out.append(
                f"\nSelected learning rates, with {level} bootstrap intervals over "
                f"{self.n_resamples} replicate resamples:"
            )
            for selection in selections.values():
                if np.isfinite(selection.lr):
                    out.append(
                        f"  {selection.rule:<10} lr = {selection.lr:<10.4g} "
                        f"[{selection.ci_low:.4g}, {selection.ci_high:.4g}]"
                    )
                else:
                    out.append(f"  {selection.rule:<10} no learning rate qualifies")
        return out

    def __str__(self) -> str:
        return self.summary()

    def _repr_html_(self) -> str:
        import html

        table = self.to_frame().to_html(
            index=False, float_format=lambda x: f"{x:.4g}", na_rep="NaN"
        )
        return (
            f"<div><strong>Analysis of {html.escape(self.response)!s} "
            f"({', '.join(self.sections)})</strong><pre>{html.escape(self.summary())}</pre>"
            f"{table}</div>"
        )


_TO_FRAME = ("section", "method", "lr", "ci_low", "ci_high")


def _level_comparison_lines(comparison: Any, level_pct: str) -> list[str]:
    """The printed table of a :class:`LevelComparison`."""
    table = comparison.table
    factor = comparison.factor
    shown = pd.DataFrame(
        {
            factor: table[factor].astype(str),
            "lr": [f"{lr:.3g}" for lr in table["lr"]],
            "n": table["n"],
            "diff": [_fmt(v, sign=True) for v in table["diff"]],
            f"{level_pct} paired t interval": [
                f"[{_fmt(lo, sign=True)}, {_fmt(hi, sign=True)}]"
                for lo, hi in zip(table["ci_low"], table["ci_high"], strict=True)
            ],
            "p": [_fmt(p, 2) for p in table["pvalue"]],
            "better": ["yes" if b else "" for b in table["better"]],
        }
    )
    return [
        f"Paired differences of {factor} against {comparison.baseline} ({comparison.response}, "
        f"at: {comparison.at}; level − {comparison.baseline}, paired by replicate):",
        shown.to_string(index=False),
    ]


def _range_test_lines(result: Any, level: str) -> list[str]:
    frame = result.frame
    n = int(frame["replicate"].nunique())
    steps = frame.groupby("replicate")["step"].count()
    out = [
        f"LR range test: {n} replicate(s), {int(steps.min())}-{int(steps.max())} steps "
        f"from lr = {_fmt(frame['lr'].min(), 3)} to {_fmt(frame['lr'].max(), 3)}.",
        f"Suggestions (median over replicates, {level} bootstrap interval over "
        f"{result.n_resamples} replicate resamples):",
    ]
    for name, row in result.suggestions.iterrows():
        if not np.isfinite(row["lr"]):
            out.append(f"  {name:<8} no suggestion (too few steps after trimming)")
        elif np.isfinite(row["ci_low"]):
            out.append(
                f"  {name:<8} lr = {_fmt(row['lr'], 3):<10} [{_fmt(row['ci_low'], 3)}, "
                f"{_fmt(row['ci_high'], 3)}], width x{row['width_factor']:.2f}"
            )
        else:
            out.append(f"  {name:<8} lr = {_fmt(row['lr'], 3):<10} (one replicate: no interval)")
    return out


def _diagnosis_lines(diagnosis: Any) -> list[str]:
    out = [
        f"Training-curve diagnosis ({diagnosis.curves.shape[0]} {diagnosis.unit}s, "
        f"{diagnosis.scale} scale, alpha = {diagnosis.alpha:g}): {', '.join(diagnosis.holds)}"
    ]
    for _, row in diagnosis.verdicts.iterrows():
        mark = "holds" if row["holds"] else "-"
        p = f", p = {row['pvalue']:.3g}" if np.isfinite(row["pvalue"]) else ""
        out.append(
            f"  {row['verdict']:<12} {mark:<6} {row['statistic_name']}: "
            f"{_fmt(row['statistic'])}{p}"
        )
    out.append(diagnosis.recommendation)
    return out


# --------------------------------------------------------------------------------------------
# analyse
# --------------------------------------------------------------------------------------------
def _check_names(values: Any, name: str, allowed: Sequence[str]) -> tuple[str, ...]:
    if isinstance(values, str) or not isinstance(values, (list, tuple)):
        raise TypeError(f"`{name}` must be a list of names. Received: {name}={values!r}")
    for value in values:
        if value not in allowed:
            options = ", ".join(repr(a) for a in allowed)
            raise ValueError(f"`{name}` must contain only {options}. Received: {name}={values!r}")
    if len(set(values)) != len(values):
        raise ValueError(f"`{name}` must not repeat names. Received: {name}={values!r}")
    return tuple(values)


def _seed_text(rng: Any) -> str:
    if isinstance(rng, np.random.Generator):
        return "a Generator"
    if isinstance(rng, np.random.SeedSequence):
        return f"SeedSequence({rng.entropy}, spawn_key={rng.spawn_key})"
    return str(rng)


def analyse(
    frame: pd.DataFrame,
    *,
    response: str = "delta",
    goal: str = "minimize",
    by: str | Sequence[str] | None = None,
    at: str | int = "final",
    rules: Sequence[str] | None = None,
    shapes: Sequence[str] | None = None,
    confidence_level: float = 0.95,
    n_resamples: int = 2000,
    rng: Any = None,
) -> Analysis:
    """Run every analysis of a tidy frame once (no files, no drawing).

    Parameters
    ----------
    frame : pandas.DataFrame
        Tidy frame with ``lr``, ``replicate`` and the response (or ``pre``/``post``),
        optionally a trajectory index (``step``/``epoch``) and factor columns. Or a
        range-test frame (``replicate, step, lr, loss, smoothed_loss``) or a training
        history (``epoch``, ``loss``, optionally ``val_loss``): see "Experiment kinds" in
        the module notes.
    response : str, default "delta"
        ``"delta"``, ``"relative"``, ``"log_ratio"`` or a numeric column such as
        ``"val_loss"`` or ``"accuracy"`` (see :func:`lrstats.response_values`).
    goal : {"minimize", "maximize"}, default "minimize"
        Whether lower or higher is better (comparisons, rules, shape fits, ``at="best"``).
    by : str or list of str, optional
        Factor column(s): every result is computed per level (:class:`ByLevel`).
    at : {"final", "best"} or int, default "final"
        How a trajectory becomes one value per run (:func:`lrstats.inference.reduce_frame`).
    rules : sequence of str, optional
        Selection rules (any of :data:`lrstats.inference.RULES`). Default: the
        :data:`DEFAULT_RULES`, without the sign rules ``max_safe``/``max`` when the
        response is not a loss change (asking for one then raises).
    shapes : sequence of str, optional
        Shape fits (any of :data:`lrstats.inference.SHAPE_KINDS`). Default
        ``("unimodal", "local")`` for a loss change, ``("unimodal", "quadratic")``
        otherwise (asking for ``"local"`` on another response raises).
    confidence_level : float, default 0.95
    n_resamples : int, default 2000
        Bootstrap resamples for the BCa intervals, the selection frequencies and the
        bootstrap shape fits. 2000 keeps a 41-lr × 200-replicate analysis within a few
        seconds; use 9999 for final interval end points.
    rng : None, int, SeedSequence or Generator, optional
        Keyed into the ``"analysis"`` stream namespace, then spawned per section in a
        fixed order (see the module notes), so the same frame and ``rng`` give the same
        analysis, and never the sampler's bits for the same integer.

    Returns
    -------
    Analysis

    Raises
    ------
    ValueError
        Bad settings, an ambiguous frame (several rows per run that ``by=`` or the
        trajectory index do not resolve), a sign rule or the ``local`` fit on a response
        that is not a loss change — all before any analysis runs.

    Notes
    -----
    Warnings raised by the analyses (degenerate lrs, rules that select nothing, shapes
    without an interior optimum, incomplete grids) are collected in ``warnings``, not
    raised; an analysis that cannot run on the frame (e.g. too few lrs below the
    divergence for a shape fit) is listed in ``unavailable`` and left out.

    Examples
    --------
    >>> import lrstats
    >>> from lrstats.simulate import simulate_frame
    >>> frame = simulate_frame(replicates=30, rng=0)
    >>> analysis = lrstats.analyse(frame, n_resamples=200, rng=1)
    >>> analysis["selection_ucb"].lr > 0
    True
    """
    if isinstance(frame, pd.DataFrame) and frame_kind(frame) != "lr_grid":
        kind = frame_kind(frame)
    else:
        frame, kind = _check_frame(frame), "lr_grid"
    if not isinstance(response, str):
        raise TypeError(f"`response` must be a string. Received: response={response!r}")
    goal = check_goal(goal)
    at = check_at(at)
    by_columns = check_by(by, frame)
    if by_columns and kind != "lr_grid":
        raise ValueError(
            f"`by` applies to lr-grid frames, not to a {kind.replace('_', '-')} frame. "
            f"Received: by={by!r}"
        )
    confidence_level = check_confidence_level(confidence_level)
    n_resamples = check_int(n_resamples, "n_resamples", minimum=1)
    rules = default_rules(response) if rules is None else _check_names(rules, "rules", RULES)
    shapes = (
        default_shapes(response) if shapes is None else _check_names(shapes, "shapes", SHAPE_KINDS)
    )
    for rule in rules:
        check_sign_rule(rule, response, goal)
    if "local" in shapes and (not is_loss_change(response) or goal != "minimize"):
        raise ValueError(
            "`shapes` must not hold 'local' (the one-step model of a loss change) for "
            f"response={response!r} with goal={goal!r}. Received: shapes={shapes!r}"
        )
    generator = _streams.generator(rng, "analysis")
    if kind == "range_test":
        data = frame.sort_values(["replicate", "step"], kind="stable")
        data.attrs = dict(frame.attrs)
    elif kind == "training_curve":
        index = "epoch" if "epoch" in frame.columns else "step"
        data = frame.sort_values(index, kind="stable")
    else:
        data = reduce_frame(frame, response=response, goal=goal, at=at, by=by_columns or None)
    plan = Plan(
        data=data,
        response=response,
        goal=goal,
        by=by_columns,
        confidence_level=confidence_level,
        n_resamples=n_resamples,
        rules=rules,
        shapes=shapes,
        at=at,
        kind=kind,
    )
    sections = [section for section in SECTIONS if section.applies(plan)]
    counts = [section.n_streams(plan) for section in sections]
    streams = list(generator.spawn(sum(counts) + 1))

    caught: list[str] = []
    unavailable: list[str] = []

    def runner(label: str, function: Any, *args: Any, **kwargs: Any) -> Any:
        with warnings.catch_warnings(record=True) as records:
            warnings.simplefilter("always")
            try:
                result = function(*args, **kwargs)
            except (ValueError, np.linalg.LinAlgError) as error:
                unavailable.append(f"{label}: {error}")
                result = None
        for record in records:
            message = f"{label}: {record.category.__name__}: {record.message}"
            if message not in caught:
                caught.append(message)
        return result

    results: dict[str, Any] = {}
    start = 0
    for section, count in zip(sections, counts, strict=True):
        try:
            computed = section.run(plan, streams[start : start + count], runner)
        except ValueError:
            raise ValueError(f"`frame` cannot be analysed: {unavailable[-1]}") from None
        start += count
        results.update({name: r for name, r in computed.items() if r is not None})
    return Analysis(
        results=results,
        sections=tuple(section.name for section in sections),
        data=data,
        attrs=dict(frame.attrs),
        response=response,
        goal=goal,
        at=at,
        by=by_columns,
        confidence_level=confidence_level,
        n_resamples=n_resamples,
        rules=rules,
        shapes=shapes,
        seed=_seed_text(rng),
        warnings=tuple(caught),
        unavailable=tuple(unavailable),
        jitter_seed=streams[-1].bit_generator.seed_seq,
        kind=kind,
    )
